"""The ``forecheck`` command: a thin typer layer over the Python API.

Parse -> options -> API -> render -> exit code; no statistics here.
Exit codes: 0 passed, 1 a gating check failed, 2 could not run.

Each subcommand lives in its own module, imported only when it runs: ``main()``
builds the command line with just the subcommand named on it (``forecheck analyze
...`` never imports the simulator, the walk tool or the monitor), and ``app`` — the
full command line, for ``forecheck --help`` and for tests — is built on first use.
"""

from __future__ import annotations

import importlib
import sys

import typer

from forecheck import __version__

#: subcommand -> (module, function), in the order ``forecheck --help`` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("forecheck.cli.analyze", "analyze_command"),
    "config": ("forecheck.cli.config_cmd", "config_command"),
    "monitor": ("forecheck.cli.monitor", "monitor_command"),
    "rules": ("forecheck.cli.rules", "rules_command"),
    "rule": ("forecheck.cli.rules", "rule_command"),
    "walk": ("forecheck.cli.walk", "walk_command"),
    "simulate": ("forecheck.cli.simulate", "simulate_command"),
}


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"forecheck {__version__}\n")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """forecheck: is this forecast too jumpy? Settle it with the variance budget.

    A calibrated forecaster's probabilities form a martingale, so expected total
    squared movement equals the uncertainty resolved: p0(1 - p0) for a question
    that resolves (Augenblick & Rabin 2021).
    """


def build_app(names: list[str] | tuple[str, ...] | None = None) -> typer.Typer:
    """The command line with the subcommands ``names`` (default: all)."""
    new = typer.Typer(
        name="forecheck",
        no_args_is_help=True,
        add_completion=False,
        help="Stress-test probability forecast time series against the martingale variance budget.",
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )
    new.callback()(_root)
    for name in COMMANDS if names is None else names:
        module, function = COMMANDS[name]
        new.command(name)(getattr(importlib.import_module(module), function))
    return new


def __getattr__(name: str):
    if name == "app":  # the full command line, built once on first use
        full = build_app()
        globals()["app"] = full
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: bytes free at the top of the heap before glibc returns them (M_TRIM_THRESHOLD)
TRIM_THRESHOLD = 512 * 2**20


#: the kernel's transparent-huge-page defrag policy; the selected value is in brackets
THP_DEFRAG = "/sys/kernel/mm/transparent_hugepage/defrag"


def _numpy_hugepages(environ) -> None:
    """Ask numpy not to ``madvise(MADV_HUGEPAGE)`` its large arrays when that advice
    makes page faults stall, unless ``NUMPY_MADVISE_HUGEPAGE`` is set already (the
    user's choice wins). numpy marks every array of 4 MB or more for huge pages; under
    the kernel's default defrag policy (``madvise``, or ``defer+madvise``) a fault in
    such a region compacts memory synchronously when no huge page is free, and on a
    heap whose freed blocks are reused (above) the mark outlives the array
    (numpy/numpy#31590). On 10⁷ rows with the advice, 21.1–21.8 of 39–44 CPU seconds were
    spent in the kernel, against 13.4–16.5 of 32–38 without it (benchmarks/README.md,
    "Huge pages"). Under
    ``always``, ``defer`` or ``never`` the advice changes nothing or stalls nothing,
    and numpy's default stays. numpy reads the variable when it is imported, which is
    after this runs; the Dask engine's worker processes inherit it."""
    if "NUMPY_MADVISE_HUGEPAGE" in environ:
        return
    try:
        with open(THP_DEFRAG) as fh:
            policy = fh.read()
    except OSError:  # no transparent huge pages in this kernel: nothing to avoid
        return
    if "[madvise]" in policy or "[defer+madvise]" in policy:
        environ["NUMPY_MADVISE_HUGEPAGE"] = "0"


def _tune_allocator() -> None:
    """Keep freed memory in the process heap (glibc only; the command line, not the
    library). Each column-sized numpy array (80 MB at 10⁷ rows) is otherwise a fresh
    ``mmap`` whose pages the kernel zero-fills on first touch and reclaims on free: on
    10⁷ rows that page-fault traffic was 24 of 45 CPU seconds. ``M_MMAP_MAX = 0`` serves
    large blocks from the heap and a 512 MB ``M_TRIM_THRESHOLD`` reuses them without
    returning them to the system in between, unless more than that lies free at the
    top of the heap (mallopt(3)); a 2 GB threshold kept up to 0.2 GB more resident at
    the peak for about the same time (benchmarks/README.md, "Memory at 10⁷ rows").
    ``M_ARENA_MAX = 1``: the threads that run checks (``--jobs``) allocate from that
    same heap; in glibc's per-thread arenas, which cannot grow past 64 MB, each large
    block is an ``mmap`` again (at 10⁷ rows with 2 threads: 18.7 instead of 9.1 system
    seconds and a 3.1 instead of 2.7 GB peak). Huge pages: see ``_numpy_hugepages``.
    ``FORECHECK_MALLOC=system`` leaves the allocator's and numpy's defaults."""
    import os

    if os.environ.get("FORECHECK_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return
    _numpy_hugepages(os.environ)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max, m_arena_max = -1, -4, -8  # <malloc.h>
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_arena_max, 1)
        libc.mallopt(m_trim_threshold, TRIM_THRESHOLD)
    except (OSError, AttributeError):  # not glibc (musl, ...): keep the defaults
        pass


def main() -> None:
    """Console-script entry point.

    A closed stdout or stderr pipe that escapes the commands' own handling ends the
    run quietly (Python docs, signal module: "Note on SIGPIPE"); the commands keep
    their exit code themselves (see ``cli.common.write_payload``).

    The process ends with ``os._exit`` once the ``atexit`` handlers have run and stdout
    and stderr are flushed: the interpreter's own teardown lets pyarrow's thread pool
    be destroyed while its threads still run, which aborts the process ("terminate
    called without an active exception", exit status 134) after a finished run
    (apache/arrow#34314; before this, 9 of 30 runs on a header-only Parquet file ended
    so). The command has written and closed everything by then (the Dask engine closes
    its own cluster), so nothing is lost. A profiler that reports after the module
    returns (``python -m pyinstrument -m forecheck``) sees no report: profile through
    ``benchmarks/speed.py`` or the Python API instead.
    """
    args = sys.argv[1:]
    _tune_allocator()
    cli = build_app([args[0]]) if args and args[0] in COMMANDS else __getattr__("app")
    try:
        cli()
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    except BrokenPipeError:
        code = 2
    _flush_and_exit(code)


def _exit_status(code) -> int:
    """The status ``sys.exit(code)`` gives: None is 0, an int itself, anything else is
    printed to stderr and is 1 (the interpreter's rule)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flush_and_exit(code: int) -> None:
    """Run the ``atexit`` handlers (coverage's, a user's ``sitecustomize``), flush the two
    streams and end the process without the interpreter's teardown."""
    import atexit
    import os

    from forecheck.cli.common import _stdio_to_devnull

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away: the rest goes nowhere, status 2
            _stdio_to_devnull(stream)
            code = 2
        except (ValueError, OSError):  # closed by the command, or a full disk: nothing more to write
            pass
    os._exit(code)

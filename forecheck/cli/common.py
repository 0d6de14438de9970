"""Helpers shared by the CLI commands: stderr console, error exits, plain output."""

from __future__ import annotations

import os
import re
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from forecheck.results import ExitCode

# Human-facing messages go to stderr; payloads (JSON, JUnit, annotations, CSV)
# are written plainly to stdout or a file, never through a Rich console
# (conventions.md: typer forces terminal mode under GITHUB_ACTIONS).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)  # made pipe-safe below


# Characters of user text that would act on the terminal rather than be shown: C0/C1
# controls but tab and newline (ESC sequences, NUL, bell), and the invisible
# bidirectional / zero-width formatting characters (a "\u202e" reverses the line).
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """User text as it may be printed to a terminal: invisible and control
    characters become ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                          else f"\\u{ord(m.group()):04x}", text)


def err_print(*parts: str | tuple[str, str]) -> None:
    """Print one line to stderr; user text is never read as Rich markup, and control
    characters in it are shown escaped (see :func:`visible`).

    Each part is plain text or a ``(text, style)`` pair (styles come from our code
    only). A closed stderr is ignored: the exit code still says what happened.
    """
    clean = [visible(p) if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts]
    try:
        err_console.print(Text.assemble(*clean), markup=False, highlight=False)
    except BrokenPipeError:
        _stdio_to_devnull(sys.stderr)
    except ValueError:  # stderr closed (I/O operation on closed file)
        pass


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print a short error to stderr and exit with code 2 (could not run)."""
    err_print(("error:", "bold red"), " ", str(message))
    if hint:
        err_print("  ", str(hint))
    raise typer.Exit(int(ExitCode.ERROR))


def _stdio_to_devnull(stream) -> None:
    """After EPIPE, point the stream's descriptor at /dev/null so the interpreter's
    final flush does not fail too (Python docs, signal module: "Note on SIGPIPE")."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. CliRunner)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def quiet_on_broken_pipe(console: Console, stderr: bool = False) -> Console:
    """Make a Rich console drop its output when its pipe closes, instead of Rich's
    default ``SystemExit(1)``: the command keeps its own exit code."""
    def on_broken_pipe() -> None:
        _stdio_to_devnull(sys.stderr if stderr else sys.stdout)
        console.quiet = True

    console.on_broken_pipe = on_broken_pipe  # type: ignore[method-assign]
    return console


def write_payload(text: str, output: str | None = None) -> bool:
    """Write machine-readable output to ``output`` (a path) or stdout, plainly.

    A closed stdout (``forecheck analyze f.csv | head -1``) is not an error of the
    run: the rest of the payload is discarded quietly, later outputs (--junit-xml)
    are still written and the exit code stays the run's. Returns False if the pipe
    was closed.
    """
    if not text.endswith("\n"):
        text += "\n"
    if output and output != "-":
        with open(output, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        return True
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdio_to_devnull(sys.stdout)
        return False
    return True


quiet_on_broken_pipe(err_console, stderr=True)

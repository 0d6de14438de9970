"""Helpers shared by the CLI commands: stderr console, error exits, safe plain output.

Outputs cannot lie: every output path is checked before any analysis
(:func:`check_output_path`), files are written atomically (temporary file in the same
directory, then ``os.replace``), stdout never crashes on an encoding it cannot represent
(machine payloads fall back to UTF-8 bytes, human text to an ASCII-safe transliteration),
and any I/O error exits 2 naming the path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import NoReturn

import typer
from rich.console import Console

from forecheck.results import ExitCode

# Human-facing messages go to stderr; payloads (JSON, JUnit, annotations, CSV)
# are written plainly to stdout or a file, never through a Rich console
# (typer forces terminal mode under GITHUB_ACTIONS).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def set_color(mode: str | None) -> None:
    """``--color auto|always|never`` for stderr messages."""
    global err_console
    if mode == "always":
        err_console = Console(stderr=True, highlight=False, soft_wrap=True, force_terminal=True,
                              color_system="standard")
    elif mode == "never":
        err_console = Console(stderr=True, highlight=False, soft_wrap=True, no_color=True, color_system=None)


def safe_streams() -> None:
    """Never crash on an output encoding (e.g. PYTHONIOENCODING=cp1252 on Windows runners)."""
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if enc not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):  # pragma: no cover - detached or closed stream
                pass


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print a short error to stderr and exit with code 2 (could not run)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    if hint:
        err_console.print(f"  {hint}", markup=False)
    raise typer.Exit(int(ExitCode.ERROR))


ASCII = {
    "−": "-", "–": "-", "—": "--", "‒": "-", "Σ": "sum ", "Δ": "d", "±": "+/-", "×": "x", "≤": "<=", "≥": ">=",
    "≈": "~", "→": "->", "←": "<-", "…": "...", "·": "*", "²": "^2", "³": "^3", "√": "sqrt", "ρ": "rho",
    "β": "beta", "α": "alpha", "γ": "gamma", "σ": "sigma", "τ": "tau", "ξ": "xi", "θ": "theta", "μ": "mu",
    "Φ": "Phi", "χ": "chi", "λ": "lambda", "ψ": "psi", "δ": "delta", "ε": "eps", "π": "pi", "ô": "o", "é": "e",
    "‘": "'", "’": "'", "“": '"', "”": '"', "̂": "", "₀": "0", "₁": "1", "₂": "2", "•": "*", "✓": "ok", "✗": "x",
    "─": "-", "━": "-", "═": "=", "│": "|", "┃": "|", "║": "|", "┄": "-", "╌": "-",
}
BOX_CORNERS = "┌┐└┘├┤┬┴┼┏┓┗┛┣┫┳┻╋┡┩╇╞╡╪╔╗╚╝╠╣╦╩╬╭╮╯╰┢┪┞┦┠┨┯┷┿╀╁╂╃╄╅╆╈╉╊"


def ascii_safe(text: str) -> str:
    """A readable ASCII rendering of the report's symbols and table borders."""
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
        elif ch in ASCII:
            out.append(ASCII[ch])
        elif ch in BOX_CORNERS:
            out.append("+")
        else:
            out.append(ch)
    return "".join(out)


def _write_stdout(text: str, machine: bool) -> None:
    stream = sys.stdout
    enc = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(enc)
        stream.write(text)
        stream.flush()
        return
    except (UnicodeEncodeError, LookupError):
        pass
    buf = getattr(stream, "buffer", None)
    if machine and buf is not None:
        stream.flush()
        buf.write(text.encode("utf-8"))
        buf.flush()
        return
    stream.write(ascii_safe(text).encode(enc, errors="replace").decode(enc, errors="replace"))
    stream.flush()


def check_output_path(path: str | None, flag: str, inputs: tuple[str, ...] = ()) -> None:
    """Exit 2 now, before any analysis, if ``path`` cannot be written."""
    if not path or path == "-":
        return
    if os.path.isdir(path):
        fail(f"{flag} {path}: is a directory, not a file", f"name a file, e.g. {flag} {os.path.join(path, 'forecheck.out')}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        fail(f"{flag} {path}: directory {os.path.dirname(path) or parent} does not exist",
             "create it first (mkdir -p) or choose another path")
    if not os.path.isdir(parent):
        fail(f"{flag} {path}: {os.path.dirname(path)} is not a directory")
    # probe by doing it (os.access is wrong for root and read-only mounts)
    try:
        fd, probe = tempfile.mkstemp(prefix=".forecheck-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        fail(f"{flag} {path}: cannot write in {os.path.dirname(path) or '.'}: {exc.strerror or exc}")
    if os.path.exists(path):
        try:
            open(path, "ab").close()  # opens for writing without changing the content
        except OSError as exc:
            fail(f"{flag} {path}: cannot overwrite this file: {exc.strerror or exc}")
    for inp in inputs:
        if inp != "-" and os.path.exists(inp) and os.path.exists(path) and os.path.samefile(inp, path):
            fail(f"{flag} {path}: is an input file; writing the report there would destroy it")


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and ``os.replace``.

    An interrupted run leaves either the old file or the new one, never half of one.
    Non-regular files (``/dev/stdout``, pipes) are written directly.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_payload(text: str, output: str | None = None, *, machine: bool = True) -> None:
    """Write output to ``output`` (a path, atomically) or stdout; I/O errors exit 2."""
    if not text.endswith("\n"):
        text += "\n"
    try:
        if output and output != "-":
            atomic_write(output, text)
        else:
            _write_stdout(text, machine)
    except BrokenPipeError:
        raise typer.Exit(int(ExitCode.ERROR))
    except OSError as exc:
        fail(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}")

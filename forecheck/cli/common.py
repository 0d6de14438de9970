"""Helpers shared by the CLI commands: stderr console, error exits, safe plain output.

Outputs cannot lie: every output path is checked before any analysis
(:func:`check_output_path`), files are written atomically (temporary file in the same
directory, then ``os.replace``), stdout never crashes on an encoding it cannot represent
(machine payloads fall back to UTF-8 bytes, human text to an ASCII-safe transliteration),
and any I/O error exits 2 naming the path.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from forecheck.results import ExitCode

# Human-facing messages go to stderr; payloads (JSON, JUnit, annotations, CSV)
# are written plainly to stdout or a file, never through a Rich console
# (typer forces terminal mode under GITHUB_ACTIONS).
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
    quiet_on_broken_pipe(err_console, stderr=True)


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
    err_print(("error:", "bold red"), " ", str(message))
    if hint:
        err_print("  ", str(hint))
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


def _write_stdout(pieces: list[str], machine: bool) -> None:
    stream = sys.stdout
    enc = getattr(stream, "encoding", None) or "utf-8"
    try:  # every piece checked before any is written: one way of writing for the whole text
        for piece in pieces:
            piece.encode(enc)
        for piece in pieces:
            stream.write(piece)
        stream.flush()
        return
    except (UnicodeEncodeError, LookupError):
        pass
    buf = getattr(stream, "buffer", None)
    if machine and buf is not None:
        stream.flush()
        for piece in pieces:
            buf.write(piece.encode("utf-8"))
        buf.flush()
        return
    stream.write(ascii_safe("".join(pieces)).encode(enc, errors="replace").decode(enc, errors="replace"))
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


def atomic_write(path: str, text: str | list[str]) -> None:
    """Write ``text`` (UTF-8; a string or pieces written in turn) to ``path`` via a
    temporary file and ``os.replace``.

    An interrupted run leaves either the old file or the new one, never half of one.
    Non-regular files (``/dev/stdout``, pipes) are written directly.
    """
    pieces = [text] if isinstance(text, str) else text
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(pieces)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(pieces)
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



def write_payload(text: str | list[str], output: str | None = None, *, machine: bool = True) -> bool:
    """Write output to ``output`` (a path, atomically) or stdout; I/O errors exit 2.
    ``text`` may be a list of pieces written one after another (a large JSON
    document: report/json_format.render_json_chunks), never joined into one string.

    A closed stdout (``forecheck analyze f.csv | head -1``) is not an error of the
    run: the rest of the payload is discarded quietly, later outputs (--junit-xml)
    are still written and the exit code stays the run's. Returns False if the pipe
    was closed."""
    pieces = [text] if isinstance(text, str) else list(text)
    if not pieces or not pieces[-1].endswith("\n"):
        pieces.append("\n")
    try:
        if output and output != "-":
            atomic_write(output, pieces)
        else:
            _write_stdout(pieces, machine)
    except BrokenPipeError:
        _stdio_to_devnull(sys.stdout)
        return False
    except OSError as exc:
        fail(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}")
    return True


quiet_on_broken_pipe(err_console, stderr=True)

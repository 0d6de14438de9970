"""The progress display: only for people (text format, stderr a terminal), never
changes results, and ``--no-progress`` is accepted."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import forecheck
from forecheck import progress
from forecheck.cli.app import app


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for s in range(12):
        p = 0.5
        for t in range(15):
            rows.append((f"s{s}", t, p, int(s % 2)))
            p = float(np.clip(p + rng.choice([-0.05, 0.05]), 0.05, 0.95))
    return pd.DataFrame(rows, columns=["series", "time", "p", "outcome"])


def test_should_show_only_for_text_on_a_terminal():
    assert progress.should_show("text", False, _TTY())
    assert not progress.should_show("text", True, _TTY())  # --no-progress
    assert not progress.should_show("json", False, _TTY())  # machine format
    assert not progress.should_show("text", False, io.StringIO())  # pipe / file


def test_display_counts_stages_and_leaves_results_unchanged():
    df = _frame()
    plain = forecheck.analyze(df, n_sim=99)
    seen = []
    with progress.display(True):
        d = progress._active
        orig = d.advance
        d.advance = lambda n=1: (seen.append(n), orig(n))  # type: ignore[method-assign]
        shown = forecheck.analyze(df, n_sim=99)
    assert progress._active is None
    n_checks = len([s for s in forecheck.checks.all_specs()])
    assert len(seen) == n_checks + 1  # reading + every selected check
    assert [r.to_dict() if hasattr(r, "to_dict") else r for r in plain.results] == \
        [r.to_dict() if hasattr(r, "to_dict") else r for r in shown.results]


def test_no_progress_flag_is_accepted(tmp_path):
    path = tmp_path / "f.csv"
    _frame().to_csv(path, index=False)
    res = CliRunner().invoke(app, ["analyze", str(path), "--no-progress", "--n-sim", "99", "-f", "json"])
    assert res.exit_code in (0, 1), (res.stdout, res.exception)
    assert res.stdout.lstrip().startswith("{")


# ------------------------------------------------------------- a real terminal
def _run_with_tty_stderr(args: list[str]) -> tuple[int, bytes, bytes]:
    """``python -m forecheck ARGS`` with stdout a pipe and stderr a pseudo-terminal
    (``pty``), as when a person pipes the report on from an interactive shell."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100 columns
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM")}
    proc = subprocess.Popen([sys.executable, "-m", "forecheck", *args], stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL, env={**env, "TERM": "xterm-256color"})
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer closed it
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out, b"".join(chunks)


def test_progress_on_a_terminal_is_transient_and_leaves_the_report_alone(tmp_path):
    path = tmp_path / "f.csv"
    _frame().to_csv(path, index=False)
    base = [str(path), "--n-sim", "99", "--color", "never"]
    rc, out, err = _run_with_tty_stderr(["analyze", *base])
    rc_off, out_off, err_off = _run_with_tty_stderr(["analyze", *base, "--no-progress"])
    # Rich's live display: hides the cursor, draws the stages (the last frame: every
    # stage done), then restores the cursor and erases its line (transient)
    import re

    assert err.startswith(b"\x1b[?25l") and b"\x1b[?25h" in err and err.endswith(b"\x1b[2K")
    done = re.findall(rb" (\d+)/(\d+) ", err)
    assert done and done[-1][0] == done[-1][1] and int(done[-1][1]) > 1
    assert err_off == b""  # --no-progress: nothing on the terminal
    assert (rc, out) == (rc_off, out_off) and b"forecheck verdict" in out  # the report itself is unchanged
    _, out_json, err_json = _run_with_tty_stderr(["analyze", *base, "--format", "json"])
    assert err_json == b"" and out_json.lstrip().startswith(b"{")  # machine formats: never

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

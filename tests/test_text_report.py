"""The terminal report: the first screen is the verdict; golden files at 80 and 140
columns pin the whole default report of the bundled sample (regenerate with
``FORECHECK_UPDATE_GOLDEN=1 python -m pytest tests/test_text_report.py`` and review the diff)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

import forecheck
from forecheck.report.text import render_text
from tests.conftest import SAMPLE_DATA

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = "sample_data/pres2020_states.csv"


@pytest.fixture(scope="module")
def report():
    cwd = os.getcwd()
    os.chdir(SAMPLE_DATA.parent)  # the path in the report is the relative one users type
    try:
        return forecheck.analyze(SAMPLE)
    finally:
        os.chdir(cwd)


def _normalise(text: str) -> str:
    return re.sub(r"forecheck \d+\.\d+\.\d+", "forecheck X.Y.Z", text)


@pytest.mark.parametrize("width", [80, 140])
def test_golden_text_report(report, width):
    text = _normalise(render_text(report, colour=False, width=width))
    path = GOLDEN / f"sample_text_{width}.txt"
    if os.environ.get("FORECHECK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert max(cell_len(line) for line in text.splitlines()) <= width


def test_first_screen_is_the_whole_verdict(report):
    lines = render_text(report, colour=False, width=100).splitlines()
    assert len(lines) <= 60
    first = "\n".join(lines[:25])
    for needle in ("Moves as calibrated?", "Predictable revisions?", "Calibrated?", "Layer B",
                   "Independent series", "Next", "exit code 0"):
        assert needle in first, needle
    assert lines[0].startswith("╭─ forecheck verdict")


def test_verbose_adds_everything_and_quiet_is_short(report):
    verbose = render_text(report, colour=False, width=100, verbose=1)
    assert "Every check" in verbose and "Series" in verbose and "critic" in verbose
    assert all(s in verbose for s in ("IN|", "Iowa")) or "Iowa" in verbose
    quiet = render_text(report, colour=False, width=100, quiet=True).splitlines()
    assert len(quiet) <= 25


def test_no_pvalue_is_quoted_when_the_dependence_gate_is_active(report):
    # the 56 states share one national swing (about 4 independent draws): nowhere in
    # the report, the critique panel included, may a pooled p-value appear
    text = render_text(report, colour=False, width=120, verbose=1)
    assert "z = -64" not in text and "p = 0 " not in text
    assert "no p-value" in text


def test_uses_wider_terminals(report, monkeypatch):
    monkeypatch.setenv("COLUMNS", "140")
    wide = render_text(report, colour=False)
    assert max(cell_len(line) for line in wide.splitlines()) > 100
    monkeypatch.setenv("COLUMNS", "40")  # never narrower than 80
    assert max(cell_len(line) for line in render_text(report, colour=False).splitlines()) <= 80


def test_ids_and_paths_are_never_truncated(tmp_path):
    import numpy as np
    import pandas as pd

    long_id = "IN|1.0|False|Joe Donnelly|deluxe-model-version-with-a-long-name"
    rng = np.random.default_rng(0)
    rows = []
    for i, sid in enumerate([long_id, long_id.replace("deluxe", "classic")]):
        p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, 30)), 0.02, 0.98)
        rows.append(pd.DataFrame({"series": sid, "time": np.arange(30), "p": p, "outcome": float(i)}))
    deep = tmp_path / ("a-very-long-directory-name-" * 3)
    deep.mkdir()
    f = deep / "forecasts.csv"
    pd.concat(rows).to_csv(f, index=False)
    text = render_text(forecheck.analyze(str(f), n_sim=99), colour=False, width=80, verbose=1)
    flat = re.sub(r"[\s│]+", "", text)
    assert re.sub(r"\s+", "", long_id) in flat and re.sub(r"\s+", "", str(f)) in flat
    assert "…" not in text

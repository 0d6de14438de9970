"""Property-based tests over random valid panels (hypothesis; docs/robustness.md).

Profiles: ``ci`` (default, 25 examples per property, 8 for those that compare two
analyses; derandomised so CI is reproducible) and ``dev`` (300 / 100 examples); pick one with
``FORECHECK_HYPOTHESIS_PROFILE=dev pytest tests/test_properties.py``.

Panels are written to CSV and read back through the whole pipeline, so the reading
layer is exercised too. They include constant series, probabilities of exactly 0 and
1 and within 1e-300 of them, one-row series, unresolved series, blank probabilities
and exact duplicate rows (both dropped and counted).
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import forecheck
from forecheck.report import render
from forecheck.stats.budget import excess_by_orthogonality, series_budget

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("FORECHECK_HYPOTHESIS_PROFILE", "ci"))

N_SIM = 99
# properties that run two or three analyses per example get a third of the examples
PAIRWISE = settings(max_examples=max(5, settings.default.max_examples // 3))
# steps of the belief paths: no move, small and large moves, jumps to the bounds
STEPS = st.sampled_from([0.0, 0.0, 0.01, -0.01, 0.05, -0.05, 0.2, -0.2, 0.5, -0.5])
EDGE = st.sampled_from([0.0, 1e-300, 1e-16, 0.5, 1 - 1e-16, 1.0])


@st.composite
def series_path(draw) -> tuple[list[float], int | None]:
    n = draw(st.integers(1, 9))
    if draw(st.integers(0, 5)) == 0:  # degenerate: an edge value held forever
        p = [draw(EDGE)] * n
    else:
        p0 = draw(st.sampled_from([0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98]))
        p = [p0]
        for _ in range(n - 1):
            p.append(float(np.clip(p[-1] + draw(STEPS), 0.0, 1.0)))
    outcome = draw(st.sampled_from([0, 1, None]))
    return p, outcome


@st.composite
def panels(draw, prefix: str = "s") -> pd.DataFrame:
    """A long frame (series, time, p, outcome) with distinct (series, time) pairs.
    ``p`` is text: blank cells are missing probabilities; duplicated rows are exact."""
    n_series = draw(st.integers(3, 8))
    rows = []
    for s in range(n_series):
        p, outcome = draw(series_path())
        t = 0
        for v in p:
            t += draw(st.sampled_from([1, 1, 1, 2, 7]))
            rows.append((f"{prefix}{s}", t, repr(v), "" if outcome is None else str(outcome)))
        if draw(st.integers(0, 6)) == 0:  # a blank probability at a new time
            rows.append((f"{prefix}{s}", t + 1, "", "" if outcome is None else str(outcome)))
    for _ in range(draw(st.integers(0, 2))):  # exact duplicates
        rows.append(rows[draw(st.integers(0, len(rows) - 1))])
    return pd.DataFrame(rows, columns=["series", "time", "p", "outcome"])


def _write(df: pd.DataFrame, path: Path) -> str:
    df.to_csv(path, index=False)
    return str(path)


def _analyze(*frames: pd.DataFrame):
    with tempfile.TemporaryDirectory() as tmp:
        paths = [_write(df, Path(tmp) / f"f{i}.csv") for i, df in enumerate(frames)]
        return forecheck.analyze(paths if len(paths) > 1 else paths[0], n_sim=N_SIM)


def _verdicts(report) -> dict[str, tuple]:
    """Statuses, estimates and p-values of every check record, keyed by code. DQ004
    (unsorted input) and the DQ records' line numbers depend on the file order by
    design and are left out."""
    out = {}
    for r in report.results:
        if r.code == "DQ004":
            continue
        if r.family == "DQ":
            out[r.code] = (r.status,)
        else:
            out[f"{r.code}:{r.name}"] = (r.status, r.estimate, r.statistic, r.pvalue, r.pvalue_adjusted)
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        assert x[0] == y[0], (k, x, y)
        for u, v in zip(x[1:], y[1:]):
            if u is None or v is None:
                assert u is v, (k, x, y)
            else:
                assert np.isclose(u, v, rtol=1e-9, atol=1e-12, equal_nan=True), (k, x, y)


@given(panels())
def test_analyze_never_raises_and_accounts_for_rows(df):
    report = _analyze(df)
    inp = report.input
    assert inp["rows_read"] == len(df)
    assert inp["rows_read"] == inp["rows_used"] + sum(inp["rows_dropped"].values())
    # drops: blank probabilities, and exact duplicates of an earlier row
    n_blank = int((df["p"] == "").sum())  # a copy of a blank row is a missing probability too
    n_dup = int(df[df["p"] != ""].duplicated().sum())
    assert inp["rows_dropped"].get("missing_p", 0) == n_blank
    assert inp["rows_dropped"].get("duplicate", 0) == n_dup
    # a test-based record that ran has a p-value: never a pass on NaN
    for r in report.results:
        if r.test_based and r.status != "skip":
            assert r.pvalue is not None and np.isfinite(r.pvalue), (r.code, r.status, r.pvalue, r.message)
    # machine outputs always parse
    doc = json.loads(render(report, "json"))
    assert doc["input"]["rows_used"] == inp["rows_used"]
    ET.fromstring(render(report, "junit").encode())
    for line in render(report, "github").splitlines():
        assert line.startswith("::")


@given(panels())
def test_pathwise_identity(df):
    """Σ movement = uncertainty reduction + excess, and the excess equals the
    pathwise sum Σ(1 − 2p_{t−1})Δp_t (A-R 2021, p. 10, fn 21), per series; the
    movement and reduction are re-derived here from the rows with plain Python."""
    report = _analyze(df)
    b = series_budget(report.panel)
    np.testing.assert_allclose(b.movement, b.uncertainty_reduction + b.excess, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.excess, excess_by_orthogonality(report.panel), rtol=0, atol=1e-12)
    used = df[df["p"] != ""].drop_duplicates()
    table = report.series.set_index("id")
    for sid, g in used.groupby("series"):
        p = [float(v) for v in g.sort_values("time")["p"]]
        o = g["outcome"].iloc[0]
        m = sum((b_ - a_) ** 2 for a_, b_ in zip(p, p[1:]))
        u0, u_last = p[0] * (1 - p[0]), p[-1] * (1 - p[-1])
        if o != "":
            m += (int(o) - p[-1]) ** 2
            r = u0
        else:
            r = u0 - u_last
        assert table.loc[sid, "movement"] == pytest.approx(m, abs=1e-12)
        assert table.loc[sid, "uncertainty_reduction"] == pytest.approx(r, abs=1e-12)


@PAIRWISE
@given(panels(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(df, rnd):
    order = list(range(len(df)))
    rnd.shuffle(order)
    _same(_verdicts(_analyze(df)), _verdicts(_analyze(df.iloc[order])))


@settings(PAIRWISE, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(panels(), st.randoms(use_true_random=False))
def test_renaming_ids_changes_nothing(df, rnd):
    ids = sorted(df["series"].unique())
    new = [f"{rnd.getrandbits(32):08x}-{i}" for i in range(len(ids))]
    rnd.shuffle(new)
    renamed = df.assign(series=df["series"].map(dict(zip(ids, new))))
    _same(_verdicts(_analyze(df)), _verdicts(_analyze(renamed)))


@PAIRWISE
@given(panels(), st.sampled_from(["x", "[red]", "%0A", "\u202e", "id "]))
def test_prefixing_ids_changes_nothing(df, prefix):
    """A common prefix keeps the ids' order, so even simulated p-values must agree."""
    _same(_verdicts(_analyze(df)), _verdicts(_analyze(df.assign(series=prefix + df["series"]))))


@PAIRWISE
@given(panels(prefix="a"), panels(prefix="b"))
def test_concatenating_files_adds_counts(df1, df2):
    r1, r2, both = _analyze(df1), _analyze(df2), _analyze(df1, df2)
    for key in ("rows_read", "rows_used", "series", "resolved_series"):
        assert both.input[key] == r1.input[key] + r2.input[key], key
    dropped = {k: r1.input["rows_dropped"].get(k, 0) + r2.input["rows_dropped"].get(k, 0)
               for k in set(r1.input["rows_dropped"]) | set(r2.input["rows_dropped"])}
    assert {k: v for k, v in both.input["rows_dropped"].items() if v} == {k: v for k, v in dropped.items() if v}
    assert len(both.series) == len(r1.series) + len(r2.series)

"""Core contracts: Panel, variance budget, multiple testing, runner, report model."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from forecheck.checks import CheckSpec, execute, run_checks
from forecheck.stats.budget import series_budget
from forecheck.config import AnalysisConfig
from forecheck.errors import InsufficientDataError
from forecheck.panel import Panel
from forecheck.report.model import Report, series_table
from forecheck.results import CheckResult, ExitCode
from forecheck.stats.budget import excess_by_orthogonality
from forecheck.stats.multitest import adjust_pvalues


def random_panel(seed: int = 0, n_series: int = 40, max_len: int = 30, unresolved: float = 0.2) -> Panel:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len, n_series)
    sid = np.repeat([f"s{i:03d}" for i in range(n_series)], lengths)
    t = np.concatenate([rng.permutation(n) for n in lengths]).astype(float)  # unsorted within series
    p = rng.uniform(0, 1, lengths.sum())
    o = rng.integers(0, 2, n_series).astype(float)
    o[rng.uniform(size=n_series) < unresolved] = np.nan
    return Panel.from_arrays(sid, t, p, outcome=np.repeat(o, lengths))


def test_panel_sorts_rows_and_builds_offsets():
    panel = Panel.from_arrays(np.array(["b", "a", "b", "a", "b"]), np.array([2, 1, 0, 0, 1]),
                              np.array([0.3, 0.6, 0.1, 0.5, 0.2]), outcome=np.array([1, 0, 1, 0, 1.0]))
    assert list(panel.ids) == ["a", "b"]
    assert panel.offsets.tolist() == [0, 2, 5]
    assert panel.p.tolist() == [0.5, 0.6, 0.1, 0.2, 0.3]
    assert panel.outcome.tolist() == [0.0, 1.0]
    assert panel.dp.tolist() == pytest.approx([0.1, 0.1, 0.1])
    assert panel.dp_series.tolist() == [0, 1, 1]
    sub = panel.select_series(np.array([False, True]))
    assert list(sub.ids) == ["b"] and sub.offsets.tolist() == [0, 3]


def test_resolution_time_defaults_to_one_typical_step_after_last_forecast():
    panel = Panel.from_arrays(np.array(["a"] * 4), np.array([0, 2, 4, 6.0]), np.array([0.5] * 4),
                              outcome=np.ones(4))
    assert panel.resolution_time.tolist() == [8.0]
    assert panel.time_to_resolution.tolist() == [8.0, 6.0, 4.0, 2.0]


def test_budget_matches_independent_pandas_computation():
    panel = random_panel()
    b = series_budget(panel)
    # Independent re-derivation with pandas (A-R 2021 p. 9 definitions), not the Panel arrays.
    df = panel.to_frame().sort_values(["series", "time"])
    g = df.groupby("series", sort=True)
    m_in = g["p"].apply(lambda s: float((s.diff().dropna() ** 2).sum()))
    p0, pl, o = g["p"].first(), g["p"].last(), g["outcome"].first()
    m_res = ((o - pl) ** 2).fillna(0.0)
    r = np.where(o.notna(), p0 * (1 - p0), p0 * (1 - p0) - pl * (1 - pl))
    np.testing.assert_allclose(b.movement_inflight, m_in.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(b.movement, (m_in + m_res).to_numpy(), atol=1e-12)
    np.testing.assert_allclose(b.uncertainty_reduction, r, atol=1e-12)


def test_pathwise_identity_excess_equals_orthogonality_sum():
    # A-R 2021 fn 21: m - r = sum (1 - 2 p_{t-1}) dp_t for ANY real sequence.
    panel = random_panel(seed=3, n_series=400, max_len=60)
    np.testing.assert_allclose(series_budget(panel).excess, excess_by_orthogonality(panel), atol=1e-12)


@pytest.mark.parametrize("method, sm_method", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_pvalues_matches_statsmodels(method, sm_method):
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.0001, 0.5])
    ok = ~np.isnan(p)
    expected = multipletests(p[ok], method=sm_method)[1]  # reference implementation
    got = adjust_pvalues(p, method)
    np.testing.assert_allclose(got[ok], expected)
    assert np.isnan(got[4])


def _spec(code, severity, pvalue=None, raise_skip=False):
    def run(ctx):
        if raise_skip:
            raise InsufficientDataError("needs at least 10 series")
        return CheckResult(code=code, name=f"check {code}", family=code[:2], severity=severity, status="pass",
                           pvalue=pvalue, statistic=1.0)
    return CheckSpec(code=code, name=f"check {code}", family=code[:2], severity=severity, run=run)


def test_runner_holm_adjusts_gating_family_and_sets_status():
    panel = random_panel()
    specs = [_spec("MG901", "error", 0.02), _spec("MG902", "error", 0.03), _spec("CA901", "info", 0.001),
             _spec("WN901", "warning", raise_skip=True)]
    res = {r.code: r for r in run_checks(panel, AnalysisConfig(), specs)}
    # Holm over the two gating p-values: 2*0.02 = 0.04, max(0.04, 1*0.03) = 0.04
    assert res["MG901"].pvalue_adjusted == pytest.approx(0.04)
    assert res["MG902"].pvalue_adjusted == pytest.approx(0.04)
    assert res["MG901"].status == res["MG902"].status == "fail"
    # info check is outside the gating family: adjusted = raw
    assert res["CA901"].pvalue_adjusted == pytest.approx(0.001)
    assert res["WN901"].status == "skip" and "10 series" in res["WN901"].message
    stat, p = res["MG901"]  # unpacks as (statistic, pvalue)
    assert (stat, p) == (1.0, 0.02)


def test_select_ignore_and_fail_on():
    panel = random_panel()
    specs = [_spec("MG901", "error", 0.001), _spec("CA901", "warning", 0.001)]
    cfg = AnalysisConfig(select=("MG",))
    assert [r.code for r in run_checks(panel, cfg, specs)] == ["MG901"]
    cfg = AnalysisConfig(ignore=("MG9",))
    assert [r.code for r in run_checks(panel, cfg, specs)] == ["CA901"]
    for fail_on, expected in [("error", ExitCode.FAILED), ("never", ExitCode.PASSED)]:
        cfg = AnalysisConfig(fail_on=fail_on)
        results, ctx = execute(panel, cfg, specs)
        report = Report(input={}, config=cfg, results=tuple(results), series=series_table(panel, series_budget(panel)))
        assert report.exit_code == expected
    # a warning-severity failure gates only with --fail-on warning
    cfg = AnalysisConfig(fail_on="warning", select=("CA",))
    results, _ = execute(panel, cfg, specs)
    assert Report(input={}, config=cfg, results=tuple(results), series=series_table(panel, series_budget(panel))).exit_code == 1


def test_report_dict_is_valid_against_shipped_schema():
    panel = random_panel()
    cfg = AnalysisConfig()
    results, ctx = execute(panel, cfg, [_spec("MG199", "error", 0.5)])
    info = {"paths": ["x.csv"], "layout": "long", "columns": {}, "scale": "unit", "rows_read": 10,
            "rows_used": 10, "rows_dropped": {}, "series": panel.n_series,
            "resolved_series": int(panel.resolved.sum())}
    report = Report(input=info, config=cfg, results=tuple(results), series=series_table(panel, series_budget(panel)))
    schema = json.loads(resources.files("forecheck.report").joinpath("schema_v2.json").read_text())
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    jsonschema.validate(doc, schema)
    assert doc["series"][0].keys() >= {"id", "n", "p0", "p_last", "outcome", "movement", "uncertainty_reduction"}
    assert isinstance(report.to_frame(), pd.DataFrame)

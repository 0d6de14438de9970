"""WN301–WN307 end to end on small exact Bayesian forecasters, the assumptions
table, and the report section. Fast guards of benchmarks/wiener_validation.py."""

from __future__ import annotations

import dataclasses

import json

import numpy as np
import pytest
from rich.console import Console
from wn_generators import gaussian_panel, jump_panel

from forecheck.checks import execute
from forecheck.checks.wiener import CHECKS
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.report.model import Report, series_table
from forecheck.report.sections import wiener as section
from forecheck.stats import taleb
from forecheck.stats.budget import series_budget

CFG = AnalysisConfig(n_sim=199)


def _run(panel, extra=None):
    res, ctx = execute(panel, CFG, CHECKS, extra=extra)
    rep = Report(input={}, config=CFG, results=tuple(res), series=series_table(panel, ctx.budget(),
                                                                                 ctx.series_columns), panel=panel)
    return {r.code: r for r in res}, rep


@pytest.fixture(scope="module")
def gauss():
    return _run(gaussian_panel(300, 100, seed=101))


@pytest.fixture(scope="module")
def jumpy():
    return _run(jump_panel(300, 100, seed=202))


def test_gaussian_bayesian_passes_on_standardised_but_raw_rejects(gauss):
    res, _ = gauss
    d = res["WN302"].details
    # docs/validation.md (layer B): latent ≈ nominal, raw Δp far above it
    assert d.standardised.ad_per_series.share_reject < 0.10
    assert d.raw.ad_per_series.share_reject > 0.40
    assert res["WN302"].status == "pass" and res["WN305"].status == "pass"
    assert res["WN304"].status == "pass"
    # WN301: the exact probit-clock forecaster has γ near 1.6 and α near 1 (docs/checks.md)
    assert 1.3 < res["WN301"].details.gamma < 1.9 and 0.8 < res["WN301"].details.alpha < 1.2
    assert "latent" in res["WN301"].details.homoskedastic_coordinates


def test_jumpy_bayesian_fails_wn302_wn305_but_passes_the_budget(jumpy):
    res, rep = jumpy
    assert res["WN302"].status == "fail" and res["WN305"].status == "fail"
    assert res["WN302"].details.standardised.ad_per_series.share_reject > 0.8
    b = series_budget(rep.panel)
    t = b.excess.mean() / b.excess.std(ddof=1) * np.sqrt(len(b.excess))
    assert abs(t) < 2.6  # A-R budget: exact Bayesian, no excess movement
    days = res["WN305"].details.news_days
    assert 1 <= len(days) <= 10 and abs(days[0].L) >= abs(days[-1].L)


def test_every_record_is_descriptive_info(gauss):
    res, _ = gauss
    assert set(res) == {f"WN30{i}" for i in range(1, 8)}
    for r in res.values():
        assert r.severity == "info" and r.test_based is False and r.family == "WN"
        assert r.status in ("pass", "fail") and r.pvalue is not None


def test_assumptions_table_in_json(jumpy):
    res, rep = jumpy
    doc = json.loads(json.dumps(rep.to_dict()))
    rows = doc["assumptions"]
    assert len(rows) == 7
    assert {tuple(r["codes"]) for r in rows} == {(f"WN30{i}",) for i in range(1, 8)}
    by = {r["codes"][0]: r for r in rows}
    for code, r in by.items():
        assert r["holds"] == (res[code].status == "pass")
        assert set(r) == {"assumption", "critique_inference", "measured", "holds", "meaning", "codes", "summary"}
    assert "kurtosis" in by["WN302"]["measured"]


def test_short_series_skip_and_table_says_not_measured():
    panel = Panel.from_arrays(np.array(["a", "a", "b", "b"]), np.array([0.0, 1, 0, 1]), np.array([.5, .6, .4, .3]))
    res, rep = _run(panel)
    assert all(r.status == "skip" for r in res.values())
    assert all(r["holds"] is None for r in rep.to_dict()["assumptions"])


def test_report_section_and_verdict_fit_80_columns(jumpy):
    _, rep = jumpy
    con = Console(width=80, record=True, no_color=True)
    for x in section.render(rep):
        con.print(x)
    con.print(section.verdict(rep))
    text = con.export_text()
    from rich.cells import cell_len  # display width (ξ̂ has a combining accent)

    assert max(cell_len(line) for line in text.splitlines()) <= 80
    assert "Gaussian" in text and "Holds?" in text and "Model-free verdict" in text and "MG101" in text


def test_verdict_reads_mg101():
    panel = jump_panel(60, 60, seed=5)
    import forecheck

    real = forecheck.analyze(panel, n_sim=99, select=("MG101",)).result("MG101")
    mg = dataclasses.replace(real, status="pass", estimate=0.97, ci=(0.85, 1.1), details=dataclasses.replace(
        real.details, volatility_seller_profit=-0.12))
    _, rep = _run(panel, extra=[mg])
    con = Console(width=80, record=True, no_color=True)
    con.print(section.verdict(rep))
    text = con.export_text()
    assert "0.97 [0.85, 1.10]" in text and "lost $0.120" in text


def test_taleb_path_with_underlying_recovers_sigma():
    # Underlying vote share Y = ½ + ½ erf(X), X an exact OU path of Taleb's SDE; the
    # forecast is Taleb's own B(Y_t, σ, τ_t): the fitted σ̂ and the B path must match.
    rng = np.random.default_rng(7)
    S, T, sigma = 40, 80, 0.8
    dt = 1.0 / T
    x = np.empty((S, T))
    x[:, 0] = rng.normal(0, 0.1, S)
    a = np.exp(sigma**2 * dt)
    sd = np.sqrt((np.exp(2 * sigma**2 * dt) - 1) / 2)  # exact OU transition
    for t in range(1, T):
        x[:, t] = x[:, t - 1] * a + sd * rng.standard_normal(S)
    y = 0.5 + 0.5 * np.vectorize(__import__("math").erf)(x)
    tau = 1 - np.arange(T) / T
    p = taleb.binary_price(y, sigma, tau[None, :])
    series = np.repeat([f"s{i}" for i in range(S)], T)
    panel = Panel.from_arrays(series, np.tile(np.arange(T, dtype=float), S), p.ravel(),
                              underlying=100 * y.ravel(), outcome=np.repeat((x[:, -1] > 0).astype(float), T))
    res, _ = _run(panel)
    claim2 = res["WN306"].details.claims[1]
    assert claim2.verdict in ("holds", "fails")
    u = claim2.extra["underlying"]
    assert u["sigma_median"] == pytest.approx(sigma, rel=0.1)
    assert u["rmse_forecast_vs_B"] < 0.03


@pytest.mark.filterwarnings("error")  # an all-missing underlying used to warn (nanmax of all NaN)
@pytest.mark.parametrize("cell", [np.nan, "n/a", "abc"])
def test_an_underlying_without_numbers_is_said_not_usable(cell, tmp_path):
    """An underlying column with no usable value: claim 2 is "not testable" and says the
    underlying is unusable (not "pass --underlying-col": one was read); cells that are
    text rather than missing-value markers are named in a note."""
    import pandas as pd

    import forecheck

    rng = np.random.default_rng(3)
    n, T = 30, 12
    df = pd.DataFrame({"series": np.repeat([f"s{i}" for i in range(n)], T), "time": np.tile(np.arange(T), n),
                       "p": rng.uniform(0.1, 0.9, n * T), "outcome": np.repeat(rng.integers(0, 2, n), T),
                       "underlying": cell})
    f = tmp_path / "u.csv"
    df.to_csv(f, index=False)
    rep = forecheck.analyze(str(f), select=("WN306",))
    claim = rep.result("WN306").details.claims[1]
    assert claim.verdict == "not testable" and claim.evidence.startswith("the underlying is not usable")
    text_notes = [x for x in rep.input["notes"] if "cells that are not numbers" in x]
    assert text_notes == ([] if cell is np.nan or cell == "n/a" else
                          ["Underlying column 'underlying': cells that are not numbers (such as 'abc') are read "
                           "as missing; WN306's claim 2 uses the numbers."])


def test_edge_cases_single_series_constant_and_absorbed():
    rng = np.random.default_rng(0)
    p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.02, 150)), 0.01, 0.99)
    res, _ = _run(Panel.from_arrays(np.repeat("a", 150), np.arange(150.0), p))
    lo, hi = res["WN301"].ci
    assert hi - lo > 0.1  # one series: robust SEs per increment, not a degenerate cluster SE
    assert res["WN301"].details.se.startswith("heteroskedasticity")
    const = Panel.from_arrays(np.repeat(["a", "b"], 50), np.tile(np.arange(50.0), 2), np.full(100, 0.3),
                              outcome=np.repeat([1.0, 0.0], 50))
    res, rep = _run(const)
    assert res["WN302"].status == "skip" and res["WN307"].details.zero_share == 1.0
    q = np.r_[np.linspace(0.5, 1, 30), np.ones(20)]  # absorbed at 1 for the last 20 steps
    res, _ = _run(Panel.from_arrays(np.repeat(["a", "b"], 50), np.tile(np.arange(50.0), 2), np.r_[q, 1 - q],
                                    outcome=np.repeat([1.0, 0.0], 50)))
    # linspace ends at 1.0, then 20 more 1.0s: 20 zero increments of 49 per series
    assert res["WN307"].details.zero_share == pytest.approx(20 / 49)


def test_claim1_hug_fifty_is_judged_by_the_brier_score_of_pulled_in_forecasts():
    # 200 two-step series starting at 0.95 (favourite = YES). If only half of them resolve
    # YES, the forecast pulled halfway to 50% (0.725) scores better: the claim "holds";
    # if 95% resolve YES, the extreme forecast scores better: the claim "fails".
    rng = np.random.default_rng(3)
    n = 200
    for share, expect in ((0.5, "holds"), (0.95, "fails")):
        o = (rng.random(n) < share).astype(float)
        o[: int(share * n)], o[int(share * n):] = 1.0, 0.0
        ids = np.repeat([f"s{i:03d}" for i in range(n)], 4)
        p = np.tile([0.95, 0.9, 0.93, 0.94], n)
        panel = Panel.from_arrays(ids, np.tile(np.arange(4.0), n), p, outcome=np.repeat(o, 4))
        res, _ = _run(panel)
        c1 = res["WN306"].details.claims[0]
        # the paired Brier difference written out: (o − 0.95)² − (o − 0.725)²
        d = (o - 0.95) ** 2 - (o - 0.725) ** 2
        assert c1.extra["z"] == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(n)))
        assert c1.verdict == expect


def test_news_days_ties_are_listed_in_panel_order():
    """Two copies of every series (ids "…:a", "…:b"): each copy's per-series statistics,
    window, null and critical values are the single panel's, so each jump is flagged
    twice with an exactly tied |L|. The doubled panel's ten news days must be the single
    panel's top five, each followed by its copy (ties in panel order: the ids sorted);
    expected values from the single panel, whose |L| are distinct."""
    single = jump_panel(120, 100, seed=303)
    rows_id = single.ids[single.series_index].astype(str)
    out = single.outcome[single.series_index]
    doubled = Panel.from_arrays(np.concatenate([np.char.add(rows_id, ":a"), np.char.add(rows_id, ":b")]),
                                np.tile(single.time, 2), np.tile(single.p, 2), outcome=np.tile(out, 2))
    one = _run(single)[0]["WN305"].details
    two = _run(doubled)[0]["WN305"].details
    assert two.standardised.lee_mykland.n_jumps == 2 * one.standardised.lee_mykland.n_jumps > 16
    assert len({abs(d.L) for d in one.news_days}) == len(one.news_days) == 10
    expected = [dataclasses.replace(d, series=d.series + s) for d in one.news_days[:5] for s in (":a", ":b")]
    assert list(two.news_days) == expected

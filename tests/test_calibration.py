"""CA201-CA204: every statistic pinned by an independent computation.

Provenance of expected values is given next to each assertion: plain numpy /
pandas written differently from forecheck/stats/calibration.py, a reference PAV
written here, statsmodels GLM (a different estimator path from the Logit the
code uses), scipy.stats, or hand arithmetic shown in comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, logit

from forecheck.checks import run_checks
from forecheck.checks import calibration as C
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.stats import calibration as cal


def _po(n=300, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 0.999, n)
    o = (rng.uniform(size=n) < p).astype(float)
    return p, o


# ---------------------------------------------------------------------- Brier
def test_brier_matches_plain_numpy():
    p, o = _po()
    # plain numpy: dot product of the errors divided by n
    assert cal.brier(p, o) == pytest.approx(np.dot(p - o, p - o) / p.size, rel=1e-14)


# --------------------------------------------------------------------- Murphy
def test_murphy_terms_match_pandas_groupby_and_identity_is_exact():
    p, o = _po(500, 1)
    m = cal.murphy_decomposition(p, o, n_bins=10)
    # independent binning: pandas.cut on [0, .1), [.1, .2), ... (p < 1 here)
    df = pd.DataFrame({"p": p, "o": o, "k": pd.cut(p, np.linspace(0, 1, 11), right=False)})
    g = df.groupby("k", observed=True)
    nk, pk, ok = g.size().to_numpy(), g["p"].mean().to_numpy(), g["o"].mean().to_numpy()
    n, obar = len(df), o.mean()
    assert m.rel == pytest.approx(np.sum(nk * (pk - ok) ** 2) / n, rel=1e-12)
    assert m.res == pytest.approx(np.sum(nk * (ok - obar) ** 2) / n, rel=1e-12)
    assert m.unc == pytest.approx(obar * (1 - obar), rel=1e-12)
    dp = df["p"] - g["p"].transform("mean")
    do = df["o"] - g["o"].transform("mean")
    assert m.wbv == pytest.approx(np.mean(dp**2), rel=1e-12)
    assert m.wbc == pytest.approx(np.mean(dp * do), rel=1e-12)
    # Stephenson et al. (2008): BS = REL - RES + UNC + WBV - 2 WBC, exactly
    assert abs(m.identity_residual) < 1e-14
    assert m.brier == pytest.approx(np.mean((p - o) ** 2), rel=1e-14)
    assert m.bin_n.sum() == n


def test_murphy_three_terms_exact_when_forecasts_constant_in_bins():
    rng = np.random.default_rng(2)
    p = rng.choice([0.05, 0.25, 0.55, 0.85, 1.0], size=400)  # one value per bin (1.0 -> last bin)
    o = (rng.uniform(size=400) < p).astype(float)
    m = cal.murphy_decomposition(p, o)
    assert m.wbv < 1e-28 and abs(m.wbc) < 1e-16  # zero up to rounding of the bin means
    assert m.rel - m.res + m.unc == pytest.approx(np.mean((p - o) ** 2), abs=1e-15)
    assert cal.bin_index(np.array([0.0, 0.1, 0.999, 1.0])).tolist() == [0, 1, 9, 9]


# ----------------------------------------------------------------------- CORP
def _reference_pav(p, o):
    """Textbook pool-adjacent-violators on o sorted by p, ties in p pooled first."""
    order = np.argsort(p, kind="stable")
    ps, os_ = p[order], o[order]
    blocks = []  # [sum, count]
    i = 0
    while i < len(ps):
        j = i
        while j + 1 < len(ps) and ps[j + 1] == ps[i]:
            j += 1
        blocks.append([os_[i:j + 1].sum(), j - i + 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
        i = j + 1
    fitted = np.concatenate([np.full(c, s / c) for s, c in blocks])
    out = np.empty_like(fitted)
    out[order] = fitted
    return out


def test_corp_matches_reference_pav_and_identity():
    p, o = _po(400, 3)
    p = np.round(p, 2)  # create ties: CORP pools equal forecasts
    c = cal.corp_decomposition(p, o)
    ref = _reference_pav(p, o)
    np.testing.assert_allclose(c.recalibrated, ref, atol=1e-13)
    s = lambda q: np.mean((q - o) ** 2)  # noqa: E731
    obar = np.full_like(o, o.mean())
    assert c.mcb == pytest.approx(s(p) - s(ref), abs=1e-13)
    assert c.dsc == pytest.approx(s(obar) - s(ref), abs=1e-13)
    assert c.unc == pytest.approx(o.mean() * (1 - o.mean()), abs=1e-13)
    # Dimitriadis, Gneiting & Jordan (2021) eq. 3: S = MCB - DSC + UNC
    assert c.mcb - c.dsc + c.unc == pytest.approx(s(p), abs=1e-14)
    assert c.mcb >= 0 and c.dsc >= 0


# -------------------------------------------------------------- Spiegelhalter
def test_spiegelhalter_hand_worked_example():
    p = np.array([0.1, 0.4, 0.7, 0.9])
    o = np.array([0.0, 1.0, 1.0, 0.0])
    # numerator Σ (o - p)(1 - 2p):
    #   (0-.1)(.8) = -.08; (1-.4)(.2) = .12; (1-.7)(-.4) = -.12; (0-.9)(-.8) = .72  -> .64
    # variance Σ (1 - 2p)^2 p(1 - p):
    #   .64*.09 = .0576; .04*.24 = .0096; .16*.21 = .0336; .64*.09 = .0576      -> .1584
    z_hand = 0.64 / np.sqrt(0.1584)  # = 1.60806...
    r = cal.spiegelhalter(p, o)
    assert r.z == pytest.approx(z_hand, rel=1e-12)
    assert r.z == pytest.approx(1.608060, abs=1e-6)
    assert r.pvalue == pytest.approx(2 * stats.norm.sf(z_hand), rel=1e-12)
    # observed minus expected Brier equals the numerator / n
    assert r.observed_brier - r.expected_brier == pytest.approx(0.64 / 4, abs=1e-15)


# ------------------------------------------------------------ Cox / CA203
def test_recalibration_matches_statsmodels_glm_and_lr_from_logliks():
    rng = np.random.default_rng(4)
    pt = rng.uniform(0.02, 0.98, 120)
    o = (rng.uniform(size=120) < pt).astype(float)
    p = expit(1.5 * logit(pt))
    p[:2] = [0.0, 1.0 - 1e-6]  # exercise the clipping
    r = cal.logistic_recalibration(p, o)
    # reference: GLM Binomial (IRLS) with the logit link, logits computed here
    q = np.clip(p, 1e-4, 1 - 1e-4)
    x = np.log(q / (1 - q))
    glm = sm.GLM(o, sm.add_constant(x), family=sm.families.Binomial()).fit()
    np.testing.assert_allclose([r.intercept, r.slope], glm.params, rtol=1e-7, atol=1e-9)
    # Logit (Newton, observed information) vs GLM (IRLS, expected information): equal for the
    # canonical link at the optimum, up to the two optimisers' stopping tolerances
    np.testing.assert_allclose([r.intercept_se, r.slope_se], glm.bse, rtol=1e-5)
    # LR: 2 (llf_GLM - loglik of the stated forecasts) ~ chi2(2)
    ll0 = stats.bernoulli.logpmf(o, q).sum()
    lr = 2 * (glm.llf - ll0)
    assert r.llf_null == pytest.approx(ll0, rel=1e-12)
    assert r.lr_stat == pytest.approx(lr, rel=1e-7)
    assert r.pvalue == pytest.approx(stats.chi2.sf(lr, 2), rel=1e-6)
    assert r.n_clipped == 2  # 0 and 1 - 1e-6 both lie outside [1e-4, 1 - 1e-4]
    lo, hi = r.slope_ci
    assert lo == pytest.approx(glm.params[1] - stats.norm.ppf(0.975) * glm.bse[1], rel=1e-5)


def test_batch_recalibration_matches_single_fits():
    rng = np.random.default_rng(5)
    p = rng.uniform(size=(4, 60))
    o = (rng.uniform(size=p.shape) < p).astype(float)
    a, b, lr, pv = cal.logistic_recalibration_batch(p, o)
    for i in range(4):
        r = cal.logistic_recalibration(p[i], o[i])
        assert (a[i], b[i]) == pytest.approx((r.intercept, r.slope), rel=1e-7, abs=1e-9)
        assert lr[i] == pytest.approx(r.lr_stat, rel=1e-6)


def test_recalibration_separation_and_one_class_skip():
    with pytest.raises(cal.RecalibrationError, match="separate"):
        cal.logistic_recalibration(np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]), np.array([0, 0, 0, 1, 1, 1.0]))
    with pytest.raises(cal.RecalibrationError, match="equal"):
        cal.logistic_recalibration(np.array([0.1, 0.2, 0.3]), np.zeros(3))
    # through the runner: a skip record with the reason, never a traceback
    s = 12
    pan = Panel.from_arrays(np.arange(s), np.zeros(s), np.linspace(0.05, 0.95, s),
                            outcome=(np.arange(s) >= 6).astype(float))
    (res,) = run_checks(pan, AnalysisConfig(select=("CA203",)), specs=C.CHECKS)
    assert res.status == "skip" and "separate" in res.message


# ------------------------------------------------------------ size and power
R, S50 = 2000, 50


def _calibrated(seed, r=R, s=S50):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=(r, s))
    o = (rng.uniform(size=(r, s)) < p).astype(float)
    return p, o


def test_size_ca202_ca203_calibrated_forecaster():
    # 2000 replications x 50 series, p ~ U(0,1), o ~ Bernoulli(p), vectorised
    p, o = _calibrated(20240601)
    _, pv = cal.spiegelhalter_z(p, o)
    _, _, _, pl = cal.logistic_recalibration_batch(p, o)
    size202, size203 = np.mean(pv < 0.05), np.nanmean(pl < 0.05)
    assert np.isnan(pl).mean() < 0.01
    assert 0.03 <= size202 <= 0.07, size202  # measured 0.045 at this seed
    assert 0.03 <= size203 <= 0.07, size203  # measured 0.054 at this seed


def test_power_against_overconfidence():
    # the forecaster states expit(2 logit p) for true probability p
    p, o = _calibrated(7, r=1000, s=200)
    shown = expit(2 * logit(p))
    _, pv = cal.spiegelhalter_z(shown, o)
    _, b, _, pl = cal.logistic_recalibration_batch(shown, o)
    assert np.mean(pv < 0.05) > 0.9  # ≈ 0.995 in benchmarks/calibration_size_power.py
    assert np.nanmean(pl < 0.05) > 0.8  # ≈ 0.89 in benchmarks/calibration_size_power.py (2 df LR)
    assert np.nanmedian(b) == pytest.approx(0.5, abs=0.05)  # true recalibration slope is 1/2


# -------------------------------------------------------------- horizons
def test_horizon_rows_irregular_spacing():
    # series A: forecasts at days 0, 3, 4, 9, resolves day 10
    # series B: forecasts at days 5, 6, resolves day 8 (resolved_at given)
    # series C: forecasts at days 1, 2, 7, no resolved_at: resolves one typical step
    #           (median gap of 1, 5 = 3) after its last forecast -> day 10
    ser = ["A"] * 4 + ["B"] * 2 + ["C"] * 3
    t = [0, 3, 4, 9, 5, 6, 1, 2, 7]
    p = np.linspace(0.1, 0.9, 9)
    res_at = [10] * 4 + [8] * 2 + [np.nan] * 3
    pan = Panel.from_arrays(np.array(ser), np.array(t, float), p, outcome=np.ones(9),
                            resolved_at=np.array(res_at, float))
    rows = C.horizon_rows(pan, np.array([0.0, 1.0, 2.0, 6.0, 7.0]))
    # A (rows 0-3): h=0 -> t<=10 -> row 3; h=1 -> t<=9 -> row 3 (exactly h before counts);
    #   h=2 -> t<=8 -> row 2 (day 4); h=6 -> t<=4 -> row 2; h=7 -> t<=3 -> row 1
    # B (rows 4-5): h=0 -> t<=8 -> row 5; h=1 -> t<=7 -> row 5; h=2 -> t<=6 -> row 5;
    #   h=6 -> t<=2 -> none; h=7 -> none
    # C (rows 6-8), R=10: h=0,1,2 -> t<=10,9,8 -> row 8; h=6 -> t<=4 -> row 7; h=7 -> t<=3 -> row 7
    assert rows.tolist() == [[3, 3, 2, 2, 1], [5, 5, 5, -1, -1], [8, 8, 8, 7, 7]]
    # a subset of series, in the given order
    assert C.horizon_rows(pan, np.array([2.0]), np.array([2, 0])).tolist() == [[8], [2]]


def test_horizon_rows_matches_a_per_series_scan():
    """The vectorised binary search against a per-series scan (expected values: the last
    row of the series with time <= resolution - h, by direct comparison), on random
    panels with tied times, unequal lengths and a subset of series in random order."""
    rng = np.random.default_rng(7)
    hs = np.array([0.0, 1.0, 2.5, 7.0, 100.0])
    for _ in range(100):
        S = int(rng.integers(1, 12))
        L = rng.integers(1, 9, S)
        ids = np.repeat(np.arange(S), L).astype(str)
        t = np.concatenate([np.sort(rng.integers(0, 15, k)).astype(float) for k in L])
        res_at = np.where(rng.random(S) < 0.3, np.nan, rng.integers(3, 25, S).astype(float))
        pan = Panel.from_arrays(ids, t, rng.uniform(0.05, 0.95, len(ids)), outcome=np.ones(len(ids)),
                                resolved_at=res_at[np.repeat(np.arange(S), L)])
        sub = rng.permutation(pan.n_series)[: max(1, pan.n_series // 2)]
        want = np.full((len(sub), len(hs)), -1)
        for i, s_ in enumerate(sub):
            lo, hi = pan.offsets[s_], pan.offsets[s_ + 1]
            for j, h in enumerate(hs):
                ok = np.flatnonzero(pan.time[lo:hi] <= pan.resolution_time[s_] - h)
                if ok.size:
                    want[i, j] = lo + ok[-1]
        assert C.horizon_rows(pan, hs, sub).tolist() == want.tolist()


def test_default_horizons_by_time_unit():
    pan = Panel.from_arrays(np.repeat(np.arange(3), 40), np.tile(np.arange(40.0), 3), np.full(120, 0.5),
                            outcome=np.ones(120))
    assert C.default_horizons(pan, pan.resolved) == (1.0, 4.0, 10.0, 20.0)  # 1 and 10/25/50% of 40
    day = Panel(ids=pan.ids, offsets=pan.offsets, time=pan.time, p=pan.p, outcome=pan.outcome,
                time_kind="date", time_unit="day")
    assert C.default_horizons(day, day.resolved) == (1.0, 7.0, 30.0, 90.0)


def _daily_panel(p: np.ndarray, o: np.ndarray) -> Panel:
    s, t = p.shape
    return Panel.from_arrays(np.repeat(np.arange(s), t), np.tile(np.arange(t, dtype=float), s), p.ravel(),
                             outcome=np.repeat(o, t), time_kind="date", time_unit="day")


def test_ca201_details_match_direct_computation_per_horizon():
    rng = np.random.default_rng(8)
    s, t = 40, 50
    p = rng.uniform(0.05, 0.95, (s, t))
    o = (rng.uniform(size=s) < 0.5).astype(float)
    pan = _daily_panel(p, o)
    (res,) = run_checks(pan, AnalysisConfig(select=("CA201",)), specs=C.CHECKS)
    # daily series of 50 days, resolution 1 day after the last forecast (day 50):
    # horizon h picks column 50 - h (days 1, 7, 30 -> columns 49, 43, 20); 90 days is dropped
    assert [h.label for h in res.details.horizons] == ["1d", "7d", "30d"]
    assert res.details.dropped_horizons[0]["label"] == "90d"
    for rec, col in zip(res.details.horizons, [49, 43, 20]):
        assert rec.n == s
        assert rec.brier == pytest.approx(np.mean((p[:, col] - o) ** 2), rel=1e-13)
        m = rec.murphy
        assert m["rel"] - m["res"] + m["unc"] + m["wbv"] - 2 * m["wbc"] == pytest.approx(rec.brier, abs=1e-14)
        c = rec.corp
        assert c["mcb"] - c["dsc"] + c["unc"] == pytest.approx(rec.brier, abs=1e-14)
    assert res.estimate == pytest.approx(np.mean((p[:, -1] - o) ** 2), rel=1e-13)
    assert res.status == "pass" and res.severity == "info" and not res.test_based


def test_too_few_resolved_series_skip():
    rng = np.random.default_rng(9)
    p = rng.uniform(size=(5, 10))
    pan = _daily_panel(p, np.array([0, 1, 0, 1, 1.0]))
    out = run_checks(pan, AnalysisConfig(), specs=C.CHECKS)
    assert [r.status for r in out] == ["skip"] * 4
    assert "at least 10" in out[0].message


# ----------------------------------------------------------------------- CA204
def _martingale_panel(seed, s=60, t=60):
    """Gaussian-signal Bayesian forecaster: o = 1{W_T > 0}, p_t = Φ(W_t / √(T − t))."""
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(size=(s, t + 1)), axis=1)
    o = (w[:, -1] > 0).astype(float)
    rem = (t - np.arange(t)).astype(float)
    return stats.norm.cdf(w[:, :t] / np.sqrt(rem)), o


def test_ca204_no_violation_on_martingales():
    p, o = _martingale_panel(10)
    pan = _daily_panel(p, o)
    (res,) = run_checks(pan, AnalysisConfig(select=("CA204",), n_sim=499), specs=C.CHECKS)
    assert res.status == "pass" and res.pvalue > 0.2
    seq = res.details.sequence
    assert [r.label for r in seq] == ["30d", "7d", "last"]  # 1d merged with last
    assert res.details.merged_horizons == ("1d",)
    # resolution = day 60 (one step after the last forecast on day 59): 30d -> day 30,
    # 7d -> day 53, last -> day 59; the sequence equals direct numpy on those columns
    for r, col in zip(seq, [30, 53, 59]):
        assert r.brier == pytest.approx(np.mean((o - p[:, col]) ** 2), rel=1e-12)
        assert r.variance == pytest.approx(np.var(p[:, col]), rel=1e-12)
    # per-horizon Spiegelhalter equals the direct function on that column
    z, _ = cal.spiegelhalter_z(p[:, 53], o)
    assert res.details.per_horizon_calibration[1].z == pytest.approx(float(z), rel=1e-12)


def test_ca204_detects_dispersion_falling_near_resolution():
    p, o = _martingale_panel(11)
    # from 5 days before resolution on, the forecaster shrinks halfway to 50%:
    # forecasts become less dispersed and the Brier score rises
    p = p.copy()
    p[:, -5:] = 0.5 + 0.3 * (p[:, -5:] - 0.5)
    pan = _daily_panel(p, o)
    (res,) = run_checks(pan, AnalysisConfig(select=("CA204",), n_sim=499), specs=C.CHECKS)
    assert res.status == "fail" and res.pvalue < 0.01
    kinds = {(v.kind, v.from_, v.to) for v in res.details.violations}
    assert ("dispersion falls", "7d", "last") in kinds
    assert ("brier rises", "7d", "last") in kinds


def test_ca204_bootstrap_statistic_by_hand():
    p, o = _martingale_panel(12, s=30, t=20)
    P = p[:, [5, 15, 19]]
    summary, test, _ = C.horizon_consistency(P, o, n_boot=199, seed=3)
    e = (o[:, None] - P) ** 2
    # d = (B2 - B1, B3 - B2, V1 - V2, V2 - V3) with plain means/variances
    d = np.r_[np.diff(e.mean(0)), -np.diff(P.var(0))]
    np.testing.assert_allclose(test.diffs, d, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(test.t, d / test.se, rtol=1e-12)
    assert 0 < test.pvalue <= 1


# --------------------------------------------------------------------- report
def test_render_section_fits_80_columns_and_shows_the_numbers():
    import forecheck
    from rich.console import Console

    from forecheck.report.sections.calibration import render

    p, o = _martingale_panel(13, s=40, t=40)
    rep = forecheck.analyze(_daily_panel(p, o), select=("CA",), n_sim=99)
    console = Console(width=80, record=True, no_color=True, force_terminal=False)
    for item in render(rep):
        console.print(item)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    r201 = rep.result("CA201")
    last_line = next(line for line in text.splitlines() if line.startswith("last"))
    assert f"{r201.estimate:.4f}" in last_line  # Brier at the last forecast
    assert f"Z = {rep.result('CA202').statistic:+.2f}" in text
    assert "CA203" in text and "CA204" in text
    # no CA record -> nothing to render
    assert render(forecheck.analyze(_daily_panel(p, o), select=("XX",))) == []


def test_spiegelhalter_mc_pvalue_matches_exact_enumeration():
    import itertools

    p = np.array([0.1, 0.4, 0.7, 0.9])
    o = np.array([0.0, 1.0, 1.0, 0.0])
    z_obs = 0.64 / np.sqrt(0.1584)  # hand-worked above
    # exact: enumerate the 16 outcome vectors with their Bernoulli(p) probabilities
    exact = 0.0
    for bits in itertools.product([0.0, 1.0], repeat=4):
        ob = np.array(bits)
        z = np.sum((ob - p) * (1 - 2 * p)) / np.sqrt(0.1584)
        if abs(z) >= z_obs - 1e-12:
            exact += np.prod(np.where(ob == 1, p, 1 - p))
    mc = cal.spiegelhalter_mc_pvalue(p, o, n_sim=20000, seed=1)
    assert mc == pytest.approx(exact, abs=0.01)  # Monte Carlo s.e. ≈ 0.003


def test_unresolved_series_ignored_labels_and_bad_horizons():
    from forecheck.errors import UsageError

    rng = np.random.default_rng(14)
    s, t = 30, 20
    p = rng.uniform(0.05, 0.95, (s, t))
    o = (rng.uniform(size=s) < p[:, -1]).astype(float)
    o[::3] = np.nan  # 10 unresolved series
    pan = Panel.from_arrays(np.repeat(np.arange(s), t), np.tile(np.arange(t) * 3600.0, s), p.ravel(),
                            outcome=np.repeat(o, t), time_kind="epoch", time_unit="second")
    (res,) = run_checks(pan, AnalysisConfig(select=("CA201",), horizons=(7200.0, 3600.0 * 5)),
                        specs=C.CHECKS)
    keep = ~np.isnan(o)
    assert res.nobs == 20
    assert res.estimate == pytest.approx(np.mean((p[keep, -1] - o[keep]) ** 2), rel=1e-13)
    # resolution one step (1 h) after the last forecast at 19 h: 2 h -> 18 h (col 18), 5 h -> col 15
    assert [h.label for h in res.details.horizons] == ["2h", "5h"]
    assert res.details.horizons[1].brier == pytest.approx(np.mean((p[keep, 15] - o[keep]) ** 2))
    assert C.horizon_label(pan, 86400.0 * 7) == "7d" and C.horizon_label(pan, 90.0) == "90s"
    assert C.horizon_label(pan, 120.0) == "2min"
    with pytest.raises(UsageError, match="positive"):
        run_checks(pan, AnalysisConfig(select=("CA201",), horizons=(0.0,)), specs=C.CHECKS)


def test_calibration_tests_give_no_pvalue_when_series_share_one_shock():
    # 40 "states" driven by one national latent walk (plus a little own noise), one
    # election: the outcomes are not 40 independent events, so CA202/CA203/CA204 must
    # not print confident p-values (MG106 finds only a handful of independent series).
    from scipy.stats import norm

    import forecheck
    from forecheck.panel import Panel

    rng = np.random.default_rng(11)
    S, T = 40, 60
    common = np.cumsum(rng.normal(0, 0.15, T))
    offsets = rng.normal(0, 1.0, S)
    latent = offsets[:, None] + common[None, :] + np.cumsum(rng.normal(0, 0.01, (S, T)), axis=1)
    p = norm.cdf(latent)
    outcome = (latent[:, -1] + rng.normal(0, 0.3) > 0).astype(float)  # one shared final shock
    panel = Panel.from_arrays(np.repeat([f"s{i:02d}" for i in range(S)], T),
                              np.tile(np.arange(T), S), p.ravel(), outcome=np.repeat(outcome, T))
    report = forecheck.analyze(panel)
    assert report.result("MG106").estimate < 10
    for code in ("CA202", "CA203", "CA204"):
        r = report.result(code)
        if r.status == "inconclusive":
            assert r.pvalue is None and r.gate.pvalue_if_independent is not None
            assert "pvalue_if_independent" in r.to_dict()["details"]
        else:  # CA203/CA204 may skip for their own reasons (e.g. separation)
            assert r.status == "skip", (code, r.status, r.message)
    assert report.result("CA202").status == "inconclusive"

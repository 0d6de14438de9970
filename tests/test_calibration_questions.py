"""Calibration checks when contracts of one question share an outcome (issue 12):
CA201's interval, CA203's score test and CA204's bootstrap count questions.

Every expected value is re-derived independently: by enumerating a question's
outcome vectors, with statsmodels (cluster-robust Logit / OLS, Logit score and
Hessian), or by a brute-force cluster resample."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm

from forecheck.checks import all_specs, execute
from forecheck.checks.calibration import _data, _questions_of, horizon_consistency
from forecheck.config import AnalysisConfig
from forecheck.simulate import simulate_panel
from forecheck.simulate.questions import candidates_panel, pairs_panel
from forecheck.stats import calibration as cal


def _races(Q=12, seed=3):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 5, size=Q)
    u = np.repeat(np.arange(Q), sizes)
    p = np.concatenate([rng.dirichlet(np.full(k, 1.5)) for k in sizes])
    return p, u, sizes


def test_grouped_score_covariance_by_enumeration():
    """Cov(Σ (o − p) C) with o ~ Categorical(p) per question, enumerated outcome by
    outcome; a standalone contract (unit of one) by its two outcomes; a question
    whose forecasts do not sum to 1 by the Cauchy–Schwarz bound."""
    p, u, _ = _races()
    p = np.r_[p, 0.3, 0.2, 0.35]  # a standalone series, and a 2-contract question summing to 0.55
    u = np.r_[u, u.max() + 1, u.max() + 2, u.max() + 2]
    rng = np.random.default_rng(0)
    C = np.column_stack([np.ones(p.size), rng.normal(size=p.size)])
    V = cal.grouped_score_covariance(p, C, u)
    ref = np.zeros((2, 2))
    for q in np.unique(u):
        idx = np.flatnonzero(u == q)
        if abs(p[idx].sum() - 1) <= cal.EXCLUSIVE_TOL and len(idx) > 1:  # one winner, enumerated
            scores = [C[idx].T @ (np.eye(len(idx))[w] - p[idx]) for w in range(len(idx))]
            ref += sum(pw * np.outer(s, s) for pw, s in zip(p[idx], scores))
        elif len(idx) == 1:  # Bernoulli: both outcomes
            i = idx[0]
            ref += sum(pr * np.outer(C[i] * (y - p[i]), C[i] * (y - p[i])) for y, pr in ((1, p[i]), (0, 1 - p[i])))
        else:  # n Σ Var: every independent joint law lies below it (checked on all 4 outcomes, independent law)
            indep = np.zeros((2, 2))
            for ys in itertools.product((0, 1), repeat=len(idx)):
                pr = np.prod([p[i] if y else 1 - p[i] for i, y in zip(idx, ys)])
                s = sum(C[i] * (y - p[i]) for i, y in zip(idx, ys))
                indep += pr * np.outer(s, s)
            bound = len(idx) * sum(p[i] * (1 - p[i]) * np.outer(C[i], C[i]) for i in idx)
            assert np.all(np.linalg.eigvalsh(bound - indep) >= -1e-12)
            ref += bound
    np.testing.assert_allclose(V, ref, rtol=1e-12, atol=1e-14)


def test_grouped_recalibration_standard_errors_match_statsmodels_cluster():
    p, u, _ = _races(Q=40, seed=5)
    rng = np.random.default_rng(6)
    o = np.zeros(p.size)
    for q in range(u.max() + 1):
        idx = np.flatnonzero(u == q)
        o[idx[rng.choice(len(idx), p=p[idx] / p[idx].sum())]] = 1
    r = cal.logistic_recalibration(p, o)
    g = cal.recalibration_grouped(p, o, u, r.intercept, r.slope)
    X = np.column_stack([np.ones(p.size), cal.clipped_logit(p)])
    fit = sm.Logit(o, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": u})
    np.testing.assert_allclose([r.intercept, r.slope], fit.params, rtol=1e-8)
    np.testing.assert_allclose([g.intercept_se, g.slope_se], fit.bse, rtol=1e-8)
    # every unit a complete question: the intercept's score is identically zero, 1 df
    assert g.df == 1
    Vb = cal.grouped_score_covariance(p, X, u)[1, 1]
    assert g.score_stat == pytest.approx((X[:, 1] @ (o - p)) ** 2 / Vb, rel=1e-9)


def test_grouped_score_is_rao_score_with_one_contract_per_unit():
    """Singleton units: T = U' I⁻¹ U with U, I statsmodels' Logit score and
    information at the null (a, b) = (0, 1) — Rao's score test, 2 df."""
    rng = np.random.default_rng(8)
    p = rng.uniform(0.02, 0.98, size=80)
    o = (rng.random(80) < p).astype(float)
    X = np.column_stack([np.ones(80), cal.clipped_logit(p)])
    mod = sm.Logit(o, X)
    U, info = mod.score(np.array([0.0, 1.0])), -mod.hessian(np.array([0.0, 1.0]))
    r = cal.logistic_recalibration(p, o)
    g = cal.recalibration_grouped(p, o, np.arange(80), r.intercept, r.slope)
    assert g.df == 2
    assert g.score_stat == pytest.approx(U @ np.linalg.solve(info, U), rel=1e-9)


def test_unit_weights_are_a_cluster_resample():
    """Multinomial counts over questions -> contract weights: the weighted mean equals
    the plain mean over the contracts of the resampled questions, drawn by hand."""
    p, u, _ = _races(Q=15, seed=9)
    v = np.random.default_rng(1).normal(size=p.size)
    rng = np.random.default_rng(2)
    for _ in range(5):
        draw = rng.integers(15, size=15)
        counts = np.bincount(draw, minlength=15)[None, :] / 15.0
        by_hand = np.concatenate([v[u == q] for q in draw]).mean()
        assert (cal.unit_weights(u, counts) @ v)[0] == pytest.approx(by_hand, rel=1e-12)
    # the sample row 1/Q gives the mean over contracts
    assert (cal.unit_weights(u, np.full((1, 15), 1 / 15)) @ v)[0] == pytest.approx(v.mean(), rel=1e-12)


def test_cluster_mean_se_matches_statsmodels():
    p, u, _ = _races(Q=20, seed=11)
    v = np.random.default_rng(3).normal(size=p.size)
    fit = sm.OLS(v, np.ones((v.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": u})
    assert cal.cluster_mean_se(v, u) == pytest.approx(fit.bse[0], rel=1e-10)


def _run(pan, codes, seed=0):
    cfg = AnalysisConfig(n_sim=99, p_adjust="none", select=codes, seed=seed)
    res, ctx = execute(pan, cfg, [s for s in all_specs() if s.code in codes])
    return {r.code: r for r in res}, ctx


def test_ca_checks_on_races_count_questions():
    pan = candidates_panel(30, 3, 40, seed=21, declare=True)
    res, ctx = _run(pan, ("CA201", "CA203", "CA204"))
    d = _data(ctx)
    ok = ~np.isnan(d.p_last)
    p, o, q = d.p_last[ok], d.outcome[ok], _questions_of(ctx)[ok]
    assert p.size == 90 and np.unique(q).size == 30
    # CA203: the score test re-derived (slope score only, Var by enumeration of each race)
    x = cal.clipped_logit(p)
    var = 0.0
    for g in np.unique(q):
        idx = np.flatnonzero(q == g)
        s = [x[idx] @ (np.eye(3)[w] - p[idx]) for w in range(3)]
        var += sum(pw * si**2 for pw, si in zip(p[idx], s))
    t_ref = (x @ (o - p)) ** 2 / var
    r203 = res["CA203"]
    assert r203.statistic == pytest.approx(t_ref, rel=1e-8)
    from scipy.stats import chi2
    assert r203.pvalue == pytest.approx(chi2.sf(t_ref, 1), rel=1e-8)
    assert "clustered by question" in r203.details.note
    # CA201: the interval's half-width is 1.96 × the cluster-robust se (statsmodels)
    fit = sm.OLS((p - o) ** 2, np.ones((p.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": q})
    lo, hi = res["CA201"].ci
    assert (hi - lo) / 2 == pytest.approx(1.959964 * fit.bse[0], rel=1e-9)
    assert "bootstrap over questions" in res["CA204"].details.method


def test_ca204_cluster_bootstrap_rows_are_questions():
    """horizon_consistency with units: the bootstrap's n is the number of questions
    (Hansen's threshold uses it) and the point contrasts are means over contracts."""
    rng = np.random.default_rng(4)
    p, u, _ = _races(Q=25, seed=12)
    P = np.column_stack([np.clip(p + rng.normal(0, 0.05, p.size), 0.01, 0.99), p])
    o = (rng.random(p.size) < p).astype(float)
    _, t_u, _ = horizon_consistency(P, o, 199, 7, unit=u)
    _, t_c, _ = horizon_consistency(P, o, 199, 7)
    np.testing.assert_allclose(t_u.diffs, t_c.diffs, rtol=1e-12)  # same point contrasts
    E = (o[:, None] - P) ** 2
    assert t_u.diffs[0] == pytest.approx(E[:, 1].mean() - E[:, 0].mean(), rel=1e-12)
    assert not np.allclose(t_u.se, t_c.se)  # the spread comes from resampling questions


def test_panels_without_multi_outcome_questions_take_the_binary_path():
    """No question of 3+ outcomes (independent series; YES/NO pairs, whose mirror is
    dropped): CA201/CA203/CA204 are the binary statistics."""
    for pan in (simulate_panel("gaussian", 40, 30, seed=2), pairs_panel(20, 30, 5)):
        res, ctx = _run(pan, ("CA201", "CA203", "CA204"))
        d = _data(ctx)
        ok = ~np.isnan(d.p_last)
        if res["CA203"].status != "skip":
            r = cal.logistic_recalibration(d.p_last[ok], d.outcome[ok])
            assert res["CA203"].statistic == r.lr_stat
            assert "clustered" not in res["CA203"].details.note
        assert "bootstrap over series" in res["CA204"].details.method


def test_ca204_pairs_bootstrap_equals_the_kept_contracts_alone():
    """YES/NO pairs: the pooled panel drops each mirror, and CA204's bootstrap hands its
    weights out in the data-key order of the series it resamples, so the record is the
    one of a panel holding the kept contracts alone (the keys were once read off the
    whole panel at the pooled panel's positions: other series' keys, another order)."""
    pan = pairs_panel(40, 30, 5)
    res, ctx = _run(pan, ("CA204",))
    kept = ctx.pooled()[1]
    assert 0 < kept.sum() < pan.n_series  # mirrors were dropped
    alone, _ = _run(pan.select_series(kept), ("CA204",))
    a, b = res["CA204"], alone["CA204"]
    assert a.status != "skip" and "bootstrap over series" in a.details.method
    assert (a.statistic, a.pvalue, a.nobs) == (b.statistic, b.pvalue, b.nobs)

"""CA204's Gaussian max-t reference and CA202's skipped Monte-Carlo cross-check on
panels with many effectively independent units (stats/asymptotic.py's switch-over,
docs/validation.md "Asymptotic references at scale").

Expected values are re-derived independently: the contrasts' standard errors are
statsmodels' cluster-robust (CR1) standard errors of a mean, and the Gaussian
reference is compared with the bootstrap it replaces on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

import forecheck
from forecheck.checks import calibration as C
from forecheck.simulate import simulate_panel
from forecheck.stats import asymptotic
from forecheck.stats import calibration as cal
from forecheck.stats.dists import norm


def _horizons(n: int, seed: int, K: int = 3):
    """n honest forecasters seen at K horizons: p_k = Φ(W_k/√(T − k)), o = 1{W_T > 0}
    (the Gaussian-signal Bayesian of tests/test_calibration.py, K looks)."""
    rng = np.random.default_rng(seed)
    T = K + 1
    w = np.cumsum(rng.normal(size=(n, T)), axis=1)
    o = (w[:, -1] > 0).astype(float)
    P = norm.cdf(w[:, :K] / np.sqrt(T - np.arange(K)))
    return P, o


def _terms(P, o):
    E = (o[:, None] - P) ** 2
    h = (P - P.mean(axis=0)) ** 2
    return np.concatenate([E[:, 1:] - E[:, :-1], h[:, :-1] - h[:, 1:]], axis=1)


@pytest.mark.parametrize("clustered", [False, True])
def test_contrast_standard_errors_equal_statsmodels_cr1_of_a_mean(clustered):
    # each contrast is a mean of its terms; its standard error from the units' influence
    # is statsmodels' CR1 standard error of an intercept-only OLS, clustered by unit
    # (G/(G − 1)·(N − 1)/(N − K) with K = 1: Q/(Q − 1)·Σ_u g_u²/n²)
    rng = np.random.default_rng(4)
    n = 600
    terms = rng.normal(size=(n, 4)) * np.array([1.0, 0.3, 2.0, 0.01])
    unit = np.repeat(np.arange(200), 3) if clustered else None
    d = terms.mean(axis=0)
    g = cal.inequality_influence(terms, d, unit)
    test = cal.max_inequality_asymptotic(d, g, n, np.max(np.abs(terms), axis=0), 999, 1)
    groups = unit if clustered else np.arange(n)
    for j in range(4):
        fit = sm.OLS(terms[:, j], np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": groups})
        assert test.se[j] == pytest.approx(float(fit.bse[0]), rel=1e-10)
    assert test.reference == "asymptotic"
    np.testing.assert_array_equal(test.t, d / test.se)


def test_gaussian_reference_agrees_with_the_bootstrap_it_replaces():
    # 4000 honest series at 3 horizons: the bootstrap's standard errors (2000 draws, the
    # weights of max_inequality_test) and p-value against the influence-based ones
    P, o = _horizons(4000, seed=11)
    orig = asymptotic.ANALYTIC_MIN_NEFF
    try:
        asymptotic.ANALYTIC_MIN_NEFF = 0.0
        _, a, ref_a = C.horizon_consistency(P, o, 2000, 5)
        asymptotic.ANALYTIC_MIN_NEFF = float("inf")
        _, b, ref_b = C.horizon_consistency(P, o, 2000, 5)
    finally:
        asymptotic.ANALYTIC_MIN_NEFF = orig
    assert (a.reference, ref_a.method, b.reference, ref_b.method) == ("asymptotic", "asymptotic", "simulated",
                                                                      "simulated")
    np.testing.assert_array_equal(a.diffs, b.diffs)  # the same statistic on both paths
    # se of a bootstrap sd over 2000 draws: about 1/√(2·2000) = 1.6% relative
    np.testing.assert_allclose(a.se, b.se, rtol=0.08)
    assert abs(a.pvalue - b.pvalue) < 0.05


def test_gaussian_reference_has_its_size_on_the_boundary_of_the_null():
    # exchangeable horizons (both contrasts have mean 0): the least favourable point of
    # H0, where the max-t test rejects at α by construction (Hansen 2005); 400 panels
    # of 1000 units, binomial band ±0.021 around 0.05
    rej = 0
    for r in range(400):
        rng = np.random.default_rng(8_000_000 + r)
        P = rng.beta(2.0, 2.0, size=(1000, 2))
        o = (rng.uniform(size=1000) < P.mean(axis=1)).astype(float)
        d = np.r_[np.diff(((o[:, None] - P) ** 2).mean(0)), -np.diff(P.var(0))]
        terms = _terms(P, o)
        g = cal.inequality_influence(terms, d)
        rej += cal.max_inequality_asymptotic(d, g, 1000, np.max(np.abs(terms), axis=0), 999, r).pvalue < 0.05
    assert 0.025 <= rej / 400 <= 0.08


def test_gaussian_reference_detects_falling_dispersion():
    # the nearer horizon is a shrunk copy of the farther one: dispersion falls and the
    # Brier rises, which the bootstrap flags; the Gaussian reference must too
    P, o = _horizons(3000, seed=3, K=2)
    P = np.column_stack([P[:, 1], 0.5 + 0.6 * (P[:, 1] - 0.5)])
    orig = asymptotic.ANALYTIC_MIN_NEFF
    try:
        asymptotic.ANALYTIC_MIN_NEFF = 0.0
        _, test, _ = C.horizon_consistency(P, o, 999, 2)
    finally:
        asymptotic.ANALYTIC_MIN_NEFF = orig
    assert test.reference == "asymptotic" and test.pvalue < 0.01 and test.stat > 3


def test_units_of_one_question_are_one_unit():
    # 1500 questions of two contracts each whose terms are identical copies: the
    # influence of a question is twice a contract's, the standard errors those of the
    # 1500 questions (not of 3000 independent contracts)
    P, o = _horizons(1500, seed=8)
    P2, o2 = np.repeat(P, 2, axis=0), np.repeat(o, 2)
    unit = np.repeat(np.arange(1500), 2)
    t1 = _terms(P, o)
    d = t1.mean(axis=0)
    one = cal.max_inequality_asymptotic(d, cal.inequality_influence(t1, d), 1500, np.ones(4), 99, 0)
    t2 = _terms(P2, o2)
    two = cal.max_inequality_asymptotic(d, cal.inequality_influence(t2, d, unit), 3000, np.ones(4), 99, 0)
    np.testing.assert_allclose(two.se, one.se, rtol=1e-10)


def test_contrast_reference_is_decided_by_the_most_concentrated_contrast():
    g = np.column_stack([np.ones(2000), np.r_[np.ones(10), np.zeros(1990)], np.zeros(2000)])
    ref = C.contrast_reference(g, 5000.0)
    # column 0: N_v = 2000; column 1: 10; column 2 has no variance and is left out
    assert ref.n_eff_variance == pytest.approx(10.0) and not ref.analytic
    assert C.contrast_reference(g[:, [0, 2]], 5000.0).analytic
    assert not C.contrast_reference(g[:, [0, 2]], 999.0).analytic  # too few independent units


# ------------------------------------------------------------- through the checks
@pytest.fixture(scope="module")
def big_report():
    # 20,000 Gaussian-signal Bayesians × 30 steps: N_v of CA204's contrasts just above 1000
    # on this panel, of CA202's Z several times that (both asserted below; the switch-over
    # sizes of benchmarks/asymptotic_size.py are 20,805 and 5,488 series)
    pan = simulate_panel("gaussian", n_series=20_000, n_steps=30, seed=1)
    return pan, forecheck.analyze(pan, select=("CA202", "CA204"), n_sim=999)


def test_large_panel_takes_the_asymptotic_references(big_report):
    _, rep = big_report
    r202, r204 = rep.result("CA202"), rep.result("CA204")
    assert r204.details.reference == "asymptotic" and r204.details.n_eff_variance >= 1000
    assert "Gaussian reference" in r204.details.method
    assert r202.details.reference == "asymptotic" and r202.details.pvalue_mc is None
    assert r202.details.pvalue_mc_note.startswith("not simulated")
    # CA202's own p-value is its N(0, 1) one on both paths
    assert r202.pvalue == pytest.approx(float(2 * norm.sf(abs(r202.statistic))), rel=1e-12)


def test_large_panel_records_match_the_simulated_references(big_report):
    pan, rep = big_report
    orig = asymptotic.ANALYTIC_MIN_NEFF
    try:
        asymptotic.ANALYTIC_MIN_NEFF = float("inf")
        sim = forecheck.analyze(pan, select=("CA202", "CA204"), n_sim=999)
    finally:
        asymptotic.ANALYTIC_MIN_NEFF = orig
    a, b = rep.result("CA204"), sim.result("CA204")
    assert b.details.reference == "simulated"
    assert a.estimate == pytest.approx(b.estimate, rel=0.05)  # max-t: the same d over its two se's
    assert abs(a.pvalue - b.pvalue) < 0.1
    s202 = sim.result("CA202")
    assert s202.details.pvalue_mc is not None and abs(s202.details.pvalue_mc - rep.result("CA202").pvalue) < 0.05


def test_small_panel_keeps_the_simulated_references():
    pan = simulate_panel("gaussian", n_series=200, n_steps=30, seed=2)
    rep = forecheck.analyze(pan, select=("CA202", "CA204"), n_sim=99)
    assert rep.result("CA204").details.reference == "simulated"
    assert "bootstrap over series" in rep.result("CA204").details.method
    assert rep.result("CA202").details.reference == "simulated"
    assert rep.result("CA202").details.pvalue_mc is not None

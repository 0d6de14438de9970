"""Unit pins of the layer-B statistics (forecheck.stats.*) against references or
independent re-derivations. Provenance of every expected value is in the comments."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import integrate, special, stats
from statsmodels.stats.diagnostic import het_arch, normal_ad

from forecheck.panel import Panel
from forecheck.stats import clustering, jumps, microstructure, normality, tails, taleb
from forecheck.stats.standardize import Increments
from forecheck.stats.volshape import fit_vol_shape, poisson_glm


def _segmented(rng, lengths, dist="t"):
    x = rng.standard_t(4, size=sum(lengths)) if dist == "t" else rng.standard_normal(sum(lengths))
    seg = np.repeat(np.arange(len(lengths)), lengths)
    return x, seg


# ----------------------------------------------------------------- normality
def test_jarque_bera_matches_scipy_per_segment():
    rng = np.random.default_rng(1)
    x, seg = _segmented(rng, [30, 57, 100])
    got = normality.jarque_bera(x, seg, 3)
    for s in range(3):
        ref = stats.jarque_bera(x[seg == s])  # scipy reference
        assert got["statistic"][s] == pytest.approx(ref.statistic, rel=1e-10)
        assert got["pvalue"][s] == pytest.approx(ref.pvalue, rel=1e-8)
        assert got["excess_kurtosis"][s] == pytest.approx(stats.kurtosis(x[seg == s]), rel=1e-10)


def test_anderson_darling_matches_statsmodels_and_scipy():
    rng = np.random.default_rng(2)
    x, seg = _segmented(rng, [12, 40, 150, 7])
    got = normality.anderson_darling(x, seg, 4)
    for s in range(3):
        ad2, pv = normal_ad(x[seg == s])  # statsmodels: Stephens (1986) p-value
        assert got["statistic"][s] == pytest.approx(ad2, rel=1e-10)
        assert got["pvalue"][s] == pytest.approx(pv, rel=1e-8)
        assert got["statistic"][s] == pytest.approx(stats.anderson(x[seg == s], method="interpolate").statistic, rel=1e-10)
    assert np.isnan(got["pvalue"][3])  # below min_n = 8


def test_k_sigma_expectation_is_two_sided_gaussian_tail():
    x = np.r_[np.zeros(999), 6.0]
    out = normality.k_sigma_counts(x)
    assert out[1]["observed"] == 1
    # n·2Φ(−5) = 1000·2·2.866516e-7 (standard normal table)
    assert out[1]["expected_gaussian"] == pytest.approx(1000 * 2 * 2.866515718791939e-07, rel=1e-9)


# ----------------------------------------------------------------- tails
def test_hill_hand_example():
    # |x| = 1..10, k = 3: ξ = mean(log 10, log 9, log 8) − log 7 (Hill 1975, by hand)
    h = tails.hill(np.arange(1, 11, dtype=float), k=3)
    assert h.xi == pytest.approx((math.log(10) + math.log(9) + math.log(8)) / 3 - math.log(7), rel=1e-12)
    assert h.se == pytest.approx(h.xi / math.sqrt(3))
    assert h.alpha == pytest.approx(1 / h.xi)


def test_hill_recovers_pareto_index_and_gaussian_reference():
    rng = np.random.default_rng(3)
    x = rng.pareto(3.0, 40_000) + 1.0  # exact Pareto(α = 3): ξ = 1/3
    h = tails.hill(x, k=400)
    assert h.ci[0] < 1 / 3 < h.ci[1]
    # Gaussian reference vs the mean Hill estimate over simulated |Z| samples
    sims = [tails.hill(rng.standard_normal(2000)).xi for _ in range(200)]
    ref = tails.gaussian_reference_xi(2000, int(math.sqrt(2000)))
    assert ref == pytest.approx(np.mean(sims), abs=0.01)


# ----------------------------------------------------------------- jumps
def test_bns_constants():
    # μ_{4/3} = E|Z|^{4/3} by quadrature (independent of the Gamma-function form)
    mu = 2 * integrate.quad(lambda z: z ** (4 / 3) * stats.norm.pdf(z), 0, np.inf)[0]
    assert jumps.MU_43 == pytest.approx(mu, rel=1e-9)
    # π²/4 + π − 5 = 2.4674011 + 3.1415927 − 5 = 0.6089938
    assert jumps.BNS_THETA == pytest.approx(0.6089938, abs=1e-7)


def _bns_loop(r):
    n = len(r)
    a = np.abs(r)
    rv = sum(v * v for v in r)
    bv = math.pi / 2 * sum(a[i] * a[i - 1] for i in range(1, n))
    tq = n * jumps.MU_43 ** -3 * sum((a[i] * a[i - 1] * a[i - 2]) ** (4 / 3) for i in range(2, n))
    z = (rv - bv) / rv / math.sqrt((math.pi**2 / 4 + math.pi - 5) / n * max(1, tq / bv**2))
    return rv, bv, tq, z


def test_bns_matches_loop_rederivation():
    rng = np.random.default_rng(4)
    x, seg = _segmented(rng, [20, 50, 33])
    x[25] += 25  # a jump in segment 1
    got = jumps.bns(x, seg, 3)
    for s in range(3):
        rv, bv, tq, z = _bns_loop(x[seg == s])
        assert (got.rv[s], got.bv[s], got.tq[s], got.z[s]) == pytest.approx((rv, bv, tq, z), rel=1e-10)
    assert got.pvalue[1] < 0.05 and got.rj[1] > got.rj[0]


def test_lee_mykland_constants_and_thresholds():
    # Lee & Mykland (2008): 5% and 1% critical values 2.9702 and 4.6001
    assert jumps.gumbel_threshold(0.05) == pytest.approx(2.9702, abs=1e-4)
    assert jumps.gumbel_threshold(0.01) == pytest.approx(4.6001, abs=1e-4)
    n = 252.0
    c = math.sqrt(2 / math.pi)
    cn = math.sqrt(2 * math.log(n)) / c - (math.log(math.pi) + math.log(math.log(n))) / (2 * c * math.sqrt(2 * math.log(n)))
    cn2, sn2 = jumps.lm_constants(n)
    assert cn2 == pytest.approx(cn) and sn2 == pytest.approx(1 / (c * math.sqrt(2 * math.log(n))))


def test_lee_mykland_matches_loop_rederivation():
    rng = np.random.default_rng(5)
    x, seg = _segmented(rng, [40, 25], dist="n")
    x[30] = 9.0
    K = 10
    res = jumps.lee_mykland(x, seg, 2, K)
    for s in range(2):
        r = x[seg == s]
        off = np.flatnonzero(seg == s)[0]
        for i in range(len(r)):
            if i < K - 1:
                assert np.isnan(res.L[off + i])
                continue
            sig2 = sum(abs(r[j]) * abs(r[j - 1]) for j in range(i - K + 2, i)) / (K - 2)
            assert res.L[off + i] == pytest.approx(r[i] / math.sqrt(sig2), rel=1e-10)
    assert res.jump[30] and res.jump.sum() >= 1


def test_monte_carlo_null_has_nominal_size():
    rng = np.random.default_rng(6)
    x, seg = _segmented(rng, [80] * 400, dist="n")
    null, gi = jumps.simulate_gaussian_null(np.full(400, 80), 16, 499, 7)
    p = jumps.mc_pvalue(jumps.bns(x, seg, 400).z, null.bns_z[gi])
    assert 0.02 < np.mean(p < 0.05) < 0.09  # 400 Gaussian series: size ≈ 5%


# ----------------------------------------------------------------- clustering
def test_arch_lm_segments_match_het_arch():
    rng = np.random.default_rng(8)
    x, seg = _segmented(rng, [60, 90, 45])
    got = clustering.arch_lm_segments(x, seg, 3, 4)
    for s in range(3):
        ref = het_arch(x[seg == s], nlags=4, ddof=0, result_object=True)  # statsmodels reference
        assert got["lm"][s] == pytest.approx(ref.lm, rel=1e-8)
        assert got["pvalue"][s] == pytest.approx(ref.lmpval, rel=1e-8)


def test_pooled_arch_lm_single_series_matches_het_arch():
    rng = np.random.default_rng(9)
    x = rng.standard_t(5, 200)
    got = clustering.arch_lm(x, np.zeros(200, dtype=int), 3)
    ref = het_arch(x, nlags=3, ddof=0, result_object=True)
    assert got["lm"] == pytest.approx(ref.lm, rel=1e-8)


def test_exchangeable_acf_null_mean_is_exact():
    x = np.array([0.3, -1.2, 2.0, 0.1, -0.4])
    seg = np.zeros(5, dtype=int)
    # average of the lag-1 and lag-2 ACF over all 120 orderings (exact permutation mean)
    perms = [clustering.pooled_acf_exchangeable(x[list(p)], seg, 1, 2)[0] for p in itertools.permutations(range(5))]
    _, null = clustering.pooled_acf_exchangeable(x, seg, 1, 2)
    assert np.mean(perms, axis=0) == pytest.approx(null, rel=1e-12)


# ----------------------------------------------------------------- vol shape
def test_poisson_glm_matches_statsmodels_cluster():
    rng = np.random.default_rng(10)
    n = 3000
    u = rng.uniform(0.02, 0.25, n)
    tau = rng.uniform(0.05, 1, n)
    y = u**1.6 / tau * rng.chisquare(1, n) * 1e-3
    y[rng.random(n) < 0.3] = 0
    X = np.column_stack([np.ones(n), np.log(u), -np.log(tau)])
    g = rng.integers(0, 50, n)
    beta, cov, conv = poisson_glm(y, X, g)
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert conv
    assert beta == pytest.approx(ref.params, rel=1e-7)
    assert np.sqrt(np.diag(cov)) == pytest.approx(ref.bse, rel=1e-6)


def test_vol_shape_recovers_exponents():
    rng = np.random.default_rng(11)
    n = 20000
    p = rng.uniform(0.05, 0.95, n)
    tau = rng.uniform(1, 50, n)
    dp = np.sqrt((p * (1 - p)) ** 2 / tau**0.5 * 1e-2) * rng.standard_normal(n)
    fit = fit_vol_shape(p, dp, np.ones(n), tau, rng.integers(0, 200, n))
    # simulated truth γ = 2, α = 0.5; SEs are ≈ 0.04 and 0.016 (5 seeds checked)
    assert fit.gamma == pytest.approx(2.0, abs=0.15) and fit.alpha == pytest.approx(0.5, abs=0.06)
    assert fit.se_gamma < 0.1


# ----------------------------------------------------------------- standardise
def test_latent_increments_recover_the_gaussian_signal():
    # Gaussian-signal Bayesian: p_t = Φ(S_t/√(T − t)); then Φ⁻¹(p_t)·√τ_t = S_t exactly,
    # so the latent coordinate (τ as a fraction of the horizon T) is ε_t/√T.
    rng = np.random.default_rng(12)
    T = 30
    eps = rng.standard_normal((2, T))
    S = np.cumsum(eps, axis=1)
    p = stats.norm.cdf(S / np.sqrt(T - np.arange(T)))
    panel = Panel.from_arrays(np.repeat(["a", "b"], T), np.tile(np.arange(T, dtype=float), 2), p.ravel())
    inc = Increments.from_panel(panel, 3)
    v, ok = inc.values("latent")
    assert ok.all()
    inner = np.abs(stats.norm.ppf(p[:, 1:].ravel())) < 5  # away from float saturation of Φ
    assert (v * np.sqrt(T))[inner] == pytest.approx(eps[:, 1:].ravel()[inner], rel=1e-6, abs=1e-8)
    # the probit-clock z (docs/checks.md) is its first-order approximation
    z, okz = inc.values("probit_clock")
    assert np.corrcoef(z[okz], v[okz])[0, 1] > 0.9


# ----------------------------------------------------------------- Taleb
# Taleb (2018), QF 18(1), values quoted in docs/checks.md (τ = 1).
PAPER = {0.52: [0.76, 0.64, 0.57, 0.53, 0.52], 0.55: [0.96, 0.81, 0.67, 0.58, 0.55]}
SIGMAS = [0.05, 0.1, 0.2, 0.5, 1.0]


@pytest.mark.parametrize("y0", [0.52, 0.55])
def test_taleb_eq1_paper_values(y0):
    got = taleb.binary_price(y0, np.array(SIGMAS), 1.0)
    assert np.round(got, 2) == pytest.approx(PAPER[y0], abs=1e-12)


def test_taleb_eq1_equals_ou_gaussian_law_and_monte_carlo():
    # X_T | X_0 ~ N(X_0 e^{σ²τ}, (e^{2σ²τ} − 1)/2) for dX = σ²X dt + σ dW (OU, θ = −σ²)
    y0, s, tau = 0.55, 0.5, 1.3
    x0 = special.erfinv(2 * y0 - 1)
    m, sd = x0 * math.exp(s * s * tau), math.sqrt((math.exp(2 * s * s * tau) - 1) / 2)
    assert taleb.binary_price(y0, s, tau) == pytest.approx(stats.norm.sf(0, loc=m, scale=sd), rel=1e-12)
    # Euler–Maruyama Monte Carlo of the SDE
    rng = np.random.default_rng(13)
    n, steps = 40_000, 200
    dt = tau / steps
    x = np.full(n, x0)
    for _ in range(steps):
        x = x + s * s * x * dt + s * math.sqrt(dt) * rng.standard_normal(n)
    assert np.mean(x > 0) == pytest.approx(float(taleb.binary_price(y0, s, tau)), abs=0.01)


def test_taleb_eq2_inverts_the_delta_method():
    # s² = (dY/dX)²·Var(X_T) = (e^{−2X₀²}/π)·(e^{2σ²τ} − 1)/2  ⇒ Eq. 2 returns σ
    y0, s_true, tau = 0.6, 0.3, 2.0
    x0 = special.erfinv(2 * y0 - 1)
    svote = math.sqrt(math.exp(-2 * x0**2) / math.pi * (math.exp(2 * s_true**2 * tau) - 1) / 2)
    assert taleb.sigma_from_vote_volatility(svote, y0, tau) == pytest.approx(s_true, rel=1e-10)


# ----------------------------------------------------------------- microstructure
def test_microstructure_pieces():
    assert microstructure.detect_grid(np.array([0.01, 0.5, 0.99, 0.37])) == 0.01
    assert microstructure.detect_grid(np.array([0.123456789])) is None
    dp = np.array([0.02, -0.02, 0.02, -0.02, 0.01, 0.0])
    r = microstructure.roll(dp, np.zeros(6, dtype=int))
    g1 = np.mean(dp[1:] * dp[:-1])  # Roll (1984): γ₁ = mean of lagged products
    assert r["gamma1"] == pytest.approx(g1) and r["bounce_share"] == pytest.approx(-2 * g1 / np.mean(dp**2))
    # signature ratio on a zig-zag path of 11 points: fine RV = 10·0.01², coarse = two 5-step moves
    p = np.array([0.5, 0.51, 0.5, 0.51, 0.5, 0.51, 0.5, 0.51, 0.5, 0.51, 0.5])
    sig = microstructure.signature_ratio(p, np.zeros(11, dtype=int), 1, q=5)
    assert sig["rv_fine"] == pytest.approx(10 * 1e-4) and sig["rv_coarse"] == pytest.approx(2 * 1e-4)


# ----------------------------------------------------------------- fast paths (issue #11)
def test_poisson_glm_warm_started_matches_statsmodels(monkeypatch):
    # above 2·WARM_START_ROWS rows Newton starts from a subsample fit; the root is
    # the same: statsmodels GLM(Poisson).fit(cov_type="cluster") is the reference
    from forecheck.stats import volshape

    monkeypatch.setattr(volshape, "WARM_START_ROWS", 2000)
    rng = np.random.default_rng(12)
    n = 2 * volshape.WARM_START_ROWS + 5001
    u = rng.uniform(0.02, 0.25, n)
    tau = rng.uniform(0.05, 1, n)
    y = u**1.6 / tau * rng.chisquare(1, n) * 1e-3
    X = np.column_stack([np.ones(n), np.log(u), -np.log(tau)])
    g = np.sort(rng.integers(0, 400, n))  # sorted groups: the one-pass group codes
    beta, cov, conv = poisson_glm(y, X, g)
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert conv
    # statsmodels stops IRLS at a deviance tolerance of 1e-8, so agreement is ~1e-9
    np.testing.assert_allclose(beta, ref.params, rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.bse, rtol=1e-6)


def test_warm_start_survives_a_stride_that_aliases_with_the_series_length(monkeypatch):
    # 1,000 series of 99 increments with τ the steps left: a regular stride of 198 rows
    # samples one step of every series, so its -log τ column is constant (a singular
    # subsample); the second subsample (one random row per run of m) spans the steps.
    # Either start, the fit is statsmodels' root
    from forecheck.stats import volshape

    monkeypatch.setattr(volshape, "WARM_START_ROWS", 500)
    S, L = 1000, 99
    n = S * L
    first, second = volshape._warm_start_rows(n)
    assert len(np.unique((np.arange(n)[first]) % L)) == 1
    assert len(np.unique(second % L)) > L // 2
    rng = np.random.default_rng(5)
    tau = np.tile(np.arange(L, 0, -1, dtype=float), S)
    u = rng.uniform(0.02, 0.25, n)
    y = u**1.6 / tau * rng.chisquare(1, n) * 1e-3
    X = np.column_stack([np.ones(n), np.log(u), -np.log(tau)])
    g = np.repeat(np.arange(S), L)
    beta, cov, conv = poisson_glm(y, X, g)
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert conv
    np.testing.assert_allclose(beta, ref.params, rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.bse, rtol=1e-6)


def test_group_codes_equal_numpy_unique_inverse():
    from forecheck.stats.segments import group_codes

    rng = np.random.default_rng(13)
    for g in (np.sort(rng.integers(0, 50, 500)), rng.integers(0, 50, 500), np.arange(7)):
        codes, G = group_codes(g)
        u, inv = np.unique(g, return_inverse=True)  # numpy reference
        assert G == len(u) and np.array_equal(codes, inv)


def test_exact_volatility_fit_has_no_wald_test():
    # |Δp| constant: y = Δp²/Δt is exactly the constant model, every residual is 0, so
    # the sandwich is rounding noise; the fit reports γ = α = 0 and no Wald statistic
    n = 240
    rng = np.random.default_rng(14)
    p = rng.uniform(0.2, 0.8, n)
    dp = np.where(rng.random(n) < 0.5, 0.05, -0.05)
    fit = fit_vol_shape(p, dp, np.ones(n), rng.uniform(1, 30, n), np.repeat(np.arange(24), 10))
    assert abs(fit.gamma) < 1e-9 and abs(fit.alpha) < 1e-9
    assert np.all(fit.cov == 0)
    w, pw = fit.wald_constant()
    assert np.isnan(w) and np.isnan(pw)


def test_bucket_index_equals_searchsorted():
    from forecheck.stats.standardize import bucket_index

    edges = np.array([0.0, 0.1, 0.3, 0.7, 0.9, 1.0 + 1e-12])
    key = np.r_[np.random.default_rng(15).uniform(-0.2, 1.2, 1000), edges, np.nan, -np.inf, np.inf]
    ref = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, len(edges) - 2)  # the definition
    assert np.array_equal(bucket_index(key, edges), ref)


def _bitwise_equal(a, b):
    return all(np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True) for x, y in zip(a, b))


@pytest.mark.parametrize("lengths", [[60] * 9, [12, 40, 150, 7, 40, 3, 1, 12]])
def test_block_fast_paths_equal_the_lag_pair_code_bitwise(lengths, monkeypatch):
    # the (L, g) block paths of AD, ARCH-LM and the ACFs must give the same floating-point
    # numbers as the generic lexsort / lag-pair / bincount code (the fallback, forced here
    # by making length_groups decline), so the speed-up leaves the report byte-identical
    from forecheck.stats import segments

    rng = np.random.default_rng(16)
    x, seg = _segmented(rng, lengths)
    n_seg = len(lengths)
    fast = (normality.anderson_darling(x, seg, n_seg), clustering.arch_lm_segments(x, seg, n_seg, 3),
            clustering.pooled_acf_exchangeable(x, seg, n_seg, 5), clustering.segment_acf1(x, seg, n_seg))
    monkeypatch.setattr(segments, "length_groups", lambda *a: None)
    monkeypatch.setattr(clustering, "length_groups", lambda *a: None)
    monkeypatch.setattr(normality, "sort_within_segments", lambda *a: None)
    monkeypatch.setattr(normality, "is_contiguous", lambda s: False)
    monkeypatch.setattr(clustering, "_equal_length", lambda *a: 0)
    slow = (normality.anderson_darling(x, seg, n_seg), clustering.arch_lm_segments(x, seg, n_seg, 3),
            clustering.pooled_acf_exchangeable(x, seg, n_seg, 5), clustering.segment_acf1(x, seg, n_seg))
    for f, s in zip(fast, slow):
        if isinstance(f, dict):
            assert all(_bitwise_equal([f[k]], [s[k]]) for k in f)
        else:
            assert _bitwise_equal(f if isinstance(f, tuple) else [f], s if isinstance(s, tuple) else [s])


def test_sort_within_segments_equals_lexsort():
    from forecheck.stats.segments import sort_within_segments

    rng = np.random.default_rng(17)
    x, seg = _segmented(rng, [5, 9, 9, 1, 30, 5])
    x[3] = x[4]  # a tie
    ref = x[np.lexsort((x, seg))]  # numpy reference
    assert np.array_equal(sort_within_segments(x, seg, 6), ref)
    assert sort_within_segments(x, seg[::-1].copy(), 6) is None  # not contiguous: caller falls back


def test_largest_equals_stable_argsort():
    from forecheck.checks.wiener import _largest

    a = np.abs(np.r_[np.random.default_rng(18).standard_normal(500), 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    assert np.array_equal(_largest(a, 5), np.argsort(-a, kind="stable")[:5])  # ties in index order
    assert np.array_equal(_largest(a[:3], 5), np.argsort(-a[:3], kind="stable")[:5])
    # long inputs take the threshold from block maxima: ties, a tail block, the large
    # values crowded into one block, every value equal
    rng = np.random.default_rng(25)
    n = 4 * 5 * (1 << 16) + 12345
    for b in (np.round(rng.random(n), 3), np.r_[np.zeros(n - 100), rng.random(100)],
              np.r_[rng.random(n - 20000) * 1e-3, rng.random(20000)], np.ones(n)):
        assert np.array_equal(_largest(b, 5), np.argsort(-b, kind="stable")[:5])


@pytest.mark.parametrize("lengths", [[60] * 9, [12, 40, 150, 7, 40, 3, 1, 12, 2]])
def test_block_bns_and_moments_equal_the_generic_code_bitwise(lengths, monkeypatch):
    from forecheck.stats import segments

    rng = np.random.default_rng(19)
    x, seg = _segmented(rng, lengths)
    n_seg = len(lengths)
    b, jb, jbp = jumps.bns(x, seg, n_seg), normality.jarque_bera(x, seg, n_seg), normality.jarque_bera(x)
    monkeypatch.setattr(segments, "length_groups", lambda *a: None)
    monkeypatch.setattr(jumps, "length_groups", lambda *a: None)
    monkeypatch.setattr(normality, "length_groups", lambda *a: None)
    b0 = jumps.bns(x, seg, n_seg)
    jb0, jbp0 = normality.jarque_bera(x, seg, n_seg), normality.jarque_bera(x, np.zeros(len(x), dtype=np.int64), 1)
    assert _bitwise_equal([b.rv, b.bv, b.tq, b.z], [b0.rv, b0.bv, b0.tq, b0.z])
    assert all(_bitwise_equal([jb[k], jbp[k]], [jb0[k], jbp0[k]]) for k in jb)


@pytest.mark.parametrize("lengths", [[60] * 9, [12, 40, 150, 7, 40, 3, 1, 12, 2, 17]])
def test_lee_mykland_contiguous_path_equals_generic_bitwise(lengths, monkeypatch):
    rng = np.random.default_rng(20)
    x, seg = _segmented(rng, lengths)
    x[5] = 0.0  # a zero return: zero local bipower variation nearby
    fast = jumps.lee_mykland(x, seg, len(lengths), 6)
    monkeypatch.setattr(jumps, "is_contiguous", lambda s: False)
    slow = jumps.lee_mykland(x, seg, len(lengths), 6)
    assert _bitwise_equal([fast.L, fast.xi, fast.n_tested, fast.xi_max, fast.pvalue, fast.jump],
                          [slow.L, slow.xi, slow.n_tested, slow.xi_max, slow.pvalue, slow.jump])


@pytest.mark.parametrize("contiguous_path", [True, False])
@pytest.mark.parametrize("lengths", [[100] * 40, [100, 37, 100, 250, 100, 12, 100, 100, 64, 100] * 4])
def test_lee_mykland_series_alone_equals_series_inside_mixed_scale_panel(lengths, contiguous_path, monkeypatch):
    # a series' local bipower windows use only its own returns: its L, xi, xi_max and
    # p-value are the same floats whatever (and however loud) the series before it are
    rng = np.random.default_rng(22)
    x, seg = _segmented(rng, lengths)
    x *= np.where(seg % 2 == 1, 1000.0, 1.0)[seg]  # every other series 1000x larger
    if not contiguous_path:
        monkeypatch.setattr(jumps, "is_contiguous", lambda s: False)
    panel = jumps.lee_mykland(x, seg, len(lengths), 16)
    for s in (0, 2, len(lengths) - 2):  # quiet series at the start, early and at the end
        r = x[seg == s]
        alone = jumps.lee_mykland(r, np.zeros(len(r), dtype=np.int64), 1, 16)
        np.testing.assert_array_equal(panel.L[seg == s], alone.L)
        np.testing.assert_array_equal(panel.xi[seg == s], alone.xi)
        np.testing.assert_array_equal(panel.jump[seg == s], alone.jump)
        np.testing.assert_array_equal(panel.xi_max[[s]], alone.xi_max)
        np.testing.assert_array_equal(panel.pvalue[[s]], alone.pvalue)
        np.testing.assert_array_equal(panel.n_tested[[s]], alone.n_tested)
        assert np.isfinite(alone.L).sum() == len(r) - 15


def test_full_rank_prescreen_equals_matrix_rank():
    rng = np.random.default_rng(21)
    B = rng.standard_normal((200, 6, 8))
    A = B @ B.transpose(0, 2, 1)  # full rank
    A[:50, :, 5] = A[:50, :, 4]  # exactly rank-deficient (two equal columns/rows)
    A[:50, 5, :] = A[:50, 4, :]
    A[50:60] *= 1e-300  # tiny but full rank
    ref = np.linalg.matrix_rank(A) == 6  # numpy reference
    assert np.array_equal(clustering._full_rank_psd(A), ref) and ref[60:].all() and not ref[:50].any()


def test_clearly_full_rank_implies_the_eigenvalue_test():
    # _clearly_full_rank (a Cholesky bound) only answers True where the eigenvalue test
    # of _full_rank_psd certainly holds; near and below its threshold it answers False
    rng = np.random.default_rng(22)
    for k in (2, 4, 6):
        m = 3000
        Q = np.linalg.qr(rng.standard_normal((m, k, k)))[0]
        lam = np.sort(10.0 ** rng.uniform(-17, 0, (m, k)), axis=1)
        lam[:, -1] = 1.0
        lam[:100, 0] = 0.0  # singular
        A = Q @ (lam[:, :, None] * Q.transpose(0, 2, 1))
        A = (A + A.transpose(0, 2, 1)) / 2
        A *= 10.0 ** rng.uniform(-100, 100, (m, 1, 1))  # scale-free
        clear = clustering._clearly_full_rank(A)
        ev = np.linalg.eigvalsh(A)
        eig_ok = ev[:, 0] > 1e3 * np.abs(ev).max(axis=-1) * k * np.finfo(float).eps
        assert not (clear & ~eig_ok).any() and not clear[:100].any()
        assert clear[lam[:, 0] > 1e-6].all()  # well-conditioned: no eigen-decomposition needed
        ref = np.linalg.matrix_rank(A) == k
        assert np.array_equal(clustering._full_rank_psd(A), np.where(eig_ok, True, ref))


def test_hill_partition_matches_full_sort():
    # hill() partitions off the top k + 1 order statistics instead of sorting all
    # values; the reference here is the textbook formula on a full np.sort, with
    # ties and zeros included, and must agree exactly (same values, same order)
    rng = np.random.default_rng(11)
    for n in (30, 57, 1000, 4321):
        x = rng.standard_t(3, size=n)
        x[rng.random(n) < 0.1] = 0.0
        x[: n // 3] = np.round(x[: n // 3], 1)  # ties
        a = np.sort(np.abs(x[x != 0]))
        m = len(a)
        k = int(np.floor(np.sqrt(m)))
        h = tails.hill(x)
        assert h.xi == float(np.mean(np.log(a[m - k:])) - np.log(a[m - k - 1]))
        assert h.threshold == a[m - k - 1] and h.n == m and h.k == k


def test_roll_and_signature_match_lag_pair_gathers():
    # roll() and signature_ratio() read the within-series pairs (i, i − k) as masks on
    # shifted slices; the reference is the earlier formulation with explicit index
    # gathers (lag_pairs), which must give the same floats, on uneven series lengths
    from forecheck.stats.segments import lag_pairs, position_in_segment

    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 30, size=40)
    seg = np.repeat(np.arange(40), lengths)
    p = rng.random(len(seg))
    dp = np.round(rng.standard_normal(len(seg)), 2)
    i, j = lag_pairs(seg, 1)
    r = microstructure.roll(dp, seg)
    assert r["pairs"] == len(i)
    assert r["gamma1"] == float(np.mean(dp[i] * dp[j]))
    assert r["rho1"] == float(np.sum(dp[i] * dp[j]) / np.sqrt(np.sum(dp[i] ** 2) * np.sum(dp[j] ** 2)))
    for q in (2, 5):
        pos = position_in_segment(seg)
        nb = (np.bincount(seg) - 1) // q
        fine = float(np.sum((p[i] - p[j])[pos[i] <= nb[seg[i]] * q] ** 2))
        ic, jc = lag_pairs(seg, q)
        ok = (pos[ic] % q == 0) & (pos[ic] <= nb[seg[ic]] * q)
        coarse = float(np.sum((p[ic] - p[jc])[ok] ** 2))
        sig = microstructure.signature_ratio(p, seg, 40, q=q)
        assert (sig["rv_fine"], sig["rv_coarse"]) == (fine, coarse)


def test_one_segment_moments_chunked_match_blocks():
    # the pooled (one-segment) moments are summed chunk by chunk with a carried
    # left-to-right sum; the reference is the block path (one cumsum per moment over
    # the whole array), which must give the same floats, across chunk boundaries
    rng = np.random.default_rng(1)
    for n in (1, 2, 100, normality._CHUNK - 1, normality._CHUNK, 2 * normality._CHUNK + 1):
        x = rng.standard_t(3, n) * 1e3 + 5
        one = normality._moments_one(x)
        ref = normality._moments_blocks(x, [(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), n)], 1)
        for f in ("n", "mean", "m2", "m3", "m4"):
            assert np.array_equal(getattr(one, f), getattr(ref, f), equal_nan=True), (n, f)


@pytest.mark.parametrize("lengths", [[60] * 9, [1] * 5, [37], [12, 40, 150, 7, 40, 3, 1, 12]])
def test_acf_and_acf1_together_equal_the_separate_functions(lengths):
    # WN304 takes the per-series lag-1 ACF from the pooled ACF's lag-1 products; the
    # reference is the two functions called separately (segment_acf1 demeans again and
    # sums each segment's products in time order), which must give the same floats
    rng = np.random.default_rng(8)
    x, seg = _segmented(rng, lengths)
    n_seg = len(lengths)
    acf, null, acf1 = clustering.pooled_acf_exchangeable_and_acf1(x, seg, n_seg, 5)
    ref = clustering.pooled_acf_exchangeable(x, seg, n_seg, 5)
    assert _bitwise_equal((acf, null, acf1), (*ref, clustering.segment_acf1(x, seg, n_seg)))


@pytest.mark.parametrize("lengths", [[60] * 9, [12, 40, 150, 7, 40, 3, 1, 12], [1] * 5])
@pytest.mark.parametrize("shuffled", [False, True])
def test_shared_segment_sums_give_the_same_numbers_bitwise(lengths, shuffled):
    # WN302/WN304/WN305 share one SegmentSums per coordinate (counts, layout, means,
    # Σ(x − mean)², Σx²) instead of each statistic's own bincounts: the same floats
    from forecheck.stats.standardize import SegmentSums

    rng = np.random.default_rng(23)
    x, seg = _segmented(rng, lengths)
    if shuffled:  # not contiguous: the generic paths
        perm = rng.permutation(len(x))
        x, seg = x[perm], seg[perm]
    S = len(lengths)
    sums = SegmentSums(x, seg, S)
    x2 = x**2

    def flat(d):
        return [v for v in (d.values() if isinstance(d, dict) else d) if isinstance(v, np.ndarray)]

    pairs = [
        (normality.jarque_bera(x, seg, S), normality.jarque_bera(x, seg, S, sums=sums)),
        (normality.anderson_darling(x, seg, S), normality.anderson_darling(x, seg, S, sums=sums)),
        (clustering.arch_lm_segments(x, seg, S, 3), clustering.arch_lm_segments(x, seg, S, 3, sums=sums, x2=x2)),
        (clustering.pooled_acf_exchangeable_and_acf1(x, seg, S, 5),
         clustering.pooled_acf_exchangeable_and_acf1(x, seg, S, 5, sums=sums)),
        (clustering.pooled_acf_exchangeable(x2, seg, S, 5),
         clustering.pooled_acf_exchangeable(x2, seg, S, 5, sums=sums.squared(x2))),
        (jumps.bns(x, seg, S).__dict__, jumps.bns(x, seg, S, sums=sums).__dict__),
    ]
    if len(x) > 6:
        pairs.append((jumps.lee_mykland(x, seg, S, 6).__dict__, jumps.lee_mykland(x, seg, S, 6, sums=sums).__dict__))
    for ref, got in pairs:
        assert _bitwise_equal(flat(ref), flat(got)) and len(flat(ref)) == len(flat(got))


@pytest.mark.parametrize("ragged", [False, True])
def test_equal_length_increment_views_equal_the_gathers_bitwise(ragged):
    # with every series of one length the coordinates read the (S, L) panel matrix's
    # columns instead of gathering at row and row − 1; the generic gathers are the reference
    from forecheck.panel import Panel
    from forecheck.stats.standardize import COORDINATES, Increments

    rng = np.random.default_rng(24)
    S, T = 40, 30
    p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.05, (S, T)), axis=1), 0, 1)
    p[3, 10:] = 1.0  # absorbed: dropped from the standardised coordinates
    p[5] = 0.37  # constant: no scale
    series = np.repeat([f"s{i:02d}" for i in range(S)], T)
    time = np.tile(np.arange(T, dtype=float), S)
    keep = np.ones(S * T, dtype=bool)
    if ragged:
        keep[rng.random(S * T) < 0.2] = False
        keep[np.arange(0, S * T, T)] = True
    pan = Panel.from_arrays(series[keep], time[keep], p.ravel()[keep],
                            outcome=(rng.random(S * T) < 0.5).astype(float)[keep])
    fast = Increments.from_panel(pan, 5)
    slow = Increments.from_panel(pan, 5)
    slow.__dict__["_equal_length"] = 0
    assert bool(fast._equal_length) == (not ragged)
    for inc in (fast, slow):
        inc.memo(True)
    for name in COORDINATES:
        a, b = fast.coordinate(name), slow.coordinate(name)
        assert _bitwise_equal([a.x, a.seg, a.series, a.row, a.scale], [b.x, b.seg, b.series, b.row, b.scale])
    for attr in ("p_prev", "p", "tau_prev", "tau", "tau_prev_time"):
        assert np.array_equal(getattr(fast, attr), getattr(slow, attr), equal_nan=True)
    assert np.array_equal(fast.diff(pan.p), pan.dp)


@pytest.mark.parametrize("L", [2, 3, 7, 11, 60])
def test_microstructure_equal_length_paths_equal_the_masks_bitwise(L):
    rng = np.random.default_rng(26)
    S = 50
    p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.02, (S, L)), axis=1), 0, 1).ravel()
    seg = np.repeat(np.arange(S), L)
    dp = (p.reshape(S, L)[:, 1:] - p.reshape(S, L)[:, :-1]).ravel()
    dseg = np.repeat(np.arange(S), L - 1)
    assert microstructure.roll(dp, dseg) == microstructure.roll(dp, None, seg_length=L - 1)
    assert (microstructure.signature_ratio(p, seg, S, q=5)
            == microstructure.signature_ratio(p, None, S, q=5, seg_length=L))


@pytest.mark.parametrize("cells", [1, 7, 100, 1 << 16])
def test_segment_blocks_give_the_one_block_sums_bitwise(cells, monkeypatch):
    # JB, BNS and ARCH-LM read the segments of each length a few columns at a time;
    # per-segment sums must not depend on how many columns a block holds
    from forecheck.stats import standardize

    rng = np.random.default_rng(27)
    lengths = [60] * 7 + [12, 40, 150, 7, 40, 3, 1, 12] + [60] * 3
    x, seg = _segmented(rng, lengths)
    S = len(lengths)
    ref = (normality.jarque_bera(x, seg, S), clustering.arch_lm_segments(x, seg, S, 3), jumps.bns(x, seg, S).__dict__)
    gen = standardize.segment_blocks
    monkeypatch.setattr(normality, "segment_blocks", lambda x, g: gen(x, g, cells))
    monkeypatch.setattr(clustering, "segment_blocks", lambda x, g: gen(x, g, cells))
    monkeypatch.setattr(jumps, "segment_blocks", lambda x, g: gen(x, g, cells))
    got = (normality.jarque_bera(x, seg, S), clustering.arch_lm_segments(x, seg, S, 3), jumps.bns(x, seg, S).__dict__)
    for r, g in zip(ref, got):
        keys = [k for k in r if isinstance(r[k], np.ndarray)]
        assert keys and _bitwise_equal([r[k] for k in keys], [g[k] for k in keys])


def test_pairwise_sum_fed_in_blocks_equals_np_sum():
    rng = np.random.default_rng(28)
    for n in (1, 7, 128, 129, 1000, 65536, 65537, 300_001):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
        for leaf in (128, 1000, 1 << 16):
            st = clustering._PairwiseSum(n, leaf)
            pos = 0
            while pos < n:
                m = int(rng.integers(1, 5000))
                st.feed(x[pos:pos + m])
                pos += m
            assert st.result() == np.sum(x)


def test_blocked_lag_sums_equal_the_whole_products():
    # the exchangeable ACF's lag products are summed block by block; the reference is
    # the (n_seg, L − k) product matrix formed whole and np.sum'd (the earlier code)
    rng = np.random.default_rng(29)
    S, L = 3000, 47  # more values than one block
    x = rng.standard_normal(S * L)
    mean = x.reshape(S, L).mean(axis=1)
    sums, row1 = clustering._lag_sums_equal(x, mean, S, L, 5, True)
    D = x.reshape(S, L) - mean[:, None]
    for k in range(1, 6):
        P = np.ascontiguousarray(D[:, k:] * D[:, :-k])
        assert sums[k] == np.sum(P)
    P = D[:, 1:] * D[:, :-1]
    assert np.array_equal(row1, np.cumsum(P, axis=1)[:, -1])


def test_row_sums_equal_the_bincount_bitwise():
    from forecheck.stats.standardize import row_sums

    rng = np.random.default_rng(30)
    for S, m in ((5000, 99), (3, 5), (1, 70000), (40000, 1)):
        U = rng.standard_normal((S, m)) * 10.0 ** rng.uniform(-5, 5, (S, m))
        c = U.mean(axis=1)
        rows = np.repeat(np.arange(S), m)
        assert np.array_equal(row_sums(U), np.bincount(rows, weights=U.ravel(), minlength=S))
        assert np.array_equal(row_sums(U, square=True), np.bincount(rows, weights=(U * U).ravel(), minlength=S))
        D = U - c[:, None]
        assert np.array_equal(row_sums(U, center=c, square=True),
                              np.bincount(rows, weights=(D * D).ravel(), minlength=S))


def test_anderson_darling_row_blocks_equal_the_generic_code_bitwise(monkeypatch):
    # the one-length path standardises, sorts and weights a few hundred rows at a time
    # (BLOCK_CELLS // L rows): several blocks and a short last one must give the floats
    # of the generic lexsort code
    rng = np.random.default_rng(30)
    n_seg, L = 3001, 50
    x = rng.standard_t(4, size=n_seg * L)
    x[7 * L:8 * L] = 1.5  # a constant series: var = 0, NaN statistic
    seg = np.repeat(np.arange(n_seg), L)
    assert n_seg > 2 * (normality.BLOCK_CELLS // L)
    fast = normality.anderson_darling(x, seg, n_seg)
    monkeypatch.setattr(normality, "sort_within_segments", lambda *a: None)
    monkeypatch.setattr(normality, "is_contiguous", lambda s: False)
    slow = normality.anderson_darling(x, seg, n_seg)
    assert np.isnan(fast["statistic"][7])
    assert all(_bitwise_equal([fast[k]], [slow[k]]) for k in fast)


def test_volshape_blocked_mu_equals_eta_then_exp_bitwise():
    from forecheck.stats import volshape

    rng = np.random.default_rng(31)
    n = 3 * volshape._MU_BLOCK + 17
    Xt = np.vstack([np.ones(n), rng.normal(-1.5, 1, n), rng.normal(0, 2, n)])
    beta = np.array([0.3, 1.7, -0.4])
    work = volshape._Work(n)
    got = volshape._mu(Xt, beta, work).copy()
    assert np.array_equal(got, np.exp(volshape._eta(Xt, beta)))


def test_coordinate_row_blocks_and_row_tau_equal_the_gathers_bitwise():
    # enough series for several row blocks of the logit, probit-clock and latent values
    # (BLOCK_CELLS // L series each, a short last one); τ/horizon by broadcasting against
    # the per-row gather
    from forecheck.panel import Panel
    from forecheck.stats.standardize import BLOCK_CELLS, Increments

    rng = np.random.default_rng(32)
    S, T = 5000, 30
    assert S > 2 * (BLOCK_CELLS // (T - 1))
    p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.05, (S, T)), axis=1), 0, 1)
    pan = Panel.from_arrays(np.repeat([f"s{i:04d}" for i in range(S)], T), np.tile(np.arange(T, dtype=float), S),
                            p.ravel(), outcome=(rng.random(S * T) < 0.5).astype(float))
    fast = Increments.from_panel(pan, 5)
    slow = Increments.from_panel(pan, 5)
    slow.__dict__["_equal_length"] = 0
    assert fast._equal_length == T
    for name in ("logit", "probit_clock", "latent"):
        assert _bitwise_equal(fast.values(name), slow.values(name))
    ttr = pan.time_to_resolution
    horizon = ttr[pan.first_row]
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = ttr / np.where(horizon > 0, horizon, np.nan)[pan.series_index]
    assert np.array_equal(fast.row_tau(), ref, equal_nan=True)

"""Fast and bounded-memory paths give the numbers of the reference paths."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.stats import jumps


def test_equal_length_null_matches_segment_functions():
    # the matrix form used for simulated nulls == bns()/lee_mykland() on segments
    rng = np.random.default_rng(1)
    for m in (3, 5, 16, 40, 200):
        x = rng.standard_normal((7, m))
        x[0, 3 % m] = 0.0
        z, xm = jumps._null_stats_equal_length(x, 16)
        seg = np.repeat(np.arange(7), m)
        np.testing.assert_allclose(z, jumps.bns(x.ravel(), seg, 7).z, rtol=1e-12, equal_nan=True)
        if m >= 16:
            np.testing.assert_allclose(xm, jumps.lee_mykland(x.ravel(), seg, 7, 16).xi_max, rtol=1e-12,
                                       equal_nan=True)


def test_long_series_null_is_capped_and_chunked(monkeypatch):
    monkeypatch.setattr(jumps, "NULL_CELLS", 20_000)
    monkeypatch.setattr(jumps, "CHUNK_CELLS", 3_000)
    jumps._NULL_CACHE.clear()
    null, idx = jumps.simulate_gaussian_null(np.array([50, 1000]), 16, 199, seed=3)
    assert np.isfinite(null.bns_z[0]).sum() == 199  # 50 × 199 fits the budget
    assert np.isfinite(null.bns_z[1]).sum() == jumps.NULL_MIN_SIM  # 1000 × 199 does not
    # chunking does not change the draws of a length (its own stream)
    monkeypatch.setattr(jumps, "CHUNK_CELLS", 10**9)
    jumps._NULL_CACHE.clear()
    again, _ = jumps.simulate_gaussian_null(np.array([50, 1000]), 16, 199, seed=3)
    np.testing.assert_array_equal(null.bns_z, again.bns_z)
    jumps._NULL_CACHE.clear()


def test_mc_pvalue_indexed_equals_gathered():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((3, 99))
    table[2, 50:] = np.nan
    idx = rng.integers(3, size=40)
    obs = rng.standard_normal(40)
    obs[5] = np.nan
    np.testing.assert_array_equal(jumps.mc_pvalue(obs, table, idx), jumps.mc_pvalue(obs, table[idx]))


def test_dists_match_scipy_stats():
    from scipy import stats as st

    from forecheck.stats import dists

    x = np.array([-40.0, -3.2, -1.0, 0.0, 0.4, 2.5, 9.0, 40.0, np.nan])
    q = np.array([1e-12, 0.001, 0.025, 0.5, 0.975, 0.999])
    for f in ("cdf", "sf", "pdf", "logcdf", "logsf"):
        np.testing.assert_allclose(getattr(dists.norm, f)(x), getattr(st.norm, f)(x), rtol=1e-12, equal_nan=True)
    for f in ("ppf", "isf"):
        np.testing.assert_allclose(getattr(dists.norm, f)(q), getattr(st.norm, f)(q), rtol=1e-12)
    for df in (1, 3.5, 30, 1e6):
        np.testing.assert_allclose(dists.t.sf(x, df), st.t.sf(x, df), rtol=1e-10, equal_nan=True)
        np.testing.assert_allclose(dists.t.ppf(q, df), st.t.ppf(q, df), rtol=1e-9)
        np.testing.assert_allclose(dists.chi2.sf(x, df), st.chi2.sf(x, df), rtol=1e-10, equal_nan=True)
    k = np.array([-3, -1, 0, 2, 7, 10, 12])
    np.testing.assert_allclose(dists.binom.sf(k, 10, 0.3), st.binom.sf(k, 10, 0.3), rtol=1e-12)
    assert isinstance(dists.norm.sf(1.0), float)  # scalars stay scalars
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 6, 40).astype(float), rng.standard_normal(40)  # with ties
    ref = st.spearmanr(a, b)
    got = dists.spearmanr(a, b)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert got.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert dists.rankdata is st.rankdata  # anything else comes from scipy.stats


def test_pav_matches_scipy_isotonic_regression():
    from scipy.optimize import isotonic_regression

    from forecheck.stats.calibration import _pav

    rng = np.random.default_rng(8)
    for n in (1, 2, 7, 300, 1900):
        y = rng.uniform(size=n)
        y[: n // 3] = 0.5  # ties and long violating runs
        w = rng.integers(1, 5, size=n).astype(float)
        np.testing.assert_allclose(_pav(y, w), isotonic_regression(y, weights=w, increasing=True).x,
                                   rtol=1e-12, atol=1e-15)

"""Fast and bounded-memory paths give the numbers of the reference paths."""

from __future__ import annotations

import numpy as np

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

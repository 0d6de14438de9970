"""The MG checks' buffer-reusing forms give the same bits as the plain numpy
expressions they replace (expected values: those expressions, evaluated here on
small random inputs; each was the code before the rewrite)."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.stats import clustered, evalue
from forecheck.stats.variance_ratio import lag_weighted_sum, variance_ratio_scores


def _old_log_evalue(d, c, series, n_series, lambdas):
    # the plain form of evalue._log_evalue
    log_m = np.empty((n_series, len(lambdas)))
    d2 = d**2
    for j, lam in enumerate(lambdas):
        x = lam * c / evalue.C_MAX
        pen = evalue._psi_over_sq(x) * (lam / evalue.C_MAX) ** 2 * d2
        log_m[:, j] = np.bincount(series, weights=lam * d / evalue.C_MAX - pen, minlength=n_series)
    mx = log_m.max(1, keepdims=True)
    return mx[:, 0] + np.log(np.mean(np.exp(log_m - mx), axis=1))


@pytest.mark.parametrize("seed", range(4))
def test_log_evalue_same_bits_as_plain_form(seed):
    rng = np.random.default_rng(seed)
    n, S = 5000, 40
    p = rng.random(n)
    p[:50] = rng.random(50) * 1e-5  # x = λc/C below 1e-4: the series expansion of ψ
    p[50:60] = 0.5  # c = 0
    d = (1 - 2 * p) * rng.normal(scale=0.05, size=n)
    c = evalue.lower_bound(p)
    series = np.sort(rng.integers(0, S, n))
    assert np.array_equal(evalue._log_evalue(d, c, series, S, evalue.LAMBDAS),
                          _old_log_evalue(d, c, series, S, evalue.LAMBDAS))


def test_psi_over_sq_into_same_bits():
    x = np.r_[np.geomspace(1e-9, 0.97, 300), 0.0, 1e-4, 5e-5]
    out, tmp, small = np.empty_like(x), np.empty_like(x), np.empty(len(x), bool)
    evalue._psi_over_sq_into(x, out, tmp, small)
    assert np.array_equal(out, evalue._psi_over_sq(x))
    big = x[x > 1e-3]  # no small x: the other branch
    out = np.empty_like(big)
    evalue._psi_over_sq_into(big, out, np.empty_like(big), np.empty(len(big), bool))
    assert np.array_equal(out, evalue._psi_over_sq(big))


@pytest.mark.parametrize("n", [1, 7, 1000, 100_003])
def test_cluster_column_sums_same_bits(n):
    rng = np.random.default_rng(n)
    X = np.column_stack([np.sqrt(rng.random(n)), rng.normal(scale=0.01, size=n)])
    u = rng.normal(size=n)
    g = rng.integers(0, 17, n)
    assert np.array_equal(clustered._column_sums_of_squares(X), np.sum(X * X, axis=0))
    assert np.array_equal(clustered._column_group_sums(X, u, g, 17), clustered._group_sums(X * u[:, None], g, 17))
    assert np.array_equal(clustered._column_group_sums(X, X[:, 1], g, 17)[:, 0],
                          clustered._group_sums(X[:, :, None] * X[:, None, :], g, 17)[:, 0, 1])


def test_cluster_ols_residuals_kept():
    rng = np.random.default_rng(3)
    n = 2000
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = 0.3 * X[:, 1] + rng.normal(size=n)
    g = rng.integers(0, 30, n)
    fit = clustered.cluster_ols(y, X, g, keep_resid=True)
    assert np.array_equal(fit.resid, y - X @ fit.params)
    assert clustered.cluster_ols(y, X, g).resid is None


def test_variance_ratio_totals_same_bits():
    rng = np.random.default_rng(5)
    S, T = 300, 25
    dx = rng.normal(scale=0.02, size=S * T)
    series = np.repeat(np.arange(S), T)
    pos = np.tile(np.arange(T), S)
    n_inc = np.full(S, T)
    vr = variance_ratio_scores(dx, pos, series, n_inc, (2, 5, 10))
    assert np.array_equal(vr._total, vr.scores.sum(0))
    for j, q in enumerate((2, 5, 10)):  # the ratio as before: scores' pairwise sum over the usable Σdx²
        h, usable = lag_weighted_sum(dx, pos, q)
        usable &= (n_inc >= 2 * q)[series]
        assert vr.vr[j] == 1.0 + vr.scores[:, j].sum() / np.sum((dx * dx)[usable])


@pytest.mark.parametrize("n", [0, 1, 1000, 3 * evalue._CHUNK + 5])
def test_lower_bound_into_same_bits(n):
    rng = np.random.default_rng(n)
    p = rng.random(n)
    p[: n // 10] = 0.5
    p[n // 10: n // 5] = rng.choice([0.0, 1.0], n // 5 - n // 10)
    assert np.array_equal(evalue.lower_bound_into(p, np.empty(n)), evalue.lower_bound(p))

"""The MG checks' buffer-reusing forms give the same bits as the plain numpy
expressions they replace (expected values: those expressions, evaluated here on
small random inputs; each was the code before the rewrite)."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.checks import martingale
from forecheck.stats import clustered, evalue
from forecheck.stats.budget import uncertainty
from forecheck.stats.variance_ratio import lag_weighted_sum, variance_ratio_scores
from tests.test_core import random_panel


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


@pytest.mark.parametrize("block", [1, 7, 1 << 15])
def test_tau_bin_sums_in_blocks_same_bits_as_boolean_selections(monkeypatch, block):
    # MG101's time-to-resolution sums: each bin's values gathered block by block into
    # one buffer, against the sums over the boolean selections they replace
    monkeypatch.setattr(martingale, "_BLOCK", block)
    rng = np.random.default_rng(block)
    n = 20_011
    tau = np.concatenate([rng.integers(1, 60, n // 2).astype(float), rng.random(n - n // 2) * 60])
    edges = np.array([-np.inf, 7.5, 20.0, 41.25, np.inf])
    kb_old = np.clip(np.searchsorted(edges, tau, side="left") - 1, 0, 3)
    kb = martingale._bin_codes(tau, edges, 4)
    assert kb.dtype == np.int8 and np.array_equal(kb, kb_old)
    bounds = np.concatenate([[0], np.cumsum([np.count_nonzero(kb == j) for j in range(4)])])
    buf = np.empty(n)
    for v in (rng.normal(size=n), rng.normal(scale=1e-3, size=n) ** 2):
        martingale._group_by_bin(v, kb, bounds, out=buf)
        for j in range(4):
            assert buf[bounds[j]:bounds[j + 1]].sum() == v[kb_old == j].sum()
    dp = rng.normal(scale=0.02, size=n)  # Δp² formed after the gather
    martingale._group_by_bin(dp, kb, bounds, out=buf)
    np.square(buf, out=buf)
    for j in range(4):
        assert buf[bounds[j]:bounds[j + 1]].sum() == (dp**2)[kb_old == j].sum()


def test_tau_quantiles_in_place_same_bits():
    rng = np.random.default_rng(3)
    pan = random_panel(seed=3)
    for tau in (rng.random(10_001) * 90, rng.integers(1, 5, 999).astype(float), np.array([2.0])):
        want = np.quantile(tau, [0, 0.25, 0.5, 0.75, 1.0])
        qs = np.unique(want)
        want_edges = np.concatenate([[-np.inf], qs[1:-1], [np.inf]]) if len(qs) > 2 else np.array([-np.inf, np.inf])
        edges, _ = martingale._tau_bins(pan, tau.copy())
        assert np.array_equal(edges, want_edges)


@pytest.mark.parametrize("block", [1, 5, 1 << 15])
def test_inflight_reduction_in_blocks_same_bits(monkeypatch, block):
    monkeypatch.setattr(martingale, "_BLOCK", block)
    for seed in range(3):
        pan = random_panel(seed=seed)
        want = uncertainty(pan.dp_prev_p) - uncertainty(pan.p[pan.increment_rows])
        assert np.array_equal(martingale._inflight_reduction(pan), want)


@pytest.mark.parametrize("seed", range(4))
def test_panel_increments_same_bits_as_gathers(seed):
    # the increments by np.diff and a mask, τ subtracted in place, against the gathers
    # at rows r and r − 1 they replace (single-row series included)
    pan = random_panel(seed=seed, max_len=4 if seed % 2 else 30)
    r = pan.increment_rows
    for got, want in ((pan.dp, pan.p[r] - pan.p[r - 1]), (pan.dp_prev_p, pan.p[r - 1]),
                      (pan.dt, pan.time[r] - pan.time[r - 1]),
                      (pan.time_to_resolution, pan.resolution_time[pan.series_index] - pan.time)):
        assert got.dtype == want.dtype and np.array_equal(got, want)

"""The fast paths of the calibration Monte Carlo / bootstrap references give exactly
what the straightforward code gives. The references below are the previous
implementations of forecheck.stats.calibration (before the buffers and bit selection),
kept verbatim: same RNG stream, same doubles, same summation order."""

import numpy as np
import pytest

from forecheck.checks.calibration import horizon_consistency
from forecheck.stats import calibration as cal


def _spiegelhalter_mc_reference(p, o, n_sim, seed, chunk_cells=4_000_000):
    z, _ = cal.spiegelhalter_z(p, o)
    if not np.isfinite(z):
        return float("nan"), []
    rng = np.random.default_rng(seed)
    ps = np.sort(p)
    hits, zs = 0, []
    step = max(1, chunk_cells // max(p.size, 1))
    for b0 in range(0, n_sim, step):
        b = min(step, n_sim - b0)
        o_star = (rng.uniform(size=(b, p.size)) < ps).astype(float)
        z_star, _ = cal.spiegelhalter_z(np.broadcast_to(ps, o_star.shape), o_star, axis=1)
        zs.append(z_star)
        hits += int(np.sum(np.abs(z_star) >= abs(z) * (1 - 1e-12)))
    return float((1 + hits) / (n_sim + 1)), zs


def _counts_reference(n, n_boot, seed, order, chunk_cells):
    """The (B, n) bootstrap weights as first written: int64 draws, one bincount over
    the chunk, columns permuted afterwards."""
    rng = np.random.default_rng(seed)
    out = []
    step = max(1, chunk_cells // max(n, 1))
    for b0 in range(0, n_boot, step):
        b = min(step, n_boot - b0)
        draws = rng.integers(n, size=(b, n)) + (np.arange(b) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float) / n
        if order is not None:
            c_can, counts = counts, np.empty_like(counts)
            counts[:, order] = c_can
        out.append(counts)
    return np.concatenate(out)


@pytest.mark.parametrize("n,chunk", [(37, 4_000_000), (500, 1700), (2000, 2000)])
def test_spiegelhalter_mc_matches_reference(n, chunk):
    rng = np.random.default_rng(n)
    p = np.round(rng.beta(0.5, 0.5, size=n), 3)  # ties and values near 0/1
    o = (rng.uniform(size=n) < p).astype(float)
    ref, _ = _spiegelhalter_mc_reference(p, o, 299, 11, chunk)
    assert cal.spiegelhalter_mc_pvalue(p, o, 299, 11, chunk_cells=chunk) == ref


def test_spiegelhalter_mc_hits_on_the_boundary():
    # a calibrated-looking sample whose simulated Z* often equals |Z| exactly (few
    # distinct forecasts): counting ties needs Z* bit for bit as spiegelhalter_z gives it
    p = np.repeat([0.1, 0.3, 0.8], 8)
    o = np.zeros(p.size)
    o[[0, 8, 9, 16, 17, 18, 19, 20, 21]] = 1.0
    ref, _ = _spiegelhalter_mc_reference(p, o, 999, 3)
    assert cal.spiegelhalter_mc_pvalue(p, o, 999, 3) == ref


def test_spiegelhalter_mc_constant_half_is_nan():
    p = np.full(20, 0.5)
    assert np.isnan(cal.spiegelhalter_mc_pvalue(p, (np.arange(20) % 2).astype(float), 99, 1))


@pytest.mark.parametrize("use_order", [False, True])
@pytest.mark.parametrize("n,chunk", [(50, 4_000_000), (301, 1000)])
def test_bootstrap_weights_match_reference(n, chunk, use_order):
    order = np.random.default_rng(5).permutation(n) if use_order else None
    seen = []

    def contrib(W):
        seen.append(np.array(W))
        return W @ np.arange(n, dtype=float)[:, None]

    cal.max_inequality_test(contrib, n, 97, 13, order=order, chunk_cells=chunk)
    got = np.concatenate(seen[1:])  # seen[0] is the sample (weights 1/n)
    ref = _counts_reference(n, 97, 13, order, chunk)
    assert np.array_equal(got, ref)


def test_horizon_consistency_unchanged_statistics():
    # the bootstrap's standard errors and p-value from the weights above, against the
    # same computation fed by the reference weights
    rng = np.random.default_rng(2)
    n, K = 400, 3
    P = np.clip(rng.uniform(size=(n, 1)) + rng.normal(scale=0.1, size=(n, K)), 0, 1)
    o = (rng.uniform(size=n) < P[:, -1]).astype(float)
    order = rng.permutation(n)
    _, test, _ = horizon_consistency(P, o, 199, 21, order=order)
    E, P2 = (o[:, None] - P) ** 2, P**2
    W = _counts_reference(n, 199, 21, order, 4_000_000)
    b, v = W @ E, W @ P2 - (W @ P) ** 2
    dstar = np.concatenate([b[:, 1:] - b[:, :-1], v[:, :-1] - v[:, 1:]], axis=1)
    assert np.array_equal(test.se, dstar.std(axis=0, ddof=1))

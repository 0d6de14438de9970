"""Jump tests per series, vectorised over segments (WN305).

**BNS ratio test** (Barndorff-Nielsen & Shephard 2004, *J. Fin. Econometrics* 2(1)
1–37; 2006, 4(1) 1–30; ratio form of Huang & Tauchen 2005, *JFEc* 3(4); formulas as
in docs/checks.md): RV = Σr², BV = (π/2)Σ|r_i||r_{i−1}|,
TQ = n·μ_{4/3}^{−3}·Σ|r_i|^{4/3}|r_{i−1}|^{4/3}|r_{i−2}|^{4/3}, μ_{4/3} = E|Z|^{4/3}
= 2^{2/3}Γ(7/6)/Γ(1/2); RJ = (RV − BV)/RV,
Z = RJ / √((π²/4 + π − 5)·(1/n)·max(1, TQ/BV²)), one-sided N(0, 1) (reject for large Z).

**Lee–Mykland** (2008, *Rev. Fin. Studies* 21, 2535–2563): L_i = r_i/σ̂_i with the
local bipower σ̂_i² = (1/(K − 2))Σ_{j=i−K+2}^{i−1}|r_j||r_{j−1}|;
ξ = (max|L_i| − C_n)/S_n with C_n = √(2 log n)/c − (log π + log log n)/(2c√(2 log n)),
S_n = 1/(c√(2 log n)), c = √(2/π); P(ξ ≤ x) → exp(−e^{−x}), so the 5%/1% thresholds
are −log(−log 0.95) = 2.970 and −log(−log 0.99) = 4.600. Individual increments with
(|L_i| − C_n)/S_n above the threshold are flagged as jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from forecheck.stats import dists as stats

from forecheck.stats.standardize import segment_blocks
from forecheck.stats.segments import (column_sums, is_contiguous, lag_product, length_groups, position_in_segment,
                                     seg_count, seg_sum)

# E|Z|^{4/3} for Z ~ N(0,1): 2^{2/3}Γ(7/6)/Γ(1/2) (BNS 2004)
MU_43 = 2 ** (2 / 3) * special.gamma(7 / 6) / special.gamma(0.5)
BNS_THETA = np.pi**2 / 4 + np.pi - 5
LM_C = np.sqrt(2 / np.pi)


@dataclass(frozen=True)
class BNSResult:
    n: np.ndarray
    rv: np.ndarray
    bv: np.ndarray
    tq: np.ndarray
    rj: np.ndarray
    z: np.ndarray
    pvalue: np.ndarray


def bns(r: np.ndarray, seg: np.ndarray, n_seg: int, min_n: int = 5, sums=None) -> BNSResult:
    """BNS ratio jump test per segment (NaN where fewer than ``min_n`` returns).
    ``sums``: the :class:`~forecheck.stats.standardize.SegmentSums` of (r, seg) when
    the caller has them (counts, Σr² and the layout are not recomputed)."""
    if sums is not None:
        n, rv, groups = sums.n, sums.sum_sq, sums.layout
    else:
        n = seg_count(seg, n_seg).astype(float)
        rv = seg_sum(r * r, seg, n_seg)
        groups = length_groups(seg, n_seg)
    a = np.abs(r)
    if groups is not None:  # (L, g) blocks: lags are row slices, sums in the bincount's order
        s_bv, s_tq = np.zeros(n_seg), np.zeros(n_seg)
        for ids, A, L in segment_blocks(a, groups):
            s_bv[ids] = column_sums(A[1:] * A[:-1])
            A *= np.cbrt(A)
            s_tq[ids] = column_sums(A[2:] * A[1:-1] * A[:-2])
    else:
        i1, prod1 = lag_product(a, seg, 1)
        s_bv = seg_sum(prod1, seg[i1], n_seg)
        i2, prod2 = lag_product(a * np.cbrt(a), seg, 2)  # |r|^{4/3} (cbrt: much faster than a float power)
        s_tq = seg_sum(prod2, seg[i2], n_seg)
    bv = np.pi / 2 * s_bv
    tq = n * MU_43**-3 * s_tq
    with np.errstate(divide="ignore", invalid="ignore"):
        rj = (rv - bv) / rv
        z = rj / np.sqrt(BNS_THETA / n * np.maximum(1.0, tq / bv**2))
    bad = (n < min_n) | ~(rv > 0) | ~(bv > 0)
    z = np.where(bad, np.nan, z)
    rj = np.where(bad, np.nan, rj)
    return BNSResult(n=n, rv=rv, bv=bv, tq=tq, rj=rj, z=z, pvalue=stats.norm.sf(z))


def lm_constants(n: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """C_n and S_n of Lee & Mykland (2008, Lemma 1)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = np.sqrt(2 * np.log(n))
        c_n = l2 / LM_C - (np.log(np.pi) + np.log(np.log(n))) / (2 * LM_C * l2)
        s_n = 1 / (LM_C * l2)
    return c_n, s_n


def gumbel_threshold(alpha: float) -> float:
    """Critical value β* with exp(−e^{−β*}) = 1 − α (2.9702 at 5%, 4.6001 at 1%)."""
    return float(-np.log(-np.log(1 - alpha)))


@dataclass(frozen=True)
class LMResult:
    window: int
    L: np.ndarray  # per return, NaN where the window is incomplete
    xi: np.ndarray  # per return: (|L| − C_n)/S_n of its segment
    n_tested: np.ndarray  # per segment
    xi_max: np.ndarray  # per segment
    pvalue: np.ndarray  # per segment, Gumbel
    jump: np.ndarray  # per return, bool


def trailing_window_sums(b: np.ndarray, w: int) -> np.ndarray:
    """Σ_{k=1}^{w} b[..., i − k] for i = w, …, m − 1 along the last axis (entry i − w),
    added oldest term first.

    Lee & Mykland (2008, eq. 8) local bipower variation sums the K − 2 = w terms
    |r_j||r_{j−1}|, j = i−K+2, …, i−1. The terms are added directly rather than as
    differences of one running sum: a running sum over a whole panel carries the
    rounding of every earlier series into each window (a quiet series after a loud
    one lost ~1e-6 relative), while w shifted additions involve only the window's own
    terms, so a series gets the same floats alone as inside any panel."""
    m = b.shape[-1]
    out = b[..., :m - w].copy()
    for k in range(1, w):
        out += b[..., k:m - w + k]
    return out


def lee_mykland(r: np.ndarray, seg: np.ndarray, n_seg: int, window: int, alpha: float = 0.05,
                sums=None) -> LMResult:
    """Lee–Mykland jump statistics for every return with a full window in its segment.
    ``sums``: the :class:`~forecheck.stats.standardize.SegmentSums` of (r, seg) when
    the caller has them."""
    K = int(window)
    if K < 3:
        raise ValueError("Lee–Mykland window K must be at least 3")
    if len(r) > K and (sums.contiguous if sums is not None else is_contiguous(seg)):
        return _lee_mykland_contiguous(r, seg, n_seg, K, alpha, None if sums is None else sums.counts)
    a = np.abs(r)
    pos = position_in_segment(seg)
    b = np.zeros(len(r))
    i1, prod = lag_product(a, seg, 1)
    b[i1] = prod  # b_j = |r_j||r_{j−1}|, 0 at a segment's first return
    idx = np.flatnonzero(pos >= K - 1)
    # Σ_{j=i−K+2}^{i−1} b_j, oldest term first (as trailing_window_sums adds them);
    # the window lies inside i's segment since i is at position ≥ K − 1
    s = b[idx - (K - 2)]
    for k in range(K - 3, 0, -1):
        s += b[idx - k]
    L = np.full(len(r), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = np.sqrt(s / (K - 2))
        L[idx] = np.where(sig > 0, r[idx] / sig, np.nan)
    tested = np.isfinite(L)
    n_t = seg_count(seg[tested], n_seg).astype(float)
    tested &= n_t[seg] >= 2  # C_n, S_n need n ≥ 2
    c_n, s_n = lm_constants(n_t)
    xi = np.full(len(r), np.nan)
    with np.errstate(invalid="ignore"):
        xi[tested] = (np.abs(L[tested]) - c_n[seg[tested]]) / s_n[seg[tested]]
    xi_max = np.full(n_seg, -np.inf)
    np.maximum.at(xi_max, seg[tested], xi[tested])
    ok = (n_t >= 2) & np.isfinite(xi_max)
    xi_max = np.where(ok, xi_max, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        pval = np.where(ok, -np.expm1(-np.exp(-xi_max)), np.nan)
    jump = np.zeros(len(r), dtype=bool)
    jump[tested] = (xi[tested] > gumbel_threshold(alpha)) & ok[seg[tested]]
    return LMResult(window=K, L=L, xi=xi, n_tested=n_t, xi_max=xi_max, pvalue=pval, jump=jump)


def _lee_mykland_contiguous(r: np.ndarray, seg: np.ndarray, n_seg: int, K: int, alpha: float,
                            counts: np.ndarray | None = None) -> LMResult:
    """:func:`lee_mykland` for contiguous segments: the same numbers (the bipower terms
    and their window sums are formed from the same operands in the same order),
    computed with shifted slices instead of index gathers."""
    n = len(r)
    w = K - 2
    a = np.abs(r)
    if counts is None:
        counts = np.bincount(seg, minlength=n_seg)
    starts = np.r_[0, np.cumsum(counts)][:-1]
    first = starts[counts > 0]
    b = np.empty(n)
    b[0] = 0.0
    np.multiply(a[1:], a[:-1], out=b[1:])  # b_j = |r_j||r_{j−1}|, 0 at a segment's first return
    b[first] = 0.0
    del a
    # returns at position ≥ K − 1 of their segment (a full window): the first K − 1 of
    # each segment cleared, instead of an (n,) position array
    full = np.ones(n, dtype=bool)
    for j in range(K - 1):
        full[starts[counts > j] + j] = False
    L = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = trailing_window_sums(b, w)  # entry i − w: Σ_{j=i−K+2}^{i−1} b_j
        del b
        sig /= K - 2
        np.sqrt(sig, out=sig)
        ok_w = full[w:]
        ok_w &= sig > 0
        L[w:] = np.where(ok_w, r[w:] / sig, np.nan)
    del sig, full, ok_w
    tested = np.isfinite(L)
    # tested returns per segment (exact integers, as the bincount of the 0/1 weights gives)
    eq = n // n_seg if n_seg and n % n_seg == 0 and np.all(counts == n // n_seg) else 0
    n_t = (tested.reshape(n_seg, eq).sum(axis=1) if eq else
           np.bincount(seg[tested], minlength=n_seg)).astype(float)
    seg_ok = n_t >= 2  # C_n, S_n need n ≥ 2
    if not seg_ok.all():
        tested &= seg_ok[seg]
    c_n, s_n = lm_constants(n_t)
    with np.errstate(invalid="ignore"):
        xi = np.abs(L)
        xi -= np.repeat(c_n, counts)
        xi /= np.repeat(s_n, counts)
    xi[~tested] = np.nan
    xi_max = np.full(n_seg, -np.inf)
    nonempty = counts > 0
    xi_max[nonempty] = np.maximum.reduceat(np.where(tested, xi, -np.inf), starts[nonempty])
    ok = seg_ok & np.isfinite(xi_max)
    xi_max = np.where(ok, xi_max, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        pval = np.where(ok, -np.expm1(-np.exp(-xi_max)), np.nan)
    with np.errstate(invalid="ignore"):
        jump = xi > gumbel_threshold(alpha)
    if not ok.all():
        jump &= ok[seg]
    return LMResult(window=K, L=L, xi=xi, n_tested=n_t, xi_max=xi_max, pvalue=pval, jump=jump)


def default_window(typical_length: float) -> int:
    """K: 16 for long series (Lee & Mykland's choice for daily data, ≈ √252), shorter
    for short series so that most returns get a statistic."""
    return int(np.clip(typical_length // 4, 5, 16))


def length_grid(lengths: np.ndarray, max_points: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Lengths at which to simulate null distributions and each series' grid index.
    Exact distinct lengths when there are few, else a geometric grid (≈ 5% apart);
    a series uses the nearest grid length."""
    u = np.unique(lengths)
    if len(u) > max_points:
        u = np.unique(np.round(np.geomspace(u.min(), u.max(), max_points)).astype(int))
    return u, grid_index(lengths, u)


def grid_index(lengths: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The index of the grid length nearest each series' length (the first of two
    equally near): a function of the series' own length and the grid only, so a
    subset of the series gets the rows it gets in the whole panel."""
    return np.abs(np.asarray(lengths)[:, None] - grid[None, :]).argmin(axis=1)


@dataclass(frozen=True)
class GaussianNull:
    """Monte-Carlo null distributions (i.i.d. Gaussian increments, fixed seed) of the
    per-series BNS Z and Lee–Mykland max statistic, by series length.

    The asymptotic N(0, 1) (BNS) and Gumbel (Lee–Mykland) laws are oversized for
    series of ~100 increments (a 14-term local bipower σ̂ is noisy, so |L| has t-like
    tails); both statistics are scale-free, so under the Wiener null their exact law
    depends only on the length, and is simulated here."""

    grid: np.ndarray
    bns_z: np.ndarray  # (grid, n_sim)
    lm_xi: np.ndarray  # (grid, n_sim)
    n_sim: int
    seed: int


def _null_stats_equal_length(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """BNS Z and Lee–Mykland ξ_max of each row of x (b, m): the same formulas as
    :func:`bns` and :func:`lee_mykland` on b segments of equal length m, computed on
    the matrix (no segment bookkeeping), for the simulated nulls."""
    b, m = x.shape
    a = np.abs(x)
    rv = np.einsum("ij,ij->i", x, x)
    bv = np.pi / 2 * np.einsum("ij,ij->i", a[:, 1:], a[:, :-1])
    a43 = a * np.cbrt(a)
    tq = m * MU_43**-3 * np.sum(a43[:, 2:] * a43[:, 1:-1] * a43[:, :-2], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (rv - bv) / rv / np.sqrt(BNS_THETA / m * np.maximum(1.0, tq / bv**2))
    z = np.where((m < 5) | ~(rv > 0) | ~(bv > 0), np.nan, z)
    K = int(window)
    xi_max = np.full(b, np.nan)
    if m >= K:
        bb = np.zeros((b, m))
        bb[:, 1:] = a[:, 1:] * a[:, :-1]
        # returns K − 1, …, m − 1 (a full window); the window of return K − 2 is dropped
        s = trailing_window_sums(bb, K - 2)[:, 1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            sig = np.sqrt(s / (K - 2))
            L = np.where(sig > 0, a[:, K - 1:] / sig, np.nan)
        n_t = np.sum(np.isfinite(L), axis=1).astype(float)
        c_n, s_n = lm_constants(n_t)
        with np.errstate(invalid="ignore"):
            mx = np.nanmax(np.where(np.isfinite(L), L, -np.inf), axis=1)
            xi_max = np.where(n_t >= 2, (mx - c_n) / s_n, np.nan)
    return z, xi_max


NULL_CELLS = 50_000_000  # simulated increments per grid length (long series get fewer paths)
NULL_MIN_SIM = 49  # ... but never fewer than this many (p-value resolution 1/50)
CHUNK_CELLS = 4_000_000  # increments simulated at once (bounds memory)
_NULL_CACHE: dict[tuple, tuple[GaussianNull, np.ndarray]] = {}


def simulate_gaussian_null(lengths: np.ndarray, window: int, n_sim: int, seed: int) -> tuple[GaussianNull, np.ndarray]:
    """Null draws of BNS Z and Lee–Mykland ξ_max per grid length (``length_grid``).

    Memory and time are bounded in the series length: the paths of one length are
    simulated in chunks of at most ``CHUNK_CELLS`` increments, and a length m gets
    min(n_sim, max(NULL_MIN_SIM, NULL_CELLS // m)) paths (the remaining columns of
    its row are NaN, which :func:`mc_pvalue` skips). Each length has its own stream,
    seeded by (seed, m), so a length's null does not depend on the other lengths in
    the panel. Results are memoised per (grid, window, n_sim, seed).
    """
    grid, idx = length_grid(np.asarray(lengths, dtype=int))
    key = (tuple(int(m) for m in grid), int(window), int(n_sim), int(seed))
    hit = _NULL_CACHE.get(key)
    if hit is not None:
        return hit[0], idx
    bz = np.full((len(grid), n_sim), np.nan)
    lx = np.full((len(grid), n_sim), np.nan)
    for g, m in enumerate(grid):  # loop over a handful of lengths, not over series
        m = int(m)
        rng = np.random.default_rng([int(seed) % (2**32), m])
        n_m = int(min(n_sim, max(NULL_MIN_SIM, NULL_CELLS // max(m, 1))))
        step = max(1, CHUNK_CELLS // max(m, 1))
        for k0 in range(0, n_m, step):
            b = min(step, n_m - k0)
            z, xm = _null_stats_equal_length(rng.standard_normal((b, m)), window)
            bz[g, k0:k0 + b] = z
            if m >= window:
                lx[g, k0:k0 + b] = xm
    out = GaussianNull(grid=grid, bns_z=bz, lm_xi=lx, n_sim=n_sim, seed=seed)
    if len(_NULL_CACHE) > 16:
        _NULL_CACHE.clear()
    _NULL_CACHE[key] = (out, idx)
    return out, idx


def mc_pvalue(obs: np.ndarray, null: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """(1 + #{null ≥ obs})/(n_sim + 1) per observation, NaN draws skipped.

    ``null`` is (len(obs), n_sim), or with ``index`` the (grid, n_sim) table and
    ``index`` (len(obs),) the grid row of each observation (no per-series copy of the
    null: memory stays at the table's size)."""
    obs = np.asarray(obs, dtype=float)
    if index is None:
        ok = np.isfinite(obs)
        nn = np.isfinite(null).sum(axis=1)
        cnt = np.sum(null >= obs[:, None], axis=1)
        return np.where(ok & (nn > 0), (1 + cnt) / (nn + 1), np.nan)
    out = np.full(len(obs), np.nan)
    index = np.asarray(index)
    for g in range(null.shape[0]):  # a handful of grid lengths
        sel = np.flatnonzero((index == g) & np.isfinite(obs))
        row = np.sort(null[g][np.isfinite(null[g])])
        if len(sel) == 0 or len(row) == 0:
            continue
        cnt = len(row) - np.searchsorted(row, obs[sel], side="left")  # #{null ≥ obs}
        out[sel] = (1 + cnt) / (len(row) + 1)
    return out


# ------------------------------------------------------------------ figure data
@dataclass(frozen=True)
class Jumps:
    """The increments WN305 flags as jumps (Lee–Mykland on standardised increments,
    against its simulated critical values): the check's own flags, not recomputed."""

    row: np.ndarray  # panel row of the forecast after the jump
    series: np.ndarray
    L: np.ndarray
    window: int


def flagged_jumps(panel, rows: np.ndarray, L: np.ndarray, window: int) -> Jumps:
    """The jumps figure's data from the flagged increments (their panel rows and L)."""
    rows = np.asarray(rows, dtype=np.int64)
    return Jumps(row=rows, series=panel.series_index[rows], L=np.asarray(L, float), window=int(window))

"""Microstructure diagnostics of a forecast path (WN307).

After prediction-market-vol ``analysis/intraday_decomp.py`` (docs/checks.md):
share of zero updates (staleness); the price tick (smallest non-zero |Δp| and the
coarsest decimal grid all forecasts lie on); Roll's bounce share −2γ̂₁/mean(Δp²)
(Roll 1984, *J. Finance* 39(4): a bid-ask bounce of half-spread c gives
γ₁ = −c², so the share of mean squared increments explained by bounce); the
signature ratio RV(every step)/RV(every q-th step) over the same span, ≈ 1 for a
martingale, > 1 with bounce or noise, < 1 with smoothing.
"""

from __future__ import annotations

import numpy as np
from forecheck.stats import dists as stats

from forecheck.stats.segments import position_in_segment, seg_count

GRIDS = (0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001)


def detect_grid(p: np.ndarray, tol: float = 1e-7) -> float | None:
    """Coarsest grid in ``GRIDS`` on which every probability lies (None: no grid)."""
    p = p[np.isfinite(p)]

    def on(v: np.ndarray, g: float) -> bool:
        q = v / g
        return bool(np.all(np.abs(q - np.round(q)) < tol / g))

    for g in GRIDS:
        # a value off the grid among the first few thousand settles it without a pass over all
        if on(p[:4096], g) and on(p, g):
            return g
    return None


def roll(dp: np.ndarray, seg: np.ndarray, seg_length: int = 0) -> dict:
    """Pooled lag-1 autocovariance of raw increments (mean zero imposed) and the Roll
    bounce share, with a one-sided test of ρ₁ < 0 (SE of the pooled lag-1 correlation
    under independence ≈ 1/√(number of pairs)). ``seg_length`` > 0: the segments are
    contiguous and all of that length (the pairs are the columns of a matrix)."""
    # the lag-1 pairs (i, i − 1) within a segment as a mask on shifted slices: the same
    # values in the same order as gathering dp[i], dp[i − 1] (so the same sums)
    m2 = float(np.mean(dp**2)) if len(dp) else float("nan")
    if seg_length:  # segment by segment, the pairs are the matrix's adjacent columns, in the same order
        D = dp.reshape(-1, seg_length)
        npairs = D.shape[0] * (seg_length - 1)
        same = None
    else:
        same = seg[1:] == seg[:-1]
        npairs = int(np.count_nonzero(same))
    if npairs < 3 or not m2 > 0:
        return {"gamma1": None, "rho1": None, "bounce_share": None, "pvalue": None, "pairs": npairs}
    if same is None:
        di, dj = D[:, 1:].reshape(-1), D[:, :-1].reshape(-1)
    else:
        di, dj = dp[1:][same], dp[:-1][same]
    del same
    prod = di * dj
    g1 = float(np.mean(prod))
    denom = float(np.sqrt(np.sum(di**2) * np.sum(dj**2)))
    if not denom > 0:  # every move is the first or the last of its series: no lag-1 pair moves
        return {"gamma1": g1, "rho1": None, "bounce_share": -2 * g1 / m2, "pvalue": None, "pairs": npairs}
    rho1 = float(np.sum(prod) / denom)
    return {"gamma1": g1, "rho1": rho1, "bounce_share": -2 * g1 / m2,
            "pvalue": float(stats.norm.cdf(rho1 * np.sqrt(npairs))), "pairs": npairs}


def signature_ratio(p: np.ndarray, seg: np.ndarray, n_seg: int, q: int = 5, seg_length: int = 0) -> dict:
    """Σ RV(step 1) / Σ RV(step q) over complete q-blocks of each series (rows of p
    segmented by series, in time order). ``seg_length`` > 0: the segments are
    contiguous and all of that length."""
    if seg_length and n_seg * seg_length == len(p):
        return _signature_ratio_equal(p.reshape(n_seg, seg_length), q)
    pos = position_in_segment(seg)
    n = seg_count(seg, n_seg)
    nblocks = (n - 1) // q  # complete blocks per series
    end = (nblocks * q)[seg]  # last position inside a complete block, per row
    # pairs (i, i − k) within a segment as masks on shifted slices rather than index
    # gathers: the same differences in the same order, so the same sums
    # fine: increments inside complete blocks (pos 1..nblocks·q)
    ok = seg[1:] == seg[:-1]
    ok &= pos[1:] <= end[1:]
    d = p[1:] - p[:-1]
    rv_fine = float(np.sum(d[ok] ** 2))
    del ok, d
    ok = seg[q:] == seg[:-q]
    ok &= pos[q:] % q == 0
    ok &= pos[q:] <= end[q:]
    d = p[q:] - p[:-q]
    rv_coarse = float(np.sum(d[ok] ** 2))
    del ok, d, end, pos
    return {"q": q, "rv_fine": rv_fine, "rv_coarse": rv_coarse,
            "ratio": rv_fine / rv_coarse if rv_coarse > 0 else None,
            "n_series": int(np.sum(nblocks >= 2)), "n_blocks": int(np.sum(nblocks))}


def _signature_ratio_equal(P: np.ndarray, q: int) -> dict:
    """:func:`signature_ratio` for segments of one length (the rows of P): the
    increments inside complete blocks are column ranges of P, read row by row — the
    same differences in the same order as the masks select, so the same sums."""
    S, n = P.shape
    nb = (n - 1) // q  # complete blocks per series
    fine = P[:, 1:nb * q + 1] - P[:, :nb * q]
    fine *= fine
    rv_fine = float(np.sum(fine.reshape(-1)))  # one flat (pairwise) sum, as over the masked values
    del fine
    coarse = P[:, q:nb * q + 1:q] - P[:, :(nb - 1) * q + 1:q] if nb else np.zeros((S, 0))
    coarse *= coarse
    rv_coarse = float(np.sum(coarse.reshape(-1)))
    del coarse
    return {"q": q, "rv_fine": rv_fine, "rv_coarse": rv_coarse,
            "ratio": rv_fine / rv_coarse if rv_coarse > 0 else None,
            "n_series": int(S if nb >= 2 else 0), "n_blocks": int(S * nb)}

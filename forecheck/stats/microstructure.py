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

from forecheck.stats.segments import lag_pairs, position_in_segment, seg_count

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


def roll(dp: np.ndarray, seg: np.ndarray) -> dict:
    """Pooled lag-1 autocovariance of raw increments (mean zero imposed) and the Roll
    bounce share, with a one-sided test of ρ₁ < 0 (SE of the pooled lag-1 correlation
    under independence ≈ 1/√(number of pairs))."""
    i, j = lag_pairs(seg, 1)
    m2 = float(np.mean(dp**2)) if len(dp) else float("nan")
    if len(i) < 3 or not m2 > 0:
        return {"gamma1": None, "rho1": None, "bounce_share": None, "pvalue": None, "pairs": int(len(i))}
    g1 = float(np.mean(dp[i] * dp[j]))
    denom = float(np.sqrt(np.sum(dp[i] ** 2) * np.sum(dp[j] ** 2)))
    if not denom > 0:  # every move is the first or the last of its series: no lag-1 pair moves
        return {"gamma1": g1, "rho1": None, "bounce_share": -2 * g1 / m2, "pvalue": None, "pairs": int(len(i))}
    rho1 = float(np.sum(dp[i] * dp[j]) / denom)
    return {"gamma1": g1, "rho1": rho1, "bounce_share": -2 * g1 / m2,
            "pvalue": float(stats.norm.cdf(rho1 * np.sqrt(len(i)))), "pairs": int(len(i))}


def signature_ratio(p: np.ndarray, seg: np.ndarray, n_seg: int, q: int = 5) -> dict:
    """Σ RV(step 1) / Σ RV(step q) over complete q-blocks of each series (rows of p
    segmented by series, in time order)."""
    pos = position_in_segment(seg)
    n = seg_count(seg, n_seg)
    nblocks = (n - 1) // q  # complete blocks per series
    # fine: increments inside complete blocks (pos 1..nblocks·q)
    i, j = lag_pairs(seg, 1)
    fine_ok = pos[i] <= nblocks[seg[i]] * q
    rv_fine = float(np.sum((p[i] - p[j])[fine_ok] ** 2))
    del i, j, fine_ok
    ic, jc = lag_pairs(seg, q)
    coarse_ok = (pos[ic] % q == 0) & (pos[ic] <= nblocks[seg[ic]] * q)
    rv_coarse = float(np.sum((p[ic] - p[jc])[coarse_ok] ** 2))
    return {"q": q, "rv_fine": rv_fine, "rv_coarse": rv_coarse,
            "ratio": rv_fine / rv_coarse if rv_coarse > 0 else None,
            "n_series": int(np.sum(nblocks >= 2)), "n_blocks": int(np.sum(nblocks))}

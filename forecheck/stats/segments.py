"""Vectorised helpers for values stored segment by segment (series by series).

A "segmented" array is a flat array ``x`` with an integer segment id ``seg`` per
element, sorted by segment and, within a segment, by time. Every helper here works
on the whole flat array at once (bincount, shifted views with boundary masks), so
statistics over thousands of series never loop over series in Python.
"""

from __future__ import annotations

import numpy as np


def seg_count(seg: np.ndarray, n_seg: int) -> np.ndarray:
    """(n_seg,) number of elements per segment."""
    return np.bincount(seg, minlength=n_seg)


def seg_sum(values: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """(n_seg,) sum of ``values`` per segment."""
    return np.bincount(seg, weights=values, minlength=n_seg)


def lag_pairs(seg: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, i - k)`` of all element pairs k apart within one segment."""
    n = len(seg)
    if k <= 0 or n <= k:
        e = np.empty(0, dtype=np.int64)
        return e, e
    i = np.arange(k, n)
    same = seg[k:] == seg[:-k]
    i = i[same]
    return i, i - k


def lag_product(a: np.ndarray, seg: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Products a_i·a_{i−1}·…·a_{i−lags} for every i with all factors in i's segment.

    Returns ``(index_of_i, product)``. Used for bipower (lags=1) and tripower
    (lags=2) variation (Barndorff-Nielsen & Shephard 2004)."""
    i, _ = lag_pairs(seg, lags)
    prod = a[i].copy()
    for j in range(1, lags + 1):
        prod *= a[i - j]
    return i, prod


def position_in_segment(seg: np.ndarray) -> np.ndarray:
    """0-based position of each element within its segment."""
    n = len(seg)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    start = np.r_[True, seg[1:] != seg[:-1]]
    first = np.flatnonzero(start)
    counts = np.diff(np.r_[first, n])
    return np.arange(n) - np.repeat(first, counts)


def rank_within_segment(x: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts ``x`` within each segment (segments kept in place) and the
    1-based rank of each sorted element. Returns ``(order, rank_sorted)``."""
    order = np.lexsort((x, seg))
    return order, position_in_segment(seg[order]) + 1


def binomial_combination(pvalues: np.ndarray, alpha: float) -> dict:
    """Combine per-series p-values of one test into one panel-level p-value.

    Two valid combinations, Bonferroni-adjusted for using both: the binomial tail of
    the number of series rejecting at ``alpha`` (sensitive to widespread failure) and
    the Bonferroni minimum p-value (sensitive to one extreme series).
    """
    from forecheck.stats import dists as stats

    p = np.asarray(pvalues, dtype=float)
    p = p[np.isfinite(p)]
    s = len(p)
    if s == 0:
        return {"n_series": 0, "n_reject": 0, "share_reject": None, "pvalue": None,
                "pvalue_binomial": None, "pvalue_min": None}
    k = int(np.sum(p < alpha))
    p_binom = float(stats.binom.sf(k - 1, s, alpha)) if k > 0 else 1.0
    p_min = float(min(1.0, s * p.min()))
    return {"n_series": s, "n_reject": k, "share_reject": k / s, "expected_share": alpha,
            "pvalue_binomial": p_binom, "pvalue_min": p_min,
            "pvalue": float(min(1.0, 2 * min(p_binom, p_min)))}

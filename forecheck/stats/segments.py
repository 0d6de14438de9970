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


def is_contiguous(seg: np.ndarray) -> bool:
    """Segments are stored one after the other in increasing order (seg non-decreasing)."""
    return bool(len(seg) < 2 or np.all(seg[1:] >= seg[:-1]))


def group_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """``np.unique(groups, return_inverse=True)``'s codes and number of groups, in one
    pass when ``groups`` is already sorted (increments come series by series)."""
    g = np.asarray(groups)
    if len(g) == 0:
        return np.zeros(0, dtype=np.int64), 0
    if g.ndim == 1 and is_contiguous(g):
        codes = np.empty(len(g), dtype=np.int64)
        codes[0] = 0
        np.cumsum(g[1:] != g[:-1], out=codes[1:])
        return codes, int(codes[-1]) + 1
    u, codes = np.unique(g, return_inverse=True)
    return codes.ravel(), len(u)


MAX_LENGTH_GROUPS = 64  # distinct segment lengths above which the fast paths fall back


def length_groups(seg: np.ndarray, n_seg: int) -> list[tuple[np.ndarray, np.ndarray, int]] | None:
    """Contiguous segments grouped by length: ``(segment ids, their start offsets, L)``
    for every distinct length L ≥ 1, or None when the segments are not contiguous or
    have more than ``MAX_LENGTH_GROUPS`` distinct lengths. The segments of one length
    can then be read as the columns of an (L, g) matrix (:func:`segment_block`), so
    per-segment sums become sums over matrix rows with no per-element bookkeeping."""
    if not is_contiguous(seg):
        return None
    return length_groups_of_counts(np.bincount(seg, minlength=n_seg))


def length_groups_of_counts(counts: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, int]] | None:
    """:func:`length_groups` of contiguous segments from their counts."""
    lengths = np.unique(counts[counts > 0])
    if len(lengths) > MAX_LENGTH_GROUPS:
        return None
    starts = np.r_[0, np.cumsum(counts)][:-1]
    out = []
    for L in lengths:
        ids = np.flatnonzero(counts == L)
        out.append((ids, starts[ids], int(L)))
    return out


def segment_block(x: np.ndarray, starts: np.ndarray, L: int) -> np.ndarray:
    """(L, g) C-contiguous matrix whose column c is the segment of length L starting at
    ``starts[c]``. :func:`column_sums` of it adds each segment's values in order — the
    same floating-point sums as ``np.bincount``."""
    g = len(starts)
    if g * L == len(x):  # the whole array: one reshape
        return np.ascontiguousarray(x.reshape(g, L).T)
    return x[np.arange(L)[:, None] + starts[None, :]]


def column_sums(block: np.ndarray) -> np.ndarray:
    """Sum of each column of a (n, g) block, adding its rows one after the other (the
    order ``np.bincount`` adds a segment's values). ``block.sum(axis=0)`` does exactly
    that for g ≥ 2; a single column is a 1-D reduction, which numpy sums pairwise, so it
    is accumulated with ``cumsum`` instead."""
    n, g = block.shape
    if n == 0:
        return np.zeros(g)
    if g == 1:
        return np.cumsum(block[:, 0])[-1:]
    return block.sum(axis=0)


def sort_within_segments(x: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray | None:
    """``x[np.lexsort((x, seg))]`` — the values of each segment in increasing order,
    segments kept in place — for contiguous segments, by sorting the segments of each
    length as the rows of one matrix (no global sort). Returns None when
    :func:`length_groups` does (the caller falls back to the lexsort). Ties are equal
    values, so the sorted values do not depend on how ties are ordered."""
    groups = length_groups(seg, n_seg)
    if groups is None:
        return None
    if len(groups) == 1 and len(groups[0][0]) * groups[0][2] == len(x):
        return np.sort(x.reshape(-1, groups[0][2]), axis=1).reshape(-1)
    out = np.empty_like(x)
    for _, st, L in groups:
        idx = st[:, None] + np.arange(L)
        out[idx] = np.sort(x[idx], axis=1)
    return out


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

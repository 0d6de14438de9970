"""Gaussianity of increments, per series and pooled, vectorised (WN302).

- Jarque–Bera (Jarque & Bera 1987): JB = n/6·[S² + (K − 3)²/4] ~ χ²₂, with the
  biased (ddof = 0) moment estimators S = m₃/m₂^{3/2}, K = m₄/m₂² — the same
  definition as ``scipy.stats.jarque_bera``.
- Anderson–Darling with estimated mean and variance (the small-sample test: JB's
  χ²₂ approximation is poor below a few thousand points): A² = −n − (1/n)Σ(2i − 1)
  [log Φ(y_(i)) + log(1 − Φ(y_(n+1−i)))], y standardised with the sample mean and
  sd (ddof = 1); modified A*² = A²(1 + 0.75/n + 2.25/n²) and the p-value of
  D'Agostino & Stephens (1986, *Goodness-of-Fit Techniques*, Table 4.9) — the
  definition of ``statsmodels.stats.diagnostic.normal_ad``.
- "k-sigma days": |x| > kσ against the Gaussian expectation n·2Φ(−k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from forecheck.stats import dists as stats

from forecheck.stats.standardize import BLOCK_CELLS, row_sums, segment_blocks
from forecheck.stats.segments import (column_sums, is_contiguous, length_groups, position_in_segment,
                                     rank_within_segment, seg_count, seg_sum, sort_within_segments)


@dataclass(frozen=True)
class SegmentMoments:
    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray

    @property
    def skew(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.m3 / self.m2**1.5

    @property
    def excess_kurtosis(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.m4 / self.m2**2 - 3.0


def _moments_blocks(x: np.ndarray, groups, n_seg: int) -> SegmentMoments:
    """:func:`segment_moments` from the (L, g) blocks of contiguous segments: the same
    sums in the same order (``column_sums``), without gathering per-element means."""
    n = np.zeros(n_seg)
    out = [np.full(n_seg, np.nan) for _ in range(4)]
    with np.errstate(divide="ignore", invalid="ignore"):
        for ids, X, L in segment_blocks(x, groups):
            mean = column_sums(X) / L
            d = X - mean
            d2 = d * d
            n[ids] = L
            out[0][ids] = mean
            out[1][ids] = column_sums(d2) / L
            out[2][ids] = column_sums(d2 * d) / L
            d2 *= d2
            out[3][ids] = column_sums(d2) / L
    return SegmentMoments(n=n, mean=out[0], m2=out[1], m3=out[2], m4=out[3])


_CHUNK = 1 << 15  # values per chunk of the one-segment moments (buffers stay in cache)


def _sequential_sum(v: np.ndarray, buf: np.ndarray, carry) -> np.float64:
    """``carry + v[0] + v[1] + …`` added left to right (``carry`` None: from ``v[0]``),
    by ``np.cumsum`` in ``buf`` — chunk by chunk, the same additions as one cumsum over
    the whole array, i.e. the same float as ``column_sums`` of one column."""
    m = len(v)
    if carry is None:
        np.cumsum(v, out=buf[:m])
        return buf[m - 1]
    buf[0] = carry
    buf[1:m + 1] = v
    np.cumsum(buf[:m + 1], out=buf[:m + 1])
    return buf[m]


def _moments_one(x: np.ndarray) -> SegmentMoments:
    """:func:`_moments_blocks` for one segment of n ≥ 1 values: the same operations on
    the same operands and the same left-to-right sums, over chunks of ``_CHUNK`` values
    in reused buffers instead of four (n,) temporaries and four (n,) cumsums."""
    L = len(x)
    buf = np.empty(min(L, _CHUNK) + 1)
    d = np.empty(min(L, _CHUNK))
    d2, d3 = np.empty_like(d), np.empty_like(d)
    s = None
    for a in range(0, L, _CHUNK):
        s = _sequential_sum(x[a:a + _CHUNK], buf, s)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = s / L
        s2 = s3 = s4 = None
        for a in range(0, L, _CHUNK):
            xc = x[a:a + _CHUNK]
            m = len(xc)
            dc, d2c, d3c = d[:m], d2[:m], d3[:m]
            np.subtract(xc, mean, out=dc)
            np.multiply(dc, dc, out=d2c)
            s2 = _sequential_sum(d2c, buf, s2)
            np.multiply(d2c, dc, out=d3c)
            s3 = _sequential_sum(d3c, buf, s3)
            d2c *= d2c
            s4 = _sequential_sum(d2c, buf, s4)
        return SegmentMoments(n=np.array([float(L)]), mean=np.array([mean]), m2=np.array([s2 / L]),
                              m3=np.array([s3 / L]), m4=np.array([s4 / L]))


def segment_moments(x: np.ndarray, seg: np.ndarray | None, n_seg: int, sums=None) -> SegmentMoments:
    """Central moments (ddof = 0) of each segment (``seg`` None: one segment).
    ``sums``: the :class:`~forecheck.stats.standardize.SegmentSums` of (x, seg) when
    the caller has them (its layout is not recomputed)."""
    if seg is None:
        return _moments_one(np.asarray(x, dtype=float)) if len(x) \
            else segment_moments(x, np.zeros(0, dtype=np.int64), 1)
    groups = sums.layout if sums is not None else length_groups(seg, n_seg)
    if groups is not None:
        mo = _moments_blocks(x, groups, n_seg)
        # segments with no values: n = 0 and NaN moments, as 0/0 gives below
        return mo
    n = seg_count(seg, n_seg).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = seg_sum(x, seg, n_seg) / n
        d = x - mean[seg]
        d2 = d * d
        return SegmentMoments(n=n, mean=mean, m2=seg_sum(d2, seg, n_seg) / n,
                              m3=seg_sum(d2 * d, seg, n_seg) / n, m4=seg_sum(d2 * d2, seg, n_seg) / n)


def jarque_bera(x: np.ndarray, seg: np.ndarray | None = None, n_seg: int | None = None, sums=None) -> dict:
    """JB statistic and asymptotic χ²₂ p-value per segment (or for one sample)."""
    return jarque_bera_of(segment_moments(x, seg, 1 if seg is None else n_seg, sums))


def jarque_bera_of(mo: SegmentMoments) -> dict:
    """JB = n/6·(S² + K²/4) and its χ²₂ p-value from segments' moments (Jarque & Bera
    1980); also for moments merged across partitions (the Dask engine)."""
    s, k = mo.skew, mo.excess_kurtosis
    jb = mo.n / 6.0 * (s**2 + k**2 / 4.0)
    return {"statistic": jb, "pvalue": stats.chi2.sf(jb, 2), "skew": s, "excess_kurtosis": k, "n": mo.n}


def stephens_pvalue(a2_star: np.ndarray) -> np.ndarray:
    """P-value of the modified AD statistic for normality with estimated parameters
    (D'Agostino & Stephens 1986, Table 4.9)."""
    a = np.asarray(a2_star, dtype=float)
    with np.errstate(over="ignore"):
        p = np.select(
            [a < 0.2, a < 0.34, a < 0.6, a <= 13],
            [1 - np.exp(-13.436 + 101.14 * a - 223.73 * a**2),
             1 - np.exp(-8.318 + 42.796 * a - 59.938 * a**2),
             np.exp(0.9177 - 4.279 * a - 1.38 * a**2),
             np.exp(1.2937 - 5.709 * a + 0.0186 * a**2)],
            default=0.0)
    return np.where(np.isfinite(a), np.clip(p, 0.0, 1.0), np.nan)


def anderson_darling(x: np.ndarray, seg: np.ndarray | None = None, n_seg: int | None = None,
                     min_n: int = 8, sums=None) -> dict:
    """AD normality test per segment (NaN for segments shorter than ``min_n``).
    ``sums``: the :class:`~forecheck.stats.standardize.SegmentSums` of (x, seg) when
    the caller has them (counts, means and squared deviations are not recomputed)."""
    if seg is None:
        seg, n_seg = np.zeros(len(x), dtype=np.int64), 1
    if sums is not None:
        n = sums.n
        L = sums.equal_length
        if L:
            return _anderson_darling_equal(x, seg, n_seg, L, n, min_n, sums)
    else:
        n = seg_count(seg, n_seg).astype(float)
        L = len(x) // n_seg if n_seg else 0
        if L >= 1 and L * n_seg == len(x) and np.all(n == L) and is_contiguous(seg):
            return _anderson_darling_equal(x, seg, n_seg, L, n, min_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if sums is not None:
            mean, var = sums.mean, sums.dev_ss / (n - 1)
        else:
            mean = seg_sum(x, seg, n_seg) / n
            var = seg_sum((x - mean[seg]) ** 2, seg, n_seg) / (n - 1)
        y = (x - mean[seg]) / np.sqrt(var[seg])
    ys = sort_within_segments(y, seg, n_seg)
    if ys is None:
        order, rank = rank_within_segment(y, seg)
        ys, ss = y[order], seg[order]
        del order
    else:  # contiguous segments stay in place: the sorted segment ids are seg itself
        ss = seg
        rank = position_in_segment(seg) + 1
    del y
    nn = n.astype(np.int64)
    starts = np.r_[0, np.cumsum(nn)][:-1]
    # y_(n+1−i) of the same segment: position start + n − i (0-based)
    mirror = starts[ss] + nn[ss] - rank
    terms = stats.norm.logsf(ys[mirror])
    del mirror
    terms += stats.norm.logcdf(ys)
    del ys
    terms *= 2 * rank - 1
    del rank
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = -n - seg_sum(terms, ss, n_seg) / n
        a2 = np.where((n >= min_n) & (var > 0), a2, np.nan)
        a2s = a2 * (1 + 0.75 / n + 2.25 / n**2)
    return {"statistic": a2, "statistic_modified": a2s, "pvalue": stephens_pvalue(a2s), "n": n}


def _anderson_darling_equal(x: np.ndarray, seg: np.ndarray, n_seg: int, L: int, n: np.ndarray, min_n: int,
                            sums=None) -> dict:
    """:func:`anderson_darling` for contiguous segments of one length L, on the (n_seg, L)
    matrix: broadcasting replaces the per-element gathers, y_(n+1−i) is the reversed row
    and 2i − 1 a row vector; the same operations on the same operands, so the same numbers."""
    X = x.reshape(n_seg, L)
    with np.errstate(divide="ignore", invalid="ignore"):
        if sums is not None:
            mean = sums.mean
            var = sums.dev_ss / (n - 1)
        else:
            mean = seg_sum(x, seg, n_seg) / n
            Y = X - mean[:, None]
            var = seg_sum((Y * Y).reshape(-1), seg, n_seg) / (n - 1)
            del Y
        sd = np.sqrt(var)
    weight = (2 * np.arange(1, L + 1) - 1).astype(float)
    term_sums = np.empty(n_seg)
    # a few hundred rows at a time (every step is within a row): the block and its
    # terms stay in cache through the standardisation, the sort, both log_ndtr and the
    # weighting, instead of two (n_seg, L) temporaries streamed through memory eight times
    R = max(1, BLOCK_CELLS // L)
    Yb, Tb = np.empty((min(R, n_seg), L)), np.empty((min(R, n_seg), L))
    for r0 in range(0, n_seg, R):
        r1 = min(r0 + R, n_seg)
        Y, T = Yb[:r1 - r0], Tb[:r1 - r0]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.subtract(X[r0:r1], mean[r0:r1, None], out=Y)
            Y /= sd[r0:r1, None]
        Y.sort(axis=1)
        # log(1 − Φ(y_(n+1−i))) = log_ndtr(−y_(n+1−i)) and log Φ(y_(i)) = log_ndtr(y_(i)) (what
        # norm.logsf / norm.logcdf evaluate)
        np.negative(Y[:, ::-1], out=T)
        special.log_ndtr(T, out=T)
        special.log_ndtr(Y, out=Y)
        T += Y
        T *= weight
        term_sums[r0:r1] = row_sums(T)  # each row added left to right, as seg_sum adds a segment
    del Yb, Tb
    with np.errstate(divide="ignore", invalid="ignore"):
        a2 = -n - term_sums / n
        a2 = np.where((n >= min_n) & (var > 0), a2, np.nan)
        a2s = a2 * (1 + 0.75 / n + 2.25 / n**2)
    return {"statistic": a2, "statistic_modified": a2s, "pvalue": stephens_pvalue(a2s), "n": n}


def k_sigma_counts(x: np.ndarray, ks: tuple[float, ...] = (4.0, 5.0)) -> list[dict]:
    """Moves beyond k·σ (x already scaled to unit RMS) against n·2Φ(−k)."""
    ax = np.abs(x)  # counted in place rather than on a copy of the finite values:
    n = int(np.count_nonzero(np.isfinite(ax)))  # NaN > k is False; an infinite |x| is
    n_inf = int(np.count_nonzero(ax == np.inf))  # beyond every k and subtracted
    return [{"k": k, "observed": int(np.count_nonzero(ax > k)) - n_inf,
             "expected_gaussian": float(n * 2 * stats.norm.sf(k))} for k in ks]

"""Volatility clustering: pooled ARCH-LM and autocorrelations, vectorised (WN304).

ARCH-LM (Engle 1982, *Econometrica* 50(4) 987–1007): regress x_t² on 1, x²_{t−1},
…, x²_{t−q}; LM = n·R² ~ χ²_q. Pooled over series by building the lag design within
series only (rows whose q lags are in the same series). On a single series this is
``statsmodels.stats.diagnostic.het_arch(x, nlags=q, ddof=0)`` (pinned in tests).

Autocorrelations are pooled within-series: ρ_k = Σ d_t d_{t−k} / Σ d_t², with d the
deviations from each series' mean, products only over pairs in one series.
"""

from __future__ import annotations

import numpy as np
from forecheck.stats import dists as stats

from forecheck.stats.standardize import BLOCK_CELLS, segment_blocks
from forecheck.stats.segments import (column_sums, is_contiguous, lag_pairs, length_groups, seg_count, seg_sum,
                                     segment_block)


def _full_rank_psd(A: np.ndarray) -> np.ndarray:
    """``np.linalg.matrix_rank(A) == k`` for a stack of symmetric positive semi-definite
    (k, k) matrices, with the SVD only where it can matter: a matrix whose smallest
    eigenvalue exceeds 1000× the rank tolerance (σ_max·k·ε, numpy's default) has full
    rank whatever the rounding of the two decompositions (both are backward stable to
    O(ε‖A‖)); the others get numpy's SVD decision."""
    k = A.shape[-1]
    if len(A) == 0:
        return np.zeros(0, dtype=bool)
    out = _clearly_full_rank(A)  # implies the eigenvalue test below, at a fraction of its cost
    rest = np.flatnonzero(~out)
    if len(rest):
        B = A[rest]
        lam = np.linalg.eigvalsh(B)
        tol = np.abs(lam).max(axis=-1) * k * np.finfo(float).eps
        ok = lam[:, 0] > 1e3 * tol
        unsure = ~ok
        if unsure.any():
            ok[unsure] = np.linalg.matrix_rank(B[unsure]) == k
        out[rest] = ok
    return out


#: margin of :func:`_clearly_full_rank` over the eigenvalue test's threshold (rounding of both)
_CLEAR_MARGIN = 1e3


def _clearly_full_rank(A: np.ndarray) -> np.ndarray:
    """Matrices of a stack of symmetric PSD (k, k) matrices whose smallest eigenvalue
    is certainly above ``_CLEAR_MARGIN`` × the eigenvalue test's threshold
    (1000·k·ε·λ_max) of :func:`_full_rank_psd`, which then holds whatever its rounding.
    The bound λ_min ≥ 1/tr(A⁻¹) (≥ λ_min/k) comes from a Cholesky factor A = LLᵀ,
    tr(A⁻¹) = ‖L⁻¹‖²_F, and λ_max ≤ tr(A): a few vector operations per entry of the
    factor over the whole stack instead of one LAPACK eigen-decomposition per matrix.
    Where the factor fails (not positive definite, NaN) the answer is False: the
    caller decides those as before. At the margin the condition number is below
    1/(10⁶·k·ε), so the bound's own rounding (relative ≈ k²·ε·cond) is negligible."""
    m, k = A.shape[0], A.shape[-1]
    At = np.ascontiguousarray(np.moveaxis(A, 0, -1))  # (k, k, m): each entry contiguous over the stack
    Lf = np.zeros((k, k, m))
    ok = np.ones(m, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for j in range(k):
            d = At[j, j] - np.einsum("im,im->m", Lf[j, :j], Lf[j, :j]) if j else At[j, j].copy()
            ok &= d > 0
            Lf[j, j] = np.sqrt(d)
            for i in range(j + 1, k):
                s = At[i, j] - np.einsum("im,im->m", Lf[i, :j], Lf[j, :j]) if j else At[i, j]
                Lf[i, j] = s / Lf[j, j]
        # columns of L⁻¹ by forward substitution, and the squared Frobenius norm
        tr_inv = np.zeros(m)
        col = np.zeros((k, m))
        for c in range(k):
            col[:] = 0.0
            for i in range(c, k):
                rhs = (1.0 if i == c else 0.0) - np.einsum("im,im->m", Lf[i, c:i], col[c:i])
                col[i] = rhs / Lf[i, i]
            tr_inv += np.einsum("im,im->m", col[c:], col[c:])
        trace = np.einsum("iim->m", At)
        bound = 1.0 / tr_inv
        ok &= np.isfinite(bound) & np.isfinite(trace)
        ok &= bound > _CLEAR_MARGIN * 1e3 * k * np.finfo(float).eps * trace
    return ok


def _equal_length(seg: np.ndarray, n_seg: int, n: int) -> int:
    """L when the n values are n_seg contiguous segments of one length L, else 0."""
    if n_seg == 0 or n % n_seg:
        return 0
    L = n // n_seg
    if L == 0 or not is_contiguous(seg) or np.any(np.bincount(seg, minlength=n_seg) != L):
        return 0
    return L


def arch_lm(x: np.ndarray, seg: np.ndarray, nlags: int) -> dict:
    """Pooled ARCH-LM test with a within-series lag design."""
    y = x**2
    i, _ = lag_pairs(seg, nlags)
    if len(i) <= nlags + 2:
        raise ValueError("too few observations for the ARCH-LM regression")
    X = np.column_stack([np.ones(len(i))] + [y[i - j] for j in range(1, nlags + 1)])
    yy = y[i]
    beta, *_ = np.linalg.lstsq(X, yy, rcond=None)
    resid = yy - X @ beta
    tss = np.sum((yy - yy.mean()) ** 2)
    r2 = 1 - np.sum(resid**2) / tss if tss > 0 else 0.0
    lm = len(yy) * r2
    return {"lm": float(lm), "pvalue": float(stats.chi2.sf(lm, nlags)), "df": nlags, "nobs": int(len(yy)),
            "r2": float(r2), "coef": beta[1:].tolist()}


def pooled_acf(x: np.ndarray, seg: np.ndarray, n_seg: int, lags: int) -> np.ndarray:
    """Within-series pooled autocorrelation at lags 1..``lags``."""
    n = seg_count(seg, n_seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = seg_sum(x, seg, n_seg) / n
    d = x - mean[seg]
    den = np.sum(d * d)
    out = np.full(lags, np.nan)
    if den <= 0:
        return out
    for k in range(1, lags + 1):
        i, j = lag_pairs(seg, k)
        out[k - 1] = np.sum(d[i] * d[j]) / den
    return out


def segment_acf1(x: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Lag-1 autocorrelation of each segment (series-demeaned), NaN if constant."""
    n = seg_count(seg, n_seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = seg_sum(x, seg, n_seg) / n
        L = _equal_length(seg, n_seg, len(x))
        d = (x.reshape(n_seg, L) - mean[:, None]).reshape(-1) if L else x - mean[seg]
        den = seg_sum(d * d, seg, n_seg)
        groups = length_groups(seg, n_seg)
        if groups is not None:
            num = np.zeros(n_seg)
            for ids, st, L in groups:
                if L > 1:
                    D = segment_block(d, st, L)
                    num[ids] = column_sums(D[1:] * D[:-1])
        else:
            i, j = lag_pairs(seg, 1)
            num = seg_sum(d[i] * d[j], seg[i], n_seg)
        return np.where(den > 0, num / den, np.nan)


def arch_lm_segments(x: np.ndarray, seg: np.ndarray, n_seg: int, nlags: int, sums=None,
                     x2: np.ndarray | None = None) -> dict:
    """ARCH-LM of every segment at once: the regression of x_t² on 1, x²_{t−1..t−q}
    within each series, solved for all series together from segment sums of the
    cross-products. Identical to ``het_arch(x_s, nlags=q, ddof=0)`` per series and,
    unlike a pooled regression, free of any per-series scaling (R² is scale-free).
    ``sums`` (:class:`~forecheck.stats.standardize.SegmentSums` of (x, seg)) and
    ``x2`` (= x**2) when the caller has them."""
    y = x**2 if x2 is None else x2
    k = nlags + 1
    groups = sums.layout if sums is not None else length_groups(seg, n_seg)
    if groups is not None:
        xtx, xty, syy = _arch_sums_blocks(y, groups, n_seg, nlags)
    else:
        i, _ = lag_pairs(seg, nlags)
        cols = [np.ones(len(i))] + [y[i - j] for j in range(1, nlags + 1)]
        s = seg[i]
        xtx = np.empty((n_seg, k, k))
        xty = np.empty((n_seg, k))
        for a in range(k):
            xty[:, a] = np.bincount(s, weights=cols[a] * y[i], minlength=n_seg)
            for b in range(a, k):
                v = np.bincount(s, weights=cols[a] * cols[b], minlength=n_seg)
                xtx[:, a, b] = v
                xtx[:, b, a] = v
        syy = np.bincount(s, weights=y[i] ** 2, minlength=n_seg)
    n = xtx[:, 0, 0]
    sy = xty[:, 0]
    ok = n > k + 1
    lm = np.full(n_seg, np.nan)
    if ok.any():
        A, B = xtx[ok], xty[ok]
        # tiny ridge only against exactly singular designs (constant squared series)
        det_ok = _full_rank_psd(A)
        beta = np.zeros_like(B)
        beta[det_ok] = np.linalg.solve(A[det_ok], B[det_ok][..., None])[..., 0]
        ssr = syy[ok] - np.einsum("ij,ij->i", beta, B)
        tss = syy[ok] - sy[ok] ** 2 / n[ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where((tss > 0) & det_ok, 1 - ssr / tss, np.nan)
        lm[ok] = n[ok] * r2
    return {"lm": lm, "pvalue": stats.chi2.sf(lm, nlags), "nobs": n.astype(int), "df": nlags}


def _arch_sums_blocks(y: np.ndarray, groups, n_seg: int, nlags: int):
    """The per-segment cross-product sums of :func:`arch_lm_segments` (X'X, X'y, y'y of
    the regression of y_t on 1, y_{t−1..t−q}) from the (L, g) blocks of the segments
    of each length: lags are row slices and sums run over rows in time order, so the
    sums are the same floating-point numbers as the bincounts over lag pairs."""
    k = nlags + 1
    xtx = np.zeros((n_seg, k, k))
    xty = np.zeros((n_seg, k))
    syy = np.zeros(n_seg)
    for ids, Y, L in segment_blocks(y, [gr for gr in groups if gr[2] > nlags]):
        # (lengths L ≤ nlags have no complete lag window: no design rows, zero sums as bincount gives)
        rows = L - nlags
        blk = np.empty((len(ids), k, k))
        bty = np.empty((len(ids), k))
        blk[:, 0, 0] = float(rows)  # Σ 1·1 over the design rows
        bty[:, 0] = column_sums(Y[nlags:])
        for a in range(1, k):
            blk[:, 0, a] = blk[:, a, 0] = column_sums(Y[nlags - a:L - a])  # 1·y_{t−a} = y_{t−a} exactly
        # P_d[u] = y_{u+d}·y_u: every design product y_{t−a}·y_{t−b} (b = a + d) is row
        # t − b of P_d (the same two factors in the same order), so the sums read row
        # ranges of k products (one reused buffer) instead of forming k(k + 1)/2 + k
        buf = np.empty_like(Y)
        for d in range(k):
            P = buf[:L - d]
            np.multiply(Y[d:], Y[:L - d], out=P)
            if d == 0:
                syy[ids] = column_sums(P[nlags:])  # y_t²
            else:
                bty[:, d] = column_sums(P[nlags - d:L - d])  # y_{t−d}·y_t
            for a in range(1, k - d):
                b = a + d
                blk[:, a, b] = blk[:, b, a] = column_sums(P[nlags - b:nlags - b + rows])  # y_{t−a}·y_{t−b}
        del buf
        xtx[ids] = blk
        xty[ids] = bty
    return xtx, xty, syy


def pooled_acf_exchangeable(x: np.ndarray, seg: np.ndarray, n_seg: int, lags: int,
                            sums=None) -> tuple[np.ndarray, np.ndarray]:
    """Pooled within-series ACF and its expectation under within-series exchangeability.

    Demeaning each series biases every autocovariance downwards: for a fixed set of
    n values in random order, E[d_i d_j] = −Σd²/(n(n − 1)) for i ≠ j, so the lag-k sum
    has expectation −(n − k)Σd²/(n(n − 1)). Returns ``(acf, null_mean)``; the
    difference is the bias-corrected autocorrelation. ``sums``: the
    :class:`~forecheck.stats.standardize.SegmentSums` of (x, seg) when the caller has them."""
    acf, null, _ = _acf_exchangeable(x, seg, n_seg, lags, False, sums)
    return acf, null


def pooled_acf_exchangeable_and_acf1(x: np.ndarray, seg: np.ndarray, n_seg: int, lags: int,
                                     sums=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(*pooled_acf_exchangeable(x, …), segment_acf1(x, …))``: both demean the series
    the same way, so for equal-length segments the per-segment lag-1 sums are read off
    the pooled lag-1 products (left-to-right row sums, as ``column_sums`` adds them)
    instead of a second demeaning pass; the same numbers."""
    return _acf_exchangeable(x, seg, n_seg, lags, True, sums)


def _acf_exchangeable(x: np.ndarray, seg: np.ndarray, n_seg: int, lags: int, want_acf1: bool, sums=None):
    if sums is not None:  # the same counts, means, length test and Σd² as computed below
        n, mean, L = sums.n, sums.mean, sums.equal_length
    else:
        n = seg_count(seg, n_seg).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = seg_sum(x, seg, n_seg) / n
        L = _equal_length(seg, n_seg, len(x))
    if L:  # broadcasting instead of the gather: the same differences
        D = x.reshape(n_seg, L) - mean[:, None]
        d = D.reshape(-1)
    else:
        D, d = None, x - mean[seg]
    den_s = sums.dev_ss if sums is not None else seg_sum(d * d, seg, n_seg)
    den = den_s.sum()
    acf = np.full(lags, np.nan)
    null = np.full(lags, np.nan)
    num1 = np.zeros(n_seg) if want_acf1 and D is not None else None  # per-segment lag-1 sums
    if den <= 0:
        return acf, null, segment_acf1(x, seg, n_seg) if want_acf1 else None
    if D is not None:
        del D, d  # the lag products are formed block by block from x and the means
        lag_sums, row1 = _lag_sums_equal(x, mean, n_seg, L, lags, want_acf1)
        if row1 is not None:
            num1 = row1
    for k in range(1, lags + 1):
        if L:  # the lag pairs of equal-length segments in the same (flat) order
            acf[k - 1] = lag_sums[k] / den if L > k else 0.0 / den
        else:
            i, j = lag_pairs(seg, k)
            acf[k - 1] = np.sum(d[i] * d[j]) / den
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.where(n > k, -(n - k) * den_s / (n * (n - 1)), 0.0)
        null[k - 1] = np.nansum(e) / den
    if not want_acf1:
        return acf, null, None
    if num1 is None:  # segments of unequal length: segment_acf1's own lag pairs
        return acf, null, segment_acf1(x, seg, n_seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        return acf, null, np.where(den_s > 0, num1 / den_s, np.nan)


class _PairwiseSum:
    """``np.sum`` of n values fed in order, a block at a time, to the same float: numpy
    sums a contiguous float64 array pairwise (halves of n, the first rounded down to a
    multiple of 8, down to 128 values), so the sums of the tree's nodes of at most
    ``leaf`` values, each the ``np.sum`` of its own slice, added back up the tree give
    the sum of the whole array without forming it."""

    def __init__(self, n: int, leaf: int = BLOCK_CELLS):
        self.sizes: list[int] = []
        self.tree = self._split(n, max(int(leaf), 128))
        self.vals: list[float] = []
        self.pending = np.empty(0)

    def _split(self, n: int, leaf: int):
        if n <= leaf:
            self.sizes.append(n)
            return len(self.sizes) - 1
        n2 = n // 2
        n2 -= n2 % 8
        return (self._split(n2, leaf), self._split(n - n2, leaf))

    def feed(self, v: np.ndarray) -> None:
        if len(self.pending):
            v = np.concatenate([self.pending, v])
        pos, i = 0, len(self.vals)
        while i < len(self.sizes) and self.sizes[i] <= len(v) - pos:
            m = self.sizes[i]
            self.vals.append(np.sum(v[pos:pos + m]))
            pos += m
            i += 1
        self.pending = v[pos:].copy()

    def result(self) -> np.float64:
        if len(self.vals) != len(self.sizes) or len(self.pending):
            raise ValueError("fed a different number of values than announced")

        def up(node):
            return self.vals[node] if isinstance(node, int) else up(node[0]) + up(node[1])
        return up(self.tree)


def _lag_sums_equal(x: np.ndarray, mean: np.ndarray, n_seg: int, L: int, lags: int, want_acf1: bool):
    """For n_seg contiguous segments of length L: ``{k: np.sum(P_k)}`` with P_k the
    (n_seg, L − k) lag-k products of the deviations D = x − mean (row by row), and with
    ``want_acf1`` the row sums of P_1 (left to right) — the same floats as forming D and
    each P_k whole (:class:`_PairwiseSum`), from blocks of rows that stay in cache."""
    X = x.reshape(n_seg, L)
    streams = {k: _PairwiseSum(n_seg * (L - k)) for k in range(1, lags + 1) if L > k}
    row1 = np.empty(n_seg) if want_acf1 and 1 in streams else None
    R = max(1, BLOCK_CELLS // L)
    for r0 in range(0, n_seg, R):
        Dc = X[r0:r0 + R] - mean[r0:r0 + R, None]
        for k, st in streams.items():
            P = Dc[:, k:] * Dc[:, :-k]
            st.feed(P.reshape(-1))
            if k == 1 and row1 is not None:  # running sums along each row: the last is the row's sum
                np.cumsum(P, axis=1, out=P)
                row1[r0:r0 + R] = P[:, -1]
    return {k: st.result() for k, st in streams.items()}, row1

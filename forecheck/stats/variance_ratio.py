"""Lo–MacKinlay variance ratios: single series (as arch) and pooled over series.

Single series: :func:`variance_ratio` reproduces ``arch.unitroot.VarianceRatio``
(overlapping blocks, optional de-biasing, heteroskedasticity-robust variance,
Lo & MacKinlay 1988, *RFS* 1, 41–66; Campbell, Lo & MacKinlay 1997, eq. 2.4.37–2.4.43).

Pooled (MG105): VR(q) − 1 ≈ Σ_k 2(1 − k/q) ρ̂_k (CLM 2.4.19), so with no drift
(a probability is a martingale: arch ``trend="n"``) the pooled numerator

    A(q) = Σ_i Σ_t Δx_t · h_t,   h_t = Σ_{k=1}^{q−1} 2(1 − k/q) Δx_{t−k},

is a sum of martingale differences (h_t is predictable), so E[A] = 0 exactly under
the null in any sample — no small-sample bias, whatever the heteroskedasticity.
Its conditional variance is estimated by Σ (Δx_t h_t)² (the robust δ̂ terms of
CLM 2.4.43 plus their cross terms), giving a self-normalised z per q and a Wald
statistic across q from the covariance of the score vectors (Δx_t h_t^{(q)})_q.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from forecheck.stats import dists as stats

from forecheck.errors import InsufficientDataError


def variance_ratio(y: np.ndarray, q: int, *, trend: Literal["c", "n"] = "c", robust: bool = True,
                   debiased: bool = True) -> tuple[float, float]:
    """(VR(q), z) of one level series, overlapping blocks, as arch's VarianceRatio.

    ``y`` may be 2-D (series × time, equal length): then arrays of VR and z per row.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    nobs = y.shape[1]
    dy = np.diff(y, axis=1)
    nq = dy.shape[1]
    if nq < 2 * q:
        raise ValueError(f"`y` needs at least {2 * q + 1} observations for q={q}.")
    mu = np.zeros((y.shape[0], 1)) if trend == "n" else ((y[:, -1] - y[:, 0]) / (nobs - 1))[:, None]
    sigma2_1 = ((dy - mu) ** 2).sum(1) / nq
    dq = y[:, q:] - y[:, :-q]
    sigma2_q = ((dq - q * mu) ** 2).sum(1) / (nq * q)
    if debiased:  # CLM 2.4.37-2.4.38 (arch applies it for trend "n" too)
        sigma2_1 = sigma2_1 * nq / (nq - 1)
        m = q * (nq - q + 1) * (1 - q / nq)
        sigma2_q = sigma2_q * (nq * q) / m
    if robust:
        z2 = (dy - mu) ** 2
        scale = z2.sum(1) ** 2
        theta = np.zeros(y.shape[0])
        for k in range(1, q):  # q-1 lags, not a loop over series; CLM 2.4.43
            delta = nq * (z2[:, k:] * z2[:, :-k]).sum(1) / scale
            theta += 4 * (1 - k / q) ** 2 * delta
    else:  # CLM 2.4.39
        theta = np.full(y.shape[0], 2 * (2 * q - 1) * (q - 1) / (3 * q))
    vr = sigma2_q / sigma2_1
    z = np.sqrt(nq) * (vr - 1) / np.sqrt(theta)
    if vr.shape[0] == 1:
        return float(vr[0]), float(z[0])
    return vr, z


@dataclass(frozen=True)
class PooledVR:
    qs: tuple[int, ...]
    vr: np.ndarray  # pooled VR(q) estimate per q
    z: np.ndarray  # self-normalised z per q
    pvalues: np.ndarray  # two-sided per q
    wald: float  # joint statistic (chi-square, len(qs) df)
    wald_p: float
    bonferroni_p: float  # min over q of p_q times number of q (Chow-Denning style bound)
    n_series: np.ndarray  # series used per q
    n_steps: np.ndarray  # increments used per q
    scores: np.ndarray  # (n_rows, len(qs)) per-increment scores Δx_t h_t (0 where unused)
    _total: np.ndarray = field(default=None, repr=False)  # Σ scores per q
    _gram: np.ndarray = field(default=None, repr=False)  # scores' scores (len(qs), len(qs))


def lag_weighted_sum(dx: np.ndarray, pos: np.ndarray, q: int, *,
                     _tmp: np.ndarray | None = None, _out: np.ndarray | None = None,
                     _usable: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """h_t = Σ_{k=1}^{q−1} 2(1−k/q) Δx_{t−k} for flat, series-sorted increments.

    ``pos`` is the 0-based position of each increment within its series; rows with
    pos < q − 1 lack lags and are flagged unusable (second return value False).
    ``_tmp``, ``_out``, ``_usable``: scratch and output buffers a caller reuses across q.
    """
    tmp = np.empty(min(_LAG_BLOCK, len(dx)), dtype=dx.dtype) if _tmp is None else _tmp
    h = _lag_sum(dx, q, tmp, np.empty_like(dx) if _out is None else _out)
    usable = np.greater_equal(pos, q - 1, out=_usable)
    h[~usable] = 0.0
    return h, usable


#: rows of h formed at a time by :func:`_lag_sum` (a block of h, Δx and the products in cache)
_LAG_BLOCK = 32768


def _lag_sum(dx: np.ndarray, q: int, tmp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Σ_{k=1}^{q−1} 2(1−k/q) Δx_{t−k} over the flat increments into ``out`` (lags reach
    into the previous series where pos < q − 1: the caller zeroes those rows); ``tmp``
    holds the products of one block (at least min(_LAG_BLOCK, len(dx)) values).

    Each h_t is 0 + w_1Δx_{t−1} + … + w_{q−1}Δx_{t−q+1}, added in lag order, one block of
    rows at a time (the same sums as adding each lag over all rows in turn, without
    q − 1 passes over N-sized arrays)."""
    n = len(dx)
    h = out
    weights = [2.0 * (1.0 - k / q) for k in range(1, min(q, n + 1))]
    for a in range(0, n, _LAG_BLOCK):
        b = min(a + _LAG_BLOCK, n)
        h[a:b] = 0.0
        for k, w in enumerate(weights, start=1):  # h[lo:b] += w·Δx[lo−k:b−k], in place
            lo = max(a, k)
            if lo < b:
                prod = np.multiply(dx[lo - k:b - k], w, out=tmp[:b - lo])
                h[lo:b] += prod
    return h


def variance_ratio_scores(dx: np.ndarray, pos: np.ndarray, series: np.ndarray, n_inc: np.ndarray,
                          qs: tuple[int, ...] = (2, 5, 10)) -> PooledVR:
    """The per-q estimates and scores of :func:`pooled_variance_ratio` (its z,
    p-values and Wald statistic for deff = 1); :func:`widen` recomputes the
    inference for another design effect without recomputing the scores."""
    scores = np.zeros((len(dx), len(qs)))
    total = np.zeros(len(qs))
    vr, nser, nstep = [], [], []
    dx2 = np.multiply(dx, dx, out=np.empty(len(dx)))  # Δx², the same for every q
    scratch = np.empty(min(_LAG_BLOCK, len(dx)))  # _lag_sum's products of one block
    long_enough = np.empty(len(dx), bool)
    h_buf, usable_buf = np.empty(len(dx)), np.empty(len(dx), bool)  # reused across q
    for j, q in enumerate(qs):
        # (lag_weighted_sum's h, zeroed once below where unusable: rows without q − 1
        # lags are unusable here too)
        h = _lag_sum(dx, q, scratch, h_buf)
        usable = np.greater_equal(pos, q - 1, out=usable_buf)
        np.take(n_inc >= 2 * q, series, out=long_enough)
        usable &= long_enough
        np.multiply(dx, h, out=h)
        h[~usable] = 0.0
        scores[:, j] = h
        num = h.sum()  # (= scores[:, j].sum(): the same pairwise sum, contiguous)
        # Σ scores[:, j] as scores.sum(0) forms it: numpy reduces axis 0 of the C-ordered
        # (n, len(qs)) array row by row, i.e. sequentially per column (the running sum
        # of np.cumsum, in h's buffer; the row-wise reduction itself is slow)
        total[j] = np.cumsum(h, out=h)[-1] if len(h) else 0.0
        del h
        den = float(np.sum(dx2[usable]))
        vr.append(1.0 + num / den if den > 0 else np.nan)
        nser.append(int(np.sum(n_inc >= 2 * q)))
        nstep.append(int(usable.sum()))
    return widen(PooledVR(qs=tuple(qs), vr=np.array(vr), z=np.array([]), pvalues=np.array([]), wald=np.nan,
                          wald_p=np.nan, bonferroni_p=np.nan, n_series=np.array(nser), n_steps=np.array(nstep),
                          scores=scores, _total=total, _gram=scores.T @ scores), 1.0)


def widen(vr: PooledVR, deff: float) -> PooledVR:
    """``vr``'s z, p-values and Wald statistic with the score covariance widened by
    ``deff`` ≥ 1 (cross-series dependence, MG106)."""
    z, pv, wald, wald_p, bonf = score_tests(vr._total, vr._gram * max(deff, 1.0))
    return replace(vr, z=z, pvalues=pv, wald=wald, wald_p=wald_p, bonferroni_p=bonf)


def score_tests(total: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Per-q z and two-sided normal p-values of the summed scores ``total`` with
    covariance ``omega``, the joint Wald χ² (pseudo-inverse, df = rank) and the
    Bonferroni minimum: (z, p, wald, wald_p, bonferroni_p). Shared by both engines."""
    sd = np.sqrt(np.diag(omega))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, total / sd, np.nan)
    pv = 2 * stats.norm.sf(np.abs(z))
    ok = np.isfinite(z)
    if not ok.any():  # constant series: no revision (or no lagged revision) ever moves
        raise InsufficientDataError("no variance ratio can be estimated: the usable revisions or their lags "
                                    "are all zero")
    om = omega[np.ix_(ok, ok)]
    wald = float(total[ok] @ np.linalg.pinv(om) @ total[ok])
    dof = int(np.linalg.matrix_rank(om))
    wald_p = float(stats.chi2.sf(wald, max(dof, 1)))
    bonf = float(min(1.0, ok.sum() * np.nanmin(pv)))
    return z, pv, wald, wald_p, bonf


def pooled_variance_ratio(dx: np.ndarray, pos: np.ndarray, series: np.ndarray, n_inc: np.ndarray,
                          qs: tuple[int, ...] = (2, 5, 10), *, deff: float = 1.0) -> PooledVR:
    """Pooled martingale-transform variance ratio over series (see module docstring).

    dx : flat in-flight increments sorted by series; pos : position within series;
    series : series number of each increment; n_inc : (S,) increments per series.
    A series enters VR(q) when it has at least 2q increments. ``deff`` ≥ 1 widens
    the variance for cross-series dependence (MG106). Raises
    :class:`~forecheck.errors.InsufficientDataError` when no q has a non-zero score
    variance (e.g. every revision zero).
    """
    vr = variance_ratio_scores(dx, pos, series, n_inc, qs)
    return vr if max(deff, 1.0) == 1.0 else widen(vr, deff)

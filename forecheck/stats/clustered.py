"""Pooled OLS with cluster-robust standard errors and the wild cluster bootstrap.

Cluster-robust (CR1) covariance as statsmodels ``OLS(...).fit(cov_type="cluster")``
with its default small-sample correction (Cameron & Miller 2015, *J. Human
Resources* 50(2), eq. 11): V = c (X'X)⁻¹ (Σ_g X_g'û_g û_g'X_g) (X'X)⁻¹,
c = G/(G−1) · (N−1)/(N−K). Inference on one coefficient uses the wild cluster
restricted bootstrap-t with Rademacher weights (WCR; Cameron, Gelbach & Miller 2008,
*REStat* 90(3), 414–427), which keeps size with few or unbalanced clusters and
heteroskedastic errors; the analytic t with G−1 degrees of freedom is reported too.

Everything is computed from per-cluster sufficient statistics (X_g'X_g, X_g'y_g,
X_g'1·ẽ…), so the bootstrap costs O(B·G·K²), independent of the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from forecheck.stats import dists as stats

from forecheck.errors import InsufficientDataError

# A design whose column-scaled X'X has a reciprocal condition number below this is
# treated as singular (a regressor without variation, e.g. constant series whose
# revisions are all zero, or revisions of 1e-300 whose squares underflow).
_RCOND = 1e-10


@dataclass(frozen=True)
class ClusterOLS:
    params: np.ndarray
    bse: np.ndarray  # CR1 standard errors
    tvalues: np.ndarray
    pvalues_t: np.ndarray  # t with G-1 df, two-sided
    n_obs: int
    n_clusters: int
    cov: np.ndarray
    resid: np.ndarray | None = field(default=None, repr=False)  # y − Xβ (``keep_resid``)
    xtx_inv: np.ndarray | None = field(default=None, repr=False)


def _group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of a (N, ...) array by group -> (G, ...) (bincount per column)."""
    flat = values.reshape(len(values), -1)
    out = np.stack([np.bincount(groups, weights=flat[:, j], minlength=n_groups)
                    for j in range(flat.shape[1])], axis=1)
    return out.reshape((n_groups,) + values.shape[1:])


def _column_sums_of_squares(X: np.ndarray) -> np.ndarray:
    """``np.sum(X * X, axis=0)`` of an (N, K) C-ordered X, to the last bit, without
    the (N, K) temporary: numpy reduces axis 0 of a C-ordered array row by row, i.e.
    each column's sum is sequential, as the running sum of ``np.cumsum`` (one
    reused (N,) buffer; the row-wise reduction's inner loop of length K is slow)."""
    n, k = X.shape
    if not X.flags.c_contiguous:  # (another layout is reduced in another order)
        return np.sum(X * X, axis=0)
    if n == 0:
        return np.zeros(k)
    buf = np.empty(n)
    out = np.empty(k)
    for j in range(k):
        np.multiply(X[:, j], X[:, j], out=buf)
        out[j] = np.cumsum(buf, out=buf)[-1]
    return out


def _column_group_sums(X: np.ndarray, u: np.ndarray, g: np.ndarray, n_groups: int) -> np.ndarray:
    """``_group_sums(X * u[:, None], g, n_groups)`` without the (N, K) temporary: the
    same products, one column at a time into one contiguous buffer (bincount sums
    each group's rows in row order whatever the layout of its weights)."""
    n, k = X.shape
    buf = np.empty(n)
    out = np.empty((n_groups, k))
    for j in range(k):
        np.multiply(X[:, j], u, out=buf)
        out[:, j] = np.bincount(g, weights=buf, minlength=n_groups)
    return out


def _codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..G−1 in the order of ``np.unique(groups)`` (hash factorisation, then
    sorting only the G distinct values: linear in rows)."""
    import pandas as pd

    codes, _ = pd.factorize(np.asarray(groups), sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    return codes, int(codes.max()) + 1 if len(codes) else 0


def _inverse_xtx(X: np.ndarray, n_groups: int) -> np.ndarray:
    """(X'X)⁻¹, or InsufficientDataError when the regression is not identified
    (fewer than 2 clusters, no residual degrees of freedom, a regressor without
    variation or collinear regressors, non-finite values)."""
    n, k = X.shape
    if n_groups < 2 or n <= k:
        raise InsufficientDataError(f"too few clusters ({n_groups}) or observations ({n}) for a clustered "
                                    f"regression on {k} regressors")
    if not np.all(np.isfinite(X)):
        raise InsufficientDataError("non-finite regressor values")
    # scale columns to unit norm so the condition number measures collinearity, not units
    with np.errstate(over="ignore", under="ignore"):
        norms = np.sqrt(_column_sums_of_squares(X))
    if np.any(~np.isfinite(norms)) or np.any(norms == 0):
        raise InsufficientDataError("a regressor is identically zero (no variation to estimate from)")
    Xs = np.empty_like(X)  # X / norms, column by column (a length-K inner loop is slow)
    for j in range(k):
        np.divide(X[:, j], norms[j], out=Xs[:, j])
    a = Xs.T @ Xs
    eig = np.linalg.eigvalsh(a)
    if not np.all(np.isfinite(eig)) or eig[0] <= _RCOND * eig[-1]:
        raise InsufficientDataError("the regressor does not vary (singular design: e.g. constant series or "
                                    "identical revisions)")
    return np.linalg.inv(a) / np.outer(norms, norms)


def cluster_ols(y: np.ndarray, X: np.ndarray, groups: np.ndarray, *, deff: float = 1.0,
                codes: tuple[np.ndarray, int] | None = None, keep_resid: bool = False) -> ClusterOLS:
    """OLS of y on X (include a constant column yourself) with CR1 cluster SEs.

    ``deff`` ≥ 1 multiplies the covariance (cross-cluster dependence, MG106).
    ``codes`` : ``_codes(groups)`` when the caller has them (``groups`` is then unused).
    ``keep_resid`` : keep the residuals y − Xβ in ``resid`` (a caller forming the
    scores does not compute them a second time).
    Raises :class:`~forecheck.errors.InsufficientDataError` when the regression is
    not identified (see :func:`_inverse_xtx`); a perfect fit gives zero standard
    errors and NaN t-statistics and p-values.
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    g, G = _codes(groups) if codes is None else codes
    n, k = X.shape
    xtx_inv = _inverse_xtx(X, G)
    if not np.all(np.isfinite(y)):
        raise InsufficientDataError("non-finite values of the dependent variable")
    beta = xtx_inv @ (X.T @ y)
    u = X @ beta
    np.subtract(y, u, out=u)  # û = y − Xβ, in the fitted values' buffer
    s = _column_group_sums(X, u, g, G)  # (G, K) scores
    meat = s.T @ s
    c = G / (G - 1) * (n - 1) / (n - k)
    cov = c * xtx_inv @ meat @ xtx_inv * max(deff, 1.0)
    bse = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(bse > 0, beta / np.where(bse > 0, bse, 1.0), np.nan)
    p = 2 * stats.t.sf(np.abs(t), G - 1)
    return ClusterOLS(params=beta, bse=bse, tvalues=t, pvalues_t=p, n_obs=n, n_clusters=G, cov=cov,
                      resid=u if keep_resid else None, xtx_inv=xtx_inv)


def wild_cluster_bootstrap_p(y: np.ndarray, X: np.ndarray, groups: np.ndarray, col: int, *, n_boot: int,
                             rng: np.random.Generator, deff: float = 1.0,
                             order: np.ndarray | None = None,
                             codes: tuple[np.ndarray, int] | None = None) -> tuple[float, np.ndarray]:
    """Two-sided WCR bootstrap-t p-value for H0: beta[col] = 0 (Rademacher weights).

    The restricted model drops column ``col``; bootstrap samples
    y* = X_r β̃_r + w_g ẽ with one weight per cluster; each t* uses the same CR1
    formula as the observed t. ``deff`` scales the observed t down by √deff
    (cross-cluster dependence the bootstrap does not see); ``codes`` as in
    :func:`cluster_ols`. Returns (p, t*).
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    g, G = _codes(groups) if codes is None else codes
    n, k = X.shape
    fit = cluster_ols(y, X, groups, codes=(g, G))
    t_obs = fit.tvalues[col] / np.sqrt(max(deff, 1.0))
    keep = [j for j in range(k) if j != col]
    Xr = X[:, keep]
    br = np.linalg.lstsq(Xr, y, rcond=None)[0]
    fitted = Xr @ br
    e = y - fitted
    # per-cluster sufficient statistics
    # (the products column by column: no (N, K, K) or (N, K) temporaries)
    xx_g = np.empty((G, k, k))
    for j in range(k):
        xx_g[:, :, j] = _column_group_sums(X, X[:, j], g, G)
    xf_g = _column_group_sums(X, fitted, g, G)  # (G, K)
    xe_g = _column_group_sums(X, e, g, G)  # (G, K)
    xtx_inv = fit.xtx_inv
    c = G / (G - 1) * (n - 1) / (n - k)
    if not np.isfinite(t_obs):  # a perfect fit: no sampling variation to compare with
        raise InsufficientDataError("the regression fits exactly (zero residual variation)")
    t_star = np.empty(n_boot)
    # Only the (col, col) entry of V* is needed: with r = row ``col`` of (X'X)⁻¹,
    # r'·s*_g = r'xf_g + w_g r'xe_g − (xx_g r)'β* (xx_g symmetric), so
    # Var*(β_col) = c Σ_g (r'·s*_g)² is formed from three (G,)/(G, K) arrays
    # instead of the (b, G, K, K) meat.
    r = xtx_inv[col]
    a_g, c_g, d_g = xf_g @ r, xe_g @ r, xx_g @ r  # (G,), (G,), (G, K)
    xf_sum = xf_g.sum(0)
    chunk = max(1, int(4e6 // max(G, 1)))
    for start in range(0, n_boot, chunk):  # chunks of bootstrap draws, vectorised within
        b = min(chunk, n_boot - start)
        w = rng.choice(np.array([-1.0, 1.0]), size=(b, G))
        if order is not None:
            w_c, w = w, np.empty_like(w)
            w[:, order] = w_c
        xy = xf_sum[None, :] + w @ xe_g  # (b, K): X'y*
        beta = xy @ xtx_inv.T  # (b, K)
        # (b, G): r'·(cluster score) = a_g + w c_g − β d_g, formed in w's buffer (w is
        # not needed after X'y*): the same operations in the same order, no temporaries
        q = np.multiply(w, c_g[None, :], out=w)
        np.add(a_g[None, :], q, out=q)
        q -= beta @ d_g.T
        var = c * np.einsum("bg,bg->b", q, q)
        # a draw whose residuals vanish (var <= 0 up to rounding) has an infinite t*
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star[start:start + b] = np.where(var > 0, beta[:, col] / np.sqrt(np.clip(var, 0, None)), np.inf)
    # With few clusters the Rademacher draws repeat the observed sign pattern, whose t*
    # equals |t_obs| up to rounding; the rounding depends on the order of the sums, so
    # compare with a relative tolerance: ties count as "at least as extreme" whatever
    # the order of the series (invariance to renaming, tests/test_properties.py).
    tol = 1e-9 * max(abs(t_obs), 1.0)
    p = (1 + np.sum(np.abs(t_star) >= abs(t_obs) - tol)) / (n_boot + 1)
    return float(p), t_star




def slope_t_from_sums(n: np.ndarray, sx: np.ndarray, sxx: np.ndarray, sy: np.ndarray,
                      sxy: np.ndarray) -> np.ndarray:
    """CR1 t-statistics of the slope in y = a + b x, clusters g, from per-cluster sums
    n_g, Σx, Σx², Σy, Σxy given as (B, G) arrays (B regressions at once; n may be (G,)).

    Same estimator as :func:`cluster_ols` with X = [1, x]: β = (X'X)⁻¹X'y, cluster
    scores s_g = (Σy − a n − b Σx, Σxy − a Σx − b Σx²), V = c (X'X)⁻¹ Σ s_g s_g' (X'X)⁻¹.
    """
    n = np.broadcast_to(np.asarray(n, float), np.shape(sx))
    N, Sx, Sxx, Sy, Sxy = (np.sum(v, axis=-1) for v in (n, sx, sxx, sy, sxy))
    det = N * Sxx - Sx**2
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (N * Sxy - Sx * Sy) / det
        a = (Sy - b * Sx) / N
        s0 = sy - a[..., None] * n - b[..., None] * sx
        s1 = sxy - a[..., None] * sx - b[..., None] * sxx
        # row 2 of (X'X)⁻¹ = (−Σx, N)/det
        r0, r1 = -Sx / det, N / det
        G = sx.shape[-1]
        c = G / (G - 1) * (N - 1) / (N - 2)
        var = c * np.sum((r0[..., None] * s0 + r1[..., None] * s1) ** 2, axis=-1)
        return np.where(var > 0, b / np.sqrt(var), 0.0)

"""State- and clock-dependence of forecast volatility (WN301).

Model (docs/checks.md): E[Δp²/Δt] = c·[p(1−p)]^γ / τ^α, with p = p_{t−1} and τ the
time to resolution at t−1. γ = 2 is log-odds Brownian motion, γ ≈ 1.6 the probit
clock, γ = 1 the angular (arcsine) coordinate; α = 1 a resolution clock, α = 0 a
calendar clock. Fitted as a Poisson pseudo-maximum-likelihood GLM with log link on
y = Δp²/Δt (consistent for the conditional mean whatever the distribution of y,
and robust to the many zero increments of sticky series; Santos Silva & Tenreyro
2006), with standard errors clustered by series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from forecheck.stats import dists as stats
from forecheck.stats.segments import group_codes

MIN_CLUSTERS = 10  # below this many series, robust SEs per increment instead of per series

@dataclass(frozen=True)
class VolShapeFit:
    log_c: float
    gamma: float
    alpha: float
    se_gamma: float
    se_alpha: float
    cov: np.ndarray  # covariance of (log c, γ, α), cluster-robust
    nobs: int
    n_clusters: int
    converged: bool
    se_kind: str = "cluster"

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        q = stats.norm.ppf(0.5 + level / 2)
        return {"gamma": (self.gamma - q * self.se_gamma, self.gamma + q * self.se_gamma),
                "alpha": (self.alpha - q * self.se_alpha, self.alpha + q * self.se_alpha)}

    def wald_constant(self) -> tuple[float, float]:
        """Wald χ²₂ test of γ = α = 0 (volatility constant in probability units)."""
        b = np.array([self.gamma, self.alpha])
        v = self.cov[1:, 1:]
        try:
            w = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError:
            return float("nan"), float("nan")
        if not (np.isfinite(w) and w >= 0):  # a covariance that is not positive definite (rounding)
            return float("nan"), float("nan")
        return w, float(stats.chi2.sf(w, 2))


def _full_rank(X: np.ndarray, rcond: float = 1e-10) -> bool:
    """X has finite entries and, with columns scaled to unit norm, a well-conditioned X'X."""
    Xt = np.ascontiguousarray(X.T)
    if not np.all(np.isfinite(Xt)):
        return False
    return _gram_full_rank(_gram(Xt), rcond)


def _gram_full_rank(gram: np.ndarray, rcond: float = 1e-10) -> bool:
    """The Gram matrix X'X, its columns scaled to unit norm, is well-conditioned."""
    norms = np.sqrt(np.diag(gram))
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        return False
    eig = np.linalg.eigvalsh(gram / np.outer(norms, norms))
    return bool(eig[0] > rcond * eig[-1])


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ aᵢbᵢ by numpy's own loop: OpenBLAS's threaded ddot is many times slower on a
    loaded machine for the 10⁶–10⁷-row products here."""
    return float(np.einsum("i,i->", a, b))


def _xty(Xt: np.ndarray, y: np.ndarray) -> np.ndarray:
    """X'y from the (k, n) transposed design (one :func:`_dot` per regressor)."""
    return np.array([_dot(row, y) for row in Xt])


def _gram(Xt: np.ndarray) -> np.ndarray:
    """X'X from the (k, n) transposed design."""
    k = Xt.shape[0]
    out = np.empty((k, k))
    for a in range(k):
        for b in range(a, k):
            out[a, b] = out[b, a] = _dot(Xt[a], Xt[b])
    return out


class _Work:
    """Reused (n,) buffers of one Newton run (fresh N-sized temporaries each iteration
    would cost page faults comparable to the arithmetic)."""

    def __init__(self, n: int):
        self.eta = np.empty(n)
        self.tmp = np.empty(n)


def _eta(Xt: np.ndarray, beta: np.ndarray, work: _Work | None = None) -> np.ndarray:
    """Xβ for a (k, n) transposed design whose first row is the constant (into
    ``work.eta`` when given)."""
    if work is None:
        work = _Work(Xt.shape[1])
    eta, tmp = work.eta, work.tmp
    np.multiply(Xt[1], beta[1], out=eta)
    for a in range(2, Xt.shape[0]):
        np.multiply(Xt[a], beta[a], out=tmp)
        eta += tmp
    eta += beta[0]
    return eta


_MU_BLOCK = 1 << 15  # values per block of _mu (its buffers' blocks stay in cache)


def _mu(Xt: np.ndarray, beta: np.ndarray, work: _Work) -> np.ndarray:
    """μ = exp(Xβ) into ``work.eta``: :func:`_eta`'s products and sums, then ``np.exp``,
    block by block, so that the block stays in cache between the k + 1 operations
    instead of each streaming the (n,) buffers through memory (elementwise: the same
    operations on the same operands, so the same floats)."""
    eta, tmp = work.eta, work.tmp
    k, n = Xt.shape
    for a0 in range(0, n, _MU_BLOCK):
        a1 = min(a0 + _MU_BLOCK, n)
        e, t = eta[a0:a1], tmp[a0:a1]
        np.multiply(Xt[1, a0:a1], beta[1], out=e)
        for a in range(2, k):
            np.multiply(Xt[a, a0:a1], beta[a], out=t)
            e += t
        e += beta[0]
        np.exp(e, out=e)
    return eta


def _weighted_gram(Xt: np.ndarray, w: np.ndarray, work: _Work | None = None) -> np.ndarray:
    """X' diag(w) X from the (k, n) transposed design whose first row is the constant:
    Σw, and for each regressor a ≥ 1 the products w·x_a dotted with x_b (b ≥ a)."""
    k = Xt.shape[0]
    tmp = work.tmp if work is not None else np.empty(Xt.shape[1])
    out = np.empty((k, k))
    out[0, 0] = w.sum()
    for a in range(1, k):
        np.multiply(w, Xt[a], out=tmp)
        out[0, a] = out[a, 0] = tmp.sum()
        for b in range(a, k):
            out[a, b] = out[b, a] = _dot(tmp, Xt[b])
    return out


DIVERGED = "the volatility-shape fit diverged (degenerate increments)"
SINGULAR = "the volatility-shape fit is singular (regressors without variation)"


def newton_steps(beta: np.ndarray, xty: np.ndarray, weighted_gram_at: Callable, max_iter: int,
                 tol: float) -> tuple[np.ndarray, bool, int]:
    """Newton–Raphson on the Poisson log-likelihood Σ y·η − e^η (= IRLS for the
    canonical log link): β ← β + (X'diag(μ)X)⁻¹X'(y − μ), stopping when the step's
    largest entry is below ``tol``·(1 + max|β|). ``xty`` = X'y; ``weighted_gram_at(β)``
    gives (min μ, max μ, X'diag(μ)X) for μ = exp(Xβ), the matrix None when μ is not
    finite and positive: from the rows in memory (:func:`_newton`) or summed over a
    cluster's partitions (``engine/wiener.fit_volatility``)."""
    k = len(xty)
    it = 0
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for it in range(1, max_iter + 1):
            mu_min, mu_max, hess = weighted_gram_at(beta)
            if not (mu_min > 0 and np.isfinite(mu_max)):
                raise ValueError(DIVERGED)
            grad = xty - hess[0, :k]  # X'μ is the first row of X'diag(μ)X (constant regressor)
            if not (np.all(np.isfinite(hess)) and np.all(np.isfinite(grad))):
                raise ValueError(DIVERGED)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                raise ValueError(SINGULAR) from None
            new = beta + step
            if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
                return new, True, it
            beta = new
    return beta, False, it


def _newton(yy: np.ndarray, Xt: np.ndarray, beta: np.ndarray, max_iter: int, tol: float,
            xty: np.ndarray, work: "_Work | None" = None) -> tuple[np.ndarray, bool, int]:
    """:func:`newton_steps` on the rows ``yy``, ``Xt`` (the (k, n) transposed design)."""
    if work is None:
        work = _Work(Xt.shape[1])

    def weighted_gram_at(b: np.ndarray):
        mu = _mu(Xt, b, work)
        mu_min, mu_max = mu.min(), mu.max()
        usable = mu_min > 0 and np.isfinite(mu_max)
        return mu_min, mu_max, _weighted_gram(Xt, mu, work) if usable else None

    return newton_steps(beta, xty, weighted_gram_at, max_iter, tol)


def cluster_sandwich(gram: np.ndarray, meat: np.ndarray, n: int, G: int, exact: bool) -> np.ndarray:
    """Cluster-robust covariance (X'diag(μ)X)⁻¹ M (X'diag(μ)X)⁻¹ of a Poisson fit from its
    weighted Gram matrix and the meat M = Σ_g s_g s_gᵀ of the G clusters' score sums,
    with statsmodels' default small-sample factor G/(G − 1)·(n − 1)/(n − k)."""
    k = len(gram)
    try:
        bread = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        raise ValueError(SINGULAR) from None
    corr = (G / (G - 1)) * ((n - 1) / (n - k)) if G > 1 else 1.0
    # an exact fit (every residual zero to rounding) has no sampling variance to estimate:
    # the sandwich would be rounding noise, so report a zero covariance (no Wald test)
    return np.zeros((k, k)) if exact else corr * bread @ meat @ bread


WARM_START_ROWS = 50_000  # above twice this many rows, Newton starts from the fit on a regular subsample


def _warm_start_rows(n: int):
    """The subsamples of about WARM_START_ROWS of n rows whose fit starts Newton, in
    turn until one converges: every m-th row, then one row drawn at random (a fixed
    seed) in each run of m. A regular stride can alias with the series length (L
    dividing m puts every sampled increment at one step of its series: a singular
    design, 10^7 rows of 100-step series: m = 198 = 2*99)."""
    m = n // WARM_START_ROWS
    yield slice(None, None, m)
    k = n // m
    yield np.arange(k) * m + np.random.default_rng(m).integers(0, m, size=k)


def poisson_glm(y: np.ndarray, X: np.ndarray, groups: np.ndarray, max_iter: int = 100,
                tol: float = 1e-10, n_groups: int | None = None,
                overwrite_y: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """Poisson-family GLM with log link (Newton = IRLS); cluster-robust (sandwich) covariance.

    Same estimator as ``statsmodels.GLM(y, X, family=Poisson()).fit(cov_type="cluster")``
    (pinned in tests/test_wn_stats.py), written out so that one iteration is a few
    passes over the rows in reused buffers. The first column of X must be the
    constant. On large inputs the iteration starts from the converged fit on every
    m-th row (≈ ``WARM_START_ROWS`` rows), so the full data needs only the last few
    (quadratically convergent) steps; the estimate is the same root of the score
    equations (to rounding). ``n_groups`` given: ``groups`` are already the codes
    0..n_groups − 1 (:func:`group_codes`), not recomputed. ``overwrite_y``: y (float64)
    may be rescaled in place (one (n,) array less at the peak)."""
    y = np.asarray(y, float)
    Xt = np.ascontiguousarray(np.asarray(X, float).T)  # (k, n): each regressor contiguous
    if not np.all(Xt[0] == 1.0):
        raise ValueError("the first column of the design must be the constant")
    ym = y.mean()
    scale_y = ym if ym > 0 else 1.0
    if overwrite_y:
        yy = y
        yy /= scale_y
    else:
        yy = y / scale_y  # rescaling y only shifts the intercept
    del y
    k = Xt.shape[0]
    beta = np.zeros(k)
    beta[0] = np.log(max(yy.mean(), 1e-300))
    n = len(yy)
    if n > 2 * WARM_START_ROWS:
        for pick in _warm_start_rows(n):
            sub_y, sub_X = np.ascontiguousarray(yy[pick]), np.ascontiguousarray(Xt[:, pick])
            try:
                b0, ok, _ = _newton(sub_y, sub_X, beta.copy(), max_iter, tol, _xty(sub_X, sub_y))
            except ValueError:
                continue  # the subsample is degenerate: try the next one, else start from the constant
            finally:
                del sub_y, sub_X
            if ok and np.all(np.isfinite(b0)):
                beta = b0
                break
    work = _Work(n)  # Newton's buffers, then the sandwich's (no further (n,) temporaries)
    beta, converged, _ = _newton(yy, Xt, beta, max_iter, tol, _xty(Xt, yy), work)
    with np.errstate(over="ignore", under="ignore"):
        mu = _mu(Xt, beta, work)
    if not (np.all(np.isfinite(beta)) and np.isfinite(mu.max()) and mu.min() > 0):
        raise ValueError(DIVERGED)
    gram = _weighted_gram(Xt, mu, work)
    resid = np.subtract(yy, mu, out=work.tmp)
    scratch = np.abs(resid, out=work.eta)  # μ is no longer needed
    del mu
    exact = not np.max(scratch) > 1e-10 * np.max(yy)
    gi, G = group_codes(groups) if n_groups is None else (groups, n_groups)
    sc = np.empty((G, k))
    for j in range(k):
        w = resid if j == 0 else np.multiply(Xt[j], resid, out=scratch)  # the constant: 1·r = r
        sc[:, j] = np.bincount(gi, weights=w, minlength=G)
    del resid, scratch, work
    meat = np.einsum("ga,gb->ab", sc, sc)  # numpy loop, not a threaded BLAS call
    cov = cluster_sandwich(gram, meat, n, G, exact)
    beta = beta.copy()
    beta[0] += np.log(scale_y)
    return beta, cov, converged


def _codes(g: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`group_codes`, returning ``g`` itself when it already is its codes
    (0, then steps of 0 or 1: the panel's series numbers of its increments when every
    series is used), without an (n,) copy."""
    g = np.asarray(g)
    if g.ndim == 1 and len(g) and g.dtype.kind in "iu" and g[0] == 0:
        step = np.diff(g)
        if np.all((step == 0) | (step == 1)):
            return g, int(g[-1]) + 1
    return group_codes(g)


def vol_shape_rows(p_prev: np.ndarray, dp: np.ndarray, dt: np.ndarray, tau: np.ndarray,
                   groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fit's rows: y = Δp²/Δt, the transposed design (1, log p(1−p), −log τ) and the
    groups, on the increments with 0 < p_{t−1} < 1, Δt > 0, τ > 0 (both engines; the
    arrays themselves, not copies, when every increment qualifies)."""
    u = p_prev * (1 - p_prev)
    ok = (u > 0) & (dt > 0) & (tau > 0) & np.isfinite(dp)
    n_ok = int(ok.sum())
    every = n_ok == len(ok)
    y = dp**2 if every else dp[ok] ** 2
    y /= dt if every else dt[ok]
    Xt = np.empty((3, n_ok))
    Xt[0] = 1.0
    np.log(u if every else u[ok], out=Xt[1])
    del u
    np.log(tau if every else tau[ok], out=Xt[2])
    np.negative(Xt[2], out=Xt[2])
    return y, Xt, groups if every else groups[ok]


def fit_vol_shape(p_prev: np.ndarray, dp: np.ndarray, dt: np.ndarray, tau: np.ndarray,
                  groups: np.ndarray) -> VolShapeFit:
    """Fit E[Δp²/Δt] = c·[p(1−p)]^γ/τ^α on increments with 0 < p_{t−1} < 1, Δt > 0, τ > 0."""
    y, Xt, g = vol_shape_rows(p_prev, dp, dt, tau, groups)
    del p_prev, dp, dt, tau  # (the caller's temporaries are freed here, before the fit)
    n_ok = len(y)
    if n_ok < 10:
        raise ValueError("too few increments to fit the volatility shape")
    if not np.any(y > 0):
        raise ValueError("every increment is zero")
    if not (np.all(np.isfinite(Xt[1:])) and _gram_full_rank(_gram(Xt))):
        raise ValueError("p(1−p) or the time to resolution does not vary enough to fit the volatility shape")
    gi, n_groups = _codes(g)  # computed once: poisson_glm takes the codes as they are
    del g
    if n_groups < MIN_CLUSTERS:
        # too few series for cluster-robust SEs (with one cluster the score sums to 0):
        # fall back to heteroskedasticity-robust (HC0-type) SEs, each increment its own cluster
        gi = np.arange(len(y))
    beta, cov, conv = poisson_glm(y, Xt.T, gi, n_groups=len(gi) if n_groups < MIN_CLUSTERS else n_groups,
                                  overwrite_y=True)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))  # a tiny negative variance is rounding
    return VolShapeFit(log_c=float(beta[0]), gamma=float(beta[1]), alpha=float(beta[2]),
                       se_gamma=float(se[1]), se_alpha=float(se[2]), cov=cov,
                       nobs=n_ok, n_clusters=n_groups, converged=conv,
                       se_kind="cluster" if n_groups >= MIN_CLUSTERS else "hc")

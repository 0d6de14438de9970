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

import numpy as np
from forecheck.stats import dists as stats

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
        return w, float(stats.chi2.sf(w, 2))


def _full_rank(X: np.ndarray, rcond: float = 1e-10) -> bool:
    """X has finite entries and, with columns scaled to unit norm, a well-conditioned X'X."""
    if not np.all(np.isfinite(X)):
        return False
    norms = np.sqrt(np.sum(X * X, axis=0))
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        return False
    eig = np.linalg.eigvalsh((X / norms).T @ (X / norms))
    return bool(eig[0] > rcond * eig[-1])


def poisson_glm(y: np.ndarray, X: np.ndarray, groups: np.ndarray, max_iter: int = 100,
                tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, bool]:
    """Poisson-family GLM with log link by IRLS; cluster-robust (sandwich) covariance.

    Same estimator as ``statsmodels.GLM(y, X, family=Poisson()).fit(cov_type="cluster")``
    (pinned in tests/test_wn_stats.py), written out so it costs one pass per iteration
    over 10⁵–10⁶ rows."""
    y = np.asarray(y, float)
    scale_y = y.mean() if y.mean() > 0 else 1.0
    yy = y / scale_y  # rescaling y only shifts the intercept
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(yy.mean(), 1e-300))
    converged = False
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            eta = X @ beta
            mu = np.exp(eta)
            z = eta + (yy - mu) / mu
            xtw = X.T * mu
            if not (np.all(np.isfinite(z)) and np.all(np.isfinite(xtw)) and np.all(mu > 0)):
                raise ValueError("the volatility-shape fit diverged (degenerate increments)")
            try:
                new = np.linalg.solve(xtw @ X, xtw @ z)
            except np.linalg.LinAlgError:
                raise ValueError("the volatility-shape fit is singular (regressors without variation)") from None
            if np.max(np.abs(new - beta)) < tol * (1 + np.max(np.abs(beta))):
                beta = new
                converged = True
                break
            beta = new
        mu = np.exp(X @ beta)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(mu)) and np.all(mu > 0)):
        raise ValueError("the volatility-shape fit diverged (degenerate increments)")
    try:
        bread = np.linalg.inv((X.T * mu) @ X)
    except np.linalg.LinAlgError:
        raise ValueError("the volatility-shape fit is singular (regressors without variation)") from None
    score = X * (yy - mu)[:, None]
    g, gi = np.unique(groups, return_inverse=True)
    sc = np.column_stack([np.bincount(gi, weights=score[:, j], minlength=len(g)) for j in range(X.shape[1])])
    meat = sc.T @ sc
    n, k, G = len(yy), X.shape[1], len(g)
    # statsmodels' default small-sample correction for cluster-robust covariance
    corr = (G / (G - 1)) * ((n - 1) / (n - k)) if G > 1 else 1.0
    cov = corr * bread @ meat @ bread
    beta = beta.copy()
    beta[0] += np.log(scale_y)
    return beta, cov, converged


def fit_vol_shape(p_prev: np.ndarray, dp: np.ndarray, dt: np.ndarray, tau: np.ndarray,
                  groups: np.ndarray) -> VolShapeFit:
    """Fit E[Δp²/Δt] = c·[p(1−p)]^γ/τ^α on increments with 0 < p_{t−1} < 1, Δt > 0, τ > 0."""
    u = p_prev * (1 - p_prev)
    ok = (u > 0) & (dt > 0) & (tau > 0) & np.isfinite(dp)
    if ok.sum() < 10:
        raise ValueError("too few increments to fit the volatility shape")
    y = dp[ok] ** 2 / dt[ok]
    if not np.any(y > 0):
        raise ValueError("every increment is zero")
    X = np.column_stack([np.ones(ok.sum()), np.log(u[ok]), -np.log(tau[ok])])
    if not _full_rank(X):
        raise ValueError("p(1−p) or the time to resolution does not vary enough to fit the volatility shape")
    g = groups[ok]
    n_groups = len(np.unique(g))
    if n_groups < MIN_CLUSTERS:
        # too few series for cluster-robust SEs (with one cluster the score sums to 0):
        # fall back to heteroskedasticity-robust (HC0-type) SEs, each increment its own cluster
        g = np.arange(len(y))
    beta, cov, conv = poisson_glm(y, X, g)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))  # a tiny negative variance is rounding
    return VolShapeFit(log_c=float(beta[0]), gamma=float(beta[1]), alpha=float(beta[2]),
                       se_gamma=float(se[1]), se_alpha=float(se[2]), cov=cov,
                       nobs=int(ok.sum()), n_clusters=n_groups, converged=conv,
                       se_kind="cluster" if n_groups >= MIN_CLUSTERS else "hc")

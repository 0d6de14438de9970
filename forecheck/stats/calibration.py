"""Calibration primitives for binary outcomes (pure numpy/scipy/statsmodels).

Every function takes forecasts ``p`` in [0, 1] and outcomes ``o`` in {0, 1} of the
same shape (one forecast per event) and returns frozen dataclasses.

References
----------
- Brier (1950); Murphy (1973), "A new vector partition of the probability score",
  J. Appl. Meteor. 12, 595-600: BS = REL - RES + UNC with K bins.
- Stephenson, Coelho & Jolliffe (2008), "Two extra components in the Brier score
  decomposition", Weather and Forecasting 23, 752-757: the within-bin variance and
  covariance terms that make the binned identity exact when forecasts vary in a bin.
- Dimitriadis, Gneiting & Jordan (2021), "Stable reliability diagrams for
  probabilistic classifiers", PNAS 118(8) e2016191118 (CORP): PAV recalibration,
  S = MCB - DSC + UNC (their eq. 3).
- Spiegelhalter (1986), Statistics in Medicine 5, 421-433: the Z test of
  calibration; (o - p)^2 - p(1 - p) = (o - p)(1 - 2p) so Z compares observed and
  expected Brier score.
- Cox (1958), "Two further applications of a model for binary regression",
  Biometrika 45, 562-565: logistic recalibration logit P(o=1) = a + b logit(p).
- Hansen (2005), "A test for superior predictive ability", JBES 23(4), 365-380:
  max-t bootstrap test of multiple inequalities with the consistent recentring used
  by :func:`max_inequality_test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from forecheck.stats import dists as stats
from scipy.special import expit

from forecheck.errors import InsufficientDataError

#: Forecasts are clipped to [CLIP_EPS, 1 - CLIP_EPS] before taking logits (CA203):
#: logit(1e-4) = -9.21. A forecast of exactly 0 or 1 would otherwise have an
#: infinite logit; the clip bounds the leverage of such extreme forecasts.
CLIP_EPS = 1e-4

DEFAULT_BINS = 10


def _as_arrays(p, o) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=float)
    o = np.asarray(o, dtype=float)
    if p.shape != o.shape:
        raise ValueError("p and o must have the same shape")
    return p, o


def brier(p, o) -> float:
    """Mean Brier score (1/N) Σ (p − o)² (Brier 1950)."""
    p, o = _as_arrays(p, o)
    return float(np.mean((p - o) ** 2))


# --------------------------------------------------------------------- Murphy
@dataclass(frozen=True)
class MurphyDecomposition:
    """Binned decomposition BS = REL − RES + UNC + WBV − 2·WBC (exact).

    rel : (1/N) Σ_k n_k (p̄_k − ō_k)²           (Murphy 1973)
    res : (1/N) Σ_k n_k (ō_k − ō)²              (Murphy 1973)
    unc : ō (1 − ō)                             (Murphy 1973)
    wbv : (1/N) Σ_k Σ_{i∈k} (p_i − p̄_k)²          within-bin variance
    wbc : (1/N) Σ_k Σ_{i∈k} (p_i − p̄_k)(o_i − ō_k) within-bin covariance
          (Stephenson, Coelho & Jolliffe 2008, eq. 7). Both are 0 when forecasts
          are constant within bins, where Murphy's three terms alone are exact.
    """

    brier: float
    rel: float
    res: float
    unc: float
    wbv: float
    wbc: float
    n_bins: int
    bin_n: np.ndarray
    bin_p: np.ndarray
    bin_o: np.ndarray

    @property
    def identity_residual(self) -> float:
        """BS − (REL − RES + UNC + WBV − 2 WBC): zero up to rounding."""
        return self.brier - (self.rel - self.res + self.unc + self.wbv - 2.0 * self.wbc)

    def to_dict(self) -> dict:
        return {"rel": self.rel, "res": self.res, "unc": self.unc, "wbv": self.wbv, "wbc": self.wbc,
                "n_bins": self.n_bins}


def bin_index(p: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Equal-width bins on [0, 1]: [0, 1/K), [1/K, 2/K), …, [(K−1)/K, 1]."""
    return np.minimum(np.floor(np.asarray(p, dtype=float) * n_bins).astype(np.int64), n_bins - 1)


def murphy_decomposition(p, o, n_bins: int = DEFAULT_BINS) -> MurphyDecomposition:
    """Murphy (1973) decomposition with ``n_bins`` explicit equal-width bins plus the
    two within-bin terms of Stephenson et al. (2008), so that the identity is exact."""
    p, o = _as_arrays(p, o)
    n = p.size
    k = bin_index(p, n_bins)
    nk = np.bincount(k, minlength=n_bins).astype(float)
    occupied = nk > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pk = np.bincount(k, weights=p, minlength=n_bins) / nk
        ok = np.bincount(k, weights=o, minlength=n_bins) / nk
    obar = o.mean()
    nk_o, pk_o, ok_o = nk[occupied], pk[occupied], ok[occupied]
    rel = float(np.sum(nk_o * (pk_o - ok_o) ** 2) / n)
    res = float(np.sum(nk_o * (ok_o - obar) ** 2) / n)
    unc = float(obar * (1.0 - obar))
    dp = p - pk[k]
    wbv = float(np.sum(dp**2) / n)
    wbc = float(np.sum(dp * (o - ok[k])) / n)
    return MurphyDecomposition(brier=float(np.mean((p - o) ** 2)), rel=rel, res=res, unc=unc, wbv=wbv,
                               wbc=wbc, n_bins=n_bins, bin_n=nk.astype(np.int64), bin_p=pk, bin_o=ok)


# ----------------------------------------------------------------------- CORP
@dataclass(frozen=True)
class CorpDecomposition:
    """CORP decomposition of the mean Brier score (Dimitriadis et al. 2021, eq. 3):
    S̄(p) = MCB − DSC + UNC with MCB = S̄(p) − S̄(p̂), DSC = S̄(ō) − S̄(p̂),
    UNC = S̄(ō), p̂ the PAV (isotonic) recalibration of p."""

    brier: float
    mcb: float
    dsc: float
    unc: float
    recalibrated: np.ndarray  # p̂ in the input order

    def to_dict(self) -> dict:
        return {"mcb": self.mcb, "dsc": self.dsc, "unc": self.unc}


def pav_recalibrate(p, o) -> np.ndarray:
    """Isotonic (PAV) regression of o on p; equal forecasts get equal values
    (CORP's "optimal binning": ties are pooled before PAV)."""
    p, o = _as_arrays(p, o)
    _, inv, cnt = np.unique(p, return_inverse=True, return_counts=True)
    return pav_of_ties(inv, cnt, o)[inv]


def pav_of_ties(inv: np.ndarray, cnt: np.ndarray, o: np.ndarray) -> np.ndarray:
    """The PAV fit at each distinct forecast, from ``np.unique(p, return_inverse=True,
    return_counts=True)``'s inverse and counts: a caller refitting many outcome vectors
    on the same forecasts (a consistency band) sorts them once."""
    ybar = np.bincount(inv, weights=o, minlength=cnt.size) / cnt
    return _pav(ybar, cnt.astype(float))


def _pav(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators.

    Many distinct values: ``scipy.optimize.isotonic_regression`` (compiled). Few (small
    files): a block-stack PAV in plain Python (Best & Chakravarti 1990), the same unique
    solution (tests/test_speed_paths.py) without importing scipy.optimize (≈ 0.2 s)."""
    n = len(y)
    if n > 2000:
        from scipy.optimize import isotonic_regression

        return np.asarray(isotonic_regression(y, weights=w, increasing=True).x)
    val: list[float] = []
    wt: list[float] = []
    size: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist()):
        val.append(yi)
        wt.append(wi)
        size.append(1)
        while len(val) > 1 and val[-2] >= val[-1]:
            tw = wt[-2] + wt[-1]
            v = (wt[-2] * val[-2] + wt[-1] * val[-1]) / tw
            sz = size[-2] + size[-1]
            del val[-1], wt[-1], size[-1]
            val[-1], wt[-1], size[-1] = v, tw, sz
    return np.repeat(np.array(val), np.array(size, dtype=np.int64))


def corp_decomposition(p, o) -> CorpDecomposition:
    p, o = _as_arrays(p, o)
    phat = pav_recalibrate(p, o)
    obar = o.mean()
    s_p = float(np.mean((p - o) ** 2))
    s_hat = float(np.mean((phat - o) ** 2))
    s_clim = float(np.mean((obar - o) ** 2))  # = ō(1 − ō)
    return CorpDecomposition(brier=s_p, mcb=s_p - s_hat, dsc=s_clim - s_hat, unc=s_clim, recalibrated=phat)


# --------------------------------------------------------------- Spiegelhalter
@dataclass(frozen=True)
class SpiegelhalterResult:
    z: float
    pvalue: float
    observed_brier: float
    expected_brier: float  # (1/N) Σ p(1 − p): the Brier a calibrated forecaster expects
    n: int


def spiegelhalter_z(p, o, axis: int = -1):
    """Z = Σ (o − p)(1 − 2p) / √Σ (1 − 2p)² p(1 − p) (Spiegelhalter 1986) along
    ``axis`` (vectorised over replications). Returns (z, two-sided N(0,1) p-value);
    NaN where the variance is 0 (all p in {0, ½, 1})."""
    p, o = _as_arrays(p, o)
    num = np.sum((o - p) * (1.0 - 2.0 * p), axis=axis)
    var = np.sum((1.0 - 2.0 * p) ** 2 * p * (1.0 - p), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
    pv = 2.0 * stats.norm.sf(np.abs(z))
    return z, pv


def spiegelhalter(p, o) -> SpiegelhalterResult:
    p, o = _as_arrays(p, o)
    z, pv = spiegelhalter_z(p, o)
    return SpiegelhalterResult(z=float(z), pvalue=float(pv), observed_brier=float(np.mean((o - p) ** 2)),
                               expected_brier=float(np.mean(p * (1.0 - p))), n=int(p.size))


def spiegelhalter_mc_pvalue(p, o, n_sim: int, seed: int, chunk_cells: int = 4_000_000) -> float:
    """Two-sided p-value of Z conditional on the forecasts: under H0 the outcomes are
    independent Bernoulli(p_i), so Z's null law is simulated exactly (up to Monte Carlo
    error) by drawing o* ~ Bernoulli(p). Useful when forecasts sit near 0/1, where the
    N(0, 1) approximation is coarse. p = (1 + #{|Z*| ≥ |Z|}) / (n_sim + 1).
    The draws go to the forecasts in sorted order (the result does not depend on the
    units' order or names) and are made in chunks of ``chunk_cells`` (bounded memory)."""
    p, o = _as_arrays(p, o)
    z, _ = spiegelhalter_z(p, o)
    if not np.isfinite(z):
        return float("nan")
    rng = np.random.default_rng(seed)
    ps = np.sort(p)
    # Z* = Σ (o* − p)(1 − 2p) / √Σ (1 − 2p)² p(1 − p): the denominator does not depend
    # on o*, and each term of the numerator is one of two numbers fixed by p, so both
    # are computed once; a draw only picks terms. The terms are the same doubles as
    # spiegelhalter_z's (o* − p with o* = 1.0 or 0.0) and each row is summed in the
    # same order, so Z* (and the count of hits) is unchanged.
    a = 1.0 - 2.0 * ps
    t1, t0 = (1.0 - ps) * a, (0.0 - ps) * a
    sd = np.sqrt(np.sum(a**2 * ps * (1.0 - ps)))  # > 0: Z is finite
    thresh = abs(z) * (1 - 1e-12)
    hits = 0
    step = max(1, chunk_cells // max(p.size, 1))
    u = np.empty((min(step, n_sim), p.size))  # buffers reused by every chunk
    pick = np.empty(u.shape, dtype=np.uint64)
    # term = t0 where o* = 0, t1 where o* = 1, selected on the bits: t0 ^ (o*·(t0 ^ t1))
    # (exact, and about twice as fast as np.where or a masked copy)
    t0_bits = t0.view(np.uint64)
    flip = t0_bits ^ t1.view(np.uint64)
    for b0 in range(0, n_sim, step):
        b = min(step, n_sim - b0)
        # rng.random draws the same doubles as rng.uniform(0, 1) (0 + 1·U), into the buffer
        rng.random(out=u[:b])
        np.less(u[:b], ps, out=pick[:b], casting="unsafe")  # o* as 0/1 integers
        np.multiply(pick[:b], flip, out=pick[:b])
        np.bitwise_xor(pick[:b], t0_bits, out=pick[:b])
        z_star = pick[:b].view(np.float64).sum(axis=1) / sd
        hits += int(np.sum(np.abs(z_star) >= thresh))
    return float((1 + hits) / (n_sim + 1))


# --------------------------------------------------------- Cox recalibration
class RecalibrationError(ValueError):
    """The logistic recalibration cannot be estimated (one class, separation, …)."""


@dataclass(frozen=True)
class RecalibrationResult:
    """Cox (1958) recalibration logit P(o = 1) = a + b·logit(p)."""

    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    intercept_ci: tuple[float, float]
    slope_ci: tuple[float, float]
    llf: float  # maximised log-likelihood
    llf_null: float  # log-likelihood at a = 0, b = 1 (the forecasts as stated)
    lr_stat: float  # 2 (llf − llf_null) ~ χ²₂ under H0
    pvalue: float
    n: int
    n_clipped: int


def clipped_logit(p: np.ndarray, eps: float = CLIP_EPS) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    return np.log(q) - np.log1p(-q)


def bernoulli_loglik(q: np.ndarray, o: np.ndarray, axis=None):
    return np.sum(o * np.log(q) + (1.0 - o) * np.log1p(-q), axis=axis)


def separated(x: np.ndarray, o: np.ndarray) -> bool:
    """Complete or quasi-complete separation of a one-regressor logit: the x of one
    class all lie at or beyond those of the other (the MLE then does not exist)."""
    x1, x0 = x[o == 1], x[o == 0]
    if x1.size == 0 or x0.size == 0:
        return True
    return bool(x0.max() <= x1.min() or x1.max() <= x0.min())


def _logit_newton(X: np.ndarray, o: np.ndarray, maxiter: int = 100, tol: float = 1e-10):
    """Newton-Raphson MLE of a logistic regression (the method statsmodels' ``Logit``
    uses with ``method="newton"``). Returns (params, cov, llf, converged)."""
    beta = np.zeros(X.shape[1])
    converged = False
    for _ in range(maxiter):
        q = expit(X @ beta)
        H = X.T @ (X * (q * (1.0 - q))[:, None])
        step = np.linalg.solve(H, X.T @ (o - q))
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) < tol * max(1.0, float(np.max(np.abs(beta)))):
            converged = True
            break
    eta = X @ beta
    q = expit(eta)
    H = X.T @ (X * (q * (1.0 - q))[:, None])
    cov = np.linalg.inv(H)
    # log-likelihood in the stable form: log q = −log(1 + e^{−η}), log(1 − q) = −log(1 + e^{η})
    llf = float(-np.sum(o * np.logaddexp(0.0, -eta) + (1.0 - o) * np.logaddexp(0.0, eta)))
    return beta, cov, llf, converged


def logistic_recalibration(p, o, alpha: float = 0.05, eps: float = CLIP_EPS) -> RecalibrationResult:
    """MLE of (a, b) by Newton-Raphson (numpy; equal to statsmodels ``Logit`` with
    ``method="newton"``, tests/test_calibration.py); joint LR test of a = 0, b = 1.

    Raises :class:`RecalibrationError` when both outcomes are not present, when the
    data are (quasi-)separated or the fit does not converge.
    """
    p, o = _as_arrays(p, o)
    n = p.size
    n_pos = int(np.sum(o == 1))
    if n_pos == 0 or n_pos == n:
        raise RecalibrationError("all resolved outcomes are equal")
    x = clipped_logit(p, eps)
    if separated(x, o):
        raise RecalibrationError("the forecasts separate the outcomes perfectly (no finite MLE)")
    exog = np.column_stack([np.ones(n), x])
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            params, cov, llf, converged = _logit_newton(exog, o)
    except np.linalg.LinAlgError as exc:
        raise RecalibrationError(f"logistic fit failed: {exc}") from exc
    bse = np.sqrt(np.diag(cov))
    if not converged or not np.all(np.isfinite(bse)) or not np.all(np.isfinite(params)):
        raise RecalibrationError("logistic fit did not converge")
    q0 = np.clip(p, eps, 1.0 - eps)
    ll0 = float(bernoulli_loglik(q0, o))
    lr = max(2.0 * (llf - ll0), 0.0)
    zc = float(stats.norm.ppf(1.0 - alpha / 2.0))
    ci = np.column_stack([params - zc * bse, params + zc * bse])
    return RecalibrationResult(
        intercept=float(params[0]), slope=float(params[1]),
        intercept_se=float(bse[0]), slope_se=float(bse[1]),
        intercept_ci=(float(ci[0, 0]), float(ci[0, 1])), slope_ci=(float(ci[1, 0]), float(ci[1, 1])),
        llf=llf, llf_null=ll0, lr_stat=lr, pvalue=float(stats.chi2.sf(lr, 2)), n=n,
        n_clipped=int(np.sum((p < eps) | (p > 1.0 - eps))))


def logistic_recalibration_batch(p, o, eps: float = CLIP_EPS, maxiter: int = 50, tol: float = 1e-10):
    """Vectorised Newton-Raphson for the Cox recalibration over replications.

    ``p``, ``o`` have shape (R, n); returns (a, b, lr_stat, pvalue), each (R,), NaN
    where a replication is separated, has one class, or does not converge. Used by
    simulations (size/power); single fits go through :func:`logistic_recalibration`.
    """
    p, o = _as_arrays(p, o)
    p, o = np.atleast_2d(p), np.atleast_2d(o)
    x = clipped_logit(p, eps)
    beta = np.zeros((p.shape[0], 2))
    beta[:, 1] = 1.0  # start at the null (a, b) = (0, 1)
    converged = np.zeros(p.shape[0], dtype=bool)
    for _ in range(maxiter):
        eta = beta[:, :1] + beta[:, 1:] * x
        mu = expit(eta)
        w = mu * (1.0 - mu)
        r = o - mu
        g0, g1 = r.sum(1), (r * x).sum(1)
        h00, h01, h11 = w.sum(1), (w * x).sum(1), (w * x * x).sum(1)
        det = h00 * h11 - h01**2
        with np.errstate(invalid="ignore", divide="ignore"):
            d0 = (h11 * g0 - h01 * g1) / det
            d1 = (h00 * g1 - h01 * g0) / det
        step = np.column_stack([d0, d1])
        step[~np.isfinite(step)] = 0.0
        beta += step
        converged = np.max(np.abs(step), axis=1) < tol
        if np.all(converged | ~np.isfinite(beta).all(1)):
            break
    eta = beta[:, :1] + beta[:, 1:] * x
    mu = np.clip(expit(eta), 1e-300, 1 - 1e-16)
    llf = bernoulli_loglik(mu, o, axis=1)
    ll0 = bernoulli_loglik(np.clip(p, eps, 1 - eps), o, axis=1)
    lr = np.maximum(2.0 * (llf - ll0), 0.0)
    # separation / single class: no finite MLE
    x1max = np.where(o == 1, x, -np.inf).max(1)
    x1min = np.where(o == 1, x, np.inf).min(1)
    x0max = np.where(o == 0, x, -np.inf).max(1)
    x0min = np.where(o == 0, x, np.inf).min(1)
    bad = (x0max <= x1min) | (x1max <= x0min) | ~converged
    a, b = beta[:, 0].copy(), beta[:, 1].copy()
    for arr in (a, b, lr):
        arr[bad] = np.nan
    return a, b, lr, stats.chi2.sf(lr, 2)


# ------------------------------------------------- multiple inequality test
@dataclass(frozen=True)
class InequalityTest:
    """Test of H0: d_j ≤ 0 for all j (no violation), max-t with a bootstrap."""

    diffs: np.ndarray  # d_j
    se: np.ndarray  # standard errors of d_j (bootstrap, or from the influence: the reference)
    t: np.ndarray  # d_j / se_j
    stat: float  # max_j t_j
    pvalue: float
    reference: str = "simulated"  # "simulated" (bootstrap) or "asymptotic" (Gaussian, estimated covariance)


def max_inequality_test(contrib: Callable[[np.ndarray], np.ndarray], n: int, n_boot: int,
                        seed: int, order: np.ndarray | None = None,
                        chunk_cells: int = 4_000_000) -> InequalityTest:
    """Bootstrap over units (series) for H0: d_j ≤ 0 ∀ j.

    ``contrib(W)`` maps a (B, n) matrix of bootstrap weights (multinomial counts
    divided by n; row of 1/n = the sample) to the (B, J) statistics d. The test
    statistic is T = max_j d_j/se_j; the null distribution is that of
    max_j (d*_j − d_j + μ̂_j)/se_j with Hansen's (2005, eq. 9) consistent recentring
    μ̂_j = d_j 1{t_j < −√(2 log log n)} (clearly slack inequalities are not recentred
    to the boundary, which keeps the test from being needlessly conservative).
    ``order`` (a permutation of the n units, e.g. by data key) sets which unit gets
    which column of the multinomial draws, so that the result does not depend on the
    units' order; the bootstrap runs in chunks of ``chunk_cells`` weights.
    """
    if n_boot < 2:  # a standard error needs two draws
        raise InsufficientDataError(f"{n_boot} bootstrap draw(s): at least 2 are needed (raise --n-sim)")
    rng = np.random.default_rng(seed)
    w_hat = np.full((1, n), 1.0 / n)
    d = np.asarray(contrib(w_hat))[0]
    parts = []
    step = max(1, chunk_cells // max(n, 1))
    buf = np.empty((min(step, n_boot), n))  # the weights, reused by every chunk
    inv = None
    if order is not None:  # unit order[j] gets column j: unit i gets column inv[i]
        inv = np.empty(n, dtype=np.intp)
        inv[np.asarray(order)] = np.arange(n)
    for b0 in range(0, n_boot, step):
        b = min(step, n_boot - b0)
        # multinomial(n, 1/n) counts = how often each unit is drawn in n uniform draws
        # (the same law as rng.multinomial). uint32 draws are the same integers as
        # int64 ones (numpy's bounded generator takes 32 bits whenever n < 2^32) at
        # half the memory. Column j of the draws' counts belongs to unit order[j]:
        # each row's counts are gathered through the inverse permutation instead of
        # scattering the whole (B, n) block into its columns (the chunk's dearest
        # step before); one bincount per row keeps its n bins in cache.
        draws = rng.integers(n, size=(b, n), dtype=np.uint32)
        counts = buf[:b]
        for r in range(b):
            c = np.bincount(draws[r], minlength=n)
            np.divide(c if inv is None else c.take(inv), n, out=counts[r])
        parts.append(np.asarray(contrib(counts)))
    dstar = np.concatenate(parts, axis=0)
    # one bootstrap draw (--n-sim 1) has no spread: se = NaN, no warning
    se = dstar.std(axis=0, ddof=1) if dstar.shape[0] > 1 else np.full(dstar.shape[1], np.nan)
    scale = np.max(np.abs(dstar), axis=0)
    ok = se > 1e-10 * np.maximum(scale, 1e-300)  # contrasts that are 0 up to rounding carry no information
    t = np.full_like(d, np.nan)
    t[ok] = d[ok] / se[ok]
    if not np.any(ok):
        return InequalityTest(diffs=d, se=se, t=t, stat=float("nan"), pvalue=float("nan"))
    mu = _hansen_recentring(d, t, n)
    tstar = ((dstar[:, ok] - d[ok] + mu[ok]) / se[ok]).max(axis=1)
    stat = float(np.nanmax(t[ok]))
    pvalue = float((1 + np.sum(tstar >= stat)) / (n_boot + 1))
    return InequalityTest(diffs=d, se=se, t=t, stat=stat, pvalue=pvalue)


def _hansen_recentring(d: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    """Hansen's (2005, eq. 9) μ̂_j = d_j 1{t_j < −√(2 log log n)}: clearly slack
    inequalities keep their own mean under the null, the others sit on the boundary."""
    thresh = -np.sqrt(2.0 * np.log(np.log(max(n, 3))))
    return np.where(t < thresh, d, 0.0)


def inequality_influence(terms: np.ndarray, d: np.ndarray, unit: np.ndarray | None = None) -> np.ndarray:
    """(Q, J) influence of the Q units on J contrasts that are means over n contracts:
    unit u's sum of its contracts' deviations Σ_{i∈u} (c_ij − d_j), ``terms`` (n, J)
    holding each contract's c_ij (their mean is d). The contrasts' sampling covariance
    is Q/(Q − 1)·gᵀg/n² (:func:`max_inequality_asymptotic`); ``unit`` (n,) codes
    0..Q−1, None: every contract its own unit."""
    dev = np.asarray(terms, float) - d
    if unit is None:
        return dev
    Q = int(unit.max()) + 1
    return np.column_stack([np.bincount(unit, weights=dev[:, j], minlength=Q) for j in range(dev.shape[1])])


def max_inequality_asymptotic(d: np.ndarray, g: np.ndarray, n: int, scale: np.ndarray, n_draws: int,
                              seed: int) -> InequalityTest:
    """:func:`max_inequality_test` with the Gaussian reference of its statistic: d̂ is
    a vector of means over Q independent units, so √Q(d̂ − d) → N(0, Σ) and the
    bootstrap's law of max_j (d*_j − d_j + μ̂_j)/se_j is, to first order, that of
    max_j (Z_j + μ̂_j/se_j) with Z ~ N(0, R), R the correlation of Σ (Hansen 2005,
    Thm 1, whose bootstrap estimates this law). Σ/Q = Q/(Q − 1)·gᵀg/n² from the units'
    influence ``g`` (:func:`inequality_influence`); the maximum of the J-variate normal
    is simulated with ``n_draws`` draws (J values each, not n). ``scale`` (J,): the
    largest |c_ij| of each contrast's terms. For many effectively independent units
    only (the caller decides: ``stats.asymptotic.choose_reference``)."""
    d = np.asarray(d, float)
    g = np.asarray(g, float)
    Q = g.shape[0]
    if Q < 2:
        raise InsufficientDataError("the asymptotic reference needs at least 2 units")
    cov = (g.T @ g) * (Q / (Q - 1)) / float(n) ** 2
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    # contrasts that are 0 up to rounding in every contract carry no information (the
    # bootstrap's guard, relative to the size of the contrast's own terms)
    ok = se > 1e-10 * np.maximum(np.asarray(scale, float), 1e-300)
    t = np.full_like(d, np.nan)
    t[ok] = d[ok] / se[ok]
    if not np.any(ok):
        return InequalityTest(diffs=d, se=se, t=t, stat=float("nan"), pvalue=float("nan"), reference="asymptotic")
    corr = cov[np.ix_(ok, ok)] / np.outer(se[ok], se[ok])
    w, v = np.linalg.eigh(corr)  # R = L Lᵀ, L = V √Λ (R may be singular: Λ ≥ 0 clipped)
    root = v * np.sqrt(np.maximum(w, 0.0))
    mu = _hansen_recentring(d, t, Q)
    z = np.random.default_rng(seed).standard_normal((n_draws, int(ok.sum()))) @ root.T
    tstar = (z + mu[ok] / se[ok]).max(axis=1)
    stat = float(np.nanmax(t[ok]))
    pvalue = float((1 + np.sum(tstar >= stat)) / (n_draws + 1))
    return InequalityTest(diffs=d, se=se, t=t, stat=stat, pvalue=pvalue, reference="asymptotic")


#: a question whose last forecasts sum to 1 within this is drawn as Categorical(p)
EXCLUSIVE_TOL = 0.05


def grouped_variance(p: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit null variance of Σ_s a_s o_s (a = 1 − 2p) and whether the unit is
    drawn as one categorical outcome. Exclusive units (Σp ≈ 1, 2+ contracts):
    Σ a²p − (Σ ap)² (o ~ Categorical(p)); a unit of one: a²p(1 − p); other units
    (contracts of one question that do not sum to 1): the bound (Σ_s |a_s|σ_s)²,
    σ_s² = p_s(1 − p_s), valid for any joint law with these marginals."""
    a = 1.0 - 2.0 * p
    n = np.bincount(u)
    tot = np.bincount(u, weights=p)
    excl = (n >= 2) & (np.abs(tot - 1.0) <= EXCLUSIVE_TOL)
    cat = np.bincount(u, weights=a**2 * p) - np.bincount(u, weights=a * p) ** 2
    bound = np.bincount(u, weights=np.abs(a) * np.sqrt(p * (1.0 - p))) ** 2
    var = np.where(excl, np.maximum(cat, 0.0), bound)  # n == 1: bound = a²p(1 − p)
    return var, excl


def spiegelhalter_grouped(p, o, unit: np.ndarray) -> tuple[float, float]:
    """Spiegelhalter's Z with the outcomes of one question (``unit``) drawn jointly:
    within a question exactly one contract resolves YES, o ~ Categorical(p), so
    Var(Σ_s a_s o_s) = Σ_s a_s² p_s − (Σ_s a_s p_s)² with a = 1 − 2p; a unit of one
    series gives the Bernoulli variance a²p(1 − p) (``grouped_variance``). Returns
    (Z, two-sided N(0,1) p)."""
    p, o = _as_arrays(p, o)
    _, u = np.unique(np.asarray(unit), return_inverse=True)
    u = u.ravel()
    a = 1.0 - 2.0 * p
    num = float(np.sum(a * (o - p)))
    var = float(np.sum(grouped_variance(p, u)[0]))
    if var <= 0:
        return float("nan"), float("nan")
    z = num / np.sqrt(var)
    return float(z), float(2.0 * stats.norm.sf(abs(z)))


def spiegelhalter_grouped_mc_pvalue(p, o, unit: np.ndarray, n_sim: int, rng: np.random.Generator) -> float:
    """Two-sided p of :func:`spiegelhalter_grouped`'s Z against outcomes drawn under
    H0: one uniform per question and draw picks the contract whose cumulative
    probability bracket holds it (Categorical(p); Bernoulli(p) for a unit of one).
    Contracts of a non-exclusive question (Σp off 1) are drawn comonotone (one
    uniform, o_s = 1{U < p_s}), the dependence that attains the variance bound."""
    p, o = _as_arrays(p, o)
    z, _ = spiegelhalter_grouped(p, o, unit)
    if not np.isfinite(z):
        return float("nan")
    _, u = np.unique(np.asarray(unit), return_inverse=True)
    u = u.ravel()
    order = np.lexsort((np.arange(len(p)), u))
    ps, us = p[order], u[order]
    cum = np.cumsum(ps)
    start = np.r_[0, np.flatnonzero(us[1:] != us[:-1]) + 1]
    base = np.repeat(cum[start] - ps[start], np.diff(np.r_[start, len(ps)]))
    hi = cum - base
    lo = hi - ps
    var_u, excl = grouped_variance(ps, us)
    lo = np.where(excl[us], lo, 0.0)  # comonotone draws for non-exclusive units
    hi = np.where(excl[us], hi, ps)
    a = 1.0 - 2.0 * ps
    var = float(np.sum(var_u))
    n_u = int(us.max()) + 1
    hits = 0
    chunk = max(1, 2_000_000 // max(len(ps), 1))
    for b0 in range(0, n_sim, chunk):  # chunks of draws, vectorised within
        b = min(chunk, n_sim - b0)
        draw = rng.uniform(size=(b, n_u))[:, us]
        os_ = ((draw >= lo) & (draw < hi)).astype(float)
        zs = ((os_ - ps) * a).sum(axis=1) / np.sqrt(var)
        hits += int(np.sum(np.abs(zs) >= abs(z) * (1 - 1e-12)))
    return float((1 + hits) / (n_sim + 1))


# ------------------------------------------- questions of several outcomes
# The contracts of one question (one per candidate of a race) are one event: exactly
# one of them resolves YES. Every contract's forecast is still a binary forecast of
# its own outcome, and a calibrated forecaster's is calibrated one-vs-rest
# (P(o_s = 1 | p) = p_s for every s: the classwise calibration of multi-class
# forecasts, Zadrozny & Elkan 2002, KDD; Kull et al. 2019, NeurIPS, "Dirichlet
# calibration"; Van Hoorde et al. 2014, *Statist. Med.* 33(15), 2585-2596, who
# assess multinomial risk models by per-outcome calibration intercepts and slopes).
# So the binary statistics keep their estimating equations, one row per contract;
# only their variance must treat the question as the independent unit: exactly
# under H0, where the outcome vector of a question is Categorical(p), or
# cluster-robustly (Liang & Zeger 1986, *Biometrika* 73(1), 13-22) for estimates.

def unit_codes(unit) -> np.ndarray:
    """(n,) int codes 0..Q−1 of the unit labels (questions)."""
    return np.unique(np.asarray(unit), return_inverse=True)[1].ravel()


def exclusive_units(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(Q,) bool: a unit of 2+ contracts whose forecasts sum to 1 within
    ``EXCLUSIVE_TOL`` (drawn as one Categorical(p) outcome under H0)."""
    n = np.bincount(u)
    tot = np.bincount(u, weights=p)
    return (n >= 2) & (np.abs(tot - 1.0) <= EXCLUSIVE_TOL)


def null_probabilities(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The outcome probabilities under H0: p, normalised to sum to 1 within an
    exclusive unit (a market's overround of a few cents removed: p_s / Σ_r p_r)."""
    excl = exclusive_units(p, u)
    tot = np.bincount(u, weights=p)
    return np.where(excl[u], p / np.where(excl, tot, 1.0)[u], p)


def grouped_score_covariance(p: np.ndarray, C: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Null covariance of Σ_i (o_i − π_i) C_i (C: (n, k) rows, π =
    :func:`null_probabilities`) with the outcomes of one unit drawn jointly.
    Exclusive units (o ~ Categorical(π)): Cov(o) = diag(π) − ππ', so the unit
    contributes Σ_s π_s C_s C_s' − (Σ_s π_s C_s)(Σ_s π_s C_s)'. A unit of one:
    p(1 − p) CC' (the same formula). Other units (contracts of one question whose
    forecasts do not sum to 1): the bound n_q Σ_s p_s(1 − p_s) C_s C_s', valid for
    any joint law with these marginals (Cauchy–Schwarz: Var(Σ_s y_s) ≤ n Σ_s Var y_s)."""
    C = np.asarray(C, float)
    k = C.shape[1]
    Q = int(u.max()) + 1
    excl = exclusive_units(np.asarray(p, float), u)
    p = null_probabilities(np.asarray(p, float), u)
    n_q = np.bincount(u, minlength=Q).astype(float)
    out = np.zeros((k, k))
    m = np.column_stack([np.bincount(u, weights=p * C[:, j], minlength=Q) for j in range(k)])  # (Q, k)
    for i in range(k):
        for j in range(i, k):
            s1 = np.bincount(u, weights=p * C[:, i] * C[:, j], minlength=Q)
            cat = s1 - m[:, i] * m[:, j]
            bound = n_q * np.bincount(u, weights=p * (1 - p) * C[:, i] * C[:, j], minlength=Q)
            out[i, j] = out[j, i] = float(np.sum(np.where(excl, cat, bound)))
    return out


@dataclass(frozen=True)
class GroupedRecalibration:
    """CA203 when contracts of one question share an outcome: the one-vs-rest Cox
    fit's estimates with cluster-robust (by question) standard errors, and the score
    test of (a, b) = (0, 1) with the exact null covariance of the score."""

    intercept_se: float
    slope_se: float
    intercept_ci: tuple[float, float]
    slope_ci: tuple[float, float]
    score_stat: float  # U' V⁺ U ~ χ²_df under H0
    df: int  # rank of V: 2, or 1 when every unit is a complete question (the intercept's score is 0)
    pvalue: float
    n_units: int


def recalibration_grouped(p, o, unit, intercept: float, slope: float, alpha: float = 0.05,
                          eps: float = CLIP_EPS) -> GroupedRecalibration:
    """Inference for the Cox recalibration logit P(o_s = 1) = a + b·logit(p_s) fitted
    one contract per row (:func:`logistic_recalibration`; its MLE is the GEE estimate
    with an independence working correlation, Liang & Zeger 1986), with the contracts
    of one question (``unit``) dependent.

    * Test of H0 (a, b) = (0, 1): the score U = Σ_i (o_i − π_i)(1, x_i), x = clipped
      logit(p), π = p (normalised within an exclusive question,
      :func:`null_probabilities`) — the logistic score at the null up to the clip,
      centred exactly: E[o_i] = π_i under H0 — with T = U' V⁺ U against χ²_r, V its
      exact null covariance (:func:`grouped_score_covariance`), V⁺ its
      Moore–Penrose inverse and r its rank (the generalised score test, Boos 1992,
      *Am. Statist.* 46(4), 327-333). In a complete question Σ_s o_s = Σ_s π_s = 1, so
      the intercept's score is identically 0: when every unit is such a question
      r = 1 and T tests the slope alone (outcomes unlabelled across questions have no
      intercept). With one contract per unit, V is the Fisher information at the null
      and T is Rao's score statistic (r = 2).
    * Standard errors of (â, b̂): the CR1 sandwich H⁻¹ (Σ_q g_q g_q') H⁻¹ · c with
      g_q the unit's score at the MLE, H the information, and Stata's/statsmodels'
      factor c = Q/(Q − 1) · (n − 1)/(n − 2) (Cameron & Miller 2015, *J. Human
      Resources* 50(2), §VI)."""
    p, o = _as_arrays(p, o)
    u = unit_codes(unit)
    Q = int(u.max()) + 1
    n = p.size
    x = clipped_logit(p, eps)
    C = np.column_stack([np.ones(n), x])
    U = C.T @ (o - null_probabilities(p, u))
    V = grouped_score_covariance(p, C, u)
    ev, evec = np.linalg.eigh(V)
    keep = ev > 1e-10 * max(float(ev.max()), 1e-300)
    df = int(keep.sum())
    z = evec[:, keep].T @ U
    stat = float(np.sum(z**2 / ev[keep])) if df else float("nan")
    mu = expit(intercept + slope * x)
    H = C.T @ (C * (mu * (1 - mu))[:, None])
    g = np.column_stack([np.bincount(u, weights=(o - mu) * C[:, j], minlength=Q) for j in range(2)])
    Hi = np.linalg.inv(H)
    c = Q / (Q - 1) * (n - 1) / (n - 2) if Q > 1 and n > 2 else float("nan")
    cov = Hi @ (g.T @ g) @ Hi * c
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    zc = float(stats.norm.ppf(1.0 - alpha / 2.0))
    return GroupedRecalibration(
        intercept_se=float(se[0]), slope_se=float(se[1]),
        intercept_ci=(intercept - zc * float(se[0]), intercept + zc * float(se[0])),
        slope_ci=(slope - zc * float(se[1]), slope + zc * float(se[1])),
        score_stat=stat, df=df, pvalue=float(stats.chi2.sf(stat, df)) if np.isfinite(stat) else float("nan"),
        n_units=Q)


def cluster_mean_se(v: np.ndarray, unit) -> float:
    """Cluster-robust standard error of the mean of v over units (CR1 for OLS on a
    constant: √(Q/(Q − 1) Σ_q (Σ_{i∈q} (v_i − v̄))²) / n; = s/√n with one per unit)."""
    v = np.asarray(v, float)
    u = unit_codes(unit)
    Q = int(u.max()) + 1
    g = np.bincount(u, weights=v - v.mean(), minlength=Q)
    return float(np.sqrt(Q / (Q - 1) * np.sum(g**2)) / v.size) if Q > 1 else float("nan")


def unit_weights(u: np.ndarray, W_units: np.ndarray) -> np.ndarray:
    """(B, Q) bootstrap weights over units -> (B, n) weights over their contracts,
    each row summing to 1: contract i gets W_q / Σ_q' W_q' n_q' (a cluster bootstrap
    of a mean over contracts; the row 1/Q gives the sample mean's 1/n)."""
    n_q = np.bincount(u).astype(float)
    norm_ = W_units @ n_q
    return W_units[:, u] / norm_[:, None]

"""The few distribution functions the checks need, from ``scipy.special``.

``import scipy.stats`` costs about as much CPU as the rest of a small run (it loads
every distribution class); the checks only need tail areas and quantiles of the
normal, t, χ² and binomial laws, which ``scipy.special`` computes with the same
Cephes routines that back ``scipy.stats``. This module mirrors the used part of the
``scipy.stats`` API (``norm.sf``, ``t.ppf``, ``chi2.sf``, ``binom.sf``, …) so a module
can ``from forecheck.stats import dists as stats`` unchanged; ``spearmanr`` is
written out; anything else is imported from ``scipy.stats`` on first use.
tests/test_speed_paths.py pins every function against ``scipy.stats``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

_SQRT2PI = np.sqrt(2.0 * np.pi)


def _ret(v: Any) -> Any:
    return v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v


class norm:
    @staticmethod
    def cdf(x):
        return _ret(special.ndtr(np.asarray(x, float)))

    @staticmethod
    def sf(x):
        return _ret(special.ndtr(-np.asarray(x, float)))

    @staticmethod
    def pdf(x):
        x = np.asarray(x, float)
        return _ret(np.exp(-0.5 * x * x) / _SQRT2PI)

    @staticmethod
    def ppf(q):
        return _ret(special.ndtri(np.asarray(q, float)))

    @staticmethod
    def isf(q):
        return _ret(-special.ndtri(np.asarray(q, float)))

    @staticmethod
    def logcdf(x):
        return _ret(special.log_ndtr(np.asarray(x, float)))

    @staticmethod
    def logsf(x):
        return _ret(special.log_ndtr(-np.asarray(x, float)))


class t:
    @staticmethod
    def sf(x, df):
        return _ret(special.stdtr(np.asarray(df, float), -np.asarray(x, float)))

    @staticmethod
    def cdf(x, df):
        return _ret(special.stdtr(np.asarray(df, float), np.asarray(x, float)))

    @staticmethod
    def ppf(q, df):
        return _ret(special.stdtrit(np.asarray(df, float), np.asarray(q, float)))


class chi2:
    @staticmethod
    def sf(x, df):
        x = np.asarray(x, float)
        with np.errstate(invalid="ignore"):
            v = special.chdtrc(np.asarray(df, float), np.where(x < 0, 0.0, x))
        return _ret(np.where(x < 0, 1.0, v))


class binom:
    @staticmethod
    def sf(k, n, p):
        k = np.floor(np.asarray(k, float))
        n = np.asarray(n).astype(np.int64)
        kk = np.clip(k, 0, n).astype(np.int64)
        with np.errstate(invalid="ignore"):
            v = special.bdtrc(kk, n, np.asarray(p, float))
        return _ret(np.where(k < 0, 1.0, np.where(k >= n, 0.0, v)))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (``scipy.stats.rankdata``)."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    grp = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    counts = np.diff(np.r_[first, len(x)])
    avg = first + (counts + 1) / 2.0  # average of 1-based ranks first+1 .. first+count
    ranks = np.empty(len(x))
    ranks[order] = avg[grp]
    return ranks


class SpearmanResult:
    def __init__(self, statistic: float, pvalue: float) -> None:
        self.statistic = self.correlation = statistic
        self.pvalue = pvalue


def spearmanr(x, y) -> SpearmanResult:
    """Spearman's ρ of two 1-d samples (Pearson correlation of average ranks) with
    the two-sided t-approximation p-value, as ``scipy.stats.spearmanr``."""
    rx, ry = _average_ranks(x), _average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
    rho = float(np.sum(rx * ry) / den) if den > 0 else float("nan")
    n = len(rx)
    if not np.isfinite(rho) or n < 3:
        return SpearmanResult(rho, float("nan"))
    if abs(rho) >= 1.0:  # perfect rank agreement: scipy gives p = 0
        return SpearmanResult(rho, 0.0)
    tt = rho * np.sqrt((n - 2) / ((1.0 - rho) * (1.0 + rho)))
    return SpearmanResult(rho, float(2 * t.sf(abs(tt), n - 2)) if np.isfinite(tt) else 0.0)


def __getattr__(name: str) -> Any:  # anything else: the real scipy.stats (imported lazily)
    if name.startswith("__"):  # import machinery probing (__path__, __spec__ …)
        raise AttributeError(name)
    import scipy.stats

    return getattr(scipy.stats, name)

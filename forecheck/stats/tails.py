"""Tail index by the Hill estimator (WN303).

Hill (1975), "A simple general approach to inference about the tail of a
distribution", *Ann. Stat.* 3(5), 1163–1174: with X_(1) ≤ … ≤ X_(n) the order
statistics of |z|, ξ̂ = (1/k)Σ_{i=1}^{k} log X_(n−i+1) − log X_(n−k), α̂ = 1/ξ̂, and
√k(ξ̂ − ξ) → N(0, ξ²). Default k = ⌊√n⌋ (as in arch's documentation of the Hill
plot; docs/checks.md).

A Gaussian has ξ = 0 (all moments exist) but Hill's estimator is biased upward for
light tails at finite k, so the reference is the Hill value of the expected Gaussian
order statistics at the same n and k (|Z| quantiles at 1 − (i − ½)/n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from forecheck.stats import dists as stats


@dataclass(frozen=True)
class HillResult:
    xi: float
    se: float
    ci: tuple[float, float]
    alpha: float
    alpha_ci: tuple[float, float]
    k: int
    n: int
    threshold: float


def hill(x: np.ndarray, k: int | None = None, level: float = 0.95) -> HillResult:
    """Hill estimate of the tail index of |x| (zeros and non-finite values dropped)."""
    a = np.abs(np.asarray(x, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    n = len(a)
    if k is None:
        k = int(np.floor(np.sqrt(n)))
    if n < 10 or k < 2 or k >= n:
        raise ValueError(f"Hill estimator needs n >= 10 non-zero values and 2 <= k < n (n={n}, k={k})")
    # only the top k + 1 order statistics are used: partition them off and sort those
    # (the same values in the same ascending order as a full sort, so the same mean)
    a = np.sort(np.partition(a, n - k - 1)[n - k - 1:])
    top = a[1:]
    thr = a[0]
    xi = float(np.mean(np.log(top)) - np.log(thr))
    se = xi / np.sqrt(k)
    q = stats.norm.ppf(0.5 + level / 2)
    lo, hi = xi - q * se, xi + q * se
    alpha_ci = (1 / hi if hi > 0 else float("inf"), 1 / lo if lo > 0 else float("inf"))
    return HillResult(xi=xi, se=float(se), ci=(lo, hi), alpha=1 / xi if xi > 0 else float("inf"),
                      alpha_ci=alpha_ci, k=k, n=n, threshold=float(thr))


def gaussian_reference_xi(n: int, k: int) -> float:
    """Hill's ξ̂ evaluated at the expected order statistics of n draws of |Z|."""
    i = np.arange(1, k + 2)  # X_(n−i+1), i = 1..k+1
    q = stats.norm.isf((i - 0.5) / (2 * n))  # |Z| quantile at 1 − (i − ½)/n
    return float(np.mean(np.log(q[:k])) - np.log(q[k]))

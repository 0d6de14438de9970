"""Comparing two forecasters on the same questions (``--group-by``).

A paired comparison of last-forecast Brier scores on the questions both groups
forecast: d_i = (o_i − p_{a,i})² − (o_i − p_{b,i})², the Diebold–Mariano (1995,
*JBES* 13(3)) statistic t = d̄ / (s_d/√n) with a normal reference. It treats the
questions as independent; callers withhold the p-value when the questions amount
to too few effectively independent draws (MG106), as every pooled test does.

Contracts of one question (the candidates of a race, a YES and a NO side) are one
draw, not several: with ``unit`` the mean stays the mean over contracts and its
standard error is the cluster-robust one over questions (Liang & Zeger 1986;
the CR1 sandwich of a regression on a constant, Cameron & Miller 2015, *J. Human
Resources* 50(2), eq. 11), se² = Q/(Q − 1) · Σ_q (Σ_{i∈q} (d_i − d̄))² / N². With
one contract per question it is s_d²/N, the unclustered formula; for a YES/NO pair
listed twice (identical d) it equals the formula on one contract per question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class PairedBrier:
    n: int  # questions both forecast and resolved (contracts of one question count once)
    brier_a: float
    brier_b: float
    mean_difference: float  # Brier a − Brier b (negative: a is better)
    se: float
    statistic: float | None
    pvalue: float | None


def paired_brier(p_a: np.ndarray, p_b: np.ndarray, outcome: np.ndarray,
                 unit: np.ndarray | None = None) -> PairedBrier:
    """Diebold–Mariano test of equal expected Brier score on matched contracts;
    ``unit`` (optional, one label per contract) groups the contracts of one question
    (module docstring: the standard error is clustered by question, n counts questions)."""
    p_a, p_b, o = (np.asarray(x, dtype=float) for x in (p_a, p_b, outcome))
    ok = np.isfinite(p_a) & np.isfinite(p_b) & np.isfinite(o)
    p_a, p_b, o = p_a[ok], p_b[ok], o[ok]
    n = int(o.size)
    if n == 0:
        return PairedBrier(0, float("nan"), float("nan"), float("nan"), float("nan"), None, None)
    d = (o - p_a) ** 2 - (o - p_b) ** 2
    mean = float(d.mean())
    u = None
    if unit is not None:
        u = np.unique(np.asarray(unit)[ok], return_inverse=True)[1].ravel()
        if u.max() + 1 == n:  # one contract per question: the unclustered formula below
            u = None
    if u is None:
        se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    else:
        q = int(u.max()) + 1
        g = np.bincount(u, weights=d - mean, minlength=q)
        se = float(np.sqrt(q / (q - 1) * np.sum(g**2)) / n) if q > 1 else float("nan")
        n = q
    if not (n >= 2 and np.isfinite(se) and se > 0):
        return PairedBrier(n, float(np.mean((o - p_a) ** 2)), float(np.mean((o - p_b) ** 2)), mean, se, None, None)
    t = mean / se
    return PairedBrier(n, float(np.mean((o - p_a) ** 2)), float(np.mean((o - p_b) ** 2)), mean, se, float(t),
                       float(2 * norm.sf(abs(t))))

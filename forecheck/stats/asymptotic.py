"""When a pooled statistic can use its normal reference instead of a simulated null.

The pooled tests of MG101, MG103 and MG104 are self-normalised sums of per-series
(per-cluster) martingale contributions: t = Σ_g s_g / √(deff · Σ_g v_g). By the
martingale central limit theorem (Hall & Heyde 1980, Thm 3.2) t → N(0, 1) when no
single contribution carries a non-vanishing share of the variance (the Lindeberg
condition). What breaks the normal reference on small panels is concentration:
from extreme starts the variance of excess movement rests on the few paths that
travel to the unlikely outcome (A-R 2021; docs/validation.md), and the simulated
null is there to capture that skew.

The number of contributions that effectively carry the variance is the inverse
Herfindahl index of the variance shares (Kish 1965's effective sample size of
weights),

    N_v = (Σ_g v_g)² / Σ_g v_g²,

divided by the design effect of same-time dependence (MG106). When N_v/deff and the
dependence-based effective number of series are both at least ``ANALYTIC_MIN_NEFF``,
the skewness of the sum is at most γ/√1000 ≈ 0.03·γ for per-series skewness γ, its
first-order effect on a two-sided p-value cancels between the tails, and the normal
(or t with G − 1 degrees of freedom) reference is used; otherwise the check keeps its
simulated null. The threshold was fixed from this argument before measuring; the
size measured at the switch-over point is in docs/validation.md
(``python benchmarks/asymptotic_size.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANALYTIC_MIN_NEFF = 1000.0


def variance_neff(v: np.ndarray) -> float:
    """(Σv)²/Σv² of non-negative variance contributions (0 when all are 0)."""
    v = np.asarray(v, dtype=float)
    q = float(np.sum(v * v))
    return float(np.sum(v)) ** 2 / q if q > 0 else 0.0


@dataclass(frozen=True)
class Reference:
    """Which null a pooled test uses: ``analytic`` true → normal/t reference."""

    analytic: bool
    n_eff_variance: float  # N_v / deff
    n_eff_dependence: float  # MG106-style effective number of series
    threshold: float

    @property
    def method(self) -> str:
        return "asymptotic" if self.analytic else "simulated"

    def as_dict(self) -> dict:
        return {"reference": self.method, "n_eff_variance": self.n_eff_variance,
                "n_eff_dependence": self.n_eff_dependence, "analytic_min_neff": self.threshold}


def choose_reference(v: np.ndarray, deff: float, n_eff_dependence: float,
                     threshold: float | None = None) -> Reference:
    """Decide between the normal reference and the simulated null (module docstring).

    v : per-series or per-cluster variance contributions (e.g. Σ_t d_t² per series, or
    squared cluster scores); deff ≥ 1 the design effect already applied to the
    statistic; n_eff_dependence the effective number of independent series (MG106).
    """
    threshold = ANALYTIC_MIN_NEFF if threshold is None else threshold
    nv = variance_neff(v) / max(float(deff), 1.0)
    ne = float(n_eff_dependence)
    ok = bool(np.isfinite(nv) and nv >= threshold and ne >= threshold)
    return Reference(analytic=ok, n_eff_variance=float(nv), n_eff_dependence=ne, threshold=float(threshold))


def cluster_score_reference(score: np.ndarray, groups: np.ndarray, deff: float, n_eff_dependence: float,
                            threshold: float | None = None, *,
                            codes: tuple[np.ndarray, int] | None = None) -> Reference:
    """:func:`choose_reference` for a clustered regression: the variance contributions
    are the squared cluster sums of the slope's score (x − x̄)·û (CR1's meat).
    ``codes`` : ``clustered._codes(groups)`` when the caller has them."""
    from forecheck.stats.clustered import _codes

    g, _ = _codes(groups) if codes is None else codes
    s_g = np.bincount(g.ravel(), weights=np.asarray(score, dtype=float))
    return choose_reference(s_g**2, deff, n_eff_dependence, threshold)

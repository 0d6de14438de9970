"""The variance budget of Augenblick & Rabin (2021), per series, vectorised.

Definitions (A-R 2021, p. 9): uncertainty u(p) = p(1 − p); movement
m = Σ (p_{t+1} − p_t)²; uncertainty reduction r = u(p_0) − u(p_T); excess
movement X = m − r. For a resolved series the path is closed with the resolution
step to the outcome o, so m includes (o − p_last)² and r = u(p_0) (Cor. 1: a
resolving stream has E[m] = p_0(1 − p_0)). For an unresolved series m is the
in-flight movement and r = u(p_0) − u(p_last) (Prop. 1: E[M] = E[R]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecheck.panel import Panel


def uncertainty(p: np.ndarray) -> np.ndarray:
    """u(p) = p(1 − p) (A-R 2021, p. 9)."""
    return p * (1.0 - p)


@dataclass(frozen=True)
class Budget:
    """Per-series movement accounting, arrays of shape (S,)."""

    movement_inflight: np.ndarray
    movement_resolution: np.ndarray  # (o − p_last)², 0 where unresolved
    movement: np.ndarray  # in-flight + resolution
    uncertainty_reduction: np.ndarray
    excess: np.ndarray  # X = m − r
    ratio: np.ndarray  # m / r (NaN where r == 0)
    resolved: np.ndarray

    def select(self, mask: np.ndarray) -> "Budget":
        """The budget of a subset of series (per-series values are independent of
        the others, so this equals ``series_budget(panel.select_series(mask))``)."""
        return Budget(*(getattr(self, f)[mask] for f in (
            "movement_inflight", "movement_resolution", "movement", "uncertainty_reduction", "excess", "ratio",
            "resolved")))


def series_budget(panel: Panel) -> Budget:
    """Movement, uncertainty reduction and excess movement of every series."""
    m_in = panel.segment_sum(panel.dp**2, panel.dp_series)
    resolved = panel.resolved
    o = np.where(resolved, panel.outcome, 0.0)
    m_res = np.where(resolved, (o - panel.p_last) ** 2, 0.0)
    u0 = uncertainty(panel.p0)
    r = np.where(resolved, u0, u0 - uncertainty(panel.p_last))
    m = m_in + m_res
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(r > 0, m / r, np.nan)
    return Budget(movement_inflight=m_in, movement_resolution=m_res, movement=m,
                  uncertainty_reduction=r, excess=m - r, ratio=ratio, resolved=resolved)


def excess_by_orthogonality(panel: Panel) -> np.ndarray:
    """X per series via the pathwise identity X = Σ (1 − 2 p_{t−1}) Δp_t
    (A-R 2021, p. 10, fn 21), including the resolution step where resolved.
    Equal to ``series_budget(panel).excess`` to floating-point precision."""
    x = panel.segment_sum((1.0 - 2.0 * panel.dp_prev_p) * panel.dp, panel.dp_series)
    resolved = panel.resolved
    o = np.where(resolved, panel.outcome, panel.p_last)
    return x + (1.0 - 2.0 * panel.p_last) * (o - panel.p_last)

"""Coordinates in which forecast increments are compared with a Wiener process.

Raw probability increments are heteroskedastic by construction: an efficient binary
price on a diffusive signal has dp = φ(Φ⁻¹(p)) dW/√τ (Archak & Ipeirotis 2009,
"Modeling volatility in prediction markets", ACM EC; docs/checks.md), so their
volatility vanishes at 0/1 and explodes near ½ as τ → 0. The coordinates here:

- ``raw``: Δp_t.
- ``logit``: Δlogit(p_t)/√Δt (variance-stabilising for a local rate [p(1−p)]²).
- ``probit_clock``: z_t = Δp_t / (φ(Φ⁻¹(p_{t−1}))·√(Δt/τ_{t−1})) (docs/checks.md).
- ``latent``: ΔS_t/√Δt with S_t = Φ⁻¹(p_t)·√τ_t, τ a fraction of the series'
  horizon (docs/checks.md): for the Gaussian-signal Bayesian forecaster S_t is exactly
  the accumulated signal, so its increments are exactly i.i.d. Gaussian. This is
  forecheck's "standardised" coordinate for the WN tests.

Each coordinate is divided by a per-series scale (root mean square, mean zero
imposed: a martingale has no drift) so that series with different signal volatility
can be pooled. Increments whose endpoints sit at exactly 0 or 1 (absorbed paths) or
with Δt ≤ 0 / τ ≤ 0 have no standardised value and are dropped from that
coordinate; the remaining increments of a series stay in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from forecheck.stats import dists as stats

from forecheck.panel import Panel
from forecheck.stats.segments import seg_count, seg_sum

COORDINATES = ("raw", "logit", "probit_clock", "latent")
STANDARDISED = "latent"
MIN_INCREMENTS = 3


@dataclass(frozen=True)
class Coordinate:
    """One coordinate's increments, flat and segmented by (compact) series.

    ``x`` are the scaled values, ``unscaled`` before per-series scaling, ``seg`` the
    compact segment (0..n_seg−1) of each value, ``series`` the panel series number of
    each segment, ``row`` the panel row of each increment's end point."""

    name: str
    x: np.ndarray
    unscaled: np.ndarray
    seg: np.ndarray
    series: np.ndarray
    row: np.ndarray
    scale: np.ndarray

    @property
    def n_seg(self) -> int:
        return len(self.series)

    @cached_property
    def counts(self) -> np.ndarray:
        return seg_count(self.seg, self.n_seg)


@dataclass(frozen=True)
class Increments:
    """In-flight increments of the series with at least ``min_length`` forecasts."""

    panel: Panel
    row: np.ndarray  # panel row of p_t
    series: np.ndarray  # panel series number
    p_prev: np.ndarray
    p: np.ndarray
    dp: np.ndarray
    dt: np.ndarray
    tau_prev: np.ndarray  # time to resolution at t−1, fraction of the series' horizon
    tau: np.ndarray
    tau_prev_time: np.ndarray  # time to resolution at t−1 in the panel's time unit
    eligible: np.ndarray  # (S,) series used

    @classmethod
    def from_panel(cls, panel: Panel, min_length: int) -> "Increments":
        eligible = panel.lengths >= max(min_length, 2)
        keep = eligible[panel.dp_series]
        rows = panel.increment_rows[keep]
        series = panel.dp_series[keep]
        ttr = panel.time_to_resolution
        horizon = ttr[panel.first_row]  # τ at each series' first forecast
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(horizon > 0, horizon, np.nan)[series]
            return cls(panel=panel, row=rows, series=series, p_prev=panel.p[rows - 1], p=panel.p[rows],
                       dp=panel.dp[keep], dt=panel.dt[keep], tau_prev=ttr[rows - 1] / h, tau=ttr[rows] / h,
                       tau_prev_time=ttr[rows - 1], eligible=eligible)

    @property
    def n(self) -> int:
        return len(self.dp)

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled values of a coordinate and the mask where they exist."""
        pp, p, dt = self.p_prev, self.p, self.dt
        inner_prev = (pp > 0) & (pp < 1)
        inner = inner_prev & (p > 0) & (p < 1)
        ok_dt = dt > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if name == "raw":
                return self.dp.copy(), np.ones(self.n, dtype=bool)
            if name == "logit":
                v = (special.logit(p) - special.logit(pp)) / np.sqrt(dt)
                return v, inner & ok_dt
            if name == "probit_clock":
                # docs/checks.md: z_t = Δp_t / (φ(Φ⁻¹(p_{t−1}))·√(Δt/τ_{t−1}))
                dens = stats.norm.pdf(special.ndtri(pp))
                v = self.dp / (dens * np.sqrt(dt / self.tau_prev))
                return v, inner_prev & ok_dt & (self.tau_prev > 0)
            if name == "latent":
                # S_t = Φ⁻¹(p_t)·√τ_t (docs/checks.md; Archak & Ipeirotis 2009)
                s1 = special.ndtri(p) * np.sqrt(self.tau)
                s0 = special.ndtri(pp) * np.sqrt(self.tau_prev)
                v = (s1 - s0) / np.sqrt(dt)
                return v, inner & ok_dt & (self.tau_prev > 0) & (self.tau >= 0)
        raise ValueError(f"unknown coordinate {name!r}; expected one of {', '.join(COORDINATES)}")

    def coordinate(self, name: str) -> Coordinate:
        """Per-series RMS-scaled increments in one coordinate, series with at least
        ``MIN_INCREMENTS`` usable values."""
        v, ok = self.values(name)
        ok &= np.isfinite(v)
        s_all = self.panel.n_series
        cnt = np.bincount(self.series[ok], minlength=s_all)
        ss = np.bincount(self.series[ok], weights=v[ok] ** 2, minlength=s_all)
        with np.errstate(divide="ignore", invalid="ignore"):
            rms = np.sqrt(ss / cnt)
        use_series = (cnt >= MIN_INCREMENTS) & (rms > 0)
        ok &= use_series[self.series]
        series_ids = np.flatnonzero(use_series)
        compact = np.full(s_all, -1, dtype=np.int64)
        compact[series_ids] = np.arange(len(series_ids))
        seg = compact[self.series[ok]]
        scale = rms[series_ids]
        u = v[ok]
        return Coordinate(name=name, x=u / scale[seg], unscaled=u, seg=seg, series=series_ids,
                          row=self.row[ok], scale=scale)


def dispersion_by_bucket(x: np.ndarray, key: np.ndarray, edges: np.ndarray, min_count: int = 30) -> dict:
    """Mean square of scaled increments per bucket of ``key`` and the max/min ratio.

    For homoskedastic scaled increments every bucket's mean square is ≈ 1, so the
    ratio is ≈ 1; a coordinate that leaves state or clock dependence gives a large
    ratio."""
    b = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, len(edges) - 2)
    nb = len(edges) - 1
    cnt = np.bincount(b, minlength=nb)
    ms = np.bincount(b, weights=x**2, minlength=nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        ms = ms / cnt
    used = cnt >= min_count
    ratio = float(ms[used].max() / ms[used].min()) if used.sum() >= 2 and ms[used].min() > 0 else None
    return {"edges": [float(e) for e in edges], "count": cnt.tolist(),
            "mean_square": [float(m) if u else None for m, u in zip(ms, used)], "ratio": ratio}


def segment_rms(x: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(seg_sum(x**2, seg, n_seg) / seg_count(seg, n_seg))

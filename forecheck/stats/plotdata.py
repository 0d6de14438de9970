"""Plot data for the HTML report: arrays in, frozen dataclasses out.

Nothing here draws; :mod:`forecheck.report.plots` turns these records into figures.
Every quantity but one is computed from the panel with the definitions of the checks,
so a plot never depends on the layout of a check's ``details``; the jumps are the ones
WN305 flagged, handed over by the check itself (``CheckContext.figure_data``):

- variance budget (Augenblick & Rabin 2021, *QJE* 136(2), p. 9): movement
  m = Σ(Δp)², uncertainty u(p) = p(1 − p), uncertainty reduction r = u(p0) − u(p_t);
  a resolved series is closed with the resolution step (o − p_last)², so r = u(p0);
- excess terms d_t = (1 − 2p_{t−1})Δp_t (A-R 2021, p. 10 fn 21), whose sum is the
  excess movement X = m − r and whose squares estimate Var(X) under the martingale
  null; intervals widen that variance by the same-time design effect (Kish 1965;
  :mod:`forecheck.stats.dependence`) as MG101 does;
- standardised increments (:mod:`forecheck.stats.standardize`, the WN coordinate)
  and per-series-scaled raw Δp for QQ plots, with pointwise 95% bands of Gaussian
  order statistics (the i-th of n uniform order statistics is Beta(i, n − i + 1));
- CORP reliability (Dimitriadis, Gneiting & Jordan 2021, *PNAS* 118(8)
  e2016191118): the PAV recalibration of the last forecasts and its consistency band
  (pointwise quantiles of the PAV fit over outcomes resampled as Bernoulli(p), i.e.
  under calibration);
- jumps: the increments WN305 flags (Lee & Mykland 2008 statistics on standardised
  increments above its Monte-Carlo critical values, :mod:`forecheck.stats.jumps`);
- the ±h belief walk (:mod:`forecheck.stats.walk`): expected and median number
  of updates until certainty, E[T] = p0(1 − p0)/h².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from forecheck.panel import Panel
from forecheck.stats.walk import duration_moments, duration_quantile, walk_grid
from forecheck.stats.budget import series_budget, uncertainty
from forecheck.stats.jumps import Jumps, flagged_jumps  # noqa: F401 (the figures' jump data)
from forecheck.stats.calibration import corp_decomposition, pav_of_ties
from forecheck.stats.dependence import design_effect
from forecheck.stats.standardize import STANDARDISED, Increments
from forecheck.stats.streams import series_keys, stream_order

Z95 = float(stats.norm.ppf(0.975))
#: starting-probability bins of the movement-ratio plot (MG101's strata)
P0_EDGES = np.array([0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0])
UNIT_PLURAL = {"day": "days", "second": "seconds", "step": "steps"}


def unit_name(panel: Panel) -> str:
    """Plural name of the panel's time unit ("days", "seconds", "steps")."""
    return UNIT_PLURAL.get(panel.time_unit, panel.time_unit + "s")


def dynamic_mask(panel: Panel, min_length: int) -> np.ndarray:
    """Series MG101 uses: resolved ones and those with at least ``min_length`` forecasts."""
    return panel.resolved | (panel.lengths >= min_length)


def _within(panel: Panel, values: np.ndarray) -> np.ndarray:
    """Cumulative sum of a per-row array within each series."""
    c = np.cumsum(values)
    start = c[panel.first_row] - values[panel.first_row]
    return c - start[panel.series_index]


# ------------------------------------------------------------------ paths
@dataclass(frozen=True)
class Paths:
    """Every series' probability path against time to resolution."""

    unit: str
    offsets: np.ndarray  # (S+1,) rows of series i: offsets[i]:offsets[i+1]
    tau: np.ndarray  # (N,) time to resolution
    p: np.ndarray  # (N,)
    ids: np.ndarray  # (S,)
    outcome: np.ndarray  # (S,) 0/1/NaN
    highlight: np.ndarray  # series that stand out, largest |excess movement| first
    excess: np.ndarray  # (S,) X = m − r
    drawn: np.ndarray | None = None  # series to draw when not all are (see drawn_series); None: all

    @property
    def n_series(self) -> int:
        return len(self.offsets) - 1


#: most series lines a per-series figure draws (paths, cumulative excess, jumps)
MAX_LINES = 1000


def drawn_series(panel: Panel, max_lines: int, always: np.ndarray) -> np.ndarray | None:
    """The series a per-series figure draws when the panel has more than ``max_lines``:
    the ``always`` series (the highlighted ones) plus the series with the smallest data
    keys (:func:`forecheck.stats.streams.series_keys`, a hash of each series' data) up
    to ``max_lines`` in all, in key order. The keys behave as random numbers, so this is
    a random sample that does not depend on series names or row order, and the same on
    every run. ``None`` when every series is drawn."""
    S = panel.n_series
    if S <= max_lines:
        return None
    order = stream_order(series_keys(panel))
    pick = np.zeros(S, dtype=bool)
    pick[np.asarray(always, dtype=np.int64)] = True
    rest = order[~pick[order]][: max(int(max_lines) - int(pick.sum()), 0)]
    pick[rest] = True
    return order[pick[order]]


def paths(panel: Panel, n_highlight: int = 5, max_lines: int = MAX_LINES) -> Paths:
    """Paths plus the ``n_highlight`` series with the largest |m − r| (A-R 2021), and
    the series to draw if there are more than ``max_lines`` (:func:`drawn_series`)."""
    b = series_budget(panel)
    x = np.where(np.isfinite(b.excess), b.excess, 0.0)
    order = np.argsort(-np.abs(x), kind="stable")[: min(n_highlight, panel.n_series)]
    return Paths(unit=unit_name(panel), offsets=panel.offsets, tau=panel.time_to_resolution, p=panel.p,
                 ids=panel.ids.astype(str), outcome=panel.outcome, highlight=order, excess=b.excess,
                 drawn=drawn_series(panel, max_lines, order))


# ------------------------------------------------------- cumulative budget
@dataclass(frozen=True)
class CumulativeBudget:
    """Movement and uncertainty reduction accumulated as resolution approaches.

    Per series (flat, ``offsets``): one point per forecast plus, for a resolved
    series, a last point at τ = 0 after the resolution step. ``movement`` is
    Σ_{s≤t}(Δp_s)², ``reduction`` is u(p0) − u(p_t) (u(p0) after resolution).
    Pooled: sums over series of the steps completed by time to resolution τ,
    ``pooled_tau`` descending (in-flight steps counted at the later forecast,
    resolution steps at τ = 0)."""

    unit: str
    offsets: np.ndarray
    tau: np.ndarray
    movement: np.ndarray
    reduction: np.ndarray
    outcome: np.ndarray  # (S,)
    pooled_tau: np.ndarray
    pooled_movement: np.ndarray
    pooled_reduction: np.ndarray

    @property
    def excess(self) -> np.ndarray:
        return self.movement - self.reduction

    def final(self) -> tuple[np.ndarray, np.ndarray]:
        """(movement, reduction) at each series' last point."""
        last = self.offsets[1:] - 1
        return self.movement[last], self.reduction[last]


def cumulative_budget(panel: Panel) -> CumulativeBudget:
    n, s = panel.n_obs, panel.n_series
    step_m = np.zeros(n)
    step_m[panel.increment_rows] = panel.dp**2
    cum_m = _within(panel, step_m)
    u0 = uncertainty(panel.p0)
    cum_r = u0[panel.series_index] - uncertainty(panel.p)
    tau = panel.time_to_resolution
    res = np.flatnonzero(panel.resolved)
    o = panel.outcome[res]
    pl = panel.p_last[res]
    m_res = (o - pl) ** 2
    # one extra point per resolved series, after its last row (rows are contiguous per
    # series in step order, so every row moves right by the resolved series before it)
    counts = panel.lengths + panel.resolved.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    before = np.cumsum(panel.resolved, dtype=np.int64) - panel.resolved
    at_rows = np.arange(n, dtype=np.int64) + np.repeat(before, panel.lengths)
    at_res = offsets[res + 1] - 1
    all_tau = np.zeros(n + len(res))
    all_tau[at_rows] = tau
    all_m = np.empty(n + len(res))
    all_m[at_rows] = cum_m
    all_m[at_res] = cum_m[panel.last_row[res]] + m_res
    del cum_m
    all_r = np.empty(n + len(res))
    all_r[at_rows] = cum_r
    all_r[at_res] = u0[res]
    del cum_r, at_rows
    # pooled: contributions of every step at the time it is completed
    rows = panel.increment_rows
    c_tau = np.concatenate([tau[rows], np.zeros(len(res))])
    c_m = np.concatenate([panel.dp**2, m_res])
    c_r = np.concatenate([uncertainty(panel.p[rows - 1]) - uncertainty(panel.p[rows]), uncertainty(pl)])
    if len(c_tau):
        import pandas as pd

        # distinct −τ ascending (= τ descending) and each step's code: a hash factorisation
        # with sorted uniques, the same arrays as np.unique(..., return_inverse=True) without
        # sorting N values
        inv, ut = pd.factorize(-c_tau, sort=True)
        pm = np.cumsum(np.bincount(inv, weights=c_m, minlength=len(ut)))
        pr = np.cumsum(np.bincount(inv, weights=c_r, minlength=len(ut)))
        t0 = float(tau.max()) if n else 0.0
        p_tau = np.concatenate([[t0], -ut])
        pm, pr = np.concatenate([[0.0], pm]), np.concatenate([[0.0], pr])
    else:
        p_tau, pm, pr = np.zeros(1), np.zeros(1), np.zeros(1)
    return CumulativeBudget(unit=unit_name(panel), offsets=offsets, tau=all_tau, movement=all_m,
                            reduction=all_r, outcome=panel.outcome.copy() if s else panel.outcome,
                            pooled_tau=p_tau, pooled_movement=pm, pooled_reduction=pr)


# ------------------------------------------------------------ excess terms
@dataclass(frozen=True)
class _Terms:
    d: np.ndarray  # (1 − 2p_{t−1})Δp_t per step, resolution steps last
    series: np.ndarray
    tau_prev: np.ndarray  # time to resolution at the earlier forecast (0 for resolution steps)
    is_resolution: np.ndarray
    move: np.ndarray  # Δp²
    reduction: np.ndarray  # u(p_{t−1}) − u(p_t)
    deff: float


def _terms(panel: Panel) -> _Terms:
    rows = panel.increment_rows
    res = np.flatnonzero(panel.resolved)
    pl = panel.p_last[res]
    o = panel.outcome[res]
    d_in = (1 - 2 * panel.dp_prev_p) * panel.dp
    n_in = len(d_in)
    # design effect of the centred in-flight terms, as MG101 computes it
    if n_in:
        dep = design_effect(d_in - d_in.mean(), panel.dp_series, panel.time[rows], panel.n_series, panel.cluster)
        deff = float(dep.deff_used)
    else:
        deff = 1.0
    return _Terms(
        d=np.concatenate([d_in, (1 - 2 * pl) * (o - pl)]),
        series=np.concatenate([panel.dp_series, res]),
        tau_prev=np.concatenate([panel.time_to_resolution[rows - 1], np.zeros(len(res))]),
        is_resolution=np.concatenate([np.zeros(n_in, bool), np.ones(len(res), bool)]),
        move=np.concatenate([panel.dp**2, (o - pl) ** 2]),
        reduction=np.concatenate([uncertainty(panel.dp_prev_p) - uncertainty(panel.p[rows]), uncertainty(pl)]),
        deff=deff)


@dataclass(frozen=True)
class Binned:
    """Movement against its budget in bins, with approximate 95% intervals.

    ``ratio`` = Σm/Σr per bin; ``excess`` = Σm − Σr. The intervals are
    estimate ± 1.96·√(deff·Σd²) (divided by Σr for the ratio): the martingale
    variance of the summed excess terms, widened by the design effect ``deff``."""

    labels: tuple[str, ...]
    n: np.ndarray  # series (p0 bins) or steps (τ bins) per bin
    movement: np.ndarray
    reduction: np.ndarray
    excess: np.ndarray
    excess_low: np.ndarray
    excess_high: np.ndarray
    ratio: np.ndarray
    ratio_low: np.ndarray
    ratio_high: np.ndarray
    deff: float
    unit: str = ""


def _binned(labels, key, n_bins, t: _Terms, n_count, unit="") -> Binned:
    mv = np.bincount(key, weights=t.move, minlength=n_bins)
    rd = np.bincount(key, weights=t.reduction, minlength=n_bins)
    x = np.bincount(key, weights=t.d, minlength=n_bins)
    v = np.bincount(key, weights=t.d**2, minlength=n_bins)
    half = Z95 * np.sqrt(t.deff * v)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = rd > 0
        ratio = np.where(ok, mv / rd, np.nan)
        rlo = np.where(ok, np.maximum(0.0, ratio - half / rd), np.nan)
        rhi = np.where(ok, ratio + half / rd, np.nan)
    keep = n_count > 0
    return Binned(labels=tuple(l for l, k in zip(labels, keep) if k), n=n_count[keep], movement=mv[keep],
                  reduction=rd[keep], excess=x[keep], excess_low=(x - half)[keep], excess_high=(x + half)[keep],
                  ratio=ratio[keep], ratio_low=rlo[keep], ratio_high=rhi[keep], deff=t.deff, unit=unit)


def dynamic_terms(panel: Panel, min_length: int = 3) -> tuple[Panel, _Terms]:
    """MG101's series and their excess terms, which :func:`ratio_by_p0` and
    :func:`excess_by_tau` bin (a report drawing both forms them once)."""
    pan = panel.select_series(dynamic_mask(panel, min_length))
    return pan, _terms(pan)


def ratio_by_p0(panel: Panel, min_length: int = 3, edges: np.ndarray = P0_EDGES,
                terms: tuple[Panel, _Terms] | None = None) -> Binned:
    """Movement ratio Σm/Σr by starting probability p0 (MG101's strata); the
    series are those MG101 uses (``terms``: :func:`dynamic_terms` of the panel)."""
    pan, t = terms if terms is not None else dynamic_terms(panel, min_length)
    nb = len(edges) - 1
    k_series = np.clip(np.searchsorted(edges, pan.p0, side="right") - 1, 0, nb - 1)
    labels = [f"{edges[j]:.2f}–{edges[j + 1]:.2f}" for j in range(nb)]
    return _binned(labels, k_series[t.series], nb, t, np.bincount(k_series, minlength=nb))


def tau_edges(panel: Panel, tau: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Time-to-resolution bins: fixed ones in days, quartiles otherwise."""
    if panel.time_unit == "day":
        return np.array([0, 7, 30, 90, np.inf]), ["≤ 7 days", "8–30 days", "31–90 days", "> 90 days"]
    if panel.time_unit == "second":
        return (np.array([0, 3600, 86400, 7 * 86400, np.inf]),
                ["≤ 1 hour", "1 hour – 1 day", "1–7 days", "> 7 days"])
    u = unit_name(panel)
    qs = np.unique(np.quantile(tau, [0, 0.25, 0.5, 0.75, 1.0])) if len(tau) else np.array([0.0, 1.0])
    if len(qs) <= 2:
        return np.array([-np.inf, np.inf]), ["all"]
    edges = np.concatenate([[-np.inf], qs[1:-1], [np.inf]])
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if not np.isfinite(lo):
            labels.append(f"≤ {hi:g} {u}")
        elif not np.isfinite(hi):
            labels.append(f"> {lo:g} {u}")
        else:
            labels.append(f"{lo:g}–{hi:g} {u}")
    return edges, labels


def excess_by_tau(panel: Panel, min_length: int = 3, terms: tuple[Panel, _Terms] | None = None) -> Binned:
    """Excess movement by time to resolution at the earlier forecast of each step
    (MG101's bins), plus the resolution steps as the last bin (``terms``:
    :func:`dynamic_terms` of the panel)."""
    pan, t = terms if terms is not None else dynamic_terms(panel, min_length)
    inflight = ~t.is_resolution
    edges, labels = tau_edges(pan, t.tau_prev[inflight])
    nb = len(labels)
    key = np.full(len(t.d), nb)
    key[inflight] = np.clip(np.searchsorted(edges, t.tau_prev[inflight], side="left") - 1, 0, nb - 1)
    counts = np.bincount(key, minlength=nb + 1)
    # left to right: far from resolution first
    out = _binned(labels + ["resolution step"], key, nb + 1, t, counts, unit=unit_name(pan))
    return out


# ------------------------------------------------------------------- QQ
@dataclass(frozen=True)
class QQ:
    """Sorted sample against Gaussian quantiles, thinned for drawing."""

    label: str
    theoretical: np.ndarray
    sample: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    n: int
    beyond_4sd: int  # |x| > 4 in the sample
    expected_beyond_4sd: float  # n · P(|Z| > 4)


def qq(x: np.ndarray, label: str, max_points: int = 1200, tail: int = 40) -> QQ:
    """QQ data of ``x`` rescaled to unit root mean square (mean zero imposed, as a
    martingale has no drift), with pointwise 95% bands of Gaussian order statistics."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        e = np.zeros(0)
        return QQ(label, e, e, e, e, 0, 0, 0.0)
    rms = np.sqrt(np.mean(x**2))
    xs = np.sort(x / rms if rms > 0 else x)
    i = np.arange(1, n + 1)
    if n > max_points:  # evenly spaced ranks plus every point in both tails
        keep = np.unique(np.concatenate([np.round(np.linspace(0, n - 1, max_points)).astype(int),
                                         np.arange(min(tail, n)), np.arange(max(0, n - tail), n)]))
    else:
        keep = np.arange(n)
    ii = i[keep]
    theo = stats.norm.ppf((ii - 0.5) / n)
    lo = stats.norm.ppf(stats.beta.ppf(0.025, ii, n - ii + 1))
    hi = stats.norm.ppf(stats.beta.ppf(0.975, ii, n - ii + 1))
    return QQ(label=label, theoretical=theo, sample=xs[keep], band_low=lo, band_high=hi, n=n,
              beyond_4sd=int(np.sum(np.abs(xs) > 4)), expected_beyond_4sd=float(n * 2 * stats.norm.sf(4)))


def qq_pair(panel: Panel, min_length: int = 3) -> tuple[QQ, QQ]:
    """(standardised, raw) QQ data from the WN coordinates: latent probit-clock
    increments and raw Δp, each scaled by its series' RMS."""
    inc = Increments.from_panel(panel, min_length)
    std = inc.coordinate(STANDARDISED)
    raw = inc.coordinate("raw")
    return (qq(std.x, "standardised increments (latent probit clock)"), qq(raw.x, "raw Δp"))


# ------------------------------------------------------------ reliability
@dataclass(frozen=True)
class Reliability:
    """CORP reliability curve of the last forecasts of resolved series."""

    p: np.ndarray  # distinct forecast values, ascending
    recalibrated: np.ndarray  # PAV fit at each value
    band_low: np.ndarray
    band_high: np.ndarray
    count: np.ndarray  # forecasts at each value
    n: int
    brier: float
    mcb: float
    dsc: float
    unc: float
    n_boot: int
    forecasts: np.ndarray  # the forecasts used (for a histogram)
    outcomes: np.ndarray


def last_forecast(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """(p, o) of each resolved series' last forecast made no later than resolution."""
    ok_row = panel.time <= panel.resolution_time[panel.series_index]
    row = np.where(ok_row, np.arange(panel.n_obs), -1)
    last = np.full(panel.n_series, -1)
    np.maximum.at(last, panel.series_index, row)
    sel = panel.resolved & (last >= 0)
    return panel.p[last[sel]], panel.outcome[sel]


def reliability(p: np.ndarray, o: np.ndarray, rng: np.random.Generator, n_boot: int = 500,
                level: float = 0.9) -> Reliability:
    """PAV recalibration (CORP) with a consistency band: pointwise ``level``
    quantiles of the PAV fit over ``n_boot`` outcome vectors drawn as Bernoulli(p)
    (Dimitriadis et al. 2021, consistency bands under the calibration hypothesis)."""
    p = np.asarray(p, dtype=float)
    o = np.asarray(o, dtype=float)
    dec = corp_decomposition(p, o) if len(p) else None
    u, first, inv, cnt = np.unique(p, return_index=True, return_inverse=True, return_counts=True)
    if len(p) == 0:
        e = np.zeros(0)
        return Reliability(e, e, e, e, e.astype(int), 0, np.nan, np.nan, np.nan, np.nan, 0, e, e)
    fit = dec.recalibrated[first]
    sims = np.empty((n_boot, len(u)))
    for b in range(n_boot):  # a loop over resamples, not series
        ob = (rng.random(len(p)) < p).astype(float)
        sims[b] = pav_of_ties(inv, cnt, ob)  # (= pav_recalibrate(p, ob)[first], p sorted once)
    a = (1 - level) / 2
    lo, hi = np.quantile(sims, [a, 1 - a], axis=0, overwrite_input=True)  # (sims is scratch: no copy)
    return Reliability(p=u, recalibrated=fit, band_low=lo, band_high=hi, count=cnt, n=len(p), brier=dec.brier,
                       mcb=dec.mcb, dsc=dec.dsc, unc=dec.unc, n_boot=n_boot, forecasts=p, outcomes=o)


# ------------------------------------------------------------------ jumps
# Jumps, flagged_jumps: in stats/jumps.py (WN305 builds them on every run, without this
# module's imports)


# ------------------------------------------------------------------- walk
@dataclass(frozen=True)
class WalkCurve:
    """Expected and median number of ±h updates until certainty by starting
    probability (gambler's ruin; A-R 2021 Cor. 1), and each series' movement in
    units of h² ("equivalent ±h updates", m/h²) at its starting probability."""

    step: float
    grid_p: np.ndarray
    expected_steps: np.ndarray
    median_steps: np.ndarray
    p0: np.ndarray
    equivalent_steps: np.ndarray
    outcome: np.ndarray
    n_series: int | None = None  # series that have a dot when only a sample is drawn; None: all drawn


def walk_curve(p0: np.ndarray, movement: np.ndarray, outcome: np.ndarray, step: float = 0.01) -> WalkCurve:
    """Belief-walk curve on the grid h, 2h, …, 1 − h (exact chain results from
    :mod:`forecheck.stats.walk`), and the data's series placed on it."""
    n = int(round(1 / step))
    ks = np.arange(1, n)
    exp = np.empty(len(ks))
    med = np.empty(len(ks))
    for j, k in enumerate(ks):  # a loop over grid points (≤ 1/h), not over series
        g = walk_grid(k / n, step)
        exp[j] = duration_moments(g)[0]
        med[j] = duration_quantile(g, 0.5)
    p0 = np.asarray(p0, dtype=float)
    movement = np.asarray(movement, dtype=float)
    inner = (p0 > 0) & (p0 < 1) & np.isfinite(movement)
    return WalkCurve(step=step, grid_p=ks / n, expected_steps=exp, median_steps=med, p0=p0[inner],
                     equivalent_steps=movement[inner] / step**2, outcome=np.asarray(outcome, dtype=float)[inner])


#: most series dots the walk figure draws
MAX_DOTS = 5000


def walk_for_panel(panel: Panel, min_length: int = 3, step: float = 0.01, max_dots: int = MAX_DOTS) -> WalkCurve:
    """The walk curve with MG101's series; above ``max_dots`` series, the dots of the
    ``max_dots`` with the smallest data keys (a random sample, as :func:`drawn_series`)."""
    mask = dynamic_mask(panel, min_length)
    pan = panel.select_series(mask)
    b = series_budget(pan)
    p0, mv, out = pan.p0, b.movement, pan.outcome
    inner = (p0 > 0) & (p0 < 1) & np.isfinite(mv)
    n_all = int(inner.sum())
    if n_all <= max_dots:
        return walk_curve(p0, mv, out, step)
    idx = np.flatnonzero(inner)
    keep = idx[stream_order(series_keys(panel)[mask][idx])[:max_dots]]
    w = walk_curve(p0[keep], mv[keep], out[keep], step)
    return WalkCurve(step=w.step, grid_p=w.grid_p, expected_steps=w.expected_steps, median_steps=w.median_steps,
                     p0=w.p0, equivalent_steps=w.equivalent_steps, outcome=w.outcome, n_series=n_all)

"""CA: calibration of resolved series (layer A), at the last forecast and at fixed
horizons before resolution.

Only resolved series enter. Each contributes one forecast per horizon: its last
forecast made at least ``h`` before resolution (``panel.resolution_time``), picked
for every series and horizon in one vectorised pass (:func:`horizon_rows`). "last"
is the series' last forecast made no later than resolution. The series are those of
the pooled panel (``ctx.pooled()``): the mirror contract of a YES/NO question is not a
second event. The contracts of a question of 3+ outcomes (the candidates of a race)
stay, one binary forecast each (one-vs-rest calibration), but the tests count the
question as the independent unit: CA202 and CA203 use the exact null variance with
the question's outcome drawn as one Categorical(p), CA204 resamples questions and
CA201's interval is clustered by question (``stats/calibration.py``, "questions of
several outcomes").
Tests over units (questions) assume they are independent events; states of one
election share a national swing (see MG106), which the runner's dependence gate
reads (docs/checks.md, "Dependence gate").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from forecheck.stats.dists import norm

from forecheck.checks import CheckSpec
from forecheck.checks.context import CheckContext
from forecheck.details import (BrierDetails, HorizonCalibration, HorizonConsistencyDetails, HorizonPoint,
                               HorizonScores, RecalibrationDetails, Scores, SpiegelhalterDetails, Violation)
from forecheck.errors import InsufficientDataError, UsageError
from forecheck.panel import Panel
from forecheck.results import Measurement
from forecheck.stats import calibration as cal
from forecheck.stats.asymptotic import Reference, choose_reference, variance_neff
from forecheck.stats.streams import group_keys, series_keys, stream_order

FAMILY = "CA"
#: fewest resolved series a calibration statistic is computed on (also the fewest
#: series a default horizon must have a forecast for to be kept).
MIN_SERIES = 10
DEFAULT_DAY_HORIZONS = (1.0, 7.0, 30.0, 90.0)
DEFAULT_SECOND_HORIZONS = (3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0)
STEP_FRACTIONS = (0.1, 0.25, 0.5)

INDEPENDENCE_NOTE = ("one forecast per series; the test treats series as independent events, "
                     "which shared shocks (e.g. a national swing) violate")


# ------------------------------------------------------------ horizon picking
def horizon_rows(panel: Panel, horizons: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
    """Row of the forecast in force ``h`` before resolution, per series and horizon.

    Returns an int array (len(series), H): the last row of series s with
    ``time <= resolution_time[s] - h``, or -1 where the series has none (a forecast
    made exactly ``h`` before resolution counts). Panel rows are sorted by (series,
    time), so every query is a binary search within its series' rows, run for all
    queries at once (about log2(longest series) vectorised steps; no sort of the rows,
    no loop over series).
    """
    horizons = np.asarray(horizons, dtype=float)
    s_idx = np.arange(panel.n_series) if series is None else np.asarray(series)
    h = horizons.size
    q_series = np.repeat(s_idx, h)
    q_time = (panel.resolution_time[s_idx][:, None] - horizons[None, :]).ravel()
    q_time = np.where(np.isnan(q_time), np.inf, q_time)  # no resolution time: every row is before it
    first = panel.offsets[q_series].astype(np.int64)
    lo, hi = first.copy(), panel.offsets[q_series + 1].astype(np.int64)
    time, n = panel.time, panel.n_obs
    # invariant: rows [first, lo) have time <= q, rows [hi, end) have time > q
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) >> 1
        before = time[np.minimum(mid, n - 1)] <= q_time
        lo = np.where(open_ & before, mid + 1, lo)
        hi = np.where(open_ & ~before, mid, hi)
    last = lo - 1
    return np.where(last >= first, last, -1).reshape(s_idx.size, h)


def default_horizons(panel: Panel, resolved: np.ndarray) -> tuple[float, ...]:
    """A few sensible horizons for the panel's time unit."""
    if panel.time_unit == "day":
        return DEFAULT_DAY_HORIZONS
    if panel.time_unit == "second":
        return DEFAULT_SECOND_HORIZONS
    lengths = panel.lengths[resolved]
    typical = float(np.median(lengths)) if lengths.size else 1.0
    hs = {1.0} | {float(max(1, round(typical * f))) for f in STEP_FRACTIONS}
    return tuple(sorted(hs))


def horizon_label(panel: Panel, h: float | None) -> str:
    if h is None:
        return "last"
    if panel.time_unit == "second":
        for size, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
            if h >= size and h % size == 0:
                return f"{h / size:g}{unit}"
        return f"{h:g}s"
    if panel.time_unit == "day":
        return f"{h:g}d"
    return f"{h:g} step" + ("" if h == 1 else "s")  # a step index: say so, never a bare number


@dataclass(frozen=True)
class CalibrationData:
    """Forecasts of the resolved series at the last forecast and at each kept horizon."""

    series: np.ndarray  # (n,) panel index of each resolved series
    outcome: np.ndarray  # (n,)
    p_last: np.ndarray  # (n,), NaN where the series has no forecast before resolution
    horizons: tuple[float, ...]  # kept horizons, ascending
    p_h: np.ndarray  # (n, H), NaN where the series has no forecast that early
    dropped: tuple[dict, ...]  # horizons dropped for lack of series
    labels: tuple[str, ...]  # labels of horizons (ascending)


def calibration_data(panel: Panel, config) -> CalibrationData:
    resolved = panel.resolved
    series = np.flatnonzero(resolved)
    user = config.horizons is not None
    hs = np.array(sorted({float(h) for h in (config.horizons if user else default_horizons(panel, resolved))}),
                  dtype=float)
    if user and (hs.size == 0 or not np.all(np.isfinite(hs)) or np.any(hs <= 0)):
        raise UsageError(f"`horizons` must be positive numbers in the panel's time unit "
                         f"({panel.time_unit}s); got {list(config.horizons)}")
    rows = horizon_rows(panel, np.concatenate([[0.0], hs]), series)
    p_all = np.where(rows >= 0, panel.p[np.maximum(rows, 0)], np.nan)
    avail = np.sum(rows[:, 1:] >= 0, axis=0)
    keep = avail >= MIN_SERIES
    dropped = tuple({"horizon": float(h), "label": horizon_label(panel, float(h)), "n": int(a)}
                    for h, a, k in zip(hs, avail, keep) if not k)
    kept = tuple(float(h) for h in hs[keep])
    return CalibrationData(series=series, outcome=panel.outcome[series], p_last=p_all[:, 0],
                           horizons=kept, p_h=p_all[:, 1:][:, keep], dropped=dropped,
                           labels=tuple(horizon_label(panel, h) for h in kept))


def _data(ctx: CheckContext) -> CalibrationData:
    # the pooled panel: a question's mirror contract is not a second event
    return ctx.cached("calibration.data", lambda: calibration_data(ctx.pooled()[0], ctx.config))


def _n_units(ctx: CheckContext) -> int:
    """The number of units (questions, or declared clusters) among the resolved series
    with a last forecast: what the calibration tests pool (computed once for CA202-CA204).
    Question units are integer codes, counted as they are; cluster labels as text (a
    missing label is the text "None" or "nan", one shared label), hashed, not sorted (a
    sort of 10⁶ strings took 1.2 s)."""
    def make():
        d = _data(ctx)
        pan = ctx.pooled()[0]
        lab = pan.cluster if pan.cluster is not None else pan.question
        u = np.asarray(lab)[d.series][~np.isnan(d.p_last)]
        if u.dtype.kind in "iu":
            return int(np.unique(u).size)
        return int(pd.unique(u.astype(str)).size)

    return ctx.cached("calibration.units", make)


def _independent_units(ctx: CheckContext) -> float:
    """How many independent units at most carry a calibration statistic, for the choice
    of its asymptotic reference (``stats.asymptotic.choose_reference``): the units the
    tests pool (declared clusters, or questions) and, when the series share forecast
    times, MG106's effective number of series."""
    n_units = _n_units(ctx)
    dep = ctx.dependence()
    return float(min(dep.n_eff, n_units) if dep.n_cells > 0 else n_units)


def _questions_of(ctx: CheckContext) -> np.ndarray:
    """(n,) question unit (pooled panel) of each resolved series of ``_data``."""
    return ctx.pooled()[0].question[_data(ctx).series]


def _grouped(q_units: np.ndarray) -> bool:
    """Some question has 2+ of these contracts (a question of 3+ outcomes: a YES/NO
    pair's mirror is already dropped), so their outcomes are drawn jointly."""
    return np.unique(q_units).size < len(q_units)


def _grouped_among(ctx: CheckContext, mask: np.ndarray) -> bool:
    """``_grouped`` of the resolved series selected by ``mask``. A subset has a
    repeated question only if all resolved series have one, which is decided once
    (a unique of every series' question): without questions of 3+ outcomes the
    checks' several calls cost nothing."""
    if not ctx.cached("calibration.grouped", lambda: _grouped(_questions_of(ctx))):
        return False
    return _grouped(_questions_of(ctx)[mask])


def _last(ctx: CheckContext, code: str) -> tuple[np.ndarray, np.ndarray]:
    d = _data(ctx)
    ok = ~np.isnan(d.p_last)
    if ok.sum() < MIN_SERIES:
        raise InsufficientDataError(
            f"{code} needs at least {MIN_SERIES} resolved series with a forecast before resolution; "
            f"found {int(ok.sum())}")
    return d.p_last[ok], d.outcome[ok]


# ---------------------------------------------------------------------- CA201
def _scores(p: np.ndarray, o: np.ndarray, bins: bool = False) -> Scores:
    m = cal.murphy_decomposition(p, o)
    c = cal.corp_decomposition(p, o)
    # a reliability diagram: per bin count, mean forecast, observed frequency
    return Scores(n=int(p.size), brier=m.brier, murphy=m.to_dict(), corp=c.to_dict(),
                  bins={"n": m.bin_n, "mean_p": m.bin_p, "mean_o": m.bin_o} if bins else None)


def check_ca201(ctx: CheckContext) -> Measurement:
    p, o = _last(ctx, "CA201")
    d = _data(ctx)
    last = _scores(p, o, bins=True)
    per_h = []
    for label, h, col in zip(d.labels, d.horizons, d.p_h.T):
        ok = ~np.isnan(col)
        sc = _scores(col[ok], d.outcome[ok])
        per_h.append(HorizonScores(label=label, horizon=h, n=sc.n, brier=sc.brier, murphy=sc.murphy, corp=sc.corp))
    sq = (p - o) ** 2
    q_units = _questions_of(ctx)[~np.isnan(d.p_last)]
    grouped = _grouped_among(ctx, ~np.isnan(d.p_last))
    # contracts of one question are one draw: the interval is clustered by question
    se = cal.cluster_mean_se(sq, q_units) if grouped else float(sq.std(ddof=1) / np.sqrt(sq.size))
    bs = last.brier
    parts = ", ".join(f"{r.label} {r.brier:.3f}" for r in per_h)
    msg = (f"Brier {bs:.4f} at the last forecast (MCB {last.corp['mcb']:.4f}, "
           f"DSC {last.corp['dsc']:.4f}, UNC {last.corp['unc']:.4f})")
    if parts:
        msg += f"; by horizon: {parts}"
    return Measurement(
        statistic=bs, estimate=bs, ci=(bs - 1.959964 * se, bs + 1.959964 * se), nobs=int(p.size),
        message=msg, test_based=False, status="pass",
        details=BrierDetails(
            last=last, horizons=tuple(per_h), dropped_horizons=tuple(d.dropped), time_unit=ctx.panel.time_unit,
            murphy_bins=f"{cal.DEFAULT_BINS} equal-width bins on [0, 1]; "
                        "BS = REL - RES + UNC + WBV - 2 WBC exactly (Stephenson et al. 2008)",
            corp="PAV recalibration (Dimitriadis, Gneiting & Jordan 2021): BS = MCB - DSC + UNC",
            ci="normal interval for the mean Brier over series"
               + (", standard error clustered by question (CR1)" if grouped else "")))


# ---------------------------------------------------------------------- CA202
def check_ca202(ctx: CheckContext) -> Measurement:
    p, o = _last(ctx, "CA202")
    r = cal.spiegelhalter(p, o)
    d = _data(ctx)
    q_units = _questions_of(ctx)[~np.isnan(d.p_last)]
    grouped = _grouped_among(ctx, ~np.isnan(d.p_last))  # questions of 3+ outcomes: outcomes drawn jointly
    if grouped:
        z, pz = cal.spiegelhalter_grouped(p, o, q_units)
        r = cal.SpiegelhalterResult(z=z, pvalue=pz, observed_brier=r.observed_brier,
                                    expected_brier=r.expected_brier, n=r.n)
    if not np.isfinite(r.z):
        raise InsufficientDataError("CA202: every last forecast is 0, 0.5 or 1 (Z undefined)")
    # the simulated cross-check only where Z's N(0, 1) reference may be coarse: few
    # independent units carry its variance (forecasts near 0/1 concentrate it)
    var_units = cal.grouped_variance(p, cal.unit_codes(q_units))[0] if grouped else (1 - 2 * p) ** 2 * p * (1 - p)
    ref = choose_reference(var_units, 1.0, _independent_units(ctx))
    if ref.analytic:
        pvalue_mc = None
        mc_note = (f"not simulated: {ref.n_eff_variance:.0f} effectively independent units carry Z's variance "
                   f"(at least {ref.threshold:.0f}), so its N(0, 1) reference holds")
    else:
        pvalue_mc = (cal.spiegelhalter_grouped_mc_pvalue(p, o, q_units, ctx.config.n_sim, ctx.rng("CA202"))
                     if grouped else cal.spiegelhalter_mc_pvalue(p, o, ctx.config.n_sim, ctx.seed("CA202")))
        mc_note = "conditional on the forecasts, o* ~ Bernoulli(p), n_sim draws"
    if r.z > 0:
        reading = "outcomes fit worse than the forecasts' own confidence implies (over-confident)"
    else:
        reading = "outcomes fit better than the forecasts' own confidence implies (under-confident)"
    return Measurement(
        n_units=_n_units(ctx),  # questions (or clusters), not contracts: the dependence gate's units
        statistic=r.z, pvalue=r.pvalue, estimate=r.z, nobs=r.n,
        message=f"Z = {r.z:.2f}: observed Brier {r.observed_brier:.4f} vs expected "
                f"{r.expected_brier:.4f}; {reading}",
        null="the last forecasts are calibrated: E[(o - p)^2] = E[p(1 - p)]",
        alternative="two-sided",
        details=SpiegelhalterDetails(
            observed_brier=r.observed_brier, expected_brier=r.expected_brier,
            pvalue_mc=pvalue_mc, pvalue_mc_note=mc_note, **ref.as_dict(),
            note=INDEPENDENCE_NOTE),
    )


# ---------------------------------------------------------------------- CA203
def check_ca203(ctx: CheckContext) -> Measurement:
    p, o = _last(ctx, "CA203")
    try:
        r = cal.logistic_recalibration(p, o, alpha=ctx.config.alpha)
    except cal.RecalibrationError as exc:
        raise InsufficientDataError(f"CA203: {exc}") from exc
    if r.slope < 1:
        reading = "slope < 1: forecasts too extreme (over-confident)"
    else:
        reading = "slope > 1: forecasts too close to 50% (under-confident)"
    d = _data(ctx)
    q_units = _questions_of(ctx)[~np.isnan(d.p_last)]
    stat, pvalue = r.lr_stat, r.pvalue
    i_se, i_ci, s_se, s_ci = r.intercept_se, r.intercept_ci, r.slope_se, r.slope_ci
    null = "a = 0 and b = 1 in logit P(o=1) = a + b logit(p) (LR chi2, 2 df)"
    note = f"p clipped to [{cal.CLIP_EPS:g}, {1 - cal.CLIP_EPS:g}] before the logit; " + INDEPENDENCE_NOTE
    if _grouped_among(ctx, ~np.isnan(d.p_last)):
        # contracts of a question of 3+ outcomes share one outcome: one-vs-rest fit,
        # score test with the exact null covariance, standard errors clustered by question
        g = cal.recalibration_grouped(p, o, q_units, r.intercept, r.slope, alpha=ctx.config.alpha)
        if not np.isfinite(g.score_stat):
            raise InsufficientDataError("CA203: the score of the recalibration has no variance")
        stat, pvalue = g.score_stat, g.pvalue
        i_se, i_ci, s_se, s_ci = g.intercept_se, g.intercept_ci, g.slope_se, g.slope_ci
        null = ("a = 0 and b = 1 in logit P(o_s=1) = a + b logit(p_s), one row per contract (score chi2, "
                "2 df; the outcomes of a question drawn jointly, Categorical(p))")
        note += (f"; {len(q_units)} contracts of {g.n_units} questions: standard errors clustered by question "
                 "(CR1), loglik and loglik_null treat contracts as independent rows")
    return Measurement(
        n_units=_n_units(ctx),  # questions (or clusters), not contracts: the dependence gate's units
        statistic=stat, pvalue=pvalue, estimate=r.slope, ci=s_ci, nobs=r.n,
        message=f"intercept {r.intercept:.2f}, slope {r.slope:.2f} "
                f"[{s_ci[0]:.2f}, {s_ci[1]:.2f}]; {reading}",
        null=null,
        alternative="two-sided",
        details=RecalibrationDetails(
            intercept=r.intercept, intercept_se=i_se, intercept_ci=i_ci,
            slope=r.slope, slope_se=s_se, slope_ci=s_ci, loglik=r.llf, loglik_null=r.llf_null,
            lr_df=2, clip=cal.CLIP_EPS, n_clipped=r.n_clipped, note=note),
    )


# ---------------------------------------------------------------------- CA204
def horizon_consistency(P: np.ndarray, o: np.ndarray, n_boot: int, seed: int,
                        order: np.ndarray | None = None, unit: np.ndarray | None = None,
                        n_eff_dependence: float | None = None) -> tuple[dict, cal.InequalityTest, Reference]:
    """Patton & Timmermann (2012) bounds on forecasts of n events at K horizons.

    ``P`` is (n, K) with columns ordered from the farthest horizon to the nearest.
    Under a martingale, with j < k (k nearer resolution): E(o − p_k)² ≤ E(o − p_j)²
    (mean Brier does not rise) and Var(p_k) ≥ Var(p_j) (dispersion does not fall),
    because p_j = E[p_k | F_j] (P-T 2012, Cor. 1 and 4 with squared loss). Adjacent
    contrasts d = (B_{k+1} − B_k, V_k − V_{k+1}) must all be ≤ 0.

    ``unit`` (n,) int codes 0..Q−1 (questions): the bootstrap resamples units, each
    with all its contracts (a cluster bootstrap; ``order`` then permutes the Q units),
    since the contracts of one question share one outcome. The bounds hold for every
    contract's own binary forecast, so the contrasts stay means over contracts.

    Reference: with many effectively independent units carrying every contrast's
    variance (``stats.asymptotic.choose_reference`` on the units' influence, and
    ``n_eff_dependence``, MG106's count) the max-t's Gaussian reference
    (``cal.max_inequality_asymptotic``: n_boot draws of a 2(K − 1)-variate normal);
    otherwise the bootstrap, whose cost grows with n_boot × units.
    """
    n, K = P.shape
    E = (o[:, None] - P) ** 2
    P2 = P**2

    def contrib(W: np.ndarray) -> np.ndarray:
        b = W @ E  # (B, K) weighted mean Brier
        m1 = W @ P
        v = W @ P2 - m1**2  # weighted variance (ddof 0)
        return np.concatenate([b[:, 1:] - b[:, :-1], v[:, :-1] - v[:, 1:]], axis=1)

    n_units = n if unit is None else int(unit.max()) + 1
    contrib_units = contrib if unit is None else (lambda Wq: contrib(cal.unit_weights(unit, Wq)))
    d = np.asarray(contrib_units(np.full((1, n_units), 1.0 / n_units)))[0]
    # each contract's terms of the contrasts (their mean is d): Brier differences and the
    # differences of squared deviations from the horizon's mean (the variance's influence)
    h = (P - P.mean(axis=0)) ** 2
    terms = np.concatenate([E[:, 1:] - E[:, :-1], h[:, :-1] - h[:, 1:]], axis=1)
    g = cal.inequality_influence(terms, d, unit)
    ref = contrast_reference(g, n_eff_dependence if n_eff_dependence is not None else float(n_units))
    if ref.analytic:
        test = cal.max_inequality_asymptotic(d, g, n, np.max(np.abs(terms), axis=0), n_boot, seed)
    else:
        test = cal.max_inequality_test(contrib_units, n_units, n_boot, seed, order=order)
    summary = {"brier": E.mean(axis=0), "variance": P.var(axis=0)}
    return summary, test, ref


def contrast_reference(g: np.ndarray, n_eff_dependence: float) -> Reference:
    """``choose_reference`` for a vector of contrasts: the contrast whose variance is
    the most concentrated (smallest N_v over the units' influence ``g``) decides, since
    the maximum's law needs every contrast near normal; contrasts without variance
    carry no term of the statistic and are left out."""
    v = g * g
    live = np.flatnonzero(v.sum(axis=0) > 0)
    if not len(live):
        return choose_reference(np.zeros(0), 1.0, n_eff_dependence)
    worst = min(live, key=lambda j: variance_neff(v[:, j]))
    return choose_reference(v[:, worst], 1.0, n_eff_dependence)


def check_ca204(ctx: CheckContext) -> Measurement:
    d = _data(ctx)
    p_last, o = d.p_last, d.outcome
    q_all = _questions_of(ctx)
    # per-horizon martingale calibration E[(o - p_t)^2] = E[p_t(1 - p_t)] (Patton &
    # Timmermann 2012): a Spiegelhalter Z at every kept horizon, on the series available there
    per_h = []
    for lab, h, col in zip(list(d.labels[::-1]) + ["last"], list(d.horizons[::-1]) + [None],
                           np.column_stack([d.p_h[:, ::-1], p_last]).T):
        ok = ~np.isnan(col)
        if ok.sum() < MIN_SERIES:
            continue
        if _grouped_among(ctx, ok):  # a question's contracts drawn jointly (as CA202)
            z, pv = cal.spiegelhalter_grouped(col[ok], o[ok], q_all[ok])
        else:
            z, pv = cal.spiegelhalter_z(col[ok], o[ok])
        per_h.append(HorizonCalibration(label=lab, horizon=h, n=int(ok.sum()), z=float(z), pvalue=float(pv),
                                        observed_brier=float(np.mean((o[ok] - col[ok]) ** 2)),
                                        expected_brier=float(np.mean(col[ok] * (1 - col[ok])))))
    # farthest horizon first, "last" at the end; common set = series with a forecast
    # at the farthest kept horizon (then at every nearer one too)
    labels = list(d.labels[::-1]) + ["last"]
    horizons = list(d.horizons[::-1]) + [None]
    P = np.column_stack([d.p_h[:, ::-1], p_last]) if d.horizons else p_last[:, None]
    while P.shape[1] >= 2:
        common = ~np.isnan(P).any(axis=1)
        if common.sum() >= MIN_SERIES:
            break
        P, labels, horizons = P[:, 1:], labels[1:], horizons[1:]
    if P.shape[1] < 2:
        raise InsufficientDataError(
            f"CA204 needs at least {MIN_SERIES} resolved series with forecasts at two or more horizons")
    common = ~np.isnan(P).any(axis=1)
    Pc, oc = P[common], o[common]
    # a horizon whose forecasts equal the next nearer one's for every series (e.g. one
    # step before resolution == the last forecast) adds no contrast: merge it
    same = np.all(Pc[:, :-1] == Pc[:, 1:], axis=0)
    merged = [labels[k] for k in np.flatnonzero(same)]
    keep = np.append(~same, True)
    if keep.sum() < 2:
        raise InsufficientDataError("CA204: the forecasts are identical at every horizon")
    Pc, P = Pc[:, keep], P[:, keep]
    labels = [lab for lab, k in zip(labels, keep) if k]
    horizons = [h for h, k in zip(horizons, keep) if k]
    # bootstrap weights handed out in data-key order: the same under renamed series
    pooled = ctx.pooled()[0]
    q_c = q_all[common]
    n_eff_dep = _independent_units(ctx)
    if _grouped_among(ctx, common):  # resample questions, each with all its contracts
        unit = cal.unit_codes(q_c)
        order = stream_order(group_keys(series_keys(pooled)[d.series[common]], np.arange(len(unit)), unit))
        summary, test, ref = horizon_consistency(Pc, oc, ctx.config.n_sim, ctx.seed("CA204"), order=order,
                                                 unit=unit, n_eff_dependence=n_eff_dep)
    else:
        unit = None
        order = stream_order(series_keys(pooled)[d.series[common]])  # (d.series: rows of the pooled panel)
        summary, test, ref = horizon_consistency(Pc, oc, ctx.config.n_sim, ctx.seed("CA204"), order=order,
                                                 n_eff_dependence=n_eff_dep)
    if not np.isfinite(test.stat):
        raise InsufficientDataError("CA204: the forecasts do not vary across series at these horizons")
    K = Pc.shape[1]
    contrasts = ([("brier rises", labels[k], labels[k + 1]) for k in range(K - 1)]
                 + [("dispersion falls", labels[k], labels[k + 1]) for k in range(K - 1)])
    violations = [
        Violation(kind=kind, from_=a, to=b, diff=float(test.diffs[j]), t=float(test.t[j]),
                  pvalue_pointwise=float(norm.sf(test.t[j])))
        for j, (kind, a, b) in enumerate(contrasts) if test.diffs[j] > 0 and np.isfinite(test.t[j])
    ]
    sequence = tuple(HorizonPoint(label=lab, horizon=h, brier=float(b), variance=float(v))
                     for lab, h, b, v in zip(labels, horizons, summary["brier"], summary["variance"]))
    if violations:
        worst = max(violations, key=lambda v: v.t)
        msg = (f"{len(violations)} violation(s) as resolution approaches; largest: {worst.kind} "
               f"from {worst.from_} to {worst.to} (t = {worst.t:.2f})")
    else:
        msg = "mean Brier never rises and dispersion never falls as resolution approaches"
    return Measurement(
        n_units=_n_units(ctx),  # questions (or clusters), not contracts: the dependence gate's units
        statistic=test.stat, pvalue=test.pvalue, estimate=test.stat, nobs=int(common.sum()), message=msg,
        null="mean Brier non-increasing and forecast variance non-decreasing toward resolution",
        alternative="some adjacent horizon pair violates an inequality",
        details=HorizonConsistencyDetails(
            sequence=sequence, violations=tuple(violations), merged_horizons=tuple(merged),
            per_horizon_calibration=tuple(per_h),
            method="max-t over adjacent contrasts, "
                   + ("Gaussian reference with the contrasts' covariance from the influence of the "
                      if ref.analytic else "bootstrap over ")
                   + ("questions (each with all its contracts)" if unit is not None else "series")
                   + " with Hansen (2005) recentring",
            n_boot=ctx.config.n_sim, **ref.as_dict(), note=INDEPENDENCE_NOTE),
    )


CHECKS = [
    CheckSpec("CA201", "Brier score", FAMILY, "info", check_ca201,
              "Brier score with Murphy (binned) and CORP (isotonic) decompositions by horizon"),
    CheckSpec("CA202", "Spiegelhalter Z", FAMILY, "error", check_ca202,
              "observed vs expected Brier of the last forecasts (calibration test)", dependence_gated=True),
    CheckSpec("CA203", "logistic recalibration", FAMILY, "warning", check_ca203,
              "Cox recalibration intercept and slope, joint LR test of (0, 1)", dependence_gated=True),
    CheckSpec("CA204", "horizon consistency", FAMILY, "warning", check_ca204,
              "mean Brier must not rise, dispersion must not fall toward resolution", dependence_gated=True),
]

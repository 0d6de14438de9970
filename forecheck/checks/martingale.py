"""Layer A martingale checks MG101–MG106: is this forecast a martingale, and does
it move too much for its variance budget?

References: Augenblick & Rabin (2021, *QJE* 136(2)) for the variance budget;
Nordhaus (1987, *REStat* 69(4)) for revision autocorrelation; Bordalo, Gennaioli,
Ma & Shleifer (2020, *AER*) / Coibion & Gorodnichenko (2015) for the
revision–error regression; Lo & MacKinlay (1988, *RFS* 1) for variance ratios.
Formulas, pitfalls and measured size/power: docs/checks.md, docs/validation.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
from forecheck.stats import dists as stats

from forecheck.checks import CheckSpec
from forecheck.checks.context import CheckContext
from forecheck.details import (BudgetPart, DependenceDetails, ExcessInference, ExcessMovementDetails,
                               FamilyDependence, FlaggedSeries, P0Stratum, QuestionRow, QuestionsSummary, RegressionDetails, RevisionAutocorrelationDetails,
                               RevisionErrorDetails, SeriesScreenDetails, SeriesZ,
                               TauBin, VarianceRatioAt, VarianceRatioDetails)
from forecheck.errors import InsufficientDataError
from forecheck.panel import Panel
from forecheck.results import Measurement, SimulationCap
from forecheck.stats.asymptotic import choose_reference
from forecheck.stats.bootstrap import (SIM_CELLS, error_regression_pvalue, excess_inference, reduction_variance,
                                       studentiser)
from forecheck.stats.budget import uncertainty
from forecheck.stats.clustered import cluster_ols, wild_cluster_bootstrap_p
from forecheck.stats.dependence import COMMON_DRIFT_Z, unit_design_effect, unit_design_effects
from forecheck.stats.evalue import excess_screen, lower_bound_into
from forecheck.stats.multitest import adjust_pvalues
from forecheck.stats.streams import group_keys, series_keys, stream_order
from forecheck.stats.questions import question_budget
from forecheck.stats.variance_ratio import variance_ratio_scores, widen

FAMILY = "MG"
P0_EDGES = np.array([0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0])
VR_QS = (2, 5, 10)

#: values per block of the passes done a block at a time (a block's values, codes and
#: scratch stay in cache, and no N-sized temporary is formed)
_BLOCK = 1 << 15


# ----------------------------------------------------------------- helpers
def _position(panel: Panel) -> np.ndarray:
    """0-based position of each in-flight increment within its series."""
    pos = panel.step_in_series[panel.increment_rows]
    pos -= 1
    return pos


# ------------------------------------------------------------------ MG101
def _mg101_inputs(ctx: CheckContext) -> tuple[Panel, np.ndarray]:
    """The series MG101 and MG102 pool (computed once per run: MG102 reuses the
    panel, with the increments MG101 derived from it)."""
    def make():
        panel, _ = ctx.pooled()
        mask = panel.resolved | (panel.lengths >= ctx.config.min_length)
        return panel.select_series(mask), mask, {}
    return ctx.cached("mg101_inputs", make)[:2]


def _mg101_shared(ctx: CheckContext) -> dict:
    """Work MG101 hands to MG102 on the same panel (its excess terms d): kept with
    ``mg101_inputs``, so it is dropped with it after the last of the two."""
    return ctx.cache["mg101_inputs"][2]


def _increment_times(pan: Panel, cells) -> np.ndarray | None:
    """The times of ``pan``'s in-flight increments, which the design effect of values
    on them reads only to form their cells: None when the cells are given
    (``ctx.increment_cells``)."""
    return pan.time[pan.increment_rows] if cells is None else None


def _excess_d(pan: Panel) -> np.ndarray:
    """d = [(1 − 2p_{t−1})Δp_t for the in-flight steps, then (1 − 2p_last)(o − p_last) per
    resolved series] (A-R 2021 pathwise identity, p. 10 fn 21), written into one buffer
    (the values of concatenating the two parts)."""
    res = pan.resolved
    pl = pan.p_last[res]
    n_in = len(pan.dp)
    d = np.empty(n_in + len(pl))
    _one_minus_twice(pan.dp_prev_p, out=d[:n_in])
    d[:n_in] *= pan.dp
    d[n_in:] = (1 - 2 * pl) * (pan.outcome[res] - pl)
    return d


def _excess_terms(pan: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-step d = (1 − 2p_{t−1})Δp_t including resolution steps, with series,
    time and p_{t−1} (A-R 2021 pathwise identity, p. 10 fn 21)."""
    res = pan.resolved
    pl = pan.p_last[res]
    d = _excess_d(pan)
    s = np.concatenate([pan.dp_series, np.flatnonzero(res)])
    t = np.concatenate([pan.time[pan.increment_rows], pan.resolution_time[res]])
    prev = np.concatenate([pan.dp_prev_p, pl])
    return d, s, t, prev


#: how MG101's t is studentised (details.inference.method; both engines)
MG101_STUDENTISER = ("t = ΣX/√(deff·V), V = max(min(Σ(1−2p)²Δp², Σ(1−2p)²(u(p_{t−1})−u(p_t))), "
                     "Σ(1−2p)²Δp²/4)")


def excess_reduction_variance(pan: Panel) -> np.ndarray:
    """Per step of :func:`_excess_terms` (same order: in-flight steps, then resolution
    steps) the term (1 − 2p_{t−1})²(u(p_{t−1}) − u(p_t)) of R, the variance of ΣX that
    the realised uncertainty reduction implies (``stats/bootstrap.reduction_variance``);
    at a resolution step p_t is the outcome."""
    return _reduction_terms(pan, _inflight_reduction(pan))


def _inflight_reduction(pan: Panel) -> np.ndarray:
    """u(p_{t−1}) − u(p_t) of the in-flight steps (the values of
    ``uncertainty(pan.dp_prev_p) − uncertainty(pan.p[pan.increment_rows])``: u(p) =
    p(1 − p) as (1 − p)·p, the same product) in one N-sized buffer instead of six."""
    prev = pan.dp_prev_p
    red = np.subtract(1.0, prev)
    red *= prev
    rows = pan.increment_rows
    cur, u = np.empty(min(_BLOCK, len(red))), np.empty(min(_BLOCK, len(red)))
    for a in range(0, len(red), _BLOCK):  # u(p_t) a block at a time: no (N,) p_t or u(p_t)
        n = min(_BLOCK, len(red) - a)
        np.take(pan.p, rows[a:a + n], out=cur[:n], mode="clip")  # (in range; not buffered)
        np.subtract(1.0, cur[:n], out=u[:n])
        u[:n] *= cur[:n]
        red[a:a + n] -= u[:n]
    return red


def _one_minus_twice(p: np.ndarray, out: np.ndarray) -> np.ndarray:
    """1 − 2p into ``out`` (the values of ``1 - 2 * p``)."""
    np.multiply(p, 2, out=out)
    return np.subtract(1, out, out=out)


def _reduction_terms(pan: Panel, red: np.ndarray) -> np.ndarray:
    """:func:`excess_reduction_variance` from the in-flight reductions
    ``red`` = u(p_{t−1}) − u(p_t) (the same values: (1 − 2p_{t−1})² · red, then the
    resolution steps), written into one buffer."""
    res = pan.resolved
    pl = pan.p_last[res]
    n_in = len(red)
    out = np.empty(n_in + len(pl))
    w = _one_minus_twice(pan.dp_prev_p, out=out[:n_in])
    np.square(w, out=w)
    w *= red
    out[n_in:] = reduction_variance(pl, pan.outcome[res])
    return out


def _tau_bins(panel: Panel, tau: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Edges and labels of the time-to-resolution bins (at most 4). ``tau`` may be
    reordered (its quantiles are taken in place: no copy of the N values)."""
    if panel.time_unit == "day":
        edges = np.array([0, 7, 30, 90, np.inf])
        labels = ["≤ 7 days", "8–30 days", "31–90 days", "> 90 days"]
    else:
        qs = (np.unique(np.quantile(tau, [0, 0.25, 0.5, 0.75, 1.0], overwrite_input=True)) if len(tau)
              else np.array([0, 1]))
        edges = np.concatenate([[-np.inf], qs[1:-1], [np.inf]]) if len(qs) > 2 else np.array([-np.inf, np.inf])
        labels = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            lo_s = "" if not np.isfinite(lo) else f"> {lo:g}"
            hi_s = "" if not np.isfinite(hi) else f"≤ {hi:g}"
            labels.append(" and ".join(x for x in (lo_s, hi_s) if x) or "all")
    return edges, labels


def _bin_codes(x: np.ndarray, edges: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each value, ``clip(searchsorted(edges, x, side="left") − 1, 0, n_bins − 1)``,
    as int8 (n_bins ≤ 127), a block at a time: no (N,) int64 codes."""
    out = np.empty(len(x), np.int8)
    for a in range(0, len(x), _BLOCK):
        k = np.searchsorted(edges, x[a:a + _BLOCK], side="left")
        k -= 1
        np.clip(k, 0, n_bins - 1, out=k)
        out[a:a + _BLOCK] = k
    return out


def _group_by_bin(values: np.ndarray, kb: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    """``out[bounds[j]:bounds[j + 1]] = values[kb == j]`` for every bin j (``bounds``:
    the cumulative counts of the bins, from 0): each bin's values in order, so a sum over
    its range is the sum over the boolean selection, the same floats. A block at a time:
    ``values`` is read once, not once per bin, and no (N,) mask or selection is formed."""
    pos = np.array(bounds[:-1], np.int64)
    for a in range(0, len(values), _BLOCK):
        kk, v = kb[a:a + _BLOCK], values[a:a + _BLOCK]
        for j in range(len(pos)):
            at = np.flatnonzero(kk == j)
            if len(at):
                np.take(v, at, out=out[pos[j]:pos[j] + len(at)], mode="clip")  # (in range; not buffered)
                pos[j] += len(at)


def questions_summary(ctx: CheckContext) -> QuestionsSummary | None:
    """Per-question budgets (A-R 2021 Prop. 3) of the questions found, for MG101's
    details and the input header; None when no series form questions."""
    q = ctx.questions()
    if q.n_questions == 0:
        return None
    b = ctx.budget()
    qb = question_budget(q.label, q.n_questions, b.movement, b.uncertainty_reduction, b.resolved)
    first = np.full(q.n_questions, ctx.panel.n_series, dtype=np.int64)
    np.minimum.at(first, q.label[q.label >= 0], np.flatnonzero(q.label >= 0))
    name = (q.names if q.source == "declared" else
            np.array([f"{ctx.panel.ids[i]} (+{k - 1})" for i, k in zip(first, q.size)], dtype=object))
    top = np.argsort(-qb.excess)[:10]
    rows = tuple(QuestionRow(question=str(name[j]), n_outcomes=int(q.size[j]), uncertainty=float(qb.uncertainty[j]),
                             movement=float(qb.movement[j]),
                             ratio=float(qb.movement[j] / qb.uncertainty[j]) if qb.uncertainty[j] > 0 else None,
                             resolved=bool(qb.resolved[j])) for j in top)
    su, sm = float(qb.uncertainty.sum()), float(qb.movement.sum())
    return QuestionsSummary(
        source=q.source, n_questions=q.n_questions, n_series_in_questions=q.n_in_questions,
        outcomes_per_question={str(k): v for k, v in q.size_counts().items()},
        n_mirrors_dropped=int(q.redundant().sum()), n_probabilities_not_summing=int(len(q.bad_prob)),
        n_outcomes_not_summing=int(len(q.bad_outcome)), uncertainty=su, movement=sm,
        ratio=sm / su if su > 0 else None, largest=rows, summary=q.summary())


def check_mg101(ctx: CheckContext) -> Measurement:
    pan, mask = _mg101_inputs(ctx)
    if pan.n_series == 0:
        raise InsufficientDataError("no resolved series and none with "
                                    f"{ctx.config.min_length}+ forecasts")
    b = ctx.pooled_budget().select(mask)
    sm, sr, sx = float(b.movement.sum()), float(b.uncertainty_reduction.sum()), float(b.excess.sum())
    if sr <= 0:
        raise InsufficientDataError("no uncertainty to reduce (every series starts at 0 or 1)")
    ratio = sm / sr
    # cross-series dependence of the in-flight excess terms (MG106 logic, same-time
    # cells), centred so that a common non-zero mean (the effect under test) is not
    # read as correlation. The resolution steps usually share one date, where
    # dependence cannot be estimated; MG106's count stands in for them (below).
    # (_excess_terms' d and series; the in-flight terms are its first len(dp) entries,
    # their series pan.dp_series and times pan.time[pan.increment_rows])
    res = pan.resolved
    res_idx = np.flatnonzero(res)
    n_in = len(pan.dp)
    d = _excess_d(pan)
    d2 = np.square(d)
    sv = float(np.sum(d2))  # Σ_i V_i, V_i = Σ_t d_t²: unbiased for Var(ΣX) under H0
    # per-series Σ d²: bincount adds each series' terms in row order, the resolution
    # term last, so the in-flight sums plus the resolution terms are its sums over d
    b_v = np.bincount(pan.dp_series, weights=d2[:n_in], minlength=pan.n_series).astype(float, copy=False)
    b_v[res_idx] += d2[n_in:]
    dc = np.subtract(d[:n_in], d[:n_in].mean() if n_in else 0.0, out=d2[:n_in])  # (in d2's buffer)
    del d2
    _mg101_shared(ctx)["d"] = d  # MG102 screens the same terms
    cells = ctx.increment_cells(pan, mask)
    dep_x = unit_design_effect(dc, pan.dp_series, _increment_times(pan, cells), pan.question, pan.cluster,
                               cells=cells)
    del cells
    del dc
    deff = dep_x.deff
    ctx.cache["neff.MG101"] = ("excess terms", dep_x)
    dep = ctx.dependence()  # (before the reduction terms are held: lower peak memory)
    # R = Σ (1 − 2p_{t−1})²(u(p_{t−1}) − u(p_t)), the variance the realised uncertainty
    # reduction implies (also unbiased under H0); t is studentised by the smaller (floored),
    # the one the alternative does not inflate (stats/bootstrap.studentiser; docs/validation.md).
    # The in-flight u(p_{t−1}) − u(p_t) are kept for the time-to-resolution bins below.
    red = _inflight_reduction(pan)
    sr_var = float(np.sum(_reduction_terms(pan, red)))
    sv_t = float(studentiser(sv, sr_var)) if sv > 0 else sv
    se_sum = np.sqrt(deff * sv_t) if sv > 0 else np.inf
    stat = sx / se_sum if sv > 0 else 0.0
    se_ratio = se_sum / sr if sv > 0 else 0.0
    sd_null = float(se_sum)
    # in-flight vs resolution split; their separate budgets
    m_in, m_res = float(b.movement_inflight.sum()), float(b.movement_resolution.sum())
    u_last = uncertainty(pan.p_last)
    budget_res = float(u_last[res].sum())  # E[(o − p_last)² | p_last] = u(p_last)
    budget_in = float((uncertainty(pan.p0) - u_last).sum())  # E[m_in] = u0 − E[u(p_last)]
    # strata of p0, with a stratified simulated p-value each
    p0 = pan.p0
    strata = []
    k = np.clip(np.searchsorted(P0_EDGES, p0, side="right") - 1, 0, len(P0_EDGES) - 2)
    n_st = len(P0_EDGES) - 1  # at most 7 strata
    xj_, vj_ = (np.bincount(k, weights=w, minlength=n_st) for w in (b.excess, b_v))
    with np.errstate(divide="ignore", invalid="ignore"):
        tj_ = np.where(vj_ > 0, xj_ / np.sqrt(deff * np.where(vj_ > 0, vj_, 1.0)), np.nan)
    # p-values: parametric martingale bootstrap-t, or N(0, 1) when many independent
    # series carry the variance (stats/bootstrap.excess_inference, stats/asymptotic.py)
    n_eff_x = float(dep_x.n_eff)  # effective independent units of the excess terms (questions, clusters)
    n_eff_gate = min(n_eff_x, dep.n_eff) if dep.n_cells > 0 else n_eff_x
    inf = excess_inference(pan, stat, b_v, deff, n_eff_gate, k, tj_,
                           int(ctx.config.n_sim), ctx.rng("MG101"))
    pval, q_lo, q_hi, K = inf.pvalue, inf.q_lo, inf.q_hi, inf.draws_per_series
    ci = (max(0.0, ratio - q_hi * se_ratio), ratio - q_lo * se_ratio)
    for j in range(n_st):
        sel = k == j
        if not sel.any():
            continue
        rj = float(b.uncertainty_reduction[sel].sum())
        xj = float(b.excess[sel].sum())
        pj = inf.strata_pvalues[j]  # descriptive breakdown (at most 999 draws each when simulated)
        strata.append(P0Stratum(p0_from=float(P0_EDGES[j]), p0_to=float(P0_EDGES[j + 1]), n_series=int(sel.sum()),
                                movement=float(b.movement[sel].sum()), uncertainty_reduction=rj, excess=xj,
                                ratio=float(b.movement[sel].sum() / rj) if rj > 0 else None, pvalue=float(pj),
                                reference=inf.strata_references[j]))
    # time to resolution: per in-flight step (τ at the earlier forecast), plus the resolution step
    not_last = np.ones(pan.n_obs, bool)  # rows t − 1 of the increments: all but each series' last
    not_last[pan.last_row] = False
    ttr = pan.time_to_resolution
    tau = ttr[not_last]  # (= [increment_rows − 1], without the N indices)
    edges, labels = _tau_bins(pan, tau)  # (tau reordered: from here only a buffer of n_in values)
    kb = _bin_codes(ttr, edges, len(labels))[not_last]
    del not_last, ttr
    by_tau = []
    # per bin the sums of red[kb == j], Δp²[kb == j] and d[kb == j]: each gathered into
    # its range of tau's buffer and summed there (the squares formed after the gather)
    bounds = np.concatenate([[0], np.cumsum([np.count_nonzero(kb == j) for j in range(len(labels))])])
    sums = []
    for v, square in ((red, False), (pan.dp, True), (d[:n_in], False)):
        _group_by_bin(v, kb, bounds, out=tau)
        if square:
            np.square(tau, out=tau)
        sums.append([float(tau[bounds[j]:bounds[j + 1]].sum()) for j in range(len(labels))])
    del tau, kb
    for j, lab in enumerate(labels):
        n_j = int(bounds[j + 1] - bounds[j])
        if n_j == 0:
            continue
        rj, mj, xj = sums[0][j], sums[1][j], sums[2][j]
        by_tau.append(TauBin(time_to_resolution=lab, n_steps=n_j, movement=mj, uncertainty_reduction=rj,
                             excess=xj, ratio=mj / rj if rj > 0 else None))
    if res.any():
        by_tau.append(TauBin(time_to_resolution="resolution step", n_steps=int(res.sum()), movement=m_res,
                             uncertainty_reduction=budget_res, excess=float(m_res - budget_res),
                             ratio=m_res / budget_res if budget_res > 0 else None))
    direction = "moves too much" if ratio > 1 else "moves too little"
    # The resolution steps of one election share one date, so their dependence (a
    # common polling miss) cannot be estimated from the excess terms themselves;
    # the revisions' effective number of series (MG106) stands in for it: the
    # runner's dependence gate takes the smaller count (n_eff_gate, above).
    n_eff_own = n_eff_x
    B = int(ctx.config.n_sim)
    caps = () if inf.reference.analytic or K >= B else (SimulationCap(
        what="MG101 simulated martingale paths per series", requested=B, used=int(K),
        reason=f"rows × draws capped at {SIM_CELLS:,} (memory); the B draws resample these paths"),)
    details = ExcessMovementDetails(
        ratio=ratio, movement=sm, uncertainty_reduction=sr, excess=sx,
        n_series=pan.n_series, n_resolved=int(res.sum()), n_excluded=int((~mask).sum()), direction=direction,
        inflight=BudgetPart(m_in, budget_in, m_in / budget_in if budget_in > 0 else None),
        resolution=BudgetPart(m_res, budget_res, m_res / budget_res if budget_res > 0 else None),
        by_p0=tuple(strata), by_time_to_resolution=tuple(by_tau),
        volatility_seller_profit=sx, volatility_seller_profit_per_series=sx / pan.n_series,
        inference=ExcessInference(
            method=("N(0, 1) reference (many independent series carry the variance; " if inf.reference.analytic
                    else "parametric martingale bootstrap-t (") + "probit bridge matched per series; "
                   + MG101_STUDENTISER + ")",
            n_sim=B, draws_per_series=int(K), design_effect=deff, n_eff=n_eff_own,
            rho_excess_terms=dep_x.rho_units, se_of_excess=sd_null, n_eff_increments=dep.n_eff, n_eff_gate=n_eff_gate,
            reference=inf.reference.as_dict()),
        questions=questions_summary(ctx))
    msg = (f"movement is {ratio:.2f}× the uncertainty reduction ({direction}); a volatility seller holding "
           f"(1 − 2p) YES contracts made {sx:+.3f} per $1 notional over {pan.n_series} series")
    return Measurement(statistic=float(stat), pvalue=pval, estimate=ratio, ci=(float(ci[0]), float(ci[1])),
                       nobs=pan.n_series, message=msg, details=details,
                       null="H0: E[movement] = E[uncertainty reduction] (ratio 1; A-R 2021 Prop. 1)",
                       alternative="two-sided", n_eff=n_eff_own, n_units=dep_x.n_units or pan.n_series, caps=caps)


# ------------------------------------------------------------------ MG102
def _mg102_terms(pan: Panel, d: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MG101's excess terms d (in-flight steps, then resolution steps), their series
    and lower bounds c_t (``_excess_terms`` without the times MG102 does not use).
    ``d``: MG101's terms when it ran on ``pan`` (the same values)."""
    res = pan.resolved
    pl = pan.p_last[res]
    if d is None:
        d = _excess_d(pan)
    s = np.concatenate([pan.dp_series, np.flatnonzero(res)])
    # c = lower_bound(np.concatenate([pan.dp_prev_p, pl])), written part by part
    c = np.empty(len(d))
    lower_bound_into(pan.dp_prev_p, c[:len(pan.dp)])
    lower_bound_into(pl, c[len(pan.dp):])
    return d, s, c


def check_mg102(ctx: CheckContext) -> Measurement:
    pan, mask = _mg101_inputs(ctx)
    if pan.n_series == 0:
        raise InsufficientDataError("no series to screen")
    d, s, c = _mg102_terms(pan, _mg101_shared(ctx).pop("d", None))
    pv, x, v = excess_screen(d, c, s, pan.n_series)
    del d, s, c
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, x / np.sqrt(v), 0.0)
    q_bh = adjust_pvalues(pv, "bh")
    holm = adjust_pvalues(pv, "holm")
    alpha = ctx.config.alpha
    S = ctx.panel.n_series
    keep = ctx.pooled()[1]
    at = np.flatnonzero(keep)[mask]  # full-panel index of each screened series
    # a mirror contract (dropped from the pooled panel) shows its question's values
    units = ctx.questions().units()
    src = np.full(int(units.max()) + 1 if S else 0, -1, dtype=np.int64)
    src[units[at]] = np.arange(len(at))
    for col, vals in (("mg102_z", z), ("mg102_p", pv), ("mg102_q", q_bh)):
        k = src[units] if S else np.zeros(0, np.int64)
        full = np.where(k >= 0, vals[np.maximum(k, 0)] if len(vals) else np.nan, np.nan)
        ctx.series_columns[col] = full
    ratio = ctx.pooled_budget().select(mask).ratio
    return mg102_measurement(pan.ids, x, ratio, z, pv, q_bh, holm, pan.lengths, alpha)


def mg102_measurement(ids: np.ndarray, x: np.ndarray, ratio: np.ndarray, z: np.ndarray, pv: np.ndarray,
                      q_bh: np.ndarray, holm: np.ndarray, n: np.ndarray, alpha: float) -> Measurement:
    """MG102's record from the screened series' excess, ratio, z, p-values (BH q,
    Holm) and lengths; both engines build it here."""
    flagged = np.flatnonzero(q_bh < alpha)
    order = flagged[np.argsort(pv[flagged])]
    listed = tuple(FlaggedSeries(id=str(ids[i]), excess=float(x[i]),
                                 ratio=float(ratio[i]) if np.isfinite(ratio[i]) else None, z=float(z[i]),
                                 pvalue=float(pv[i]), qvalue=float(q_bh[i]), n=int(n[i]))
                   for i in order[:50])
    top = np.argsort(-z)[:5]
    S = len(ids)
    details = SeriesScreenDetails(
        n_series=S, n_flagged=int(len(flagged)), flagged=listed,
        largest_z=tuple(SeriesZ(id=str(ids[i]), z=float(z[i]), pvalue=float(pv[i])) for i in top),
        method="mixture empirical-Bernstein supermartingale bound (valid for any bounded "
               "martingale), Benjamini-Hochberg across series",
        z_note="z = X/sqrt(Σ(1−2p)²Δp²) is descriptive: oversized for jumpy series")
    pmin = float(np.nanmin(holm)) if len(holm) else 1.0
    msg = (f"{len(flagged)} of {S} series move implausibly much for their budget"
           + (": " + ", ".join(f.id for f in listed[:5]) + (" …" if len(listed) > 5 else "") if listed else ""))
    return Measurement(statistic=float(np.max(z)) if len(z) else None, pvalue=pmin, estimate=float(len(flagged)),
                       nobs=S, message=msg, details=details,
                       null="H0: each series is a martingale", alternative="greater (too much movement)")


# ------------------------------------------------------------------ MG103 / MG104
def _cluster_codes(group_of_series: np.ndarray, series: np.ndarray, n_series: int) -> tuple[np.ndarray, int]:
    """``clustered._codes(group_of_series[series])`` (codes in sorted-label order, and
    their number) from a factorisation of the S series' labels instead of N rows'."""
    import pandas as pd

    present = np.bincount(series, minlength=n_series) > 0
    c_s, uniq = pd.factorize(np.asarray(group_of_series)[present], sort=True)
    code_of_series = np.full(n_series, -1, dtype=np.int64)
    code_of_series[present] = c_s
    return code_of_series[series], len(uniq)


def _design(rows: list[np.ndarray], pan: Panel):
    """The (WLS-scaled) design of a series-clustered regression from its rows
    [y, x, series, time] or [y, x, series, time, weights] (the list is emptied, so
    rows the caller holds nowhere else are freed once used): √w·y, X = [√w, √w·x],
    series, time, the cluster codes and the cluster label of each series."""
    y, x, series, time = rows[:4]
    weights = rows[4] if len(rows) > 4 else None
    rows.clear()
    if weights is not None:  # WLS: rows scaled by √w (the constant column becomes √w)
        keep = weights > 0
        if keep.all():
            sw = np.sqrt(weights)
        else:
            sw = np.sqrt(weights[keep])
            y, x, series, time = y[keep], x[keep], series[keep], time[keep]
        del weights, keep
        X = np.empty((len(sw), 2))  # (= np.column_stack([sw, sw * x]), without the temporary sw * x)
        X[:, 0] = sw
        np.multiply(sw, x, out=X[:, 1])
        del x
        y = sw * y
    else:  # weight 1: the scaled rows are the rows (1·v = v)
        X = np.empty((len(y), 2))
        X[:, 0] = 1.0
        X[:, 1] = x
        del x
        y = np.asarray(y, dtype=float)  # (read, never written, by the regression)
    return _with_codes(y, X, series, time, pan)


def _with_codes(y: np.ndarray, X: np.ndarray, series: np.ndarray, time: np.ndarray, pan: Panel):
    """:func:`_design`'s result from its scaled rows: the cluster codes of the rows and
    the cluster label of each series added (InsufficientDataError with too few)."""
    # the cluster of each row: contracts nest in questions, questions in declared clusters
    if pan.cluster is not None:
        group_of_series = pan.cluster.astype(str)
    else:
        group_of_series = pan.question if pan.question is not None else np.arange(pan.n_series)
    codes = _cluster_codes(group_of_series, series, pan.n_series)
    G = codes[1]
    if G < 3 or len(y) < 10:
        raise InsufficientDataError(f"too few clusters ({G}) or observations ({len(y)}) for a clustered regression")
    return y, X, series, time, codes, group_of_series


def _regression(ctx: CheckContext, code: str, make_design: Callable[[], tuple], pan: Panel,
                cells=None) -> dict:
    """A series-clustered (WLS) regression of y on x with CR1 SEs widened by the
    design effect of its own scores, and a wild cluster restricted bootstrap p.

    ``make_design()`` gives the design (``_design`` of the rows). It is freed before
    the scores' design effect is measured and formed again only when the wild
    bootstrap needs it (few independent clusters: small panels)."""
    y, X, series, time, codes, group_of_series = make_design()
    G = codes[1]
    fit = cluster_ols(y, X, None, codes=codes, keep_resid=True)
    if not np.isfinite(fit.bse[1]) or fit.bse[1] == 0:
        raise InsufficientDataError("no variation in the regressor (all revisions zero?)")
    # score = (x − x̄)·û, formed in the residuals' buffer (û = y − Xβ from the fit)
    score = fit.resid
    fit = replace(fit, resid=None)
    score *= np.subtract(X[:, 1], X[:, 1].mean())
    n_obs = len(y)
    # the squared cluster sums of the score: the variance contributions of
    # stats.asymptotic.cluster_score_reference (formed here, as it forms them)
    s_g = np.bincount(codes[0].ravel(), weights=np.asarray(score, dtype=float))
    del y, X, codes
    # dependence across units of the scores summed within units (unit_design_effect);
    # the CR1/WCR clusters already absorb dependence within a unit
    dep_u = unit_design_effect(score, series, time, pan.question, pan.cluster, cells=cells)  # (cells: of series, time)
    del score, time, series
    ctx.cache[f"neff.{code}"] = ("regression scores", dep_u)
    if pan.cluster is None:
        deff = dep_u.deff_across_used
        n_eff = dep_u.n_eff
    else:
        deff, n_eff = 1.0, float(G)
    dep106 = ctx.dependence()
    n_eff_ref = min(n_eff, dep106.n_eff) if dep106.n_cells > 0 else n_eff
    # many independent clusters carrying the score variance: the CR1 t's t(G − 1)
    # reference (stats/asymptotic.py); else the wild bootstrap, weights in data-key order
    ref = choose_reference(s_g**2, deff, n_eff_ref)
    p_t = float(2 * stats.t.sf(abs(fit.tvalues[1] / np.sqrt(deff)), G - 1))
    if ref.analytic:
        p_boot = p_t
    else:
        y, X, series, _, codes, _ = make_design()  # the same design again
        order = stream_order(group_keys(series_keys(pan), series, None, codes=codes))  # (codes of those rows)
        p_boot, _ = wild_cluster_bootstrap_p(y, X, None, 1, n_boot=int(ctx.config.n_sim), rng=ctx.rng(code),
                                             deff=deff, order=order, codes=codes)
    se = fit.bse[1] * np.sqrt(deff)
    tcrit = stats.t.ppf(0.975, G - 1)
    return {"beta": float(fit.params[1]), "alpha": float(fit.params[0]), "se": float(se),
            "t": float(fit.tvalues[1] / np.sqrt(deff)), "p_boot": p_boot,
            "p_t": p_t, **ref.as_dict(),
            "ci": (float(fit.params[1] - tcrit * se), float(fit.params[1] + tcrit * se)),
            "n_obs": int(n_obs), "n_clusters": int(G), "deff": float(deff), "n_eff": float(n_eff),
            "se_cr1_unwidened": float(fit.bse[1])}


def _regression_details(ctx: CheckContext, cls: type[RegressionDetails], r: dict, reading: str, method: str,
                        **extra) -> RegressionDetails:
    # n_eff reported = the count the dependence gate uses (own scores and MG106's)
    dep = ctx.dependence()
    n_eff = min(r["n_eff"], dep.n_eff) if dep.n_cells > 0 else r["n_eff"]
    return cls(**{**r, "n_eff": n_eff}, reading=reading, method=method, **extra)


def _regression_measurement(r: dict, details: RegressionDetails, null: str, msg: str) -> Measurement:
    """MG103/MG104's record; the runner's dependence gate decides whether its
    p-value stands (own count from the regression scores, units = clusters)."""
    return Measurement(statistic=r["t"], pvalue=r["p_boot"], estimate=r["beta"], ci=r["ci"], nobs=r["n_obs"],
                       message=msg, details=details, null=null, alternative="two-sided",
                       n_eff=r["n_eff"], n_units=r["n_clusters"])


RES_NEAR_EDGE = 1.5  # resolution from within this many rms revisions of 0/1 counts as an ordinary revision


def mg103_rows(pan: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows (y = Δp_t, x = Δp_{t−1}, series, time, WLS weight) of MG103's regression.

    In-flight pairs have weight 1. The resolution step o − p_last of a resolved series
    is its final revision (x = its last in-flight revision): a series that stops when
    it is absorbed at 0/1 ends at a random time, and dropping the absorbing step
    conditions the kept pairs on "not absorbed now" (from 1% only the up-move is
    kept), which biases β < 0. With the resolution step included, every pair obeys
    E[Δp_t | F_{t−1}, series still running] = 0 (optional stopping), so any weight
    known at t−1 keeps the moment E[w_t Δp_{t−1} Δp_t] = 0. Weights are 1/Var̂ of the
    step relative to the series' in-flight mean square v_i = mean Δp²:
    Var(o − p_last | F_T) = p_last(1 − p_last) for a scheduled resolution (weight
    v_i / (p_last(1 − p_last)), so one outcome jump per series does not drown the
    revisions), but when p_last lies within RES_NEAR_EDGE·√v_i of 0 or 1 the
    resolving step is indistinguishable from an absorbing revision of ordinary size
    and gets weight 1, like the in-flight step it could have been.
    """
    cur, res, w_res, y_res, x_res = _mg103_parts(pan)
    # in-flight pairs in [:m], resolution rows after them: each column filled in place
    # (np.take into a slice; mode="clip" is not buffered, the indices are in range)
    m = len(cur)
    n = m + len(res)
    y, x, t, w = np.empty(n), np.empty(n), np.empty(n), np.ones(n)
    s = np.empty(n, dtype=pan.dp_series.dtype)
    np.take(pan.dp, cur, out=y[:m], mode="clip")
    np.take(pan.dp_series, cur, out=s[:m], mode="clip")
    cur -= 1
    np.take(pan.dp, cur, out=x[:m], mode="clip")
    cur += 1
    np.take(pan.increment_rows, cur, out=cur, mode="clip")
    np.take(pan.time, cur, out=t[:m], mode="clip")
    del cur
    if len(res):
        w[m:], y[m:], x[m:] = w_res, y_res, x_res
        s[m:] = res
        t[m:] = pan.resolution_time[res]
    return y, x, s, t, w


def _mg103_parts(pan: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`mg103_rows` is formed from: the in-flight increments that are a
    pair's Δp_t (all but each series' first), and the resolution rows' series,
    weights, y = o − p_last and x = the last in-flight Δp (weights: mg103_rows)."""
    cur = _later_increments(pan)
    n_inc = np.bincount(pan.dp_series, minlength=pan.n_series)
    v = np.bincount(pan.dp_series, weights=pan.dp**2, minlength=pan.n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n_inc > 0, v / np.maximum(n_inc, 1), 0.0)
    res = np.flatnonzero(pan.resolved & (n_inc >= 1) & (v > 0))
    last_inc = pan.offsets[res + 1] - 1 - res - 1  # index of the series' last in-flight increment
    pl = pan.p_last[res]
    u = pl * (1 - pl)
    near = np.minimum(pl, 1 - pl) <= RES_NEAR_EDGE * np.sqrt(v[res]) + 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(near, 1.0, np.minimum(1.0, v[res] / np.where(u > 0, u, np.inf)))
    return cur, res, w, pan.outcome[res] - pl, pan.dp[last_inc]


def _later_increments(pan: Panel) -> np.ndarray:
    """``np.flatnonzero(_position(pan) >= 1)``, the in-flight increments after the first
    of their series, without the N positions: all but each series' first (increment
    ``offsets[i] − i`` of a series i with two or more rows)."""
    later = np.ones(len(pan.dp), bool)
    moves = pan.lengths >= 2
    later[(pan.offsets[:-1] - np.arange(pan.n_series))[moves]] = False
    return np.flatnonzero(later)


def mg103_design(pan: Panel):
    """``_design(list(mg103_rows(pan)), pan)``, the rows written into the design
    itself: an in-flight pair has weight 1, so its scaled row is (Δp_t; 1, Δp_{t−1})
    exactly (√1 = 1, 1·v = v) and only the resolution rows are scaled (and dropped
    where their weight is 0), without the weight, √w and unscaled y, x columns."""
    cur, res, w_res, y_res, x_res = _mg103_parts(pan)
    keep = w_res > 0
    if not keep.all():
        res, w_res, y_res, x_res = res[keep], w_res[keep], y_res[keep], x_res[keep]
    m = len(cur)
    n = m + len(res)
    y, X, t = np.empty(n), np.empty((n, 2)), np.empty(n)
    s = np.empty(n, dtype=pan.dp_series.dtype)
    np.take(pan.dp, cur, out=y[:m], mode="clip")
    np.take(pan.dp_series, cur, out=s[:m], mode="clip")
    X[:m, 0] = 1.0
    cur -= 1
    np.take(pan.dp, cur, out=X[:m, 1], mode="clip")
    cur += 1
    np.take(pan.increment_rows, cur, out=cur, mode="clip")
    np.take(pan.time, cur, out=t[:m], mode="clip")
    del cur
    if len(res):
        sw = np.sqrt(w_res)
        X[m:, 0] = sw
        np.multiply(sw, x_res, out=X[m:, 1])
        np.multiply(sw, y_res, out=y[m:])
        s[m:] = res
        t[m:] = pan.resolution_time[res]
    return _with_codes(y, X, s, t, pan)


def check_mg103(ctx: CheckContext) -> Measurement:
    pan, _ = ctx.dynamic()
    if not np.any(pan.lengths >= 3):  # (an increment at position 1 or later)
        raise InsufficientDataError(f"no series with {max(3, ctx.config.min_length)}+ forecasts")
    r = _regression(ctx, "MG103", lambda: mg103_design(pan), pan)
    beta = r["beta"]
    reading = ("smoothing / under-reaction (revisions continue)" if beta > 0
               else "over-reaction or bid-ask bounce (revisions reverse)")
    details = _regression_details(
        ctx, RevisionAutocorrelationDetails, r, reading, "pooled WLS Δp_t = a + β Δp_{t−1} (in-flight revisions plus the "
        "resolution step as final revision, mg103_rows); CR1 cluster SE; "
        "wild cluster restricted bootstrap-t (Rademacher)", p_value_t_G_minus_1=r["p_t"])
    return _regression_measurement(r, details, "H0: β = 0 (revisions unpredictable from the previous revision; "
                                   "Nordhaus 1987)", f"β = {beta:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]: {reading}")


def check_mg104(ctx: CheckContext) -> Measurement:
    pan, _ = ctx.dynamic()
    if not pan.resolved.all():  # (all resolved: the dynamic panel itself, its increments already derived)
        pan = pan.select_series(pan.resolved)
    if pan.n_series == 0 or len(pan.dp) == 0:
        raise InsufficientDataError("no resolved series with in-flight revisions")
    cells = ctx.increment_cells(pan)
    r = _regression(ctx, "MG104", lambda: _design([_forecast_errors(pan), pan.dp, pan.dp_series,
                                                   _increment_times(pan, cells)], pan), pan, cells=cells)
    cells = None  # (the design lambda has run)
    # p-value: the regression's t on matched martingale paths (MG101's parametric
    # bootstrap, stats/bootstrap.py); the symmetric WCR p stays in details
    if r["reference"] == "asymptotic":
        p_sim, caps = r["p_t"], ()
    else:
        p_sim, K = error_regression_pvalue(
            pan, r["t"], int(ctx.config.n_sim), ctx.rng("MG104"),
            cluster=pan.cluster if pan.cluster is not None else pan.question)  # rows summed within questions
        B = int(ctx.config.n_sim)
        caps = () if K >= B else (SimulationCap(what="MG104 simulated martingale paths per series", requested=B,
                                                used=int(K), reason=f"rows × draws capped at {SIM_CELLS:,} (memory)"),)
    p_wcr = r["p_boot"]
    r = {**r, "p_boot": p_sim}
    b = r["beta"]
    reading = ("under-reaction: errors continue the last revision" if b > 0
               else "over-reaction: errors reverse the last revision")
    method = ("t(G − 1) reference (many independent series carry the score variance)" if r["reference"] == "asymptotic"
              else "parametric martingale bootstrap-t (probit bridge paths matched per series, as MG101)")
    details = _regression_details(ctx, RevisionErrorDetails, r, reading,
                                  "pooled OLS (o − p_t) = a + b Δp_t; CR1 cluster SE; " + method, p_wcr_symmetric=p_wcr)
    m = _regression_measurement(r, details, "H0: b = 0 (forecast errors unpredictable from revisions)",
                                f"b = {b:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]: {reading}")
    return replace(m, caps=caps)


def _forecast_errors(pan: Panel) -> np.ndarray:
    """o − p_t at the in-flight increments (``pan.outcome[pan.dp_series] −
    pan.p[pan.increment_rows]``, subtracted in place)."""
    e = pan.outcome[pan.dp_series]
    e -= pan.p[pan.increment_rows]
    return e


# ------------------------------------------------------------------ MG105
def check_mg105(ctx: CheckContext) -> Measurement:
    pan, _ = ctx.dynamic()
    n_inc = np.bincount(pan.dp_series, minlength=pan.n_series)
    qs = tuple(q for q in VR_QS if np.sum(n_inc[n_inc >= 2 * q]) >= 20)
    if not qs:
        raise InsufficientDataError("series too short for a variance ratio (need 4+ revisions)")
    # the scores once; the design effect of their own terms then widens the same scores
    probe = variance_ratio_scores(pan.dp, _position(pan), pan.dp_series, n_inc, qs)
    cells = ctx.increment_cells(pan)
    t_inc = _increment_times(pan, cells)
    # centred, as MG101's excess terms: a common non-zero mean (the effect under test)
    # is not dependence. (np.where(used, v − mean, 0) written into one buffer, which each
    # q's scores reuse: the design effects read each vector before the next is formed.)
    buf = np.empty(len(pan.dp))

    def centred(v: np.ndarray) -> np.ndarray:
        used = v != 0
        np.subtract(v, v[used].mean() if used.any() else 0.0, out=buf)
        buf[~used] = 0.0
        return buf

    # (a generator: each q's centred scores are formed when their cells are summed)
    deps = unit_design_effects((centred(probe.scores[:, j]) for j in range(len(qs))), pan.dp_series, t_inc,
                               pan.question, pan.cluster, cells=cells)
    del t_inc
    cells = buf = None  # (read by centred, which is done: their memory goes back before widen)
    deff = max(d.deff for d in deps)
    dep_vr = min(deps, key=lambda d: d.n_eff)
    ctx.cache["neff.MG105"] = ("variance-ratio terms", dep_vr)
    vr = widen(probe, deff)
    return mg105_measurement(qs, vr.vr, vr.z, vr.pvalues, vr.wald, vr.wald_p, vr.bonferroni_p, vr.n_series,
                             vr.n_steps, deff, dep_vr)


def mg105_measurement(qs: tuple[int, ...], vr: np.ndarray, z: np.ndarray, pv: np.ndarray, wald: float,
                      wald_p: float, bonferroni_p: float, n_series: np.ndarray, n_steps: np.ndarray,
                      deff: float, dep_vr) -> Measurement:
    """MG105's record from its per-q ratios and tests (``variance_ratio.score_tests``);
    both engines build it here."""
    per_q = tuple(VarianceRatioAt(q=q, vr=float(vr[j]), z=float(z[j]), pvalue=float(pv[j]),
                                  n_series=int(n_series[j]), n_steps=int(n_steps[j]))
                  for j, q in enumerate(qs))
    lead = vr[0]
    reading = ("mean reversion (over-reaction or bid-ask bounce)" if lead < 1
               else "momentum (smoothing / under-reaction)")
    details = VarianceRatioDetails(
        by_q=per_q, wald=wald, wald_df=len(qs), wald_chi2_p=wald_p, bonferroni_p=bonferroni_p,
        design_effect=deff, reading=reading,
        method="pooled martingale-transform VR (no drift), self-normalised per q; joint Wald χ²")
    msg = "VR " + ", ".join(f"q={d.q}: {d.vr:.2f}" for d in per_q) + f" ({reading})"
    return Measurement(statistic=float(wald), pvalue=float(wald_p), estimate=float(lead),
                       nobs=int(n_steps[0]), message=msg, details=details,
                       null="H0: VR(q) = 1 for every q (increments uncorrelated; Lo & MacKinlay 1988)",
                       alternative="two-sided", n_eff=dep_vr.n_eff, n_units=dep_vr.n_units)


# ------------------------------------------------------------------ MG106
def check_mg106(ctx: CheckContext) -> Measurement:
    pan, _ = ctx.dynamic()
    if pan.n_series < 2 or len(pan.dp) == 0:
        raise InsufficientDataError("fewer than two series with revisions")
    own = sorted((k[5:], v) for k, v in list(ctx.cache.items()) if k.startswith("neff."))
    return mg106_measurement(ctx.dependence(), own, clusters_declared=pan.cluster is not None,
                             n_clusters=int(np.unique(pan.cluster.astype(str)).size)
                             if pan.cluster is not None else None,
                             n_questions=ctx.questions().n_questions or None)


def mg106_measurement(dep, own: list, *, clusters_declared: bool, n_clusters: int | None,
                      n_questions: int | None) -> Measurement:
    """MG106's record from the increments' dependence and each pooled test's own
    count (``own``: sorted (code, (contributions, UnitDependence))); both engines."""
    if dep.n_cells == 0:
        msg = "series share no forecast times: dependence cannot be measured; treated as independent"
    else:
        msg = (f"same-time revisions correlate on average ρ = {dep.rho:+.2f}: the {dep.n_series} series "
               f"carry about {dep.n_eff:.0f} independent ones")
    shared_drift = bool(dep.n_cells and abs(dep.drift_z) > COMMON_DRIFT_Z)
    if shared_drift:
        msg += (f"; the revisions also drift together (z = {dep.drift_z:+.1f}, about N(0, 1) for a martingale "
                "resolving at fixed times): "
                "a shared drift counts as dependence here — predictable revisions, or series that end when "
                "their event happens, as deadline questions do (docs/checks.md, MG106)")
    if own:  # each pooled test's count on its own contributions (the gate's)
        msg += "; pooled tests' own counts: " + ", ".join(f"{c} {d.n_eff:.0f} of {d.n_units}" for c, (_, d) in own)
    details = DependenceDetails(
        rho=dep.rho, design_effect_increments=dep.deff, n_eff=dep.n_eff, n_series=dep.n_series,
        n_shared_times=dep.n_cells, mean_series_per_time=dep.mean_sharing,
        clusters_declared=clusters_declared, n_clusters=n_clusters,
        method="time-aligned (within declared clusters) design effect of one contract per question; "
               "N_eff = S/(1+(n̄−1)ρ̄); by_family: each pooled test's own count (unit_design_effect)",
        n_questions=n_questions,
        by_family=tuple(FamilyDependence(code=c, contributions=what, n_units=d.n_units, n_eff=d.n_eff,
                                         design_effect=d.deff, design_effect_within_units=d.deff_within)
                        for c, (what, d) in own),
        common_drift_z=dep.drift_z, shared_drift=shared_drift)
    return Measurement(statistic=dep.rho, estimate=dep.n_eff, nobs=dep.n_series, message=msg, details=details,
                       test_based=False, status="pass")


CHECKS: list[CheckSpec] = [
    CheckSpec("MG101", "excess movement", FAMILY, "error", check_mg101,
              "Movement vs uncertainty reduction (Augenblick-Rabin), pooled ratio with simulated p-value",
              dependence_gated=True),
    CheckSpec("MG102", "single-series excess movement", FAMILY, "warning", check_mg102,
              "Series that move implausibly much for their variance budget (one-sided, BH)",
              after=("MG101",)),
    CheckSpec("MG103", "revision autocorrelation", FAMILY, "error", check_mg103,
              "Nordhaus regression of revision on previous revision, series-clustered", dependence_gated=True),
    CheckSpec("MG104", "revision–error regression", FAMILY, "warning", check_mg104,
              "Forecast error on latest revision, series-clustered (resolved series)", dependence_gated=True),
    CheckSpec("MG105", "variance ratio", FAMILY, "error", check_mg105,
              "Lo-MacKinlay robust variance ratios at q = 2, 5, 10, pooled, joint Wald", dependence_gated=True),
    CheckSpec("MG106", "cross-series dependence", FAMILY, "info", check_mg106,
              "Same-time correlation of revisions and effective number of independent series",
              after=("MG101", "MG103", "MG104", "MG105")),
]

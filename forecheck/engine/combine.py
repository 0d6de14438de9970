"""Driver side of the Dask engine: the pooled records from every partition's
contributions (``engine/partials.py``).

Per-series columns are concatenated in series-id order (the in-memory panel's
order) and per-time-cell sums are added cell by cell
(``stats/dependence.combine_cells``/``combine_units``), so MG101, MG102 and MG106
equal the in-memory engine's to rounding. Where the in-memory engine would
simulate a p-value (few effectively independent series) the Dask engine uses the
analytic reference the in-memory engine uses at scale and says so in the record.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from forecheck.checks.martingale import (
    MG101_STUDENTISER,
    P0_EDGES,
    mg102_measurement,
    mg105_measurement,
    mg106_measurement,
)
from forecheck.details import (
    BudgetPart,
    ExcessInference,
    ExcessMovementDetails,
    P0Stratum,
    TauBin,
)
from forecheck.errors import InsufficientDataError
from forecheck.io.findings import merge, merge_notes
from forecheck.results import CheckResult, Measurement
from forecheck.stats.asymptotic import choose_reference
from forecheck.stats.bootstrap import Z975, studentiser, two_sided_normal
from forecheck.stats.budget import uncertainty
from forecheck.stats.dependence import Dependence, UnitDependence
from forecheck.stats.multitest import adjust_pvalues

NOT_COMPUTED = "not computed by the Dask engine; see docs/performance.md"
SIMULATED_NOTE = ("the in-memory engine simulates this p-value (fewer than 1000 effectively independent "
                  "series carry the variance); the Dask engine uses the N(0, 1) reference")


# ------------------------------------------------------------------ input
def combine_findings(parts: list[list[CheckResult]], paths: list[str]) -> list[CheckResult]:
    """The DQ records of the partitions (disjoint sets of whole series) as one record
    per code, as the in-memory engine reports them (io/findings.merge)."""
    by_code: dict[str, list[CheckResult]] = {}
    for recs in parts:
        for r in recs:
            by_code.setdefault(r.code, []).append(r)
    return [merge(by_code[code], paths) for code in sorted(by_code)]


def combine_info(infos: list, time_min: float, time_max: float, paths: list[str], note: str) -> dict:
    from forecheck.io.parse import format_times
    from forecheck.io.validate import add_dropped

    first = infos[0]
    dropped = add_dropped(inf.rows_dropped for inf in infos)
    notes = merge_notes([inf.notes for inf in infos])
    d = first.to_dict()
    d.update(paths=list(paths), format="parquet", rows_read=sum(int(i.rows_read) for i in infos),
             rows_used=sum(int(i.rows_used) for i in infos), rows_dropped=dropped,
             series=sum(int(i.series) for i in infos), resolved_series=sum(int(i.resolved_series) for i in infos),
             short_series=sum(int(i.short_series) for i in infos),
             time_range=list(format_times(first.time_kind, [time_min, time_max])), notes=notes + [note])
    return d


# ------------------------------------------------------------------ tau bins
def _quantiles(values: np.ndarray, counts: np.ndarray, qs: list[float]) -> np.ndarray:
    """np.quantile(np.repeat(values, counts), qs) (method 'linear', numpy's lerp)
    without forming the repeated array; values sorted ascending."""
    n = int(counts.sum())
    cum = np.cumsum(counts)
    out = []
    for q in qs:
        h = (n - 1) * q
        lo = int(np.floor(h))
        g = h - lo
        a = values[np.searchsorted(cum, lo, side="right")]
        b = values[np.searchsorted(cum, min(lo + 1, n - 1), side="right")]
        diff = b - a
        out.append(b - diff * (1 - g) if g >= 0.5 else a + diff * g)
    return np.array(out, dtype=float)


def tau_bins(time_unit: str, tau: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """checks/martingale._tau_bins from the distinct τ values and their counts."""
    if time_unit == "day":
        return (np.array([0, 7, 30, 90, np.inf]), ["≤ 7 days", "8–30 days", "31–90 days", "> 90 days"])
    vals, cnt = tau["tau"].to_numpy(float), tau["n"].to_numpy(np.int64)
    qs = np.unique(_quantiles(vals, cnt, [0, 0.25, 0.5, 0.75, 1.0])) if len(vals) else np.array([0, 1])
    edges = np.concatenate([[-np.inf], qs[1:-1], [np.inf]]) if len(qs) > 2 else np.array([-np.inf, np.inf])
    labels = []
    for lo, hi in pairwise(edges):
        lo_s = "" if not np.isfinite(lo) else f"> {lo:g}"
        hi_s = "" if not np.isfinite(hi) else f"≤ {hi:g}"
        labels.append(" and ".join(x for x in (lo_s, hi_s) if x) or "all")
    return edges, labels


# ------------------------------------------------------------------ MG101
def mg101(pooled: pd.DataFrame, n_excluded: int, tau: pd.DataFrame, time_unit: str, dep_x: UnitDependence,
          dep: Dependence, n_sim: int) -> Measurement:
    """check_mg101 (checks/martingale.py) from per-series columns and combined cells."""
    if len(pooled) == 0:
        raise InsufficientDataError("no resolved series and none with the minimum number of forecasts")
    S = len(pooled)
    movement, red, excess = (pooled[c].to_numpy(float) for c in ("movement", "uncertainty_reduction", "excess"))
    sm, sr, sx = float(movement.sum()), float(red.sum()), float(excess.sum())
    if sr <= 0:
        raise InsufficientDataError("no uncertainty to reduce (every series starts at 0 or 1)")
    ratio = sm / sr
    deff = dep_x.deff
    b_v = pooled["v"].to_numpy(float)
    sv = float(np.sum(b_v))
    sv_t = float(studentiser(sv, float(pooled["r"].sum()))) if sv > 0 else sv  # as check_mg101
    se_sum = np.sqrt(deff * sv_t) if sv > 0 else np.inf
    stat = sx / se_sum if sv > 0 else 0.0
    se_ratio = se_sum / sr if sv > 0 else 0.0
    res = pooled["resolved"].to_numpy(bool)
    m_in, m_res = float(pooled["movement_inflight"].sum()), float(pooled["movement_resolution"].sum())
    p0, p_last = pooled["p0"].to_numpy(float), pooled["p_last"].to_numpy(float)
    u_last = uncertainty(p_last)
    budget_res = float(u_last[res].sum())
    budget_in = float((uncertainty(p0) - u_last).sum())
    k = np.clip(np.searchsorted(P0_EDGES, p0, side="right") - 1, 0, len(P0_EDGES) - 2)
    n_st = len(P0_EDGES) - 1
    xj_, vj_ = (np.bincount(k, weights=w, minlength=n_st) for w in (excess, b_v))
    with np.errstate(divide="ignore", invalid="ignore"):
        tj_ = np.where(vj_ > 0, xj_ / np.sqrt(deff * np.where(vj_ > 0, vj_, 1.0)), np.nan)
    n_eff_x = float(dep_x.n_eff)
    n_eff_gate = min(n_eff_x, dep.n_eff) if dep.n_cells > 0 else n_eff_x
    ref = choose_reference(b_v, deff, n_eff_gate)
    pval = two_sided_normal(stat)
    ci = (max(0.0, ratio - Z975 * se_ratio), ratio + Z975 * se_ratio)
    strata = []
    for j in range(n_st):
        sel = k == j
        if not sel.any():
            continue
        pj = 1.0 if not np.isfinite(tj_[j]) else two_sided_normal(tj_[j])
        rj = float(red[sel].sum())
        mj = float(movement[sel].sum())
        strata.append(P0Stratum(p0_from=float(P0_EDGES[j]), p0_to=float(P0_EDGES[j + 1]), n_series=int(sel.sum()),
                                movement=mj, uncertainty_reduction=rj, excess=float(excess[sel].sum()),
                                ratio=mj / rj if rj > 0 else None, pvalue=float(pj),
                                reference="simulated" if not np.isfinite(tj_[j]) else "asymptotic"))
    edges, labels = tau_bins(time_unit, tau)
    tv = tau["tau"].to_numpy(float)
    kb = np.clip(np.searchsorted(edges, tv, side="left") - 1, 0, len(labels) - 1)
    by_tau = []
    for j, lab in enumerate(labels):
        sel = kb == j
        if not sel.any():
            continue
        rj = float(tau["reduction"].to_numpy()[sel].sum())
        mv = float(tau["movement"].to_numpy()[sel].sum())
        by_tau.append(TauBin(time_to_resolution=lab, n_steps=int(tau["n"].to_numpy()[sel].sum()), movement=mv,
                             uncertainty_reduction=rj, excess=float(tau["excess"].to_numpy()[sel].sum()),
                             ratio=mv / rj if rj > 0 else None))
    if res.any():
        by_tau.append(TauBin(time_to_resolution="resolution step", n_steps=int(res.sum()), movement=m_res,
                             uncertainty_reduction=budget_res, excess=float(m_res - budget_res),
                             ratio=m_res / budget_res if budget_res > 0 else None))
    direction = "moves too much" if ratio > 1 else "moves too little"
    reference = {**ref.as_dict(), "reference": "asymptotic"}
    if not ref.analytic:
        reference["note"] = SIMULATED_NOTE
    details = ExcessMovementDetails(
        ratio=ratio, movement=sm, uncertainty_reduction=sr, excess=sx,
        n_series=S, n_resolved=int(res.sum()), n_excluded=int(n_excluded), direction=direction,
        inflight=BudgetPart(m_in, budget_in, m_in / budget_in if budget_in > 0 else None),
        resolution=BudgetPart(m_res, budget_res, m_res / budget_res if budget_res > 0 else None),
        by_p0=tuple(strata), by_time_to_resolution=tuple(by_tau),
        volatility_seller_profit=sx, volatility_seller_profit_per_series=sx / S,
        inference=ExcessInference(
            method="N(0, 1) reference (many independent series carry the variance; probit bridge matched per "
                   "series; " + MG101_STUDENTISER + ")",
            n_sim=int(n_sim), draws_per_series=0, design_effect=deff, n_eff=n_eff_x,
            rho_excess_terms=dep_x.rho_units, se_of_excess=float(se_sum), n_eff_increments=dep.n_eff,
            n_eff_gate=n_eff_gate, reference=reference),
        questions=None)
    msg = (f"movement is {ratio:.2f}× the uncertainty reduction ({direction}); a volatility seller holding "
           f"(1 − 2p) YES contracts made {sx:+.3f} per $1 notional over {S} series")
    return Measurement(statistic=float(stat), pvalue=pval, estimate=ratio, ci=(float(ci[0]), float(ci[1])),
                       nobs=S, message=msg, details=details,
                       null="H0: E[movement] = E[uncertainty reduction] (ratio 1; A-R 2021 Prop. 1)",
                       alternative="two-sided", n_eff=n_eff_x, n_units=dep_x.n_units or S)


# ------------------------------------------------------------------ MG102
def mg102(pooled: pd.DataFrame, alpha: float) -> tuple[Measurement, pd.DataFrame]:
    """check_mg102 from the per-series p-values; also its series-table columns."""
    if len(pooled) == 0:
        raise InsufficientDataError("no series to screen")
    pv, x, z = (pooled[c].to_numpy(float) for c in ("pv", "x", "z"))
    ratio = pooled["ratio"].to_numpy(float)
    ids = pooled["id"].to_numpy()
    q_bh = adjust_pvalues(pv, "bh")
    m = mg102_measurement(ids, x, ratio, z, pv, q_bh, adjust_pvalues(pv, "holm"), pooled["n"].to_numpy(), alpha)
    cols = pd.DataFrame({"id": ids.astype(str), "mg102_z": z, "mg102_p": pv, "mg102_q": q_bh})
    return m, cols


# ------------------------------------------------------------------ MG106
def mg106(dep: Dependence, n_dynamic: int, n_dp: int, own: dict[str, tuple[str, UnitDependence]],
          clusters: frozenset | None = None, n_questions: int = 0) -> Measurement:
    """check_mg106 from the combined cells; ``own`` the pooled tests' own counts,
    ``clusters`` the declared clusters of the dynamic series (None: none declared),
    ``n_questions`` the declared questions."""
    if n_dynamic < 2 or n_dp == 0:
        raise InsufficientDataError("fewer than two series with revisions")
    return mg106_measurement(dep, sorted(own.items()), clusters_declared=clusters is not None,
                             n_clusters=len(clusters) if clusters is not None else None,
                             n_questions=n_questions or None)


# ------------------------------------------------------------------ CA201–CA204
class SeriesView:
    """The per-series face of a panel that the driver's checks read (question unit
    and declared cluster of each series, time unit, lengths, ids); no rows. With the
    pooled panel's in a CheckContext whose cache holds the combined CalibrationData,
    the in-memory check functions CA201–CA204 run unchanged on the driver; with the
    whole panel's and the combined questions, DQ011 and MG101's questions summary."""

    def __init__(self, n_series: int, time_unit: str, lengths: np.ndarray, question: np.ndarray | None = None,
                 cluster: np.ndarray | None = None, ids: np.ndarray | None = None):
        self.n_series = n_series
        self.time_unit = time_unit
        self.lengths = lengths
        self.question = np.arange(n_series) if question is None else question
        self.cluster = cluster
        self.ids = ids


def candidate_horizons(view: SeriesView, resolved: np.ndarray, config) -> tuple[float, ...]:
    """The horizons calibration_data (checks/calibration.py) starts from."""
    from forecheck.checks.calibration import default_horizons
    from forecheck.errors import UsageError

    user = config.horizons is not None
    hs = sorted({float(h) for h in (config.horizons if user else default_horizons(view, resolved))})
    if user and (len(hs) == 0 or not np.all(np.isfinite(hs)) or np.any(np.array(hs) <= 0)):
        raise UsageError(f"`horizons` must be positive numbers in the panel's time unit "
                         f"({view.time_unit}s); got {list(config.horizons)}")
    return tuple(hs)


def calibration_context(pooled: pd.DataFrame, cal: pd.DataFrame, hs: tuple[float, ...], time_unit: str,
                        dep: Dependence, config, units: np.ndarray | None = None):
    """A CheckContext for CA201–CA204 from the partitions' rows (calibration_data's
    assembly: horizons with fewer than MIN_SERIES series are dropped, over all series);
    ``units`` the pooled series' question units (None: each series its own), their
    declared clusters the column ``cluster`` of ``pooled`` when there is one."""
    from dataclasses import replace

    from forecheck.checks.calibration import MIN_SERIES, CalibrationData, horizon_label
    from forecheck.checks.context import CheckContext
    from forecheck.stats import streams

    S = len(pooled)
    view = SeriesView(S, time_unit, pooled["n"].to_numpy(), question=units,
                      cluster=pooled["cluster"].to_numpy(dtype=object) if "cluster" in pooled else None)
    series = pd.Index(pooled["id"]).get_indexer(cal["id"])
    p_all = cal[[f"h{k}" for k in range(len(hs) + 1)]].to_numpy(float)
    avail = np.sum(~np.isnan(p_all[:, 1:]), axis=0)
    keep = avail >= MIN_SERIES
    dropped = tuple({"horizon": float(h), "label": horizon_label(view, float(h)), "n": int(a)}
                    for h, a, k in zip(hs, avail, keep) if not k)
    kept = tuple(float(h) for h, k in zip(hs, keep) if k)
    data = CalibrationData(series=series, outcome=cal["outcome"].to_numpy(float), p_last=p_all[:, 0],
                           horizons=kept, p_h=p_all[:, 1:][:, keep], dropped=dropped,
                           labels=tuple(horizon_label(view, h) for h in kept))
    ctx = CheckContext(panel=view, config=replace(config, question_detection=False))  # type: ignore[arg-type]
    ctx.cache.update({"calibration.data": data, "pooled": (view, np.ones(S, bool)), "dependence": dep})
    streams._KEYS[view] = pooled["key"].to_numpy(np.uint64)  # CA204's data-key order
    return ctx


# ------------------------------------------------------------------ MG103 / MG104
REGRESSION_NOTE = ("; Dask engine: the t(G − 1) reference where the in-memory engine bootstraps (fewer than "
                   "1000 effectively independent clusters carry the score variance)")


def regression_fit(code: str, sums: list[dict], min_length: int) -> tuple[np.ndarray, float, np.ndarray, int, int]:
    """β of MG103's / MG104's pooled (WLS) regression from the partitions' X'X and X'y,
    with the identification checks of stats/clustered._inverse_xtx. Returns
    (β, mean of the x column, (X'X)⁻¹, rows, clusters)."""
    if not sums:
        raise InsufficientDataError(f"no series with {max(3, min_length)}+ forecasts" if code == "MG103"
                                    else "no resolved series with in-flight revisions")
    n = sum(s["n"] for s in sums)
    G = sum(s["G"] for s in sums)
    if G < 3 or n < 10:
        raise InsufficientDataError(f"too few clusters ({G}) or observations ({n}) for a clustered regression")
    k = 2
    if G < 2 or n <= k:
        raise InsufficientDataError(f"too few clusters ({G}) or observations ({n}) for a clustered "
                                    f"regression on {k} regressors")
    if not all(s["finite"] for s in sums):
        raise InsufficientDataError("non-finite regressor values")
    xtx = sum(s["xtx"] for s in sums)
    xty = sum(s["xty"] for s in sums)
    norms = np.sqrt(sum(s["sum_sq"] for s in sums))
    if np.any(~np.isfinite(norms)) or np.any(norms == 0):
        raise InsufficientDataError("a regressor is identically zero (no variation to estimate from)")
    a = xtx / np.outer(norms, norms)
    eig = np.linalg.eigvalsh(a)
    if not np.all(np.isfinite(eig)) or eig[0] <= 1e-10 * eig[-1]:
        raise InsufficientDataError("the regressor does not vary (singular design: e.g. constant series or "
                                    "identical revisions)")
    xtx_inv = np.linalg.inv(a) / np.outer(norms, norms)
    return xtx_inv @ xty, sum(s["sum_x1"] for s in sums) / n, xtx_inv, n, G


def regression(code: str, fit, scores: list[dict], dep: Dependence, deps_ctx, clustered: bool = False):
    """checks/martingale._regression and the MG103/MG104 records from the partitions'
    per-cluster scores (``clustered``: declared clusters, whose CR1 SE needs no design
    effect); returns (Measurement, UnitDependence of the scores)."""
    from forecheck.checks.martingale import _regression_details, _regression_measurement
    from forecheck.details import RevisionAutocorrelationDetails, RevisionErrorDetails
    from forecheck.stats import dists
    from forecheck.stats.dependence import combine_units

    beta, _, xtx_inv, n, G = fit
    S = np.concatenate([s["scores"] for s in scores])
    meat = S.T @ S
    c = G / (G - 1) * (n - 1) / (n - 2)
    cov = c * xtx_inv @ meat @ xtx_inv
    bse = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if not np.isfinite(bse[1]) or bse[1] == 0:
        raise InsufficientDataError("no variation in the regressor (all revisions zero?)")
    tval = beta / bse
    dep_u = combine_units([s["cells"] for s in scores])
    deff, n_eff = (1.0, float(G)) if clustered else (dep_u.deff_across_used, dep_u.n_eff)
    n_eff_ref = min(n_eff, dep.n_eff) if dep.n_cells > 0 else n_eff
    ref = choose_reference(np.concatenate([s["slope_score_sums"] for s in scores]) ** 2, deff, n_eff_ref)
    p_t = float(2 * dists.t.sf(abs(tval[1] / np.sqrt(deff)), G - 1))
    se = bse[1] * np.sqrt(deff)
    tcrit = dists.t.ppf(0.975, G - 1)
    r = {"beta": float(beta[1]), "alpha": float(beta[0]), "se": float(se), "t": float(tval[1] / np.sqrt(deff)),
         "p_boot": p_t, "p_t": p_t, **ref.as_dict(), "reference": "asymptotic",
         "ci": (float(beta[1] - tcrit * se), float(beta[1] + tcrit * se)),
         "n_obs": int(n), "n_clusters": int(G), "deff": float(deff), "n_eff": float(n_eff),
         "se_cr1_unwidened": float(bse[1])}
    note = "" if ref.analytic else REGRESSION_NOTE
    b = r["beta"]
    if code == "MG103":
        reading = ("smoothing / under-reaction (revisions continue)" if b > 0
                   else "over-reaction or bid-ask bounce (revisions reverse)")
        details = _regression_details(
            deps_ctx, RevisionAutocorrelationDetails, r, reading, "pooled WLS Δp_t = a + β Δp_{t−1} (in-flight "
            "revisions plus the resolution step as final revision, mg103_rows); CR1 cluster SE; "
            "wild cluster restricted bootstrap-t (Rademacher)" + note, p_value_t_G_minus_1=r["p_t"])
        m = _regression_measurement(r, details, "H0: β = 0 (revisions unpredictable from the previous revision; "
                                    "Nordhaus 1987)", f"β = {b:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]: {reading}")
    else:
        reading = ("under-reaction: errors continue the last revision" if b > 0
                   else "over-reaction: errors reverse the last revision")
        method = "t(G − 1) reference (many independent series carry the score variance)" + note
        details = _regression_details(deps_ctx, RevisionErrorDetails, r, reading,
                                      "pooled OLS (o − p_t) = a + b Δp_t; CR1 cluster SE; " + method,
                                      p_wcr_symmetric=p_t)
        m = _regression_measurement(r, details, "H0: b = 0 (forecast errors unpredictable from revisions)",
                                    f"b = {b:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]: {reading}")
    return m, dep_u


# ------------------------------------------------------------------ MG105
def vr_qs(parts: list[dict]) -> tuple[tuple[int, ...], np.ndarray]:
    """check_mg105's q's (those with 20+ increments in series long enough), their
    indices in VR_QS, and the pooled mean of each q's non-zero scores (centring)."""
    from forecheck.checks.martingale import VR_QS

    if not parts:
        raise InsufficientDataError("series too short for a variance ratio (need 4+ revisions)")
    len_sum = np.sum([p["len_sum"] for p in parts], axis=0)
    qs = tuple(q for q, n in zip(VR_QS, len_sum) if n >= 20)
    if not qs:
        raise InsufficientDataError("series too short for a variance ratio (need 4+ revisions)")
    n = np.sum([p["used_n"] for p in parts], axis=0)
    s = np.sum([p["used_sum"] for p in parts], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(n > 0, s / np.maximum(n, 1), 0.0)
    return qs, means


def variance_ratio(qs: tuple[int, ...], parts: list[dict], cells: list[list]):
    """check_mg105 (and the tail of stats/variance_ratio.pooled_variance_ratio) from the
    partitions' per-q score sums and cells; returns (Measurement, UnitDependence)."""
    from forecheck.checks.martingale import VR_QS
    from forecheck.stats.dependence import combine_units
    from forecheck.stats.variance_ratio import score_tests

    idx = [VR_QS.index(q) for q in qs]
    deps = [combine_units([c[j] for c in cells if c is not None]) for j in idx]
    deff = max(d.deff for d in deps)
    dep_vr = min(deps, key=lambda d: d.n_eff)
    total = np.sum([p["total"] for p in parts], axis=0)[idx]
    omega = np.sum([p["omega"] for p in parts], axis=0)[np.ix_(idx, idx)] * max(deff, 1.0)
    den = np.sum([p["den"] for p in parts], axis=0)[idx]
    n_series = np.sum([p["n_series"] for p in parts], axis=0)[idx]
    n_steps = np.sum([p["n_steps"] for p in parts], axis=0)[idx]
    vr = np.array([1.0 + t / d if d > 0 else np.nan for t, d in zip(total, den)])
    z, pv, wald, wald_p, bonf = score_tests(total, omega)
    return mg105_measurement(qs, vr, z, pv, wald, wald_p, bonf, n_series, n_steps, deff, dep_vr), dep_vr


# ------------------------------------------------------------------ questions
def combine_questions(parts: list, n_series: list[int]):
    """The stats.questions.Questions of the whole panel from the partitions' (each
    holding whole questions, its series in id order, ``n_series`` of them): questions
    renumbered in the order of their names (from_declared's np.unique), each series'
    label carried over, the per-question sums as the partitions formed them (over the
    same series in the same order: the same numbers). The series order is the
    concatenation of the partitions'; the caller puts it in id order."""
    from forecheck.stats.questions import Questions, none

    total = sum(n_series)
    qs = [q for q in parts if q.n_questions]
    if not qs:
        return none(total)
    names = np.concatenate([np.asarray(q.names, dtype=object) for q in qs]).astype(str)
    order = np.argsort(names, kind="stable")
    if len(np.unique(names)) != len(names):  # (the driver's nesting check runs first)
        raise ValueError("a declared question in two partitions")
    new_code = np.empty(len(names), np.int64)
    new_code[order] = np.arange(len(names))
    labels, base = [], 0
    for q in parts:
        lab = np.asarray(q.label, np.int64)
        labels.append(np.where(lab >= 0, new_code[np.maximum(lab, 0) + base], -1) if q.n_questions else lab)
        base += q.n_questions
    cat = {f: np.concatenate([getattr(q, f) for q in qs])[order]
           for f in ("size", "prob_dev_max", "prob_dev_median", "outcome_sum", "complementary")}
    return Questions(label=np.concatenate(labels), source=qs[0].source, names=names[order].astype(object),
                     tol=qs[0].tol, **cat)

"""``--sequential``: decide MG101, MG103 and CA202 by anytime-valid e-values.

The statistics are ``forecheck.stats.sequential`` (docs/checks.md, "Anytime-valid
e-processes"). This module wires them into the runner:

* :func:`attach` (called by ``checks.execute`` for each of the three records that
  ran) computes the e-process over the whole time-ordered history, on the same
  series selection the check itself uses — MG101: resolved series or series with at
  least ``min_length`` forecasts; MG103: series with at least ``min_length``
  forecasts; CA202: the resolved series' last forecasts — and attaches it. The
  construction is the calendar-time pooled one (valid under any cross-series
  dependence) unless clusters are declared (``--cluster-col``): then the
  per-cluster product (one series per cluster: the per-series product).
* :func:`decide` (called by ``checks.finalize``) adjusts the family with e-Bonferroni
  (:func:`forecheck.stats.sequential.combine_evalues`: threshold K/α over the K gating
  e-value records) and sets the status: ``fail`` iff the e-process reached the
  threshold at some time of the history. Ville's inequality bounds the probability
  that an e-process *ever* reaches 1/α under the null by α, so this decision is valid
  at every look, however often the gate runs, and a failure stays a failure as the
  history grows. The dependence gate does not apply (the pooled construction needs
  no estimate of dependence); the p-value is kept for reference and does not decide.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from forecheck.checks.context import CheckContext
from forecheck.results import CheckResult, SequentialEvidence
from forecheck.stats import sequential as sq

#: the gating checks decided by e-values under ``--sequential``
SEQUENTIAL_CODES = ("MG101", "MG103", "CA202")


def mg101_selection(ctx: CheckContext):
    """MG101's series: those of the pooled panel (the mirror contract of a YES/NO
    question dropped, as MG101 drops it: its steps are the first contract's) that are
    resolved or have at least ``min_length`` forecasts."""
    panel, _ = ctx.pooled()
    return panel.select_series(panel.resolved | (panel.lengths >= ctx.config.min_length))


def _cluster_codes(pan) -> np.ndarray | None:
    return None if pan.cluster is None else np.asarray(pan.cluster).astype(str)


#: cells × ratio-grid points of MG101's confidence sequence under a product
#: construction (each cell costs one factor per stake of the mixture); above it the
#: grid is thinned, keeping the ratio 1 and the grid's ends (the CS stays valid, its
#: ends are then coarser: the hull is widened to the neighbouring kept points)
CS_BUDGET = 3_000_000
_THIN = (1, 2, 4, 5, 8, 10, 20, 40)  # divisors of 80: the thinned grid keeps c = 1 (index 40)


def ratio_grid_for(n_cells: int, product: bool) -> np.ndarray:
    """MG101's ratio grid: the full one (81 points, 0.1 … 10) unless a product
    construction over many steps would exceed :data:`CS_BUDGET`."""
    grid = sq.RATIO_GRID
    if not product:
        return grid
    for k in _THIN:
        if n_cells * (80 // k + 1) <= CS_BUDGET:
            return grid[::k]
    return grid[::_THIN[-1]]


def eprocess_for(ctx: CheckContext, code: str) -> sq.EProcess:
    """The e-process of ``code`` on the check's own selection, at level ``config.alpha``."""
    alpha = ctx.config.alpha
    if code == "MG101":
        pan = mg101_selection(ctx)
        st = sq.panel_steps(pan)
        cl = _cluster_codes(pan)
        return sq.mg101_eprocess(st.series, st.time, st.p_prev, st.dp, resolution=st.resolution,
                                 cluster=cl, alpha=alpha, ratio_grid=ratio_grid_for(len(st.dp), cl is not None))
    if code == "MG103":
        pan, _ = ctx.dynamic()
        st = sq.panel_steps(pan)
        return sq.mg103_eprocess(st.series, st.time, st.p_prev, st.dp, resolution=st.resolution,
                                 cluster=_cluster_codes(pan), alpha=alpha)
    if code == "CA202":
        from forecheck.checks.calibration import calibration_data

        # CA202's own data: the pooled panel's resolved series (``calibration._data``), whose
        # series numbers index the pooled panel, not the panel as loaded
        pan, _ = ctx.pooled()
        d = ctx.cached("calibration.data", lambda: calibration_data(pan, ctx.config))
        ok = ~np.isnan(d.p_last)
        series = d.series[ok]
        cl = _cluster_codes(pan)
        return sq.ca202_eprocess(pan.resolution_time[series], d.p_last[ok], d.outcome[ok],
                                 cluster=None if cl is None else cl[series], alpha=alpha)
    raise ValueError(f"no e-process for {code}")


def attach(ctx: CheckContext, record: CheckResult) -> CheckResult:
    """The record with its e-process attached (status decided later by :func:`decide`)."""
    ep = ctx.cached(f"sequential.{record.code}", lambda: eprocess_for(ctx, record.code))
    cs = getattr(ep, "cs", None)
    labels = ctx.panel.format_time(ep.times) if len(ep.times) else []
    ev = SequentialEvidence(
        construction=ep.construction, evalue=ep.evalue, max_evalue=ep.max_evalue, threshold=ep.threshold,
        family_size=1, alpha=ep.alpha, crossed=ep.crossed, first_crossing_time=ep.first_crossing_time,
        first_crossing=None, direction=ep.direction, n_terms=ep.n_terms, n_series=ep.n_series, null=ep.null,
        confidence_sequence=None if cs is None else (float(cs[0]), float(cs[1])),
        fixed_sample_ci=record.ci if record.code == "MG101" else None,
        cs_grid_points=None if getattr(ep, "ratio_grid", None) is None else int(len(ep.ratio_grid)),
        _times=ep.times, _log_e=ep.log_e, _time_labels=list(np.atleast_1d(labels)))
    ci = ev.confidence_sequence if record.code == "MG101" and ev.confidence_sequence is not None else record.ci
    return record.with_(evalue=ep.evalue, evalue_threshold=ep.threshold, sequential=ev, ci=ci, gate=None)


def _crossing(ev: SequentialEvidence, threshold: float) -> tuple[bool, float | None, str | None]:
    log_e = np.asarray(ev._log_e if ev._log_e is not None else [], float)
    hit = np.flatnonzero(log_e >= np.log(threshold) - 1e-12)
    if not len(hit):
        return False, None, None
    k = int(hit[0])
    return True, float(ev._times[k]), str(ev._time_labels[k]) if ev._time_labels else None


def decide(results: list[CheckResult], in_family: list[bool], alpha: float) -> list[CheckResult]:
    """Set threshold and status of every record carrying an e-process.

    ``in_family[i]``: record i gates (its failure fails the run), so it joins the
    e-Bonferroni family; the others are compared with 1/α alone."""
    idx = [i for i, r in enumerate(results) if r.sequential is not None and r.status != "skip"]
    fam = [i for i in idx if in_family[i]]
    decision = sq.combine_evalues(np.array([results[i].sequential.max_evalue for i in fam], float), alpha,
                                  "bonferroni")
    K = len(fam)
    out = list(results)
    for i in idx:
        r = results[i]
        k = K if i in fam else 1
        thr = k / alpha  # e-Bonferroni: adjusted e = e/K compared with 1/α
        crossed, t, label = _crossing(r.sequential, thr)
        if i in fam:  # the family decision (max e / K ≥ 1/α) is the crossing of K/α by the path
            crossed = crossed or bool(decision.reject[fam.index(i)])
        ev = replace(r.sequential, threshold=thr, family_size=k, crossed=crossed, first_crossing_time=t,
                     first_crossing=label)
        out[i] = r.with_(sequential=ev, evalue_threshold=thr, status="fail" if crossed else "pass",
                         pvalue_adjusted=None)
    return out


def path_rows(ev: SequentialEvidence, max_rows: int = 12) -> list[tuple[str, float]]:
    """(time label, log e) at up to ``max_rows`` evenly spaced slots, always with the
    last one (for ``forecheck monitor``)."""
    times = np.asarray(ev._times if ev._times is not None else [], float)
    if not len(times):
        return []
    k = np.unique(np.linspace(0, len(times) - 1, min(max_rows, len(times))).round().astype(int))
    labels = ev._time_labels or [f"{t:g}" for t in times]
    return [(str(labels[i]), float(ev._log_e[i])) for i in k]

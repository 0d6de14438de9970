"""Check registry and runner.

Each family module (``martingale``, ``calibration``, ``wiener``) declares
``CHECKS: list[CheckSpec]``: a check's identity (code, name, family, severity,
layer) and whether the dependence gate applies are declared there, once. A check
is a function ``check_<code>(ctx: CheckContext) -> Measurement`` returning only
the statistical part; it may raise :class:`~forecheck.errors.InsufficientDataError`,
which the runner turns into a ``skip`` record with the reason.

The runner stamps identity from the spec, applies the dependence gate (a
test-based record whose data hold too few effectively independent units becomes
``inconclusive``: estimate and CI, no p-value), adjusts the p-values of the
gating family once (``config.p_adjust``) and sets each test-based status from the
adjusted p-value: fail iff ``pvalue_adjusted < alpha``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

import numpy as np

from forecheck.checks.context import CheckContext, check_rng
from forecheck.checks.sequential import SEQUENTIAL_CODES, attach
from forecheck.checks.sequential import decide as decide_sequential
from forecheck.config import AnalysisConfig
from forecheck.details import FindingDetails
from forecheck.errors import InsufficientDataError
from forecheck.panel import Panel
from forecheck.results import (FAMILY_LAYER, CheckResult, DependenceGate, Measurement,
                               SeverityName, skipped)
from forecheck.stats.multitest import adjust_pvalues

__all__ = ["CheckContext", "CheckSpec", "all_specs", "check_rng", "execute", "finalize", "gating",
           "run_checks", "release_after", "CACHE_READERS", "MIN_NEFF", "DEFF_GATE"]

#: fewer effectively independent units than this, with dependence at least
#: halving the information (design effect ≥ DEFF_GATE), and a test-based check
#: reports no p-value: ``inconclusive`` (docs/checks.md, "Dependence gate").
MIN_NEFF = 10.0
DEFF_GATE = 2.0


@dataclass(frozen=True)
class CheckSpec:
    """A check's identity, declared once; the runner stamps it on every record.

    dependence_gated : the check's p-value pools series as independent draws, so
        the runner's dependence gate applies (MG101, MG103–MG105, CA202–CA204).
    after : codes of the checks whose shared work this one reads; with parallel
        checks (``--jobs``) it starts once they have finished.
    """

    code: str
    name: str
    family: str
    severity: SeverityName
    run: Callable[[CheckContext], Measurement]
    summary: str = ""  # one line for `forecheck rules`
    dependence_gated: bool = False
    #: checks whose work this one reads from the shared cache (MG102 screens MG101's
    #: excess terms, MG106 reports the pooled tests' own dependence counts): with
    #: parallel checks it starts when they are done
    after: tuple[str, ...] = ()

    @property
    def layer(self) -> str:
        return FAMILY_LAYER[self.family]


def all_specs() -> list[CheckSpec]:
    """Every registered check, in report order."""
    from forecheck.checks import calibration, martingale, wiener

    return [*martingale.CHECKS, *calibration.CHECKS, *wiener.CHECKS]


def gating(result: CheckResult, config: AnalysisConfig) -> bool:
    """Does a failure of this record fail the run (exit code 1)?"""
    return config.gates(result.severity)


def run_checks(panel: Panel, config: AnalysisConfig | None = None,
               specs: list[CheckSpec] | None = None) -> list[CheckResult]:
    """Run the selected checks and apply the multiple-testing adjustment."""
    return execute(panel, config, specs)[0]


def dependence_gate(ctx: CheckContext, m: Measurement) -> DependenceGate | None:
    """The gate, one rule for every pooled test: the effective number of independent
    units is the smallest of the check's own estimate (``m.n_eff``, measured on its
    own contributions) and MG106's count on the increments (when the series share
    forecast times); too few (< MIN_NEFF) with a design effect ≥ DEFF_GATE gives no
    p-value. Few independent series alone do not gate: small honest panels still get
    a (valid, low-powered) test."""
    if m.pvalue is None:
        return None
    dep = ctx.dependence()
    counts = [m.n_eff] if m.n_eff is not None else []
    if dep.n_cells > 0 and dep.n_eff > 0:
        counts.append(dep.n_eff)
    if not counts:
        return None
    n_eff = float(min(counts))
    units = int(m.n_units if m.n_units is not None else dep.n_series)
    if n_eff <= 0 or n_eff >= MIN_NEFF or units / n_eff < DEFF_GATE:
        return None
    return DependenceGate(n_eff=n_eff, n_units=units, min_n_eff=MIN_NEFF, max_design_effect=DEFF_GATE,
                          pvalue_if_independent=m.pvalue, statistic_if_independent=m.statistic)


#: data-quality rules the runner reports (they need the questions, not the rows);
#: the loader's rules are ``forecheck.io.validate.DQ_RULES``.
RUNNER_DQ_RULES: list[tuple[str, str, str, str]] = [
    ("DQ011", "question-sums", "warning",
     "Questions whose probabilities do not sum to 1 at the median shared time (more than 0.05 off), or "
     "whose outcomes do not sum to 1 (exactly one outcome of a question happens)."),
]


def _finite_max(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else float("nan")


def question_findings(ctx: CheckContext) -> list[CheckResult]:
    """DQ011: questions whose probabilities do not sum to 1 (median shared time) or
    whose outcomes do not sum to 1 (a pass record when the series form no questions)."""
    q = ctx.questions()
    code, name, severity, _ = RUNNER_DQ_RULES[0]
    if q.n_questions == 0:
        return [CheckResult(code=code, name=name, family="DQ", severity=severity, status="pass",
                            message="no questions: every series is its own event (--question-col declares them)",
                            details=FindingDetails(count=0), test_based=False)]
    ids = ctx.panel.ids

    def label(j: int) -> str:
        return str(q.names[j]) if q.source == "declared" else str(ids[np.flatnonzero(q.label == j)[0]])

    bp, bo = q.bad_prob, q.bad_outcome
    parts = []
    rows = []
    if len(bp):
        worst = bp[np.argsort(-np.nan_to_num(q.prob_dev_median[bp], nan=np.inf))]
        parts.append(f"{len(bp)} of {q.n_questions} questions have probabilities that do not sum to 1 "
                     f"(median |Σp − 1| up to {_finite_max(q.prob_dev_median[bp]):.2f}; e.g. "
                     + ", ".join(label(j) for j in worst[:3]) + ")")
        rows += [{"question": label(j), "n_outcomes": int(q.size[j]),
                  "median_abs_sum_minus_1": float(q.prob_dev_median[j])
                  if np.isfinite(q.prob_dev_median[j]) else None} for j in worst[:20]]
    if len(bo):
        parts.append(f"{len(bo)} questions have outcomes summing to other than 1 (e.g. "
                     + ", ".join(f"{label(j)}: {q.outcome_sum[j]:g}" for j in bo[:3]) + ")")
        rows += [{"question": label(j), "outcome_sum": float(q.outcome_sum[j])} for j in bo[:20]]
    present = bool(parts)
    msg = ("; ".join(parts) + ": treated as one question each (contracts clustered), but check the data"
           if present else f"the {q.n_questions} questions' probabilities and outcomes sum to 1")
    if len(bo) and q.source == "detected":
        # independent series whose probabilities mirror each other by chance (posteriors that
        # take few values: docs/checks.md, "Questions") resolve independently, so their
        # outcomes need not sum to 1: the finding is not only a data error
        msg += (" — or, as they were detected, series whose probabilities matched by chance: declare the "
                "questions (--question-col) or turn detection off (--no-question-detection) if they are not one event")
    return [CheckResult(code=code, name=name, family="DQ", severity=severity,
                        status="fail" if present else "pass", statistic=float(len(bp) + len(bo)),
                        nobs=q.n_questions, message=msg,
                        details=FindingDetails(count=int(len(bp) + len(bo)), extra={"source": q.source, "questions": rows}),
                        test_based=False)]


def stamp(spec: CheckSpec, m: Measurement, gate: DependenceGate | None = None) -> CheckResult:
    """The record of one check: identity from the spec, the statistics from ``m``."""
    if gate is not None:
        return CheckResult(code=spec.code, name=spec.name, family=spec.family, severity=spec.severity,
                           status="inconclusive", statistic=None, pvalue=None, estimate=m.estimate, ci=m.ci,
                           nobs=m.nobs, message=m.message, details=m.details, null=m.null,
                           alternative=m.alternative, test_based=False, gate=gate, caps=m.caps)
    status = m.status if m.status is not None else "pass"
    return CheckResult(code=spec.code, name=spec.name, family=spec.family, severity=spec.severity, status=status,
                       statistic=m.statistic, pvalue=m.pvalue, estimate=m.estimate, ci=m.ci, nobs=m.nobs,
                       message=m.message, details=m.details, null=m.null, alternative=m.alternative,
                       test_based=m.test_based, caps=m.caps)


#: work shared through ``CheckContext.cache`` that only these checks read: dropped
#: once the last of them that runs is done (``release_after``), so a panel of the
#: selected series (a copy of the rows when series are dropped) is not held through
#: the later families. A later reader would form it again (the same values).
CACHE_READERS: dict[str, frozenset[str]] = {
    "mg101_inputs": frozenset({"MG101", "MG102"}),
    "dynamic": frozenset({"MG101", "MG103", "MG104", "MG105", "MG106"}),
    "increment_cells": frozenset({"MG101", "MG104", "MG105"}),
    # the pooled panel (mirror contracts of YES/NO questions dropped: a copy of the rows
    # and of what is derived from them) is read by the martingale and calibration
    # families only, not held through the Wiener family (``CheckContext.pooled``)
    "pooled": frozenset({"MG101", "MG102", "MG103", "MG104", "MG105", "MG106",
                         "CA201", "CA202", "CA203", "CA204"}),
}


def release_after(codes: list[str]) -> dict[int, list[str]]:
    """For the checks ``codes`` in run order: after which position each entry of
    ``CACHE_READERS`` may be dropped (the last check that reads it)."""
    out: dict[int, list[str]] = {}
    for key, readers in CACHE_READERS.items():
        last = max((i for i, c in enumerate(codes) if c in readers), default=None)
        if last is not None:
            out.setdefault(last, []).append(key)
    return out


def execute(panel: Panel, config: AnalysisConfig | None = None,
            specs: list[CheckSpec] | None = None,
            extra: list[CheckResult] | None = None) -> tuple[list[CheckResult], CheckContext]:
    """Run the selected checks; ``extra`` records (e.g. data-quality findings) join
    the results before the adjustment. Returns the final records and the context
    (with the per-series columns the checks contributed).

    With ``config.jobs`` > 1 the checks run on that many threads (their work is
    numpy on whole arrays, which releases the GIL). Records, per-series columns and
    every number are the same as with one thread: each check draws from its own
    random stream (:func:`check_rng`), shared work is computed once under a lock
    (``CheckContext.cached``), a check waits for the checks it reads (``after``),
    and results are collected in report order.

    BLAS runs on one thread meanwhile (:func:`one_blas_thread`): a threaded BLAS
    splits a product's sum by the machine's core count, so the last digits of a
    regression would depend on the machine (MG103/MG104 at 3·10⁵ rows and more)."""
    with one_blas_thread():
        return _execute(panel, config or AnalysisConfig(), specs, extra)


@contextmanager
def one_blas_thread():
    """Limit the BLAS library (OpenBLAS, MKL, ...) to one thread for the duration
    (threadpoolctl): every product then sums in one order on any machine, and the
    checks' own threads (``--jobs``) are not oversubscribed by BLAS's."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _execute(panel: Panel, config: AnalysisConfig, specs: list[CheckSpec] | None,
             extra: list[CheckResult] | None) -> tuple[list[CheckResult], CheckContext]:
    ctx = CheckContext(panel=panel, config=config)
    results: list[CheckResult] = [r for r in (extra or []) if config.is_selected(r.code)]
    # a run from input (findings given: forecheck.analyze) also reports DQ011 on its questions
    if extra is not None and config.is_selected("DQ011"):
        results.extend(question_findings(ctx))
    run = [spec for spec in (specs if specs is not None else all_specs()) if config.is_selected(spec.code)]
    readers_left = {key: sum(spec.code in readers for spec in run) for key, readers in CACHE_READERS.items()}
    done_lock = threading.Lock()

    def one(spec: CheckSpec) -> tuple[CheckResult, CheckContext]:
        view = ctx.for_check()
        try:
            m = spec.run(view)
        except InsufficientDataError as exc:
            record = skipped(spec.code, spec.name, spec.family, spec.severity, str(exc))
        else:
            seq = config.sequential and spec.code in SEQUENTIAL_CODES and m.test_based
            # --sequential: the e-value decides; its calendar-time construction needs no dependence gate
            gate = dependence_gate(view, m) if spec.dependence_gated and m.test_based and not seq else None
            record = stamp(spec, m, gate)
            record = attach(view, record) if seq else record
        with done_lock:  # drop shared work once its last reader in this run is done
            for key, readers in CACHE_READERS.items():
                if spec.code in readers:
                    readers_left[key] -= 1
                    if readers_left[key] == 0:
                        ctx.cache.pop(key, None)
        return record, view

    jobs = min(config.jobs, len(run))
    if jobs <= 1:
        outcomes = [one(spec) for spec in run]
    else:
        outcomes = _run_threads(run, one, jobs)
    for record, view in outcomes:
        results.append(record)
        ctx.series_columns.update(view.series_columns)
        ctx.figure_data.update(view.figure_data)
    return finalize(results, config), ctx


def _run_threads(run: list[CheckSpec], one: Callable, jobs: int) -> list:
    """``one(spec)`` for every spec on ``jobs`` threads, results in ``run`` order.
    Specs start in report order, except that a spec whose ``after`` checks have not
    finished yet lets the next ready spec go first (no thread waits for another)."""
    position = {spec.code: i for i, spec in enumerate(run)}
    out: list = [None] * len(run)
    pending = list(run)
    done: set[str] = set()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="forecheck-check") as pool:
        running: dict[Future, CheckSpec] = {}
        while pending or running:
            for spec in list(pending):
                if len(running) >= jobs:
                    break
                if all(c in done or c not in position for c in spec.after):
                    running[pool.submit(one, spec)] = spec
                    pending.remove(spec)
            if not running:  # only specs waiting for checks that follow them (a registry error)
                raise RuntimeError("checks wait for later checks: " + ", ".join(s.code for s in pending))
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                spec = running.pop(f)
                out[position[spec.code]] = f.result()
                done.add(spec.code)
    return out


def finalize(results: list[CheckResult], config: AnalysisConfig) -> list[CheckResult]:
    """Adjust the gating family's p-values once and set test-based statuses.

    The family is every test-based, non-skipped record whose failure would gate
    (severity at or above ``fail_on``); other test-based records are reported with
    their raw p-value as the adjusted one.
    """
    idx = [i for i, r in enumerate(results) if r.test_based and r.status != "skip" and r.pvalue is not None
           and r.sequential is None and gating(r, config)]
    adjusted = adjust_pvalues(np.array([results[i].pvalue for i in idx], dtype=float), config.p_adjust)
    adj_of = dict(zip(idx, adjusted))
    out = []
    for i, r in enumerate(results):
        if r.test_based and r.status != "skip" and r.pvalue is not None and r.sequential is None:
            padj = float(adj_of.get(i, r.pvalue))
            status = "fail" if padj < config.alpha else "pass"
            r = r.with_(pvalue_adjusted=padj, status=status)
        out.append(r)
    if any(r.sequential is not None for r in out):  # --sequential: e-values decide (checks/sequential.py)
        out = decide_sequential(out, [gating(r, config) for r in out], config.alpha)
    return out

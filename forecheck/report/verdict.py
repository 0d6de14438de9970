"""The verdict card: the three layer-A answers, one line for layer B, the effective
number of independent series and what to do next — pure functions of typed records.

Every renderer (text, markdown, HTML) shows the same answers. A statement about a
p-value always respects the dependence gate: when the series amount to too few
independent draws, no p-value is quoted anywhere, the critique panel included.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecheck.report.format import fmt_fixed, fmt_p
from forecheck.report.prose import EffectiveSeries, effective_series
from forecheck.results import CheckResult

#: status of an answer: "pass" (no defect found), "fail" (a defect), "inconclusive"
#: (ran, no valid p-value), "skip" (not measured)
ANSWER_STATUS = ("pass", "fail", "inconclusive", "skip")

#: short names of the Wiener-process assumptions (layer B), by code
ASSUMPTION_SHORT = {
    "WN301": "constant volatility", "WN302": "Gaussian increments", "WN303": "thin tails",
    "WN304": "no volatility clustering", "WN305": "no jumps",
    "WN306": "Taleb's binary-option model", "WN307": "frictionless updating",
}


@dataclass(frozen=True)
class Answer:
    """One layer-A question answered: the short answer, the evidence, the codes."""

    question: str
    answer: str
    status: str
    evidence: str
    codes: tuple[str, ...]


def _by_code(results) -> dict[str, CheckResult]:
    return {r.code: r for r in results}


def _ci(r: CheckResult, spec: str = ".2f") -> str:
    f = lambda x: "∞" if x == float("inf") else fmt_fixed(x, spec)  # noqa: E731 (a CS may be unbounded)
    return f" [{f(r.ci[0])}, {f(r.ci[1])}]" if r.ci else ""


#: what each e-value construction assumes (``--sequential``; forecheck/stats/sequential.py)
CONSTRUCTION_NOTE = {
    "calendar-time pooled": "calendar-time pooled construction, valid under any dependence between series "
                            "(declare independent groups with --cluster-col for more power)",
    "per-series product": "per-series product: series declared independent (--cluster-col, one series per cluster)",
    "per-cluster product": "per-cluster product: pooled within the declared clusters, clusters independent",
}


def fmt_e(x: float | None) -> str:
    """An e-value: 3 significant digits (e-values range over many decades)."""
    if x is None:
        return "–"
    return f"{x:.3g}"


def e_text(r: CheckResult) -> str:
    """'e = 0.65, threshold 60' (+ when it crossed) for a ``--sequential`` record."""
    s = r.sequential
    txt = f"e = {fmt_e(r.evalue)}, threshold {s.threshold:g}"
    if s.crossed:
        txt += "; crossed it" + (f" at {s.first_crossing}" if s.first_crossing else "") + \
            f" (max e = {fmt_e(s.max_evalue)})"
    return txt


def sequential_line(results) -> str | None:
    """One sentence on the anytime-valid decision, or None without ``--sequential``."""
    recs = [r for r in results if r.sequential is not None and r.status != "skip"]
    if not recs:
        return None
    parts = "; ".join(f"{r.code} {e_text(r)}" for r in recs)
    cons = list(dict.fromkeys(r.sequential.construction for r in recs))
    k = max(r.sequential.family_size for r in recs)
    fam = f" (1/α × {k} checks, e-Bonferroni)" if k > 1 else ""
    return (f"anytime-valid e-values, valid however often this is run: {parts}{fam}; "
            + "; ".join(CONSTRUCTION_NOTE.get(c, c) for c in cons))


def _p_text(r: CheckResult) -> str:
    if r.sequential is not None and r.status != "skip":
        return e_text(r) + (f"; one-look p = {fmt_p(r.pvalue)}, not used" if r.pvalue is not None else "")
    if r.status == "inconclusive":
        return "no p-value"
    if r.pvalue is None:
        return ""
    adj = r.pvalue_adjusted if r.pvalue_adjusted is not None else r.pvalue
    return f"p = {fmt_p(r.pvalue)}" + (f", adjusted {fmt_p(adj)}" if adj != r.pvalue else "")


def movement_answer(results) -> Answer:
    r = _by_code(results).get("MG101")
    q = "Does it move the way a calibrated forecaster's would?"
    if r is None or r.status == "skip":
        return Answer(q, "not measured", "skip", "MG101 did not run" if r is None else r.message, ("MG101",))
    ratio = r.estimate
    cs = " (confidence sequence)" if r.sequential is not None and r.ci else ""
    ev = f"movement / uncertainty reduction Σm/Σr = {ratio:.2f}{_ci(r)}{cs}, {_p_text(r)} (MG101)"
    if r.status == "fail":
        ans = "no: it moves too much" if ratio > 1 else "no: it moves too little"
    elif r.status == "pass" and r.sequential is not None and r.ci is not None and (
            r.ci[0] <= 0 or r.ci[1] == float("inf")):
        # --sequential: an unbounded confidence sequence means too little evidence either way
        ans = "no evidence either way yet: the anytime-valid confidence sequence is still unbounded"
    elif r.status == "pass":
        ans = "yes: movement is within its variance budget"
    else:
        lean = "more" if ratio > 1 else "less"
        ans = f"cannot tell: it moved {lean} than its budget, with too few independent series for a p-value"
    return Answer(q, ans, r.status, ev, ("MG101",))


def _group_answer(results, codes: tuple[str, ...], question: str, ok: str, what: str) -> Answer:
    by = _by_code(results)
    recs = [by[c] for c in codes if c in by]
    ran = [r for r in recs if r.status != "skip"]
    if not ran:
        return Answer(question, "not measured", "skip", "; ".join(f"{r.code}: {r.message}" for r in recs)
                      or "did not run", codes)
    failed = [r for r in ran if r.status == "fail"]
    inconclusive = [r for r in ran if r.status == "inconclusive"]
    parts = []
    all_inconclusive = len(inconclusive) == len(ran)
    for r in ran:
        reading = getattr(r.details, "reading", None)
        est = "" if r.estimate is None else f" {fmt_fixed(r.estimate, '+.3f' if r.code != 'MG105' else '.2f')}"
        p = "" if all_inconclusive else _p_text(r)
        parts.append(f"{r.code}{est}" + (f" ({p})" if p else "") + (f": {reading}" if reading and r in failed else ""))
    ev = ", ".join(parts) + (" (no p-values)" if all_inconclusive else "")
    if failed:
        lead = failed[0]
        reading = getattr(lead.details, "reading", None) or lead.name
        return Answer(question, f"{what}: {reading} ({', '.join(r.code for r in failed)})", "fail", ev, codes)
    if inconclusive:
        return Answer(question, "cannot tell: too few independent series for a p-value", "inconclusive", ev, codes)
    return Answer(question, ok, "pass", ev, codes)


def revisions_answer(results) -> Answer:
    return _group_answer(results, ("MG103", "MG104", "MG105"), "Are its revisions predictable?",
                         "no: revisions are not predictable from earlier revisions", "yes")


def calibration_answer(results) -> Answer:
    a = _group_answer(results, ("CA202", "CA203", "CA204"), "Is it calibrated?",
                      "yes: no miscalibration detected", "no")
    brier = _by_code(results).get("CA201")
    if brier is not None and brier.status != "skip" and brier.estimate is not None:
        a = Answer(a.question, a.answer, a.status, f"Brier {brier.estimate:.4f}; " + a.evidence, a.codes)
    return a


def layer_a_answers(results) -> list[Answer]:
    return [movement_answer(results), revisions_answer(results), calibration_answer(results)]


@dataclass(frozen=True)
class LayerB:
    """Which Wiener-process assumptions fail here (so the critiques built on them do
    not apply to this data), which hold, and which were not measured."""

    fail: tuple[str, ...]
    hold: tuple[str, ...]
    not_measured: tuple[str, ...]


def layer_b(results) -> LayerB | None:
    wn = [r for r in results if r.family == "WN"]
    if not wn:
        return None
    pick = lambda st: tuple(f"{ASSUMPTION_SHORT.get(r.code, r.name)}" for r in wn if r.status == st)  # noqa: E731
    return LayerB(fail=pick("fail"), hold=pick("pass"),
                  not_measured=tuple(f"{ASSUMPTION_SHORT.get(r.code, r.name)} ({r.code})" for r in wn
                                     if r.status not in ("pass", "fail")))


def gate_active(results) -> bool:
    """Do the series amount to too few independent draws for pooled p-values?"""
    return any(r.status == "inconclusive" and r.gate is not None for r in results)


def next_steps(results, exit_code: int, inconclusive_policy: str = "warn") -> list[str]:
    out = []
    failed = [r for r in results if r.status == "fail" and r.family in ("MG", "CA")
              and r.severity in ("error", "warning")]
    if failed:
        out.append("Look at " + ", ".join(r.code for r in failed)
                   + " below; `forecheck rule CODE` says what each failure means and what to do.")
    if gate_active(results):
        g = next(r.gate for r in results if r.status == "inconclusive" and r.gate is not None)
        few = f"Only about {g.n_eff:.0f} independent draws (p-values need {g.min_n_eff:.0f})"
        dep = _by_code(results).get("MG106")
        if dep is not None and getattr(dep.details, "shared_drift", False):
            # a drift shared by the revisions, not news, may be what is counted as dependence: the
            # advice to declare the series independent would make a calibrated forecaster fail
            out.append(few + ", and the revisions drift together (MG106): if these series end when their event "
                       "happens (deadline questions), the revision and horizon checks do not apply "
                       "(docs/checks.md, \"Known limit\"); otherwise add independent questions or declare groups "
                       "with --cluster-col.")
        else:
            out.append(few + ": add independent questions or declare groups with --cluster-col; --inconclusive "
                       "fail gates on this.")
    dq = [r for r in results if r.family == "DQ" and r.status == "fail"]
    if dq:
        out.append(f"Check the data: {len(dq)} data-quality finding{'s' if len(dq) != 1 else ''} "
                   f"({', '.join(r.code for r in dq)}).")
    if not out:
        out.append("Nothing to fix: every layer-A check passed." if exit_code == 0 else
                   "See the failing checks below.")
    return out


__all__ = ["CONSTRUCTION_NOTE", "e_text", "fmt_e", "sequential_line", "Answer", "EffectiveSeries", "LayerB", "calibration_answer", "effective_series", "gate_active",
           "layer_a_answers", "layer_b", "movement_answer", "next_steps", "revisions_answer"]

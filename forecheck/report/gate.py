"""The CI gate: one pure function from a run's records and a policy to the exit code.

Every output (text, JSON, JUnit, GitHub annotations, markdown) takes its verdict and its
counts from :func:`decide`, so they cannot disagree with each other or with the exit code.

Rules (``docs`` and README "Use in CI"):

- a record *gates* when its severity is at or above ``fail_on`` (``never``: nothing gates);
- a gating record with status ``fail`` fails the run (exit 1); with ``--sequential`` MG101,
  MG103 and CA202 get their status from their anytime-valid e-values
  (``forecheck/checks/sequential.py``), read here like any other status;
- a gating record with status ``inconclusive`` (it ran and reports an estimate, but gives no
  valid p-value, e.g. too few effectively independent series) follows ``inconclusive``:
  ``fail`` fails the run, ``warn`` (default) is reported prominently and exits 0, ``pass``
  is reported only in the tables;
- effect-size thresholds fail the run only when the confidence interval lies entirely beyond
  the threshold (``max_movement_ratio``: MG101's CI above it; ``min_movement_ratio``: below it;
  ``max_brier``: CA201's CI, or its estimate when it has no CI, above it). A threshold that
  cannot be evaluated (the check did not run or has no interval) is inconclusive;
- a baseline comparison fails the run when a gating estimate got worse beyond the tolerance;
- ``exit_zero`` turns exit 1 into 0 and says so ("exit code 0 (--exit-zero; would be 1)").

Counts: checks (MG, CA, WN: the rows of the checks table) and data-quality rules (DQ:
a ``fail`` is a finding) are counted separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from forecheck.results import SEVERITY_RANK, STATUSES  # one home for both


@dataclass(frozen=True)
class Policy:
    fail_on: str = "error"
    inconclusive: str = "warn"  # fail | warn | pass
    max_movement_ratio: float | None = None
    min_movement_ratio: float | None = None
    max_brier: float | None = None
    exit_zero: bool = False
    allow_empty: bool = False  # a run in which no gating check could run is exit 2 unless set

    @classmethod
    def from_config(cls, config: Any) -> "Policy":
        return cls(**{k: getattr(config, k) for k in cls.__dataclass_fields__ if hasattr(config, k)})


def status_of(r: Any) -> str:
    """The record's status (pass, fail, inconclusive, skip)."""
    return r.status


def is_gating(severity: str, fail_on: str) -> bool:
    if fail_on == "never":
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[fail_on]


@dataclass(frozen=True)
class Reason:
    """One thing that decides (or could have decided) the verdict."""

    kind: str  # check | inconclusive | threshold | baseline
    code: str
    effect: str  # fail | warn | pass
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "code": self.code, "effect": self.effect, "message": self.message}


@dataclass(frozen=True)
class Decision:
    exit_code: int  # after --exit-zero
    would_exit: int  # before --exit-zero
    reasons: tuple[Reason, ...]
    counts: dict[str, int]  # checks: pass / fail / inconclusive / skip
    dq_counts: dict[str, int]  # data-quality rules: rules / findings
    gating_failed: tuple[str, ...]  # codes of gating records with status fail
    inconclusive_gating: tuple[str, ...]
    policy: Policy = field(default_factory=Policy)

    @property
    def failures(self) -> list[Reason]:
        return [r for r in self.reasons if r.effect == "fail"]

    @property
    def warnings(self) -> list[Reason]:
        return [r for r in self.reasons if r.effect == "warn"]

    def fails(self, code: str, kind: str | None = None) -> bool:
        """Does a reason with this code fail the run?"""
        return any(r.code == code and r.effect == "fail" and (kind is None or r.kind == kind) for r in self.reasons)

    def effect_of(self, code: str) -> str | None:
        """The effect of this code's record on the verdict: fail, warn, pass or None (no reason)."""
        effects = [r.effect for r in self.reasons if r.code == code and r.kind in ("check", "inconclusive")]
        for e in ("fail", "warn", "pass"):
            if e in effects:
                return e
        return None

    @property
    def verdict(self) -> str:
        if self.would_exit == 2:
            return "could not run"
        if self.would_exit:
            return "failed"
        return "passed with warnings" if self.warnings else "passed"

    def exit_phrase(self) -> str:
        if self.exit_code != self.would_exit:
            return f"exit code {self.exit_code} (--exit-zero; would be {self.would_exit})"
        return f"exit code {self.exit_code}"

    def counts_phrase(self) -> str:
        c, d = self.counts, self.dq_counts
        n = sum(c.values())
        gating_fail = len(self.gating_failed)
        fail = f"{c['fail']} failed"
        if c["fail"]:
            fail += f" ({gating_fail} gating)"
        parts = [f"{c['pass']} passed", fail, f"{c['inconclusive']} inconclusive", f"{c['skip']} skipped"]
        dq = f"data quality: {d['findings']} finding{'s' if d['findings'] != 1 else ''} ({d['rules']} rules)"
        return f"{n} checks: " + ", ".join(parts) + "; " + dq

    def sentence(self) -> str:
        """The one-line summary every human output ends with."""
        return f"{self.counts_phrase()}; {self.exit_phrase()}"

    def summary_dict(self) -> dict[str, Any]:
        """The JSON ``summary`` block (v1 keys exit_code, counts, gating_failures kept)."""
        return {
            "exit_code": self.exit_code,
            "exit_code_without_exit_zero": self.would_exit,
            "verdict": self.verdict,
            "counts": dict(self.counts),
            "dq_counts": dict(self.dq_counts),
            "gating_failures": list(self.gating_failed),
            "inconclusive_gating": list(self.inconclusive_gating),
            "reasons": [r.to_dict() for r in self.reasons],
            "policy": {k: getattr(self.policy, k) for k in Policy.__dataclass_fields__},
        }


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _threshold_reasons(records: list[Any], policy: Policy) -> list[Reason]:
    out: list[Reason] = []
    by_code: dict[str, Any] = {}
    for r in records:
        by_code.setdefault(r.code, r)

    def unevaluable(code: str, key: str, why: str) -> Reason:
        return Reason("threshold", code, policy.inconclusive, f"{key} cannot be evaluated: {why}")

    for key, code, limit, side in (("max-movement-ratio", "MG101", policy.max_movement_ratio, "max"),
                                   ("min-movement-ratio", "MG101", policy.min_movement_ratio, "min"),
                                   ("max-brier", "CA201", policy.max_brier, "max")):
        if limit is None:
            continue
        r = by_code.get(code)
        if r is None:
            out.append(unevaluable(code, key, f"{code} did not run (not selected)"))
            continue
        ci = r.ci
        if ci is not None and ci[0] is not None and ci[1] is not None:
            lo, hi = float(ci[0]), float(ci[1])
            what = f"{code} 95% CI [{_fmt(lo)}, {_fmt(hi)}]"
            if side == "max" and lo > limit:
                out.append(Reason("threshold", code, "fail", f"{what} lies entirely above {key} = {_fmt(limit)}"))
            elif side == "min" and hi < limit:
                out.append(Reason("threshold", code, "fail", f"{what} lies entirely below {key} = {_fmt(limit)}"))
            else:
                out.append(Reason("threshold", code, "pass", f"{what} does not lie entirely "
                                  f"{'above' if side == 'max' else 'below'} {key} = {_fmt(limit)}"))
        elif code == "CA201" and r.estimate is not None:
            est = float(r.estimate)
            effect = "fail" if est > limit else "pass"
            rel = "above" if est > limit else "not above"
            out.append(Reason("threshold", code, effect, f"{code} estimate {_fmt(est)} (no CI) is {rel} "
                              f"{key} = {_fmt(limit)}"))
        else:
            out.append(unevaluable(code, key, f"{code} has no confidence interval (status {status_of(r)})"))
    return out


def decide(records: Iterable[Any], policy: Policy | None = None, baseline: Any = None) -> Decision:
    """Exit code, reasons and counts of a run. ``records`` are CheckResult-like objects
    (code, name, family, severity, status, estimate, ci, pvalue_adjusted); ``baseline`` an
    object with ``rows`` of deltas (``code``, ``severity``, ``worse``, ``message``)."""
    policy = policy or Policy()
    records = list(records)
    reasons: list[Reason] = []
    counts = {s: 0 for s in STATUSES}
    dq = {"rules": 0, "findings": 0}
    gating_failed: list[str] = []
    inconclusive_gating: list[str] = []
    for r in records:
        st = status_of(r)
        if r.family == "DQ":
            dq["rules"] += 1
            dq["findings"] += st == "fail"
        else:
            counts[st] = counts.get(st, 0) + 1
        if not is_gating(r.severity, policy.fail_on):
            continue
        if st == "fail":
            gating_failed.append(r.code)
            padj = getattr(r, "pvalue_adjusted", None)
            p = f", adjusted p = {padj:.3g}" if isinstance(padj, float) else ""
            seq = getattr(r, "sequential", None)
            if seq is not None:  # --sequential: the e-value decided (anytime-valid)
                p = f", e-value reached {seq.max_evalue:.3g} >= {seq.threshold:g}" + \
                    (f" at {seq.first_crossing}" if seq.first_crossing else "")
            reasons.append(Reason("check", r.code, "fail",
                                  f"{r.code} {r.name} failed (severity {r.severity} >= fail-on {policy.fail_on}{p})"))
        elif st == "inconclusive":
            inconclusive_gating.append(r.code)
            reasons.append(Reason("inconclusive", r.code, policy.inconclusive,
                                  f"{r.code} {r.name} is inconclusive: it ran but gives no valid p-value "
                                  f"(--inconclusive {policy.inconclusive})"))
    if policy.fail_on != "never":
        reasons.extend(_threshold_reasons(records, policy))
        for row in getattr(baseline, "rows", ()) or ():
            if row.worse and is_gating(row.severity, policy.fail_on):
                reasons.append(Reason("baseline", row.code, "fail", row.message))
    # a gate in which no gating check could run (every one skipped: too little data, every
    # series starting at 0 or 1, ...) decided nothing: exit 2 says so (--allow-empty lifts it)
    gating_checks = [r for r in records if r.family != "DQ" and is_gating(r.severity, policy.fail_on)]
    ran = [r for r in gating_checks if status_of(r) != "skip"]
    empty = bool(gating_checks) and not ran and not policy.allow_empty
    if empty:
        why = "; ".join(f"{r.code}: {r.message}" for r in gating_checks[:3])
        reasons.append(Reason("empty", "", "error", f"no gating check could run ({why}); pass --allow-empty "
                                                   "to accept a run that decides nothing"))
    would = 2 if empty else (1 if any(x.effect == "fail" for x in reasons) else 0)
    code = 0 if (policy.exit_zero and would == 1) else would
    return Decision(exit_code=code, would_exit=would, reasons=tuple(reasons), counts=counts, dq_counts=dq,
                    gating_failed=tuple(gating_failed), inconclusive_gating=tuple(inconclusive_gating),
                    policy=policy)


def quiet_lines(decision: Decision, records: Iterable[Any]) -> list[str]:
    """``-q``: the verdict and what decided it, in a few lines."""
    lines = [f"forecheck: {decision.verdict}; {decision.exit_phrase()}"]
    for r in decision.reasons:
        if r.effect == "fail":
            lines.append(f"  FAIL {r.message}")
        elif r.effect == "warn":
            lines.append(f"  WARN {r.message}")
    lines.append(decision.counts_phrase())
    return lines

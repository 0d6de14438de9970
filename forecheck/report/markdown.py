"""``--format markdown`` / ``--markdown PATH``: GitHub-flavoured markdown for
``$GITHUB_STEP_SUMMARY`` and pull-request comments.

The verdict first (with what decided it), then the checks table, data-quality findings,
the baseline comparison when there is one, and the one-line counts of the gate
(forecheck/report/gate.py), which every other output shares.
"""

from __future__ import annotations

import math
from typing import Any

from forecheck import __version__
from forecheck.report.gate import Decision, status_of
from forecheck.report.model import Report
from forecheck.report.verdict import sequential_line

ICON = {"fail": "❌", "warn": "⚠️", "pass": "✅"}
STATUS_ICON = {"pass": "✅ pass", "fail": "❌ fail", "skip": "⏭️ skip", "inconclusive": "❔ inconclusive"}


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _num(x: Any) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _cell(x)
    if not math.isfinite(v):
        return ""
    return f"{v:.3g}" if v != 0 else "0"


def _p(x: Any) -> str:
    if x is None:
        return ""
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def _verdict(d: Decision) -> str:
    if d.would_exit:
        icon, word = ICON["fail"], "failed"
    elif d.warnings:
        icon, word = ICON["warn"], "passed with warnings"
    else:
        icon, word = ICON["pass"], "passed"
    return f"## {icon} forecheck: {word} ({d.exit_phrase()})"


def render_markdown(report: Report, decision: Decision | None = None) -> str:
    d = decision or report.decision()
    inp = report.input
    paths = ", ".join(f"`{p}`" for p in inp.get("paths") or ["-"])
    out = [_verdict(d), ""]
    out.append(f"{paths}: {inp.get('series', '?')} series ({inp.get('resolved_series', '?')} resolved), "
               f"{inp.get('rows_used', '?')} of {inp.get('rows_read', '?')} rows used")
    out.append("")
    # what decided the verdict, and every threshold / baseline rule that was evaluated
    decisive = [x for x in d.reasons if x.effect in ("fail", "warn") or x.kind in ("threshold", "baseline")]
    if decisive:
        out += [f"- {ICON[x.effect]} {_cell(x.message)}" for x in decisive]
        out.append("")
    out += ["### Checks", "",
            "| code | check | layer | severity | status | estimate | 95% CI | p (adj.) | gates |",
            "|---|---|---|---|---|---:|---|---:|---|"]
    for r in report.results:
        if r.family == "DQ":
            continue
        st = status_of(r)
        eff = d.effect_of(r.code)
        gates = "fails the run" if eff == "fail" else ("warning" if eff == "warn" else "")
        ci = f"[{_num(r.ci[0])}, {'∞' if r.ci[1] == math.inf else _num(r.ci[1])}]" if r.ci is not None else ""
        p = r.pvalue_adjusted if r.pvalue_adjusted is not None else r.pvalue
        pc = _p(p) if r.sequential is None else f"e = {_num(r.evalue)} / {r.sequential.threshold:g}"
        out.append(f"| [{r.code}]({r.url}) | {_cell(r.name)} | {r.layer} | {r.severity} | {STATUS_ICON.get(st, st)} "
                   f"| {_num(r.estimate)} | {ci} | {pc} | {gates} |")
    out.append("")
    seq = sequential_line(report.results)
    if seq is not None:  # --sequential: e-values decide MG101, MG103, CA202 (p (adj.) shows e / threshold)
        out += [f"Sequential: {_cell(seq)}.", ""]
    dq = [r for r in report.results if r.family == "DQ" and status_of(r) == "fail"]
    out.append("### Data quality")
    out.append("")
    if dq:
        out += ["| code | severity | finding |", "|---|---|---|"]
        out += [f"| {r.code} | {r.severity} | {_cell(r.message or r.name)} |" for r in dq]
    else:
        out.append(f"All {d.dq_counts['rules']} data-quality rules passed.")
    out.append("")
    if report.groups:
        from forecheck.report.prose import group_summary

        out += ["### Groups (`--group-by`)", "",
                "| group | series | moves as calibrated? | Σm/Σr [CI] | revisions | calibrated? | Brier | layer B holds | exit |",
                "|---|---:|---|---|---|---|---:|---|---:|"]
        for g, sub in report.groups:
            s = group_summary(g, sub)
            a = s["answers"]
            ci = s["movement_ratio_ci"]
            ratio = "" if s["movement_ratio"] is None else f"{_num(s['movement_ratio'])}" + (
                f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else "")
            out.append(f"| {_cell(g)} | {s['n_series']} | {a['movement']['status']} | {ratio} | "
                       f"{a['revisions']['status']} | {a['calibration']['status']} | {_num(s['brier'])} | "
                       f"{s['layer_b_holds']} of {s['layer_b_measured']} | {s['exit_code']} |")
        out.append("")
        if report.group_comparisons:
            out += ["| groups | questions | Brier a | Brier b | a − b | p (paired, Diebold–Mariano) |",
                    "|---|---:|---:|---:|---:|---:|"]
            for c in report.group_comparisons:
                p = _p(c.pvalue) if c.pvalue is not None else "no p-value (too few independent questions)"
                out.append(f"| {_cell(c.a)} vs {_cell(c.b)} | {c.n_common} | {_num(c.brier_a)} | {_num(c.brier_b)} | "
                           f"{_num(c.brier_difference)} | {p} |")
            out.append("")
    if report.baseline is not None:
        b = report.baseline
        out += [f"### Baseline `{b.path}`", "",
                "| code | baseline | now | change | z | p | worse beyond tolerance |",
                "|---|---:|---:|---:|---:|---:|---|"]
        for row in b.rows:
            z = f"{row.z:+.2f}" if row.z is not None else ""
            out.append(f"| {row.code} | {_num(row.old)} | {_num(row.new)} | {row.delta:+.3g} | {z} | {_p(row.pvalue)} "
                       f"| {'❌ yes' if row.worse else ''} |")
        out.append("")
        out.append(f"Tolerance {b.tolerance:g} on the distance from the calibrated value; z assumes independent "
                   "runs (conservative for the same questions).")
        out += [f"- {_cell(n)}" for n in b.notes]
        out.append("")
    out.append(f"{d.sentence()} · forecheck {__version__}")
    return "\n".join(out) + "\n"


def render_markdown_error(message: str, file: str | None = None) -> str:
    where = f" `{file}`" if file else ""
    return (f"## 💥 forecheck: could not run{where} (exit code 2)\n\n```\n{message}\n```\n\n"
            "The forecast was not checked; fix the input or options above.\n")

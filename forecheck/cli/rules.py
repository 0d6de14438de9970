"""``forecheck rules`` and ``forecheck rule CODE``: the stable check codes and what they mean."""

from __future__ import annotations

import json
import textwrap
from enum import Enum
from typing import Annotated

import typer

from forecheck.cli.common import fail, write_payload

LAYER = {"DQ": "data quality", "MG": "layer A (must pass)", "CA": "layer A (must pass)",
         "WN": "layer B (Wiener-process assumption; may legitimately fail)"}


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


def _rules() -> list[dict[str, str]]:
    from forecheck.checks import all_specs
    from forecheck.cli.analyze import _dq_rules
    from forecheck.io.dq_rules import BY_CODE
    from forecheck.report.rule_docs import DQ_ACTIONS, RULE_DOCS
    from forecheck.results import DOCS_URL

    rows: list[dict[str, str]] = []
    for code, name, sev, summary in _dq_rules():
        stops = sev == "error"
        rows.append({"code": code, "name": name, "severity": sev, "layer": LAYER["DQ"], "summary": summary,
                     "what": summary,
                     "why": "Stops the run (exit 2): analysis would be meaningless." if stops else
                            "A data-quality finding: reported, never stops the run; gates only with --fail-on "
                            + ("warning or info." if sev == "warning" else "info."),
                     "action": DQ_ACTIONS.get(code) or (BY_CODE[code].action if code in BY_CODE else ""),
                     "url": DOCS_URL.format(code=code.lower())})
    from forecheck.checks import RUNNER_DQ_RULES

    for code, name, sev, summary in RUNNER_DQ_RULES:  # findings the runner makes (questions)
        rows.append({"code": code, "name": name, "severity": sev, "layer": LAYER["DQ"], "summary": summary,
                     "what": summary, "why": "A data-quality finding: reported, never stops the run.",
                     "action": DQ_ACTIONS.get(code, ""), "url": DOCS_URL.format(code=code.lower())})
    for s in all_specs():
        doc = RULE_DOCS.get(s.code, {})
        rows.append({"code": s.code, "name": s.name, "severity": s.severity, "layer": LAYER.get(s.family, ""),
                     "summary": s.summary, **doc, "url": DOCS_URL.format(code=s.code.lower())})
    return rows


def rules_command(
    fmt: Annotated[RulesFormat, typer.Option("--format", "-f", help="Output format.")] = RulesFormat.text,
) -> None:
    """List every check code with its default severity, name and one-line summary."""
    rows = _rules()
    if fmt is RulesFormat.json:
        write_payload(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    lines = []
    for r in rows:
        head = f"{r['code']:<7}{r['severity']:<9}{r['name']}"
        lines.append(head)
        if r["summary"]:
            lines.extend(textwrap.wrap(r["summary"], 80, initial_indent=" " * 16, subsequent_indent=" " * 16,
                                       break_on_hyphens=False))
    lines.append("")
    lines.append("`forecheck rule CODE` explains one code; select with --select/--ignore (codes, prefixes, ALL).")
    write_payload("\n".join(lines), machine=False)


FIELDS = (("what", "What it tests"), ("why", "Why it matters"), ("null", "Null hypothesis"),
          ("statistic", "Statistic"), ("pass", "pass"), ("fail", "fail"), ("inconclusive", "inconclusive"),
          ("action", "What to do"), ("reference", "Reference"), ("url", "Docs"))


def rule_command(
    code: Annotated[str, typer.Argument(help="A check code such as MG101.")],
    fmt: Annotated[RulesFormat, typer.Option("--format", "-f", help="Output format.")] = RulesFormat.text,
) -> None:
    """Explain one check code: what it tests, why it matters, its null hypothesis and
    statistic, how to read pass/fail/inconclusive, what to do, reference and docs."""
    rows = _rules()
    match = next((r for r in rows if r["code"].upper() == code.strip().upper()), None)
    if match is None:
        import difflib

        close = difflib.get_close_matches(code.upper(), [r["code"] for r in rows], n=1)
        fail(f"unknown check code {code!r}" + (f" (did you mean {close[0]}?)" if close else ""),
             "run `forecheck rules` for the list")
    if fmt is RulesFormat.json:
        write_payload(json.dumps(match, indent=2, ensure_ascii=False))
        return
    out = [f"{match['code']} {match['name']}", f"severity: {match['severity']}   {match['layer']}", ""]
    for key, label in FIELDS:
        text = match.get(key)
        if not text:
            continue
        if key in ("pass", "fail", "inconclusive"):
            label = f"Reading: {label}"
        out.append(f"{label}:")
        out.extend(textwrap.wrap(text, 78, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))
    write_payload("\n".join(out), machine=False)

"""``--format github``: GitHub Actions workflow commands.

Format as ruff's github renderer: ``::error title=forecheck (CODE),file=…,line=…::msg``;
newlines escaped as %0A. What fails the run (forecheck/report/gate.py) is an ``::error``;
an inconclusive gating check is an ``::warning`` with ``--inconclusive warn`` (``::error``
with ``fail``, ``::notice`` with ``pass``); other failed records are ``::warning``
(severity error/warning) or ``::notice`` (info). A last ``::notice`` carries the summary.
On exit 2, :func:`render_github_error` gives one ``::error`` naming the input.
"""

from __future__ import annotations

import re
from typing import Any

from forecheck.report.gate import Decision, status_of
from forecheck.report.model import Report

LEVEL = {"fail": "error", "warn": "warning", "pass": "notice"}


_CONTROL = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")


def _escape_data(s: str) -> str:
    # as @actions/core's escapeData, plus other control characters shown as \xNN
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _line(level: str, title: str, file: str, message: str, line: int | None = None) -> str:
    props = [f"title={_escape_prop(title)}", f"file={_escape_prop(file)}"]
    if isinstance(line, int):
        props.append(f"line={line}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def _first_row(r: Any) -> dict:
    details = r.details_dict() if hasattr(r, "details_dict") else r.details
    rows = details.get("rows") if isinstance(details, dict) else None
    return rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}


def render_github(report: Report, decision: Decision | None = None) -> str:
    d = decision or report.decision()
    paths = report.input.get("paths") or ["-"]
    file = str(paths[0])
    lines = []
    for r in report.results:
        st = status_of(r)
        if st == "fail":
            level = "error" if d.fails(r.code, "check") else ("notice" if r.severity == "info" else "warning")
            msg = f"{r.name}: {r.message}"
        elif st == "inconclusive" and d.effect_of(r.code) is not None:
            level = LEVEL[d.effect_of(r.code) or "pass"]
            msg = (f"{r.name} is inconclusive (--inconclusive {d.policy.inconclusive}): it ran but gives no valid "
                   f"p-value. {r.message}")
        else:
            continue
        first = _first_row(r)
        lines.append(_line(level, f"forecheck ({r.code})", str(first.get("file", file)), msg, first.get("line")))
    for x in d.reasons:
        if x.kind in ("threshold", "baseline") and x.effect in ("fail", "warn"):
            lines.append(_line(LEVEL[x.effect], f"forecheck ({x.code} {x.kind})", file, x.message))
        elif x.kind == "empty":
            lines.append(_line("error", "forecheck (no gating check could run)", file, x.message))
    lines.append(f"::notice title=forecheck::{_escape_data(d.sentence())}")
    return "\n".join(lines) + "\n"


def render_github_error(message: str, file: str | None) -> str:
    """Exit 2: one ::error naming the input, so the run does not look like a check failure."""
    return _line("error", "forecheck (could not run)", file or "-", f"forecheck could not run: {message}") + "\n"

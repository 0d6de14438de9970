"""``--format github``: GitHub Actions workflow commands, one per failed record.

Format as ruff's github renderer: ``::error title=forecheck (CODE),file=…,line=…::msg``;
newlines escaped as %0A. Severity error -> ::error, warning -> ::warning,
info -> ::notice. Passing records produce no annotation.
"""

from __future__ import annotations

import re

from forecheck.report.model import Report

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


_CONTROL = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")


def _escape_data(s: str) -> str:
    # as @actions/core's escapeData, plus other control characters shown as \xNN
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    paths = report.input.get("paths") or ["-"]
    file = paths[0]
    lines = []
    for r in report.results:
        if r.status != "fail":
            continue
        # data-quality findings carry their first offending rows (1-based file lines)
        rows = r.details.get("rows") if isinstance(r.details, dict) else None
        first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        props = [f"title={_escape_prop(f'forecheck ({r.code})')}",
                 f"file={_escape_prop(str(first.get('file', file)))}"]
        if isinstance(first.get("line"), int):
            props.append(f"line={first['line']}")
        lines.append(f"::{LEVEL.get(r.severity, 'notice')} {','.join(props)}::{_escape_data(f'{r.name}: {r.message}')}")
    c = report.counts()
    lines.append(f"::notice title=forecheck::{c['pass']} passed, {c['fail']} failed, {c['skip']} skipped; "
                 f"exit code {int(report.exit_code)}")
    return "\n".join(lines)

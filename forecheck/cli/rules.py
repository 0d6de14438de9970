"""``forecheck rules`` and ``forecheck rule CODE``: the stable check codes."""

from __future__ import annotations

from typing import Annotated

import typer

from forecheck.cli.common import fail, write_payload


def _rules() -> list[tuple[str, str, str, str]]:
    from forecheck.checks import all_specs

    rows: list[tuple[str, str, str, str]] = []
    try:
        from forecheck.io.validate import DQ_RULES
    except ImportError:
        DQ_RULES = []
    rows.extend((c, n, s, summ) for c, n, s, summ in DQ_RULES)
    from forecheck.checks import RUNNER_DQ_RULES

    rows.extend(RUNNER_DQ_RULES)
    rows.extend((s.code, s.name, s.severity, s.summary) for s in all_specs())
    return rows


def rules_command() -> None:
    """List every check code with its name, default severity and one-line summary."""
    lines = [f"{code:<7}{sev:<9}{name}" for code, name, sev, _ in _rules()]
    write_payload("\n".join(lines))


def rule_command(code: Annotated[str, typer.Argument(help="A check code such as MG101.")]) -> None:
    """Explain one check code."""
    for c, name, sev, summary in _rules():
        if c.upper() == code.upper():
            layer = {"DQ": "data quality", "MG": "layer A (must pass)", "CA": "layer A (must pass)",
                     "WN": "layer B (Wiener-process assumption; may legitimately fail)"}.get(c[:2], "")
            write_payload(f"{c}: {name}\nseverity: {sev}\nlayer: {layer}\n\n{summary}\n")
            return
    fail(f"unknown check code {code!r}", "run `forecheck rules` for the list")

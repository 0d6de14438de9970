"""The human report (``--format text``), rendered with Rich into a string.

Order: what was read -> the critique/verdict panel (layer B vs layer A) -> layer A
(martingale, then calibration) -> layer B (Wiener-process assumptions) -> data
quality -> every check in one table -> series table -> one-line summary.
Colour follows the terminal (NO_COLOR / FORCE_COLOR respected by Rich).
"""

from __future__ import annotations

import importlib
import io
import math
import os
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.panel import Panel as RichPanel
from rich.table import Table
from rich.text import Text

from forecheck import __version__
from forecheck.report.model import Report

WIDTH = 80
STATUS_STYLE = {"pass": "green", "fail": "bold red", "skip": "dim"}
SECTIONS = ("martingale", "calibration", "wiener")


def fmt_num(x: Any, digits: int = 3) -> str:
    """Compact number formatting for tables ('' for missing)."""
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return ""
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".")


def fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


def _section(name: str):
    try:
        return importlib.import_module(f"forecheck.report.sections.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"forecheck.report.sections.{name}":
            return None
        raise


def header(report: Report) -> RichPanel:
    inp = report.input
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    paths = inp.get("paths") or []
    t.add_row("input", ", ".join(str(p) for p in paths) + (f" ({inp['format']})" if inp.get("format") else ""))
    t.add_row("layout", str(inp.get("layout", "")))
    cols = inp.get("columns") or {}
    mapped = ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in cols.items() if v)
    if mapped:
        t.add_row("columns", mapped)
    scale = str(inp.get("scale", ""))
    if inp.get("scale_note"):
        scale += f" ({inp['scale_note']})"
    t.add_row("scale", scale)
    dropped = inp.get("rows_dropped") or {}
    rows = f"{inp.get('rows_read', '?')} read = {inp.get('rows_used', '?')} used"
    if dropped:
        rows += " + " + " + ".join(f"{n} {reason}" for reason, n in dropped.items())
    t.add_row("rows", rows)
    series = f"{inp.get('series', '?')} series, {inp.get('resolved_series', '?')} resolved"
    if inp.get("short_series"):
        series += f", {inp['short_series']} too short for dynamic checks"
    t.add_row("series", series)
    tr = inp.get("time_range")
    if tr:
        t.add_row("time", f"{tr[0]} .. {tr[1]} ({inp.get('time_kind', '')})")
    for note in inp.get("notes") or []:
        t.add_row("note", str(note))
    return RichPanel(t, title=f"forecheck {__version__}: what was read", title_align="left", width=WIDTH)


def dq_table(report: Report) -> Table | None:
    rows = report.by_family("DQ")
    findings = [r for r in rows if r.status == "fail"]
    if not rows:
        return None
    t = Table(title="Data quality", title_justify="left", width=WIDTH, show_lines=False)
    t.add_column("code", no_wrap=True)
    t.add_column("severity", no_wrap=True)
    t.add_column("finding")
    if not findings:
        t.add_row("", "", Text(f"all {len(rows)} data-quality rules passed", style="green"))
    for r in findings:
        t.add_row(r.code, r.severity, r.message or r.name)
    return t


def checks_table(report: Report) -> Table:
    t = Table(title="All checks (MG, CA: layer A, must pass; WN: layer B, describes the process)",
              title_justify="left", width=WIDTH, box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("code", no_wrap=True, width=5)
    t.add_column("check", ratio=1)
    t.add_column("severity", no_wrap=True, width=8)
    t.add_column("status", no_wrap=True, width=6)
    t.add_column("estimate", justify="right", no_wrap=True, width=9)
    t.add_column("p (adj.)", justify="right", no_wrap=True, width=8)
    for r in report.results:
        if r.family == "DQ":
            continue
        p = fmt_p(r.pvalue_adjusted if r.pvalue_adjusted is not None else r.pvalue)
        t.add_row(r.code, r.name, r.severity, Text(r.status, style=STATUS_STYLE.get(r.status, "")),
                  fmt_num(r.estimate), p)
    return t


def series_table(report: Report, verbose: int) -> Table:
    df = report.series
    limit = None if verbose else 15
    title = "Series" if verbose or len(df) <= 15 else \
        f"Series: the 15 of {len(df)} with the largest excess movement (-v for all)"
    t = Table(title=title, title_justify="left", width=WIDTH)
    t.add_column("id", ratio=1, overflow="ellipsis", no_wrap=True)
    for col in ("n", "p0", "p_last", "out", "movement", "budget", "ratio"):
        t.add_column(col, justify="right", no_wrap=True)
    view = df if limit is None else df.sort_values("excess", ascending=False, na_position="last").head(limit)
    for rec in view.itertuples(index=False):
        t.add_row(str(rec.id), str(rec.n), fmt_num(rec.p0), fmt_num(rec.p_last),
                  "" if rec.outcome != rec.outcome else str(int(rec.outcome)),
                  fmt_num(rec.movement), fmt_num(rec.uncertainty_reduction), fmt_num(rec.ratio))
    return t


def summary_line(report: Report) -> Text:
    # the verdict, reasons and counts come from the gate (forecheck/report/gate.py)
    d = report.decision()
    style = "bold green" if d.would_exit == 0 else "bold red"
    lines = [f"{'FAIL' if r.effect == 'fail' else 'WARN'}: {r.message}" for r in d.reasons
             if r.effect in ("fail", "warn")]
    return Text("\n".join([*lines, d.sentence()]), style=style)


def renderables(report: Report, *, verbose: int = 0, quiet: bool = False) -> list:
    out: list = []
    if not quiet:
        out.append(header(report))
    wiener = _section("wiener")
    if wiener is not None and hasattr(wiener, "verdict"):
        v = wiener.verdict(report)
        if v is not None:
            out.append(v)
    for name in SECTIONS:
        mod = _section(name)
        if mod is not None and hasattr(mod, "render"):
            out.extend(mod.render(report))
    dq = dq_table(report)
    if dq is not None:
        out.append(dq)
    out.append(checks_table(report))
    if not quiet:
        out.append(series_table(report, verbose))
    out.append(summary_line(report))
    return out


def _use_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("PY_COLORS") == "1":
        return True
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def render_text(report: Report, *, verbose: int = 0, quiet: bool = False, colour: bool | None = None) -> str:
    buf = io.StringIO()
    colour = _use_colour() if colour is None else colour
    console = Console(file=buf, width=WIDTH, force_terminal=colour, no_color=not colour, highlight=False,
                      color_system="standard" if colour else None, emoji=False)
    for item in renderables(report, verbose=verbose, quiet=quiet):
        console.print(item)
    return buf.getvalue()

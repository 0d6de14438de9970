"""The human report (``--format text``), rendered with Rich into a string.

The first screen is the answer: a verdict card with the three layer-A answers, one
line for layer B, the effective number of independent series and what to do next.
Then the evidence in order of importance: what was read, the variance budget,
every layer-A check, the series that stand out, the layer-B assumptions (one row
each), data quality. ``-v`` adds the critique panel, per-horizon calibration, the
long layer-B table, every check and every series. The width is the terminal's
(80 columns at least); ids and paths wrap, never truncate. Colour follows the
terminal (NO_COLOR / FORCE_COLOR respected by Rich).
"""

from __future__ import annotations

import io
import os
import shutil
import sys

from rich import box
from rich.console import Console, Group
from rich.panel import Panel as RichPanel
from rich.table import Table
from rich.text import Text

from forecheck import __version__
from forecheck.report.format import MIN_WIDTH, fmt_fixed, fmt_num, fmt_p, plural, time_unit_word
from forecheck.report.model import Report
from forecheck.report.prose import effective_series
from forecheck.report.sections import calibration, martingale, wiener
from forecheck.report.verdict import (ASSUMPTION_SHORT, fmt_e, gate_active, layer_a_answers, layer_b, next_steps,
                                      sequential_line)

MAX_WIDTH = 160
STATUS_STYLE = {"pass": "green", "fail": "bold red", "skip": "dim", "inconclusive": "yellow"}
ANSWER_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "skip": "dim"}


def _t(s: str, style: str = "") -> Text:
    """User-derived text (ids, paths, cells) as a Text: never read as Rich markup."""
    return Text(str(s), style=style)


def status_text(r) -> Text:
    # a layer-B "fail" describes the process (info); it is never styled as a gating failure
    if r.status == "fail" and (r.layer == "B" or r.severity == "info"):
        return Text("fail", style="yellow")
    return Text(r.status, style=STATUS_STYLE.get(r.status, ""))


# ------------------------------------------------------------------ verdict card
def verdict_card(report: Report) -> RichPanel:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    labels = ("Moves as calibrated?", "Predictable revisions?", "Calibrated?")
    for label, a in zip(labels, layer_a_answers(report.results)):
        line = Text(a.answer, style=ANSWER_STYLE.get(a.status, ""))
        line.append(" — " + a.evidence, style="dim")
        grid.add_row(label, line)
    lb = layer_b(report.results)
    if lb is not None:
        if lb.fail:
            line = Text("critiques assuming " + ", ".join(lb.fail) + " do not apply (those assumptions fail)")
        elif not lb.hold:  # every WN check skipped (too little data, or none selected): nothing to claim
            line = Text("no Wiener-process assumption was measured")
        else:
            line = Text("every measured Wiener-process assumption holds here")
        if lb.hold:
            line.append("; holds: " + ", ".join(lb.hold), style="dim")
        grid.add_row("Layer B", line)
    seq = sequential_line(report.results)
    if seq is not None:
        grid.add_row("Sequential", seq)
    eff = effective_series(report.results)
    if eff is not None and eff.n_eff is not None:
        txt = f"about {eff.n_eff:.0f} of {eff.n_series}"
        if eff.rho is not None:
            txt += f" (MG106; same-time revisions correlate, ρ = {eff.rho:+.2f})"
        if eff.n_eff_excess is not None:
            txt += f"; MG101's own excess terms: about {eff.n_eff_excess:.0f}"
        grid.add_row("Independent series", txt)
    for i, step in enumerate(next_steps(report.results, int(report.exit_code))):
        grid.add_row("Next" if i == 0 else "", step)
    code = int(report.exit_code)
    src = ", ".join(str(p) for p in report.input.get("paths") or []) or "input"
    return RichPanel(grid, title=Text(f"forecheck verdict: {src}"), title_align="left",
                     subtitle=f"exit code {code}", subtitle_align="right",
                     border_style="red" if code else ("yellow" if gate_active(report.results) else "green"))


# --------------------------------------------------------------------- evidence
def header(report: Report, verbose: int = 0) -> RichPanel:
    inp = report.input
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    paths = inp.get("paths") or []
    fmt = ", ".join(x for x in (inp.get("format"), f"{inp.get('layout', '')} layout") if x)
    t.add_row("input", _t(", ".join(str(p) for p in paths) + f" ({fmt})"))
    cols = inp.get("columns") or {}
    mapped = ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in cols.items() if v)
    if mapped:
        t.add_row("columns", _t(mapped))
    scale = str(inp.get("scale", ""))
    if inp.get("scale_note"):
        scale += f" ({inp['scale_note']})"
    t.add_row("scale", _t(scale))
    dropped = inp.get("rows_dropped") or {}
    rows = f"{inp.get('rows_read', '?')} read = {inp.get('rows_used', '?')} used"
    if dropped:
        rows += " + " + " + ".join(f"{n} {reason}" for reason, n in dropped.items())
    series = f"{inp.get('series', '?')} series, {inp.get('resolved_series', '?')} resolved"
    if inp.get("short_series"):
        series += f", {inp['short_series']} too short for dynamic checks"
    t.add_row("rows", f"{rows}; {series}")
    if inp.get("questions"):
        t.add_row("questions", _t(inp["questions"]["summary"]))
    tr = inp.get("time_range")
    if tr:
        unit = report.panel.time_unit if report.panel is not None else None
        t.add_row("time", _t(f"{tr[0]} .. {tr[1]} ({inp.get('time_kind', '')}; time unit: {time_unit_word(unit)})"))
    notes = inp.get("notes") or []
    if verbose:
        for note in notes:
            t.add_row("note", _t(note))
    title = f"What was read (forecheck {__version__}" + (f"; -v shows {len(notes)} notes)" if notes and not verbose
                                                        else ")")
    return RichPanel(t, title=title, title_align="left")


def budget_panel(report: Report, verbose: int = 0):
    r = report.result("MG101")
    if r is None or r.status == "skip":
        return None
    d = r.details
    lines = Text()
    ci = f" [{r.ci[0]:.2f}, {r.ci[1]:.2f}]" if r.ci else ""
    lines.append(f"Movement Σm/Σr = {r.estimate:.2f}{ci} of the budget over {plural(d.n_series, 'series', 'series')}")
    if d.inflight.ratio is not None:
        lines.append(f"; in flight {d.inflight.ratio:.2f}× its budget")
    if d.resolution.ratio is not None:
        lines.append(f", final step {d.resolution.ratio:.2f}×")
    lines.append(". ")
    who = "made" if d.volatility_seller_profit >= 0 else "lost"
    lines.append(f"A volatility seller holding (1 − 2p) YES contracts would have {who} "
                 f"${abs(d.volatility_seller_profit):.3f} per $1 (a profit means over-movement).")
    if verbose and d.by_time_to_resolution:
        unit = report.panel.time_unit if report.panel is not None else None
        words = "" if unit == "day" else f" ({time_unit_word(unit)})"
        lines.append(f"\nBy time to resolution{words}: ", style="dim")
        lines.append(", ".join(f"{b.time_to_resolution}: {fmt_fixed(b.ratio)}" for b in d.by_time_to_resolution),
                     style="dim")
    return Group(Text.assemble(("Layer A: the variance budget (MG101; Augenblick & Rabin 2021). ", "bold"), lines))


LAYER_A = ("MG101", "MG102", "MG103", "MG104", "MG105", "MG106", "CA201", "CA202", "CA203", "CA204")


def _p_cell(r) -> str:
    """The decision column: adjusted p, or for a --sequential record its e-value / threshold."""
    if r.sequential is not None and r.status != "skip":
        return f"e {fmt_e(r.evalue)} / {r.sequential.threshold:g}"
    p = fmt_p(r.pvalue_adjusted if r.pvalue_adjusted is not None else r.pvalue)
    return "" if p == "–" else p


def _estimate(r) -> str:
    if r.estimate is None:
        return ""
    if r.code == "MG106":
        return f"{r.estimate:.0f} series"
    if r.code == "MG102":
        return f"{r.estimate:.0f} flagged"
    est = fmt_num(r.estimate)
    if r.ci:
        hi = "∞" if r.ci[1] == float("inf") else fmt_num(r.ci[1])  # a confidence sequence may be unbounded
        est += f" [{fmt_num(r.ci[0])}, {hi}]"
    return est


def layer_a_table(report: Report) -> Table | None:
    recs = [report.result(c) for c in LAYER_A]
    recs = [r for r in recs if r is not None]
    if not recs:
        return None
    t = Table(title="Layer A: checks a calibrated forecaster must pass", title_justify="left", box=box.SIMPLE_HEAD,
              pad_edge=False, expand=True, show_edge=False)
    t.add_column("code", no_wrap=True)
    t.add_column("check", ratio=2, overflow="fold")
    t.add_column("estimate [95% CI]", ratio=2, overflow="fold")
    t.add_column("e / threshold" if any(r.sequential is not None for r in recs) else "p (adj.)", no_wrap=True,
                 justify="right")
    t.add_column("status", no_wrap=True)
    for r in recs:
        t.add_row(r.code, r.name, _estimate(r), _p_cell(r), status_text(r))
    return t


def layer_b_table(report: Report, verbose: int = 0):
    recs = [r for r in report.results if r.family == "WN"]
    if not recs:
        return None
    if verbose:
        return wiener.render(report)
    from forecheck.report.prose import assumption_rows

    rows = assumption_rows({r.code: r for r in recs})
    t = Table(title="Layer B: Wiener-process assumptions (a calibrated forecaster may fail them; -v explains)",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
    t.add_column("assumption", no_wrap=True)
    t.add_column("holds?", no_wrap=True)
    t.add_column("measured here", ratio=1, overflow="fold")
    for row in rows:
        h = row["holds"]
        holds = Text("n/a", style="dim") if h is None else (Text("holds", style="green") if h else
                                                              Text("fails", style="yellow"))
        code = row["codes"][0]
        t.add_row(f"{ASSUMPTION_SHORT.get(code, row['assumption'])} ({code})", holds, row["summary"])
    return [t]


def dq_lines(report: Report):
    rows = report.by_family("DQ")
    if not rows:
        return None
    findings = [r for r in rows if r.status == "fail"]
    if not findings:
        return Text(f"Data quality: all {len(rows)} rules passed.", style="green")
    t = Table(title=f"Data quality: {plural(len(findings), 'finding')}", title_justify="left", box=None,
              pad_edge=False, expand=True, show_header=False)
    t.add_column("code", no_wrap=True)
    t.add_column("severity", no_wrap=True)
    t.add_column("finding", ratio=1, overflow="fold")
    for r in findings:
        t.add_row(r.code, r.severity, _t(r.message or r.name))
    return t


def checks_table(report: Report) -> Table:
    t = Table(title="Every check (MG, CA: layer A, must pass; WN: layer B, describes the process)",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
    t.add_column("code", no_wrap=True)
    t.add_column("check", ratio=2, overflow="fold")
    t.add_column("severity", no_wrap=True)
    t.add_column("status", no_wrap=True)
    t.add_column("estimate", justify="right", no_wrap=True)
    t.add_column("p (adj.)", justify="right", no_wrap=True)
    t.add_column("message", ratio=4, overflow="fold")
    for r in report.results:
        if r.family == "DQ":
            continue
        t.add_row(r.code, r.name, r.severity, status_text(r), fmt_num(r.estimate), _p_cell(r), _t(r.message))
    return t


def series_table(report: Report, verbose: int) -> Table:
    df = report.series
    limit = None if verbose else 10
    title = "Series" if verbose or len(df) <= 10 else \
        f"Series: the 10 of {len(df)} with the largest excess movement (-v for all)"
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
    t.add_column("id", ratio=1, overflow="fold")
    for col in ("n", "p0", "p_last", "outcome", "movement", "budget", "ratio"):
        t.add_column(col, justify="right", no_wrap=True)
    view = df if limit is None else df.sort_values("excess", ascending=False, na_position="last").head(limit)
    for rec in view.itertuples(index=False):
        t.add_row(_t(rec.id), str(rec.n), fmt_num(rec.p0), fmt_num(rec.p_last),
                  "" if rec.outcome != rec.outcome else str(int(rec.outcome)),
                  fmt_num(rec.movement), fmt_num(rec.uncertainty_reduction), fmt_num(rec.ratio))
    return t


def summary_line(report: Report) -> Text:
    # the verdict, reasons and counts come from the gate (forecheck/report/gate.py)
    d = report.decision()
    style = "bold green" if d.would_exit == 0 else "bold red"
    lines = [f"ERROR: {r.message}" for r in d.reasons if r.effect == "error"]
    lines += [f"FAIL: {r.message}" for r in d.reasons if r.effect == "fail"]
    warn = [r.code for r in d.reasons if r.effect == "warn" and r.kind == "inconclusive"]
    if warn:
        lines.append(f"WARN: {', '.join(warn)} inconclusive: ran, but no valid p-value "
                     f"(--inconclusive {report.config.inconclusive})")
    lines += [f"WARN: {r.message}" for r in d.reasons if r.effect == "warn" and r.kind != "inconclusive"]
    return Text("\n".join([*lines, d.sentence()]), style=style)


def groups_tables(report: Report) -> list:
    """``--group-by``: per-group verdicts side by side, then every pair compared."""
    if not report.groups:
        return []
    from forecheck.report.prose import group_summary

    t = Table(title="Groups (--group-by): each analysed on its own series", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
    for col in ("group", "series", "moves as calibrated? Σm/Σr [CI]", "revisions", "calibrated? Brier",
                "layer B holds", "exit"):
        t.add_column(col, overflow="fold")
    for g, sub in report.groups:
        s = group_summary(g, sub)
        a = s["answers"]
        ratio = "" if s["movement_ratio"] is None else f" {s['movement_ratio']:.2f}"
        if s["movement_ratio_ci"]:
            ratio += f" [{s['movement_ratio_ci'][0]:.2f}, {s['movement_ratio_ci'][1]:.2f}]"
        st = lambda k: Text(a[k]["status"], style=ANSWER_STYLE.get(a[k]["status"], ""))  # noqa: E731
        t.add_row(_t(g), str(s["n_series"]), Text.assemble(st("movement"), ratio), st("revisions"),
                  Text.assemble(st("calibration"), "" if s["brier"] is None else f" {s['brier']:.4f}"),
                  f"{s['layer_b_holds']} of {s['layer_b_measured']}", str(s["exit_code"]))
    out: list = [t]
    if report.group_comparisons:
        c = Table(title="Groups compared on the questions both forecast (paired Brier, Diebold–Mariano)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=True, show_edge=False)
        for col in ("groups", "questions", "Brier a", "Brier b", "a − b", "p", "Σm/Σr a / b"):
            c.add_column(col, overflow="fold")
        for x in report.group_comparisons:
            p = fmt_p(x.pvalue) if x.pvalue is not None else (
                f"no p-value (about {x.n_eff:.0f} independent)" if x.n_eff is not None else "–")
            c.add_row(_t(f"{x.a} vs {x.b}"), str(x.n_common), fmt_fixed(x.brier_a, ".4f"), fmt_fixed(x.brier_b, ".4f"),
                      fmt_fixed(x.brier_difference, "+.4f"), p,
                      f"{fmt_fixed(x.ratio_a)} / {fmt_fixed(x.ratio_b)}")
        out.append(c)
    return out


def renderables(report: Report, *, verbose: int = 0, quiet: bool = False) -> list:
    out: list = [verdict_card(report)]
    out.extend(groups_tables(report))
    if quiet:
        failing = [r for r in report.results if r.status == "fail" and report.config.gates(r.severity)]
        for r in failing:
            out.append(Text.assemble((f"{r.code} ", "bold red"), f"{r.name}: ", _t(r.message)))
        out.append(summary_line(report))
        return out
    out.append(header(report, verbose))
    for item in (budget_panel(report, verbose), layer_a_table(report)):
        if item is not None:
            out.append(item)
    r102 = report.result("MG102")
    if verbose or (r102 is not None and r102.status != "skip" and r102.details.flagged):
        out.extend(martingale.standouts(report, limit=10 if verbose else 5))  # none flagged: the table says so
    if verbose:  # the variance budget by starting probability, the revision checks' readings
        out.extend(martingale.render(report))
        out.append(wiener.verdict(report) or Text(""))
        out.extend(calibration.render(report))
    lb = layer_b_table(report, verbose)
    if lb is not None:
        out.extend(lb)
    dq = dq_lines(report)
    if dq is not None:
        out.append(dq)
    if verbose:
        out.append(checks_table(report))
        out.append(series_table(report, verbose))
    out.append(summary_line(report))
    return [x for x in out if x is not None]


def terminal_width() -> int:
    """The terminal's width (COLUMNS respected), at least 80 and at most 160 columns."""
    return max(MIN_WIDTH, min(MAX_WIDTH, shutil.get_terminal_size((MIN_WIDTH, 24)).columns))


def _use_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("PY_COLORS") == "1":
        return True
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def render_text(report: Report, *, verbose: int = 0, quiet: bool = False, colour: bool | None = None,
                width: int | None = None) -> str:
    buf = io.StringIO()
    colour = _use_colour() if colour is None else colour
    console = Console(file=buf, width=width or terminal_width(), force_terminal=colour, no_color=not colour,
                      highlight=False, color_system="standard" if colour else None, emoji=False, markup=False)
    for item in renderables(report, verbose=verbose, quiet=quiet):
        console.print(item)
    return buf.getvalue()


__all__ = ["render_text", "renderables", "verdict_card", "terminal_width"]

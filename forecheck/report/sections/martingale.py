"""Text report: "Is this forecast a martingale?" (layer A, MG checks).

``render(report)`` gives, in order: a panel answering the question in plain words
with MG101's numbers (ratio Σm/Σr with CI, p-value, direction, effective
independent series, the volatility seller's profit), a table of the revision
checks MG103–MG105, and the series that stand out (MG102). 80 columns.
"""

from __future__ import annotations

from rich.panel import Panel as RichPanel
from rich.table import Table
from rich.text import Text

from forecheck.report.format import WIDTH, fmt_p as _p
from forecheck.report.prose import effective_series, no_pvalue_reason


def _verdict(r) -> tuple[str, str]:
    if r.status in ("skip", "inconclusive"):
        return "cannot tell", "yellow"
    if r.status == "fail":
        return "no", "red"
    return "no evidence against it", "green"


def headline(report) -> RichPanel | None:
    r = report.result("MG101")
    if r is None:
        return None
    if r.estimate is None:
        return RichPanel(Text(f"Is this forecast a martingale? {r.message}"), title="Variance budget (MG101)",
                         width=WIDTH)
    d = r.details
    verdict, style = _verdict(r)
    ratio = r.estimate
    pct = abs(ratio - 1) * 100
    words = "more" if ratio > 1 else "less"
    eff = effective_series(report.results)
    lines = Text()
    lines.append("Is this forecast a martingale? ", style="bold")
    lines.append(verdict + ".\n", style=f"bold {style}")
    ci = f" (95% CI {r.ci[0]:.2f}–{r.ci[1]:.2f})" if r.ci else ""
    ptxt = f"p = {_p(r.pvalue)}" if r.pvalue is not None else "no p-value"
    lines.append(f"It moved {ratio:.2f}× as much as its uncertainty fell{ci}: {pct:.0f}% {words} "
                 f"than a calibrated forecaster's budget allows; {ptxt}")
    if r.pvalue_adjusted is not None and r.pvalue_adjusted != r.pvalue:
        lines.append(f" (adjusted {_p(r.pvalue_adjusted)})")
    lines.append(".\n")
    ins, res = d.inflight, d.resolution
    if ins.ratio is not None:
        lines.append(f"In flight: {ins.ratio:.2f}× its budget")
        if res.ratio is not None:
            lines.append(f"; final step to the outcome: {res.ratio:.2f}× its budget")
        lines.append(".\n")
    profit = d.volatility_seller_profit
    who = "made" if profit >= 0 else "lost"
    lines.append(f"A volatility seller holding (1 − 2p) YES contracts would have {who} "
                 f"${abs(profit):.3f} per $1 notional over {d.n_series} series.\n")
    if eff is not None and eff.n_eff is not None:
        lines.append(f"Effectively independent series (MG106): about {eff.n_eff:.0f} of {eff.n_series}")
        if eff.n_eff_excess is not None:
            lines.append(f"; MG101's own excess terms: about {eff.n_eff_excess:.0f}")
        lines.append(".\n")
    if r.status == "inconclusive":
        lines.append("No p-value: " + no_pvalue_reason(r) + ".\n", style="yellow")
    strata = [s for s in d.by_p0 if s.ratio is not None]
    if len(strata) > 1:
        lines.append("By starting probability: ", style="dim")
        lines.append(", ".join(f"{s.p0_from:.2f}–{s.p0_to:.2f}: {s.ratio:.2f} (n={s.n_series})"
                               for s in strata), style="dim")
    return RichPanel(lines, title="Variance budget (MG101, Augenblick & Rabin 2021)", width=WIDTH,
                     title_align="left")


def revisions_table(report) -> Table | None:
    recs = [report.result(c) for c in ("MG103", "MG104", "MG105", "MG106")]
    recs = [r for r in recs if r is not None]
    if not recs:
        return None
    t = Table(title="Revisions", width=WIDTH, title_justify="left", pad_edge=False, expand=True)
    t.add_column("Check", ratio=4)
    t.add_column("Estimate", ratio=2)
    t.add_column("p", width=7, no_wrap=True)
    t.add_column("Reading", ratio=6, overflow="fold")
    labels = {"MG103": "β(Δp, prev Δp)", "MG104": "b(error, Δp)", "MG105": "VR(2)", "MG106": "N_eff"}
    for r in recs:
        est = "" if r.estimate is None else (f"{r.estimate:.0f}" if r.code == "MG106" else f"{r.estimate:+.3f}"
                                             if r.code != "MG105" else f"{r.estimate:.2f}")
        reading = getattr(r.details, "reading", None) or r.message
        if r.status == "skip":
            reading = r.message
        elif r.status == "inconclusive":
            reading = f"{reading}; no p-value: {no_pvalue_reason(r)}"
        style = {"fail": "red", "skip": "yellow", "inconclusive": "yellow"}.get(r.status, "")
        t.add_row(f"{r.code} {labels.get(r.code, r.name)}", est, _p(r.pvalue), Text(reading, style=style))
    return t


def standouts(report, limit: int = 10) -> list:
    r = report.result("MG102")
    if r is None or r.status == "skip":
        return []
    flagged = r.details.flagged
    if not flagged:
        return [Text(f"Series that stand out (MG102): none — {r.message}.", style="dim")]
    t = Table(title=f"Series that stand out (MG102): {len(flagged)} move too much", title_justify="left",
              pad_edge=False, expand=True)
    for col in ("Series", "n", "excess X", "movement / budget", "p (one-sided)", "q (BH)"):
        t.add_column(col, overflow="fold")
    for f in flagged[:limit]:
        t.add_row(Text(f.id), str(f.n), f"{f.excess:+.3f}",
                  "" if f.ratio is None else f"{f.ratio:.2f}", _p(f.pvalue), _p(f.qvalue))
    return [t]


def render(report) -> list:
    out: list = []
    h = headline(report)
    if h is not None:
        out.append(h)
    t = revisions_table(report)
    if t is not None:
        out.append(t)
    out.extend(standouts(report))
    return out

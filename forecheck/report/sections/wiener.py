"""Text report: the "Wiener-process assumptions" section and the critique verdict panel.

``render(report)`` gives the section (one row per assumption); ``verdict(report)``
gives the panel the lead places at the top of the text report: the claims a
Wiener-process critic would make about this forecast, the evidence for and against
each, and the model-free verdict of MG101 (A-R 2021 variance budget). 80 columns.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel as RichPanel
from rich.table import Table
from rich.text import Text

from forecheck.report.format import WIDTH
from forecheck.report.prose import assumption_rows, no_pvalue_reason


def _rows(report) -> list[dict]:
    recs = {r.code: r for r in report.results if r.family == "WN"}
    return assumption_rows(recs) if recs else []


def _holds(h: bool | None) -> Text:
    if h is None:
        return Text("n/a", style="dim")
    return Text("holds", style="green") if h else Text("fails", style="yellow")


def render(report) -> list:
    """The "Wiener-process assumptions" section."""
    rows = _rows(report)
    if not rows:
        return []
    table = Table(title="Wiener-process assumptions (layer B: descriptive, not defects)", width=WIDTH,
                  show_lines=True, title_justify="left", pad_edge=False, expand=True)
    table.add_column("Assumption", ratio=3, overflow="fold")
    table.add_column("Critique infers", ratio=4)
    table.add_column("Measured here", ratio=5)
    table.add_column("Holds?", width=6)
    table.add_column("Meaning for this forecast", ratio=5)
    for r in rows:
        table.add_row(f"{r['assumption']} ({', '.join(r['codes'])})", r["critique_inference"], r["measured"],
                      _holds(r["holds"]), r["meaning"])
    note = Text("A calibrated Bayesian forecaster may fail every row above; whether the forecast moves "
                "too much is decided by the variance budget (MG101).", style="dim")
    return [table, note]


def _mg101(report) -> dict[str, Any]:
    """MG101's ratio Σm/Σr and the volatility seller's profit (from its record)."""
    r = report.result("MG101")
    if r is not None and r.status != "skip":
        return {"source": "MG101", "ratio": r.estimate, "ci": r.ci, "pvalue": r.pvalue, "status": r.status,
                "profit": r.details.volatility_seller_profit,
                "reason": no_pvalue_reason(r) if r.status == "inconclusive" else ""}
    return {"source": "none", "ratio": None, "ci": None, "pvalue": None, "status": None, "profit": None,
            "reason": "MG101 did not run" if r is None else f"MG101 skipped: {r.message}"}


def _claims(report) -> list[tuple[str, str, str]]:
    """(claim, evidence for, evidence against) from the WN records."""
    res = {r.code: r for r in report.results if r.family == "WN" and r.status != "skip"}
    out = []
    r2, r5 = res.get("WN302"), res.get("WN305")
    if r2 or r5:
        f, a = [], []
        if r2:
            s = r2.details.standardised
            k5 = s.k_sigma[1]
            f.append(f"{k5.observed} moves beyond 5σ where a Gaussian process gives "
                     f"{k5.expected_gaussian:.2g}; excess kurtosis {s.pooled_excess_kurtosis:.2g}")
        if r5:
            lm = r5.details.standardised.lee_mykland
            f.append(f"{lm.n_jumps} jumps (Lee–Mykland)")
            days = r5.details.largest_moves or r5.details.news_days
            if days:
                d0 = days[0]
                f.append(f"largest move: {d0.series} {d0.time} {d0.p_before:.2f} → {d0.p_after:.2f}")
        a.append("jumps and fat tails are what a Bayesian fed lumpy news produces; they are not excess "
                 "movement (a jumpy Bayesian fails Jarque–Bera yet passes the budget; docs/validation.md)")
        out.append(("'Its big moves are n-sigma events, so the model is broken.'", "; ".join(f), "; ".join(a)))
    r6 = res.get("WN306")
    if r6:
        for c in r6.details.claims:
            if c.verdict == "not testable":
                continue
            supports = c.verdict == "holds"
            out.append((f"'{c.claim[0].upper() + c.claim[1:]}.'",
                        c.evidence if supports else "—",
                        "—" if supports else c.evidence))
    r1 = res.get("WN301")
    if r1 and r1.status == "fail":
        d = r1.details
        out.append(("'It is too volatile for a constant-σ process.'",
                    f"volatility depends on level and clock (γ = {d.gamma:.2f}, α = {d.alpha:.2f})",
                    "a probability's volatility must depend on p and τ; a constant σ is not a "
                    "requirement of calibration"))
    return out


def verdict(report):
    """Critique-and-answer panel for the top of the report (None without WN records)."""
    claims = _claims(report)
    mg = _mg101(report)
    if not claims and mg["ratio"] is None:
        return None
    parts: list = []
    intro = Text("What a Wiener-process critic (Taleb 2018, Madeka 2017) would say about this forecast, "
                 "and what the data say:", style="bold")
    parts.append(intro)
    for i, (claim, pro, con) in enumerate(claims, 1):
        parts.append(Text(f"{i}. {claim}", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=10, justify="right")
        grid.add_column(ratio=1)
        grid.add_row(Text("for:", style="yellow"), pro)
        grid.add_row(Text("against:", style="green"), con)
        parts.append(grid)
    v = Text()
    v.append("Model-free verdict (variance budget, A-R 2021): ", style="bold")
    if mg["ratio"] is not None:
        ci = f" [{mg['ci'][0]:.2f}, {mg['ci'][1]:.2f}]" if mg.get("ci") else ""
        v.append(f"movement / uncertainty reduction Σm/Σr = {mg['ratio']:.2f}{ci}")
        if mg.get("pvalue") is not None:
            v.append(f", p = {mg['pvalue']:.2g}")
        if mg["source"] == "MG101":
            word = {"pass": "consistent with a calibrated forecaster",
                    "fail": ("the forecast moves more than its own probabilities allow" if mg["ratio"] > 1
                             else "the forecast moves less than its own probabilities allow"),
                    "inconclusive": f"no p-value, {mg.get('reason', '')}"}
            v.append(f" — MG101 {mg['status']}: {word.get(mg['status'], mg['status'])}.")
        else:
            v.append(f" ({mg.get('reason', '')}).")
        if mg.get("profit") is not None:
            verb = "made" if mg["profit"] >= 0 else "lost"
            v.append(f" A volatility seller holding (1 − 2p) YES contracts would have {verb} "
                     f"${abs(mg['profit']):.3f} per $1 notional (a profit means the forecast over-moves).")
    else:
        v.append("not available.")
    parts.append(v)
    parts.append(Text("Layer-B failures say which critique-style arguments do not apply; only the budget "
                      "says whether the forecast moved too much.", style="dim"))
    return RichPanel(Group(*parts), title="Wiener-process critique vs model-free verdict", width=WIDTH)

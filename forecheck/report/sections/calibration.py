"""Text-report section for the CA family: one compact calibration table (80 columns)."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from forecheck.report.format import fmt_fixed as _f, fmt_p as _p
from forecheck.report.prose import no_pvalue_reason

STATUS_STYLE = {"pass": "green", "fail": "red", "skip": "yellow", "inconclusive": "yellow"}


def _status(r) -> Text:
    return Text(r.status, style=STATUS_STYLE.get(r.status, ""))


def _brier_table(r201, r204) -> Table:
    z_of = {}
    if r204 is not None and r204.status != "skip":
        z_of = {h.label: h.z for h in r204.details.per_horizon_calibration}
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False,
              title="Brier score by horizon (CA201)", title_justify="left")
    t.add_column("horizon", justify="left", no_wrap=True)
    t.add_column("n", justify="right")
    for name in ("Brier", "REL", "RES", "UNC", "MCB", "DSC"):
        t.add_column(name, justify="right")
    t.add_column("Z", justify="right")
    d = r201.details
    rows = [(h.label, h) for h in reversed(d.horizons)] + [("last", d.last)]
    for label, h in rows:
        m, c = h.murphy, h.corp
        t.add_row(label, str(h.n), _f(h.brier, ".4f"), _f(m["rel"], ".4f"), _f(m["res"], ".4f"),
                  _f(m["unc"], ".4f"), _f(c["mcb"], ".4f"), _f(c["dsc"], ".4f"), _f(z_of.get(label), "+.2f"))
    return t


def render(report) -> list:
    """Renderables for the calibration section (empty when no CA check ran)."""
    recs = {c: report.result(c) for c in ("CA201", "CA202", "CA203", "CA204")}
    if all(r is None for r in recs.values()):
        return []
    out: list = [Text("Calibration (resolved series)", style="bold")]
    r201, r202, r203, r204 = (recs[c] for c in ("CA201", "CA202", "CA203", "CA204"))
    if r201 is not None and r201.status != "skip":
        out.append(_brier_table(r201, r204))
        out.append(Text("REL/RES/UNC: Murphy, 10 equal-width bins (+ within-bin terms)\n"
                        "MCB/DSC: CORP (isotonic); Z: Spiegelhalter at that horizon", style="dim"))
    lines = []
    if r202 is not None:
        if r202.status == "skip":
            lines.append(Text.assemble("CA202 Spiegelhalter Z: ", _status(r202), f"  {r202.message}"))
        else:
            z = r202.estimate
            p = (f"p = {_p(r202.pvalue)} (adj {_p(r202.pvalue_adjusted)}, MC {_p(r202.details.pvalue_mc)})"
                 if r202.status != "inconclusive" else f"no p-value: {no_pvalue_reason(r202)}")
            lines.append(Text.assemble(f"CA202 Spiegelhalter Z = {z:+.2f}, {p} ", _status(r202)))
    if r203 is not None:
        if r203.status == "skip":
            lines.append(Text.assemble("CA203 recalibration: ", _status(r203), f"  {r203.message}"))
        else:
            d = r203.details
            lines.append(Text.assemble(
                f"CA203 Cox a = {d.intercept:+.2f} [{d.intercept_ci[0]:+.2f}, "
                f"{d.intercept_ci[1]:+.2f}], b = {d.slope:.2f} [{d.slope_ci[0]:.2f}, "
                f"{d.slope_ci[1]:.2f}], p = {_p(r203.pvalue)} ", _status(r203)))
    if r204 is not None:
        if r204.status == "skip":
            lines.append(Text.assemble("CA204 horizon consistency: ", _status(r204), f"  {r204.message}"))
        else:
            path = " → ".join(f"{s.label} {s.brier:.3f}" for s in r204.details.sequence)
            lines.append(Text.assemble(f"CA204 horizon consistency p = {_p(r204.pvalue)} ", _status(r204)))
            lines.append(Text(f"  mean Brier: {path}"))
            for v in r204.details.violations[:4]:
                lines.append(Text(f"  {v.kind} from {v.from_} to {v.to} (t = {v.t:.2f})", style="yellow"))
    out.extend(lines)
    return out

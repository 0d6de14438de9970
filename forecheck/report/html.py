"""The HTML report (``--html PATH``, ``Report.to_html()``): one self-contained file.

Inline CSS, figures as inline SVG (or base64 PNG), no script, no network access,
no CDN: the file can be attached to an audit and opened anywhere. The layout is
responsive (viewport meta, a max-width column, figures that scale; on a phone the
checks table turns into one card per check).

Check results are read only through their top-level fields (code, name, family /
layer, severity, status, estimate, ci, pvalue, pvalue_adjusted, nobs, statistic,
message); the one ``details`` value used goes through :func:`_detail`. The plots
are computed from the panel by :mod:`forecheck.stats.plotdata`, never from a
check's details. Status "inconclusive" (an estimate and interval without a valid
p-value) has its own style; descriptive (layer B / info) failures are never
styled as gating failures.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from forecheck import __version__
from forecheck.report.format import fmt_p
from forecheck.report.model import Report
from forecheck.report.verdict import layer_a_answers, next_steps, sequential_line

# ------------------------------------------------------------------ adapter


def _detail(result: Any, key: str, default: Any = None) -> Any:
    """One field of a check's ``details``, whether they are a dict or a (frozen
    dataclass) object with attributes. The only place this module reads details."""
    if result is None:
        return default
    d = getattr(result, "details", None)
    if d is None:
        return default
    if isinstance(d, dict):
        return d.get(key, default)
    return getattr(d, key, default)


def _field(result: Any, name: str, default: Any = None) -> Any:
    return getattr(result, name, default) if result is not None else default


def _layer(result: Any) -> str:
    layer = _field(result, "layer")
    if layer is None:
        fam = str(_field(result, "family", ""))
        layer = {"DQ": "data", "MG": "A", "CA": "A", "WN": "B"}.get(fam, "?")
    return str(layer)


# ------------------------------------------------------------------ format
def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(x: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits with a true minus sign; "–" if missing."""
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if not np.isfinite(v):
        return "–"
    return f"{v:.{digits}g}".replace("-", "−")


def pval(p: Any) -> str:
    """A p-value, as every renderer writes it (report/format.py)."""
    return fmt_p(p)


def ci_text(ci: Any) -> str:
    if ci is None:
        return ""
    try:
        lo, hi = ci
    except (TypeError, ValueError):
        return ""
    return f"[{num(lo)}, {num(hi)}]"


# ------------------------------------------------------------------ status
STATUS_LABEL = {"pass": "pass", "fail": "fail", "skip": "skip", "inconclusive": "inconclusive"}


def status_class(result: Any, gating_codes: set[str]) -> tuple[str, str]:
    """(css class, label) of a result's status badge."""
    st = str(_field(result, "status", "skip"))
    if st == "fail":
        if _field(result, "code") in gating_codes:
            return "st-fail", "fail"
        if _layer(result) == "B":
            return "st-soft", "does not hold"
        return "st-soft", f"fail · {_field(result, 'severity', 'info')}"
    if st == "pass":
        return ("st-pass", "holds") if _layer(result) == "B" else ("st-pass", "pass")
    if st == "inconclusive":
        return "st-inc", "inconclusive"
    if st == "skip":
        return "st-skip", "skip"
    return "st-skip", esc(st)


def badge(result: Any, gating_codes: set[str]) -> str:
    cls, label = status_class(result, gating_codes)
    return f'<span class="badge {cls}">{esc(label)}</span>'


# ------------------------------------------------------------------ verdict
def _budget_line(r: Any) -> str:
    if r is None:
        return "not run"
    est, ci = _field(r, "estimate"), _field(r, "ci")
    st = _field(r, "status")
    if est is None:
        return "not run: " + esc(_field(r, "message", ""))
    direction = "moves too much" if est > 1 else "moves too little"
    covers = ci is not None and ci[0] <= 1 <= ci[1]
    core = f"Σm/Σr = <b>{num(est, 2)}</b>"
    if ci is not None:
        core += f" (95% CI {num(ci[0], 2)}–{num(ci[1], 2)})"
    if st == "pass":
        head = "<b>Within budget</b>: no significant excess or shortfall of movement"
    elif st == "fail":
        head = f"<b>{direction.capitalize()}</b> for its variance budget"
    else:
        head = (f"<b>{direction.capitalize()}</b> by the estimate, but no valid p-value"
                + (": the interval includes 1 (the budget)" if covers else ""))
    p = _field(r, "pvalue_adjusted") if _field(r, "pvalue_adjusted") is not None else _field(r, "pvalue")
    tail = f"; p = {pval(p)}" if p is not None else ""
    profit = _detail(r, "volatility_seller_profit")
    extra = ""
    if isinstance(profit, (int, float)) and np.isfinite(profit):
        extra = (f'<div class="sub">A volatility seller holding (1 − 2p) YES contracts would have made '
                 f"{num(profit)} per $1 notional.</div>")
    return f"{head}. {core}{tail}.{extra}"


def _result_summary(r: Any, label: str) -> str:
    est = _field(r, "estimate")
    s = f"{esc(label)} {num(est)}" if est is not None else esc(label)
    ci = ci_text(_field(r, "ci"))
    if ci:
        s += f" {ci}"
    p = _field(r, "pvalue_adjusted") if _field(r, "pvalue_adjusted") is not None else _field(r, "pvalue")
    if p is not None:
        s += f", p = {pval(p)}"
    return s


REVISION_LABELS = {"MG103": "β =", "MG104": "b =", "MG105": "VR(2) ="}
CALIBRATION_LABELS = {"CA201": "Brier", "CA202": "Z =", "CA203": "slope", "CA204": "t ="}


def _checks_list(report: Report, codes: dict[str, str], gating: set[str]) -> str:
    items = []
    for code, label in codes.items():
        r = report.result(code)
        if r is None:
            continue
        items.append(f'<li>{badge(r, gating)} <span class="code">{esc(code)}</span> {esc(_field(r, "name", ""))}: '
                     f"{_result_summary(r, label)}</li>")
    return '<ul class="checks">' + "".join(items) + "</ul>" if items else "<p>not run</p>"


def _layer_b_line(report: Report) -> str:
    wn = [r for r in report.results if str(_field(r, "family")) == "WN"]
    if not wn:
        return "not run"
    fails = [esc(_field(r, "name")) + f' <span class="code">{esc(_field(r, "code"))}</span>'
             for r in wn if _field(r, "status") == "fail"]
    holds = [esc(_field(r, "name")) for r in wn if _field(r, "status") == "pass"]
    other = [esc(_field(r, "name")) for r in wn if _field(r, "status") not in ("pass", "fail")]
    parts = []
    if fails:
        parts.append("Wiener-process assumptions that <b>do not hold</b> here, so critiques built on them do not "
                     "apply: " + ", ".join(fails) + ".")
    if holds:
        parts.append("Hold: " + ", ".join(holds) + ".")
    if other:
        parts.append("Not assessed: " + ", ".join(other) + ".")
    parts.append('<span class="sub">Descriptive: a calibrated forecaster may fail these; they never gate.</span>')
    return " ".join(parts)


def _independence_line(report: Report) -> str:
    r = report.result("MG106")
    if r is None or _field(r, "estimate") is None:
        return "not measured"
    n_eff, n = _field(r, "estimate"), _field(r, "nobs")
    rho = _field(r, "statistic")
    s = f"about <b>{num(n_eff, 2)}</b> effectively independent series"
    if n is not None:
        s += f" of {int(n)}"
    if rho is not None:
        s += f" (same-time revisions correlate on average, ρ = {num(rho, 2)})"
    if n is not None and n_eff is not None and n_eff < 10 <= n:
        s += ": too few for confident pooled p-values, so several layer-A checks give an estimate without one"
    return s + "."


def verdict_card(report: Report) -> str:
    gating = {str(_field(r, "code")) for r in report.gating_failures()}
    code = int(report.exit_code)
    if gating:
        top = (f'<p class="exit exit-fail">Exit code {code}: gating check(s) failed — '
               + ", ".join(f'<span class="code">{esc(c)}</span>' for c in sorted(gating)) + "</p>")
    else:
        top = f'<p class="exit exit-ok">Exit code {code}: no gating check failed.</p>'
    # the same answers as the terminal and markdown reports (report/verdict.py)
    answers = layer_a_answers(report.results)
    ans_cls = {"pass": "st-pass", "fail": "st-fail", "inconclusive": "st-inc", "skip": "st-skip"}
    titles = ("Moves as a calibrated forecaster's would? <span class='code'>MG101</span>",
              "Predictable revisions? <span class='code'>MG103–MG105</span>",
              "Calibrated? <span class='code'>CA201–CA204</span>")
    rows = []
    for title, a in zip(titles, answers):
        rows.append((title, f'<span class="badge {ans_cls.get(a.status, "st-skip")}">{esc(a.status)}</span> '
                            f"<b>{esc(a.answer)}</b><div class='sub'>{esc(a.evidence)}</div>"))
    r101 = report.result("MG101")
    profit = _detail(r101, "volatility_seller_profit")
    if isinstance(profit, (int, float)) and np.isfinite(profit):
        verb = "made" if profit >= 0 else "lost"
        rows[0] = (rows[0][0], rows[0][1] + f"<div class='sub'>A volatility seller holding (1 − 2p) YES contracts "
                   f"would have {verb} ${num(abs(profit))} per $1 notional (a profit means over-movement).</div>")
    seq = sequential_line(report.results)
    if seq is not None:
        rows.append(("Sequential <span class='code'>--sequential</span>", esc(seq)))
    rows.append(("Independence <span class='code'>MG106</span>", _independence_line(report)))
    rows.append(("Layer B <span class='code'>WN301–WN307</span>", _layer_b_line(report)))
    rows.append(("Next", "<br>".join(esc(x) for x in next_steps(report.results, code))))
    body = "".join(f"<div class='vrow'><dt>{k}</dt><dd>{v}</dd></div>" for k, v in rows)
    return (f'<section class="card verdict" aria-labelledby="verdict-h"><h2 id="verdict-h">Verdict</h2>{top}'
            f"<p class='lede'>Does this forecast move the way a calibrated forecaster's would? Layer A checks "
            f"must pass for a calibrated forecaster; layer B checks say which Wiener-process critiques apply.</p>"
            f"<dl>{body}</dl></section>")


# ------------------------------------------------------------------ tables
LAYER_TITLES = (("A", "Layer A — checks a calibrated forecaster must pass"),
                ("B", "Layer B — Wiener-process assumptions (descriptive, never gating)"),
                ("data", "Data quality"))


def _row(r: Any, gating: set[str]) -> str:
    cls, _ = status_class(r, gating)
    est = num(_field(r, "estimate"))
    ci = ci_text(_field(r, "ci"))
    cells = [
        ("code", f'<a href="{esc(_field(r, "url", "#"))}" class="code">{esc(_field(r, "code"))}</a>'),
        ("name", esc(_field(r, "name", ""))),
        ("sev", esc(_field(r, "severity", ""))),
        ("status", badge(r, gating)),
        ("est", f"{est} <span class='ci'>{ci}</span>" if ci else est),
        ("p", pval(_field(r, "pvalue"))),
        ("padj", pval(_field(r, "pvalue_adjusted"))),
        ("note", f"<span class='note'>{esc(_field(r, 'message', ''))}</span>"),
    ]
    tds = "".join(f'<td class="c-{k}">{v}</td>' for k, v in cells)
    return f'<tr class="{cls}-row">{tds}</tr>'


def checks_tables(report: Report) -> str:
    gating = {str(_field(r, "code")) for r in report.gating_failures()}
    head = "".join(f"<th scope='col'>{h}</th>" for h in
                   ("Code", "Check", "Severity", "Status", "Estimate [95% CI]", "p", "p adj.", "Note"))
    out = ['<section aria-labelledby="checks-h"><h2 id="checks-h">All checks</h2>']
    for layer, title in LAYER_TITLES:
        rs = [r for r in report.results if _layer(r) == layer]
        if not rs:
            continue
        if layer == "data":
            shown = [r for r in rs if _field(r, "status") != "pass"]
            quiet = [r for r in rs if _field(r, "status") == "pass"]
        else:
            shown, quiet = rs, []
        body = "".join(_row(r, gating) for r in shown)
        table = (f'<div class="table-wrap"><table class="checks-table"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table></div>") if shown else ""
        more = ""
        if quiet:
            codes = ", ".join(esc(_field(r, "code")) for r in quiet)
            more = f'<p class="sub">{len(quiet)} further data-quality checks found nothing: {codes}.</p>'
        out.append(f"<h3>{esc(title)}</h3>{table}{more}")
    out.append("</section>")
    return "".join(out)


# ------------------------------------------------------------------ plots
@dataclass(frozen=True)
class FigureSpec:
    key: str
    caption: str
    draw: Callable[[], Any]


def _figures(report: Report) -> list[FigureSpec]:
    from forecheck.report import plots
    from forecheck.stats import plotdata as pdata

    panel = report.panel
    cfg = report.config
    ml = int(getattr(cfg, "min_length", 3))
    seed = int(getattr(cfg, "seed", 20240601))
    jumps = getattr(report, "figures", {}).get("jumps")  # WN305's flags (drawn only when WN305 ran)
    cache: dict[str, Any] = {}

    def get(name: str, make: Callable[[], Any]) -> Any:
        if name not in cache:
            cache[name] = make()
        return cache[name]

    def take(name: str, make: Callable[[], Any]) -> Any:  # the last reader: not kept after it
        return cache.pop(name) if name in cache else make()

    paths = lambda: get("paths", lambda: pdata.paths(panel, max_lines=pdata.MAX_LINES))  # noqa: E731
    terms = lambda: pdata.dynamic_terms(panel, ml)  # noqa: E731 (both binned figures' excess terms)
    cum = lambda: get("cum", lambda: pdata.cumulative_budget(panel))  # noqa: E731
    r101 = report.result("MG101")
    overall = (_field(r101, "estimate"), _field(r101, "ci")) if r101 is not None else None
    if r101 is not None and _field(r101, "sequential") is not None:  # the band is the one-look interval
        overall = (_field(r101, "estimate"), r101.sequential.fixed_sample_ci)
    seq = [r for r in report.results if _field(r, "sequential") is not None and _field(r, "status") != "skip"]
    extra = []
    if seq:  # --sequential: the e-processes against calendar time (checks/sequential.py)
        thr = max(float(r.sequential.threshold) for r in seq)
        curves = [(f"{r.code} {r.name}", r.sequential._times, r.sequential._log_e) for r in seq]
        extra.append(FigureSpec("eprocess", "Each line is the log e-value of one gating check over calendar "
                                            "time, computed on the history up to then (--sequential); the "
                                            "check fails once its line reaches the dashed threshold, and "
                                            "because the e-values are anytime-valid this holds however often "
                                            "the report is rerun.",
                                lambda: plots.plot_eprocess(curves, float(np.log(thr)),
                                                            f"time ({getattr(panel, 'time_unit', '') or 'step'})")))
    return extra + [
        FigureSpec("paths", "Each line is one series' forecast as resolution approaches, blue if the event "
                            "happened and vermillion if not; the thick, labelled lines are the series whose "
                            "movement differs most from their budget.",
                   lambda: plots.plot_paths(paths())),
        FigureSpec("cumulative", "Summed over series, the solid line is the squared movement so far and the "
                                 "dashed line the uncertainty resolved so far; on average a calibrated "
                                 "forecaster's two lines end together at resolution — solid above dashed means "
                                 "it moved too much, below means too little.",
                   lambda: plots.plot_cumulative(cum())),
        FigureSpec("cumulative-excess", "Each line is one series' movement minus the uncertainty it has resolved "
                                        "so far; for a calibrated forecaster these wander around zero with no "
                                        "drift, so lines that trend away from zero show too much (up) or too "
                                        "little (down) movement.",
                   lambda: plots.plot_cumulative_excess(cum(), drawn=paths().drawn,
                                                        n_always=len(paths().highlight))),
        FigureSpec("ratio-by-p0", "Each dot is the movement-to-budget ratio of the series that started in one "
                                  "probability range, with an approximate 95% interval (widened for cross-series "
                                  "dependence); intervals that miss the dashed line at 1 point to too much or too "
                                  "little movement there; the shaded band is the all-series interval of MG101.",
                   lambda: plots.plot_ratio_by_p0(pdata.ratio_by_p0(panel, ml, terms=get("terms", terms)), overall)),
        FigureSpec("excess-by-tau", "Each bar is the movement minus the uncertainty resolved by the steps taken "
                                    "that long before resolution (the last bar: the final step to the outcome); "
                                    "bars whose interval misses zero show when the forecast moved too much (up) "
                                    "or too little (down).",
                   lambda: plots.plot_excess_by_tau(pdata.excess_by_tau(panel, ml, terms=take("terms", terms)))),
        FigureSpec("qq", "Points on the dashed diagonal are Gaussian increments; points bending away at the ends "
                         "are fat tails — compare the standardised increments (left) with raw Δp (right), whose "
                         "tails a Gaussian-increment critique reads as excess volatility.",
                   lambda: plots.plot_qq(*pdata.qq_pair(panel, ml))),
        FigureSpec("reliability", "The purple step is the observed frequency of the event at each forecast "
                                  "(isotonic CORP fit of the last forecasts); where it leaves the grey band, the "
                                  "forecasts are miscalibrated beyond what chance gives a calibrated forecaster.",
                   lambda: plots.plot_reliability(pdata.reliability(
                       *pdata.last_forecast(panel), np.random.default_rng([seed % 2**32, 201])))),
    ] + ([] if jumps is None else [
        FigureSpec("jumps", "Orange bars mark single updates far larger than the series' local volatility: the "
                            "jumps WN305 flags (Lee–Mykland test on standardised increments); jumps are allowed "
                            "for a calibrated forecaster — they mark news, not errors.",
                   lambda: plots.plot_jumps(paths(), jumps)),
    ]) + [
        FigureSpec("walk", "The black curve is how many ±1% updates a calibrated forecaster needs on average "
                           "to reach certainty from each starting probability (dotted: the median); each dot is "
                           "one series' actual squared movement in those units, so dots above the curve moved "
                           "more than the budget and dots below moved less.",
                   lambda: plots.plot_walk(pdata.walk_for_panel(panel, ml, max_dots=pdata.MAX_DOTS))),
    ]


def _figure_html(spec: FigureSpec) -> str:
    try:
        fig = spec.draw()
    except Exception as exc:  # a figure that cannot be drawn on this data must not lose the report
        return (f'<figure class="plot missing" id="fig-{esc(spec.key)}"><p>Not drawn on this data: '
                f"{esc(type(exc).__name__)}: {esc(exc)}</p></figure>")
    if fig.fmt == "svg":
        img = fig.data
        body = f'<div class="img" role="img" aria-label="{esc(fig.alt)}">{img}</div>'
    else:
        body = f'<img class="img" alt="{esc(fig.alt)}" src="data:image/png;base64,{fig.data}">'
    return (f'<figure class="plot" id="fig-{esc(spec.key)}" data-plot="{esc(spec.key)}">{body}'
            f"<figcaption>{esc(spec.caption)}{' ' + esc(fig.note) if fig.note else ''}</figcaption></figure>")


def plots_section(report: Report) -> str:
    if report.panel is None or report.panel.n_series == 0:
        return "<section><h2>Plots</h2><p>No data to plot.</p></section>"
    figs = "".join(_figure_html(s) for s in _figures(report))
    return (f'<section aria-labelledby="plots-h"><h2 id="plots-h">Plots</h2>'
            f'<p class="sub">Colours: <span class="sw o1"></span> outcome 1 (happened), '
            f'<span class="sw o0"></span> outcome 0, <span class="sw un"></span> unresolved; dashed black: the '
            f"budget a calibrated forecaster moves on average.</p>"
            f'<div class="plots">{figs}</div></section>')


# ------------------------------------------------------------------ page
CSS = """
:root{--fg:#1f2328;--muted:#59636e;--bg:#ffffff;--card:#f6f8fa;--line:#d1d9e0;
--pass:#1a7f37;--fail:#cf222e;--soft:#9a6700;--inc:#8250df;--skip:#6e7781}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1240px;margin:0 auto;padding:16px}
h1{font-size:1.6rem;margin:.2em 0}
h2{font-size:1.3rem;margin:1.4em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05rem;margin:1.2em 0 .4em}
.meta{color:var(--muted);margin:.2em 0;overflow-wrap:anywhere}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.verdict h2{margin-top:.2em;border:0}
.lede{color:var(--muted);margin:.3em 0 .8em}
dl{margin:0}
.vrow{display:grid;grid-template-columns:minmax(150px,230px) 1fr;gap:4px 16px;padding:8px 0;
border-top:1px solid var(--line)}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
ul.checks{list-style:none;padding:0;margin:0}
ul.checks li{margin:.15em 0}
.sub{color:var(--muted);font-size:.92em}
.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;white-space:nowrap}
a.code{color:inherit}
.badge{display:inline-block;border-radius:999px;padding:0 .55em;font-size:.82em;font-weight:600;
line-height:1.6;white-space:nowrap;border:1px solid currentColor}
.st-pass{color:var(--pass);background:#dafbe1}
.st-fail{color:#fff;background:var(--fail);border-color:var(--fail)}
.st-soft{color:var(--soft);background:#fff8c5}
.st-inc{color:var(--inc);background:#fbefff}
.st-skip{color:var(--skip);background:#f0f2f4}
.exit{font-weight:600;margin:.2em 0}
.exit-fail{color:var(--fail)}
.exit-ok{color:var(--pass)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:var(--card);font-weight:600;white-space:nowrap}
td .note{color:var(--muted);font-size:.92em;overflow-wrap:anywhere}
td .ci{color:var(--muted);white-space:nowrap}
td.c-p,td.c-padj,td.c-code{white-space:nowrap}
tr.st-fail-row td:first-child{box-shadow:inset 4px 0 var(--fail)}
tr.st-inc-row td:first-child{box-shadow:inset 4px 0 var(--inc)}
.plots{display:grid;grid-template-columns:1fr;gap:20px}
figure.plot{margin:0;background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px;min-width:0}
figure.plot .img{display:block;width:100%}
figure.plot svg,figure.plot img{display:block;width:100%;height:auto;max-width:100%}
figcaption{color:var(--muted);font-size:.92em;margin-top:6px}
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em}
.sw.o1{background:#0072B2}.sw.o0{background:#D55E00}.sw.un{background:#8c8c8c}
footer{color:var(--muted);font-size:.9em;margin:2em 0 1em;border-top:1px solid var(--line);padding-top:.6em}
@media (min-width:1000px){.plots{grid-template-columns:1fr 1fr}}
@media (max-width:700px){
main{padding:10px}
.vrow{grid-template-columns:1fr}
table.checks-table thead{display:none}
table.checks-table,table.checks-table tbody{display:block;width:100%}
table.checks-table tr{display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 10px;border:1px solid var(--line);
border-radius:8px;margin:0 0 8px;padding:6px 10px}
table.checks-table td{display:block;border:0;padding:0;width:auto;box-shadow:none!important}
table.checks-table td.c-name{font-weight:600}
table.checks-table td.c-note{flex-basis:100%}
table.checks-table td.c-sev::before{content:"severity "}
table.checks-table td.c-est::before{content:"estimate "}
table.checks-table td.c-p::before{content:"p "}
table.checks-table td.c-padj::before{content:"p adj. "}
table.checks-table td::before{color:var(--muted);font-size:.9em}
tr.st-fail-row{border-left:4px solid var(--fail)!important}
tr.st-inc-row{border-left:4px solid var(--inc)!important}
}
@media print{.plots{grid-template-columns:1fr 1fr}figure.plot{break-inside:avoid}}
"""


def _header(report: Report) -> str:
    inp = report.input or {}
    paths = ", ".join(str(p) for p in inp.get("paths", []) or []) or "input"
    tr = inp.get("time_range") or []
    bits = [f"{inp.get('series', '?')} series ({inp.get('resolved_series', '?')} resolved)",
            f"{inp.get('rows_used', '?')} of {inp.get('rows_read', '?')} rows used"]
    if len(tr) == 2:
        unit = inp.get("time_unit")
        bits.append(f"{esc(tr[0])} to {esc(tr[1])}" + (f" (time in {esc(unit)}s)" if unit else ""))
    return (f"<header><h1>forecheck report</h1><p class='meta'><b>{esc(paths)}</b></p>"
            f"<p class='meta'>{' · '.join(esc(b) for b in bits)}</p></header>")


def _footer(report: Report) -> str:
    cfg = report.config
    opts = []
    for k in ("alpha", "p_adjust", "fail_on", "seed", "n_sim", "min_length"):
        v = getattr(cfg, k, None)
        if v is not None:
            opts.append(f"{k} = {esc(v)}")
    return (f"<footer>forecheck {esc(__version__)} · {' · '.join(opts)}. Check codes are explained in "
            f"docs/checks.md and by <span class='code'>forecheck rule CODE</span>; reading the figures: "
            f"docs/report.md. Abbreviations: Σm/Σr movement over uncertainty reduction (Augenblick &amp; Rabin "
            f"2021); CI confidence interval; CORP/PAV isotonic recalibration (Dimitriadis, Gneiting &amp; Jordan "
            f"2021); MCB/DSC/UNC miscalibration, discrimination, uncertainty; VR variance ratio.</footer>")


def groups_section(report: Report) -> str:
    """``--group-by``: per-group verdicts side by side and the pairwise comparisons."""
    if not report.groups:
        return ""
    from forecheck.report.prose import group_summary

    cls = {"pass": "st-pass", "fail": "st-fail", "inconclusive": "st-inc", "skip": "st-skip"}
    rows = []
    for g, sub in report.groups:
        s = group_summary(g, sub)
        a = s["answers"]
        ci = s["movement_ratio_ci"]
        ratio = num(s["movement_ratio"], 2) + (f" [{num(ci[0], 2)}, {num(ci[1], 2)}]" if ci else "")
        badge_of = lambda k: f'<span class="badge {cls.get(a[k]["status"], "st-skip")}">{esc(a[k]["status"])}</span>'  # noqa: E731
        rows.append(f"<tr><td>{esc(g)}</td><td>{s['n_series']}</td><td>{badge_of('movement')} {ratio}</td>"
                    f"<td>{badge_of('revisions')}</td><td>{badge_of('calibration')} {num(s['brier'])}</td>"
                    f"<td>{s['layer_b_holds']} of {s['layer_b_measured']}</td><td>{s['exit_code']}</td></tr>")
    comp = []
    for c in report.group_comparisons:
        p = pval(c.pvalue) if c.pvalue is not None else "no p-value (too few independent questions)"
        comp.append(f"<tr><td>{esc(c.a)} vs {esc(c.b)}</td><td>{c.n_common}</td><td>{num(c.brier_a)}</td>"
                    f"<td>{num(c.brier_b)}</td><td>{num(c.brier_difference)}</td><td>{esc(p)}</td></tr>")
    html_comp = ("<table><thead><tr><th>groups</th><th>questions</th><th>Brier a</th><th>Brier b</th>"
                 "<th>a − b</th><th>p (paired, Diebold–Mariano)</th></tr></thead><tbody>" + "".join(comp)
                 + "</tbody></table>") if comp else ""
    return ('<section class="card" aria-labelledby="groups-h"><h2 id="groups-h">Groups</h2>'
            "<table><thead><tr><th>group</th><th>series</th><th>moves as calibrated? Σm/Σr</th><th>revisions</th>"
            "<th>calibrated? Brier</th><th>layer B holds</th><th>exit</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>" + html_comp + "</section>")


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML document."""
    title = "forecheck report"
    paths = (report.input or {}).get("paths") or []
    if paths:
        title += " — " + ", ".join(str(p) for p in paths)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            + _header(report) + verdict_card(report) + groups_section(report) + checks_tables(report)
            + plots_section(report)
            + _footer(report) + "</main></body></html>\n")

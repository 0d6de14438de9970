"""Figures of the HTML report, drawn with matplotlib from :mod:`forecheck.stats.plotdata`.

matplotlib is imported inside the functions and drawn through its Agg / SVG
canvases directly (``matplotlib.figure.Figure``), never through ``pyplot``: the
global backend of a user's session is left alone and no display is needed. Each
function returns a :class:`Rendered` (SVG text or base64 PNG plus alt text).

One palette throughout (Okabe & Ito's colour-blind-safe set): outcome 1 blue,
outcome 0 vermillion, unresolved grey; the budget (what a calibrated forecaster
moves on average) is a black dashed line; intervals are grey.

Figures with one mark per series or per row stay bounded however large the panel
(docs/report.md, "Many series"): at most ``pdata.MAX_LINES`` series lines are drawn
(a random sample by data key that always holds the highlighted series, said in the
caption and alt text), and a collection with more than ``RASTER_POINTS`` vertices or
``RASTER_MARKS`` markers is drawn as an image inside the SVG (axes, labels and text
stay vectors). Below these limits a figure is all vectors, as before.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np

from forecheck.stats import plotdata as pdata

Fmt = Literal["svg", "png"]

OUTCOME_1 = "#0072B2"
OUTCOME_0 = "#D55E00"
UNRESOLVED = "#8c8c8c"
BUDGET = "#222222"
MOVEMENT = "#7B3294"
INTERVAL = "#6e6e6e"
JUMP = "#E69F00"
BAND = "#c9c9c9"

#: vertices of one line collection above which it is rasterized inside the SVG
RASTER_POINTS = 20_000
#: markers (dots, rug ticks, jump marks) of one artist above which it is rasterized
RASTER_MARKS = 2_000

FIGSIZE = (5.4, 4.0)
RC = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "svg.fonttype": "path",  # glyphs as paths: renders the same in every browser
    "axes.titlelocation": "left",
    "axes.axisbelow": True,
}


@dataclass(frozen=True)
class Rendered:
    """One drawn figure: ``data`` is SVG markup (fmt "svg") or base64 PNG (fmt "png")."""

    key: str
    data: str
    fmt: Fmt
    alt: str
    note: str = ""  # appended to the caption: what was left out of the drawing, if anything


def _dense(artist, n: int, limit: int):
    """Rasterize ``artist`` (an image inside the SVG, at the figure's dpi) when it has
    more than ``limit`` vertices or markers; small artists stay vectors."""
    if n > limit:
        for a in artist if isinstance(artist, (list, tuple)) else (artist,):
            a.set_rasterized(True)
            a._forecheck_dense = True  # _finish stores this figure's images with a 256-colour palette
    return artist


def _n_rows(offsets: np.ndarray, which: np.ndarray | None) -> int:
    """Number of rows (vertices) of the series ``which`` (all if None)."""
    lengths = np.diff(np.asarray(offsets, dtype=np.int64))
    return int(lengths.sum() if which is None else lengths[which].sum())


def sample_note(n_drawn: int, n_total: int, always: str) -> str:
    """How many series a figure draws when it does not draw them all; ``always``
    names the series that are always among them."""
    return (f"{n_drawn:,} of {n_total:,} series drawn, chosen at random by data key (the same on every run, "
            f"whatever the series are called); {always} are always drawn.")


def outcome_colour(o: float) -> str:
    if o == 1:
        return OUTCOME_1
    if o == 0:
        return OUTCOME_0
    return UNRESOLVED


def outcome_colours(o: np.ndarray) -> list[str]:
    return [outcome_colour(x) for x in np.asarray(o, dtype=float)]


def time_axis(tau: np.ndarray, unit: str) -> tuple[float, str]:
    """(divisor, label) for a time-to-resolution axis in readable units."""
    top = float(np.nanmax(tau)) if len(tau) else 0.0
    if unit == "seconds":
        if top >= 2 * 86400:
            return 86400.0, "days before resolution"
        if top >= 2 * 3600:
            return 3600.0, "hours before resolution"
        if top >= 120:
            return 60.0, "minutes before resolution"
    return 1.0, f"{unit} before resolution"


def _resolution_x(tau: np.ndarray, div: float) -> tuple[np.ndarray, float]:
    """x positions for a time-to-resolution axis: τ/div, with the resolution point
    (τ = 0) moved right of the last forecast by a gap so the resolution step shows."""
    x = np.asarray(tau, dtype=float) / div
    top = float(np.max(x)) if len(x) else 1.0
    gap = 0.07 * top if top > 0 else 1.0
    return np.where(tau == 0, -gap, x), gap


def _resolution_marks(ax, gap: float, top: float) -> None:
    """x limits with room for the resolution point, and a "resolved" tick there."""
    ax.set_xlim(top * 1.02, -1.6 * gap)
    ax.axvline(-gap, color="#999999", lw=0.8, ls=":")
    ticks = [float(t) for t in ax.get_xticks() if 0.1 * top <= t <= top]
    ax.set_xticks(ticks + [-gap])
    ax.set_xticklabels([f"{t:g}" for t in ticks] + ["resolved"])
    ax.get_xticklabels()[-1].set_color("#555555")


def _plot(fn: Callable[..., Rendered]) -> Callable[..., Rendered]:
    """Draw under the report's matplotlib style; the caller's rcParams are restored
    even when drawing fails."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Rendered:
        import matplotlib

        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)

    return wrapper


def _figure(key: str, figsize: tuple[float, float] = FIGSIZE, ncols: int = 1, **kw):
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = f"forecheck-{key}"  # ids unique across inline SVGs
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, ncols, **kw)
    return fig, axes


def _finish(fig, key: str, fmt: Fmt, alt: str, note: str = "") -> Rendered:
    buf = io.BytesIO()
    if fmt == "png":
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        fig.savefig(buf, format="png", dpi=144)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
    else:
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        FigureCanvasSVG(fig)
        fig.savefig(buf, format="svg", dpi=150, metadata={"Date": None, "Creator": None})
        data = _inline_svg(buf.getvalue().decode("utf-8"))
        if any(getattr(a, "_forecheck_dense", False) for a in fig.findobj()):
            data = _IMAGE.sub(_palette_png, data)
    return Rendered(key=key, data=data, fmt=fmt, alt=alt, note=note)


def _inline_svg(text: str) -> str:
    """matplotlib's SVG document as an inline element: no XML prolog or DOCTYPE,
    fixed width/height dropped (the viewBox lets CSS scale it)."""
    start = text.find("<svg")
    text = text[start:]
    head_end = text.find(">")
    head = text[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    body = re.sub(r"<metadata>.*?</metadata>|<!--.*?-->", "", text[head_end:], flags=re.S)
    body = re.sub(r'\sd="([^"]*)"', lambda m: ' d="' + _NUM.sub(_round1, m.group(1)) + '"', body)
    return head + ' preserveAspectRatio="xMidYMid meet"' + body


_NUM = re.compile(r"-?\d+\.\d+")
_IMAGE = re.compile(r"data:image/png;base64,\s*([A-Za-z0-9+/=\s]+)")


def _palette_png(m: re.Match) -> str:
    """An embedded RGBA PNG re-encoded with an adaptive 256-colour palette (no dither):
    many overlapping translucent lines make every pixel a new colour, which PNG
    compresses badly; the palette image is 5–10 times smaller and looks the same."""
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(re.sub(r"\s", "", m.group(1)))))
    q = img.convert("RGBA").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    q.save(out, format="png", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _round1(m: re.Match) -> str:
    """Path coordinates to 0.1 pt (1/720 inch): invisible, and a third of the bytes."""
    v = f"{float(m.group(0)):.1f}"
    return v[:-2] if v.endswith(".0") else v


def _outcome_legend(ax, outcomes: np.ndarray, loc: str = "best", extra: Sequence = (), outside: bool = False,
                    dots: bool = False, suffix: str = "", ncols: int = 2) -> None:
    """Legend of the outcome colours (only those present), plus ``extra`` handles;
    ``outside`` puts it under the axes, clear of the data."""
    from matplotlib.lines import Line2D

    handles = list(extra)
    o = np.asarray(outcomes, dtype=float)
    style = {"ls": "none", "marker": "o", "ms": 6} if dots else {"lw": 2}
    if np.any(o == 1):
        handles.append(Line2D([], [], color=OUTCOME_1, label="outcome 1 (happened)" + suffix, **style))
    if np.any(o == 0):
        handles.append(Line2D([], [], color=OUTCOME_0, label="outcome 0 (did not)" + suffix, **style))
    if np.any(np.isnan(o)):
        handles.append(Line2D([], [], color=UNRESOLVED, label="unresolved" + suffix, **style))
    if not handles:
        return
    if outside:
        ax.figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), ncols), frameon=False)
    else:
        ax.legend(handles=handles, loc=loc, frameon=True, framealpha=0.9)


def _segments(offsets: np.ndarray, x: np.ndarray, y: np.ndarray, which: np.ndarray | None = None) -> list:
    idx = range(len(offsets) - 1) if which is None else which
    return [np.column_stack([x[offsets[i]:offsets[i + 1]], y[offsets[i]:offsets[i + 1]]]) for i in idx]


def _spread_labels(y: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Label positions near ``y`` at least ``gap`` apart, within [lo, hi]."""
    order = np.argsort(y)
    pos = np.asarray(y, dtype=float)[order].copy()
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    over = pos[-1] - hi if len(pos) else 0
    if over > 0:
        pos -= over
    for i in range(len(pos) - 2, -1, -1):
        pos[i] = min(pos[i], pos[i + 1] - gap)
    pos = np.maximum(pos, lo)
    out = np.empty_like(pos)
    out[order] = pos
    return out


# ------------------------------------------------------------------ paths
@_plot
def plot_paths(d: pdata.Paths, fmt: Fmt = "svg") -> Rendered:
    from matplotlib.collections import LineCollection

    key = "paths"
    fig, ax = _figure(key)
    div, xlabel = time_axis(d.tau, d.unit)
    tau = d.tau / div
    cols = outcome_colours(d.outcome)
    drawn = d.drawn
    lc = LineCollection(_segments(d.offsets, tau, d.p, drawn), colors=cols if drawn is None else
                        [cols[i] for i in drawn], linewidths=0.7, alpha=0.45)
    ax.add_collection(_dense(lc, _n_rows(d.offsets, drawn), RASTER_POINTS))
    hl = np.asarray(d.highlight, dtype=int)
    if len(hl):
        ax.add_collection(LineCollection(_segments(d.offsets, tau, d.p, hl), colors=[cols[i] for i in hl],
                                         linewidths=2.2, alpha=1.0))
    ax.set_xlim(float(tau.max()) * 1.02 if len(tau) else 1, 0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("forecast probability")
    ax.set_title("Probability paths by outcome")
    if len(hl):
        last = d.offsets[hl + 1] - 1
        ys = _spread_labels(d.p[last], 0.075, 0.02, 0.98)
        for i, yl, yp, xp in zip(hl, ys, d.p[last], tau[last]):
            ax.annotate(str(d.ids[i]), xy=(xp, yp), xytext=(1.01, yl), textcoords=("axes fraction", "data"),
                        color=cols[i], fontsize=10, va="center", fontweight="bold",
                        arrowprops={"arrowstyle": "-", "color": cols[i], "lw": 0.6})
    _outcome_legend(ax, d.outcome, outside=True)
    names = ", ".join(str(d.ids[i]) for i in hl)
    alt = (f"Line chart of {len(d.offsets) - 1} forecast paths (probability 0 to 1 against {xlabel}), blue for "
           f"outcome 1, vermillion for outcome 0; the {len(hl)} series with the largest excess movement are "
           f"drawn thick and labelled: {names}.")
    note = "" if drawn is None else sample_note(len(drawn), d.n_series,
                                                 f"the {len(hl)} thick, labelled series (largest |excess|)")
    return _finish(fig, key, fmt, alt + (" " + note if note else ""), note)


# ------------------------------------------------------- cumulative budget
@_plot
def plot_cumulative(d: pdata.CumulativeBudget, fmt: Fmt = "svg") -> Rendered:
    key = "cumulative"
    fig, ax = _figure(key)
    div, xlabel = time_axis(d.pooled_tau, d.unit)
    t, gap = _resolution_x(d.pooled_tau, div)
    _dense(ax.step(t, d.pooled_movement, where="post", color=MOVEMENT, lw=2.4, label="movement Σ(Δp)²"),
           len(t), RASTER_POINTS)
    _dense(ax.step(t, d.pooled_reduction, where="post", color=BUDGET, lw=2, ls="--",
                   label="budget: uncertainty resolved Σ[u(p₀) − u(pₜ)]"), len(t), RASTER_POINTS)
    _resolution_marks(ax, gap, float(t.max()) if len(t) else 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cumulative sum over series (prob.²)")
    ax.set_title("Movement vs. the variance budget")
    m, r = float(d.pooled_movement[-1]), float(d.pooled_reduction[-1])
    ratio = m / r if r > 0 else float("nan")
    ax.annotate(f"at resolution: Σm/Σr = {ratio:.2f}", xy=(0.98, 0.04), xycoords="axes fraction", ha="right",
                fontsize=11, bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc"})
    ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    alt = (f"Step chart against {xlabel}: cumulative movement (solid) ends at {m:.3g} and the cumulative "
           f"uncertainty resolved (dashed, the budget) ends at {r:.3g}, a ratio of {ratio:.2f}.")
    return _finish(fig, key, fmt, alt)


@_plot
def plot_cumulative_excess(d: pdata.CumulativeBudget, fmt: Fmt = "svg", drawn: np.ndarray | None = None,
                           n_always: int = 0) -> Rendered:
    """One line per series, or only the series ``drawn`` (of which the first-chosen
    ``n_always`` are the highlighted ones, :func:`forecheck.stats.plotdata.drawn_series`)."""
    from matplotlib.collections import LineCollection

    key = "cumulative-excess"
    fig, ax = _figure(key)
    div, xlabel = time_axis(d.tau, d.unit)
    tau, gap = _resolution_x(d.tau, div)
    x = d.excess
    cols = outcome_colours(d.outcome)
    lc = LineCollection(_segments(d.offsets, tau, x, drawn), colors=cols if drawn is None else
                        [cols[i] for i in drawn], linewidths=0.9, alpha=0.6)
    ax.add_collection(_dense(lc, _n_rows(d.offsets, drawn), RASTER_POINTS))
    ax.axhline(0, color=BUDGET, lw=1.6, ls="--")
    _resolution_marks(ax, gap, float(tau.max()) if len(tau) else 1.0)
    lo, hi = (float(np.min(x)), float(np.max(x))) if len(x) else (-1.0, 1.0)
    pad = 0.08 * max(hi - lo, 1e-6)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("excess movement m − r (prob.²)")
    ax.set_title("Excess movement of each series")
    _outcome_legend(ax, d.outcome, loc="lower left")
    fm, fr = d.final()
    alt = (f"One line per series of cumulative movement minus uncertainty resolved, against {xlabel}; "
           f"{int(np.sum(fm > fr))} of {len(fm)} series end above zero (moved more than their budget).")
    note = "" if drawn is None else sample_note(len(drawn), len(fm), f"the {n_always} series with the largest |excess|")
    return _finish(fig, key, fmt, alt + (" " + note if note else ""), note)


# ------------------------------------------------------------ binned
def _cat_axis(ax, labels: Sequence[str], n: np.ndarray, what: str) -> None:
    x = np.arange(len(labels))
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    for xi, ni in zip(x, n):
        ax.annotate(f"{int(ni)}", xy=(xi, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                    fontsize=9.5, color="#555555")
    ax.annotate(what, xy=(0, 1.0), xycoords="axes fraction", xytext=(0, 14), textcoords="offset points",
                fontsize=9.5, color="#555555", ha="left", va="bottom")


@_plot
def plot_ratio_by_p0(d: pdata.Binned, overall: tuple[float | None, tuple[float, float] | None] | None = None,
                     fmt: Fmt = "svg") -> Rendered:
    key = "ratio-by-p0"
    fig, ax = _figure(key)
    x = np.arange(len(d.labels))
    ok = np.isfinite(d.ratio)
    ax.axhline(1.0, color=BUDGET, lw=1.6, ls="--", label="budget (ratio 1)")
    if overall is not None and overall[0] is not None:
        est, ci = overall
        if ci is not None:
            ax.axhspan(ci[0], ci[1], color=MOVEMENT, alpha=0.10, lw=0, label="all series: 95% CI")
        ax.axhline(est, color=MOVEMENT, lw=1.2, alpha=0.8, label=f"all series: {est:.2f}")
    ax.errorbar(x[ok], d.ratio[ok], yerr=[d.ratio[ok] - d.ratio_low[ok], d.ratio_high[ok] - d.ratio[ok]], fmt="o",
                color=MOVEMENT, ecolor=INTERVAL, elinewidth=1.6, capsize=4, ms=7, label="bin: Σm/Σr, ≈95% interval")
    top = float(np.nanmax(d.ratio_high[ok])) if ok.any() else 2.0
    ax.set_ylim(0, max(2.0, min(top * 1.05, 10.0)))
    _cat_axis(ax, d.labels, d.n, "series per bin:")
    ax.set_xlabel("starting probability p₀")
    ax.set_ylabel("movement / budget  Σm/Σr")
    ax.set_title("Movement ratio by starting p₀", pad=30)
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)
    parts = [f"{lab}: {r:.2f}" for lab, r in zip(d.labels, d.ratio) if np.isfinite(r)]
    alt = ("Dot chart of the movement-to-budget ratio with approximate 95% intervals for each starting-probability "
           "bin, against a dashed line at 1: " + "; ".join(parts) + ".")
    return _finish(fig, key, fmt, alt)


@_plot
def plot_excess_by_tau(d: pdata.Binned, fmt: Fmt = "svg") -> Rendered:
    key = "excess-by-tau"
    fig, ax = _figure(key)
    x = np.arange(len(d.labels))
    cols = [MOVEMENT if v >= 0 else "#5e9ed6" for v in d.excess]
    ax.bar(x, d.excess, color=cols, alpha=0.8, width=0.6)
    ax.errorbar(x, d.excess, yerr=[d.excess - d.excess_low, d.excess_high - d.excess], fmt="none",
                ecolor=INTERVAL, elinewidth=1.6, capsize=4, label="≈95% interval under the martingale null")
    ax.axhline(0, color=BUDGET, lw=1.6, ls="--", label="budget (excess 0)")
    _cat_axis(ax, d.labels, d.n, "steps per bin:")
    ax.set_xlabel("time to resolution at the earlier forecast of each step")
    ax.set_ylabel("excess movement Σm − Σr (prob.²)")
    ax.set_title("Excess movement by time left", pad=30)
    ax.legend(loc="best", frameon=True, framealpha=0.9)
    parts = [f"{lab}: {v:+.3f}" for lab, v in zip(d.labels, d.excess)]
    alt = "Bar chart of excess movement (movement minus uncertainty resolved) per time-to-resolution bin: " + \
        "; ".join(parts) + "."
    return _finish(fig, key, fmt, alt)


# ------------------------------------------------------------------- QQ
@_plot
def plot_qq(std: pdata.QQ, raw: pdata.QQ, fmt: Fmt = "svg") -> Rendered:
    key = "qq"
    fig, axes = _figure(key, figsize=(5.6, 4.0), ncols=2, sharey=True)
    xlim, ylim = 1.0, 1.0
    for q in (std, raw):
        if q.n:
            ylim = max(ylim, float(np.max(np.abs(q.sample))))
            xlim = max(xlim, float(np.max(np.abs(q.theoretical))))
    xlim, ylim = xlim * 1.1, ylim * 1.05
    for ax, q, title in zip(axes, (std, raw), ("standardised", "raw Δp")):
        ax.plot([-xlim, xlim], [-xlim, xlim], color=BUDGET, ls="--", lw=1.4, label="Gaussian")
        if q.n:
            ax.fill_between(q.theoretical, q.band_low, q.band_high, color=BAND, alpha=0.9, lw=0,
                            label="95% band", rasterized=True)
            ax.plot(q.theoretical, q.sample, "o", ms=2.6, color=MOVEMENT, alpha=0.7, label="increments",
                    rasterized=True)
        ax.set_xlim(-xlim, xlim)
        ax.set_ylim(-ylim, ylim)
        ax.set_title(f"{title}\nn = {q.n:,}", fontsize=11.5)  # two lines: 10⁷ increments fit the panel
        ax.set_xlabel("Gaussian quantile (SD)")
    axes[0].set_ylabel("increment quantile (SD units)")
    axes[0].legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=9.5)
    fig.suptitle("Increments against the Gaussian (QQ)", fontweight="bold", fontsize=13, x=0.02,
                 ha="left")
    alt = (f"Two QQ plots against Gaussian quantiles with a grey 95% band: standardised increments "
           f"({std.beyond_4sd} beyond 4 SD) and raw Δp ({raw.beyond_4sd} beyond 4 SD), where a Gaussian "
           f"sample of that size would have about {std.expected_beyond_4sd:.1f}.")
    return _finish(fig, key, fmt, alt)


# ------------------------------------------------------------ reliability
#: above this many last forecasts the rug at each outcome becomes a histogram strip
#: (10⁵ ticks on a 5-inch axis are one solid bar that shows nothing of where they lie)
RUG_MAX = 2_000
STRIP_BINS = 50


def _outcome_strips(ax, p: np.ndarray, o: np.ndarray) -> None:
    """Where the last forecasts lie, at their outcome: a rug of ticks above the plot
    for outcome 1 and below it for 0, or, for many forecasts, histograms there (bar
    height ∝ count, one scale for both)."""
    if len(o) <= RUG_MAX:
        _dense(ax.plot(p, np.where(o == 1, 1.02, -0.02), "|", ms=9, mew=1.2, color="#444444", alpha=0.7,
                       label="last forecasts (rug at outcome)"), len(o), RASTER_MARKS)
        return
    edges = np.linspace(0.0, 1.0, STRIP_BINS + 1)
    h1 = np.histogram(p[o == 1], edges)[0]
    h0 = np.histogram(p[o == 0], edges)[0]
    scale = 0.045 / max(int(h1.max()), int(h0.max()), 1)
    width = edges[1] - edges[0]
    ax.bar(edges[:-1], h1 * scale, width=width, bottom=1.0, align="edge", color="#444444", alpha=0.7, lw=0,
           label="last forecasts (histogram at outcome)")
    ax.bar(edges[:-1], -h0 * scale, width=width, bottom=0.0, align="edge", color="#444444", alpha=0.7, lw=0)


@_plot
def plot_reliability(d: pdata.Reliability, fmt: Fmt = "svg") -> Rendered:
    key = "reliability"
    fig, ax = _figure(key, figsize=(5.2, 5.0))
    ax.plot([0, 1], [0, 1], color=BUDGET, ls="--", lw=1.4, label="calibrated (diagonal)")
    if d.n:
        band = ax.fill_between(d.p, d.band_low, d.band_high, step="post", color=BAND, alpha=0.9, lw=0,
                               label=f"{90:.0f}% consistency band")
        _dense(band, len(d.p), RASTER_POINTS)
        cp, cf = d.p, d.recalibrated
        if len(cp) > RASTER_POINTS:  # the PAV fit is a step function: its changes draw the same line
            keep = np.flatnonzero(np.r_[True, cf[1:] != cf[:-1]])
            keep = np.unique(np.r_[keep, len(cp) - 1])
            cp, cf = cp[keep], cf[keep]
        _dense(ax.step(cp, cf, where="post", color=MOVEMENT, lw=2.4, label="CORP (PAV) recalibrated"),
               len(cp), RASTER_POINTS)
        _outcome_strips(ax, d.forecasts, d.outcomes)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.05, 1.05)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("forecast probability (last forecast)")
    ax.set_ylabel("observed frequency (PAV fit)")
    ax.set_title("CORP reliability diagram")
    ax.legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=9.5)
    if d.n:
        ax.annotate(f"Brier {d.brier:.4f}\nMCB {d.mcb:.4f}\nDSC {d.dsc:.4f}\nUNC {d.unc:.4f}\nn = {d.n:,}",
                    xy=(0.97, 0.05), xycoords="axes fraction", ha="right", va="bottom", fontsize=10,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc"})
    alt = (f"Reliability diagram of {d.n} last forecasts: the PAV-recalibrated curve against the diagonal with a grey "
           f"consistency band; Brier {d.brier:.4f} = miscalibration {d.mcb:.4f} − discrimination {d.dsc:.4f} "
           f"+ uncertainty {d.unc:.4f}.")
    return _finish(fig, key, fmt, alt)


# ------------------------------------------------------------------ jumps
@_plot
def plot_jumps(paths: pdata.Paths, j: pdata.Jumps, n_label: int = 4, fmt: Fmt = "svg") -> Rendered:
    from matplotlib.collections import LineCollection

    key = "jumps"
    fig, ax = _figure(key)
    div, xlabel = time_axis(paths.tau, paths.unit)
    tau = paths.tau / div
    drawn = paths.drawn
    grey = LineCollection(_segments(paths.offsets, tau, paths.p, drawn), colors="#b5b5b5", linewidths=0.6,
                          alpha=0.55)
    ax.add_collection(_dense(grey, _n_rows(paths.offsets, drawn), RASTER_POINTS))
    with_j = np.unique(j.series)
    top = np.argsort(-np.abs(j.L))[:n_label]
    n_top = len(np.unique(j.series[top]))
    shown = np.arange(len(j.row))  # the jumps marked: all, or those on drawn series and the labelled ones
    if drawn is not None:
        on = np.isin(j.series, drawn)
        on[top] = True
        shown = np.flatnonzero(on)
    if len(with_j):
        cols = outcome_colours(paths.outcome)
        js = with_j if drawn is None else np.unique(j.series[shown])
        lc = LineCollection(_segments(paths.offsets, tau, paths.p, js), colors=[cols[i] for i in js],
                            linewidths=1.0, alpha=0.8)
        ax.add_collection(_dense(lc, _n_rows(paths.offsets, js), RASTER_POINTS))
        r = j.row[shown]
        segs = [np.array([[tau[k], paths.p[k - 1]], [tau[k], paths.p[k]]]) for k in r]
        ax.add_collection(_dense(LineCollection(segs, colors=JUMP, linewidths=3.0, alpha=0.95, zorder=4),
                                 len(r), RASTER_MARKS))
        _dense(ax.plot(tau[r], paths.p[r], "o", ms=5, mfc=JUMP, mec="black", mew=0.7, zorder=5, ls="none"),
               len(r), RASTER_MARKS)
        r = j.row
        for k, i in zip(r[top], j.series[top]):
            left = tau[k] < 0.5 * float(tau.max())  # right half of the axis: label to the left
            ax.annotate(f"{paths.ids[i]} ({paths.p[k - 1]:.2f}→{paths.p[k]:.2f})", xy=(tau[k], paths.p[k]),
                        xytext=(-6 if left else 6, 8 if paths.p[k] < 0.85 else -14), textcoords="offset points",
                        ha="right" if left else "left", fontsize=9.5,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlim(float(tau.max()) * 1.02 if len(tau) else 1, 0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("forecast probability")
    ax.set_title(f"Detected jumps: {len(j.row)} in {len(with_j)} series")
    from matplotlib.lines import Line2D

    _outcome_legend(ax, paths.outcome[with_j] if len(with_j) else np.zeros(0), outside=True,
                    extra=[Line2D([], [], color=JUMP, lw=3, marker="o", mfc=JUMP, mec="black",
                                  label=f"jump (Lee–Mykland, K = {j.window})")])
    alt = (f"Forecast paths in grey with {len(j.row)} detected jumps marked in orange across {len(with_j)} "
           f"series, against {xlabel}.")
    note = ""
    if drawn is not None:
        note = (f"{len(drawn):,} of {paths.n_series:,} series drawn, chosen at random by data key (the same on "
                f"every run, whatever the series are called); {len(shown):,} of the {len(j.row):,} jumps are "
                f"marked: those on the drawn series and the {len(top)} labelled largest (on {n_top} series).")
        alt += " " + note
    return _finish(fig, key, fmt, alt, note)


# ------------------------------------------------------------------- walk
@_plot
def plot_walk(w: pdata.WalkCurve, fmt: Fmt = "svg") -> Rendered:
    from matplotlib.lines import Line2D

    key = "walk"
    fig, ax = _figure(key)
    h = w.step
    ax.plot(w.grid_p, w.expected_steps, color=BUDGET, lw=2.2, label="expected updates p₀(1 − p₀)/h²")
    ax.plot(w.grid_p, w.median_steps, color=BUDGET, lw=1.6, ls=":", label="median updates")
    if len(w.p0):
        _dense(ax.scatter(w.p0, np.maximum(w.equivalent_steps, 0.5), s=26, c=outcome_colours(w.outcome),
                          alpha=0.85, edgecolors="white", linewidths=0.5, zorder=3), len(w.p0), RASTER_MARKS)
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("starting probability p₀")
    ax.set_ylabel(f"±{h:g} updates (log scale)")
    ax.set_title("±1% belief walk vs. this data")
    extra = [Line2D([], [], color=BUDGET, lw=2.2, label=ax.lines[0].get_label()),
             Line2D([], [], color=BUDGET, lw=1.6, ls=":", label="median updates")]
    _outcome_legend(ax, w.outcome, extra=extra, outside=True, dots=True, suffix=": m/h²",
                    ncols=1)
    mid = int(np.argmin(np.abs(w.grid_p - 0.5)))
    alt = (f"Curve of the expected number of ±{h:g} updates until certainty by starting probability "
           f"({w.expected_steps[mid]:.0f} from 50%), a dotted median curve, and one dot per series at its "
           f"starting probability with its movement expressed as equivalent updates.")
    note = ""
    if w.n_series is not None:
        note = (f"Dots of {len(w.p0):,} of {w.n_series:,} series drawn, chosen at random by data key (the same "
                f"on every run, whatever the series are called).")
        alt += " " + note
    return _finish(fig, key, fmt, alt, note)


# ------------------------------------------------------------ sequential
EPROCESS_COLOURS = ("#0072B2", "#009E73", "#CC79A7")  # Okabe & Ito, one per check


@_plot
def plot_eprocess(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], log_threshold: float,
                  xlabel: str = "time", fmt: Fmt = "svg") -> Rendered:
    """log e against calendar time, one step line per check (``--sequential``), with the
    rejection threshold log(K/α) as a black dashed line (docs/checks.md, "Anytime-valid
    e-processes"). ``curves``: (label, times, log e) per check."""
    key = "eprocess"
    fig, ax = _figure(key)
    top = log_threshold
    bottom = 0.0
    for (label, t, le), col in zip(curves, EPROCESS_COLOURS * 2):
        t, le = np.asarray(t, float), np.asarray(le, float)
        if not len(t):
            continue
        _dense(ax.step(np.concatenate([[t[0]], t]), np.concatenate([[0.0], le]), where="post", color=col, lw=2,
                       label=label), len(t) + 1, RASTER_POINTS)
        top, bottom = max(top, float(np.max(le))), min(bottom, float(np.min(le)))
    ax.axhline(log_threshold, color=BUDGET, lw=1.6, ls="--", label=f"threshold log e = {log_threshold:.2f}")
    ax.axhline(0.0, color=INTERVAL, lw=0.8)
    pad = 0.08 * max(top - bottom, 1.0)
    ax.set_ylim(bottom - pad, top + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("log e-value")
    ax.set_title("Anytime-valid evidence over time")
    ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    ends = "; ".join(f"{label} ends at log e = {float(np.asarray(le)[-1]):.2f}" for label, _t, le in curves
                     if len(le))
    crossed = [label for label, _t, le in curves if len(le) and float(np.max(le)) >= log_threshold - 1e-12]
    alt = (f"Step chart of log e-value against {xlabel}, one line per check, with the threshold "
           f"{log_threshold:.2f} dashed: {ends}; " + (f"crossed: {', '.join(crossed)}." if crossed else
                                                      "no check crossed the threshold."))
    return _finish(fig, key, fmt, alt)

"""The HTML report's figures stay bounded as the number of series grows
(forecheck/report/plots.py, docs/report.md "Many series"): at most a fixed number of
series lines, chosen by data key and always holding the highlighted series, said in
caption and alt text; dense collections rasterized inside the SVG. The limits are
lowered here so that small synthetic panels cross them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

import forecheck
from forecheck.panel import Panel
from forecheck.report import html as H
from forecheck.report import plots
from forecheck.stats import plotdata as pdata
from forecheck.stats.streams import series_keys


def walks(n_series: int, n_steps: int = 12, seed: int = 5, prefix: str = "s") -> Panel:
    """Bayesian forecasters on Gaussian signals (martingales), all resolved."""
    rng = np.random.default_rng(seed)
    s = np.cumsum(rng.standard_normal((n_series, n_steps + 1)), axis=1)
    tau = np.arange(n_steps, 0, -1)[None, :]
    p = stats.norm.cdf(s[:, :-1] / np.sqrt(tau + 0.0))
    outcome = (s[:, -1] > 0).astype(float)
    t = np.tile(np.arange(n_steps, dtype=float), n_series)
    ids = np.repeat([f"{prefix}{i:04d}" for i in range(n_series)], n_steps)
    return Panel.from_arrays(ids, t, p.ravel(), outcome=np.repeat(outcome, n_steps))


def collection_paths(svg: str, n: int = 1) -> int:
    """Number of <path> elements in the SVG group of the n-th LineCollection."""
    start = svg.find(f'<g id="LineCollection_{n}">')
    assert start >= 0
    depth, count = 0, 0
    for m in re.finditer(r"<g\b|</g>|<path\b", svg[start:]):
        tok = m.group(0)
        if tok == "<g":
            depth += 1
        elif tok == "</g>":
            depth -= 1
            if depth == 0:
                break
        else:
            count += 1
    return count


def test_drawn_series_are_bounded_and_hold_the_highlight():
    for S in (30, 120, 480):
        pan = walks(S)
        d = pdata.paths(pan, max_lines=25)
        assert d.drawn is not None and len(d.drawn) == 25
        assert len(np.unique(d.drawn)) == 25
        assert set(d.highlight.tolist()) <= set(d.drawn.tolist())
    small = pdata.paths(walks(20), max_lines=25)
    assert small.drawn is None  # every series drawn, as before


def test_drawn_series_do_not_depend_on_names_or_row_order():
    pan = walks(200)
    renamed = walks(200, prefix="zz")
    # the same data under reversed names: series i becomes the (S − 1 − i)-th in id order
    rng = np.random.default_rng(0)
    ids = np.array([f"q{199 - i:04d}" for i in range(200)])[pan.series_index]
    perm = rng.permutation(pan.n_obs)
    shuffled = Panel.from_arrays(ids[perm], pan.time[perm], pan.p[perm], outcome=pan.outcome[pan.series_index][perm])
    picked = []
    for q in (pan, renamed, shuffled):
        d = pdata.paths(q, max_lines=40)
        picked.append(sorted(series_keys(q)[d.drawn].tolist()))
    assert picked[0] == picked[1] == picked[2]


def test_paths_figure_stays_bounded_as_series_grow():
    sizes, lines = [], []
    for S in (100, 400):
        d = pdata.paths(walks(S), max_lines=50)
        fig = plots.plot_paths(d)
        lines.append(collection_paths(fig.data))
        sizes.append(len(fig.data))
        assert "50 of " + f"{S:,}" + " series drawn" in fig.note
        assert fig.note in fig.alt
        assert "the 5 thick, labelled series (largest |excess|) are always drawn." in fig.note
    assert lines == [50, 50]
    assert sizes[1] < 1.1 * sizes[0]


def test_cumulative_excess_and_jumps_use_the_same_sample():
    pan = walks(300)
    d = pdata.paths(pan, max_lines=40)
    cum = plots.plot_cumulative_excess(pdata.cumulative_budget(pan), drawn=d.drawn, n_always=len(d.highlight))
    assert collection_paths(cum.data) == 40
    assert "40 of 300 series drawn" in cum.note and cum.note in cum.alt
    assert "the 5 series with the largest |excess| are always drawn." in cum.note
    j = forecheck.analyze(pan, select=("WN305",)).figures["jumps"]
    jf = plots.plot_jumps(d, j)
    assert collection_paths(jf.data) == 40
    assert "40 of 300 series drawn" in jf.note


def test_walk_dots_are_bounded_and_name_free():
    pan = walks(300)
    w = pdata.walk_for_panel(pan, max_dots=60)
    assert len(w.p0) == 60 and w.n_series == 300
    assert pdata.walk_for_panel(pan, max_dots=300).n_series is None
    renamed = pdata.walk_for_panel(walks(300, prefix="r"), max_dots=60)
    assert sorted(w.p0.tolist()) == sorted(renamed.p0.tolist())
    fig = plots.plot_walk(w)
    assert "Dots of 60 of 300 series drawn" in fig.note and fig.note in fig.alt


def test_dense_collections_are_rasterized(monkeypatch):
    small, large = (pdata.paths(walks(S), max_lines=1000) for S in (60, 480))
    vector = [plots.plot_paths(d) for d in (small, large)]
    assert all("<image" not in f.data and f.note == "" for f in vector)
    monkeypatch.setattr(plots, "RASTER_POINTS", 100)
    raster = [plots.plot_paths(d) for d in (small, large)]
    for f in raster:
        assert f.data.count("<image") == 1  # the thin lines: one embedded image
        # the only vector LineCollection left is the highlighted one (5 thick lines)
        assert collection_paths(f.data) == 5 and 'id="LineCollection_2"' not in f.data
    assert len(vector[1].data) > 2.5 * len(vector[0].data)  # vectors grow with the series
    assert len(raster[1].data) < 2 * len(raster[0].data)  # the image does not


def test_report_caption_says_how_many_were_drawn(monkeypatch):
    pan = walks(120)
    report = forecheck.analyze(pan)
    monkeypatch.setattr(pdata, "MAX_LINES", 30)
    text = H.render_html(report)
    for key in ("paths", "cumulative-excess", "jumps"):
        fig = re.search(rf'<figure class="plot" id="fig-{key}".*?</figure>', text, flags=re.S)
        assert fig is not None, key
        cap = re.search(r"<figcaption>(.*?)</figcaption>", fig.group(0), flags=re.S).group(1)
        assert "30 of 120 series drawn, chosen at random by data key" in cap, key
        label = re.search(r'aria-label="([^"]*)"', fig.group(0)).group(1)
        assert "30 of 120 series drawn" in label, key
    monkeypatch.setattr(pdata, "MAX_DOTS", 50)
    walk = re.search(r'<figure class="plot" id="fig-walk".*?</figure>', H.render_html(report), flags=re.S)
    assert "Dots of 50 of 120 series drawn, chosen at random by data key" in walk.group(0)
    # the highlighted series are labelled in the paths figure
    d = pdata.paths(pan, max_lines=30)
    names = [str(d.ids[i]) for i in d.highlight]
    paths_fig = re.search(r'<figure class="plot" id="fig-paths".*?</figure>', text, flags=re.S).group(0)
    alt = re.search(r'aria-label="([^"]*)"', paths_fig).group(1)
    assert all(n in alt for n in names)


@pytest.mark.parametrize("limit", [10**9])
def test_small_reports_are_unchanged_by_the_limits(monkeypatch, limit):
    """Below the limits nothing is sampled or rasterized: raising them changes no byte."""
    report = forecheck.analyze(walks(40))
    before = H.render_html(report)
    monkeypatch.setattr(pdata, "MAX_LINES", limit)
    monkeypatch.setattr(pdata, "MAX_DOTS", limit)
    monkeypatch.setattr(plots, "RASTER_POINTS", limit)
    monkeypatch.setattr(plots, "RASTER_MARKS", limit)
    assert H.render_html(report) == before
    assert "series drawn, chosen at random" not in before


def test_reliability_rug_becomes_histogram_strips_for_many_forecasts(monkeypatch):
    # a rug of 10⁵ ticks is one solid bar: above RUG_MAX the forecasts at each outcome are
    # histograms, one bar per bin above the plot (outcome 1) and one below it (outcome 0)
    rng = np.random.default_rng(3)
    p = rng.beta(0.5, 0.5, 400)
    o = (rng.random(400) < p).astype(float)
    d = pdata.reliability(p, o, np.random.default_rng(0), n_boot=20)
    rug = plots.plot_reliability(d).data
    monkeypatch.setattr(plots, "RUG_MAX", 100)
    strips = plots.plot_reliability(d).data
    # (+ 1: the legend's handle of the bars)
    assert strips.count('<g id="patch_') == rug.count('<g id="patch_') + 2 * plots.STRIP_BINS + 1
    assert rug.count('<g id="line2d_') > strips.count('<g id="line2d_')  # the rug's ticks are gone


def test_jumps_figure_draws_what_wn305_reports():
    """The jumps figure draws WN305's own flags (report.figures), so its count is the
    record's; without WN305 there is no jumps figure (nothing is tested again)."""
    report = forecheck.analyze(walks(120))
    lm = report.result("WN305").details.standardised.lee_mykland
    text = H.render_html(report)
    assert f"{lm.n_jumps} detected jumps marked in orange across {lm.series_with_jumps} series" in text
    assert 'id="fig-jumps"' not in H.render_html(forecheck.analyze(walks(120), select=("MG", "CA")))

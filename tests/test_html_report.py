"""The HTML report without a browser: `--html PATH`, Report.to_html(), status styling,
the details adapter, and figures that cannot be drawn."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forecheck
from forecheck.cli.app import app
from forecheck.report import html as H

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


@pytest.fixture(scope="module")
def walks_csv(tmp_path_factory) -> str:
    """Exact ±5% belief walks from 50% (martingales), resolved where they end."""
    rng = np.random.default_rng(3)
    rows = []
    for s in range(25):
        p, t, path = 0.5, 0, []
        while 0 < p < 1 and t < 50:
            path.append((t, p))
            p = round(p + (0.05 if rng.uniform() < 0.5 else -0.05), 10)
            t += 1
        outcome = int(p >= 1) if p in (0, 1) else int(rng.uniform() < path[-1][1])
        rows += [(f"q{s:02d}", t_, p_, outcome) for t_, p_ in path]
    path = tmp_path_factory.mktemp("html") / "walks.csv"
    pd.DataFrame(rows, columns=["series", "time", "p", "outcome"]).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def report(walks_csv):
    return forecheck.analyze(walks_csv)


@pytest.fixture(scope="module")
def cli_run(walks_csv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    out = folder / "report.html"
    res = CliRunner().invoke(app, ["analyze", walks_csv, "-q", "-f", "json", "--html", str(out)], env=ENV)
    return res, folder, out


def test_cli_writes_html_atomically(cli_run, report):
    res, folder, out = cli_run
    assert res.exit_code == int(report.exit_code), (res.stdout, res.stderr, res.exception)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert [p.name for p in folder.iterdir()] == ["report.html"]  # no temp file left behind
    assert out.stat().st_mode & 0o044  # an ordinary readable file, not mkstemp's 0600
    assert res.stdout.lstrip().startswith("{")  # the payload is unchanged by --html


def test_cli_html_unwritable_is_exit_2(walks_csv, tmp_path):
    res = CliRunner().invoke(app, ["analyze", walks_csv, "-q", "--html", str(tmp_path / "no" / "r.html")], env=ENV)
    assert res.exit_code == 2, (res.stdout, res.stderr, res.exception)
    assert "--html" in res.stderr and "does not exist" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_html_contents_follow_the_results(cli_run, report):
    text = cli_run[2].read_text(encoding="utf-8")
    for r in report.results:
        assert f">{r.code}</a>" in text or r.code in text
    assert text.count("<figure class=\"plot\"") == 9
    assert "Not drawn" not in text
    assert "<script" not in text.lower()
    r101 = report.result("MG101")
    assert f"{r101.estimate:.2f}" in text  # the verdict card carries the ratio


@dataclass(frozen=True)
class _Details:
    by_p0: tuple = (1, 2)


@dataclass(frozen=True)
class _Result:
    details: object


def test_detail_adapter_reads_dicts_and_objects():
    assert H._detail(_Result({"by_p0": [1]}), "by_p0") == [1]
    assert H._detail(_Result(_Details()), "by_p0") == (1, 2)
    assert H._detail(_Result(_Details()), "missing", "x") == "x"
    assert H._detail(None, "by_p0") is None


def test_status_styles(report):
    r = report.result("MG101")
    gating = {r.code}
    assert H.status_class(r.with_(status="fail"), gating) == ("st-fail", "fail")
    assert H.status_class(r.with_(status="fail"), set())[0] == "st-soft"  # non-gating fail is not red
    assert H.status_class(r.with_(status="inconclusive"), gating) == ("st-inc", "inconclusive")
    wn = next(x for x in report.results if x.family == "WN")
    assert H.status_class(wn.with_(status="fail"), set()) == ("st-soft", "does not hold")
    # an inconclusive MG101 renders with its own badge and no gating styling
    patched = type(report)(input=report.input, config=report.config,
                           results=tuple(x.with_(status="inconclusive") if x.code == "MG101" else x
                                         for x in report.results),
                           series=report.series, panel=report.panel)
    card = H.verdict_card(patched)
    assert 'class="badge st-inc">inconclusive<' in card
    assert "cannot tell" in card  # the verdict's own words (report/verdict.py), as in the terminal


def test_a_figure_that_fails_does_not_lose_the_report():
    spec = H.FigureSpec("broken", "caption", lambda: (_ for _ in ()).throw(ValueError("too few points")))
    out = H._figure_html(spec)
    assert "Not drawn on this data" in out and "too few points" in out


def test_number_formatting():
    assert H.num(None) == "–" and H.num(float("nan")) == "–"
    assert H.num(-0.08066) == "−0.0807"
    assert H.pval(0.0004) == "< 0.001" and H.pval(0.0123) == "0.012"
    assert re.fullmatch(r"\[0\.09, 1\.33\]", H.ci_text((0.08997, 1.3277)))


def test_plot_style_is_restored_even_when_drawing_fails():
    import matplotlib

    from forecheck.report import plots

    before = dict(matplotlib.rcParams)
    with pytest.raises(AttributeError):
        plots.plot_paths(None)  # fails after the style is applied
    assert dict(matplotlib.rcParams) == before

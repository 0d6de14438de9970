"""--group-by: per-group verdicts and the pairwise comparison (issue: reports people read)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forecheck
from forecheck.cli.app import app
from forecheck.io.options import ReadOptions
from forecheck.report import render
from forecheck.simulate import simulate


def _two_models(tmp_path):
    """The same 30 questions forecast by an honest model and by one that shrinks halfway to 50%."""
    base = simulate("gaussian", n_series=30, n_steps=40, seed=11)
    shrunk = base.copy()
    shrunk["p"] = 0.5 + 0.5 * (shrunk["p"] - 0.5)
    base["model"], shrunk["model"] = "honest", "shrunk"
    df = pd.concat([base, shrunk], ignore_index=True)
    f = tmp_path / "models.csv"
    df.to_csv(f, index=False)
    return df, f


def test_groups_are_analysed_separately_and_compared(tmp_path):
    df, _ = _two_models(tmp_path)
    rep = forecheck.analyze(df, read_options=ReadOptions(series_cols=("series", "model"), group_col="model"),
                            n_sim=99)
    assert [g for g, _ in rep.groups] == ["honest", "shrunk"]
    # each group's report is the analysis of its own series alone
    alone = forecheck.analyze(df[df.model == "honest"].drop(columns="model"), n_sim=99)
    assert rep.groups[0][1].result("MG101").estimate == pytest.approx(alone.result("MG101").estimate)
    (c,) = rep.group_comparisons
    assert c.n_common == 30
    # the paired Brier difference re-derived directly from the last forecasts
    last = df.sort_values("time").groupby(["model", "series"]).last()
    o = last.loc["honest"]["outcome"].to_numpy()
    d = (o - last.loc["honest"]["p"].to_numpy()) ** 2 - (o - last.loc["shrunk"]["p"].to_numpy()) ** 2
    assert c.brier_difference == pytest.approx(d.mean())
    assert c.brier_difference < 0 and c.pvalue is not None and c.pvalue < 0.05  # honest scores better
    doc = json.loads(render(rep, "json"))
    assert [g["group"] for g in doc["groups"]] == ["honest", "shrunk"]
    assert doc["group_comparisons"][0]["n_common"] == 30


def test_group_by_in_every_human_format(tmp_path):
    _, f = _two_models(tmp_path)
    args = ["analyze", str(f), "--series-col", "series", "--series-col", "model", "--group-by", "model",
            "--n-sim", "99", "--isolated"]
    text = CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert text.exit_code in (0, 1) and "Groups (--group-by)" in text.stdout and "honest vs shrunk" in text.stdout
    md = CliRunner().invoke(app, [*args, "--format", "markdown"], env={"NO_COLOR": "1"})
    assert "### Groups (`--group-by`)" in md.stdout
    html = tmp_path / "r.html"
    CliRunner().invoke(app, [*args, "--html", str(html)], env={"NO_COLOR": "1"})
    assert 'id="groups-h"' in html.read_text()

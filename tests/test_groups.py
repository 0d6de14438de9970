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


def test_paired_brier_counts_questions_not_candidates(tmp_path):
    """Both candidates of a two-candidate race (p and 1 − p, detected as one question)
    are one draw: the comparison reports 30 questions, not 60 contracts, and its
    standard error is the one of the same 30 questions listed once."""
    df, _ = _two_models(tmp_path)
    df = df.rename(columns={"series": "race"})
    mirror = df.assign(p=1 - df["p"], outcome=1 - df["outcome"], candidate="B")
    both = pd.concat([df.assign(candidate="A"), mirror], ignore_index=True)
    opts = ReadOptions(series_cols=("race", "candidate", "model"), group_col="model")
    (c,) = forecheck.analyze(both, read_options=opts, n_sim=19, select=("CA",)).group_comparisons
    (once,) = forecheck.analyze(df, read_options=ReadOptions(series_cols=("race", "model"), group_col="model"),
                                n_sim=19, select=("CA",)).group_comparisons
    assert once.n_common == 30 and c.n_common == 30
    # independent re-derivation: the Diebold-Mariano t on one contract per race (the
    # mirror's loss difference is identical), d̄ / (s_d / √30)
    last = df.sort_values("time").groupby(["model", "race"]).last()
    o = last.loc["honest"]["outcome"].to_numpy()
    d = (o - last.loc["honest"]["p"].to_numpy()) ** 2 - (o - last.loc["shrunk"]["p"].to_numpy()) ** 2
    assert c.brier_difference == pytest.approx(d.mean(), rel=1e-12)
    assert c.se == pytest.approx(d.std(ddof=1) / np.sqrt(30), rel=1e-9)
    assert c.pvalue == pytest.approx(once.pvalue, rel=1e-9)
    assert "clustered by question" in c.method and "clustered" not in once.method


def test_paired_brier_cluster_se_matches_statsmodels():
    """With contracts grouped by question (races of 3, uneven), the standard error is
    the CR1 sandwich of OLS of d on a constant: statsmodels' cluster covariance (its
    small-sample factor G/(G−1)·(N−1)/(N−K) with K = 1 is G/(G−1))."""
    import statsmodels.api as sm

    from forecheck.stats.compare import paired_brier

    rng = np.random.default_rng(5)
    unit = np.repeat(np.arange(25), 3)[:-2]  # 24 races of 3 and one of 1
    o = (rng.random(unit.size) < 0.4).astype(float)
    pa, pb = rng.random(unit.size), rng.random(unit.size)
    r = paired_brier(pa, pb, o, unit=unit)
    d = (o - pa) ** 2 - (o - pb) ** 2
    fit = sm.OLS(d, np.ones((d.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": unit})
    assert r.n == 25
    assert r.mean_difference == pytest.approx(fit.params[0], rel=1e-12)
    assert r.se == pytest.approx(fit.bse[0], rel=1e-10)
    assert r.pvalue == pytest.approx(fit.pvalues[0], rel=1e-8)
    # one contract per question: the unclustered Diebold-Mariano formula, bit for bit
    assert paired_brier(pa, pb, o, unit=np.arange(d.size)) == paired_brier(pa, pb, o)

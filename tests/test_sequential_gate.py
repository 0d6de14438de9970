"""``--sequential`` end to end: the runner decides MG101, MG103 and CA202 by e-values.

The statistics themselves are pinned in tests/test_sequential.py; here: the wiring (the
selection each check uses, the construction chosen from --cluster-col, the e-Bonferroni
threshold, the JSON contract, the configuration key, ``forecheck monitor``) and the
anytime property through the whole CLI (a truncated history gives the prefix of the path).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecheck.cli.app import app
from forecheck.stats.sequential import ca202_eprocess, mg101_eprocess, mg103_eprocess

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "forecheck" / "report" / "schema_v2.json").read_text(encoding="utf-8"))
FAST = ["--select", "MG101,MG103,CA202", "--n-sim", "99", "--isolated"]
runner = CliRunner()


def cli(*args: str, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("seq")
    out = {}
    # honest: Gaussian-signal Bayesians; biased: Augenblick-Rabin over-reaction β = 3
    for name, model in (("honest", ["gaussian"]), ("biased", ["ar", "--beta", "3"])):
        path = d / f"{name}.csv"
        r = cli("simulate", *model, "--series", "30", "--steps", "60", "--seed", "3", "-o", str(path))
        assert r.exit_code == 0, r.output
        out[name] = path
    return out


def records(stdout: str) -> dict[str, dict]:
    doc = json.loads(stdout)
    jsonschema.validate(doc, SCHEMA)
    return {r["code"]: r for r in doc["results"]}


def test_honest_panel_passes_by_evalue_and_json_validates(data):
    r = cli("analyze", str(data["honest"]), "--sequential", "--format", "json", *FAST)
    assert r.exit_code == 0, r.output
    recs = records(r.stdout)
    for code in ("MG101", "MG103", "CA202"):
        rec = recs[code]
        seq = rec["sequential"]
        assert rec["status"] == "pass"
        assert rec["evalue_threshold"] == pytest.approx(3 / 0.05)  # e-Bonferroni over the 3 checks
        assert 0 <= rec["evalue"] < rec["evalue_threshold"]
        assert seq["max_evalue"] < rec["evalue_threshold"] and seq["crossed"] is False
        assert seq["first_crossing"] is None
        assert seq["construction"] == "calendar-time pooled"  # no --cluster-col: valid under any dependence
        assert rec["pvalue"] is not None and rec["pvalue_adjusted"] is None  # reported, does not decide
        assert rec["gate"] is None
    # MG101's ci is the confidence sequence, the one-look CI kept for reference; under H0 it covers 1 here
    mg = recs["MG101"]
    assert mg["ci"] == mg["sequential"]["confidence_sequence"]
    lo, hi = mg["ci"]
    assert lo <= 1 and (hi is None or hi >= 1)
    assert mg["sequential"]["fixed_sample_ci"] is not None


def test_without_sequential_records_carry_no_evalue(data):
    r = cli("analyze", str(data["honest"]), "--format", "json", *FAST)
    recs = records(r.stdout)
    assert all(rec["evalue"] is None and rec["sequential"] is None for rec in recs.values())


def test_over_reaction_fails_by_evalue_with_declared_independent_clusters(data, tmp_path):
    df = pd.read_csv(data["biased"])
    df["cluster"] = df["series"]  # one series per cluster: declared independent
    path = tmp_path / "biased_clusters.csv"
    df.to_csv(path, index=False)
    r = cli("analyze", str(path), "--sequential", "--cluster-col", "cluster", "--format", "json", *FAST)
    assert r.exit_code == 1, r.output
    recs = records(r.stdout)
    failed = [c for c in ("MG101", "MG103") if recs[c]["status"] == "fail"]
    assert failed
    for c in failed:
        seq = recs[c]["sequential"]
        assert seq["construction"] == "per-series product"
        assert seq["crossed"] and seq["max_evalue"] >= recs[c]["evalue_threshold"] == pytest.approx(60)
        assert seq["first_crossing_time"] is not None
    assert recs["MG101"]["sequential"]["direction"] == "up"  # too much movement
    # the text report says so
    t = cli("analyze", str(path), "--sequential", "--cluster-col", "cluster", *FAST, "--color", "never",
            env={"COLUMNS": "200"})
    assert "valid however often this is run" in t.stdout and "per-series product" in t.stdout
    assert "threshold 60" in t.stdout


def _steps_from_csv(df: pd.DataFrame, min_length: int = 3):
    """MG101's steps re-derived from the raw long table with pandas (not panel_steps):
    in-flight Δp at each forecast's time, and o − p_last at the resolution time (one
    step after the last forecast, as the simulator writes it; docs/simulate.md)."""
    df = df.sort_values(["series", "time"])
    g = df.groupby("series", sort=True)
    codes = {s: i for i, s in enumerate(sorted(df["series"].unique()))}
    prev = g["p"].shift(1)
    inflight = df[prev.notna()]
    last = g.tail(1)
    n = g.size()
    keep = last[last["outcome"].notna() | (n.loc[last["series"]].to_numpy() >= min_length)]
    inflight = inflight[inflight["series"].isin(keep["series"])]
    res = keep[keep["outcome"].notna()]
    series = np.concatenate([inflight["series"].map(codes), res["series"].map(codes)])
    time = np.concatenate([inflight["time"], res["time"] + 1.0])
    p_prev = np.concatenate([prev.loc[inflight.index].to_numpy(), res["p"].to_numpy()])
    dp = np.concatenate([inflight["p"].to_numpy() - p_prev[:len(inflight)], res["outcome"] - res["p"]])
    flag = np.concatenate([np.zeros(len(inflight), bool), np.ones(len(res), bool)])
    return series, time, p_prev, dp, flag, res


def test_record_evalue_equals_direct_eprocess(data):
    df = pd.read_csv(data["honest"])
    series, time, p_prev, dp, flag, res = _steps_from_csv(df)
    r = cli("analyze", str(data["honest"]), "--sequential", "--format", "json", *FAST)
    recs = records(r.stdout)
    mg101 = mg101_eprocess(series, time, p_prev, dp, resolution=flag, alpha=0.05)
    assert recs["MG101"]["evalue"] == pytest.approx(mg101.evalue, rel=1e-9)
    assert recs["MG101"]["sequential"]["max_evalue"] == pytest.approx(mg101.max_evalue, rel=1e-9)
    assert recs["MG101"]["ci"][0] == pytest.approx(mg101.cs[0])
    mg103 = mg103_eprocess(series, time, p_prev, dp, resolution=flag, alpha=0.05)
    assert recs["MG103"]["evalue"] == pytest.approx(mg103.evalue, rel=1e-9)
    # CA202: every series resolves one step after its last forecast, at its last forecast
    ca = ca202_eprocess(res["time"].to_numpy() + 1.0, res["p"].to_numpy(), res["outcome"].to_numpy())
    assert recs["CA202"]["evalue"] == pytest.approx(ca.evalue, rel=1e-9)


def test_a_declared_yes_no_question_counts_once_in_the_evalues(data, tmp_path):
    # a YES/NO question (--question-col) whose mirror contract sorts second: MG101's,
    # MG103's and CA202's e-processes run on the series the checks pool (the mirror
    # dropped), each series entering at its own resolution time (series cut to different
    # lengths resolve at different times), as re-derived from the table without the mirror
    df = pd.read_csv(data["honest"])
    ids = sorted(df["series"].unique())
    cut = dict(zip(ids, np.random.default_rng(2).integers(20, 61, len(ids))))
    df = df[df["time"] < df["series"].map(cut)].reset_index(drop=True)
    yes = df[df["series"] == ids[0]]
    no = yes.assign(series=ids[0] + "n", p=1.0 - yes["p"], outcome=1.0 - yes["outcome"])
    both = pd.concat([df, no], ignore_index=True)
    both["question"] = both["series"].where(both["series"] != ids[0] + "n", ids[0])
    path = tmp_path / "question.csv"
    both.to_csv(path, index=False)
    r = cli("analyze", str(path), "--sequential", "--question-col", "question", "--format", "json", *FAST)
    recs = records(r.stdout)
    series, time, p_prev, dp, flag, res = _steps_from_csv(df)
    mg101 = mg101_eprocess(series, time, p_prev, dp, resolution=flag, alpha=0.05)
    assert recs["MG101"]["evalue"] == pytest.approx(mg101.evalue, rel=1e-9)
    mg103 = mg103_eprocess(series, time, p_prev, dp, resolution=flag, alpha=0.05)
    assert recs["MG103"]["evalue"] == pytest.approx(mg103.evalue, rel=1e-9)
    ca = ca202_eprocess(res["time"].to_numpy() + 1.0, res["p"].to_numpy(), res["outcome"].to_numpy())
    assert recs["CA202"]["evalue"] == pytest.approx(ca.evalue, rel=1e-9)
    assert recs["CA202"]["sequential"]["max_evalue"] == pytest.approx(ca.max_evalue, rel=1e-9)


def test_cluster_declaration_changes_the_construction(data, tmp_path):
    df = pd.read_csv(data["honest"])
    codes = {s: i for i, s in enumerate(sorted(df["series"].unique()))}
    df["cluster"] = df["series"].map(lambda s: f"c{codes[s] % 5}")  # 5 clusters of 6 series
    path = tmp_path / "clustered.csv"
    df.to_csv(path, index=False)
    r = cli("analyze", str(path), "--sequential", "--cluster-col", "cluster", "--format", "json", *FAST)
    recs = records(r.stdout)
    assert {recs[c]["sequential"]["construction"] for c in ("MG101", "MG103", "CA202")} == {"per-cluster product"}
    series, time, p_prev, dp, flag, _ = _steps_from_csv(df)
    cl = np.array([f"c{i % 5}" for i in range(len(codes))])
    direct = mg101_eprocess(series, time, p_prev, dp, resolution=flag, cluster=cl, alpha=0.05)
    assert direct.construction == "per-cluster product"
    assert recs["MG101"]["evalue"] == pytest.approx(direct.evalue, rel=1e-9)


def test_monitor_prints_the_crossing_line(data, tmp_path):
    r = cli("monitor", str(data["honest"]), "--isolated", "--n-sim", "99", "--rows", "5")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "valid however often this is run" in out
    for code in ("MG101", "MG103", "CA202"):
        line = next(ln for ln in out.splitlines() if ln.startswith(code))
        assert "never crossed 60" in line and "final e = " in line
    j = cli("monitor", str(data["honest"]), "--isolated", "--n-sim", "99", "--format", "json")
    doc = json.loads(j.stdout)
    mg = next(c for c in doc["checks"] if c["code"] == "MG101")
    assert mg["crossed"] is False and mg["first_crossing"] is None
    assert mg["path"][-1]["log_e"] == pytest.approx(np.log(mg["evalue"]))
    # the biased panel with declared independent series: crossing reported with its time
    df = pd.read_csv(data["biased"])
    df["cluster"] = df["series"]
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    b = cli("monitor", str(path), "--isolated", "--n-sim", "99", "--cluster-col", "cluster")
    assert b.exit_code == 1
    assert any(ln.startswith(("MG101", "MG103")) and "first crossed 60 at" in ln for ln in b.stdout.splitlines())


def test_configuration_key_and_environment(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "forecheck.toml").write_text("sequential = true\n", encoding="utf-8")
    args = ["analyze", str(data["honest"]), "--format", "json", "--select", "MG101", "--n-sim", "99"]
    rec = records(cli(*args).stdout)["MG101"]
    assert rec["evalue"] is not None and rec["evalue_threshold"] == pytest.approx(20)  # one check: 1/α
    rec = records(cli(*args, "--no-sequential").stdout)["MG101"]
    assert rec["evalue"] is None
    (tmp_path / "forecheck.toml").unlink()
    monkeypatch.setenv("FORECHECK_SEQUENTIAL", "true")
    assert records(cli(*args).stdout)["MG101"]["sequential"] is not None
    shown = cli("config")
    assert "sequential" in shown.stdout


def test_truncated_history_gives_the_prefix_of_the_path(data, tmp_path):
    """Anytime property end to end: a job run at look L sees the forecasts made by L
    (and no outcome yet); its e-values are the full run's path at L."""
    full_args = ["--sequential", "--format", "json", *FAST]
    df = pd.read_csv(data["honest"])
    full = cli("analyze", str(data["honest"]), *full_args)
    from forecheck.api import analyze, load
    from forecheck.config import AnalysisConfig
    from forecheck.io.options import ReadOptions

    cfg = AnalysisConfig(sequential=True, select=("MG101", "MG103", "CA202"), n_sim=99)
    whole = analyze(load([str(data["honest"])], ReadOptions(), 3), config=cfg)
    for L in (20, 41):
        cut = df[df["time"] <= L].copy()
        cut["outcome"] = np.nan  # nothing resolves before step 60
        path = tmp_path / f"cut{L}.csv"
        cut.to_csv(path, index=False)
        recs = records(cli("analyze", str(path), *full_args).stdout)
        assert recs["CA202"]["status"] == "skip"  # no outcome yet
        part = analyze(load([str(path)], ReadOptions(), 3), config=cfg)
        for code in ("MG101", "MG103"):
            s_full, s_cut = whole.result(code).sequential, part.result(code).sequential
            k = int(np.searchsorted(s_full._times, L, side="right"))
            np.testing.assert_allclose(s_cut._log_e, s_full._log_e[:k], rtol=1e-12, atol=1e-12)
            assert recs[code]["evalue"] == pytest.approx(np.exp(s_full._log_e[k - 1]), rel=1e-9)
    assert json.loads(full.stdout)["summary"]["exit_code"] == 0


def test_ratio_grid_is_thinned_only_for_large_product_runs():
    from forecheck.checks.sequential import CS_BUDGET, ratio_grid_for
    from forecheck.stats.sequential import RATIO_GRID

    assert ratio_grid_for(10**7, product=False) is RATIO_GRID  # pooled: cost is per calendar slot
    assert len(ratio_grid_for(10_000, product=True)) == 81
    for n in (50_000, 200_000, 10**7):
        g = ratio_grid_for(n, product=True)
        assert 1.0 in g and g[0] == RATIO_GRID[0] and g[-1] == RATIO_GRID[-1]  # keeps c = 1 and the ends
        assert len(g) < 81 and (n * len(g) <= CS_BUDGET or len(g) == 3)

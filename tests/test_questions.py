"""Questions (mutually exclusive outcomes listed as several series): detection,
declaration, DQ011, and pooled tests that count questions, not contracts."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forecheck
from forecheck.checks import execute
from forecheck.cli.app import app
from forecheck.config import AnalysisConfig
from forecheck.io import ReadOptions
from forecheck.panel import Panel
from forecheck.simulate import simulate_panel
from forecheck.simulate.questions import candidates_panel, factor_panel, pairs_panel
from forecheck.stats import calibration as cal
from forecheck.stats import questions as Q
from forecheck.stats.dependence import unit_design_effect


def _constructed(tmp_path) -> str:
    """A long CSV: 3 YES/NO pairs (daily grid A), one 3-candidate race (grid B),
    one pair on its own grid (C), a standalone contract, and two unrelated series
    near 0 and near 1 that sum to ≈ 1 at every time but move independently."""
    rng = np.random.default_rng(7)
    rows = []
    days_a = pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d")
    for q in range(3):
        p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, 30)), 0.02, 0.98)
        o = int(rng.uniform() < p[-1])
        for d, x in zip(days_a, p):
            rows += [(f"state{q}:D", d, round(float(x), 4), o), (f"state{q}:R", d, round(1 - float(x), 4), 1 - o)]
    days_b = pd.date_range("2024-02-01", periods=25).strftime("%Y-%m-%d")
    w = rng.dirichlet([3, 3, 3], size=25)
    for d, v in zip(days_b, w):
        for k in range(3):
            rows.append((f"race:cand{k}", d, round(float(v[k]), 6), int(k == 1)))
    days_c = pd.date_range("2024-03-05", periods=12).strftime("%Y-%m-%d")
    p = np.clip(0.3 + np.cumsum(rng.normal(0, 0.05, 12)), 0.02, 0.98)
    for d, x in zip(days_c, p):
        rows += [("gov:yes", d, float(x), 0), ("gov:no", d, 1 - float(x), 1)]
    for d in days_a:
        rows.append(("solo", d, float(rng.uniform(0.3, 0.7)), 1))
    lo = np.clip(0.004 + np.abs(rng.normal(0, 0.002, 30)), 0.001, 0.01)
    hi = np.clip(0.996 - np.abs(rng.normal(0, 0.002, 30)), 0.99, 0.999)
    for d, a, b in zip(days_a, lo, hi):
        rows += [("safeR", d, float(a), 0), ("safeD", d, float(b), 1)]
    path = tmp_path / "questions.csv"
    pd.DataFrame(rows, columns=["series", "date", "p", "outcome"]).to_csv(path, index=False)
    return str(path)


def test_detection_on_constructed_file(tmp_path):
    path = _constructed(tmp_path)
    rep = forecheck.analyze(path, n_sim=99, select=("MG101", "DQ"))
    q = rep.input["questions"]
    # 3 pairs + 1 pair on its own grid = 4 questions of 2; the race = 1 question of 3
    assert q["source"] == "detected"
    assert q["n_questions"] == 5 and q["outcomes_per_question"] == {"2": 4, "3": 1}
    assert q["n_series_in_questions"] == 11 and q["n_mirrors_dropped"] == 4
    assert q["summary"].startswith("11 series form 5 questions (4 of 2 outcomes, 1 of 3 outcomes); 3 series stand alone")
    assert "--no-question-detection" in q["summary"]
    # the near-0 / near-1 pair sums to ≈ 1 but does not move together: not a question
    panel = rep.panel
    det = Q.detect(panel.offsets, panel.time, panel.p, panel.outcome)
    ids = list(panel.ids)
    assert det.label[ids.index("safeR")] == -1 and det.label[ids.index("safeD")] == -1
    assert det.label[ids.index("state0:D")] == det.label[ids.index("state0:R")] >= 0
    assert len({det.label[ids.index(f"race:cand{k}")] for k in range(3)}) == 1
    # no DQ011: every detected question sums to 1 and has one outcome
    dq = rep.result("DQ011")
    assert dq is not None and dq.status == "pass"
    # turned off: no questions
    off = forecheck.analyze(path, n_sim=99, select=("MG101",), question_detection=False)
    assert "questions" not in off.input


def test_cli_header_and_declared_questions(tmp_path):
    path = _constructed(tmp_path)
    df = pd.read_csv(path)
    df["market"] = df["series"].str.split(":").str[0]
    # a declared question whose outcomes sum to 2 and probabilities to ≈ 1.4 (DQ011)
    df.loc[df["series"] == "solo", "market"] = "state0"
    p2 = tmp_path / "declared.csv"
    df.to_csv(p2, index=False)
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", path, "--n-sim", "99", "--select", "MG101"], env={"COLUMNS": "200"})
    assert "11 series form 5 questions" in res.output
    res = runner.invoke(app, ["analyze", str(p2), "--question-col", "market", "--n-sim", "99", "-f", "json"])
    import json
    from importlib.resources import files

    import jsonschema
    out = json.loads(res.stdout)
    jsonschema.validate(out, json.loads(files("forecheck.report").joinpath("schema_v2.json").read_text()))
    assert out["input"]["questions"]["source"] == "declared"
    assert out["input"]["columns"]["question"] == "market"
    dq = next(r for r in out["results"] if r["code"] == "DQ011")
    assert dq["status"] == "fail" and "state0" in dq["message"]
    assert out["input"]["questions"]["n_questions"] == 5  # state0..2, race, gov (safeR/safeD/solo-free)


def test_missing_question_labels_stand_alone(tmp_path):
    """Series whose question label is missing are not one question called "nan": each
    stands alone, as a series with a label of its own does (io/validate._question_labels).
    Expected counts from the constructed file: state0..2, race and gov are 5 questions;
    solo, safeR and safeD have no label (before, they were a sixth question, "")."""
    import json

    df = pd.read_csv(_constructed(tmp_path))
    df["market"] = df["series"].str.split(":").str[0]
    df.loc[df["series"].isin(["solo", "safeR", "safeD"]), "market"] = np.nan
    f = tmp_path / "missing.csv"
    df.to_csv(f, index=False)
    res = CliRunner().invoke(app, ["analyze", str(f), "--question-col", "market", "--n-sim", "99", "-f", "json"])
    assert res.exit_code in (0, 1), res.stderr
    q = json.loads(res.stdout)["input"]["questions"]
    assert q["n_questions"] == 5
    assert "nan" not in res.stdout and "no question" not in res.stdout


@pytest.mark.parametrize("bad, text", [
    ("series in two questions", ("column 'market' (--question-col): 1 series has rows with more than one value, "
                                 "e.g. series 'state1:D': 'state1', 'stateX'. A series belongs to one question")),
    ("series in two clusters", ("column 'election' (--cluster-col): 1 series has rows with more than one value, "
                                "e.g. series 'state0:R': 'e1', 'e2'. A series belongs to one cluster")),
    ("question in two clusters", ("column 'election' (--cluster-col): 1 question has series in more than one "
                                  "cluster, e.g. question 'state2' (column 'market'): 'e1', 'e2'")),
])
def test_labels_that_do_not_nest_stop_the_run(tmp_path, bad, text):
    """A series keeps one question and one cluster label, and a question one cluster
    (the panel stores one label per series). Rows that disagree used to be settled
    silently by the series' first row; they stop the run with exit 2, naming the
    column, an example and the fix (the Dask engine gives the same message)."""
    df = pd.read_csv(_constructed(tmp_path))
    df["market"] = df["series"].str.split(":").str[0]
    df["election"] = "e1"
    late = df["date"] >= "2024-01-15"
    if bad == "series in two questions":
        df.loc[(df["series"] == "state1:D") & late, "market"] = "stateX"
    elif bad == "series in two clusters":
        df.loc[(df["series"] == "state0:R") & late, "election"] = "e2"
    else:
        df.loc[df["series"] == "state2:R", "election"] = "e2"
    f = tmp_path / "labels.csv"
    df.to_csv(f, index=False)
    args = ["analyze", str(f), "--question-col", "market", "--cluster-col", "election", "-f", "json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and text in res.stderr and "Traceback" not in res.stderr, res.stderr
    ok = tmp_path / "ok.csv"  # the same file with nesting labels runs
    df.assign(market=df["series"].str.split(":").str[0], election="e1").to_csv(ok, index=False)
    assert CliRunner().invoke(app, [args[0], str(ok), *args[2:]]).exit_code in (0, 1)


def _mirror_of(pan: Panel) -> Panel:
    df = pan.to_frame()
    m = df.assign(series=df["series"] + "~no", p=1 - df["p"], outcome=1 - df["outcome"])
    return Panel.from_frame(pd.concat([df, m]))


@pytest.mark.parametrize("code", ["MG101", "MG103", "MG104", "MG105", "CA202", "CA204"])
def test_mirror_contracts_count_once(code):
    """Listing every question also as its NO side changes no pooled statistic or
    p-value: the NO contract is p ↦ 1 − p, o ↦ 1 − o of the YES one."""
    pan = simulate_panel("gaussian", 40, 60, seed=3)
    cfg = AnalysisConfig(n_sim=99, p_adjust="none", select=(code,))
    a, _ = execute(pan, cfg)
    b, ctx = execute(_mirror_of(pan), cfg)
    ra, rb = a[0], b[0]
    assert ctx.questions().n_questions == 40
    assert rb.statistic == pytest.approx(ra.statistic, rel=0.05 if code == "CA204" else 1e-9, abs=1e-12)
    # CA204's bootstrap hands out weights in data-key order over the panel's series
    # (invariance to renaming, stats/streams.py), so its p-value agrees to Monte Carlo error
    assert rb.pvalue == pytest.approx(ra.pvalue, rel=1e-9, abs=0.1 if code == "CA204" else 0)  # 99 draws: MC sd ≈ 0.05
    assert rb.estimate == pytest.approx(ra.estimate, rel=0.05 if code == "CA204" else 1e-9)  # CA204: max-t, bootstrap SE


def test_unit_design_effect_mirror_and_factor():
    pan = simulate_panel("gaussian", 30, 80, seed=5)
    d = (1 - 2 * pan.dp_prev_p) * pan.dp
    t = pan.time[pan.increment_rows]
    # independent series: no shrinkage
    ind = unit_design_effect(d, pan.dp_series, t, None)
    assert ind.n_units == 30 and ind.n_eff == pytest.approx(30.0)
    # each contribution listed twice (a mirror pair has identical excess terms), unit = question
    s2 = np.concatenate([2 * pan.dp_series, 2 * pan.dp_series + 1])
    units = np.repeat(np.arange(30), 2)
    dep = unit_design_effect(np.concatenate([d, d]), s2, np.concatenate([t, t]), units)
    # Σ_{u,t} (2d)² / Σ 2d² = 2 exactly; 30 questions
    assert dep.deff_within == pytest.approx(2.0)
    assert dep.n_units == 30 and dep.n_eff == pytest.approx(30.0)
    # without units the same-time sums still see the pair: Σ_t (Σ 2d)² / Σ 2d² is exactly
    # twice the independent panel's time-clustered ratio
    flat = unit_design_effect(np.concatenate([d, d]), s2, np.concatenate([t, t]), None)
    assert flat.deff_across == pytest.approx(2 * ind.deff_across, rel=1e-9)
    # a strong common factor is seen: N_eff far below S
    fp = factor_panel(40, 80, 11, 0.3)
    dep_f = unit_design_effect(fp.dp, fp.dp_series, fp.time[fp.increment_rows], None)
    assert dep_f.n_eff < 10


def test_spiegelhalter_grouped_variance_by_enumeration():
    """Var(Σ a_s o_s) of one question with o ~ Categorical(p): enumerate the 3 outcomes."""
    p = np.array([0.2, 0.3, 0.5, 0.7])
    unit = np.array([0, 0, 0, 1])  # a race of three and a standalone binary contract
    a = 1 - 2 * p
    vals, probs = [], []
    for k, o4 in itertools.product(range(3), (0, 1)):
        o = np.array([k == 0, k == 1, k == 2, o4], float)
        vals.append(np.sum(a * (o - p)))
        probs.append(p[k] * (p[3] if o4 else 1 - p[3]))
    vals, probs = np.array(vals), np.array(probs)
    assert np.sum(probs) == pytest.approx(1.0)
    assert np.sum(probs * vals) == pytest.approx(0.0, abs=1e-12)  # calibrated: mean 0
    var = np.sum(probs * vals**2)
    o = np.array([0, 1, 0, 1.0])
    z, _ = cal.spiegelhalter_grouped(p, o, unit)
    assert z == pytest.approx(np.sum(a * (o - p)) / np.sqrt(var), rel=1e-12)
    # the simulated p-value draws the same law: with many draws it matches the exact one
    exact = np.sum(probs[np.abs(vals) >= abs(np.sum(a * (o - p))) - 1e-12])
    mc = cal.spiegelhalter_grouped_mc_pvalue(p, o, unit, 20000, np.random.default_rng(0))
    assert mc == pytest.approx(exact, abs=0.015)


def test_candidates_and_pairs_generators_are_detected():
    c = candidates_panel(10, 3, 30, seed=2)
    q = Q.detect(c.offsets, c.time, c.p, c.outcome)
    assert q.n_questions == 10 and q.size_counts() == {3: 10}
    assert np.all(q.outcome_sum == 1)
    p = pairs_panel(12, 30, seed=2)
    q = Q.detect(p.offsets, p.time, p.p, p.outcome)
    assert q.n_questions == 12 and q.redundant().sum() == 12
    dq = Q.from_declared(pairs_panel(12, 30, seed=2, declare=True).question, p.offsets, p.time, p.p, p.outcome)
    assert np.array_equal(dq.label >= 0, q.label >= 0) and dq.source == "declared"
    # independent binary series are never grouped
    g = simulate_panel("gaussian", 50, 40, seed=9)
    assert Q.detect(g.offsets, g.time, g.p, g.outcome).n_questions == 0


def test_common_factor_gates_pooled_tests():
    """ρ = 0.3 across 40 series: about 3 independent ones; pooled tests are inconclusive."""
    pan = factor_panel(40, 60, 4, 0.3)
    res, _ = execute(pan, replace(AnalysisConfig(n_sim=99, p_adjust="none"), select=("MG101", "MG103", "MG106")))
    by = {r.code: r for r in res}
    assert by["MG106"].estimate < 10
    assert by["MG101"].status == "inconclusive" and by["MG101"].pvalue is None
    assert by["MG103"].status == "inconclusive"


def test_spiegelhalter_grouped_non_exclusive_question_uses_the_bound():
    """Two sides of one market that sum to 1.7 are no categorical draw: the variance
    is the bound (Σ|a|σ)², here (2·0.7·√(0.85·0.15))² by hand."""
    p = np.array([0.85, 0.85])
    o = np.array([1.0, 0.0])
    z, _ = cal.spiegelhalter_grouped(p, o, np.array([0, 0]))
    num = np.sum((1 - 2 * p) * (o - p))
    assert z == pytest.approx(num / (2 * 0.7 * np.sqrt(0.85 * 0.15)), rel=1e-12)


def test_dq011_on_detected_questions_names_chance_as_well(tmp_path):
    # two series that mirror each other exactly but resolve YES both: as a detected
    # question DQ011 names the data error and the chance match (independent lattice
    # posteriors mirror each other exactly); declared, the data error alone
    t = np.arange(12)
    p = 0.5 + 0.3 * np.sin(t / 2)
    rng = np.random.default_rng(0)
    rows = [("a", t, p, 1.0), ("b", t, 1 - p, 1.0)]
    rows += [(f"z{k}", t, np.clip(0.5 + np.cumsum(rng.normal(0, 0.05, 12)), 0.05, 0.95), 0.0) for k in range(3)]
    df = pd.concat([pd.DataFrame({"series": s, "time": tt, "p": pp, "outcome": o,
                                  "q": s if s.startswith("z") else "ab"}) for s, tt, pp, o in rows])
    path = tmp_path / "mirror.csv"
    df.to_csv(path, index=False)
    det = forecheck.analyze(str(path), n_sim=99, select=("DQ",)).result("DQ011")
    assert det.status == "fail" and "outcomes summing to other than 1" in det.message
    assert "matched by chance" in det.message and "--no-question-detection" in det.message
    dec = forecheck.analyze(str(path), n_sim=99, select=("DQ",), read_options=ReadOptions(question_col="q"))
    d11 = dec.result("DQ011")
    assert d11.status == "fail" and "matched by chance" not in d11.message

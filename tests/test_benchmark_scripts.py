"""The benchmark scripts whose numbers the docs quote still run on the current API
(both had silently broken once when the result contract changed): a tiny panel
through each, asserting the rows they print are real measurements."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from forecheck.simulate import simulate

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _module(name: str, where: Path = _BENCH):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", where / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("detection, clusters", [(True, False), (False, False), (True, True)])
def test_speed_stages_cover_every_check(tmp_path, detection, clusters):
    from forecheck.checks import all_specs

    path = tmp_path / "panel.csv"
    df = simulate("gaussian", n_series=40, n_steps=20, seed=3)
    if clusters:  # (--cluster-col: the ids' prefixes, 5 clusters of 8 series, as in sp_10m_cl.csv)
        df["cl"] = df["series"].astype(str).str[:-1]
        assert df["cl"].nunique() < df["series"].nunique()
    df.to_csv(path, index=False)
    rows = _module("speed").run(str(path), question_detection=detection,  # (--no-question-detection)
                                cluster_col="cl" if clusters else None)
    labels = [r[0] for r in rows]
    assert labels[0].startswith("read + validate (800 rows)")
    assert [lab.split()[0] for lab in labels[1:-1]] == [s.code for s in all_specs()]
    assert labels[-1].startswith("render JSON")
    assert all(r[1] >= 0 and r[2] >= 0 and r[4] > 0 for r in rows)


def test_asymptotic_size_reads_the_reference_decision():
    bench = _module("asymptotic_size")
    for code in ("MG101", "MG103", "MG104", "CA202", "CA204"):
        res, pan = bench._run(code, "gaussian", 200, 10, {}, seed=5)
        ne = bench._neff(code, res)
        # N_v/deff is a positive effective count no larger than the number of series
        assert 0 < ne <= 200, (code, ne)
        assert res.pvalue is None or 0 <= res.pvalue <= 1
        assert np.isfinite(res.statistic)
        # the panel is handed back, so the simulated null can run on the same data
        again, _ = bench._run(code, "gaussian", 200, 10, {}, seed=0, pan=pan)
        assert again.statistic == res.statistic
    # on 200 series both CA checks keep their simulated null: the simulated p is the record's
    # (CA204) or its Monte-Carlo cross-check (CA202)
    r202, _ = bench._run("CA202", "gaussian", 200, 10, {}, seed=5)
    assert bench._simulated_p("CA202", r202) == r202.details.pvalue_mc is not None


def test_asymptotic_size_boundary_rows(capsys):
    bench = _module("asymptotic_size")
    assert bench.main(["--boundary", "--reps", "3", "--n-sim", "19"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("| 1", "| 2"))]
    assert [r.split("|")[1].strip() for r in rows] == ["200", "1,000", "10,000"]


def test_example_scripts_render_a_simulated_panel():
    """scripts/examples.py and scripts/wiener_examples.py (the sources of docs/examples.md)
    read typed details; both had broken when details became dataclasses."""
    from forecheck.config import AnalysisConfig
    from forecheck.simulate import simulate_panel

    pan = simulate_panel("gaussian", 30, 40, seed=4)
    text = _module("examples", _SCRIPTS).summarize("sim", pan, AnalysisConfig(n_sim=49, select=("MG", "CA")))
    assert "| MG101 |" in text and "MG101 split: in flight" in text and "By starting probability" in text
    wx = _module("wiener_examples", _SCRIPTS)
    rep, _ = wx.analyse(pan)
    md = wx.markdown("sim", rep, 0.0)
    assert "| assumption | holds? | measured here |" in md and f"p = {rep.result('MG101').pvalue:.3f}" in md


def test_question_detection_counts_true_and_chance_pairs():
    # the script's panel and its counting on a small panel: 30 true pairs among 300
    # independent 10-step series; every detected set is counted once, as a true pair only
    # when its two members are each other's listed complement
    from forecheck.stats import questions

    mod = _module("question_detection")
    offsets, t, p, o, partner = mod.simulated_panel("gaussian", 10, 30, 300)
    assert len(offsets) == 361 and np.array_equal(partner[:30], np.arange(30, 60)) and np.all(partner[60:] == -1)
    P = p.reshape(360, 10)
    np.testing.assert_array_equal(P[:30] + P[30:60], 1.0)  # exact complements
    q = questions.detect(offsets, t, p, o)
    true, chance, larger = mod.count_sets(q, lambda a, b: partner[a] == b)
    pairs = [np.flatnonzero(q.label == j) for j in range(q.n_questions)]
    assert true + chance + larger == q.n_questions
    assert true == sum(len(m) == 2 and partner[m[0]] == m[1] for m in pairs) > 0

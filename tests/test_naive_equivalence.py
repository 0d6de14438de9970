"""benchmarks/naive.py (pandas groupby + statsmodels/scipy/arch per series) gives
forecheck's numbers on a small panel, so the speed comparison in
benchmarks/README.md compares like with like."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import forecheck
from forecheck.panel import Panel
from forecheck.simulate import simulate
from forecheck.stats import clustering, jumps

pytest.importorskip("arch")
pytest.importorskip("statsmodels")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "naive.py"


@pytest.fixture(scope="module")
def both():
    spec = importlib.util.spec_from_file_location("naive_bench", _PATH)
    naive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(naive)
    df = simulate("gaussian", n_series=50, n_steps=30, seed=2)
    report = forecheck.analyze(df, n_sim=99, select=("MG101", "MG102", "MG104", "CA201", "CA202"))
    return naive.naive_stats(df), report, Panel.from_frame(df)


def test_per_series_budget_and_z(both):
    nv, report, panel = both
    ser = nv["series"]
    tab = report.series.set_index("id").loc[ser.index]
    for col in ("movement", "uncertainty_reduction", "excess"):
        np.testing.assert_allclose(ser[col].to_numpy(float), tab[col].to_numpy(float), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ser["z"].to_numpy(float), tab["mg102_z"].to_numpy(float), rtol=1e-10)


def test_pooled_statistics(both):
    nv, report, _ = both
    r101 = report.result("MG101")
    assert r101.details.inference.design_effect == 1.0  # independent series: t = ΣX/√ΣV
    assert r101.estimate == pytest.approx(nv["mg101_ratio"], rel=1e-12)
    assert r101.statistic == pytest.approx(nv["mg101_t"], rel=1e-10)
    r104 = report.result("MG104")
    assert r104.details.beta == pytest.approx(nv["mg104_beta"], rel=1e-9)
    # forecheck's CR1 = statsmodels' cluster covariance with use_correction=True
    assert r104.details.se_cr1_unwidened == pytest.approx(nv["mg104_se"], rel=1e-9)
    assert report.result("CA201").statistic == pytest.approx(nv["ca201_brier"], rel=1e-12)
    assert report.result("CA202").statistic == pytest.approx(nv["ca202_z"], rel=1e-10)


def test_per_series_jump_and_arch_statistics(both):
    nv, _, panel = both
    ser = nv["series"].loc[panel.ids.astype(str)]
    bns = jumps.bns(panel.dp, panel.dp_series, panel.n_series).z
    np.testing.assert_allclose(bns, ser["bns_z"].to_numpy(float), rtol=1e-10, equal_nan=True)
    lm = clustering.arch_lm_segments(panel.dp, panel.dp_series, panel.n_series, 2)["lm"]
    np.testing.assert_allclose(lm, ser["arch_lm"].to_numpy(float), rtol=1e-8, equal_nan=True)

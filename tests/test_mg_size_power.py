"""Fast size/power guards for MG101, MG103, MG105 on forecheck.simulate panels
(fixed seeds, few replications, loose bounds). The full table with 400
replications per cell is docs/validation.md (benchmarks/size_power.py)."""

from __future__ import annotations

import pytest

from forecheck.checks import run_checks
from forecheck.checks.martingale import CHECKS
from forecheck.config import AnalysisConfig

simulate = pytest.importorskip("forecheck.simulate")

SPECS = [s for s in CHECKS if s.code in ("MG101", "MG103", "MG105")]


def _rates(model: str, reps: int, **params) -> dict[str, float]:
    rej = {s.code: 0 for s in SPECS}
    for r in range(reps):
        pan = simulate.simulate_panel(model, 50, 100, seed=777 + r, **params)
        for res in run_checks(pan, AnalysisConfig(n_sim=99, seed=r, p_adjust="none"), SPECS):
            rej[res.code] += res.pvalue is not None and res.pvalue < 0.05
    return {k: v / reps for k, v in rej.items()}


def test_size_gaussian_bayesian():
    # 16 reps: P(≥ 4 rejections | rate 0.05) ≈ 0.007 — a regression to ~25% would show
    rates = _rates("gaussian", 16)
    assert all(v <= 3 / 16 for v in rates.values()), rates


def test_power_against_smoothing_and_overreaction():
    smooth = _rates("smooth", 6)
    assert smooth["MG103"] == 1.0 and smooth["MG105"] == 1.0, smooth  # measured 1.00 at 400 reps
    over = _rates("ar", 10, beta=1.5)
    assert over["MG101"] >= 0.5, over  # measured ≈ 0.8 at 400 reps


def test_mg104_does_not_cry_wolf_on_extreme_walks():
    # ±1% walks from 1–5%, 30 series: the symmetric wild bootstrap rejected 43% (400
    # reps); the parametric martingale bootstrap 0.000 (200 reps, docs/validation.md)
    spec = [s for s in CHECKS if s.code == "MG104"]
    rej = 0
    for r in range(10):
        pan = simulate.simulate_panel("walk", 30, 100, seed=900 + r, p0=(0.01, 0.05))
        res = run_checks(pan, AnalysisConfig(n_sim=99, seed=r, p_adjust="none"), spec)[0]
        rej += res.pvalue is not None and res.pvalue < 0.05
    assert rej <= 2, rej  # P(≥ 3 of 10 | 0.05) ≈ 0.01; at 0.43, P(≤ 2) ≈ 0.14

"""The fast paths of MG102–MG105 and of the JSON writer give the slow paths' numbers.

Each fast path (issue #11, "Fast at scale") must leave the output unchanged to the
last bit: the MG102 screen skips only series whose p-value is exactly 1, MG105
widens the scores it already has, MG103/MG105's dependence shares one set of cells,
and the JSON writer formats the series table column by column. Each is compared
here with the computation it replaces, and the screen's bound with the mixture it
bounds.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import forecheck
from forecheck.checks.martingale import _cluster_codes
from forecheck.report.json_format import render_json
from forecheck.stats import evalue
from forecheck.stats.clustered import _codes
from forecheck.stats.dependence import unit_design_effect, unit_design_effects
from forecheck.stats.variance_ratio import (
    lag_weighted_sum,
    variance_ratio_scores,
    widen,
)
from tests.conftest import SAMPLE_DATA

SAMPLE = str(SAMPLE_DATA / "pres2020_states.csv")


def _walks(rng: np.random.Generator, S: int, T: int, start: float, sd: float, rounded: bool):
    p = np.clip(start + np.cumsum(rng.normal(0, sd, (S, T)), axis=1), 0, 1)
    if rounded:
        p = np.round(p, 2)
    prev = p[:, :-1].ravel()
    d = (1 - 2 * prev) * np.diff(p, axis=1).ravel()
    return d, evalue.lower_bound(prev), np.repeat(np.arange(S), T - 1)


def _mixture_reference(d, c, s, S):
    """p = min(1, 1/mean_λ M_λ) per series, written out with math.log1p (module
    docstring of stats/evalue.py: ψ(x) = −log(1 − x) − x, x = λc/C, ξ = d/c)."""
    out = []
    for i in range(S):
        sel = s == i
        ms = []
        for lam in evalue.LAMBDAS:
            tot = 0.0
            for dt, ct in zip(d[sel], c[sel]):
                x = lam * ct / evalue.C_MAX
                pen = (-math.log1p(-x) - x) * (dt / ct) ** 2 if x > 1e-4 else \
                    (0.5 + x / 3 + x * x / 4) * (lam / evalue.C_MAX) ** 2 * dt * dt
                tot += lam * dt / evalue.C_MAX - pen
            ms.append(tot)
        m = max(ms)
        out.append(min(1.0, math.exp(-(m + math.log(np.mean(np.exp(np.array(ms) - m)))))))
    return np.array(out)


@pytest.mark.parametrize("start,sd,rounded", [(0.5, 0.05, False), (0.03, 0.01, False), (0.5, 0.2, True),
                                             (0.9, 0.1, True)])
def test_mg102_screen_gives_the_full_mixture_bit_for_bit(start, sd, rounded):
    rng = np.random.default_rng(7)
    S, T = 60, 25
    d, c, s = _walks(rng, S, T, start, sd, rounded)
    pv, x, v = evalue.excess_screen(d, c, s, S + 1)  # one series without steps: p = 1
    full = np.minimum(1.0, np.exp(-evalue._log_evalue(d, c, s, S + 1, evalue.LAMBDAS)))
    assert pv.tobytes() == full.tobytes()
    assert pv[-1] == 1.0
    assert np.array_equal(x, np.bincount(s, weights=d, minlength=S + 1))
    assert np.array_equal(v, np.bincount(s, weights=d**2, minlength=S + 1))
    ref = _mixture_reference(d, c, s, S)
    np.testing.assert_allclose(pv[:S], ref, rtol=1e-9)


def test_mg102_screen_skips_most_null_series_and_keeps_every_small_p(monkeypatch):
    rng = np.random.default_rng(3)
    S, T = 2000, 40
    p = rng.uniform(0.2, 0.8, (S, 1)) + np.cumsum(rng.choice([-0.01, 0.01], (S, T)), axis=1)  # ±1% walks
    prev = p[:, :-1].ravel()
    d = (1 - 2 * prev) * np.diff(p, axis=1).ravel()
    c = evalue.lower_bound(prev)
    s = np.repeat(np.arange(S), T - 1)
    osc = np.tile([0.5, 0.7], 50)  # a violently oscillating series: p < 0.01 (test_martingale.py)
    d = np.concatenate([d, (1 - 2 * osc[:-1]) * np.diff(osc)])
    c = np.concatenate([c, evalue.lower_bound(osc[:-1])])
    s = np.concatenate([s, np.full(len(osc) - 1, S)])
    exact = []
    real = evalue._log_evalue
    monkeypatch.setattr(evalue, "_log_evalue", lambda d_, c_, s_, n, lam: exact.append(n) or real(d_, c_, s_, n, lam))
    pv = evalue.excess_pvalues(d, c, s, S + 1)
    full = np.minimum(1.0, np.exp(-real(d, c, s, S + 1, evalue.LAMBDAS)))
    assert pv.tobytes() == full.tobytes()
    assert pv[S] < 0.01
    n_small = int(np.sum(pv < 1))
    assert np.mean(pv == 1.0) > 0.3
    assert n_small <= exact[0] <= 1.5 * n_small  # the exact mixture for few more than those with p < 1


def test_screen_bound_dominates_each_log_mixture_term():
    # ψ(x) = Σ_{k≥2} x^k/k ≥ x²/2 + x³/3 + x⁴/4 on [0, 1): the per-step penalty of
    # log M_λ is at least the truncated series, so the screen's bound is an upper bound
    rng = np.random.default_rng(1)
    c = rng.uniform(0, evalue.C_MAX, 20000)
    d = -c + rng.exponential(0.1, c.size)  # d_t ≥ −c_t
    ell = evalue.LAMBDAS[:, None] / evalue.C_MAX
    x = ell * evalue.C_MAX * c[None, :] / evalue.C_MAX
    exact = ell * d - evalue._psi_over_sq(x) * ell**2 * d**2
    bound = ell * d - ell**2 * d**2 / 2 - ell**3 * c * d**2 / 3 - ell**4 * c**2 * d**2 / 4
    assert np.all(bound >= exact - 1e-12 * (1 + np.abs(exact)))


def test_lag_weighted_sum_and_widen_match_a_direct_computation():
    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 40, 50)
    dx = rng.normal(size=lengths.sum()) * np.repeat(rng.uniform(0.5, 2, 50), lengths)
    series = np.repeat(np.arange(50), lengths)
    pos = np.concatenate([np.arange(n) for n in lengths])
    n_inc = lengths
    qs = (2, 5, 10)
    for q in qs:  # h_t = Σ_{k=1}^{q−1} 2(1 − k/q) Δx_{t−k}, where the q − 1 lags exist
        h, usable = lag_weighted_sum(dx, pos, q)
        ref = np.array([sum(2 * (1 - k / q) * dx[t - k] for k in range(1, q)) if pos[t] >= q - 1 else 0.0
                        for t in range(len(dx))])
        np.testing.assert_allclose(h, ref, rtol=1e-12, atol=1e-14)
        assert np.array_equal(usable, pos >= q - 1)
    vr1 = variance_ratio_scores(dx, pos, series, n_inc, qs)
    vr3 = widen(vr1, 3.0)
    sc = vr1.scores
    for j, q in enumerate(qs):
        used = (pos >= q - 1) & (n_inc >= 2 * q)[series]
        assert vr1.vr[j] == pytest.approx(1 + sc[:, j].sum() / np.sum(dx[used] ** 2), rel=1e-12)
        assert vr3.z[j] == pytest.approx(sc[:, j].sum() / np.sqrt(3.0 * np.sum(sc[:, j] ** 2)), rel=1e-12)
    om = 3.0 * sc.T @ sc
    assert vr3.wald == pytest.approx(sc.sum(0) @ np.linalg.solve(om, sc.sum(0)), rel=1e-9)
    assert np.array_equal(vr3.vr, vr1.vr) and np.array_equal(vr3.scores, vr1.scores)


def test_unit_design_effects_equal_one_call_per_vector():
    rng = np.random.default_rng(9)
    S, T = 30, 20
    series = np.repeat(np.arange(S), T)
    time = np.tile(np.arange(T, dtype=float), S)
    extra = rng.choice(S, 12, replace=False)  # rows appended out of key order (as MG103's)
    series = np.concatenate([series, extra])
    time = np.concatenate([time, np.full(12, float(T))])
    units = np.repeat(np.arange(S // 2), 2)  # two contracts per question
    clusters = np.array([f"c{i % 4}" for i in range(S)], dtype=object)
    values = [rng.normal(size=len(series)) + k * rng.normal(size=T + 1)[np.r_[np.tile(np.arange(T), S),
                                                                          np.full(12, T)]]
              for k in range(3)]
    for unit, cl in ((None, None), (units, None), (units, clusters)):
        many = unit_design_effects(values, series, time, unit, cl)
        one = [unit_design_effect(v, series, time, unit, cl) for v in values]
        assert many == one
        assert all(dataclasses.astuple(a) == dataclasses.astuple(b) for a, b in zip(many, one))


def test_cluster_codes_equal_row_factorisation():
    rng = np.random.default_rng(2)
    series = np.sort(rng.choice(40, 500))  # some of the 40 series have no rows
    for labels in (rng.integers(0, 7, 40), np.array([f"q{i % 9}" for i in range(40)]).astype(str), np.arange(40)):
        g, G = _cluster_codes(labels, series, 40)
        g0, G0 = _codes(labels[series])
        assert np.array_equal(g, g0) and G == G0


# ---------------------------------------------------------------- JSON writer
@pytest.fixture(scope="module")
def report():
    return forecheck.analyze(SAMPLE)


def _generic(rep) -> str:
    return json.dumps(rep.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)


def test_json_writer_equals_the_generic_encoder_on_the_sample(report):
    assert render_json(report) == _generic(report)


def test_json_writer_equals_the_generic_encoder_on_awkward_columns(report):
    n = 7
    df = pd.DataFrame({
        "id": ['plain', 'quote"d', "back\\slash", "new\nline", "nul\x00ctl\x1f", "é ü 漢", "emoji 🎲"],
        "n": np.array([0, 1, -5, 2**40, 7, 3, 2**62], dtype=np.int64),
        "f": np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 1e-300, 1e16]),
        "f32": np.array([0.1, 1.5, np.nan, 3.25, 1e-8, 2.0, -7.0], dtype=np.float32),
        "b": np.array([True, False, True, True, False, False, True]),
        "obj": np.array([None, "x", 1.5, np.nan, np.int64(3), np.float64(2.5), True], dtype=object),
        "u8": np.arange(n, dtype=np.uint8),
        "s": pd.array(["a", None, "c", "d", "e", "f", "g"], dtype="string"),
    })
    for frame in (df, df.iloc[:1], df.iloc[:0], df[["id"]], df[["obj", "id"]]):
        rep = dataclasses.replace(report, series=frame.reset_index(drop=True))
        assert render_json(rep) == _generic(rep)
    # a non-scalar cell: the writer falls back to the generic path
    odd = dataclasses.replace(report, series=pd.DataFrame({"id": ["a", "b"], "l": [[1, 2], [3]]}))
    assert render_json(odd) == _generic(odd)


def test_martingale_speed_script_runs(tmp_path, monkeypatch, capsys):
    import importlib.util
    import sys
    from pathlib import Path

    from forecheck.simulate import simulate

    path = tmp_path / "panel.csv"
    simulate("gaussian", n_series=40, n_steps=20, seed=3).to_csv(path, index=False)
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "martingale_speed.py"
    spec = importlib.util.spec_from_file_location("bench_martingale_speed", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(sys, "argv", ["martingale_speed.py", str(path)])
    mod.main()
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines[1:7]] == ["MG101", "MG102", "MG103", "MG104", "MG105", "JSON"]
    assert all(float(ln.split()[1]) >= 0 for ln in lines[1:7]) and lines[-1].startswith("peak RSS")

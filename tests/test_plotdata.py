"""Plot data (forecheck/stats/plotdata.py) against independent re-derivations.

Each expected value is recomputed here with plain numpy/pandas loops over series
(fine in a test) from the definitions: movement m = Σ(Δp)² plus the resolution
step (o − p_last)², uncertainty reduction r = u(p0) − u(p_T) with u(p) = p(1 − p)
and u(o) = 0 (Augenblick & Rabin 2021, p. 9); excess terms (1 − 2p_{t−1})Δp_t
(A-R 2021, p. 10 fn 21); PAV by a hand-written pool-adjacent-violators loop; the
belief walk's E[T] = k(N − k) (Feller Vol. I ch. XIV §3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import forecheck
from forecheck.panel import Panel
from forecheck.stats import plotdata as pdata
from forecheck.stats.budget import series_budget


def martingale_panel(n_series: int = 40, n_steps: int = 60, seed: int = 7, shared_times: bool = True,
                     unresolved: int = 5) -> Panel:
    """Bayesian forecaster on a Gaussian signal: p_t = Φ(S_t/√(T − t)), outcome 1{S_T > 0}."""
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((n_series, n_steps + 1))
    s = np.cumsum(steps, axis=1)
    tau = np.arange(n_steps + 1, 0, -1)[None, :]  # remaining steps incl. the last one
    p = stats.norm.cdf(s[:, :-1] / np.sqrt(tau[:, 1:] + 0.0))
    outcome = (s[:, -1] > 0).astype(float)
    outcome[:unresolved] = np.nan
    t = np.tile(np.arange(n_steps, dtype=float), n_series)
    if not shared_times:
        t = t + np.repeat(np.arange(n_series) * 1000.0, n_steps)
    ids = np.repeat([f"s{i:03d}" for i in range(n_series)], n_steps)
    return Panel.from_arrays(ids, t, p.ravel(), outcome=np.repeat(outcome, n_steps))


def per_series_reference(panel: Panel) -> pd.DataFrame:
    """Movement and reduction per series with a plain loop (independent of budget.py)."""
    rows = []
    for i in range(panel.n_series):
        p = panel.p[panel.offsets[i]:panel.offsets[i + 1]]
        o = panel.outcome[i]
        m = float(np.sum(np.diff(p) ** 2))
        u0 = p[0] * (1 - p[0])
        if np.isnan(o):
            r = u0 - p[-1] * (1 - p[-1])
        else:
            m += (o - p[-1]) ** 2
            r = u0
        rows.append({"m": m, "r": r, "p0": p[0]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return martingale_panel()


def test_cumulative_ends_at_each_series_budget(panel):
    cb = pdata.cumulative_budget(panel)
    ref = per_series_reference(panel)
    m_end, r_end = cb.final()
    np.testing.assert_allclose(m_end, ref["m"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r_end, ref["r"], rtol=1e-12, atol=1e-15)
    b = series_budget(panel)
    np.testing.assert_allclose(m_end, b.movement, rtol=1e-12)
    np.testing.assert_allclose(r_end - m_end, -b.excess, rtol=1e-10, atol=1e-14)
    # one point per forecast plus a resolution point (τ = 0) per resolved series
    assert len(cb.tau) == panel.n_obs + int(panel.resolved.sum())
    assert np.all(np.diff(cb.offsets) == panel.lengths + panel.resolved)
    last = cb.offsets[1:] - 1
    np.testing.assert_array_equal(cb.tau[last] == 0, panel.resolved)
    # cumulative movement never decreases within a series
    inner = np.ones(len(cb.tau), bool)
    inner[cb.offsets[:-1]] = False
    assert np.all(np.diff(cb.movement)[inner[1:]] >= -1e-15)


def test_cumulative_intermediate_points_match_a_loop(panel):
    cb = pdata.cumulative_budget(panel)
    i = 3
    p = panel.p[panel.offsets[i]:panel.offsets[i + 1]]
    seg = slice(cb.offsets[i], cb.offsets[i] + len(p))
    np.testing.assert_allclose(cb.movement[seg], np.concatenate([[0.0], np.cumsum(np.diff(p) ** 2)]))
    np.testing.assert_allclose(cb.reduction[seg], p[0] * (1 - p[0]) - p * (1 - p))


def test_pooled_curve_sums_every_step(panel):
    cb = pdata.cumulative_budget(panel)
    ref = per_series_reference(panel)
    assert cb.pooled_movement[0] == 0 and cb.pooled_reduction[0] == 0
    np.testing.assert_allclose(cb.pooled_movement[-1], ref["m"].sum(), rtol=1e-12)
    np.testing.assert_allclose(cb.pooled_reduction[-1], ref["r"].sum(), rtol=1e-12)
    assert np.all(np.diff(cb.pooled_tau) < 0)  # time to resolution runs down to 0
    assert cb.pooled_tau[-1] == 0
    # pooled movement at a time τ: every in-flight step completed by then (loop)
    tau_mid = float(np.median(panel.time_to_resolution))
    k = int(np.argmin(np.abs(cb.pooled_tau - tau_mid)))
    t_k = cb.pooled_tau[k]
    m = 0.0
    for i in range(panel.n_series):
        sl = slice(panel.offsets[i], panel.offsets[i + 1])
        p, tau = panel.p[sl], panel.time_to_resolution[sl]
        done = tau[1:] >= t_k
        m += float(np.sum(np.diff(p)[done] ** 2))
    np.testing.assert_allclose(cb.pooled_movement[k], m, rtol=1e-12)


def test_ratio_by_p0_bins_and_intervals_without_dependence():
    pan = martingale_panel(shared_times=False, seed=11)  # no shared times: design effect 1
    d = pdata.ratio_by_p0(pan, min_length=3)
    assert d.deff == 1.0
    ref = per_series_reference(pan)
    ref["bin"] = pd.cut(ref["p0"], pdata.P0_EDGES, right=False, labels=False)
    # excess terms per series with a loop, including the resolution step
    x, v = [], []
    for i in range(pan.n_series):
        p = pan.p[pan.offsets[i]:pan.offsets[i + 1]]
        dd = list((1 - 2 * p[:-1]) * np.diff(p))
        if not np.isnan(pan.outcome[i]):
            dd.append((1 - 2 * p[-1]) * (pan.outcome[i] - p[-1]))
        x.append(sum(dd))
        v.append(float(np.sum(np.square(dd))))
    ref["x"], ref["v"] = x, v
    g = ref.groupby("bin").agg(m=("m", "sum"), r=("r", "sum"), x=("x", "sum"), v=("v", "sum"), n=("m", "size"))
    np.testing.assert_array_equal(d.n, g["n"].to_numpy())
    np.testing.assert_allclose(d.movement, g["m"], rtol=1e-12)
    np.testing.assert_allclose(d.reduction, g["r"], rtol=1e-12)
    np.testing.assert_allclose(d.excess, g["x"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.ratio, g["m"] / g["r"], rtol=1e-12)
    half = 1.959963984540054 * np.sqrt(g["v"].to_numpy())  # z_0.975 (scipy.stats.norm.ppf)
    np.testing.assert_allclose(d.ratio_high, g["m"] / g["r"] + half / g["r"], rtol=1e-10)
    np.testing.assert_allclose(d.ratio_low, np.maximum(0, g["m"] / g["r"] - half / g["r"]), rtol=1e-10)
    np.testing.assert_allclose(d.excess_high - d.excess_low, 2 * half, rtol=1e-10)


def test_shared_shocks_widen_intervals():
    """A common shock each step (all series move together) gives a design effect > 1."""
    rng = np.random.default_rng(3)
    n, T = 30, 80
    common = rng.standard_normal(T) * 0.03
    p = np.clip(0.5 + np.cumsum(common[None, :] + rng.standard_normal((n, T)) * 0.005, axis=1), 0.02, 0.98)
    ids = np.repeat([f"s{i}" for i in range(n)], T)
    pan = Panel.from_arrays(ids, np.tile(np.arange(T, dtype=float), n), p.ravel())
    assert pdata.ratio_by_p0(pan).deff > 2


def test_excess_by_tau_partitions_the_total(panel):
    d = pdata.excess_by_tau(panel)
    ref = per_series_reference(panel)
    np.testing.assert_allclose(d.excess.sum(), (ref["m"] - ref["r"]).sum(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.movement.sum(), ref["m"].sum(), rtol=1e-12)
    assert d.labels[-1] == "resolution step"
    assert d.n[-1] == int(panel.resolved.sum())
    assert d.n[:-1].sum() == panel.n_obs - panel.n_series  # every in-flight step in one bin
    # step-indexed data: quartile bins with units named
    assert all("steps" in lab for lab in d.labels[:-1])


def test_excess_by_tau_day_bins():
    pan = martingale_panel(n_series=12, n_steps=120, unresolved=0)
    pan = Panel(ids=pan.ids, offsets=pan.offsets, time=pan.time, p=pan.p, outcome=pan.outcome, time_kind="date",
                time_unit="day")
    d = pdata.excess_by_tau(pan)
    assert d.labels == ("≤ 7 days", "8–30 days", "31–90 days", "> 90 days", "resolution step")
    # τ at the earlier forecast: resolution is one day after the last forecast (t = 119 → 120)
    tau_prev = 120.0 - np.arange(119)
    expected = [np.sum(tau_prev <= 7), np.sum((tau_prev > 7) & (tau_prev <= 30)),
                np.sum((tau_prev > 30) & (tau_prev <= 90)), np.sum(tau_prev > 90)]
    np.testing.assert_array_equal(d.n[:4], np.array(expected) * 12)


def test_qq_quantiles_band_and_thinning():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(5000) * 3.0
    q = pdata.qq(x, "x", max_points=800, tail=25)
    assert q.n == 5000
    xs = np.sort(x / np.sqrt(np.mean(x**2)))
    assert q.sample[0] == xs[0] and q.sample[-1] == xs[-1]  # extremes kept
    assert len(q.sample) < 900
    # plotting positions (i − ½)/n, as scipy.stats.norm.ppf gives them
    i = np.searchsorted(xs, q.sample) + 1
    np.testing.assert_allclose(q.theoretical, stats.norm.ppf((i - 0.5) / 5000))
    assert np.all(q.band_low < q.theoretical) and np.all(q.theoretical < q.band_high)
    assert q.expected_beyond_4sd == pytest.approx(5000 * 2 * stats.norm.sf(4))


def test_qq_band_is_pointwise_95_percent():
    """Over many Gaussian samples, each rank falls outside its band about 5% of the
    time (the middle rank exactly; a tail rank less often, as scaling by the
    sample RMS narrows the tails)."""
    rng = np.random.default_rng(12)
    n, reps = 101, 800
    out_mid = out_tail = 0
    for _ in range(reps):
        q = pdata.qq(rng.standard_normal(n), "x")
        out_mid += not (q.band_low[50] <= q.sample[50] <= q.band_high[50])
        out_tail += not (q.band_low[2] <= q.sample[2] <= q.band_high[2])
    assert 0.027 <= out_mid / reps <= 0.073  # binomial(800, 0.05): ±3 SD
    assert out_tail / reps <= 0.075


def test_qq_pair_uses_both_coordinates(panel):
    std, raw = pdata.qq_pair(panel)
    assert std.n > 0 and raw.n == panel.n_obs - panel.n_series
    np.testing.assert_allclose(np.mean(raw.sample[np.isfinite(raw.sample)] ** 2), 1.0, rtol=0.5)


def pav_reference(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pool adjacent violators, written out (Barlow et al. 1972)."""
    blocks = [[float(yi), float(wi), 1] for yi, wi in zip(y, w)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0] + 1e-15:
            a, b = blocks[i], blocks[i + 1]
            wt = a[1] + b[1]
            blocks[i] = [(a[0] * a[1] + b[0] * b[1]) / wt, wt, a[2] + b[2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return np.concatenate([[v] * n for v, _, n in blocks])


def test_reliability_curve_and_band():
    rng = np.random.default_rng(9)
    p = np.round(rng.uniform(0, 1, 300), 2)
    o = (rng.uniform(size=300) < p).astype(float)
    rel = pdata.reliability(p, o, np.random.default_rng(1), n_boot=300)
    u = np.unique(p)
    ybar = np.array([o[p == v].mean() for v in u])
    w = np.array([np.sum(p == v) for v in u], dtype=float)
    np.testing.assert_allclose(rel.p, u)
    np.testing.assert_allclose(rel.recalibrated, pav_reference(ybar, w), atol=1e-12)
    np.testing.assert_array_equal(rel.count, w)
    assert rel.brier == pytest.approx(np.mean((p - o) ** 2))
    assert rel.mcb >= 0 and rel.dsc >= 0
    assert np.all(rel.band_low <= rel.band_high)
    # calibrated forecasts: the diagonal lies inside the 90% band at most forecast values
    inside = (rel.band_low <= rel.p + 1e-12) & (rel.p - 1e-12 <= rel.band_high)
    assert inside.mean() > 0.8


def test_last_forecast_is_the_last_before_resolution(panel):
    p, o = pdata.last_forecast(panel)
    res = panel.resolved
    np.testing.assert_array_equal(p, panel.p_last[res])
    np.testing.assert_array_equal(o, panel.outcome[res])


def test_jumps_find_an_injected_jump():
    pan = martingale_panel(n_series=20, n_steps=120, seed=21, unresolved=20)
    p = pan.p.copy()
    i, k = 4, 70
    row = pan.offsets[i] + k
    shift = 0.35 if p[row - 1] < 0.5 else -0.35
    p[row:pan.offsets[i + 1]] = np.clip(p[row:pan.offsets[i + 1]] + shift, 0.01, 0.99)
    jumped = Panel(ids=pan.ids, offsets=pan.offsets, time=pan.time, p=p, outcome=pan.outcome)
    report = forecheck.analyze(jumped, select=("WN305",), n_sim=299, seed=1)
    j = report.figures["jumps"]  # what the HTML figure draws: WN305's own flags
    assert row in set(j.row.tolist())
    assert j.series[list(j.row).index(row)] == i
    lm = report.result("WN305").details.standardised.lee_mykland
    assert j.window == lm.window >= 5
    assert len(j.row) == lm.n_jumps and len(np.unique(j.series)) == lm.series_with_jumps
    assert len(j.row) <= 10  # the null rate on 20 × 120 Gaussian-signal steps is small


def test_walk_curve_exact_expectation():
    w = pdata.walk_curve(np.array([0.5, 0.2, 0.0]), np.array([0.25, 0.08, 0.0]), np.array([1.0, 0.0, 0.0]),
                         step=0.05)
    n = 20
    k = np.arange(1, n)
    np.testing.assert_allclose(w.grid_p, k / n)
    np.testing.assert_allclose(w.expected_steps, k * (n - k), rtol=1e-9)  # E[T] = k(N − k)
    assert np.all(w.median_steps <= w.expected_steps)  # right-skewed durations
    # the series at p0 = 0 has no walk; the others in units of h²
    np.testing.assert_allclose(w.p0, [0.5, 0.2])
    np.testing.assert_allclose(w.equivalent_steps, [0.25 / 0.0025, 0.08 / 0.0025])


def test_paths_highlight_largest_excess(panel):
    d = pdata.paths(panel, n_highlight=3)
    b = series_budget(panel)
    assert list(d.highlight) == list(np.argsort(-np.abs(b.excess))[:3])
    assert d.unit == "steps"
    np.testing.assert_array_equal(d.tau, panel.time_to_resolution)

"""Anytime-valid e-processes (forecheck.stats.sequential)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecheck.panel import Panel
from forecheck.simulate import simulate_panel
from forecheck.stats import sequential as sq


def _psi(lam: float) -> float:
    # ψ(λ) = −log(1 − λ) − λ (Fan, Grama & Liu 2012, Lemma 4.1), written out independently
    return -math.log(1.0 - lam) - lam


def _steps(pan):
    st = sq.panel_steps(pan)
    return st, dict(resolution=st.resolution)


# --------------------------------------------------------------- inequality (1)
def test_fan_inequality_on_a_grid():
    # exp(λξ − ψ(λ)ξ²) ≤ 1 + λξ for ξ ≥ −1, λ ∈ [0, 1): the factor of every e-process
    lam = np.linspace(0.0, 0.97, 60)[:, None]
    xi = np.concatenate([np.linspace(-1, 3, 400), [10.0, 100.0]])[None, :]
    psi = -np.log1p(-lam) - lam
    assert np.all(np.exp(lam * xi - psi * xi**2) <= 1 + lam * xi + 1e-12)


def test_two_point_null_factor_has_mean_at_most_one():
    # worst case of a bounded mean-zero step: two points at the bounds −L and U with
    # probabilities U/(L+U), L/(L+U); the mean of the one-step pooled factor must be ≤ 1
    for L, U in [(0.12, 0.48), (3.0, 20.0), (1e-3, 1.0)]:
        probs = np.array([U / (L + U), L / (L + U)])
        vals = np.array([-L, U])
        for eta in sq.ETAS:
            f = np.exp(sq._log_factor(vals, np.full(2, L), eta, sq.KAPPA))
            assert probs @ f <= 1 + 1e-12
            g = np.exp(sq._log_factor(-vals, np.full(2, U), eta, sq.KAPPA))
            assert probs @ g <= 1 + 1e-12


# --------------------------------------------------------------- closed forms
def test_one_step_closed_form():
    # one series, 0.2 → 0.3, grid {η = 2}. Hand derivation:
    # z = (1 − 2·0.2)·0.1 = 0.06; Δp ∈ [−0.2, 0.8] so z ∈ [−0.2·0.6, 0.8·0.6] = [−0.12, 0.48].
    # up: λ = min(2·0.12, 0.95) = 0.24, ξ = 0.06/0.12 = 0.5, factor exp(0.24·0.5 − ψ(0.24)·0.25)
    # down: λ = min(2·0.48, 0.95) = 0.95, ξ = −0.06/0.48 = −0.125,
    #       factor exp(0.95·(−0.125) − ψ(0.95)·0.015625)
    up = math.exp(0.24 * 0.5 - _psi(0.24) * 0.25)
    dn = math.exp(0.95 * -0.125 - _psi(0.95) * 0.015625)
    e = sq.mg101_eprocess(np.array([0]), np.array([1.0]), np.array([0.2]), np.array([0.1]),
                          etas=np.array([2.0]), ratio_grid=None)
    assert e.evalue == pytest.approx((up + dn) / 2, rel=1e-12)
    assert np.exp(e.log_e_up[-1]) == pytest.approx(up, rel=1e-12)
    assert np.exp(e.log_e_down[-1]) == pytest.approx(dn, rel=1e-12)
    assert e.construction == "calendar-time pooled" and e.n_terms == 1


def test_two_series_one_slot_pooled_vs_product():
    # two series at one time: 0.2 → 0.3 (z1 = 0.06, bounds [−0.12, 0.48]) and
    # 0.7 → 0.5 (z2 = (1 − 1.4)(−0.2) = 0.08, Δp ∈ [−0.7, 0.3]: z ∈ [−0.12, 0.28]); η = 1.
    eta = 1.0
    # pooled: Z = 0.14, L = 0.24, U = 0.76
    lu, ld = min(eta * 0.24, 0.95), min(eta * 0.76, 0.95)
    pooled_up = math.exp(lu * (0.14 / 0.24) - _psi(lu) * (0.14 / 0.24) ** 2)
    pooled_dn = math.exp(ld * (-0.14 / 0.76) - _psi(ld) * (0.14 / 0.76) ** 2)
    # product: one factor per series with its own bounds
    def fac(z, b):
        lam = min(eta * b, 0.95)
        return math.exp(lam * (z / b) - _psi(lam) * (z / b) ** 2)
    prod_up = fac(0.06, 0.12) * fac(0.08, 0.12)
    prod_dn = fac(-0.06, 0.48) * fac(-0.08, 0.28)
    args = (np.array([0, 1]), np.array([5.0, 5.0]), np.array([0.2, 0.7]), np.array([0.1, -0.2]))
    ep = sq.mg101_eprocess(*args, etas=np.array([eta]), ratio_grid=None)
    ei = sq.mg101_eprocess(*args, etas=np.array([eta]), ratio_grid=None, independent=True)
    assert ep.evalue == pytest.approx((pooled_up + pooled_dn) / 2, rel=1e-12)
    assert ei.evalue == pytest.approx((prod_up + prod_dn) / 2, rel=1e-12)
    assert ei.construction == "per-series product"


def test_mixture_and_crossing_time():
    # three slots, z increasing: the e-value path is the mean over the grid of the
    # cumulative products, and the first crossing is the first slot with e ≥ 1/α
    z = np.array([0.1, 0.1, 0.1, 0.1])
    lo, hi = np.full(4, -0.1), np.full(4, 1.0)
    t = np.array([1.0, 2.0, 3.0, 4.0])
    etas = np.array([1.0, 5.0])
    e = sq.eprocess(z, lo, hi, t, etas=etas, alpha=0.25)
    up = np.zeros((4, 2))
    dn = np.zeros((4, 2))
    for j, eta in enumerate(etas):
        lam_u, lam_d = min(eta * 0.1, 0.95), min(eta * 1.0, 0.95)
        up[:, j] = np.cumsum(np.full(4, lam_u * 1.0 - _psi(lam_u) * 1.0))  # ξ = 0.1/0.1 = 1
        dn[:, j] = np.cumsum(np.full(4, lam_d * -0.1 - _psi(lam_d) * 0.01))  # ξ = −0.1
    expect = 0.5 * (np.exp(up).mean(1) + np.exp(dn).mean(1))
    np.testing.assert_allclose(np.exp(e.log_e), expect, rtol=1e-12)
    k = int(np.argmax(expect >= 4.0))
    assert e.crossed == bool((expect >= 4.0).any())
    assert e.first_crossing_time == (t[k] if e.crossed else None)


# --------------------------------------------------------------- validity
@pytest.mark.parametrize("model,kw", [("gaussian", {}), ("jump", {}), ("walk", {"p0": (0.3, 0.7), "step": 0.05})])
def test_null_mean_of_final_evalue_at_most_one(model, kw):
    # E[E_T] ≤ 1 for a nonnegative supermartingale with E_0 = 1: mean over simulated
    # martingale panels, within 3 Monte Carlo standard errors
    finals = {False: [], True: []}
    for seed in range(200):
        pan = simulate_panel(model, 8, 25, seed=10_000 + seed, **kw)
        st = sq.panel_steps(pan)
        for ind in (False, True):
            finals[ind].append(sq.mg101_eprocess(st.series, st.time, st.p_prev, st.dp, resolution=st.resolution,
                                                 independent=ind, ratio_grid=None).evalue)
    for ind, v in finals.items():
        v = np.asarray(v)
        assert v.mean() <= 1 + 3 * v.std(ddof=1) / np.sqrt(len(v)), (ind, v.mean())


def test_quadratic_bounds_match_brute_force():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 200)
    for c in (0.1, 0.5, 1.0, 1.7, 6.0):
        lo, hi = sq._quadratic_bounds(1 - c, c * (1 - 2 * p), p)
        x = p[:, None] * (np.linspace(0, 1, 20001)[None, :] - 1) + np.linspace(0, 1, 20001)[None, :] * (1 - p[:, None])
        # x spans [−p, 1 − p]; f = (1 − c)x² + c(1 − 2p)x (= m − c·r of one step)
        f = (1 - c) * x**2 + c * (1 - 2 * p[:, None]) * x
        np.testing.assert_allclose(lo, f.min(1), atol=1e-8)
        np.testing.assert_allclose(hi, f.max(1), atol=1e-8)


# --------------------------------------------------------------- CS
def test_cs_monotone_and_consistent_with_the_test():
    for model, S, ind in [("gaussian", 30, False), ("gaussian", 30, True), ("smooth", 50, True)]:
        pan = simulate_panel(model, S, 100, seed=5)
        st = sq.panel_steps(pan)
        e = sq.mg101_eprocess(st.series, st.time, st.p_prev, st.dp, resolution=st.resolution, independent=ind)
        ok = np.isfinite(e.cs_lower)
        lo, hi = e.cs_lower[ok], e.cs_upper[ok]
        assert np.all(lo[1:] >= lo[:-1]) and np.all(hi[1:] <= hi[:-1])  # running intersection
        w = hi - lo
        assert np.all(w[1:] <= w[:-1])  # widths never grow (inf ≤ inf allowed)
        # c = 1 of the ratio family is MG101's own null: excluded exactly when the test crossed
        one = int(np.argmin(np.abs(e.ratio_grid - 1.0)))
        assert e.ratio_grid[one] == 1.0
        grid_in = (e.ratio_grid >= e.cs_lower[-1]) & (e.ratio_grid <= e.cs_upper[-1])
        if not e.crossed:
            assert grid_in[one]
        else:
            assert e.cs[1] < 1.0 or e.cs[0] > 1.0 or not ok[-1]
    # smoothing moves far too little: the product CS excludes 1 and sits below it
    assert e.crossed and e.cs[1] < 1.0


# --------------------------------------------------------------- invariance
def _shuffled_panel(pan, seed):
    df = pan.to_frame()
    rng = np.random.default_rng(seed)
    names = {s: f"q{rng.integers(1e9)}_{i}" for i, s in enumerate(pan.ids)}
    df["series"] = df["series"].map(names)
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    return Panel.from_frame(df)


@pytest.mark.parametrize("ind", [False, True])
def test_invariant_to_series_names_and_row_order(ind):
    pan = simulate_panel("jump", 20, 40, seed=9)
    a = sq.panel_steps(pan)
    b = sq.panel_steps(_shuffled_panel(pan, 3))
    for fn in (sq.mg101_eprocess, sq.mg103_eprocess):
        ea = fn(a.series, a.time, a.p_prev, a.dp, resolution=a.resolution, independent=ind)
        eb = fn(b.series, b.time, b.p_prev, b.dp, resolution=b.resolution, independent=ind)
        np.testing.assert_allclose(ea.log_e, eb.log_e, rtol=1e-10, atol=1e-12)
    # and to the order of the step arrays themselves
    perm = np.random.default_rng(4).permutation(len(a.dp))
    e1 = sq.mg103_eprocess(a.series, a.time, a.p_prev, a.dp, resolution=a.resolution, independent=ind)
    e2 = sq.mg103_eprocess(a.series[perm], a.time[perm], a.p_prev[perm], a.dp[perm],
                           resolution=a.resolution[perm], independent=ind)
    np.testing.assert_allclose(e1.log_e, e2.log_e, rtol=1e-10, atol=1e-12)


def test_truncated_history_is_a_prefix_of_the_full_path():
    # what a nightly job computes at look L equals the full path up to L: every look at once
    pan = simulate_panel("gaussian", 15, 30, seed=2)
    full = sq.panel_steps(pan)
    ef = sq.mg101_eprocess(full.series, full.time, full.p_prev, full.dp, resolution=full.resolution)
    df = pan.to_frame()
    cut = df[df["time"] <= 17].copy()
    cut["outcome"] = np.nan  # unresolved at the look
    part = sq.panel_steps(Panel.from_frame(cut))
    ep = sq.mg101_eprocess(part.series, part.time, part.p_prev, part.dp, resolution=part.resolution)
    k = len(ep.times)
    np.testing.assert_allclose(ep.log_e, ef.log_e[:k], rtol=1e-12)
    np.testing.assert_allclose(ep.cs_lower, ef.cs_lower[:k])
    assert ef.evalue_at(17.0) == pytest.approx(ep.evalue)


def test_resolution_steps_enter_after_inflight_steps_at_the_same_time():
    times, slot = sq.calendar_slots(np.array([3.0, 3.0, 1.0]), np.array([True, False, False]))
    np.testing.assert_array_equal(times, [1.0, 3.0, 3.0])
    np.testing.assert_array_equal(slot, [2, 1, 0])


# --------------------------------------------------------------- MG103 / CA202
def test_mg103_hand_example():
    # one series 0.5 → 0.6 → 0.7 (steps at t = 1, 2): one pair, z = 0.1·0.1 = 0.01,
    # p_prev = 0.6 so Δp ∈ [−0.6, 0.4]: z ∈ [−0.06, 0.04]; η = 3:
    # up λ = min(3·0.06, .95) = 0.18, ξ = 1/6; down λ = min(3·0.04, .95) = 0.12, ξ = −0.25
    up = math.exp(0.18 / 6 - _psi(0.18) / 36)
    dn = math.exp(0.12 * -0.25 - _psi(0.12) * 0.0625)
    e = sq.mg103_eprocess(np.array([0, 0]), np.array([1.0, 2.0]), np.array([0.5, 0.6]), np.array([0.1, 0.1]),
                          etas=np.array([3.0]))
    assert e.n_terms == 1
    assert e.evalue == pytest.approx((up + dn) / 2, rel=1e-12)


def test_mg103_detects_smoothing_and_ca202_is_valid_form():
    pan = simulate_panel("smooth", 50, 100, seed=1)
    st = sq.panel_steps(pan)
    e = sq.mg103_eprocess(st.series, st.time, st.p_prev, st.dp, resolution=st.resolution, independent=True)
    assert e.crossed and e.direction == "up"
    # CA202: z = (o − p)(1 − 2p) equals observed minus expected Brier per series
    p = np.array([0.1, 0.8, 0.3])
    o = np.array([0.0, 0.0, 1.0])
    ec = sq.ca202_eprocess(np.array([1.0, 1.0, 2.0]), p, o, etas=np.array([1.0]))
    z = (o - p) ** 2 - p * (1 - p)
    lo = -np.array([0.1 * 0.8, 0.2 * 0.6, 0.3 * 0.4])  # p(1 − 2p) / (1 − p)(2p − 1)
    assert len(ec.times) == 2
    L1, Z1 = -(lo[0] + lo[1]), z[0] + z[1]
    lam = min(L1, 0.95)
    assert ec.log_e_up[0] == pytest.approx(lam * Z1 / L1 - _psi(lam) * (Z1 / L1) ** 2, rel=1e-12)


# --------------------------------------------------------------- family
def test_combine_evalues():
    e = np.array([70.0, 5.0, 0.5])
    b = sq.combine_evalues(e, 0.05, "bonferroni")
    np.testing.assert_allclose(b.adjusted, e / 3)  # reject when e ≥ K/α = 60
    assert b.reject.tolist() == [True, False, False] and b.global_evalue == pytest.approx(75.5 / 3)
    c = sq.combine_evalues(e, 0.05, "closed-mean")
    # e1: subsets {1}, {1,3}, {1,3,2}: means 70, 35.25, 25.17 → min 25.17 ≥ 20
    assert c.adjusted[0] == pytest.approx(75.5 / 3)
    assert c.reject.tolist() == [True, False, False]
    assert np.all(c.adjusted >= b.adjusted - 1e-12)
    with pytest.raises(ValueError):
        sq.combine_evalues([1.0, -1.0])


def test_cluster_construction_spans_pooled_and_product():
    pan = simulate_panel("gaussian", 12, 30, seed=8)
    st = sq.panel_steps(pan)
    args = (st.series, st.time, st.p_prev, st.dp)
    kw = dict(resolution=st.resolution, ratio_grid=None)
    pooled = sq.mg101_eprocess(*args, **kw)
    prod = sq.mg101_eprocess(*args, independent=True, **kw)
    one = sq.mg101_eprocess(*args, cluster=np.array(["all"] * 12, dtype=object), **kw)
    each = sq.mg101_eprocess(*args, cluster=np.array([f"c{i}" for i in range(12)], dtype=object), **kw)
    assert one.construction == "per-cluster product"
    np.testing.assert_allclose(one.log_e, pooled.log_e, rtol=1e-12)
    assert each.construction == "per-series product"
    np.testing.assert_allclose(each.log_e, prod.log_e, rtol=1e-12)
    # two clusters: the log-factor at each slot is the sum of the two clusters' pooled ones
    cl = np.array(["a"] * 6 + ["b"] * 6, dtype=object)
    two = sq.mg101_eprocess(*args, cluster=cl, etas=np.array([1.5]), **kw)
    times, slot = sq.calendar_slots(st.time, st.resolution)
    z = (1 - 2 * st.p_prev) * st.dp
    lo, _ = sq.excess_bounds(st.p_prev)
    g = (st.series >= 6).astype(int)
    log_up = 0.0
    for k in range(len(times)):
        for gg in (0, 1):
            sel = (slot == k) & (g == gg)
            if not sel.any():
                continue
            Z, L = z[sel].sum(), -lo[sel].sum()
            lam = min(1.5 * L, 0.95)
            log_up += (lam * Z / L - _psi(lam) * (Z / L) ** 2) if L > 0 else 1.5 * Z - 0.5 * (1.5 * Z) ** 2
    assert two.log_e_up[-1] == pytest.approx(log_up, rel=1e-10)


@pytest.mark.parametrize("ind", [False, True])
def test_no_steps_gives_evalue_one(ind):
    empty = np.zeros(0)
    e = sq.mg101_eprocess(empty.astype(int), empty, empty, empty, independent=ind)
    assert e.evalue == 1.0 and not e.crossed and e.first_crossing_time is None and e.evalue_at(3.0) == 1.0
    e3 = sq.mg103_eprocess(np.array([0]), np.array([1.0]), np.array([0.4]), np.array([0.1]), independent=ind)
    assert e3.n_terms == 0 and e3.evalue == 1.0

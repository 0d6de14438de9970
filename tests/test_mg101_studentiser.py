"""MG101's studentiser: min(Σ d_t², R) floored, R the variance implied by the realised
uncertainty reduction (stats/bootstrap.studentiser; docs/validation.md, issue 12 item 4).

Expected values are re-derived independently: R's per-step algebra from the
definition of u, its unbiasedness by exact enumeration of a binomial-tree
martingale, the simulated R* against the simulated Var(X*), and the check's t from
a per-series loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_martingale import walk_panel

from forecheck.checks import run_checks
from forecheck.config import AnalysisConfig
from forecheck.stats.bootstrap import (
    STUDENTISER_FLOOR,
    reduction_variance,
    simulate_excess,
    studentiser,
)
from forecheck.stats.dependence import unit_design_effect


def test_reduction_variance_differs_from_qv_by_the_excess():
    """u(p) − u(q) = (q − p)² − (1 − 2p)(q − p) for u(x) = x(1 − x): R's step term is
    (1 − 2p)²Δp² − (1 − 2p)² d with d = (1 − 2p)Δp; at resolution (q = o) it is
    (1 − 2p)² p(1 − p)."""
    rng = np.random.default_rng(0)
    p, q = rng.random(50), rng.random(50)
    d = (1 - 2 * p) * (q - p)
    np.testing.assert_allclose(reduction_variance(p, q), d**2 - (1 - 2 * p) ** 2 * d, rtol=1e-12, atol=1e-15)
    for o in (0.0, 1.0):
        np.testing.assert_allclose(reduction_variance(p, np.full(50, o)), (1 - 2 * p) ** 2 * p * (1 - p), rtol=1e-12)


def test_reduction_variance_is_unbiased_for_var_x_on_a_tree():
    """A martingale on a recombining ±h tree from p0 (3 steps, then the outcome drawn
    with the last probability): enumerate every path; E[R] = E[Σ d²] = Var(Σ d)."""
    p0, h = 0.3, 0.1
    eX = eX2 = eV = eR = 0.0
    for moves in itertools.product((-1, 1), repeat=3):
        for o in (0.0, 1.0):
            path = [p0]
            for m in moves:
                path.append(path[-1] + m * h)
            prob = 0.5**3 * (path[-1] if o else 1 - path[-1])
            prev, nxt = np.array(path), np.array(path[1:] + [o])
            d = (1 - 2 * prev) * (nxt - prev)
            eX += prob * d.sum()
            eX2 += prob * d.sum() ** 2
            eV += prob * np.sum(d**2)
            eR += prob * np.sum(reduction_variance(prev, nxt))
    assert eX == pytest.approx(0.0, abs=1e-15)
    assert eV == pytest.approx(eX2, rel=1e-12)
    assert eR == pytest.approx(eX2, rel=1e-12)


def test_studentiser_rule():
    v = np.array([1.0, 1.0, 1.0, 2.0])
    r = np.array([0.5, 2.0, -1.0, 0.1])
    np.testing.assert_allclose(studentiser(v, r), [0.5, 1.0, STUDENTISER_FLOOR, STUDENTISER_FLOOR * 2.0])


def test_simulated_reduction_variance_matches_simulated_var_x():
    """On the matched probit-bridge paths R* averages to E[X*²] per series (as V* does),
    and adding R* draws no random numbers (X*, V* identical with and without it)."""
    rng = np.random.default_rng(21)
    pan = walk_panel(rng, 6, 25, np.array([0.05, 0.2, 0.5, 0.5, 0.8, 0.97]), step=0.03)
    x, v, r = simulate_excess(pan, 20000, np.random.default_rng(22), with_reduction=True)
    x0, v0 = simulate_excess(pan, 20000, np.random.default_rng(22), with_variance=True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(v, v0)
    diff = r - x**2  # mean 0 per series under the martingale (Monte-Carlo error: 4 standard errors)
    assert np.all(np.abs(diff.mean(1)) < 4 * diff.std(1) / np.sqrt(diff.shape[1]))


def test_mg101_t_rederived_series_by_series():
    rng = np.random.default_rng(12)
    pan = walk_panel(rng, 40, 30, rng.uniform(0.2, 0.8, 40))
    (r,) = run_checks(pan, AnalysisConfig(n_sim=99, select=("MG101",)))
    X = V = R = 0.0
    d_in, s_in, t_in = [], [], []
    for i in range(pan.n_series):
        p = pan.p[pan.offsets[i]:pan.offsets[i + 1]]
        path = np.r_[p, pan.outcome[i]]
        prev, nxt = path[:-1], path[1:]
        d = (1 - 2 * prev) * (nxt - prev)
        X += d.sum()
        V += np.sum(d**2)
        R += np.sum((1 - 2 * prev) ** 2 * (prev * (1 - prev) - nxt * (1 - nxt)))
        d_in += list(d[:-1])
        s_in += [i] * (len(d) - 1)
        t_in += list(range(1, len(p)))
    d_in = np.array(d_in)
    # the design effect of the centred in-flight terms, as the check measures it
    deff = unit_design_effect(d_in - d_in.mean(), np.array(s_in), np.array(t_in, float),
                              np.arange(pan.n_series), None).deff
    assert r.statistic == pytest.approx(X / np.sqrt(deff * max(min(V, R), STUDENTISER_FLOOR * V)), rel=1e-9)

"""The ±h belief walk: exact chain results against closed forms, the docs/checks.md
table and a plain transient-vector iteration; the Monte Carlo check; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from forecheck.errors import UsageError
from forecheck.stats.walk import (
    analyze_walk,
    duration_moments,
    duration_quantile,
    duration_survival,
    simulate_durations,
    walk_grid,
)


def closed_form(k: int, N: int, q: float) -> tuple[float, float]:
    """Gambler's ruin (Feller Vol. I ch. XIV §3; docs/checks.md): simple walk
    E[T₁] = k(N−k), Var(T₁) = k(N−k)[k² + (N−k)² − 2]/3; lazy walk by Wald:
    E[T] = E[T₁]/q, Var(T) = Var(T₁)/q² + E[T₁](1 − q)/q²."""
    e1 = k * (N - k)
    v1 = k * (N - k) * (k**2 + (N - k) ** 2 - 2) / 3
    return e1 / q, v1 / q**2 + e1 * (1 - q) / q**2


def survival_by_iteration(k: int, N: int, q: float, n_max: int) -> np.ndarray:
    """P(T > n), n = 0..n_max, by pushing the transient distribution vector through
    the chain one step at a time (plain numpy, no spectral algebra)."""
    v = np.zeros(N + 1)
    v[k] = 1.0
    out = np.empty(n_max + 1)
    out[0] = 1.0
    for n in range(1, n_max + 1):
        new = (1 - q) * v
        new[1:] += q / 2 * v[:-1]
        new[:-1] += q / 2 * v[1:]
        new[0] = new[N] = 0.0  # absorbed mass leaves
        v = new
        out[n] = v.sum()
    return out


@pytest.mark.parametrize(("k", "N", "q"), [(50, 100, 1.0), (20, 100, 1.0), (1, 100, 1.0), (50, 100, 0.5),
                                         (10, 20, 0.25), (3, 7, 0.9), (1, 2, 1.0)])
def test_moments_match_closed_forms(k, N, q):
    mean, var = duration_moments(walk_grid(k / N, 1 / N, q))
    e, v = closed_form(k, N, q)
    assert mean == pytest.approx(e, rel=1e-9)
    assert var == pytest.approx(v, rel=1e-8, abs=1e-9)


def test_issue_numbers():
    # issue 3 "done when": 2500 (50%), 1600 (20%), 99 with P(T=1) = ½ and median 1 (1%),
    # move_prob 0.5 doubles; docs/checks.md: lazy q = 0.25, h = 0.05 → E[T] = 400.
    r = analyze_walk(0.5, 0.01, runs=0)
    assert r.expected_steps == pytest.approx(2500, rel=1e-12)
    assert analyze_walk(0.2, 0.01, runs=0).expected_steps == pytest.approx(1600, rel=1e-12)
    assert analyze_walk(0.8, 0.01, runs=0).expected_steps == pytest.approx(1600, rel=1e-12)
    r1 = analyze_walk(0.01, 0.01, runs=0)
    assert r1.expected_steps == pytest.approx(99, rel=1e-12)
    assert r1.p_single_step == 0.5 and r1.median_steps == 1
    assert analyze_walk(0.5, 0.01, 0.5, runs=0).expected_steps == pytest.approx(5000, rel=1e-12)
    assert analyze_walk(0.5, 0.05, 0.25, runs=0).expected_steps == pytest.approx(400, rel=1e-12)
    assert r.expected_movement == 0.25 and r.p_end_at_one == 0.5
    assert r1.expected_movement == pytest.approx(0.0099)


@pytest.mark.parametrize(
    ("start", "sd", "quantiles"),
    [
        # docs/checks.md table (exact, h = 0.01): SD, median, 75%, 90%, 95%, 99%
        (0.01, 568.7, {0.5: 1, 0.75: 9, 0.9: 63, 0.95: 255, 0.99: 2809}),
        (0.5, 2040.8, {0.5: 1894, 0.75: 3298, 0.9: 5156, 0.95: 6560, 0.99: 9820}),
    ],
)
def test_methods_table(start, sd, quantiles):
    grid = walk_grid(start, 0.01)
    r = analyze_walk(start, 0.01, runs=0)
    assert r.sd_steps == pytest.approx(sd, abs=0.05)
    for prob, value in quantiles.items():
        assert duration_quantile(grid, prob) == value
    assert r.quantiles == {"0.5": quantiles[0.5], "0.9": quantiles[0.9], "0.99": quantiles[0.99]}


def test_small_n_probabilities_from_one_percent():
    # docs/checks.md: from 1%, P(T = 1) = ½ exactly and P(T ≤ 3) = 0.625
    # (1 → 0 w.p. ½; 1 → 2 → 1 → 0 w.p. ⅛), P(T = 2) = 0 by parity.
    grid = walk_grid(0.01, 0.01)
    s = duration_survival(grid, np.array([1, 2, 3]))
    np.testing.assert_allclose(1 - s, [0.5, 0.5, 0.625], atol=1e-12)


@pytest.mark.parametrize(("k", "N", "q"), [(1, 100, 1.0), (50, 100, 1.0), (7, 40, 0.3), (2, 5, 1.0)])
def test_spectral_survival_matches_iteration(k, N, q):
    n_max = 4000
    ref = survival_by_iteration(k, N, q, n_max)
    got = duration_survival(walk_grid(k / N, 1 / N, q), np.arange(n_max + 1))
    np.testing.assert_allclose(got, ref, atol=1e-11)


def test_monte_carlo_agrees_with_exact():
    grid = walk_grid(0.2, 0.01)
    runs = 20_000
    t, cens = simulate_durations(grid, runs, seed=3)
    mean, var = duration_moments(grid)
    assert cens == 0
    assert abs(t.mean() - mean) < 4 * np.sqrt(var / runs)
    # empirical survival at a few n within 4 binomial sd of the exact one
    for n in (10, 500, 1600, 5000):
        s = float(duration_survival(grid, n))
        assert abs(np.mean(t > n) - s) < 4 * np.sqrt(s * (1 - s) / runs) + 1e-3
    # parity: a simple walk from k = 20 exits (at 0 or 100) after an even number of moves
    assert np.all(t % 2 == 0)
    # lazy walk: T = moves + NegBin stays
    lazy = walk_grid(0.5, 0.05, 0.25)
    tl, _ = simulate_durations(lazy, runs, seed=4)
    m, v = duration_moments(lazy)
    assert abs(tl.mean() - m) < 4 * np.sqrt(v / runs)
    r = analyze_walk(0.5, 0.05, 0.25, runs=5000, seed=1)
    assert r.simulated_runs == 5000 and abs(r.simulated_mean_steps - 400) < 4 * r.sd_steps / np.sqrt(5000)


def test_monte_carlo_budget_reduces_runs(monkeypatch):
    import forecheck.stats.walk as walk

    monkeypatch.setattr(walk, "MC_MOVE_BUDGET", 1.0e6)
    r = analyze_walk(0.5, 0.01, runs=100_000, seed=0)  # 2500 expected moves per run
    assert r.simulated_runs == 400
    monkeypatch.setattr(walk, "MC_MOVE_BUDGET", 1.0e5)  # 40 runs < MC_MIN_RUNS: skipped
    assert analyze_walk(0.5, 0.01, runs=100_000).simulated_runs == 0
    r0 = analyze_walk(0.5, 0.01, runs=0)
    assert r0.simulated_runs == 0 and r0.simulated_mean_steps is None


@pytest.mark.parametrize(
    ("start", "step", "q", "match"),
    [
        (0.015, 0.01, 1.0, "not a multiple"),
        (0.5, 0.6, 1.0, r"\(0, 0.5\]"),
        (0.5, 0.0, 1.0, r"\(0, 0.5\]"),
        (0.5, -0.1, 1.0, r"\(0, 0.5\]"),
        (0.6, 0.3, 1.0, "divide 1"),
        (0.5, 0.01, 0.0, r"\(0, 1\]"),
        (0.5, 0.01, 1.2, r"\(0, 1\]"),
        (0.0, 0.01, 1.0, "strictly between"),
        (1.0, 0.01, 1.0, "strictly between"),
    ],
)
def test_bad_input(start, step, q, match):
    with pytest.raises(UsageError, match=match):
        walk_grid(start, step, q)


# ------------------------------------------------------------------ CLI
@pytest.fixture
def app():
    from forecheck.cli.walk import walk_command

    a = typer.Typer()
    a.command("walk")(walk_command)
    a.command("other")(lambda: None)
    return a


def _run(app, args):
    return CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "80"})


def test_cli_json_keys(app):
    res = _run(app, ["walk", "--start", "0.01", "--step", "0.01", "--runs", "2000", "--format", "json"])
    assert res.exception is None and res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert list(d) == ["start", "step", "move_prob", "expected_steps", "sd_steps", "p_single_step",
                       "median_steps", "quantiles", "expected_movement", "p_end_at_one",
                       "simulated_mean_steps", "simulated_runs"]
    assert list(d["quantiles"]) == ["0.5", "0.9", "0.99"]
    assert d["expected_steps"] == 99 and d["p_single_step"] == 0.5 and d["median_steps"] == 1
    assert d["simulated_runs"] == 2000 and d["simulated_mean_steps"] > 0


def test_cli_text(app):
    res = _run(app, ["walk", "--start", "0.5", "--step", "0.01", "--move-prob", "0.5", "--runs", "1000"])
    assert res.exception is None and res.exit_code == 0, res.output
    out = res.stdout
    assert "5,000.0" in out and "not a clock" in out and "budget" in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("args", [["--start", "0.015"], ["--step", "0.7"], ["--move-prob", "0"],
                                  ["--start", "1.2"], ["--step", "0.3"], ["--runs", "-1"]])
def test_cli_errors_exit_2(app, args):
    res = _run(app, ["walk", *args, "--runs", "0"] if "--runs" not in args else ["walk", *args])
    assert res.exit_code == 2
    assert "error" in res.stderr

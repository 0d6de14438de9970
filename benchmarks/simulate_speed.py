"""Speed of the simulators and reference statistics of every model.

Run:  python benchmarks/simulate_speed.py            (speed, 100,000 × 100)
      python benchmarks/simulate_speed.py --reference (budget / lag-1 table)

The reference table gives, per model at 3000 series × 100 steps (seed 1), the
A-R normalised excess movement Σm/Σr − 1 with the t statistic of the mean
per-series excess (docs/checks.md), and the pooled lag-1 slope of Δp_t on Δp_{t−1}.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from forecheck.simulate import MODELS, simulate, simulate_panel
from forecheck.stats.walk import analyze_walk
from forecheck.stats.budget import series_budget


def speed(n_series: int = 100_000, n_steps: int = 100) -> None:
    print("| model | simulate() frame, s | simulate_panel(), s | rows |")
    print("|---|---|---|---|")
    for name in MODELS:
        t = time.perf_counter()
        df = simulate(name, n_series, n_steps, seed=1)
        t_frame = time.perf_counter() - t
        del df
        t = time.perf_counter()
        panel = simulate_panel(name, n_series, n_steps, seed=1)
        t_panel = time.perf_counter() - t
        print(f"| {name} | {t_frame:.2f} | {t_panel:.2f} | {panel.n_obs:,} |")
    t = time.perf_counter()
    r = analyze_walk(0.5, 0.01, runs=100_000, seed=0)
    print(f"\nwalk 0.5/0.01, 100,000 Monte Carlo runs: {time.perf_counter() - t:.2f} s "
          f"(simulated mean {r.simulated_mean_steps:.1f}, exact {r.expected_steps:g})")


def lag1_slope(panel) -> float:
    same = panel.dp_series[1:] == panel.dp_series[:-1]
    x, y = panel.dp[:-1][same], panel.dp[1:][same]
    return float(x @ y / (x @ x))


def reference(n_series: int = 3000, n_steps: int = 100, seed: int = 1) -> None:
    cases = [(m, {}) for m in MODELS] + [
        ("ar", {"beta": 1.5}), ("ar", {"beta": 0.7}), ("ar", {"beta": 1.5, "signal": "latent"}),
        ("ar", {"beta": 0.7, "signal": "latent"}), ("ar", {"alpha": 0.9}), ("ar", {"alpha": 1.1}),
        ("walk", {"p0": (0.01, 0.05)}), ("bidask", {"noise_kind": "gaussian"}),
    ]
    print("| model | options | Σm/Σr − 1 | t | lag-1 slope |")
    print("|---|---|---|---|---|")
    for name, params in cases:
        panel = simulate_panel(name, n_series, n_steps, seed=seed, **params)
        b = series_budget(panel)
        x = b.excess
        ratio = b.movement.sum() / b.uncertainty_reduction.sum() - 1
        t = x.mean() / (x.std(ddof=1) / np.sqrt(len(x)))
        opts = " ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
        print(f"| {name} | {opts} | {ratio:+.3f} | {t:+.1f} | {lag1_slope(panel):+.3f} |")


if __name__ == "__main__":
    if "--reference" in sys.argv:
        reference()
    else:
        speed()

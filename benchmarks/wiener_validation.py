"""Fixed-seed validation of the layer-B (WN) checks: docs/checks.md.

A Gaussian-signal Bayesian forecaster (exact posterior Φ(S_t/√(H − t))) should pass
the Gaussian-increment test on standardised (probit-clock latent) increments at
about the nominal rate while raw Δp reject far more often; a Bayesian forecaster
whose news arrives in jumps (signal with probability 3% per step) should fail
WN302/WN305 on both, yet pass MG101 (the variance budget). docs/checks.md: JB raw
74%/100%, latent 4%/100% (Gaussian/jumpy, T = 100–200).

Run:  python benchmarks/wiener_validation.py [--series 2000] [--panels 20]
Prints a Markdown table (the one in docs/validation.md, "Layer B").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecheck.checks import execute
from forecheck.checks.martingale import CHECKS as MG_CHECKS
from forecheck.checks.wiener import CHECKS as WN_CHECKS
from forecheck.config import AnalysisConfig
from forecheck.simulate import simulate_panel
from forecheck.stats import jumps, normality
from forecheck.stats.standardize import Increments

MODELS = {"gaussian": {}, "jump": {"news_prob": 0.03}}
ALPHA = 0.05


def per_series_rates(model: str, n_series: int, n_steps: int, seed: int) -> dict:
    """Share of series rejecting at 5%: JB and AD on raw and latent increments,
    BNS (Monte-Carlo null) on latent increments."""
    panel = simulate_panel(model, n_series, n_steps, seed, **MODELS[model])
    inc = Increments.from_panel(panel, 3)
    out = {}
    for name, label in (("raw", "raw"), ("latent", "latent")):
        c = inc.coordinate(name)
        jb = normality.jarque_bera(c.x, c.seg, c.n_seg)["pvalue"]
        ad = normality.anderson_darling(c.x, c.seg, c.n_seg)["pvalue"]
        out[f"JB {label}"] = np.nanmean(jb < ALPHA)
        out[f"AD {label}"] = np.nanmean(ad < ALPHA)
        if name == "latent":
            null, gi = jumps.simulate_gaussian_null(c.counts, 16, 999, seed + 1)
            z = jumps.bns(c.x, c.seg, c.n_seg).z
            out["BNS latent"] = np.nanmean(jumps.mc_pvalue(z, null.bns_z[gi]) < ALPHA)
            lm = jumps.lee_mykland(c.x, c.seg, c.n_seg, 16)
            out["LM latent (Gumbel)"] = np.nanmean(lm.pvalue < ALPHA)
            out["LM latent (MC)"] = np.nanmean(jumps.mc_pvalue(lm.xi_max, null.lm_xi[gi]) < ALPHA)
    return out


def panel_rates(model: str, n_panels: int, n_series: int, n_steps: int, seed: int) -> dict:
    """Share of whole panels for which WN302 / WN305 / MG101 fail."""
    cfg = AnalysisConfig(n_sim=199)
    specs = [s for s in MG_CHECKS if s.code == "MG101"] + [s for s in WN_CHECKS if s.code in ("WN302", "WN305")]
    fails = {"WN302": 0, "WN305": 0, "MG101": 0}
    for r in range(n_panels):
        panel = simulate_panel(model, n_series, n_steps, seed + 1000 + r, **MODELS[model])
        res, _ = execute(panel, cfg, specs)
        for x in res:
            if x.code in fails:
                fails[x.code] += x.status == "fail"
    return {k: v / n_panels for k, v in fails.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=2000, help="series per model and T (per-series rates)")
    ap.add_argument("--panels", type=int, default=20, help="panels of 100 series (panel-level rates)")
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    t0 = time.perf_counter()
    cols = ["JB raw", "JB latent", "AD raw", "AD latent", "BNS latent", "LM latent (Gumbel)", "LM latent (MC)"]
    print(f"Per-series rejection rates at 5% ({a.series} series per row, seed {a.seed}):\n")
    print("| model | T | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for model in MODELS:
        for T in (100, 200):
            r = per_series_rates(model, a.series, T, a.seed + T)
            print(f"| {model} | {T} | " + " | ".join(f"{100 * r[c]:.1f}%" for c in cols) + " |")
    print(f"\nPanel-level failure rates ({a.panels} panels × 100 series × T = 100; WN302/WN305 on "
          "standardised increments, MG101 at its default settings):\n")
    print("| model | WN302 fails | WN305 fails | MG101 fails |")
    print("|---|---|---|---|")
    for model in MODELS:
        r = panel_rates(model, a.panels, 100, 100, a.seed)
        print(f"| {model} | {100 * r['WN302']:.0f}% | {100 * r['WN305']:.0f}% | {100 * r['MG101']:.0f}% |")
    print(f"\n(runtime {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

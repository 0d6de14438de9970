"""Size and power of the calibration tests CA202 (Spiegelhalter Z), CA203 (Cox
recalibration LR test) and CA204 (horizon consistency), fixed seeds.

    python benchmarks/calibration_size_power.py [--reps 2000] [--reps204 200]

CA202/CA203 are vectorised over replications (one forecast per series, as at the last
forecast); CA204 runs the registered check on simulated panels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
from scipy.special import expit, logit

from forecheck.checks import run_checks
from forecheck.checks import calibration as C
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.stats.calibration import logistic_recalibration_batch, spiegelhalter_z


def static_table(reps: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for s in (50, 200):
        pt = rng.uniform(size=(reps, s))
        o = (rng.uniform(size=(reps, s)) < pt).astype(float)
        gauss = stats.norm.cdf(rng.normal(size=(reps, s)) * 3.0)  # sharp, Bayesian-calibrated
        og = (rng.uniform(size=(reps, s)) < gauss).astype(float)
        for name, shown, out in [("calibrated U(0,1)", pt, o),
                                 ("calibrated sharp Φ(3Z)", gauss, og),
                                 ("over-confident logit×2", expit(2 * logit(pt)), o),
                                 ("over-confident logit×1.5", expit(1.5 * logit(pt)), o),
                                 ("under-confident logit×0.5", expit(0.5 * logit(pt)), o)]:
            _, pv = spiegelhalter_z(shown, out)
            _, _, _, pl = logistic_recalibration_batch(shown, out)
            rows.append((s, name, np.mean(pv < 0.05), np.nanmean(pl < 0.05), np.mean(np.isnan(pl))))
    return rows


def gaussian_panel(rng, s: int, t: int, shrink_last: int = 0, factor: float = 0.5) -> Panel:
    w = np.cumsum(rng.normal(size=(s, t + 1)), axis=1)
    o = (w[:, -1] > 0).astype(float)
    p = stats.norm.cdf(w[:, :t] / np.sqrt(t - np.arange(t)))
    if shrink_last:
        p[:, -shrink_last:] = 0.5 + factor * (p[:, -shrink_last:] - 0.5)
    return Panel.from_arrays(np.repeat(np.arange(s), t), np.tile(np.arange(t, dtype=float), s), p.ravel(),
                             outcome=np.repeat(o, t))


def ca204_table(reps: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    cfg = AnalysisConfig(select=("CA202", "CA204"), n_sim=199)
    rows = []
    for name, shrink, factor in [("Gaussian-signal martingale", 0, 1.0),
                                 ("last 10 steps shrunk ×0.9 to 50%", 10, 0.9),
                                 ("last 10 steps shrunk ×0.8 to 50%", 10, 0.8),
                                 ("last 10 steps shrunk ×0.5 to 50%", 10, 0.5)]:
        rej204, rej202, skips = 0, 0, 0
        for _ in range(reps):
            out = {r.code: r for r in run_checks(gaussian_panel(rng, 50, 100, shrink, factor), cfg, specs=C.CHECKS)}
            skips += out["CA204"].status == "skip"
            rej204 += out["CA204"].status != "skip" and out["CA204"].pvalue < 0.05
            rej202 += out["CA202"].pvalue is not None and out["CA202"].pvalue < 0.05
        rows.append((name, rej202 / reps, rej204 / reps, skips))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--reps204", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    t0 = time.time()
    print(f"CA202/CA203 rejection rates at alpha = 0.05, {a.reps} replications, seed {a.seed}")
    print(f"{'series':>6}  {'forecaster':<28}{'CA202':>7}{'CA203':>7}{'203 skip':>9}")
    for s, name, r2, r3, sk in static_table(a.reps, a.seed):
        print(f"{s:>6}  {name:<28}{r2:>7.3f}{r3:>7.3f}{sk:>9.3f}")
    print(f"\nPanels of 50 series x 100 steps, {a.reps204} replications (CA204 bootstrap 199 draws)")
    print(f"{'generator':<36}{'CA202':>7}{'CA204':>7}{'skips':>7}")
    for name, r2, r4, sk in ca204_table(a.reps204, a.seed + 1):
        print(f"{name:<36}{r2:>7.3f}{r4:>7.3f}{sk:>7d}")
    print(f"\n({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()

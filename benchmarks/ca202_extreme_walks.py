"""CA202 under ±1% belief walks from 1-5%: normal vs exact conditional p-value.

    python benchmarks/ca202_extreme_walks.py --reps 300

Shows that CA202's low rejection rate there (docs/validation.md) is a property of the
scenario (the last forecast before absorption is not a stopping time), not of the
normal approximation: the exact conditional p-value (outcomes redrawn as
Bernoulli(p)) rejects as rarely. Martingale controls: Gaussian, jump, central walk.
"""

from __future__ import annotations

import argparse

from forecheck.simulate import simulate_panel
from forecheck.stats import calibration as cal

SCENARIOS = [("walk", {"p0": (0.01, 0.05), "step": 0.01}), ("gaussian", {}), ("jump", {}),
             ("walk", {"p0": (0.3, 0.7), "step": 0.01})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--series", type=int, default=50)
    args = ap.parse_args()
    print(f"{'scenario':<40s} normal  exact(MC)   ({args.reps} panels of {args.series} x 100, alpha 0.05)")
    for name, kw in SCENARIOS:
        rej_n = rej_mc = 0
        for r in range(args.reps):
            pan = simulate_panel(name, args.series, 100, seed=7_000_000 + r, **kw)
            _, p_normal = cal.spiegelhalter_z(pan.p_last, pan.outcome)
            p_mc = cal.spiegelhalter_mc_pvalue(pan.p_last, pan.outcome, 999, 20240601 + r)
            rej_n += p_normal < 0.05
            rej_mc += p_mc < 0.05
        print(f"{name + ' ' + str(kw):<40s} {rej_n / args.reps:6.3f}  {rej_mc / args.reps:6.3f}")


if __name__ == "__main__":
    main()

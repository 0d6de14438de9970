"""Size of the asymptotic (normal / t) references of MG101, MG103 and MG104 at the
switch-over point (forecheck/stats/asymptotic.py, ANALYTIC_MIN_NEFF = 1000).

For each honest simulator the number of series S is set by a pilot panel so that
the statistic's effective number N_v/deff is just above the threshold, i.e. the
smallest panels on which forecheck uses the normal reference instead of a
simulation. Every replication then runs the check with the asymptotic path forced
and records whether its raw p-value is below α, and how often N_v/deff was at or
above the threshold (the share of replications that would take this path).

    python benchmarks/asymptotic_size.py --reps 400            # all rows
    python benchmarks/asymptotic_size.py --reps 400 --only walk

Fixed seeds: row k, replication r uses seed 7_000_000·(k + 1) + r.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecheck.checks import CheckContext, martingale
from forecheck.config import AnalysisConfig
from forecheck.simulate import simulate_panel
from forecheck.stats import asymptotic

# (label, model, n_steps, params)
MODELS = [
    ("gaussian", "gaussian", 30, {}),
    ("jump", "jump", 30, {}),
    ("beta", "beta", 30, {}),
    ("stale", "stale", 30, {}),
    ("walk p0 .3-.7", "walk", 30, {"p0": (0.3, 0.7)}),
    ("walk p0 .01-.05", "walk", 30, {"p0": (0.01, 0.05)}),
]
RUN = {"MG101": martingale.check_mg101, "MG103": martingale.check_mg103, "MG104": martingale.check_mg104}


def _neff(code: str, res) -> float:
    """N_v/deff of the reference decision (details are typed: forecheck/details.py)."""
    d = res.details
    return float(d.inference.reference["n_eff_variance"] if code == "MG101" else d.n_eff_variance)


def _run(code: str, model: str, S: int, T: int, params: dict, seed: int):
    pan = simulate_panel(model, n_series=S, n_steps=T, seed=seed, **params)
    ctx = CheckContext(panel=pan, config=AnalysisConfig(n_sim=19))
    return RUN[code](ctx)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--only", default="")
    ap.add_argument("--codes", default="MG101,MG103,MG104")
    ap.add_argument("--max-series", type=int, default=60_000, help="largest S tried by the pilot")
    args = ap.parse_args(argv)
    thr = asymptotic.ANALYTIC_MIN_NEFF
    print(f"# command: python benchmarks/asymptotic_size.py --reps {args.reps}"
          + (f" --only '{args.only}'" if args.only else ""), flush=True)
    print("| simulator | check | series S | steps | median N_v/deff | share ≥ threshold | size at α = "
          f"{args.alpha:g} (95% MC band) | s/rep |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    band = 1.96 * np.sqrt(args.alpha * (1 - args.alpha) / args.reps)
    orig = asymptotic.ANALYTIC_MIN_NEFF
    for k, (label, model, T, params) in enumerate(MODELS):
        if args.only and args.only not in label:
            continue
        for code in args.codes.split(","):
            # pilot (forced asymptotic): N_v/deff per series, then S for ~1.1× threshold
            asymptotic.ANALYTIC_MIN_NEFF = 0.0
            try:
                S = 2000
                for it in range(3):  # N_v grows about linearly in S; three pilot panels per step
                    ne = float(np.median([_neff(code, _run(code, model, S, T, params, seed=90 + 3 * it + j))
                                          for j in range(3)]))
                    S = int(min(args.max_series, max(200, np.ceil(S * 1.15 * thr / max(ne, 1e-9)))))
                rej, above, nes = 0, 0, []
                t0 = time.perf_counter()
                for r in range(args.reps):
                    res = _run(code, model, S, T, params, seed=7_000_000 * (k + 1) + r)
                    ne = _neff(code, res)
                    nes.append(ne)
                    above += ne >= thr
                    rej += res.pvalue is not None and res.pvalue < args.alpha
                dt = (time.perf_counter() - t0) / args.reps
            finally:
                asymptotic.ANALYTIC_MIN_NEFF = orig
            print(f"| {label} | {code} | {S:,} | {T} | {np.median(nes):.0f} | {above / args.reps:.2f} | "
                  f"{rej / args.reps:.3f} (±{band:.3f}) | {dt:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

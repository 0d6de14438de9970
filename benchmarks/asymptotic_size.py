"""Size of the asymptotic (normal / t) references of MG101, MG103, MG104 and CA204,
and CA202's normal reference where its simulated cross-check is skipped, at the
switch-over point (forecheck/stats/asymptotic.py, ANALYTIC_MIN_NEFF = 1000).

For each honest simulator the number of series S is set by a pilot panel so that
the statistic's effective number N_v/deff is just above the threshold, i.e. the
smallest panels on which forecheck uses the normal reference instead of a
simulation. Every replication then runs the check with the asymptotic path forced
and records whether its raw p-value is below α, and how often N_v/deff was at or
above the threshold (the share of replications that would take this path).

    python benchmarks/asymptotic_size.py --reps 400            # all rows
    python benchmarks/asymptotic_size.py --reps 400 --only walk
    python benchmarks/asymptotic_size.py --reps 400 --only gaussian --codes CA202,CA204 --vs-simulated --n-sim 999
    python benchmarks/asymptotic_size.py --boundary --reps 1000 --n-sim 999

``--vs-simulated`` also runs each replication's panel with the simulated null (the
bootstrap; for CA202 its Monte-Carlo p-value) and reports that null's rejection rate and
the median and 95th percentile of |p_asymptotic − p_simulated| on the same panels.
``--boundary``: CA204's max-t on the boundary of its null, where its size is α by
construction (Hansen 2005): two horizons whose forecasts are exchangeable
(independent draws of one law, o ~ Bernoulli of their mean), so both contrasts have
mean 0; both references on the same data, units from 200 to 10,000.

Fixed seeds: row k, replication r uses seed 7_000_000·(k + 1) + r (boundary: 8_000_000 + r).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecheck.checks import CheckContext, calibration, martingale
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
RUN = {"MG101": martingale.check_mg101, "MG103": martingale.check_mg103, "MG104": martingale.check_mg104,
       "CA202": calibration.check_ca202, "CA204": calibration.check_ca204}


def _neff(code: str, res) -> float:
    """N_v/deff of the reference decision (details are typed: forecheck/details.py)."""
    d = res.details
    return float(d.inference.reference["n_eff_variance"] if code == "MG101" else d.n_eff_variance)


def _simulated_p(code: str, res) -> float | None:
    """The simulated null's p-value of a record run with the asymptotic path off."""
    return res.details.pvalue_mc if code == "CA202" else res.pvalue


def _run(code: str, model: str, S: int, T: int, params: dict, seed: int, n_sim: int = 19, pan=None):
    pan = simulate_panel(model, n_series=S, n_steps=T, seed=seed, **params) if pan is None else pan
    ctx = CheckContext(panel=pan, config=AnalysisConfig(n_sim=n_sim))
    return RUN[code](ctx), pan


def boundary(reps: int, n_sim: int, alpha: float) -> None:
    """CA204's two references at the boundary of its null (module docstring)."""
    print("| units n | reps | asymptotic: size | bootstrap: size | median abs(p_a - p_b) | "
          "95th pct abs(p_a - p_b) |")
    print("|---|---|---|---|---|---|", flush=True)
    orig = asymptotic.ANALYTIC_MIN_NEFF
    try:
        for n in (200, 1000, 10_000):
            rej_a = rej_b = 0
            diffs = []
            for r in range(reps):
                rng = np.random.default_rng(8_000_000 + r)
                P = rng.beta(2.0, 2.0, size=(n, 2))  # two exchangeable horizons
                o = (rng.uniform(size=n) < P.mean(axis=1)).astype(float)
                ps = []
                for thr in (0.0, float("inf")):
                    asymptotic.ANALYTIC_MIN_NEFF = thr
                    ps.append(calibration.horizon_consistency(P, o, n_sim, 5 + r)[1].pvalue)
                rej_a += ps[0] < alpha
                rej_b += ps[1] < alpha
                diffs.append(abs(ps[0] - ps[1]))
            print(f"| {n:,} | {reps} | {rej_a / reps:.3f} | {rej_b / reps:.3f} | {np.median(diffs):.3f} | "
                  f"{np.quantile(diffs, 0.95):.3f} |", flush=True)
    finally:
        asymptotic.ANALYTIC_MIN_NEFF = orig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--only", default="")
    ap.add_argument("--codes", default="MG101,MG103,MG104")
    ap.add_argument("--max-series", type=int, default=60_000, help="largest S tried by the pilot")
    ap.add_argument("--n-sim", type=int, default=19, help="simulation draws of each check (default 19)")
    ap.add_argument("--vs-simulated", action="store_true",
                    help="also run each panel with the simulated null and compare the p-values")
    ap.add_argument("--boundary", action="store_true", help="CA204 at the boundary of its null (docstring)")
    args = ap.parse_args(argv)
    thr = asymptotic.ANALYTIC_MIN_NEFF
    print("# command: python benchmarks/asymptotic_size.py " + " ".join(argv if argv is not None else
                                                                        __import__("sys").argv[1:]), flush=True)
    if args.boundary:
        boundary(args.reps, args.n_sim, args.alpha)
        return 0
    vs = (" | simulated: size | median abs(p_a - p_s) | 95th pct abs(p_a - p_s)" if args.vs_simulated else "")
    print("| simulator | check | series S | steps | median N_v/deff | share ≥ threshold | size at α = "
          f"{args.alpha:g} (95% MC band){vs} | s/rep |")
    print("|---|---|---|---|---|---|---|" + ("---|---|---|" if args.vs_simulated else "") + "---|", flush=True)
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
                    ne = float(np.median([_neff(code, _run(code, model, S, T, params, seed=90 + 3 * it + j)[0])
                                          for j in range(3)]))
                    S = int(min(args.max_series, max(200, np.ceil(S * 1.15 * thr / max(ne, 1e-9)))))
                rej, rej_sim, above, nes, diffs = 0, 0, 0, [], []
                t0 = time.perf_counter()
                for r in range(args.reps):
                    asymptotic.ANALYTIC_MIN_NEFF = 0.0
                    res, pan = _run(code, model, S, T, params, seed=7_000_000 * (k + 1) + r, n_sim=args.n_sim)
                    ne = _neff(code, res)
                    nes.append(ne)
                    above += ne >= thr
                    rej += res.pvalue is not None and res.pvalue < args.alpha
                    if args.vs_simulated:
                        asymptotic.ANALYTIC_MIN_NEFF = float("inf")
                        p_sim = _simulated_p(code, _run(code, model, S, T, params, 0, args.n_sim, pan=pan)[0])
                        rej_sim += p_sim is not None and p_sim < args.alpha
                        if p_sim is not None and res.pvalue is not None:
                            diffs.append(abs(res.pvalue - p_sim))
                dt = (time.perf_counter() - t0) / args.reps
            finally:
                asymptotic.ANALYTIC_MIN_NEFF = orig
            cmp = (f" | {rej_sim / args.reps:.3f} | {np.median(diffs):.3f} | {np.quantile(diffs, 0.95):.3f}"
                   if args.vs_simulated and diffs else "")
            print(f"| {label} | {code} | {S:,} | {T} | {np.median(nes):.0f} | {above / args.reps:.2f} | "
                  f"{rej / args.reps:.3f} (±{band:.3f}){cmp} | {dt:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

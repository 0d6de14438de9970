"""Size and power of every registered MG and CA check on simulated panels.

Runs ``forecheck.checks.run_checks`` on panels from ``forecheck.simulate`` and
prints the rejection rate at α = 0.05 of the *raw* p-values (no Holm), one row per
scenario, one column per check. A skipped check counts as "not rejected"; the
share of skips is printed separately when non-zero.

Reproduce the table in docs/validation.md with

    nice python benchmarks/size_power.py --reps 400 --n-sim 199
    nice python benchmarks/size_power.py --suite questions --reps 400 --n-sim 199

(fixed seeds: scenario k (0-based), replication r uses seed 1_000_000·(k + 1) + r).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np


from forecheck.checks import all_specs, run_checks
from forecheck.config import AnalysisConfig
from forecheck.simulate import simulate_panel

# (label, null?, model, n_series, n_steps, params)
SCENARIOS = [
    ("gaussian", True, "gaussian", 50, 100, {}),
    ("jump", True, "jump", 50, 100, {}),
    ("beta", True, "beta", 50, 100, {}),
    ("stale", True, "stale", 50, 100, {}),
    ("walk p0 .3-.7", True, "walk", 50, 100, {"p0": (0.3, 0.7)}),
    ("walk p0 .01-.05", True, "walk", 50, 100, {"p0": (0.01, 0.05)}),
    ("walk p0 .01-.05 S=30", True, "walk", 30, 100, {"p0": (0.01, 0.05)}),
    ("ar beta=1.5 (over)", False, "ar", 50, 100, {"beta": 1.5}),
    ("ar beta=0.7 (under)", False, "ar", 50, 100, {"beta": 0.7}),
    ("smooth lam=0.3", False, "smooth", 50, 100, {}),
    ("bidask 2c", False, "bidask", 50, 100, {}),
    # appended last, so that every row above keeps its seeds
    ("deadline", True, "deadline", 50, 100, {}),
]


# Multi-outcome questions and common factors (all martingales: rates are sizes).
# (label, builder(seed) -> Panel, true number of independent units or None, its meaning)
def _q_scenarios():
    from forecheck.simulate.questions import candidates_panel, factor_panel, pairs_panel

    kish = lambda S, r: S / (1 + (S - 1) * r)  # noqa: E731  equicorrelated increments
    out = [
        ("YES/NO pairs, detected (30 q × 2 × 60)", lambda sd: pairs_panel(30, 60, sd), 30.0),
        ("YES/NO pairs, declared (30 q × 2 × 60)", lambda sd: pairs_panel(30, 60, sd, declare=True), 30.0),
        ("races of 3, detected (30 q × 3 × 60)", lambda sd: candidates_panel(30, 3, 60, sd), 30.0),
        ("races of 3, declared (30 q × 3 × 60)", lambda sd: candidates_panel(30, 3, 60, sd, declare=True), 30.0),
    ]
    for rho in (0.01, 0.03, 0.1, 0.3):
        out.append((f"common factor rho={rho} (40 × 60)", lambda sd, r=rho: factor_panel(40, 60, sd, r), kish(40, rho)))
    out.append(("mix: factor rho=0.1 as YES/NO pairs (40 q × 2 × 60)",
                lambda sd: factor_panel(40, 60, sd, 0.1, pairs=True), kish(40, 0.1)))
    return out


Q_CODES = ("MG101", "MG103", "MG104", "MG105", "CA202")


def questions_main(args) -> int:
    """Size, inconclusive share and reported N_eff on the question / factor families."""
    from forecheck.checks import execute

    codes = tuple(args.codes.split(",")) if args.codes else Q_CODES
    cfg = AnalysisConfig(n_sim=args.n_sim, p_adjust="none", select=codes + ("MG106",))
    specs = [s for s in all_specs() if s.code in codes + ("MG106",)]
    print(f"# command: python benchmarks/size_power.py --suite questions --reps {args.reps} --n-sim {args.n_sim}"
          + (f" --only '{args.only}'" if args.only else "") + (f" --codes {args.codes}" if args.codes else ""),
          flush=True)
    print("| scenario (all H0) | " + " | ".join(codes) + " | N_eff true | MG106 N_eff | MG101 N_eff | "
          "questions found | s/rep |")
    print("|---|" + "---|" * (len(codes) + 5), flush=True)
    for k, (label, build, truth) in enumerate(_q_scenarios()):
        if args.only and not _selected(label, args.only):
            continue
        rej = {c: 0 for c in codes}
        npv = {c: 0 for c in codes}
        inc = {c: 0 for c in codes}
        n106, n101, nq = [], [], []
        t0 = time.time()
        for r in range(args.reps):
            pan = build(50_000_000 + 1_000_000 * k + r)
            results, ctx = execute(pan, replace(cfg, seed=r), specs)
            nq.append(ctx.questions().n_questions)
            for res in results:
                if res.code == "MG106" and res.estimate is not None:
                    n106.append(res.estimate)
                if res.code == "MG101" and res.status != "skip":
                    n101.append(res.details.inference.n_eff_gate)
                if res.code not in rej:
                    continue
                if res.status == "inconclusive":
                    inc[res.code] += 1
                elif res.status != "skip" and res.pvalue is not None:
                    npv[res.code] += 1
                    rej[res.code] += res.pvalue < args.alpha
        per = (time.time() - t0) / args.reps
        cells = []
        for c in codes:
            cell = f"{rej[c] / npv[c]:.3f}" if npv[c] else "–"
            if inc[c]:
                cell += f" ({inc[c] / args.reps:.0%} inconcl.)"
            cells.append(cell)
        med = lambda v: f"{np.median(v):.1f}" if v else "–"  # noqa: E731
        print(f"| {label} | " + " | ".join(cells) + f" | {truth:.1f} | {med(n106)} | {med(n101)} | "
              f"{np.median(nq):.0f} | {per:.2f} |", flush=True)
    return 0


def _selected(label: str, only: str) -> bool:
    """--only: comma-separated substrings of scenario labels; '=label' matches exactly."""
    parts = [o.strip() for o in only.split(",") if o.strip()]
    return any(label == o[1:] if o.startswith("=") else o in label for o in parts)


def _binary_rows(only: str):
    """(row number k, scenario) of the binary suite's rows that ``--only`` keeps."""
    return [(k, sc) for k, sc in enumerate(SCENARIOS) if not only or _selected(sc[0], only)]


def _binary_panel(k: int, r: int, model: str, S: int, T: int, params: dict):
    """Replication r of row k: seed 1 000 000·(k + 1) + r (docs/validation.md)."""
    return simulate_panel(model, S, T, seed=1_000_000 * (k + 1) + r, **params)


def drift_main(args) -> int:
    """MG106's ``common_drift_z`` on the binary scenarios (the same seeds as their rows)."""
    from forecheck.stats.dependence import COMMON_DRIFT_Z

    cfg = AnalysisConfig(n_sim=args.n_sim, p_adjust="none", select=("MG106",))
    specs = [s for s in all_specs() if s.code == "MG106"]
    print(f"# command: python benchmarks/size_power.py --drift --reps {args.reps}"
          + (f" --only '{args.only}'" if args.only else ""), flush=True)
    print(f"| scenario | H0 | mean z | sd z | share abs(z) > {COMMON_DRIFT_Z:g} |")
    print("|---|---|---|---|---|", flush=True)
    for k, (label, is_null, model, S, T, params) in _binary_rows(args.only):
        z = []
        for r in range(args.reps):
            pan = _binary_panel(k, r, model, S, T, params)
            z.extend(res.details.common_drift_z for res in run_checks(pan, replace(cfg, seed=r), specs)
                     if res.code == "MG106" and res.details is not None)
        z = np.asarray(z)
        print(f"| {label} ({S}×{T}) | {'yes' if is_null else 'no'} | {z.mean():+.2f} | {z.std():.2f} | "
              f"{np.mean(np.abs(z) > COMMON_DRIFT_Z):.3f} |", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--n-sim", type=int, default=199, help="simulation/bootstrap draws per p-value")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--only", default="", help="comma-separated scenario labels (substring match; '=label' exact)")
    ap.add_argument("--families", default="MG,CA")
    ap.add_argument("--codes", default="", help="comma-separated check codes (default: questions suite "
                    f"{','.join(Q_CODES)}; binary suite every check of --families)")
    ap.add_argument("--ungated", action="store_true",
                    help="binary suite: where the dependence gate withholds a p-value, count the p-value the "
                         "check would report if its units were independent (gate.pvalue_if_independent)")
    ap.add_argument("--drift", action="store_true",
                    help="binary suite: MG106's common-drift statistic per scenario instead (mean, sd and the "
                         "share beyond ±COMMON_DRIFT_Z of details.common_drift_z)")
    ap.add_argument("--suite", choices=("binary", "questions"), default="binary",
                    help="binary: the single-contract generators; questions: multi-outcome questions and "
                         "common-factor panels (size, inconclusive share, reported N_eff)")
    args = ap.parse_args(argv)
    if args.suite == "questions":
        return questions_main(args)
    if args.drift:
        return drift_main(args)
    fams = tuple(args.families.split(","))
    if args.codes:  # a few checks only (MG106 runs too: the runner's dependence gate reads it)
        want = tuple(args.codes.split(","))
        specs = [s for s in all_specs() if s.code in want + ("MG106",)]
        cfg = AnalysisConfig(n_sim=args.n_sim, p_adjust="none", select=want + ("MG106",))
    else:
        specs = [s for s in all_specs() if s.family in fams]
        cfg = AnalysisConfig(n_sim=args.n_sim, p_adjust="none", select=fams)
    codes = [s.code for s in specs if s.code not in ("MG106",)]
    print(f"# command: python benchmarks/size_power.py --reps {args.reps} --n-sim {args.n_sim}"
          + (f" --only '{args.only}'" if args.only else "") + (f" --codes {args.codes}" if args.codes else "")
          + (" --ungated" if args.ungated else ""), flush=True)
    print("| scenario | H0 | " + " | ".join(codes) + " | s/rep |")
    print("|---|---|" + "---|" * (len(codes) + 1), flush=True)
    for k, (label, is_null, model, S, T, params) in _binary_rows(args.only):
        rej = {c: 0 for c in codes}
        skip = {c: 0 for c in codes}
        t0 = time.time()
        for r in range(args.reps):
            pan = _binary_panel(k, r, model, S, T, params)
            for res in run_checks(pan, replace(cfg, seed=r), specs):
                if res.code not in rej:
                    continue
                pvalue = res.pvalue
                if pvalue is None and args.ungated and res.gate is not None:
                    pvalue = res.gate.pvalue_if_independent
                if res.status == "skip" or pvalue is None:
                    skip[res.code] += 1
                elif pvalue < args.alpha:
                    rej[res.code] += 1
        per = (time.time() - t0) / args.reps
        cells = []
        for c in codes:
            cell = f"{rej[c] / args.reps:.3f}"
            if skip[c]:
                cell += f" ({skip[c] / args.reps:.0%} skip)"
            cells.append(cell)
        print(f"| {label} ({S}×{T}) | {'yes' if is_null else 'no'} | " + " | ".join(cells) + f" | {per:.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

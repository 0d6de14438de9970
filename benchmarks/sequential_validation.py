"""How often does a nightly gate ever fail an honest forecaster? Fixed-sample MG101 vs the
anytime-valid e-processes of ``forecheck.stats.sequential``.

Every panel is S series × T steps (default 50 × 150) from an honest simulator, unresolved
until it resolves: a series' outcome becomes known at its resolution time (one step after
its last forecast: step T for every series, earlier for ±h walks absorbed at 0/1). A
nightly job at look time L sees the forecasts made at times ≤ L and the outcomes resolved
by L. K looks are spread evenly: L_j = round(j·T/K), j = 1..K (K = 150: every step).

(a) Fixed-sample gate: MG101 as it is today (``run_checks`` with the MG101 spec only,
    raw p-value < α) on the truncated panel at each look. Slow (~0.25 s a call), so it
    runs 5 looks on ``--fixed-reps`` panels and 30 looks on the first ``--fixed-reps-30``
    of them (the 5 looks are a subset of the 30).
(b) Sequential gate: the e-process over the full history gives every look at once
    (its value at look L uses only steps up to L; tests/test_sequential.py checks this):
    a look fails when e ≥ 1/α. MG101 alone, and the family MG101 + MG103 + CA202 with
    e-Bonferroni (any e_k ≥ 3/α). Both constructions: calendar-time pooled (valid under
    any dependence) and per-series product (valid for independent series only; run on the
    dependent panels too, to show what goes wrong when independence is wrongly declared).

Power: ×1.5 log-odds over-reaction (``ar`` β = 1.5) and exponential smoothing (``smooth``
λ = 0.3) — P(the e-process has crossed 1/α by look L) against the fixed-sample checks at
the last look (MG101, MG103, CA202 raw p < α, full data).

Reproduce the tables in docs/validation.md with

    python benchmarks/sequential_validation.py

(defaults; fixed seeds: scenario k, replication r uses seed 7 000 000 + 100 000·k + r;
``--reps``, ``--fixed-reps``, ``--fixed-reps-30``, ``--power-reps`` go bigger).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time

import numpy as np
from scipy.special import ndtr, ndtri

from forecheck.checks import all_specs, run_checks
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.simulate import SimPaths, simulate_paths
from forecheck.simulate.models import series_ids
from forecheck.stats import sequential as sq

NULLS = [  # (label, generator key, params)
    ("gaussian", "gaussian", {}),
    ("jump", "jump", {}),
    ("walk p0 .01–.05", "walk", {"p0": (0.01, 0.05)}),
    ("stale", "stale", {}),
    ("common factor ρ = 0.5", "common", {"rho": 0.5}),
    ("complementary pairs", "complement", {}),
]
ALTS = [
    ("ar β = 1.5 (over-reaction)", "ar", {"beta": 1.5}),
    ("smooth λ = 0.3", "smooth", {"lam": 0.3}),
]
LOOKS = (5, 30, 150)
POWER_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)


# ------------------------------------------------------------------ panels
def common_factor_paths(rng: np.random.Generator, S: int, T: int, rho: float) -> SimPaths:
    """Gaussian-signal Bayesians sharing a common shock (a national swing): latent
    S_{i,t} = S_{i,0} + Σ (√ρ W_t + √(1−ρ) W_{i,t}), p_{i,t} = Φ(S_{i,t}/√(H − t)), H = T,
    outcome 1{S_{i,H} > 0}. Future increments are independent of all series' pasts, so
    each p_i is a martingale in the joint filtration; outcomes are correlated."""
    start = rng.uniform(0.05, 0.95, S)
    s0 = ndtri(start) * np.sqrt(T)
    zc = rng.standard_normal(T)
    zi = rng.standard_normal((S, T))
    zc[0] = 0.0
    zi[:, 0] = 0.0
    s = s0[:, None] + np.cumsum(np.sqrt(rho) * zc[None, :] + np.sqrt(1 - rho) * zi, axis=1)
    tau = T - np.arange(T, dtype=float)
    shock = np.sqrt(rho) * rng.standard_normal() + np.sqrt(1 - rho) * rng.standard_normal(S)
    end = s[:, -1] + np.sqrt(tau[-1]) * shock
    p = np.clip(ndtr(s / np.sqrt(tau)), 2.0**-53, 1 - 2.0**-53)
    return SimPaths(p=p, length=np.full(S, T, np.int64), outcome=(end > 0).astype(np.int64))


def make_paths(key: str, S: int, T: int, seed: int, params: dict) -> SimPaths:
    if key == "common":
        return common_factor_paths(np.random.default_rng(seed), S, T, **params)
    if key == "complement":  # p and 1 − p: S/2 Gaussian Bayesians and their complementary contracts
        a = simulate_paths("gaussian", S // 2, T, seed)
        return SimPaths(p=np.vstack([a.p, 1.0 - a.p]), length=np.concatenate([a.length, a.length]),
                        outcome=np.concatenate([a.outcome, 1 - a.outcome]))
    return simulate_paths(key, S, T, seed, **params)


def panel_at(paths: SimPaths, look: float | None = None) -> Panel:
    """The panel a job sees at look time L: forecasts at times ≤ L, outcomes resolved by L
    (resolution time = the series' length, one step after its last forecast)."""
    S, T = paths.p.shape
    n = paths.length.astype(np.int64)
    rows = n if look is None else np.minimum(n, int(look) + 1)
    mask = np.arange(T)[None, :] < rows[:, None]
    time = np.broadcast_to(np.arange(T, dtype=float), (S, T))[mask]
    res_t = n.astype(float)
    known = np.ones(S, bool) if look is None else res_t <= look
    offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    return Panel(ids=series_ids(S), offsets=offsets, time=time, p=paths.p[mask].astype(float),
                 outcome=np.where(known, paths.outcome, np.nan).astype(float),
                 resolved_at=np.where(known, res_t, np.nan))


def look_times(T: int, K: int) -> np.ndarray:
    return np.unique(np.round(np.arange(1, K + 1) * T / K)).astype(float)


def declared_clusters(key: str, S: int) -> np.ndarray | None:
    """What an honest user declares with --cluster-col: nothing known to be shared
    (None: one series per cluster) for the independent simulators, one cluster for the
    common-factor panel, the pair for complementary contracts."""
    if key == "common":
        return np.zeros(S, np.int64)
    if key == "complement":
        return np.arange(S) % (S // 2)
    return None


def eprocesses(pan: Panel, how: str, alpha: float, cluster: np.ndarray | None = None) -> dict[str, sq.EProcess]:
    """how: 'pool' (calendar-time pooled), 'prod' (per-series product) or 'decl'
    (as declared: ``cluster`` codes, or per-series product when None)."""
    st = sq.panel_steps(pan)
    r = st.resolution
    ind = how == "prod" or (how == "decl" and cluster is None)
    cl = cluster if how == "decl" else None
    kw = dict(resolution=r, independent=ind, cluster=cl, alpha=alpha)
    return {"MG101": sq.mg101_eprocess(st.series, st.time, st.p_prev, st.dp, ratio_grid=None, **kw),
            "MG103": sq.mg103_eprocess(st.series, st.time, st.p_prev, st.dp, **kw),
            "CA202": sq.ca202_eprocess(st.time[r], st.p_prev[r], st.p_prev[r] + st.dp[r], independent=ind,
                                       cluster=None if cl is None else cl[st.series[r]], alpha=alpha)}


def e_at(e: sq.EProcess, looks: np.ndarray) -> np.ndarray:
    k = np.searchsorted(e.times, looks, side="right") - 1
    return np.where(k >= 0, np.exp(e.log_e[np.maximum(k, 0)]), 1.0)


# ------------------------------------------------------------------ workers
_SPECS = None


def _spec(code: str):
    global _SPECS
    if _SPECS is None:
        _SPECS = {s.code: s for s in all_specs()}
    return _SPECS[code]


def _fixed_fail(pan: Panel, codes: tuple[str, ...], n_sim: int, alpha: float, seed: int) -> dict[str, bool]:
    cfg = AnalysisConfig(n_sim=n_sim, p_adjust="none", select=codes, seed=seed)
    out = {c: False for c in codes}
    for r in run_checks(pan, cfg, specs=[_spec(c) for c in codes]):
        if r.code in out:
            out[r.code] = r.pvalue is not None and r.pvalue < alpha
    return out


def null_task(args) -> dict:
    k, r, key, params, S, T, alpha, fixed_looks, n_sim = args
    paths = make_paths(key, S, T, 7_000_000 + 100_000 * k + r, params)
    full = panel_at(paths)
    out: dict = {}
    decl = declared_clusters(key, S)
    for tag in ("pool", "prod", "decl"):
        if tag == "decl" and decl is None:  # declared independent: the per-series product again
            out.update({("decl",) + k_[1:]: v for k_, v in out.items() if k_[0] == "prod"})
            continue
        es = eprocesses(full, tag, alpha, decl)
        out[(tag, "final_e")] = es["MG101"].evalue
        for K in LOOKS:
            lt = look_times(T, K)
            ev = {c: e_at(e, lt) for c, e in es.items()}
            out[(tag, "MG101", K)] = bool(np.any(ev["MG101"] >= 1 / alpha))
            fam = np.stack([ev[c] for c in ("MG101", "MG103", "CA202")])
            out[(tag, "family", K)] = bool(np.any(fam >= 3 / alpha))
    if fixed_looks:
        lt = look_times(T, fixed_looks)
        fails = np.array([_fixed_fail(panel_at(paths, L), ("MG101",), n_sim, alpha, r)["MG101"] for L in lt])
        five = np.isin(lt, look_times(T, 5))
        out[("fixed", "MG101", 5)] = bool(fails[five].any())
        if fixed_looks >= 30:
            out[("fixed", "MG101", 30)] = bool(fails.any())
        out[("fixed", "MG101", 1)] = bool(fails[-1])
    return {"k": k, **{"|".join(map(str, key_)): v for key_, v in out.items()}}


def power_task(args) -> dict:
    k, r, key, params, S, T, alpha, fixed, n_sim = args
    paths = make_paths(key, S, T, 7_000_000 + 100_000 * (k + 50) + r, params)
    full = panel_at(paths)
    lt = np.round(np.array(POWER_FRACTIONS) * T)
    out: dict = {}
    for tag in ("pool", "prod"):
        es = eprocesses(full, tag, alpha)
        for c, e in es.items():
            ev = e_at(e, look_times(T, T))  # every step
            crossed = np.maximum.accumulate(ev >= 1 / alpha)
            for f, L in zip(POWER_FRACTIONS, lt):
                out[f"{tag}|{c}|{f}"] = bool(crossed[int(L) - 1])
        every = np.stack([e_at(e, look_times(T, T)) for e in es.values()])
        fam = np.maximum.accumulate(np.any(every >= 3 / alpha, 0))
        for f, L in zip(POWER_FRACTIONS, lt):
            out[f"{tag}|family|{f}"] = bool(fam[int(L) - 1])
    if fixed:
        for c, v in _fixed_fail(full, ("MG101", "MG103", "CA202"), n_sim, alpha, r).items():
            out[f"fixed|{c}"] = v
    return {"k": k, **out}


# ------------------------------------------------------------------ main
def _rate(rows: list[dict], key: str) -> tuple[float, int]:
    v = [row[key] for row in rows if key in row]
    return (float(np.mean(v)) if v else float("nan")), len(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=300, help="null panels per scenario (sequential)")
    ap.add_argument("--fixed-reps", type=int, default=20, help="null panels per scenario, fixed MG101 at 5 looks")
    ap.add_argument("--fixed-reps-30", type=int, default=8, help="... of which this many also at 30 looks")
    ap.add_argument("--power-reps", type=int, default=200, help="panels per alternative (sequential)")
    ap.add_argument("--power-fixed-reps", type=int, default=100, help="... of which this many with fixed checks")
    ap.add_argument("--n-sim", type=int, default=199, help="bootstrap draws of the fixed-sample checks")
    ap.add_argument("--series", type=int, default=50)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    S, T, a = args.series, args.steps, args.alpha
    cmd = " ".join(["python benchmarks/sequential_validation.py"] + (argv if argv is not None else sys.argv[1:]))
    print(f"# command: {cmd}", flush=True)
    t0 = time.time()
    tasks = []
    for k, (_, key, params) in enumerate(NULLS):
        for r in range(args.reps):
            fl = 30 if r < args.fixed_reps_30 else (5 if r < args.fixed_reps else 0)
            tasks.append((k, r, key, params, S, T, a, fl, args.n_sim))
    ptasks = [(k, r, key, params, S, T, a, r < args.power_fixed_reps, args.n_sim)
              for k, (_, key, params) in enumerate(ALTS) for r in range(args.power_reps)]
    with mp.get_context("fork").Pool(args.jobs) as pool:
        # the slow fixed-sample tasks first, so the two workers share them
        order = sorted(range(len(tasks)), key=lambda i: -tasks[i][7])
        res = []
        for i, x in enumerate(pool.imap_unordered(null_task, [tasks[i] for i in order], chunksize=1)):
            res.append(x)
            if (i + 1) % 100 == 0:
                print(f"  null panels {i + 1}/{len(tasks)}, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        pres = pool.map(power_task, sorted(ptasks, key=lambda t: -int(t[7])), chunksize=1)
    print(f"\n## Ever-fail rate of a nightly gate on honest forecasters ({S} series × {T} steps, α = {a})\n")
    print("| scenario | fixed MG101, 1 look | fixed MG101, 5 looks | fixed MG101, 30 looks "
          "| seq. MG101 pooled 5 / 30 / 150 | seq. family pooled 150 | seq. MG101 product 5 / 30 / 150 "
          "| seq. family product 150 | seq. as declared: MG101 150 / family 150 "
          "| mean final e, MG101 pooled / product |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k, (label, _, _) in enumerate(NULLS):
        rows = [x for x in res if x["k"] == k]

        def f(key):
            v, n = _rate(rows, key)
            return f"{v:.3f} ({n})" if n else "–"

        def g(tag, what):
            return " / ".join(f"{_rate(rows, f'{tag}|{what}|{K}')[0]:.3f}" for K in LOOKS)

        print(f"| {label} | {f('fixed|MG101|1')} | {f('fixed|MG101|5')} | {f('fixed|MG101|30')} | {g('pool', 'MG101')} "
              f"| {_rate(rows, 'pool|family|150')[0]:.3f} | {g('prod', 'MG101')} | {_rate(rows, 'prod|family|150')[0]:.3f} "
              f"| {_rate(rows, 'decl|MG101|150')[0]:.3f} / {_rate(rows, 'decl|family|150')[0]:.3f} "
              f"| {_rate(rows, 'pool|final_e')[0]:.3f} / {_rate(rows, 'prod|final_e')[0]:.3f} |")
    print(f"\nSequential columns: {args.reps} panels per row; fixed columns: panels in brackets.")
    print(f"\n## Power: P(e-process has crossed 1/α by look L), L as a fraction of {T} steps; "
          f"fixed-sample checks at the last look\n")
    print("| alternative | construction | check | " + " | ".join(f"L = {f:g}·T" for f in POWER_FRACTIONS)
          + " | fixed, last look |")
    print("|---|---|---|" + "---|" * (len(POWER_FRACTIONS) + 1))
    for k, (label, _, _) in enumerate(ALTS):
        rows = [x for x in pres if x["k"] == k]
        for tag, name in (("pool", "pooled"), ("prod", "product")):
            for c in ("MG101", "MG103", "CA202", "family"):
                fx = _rate(rows, f"fixed|{c}")
                fx_s = f"{fx[0]:.3f} ({fx[1]})" if fx[1] and tag == "pool" else ""
                print(f"| {label} | {name} | {c} | "
                      + " | ".join(f"{_rate(rows, f'{tag}|{c}|{f}')[0]:.3f}" for f in POWER_FRACTIONS) + f" | {fx_s} |")
    print(f"\nSequential: {args.power_reps} panels per alternative; fixed: panels in brackets. "
          f"Elapsed {time.time() - t0:.0f} s.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How often question detection pairs series that are not one question, and how many true
YES/NO pairs it finds (docs/validation.md, "Question detection").

    python benchmarks/question_detection.py                  # the simulated panels
    python benchmarks/question_detection.py --real ../shared/data   # also 538's 2018 races

Each simulated panel lists Q questions of a forecaster (``forecheck simulate`` models) as a
YES and a NO contract (p and 1 − p, exact complements; in the last rows the NO side moves
within ±0.008 of 1 − p, as a market's two prices do) among N independent series of the same
model on the same grid of L times, so every series is a detection candidate. The
table counts the detected two-outcome sets that are a true pair ("true") and those that
join two independent series, or a contract with an unrelated series ("chance"), and any
larger set. Seeds are fixed (questions: seed 7, independent series: seed 11).

With ``--real DIR`` (the folder of the FiveThirtyEight 2018 midterm files, CC BY 4.0) the
House, Senate and Governor candidate forecasts are read as ``forecheck analyze`` reads them
with ``--series-cols`` (candidate × model series, one race per (state, seat, model)), and
every detected set is checked against the race it should belong to.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

SIMULATED = (  # (model, L steps, Q true pairs, N independent series, noise of the NO side)
    ("gaussian", 5, 500, 20_000, 0.0),
    ("gaussian", 10, 500, 100_000, 0.0),
    ("gaussian", 30, 500, 50_000, 0.0),
    ("jump", 10, 500, 50_000, 0.0),
    ("jump", 30, 500, 50_000, 0.0),
    ("beta", 10, 500, 50_000, 0.0),
    ("gaussian", 50, 1000, 0, 0.0),
    ("jump", 100, 300, 0, 0.0),
    ("gaussian", 10, 500, 20_000, 0.008),
    ("gaussian", 30, 500, 50_000, 0.008),
)


def simulated_panel(model: str, L: int, n_questions: int, n_indep: int, noise: float = 0.0):
    """(offsets, time, p, outcome, partner): the rows of the panel and, per series, its
    true complement's series number (−1 for an independent series). With ``noise`` the NO
    side is 1 − p + U(−noise, noise) at each time (seed 5), as a market's two prices
    whose sum moves around 1."""
    from forecheck.simulate import simulate_paths

    parts, outs, partner = [], [], []
    if n_questions:
        q = simulate_paths(model, n_questions, L, 7)
        p = q.p[:, :L].astype(float)
        no = 1 - p + np.random.default_rng(5).uniform(-noise, noise, p.shape) if noise else 1 - p
        parts += [p, no]
        outs += [q.outcome.astype(float), 1 - q.outcome.astype(float)]
        partner += list(range(n_questions, 2 * n_questions)) + list(range(n_questions))
    if n_indep:
        ind = simulate_paths(model, n_indep, L, 11)
        parts.append(ind.p[:, :L].astype(float))
        outs.append(ind.outcome.astype(float))
        partner += [-1] * n_indep
    P = np.clip(np.vstack(parts), 1e-12, 1 - 1e-12)
    S = len(P)
    return (np.arange(S + 1, dtype=np.int64) * L, np.tile(np.arange(L, dtype=float), S), P.ravel(),
            np.concatenate(outs), np.asarray(partner))


def question_members(q) -> list[np.ndarray]:
    """The series of each detected question, in question order (one sort of the labels)."""
    order = np.argsort(q.label, kind="stable")
    lab = q.label[order]
    order, lab = order[lab >= 0], lab[lab >= 0]
    return np.split(order, np.flatnonzero(np.diff(lab)) + 1) if len(order) else []


def count_sets(q, same_question) -> tuple[int, int, int]:
    """(two-outcome sets of one question, two-outcome sets that are not, larger sets)."""
    true = chance = larger = 0
    for mem in question_members(q):
        if len(mem) != 2:
            larger += 1
        elif same_question(*mem):
            true += 1
        else:
            chance += 1
    return true, chance, larger


def run_simulated() -> None:
    from forecheck.stats import questions

    print("| model | steps | true pairs | NO side | independent series | true pairs found | chance pairs | larger sets "
          "| s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, L, nq, ni, noise in SIMULATED:
        offsets, t, p, o, partner = simulated_panel(model, L, nq, ni, noise)
        t0 = time.perf_counter()
        q = questions.detect(offsets, t, p, o)
        sec = time.perf_counter() - t0
        true, chance, larger = count_sets(q, lambda a, b, partner=partner: partner[a] == b)
        side = f"1 − p ± {noise:g}" if noise else "1 − p"
        print(f"| {model} | {L} | {nq:,} | {side} | {ni:,} | {true:,} | {chance:,} | {larger} | {sec:.1f} |",
              flush=True)


REAL = (  # (name, file, series columns, the columns of the race)
    ("House 2018", "538-midterms-2018/house_district_forecast.csv", ("state", "district", "candidate", "model"),
     (0, 1, 3)),
    ("Senate 2018", "538-midterms-2018/senate_seat_forecast.csv",
     ("state", "class", "special", "candidate", "model"), (0, 1, 2, 4)),
    ("Governor 2018", "538-midterms-2018/governor_state_forecast.csv", ("state", "candidate", "model"), (0, 2)),
)


def run_real(root: Path) -> None:
    from forecheck.io import ReadOptions, load
    from forecheck.stats import questions

    print("\n| file | series | sets found | of one race | not of one race | sizes |")
    print("|---|---|---|---|---|---|")
    left = []
    for name, rel, cols, race_cols in REAL:
        li = load([str(root / rel)], ReadOptions(series_cols=cols, time_col="forecastdate",
                                                 prob_col="win_probability"))
        panel = li.panel
        q = questions.of_panel(panel)
        race = [tuple(s.split("|")[i] for i in race_cols) for s in panel.ids.astype(str)]
        one = sum(len({race[i] for i in mem}) == 1 for mem in question_members(q))
        print(f"| {name} | {panel.n_series:,} | {q.n_questions} | {one} | {q.n_questions - one} | "
              f"{q.size_counts()} |", flush=True)
        left.extend((name, *x) for x in beaten_pairs(panel, q))
    print("\nPairs matching within 0.01, each the other's only match, left alone for a rival "
          "within their deviation + 0.01:")
    for name, a, b, dev, rival, rdev in left:
        print(f"  {name}: {a} + {b} (deviation {dev:.4f}); rival {rival} at {rdev:.4f}")


def beaten_pairs(panel, q, tol: float = 0.01) -> list[tuple]:
    """The pairs the rival rule leaves alone (stats/questions._GridSearch._beating_every_rival),
    by a direct scan of each grid of three or more candidates: pairs within ``tol`` at every
    time, each the other's only such match, neither in a detected question, with a third
    series within their deviation + tol; (ids, deviation, the nearest rival and its)."""
    from forecheck.stats import questions

    offsets, p = panel.offsets, panel.p
    lengths = np.diff(offsets)
    grid = questions._grid_groups(offsets, panel.time, questions.candidates(offsets, p, tol))
    ids = panel.ids.astype(str)
    out = []
    for g in np.unique(grid[grid >= 0]):
        mem = np.flatnonzero(grid == g)
        if len(mem) < 3:
            continue
        P = p[offsets[mem][:, None] + np.arange(lengths[mem[0]])[None, :]]
        dev = np.stack([np.max(np.abs(P + row - 1.0), axis=1) for row in P])  # (k, k), one row at a time
        np.fill_diagonal(dev, np.inf)
        match = dev <= tol
        only = match.sum(1) == 1
        for a in np.flatnonzero(only):
            b = int(np.flatnonzero(match[a])[0])
            if b < a or not only[b] or q.label[mem[a]] >= 0 or q.label[mem[b]] >= 0:
                continue
            near = np.minimum(dev[a], dev[b])
            near[[a, b]] = np.inf
            c = int(np.argmin(near))
            if near[c] <= dev[a, b] + tol:
                out.append((ids[mem[a]], ids[mem[b]], float(dev[a, b]), ids[mem[c]], float(near[c])))
    return out


def run_search(path: str) -> None:
    """What the pair search lists on the largest grid of a file (hot spot 46): candidate
    pairs listed by the cells, the largest list of one neighbouring cell offset, and the
    share of the listed pairs each probe keeps (probes in the cells' order: the first
    PAIR_DIMS are those the cells are built on)."""
    from forecheck.io import ReadOptions, load
    from forecheck.stats import questions

    panel = load([path], ReadOptions()).panel
    offsets, p = panel.offsets, panel.p
    grid = questions._grid_groups(offsets, panel.time, questions.candidates(offsets, p))
    g = np.bincount(grid[grid >= 0]).argmax()
    mem = np.flatnonzero(grid == g)
    L = int(np.diff(offsets)[mem[0]])
    probes = p[offsets[mem][:, None] + questions.probe_steps(L)[None, :]]
    cells = questions._MirrorCells(probes, questions.SUM_TOL)
    fixed = cells.by_probe.copy()  # (in the cells' order: within() reorders its own)
    block, questions.NEAR_BLOCK = questions.NEAR_BLOCK, 1 << 62  # one list per offset
    try:
        listed, largest, matched, kept = 0, 0, 0, np.zeros(len(fixed))
        for ipos, jpos in cells.near(np.arange(len(mem)), after=True):
            listed += len(ipos)
            largest = max(largest, len(ipos))
            kept += [np.count_nonzero(np.abs(pr[ipos] + pr[jpos] - 1.0) <= questions.SUM_TOL) for pr in fixed]
            matched += len(cells.within(ipos, jpos, questions.SUM_TOL)[0])
    finally:
        questions.NEAR_BLOCK = block
    print(f"{path}: grid of {len(mem):,} candidate series x {L} times; pairs listed {listed:,} "
          f"(largest offset {largest:,}); within 0.01 at every probe {matched:,}; share kept by each probe: "
          + ", ".join(f"{k / max(listed, 1):.2f}" for k in kept))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=None, help="the folder of the FiveThirtyEight files (../shared/data)")
    ap.add_argument("--no-simulated", action="store_true", help="only the real files")
    ap.add_argument("--search", default=None, metavar="FILE",
                    help="the pair search's counts on FILE's largest grid instead (hot spot 46)")
    args = ap.parse_args()
    if args.search is not None:
        run_search(args.search)
        return
    if not args.no_simulated:
        run_simulated()
    if args.real is not None:
        run_real(args.real)


if __name__ == "__main__":
    main()

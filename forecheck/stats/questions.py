"""Questions: the mutually exclusive outcomes of one event, listed as several series.

A market lists a YES and a NO contract, or one contract per candidate of a race;
a model publishes one probability per candidate. Those series are one question
with an outcome vector (exactly one outcome happens), not independent events:
the two sides of a binary question are mirror images (p and 1 − p), and every
pooled statistic that is symmetric under p ↦ 1 − p counts the question twice.

Declared questions come from ``--question-col``. Without it, complementary sets
are detected: series on an identical time grid whose probabilities sum to 1
(within ``tol``) at every time — pairs, triples, or all the series of a grid
(one race). Only series with at least ``MIN_ROWS`` forecasts that move are
candidates (two constant series at 0.5 sum to 1 by accident).

Budget of a question (Augenblick & Rabin 2021, *QJE* 136(2), Prop. 3, many
states): uncertainty u = 1 − Σ_s π_s², movement m = Σ_t Σ_s Δπ_{s,t}² including
the resolution step to the outcome vector. When Σ_s π_s = 1, u = Σ_s π_s(1 − π_s),
so the question's budget and movement are the sums of its contracts' binary
budgets (``stats/budget.py``); only the inference must count the question once.

All functions take arrays and return frozen dataclasses; no loop over series
(a loop runs over grids holding three or more series, for triples and races).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: |Σ_s p_s − 1| allowed at every shared time for a detected question, and for a
#: declared question whose mirror contract the pooled tests drop.
SUM_TOL = 0.01
#: a declared question whose median |Σ_s p_s − 1| over shared times exceeds this gets
#: a DQ011 finding (a market's overround of a few cents is ordinary).
DQ_TOL = 0.05
#: fewest forecasts a series needs to be a detection candidate.
MIN_ROWS = 3
#: detected sets: Σ_t (Δ Σ_s p_s)² at most this share of Σ_s Σ_t Δp_s².
MAX_SUM_MOVE = 0.05
#: grids with more candidates than this are searched for pairs only (triples cost k²·log k).
MAX_TRIPLE_GRID = 400


@dataclass(frozen=True)
class Questions:
    """Question membership of every series.

    label : (S,) int, question number 0..Q−1, or −1 for a series that is a question
        on its own (a binary contract with no listed complement).
    size : (Q,) contracts per question.
    source : "declared" (``--question-col``), "detected" or "none".
    prob_dev_max / prob_dev_median : (Q,) max / median over shared times of
        |Σ_s p_s − 1| (NaN where the contracts share no time).
    outcome_sum : (Q,) Σ_s o_s over the contracts (NaN when any is unresolved).
    complementary : (Q,) probabilities sum to 1 within tol at every shared time
        (the contracts are exact complements).
    """

    label: np.ndarray
    size: np.ndarray
    source: str
    prob_dev_max: np.ndarray
    prob_dev_median: np.ndarray
    outcome_sum: np.ndarray
    complementary: np.ndarray
    names: np.ndarray  # (Q,) str: declared value, or "q<k>" when detected
    tol: float = SUM_TOL

    @property
    def n_questions(self) -> int:
        return int(len(self.size))

    @property
    def n_series(self) -> int:
        return int(len(self.label))

    @property
    def n_in_questions(self) -> int:
        return int(np.sum(self.label >= 0))

    @property
    def bad_prob(self) -> np.ndarray:
        """Questions whose probabilities do not sum to 1 (median |Σp − 1| > DQ_TOL, or
        contracts that never share a time)."""
        return np.flatnonzero(~(np.isfinite(self.prob_dev_median) & (self.prob_dev_median <= DQ_TOL)))

    @property
    def bad_outcome(self) -> np.ndarray:
        """Resolved questions whose outcomes do not sum to exactly 1."""
        return np.flatnonzero(np.isfinite(self.outcome_sum) & (np.abs(self.outcome_sum - 1) > 1e-9))

    def size_counts(self) -> dict[int, int]:
        """{outcomes per question: number of questions}."""
        v, c = np.unique(self.size, return_counts=True)
        return {int(a): int(b) for a, b in zip(v, c)}

    def units(self) -> np.ndarray:
        """(S,) int: the question of each series, standalone series numbered after
        the questions (each its own unit)."""
        out = self.label.copy()
        solo = np.flatnonzero(out < 0)
        out[solo] = self.n_questions + np.arange(len(solo))
        return out

    def redundant(self) -> np.ndarray:
        """(S,) bool: the second contract of each complementary two-outcome question
        whose outcomes also sum to 1 (or are unresolved): an exact mirror image of the
        first (p ↦ 1 − p, o ↦ 1 − o), which every pooled statistic symmetric under
        that map would count twice."""
        S = self.n_series
        out = np.zeros(S, dtype=bool)
        if self.n_questions == 0:
            return out
        ok_o = ~np.isfinite(self.outcome_sum) | (np.abs(self.outcome_sum - 1) <= 1e-9)
        pair_q = (self.size == 2) & self.complementary & ok_o
        idx = np.flatnonzero(self.label >= 0)
        lab = self.label[idx]
        sel = pair_q[lab]
        idx, lab = idx[sel], lab[sel]
        # the first series (panel order) of each pair stays
        order = np.lexsort((idx, lab))
        idx, lab = idx[order], lab[order]
        second = np.zeros(len(lab), dtype=bool)
        second[1:] = lab[1:] == lab[:-1]
        out[idx[second]] = True
        return out

    def summary(self) -> str:
        """One line for the input header."""
        if self.n_questions == 0:
            return "no questions"
        sizes = self.size_counts()
        if len(sizes) == 1:
            k = next(iter(sizes))
            shape = f"{self.n_questions} questions of {k} outcomes"
        else:
            shape = f"{self.n_questions} questions (" + ", ".join(
                f"{n} of {k} outcomes" for k, n in sorted(sizes.items())) + ")"
        solo = self.n_series - self.n_in_questions
        text = f"{self.n_in_questions} series form {shape}" + (f"; {solo} series stand alone" if solo else "")
        if self.source == "detected":
            text += ("; pass --question-col to declare them, --no-question-detection to turn this off")
        return text


def none(n_series: int) -> Questions:
    z = np.zeros(0)
    return Questions(label=np.full(n_series, -1, dtype=np.int64), size=np.zeros(0, dtype=np.int64),
                     source="none", prob_dev_max=z, prob_dev_median=z, outcome_sum=z,
                     complementary=np.zeros(0, dtype=bool), names=np.zeros(0, dtype=object))


def _grid_groups(offsets: np.ndarray, time: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(S,) int grid number of each candidate series (−1 otherwise): series with the
    identical sequence of forecast times share a number (verified exactly)."""
    S = len(offsets) - 1
    lengths = np.diff(offsets)
    grid = np.full(S, -1, dtype=np.int64)
    c = np.flatnonzero(cand)
    if len(c) == 0:
        return grid
    L = int(lengths[0]) if S else 0
    if L and np.all(lengths == L):
        # every series on one identical grid (the usual panel): identical sequences
        # have identical fingerprints, so np.unique below would give all candidates
        # number 0 — the exact comparison is one pass instead of the fingerprints
        T = np.asarray(time).reshape(S, L)
        if np.array_equal(T, np.broadcast_to(T[0], T.shape)):
            grid[c] = 0
            return grid
    return grid_numbers(grid_keys(offsets, time), cand)


def grid_keys(offsets: np.ndarray, time: np.ndarray) -> np.ndarray:
    """(S, 4) fingerprint of each series' time grid: length, first time and two
    order-sensitive weighted sums of the times since the first. Each series' sums add
    its own rows in order, so a series has the same key whether it is computed on the
    whole panel or on a part holding the whole series (the Dask engine's partitions)."""
    S = len(offsets) - 1
    lengths = np.diff(offsets)
    series = np.repeat(np.arange(S), lengths)
    step = np.arange(len(time)) - np.repeat(offsets[:-1], lengths)
    t0 = time[offsets[:-1]]
    rel = time - t0[series]
    # two order-sensitive fingerprints of the time sequence
    h1 = np.bincount(series, weights=rel * np.cos(step * 0.7548776662), minlength=S)
    h2 = np.bincount(series, weights=rel * np.sin(step * 0.5698402910 + 0.3), minlength=S)
    return np.stack([lengths.astype(float), t0, np.round(h1, 6), np.round(h2, 6)], axis=1)


def grid_numbers(key: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(S,) grid number of each candidate series (−1 otherwise) from the fingerprints
    ``grid_keys``: grids numbered in the order of their keys."""
    grid = np.full(len(key), -1, dtype=np.int64)
    c = np.flatnonzero(cand)
    if len(c) == 0:
        return grid
    _, inv = np.unique(key[c], axis=0, return_inverse=True)
    grid[c] = inv.ravel()
    return grid


def candidates(offsets: np.ndarray, p: np.ndarray, tol: float = SUM_TOL) -> np.ndarray:
    """(S,) bool: the series that may be in a detected question: at least ``MIN_ROWS``
    forecasts that move by more than ``tol``."""
    S = len(offsets) - 1
    lengths = np.diff(offsets)
    pmin = np.minimum.reduceat(p, offsets[:-1]) if S else np.zeros(0)
    pmax = np.maximum.reduceat(p, offsets[:-1]) if S else np.zeros(0)
    return (lengths >= MIN_ROWS) & (pmax - pmin > tol)


def probe_steps(L: int) -> np.ndarray:
    """The steps of a grid of ``L`` times at which the search first compares series
    (up to 8, spread over the grid; a function of ``L`` only)."""
    return np.unique(np.linspace(0, L - 1, min(L, 8)).round().astype(int))


def _unique_sets(sets: np.ndarray, k: int) -> np.ndarray:
    """Keep the candidate sets (rows of member indices) whose members occur in no
    other candidate set (ambiguous matches are not grouped)."""
    if len(sets) == 0:
        return sets
    cnt = np.bincount(sets.ravel(), minlength=k)
    return sets[np.all(cnt[sets] == 1, axis=1)]


def _members(k: int, *idx: np.ndarray) -> np.ndarray:
    """``np.unique(np.concatenate(idx))`` of indices in 0..k−1, by a mask of the k."""
    seen = np.zeros(k, dtype=bool)
    for a in idx:
        seen[a] = True
    return np.flatnonzero(seen)


def _positions(k: int, idx: np.ndarray) -> np.ndarray:
    """(k,) the position in ``idx`` of each of its values (distinct, in 0..k−1; the other
    entries are not set): the inverse of a permutation, or the row of a series in the
    rows fetched for ``idx``."""
    out = np.empty(k, np.int64)
    out[idx] = np.arange(len(idx))
    return out


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) for all i, without a loop."""
    n = np.maximum(hi - lo, 0)
    tot = int(n.sum())
    if tot == 0:
        return np.zeros(0, dtype=np.int64)
    return np.repeat(lo, n) + (np.arange(tot) - np.repeat(np.cumsum(n) - n, n))


#: probes used to bucket pair candidates (3**PAIR_DIMS neighbouring cells per series)
PAIR_DIMS = 3
#: candidate pairs listed at a time by ``_MirrorCells.near`` (about; a query's own run is not split)
NEAR_BLOCK = 1 << 22


class _MirrorCells:
    """The series of one grid bucketed by their values at the probes ``Pp`` (k, n), so
    that the series within ``tol`` of a series' mirror image (1 − Pp_i at every probe)
    are found without comparing all pairs.

    Matching on one probe alone lists every pair of series that start near 50%
    (10⁸ pairs for 10⁵ such series). Instead each series is put in a cell of width
    ≥ tol on up to ``PAIR_DIMS`` probes (those with the fewest near-mirror
    neighbours, counted per probe); a series j within tol of i's mirror image lies
    within one cell of 1 − Pp_i on each, so it is found among the 3^m neighbouring
    cells of i's mirror image. The series are held in the order of their cells
    (``order``: the series at each position; ``pos``: each series' position), so
    that a cell is a run of positions and its probe values lie side by side."""

    def __init__(self, Pp: np.ndarray, tol: float):
        k, n_probe = Pp.shape
        # cells wider than tol (a superset for any width ≥ tol; the margin absorbs the
        # rounding of 1 − x), at most 10⁴ per probe
        w = max(float(tol) * 1.001, 1e-4)
        m = self.m = min(PAIR_DIMS, n_probe)
        base = int(np.floor(1.0 / w)) + 4  # cells per probe, with room for the ±1 neighbours
        # the probes on which fewest series sit near another's mirror image (late
        # probes of absorbed paths pile up at 0 and 1, where every pair matches)
        cand_per_probe = np.empty(n_probe)
        for c in range(n_probe):
            h = np.bincount(np.floor(np.clip(Pp[:, c], 0, 1) / w).astype(np.int64) + 1, minlength=base)
            near = h + np.r_[0, h[:-1]] + np.r_[h[1:], 0]
            cand_per_probe[c] = near[np.floor(np.clip(1.0 - Pp[:, c], 0, 1) / w).astype(np.int64) + 1].sum()
        selective = np.argsort(cand_per_probe, kind="stable")
        X = np.clip(Pp[:, selective[:m]], 0.0, 1.0)
        cell = np.floor(X / w).astype(np.int64) + 1  # in [1, base − 2]
        mirror = np.floor((1.0 - X) / w).astype(np.int64) + 1
        self.weights = base ** np.arange(m, dtype=np.int64)
        key = cell @ self.weights
        self.order = np.argsort(key, kind="stable")
        self.pos = _positions(k, self.order)
        n_keys = base**m
        self.dense = n_keys <= max(4 * k, 1 << 22)
        if self.dense:
            # counting table of the keys: the run of each key is read by two gathers
            # (the binary searches on the sorted keys cost 0.7 s at 10⁵ series)
            self.count = np.bincount(key, minlength=n_keys)
            self.first = np.cumsum(self.count)
            self.first -= self.count
        else:
            self.skey = key[self.order]
        self.mkey = (mirror @ self.weights)[self.order]  # (by position)
        # the probes, most selective first (a list of pairs tested probe by probe shrinks
        # fastest so; the test is every probe, so the order changes nothing found), each
        # probe's values by position
        self.by_probe = np.ascontiguousarray(Pp[self.order][:, selective].T)
        self.tuned = False

    def _tune(self, ipos: np.ndarray, jpos: np.ndarray, tol, n: int = 4096) -> None:
        """Order the probes by how many of the first listed pairs (up to ``n`` of them,
        evenly spaced) each one rejects among those the probes before it keep (greedy):
        the probes the cells were built on reject few of the pairs their cells list,
        others many. Only the work depends on the order: every probe is tested."""
        take = np.linspace(0, len(ipos) - 1, min(n, len(ipos))).astype(np.int64)
        t = np.asarray(tol)[take] if np.ndim(tol) else tol
        ok = np.abs(self.by_probe[:, ipos[take]] + self.by_probe[:, jpos[take]] - 1.0) <= t
        left, chosen = np.ones(len(take), bool), []
        for _ in range(len(ok)):
            rest = [r for r in range(len(ok)) if r not in chosen]
            r = min(rest, key=lambda r: int(np.count_nonzero(ok[r] & left)))
            chosen.append(r)
            left &= ok[r]
        self.by_probe = np.ascontiguousarray(self.by_probe[chosen])
        self.tuned = True

    def near(self, qpos: np.ndarray, after: bool = False):
        """For each of the 3^m neighbouring cells of the mirror images of the series at
        positions ``qpos``: (index in ``qpos``, position of a series in that cell), one
        pair of arrays per cell (every series within tol of a mirror image is in one of
        them). With ``after``, only the positions after the query's own: each pair of
        positions once (the relation is symmetric for the pairs within tol, which each
        side's cells list)."""
        m, weights = self.m, self.weights
        mkey = self.mkey[qpos]
        for off in np.array(np.meshgrid(*[[-1, 0, 1]] * m, indexing="ij")).reshape(m, -1).T:
            c = mkey + int(off @ weights)  # = (mirror + off) @ weights: the key is linear
            if self.dense:
                n_c = self.count[c]
                lo = self.first[c]
            else:
                lo = np.searchsorted(self.skey, c, side="left")
                n_c = np.searchsorted(self.skey, c, side="right") - lo
            if after:  # the run's positions after qpos: [max(lo, qpos + 1), lo + n_c)
                hi = lo + n_c
                lo = np.maximum(lo, qpos + 1)
                n_c = np.maximum(hi - lo, 0)
            if not n_c.any():
                continue
            # in blocks of queries listing about ``NEAR_BLOCK`` pairs at a time: among
            # absorbed short paths one offset's cells list 10⁷ pairs (sp_short10m.csv;
            # `python benchmarks/question_detection.py --search FILE`), whose index arrays
            # and probe gathers would otherwise be held all at once
            cum = np.cumsum(n_c)
            cut = np.searchsorted(cum, np.arange(NEAR_BLOCK, int(cum[-1]), NEAR_BLOCK), side="left") + 1
            for a, b in zip(np.r_[0, cut], np.r_[cut, len(qpos)]):
                if b > a:
                    yield np.repeat(np.arange(a, b), n_c[a:b]), _ranges(lo[a:b], lo[a:b] + n_c[a:b])

    def within(self, ipos: np.ndarray, jpos: np.ndarray, tol) -> tuple[np.ndarray, np.ndarray]:
        """The pairs of positions (ipos, jpos) with |Pp_i + Pp_j − 1| ≤ tol at every
        probe (``tol`` a scalar or one per pair), tested probe by probe on the pairs
        still left."""
        if not self.tuned and len(ipos):
            self._tune(ipos, jpos, tol)
        for probe in self.by_probe:
            ok = np.abs(probe[ipos] + probe[jpos] - 1.0) <= tol
            ipos, jpos = ipos[ok], jpos[ok]
            if np.ndim(tol):
                tol = tol[ok]
        return ipos, jpos


def _pair_candidates(Pp: np.ndarray, tol: float, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i < j) with ``|Pp_i + Pp_j − 1| ≤ tol`` at every probe (the caller
    verifies every time), found through :class:`_MirrorCells`: each pair of cell
    positions once, from the earlier position's query. In :func:`_pair_order`
    (``ordered``), or as found (a caller that keeps a subset orders that)."""
    k = len(Pp)
    if k < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cells = _MirrorCells(Pp, tol)
    ii_parts, jj_parts = [], []
    for ipos, jpos in cells.near(np.arange(k), after=True):
        # every probe checked before the lists are joined and sorted: few survive
        ipos, jpos = cells.within(ipos, jpos, tol)
        a, b = cells.order[ipos], cells.order[jpos]
        ii_parts.append(np.minimum(a, b))
        jj_parts.append(np.maximum(a, b))
    if not ii_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ii, jj = np.concatenate(ii_parts), np.concatenate(jj_parts)
    if not ordered:
        return ii, jj
    srt = _pair_order(Pp, ii, jj)
    return ii[srt], jj[srt]


def _pair_order(Pp: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """The order of pairs (i < j) of a search on the first probe: i ascending, then j in
    argsort order of that probe, so that the questions are numbered as before the
    bucketing. A total order (each pair appears once): a subset sorted after it is
    filtered is in the order it had in the sorted whole."""
    rank0 = _positions(len(Pp), np.argsort(Pp[:, 0]))
    return np.lexsort((rank0[jj], ii))


class _GridSearch:
    """The search of one grid (k series × L shared times, ``_search_grid``) in stages,
    so that a caller holding only the probes (the values at ``probe_steps(L)``) can
    fetch the full rows of the few series a stage still needs before the next:

    1. ``__init__``: pair candidates at the probes (``need_pairs``: their rows);
    2. ``pairs(rows)``: pairs verified at every other time, kept when their match beats
       every rival (``_beating_every_rival``, which asks for the rows of the rivals it
       finds at the probes); the whole rest of the grid as one race and the triples
       tested at the probes (necessary conditions; ``need_rest``: the rows of the rest
       if it may be a race, and of the triple candidates);
    3. ``rest(rows)``: the race and the triples verified at every time.

    ``rows(idx)`` gives the (len(idx), L) probabilities of local series ``idx``
    (sorted); the sets found, in order, are ``found``. ``screen(ii, jj, tol)``, if given,
    is a further necessary condition on pairs (a mask of those that may sum to 1 within
    tol at every time), tested before their rows are asked for.
    """

    def __init__(self, Pp: np.ndarray, L: int, tol: float, screen=None):
        self.k, self.L, self.tol, self.Pp = len(Pp), L, tol, Pp
        self.probe = probe_steps(L)
        # (every probe already verified; ordered by ``pairs`` once the other times are)
        self.ii, self.jj = _pair_candidates(Pp, tol, ordered=False)
        self.screen = screen
        if screen is not None and len(self.ii):
            ok = screen(self.ii, self.jj)  # (order kept: the same pairs survive the full test)
            self.ii, self.jj = self.ii[ok], self.jj[ok]
        self.found: list[np.ndarray] = []
        self.rest_idx = np.zeros(0, np.int64)
        self.race = False
        self.trip = None

    def need_pairs(self) -> np.ndarray:
        # the sorted distinct members of the candidate pairs, flagged in a (k,) mask: O(k +
        # pairs), where np.unique sorts or hashes the 2·pairs members (1.3 s for the 1.6·10⁷
        # chance candidates of 10⁶ ten-step series, and asked for twice)
        return _members(self.k, self.ii, self.jj)

    def pairs(self, rows) -> None:
        k, L, tol = self.k, self.L, self.tol
        ii, jj = self.ii, self.jj
        if len(ii):
            at = self.need_pairs()
            P = rows(at)
            row_of = _positions(k, at)  # (the row of each series of ``at`` in P)
            mi, mj = row_of[ii], row_of[jj]
            # then every other time, one at a time: the test max_t |P_i + P_j − 1| ≤ tol, but
            # the list shrinks fast, and no (pairs × L) array is formed
            for c in np.flatnonzero(~np.isin(np.arange(L), self.probe)):
                if not len(mi):
                    break
                col = np.ascontiguousarray(P[:, c])
                ok = np.abs(col[mi] + col[mj] - 1.0) <= tol
                mi, mj = mi[ok], mj[ok]
            ii, jj = at[mi], at[mj]
        pairs = _unique_sets(np.stack([ii, jj], axis=1), k)
        # in the order of the search on the first probe (a subset keeps it when sorted after)
        pairs = pairs[_pair_order(self.Pp, pairs[:, 0], pairs[:, 1])]
        if len(pairs):
            pairs = self._beating_every_rival(pairs, row_of, P, rows)
        self.found.extend(pairs)
        used = np.zeros(k, dtype=bool)
        used[pairs.ravel()] = True
        rest = np.flatnonzero(~used)
        if len(rest) < 3:
            return
        self.rest_idx = rest
        # the rest of the grid as one question (all candidates of one race), first at the
        # probes: a necessary condition (the slack covers the rounding of the column sums)
        self.race = bool(np.max(np.abs(self.Pp[rest].sum(axis=0) - 1.0)) <= tol * (1 + 1e-6) + 1e-12 * len(rest))
        if len(rest) > MAX_TRIPLE_GRID:
            return
        # triples: for each pair (i < j) the third must be 1 − p_i − p_j
        R = self.Pp[rest]
        r = len(rest)
        iu, ju = np.triu_indices(r, 1)
        need = 1.0 - R[iu, 0] - R[ju, 0]
        order = np.argsort(R[:, 0])
        srt = R[order, 0]
        lo = np.searchsorted(srt, need - tol, side="left")
        hi = np.searchsorted(srt, need + tol, side="right")
        n_c = hi - lo
        if n_c.sum() == 0:
            return
        pi = np.repeat(iu, n_c)
        pj = np.repeat(ju, n_c)
        pl = order[_ranges(lo, hi)]
        keep = pl > pj
        pi, pj, pl = pi[keep], pj[keep], pl[keep]
        ok = np.max(np.abs(R[pi] + R[pj] + R[pl] - 1.0), axis=1) <= tol
        self.trip = (rest[pi[ok]], rest[pj[ok]], rest[pl[ok]])

    def _beating_every_rival(self, pairs: np.ndarray, row_of: np.ndarray, P: np.ndarray, rows) -> np.ndarray:
        """The pairs (rows of two local indices, each series in one pair) whose match
        beats every rival by the tolerance: no third series of the grid has a maximum
        deviation |p_x + p_c − 1| from either member x of at most the pair's own,
        max_t |p_a + p_b − 1|, plus ``tol``. A match that is merely the only one within
        tol is not enough among many short paths: independent paths then pass within
        tol of each other's mirror image by chance, each its only match, and a rival
        just beyond tol (which a chance match in a crowd nearly always has) shows that
        the partner was not told apart from the crowd. An exact complement (deviation 0)
        needs no rival within tol, which uniqueness already requires; a pair that
        matches only to within tol needs none within 2·tol. (The ratio test of
        nearest-neighbour matching, Lowe 2004, *IJCV* 60(2) §7.1, in additive form.)
        ``P``: rows that hold the pairs' members, series x at row ``row_of[x]``."""
        k, tol = self.k, self.tol
        margin = np.max(np.abs(P[row_of[pairs[:, 0]]] + P[row_of[pairs[:, 1]]] - 1.0), axis=1) + tol
        member = pairs.ravel()
        pair_of = np.full(k, -1, np.int64)
        pair_of[member] = np.repeat(np.arange(len(pairs)), 2)
        # rivals at the probes (a necessary condition), in cells of the widest margin
        cells = _MirrorCells(self.Pp, float(margin.max()))
        qpos, xs, cs = cells.pos[member], [], []
        margin_q = np.repeat(margin, 2)  # (the margin of each member's pair, as ``member``)
        for qi, cpos in cells.near(qpos):
            xpos, cpos = cells.within(qpos[qi], cpos, margin_q[qi])
            xs.append(cells.order[xpos])
            cs.append(cells.order[cpos])
        x = np.concatenate([np.zeros(0, np.int64), *xs])
        c = np.concatenate([np.zeros(0, np.int64), *cs])
        # neither a member itself nor its partner is its rival
        partner_of = np.full(k, -1, np.int64)
        partner_of[member] = pairs[:, ::-1].ravel()
        keep = (c != x) & (c != partner_of[x])
        x, c = x[keep], c[keep]
        if len(x) and self.screen is not None:
            ok = self.screen(x, c, float(margin.max()))
            x, c = x[ok], c[ok]
        beaten = np.zeros(len(pairs), bool)
        if len(x):
            need = _members(k, x, c)
            R = rows(need)
            row_in_r = _positions(k, need)  # (the row of each series of ``need`` in R)
            dev = np.max(np.abs(R[row_in_r[x]] + R[row_in_r[c]] - 1.0), axis=1)
            beaten[pair_of[x[dev <= margin[pair_of[x]]]]] = True
        return pairs[~beaten]

    def need_rest(self) -> np.ndarray:
        parts = [self.rest_idx] if self.race else []
        if self.trip is not None:
            parts.extend(self.trip)
        return _members(self.k, *parts) if parts else np.zeros(0, np.int64)

    def rest(self, rows) -> None:
        rest, tol = self.rest_idx, self.tol
        if len(rest) < 3:
            return
        if self.race and np.max(np.abs(rows(rest).sum(axis=0) - 1.0)) <= tol:
            self.found.append(rest)
            return
        if self.trip is None:
            return
        pi, pj, pl = self.trip
        if len(pi):
            at = self.need_rest()
            P = rows(at)
            ai, aj, al = np.searchsorted(at, pi), np.searchsorted(at, pj), np.searchsorted(at, pl)
            ok = np.max(np.abs(P[ai] + P[aj] + P[al] - 1.0), axis=1) <= tol
        else:
            ok = np.zeros(0, bool)
        trip = _unique_sets(np.stack([pi[ok], pj[ok], pl[ok]], axis=1), self.k)
        self.found.extend(trip)


def _search_grid(P: np.ndarray, tol: float) -> list[np.ndarray]:
    """Complementary sets among the rows of P (k series × L shared times)."""
    k, L = P.shape
    s = _GridSearch(P[:, probe_steps(L)], L, tol)

    def rows(idx):
        return P if len(idx) == k else P[idx]  # (idx sorted: all of them is 0..k−1)

    s.pairs(rows)
    s.rest(rows)
    return s.found


class PanelRows:
    """The rows of a panel's series as ``find_sets`` reads them (offsets, p: the panel's)."""

    screen = None  # (the rows are at hand: no screening before they are read)

    def __init__(self, offsets: np.ndarray, p: np.ndarray):
        self.offsets, self.p = offsets, p
        S = len(offsets) - 1
        lengths = np.diff(offsets)
        # every series, all of one length: the rows as they lie
        self.square = bool(S and offsets[0] == 0 and offsets[-1] == len(p) == S * lengths[0])
        self.S = S

    def probes(self, mem: np.ndarray, L: int) -> np.ndarray:
        return self.p[self.offsets[mem][:, None] + probe_steps(L)[None, :]]

    def rows(self, mem: np.ndarray, L: int) -> np.ndarray:
        if self.square:
            P = self.p.reshape(self.S, L)
            return P if len(mem) == self.S else P[mem]
        return self.p[self.offsets[mem][:, None] + np.arange(L)[None, :]]

    def flat(self, mem: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The rows of series ``mem`` one after another."""
        return self.p[np.repeat(self.offsets[mem], lengths) + (np.arange(lengths.sum())
                                                                 - np.repeat(np.cumsum(lengths) - lengths, lengths))]

    def prefetch(self, mem: np.ndarray) -> None:
        pass


def find_sets(grid: np.ndarray, lengths: np.ndarray, src, tol: float = SUM_TOL) -> list[np.ndarray]:
    """Complementary sets (before ``_moving_together``) among the candidate series of
    each grid (``grid``: the grid number of each series, −1 for none), reading rows
    through ``src`` (``PanelRows``, or the Dask engine's rows fetched from its
    partitions): its probes first, then the full rows of the series a stage still
    needs (``src.prefetch`` is told each stage's series at once). Sets in the order of
    ``detect``: the grids of two series in grid order, then each larger grid's.

    A source has ``probes(mem, L)`` ((k, n) values at ``probe_steps(L)``), ``rows(mem,
    L)`` ((k, L), C order), ``flat(mem, lengths)`` (the rows one after another),
    ``prefetch(mem)`` and ``screen``: None, or ``screen(a, b)`` a mask of the pairs of
    series (a_i, b_i) of one grid that may sum to 1 at every time (a necessary
    condition, tested before their rows are asked for)."""
    gsize = np.bincount(grid[grid >= 0])
    members_by_grid = np.argsort(np.where(grid >= 0, grid, np.iinfo(np.int64).max), kind="stable")
    members_by_grid = members_by_grid[: int(np.sum(grid >= 0))]
    gstart = np.concatenate([[0], np.cumsum(gsize)])
    sets: list[np.ndarray] = []
    # grids of exactly two series: one vectorised pass
    two = np.flatnonzero(gsize == 2)
    a = members_by_grid[gstart[two]]
    b = members_by_grid[gstart[two] + 1]
    if len(two) and src.screen is not None:
        keep = src.screen(a, b, tol)
        a, b = a[keep], b[keep]
    big = [(g, members_by_grid[gstart[g]:gstart[g + 1]]) for g in np.flatnonzero(gsize >= 3)]
    searches = []
    for _, mem in big:  # few large grids (e.g. all states on one daily grid)
        L = int(lengths[mem[0]])
        screen = None if src.screen is None else (
            lambda ii, jj, tol=tol, mem=mem: src.screen(mem[ii], mem[jj], tol))
        searches.append(_GridSearch(src.probes(mem, L), L, tol, screen))
    src.prefetch(np.concatenate([a, b, *[mem[s.need_pairs()] for (_, mem), s in zip(big, searches)]]))
    if len(a):
        # equal grids: row r of a pairs with row r of b
        la = lengths[a]
        dev = np.abs(src.flat(a, la) + src.flat(b, la) - 1.0)
        pair_of = np.repeat(np.arange(len(a)), la)
        mx = np.zeros(len(a))
        np.maximum.at(mx, pair_of, dev)
        ok = mx <= tol
        sets.extend(np.stack([a[ok], b[ok]], axis=1))
    for (_, mem), s in zip(big, searches):
        s.pairs(lambda idx, mem=mem, L=s.L: src.rows(mem[idx], L))
    src.prefetch(np.concatenate([np.zeros(0, np.int64), *[mem[s.need_rest()] for (_, mem), s in zip(big, searches)]]))
    for (_, mem), s in zip(big, searches):
        s.rest(lambda idx, mem=mem, L=s.L: src.rows(mem[idx], L))
        sets.extend(mem[x] for x in s.found)
    return sets


def detect(offsets: np.ndarray, time: np.ndarray, p: np.ndarray, outcome: np.ndarray,
           tol: float = SUM_TOL) -> Questions:
    """Detect complementary sets: series on one time grid whose probabilities sum to
    1 within ``tol`` at every time (see the module docstring)."""
    offsets = np.asarray(offsets, np.int64)
    S = len(offsets) - 1
    lengths = np.diff(offsets)
    cand = candidates(offsets, p, tol)
    grid = _grid_groups(offsets, time, cand)
    label = np.full(S, -1, dtype=np.int64)
    if not np.any(grid >= 0):
        return none(S)
    sets = find_sets(grid, lengths, PanelRows(offsets, p), tol)
    sets = _moving_together(sets, offsets, lengths, p)
    if not sets:
        return none(S)
    sizes = np.array([len(x) for x in sets])
    label[np.concatenate([np.asarray(x) for x in sets])] = np.repeat(np.arange(len(sets)), sizes)
    return summarise(label, offsets, time, p, outcome, source="detected", tol=tol)


def detect_fetched(lengths: np.ndarray, cand: np.ndarray, key: np.ndarray, src, outcome: np.ndarray,
                   tol: float = SUM_TOL) -> Questions:
    """``detect`` from per-series summaries (lengths, ``candidates``, ``grid_keys``,
    the outcomes) and a row source ``src`` that fetches the rows of the series a stage
    needs (the Dask engine's driver: ``src.rows_of(idx)`` gives their (time, p) rows).
    The same sets, numbers and labels as ``detect`` on the whole panel: the same grids
    (the keys' numbering; ``_grid_groups``' shortcut for one shared grid numbers it 0,
    as the keys do), the same tests on the same values, and the movement test and the
    sums of ``summarise`` on the rows of the detected series only (each of their sums
    runs over those rows alone, in panel order)."""
    S = len(lengths)
    grid = grid_numbers(key, cand)
    if not np.any(grid >= 0):
        return none(S)
    sets = find_sets(grid, lengths, src, tol)
    if not sets:
        return none(S)
    mem = np.unique(np.concatenate([np.asarray(x) for x in sets]))
    t_rows, p_rows = src.rows_of(mem)
    L = lengths[mem]
    off = np.concatenate([[0], np.cumsum(L)]).astype(np.int64)
    local = [np.searchsorted(mem, x) for x in sets]
    p_c = np.concatenate(p_rows) if len(p_rows) else np.zeros(0)
    kept = _moving_together(local, off, L, p_c)
    if not kept:
        return none(S)
    sizes = np.array([len(x) for x in kept])
    lab_c = np.full(len(mem), -1, dtype=np.int64)
    lab_c[np.concatenate(kept)] = np.repeat(np.arange(len(kept)), sizes)
    # the rows of the detected series only (summarise reads no other row)
    inq = lab_c >= 0
    sub = mem[inq]
    Ls = lengths[sub]
    off_s = np.concatenate([[0], np.cumsum(Ls)]).astype(np.int64)
    rows_in = np.flatnonzero(inq)
    q = summarise(lab_c[inq], off_s, np.concatenate([t_rows[i] for i in rows_in]),
                  np.concatenate([p_rows[i] for i in rows_in]), np.asarray(outcome, float)[sub],
                  source="detected", tol=tol)
    label = np.full(S, -1, dtype=np.int64)
    label[sub] = q.label
    return replace(q, label=label)


def _moving_together(sets: list, offsets: np.ndarray, lengths: np.ndarray, p: np.ndarray) -> list:
    """Keep the sets whose probabilities move so as to keep their sum: the squared
    changes of the sum are at most ``MAX_SUM_MOVE`` of the contracts' own squared
    changes (0 for exact complements). Two unrelated series near 0 and near 1 sum
    to about 1 at every time but move independently, and are not a question."""
    if not sets:
        return sets
    k = np.array([len(x) for x in sets])
    mem = np.concatenate([np.asarray(x) for x in sets])
    sid = np.repeat(np.arange(len(sets)), k)
    L = lengths[mem]  # equal within a set
    rows = np.repeat(offsets[mem], L) + (np.arange(L.sum()) - np.repeat(np.cumsum(L) - L, L))
    set_L = L[np.r_[0, np.cumsum(k)[:-1]]]
    cell0 = np.r_[0, np.cumsum(set_L)[:-1]]
    step = rows - np.repeat(offsets[mem], L)
    cell = np.repeat(cell0[sid], L) + step
    tot = np.bincount(cell, weights=p[rows], minlength=int(set_L.sum()))
    cell_set = np.repeat(np.arange(len(sets)), set_L)
    d_tot = np.diff(tot)
    same = cell_set[1:] == cell_set[:-1]
    sum_move = np.bincount(cell_set[1:][same], weights=d_tot[same]**2, minlength=len(sets))
    dp = np.diff(p[rows])
    same_r = np.repeat(np.arange(len(mem)), L)
    ok_r = same_r[1:] == same_r[:-1]
    own = np.bincount(np.repeat(sid, L)[1:][ok_r], weights=dp[ok_r]**2, minlength=len(sets))
    keep = sum_move <= MAX_SUM_MOVE * own
    return [x for x, kp in zip(sets, keep) if kp]


def from_declared(values: np.ndarray, offsets: np.ndarray, time: np.ndarray, p: np.ndarray,
                  outcome: np.ndarray, tol: float = SUM_TOL) -> Questions:
    """Questions from a declared per-series value (``--question-col``); a value held
    by one series only makes a question of one outcome (it stands alone)."""
    names, lab = np.unique(np.asarray(values).astype(str), return_inverse=True)
    lab = lab.ravel().astype(np.int64)
    size = np.bincount(lab, minlength=len(names))
    solo = size[lab] < 2
    keep_q = np.flatnonzero(size >= 2)
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[keep_q] = np.arange(len(keep_q))
    label = np.where(solo, -1, remap[lab])
    return summarise(label, offsets, time, p, outcome, source="declared", tol=tol, names=names[keep_q])


def summarise(label: np.ndarray, offsets: np.ndarray, time: np.ndarray, p: np.ndarray, outcome: np.ndarray,
              source: str, tol: float = SUM_TOL, names: np.ndarray | None = None) -> Questions:
    """Sizes, probability-sum deviations at shared times and outcome sums."""
    label = np.asarray(label, np.int64)
    S = len(label)
    Q = int(label.max()) + 1 if S and label.max() >= 0 else 0
    if Q == 0:
        return none(S)
    size = np.bincount(label[label >= 0], minlength=Q)
    lengths = np.diff(offsets)
    row_q = np.repeat(label, lengths)
    inq = row_q >= 0
    rq, rt, rp = row_q[inq], np.asarray(time, float)[inq], np.asarray(p, float)[inq]
    cells, cell = np.unique(np.stack([rq.astype(float), rt]), axis=1, return_inverse=True)
    cell = cell.ravel()
    nc = cells.shape[1]
    cnt = np.bincount(cell, minlength=nc)
    tot = np.bincount(cell, weights=rp, minlength=nc)
    cq = cells[0].astype(np.int64)
    full = cnt == size[cq]  # times at which every contract of the question has a forecast
    dev = np.abs(tot - 1.0)
    dmax = np.full(Q, np.nan)
    dmed = np.full(Q, np.nan)
    fq, fd = cq[full], dev[full]
    if len(fq):
        mx = np.full(Q, -np.inf)
        np.maximum.at(mx, fq, fd)
        dmax = np.where(np.isfinite(mx), mx, np.nan)
        o = np.lexsort((fd, fq))
        fq, fd = fq[o], fd[o]
        starts = np.flatnonzero(np.r_[True, fq[1:] != fq[:-1]])
        n = np.diff(np.r_[starts, len(fq)])
        med = (fd[starts + (n - 1) // 2] + fd[starts + n // 2]) / 2
        dmed[fq[starts]] = med
    osum = np.bincount(label[label >= 0], weights=np.asarray(outcome, float)[label >= 0], minlength=Q)
    comp = np.isfinite(dmax) & (dmax <= tol)
    if names is None:
        names = np.array([f"q{q + 1}" for q in range(Q)], dtype=object)
    return Questions(label=label, size=size, source=source, prob_dev_max=dmax, prob_dev_median=dmed,
                     outcome_sum=osum, complementary=comp, names=np.asarray(names, dtype=object), tol=tol)


@dataclass(frozen=True)
class QuestionBudget:
    """Per question (A-R 2021 Prop. 3): uncertainty u = 1 − Σ_s π_{s,0}² (written
    Σ_s π_s(1 − π_s), equal when Σπ = 1), movement m = Σ_t Σ_s Δπ² including the
    resolution step to the outcome vector, excess m − u (resolved questions)."""

    uncertainty: np.ndarray  # (Q,)
    movement: np.ndarray  # (Q,)
    excess: np.ndarray  # (Q,)
    resolved: np.ndarray  # (Q,) every contract resolved


def question_budget(label: np.ndarray, n_questions: int, movement: np.ndarray,
                    uncertainty_reduction: np.ndarray, resolved: np.ndarray) -> QuestionBudget:
    """Sum the contracts' binary budgets (``stats/budget.py``) within each question."""
    sel = label >= 0
    lab = label[sel]
    u = np.bincount(lab, weights=uncertainty_reduction[sel], minlength=n_questions)
    m = np.bincount(lab, weights=movement[sel], minlength=n_questions)
    n_res = np.bincount(lab, weights=resolved[sel].astype(float), minlength=n_questions)
    size = np.bincount(lab, minlength=n_questions)
    return QuestionBudget(uncertainty=u, movement=m, excess=m - u, resolved=n_res == size)


def questions_info(q: Questions, budget) -> dict:
    """The input header's ``questions`` block (what the pooled tests count) of questions
    ``q`` with at least one question, ``budget`` the series' budgets (``stats/budget.py``);
    both engines report it."""
    out = {"source": q.source, "n_questions": q.n_questions, "n_series_in_questions": q.n_in_questions,
           "outcomes_per_question": {str(k): v for k, v in q.size_counts().items()},
           "n_mirrors_dropped": int(q.redundant().sum()), "summary": q.summary()}
    qb = question_budget(q.label, q.n_questions, budget.movement, budget.uncertainty_reduction, budget.resolved)
    su, sm = float(qb.uncertainty.sum()), float(qb.movement.sum())
    out.update(uncertainty=su, movement=sm, ratio=sm / su if su > 0 else None)
    if su > 0:
        out["summary"] += (f"; their budget (A-R Prop. 3): movement Σm = {sm:.2f} against "
                           f"uncertainty Σu = {su:.2f} ({sm / su:.2f}×)")
    return out


def of_panel(panel, detection: bool = True) -> Questions:
    """Question membership of a panel's series, the rule of ``CheckContext.questions``:
    declared (``panel.question``), else detected unless ``detection`` is off."""
    if panel.question is not None:
        return from_declared(panel.question, panel.offsets, panel.time, panel.p, panel.outcome)
    if detection:
        return detect(panel.offsets, panel.time, panel.p, panel.outcome)
    return none(panel.n_series)

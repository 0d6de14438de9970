"""Complementary-pair search on a large shared grid (stats/questions.py): the
bucketed candidate list is a superset of every true pair — checked against the
brute-force O(k²) scan of all pairs — so detection finds the same questions as an
exhaustive search, and it stays small when absorbed paths pile up at 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.stats import questions


def _brute_pairs(Pp: np.ndarray, tol: float) -> set[tuple[int, int]]:
    dev = np.max(np.abs(Pp[:, None, :] + Pp[None, :, :] - 1.0), axis=2)
    i, j = np.nonzero(np.triu(dev <= tol, 1))
    return set(zip(i.tolist(), j.tolist()))


@pytest.mark.parametrize("tol", [0.01, 0.05, 0.0])
def test_candidates_contain_every_true_pair(tol):
    rng = np.random.default_rng(11)
    for trial in range(40):
        k, m = int(rng.integers(2, 150)), int(rng.integers(1, 9))
        Pp = rng.uniform(0, 1, (k, m))
        if trial % 3 == 0:
            Pp = np.round(Pp, 1)  # many exact ties and exact complements
        idx = rng.permutation(k)
        for t in range(k // 4):  # planted near-complements
            Pp[idx[2 * t + 1]] = np.clip(1 - Pp[idx[2 * t]] + rng.uniform(-tol, tol, m), 0, 1)
        ii, jj = questions._pair_candidates(Pp, tol)
        cand = set(zip(ii.tolist(), jj.tolist()))
        assert len(cand) == len(ii)  # no pair listed twice
        # exactly the pairs that match at every probe (each probe is checked inside)
        assert _brute_pairs(Pp, tol) == cand
        # listed by i, then j in argsort order of the first probe
        rank0 = np.empty(k, np.int64)
        rank0[np.argsort(Pp[:, 0])] = np.arange(k)
        assert list(zip(ii.tolist(), rank0[jj].tolist())) == sorted(zip(ii.tolist(), rank0[jj].tolist()))


def test_candidates_listed_in_small_blocks_are_the_same(monkeypatch):
    # _MirrorCells.near splits each offset's list into blocks of about NEAR_BLOCK pairs (a
    # crowd of absorbed paths lists 10⁷ at once): blocks of 7 give the same pairs, in the
    # same order, and the grid search the same sets
    rng = np.random.default_rng(2)
    k, L = 300, 12
    P = np.round(rng.uniform(0, 1, (k, L)), 1)  # many exact ties and complements
    P[150:] = 1 - P[:150] + rng.uniform(-0.004, 0.004, (150, L))
    probes = P[:, questions.probe_steps(L)]
    whole = questions._pair_candidates(probes, 0.01)
    sets = questions._search_grid(P, 0.01)
    monkeypatch.setattr(questions, "NEAR_BLOCK", 7)
    small = questions._pair_candidates(probes, 0.01)
    assert len(whole[0]) > 100
    np.testing.assert_array_equal(small[0], whole[0])
    np.testing.assert_array_equal(small[1], whole[1])
    assert [s.tolist() for s in questions._search_grid(P, 0.01)] == [s.tolist() for s in sets]


def test_absorbed_paths_do_not_blow_up_the_candidates():
    # 4,000 random walks absorbed at 0/1 by the late probes (every late pair "matches");
    # the early probes separate them, so candidates stay near linear in k
    rng = np.random.default_rng(3)
    k, L = 4000, 100
    logit = np.cumsum(rng.normal(0, 0.6, (k, L)), axis=1)
    P = 1 / (1 + np.exp(-logit))
    probe = np.unique(np.linspace(0, L - 1, 8).round().astype(int))
    ii, _ = questions._pair_candidates(P[:, probe], 0.01)
    assert len(ii) < 20 * k
    assert questions._search_grid(P, 0.01) == []  # independent walks form no question


def test_search_grid_pairs_match_brute_force_over_all_times():
    # planted complements (within tol at every time) among walks; some planted pairs
    # broken at one non-probe time: the time-by-time verification drops exactly those
    rng = np.random.default_rng(5)
    for trial in range(20):
        k, L = int(rng.integers(3, 60)), int(rng.integers(2, 30))
        P = rng.uniform(0, 1, (k, L))
        idx = rng.permutation(k)
        for t in range(k // 3):
            P[idx[2 * t + 1]] = np.clip(1 - P[idx[2 * t]] + rng.uniform(-0.009, 0.009, L), 0, 1)
            if t % 2 and L > 8:
                P[idx[2 * t + 1], int(rng.integers(0, L))] += 0.2
        found = {tuple(int(x) for x in s) for s in questions._search_grid(P, 0.01) if len(s) == 2}
        assert found == _brute_force_pairs(P, 0.01)


def _brute_force_pairs(P: np.ndarray, tol: float) -> set[tuple[int, int]]:
    """The rule of stats/questions._GridSearch.pairs from the O(k²) table of every pair's
    maximum deviation max_t |P_i + P_j − 1|: pairs within tol whose members are in no
    other such pair, and that beat every rival by tol (no third series within the pair's
    own deviation + tol of either member)."""
    k = len(P)
    dev = np.max(np.abs(P[:, None, :] + P[None, :, :] - 1.0), axis=2)
    np.fill_diagonal(dev, np.inf)  # (a series is not its own rival)
    i, j = np.nonzero(np.triu(dev <= tol, 1))
    cnt = np.bincount(np.r_[i, j], minlength=k)
    out = set()
    for a, b in zip(i.tolist(), j.tolist()):
        if cnt[a] != 1 or cnt[b] != 1:
            continue
        margin = dev[a, b] + tol
        rivals = [c for c in range(k) if c not in (a, b) and min(dev[a, c], dev[b, c]) <= margin]
        if not rivals:
            out.add((a, b))
    return out


def test_a_pair_must_beat_every_rival_by_the_tolerance():
    # x, y: a pair within tol (deviation 0.008 at every time), the only pair within tol of
    # either; z lies 0.015 from x's mirror image: no match itself (0.015 > 0.01), but within
    # 0.008 + 0.01 of it, so the pair is not told apart from z and is not grouped. The same
    # z beside an exact complement (deviation 0) is 0.015 > 0 + 0.01 away: that pair stands.
    L = 12
    t = np.linspace(-1.5, 1.5, L)
    x = 1 / (1 + np.exp(-2 * np.sin(t) - t))  # moves over (0.1, 0.9)
    other = [np.full(L, 0.5) + 0.3 * np.cos(3 * t)]  # an unrelated series
    near = np.vstack([x, 1 - x + 0.008, 1 - x - 0.015] + other)
    z_dev = np.max(np.abs(near[0] + near[2] - 1))
    assert 0.01 < z_dev <= 0.008 + 0.01 and np.max(np.abs(near[0] + near[1] - 1)) <= 0.01
    assert questions._search_grid(near, 0.01) == []
    exact = np.vstack([x, 1 - x, 1 - x - 0.015] + other)
    assert [s.tolist() for s in questions._search_grid(exact, 0.01)] == [[0, 1]]
    for P in (near, exact):
        assert {tuple(int(v) for v in s) for s in questions._search_grid(P, 0.01)} == _brute_force_pairs(P, 0.01)


def test_independent_short_paths_are_rarely_paired():
    # 20,000 independent Gaussian-signal Bayesians on one grid of 10 times, all from 50%
    # and mostly absorbed near 0 or 1 by the end, with 200 true YES/NO pairs among them:
    # each chance match within 0.01 of a mirror image sits in a crowd with a rival just
    # beyond it, so the rival rule drops nearly all of them and keeps the exact pairs.
    # Counts of this seed (benchmarks/question_detection.py tabulates more panels): with
    # uniqueness alone (the code before the rival rule) 49 chance pairs, with it 3; 185 of
    # the 200 true pairs either way (each of the other 15 has a member with a second match
    # within 0.01).
    from forecheck.simulate import simulate_paths

    L, nq, n = 10, 200, 20_000
    q = simulate_paths("gaussian", nq, L, 7).p[:, :L].astype(float)
    P = np.clip(np.vstack([q, 1 - q, simulate_paths("gaussian", n, L, 11).p[:, :L]]), 1e-12, 1 - 1e-12)
    S = len(P)
    found = questions.detect(np.arange(S + 1) * L, np.tile(np.arange(L, dtype=float), S), P.ravel(),
                             np.zeros(S))
    sets = [np.flatnonzero(found.label == j) for j in range(found.n_questions)]
    true = sum(len(m) == 2 and m[0] < nq and m[1] == m[0] + nq for m in sets)
    assert (true, len(sets) - true) == (185, 3)


def test_one_shared_grid_numbers_every_candidate_zero():
    # the equal-grid fast path gives what the fingerprints give: one grid, number 0;
    # a series with another time sequence falls back to the fingerprints
    S, L = 6, 5
    offsets = np.arange(S + 1) * L
    time = np.tile(np.arange(L, dtype=float), S)
    cand = np.array([True, False, True, True, False, True])
    assert questions._grid_groups(offsets, time, cand).tolist() == [0, -1, 0, 0, -1, 0]
    time2 = time.copy()
    time2[L * 2 + 3] = 3.5
    g = questions._grid_groups(offsets, time2, cand)
    assert g[1] == g[4] == -1 and g[0] == g[3] == g[5] != g[2]

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
        dev = np.max(np.abs(P[:, None, :] + P[None, :, :] - 1.0), axis=2)
        i, j = np.nonzero(np.triu(dev <= 0.01, 1))
        cnt = np.bincount(np.r_[i, j], minlength=k)
        expected = {(a, b) for a, b in zip(i.tolist(), j.tolist()) if cnt[a] == 1 and cnt[b] == 1}
        found = {tuple(int(x) for x in s) for s in questions._search_grid(P, 0.01) if len(s) == 2}
        assert found == expected


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

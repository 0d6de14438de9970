"""The (unit, time) cells of ``unit_design_effect`` are numbered exactly as
``np.unique(np.stack([unit, time]), axis=1, return_inverse=True)`` numbers them
(the reference it replaced: that sort of N structured rows took seconds at 10⁷
values), on sorted and unsorted input, small and large unit codes."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.stats import dependence


def _reference(ucode_raw: np.ndarray, time: np.ndarray):
    _, ucode = np.unique(ucode_raw, return_inverse=True)
    cells, cell = np.unique(np.stack([ucode.ravel().astype(float), time]), axis=1, return_inverse=True)
    return ucode.ravel(), cell.ravel(), cells[0].astype(np.int64), cells[1]


def test_cells_match_numpy_unique_reference():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 300))
        series = rng.integers(0, 25, n)
        if trial % 2:
            series = np.sort(series)
        time = rng.integers(0, int(rng.integers(1, 15)), n) * (0.25 if trial % 3 else 1.0)
        if trial % 4 == 0:
            time = np.sort(time)
        unit = rng.integers(0, 10, 25) * (1_000_003 if trial % 7 == 0 else 1)
        u_ref, c_ref, cu_ref, ct_ref = _reference(unit[series], time)
        ucode = dependence._dense_rank(unit[series])
        cell, cu, ct = dependence._unit_time_cells(ucode, time)
        assert np.array_equal(ucode, u_ref)
        assert np.array_equal(cell, c_ref) and np.array_equal(cu, cu_ref) and np.array_equal(ct, ct_ref)


def test_unit_design_effect_of_mirror_pair_counts_one_unit():
    # two contracts of one question with mirror-image increments: within-unit sums
    # cancel, so the question is one unit (deff_within = 0 < 1: nothing carried)
    rng = np.random.default_rng(1)
    d = rng.normal(size=50)
    values = np.concatenate([d, -d])
    series = np.repeat([0, 1], 50)
    time = np.tile(np.arange(50.0), 2)
    dep = dependence.unit_design_effect(values, series, time, np.array([0, 0]))
    assert dep.deff_within == 0.0
    dep2 = dependence.unit_design_effect(values**2, series, time, np.array([0, 0]))
    # equal terms in one unit: Σ_t (2v)² / Σ 2v² = 2 exactly (hand computation)
    assert abs(dep2.deff_within - 2.0) < 1e-12


def test_cells_of_a_few_sorted_runs_match_reference():
    # in-flight rows in (series, time) order, then one appended row per series (MG103's
    # resolution rows): the merge path, against the np.unique reference
    rng = np.random.default_rng(2)
    for trial in range(30):
        S, L = int(rng.integers(2, 40)), int(rng.integers(1, 8))
        series = np.r_[np.repeat(np.arange(S), L), np.arange(S)]
        time = np.r_[np.tile(np.arange(L, dtype=float), S), np.full(S, float(L) + rng.integers(0, 3))]
        unit = rng.integers(0, S, S) if trial % 2 else np.arange(S)
        u_ref, c_ref, cu_ref, ct_ref = _reference(unit[series], time)
        cell, cu, ct = dependence._unit_time_cells(dependence._dense_rank(unit[series]), time)
        assert np.array_equal(cell, c_ref) and np.array_equal(cu, cu_ref) and np.array_equal(ct, ct_ref)


def _old_unit_design_effect(values, series, time, unit, cluster=None):
    # the sums as formed before the cells were shared: np.unique (unit, time) cells,
    # then cell_sums of the unit sums on freshly factorised (cluster, time) cells
    u_ref, c_ref, cu_ref, ct_ref = _reference(unit[series], time)
    w = np.bincount(c_ref, weights=values, minlength=len(cu_ref))
    n_units = int(cu_ref.max()) + 1
    cl = None
    if cluster is not None:
        cl = np.empty(n_units, dtype=object)
        cl[u_ref] = np.asarray(cluster).astype(str)[series]
    cells = dependence.cell_sums(w, cu_ref, ct_ref, n_units, cl)
    used = int(np.count_nonzero(np.bincount(cu_ref[w != 0], minlength=n_units)))
    return dependence.combine_units([dependence.UnitSums(sq=float(np.sum(values**2)), w2=float(np.sum(w**2)),
                                                         n_units=n_units, used_units=used, cells=cells,
                                                         n_values=len(values))])


def test_shared_cells_and_one_value_per_cell_path_match_the_direct_sums():
    # a panel whose units are its series, one value per series and time, sorted (the
    # fast path: each value its own cell), and panels with questions / clusters /
    # unsorted rows (the general path); the cells formed once (unit_cells) and reused
    # for several value vectors give exactly the numbers of the direct computation
    rng = np.random.default_rng(4)
    for trial in range(60):
        S, L = int(rng.integers(2, 30)), int(rng.integers(1, 9))
        series = np.repeat(np.arange(S), L)
        time = np.tile(np.arange(L, dtype=float), S) + (0.5 if trial % 5 == 0 else 0.0)
        if trial % 4 == 1:  # ragged: some rows dropped
            keep = rng.uniform(size=len(series)) < 0.7
            keep[0] = True
            series, time = series[keep], time[keep]
        if trial % 4 == 2:  # unsorted rows
            perm = rng.permutation(len(series))
            series, time = series[perm], time[perm]
        unit = np.arange(S) if trial % 3 == 0 else rng.integers(0, max(S // 2, 1), S)
        cluster = None if trial % 2 else np.array([f"c{c}" for c in rng.integers(0, 3, S)])
        cells = dependence.unit_cells(series, time, unit, cluster)
        for _ in range(3):
            v = rng.normal(size=len(series))
            v[rng.uniform(size=len(v)) < 0.1] = 0.0
            ref = _old_unit_design_effect(v, series, time, unit, cluster)
            assert dependence.unit_design_effect(v, series, time, unit, cluster) == ref
            assert dependence.unit_design_effect(v, series, time, unit, cluster, cells=cells) == ref


def _keyed_cells(series, time, unit):
    # unit_cells as formed from the N (unit, time) keys (_unit_time_cells_ex), the path
    # its counting shortcut (_own_cells) replaces for sorted runs of own cells
    ucode = dependence._dense_rank(unit[series])
    cell, cu, ct = dependence._unit_time_cells(ucode, time)
    a_code, n_a, a_time, _ = dependence._cells(ct, None, keys=True)
    return cell, cu, a_code, a_time, np.bincount(cu)


def test_own_cells_shortcut_matches_the_keyed_cells():
    # units = series: increments in (series, time) order, with and without appended
    # resolution rows (one per series, later, some series without one), against the
    # keyed cells; rows that tie with or precede their series' rows, a NaN time, three
    # runs or shared units take the keyed path itself
    rng = np.random.default_rng(5)
    for trial in range(80):
        S, L = int(rng.integers(2, 30)), int(rng.integers(1, 9))
        series = np.repeat(np.arange(S), L)
        time = np.tile(np.arange(L, dtype=float), S) * (0.5 if trial % 5 == 0 else 1.0)
        if trial % 3:
            res = np.flatnonzero(rng.uniform(size=S) < 0.8) if trial % 3 == 1 else np.arange(S)
            t_res = time.reshape(S, L)[res, -1] + rng.integers(1, 4, len(res))
            if trial % 7 == 0 and len(res):
                t_res[0] -= rng.integers(1, 3)  # ties with or precedes its series' last row
            series, time = np.r_[series, res], np.r_[time, t_res]
        if trial % 11 == 0:
            time = time.copy()
            time[rng.integers(len(time))] = np.nan
        if trial % 13 == 0:
            series, time = np.r_[series, 0], np.r_[time, 99.0]
        unit = np.arange(S) if trial % 6 else rng.integers(0, S, S)
        uc = dependence.unit_cells(series, time, unit)
        if np.isnan(time).any():
            continue  # (the keyed path's own NaN handling; only that the shortcut declines it)
        cell, cu, a_code, a_time, per_unit = _keyed_cells(series, time, unit)
        if uc.cell is None:
            assert np.array_equal(cell, np.arange(len(series))) and np.array_equal(cu, uc.units_of_cells(series))
        else:
            assert np.array_equal(uc.cell, cell) and np.array_equal(uc.cu, cu)
        assert np.array_equal(uc.across, a_code) and np.array_equal(uc.across_time, a_time)
        assert np.array_equal(uc.per_unit, per_unit) and np.array_equal(uc.cnt, np.bincount(a_code).astype(float))


def test_cell_sums_counts_series_whose_squares_underflow_as_used():
    # a series is used when it has a non-zero value, read from Σv² > 0 unless a series
    # with values has Σv² = 0: all zeros (not used) or squares below the smallest double
    series = np.repeat(np.arange(4), 3)
    time = np.tile(np.arange(3.0), 4)
    values = np.array([1.0, 2, 3, 0, 0, 0, 1e-200, 0, 0, 4, 5, 6])
    assert dependence.cell_sums(values, series, time, 4).used == 3
    assert dependence.cell_sums(np.where(values == 1e-200, 1.0, values), series, time, 4).used == 3
    assert dependence.cell_sums(values, series, time, 5).used == 3  # a series without values


def test_repeated_grid_shortcut_matches_the_keyed_cells():
    # every series on one grid of strictly increasing times: the time cells repeated
    # from the first series' times, against the keyed cells; a series off the grid, a
    # decreasing or NaN grid time or unequal lengths take the hashed path
    rng = np.random.default_rng(8)
    for trial in range(40):
        S, L = int(rng.integers(1, 30)), int(rng.integers(1, 9))
        series = np.repeat(np.arange(S), L)
        grid = np.cumsum(rng.integers(1, 4, L)).astype(float) * (0.5 if trial % 2 else 1.0)
        time = np.tile(grid, S)
        shortcut = True
        if trial % 5 == 1 and S > 1:
            time[-1] += 0.25  # the last series off the grid
            shortcut = False
        if trial % 5 == 2 and L > 1:
            time = np.tile(grid[::-1], S)
            shortcut = False
        if trial % 5 == 3 and (trial % 2 or L > 1):
            if trial % 2:
                time[0] = np.nan
            else:
                time[1] = time[0]  # a tie: not strictly increasing
            shortcut = False
        if trial % 5 == 4 and S > 1:
            keep = np.ones(len(series), bool)
            keep[-1] = False  # the last series one value short
            series, time = series[keep], time[keep]
            shortcut = False
        per_series = np.bincount(series, minlength=S)
        assert (dependence._repeated_grid(time, per_series) is not None) == shortcut
        uc = dependence.unit_cells(series, time, np.arange(S))
        if uc is None or np.isnan(time).any():
            continue
        cell, cu, a_code, a_time, per_unit = _keyed_cells(series, time, np.arange(S))
        if uc.cell is None:
            assert np.array_equal(cell, np.arange(len(series)))
        else:
            assert np.array_equal(uc.cell, cell) and np.array_equal(uc.cu, cu)
        assert uc.across.dtype == dependence._compact(a_code, len(a_time)).dtype
        assert np.array_equal(uc.across, a_code) and np.array_equal(uc.across_time, a_time)
        assert np.array_equal(uc.per_unit, per_unit) and np.array_equal(uc.cnt, np.bincount(a_code).astype(float))


def test_own_cells_with_units_out_of_series_order_match_the_keyed_cells(monkeypatch):
    # each series its own unit, numbered out of series order (the pooled panel of
    # two-outcome questions: questions first, one contract each): on one grid, on
    # unequal times, with appended resolution rows, and with series absent; the
    # shortcut is taken (the keyed path is not called) and gives the keyed cells
    rng = np.random.default_rng(12)
    real_keyed = dependence._unit_time_cells_ex

    def keyed_path_taken(*args):
        raise AssertionError("keyed path taken")

    for trial in range(60):
        S, L = int(rng.integers(2, 25)), int(rng.integers(1, 7))
        series = np.repeat(np.arange(S), L)
        if trial % 3 == 0:
            time = np.tile(np.arange(L, dtype=float), S)  # one grid
        else:
            time = np.concatenate([np.cumsum(rng.integers(1, 4, L)).astype(float) for _ in range(S)])
        if trial % 4 == 1:
            keep = np.isin(series, np.flatnonzero(rng.uniform(size=S) < 0.7))
            series, time = series[keep], time[keep]  # some series without values
        if trial % 2:
            res = np.flatnonzero(rng.uniform(size=S) < 0.8)
            res = res[np.isin(res, series)]
            last_t = np.full(S, -np.inf)
            np.maximum.at(last_t, series, time)
            series, time = np.r_[series, res], np.r_[time, last_t[res] + rng.integers(1, 4, len(res))]
        if len(series) == 0:
            continue
        unit = rng.permutation(S) + (S if trial % 5 == 0 else 0)
        monkeypatch.setattr(dependence, "_unit_time_cells_ex", keyed_path_taken)
        uc = dependence.unit_cells(series, time, unit)
        monkeypatch.setattr(dependence, "_unit_time_cells_ex", real_keyed)
        cell, cu, a_code, a_time, per_unit = _keyed_cells(series, time, unit)
        assert uc.cell is not None and np.array_equal(uc.cell, cell) and np.array_equal(uc.cu, cu)
        assert uc.across.dtype == dependence._compact(a_code, len(a_time)).dtype
        assert np.array_equal(uc.across, a_code) and np.array_equal(uc.across_time, a_time)
        assert np.array_equal(uc.per_unit, per_unit) and np.array_equal(uc.cnt, np.bincount(a_code).astype(float))
        v = rng.normal(size=len(series))
        assert dependence.unit_design_effect(v, series, time, unit, cells=uc) == \
            _old_unit_design_effect(v, series, time, unit, None)


def test_common_drift_z_is_the_self_normalised_sum_of_cell_totals():
    """drift_z = Σ_c D_c / √Σ_c D_c² over (cluster, time) cells, D_c the cell's sum of
    values: recomputed here with pandas groupby (independent of the cell codes)."""
    import pandas as pd

    rng = np.random.default_rng(4)
    n = 3000
    series = np.sort(rng.integers(0, 60, n))
    time = rng.integers(0, 40, n).astype(float)
    values = rng.standard_normal(n) - 0.05
    cluster = np.array([f"c{i % 7}" for i in range(60)], dtype=object)
    for cl in (None, cluster):
        dep = dependence.design_effect(values, series, time, 60, cl)
        frame = pd.DataFrame({"v": values, "t": time,
                              "c": "" if cl is None else cl[series]})
        d = frame.groupby(["c", "t"])["v"].sum().to_numpy()
        assert dep.drift_z == pytest.approx(d.sum() / np.sqrt(np.sum(d**2)), rel=1e-12)


def test_mg106_names_a_shared_drift_on_deadline_questions_only():
    """The deadline model's in-flight revisions decay together (z ≈ −√T, docs/validation.md
    "Deadline questions"); a fixed-horizon Bayesian's do not (z about N(0, 1))."""
    from forecheck.checks import execute
    from forecheck.config import AnalysisConfig
    from forecheck.simulate import simulate_panel

    cfg = AnalysisConfig(n_sim=19, select=("MG101", "MG106"))
    by = {}
    for model in ("deadline", "gaussian"):
        res, _ = execute(simulate_panel(model, 50, 100, seed=1), cfg)
        by[model] = next(r for r in res if r.code == "MG106")
    assert by["deadline"].details.common_drift_z < -dependence.COMMON_DRIFT_Z
    assert by["deadline"].details.shared_drift and "drift together" in by["deadline"].message
    assert abs(by["gaussian"].details.common_drift_z) < dependence.COMMON_DRIFT_Z
    assert not by["gaussian"].details.shared_drift and "drift together" not in by["gaussian"].message


def test_next_step_does_not_advise_declaring_drifting_deadline_series_independent():
    """On deadline questions the gate holds (MG106 counts the shared decay as dependence);
    the advice names the known limit instead of only --cluster-col, which would make
    MG103, MG105 and CA202–CA204 reject these calibrated forecasts (docs/validation.md)."""
    from forecheck.checks import execute
    from forecheck.config import AnalysisConfig
    from forecheck.report.verdict import gate_active, next_steps
    from forecheck.simulate import simulate_panel

    res, _ = execute(simulate_panel("deadline", 50, 100, seed=1), AnalysisConfig(n_sim=19))
    assert gate_active(res)
    gate_step = next(s for s in next_steps(res, 0) if s.startswith("Only about"))
    assert "end when their event happens" in gate_step and "Known limit" in gate_step

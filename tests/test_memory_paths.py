"""The memory-saving paths give the same arrays as the plain ones they replaced:
a panel of every series shares its source's arrays (and derived ones), MG103's rows
filled in place equal the concatenated ones."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.checks import martingale
from forecheck.panel import Panel

from tests.test_core import random_panel

DERIVED = ("lengths", "series_index", "first_row", "last_row", "is_first", "step_in_series", "increment_rows",
           "dp", "dp_prev_p", "dp_series", "dt", "typical_step", "resolution_time", "time_to_resolution")


def _copy(panel: Panel) -> Panel:
    """The same panel built from copies (nothing shared, nothing derived yet)."""
    return Panel(ids=panel.ids.copy(), offsets=panel.offsets.copy(), time=panel.time.copy(), p=panel.p.copy(),
                 outcome=panel.outcome.copy(), time_kind=panel.time_kind, time_unit=panel.time_unit,
                 resolved_at=None if panel.resolved_at is None else panel.resolved_at.copy(),
                 question=None if panel.question is None else panel.question.copy())


@pytest.mark.parametrize("how", ["mask", "identity", "relabel"])
def test_subset_of_every_series_shares_arrays_and_derived_values(how):
    panel = random_panel(seed=3)
    ref = _copy(panel)
    if how == "mask":
        sub = panel.select_series(np.ones(panel.n_series, bool))
    elif how == "identity":
        sub = panel.take_series(np.arange(panel.n_series))
    else:
        sub = panel.relabel(question=np.arange(panel.n_series))
    assert sub is not panel
    assert sub.p is panel.p and sub.time is panel.time and sub.offsets is panel.offsets
    _ = panel.dp  # derived on the source first, then read by the subset
    for name in DERIVED:
        assert getattr(sub, name) is getattr(panel, name), name
        assert np.array_equal(getattr(sub, name), getattr(ref, name), equal_nan=True), name
    # and the other way round: derived on the subset, read by the source's next subset
    sub2 = sub.select_series(np.ones(sub.n_series, bool))
    assert sub2.time_to_resolution is panel.time_to_resolution


def test_proper_subset_still_copies():
    panel = random_panel(seed=4)
    mask = np.arange(panel.n_series) % 3 != 0
    sub = panel.select_series(mask)
    assert not np.shares_memory(sub.p, panel.p)
    assert np.array_equal(sub.dp, _copy(panel).select_series(mask).dp)


def test_relabel_refuses_row_fields():
    panel = random_panel(seed=5)
    with pytest.raises(ValueError):
        panel.relabel(p=panel.p)


def _mg103_rows_concatenated(pan: Panel):
    """MG103's rows as the concatenation they were formed by before (the reference)."""
    pos = pan.step_in_series[pan.increment_rows] - 1
    cur = np.flatnonzero(pos >= 1)
    y, x = pan.dp[cur], pan.dp[cur - 1]
    s, t = pan.dp_series[cur], pan.time[pan.increment_rows][cur]
    w = np.ones(len(cur))
    n_inc = np.bincount(pan.dp_series, minlength=pan.n_series)
    v = np.bincount(pan.dp_series, weights=pan.dp**2, minlength=pan.n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n_inc > 0, v / np.maximum(n_inc, 1), 0.0)
    res = np.flatnonzero(pan.resolved & (n_inc >= 1) & (v > 0))
    if len(res):
        last_inc = pan.offsets[res + 1] - 1 - res - 1
        pl = pan.p_last[res]
        u = pl * (1 - pl)
        near = np.minimum(pl, 1 - pl) <= martingale.RES_NEAR_EDGE * np.sqrt(v[res]) + 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            w_res = np.where(near, 1.0, np.minimum(1.0, v[res] / np.where(u > 0, u, np.inf)))
        y = np.concatenate([y, pan.outcome[res] - pl])
        x = np.concatenate([x, pan.dp[last_inc]])
        s = np.concatenate([s, res])
        t = np.concatenate([t, pan.resolution_time[res]])
        w = np.concatenate([w, w_res])
    return y, x, s, t, w


@pytest.mark.parametrize("seed", range(6))
def test_mg103_rows_equal_the_concatenated_reference(seed):
    pan = random_panel(seed=seed, unresolved=0.5 if seed % 2 else 0.0)
    got, want = martingale.mg103_rows(pan), _mg103_rows_concatenated(pan)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)


def test_runner_drops_shared_panels_after_their_last_reader_with_the_same_records(monkeypatch):
    from forecheck import checks
    from forecheck.config import AnalysisConfig

    panel = random_panel(seed=7, n_series=60)  # short and unresolved series: the dynamic panel is a copy
    config = AnalysisConfig(n_sim=99)
    dropped, ctx = checks.execute(panel, config)
    assert "dynamic" not in ctx.cache and "mg101_inputs" not in ctx.cache
    monkeypatch.setattr(checks, "CACHE_READERS", {})
    kept, ctx2 = checks.execute(panel, config)
    assert "dynamic" in ctx2.cache
    assert [r.to_dict() for r in dropped] == [r.to_dict() for r in kept]


def test_release_positions_are_the_last_reader_selected():
    from forecheck.checks import release_after

    assert release_after(["MG101", "MG102", "MG103", "CA201"]) == {0: ["increment_cells"], 1: ["mg101_inputs"],
                                                                   2: ["dynamic"], 3: ["pooled"]}
    assert release_after(["CA201", "WN301"]) == {0: ["pooled"]}
    assert release_after(["WN301", "WN302"]) == {}


def _with_a_mirror(base: Panel) -> Panel:
    """``base`` plus the exact mirror image of its first series (a YES/NO question)."""
    mirror = base.select_series(np.arange(base.n_series) == 0)
    return Panel.from_arrays(
        series=np.r_[np.repeat(base.ids, base.lengths), np.repeat(["zz-mirror"], mirror.n_obs)],
        time=np.r_[base.time, mirror.time], p=np.r_[base.p, 1.0 - mirror.p],
        outcome=np.r_[base.outcome[base.series_index], 1.0 - mirror.outcome[mirror.series_index]])


def test_the_budget_leaves_no_increments_on_the_panel_when_the_pooled_panel_is_a_copy():
    # with a mirror contract dropped the pooled panel has increments of its own; the
    # budget of every series is then formed on a scratch view (the same numbers), and
    # the panel keeps no increments; without one the pooled panel shares the panel's
    from forecheck.checks.context import CheckContext
    from forecheck.config import AnalysisConfig
    from forecheck.stats.budget import series_budget

    for panel, copied in ((_with_a_mirror(random_panel(seed=3, n_series=40)), True),
                          (random_panel(seed=3, n_series=40), False)):
        want = series_budget(Panel.from_arrays(np.repeat(panel.ids, panel.lengths), panel.time, panel.p,
                                               outcome=panel.outcome[panel.series_index]))
        ctx = CheckContext(panel=panel, config=AnalysisConfig())
        assert bool(ctx.questions().redundant().any()) == copied
        got = ctx.budget()
        assert ("dp" in vars(panel)) == (not copied)
        for f in ("movement", "uncertainty_reduction", "excess", "ratio"):
            assert np.array_equal(getattr(got, f), getattr(want, f), equal_nan=True)


def test_the_pooled_panel_is_formed_once_and_dropped_before_the_wiener_family(monkeypatch):
    # a YES/NO question whose mirror contract is dropped from the pooled panel (a copy of
    # the rows): formed once for every reader, on one thread or two, gone from the cache
    # after the calibration family, and the records those of a run that keeps it
    from forecheck import checks
    from forecheck.checks.context import CheckContext
    from forecheck.config import AnalysisConfig

    panel = _with_a_mirror(random_panel(seed=3, n_series=40))
    calls = []
    real = CheckContext.cached

    def counted(self, key, compute):
        return real(self, key, (lambda: calls.append(1) or compute()) if key == "pooled" else compute)

    monkeypatch.setattr(CheckContext, "cached", counted)
    records = {}
    for jobs in (1, 2):
        calls.clear()
        got, ctx = checks.execute(panel, AnalysisConfig(n_sim=99, jobs=jobs))
        assert len(calls) == 1 and "pooled" not in ctx.cache
        assert ctx.questions().redundant().sum() == 1  # (the mirror was dropped)
        records[jobs] = [r.to_dict() for r in got]
    monkeypatch.setattr(checks, "CACHE_READERS", {})
    kept, ctx = checks.execute(panel, AnalysisConfig(n_sim=99))
    assert "pooled" in ctx.cache
    assert records[1] == records[2] == [r.to_dict() for r in kept]

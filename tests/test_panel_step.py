"""Panel.typical_step (the per-series median step, which sets the resolution time
the budget counts) equals pandas' groupby median it replaced for series with equal
steps (taken from per-series min = max) and with unequal ones (still pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecheck.panel import Panel


def test_typical_step_equals_pandas_groupby_median():
    rng = np.random.default_rng(0)
    for trial in range(150):
        S = int(rng.integers(1, 30))
        lens = rng.integers(1, 12, S)
        off = np.r_[0, np.cumsum(lens)]
        steps = [np.cumsum(rng.choice([1.0, 2.0, 0.5, 7.0], n)) if trial % 2
                 else np.full(n, float(rng.integers(1, 4))).cumsum() for n in lens]
        t = np.concatenate(steps)
        pan = Panel(ids=np.array([f"s{i}" for i in range(S)], dtype=object), offsets=off, time=t,
                    p=rng.uniform(size=len(t)), outcome=np.zeros(S))
        ref = np.ones(S)  # the reference: pandas' median per series, 1.0 for one-row series
        if len(pan.dt):
            med = pd.DataFrame({"s": pan.dp_series, "dt": pan.dt}).groupby("s")["dt"].median()
            ref[med.index.to_numpy()] = med.to_numpy()
        assert np.array_equal(ref, pan.typical_step), trial


def test_take_series_moves_every_field_and_round_trips():
    # reorder_series (random streams' canonical order) once dropped question and group
    rng = np.random.default_rng(1)
    S = 7
    lens = rng.integers(1, 6, S)
    off = np.r_[0, np.cumsum(lens)]
    t = np.concatenate([np.arange(n, dtype=float) for n in lens])
    pan = Panel(ids=np.array([f"s{i}" for i in range(S)], dtype=object), offsets=off, time=t,
                p=rng.uniform(size=len(t)), outcome=rng.integers(0, 2, S).astype(float),
                question=np.arange(S) // 2, group=np.array(list("abababa"), dtype=object),
                source_row=np.arange(1, len(t) + 1))
    perm = rng.permutation(S)
    moved = pan.take_series(perm)
    assert list(moved.ids) == [f"s{i}" for i in perm]
    assert np.array_equal(moved.question, pan.question[perm]) and np.array_equal(moved.group, pan.group[perm])
    for j, i in enumerate(perm):  # series j of the result is series i of the input, rows and all
        np.testing.assert_array_equal(moved.p[moved.offsets[j]:moved.offsets[j + 1]], pan.p[off[i]:off[i + 1]])
    back = moved.take_series(np.argsort(perm))
    for name in ("ids", "offsets", "time", "p", "outcome", "question", "group", "source_row"):
        assert np.array_equal(getattr(back, name), getattr(pan, name)), name
    sel = pan.select_series(np.isin(np.arange(S), [1, 4]))
    assert np.array_equal(sel.p, pan.take_series(np.array([1, 4])).p)


@pytest.mark.parametrize("kind", ["date", "datetime", "index"])
def test_format_time_of_a_column_equals_each_value_formatted(kind):
    # a long column is formatted on its distinct values; the strings are those of one value at a time
    rng = np.random.default_rng(1)
    t = np.r_[rng.integers(0, 20_000, 300) / 7.0, rng.integers(0, 20_000, 300), np.nan, 3.0]
    panel = Panel.from_arrays(np.zeros(3, np.int64), np.arange(3.0), np.full(3, 0.5), time_kind=kind)
    assert panel.format_time(t) == [panel.format_time(float(x)) for x in t]

"""Panel.typical_step (the per-series median step, which sets the resolution time
the budget counts) equals pandas' groupby median it replaced for series with equal
steps (taken from per-series min = max) and with unequal ones (still pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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

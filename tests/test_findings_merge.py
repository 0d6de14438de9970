"""io/findings: a finding assembled from parts of the data reads as the whole input's.

Expected values: the in-memory validator on the whole frame (forecheck.io.load_frame)
against io/findings.merge over the validator's records of disjoint sets of series; the
notes by hand from the wording in io/validate and io/outcomes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecheck.io import RowSource, load_frame
from forecheck.io.findings import FINDINGS, merge, merge_notes


def _rec(loaded, code: str):
    return next(r for r in loaded.findings if r.code == code)


def _frame() -> pd.DataFrame:
    """Twelve series over six steps, ids out of order, with short series, blanks, copies,
    rows out of time order and starts at 0 or 1 in several series each."""
    rng = np.random.default_rng(4)
    rows = []
    for i in rng.permutation(12):
        n = 2 if i % 4 == 0 else 6
        p = np.clip(0.5 + np.cumsum(rng.normal(scale=0.05, size=n)), 0.01, 0.99)
        if i % 3 == 0:
            p[0] = 1.0
        times = np.arange(n)[::-1] if i % 5 == 0 else np.arange(n)
        rows += [(f"x{i:02d}", int(t), float(p[t]), float(i % 2)) for t in times]
    df = pd.DataFrame(rows, columns=["series", "time", "p", "outcome"])
    df.loc[[3, 17, 30, 41], "p"] = np.nan
    return pd.concat([df, df.iloc[[5, 6, 25, 26, 50]]], ignore_index=True)


def test_merge_of_disjoint_parts_is_the_whole_inputs_record():
    df = _frame()
    whole = load_frame(df, name="in.csv")
    lines = np.arange(1, len(df) + 1)
    parts = []
    for ids in (["x00", "x03", "x05", "x07", "x10"], ["x01", "x02", "x04", "x06", "x08", "x09", "x11"]):
        rows = np.flatnonzero(df["series"].isin(ids).to_numpy())
        src = RowSource(file=np.zeros(len(rows), np.int64), line=lines[rows], paths=("in.csv",))
        parts.append(load_frame(df.iloc[rows].reset_index(drop=True), name="in.csv", source=src))
    assert all(_rec(whole, c).status == "fail" for c in ("DQ001", "DQ003", "DQ004", "DQ005", "DQ010"))
    for rec in whole.findings:
        got = merge([_rec(p, rec.code) for p in parts], ["in.csv"])
        assert got.to_dict() == rec.to_dict(), rec.code
    assert merge_notes([p.info.notes for p in parts]) == list(whole.info.notes)


def test_every_worded_finding_has_its_extras_declared():
    """A count or setting an extra carries must say how it adds up over parts; the
    validator's record of each worded code lists only declared extras."""
    whole = load_frame(_frame(), name="in.csv")
    for code, spec in FINDINGS.items():
        extra = _rec(whole, code).details.extra or {}
        assert set(extra) <= set(spec.extras or {}), code


def test_notes_with_counts_add_up():
    a = ["Input was not in time order within 2 series; sorted.",
         "Outcomes from o12.csv: key 'id' (same column name(s) as the data), outcome column 'y'; 3 of 5 series "
         "matched.",
         "Underlying column 'u': cells that are not numbers (such as 'n/a') are read as missing; WN306's claim 2 "
         "uses the numbers."]
    b = ["Times read as step index.", "Input was not in time order within 5 series; sorted.",
         "Outcomes from o12.csv: key 'id' (same column name(s) as the data), outcome column 'y'; 4 of 6 series "
         "matched.",
         "Underlying column 'u': cells that are not numbers (such as '?') are read as missing; WN306's claim 2 "
         "uses the numbers.", "2 series had no usable rows and are not in the analysis."]
    assert merge_notes([a, b]) == [
        "Input was not in time order within 7 series; sorted.",
        # (the digits of the path are not counts)
        "Outcomes from o12.csv: key 'id' (same column name(s) as the data), outcome column 'y'; 7 of 11 series "
        "matched.",
        a[2], b[0], b[4]]

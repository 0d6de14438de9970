"""Outcomes (and resolution times) per series from a separate table (``--outcomes FILE``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecheck.errors import InputError
from forecheck.io.dq_rules import MAX_SHOWN
from forecheck.io.infer import ColumnMap, RESOLVED_AT_NAMES, infer_outcome_col
from forecheck.io.options import ReadOptions
from forecheck.io.parse import parse_outcome, parse_time


def read_outcomes_file(options: ReadOptions, cm: ColumnMap, ids: np.ndarray, notes: list[str]
                       ) -> tuple[pd.Series, pd.Series | None, str]:
    """Outcome (and resolution time) per series id from --outcomes FILE.

    The key column is the data's series column(s) by name, else the column whose
    values match most series ids. Returns (outcome by id, resolution time by id or
    None, outcome column); appends a note saying how the file was joined."""
    from forecheck.io.readers import read_table

    path = options.outcomes_file
    tab = read_table(path, "auto", limits=options)
    f = tab.frame
    cols = [str(c) for c in f.columns]
    low = {c.lower(): c for c in cols}
    key_cols: list[str] = []
    wanted = list(options.series_cols) or list(cm.series)
    if wanted and all(w.lower() in low for w in wanted):
        key_cols = [low[w.lower()] for w in wanted]
        how = "same column name(s) as the data"
    else:
        idset = set(map(str, ids))
        best, best_n = None, 0
        for c in cols:
            vals = set(f[c].astype("string").fillna("").str.strip().unique())
            n = len(vals & idset)
            if n > best_n:
                best, best_n = c, n
        if best is None:
            raise InputError(f"{path}: no column of the outcomes file matches the series ids of the data "
                             f"(e.g. {', '.join(map(repr, list(ids)[:3]))}). Give it a column with those ids "
                             f"(same name as --series-col).", code="DQ057")
        key_cols = [best]
        how = f"its values match {best_n} series ids"
    key = join_cols(f, key_cols)
    if options.outcome_col and options.outcome_col.lower() in low:
        ocol = low[options.outcome_col.lower()]
    else:
        scratch: list[str] = []
        ocol = infer_outcome_col(cols, options.prob_col or cm.p, set(key_cols), path, scratch)
        if ocol is None:
            raise InputError(f"{path}: no outcome column in the outcomes file (looked for outcome, resolved, "
                             f"result, won, *_outcome). Pass --outcome-col NAME.", code="DQ057")
    out, bad = parse_outcome(f[ocol])
    if bad.any():
        b = np.flatnonzero(bad)
        vals = f[ocol].to_numpy()[b]
        shown = ", ".join(f"line {tab.first_line + r} ({v!r})" for r, v in zip(b[:MAX_SHOWN], vals))
        raise InputError(f"{path}: outcome column {ocol!r}: {len(b)} values are not 0/1, true/false, "
                         f"yes/no or blank: {shown}. Fix them or pass --outcome-col.", code="DQ054")
    ser = pd.Series(out, index=key.to_numpy())
    known = ser.dropna()
    dup = known.groupby(level=0).nunique()
    if (dup > 1).any():
        bad_ids = list(dup.index[dup > 1][:MAX_SHOWN])
        raise InputError(f"{path}: conflicting outcomes for series {', '.join(map(repr, bad_ids))} "
                         f"in column {ocol!r}. Keep one outcome per series.", code="DQ053")
    outcome_by = ser.groupby(level=0).max()
    res_by = None
    if options.resolved_at_col and options.resolved_at_col.lower() in low:
        rcol = low[options.resolved_at_col.lower()]
    else:
        found = [low[n] for n in RESOLVED_AT_NAMES if n in low]
        rcol = found[0] if found else None
    if rcol:
        pt = parse_time(f[rcol])
        res_by = pd.Series(np.where(pt.bad, np.nan, pt.values), index=key.to_numpy()).groupby(level=0).max()
        res_by.attrs["unit"] = pt.unit
    matched = int(np.isin(np.asarray(ids, dtype=object).astype(str), outcome_by.index.astype(str)).sum())
    notes.append(f"Outcomes from {path}: key {' + '.join(map(repr, key_cols))} ({how}), outcome column "
                 f"{ocol!r}" + (f", resolution time {rcol!r}" if rcol else "")
                 + f"; {matched} of {len(ids)} series matched.")
    return outcome_by, res_by, ocol


def join_cols(f: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The "a|b|c" key of several columns (stripped strings, blank for missing)."""
    parts = [f[c].astype("string").fillna("").str.strip() for c in cols]
    s = parts[0]
    for x in parts[1:]:
        s = s.str.cat(x, sep="|")
    return s.astype(str)

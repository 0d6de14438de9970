"""Validation of the long frame: parsing, scale, row accounting and DQ findings.

Everything here is vectorised over the whole long frame (no loop over series).
Rules that make analysis impossible raise :class:`~forecheck.errors.InputError`
(exit 2) naming the file, column, first offending rows and what to do; the
others become ``DQ`` records (``CheckResult`` with ``family="DQ"``,
``test_based=False``): status ``fail`` when the finding is present, ``pass``
otherwise. Every input row is accounted for:
``rows_read == rows_used + sum(rows_dropped.values())``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecheck.errors import InputError
from forecheck.io.infer import ColumnMap, infer_outcome_col, RESOLVED_AT_NAMES, SERIES_NAMES
from forecheck.io.loaded import LoadedInput
from forecheck.io.options import ReadOptions
from forecheck.io.parse import parse_outcome, parse_prob, parse_time
from forecheck.panel import Panel
from forecheck.results import CheckResult

# The one table of data-quality codes (stable public identifiers; never reuse one).
# Findings (info/warning) are reported as records and never stop a run; rules of
# severity "error" stop it with an InputError (exit 2) and report "pass" otherwise.
DQ_RULES: list[tuple[str, str, str, str]] = [
    ("DQ001", "missing-probability", "warning",
     "Rows whose probability is blank, NA, NaN or infinite; dropped and counted."),
    ("DQ002", "na-values", "info",
     "Rows whose probability matches --na-values (e.g. Intrade's 0 = no data); dropped and counted."),
    ("DQ003", "duplicate-rows", "warning",
     "Repeated (series, time) rows with the same probability; the extra copies are dropped."),
    ("DQ004", "unsorted-input", "info",
     "Rows not in time order within a series (e.g. newest first); sorted before analysis."),
    ("DQ005", "short-series", "info",
     "Series with fewer than min_length forecasts; kept for calibration, skipped by dynamic checks."),
    ("DQ006", "certainty-then-move", "warning",
     "A probability of exactly 0 or 1 followed by a different value: impossible for a calibrated "
     "forecaster (a martingale at 0 or 1 stays there)."),
    ("DQ007", "back-cast", "warning",
     "Rows published more than one day after their model date: computed retroactively, not real-time."),
    ("DQ008", "unresolved-series", "info",
     "Series without an outcome; excluded from checks that need one."),
    ("DQ009", "after-resolution", "warning",
     "Forecast rows dated after their series' resolution time."),
    ("DQ050", "probability-out-of-range", "error",
     "Probabilities outside [0, 1] (or [0, 100] with --scale percent); stops the run."),
    ("DQ051", "non-numeric-probability", "error",
     "Text in the probability column that is neither a number nor a missing-value marker; stops the run."),
    ("DQ052", "conflicting-duplicates", "error",
     "Repeated (series, time) rows with different probabilities; stops the run."),
    ("DQ053", "conflicting-outcomes", "error",
     "Different outcomes for the same series; stops the run."),
    ("DQ054", "invalid-outcome", "error",
     "Outcome values other than 0/1, true/false, yes/no, won/lost or blank; stops the run."),
    ("DQ055", "invalid-time", "error",
     "Times that are blank or not a recognised date, timestamp or number; stops the run."),
    ("DQ056", "ambiguous-scale", "error",
     "--scale auto cannot tell 0-1 from 0-100 data; stops the run (pass --scale)."),
    ("DQ057", "column-mapping", "error",
     "A needed column is missing or several columns could play the same role; stops the run."),
    ("DQ058", "unreadable-input", "error",
     "The file cannot be read as a table (missing, empty, binary, JSON, ...); stops the run."),
    ("DQ059", "missing-series-id", "error",
     "Rows with a blank series id; stops the run."),
]
RULES = {code: (name, sev, summary) for code, name, sev, summary in DQ_RULES}
MAX_SHOWN = 10  # offending rows listed in messages and details


@dataclass
class RawLong:
    """The long frame before validation: raw cells of the used columns."""

    sid_codes: np.ndarray  # (N,) int: index into sid_labels
    sid_labels: np.ndarray  # (K,) object: series ids ("|"-joined key columns)
    time: pd.Series | None  # raw time cells (None with time_keys)
    time_keys: list[tuple[pd.Series, bool]]
    p: pd.Series
    outcome: pd.Series | None
    published: pd.Series | None
    resolved_at: pd.Series | None
    cluster: pd.Series | None
    underlying: pd.Series | None
    line: np.ndarray  # 1-based line (text) or row (parquet/frame) number in its file
    file: np.ndarray  # index into paths
    paths: list[str]
    question: pd.Series | None = None


# ---------------------------------------------------------------- helpers
def _where(raw: RawLong, rows: np.ndarray) -> list[str]:
    multi = len(raw.paths) > 1
    out = []
    for r in rows[:MAX_SHOWN]:
        loc = f"line {raw.line[r]}"
        out.append(f"{raw.paths[raw.file[r]]}:{raw.line[r]}" if multi else loc)
    return out


def _row_details(raw: RawLong, rows: np.ndarray, values, extra: dict | None = None) -> list[dict]:
    vals = np.asarray(values, dtype=object)
    out = []
    for k, r in enumerate(rows[:MAX_SHOWN]):
        d = {"line": int(raw.line[r]), "series": str(raw.sid_labels[raw.sid_codes[r]]), "value": str(vals[k])}
        if len(raw.paths) > 1:
            d["file"] = raw.paths[raw.file[r]]
        if extra:
            d.update({k2: v[k] for k2, v in extra.items()})
        out.append(d)
    return out


def _examples(raw: RawLong, rows: np.ndarray, values) -> str:
    vals = list(np.asarray(values, dtype=object)[:MAX_SHOWN])
    shown = ", ".join(f"{w} ({v!r})" for w, v in zip(_where(raw, rows), vals))
    more = f" and {len(rows) - MAX_SHOWN} more" if len(rows) > MAX_SHOWN else ""
    return shown + more


def _error(code: str, msg: str, details: list[dict] | None = None) -> InputError:
    return InputError(msg, details=details, code=code)


def _record(code: str, present: bool, message: str, count: int = 0, nobs: int | None = None,
            details: dict | None = None, ok: str = "none found") -> CheckResult:
    """A DQ finding record: status fail when present (severity info/warning, so it
    does not gate at the default --fail-on error), pass otherwise."""
    name, sev, _ = RULES[code]
    return CheckResult(code=code, name=name, family="DQ", severity=sev, status="fail" if present else "pass",
                       statistic=float(count), estimate=None, nobs=nobs,
                       message=message if present else ok,
                       details=details or {"count": count}, test_based=False)


def _pass(code: str, message: str) -> CheckResult:
    name, sev, _ = RULES[code]
    return CheckResult(code=code, name=name, family="DQ", severity=sev, status="pass", message=message,
                       details={"count": 0}, test_based=False)


# ---------------------------------------------------------------- scale
def decide_scale(raw: RawLong, p: np.ndarray, keep: np.ndarray, scale: str, col: str, path: str
                 ) -> tuple[np.ndarray, str, str]:
    """Return probabilities on [0, 1], the scale used and how it was decided."""
    v = p[keep]
    tol = 1e-9
    if v.size == 0:
        return p, "unit", "no usable probabilities"
    lo, hi = float(v.min()), float(v.max())
    rows_all = np.flatnonzero(keep)

    def out_of_range(limit: float, label: str, hint: str) -> InputError:
        bad = rows_all[(v < -tol) | (v > limit + tol)]
        return _error("DQ050", f"{path}: column {col!r}: {len(bad)} probabilities outside {label}: "
                               f"{_examples(raw, bad, p[bad])}. {hint}",
                      _row_details(raw, bad, p[bad]))

    if scale == "unit":
        if lo < -tol or hi > 1 + tol:
            raise out_of_range(1.0, "[0, 1]", "Fix those rows, or pass --scale percent if the column is in "
                                              "percent, or --na-values for placeholder values.")
        return np.clip(p, 0, 1), "unit", "unit (--scale unit)"
    if scale == "percent":
        if lo < -tol or hi > 100 + tol:
            raise out_of_range(100.0, "[0, 100]", "Fix those rows or pass --na-values for placeholders.")
        return np.clip(p / 100.0, 0, 1), "percent", "percent (--scale percent): values divided by 100"
    # auto
    if lo >= -tol and hi <= 1 + tol:
        return np.clip(p, 0, 1), "unit", f"auto: all values within [0, 1] (max {hi:g}), read as probabilities"
    if lo >= -tol and hi <= 100 + tol:
        # Percent only when it is unambiguous: values above 1 are the majority and
        # not a handful (a single 1.5 among probabilities is an error, not a percent).
        n_big = int(np.sum(v > 1 + tol))
        frac_big = n_big / v.size
        if frac_big < 0.5 or n_big < 3:
            big = rows_all[v > 1 + tol]
            raise _error("DQ056", f"{path}: column {col!r}: scale unclear: {n_big} of {v.size} values exceed 1 "
                                  f"(e.g. {_examples(raw, big, p[big])}), too few to read the column as percent. "
                                  f"Pass --scale unit (then values above 1 are errors) or --scale percent.",
                         _row_details(raw, big, p[big]))
        return (np.clip(p / 100.0, 0, 1), "percent",
                f"auto: values range {lo:g}-{hi:g} (max > 1, all within [0, 100]), read as percent and "
                f"divided by 100 (force with --scale)")
    raise out_of_range(100.0 if hi > 1 else 1.0, "[0, 1] (and outside [0, 100])",
                       "Fix those rows, or pass --na-values for placeholder values.")


# ---------------------------------------------------------------- time
def _parse_time_keys(raw: RawLong, keep: np.ndarray, sid_codes: np.ndarray, path: str) -> np.ndarray:
    """Step index within series from several order columns (a leading '-' = descending)."""
    keys = []
    for col, desc in raw.time_keys:
        pt = parse_time(col)
        bad = np.flatnonzero(pt.bad & keep)
        if len(bad):
            raise _error("DQ055", f"{path}: time column {col.name!r}: {len(bad)} values are not times or "
                                  f"numbers: {_examples(raw, bad, col.to_numpy()[bad])}.")
        keys.append(-pt.values if desc else pt.values)
    idx = np.flatnonzero(keep)
    k = [kv[idx] for kv in keys]
    order = np.lexsort(tuple(k[::-1]) + (sid_codes[idx],))
    step = np.full(len(keep), np.nan)
    if len(idx) == 0:
        return step
    s_sorted = sid_codes[idx][order]
    changed = np.zeros(len(order), bool)
    changed[1:] = s_sorted[1:] == s_sorted[:-1]
    diff_key = np.zeros(len(order), bool)
    for kv in k:
        ks = kv[order]
        diff_key[1:] |= ks[1:] != ks[:-1]
    inc = (changed & diff_key).astype(np.int64)
    new_series = np.ones(len(order), bool)
    new_series[1:] = ~changed[1:]
    csum = np.cumsum(inc)
    base = np.maximum.accumulate(np.where(new_series, csum, 0))
    step[idx[order]] = (csum - base).astype(float)
    return step


# ---------------------------------------------------------------- outcomes file
def read_outcomes_file(options: ReadOptions, cm: ColumnMap, ids: np.ndarray, notes: list[str]
                       ) -> tuple[pd.Series, pd.Series | None, str]:
    """Outcome (and resolution time) per series id from --outcomes FILE."""
    from forecheck.io.readers import read_table

    path = options.outcomes_file
    tab = read_table(path, "auto")
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
            raise _error("DQ057", f"{path}: no column of the outcomes file matches the series ids of the data "
                                  f"(e.g. {', '.join(map(repr, list(ids)[:3]))}). Give it a column with those ids "
                                  f"(same name as --series-col).")
        key_cols = [best]
        how = f"its values match {best_n} series ids"
    key = _join_cols(f, key_cols)
    if options.outcome_col and options.outcome_col.lower() in low:
        ocol = low[options.outcome_col.lower()]
    else:
        scratch: list[str] = []
        ocol = infer_outcome_col(cols, options.prob_col or cm.p, set(key_cols), path, scratch)
        if ocol is None:
            raise _error("DQ057", f"{path}: no outcome column in the outcomes file (looked for outcome, resolved, "
                                  f"result, won, *_outcome). Pass --outcome-col NAME.")
    out, bad = parse_outcome(f[ocol])
    if bad.any():
        b = np.flatnonzero(bad)
        vals = f[ocol].to_numpy()[b]
        shown = ", ".join(f"line {tab.first_line + r} ({v!r})" for r, v in zip(b[:MAX_SHOWN], vals))
        raise _error("DQ054", f"{path}: outcome column {ocol!r}: {len(b)} values are not 0/1, true/false, "
                              f"yes/no or blank: {shown}. Fix them or pass --outcome-col.")
    ser = pd.Series(out, index=key.to_numpy())
    known = ser.dropna()
    dup = known.groupby(level=0).nunique()
    if (dup > 1).any():
        bad_ids = list(dup.index[dup > 1][:MAX_SHOWN])
        raise _error("DQ053", f"{path}: conflicting outcomes for series {', '.join(map(repr, bad_ids))} "
                              f"in column {ocol!r}. Keep one outcome per series.")
    outcome_by = ser.groupby(level=0).max()
    res_by = None
    rcol = None
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


def _join_cols(f: pd.DataFrame, cols: list[str]) -> pd.Series:
    parts = [f[c].astype("string").fillna("").str.strip() for c in cols]
    s = parts[0]
    for x in parts[1:]:
        s = s.str.cat(x, sep="|")
    return s.astype(str)


# ---------------------------------------------------------------- main entry
def validate(raw: RawLong, cm: ColumnMap, options: ReadOptions, meta: dict) -> LoadedInput:
    """Parse, validate and account for every row; build the Panel, info and DQ findings."""
    path = ", ".join(raw.paths) if len(raw.paths) <= 3 else f"{raw.paths[0]} (+{len(raw.paths) - 1} files)"
    n_read = len(raw.p)
    notes = list(cm.notes)
    findings: list[CheckResult] = []
    dropped: dict[str, int] = {}
    keep = np.ones(n_read, bool)

    # --- series ids
    sid_codes, ids_unique = raw.sid_codes, raw.sid_labels
    blank_label = np.array([str(x).replace("|", "").strip() == "" for x in ids_unique], dtype=bool)
    blank = blank_label[sid_codes]
    if blank.any():
        b = np.flatnonzero(blank)
        raise _error("DQ059", f"{path}: series column(s) {', '.join(cm.series)}: {len(b)} rows have no series id: "
                              f"{', '.join(_where(raw, b))}. Fill them in or choose other --series-col.")

    # --- probabilities
    pp = parse_prob(raw.p, tuple(options.na_values))
    pcol = cm.p or "(series columns)"
    if pp.nonnumeric.any():
        b = np.flatnonzero(pp.nonnumeric)
        vals = raw.p.to_numpy()[b]
        raise _error("DQ051", f"{path}: probability column {pcol!r}: {int(pp.nonnumeric.sum())} values are not "
                              f"numbers: {_examples(raw, b, vals)}. Fix them, pass --na-values for placeholder "
                              f"text, or choose another --prob-col.", _row_details(raw, b, vals))
    na_rows = pp.na_value
    miss_rows = pp.missing | pp.nonfinite
    keep &= ~(na_rows | miss_rows)
    if na_rows.any():
        dropped["na_value"] = int(na_rows.sum())
    if miss_rows.any():
        dropped["missing_p"] = int(miss_rows.sum())
    b = np.flatnonzero(miss_rows)
    findings.append(_record(
        "DQ001", bool(b.size),
        f"{b.size} rows with a blank, NA or infinite probability were dropped "
        f"({int(pp.missing.sum())} missing, {int(pp.nonfinite.sum())} infinite).",
        b.size, n_read, {"count": int(b.size), "missing": int(pp.missing.sum()),
                         "nonfinite": int(pp.nonfinite.sum()),
                         "rows": _row_details(raw, b, raw.p.to_numpy()[b])}))
    b = np.flatnonzero(na_rows)
    findings.append(_record(
        "DQ002", bool(b.size),
        f"{b.size} rows whose probability is a --na-values marker ({', '.join(options.na_values)}) were dropped.",
        b.size, n_read, {"count": int(b.size), "na_values": list(options.na_values),
                         "rows": _row_details(raw, b, raw.p.to_numpy()[b])}))
    p, scale, scale_note = decide_scale(raw, pp.values, keep, options.scale, pcol, path)
    findings.append(_pass("DQ050", "all probabilities within range"))
    findings.append(_pass("DQ051", "all probabilities are numbers or missing-value markers"))
    findings.append(_pass("DQ056", f"scale: {scale_note}"))

    # --- time
    if raw.time_keys:
        t = _parse_time_keys(raw, keep, sid_codes, path)
        time_kind, time_unit, time_desc = "index", "step", "step index from ordered columns"
    else:
        pt = parse_time(raw.time)
        bad = np.flatnonzero(pt.bad & keep)
        if len(bad):
            vals = raw.time.to_numpy()[bad]
            raise _error("DQ055", f"{path}: time column {cm.time!r}: {len(bad)} values are blank or not a "
                                  f"recognised time (ISO date/timestamp, M/D/YYYY, epoch seconds or a number): "
                                  f"{_examples(raw, bad, vals)}. Fix them or choose another --time-col.",
                         _row_details(raw, bad, vals))
        t = pt.values
        time_kind, time_unit, time_desc = pt.kind, pt.unit, pt.description
    findings.append(_pass("DQ055", f"all times parsed ({time_desc})"))
    notes.append(f"Times read as {time_desc} (time kind {time_kind!r}, unit {time_unit!r}).")

    # --- outcomes per row
    row_out = np.full(n_read, np.nan)
    if raw.outcome is not None:
        o, bad = parse_outcome(raw.outcome)
        if bad.any():
            b = np.flatnonzero(bad)
            vals = raw.outcome.to_numpy()[b]
            raise _error("DQ054", f"{path}: outcome column {cm.outcome!r}: {len(b)} values are not 0/1, "
                                  f"true/false, yes/no, won/lost or blank: {_examples(raw, b, vals)}. "
                                  f"Fix them or choose another --outcome-col.", _row_details(raw, b, vals))
        row_out = o
    res_row = None
    if options.outcomes_file:
        obs, res_by, _ = read_outcomes_file(options, cm, np.asarray(ids_unique, dtype=object), notes)
        mapped = pd.Series(ids_unique).map(obs).to_numpy(dtype=float)
        file_out = mapped[sid_codes]
        if raw.outcome is not None:
            notes.append("The outcomes file takes precedence over the outcome column where it has a value.")
            row_out = np.where(np.isnan(file_out), row_out, file_out)
        else:
            row_out = file_out
        if res_by is not None:
            if (res_by.attrs.get("unit") != time_unit):
                notes.append("Resolution times in the outcomes file are ignored: their unit differs from the "
                             "time column's.")
            else:
                res_row = pd.Series(ids_unique).map(res_by).to_numpy(dtype=float)[sid_codes]
    # conflicting outcomes within a series (vectorised: distinct (series, outcome) pairs)
    has = ~np.isnan(row_out)
    pairs = pd.DataFrame({"s": sid_codes[has], "o": row_out[has]}).drop_duplicates()
    conflict = pairs["s"][pairs["s"].duplicated()].unique()
    if len(conflict):
        cids = [str(ids_unique[c]) for c in conflict[:MAX_SHOWN]]
        rows = np.flatnonzero(np.isin(sid_codes, conflict[:MAX_SHOWN]) & has)
        raise _error("DQ053", f"{path}: outcome column {cm.outcome!r}: {len(conflict)} series have conflicting "
                              f"outcomes: {', '.join(map(repr, cids))} (e.g. {_examples(raw, rows, row_out[rows])}). "
                              f"Each series must resolve one way; check --series-col.",
                     _row_details(raw, rows, row_out[rows]))
    # series outcome: the known value, broadcast to all its rows
    s_out = np.full(len(ids_unique), np.nan)
    s_out[pairs["s"].to_numpy()] = pairs["o"].to_numpy()
    row_out = s_out[sid_codes]
    findings.append(_pass("DQ053", "no series has conflicting outcomes"))
    findings.append(_pass("DQ054", "all outcome values valid" if (raw.outcome is not None or options.outcomes_file)
                          else "no outcome column"))

    if raw.resolved_at is not None:
        pr = parse_time(raw.resolved_at)
        if pr.unit == time_unit:
            r = np.where(pr.bad, np.nan, pr.values)
            res_row = r if res_row is None else np.where(np.isnan(res_row), r, res_row)
        else:
            notes.append(f"Resolution time column {cm.resolved_at!r} ignored: its unit ({pr.unit}) differs "
                         f"from the time column's ({time_unit}).")
    if res_row is not None:
        # one value per series: the latest given
        rs = pd.Series(res_row).groupby(sid_codes).max()
        tmp = np.full(len(ids_unique), np.nan)
        tmp[rs.index.to_numpy()] = rs.to_numpy()
        res_row = tmp[sid_codes]

    # --- back-casts (publication time later than model time by more than a day)
    backcast = np.zeros(n_read, bool)
    lag = None
    if raw.published is not None:
        pub = parse_time(raw.published)
        if pub.unit == "day" and time_unit == "day":
            lag = pub.values - t
            backcast = keep & np.isfinite(lag) & (lag > 1.0)
        else:
            notes.append(f"Publication column {cm.published!r} not used: back-casts need day-based times.")
    b = np.flatnonzero(backcast)
    if b.size:
        dates = np.unique(t[b])
        first, last = _fmt_times(time_kind, [dates.min(), dates.max()])
        msg = (f"{b.size} rows on {len(dates)} model dates ({first} ... {last}) were published more than one "
               f"day after their model date (up to {np.nanmax(lag[b]):.0f} days later): computed "
               f"retroactively, so they are not real-time forecasts.")
        if options.drop_backcast:
            msg += " They were dropped (--drop-backcast)."
        else:
            msg += " Use --drop-backcast to analyse only real-time rows."
    else:
        msg = ""
    findings.append(_record("DQ007", bool(b.size), msg, ok=("no back-casts" if raw.published is not None else
                                                             "no publication-time column"), count=
                            b.size, nobs=n_read, details={"count": int(b.size),
                                             "model_dates": int(len(np.unique(t[b]))) if b.size else 0,
                                             "rows": _row_details(raw, b, raw.published.to_numpy()[b]
                                                                  if b.size else [])}))
    if options.drop_backcast and b.size:
        keep &= ~backcast
        dropped["backcast"] = int(b.size)

    # --- unsorted input: within a series, time decreasing in file order
    kidx = np.flatnonzero(keep)
    order_file = kidx[np.lexsort((raw.line[kidx], raw.file[kidx], sid_codes[kidx]))]
    s_o = sid_codes[order_file]
    t_o = t[order_file]
    same = s_o[1:] == s_o[:-1]
    back = same & (t_o[1:] < t_o[:-1])
    n_back = int(back.sum())
    unsorted_series = int(len(np.unique(s_o[1:][back]))) if n_back else 0
    br = order_file[1:][back]
    findings.append(_record(
        "DQ004", n_back > 0,
        f"{unsorted_series} series were not in time order in the file ({n_back} rows earlier than the row before "
        f"them); rows were sorted by series and time.", n_back, int(keep.sum()),
        {"count": n_back, "series": unsorted_series, "rows": _row_details(raw, br, raw_time_strings(raw, t, br))}))
    if n_back:
        notes.append(f"Input was not in time order within {unsorted_series} series; sorted.")

    # --- duplicates (series, time)
    order = kidx[np.lexsort((raw.line[kidx], raw.file[kidx], t[kidx], sid_codes[kidx]))]
    s_s, t_s, p_s = sid_codes[order], t[order], p[order]
    dup = np.zeros(len(order), bool)
    dup[1:] = (s_s[1:] == s_s[:-1]) & (t_s[1:] == t_s[:-1])
    diff = dup.copy()
    diff[1:] &= p_s[1:] != p_s[:-1]
    if diff.any():
        rows = order[np.flatnonzero(diff)]
        prev = order[np.flatnonzero(diff) - 1]
        hint = _distinguishing_columns(meta.get("frame_for_hint"), cm, np.concatenate([prev, rows]))
        shown = ", ".join(f"{w} and {w2}: {p[a]:g} vs {p[c]:g}" for w, w2, a, c in
                          zip(_where(raw, prev[:3]), _where(raw, rows[:3]), prev[:3], rows[:3]))
        raise _error("DQ052", f"{path}: {int(diff.sum())} rows repeat a (series, time) pair with a different "
                              f"probability, e.g. series {str(ids_unique[sid_codes[rows[0]]])!r}: {shown}. "
                              f"The series key is probably incomplete: pass --series-col with more columns"
                              f"{hint}.", _row_details(raw, rows, p[rows]))
    dup_rows = order[np.flatnonzero(dup)]
    findings.append(_pass("DQ052", "no (series, time) pair has two different probabilities"))
    findings.append(_pass("DQ057", "every needed column was found unambiguously"))
    findings.append(_pass("DQ058", "input read"))
    findings.append(_pass("DQ059", "every row has a series id"))
    findings.append(_record(
        "DQ003", bool(dup_rows.size),
        f"{dup_rows.size} rows repeat an earlier row's series, time and probability; the copies were dropped.",
        dup_rows.size, int(keep.sum()),
        {"count": int(dup_rows.size), "rows": _row_details(raw, dup_rows, p[dup_rows])}))
    if dup_rows.size:
        keep[dup_rows] = False
        dropped["duplicate"] = int(dup_rows.size)

    # --- build the panel
    kidx = np.flatnonzero(keep)
    if kidx.size == 0:
        raise _error("DQ001", f"{path}: no usable rows: all {n_read} rows were dropped "
                              f"({', '.join(f'{k}: {v}' for k, v in dropped.items())}).")
    extra: dict = {"source_row": raw.line[kidx].astype(np.int64)}
    if res_row is not None:
        extra["resolved_at"] = res_row[kidx]
    if raw.cluster is not None:
        extra["cluster"] = raw.cluster.astype(str).to_numpy(dtype=object)[kidx]
    if raw.question is not None:
        extra["question"] = raw.question.astype(str).to_numpy(dtype=object)[kidx]
    if raw.underlying is not None:
        extra["underlying"] = pd.to_numeric(raw.underlying, errors="coerce").to_numpy(dtype=float)[kidx]
    panel, porder = build_panel(sid_codes[kidx], ids_unique, t[kidx], p[kidx], s_out, time_kind, time_unit,
                                **extra)
    if len(raw.paths) > 1:
        panel.meta["source_file"] = raw.file[kidx][porder]
    panel.meta["paths"] = list(raw.paths)

    # --- findings on the panel (vectorised over rows)
    findings.extend(panel_findings(panel, options.min_length))
    rows_used = panel.n_obs
    assert rows_used + sum(dropped.values()) == n_read, "row accounting"
    lost = len(ids_unique) - panel.n_series
    if lost:
        notes.append(f"{lost} series had no usable rows and are not in the analysis.")
    findings.sort(key=lambda r: r.code)

    info = {
        "paths": list(raw.paths),
        "format": meta.get("format"),
        "encoding": meta.get("encoding"),
        "delimiter": meta.get("delimiter"),
        "layout": cm.layout,
        "columns": cm.info(),
        "scale": scale,
        "scale_note": scale_note,
        "rows_read": int(n_read),
        "rows_used": int(rows_used),
        "rows_dropped": dropped,
        "series": int(panel.n_series),
        "resolved_series": int(panel.resolved.sum()),
        "short_series": int((panel.lengths < options.min_length).sum()),
        "time_kind": time_kind,
        "time_unit": time_unit,
        "time_range": _fmt_times(time_kind, [panel.time.min(), panel.time.max()]),
        "notes": notes + list(meta.get("notes", [])),
    }
    return LoadedInput(panel=panel, info=info, findings=findings)


def build_panel(codes: np.ndarray, labels: np.ndarray, t: np.ndarray, p: np.ndarray, outcome_by_code: np.ndarray,
                time_kind: str, time_unit: str, *, source_row: np.ndarray | None = None,
                resolved_at: np.ndarray | None = None, cluster: np.ndarray | None = None,
                underlying: np.ndarray | None = None, question: np.ndarray | None = None) -> tuple[Panel, np.ndarray]:
    """Panel from integer series codes (same result as ``Panel.from_arrays``: ids
    sorted as strings, rows sorted by (series, time), per-series values from each
    series' first row) without sorting 10^5 strings: only the K distinct ids are
    sorted, rows are ordered by integer rank. Returns the panel and the row order."""
    present = np.unique(codes)
    lab = np.asarray(labels, dtype=object)[present].astype(str)
    o = np.argsort(lab, kind="stable")
    rank = np.full(len(labels), -1, dtype=np.int64)
    rank[present[o]] = np.arange(len(present))
    r = rank[codes]
    order = np.lexsort((t, r))
    rs = r[order]
    first = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1]])
    offsets = np.append(first, len(rs)).astype(np.int64)
    ids = lab[o].astype(object)
    out = np.asarray(outcome_by_code, dtype=float)[present[o]]

    def per_series(a):
        return None if a is None else np.asarray(a)[order][first]

    ra = per_series(resolved_at)
    panel = Panel(ids=ids, offsets=offsets, time=np.asarray(t, float)[order], p=np.asarray(p, float)[order],
                  outcome=out, time_kind=time_kind, time_unit=time_unit,
                  resolved_at=None if ra is None else ra.astype(float), cluster=per_series(cluster),
                  underlying=None if underlying is None else np.asarray(underlying, float)[order],
                  source_row=None if source_row is None else np.asarray(source_row)[order],
                  question=per_series(question))
    return panel, order


def raw_time_strings(raw: RawLong, t: np.ndarray, rows: np.ndarray) -> list:
    if raw.time is not None:
        return list(raw.time.to_numpy()[rows[:MAX_SHOWN]])
    return list(t[rows[:MAX_SHOWN]])


def _fmt_times(kind: str, values) -> list[str]:
    out = []
    for x in values:
        if not np.isfinite(x):
            out.append("")
        elif kind == "date":
            out.append(str(np.datetime64(int(round(x)), "D")))
        elif kind == "datetime":
            out.append(str(np.datetime64(int(round(x * 86400)), "s")).replace("T", " "))
        else:
            out.append(f"{x:g}")
    return out


def _distinguishing_columns(frame: pd.DataFrame | None, cm: ColumnMap, rows: np.ndarray) -> str:
    """Columns whose values differ between the conflicting rows (a hint for --series-col)."""
    if frame is None or cm.layout != "long" or len(frame) == 0:
        return ""
    used = set(cm.used())
    sub = frame.iloc[rows[:2000]]
    cand = []
    for c in frame.columns:
        if c in used or c.startswith("_"):
            continue
        if sub[c].astype("string").nunique(dropna=False) > 1:
            num = pd.to_numeric(sub[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if np.isfinite(num).mean() > 0.9 and not np.all(num[np.isfinite(num)] % 1 == 0):
                continue  # a measurement (vote share, volume), not a key
            cand.append(c)
    named = [c for c in cand if c.lower() in SERIES_NAMES or c.lower() in ("candidate", "party", "model",
                                                                           "version", "contractsymbol")]
    cand = named + [c for c in cand if c not in named]
    if not cand:
        return ""
    key = list(cm.series) + cand[:3]
    return f" (rows differ in {', '.join(cand[:5])}; try " + " ".join(f"--series-col {c}" for c in key) + ")"


def panel_findings(panel: Panel, min_length: int) -> list[CheckResult]:
    """DQ005, DQ006, DQ008, DQ009 computed on a built panel."""
    out = []
    ids = panel.ids
    src = panel.source_row if panel.source_row is not None else np.arange(1, panel.n_obs + 1)
    # DQ005 short series
    short = np.flatnonzero(panel.lengths < min_length)
    out.append(_record(
        "DQ005", bool(short.size),
        f"{short.size} of {panel.n_series} series have fewer than {min_length} forecasts; they are kept for "
        f"calibration but skipped by dynamic checks.", short.size, panel.n_series,
        {"count": int(short.size), "min_length": min_length,
         "series": [{"series": str(ids[i]), "n": int(panel.lengths[i])} for i in short[:MAX_SHOWN]]}))
    # DQ006 certainty then move: p_{t-1} in {0, 1} and p_t != p_{t-1}
    r = panel.increment_rows
    prev = panel.p[r - 1]
    hit = r[((prev == 0) | (prev == 1)) & (panel.p[r] != prev)]
    s_hit = panel.series_index[hit]
    out.append(_record(
        "DQ006", bool(hit.size),
        f"{hit.size} forecasts in {len(np.unique(s_hit))} series move away from a probability of exactly 0 or 1; "
        f"a calibrated forecaster never does (certainty cannot be revised).", hit.size, len(r),
        {"count": int(hit.size), "series": int(len(np.unique(s_hit))),
         "rows": [{"line": int(src[k]), "series": str(ids[panel.series_index[k]]),
                   "time": panel.format_time(panel.time[k]), "from": float(panel.p[k - 1]),
                   "value": float(panel.p[k])} for k in hit[:MAX_SHOWN]]}))
    # DQ008 unresolved
    unres = np.flatnonzero(~panel.resolved)
    out.append(_record(
        "DQ008", bool(unres.size),
        f"{unres.size} of {panel.n_series} series have no outcome; checks that need one skip them.",
        unres.size, panel.n_series,
        {"count": int(unres.size), "series": [str(ids[i]) for i in unres[:MAX_SHOWN]]}))
    # DQ009 rows after resolution
    if panel.resolved_at is not None:
        ra = panel.resolved_at[panel.series_index]
        late = np.flatnonzero(np.isfinite(ra) & (panel.time > ra))
        msg = (f"{late.size} forecasts in {len(np.unique(panel.series_index[late]))} series are dated after their "
               f"series' resolution time.")
    else:
        late = np.zeros(0, int)
        msg = "no resolution times given"
    out.append(_record(
        "DQ009", bool(late.size), msg, late.size, panel.n_obs, ok=(msg if panel.resolved_at is None else
                                                                  "no forecasts after resolution"),
        details={"count": int(late.size),
         "rows": [{"line": int(src[k]), "series": str(ids[panel.series_index[k]]),
                   "time": panel.format_time(panel.time[k]), "value": float(panel.p[k])} for k in late[:MAX_SHOWN]]}))
    return out

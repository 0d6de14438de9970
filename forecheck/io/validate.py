"""Validation of the long frame: parsing, scale, row accounting and DQ findings.

Validation is a list of small steps (:data:`ROW_STEPS`, then :data:`PANEL_STEPS`
on the built panel), each deciding its own DQ rule(s). A step reads the working
state, may parse a column into it, and returns its DQ records and the rows it
drops (by reason); :func:`validate` walks the list in one loop that keeps the row
accounting: ``rows_read == rows_used + sum(rows_dropped.values())``.

Everything is vectorised over the whole long frame (no loop over series).
Rules that make analysis impossible raise :class:`~forecheck.errors.InputError`
(exit 2) naming the file, column, first offending rows and what to do; the
others become ``DQ`` records (``CheckResult`` with ``family="DQ"``,
``test_based=False``): status ``fail`` when the finding is present, ``pass``
otherwise. The rule table lives in :mod:`forecheck.io.dq_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from forecheck.errors import InputError
from forecheck.details import FindingDetails
from forecheck.io.dq_rules import DQ_RULES, MAX_SHOWN, RULES
from forecheck.io.findings import EMPTY_SERIES_NOTE, FINDINGS, UNSORTED_NOTE, Backcasts
from forecheck.io.infer import ColumnMap, SERIES_NAMES
from forecheck.io.loaded import InputInfo, LoadedInput
from forecheck.io.options import ReadOptions
from forecheck.io.outcomes import read_outcomes_file
from forecheck.io.parse import MISSING_TOKENS, format_times, parse_outcome, parse_prob, parse_time
from forecheck.panel import NO_CLUSTER, Panel
from forecheck.results import CheckResult

__all__ = ["DQ_RULES", "RULES", "RawLong", "validate", "ROW_STEPS", "PANEL_STEPS", "read_outcomes_file"]


@dataclass
class RawLong:
    """The long frame before validation: raw cells of the used columns.

    :func:`validate` consumes it: each text column is dropped (set to None) once
    the last step that reads it is done (:data:`RELEASE_AFTER`), so that the text
    of a large file does not stay in memory next to the parsed arrays."""

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
    group: pd.Series | None = None  # --group-by column (per row; one value per series)
    question: pd.Series | None = None  # --question-col (per row)


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


def _example_items(raw: RawLong, rows: np.ndarray, values) -> list[str]:
    """The first MAX_SHOWN ``rows`` as messages show them: "line 12 ('x')"."""
    vals = list(np.asarray(values, dtype=object)[:MAX_SHOWN])
    return [f"{w} ({v!r})" for w, v in zip(_where(raw, rows), vals)]


def _listed(items: list[str], n: int) -> str:
    """Shown rows of ``n`` in all: "a, b and 3 more"."""
    more = f" and {n - MAX_SHOWN} more" if n > MAX_SHOWN else ""
    return ", ".join(items[:MAX_SHOWN]) + more


def _examples(raw: RawLong, rows: np.ndarray, values) -> str:
    return _listed(_example_items(raw, rows, values), len(rows))


def _cells(col: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The raw cells of the first MAX_SHOWN ``rows`` (all that messages show): converting
    the whole column to objects costs 0.25 s per million rows."""
    if len(rows) == 0:
        return np.empty(0, dtype=object)
    return col.iloc[np.asarray(rows[:MAX_SHOWN], dtype=np.int64)].to_numpy()


def _kept(keep: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """Indices of the kept rows and whether that is every row; the indices are
    None then (callers use the arrays as they are instead of gathering them)."""
    if keep.all():
        return None, True
    return np.flatnonzero(keep), False


def _at(order: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    """Rows at positions ``pos`` of an order (None: the rows in their own order)."""
    return pos if order is None else order[pos]


def _in_order(s: np.ndarray, t: np.ndarray | None = None) -> bool:
    """Whether rows are already sorted by ``s`` (and ``t`` within equal ``s``):
    then a stable sort returns them as they are, and is skipped."""
    if not np.all(s[1:] >= s[:-1]):
        return False
    return t is None or bool(np.all((t[1:] >= t[:-1]) | (s[1:] > s[:-1])))


def _error(code: str, msg: str, details: list[dict] | None = None) -> InputError:
    return InputError(msg, details=details, code=code)


def _record(code: str, present: bool, message: str | None, count: int = 0, nobs: int | None = None,
            details: dict | None = None, ok: str = "none found", state=None) -> CheckResult:
    """A DQ finding record: status fail when present (severity info/warning, so it
    does not gate at the default --fail-on error), pass otherwise. ``message`` None:
    the code's wording from its details and ``state`` (io/findings.FINDINGS)."""
    name, sev, _ = RULES[code]
    typed = _finding(details or {"count": count}, state)
    if present and message is None:
        message = FINDINGS[code].message(typed, nobs)
    return CheckResult(code=code, name=name, family="DQ", severity=sev, status="fail" if present else "pass",
                       statistic=float(count), estimate=None, nobs=nobs,
                       message=message if present else ok, details=typed, test_based=False)


def _finding(d: dict, state=None) -> FindingDetails:
    """Typed details of a DQ finding: the count, the first offending rows, extras (and
    the internal state its message reads, io/findings.FindingSpec.state)."""
    d = dict(d)
    count = int(d.pop("count", 0))
    rows = tuple(d.pop("rows")) if "rows" in d else None
    return FindingDetails(count=count, rows=rows, extra=d or None, _state=state)


def _pass(code: str, message: str) -> CheckResult:
    name, sev, _ = RULES[code]
    return CheckResult(code=code, name=name, family="DQ", severity=sev, status="pass", message=message,
                       details=FindingDetails(count=0), test_based=False)


# ---------------------------------------------------------------- stops
#: The rules that stop the run on counted bad rows, in the order validation meets them
#: (ROW_STEPS: a step runs only when the steps before it passed; step_outcomes checks
#: DQ054 before DQ053; DQ055 the ordering columns of --time-col a,-b in turn).
STOP_ORDER = ("DQ059", "DQ051", "DQ050", "DQ055", "DQ054", "DQ053", "DQ052")


def _place(raw: RawLong, r) -> tuple[int, int]:
    """A row's place in the input, (file, row): ordered as the input's rows are."""
    return int(raw.file[r]), int(raw.line[r])


def _row_entries(raw: RawLong, rows: np.ndarray, values, details: bool = True) -> list[tuple]:
    """The first MAX_SHOWN ``rows`` as a stop holds them: (place, shown item, detail)."""
    items = _example_items(raw, rows, values)
    dets = _row_details(raw, rows, values) if details else [None] * len(items)
    return [(_place(raw, r), i, d) for r, i, d in zip(rows[:MAX_SHOWN], items, dets)]


def _shown_rows(entries: list[tuple], n: int) -> tuple[str, list[dict]]:
    """The listed rows of ``n`` in all and their details, from row entries."""
    return _listed([e[1] for e in entries], n), [e[2] for e in entries[:MAX_SHOWN] if e[2] is not None]


def _word_bad_cells(f: dict, n: int, entries: list[tuple]) -> tuple[str, list[dict]]:
    shown, details = _shown_rows(entries, n)
    head = f"{f['path']}: {f['what']} {f['column']!r}: {n} {f['rows']}: {shown}."
    return head + (f" {f['hint']}" if f["hint"] else ""), details


def _word_no_series(f: dict, n: int, entries: list[tuple]) -> tuple[str, list[dict]]:
    return (f"{f['path']}: series column(s) {', '.join(f['columns'])}: {n} rows have no series id: "
            f"{', '.join(e[1] for e in entries[:MAX_SHOWN])}. Fill them in or choose other --series-col."), []


def _word_conflicting_outcomes(f: dict, n: int, entries: list[tuple]) -> tuple[str, list[dict]]:
    # an entry per conflicting series: (place of its first conflicting row, (id, its rows with an
    # outcome, the first MAX_SHOWN of them)); the rows shown are those of the series listed
    series = entries[:MAX_SHOWN]
    rows = sorted((r for _, (_, _, rs) in series for r in rs), key=lambda e: e[0])
    shown, details = _shown_rows(rows, sum(k for _, (_, k, _) in series))
    ids = ", ".join(repr(sid) for _, (sid, _, _) in series)
    message = (f"{f['path']}: outcome column {f['column']!r}: {n} series have conflicting outcomes: {ids} "
               f"(e.g. {shown}). Each series must resolve one way; check --series-col.")
    return message, details


def _word_duplicates(f: dict, n: int, entries: list[tuple]) -> tuple[str, list[dict]]:
    # an entry per conflicting row, in (series, time) order: (key, (series id, "row and row: p vs p"), detail)
    shown = ", ".join(e[1][1] for e in entries[:3])
    message = (f"{f['path']}: {n} rows repeat a (series, time) pair with a different probability, e.g. series "
               f"{entries[0][1][0]!r}: {shown}. The series key is probably incomplete: pass --series-col with "
               f"more columns{f['hint']}.")
    return message, [e[2] for e in entries[:MAX_SHOWN]]


_WORDING = {"DQ059": _word_no_series, "DQ051": _word_bad_cells, "DQ050": _word_bad_cells,
            "DQ055": _word_bad_cells, "DQ054": _word_bad_cells, "DQ053": _word_conflicting_outcomes,
            "DQ052": _word_duplicates}


class BadRows(InputError):
    """A validation step stopping the run (exit 2) on counted bad rows or series
    (:data:`STOP_ORDER`). Besides the message (worded from the fields, once) it holds
    what a caller validating the input in disjoint parts needs to word the whole input's
    (:func:`merge_stops`): the rule, what the message names (``fields``), the count, and
    an entry for each of the first MAX_SHOWN rows (or series) counted, (key, shown,
    detail), whose keys order them as the whole input's validation meets them."""

    def __init__(self, code: str, fields: dict, count: int, entries: list[tuple]):
        message, details = _WORDING[code](fields, count, entries)
        super().__init__(message, details=details, code=code)
        self.fields, self.count, self.entries = fields, count, entries

    @property
    def rank(self) -> tuple[int, int]:
        """Where validation meets this stop: the rule's place in STOP_ORDER, then the
        ordering column's (--time-col a,-b) for DQ055."""
        key = self.fields.get("key")
        return STOP_ORDER.index(self.code), -1 if key is None else key

    def __reduce__(self):  # (pickled by its fields: it crosses processes in the Dask engine)
        return (BadRows, (self.code, self.fields, self.count, self.entries))


def merge_stops(parts: list[BadRows]) -> BadRows:
    """The stop of the whole input from its disjoint parts' (each part a whole number
    of series, its rows in input order): the first stop validation meets (a part that
    stops later passed the earlier steps, so has none of their bad rows), its count
    added over the parts that stop there, the entries shown the first in the whole
    input's order (and what the message names from the part holding the first)."""
    rank = min(p.rank for p in parts)
    parts = [p for p in parts if p.rank == rank]
    tagged = sorted(((e[0], k, e) for k, p in enumerate(parts) for e in p.entries), key=lambda x: (x[0], x[1]))
    first = parts[tagged[0][1]] if tagged else parts[0]
    return BadRows(first.code, first.fields, sum(p.count for p in parts), [e for _, _, e in tagged[:MAX_SHOWN]])


# ---------------------------------------------------------------- scale
def decide_scale(raw: RawLong, p: np.ndarray, keep: np.ndarray, scale: str, col: str, path: str
                 ) -> tuple[np.ndarray, str, str]:
    """Return probabilities on [0, 1], the scale used and how it was decided."""
    v = p if keep.all() else p[keep]
    tol = 1e-9
    if v.size == 0:
        return p, "unit", "no usable probabilities"
    lo, hi = float(v.min()), float(v.max())

    def rows_all() -> np.ndarray:  # only messages need the row numbers
        return np.flatnonzero(keep)

    def out_of_range(limit: float, label: str, hint: str) -> InputError:
        bad = rows_all()[(v < -tol) | (v > limit + tol)]
        return BadRows("DQ050", {"path": path, "what": "column", "column": col,
                                 "rows": f"probabilities outside {label}", "hint": hint},
                       len(bad), _row_entries(raw, bad, p[bad[:MAX_SHOWN]]))

    def clipped() -> np.ndarray:
        # np.clip(p, 0, 1) changes nothing when every kept value is within [0, 1] and none is -0.0
        # (clip makes it +0.0); the others are NaN, which it keeps: skip the pass over 10^7 rows
        if lo >= 0 and hi <= 1 and not np.signbit(v).any():
            return p
        return np.clip(p, 0, 1)

    if scale == "unit":
        if lo < -tol or hi > 1 + tol:
            raise out_of_range(1.0, "[0, 1]", "Fix those rows, or pass --scale percent if the column is in "
                                              "percent, or --na-values for placeholder values.")
        return clipped(), "unit", "unit (--scale unit)"
    if scale == "percent":
        if lo < -tol or hi > 100 + tol:
            raise out_of_range(100.0, "[0, 100]", "Fix those rows or pass --na-values for placeholders.")
        return np.clip(p / 100.0, 0, 1), "percent", "percent (--scale percent): values divided by 100"
    # auto
    if lo >= -tol and hi <= 1 + tol:
        return clipped(), "unit", f"auto: all values within [0, 1] (max {hi:g}), read as probabilities"
    if lo >= -tol and hi <= 100 + tol:
        # Percent only when it is unambiguous: values above 1 are the majority and
        # not a handful (a single 1.5 among probabilities is an error, not a percent).
        n_big = int(np.sum(v > 1 + tol))
        frac_big = n_big / v.size
        if frac_big < 0.5 or n_big < 3:
            big = rows_all()[v > 1 + tol]
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
def _bad_times(w: Work, column: str, key: int | None, bad: np.ndarray, cells) -> BadRows:
    """DQ055: kept rows whose time cells cannot be read (``key``: which of several
    ordering columns, --time-col a,-b; None: the one time column)."""
    if key is None:
        fields = {"rows": "values are blank or not a recognised time (ISO date/timestamp, M/D/YYYY, epoch seconds "
                          "or a number)", "hint": "Fix them or choose another --time-col."}
    else:
        fields = {"rows": "values are not times or numbers", "hint": ""}
    return BadRows("DQ055", {"path": w.path, "what": "time column", "column": column, "key": key, **fields},
                   len(bad), _row_entries(w.raw, bad, cells, details=key is None))


def _parse_time_keys(w: Work) -> np.ndarray:
    """Step index within series from several order columns (a leading '-' = descending)."""
    raw, keep, sid_codes = w.raw, w.keep, w.raw.sid_codes
    keys = []
    for j, ((col, desc), (name, _)) in enumerate(zip(raw.time_keys, w.cm.time_keys)):
        pt = parse_time(col, _reading(w.options, name))
        bad = np.flatnonzero(pt.bad & keep)
        if len(bad):
            raise _bad_times(w, col.name, j, bad, _cells(col, bad))
        kv = pt.values if pt.exact is None else pt.exact  # integers compared exactly (int64)
        keys.append(-kv if desc else kv)
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


# ---------------------------------------------------------------- the steps
@dataclass
class Work:
    """The state the steps share: the raw rows, the mask of rows still kept, and
    what the steps have parsed so far (filled in step by step)."""

    raw: RawLong
    cm: ColumnMap
    options: ReadOptions
    meta: dict
    path: str  # the input as named in messages
    keep: np.ndarray  # (N,) rows not dropped yet
    notes: list[str]
    p: np.ndarray | None = None  # probabilities on [0, 1] (NaN where unusable)
    pcol: str = ""
    scale: str = "unit"
    scale_note: str = ""
    t: np.ndarray | None = None  # float time per row
    t_key: np.ndarray | None = None  # time per row for order and equality: exact int64 for integer times
    time_kind: str = "index"
    time_unit: str = "step"
    s_out: np.ndarray | None = None  # (K,) outcome per series label
    res_row: np.ndarray | None = None  # (N,) resolution time per row (None: not given)

    @property
    def n_read(self) -> int:
        return len(self.keep)


@dataclass(frozen=True)
class StepResult:
    """What a step decided: its DQ records and the rows it drops, by reason
    (``rows_dropped`` key -> (N,) mask; only rows still kept are counted)."""

    findings: tuple[CheckResult, ...] = ()
    drop: dict[str, np.ndarray] = field(default_factory=dict)


def step_series_ids(w: Work) -> StepResult:
    """DQ059: every row has a series id."""
    raw = w.raw
    blank_label = np.array([str(x).replace("|", "").strip() == "" for x in raw.sid_labels], dtype=bool)
    if blank_label.any():  # (every label names some row: no blank label, no blank row)
        b = np.flatnonzero(blank_label[raw.sid_codes])
        raise BadRows("DQ059", {"path": w.path, "columns": list(w.cm.series)}, len(b),
                      [(_place(raw, r), i, None) for r, i in zip(b, _where(raw, b))])
    return StepResult((_pass("DQ059", "every row has a series id"),))


def step_probabilities(w: Work) -> StepResult:
    """DQ051 (text: stop), DQ001 (missing/infinite: drop), DQ002 (--na-values: drop)."""
    raw, options = w.raw, w.options
    pp = parse_prob(raw.p, tuple(options.na_values))
    w.pcol = w.cm.p or "(series columns)"
    if pp.nonnumeric.any():
        b = np.flatnonzero(pp.nonnumeric)
        vals = _cells(raw.p, b)
        raise BadRows("DQ051", {"path": w.path, "what": "probability column", "column": w.pcol,
                                "rows": "values are not numbers", "hint": "Fix them, pass --na-values for "
                                "placeholder text, or choose another --prob-col."}, len(b), _row_entries(raw, b, vals))
    w.p = pp.values
    na_rows = pp.na_value
    miss_rows = pp.missing | pp.nonfinite
    b = np.flatnonzero(miss_rows)
    dq001 = _record(
        "DQ001", bool(b.size), None, b.size, w.n_read, {"count": int(b.size), "missing": int(pp.missing.sum()),
                           "nonfinite": int(pp.nonfinite.sum()),
                           "rows": _row_details(raw, b, _cells(raw.p, b))})
    b = np.flatnonzero(na_rows)
    dq002 = _record(
        "DQ002", bool(b.size), None, b.size, w.n_read, {"count": int(b.size), "na_values": list(options.na_values),
                           "rows": _row_details(raw, b, _cells(raw.p, b))})
    return StepResult((dq001, dq002, _pass("DQ051", "all probabilities are numbers or missing-value markers")),
                      {"na_value": na_rows, "missing_p": miss_rows})


def step_scale(w: Work) -> StepResult:
    """DQ050 (out of range: stop), DQ056 (scale unclear: stop); probabilities to [0, 1]."""
    w.p, w.scale, w.scale_note = decide_scale(w.raw, w.p, w.keep, w.options.scale, w.pcol, w.path)
    return StepResult((_pass("DQ050", "all probabilities within range"), _pass("DQ056", f"scale: {w.scale_note}")))


def _reading(options: ReadOptions, col: str | None):
    """The reading of time column ``col`` decided over the whole input (ReadOptions.time_readings),
    or None: parse_time decides from the rows read."""
    return next((r for c, r in options.time_readings if c == col), None) if col else None


def step_time(w: Work) -> StepResult:
    """DQ055: every kept row has a time (or an order from --time-col a,-b)."""
    raw = w.raw
    if raw.time_keys:
        w.t = w.t_key = _parse_time_keys(w)
        w.time_kind, w.time_unit, time_desc = "index", "step", "step index from ordered columns"
    else:
        reading = _reading(w.options, w.cm.time)
        pt = parse_time(raw.time, reading)
        bad = np.flatnonzero(pt.bad & w.keep)
        if len(bad):
            raise _bad_times(w, w.cm.time, None, bad, _cells(raw.time, bad))
        w.t = pt.values
        w.t_key = pt.values if pt.exact is None else pt.exact
        w.time_kind, w.time_unit, time_desc = pt.kind, pt.unit, pt.description
        big = pt.exact is not None and len(pt.exact) > 0 and _beyond_float(pt.exact)  # cheap test first
        if big and np.any(np.abs(pt.exact[w.keep]) > 2**53):
            # (the whole column's largest time when it is read in parts: one note, the whole input's)
            top = reading.top if reading is not None else float(np.abs(pt.exact).max())
            w.notes.append(f"Integer times above 2^53 (e.g. nanosecond epochs) are ordered and compared exactly; "
                           f"the analysis holds them as float64 (about {np.spacing(top):g} "
                           f"apart at most), so times closer than that count as simultaneous.")
    w.notes.append(f"Times read as {time_desc} (time kind {w.time_kind!r}, unit {w.time_unit!r}).")
    return StepResult((_pass("DQ055", f"all times parsed ({time_desc})"),))


def step_outcomes(w: Work) -> StepResult:
    """DQ054 (invalid outcome: stop), DQ053 (conflicting outcomes: stop); one outcome per series,
    from the outcome column and/or --outcomes FILE (which also may give resolution times)."""
    raw, cm, options = w.raw, w.cm, w.options
    sid_codes, ids_unique = raw.sid_codes, raw.sid_labels
    row_out = None
    if raw.outcome is not None:
        o, bad = parse_outcome(raw.outcome)
        if bad.any():
            b = np.flatnonzero(bad)
            vals = _cells(raw.outcome, b)
            raise BadRows("DQ054", {"path": w.path, "what": "outcome column", "column": cm.outcome,
                                    "rows": "values are not 0/1, true/false, yes/no, won/lost or blank",
                                    "hint": "Fix them or choose another --outcome-col."}, len(b),
                          _row_entries(raw, b, vals))
        row_out = o
    if options.outcomes_file:
        obs, res_by, _ = read_outcomes_file(options, cm, np.asarray(ids_unique, dtype=object), w.notes)
        mapped = pd.Series(ids_unique).map(obs).to_numpy(dtype=float)
        file_out = mapped[sid_codes]
        if row_out is not None:
            w.notes.append("The outcomes file takes precedence over the outcome column where it has a value.")
            row_out = np.where(np.isnan(file_out), row_out, file_out)
        else:
            row_out = file_out
        if res_by is not None:
            if (res_by.attrs.get("unit") != w.time_unit):
                w.notes.append("Resolution times in the outcomes file are ignored: their unit differs from the "
                               "time column's.")
            else:
                w.res_row = pd.Series(ids_unique).map(res_by).to_numpy(dtype=float)[sid_codes]
    # conflicting outcomes within a series (vectorised): rows whose outcome differs from
    # their series' first known one; series listed in the order their conflict appears
    if row_out is None:
        row_out = np.full(w.n_read, np.nan)
    known = ~np.isnan(row_out)
    s_out, conflict = _agreeing_outcomes(sid_codes, row_out, known, len(ids_unique))
    if s_out is None:  # outcomes other than 0/1, or a conflict: the first known one of each series decides
        has = np.flatnonzero(known)
        codes_h, out_h = sid_codes[has], row_out[has]
        s_out = np.full(len(ids_unique), np.nan)
        first = ~pd.Series(codes_h).duplicated().to_numpy()
        s_out[codes_h[first]] = out_h[first]  # the first known outcome of each series
        mismatch = out_h != s_out[codes_h]
        conflict, first_at = np.unique(codes_h[mismatch], return_index=True)
        by_first = np.argsort(first_at, kind="stable")  # the series in the order their conflict appears
        conflict, first_rows = conflict[by_first], has[mismatch][first_at[by_first]]
    if len(conflict):
        raise BadRows("DQ053", {"path": w.path, "column": cm.outcome}, len(conflict),
                      _conflict_entries(raw, conflict[:MAX_SHOWN], first_rows[:MAX_SHOWN], row_out))
    w.s_out = s_out
    return StepResult((_pass("DQ053", "no series has conflicting outcomes"),
                       _pass("DQ054", "all outcome values valid" if (raw.outcome is not None or options.outcomes_file)
                             else "no outcome column")))


def _conflict_entries(raw: RawLong, conflict: np.ndarray, first_rows: np.ndarray, row_out: np.ndarray
                      ) -> list[tuple]:
    """A DQ053 entry per conflicting series: (place of its first conflicting row, (its id,
    its rows with an outcome, the first MAX_SHOWN of them as row entries))."""
    rows = np.flatnonzero(np.isin(raw.sid_codes, conflict) & ~np.isnan(row_out))
    of = raw.sid_codes[rows]
    out = []
    for c, r in zip(conflict, first_rows):
        mine = rows[of == c]
        out.append((_place(raw, r), (str(raw.sid_labels[c]), len(mine),
                                     _row_entries(raw, mine, row_out[mine[:MAX_SHOWN]]))))
    return out


def _agreeing_outcomes(codes: np.ndarray, out: np.ndarray, known: np.ndarray, k: int
                       ) -> tuple[np.ndarray | None, np.ndarray]:
    """(K,) outcome per series when every known outcome is 0 or 1 and the rows of
    each series agree (then any of them is the first), from two bincounts instead
    of a hash pass over the rows; (None, _) otherwise."""
    all_known = bool(known.all())
    c, o = (codes, out) if all_known else (codes[known], out[known])
    if not np.all((o == 0) | (o == 1)) or np.signbit(o).any():  # (a -0.0 is kept as given by the slow way)
        return None, np.zeros(0, np.int64)
    n = np.bincount(c, minlength=k)
    ones = np.bincount(c, weights=o, minlength=k)
    if not np.all((ones == 0) | (ones == n)):
        return None, np.zeros(0, np.int64)
    return np.where(n > 0, (ones > 0).astype(float), np.nan), np.zeros(0, np.int64)


def step_resolution_times(w: Work) -> StepResult:
    """Resolution time per series (no rule of its own: DQ009 reads it on the panel)."""
    raw, res_row = w.raw, w.res_row
    if raw.resolved_at is not None:
        pr = parse_time(raw.resolved_at, _reading(w.options, w.cm.resolved_at))
        if pr.unit == w.time_unit:
            r = np.where(pr.bad, np.nan, pr.values)
            res_row = r if res_row is None else np.where(np.isnan(res_row), r, res_row)
        else:
            w.notes.append(f"Resolution time column {w.cm.resolved_at!r} ignored: its unit ({pr.unit}) differs "
                           f"from the time column's ({w.time_unit}).")
    if res_row is not None:
        # one value per series: the latest given
        rs = pd.Series(res_row).groupby(raw.sid_codes).max()
        tmp = np.full(len(raw.sid_labels), np.nan)
        tmp[rs.index.to_numpy()] = rs.to_numpy()
        res_row = tmp[raw.sid_codes]
    w.res_row = res_row
    return StepResult()


def step_backcast(w: Work) -> StepResult:
    """DQ007: rows published more than a day after their model date (dropped with --drop-backcast)."""
    raw, t, options = w.raw, w.t, w.options
    backcast = np.zeros(w.n_read, bool)
    lag = None
    if raw.published is not None:
        # (read as the whole column reads when the input is validated in parts: ReadOptions.time_readings)
        pub = parse_time(raw.published, _reading(options, w.cm.published))
        if pub.unit == "day" and w.time_unit == "day":
            lag = pub.values - t
            backcast = w.keep & np.isfinite(lag) & (lag > 1.0)
        else:
            w.notes.append(f"Publication column {w.cm.published!r} not used: back-casts need day-based times.")
    b = np.flatnonzero(backcast)
    dates = np.unique(t[b])
    state = Backcasts(dates=dates, max_lag=float(np.nanmax(lag[b])), time_kind=w.time_kind,
                      dropped=options.drop_backcast) if b.size else None
    rec = _record("DQ007", bool(b.size), None, ok=("no back-casts" if raw.published is not None else
                                                   "no publication-time column"), count=b.size, nobs=w.n_read,
                  details={"count": int(b.size), "model_dates": int(len(dates)),
                           "rows": _row_details(raw, b, _cells(raw.published, b) if b.size else [])}, state=state)
    return StepResult((rec,), {"backcast": backcast} if options.drop_backcast else {})


def step_time_order(w: Work) -> StepResult:
    """DQ004: rows not in time order within a series (sorted, not dropped)."""
    raw, t, sid_codes = w.raw, w.t_key, w.raw.sid_codes
    kidx, every = _kept(w.keep)
    # within a series, row order is (file, line) order (long and wide layouts alike), so a
    # stable sort by series alone is the file order: no need to sort on (file, line) too
    s_k = sid_codes if every else sid_codes[kidx]
    if _in_order(s_k):  # series contiguous and in first-appearance order: the sort is the identity
        order_file, s_o, t_o = kidx, s_k, (t if every else t[kidx])
    else:
        order_file = np.argsort(s_k, kind="stable")
        order_file = order_file if every else kidx[order_file]
        s_o = sid_codes[order_file]
        t_o = t[order_file]
    same = s_o[1:] == s_o[:-1]
    back = same & (t_o[1:] < t_o[:-1])
    n_back = int(back.sum())
    unsorted_series = int(len(np.unique(s_o[1:][back]))) if n_back else 0
    br = _at(order_file, np.flatnonzero(back) + 1)
    rec = _record(
        "DQ004", n_back > 0, None, n_back, int(w.keep.sum()),
        {"count": n_back, "series": unsorted_series, "rows": _row_details(raw, br, raw_time_strings(raw, w.t, br))})
    if n_back:
        w.notes.append(UNSORTED_NOTE.format(unsorted_series))
    return StepResult((rec,))


def step_duplicates(w: Work) -> StepResult:
    """DQ052 (same series and time, different probability: stop), DQ003 (exact copies: dropped)."""
    raw, t, p, sid_codes, keep = w.raw, w.t_key, w.p, w.raw.sid_codes, w.keep
    kidx, every = _kept(keep)
    s_k, t_k = (sid_codes, t) if every else (sid_codes[kidx], t[kidx])
    if _in_order(s_k, t_k):  # already sorted by (series, time): the stable sort is the identity
        order, s_s, t_s, p_s = kidx, s_k, t_k, (p if every else p[kidx])
    else:
        order = np.lexsort((t_k, s_k))  # stable: ties in file order (see step_time_order)
        order = order if every else kidx[order]
        s_s, t_s, p_s = sid_codes[order], t[order], p[order]
    dup = np.zeros(len(s_s), bool)
    dup[1:] = (s_s[1:] == s_s[:-1]) & (t_s[1:] == t_s[:-1])
    diff = dup.copy()
    diff[1:] &= p_s[1:] != p_s[:-1]
    if diff.any():
        rows = _at(order, np.flatnonzero(diff))
        prev = _at(order, np.flatnonzero(diff) - 1)
        hint = _distinguishing_columns(w.meta.get("frame_for_hint"), w.cm, np.concatenate([prev, rows]))
        raise BadRows("DQ052", {"path": w.path, "hint": hint}, int(diff.sum()), _duplicate_entries(w, rows, prev))
    dup_rows = _at(order, np.flatnonzero(dup))
    rec = _record(
        "DQ003", bool(dup_rows.size), None, dup_rows.size, int(keep.sum()),
        {"count": int(dup_rows.size), "rows": _row_details(raw, dup_rows, p[dup_rows])})
    drop = np.zeros(w.n_read, bool)
    drop[dup_rows] = True
    return StepResult((_pass("DQ052", "no (series, time) pair has two different probabilities"), rec),
                      {"duplicate": drop})


def _duplicate_entries(w: Work, rows: np.ndarray, prev: np.ndarray) -> list[tuple]:
    """A DQ052 entry per row of the first MAX_SHOWN conflicting ``rows`` (``prev``: the
    rows they conflict with), keyed in the order validation meets them: by series (in
    order of its first row in the input), time, then the row's place."""
    raw, p = w.raw, w.p
    rows, prev = rows[:MAX_SHOWN], prev[:MAX_SHOWN]
    codes = raw.sid_codes[rows]
    first_row = {int(c): int(np.argmax(raw.sid_codes == c)) for c in np.unique(codes)}
    out = []
    for r, q, a, b, d in zip(rows, prev, _where(raw, prev), _where(raw, rows), _row_details(raw, rows, p[rows])):
        c = int(raw.sid_codes[r])
        key = (_place(raw, first_row[c]), w.t_key[r].item(), _place(raw, r))
        out.append((key, (str(raw.sid_labels[c]), f"{a} and {b}: {p[q]:g} vs {p[r]:g}"), d))
    return out


def step_read(w: Work) -> StepResult:
    """DQ057, DQ058: reaching validation means the file was read and the columns mapped."""
    return StepResult((_pass("DQ057", "every needed column was found unambiguously"), _pass("DQ058", "input read")))


Step = Callable[[Work], StepResult]

def label_conflict(column: str, flag: str, unit: str, n_bad: int, example: str, values: list[str]) -> str:
    """The message of a series whose rows carry two question or cluster labels (both
    engines: this step, and the Dask engine's check over its partitions)."""
    many = "1 series has" if n_bad == 1 else f"{n_bad} series have"
    return (f"column {column!r} ({flag}): {many} rows with more than one value, e.g. series {example!r}: "
            f"{', '.join(map(repr, values[:5]))}. A series belongs to one {unit}: give all its rows one value.")


def nesting_conflict(cluster_col: str, question_col: str, n_bad: int, example: str, values: list[str]) -> str:
    """The message of a question whose series lie in two clusters (both engines)."""
    many = "1 question has" if n_bad == 1 else f"{n_bad} questions have"
    return (f"column {cluster_col!r} (--cluster-col): {many} series in more than one cluster, e.g. question "
            f"{example!r} (column {question_col!r}): {', '.join(map(repr, values[:5]))}. Questions nest in "
            "clusters (the contracts of one question are one event): give every series of a question the same "
            "cluster.")


def _label_runs(sid: np.ndarray, values: pd.Series) -> tuple[np.ndarray, np.ndarray, int, pd.Index]:
    """The rows starting a run of one series and one label, the run's label code
    (equal codes = equal labels as the panel reads them, ``astype(str)``) and the
    labels as text. A series is one run when its rows are together, so only run
    starts are hashed; rows interleaved across series make more runs, at worst every
    row. (The comparison runs on pandas' own arrays: no N-row object copy.)"""
    try:
        change = values.ne(values.shift(1)).to_numpy(dtype=bool, na_value=True)  # (missing: its own run)
    except TypeError:  # objects that do not compare elementwise (pd.NA among strings): by hash codes
        codes = pd.factorize(values, use_na_sentinel=False)[0]
        change = np.r_[True, codes[1:] != codes[:-1]]
    starts = np.flatnonzero((sid != np.r_[-1, sid[:-1]]) | change)
    text = pd.Index(values.iloc[starts]).astype(str)
    codes, uniques = pd.factorize(text, use_na_sentinel=False)  # (a missing label is one more label)
    return starts, codes.astype(np.int64, copy=False), max(len(uniques), 1), text


def _several(outer: np.ndarray, n_outer: int, inner: np.ndarray, n_inner: int) -> np.ndarray:
    """Codes of ``outer`` seen with more than one ``inner`` code (distinct pairs by one
    hash pass over int64 keys)."""
    pairs = pd.unique(outer * n_inner + inner)
    return np.flatnonzero(np.bincount(pairs // n_inner, minlength=n_outer) > 1)


def step_labels(w: Work) -> StepResult:
    """Question and cluster labels nest: each series one question and one cluster, each
    question one cluster (the panel keeps one label per series and the pooled tests
    count questions within clusters; a second label used to be dropped silently, the
    series' first row deciding). Stops the run on the kept rows that break it."""
    raw = w.raw
    kidx = np.flatnonzero(w.keep)
    every = len(kidx) == len(w.keep)
    sid = raw.sid_codes if every else raw.sid_codes[kidx]
    sid = sid.astype(np.int64, copy=False)
    n_sid = len(raw.sid_labels)
    per_series = {}
    for attr, col, flag, unit in (("question", w.cm.question, "--question-col", "question"),
                                  ("cluster", w.cm.cluster, "--cluster-col", "cluster")):
        column = getattr(raw, attr)
        if column is None or col in w.cm.series:  # (a series column: one value per series by definition)
            continue
        values = column if every else column.iloc[kidx]
        starts, codes, n_codes, text = _label_runs(sid, values)
        bad = _several(sid[starts], n_sid, codes, n_codes)
        if len(bad):
            first = int(bad[0])
            rows = np.flatnonzero(sid == first)
            cells = np.array([str(x) for x in values.iloc[rows]], dtype=object)  # (one series' rows)
            raise InputError(f"{w.path}: " + label_conflict(col, flag, unit, len(bad), str(raw.sid_labels[first]),
                                                           sorted(pd.unique(cells).tolist())),
                             details=_row_details(raw, kidx[rows], cells))
        one = np.full(n_sid, -1, np.int64)  # each series' one label code (-1: no kept row)
        one[sid[starts]] = codes
        per_series[attr] = (one, n_codes, text, codes)
    if len(per_series) == 2 and w.cm.question != w.cm.cluster:
        (q, n_q, q_text, q_codes), (c, n_c, c_text, c_codes) = per_series["question"], per_series["cluster"]
        # series without a question label are not one question here (as the Dask engine's check)
        missing_q = np.unique(q_codes[pd.isna(q_text)])
        has = (q >= 0) & ~np.isin(q, missing_q)
        bad = _several(q[has], n_q, c[has], n_c)
        if len(bad):
            names = {k: str(v) for k, v in zip(q_codes.tolist(), q_text)}
            example = min(bad.tolist(), key=names.get)  # the first such question by name
            clusters = {k: str(v) for k, v in zip(c_codes.tolist(), c_text)}
            shown = sorted({clusters[k] for k in c[has][q[has] == example].tolist()})
            raise InputError(f"{w.path}: " + nesting_conflict(w.cm.cluster, w.cm.question, len(bad), names[example],
                                                             shown))
    return StepResult()


# The row steps, in order (later steps read what earlier ones parsed).
ROW_STEPS: tuple[Step, ...] = (
    step_read,
    step_series_ids,  # DQ059
    step_probabilities,  # DQ051, DQ001, DQ002
    step_scale,  # DQ050, DQ056
    step_time,  # DQ055
    step_outcomes,  # DQ053, DQ054
    step_resolution_times,
    step_backcast,  # DQ007
    step_time_order,  # DQ004
    step_duplicates,  # DQ052, DQ003
    step_labels,  # question and cluster labels nest (stops the run otherwise)
)


# The reasons the row steps drop rows for, in the order of the steps (the order a
# validation's rows_dropped lists them in: the reasons that arise, in this order).
DROP_REASONS = ("na_value", "missing_p", "backcast", "duplicate")


def add_dropped(parts) -> dict[str, int]:
    """The rows_dropped of disjoint parts' validations as the whole input's: each
    reason's rows added, the reasons in the steps' order (DROP_REASONS)."""
    out: dict[str, int] = {}
    for d in parts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + int(v)
    rank = {k: i for i, k in enumerate(DROP_REASONS)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


# The raw columns no later step reads, by the step after which they are dropped.
RELEASE_AFTER: dict[str, tuple[str, ...]] = {
    "step_probabilities": ("p",),
    "step_outcomes": ("outcome",),
    "step_resolution_times": ("resolved_at",),
    "step_backcast": ("published",),
    "step_time_order": ("time",),
}


# ---------------------------------------------------------------- main entry
def validate(raw: RawLong, cm: ColumnMap, options: ReadOptions, meta: dict, min_length: int = 3) -> LoadedInput:
    """Parse, validate and account for every row; build the Panel, info and DQ findings."""
    path = input_name(raw.paths)
    n_read = len(raw.p)
    w = Work(raw=raw, cm=cm, options=options, meta=meta, path=path, keep=np.ones(n_read, bool),
             notes=list(cm.notes))
    findings: list[CheckResult] = []
    dropped: dict[str, int] = {}
    for step in ROW_STEPS:
        res = step(w)
        for name in RELEASE_AFTER.get(step.__name__, ()):
            setattr(raw, name, None)
        findings.extend(res.findings)
        for reason, mask in res.drop.items():
            gone = mask & w.keep
            n = int(gone.sum())
            if n:
                dropped[reason] = dropped.get(reason, 0) + n
                w.keep &= ~gone

    return_arrow_memory()
    if n_read and not w.keep.any():
        w.notes.append(EMPTY_SERIES_NOTE.format(len(raw.sid_labels)))
        findings.sort(key=lambda r: r.code)
        raise NoUsableRows(no_usable_rows(w.path, n_read, dropped), findings=findings,
                           info=_info(w, meta, dropped, None, min_length))
    panel = _build_panel(w)
    findings.extend(panel_findings(panel, min_length))
    rows_used = panel.n_obs
    if rows_used + sum(dropped.values()) != n_read:  # pragma: no cover - an invariant
        raise AssertionError(f"row accounting: {n_read} read, {rows_used} used, dropped {dropped}")
    lost = len(raw.sid_labels) - panel.n_series
    if lost:
        w.notes.append(EMPTY_SERIES_NOTE.format(lost))
    findings.sort(key=lambda r: r.code)
    return LoadedInput(panel=panel, info=_info(w, meta, dropped, panel, min_length), findings=findings)


def _info(w: Work, meta: dict, dropped: dict[str, int], panel: Panel | None, min_length: int) -> InputInfo:
    """The input block of the rows validated (``panel`` None: none was usable)."""
    return InputInfo(
        paths=tuple(w.raw.paths),
        format=meta.get("format"),
        encoding=meta.get("encoding"),
        delimiter=meta.get("delimiter"),
        layout=w.cm.layout,
        columns=w.cm.info(),
        scale=w.scale,
        scale_note=w.scale_note,
        rows_read=int(w.n_read),
        rows_used=int(panel.n_obs) if panel is not None else 0,
        rows_dropped=dropped,
        series=int(panel.n_series) if panel is not None else 0,
        resolved_series=int(panel.resolved.sum()) if panel is not None else 0,
        short_series=int((panel.lengths < min_length).sum()) if panel is not None else 0,
        time_kind=w.time_kind,
        time_unit=w.time_unit,
        time_range=tuple(format_times(w.time_kind, [panel.time.min(), panel.time.max()])) if panel is not None
        else ("", ""),
        notes=tuple(w.notes + list(meta.get("notes", []))),
    )


def input_name(paths) -> str:
    """The input as messages name it: its files, or the first and how many more."""
    return ", ".join(paths) if len(paths) <= 3 else f"{paths[0]} (+{len(paths) - 1} files)"


def no_usable_rows(path: str, n_read: int, dropped: dict[str, int]) -> str:
    """The message of an input whose every row was dropped (both engines)."""
    return (f"{path}: no usable rows: all {n_read} rows were dropped "
            f"({', '.join(f'{k}: {v}' for k, v in dropped.items())}).")


class NoUsableRows(InputError):
    """Every row read was dropped: the run stops (exit 2, DQ001). A caller validating the
    input in parts (the Dask engine's partitions) goes on without such a part's rows,
    counting them (``info``: read and dropped, the notes) and its row findings."""

    def __init__(self, message: str, *, findings: list[CheckResult], info: InputInfo):
        super().__init__(message, code="DQ001")
        self.findings, self.info = findings, info


def return_arrow_memory() -> None:
    """Hand the pages pyarrow's allocator freed back to the system (it keeps them for
    its own reuse, which the numpy arrays built next cannot have): after the text
    columns are released, and once the raw columns are gone (``io.load``)."""
    import sys

    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pool = pa.default_memory_pool()
        if hasattr(pool, "release_unused"):
            pool.release_unused()


#: the start of the label given to a series whose question label is missing: a question
#: of its own, so series without a label are not one question (no CSV value starts so)
NO_QUESTION = "\x00no question: "


def row_labels(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(N,) each row's label as text (its cell's ``astype(str)``) and (N,) whether the
    cell is missing (NA) or empty, formed on the distinct cells (one hash pass, then a
    gather) instead of ``astype(str).to_numpy()`` of every row, which made 10⁷ string
    objects at 10⁷ rows (benchmarks/README.md, hot spot 41)."""
    codes, uniques = pd.factorize(values)  # (a missing cell: code -1)
    text = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    empty = np.fromiter((len(x) == 0 for x in text), dtype=bool, count=len(text))
    text = np.append(text, "")  # (code -1 picks the last: a missing cell's text is never read)
    empty = np.append(empty, True)
    return text[codes], empty[codes]


def _question_labels(raw: RawLong) -> np.ndarray:
    """The question label of every row as text (``--question-col``). A missing or empty
    label names no question: the series stands alone (a question of one outcome) and is
    its own unit in the pooled tests' dependence, instead of every unlabelled series
    forming one question called "nan" or "" (step_labels has checked that a series'
    rows agree, so a series is unlabelled in all its rows or in none). Both tests run on
    the distinct cells (:func:`row_labels`); a label of spaces stays a label."""
    labels, missing = row_labels(raw.question)
    if missing.any():
        names = np.asarray(raw.sid_labels, dtype=object).astype(str)
        labels[missing] = NO_QUESTION + names[raw.sid_codes[missing]]
    return labels


def _cluster_labels(raw: RawLong) -> np.ndarray:
    """The cluster label of every row as text (``--cluster-col``), ``NO_CLUSTER`` where
    it is missing or empty: the series without a label are one cluster, as cautious a
    reading as the data allow (DQ012 says so), whether their cells are blank or NA.
    The same tests as :func:`_question_labels` (:func:`row_labels`)."""
    labels, missing = row_labels(raw.cluster)
    if missing.any():
        labels[missing] = NO_CLUSTER
    return labels


def _build_panel(w: Work) -> Panel:
    raw = w.raw
    kidx, every = _kept(w.keep)
    if w.t_key is not None and w.t_key.dtype.kind == "i" and w.keep.any() and _beyond_float(
            w.t_key if every else w.t_key[kidx]):
        # integer times float64 cannot tell apart: order rows by the exact times first, so
        # that the panel's (stable) sort on float time keeps them in their true order
        kidx = np.flatnonzero(w.keep)
        kidx = kidx[np.lexsort((w.t_key[kidx], raw.sid_codes[kidx]))]
        every = False
    sel = slice(None) if every else kidx

    def rows(a: np.ndarray) -> np.ndarray:  # the kept rows (the arrays themselves when all are kept)
        return a if every else a[kidx]

    extra: dict = {"source_row": rows(raw.line).astype(np.int64, copy=False)}
    if w.res_row is not None:
        extra["resolved_at"] = rows(w.res_row)
    if raw.cluster is not None:
        extra["cluster"] = _cluster_labels(raw)[sel]
    if raw.group is not None:
        extra["group"] = raw.group.astype(str).to_numpy(dtype=object)[sel]
    if raw.question is not None:
        extra["question"] = _question_labels(raw)[sel]
    if raw.underlying is not None:
        u = pd.to_numeric(raw.underlying, errors="coerce")
        failed = raw.underlying[u.isna().to_numpy() & raw.underlying.notna().to_numpy()]
        # cells that are there but are neither numbers nor a missing-value marker (no count:
        # over the Dask engine's partitions the first example stands, io/findings.merge_notes)
        text = failed[~failed.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)] if len(failed) else failed
        if len(text):
            w.notes.append(f"Underlying column {w.cm.underlying!r}: cells that are not numbers (such as "
                           f"{str(text.iloc[0])[:40]!r}) are read as missing; WN306's claim 2 uses the numbers.")
        extra["underlying"] = u.to_numpy(dtype=float)[sel]
    row_meta = {"source_file": raw.file[sel]} if len(raw.paths) > 1 else None
    # the arrays are the validator's own (nothing else holds them): the panel may keep them
    panel = Panel.from_arrays(rows(raw.sid_codes), rows(w.t), rows(w.p), labels=raw.sid_labels,
                              outcome_by_code=w.s_out, time_kind=w.time_kind, time_unit=w.time_unit,
                              row_meta=row_meta, copy=False, **extra)
    panel.meta["paths"] = list(raw.paths)
    return panel


def _beyond_float(tk: np.ndarray) -> bool:
    """``np.abs(tk).max() > 2**53`` for int64 ``tk`` without the two N-row temporaries
    (numpy's abs leaves the int64 minimum negative, so that value does not count)."""
    if tk.max() > 2**53:
        return True
    return bool(tk.min() < -2**53) and bool(np.any((tk < -2**53) & (tk != np.iinfo(np.int64).min)))


def raw_time_strings(raw: RawLong, t: np.ndarray, rows: np.ndarray) -> list:
    if raw.time is not None:
        return list(_cells(raw.time, rows))
    return list(t[rows[:MAX_SHOWN]])


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


# ---------------------------------------------------------------- panel steps
PanelStep = Callable[[Panel, int], CheckResult]


def panel_short_series(panel: Panel, min_length: int) -> CheckResult:
    """DQ005: series with fewer than min_length forecasts."""
    ids = panel.ids
    short = np.flatnonzero(panel.lengths < min_length)
    return _record(
        "DQ005", bool(short.size), None, short.size, panel.n_series,
        {"count": int(short.size), "min_length": min_length,
         "series": [{"series": str(ids[i]), "n": int(panel.lengths[i])} for i in short[:MAX_SHOWN]]})


def panel_certainty_then_move(panel: Panel, min_length: int) -> CheckResult:
    """DQ006: p_{t-1} in {0, 1} and p_t != p_{t-1}."""
    ids, src = panel.ids, _source_rows(panel)
    p = panel.p
    prev = p[:-1]  # rows t >= 1 against t - 1 as views, then the series' first rows masked out
    hit = np.flatnonzero(((prev == 0) | (prev == 1)) & (p[1:] != prev) & ~panel.is_first[1:]) + 1
    n_inc = panel.n_obs - panel.n_series  # the in-flight increments (rows not first in their series)
    s_hit = panel.series_index[hit]
    return _record(
        "DQ006", bool(hit.size), None, hit.size, n_inc,
        {"count": int(hit.size), "series": int(len(np.unique(s_hit))),
         "rows": [{"line": int(src[k]), "series": str(ids[panel.series_index[k]]),
                   "time": panel.format_time(panel.time[k]), "from": float(panel.p[k - 1]),
                   "value": float(panel.p[k]), **_file_of(panel, k)} for k in hit[:MAX_SHOWN]]})


def panel_unresolved(panel: Panel, min_length: int) -> CheckResult:
    """DQ008: series without an outcome."""
    unres = np.flatnonzero(~panel.resolved)
    return _record(
        "DQ008", bool(unres.size), None, unres.size, panel.n_series,
        {"count": int(unres.size), "series": [str(panel.ids[i]) for i in unres[:MAX_SHOWN]]})


def panel_after_resolution(panel: Panel, min_length: int) -> CheckResult:
    """DQ009: forecasts dated after their series' resolution time."""
    ids, src = panel.ids, _source_rows(panel)
    if panel.resolved_at is not None:
        ra = panel.resolved_at[panel.series_index]
        late = np.flatnonzero(np.isfinite(ra) & (panel.time > ra))
    else:
        late = np.zeros(0, int)
    return _record(
        "DQ009", bool(late.size), None, late.size, panel.n_obs,
        ok="no resolution times given" if panel.resolved_at is None else "no forecasts after resolution",
        details={"count": int(late.size), "series": len(np.unique(panel.series_index[late])),
                 "rows": [{"line": int(src[k]), "series": str(ids[panel.series_index[k]]),
                           "time": panel.format_time(panel.time[k]), "value": float(panel.p[k]),
                           **_file_of(panel, k)} for k in late[:MAX_SHOWN]]})


def panel_certain_start(panel: Panel, min_length: int) -> CheckResult:
    """DQ010: series whose first forecast is exactly 0 or 1 (zero variance budget).
    When every series starts there no martingale check has anything to test; the
    runner decides what that means for the run, this record says it happened."""
    p0 = panel.p0
    hit = np.flatnonzero((p0 == 0) | (p0 == 1))
    every = bool(hit.size) and hit.size == panel.n_series
    return _record(
        "DQ010", bool(hit.size), None, hit.size, panel.n_series,
        {"count": int(hit.size), "all": every,
         "series": [{"series": str(panel.ids[i]), "p0": float(p0[i])} for i in hit[:MAX_SHOWN]]})


def panel_unlabelled_cluster(panel: Panel, min_length: int) -> CheckResult:
    """DQ012: series without a cluster label (``--cluster-col``), taken as one cluster."""
    if panel.cluster is None:
        return _record("DQ012", False, None, ok="no cluster column")
    miss = np.flatnonzero(np.asarray(panel.cluster, dtype=object) == NO_CLUSTER)
    return _record("DQ012", bool(miss.size), None, miss.size, panel.n_series,
                   {"count": int(miss.size), "series": [str(panel.ids[i]) for i in miss[:MAX_SHOWN]]},
                   ok="every series has a cluster label")


def _file_of(panel: Panel, k: int) -> dict:
    """{"file": path} of panel row k when the rows come from several files (as
    _row_details gives it), else {}."""
    files = panel.meta.get("source_file")
    return {} if files is None else {"file": panel.meta["paths"][int(files[k])]}


def _source_rows(panel: Panel) -> np.ndarray:
    return panel.source_row if panel.source_row is not None else np.arange(1, panel.n_obs + 1)


PANEL_STEPS: tuple[PanelStep, ...] = (
    panel_short_series,  # DQ005
    panel_certainty_then_move,  # DQ006
    panel_unresolved,  # DQ008
    panel_after_resolution,  # DQ009
    panel_certain_start,  # DQ010
    panel_unlabelled_cluster,  # DQ012
)


def panel_findings(panel: Panel, min_length: int) -> list[CheckResult]:
    """The DQ records computed on a built panel (:data:`PANEL_STEPS`)."""
    return [step(panel, min_length) for step in PANEL_STEPS]

"""The canonical in-memory form of a set of forecast series.

All rows of all series live in flat arrays sorted by (series, time); series ``i``
occupies rows ``offsets[i]:offsets[i+1]``. Every check is a vectorised pass over
these arrays (``np.add.reduceat``/``np.bincount`` by ``series_index``), never a
Python loop over series.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

TimeKind = Literal["date", "datetime", "epoch", "index"]
TimeUnit = Literal["day", "second", "step"]


def _rows_derived(func):
    """A cached property that depends only on the row arrays (``offsets``, ``time``,
    ``p``, ``resolved_at``): a panel holding the same arrays as another one
    (``select_series`` of every series, ``relabel``) reads the other's value instead
    of computing and keeping a second copy of it."""
    def get(self):
        same = self.__dict__.get("_same_rows")
        return getattr(same, func.__name__) if same is not None else func(self)

    get.__name__, get.__doc__ = func.__name__, func.__doc__
    return cached_property(get)


#: the cluster label of a series whose ``--cluster-col`` label is missing or empty: one
#: cluster of all such series, whether the cell is blank or null (a text such as "NA" is
#: a label), which the series table shows as no label (null) and DQ012 reports
NO_CLUSTER = "\x00no cluster"


@dataclass(frozen=True, eq=False)
class Panel:
    """Sorted forecast paths with per-series offsets.

    Attributes
    ----------
    ids : (S,) object array of str
        Series identifiers, in panel order (sorted).
    offsets : (S+1,) int64
        Row range of each series: ``offsets[i]:offsets[i+1]``.
    time : (N,) float64
        Time of each forecast in ``time_unit`` (days since 1970-01-01 for dates and
        datetimes, seconds for epoch input, the step index otherwise). Strictly
        increasing within a series.
    p : (N,) float64
        Probabilities in [0, 1].
    outcome : (S,) float64
        0.0/1.0 for resolved series, NaN for unresolved ones.
    resolved_at : (S,) float64 or None
        Resolution time in the same unit as ``time`` (NaN where unknown).
    cluster : (S,) object array or None
        Declared clusters (``--cluster-col``), e.g. election or model run; ``NO_CLUSTER``
        for every series whose label is missing or empty (one cluster of them all: DQ012).
    question : (S,) object array or None
        Question of each series (``--question-col``): mutually exclusive outcomes of one question.
    underlying : (N,) float64 or None
        An underlying quantity (vote share, margin) for Taleb's model (WN306).
    source_row : (N,) int64 or None
        1-based data row in the input file of each panel row (for messages).
    """

    ids: np.ndarray
    offsets: np.ndarray
    time: np.ndarray
    p: np.ndarray
    outcome: np.ndarray
    time_kind: TimeKind = "index"
    time_unit: TimeUnit = "step"
    resolved_at: np.ndarray | None = None
    cluster: np.ndarray | None = None
    underlying: np.ndarray | None = None
    source_row: np.ndarray | None = None
    question: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    #: (S,) group of each series (``--group-by``: model version, forecaster, ...) or None
    group: np.ndarray | None = None

    def __post_init__(self) -> None:
        s = len(self.ids)
        if self.offsets.shape != (s + 1,) or self.offsets[0] != 0 or self.offsets[-1] != len(self.p):
            raise ValueError("offsets must have length n_series + 1 and span all rows")
        if np.any(np.diff(self.offsets) < 1):
            raise ValueError("every series must have at least one row")
        if self.time.shape != self.p.shape:
            raise ValueError("time and p must have the same length")
        if self.outcome.shape != (s,):
            raise ValueError("outcome must have one value per series")

    # ------------------------------------------------------------------ shape
    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def n_obs(self) -> int:
        return len(self.p)

    @_rows_derived
    def lengths(self) -> np.ndarray:
        """(S,) number of forecasts per series."""
        return np.diff(self.offsets)

    @_rows_derived
    def series_index(self) -> np.ndarray:
        """(N,) series number of each row."""
        return np.repeat(np.arange(self.n_series), self.lengths)

    @_rows_derived
    def first_row(self) -> np.ndarray:
        return self.offsets[:-1]

    @_rows_derived
    def last_row(self) -> np.ndarray:
        return self.offsets[1:] - 1

    @_rows_derived
    def is_first(self) -> np.ndarray:
        """(N,) True on the first row of each series."""
        m = np.zeros(self.n_obs, dtype=bool)
        m[self.first_row] = True
        return m

    @_rows_derived
    def step_in_series(self) -> np.ndarray:
        """(N,) 0-based position of each row within its series."""
        return np.arange(self.n_obs) - np.repeat(self.first_row, self.lengths)

    @property
    def p0(self) -> np.ndarray:
        return self.p[self.first_row]

    @property
    def p_last(self) -> np.ndarray:
        return self.p[self.last_row]

    @property
    def resolved(self) -> np.ndarray:
        """(S,) True where the outcome is known."""
        return ~np.isnan(self.outcome)

    # ------------------------------------------------------------ increments
    @_rows_derived
    def increment_rows(self) -> np.ndarray:
        """Row numbers t (not first in series) for which Δp_t = p_t − p_{t−1} exists."""
        return np.flatnonzero(~self.is_first)

    def _at_increments(self, values: np.ndarray) -> np.ndarray:
        """``values[increment_rows − 1]`` of N − 1 values aligned with rows 0..N − 2
        (``np.diff`` of a row array, or its rows but the last), without the N indices:
        rows t − 1 are those whose next row continues the series."""
        return values[~self.is_first[1:]]

    @_rows_derived
    def dp(self) -> np.ndarray:
        """In-flight increments Δp_t at ``increment_rows`` (length N − S): the values
        of ``p[r] − p[r − 1]``, each the difference np.diff forms."""
        return self._at_increments(np.diff(self.p))

    @_rows_derived
    def dp_prev_p(self) -> np.ndarray:
        """p_{t−1} for each in-flight increment."""
        return self._at_increments(self.p[:-1])

    @_rows_derived
    def dp_series(self) -> np.ndarray:
        """Series number of each in-flight increment."""
        return self.series_index[self.increment_rows]

    @_rows_derived
    def dt(self) -> np.ndarray:
        """Time elapsed over each in-flight increment (``time[r] − time[r − 1]``)."""
        return self._at_increments(np.diff(self.time))

    def segment_sum(self, values: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """Sum ``values`` per series. ``index`` gives the series of each value
        (default: ``series_index``, i.e. one value per row)."""
        idx = self.series_index if index is None else index
        return np.bincount(idx, weights=values, minlength=self.n_series)

    # -------------------------------------------------------------- time
    @_rows_derived
    def typical_step(self) -> np.ndarray:
        """(S,) median time between consecutive forecasts (1.0 for single-row series)."""
        out = np.ones(self.n_series)
        if len(self.dt):
            dt, ser = self.dt, self.dp_series
            # increments are grouped by series in panel order: per-series min and max
            # over runs; a series whose steps are all equal has that step as its median
            starts = np.flatnonzero(np.r_[True, ser[1:] != ser[:-1]])
            lo, hi = np.minimum.reduceat(dt, starts), np.maximum.reduceat(dt, starts)
            const = lo == hi
            out[ser[starts[const]]] = lo[const]
            if not const.all():  # the rest: pandas' median (the same value, NaN-free)
                rest = np.isin(ser, ser[starts[~const]])
                df = pd.DataFrame({"s": ser[rest], "dt": dt[rest]})
                med = df.groupby("s")["dt"].median()
                out[med.index.to_numpy()] = med.to_numpy()
        return out

    @_rows_derived
    def resolution_time(self) -> np.ndarray:
        """(S,) time of resolution: ``resolved_at`` where known, otherwise one typical
        step after the last forecast (the resolution step the budget counts)."""
        fallback = self.time[self.last_row] + self.typical_step
        if self.resolved_at is None:
            return fallback
        return np.where(np.isnan(self.resolved_at), fallback, self.resolved_at)

    @_rows_derived
    def time_to_resolution(self) -> np.ndarray:
        """(N,) τ: time left until resolution at each forecast (> 0)."""
        tau = self.resolution_time[self.series_index]
        tau -= self.time  # (in the gathered buffer)
        return tau

    def format_time(self, t: float | np.ndarray) -> str | list[str]:
        """Human form of a time value (ISO date for dates, plain number otherwise)."""
        arr = np.atleast_1d(np.asarray(t, dtype=float))
        if arr.size > 64:  # a column (the series table's): each distinct value formatted once
            uniq, inv = np.unique(arr, return_inverse=True)
            out = np.array(self._format_times(uniq), dtype=object)[inv.reshape(-1)].tolist()
        else:
            out = self._format_times(arr)
        return out[0] if np.ndim(t) == 0 else out

    def _format_times(self, arr: np.ndarray) -> list[str]:
        if self.time_kind == "date":
            return [str(np.datetime64(int(round(x)), "D")) if np.isfinite(x) else "" for x in arr]
        if self.time_kind == "datetime":
            return [str(np.datetime64(int(round(x * 86400)), "s")).replace("T", " ") if np.isfinite(x) else ""
                    for x in arr]
        return [f"{x:g}" if np.isfinite(x) else "" for x in arr]

    # ------------------------------------------------------------ building
    @classmethod
    def from_arrays(
        cls,
        series: np.ndarray,
        time: np.ndarray,
        p: np.ndarray,
        outcome_by_series: dict | None = None,
        *,
        outcome: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        outcome_by_code: np.ndarray | None = None,
        time_kind: TimeKind = "index",
        time_unit: TimeUnit = "step",
        row_meta: dict[str, np.ndarray] | None = None,
        copy: bool = True,
        **extra: np.ndarray | None,
    ) -> "Panel":
        """Build a panel from long-layout arrays (any order; sorted here). The one
        constructor of a panel from rows: the loader and tests both use it.

        ``series`` holds the id of each row, or, with ``labels``, an integer code
        per row into ``labels`` (the loader's factorised ids: then only the K
        distinct labels are sorted as strings, not the N rows). Ids are sorted as
        strings and rows by (series, time), stably.

        Outcomes: ``outcome`` (N,) per row (the value on each series' first row is
        used; NaN = unresolved), ``outcome_by_code`` (K,) per label, or
        ``outcome_by_series`` mapping id -> outcome. Extra per-row arrays
        ``underlying``/``source_row`` and per-row ``resolved_at``/``cluster`` (taken
        from each series' first row) may be passed as keywords; ``row_meta`` arrays
        (one value per row) are reordered with the rows and stored in ``meta``.
        Duplicate (series, time) pairs are not resolved here: the validator does that.

        Rows already in (series, time) order are not sorted (the stable sort would
        return them as they are). ``copy=False`` lets the panel keep the given
        per-row arrays themselves in that case (the loader passes arrays nothing
        else holds); by default they are copied.
        """
        if labels is None:
            # Hash-factorise the ids (sorting 10^6 strings is ~10x slower than
            # factorising them and sorting the K distinct ones).
            codes, uniq = pd.factorize(np.asarray(series).astype(str))
            labels = np.asarray(uniq, dtype=object)
        else:
            codes = np.asarray(series)
        present = np.flatnonzero(np.bincount(codes, minlength=len(labels)))  # sorted codes in use, O(N)
        lab = np.asarray(labels, dtype=object)[present].astype(str)
        o = np.argsort(lab, kind="stable")
        if len(present) == len(labels) and np.array_equal(o, np.arange(len(o))) and codes.dtype == np.int64:
            r = codes  # every label in use and already sorted: the codes are the ranks
        else:
            rank = np.full(len(labels), -1, dtype=np.int64)
            rank[present[o]] = np.arange(len(present))
            r = rank[codes]
        time = np.asarray(time, dtype=float)
        in_order = bool(np.all(r[1:] >= r[:-1])) and bool(np.all((time[1:] >= time[:-1]) | (r[1:] > r[:-1])))
        # in (series, time) order already: the stable sort would return the rows as they are
        order = None if in_order else np.lexsort((time, r))
        rs = r if order is None else r[order]
        first = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1]]) if len(rs) else np.zeros(0, np.int64)
        offsets = np.append(first, len(rs)).astype(np.int64)
        first_src = first if order is None else order[first]  # input row of each series' first row
        ids = lab[o].astype(object)
        if outcome is not None:
            out = np.asarray(outcome, dtype=float)[first_src]
        elif outcome_by_code is not None:
            out = np.asarray(outcome_by_code, dtype=float)[present[o]]
        elif outcome_by_series is not None:
            out = np.array([float(outcome_by_series.get(i, np.nan)) for i in ids], dtype=float)
        else:
            out = np.full(len(ids), np.nan)

        def rows(a, dtype=None):
            if a is None:
                return None
            a = np.asarray(a, dtype=dtype)
            if order is not None:
                return a[order]
            return np.array(a, copy=True) if copy else a

        def per_series(a):
            return None if a is None else np.asarray(a)[first_src]

        ra = per_series(extra.get("resolved_at"))
        panel = cls(ids=ids, offsets=offsets, time=rows(time), p=rows(p, float), outcome=out,
                    time_kind=time_kind, time_unit=time_unit,
                    resolved_at=None if ra is None else ra.astype(float),
                    cluster=per_series(extra.get("cluster")), group=per_series(extra.get("group")),
                    question=per_series(extra.get("question")),
                    underlying=rows(extra.get("underlying"), float),
                    source_row=rows(extra.get("source_row")))
        for key, values in (row_meta or {}).items():
            panel.meta[key] = rows(values)
        return panel

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, series: str = "series", time: str = "time", p: str = "p",
                   outcome: str | None = "outcome", **kw) -> "Panel":
        """Build a panel from a long frame with numeric time (e.g. simulator output)."""
        out = df[outcome].to_numpy(dtype=float) if outcome and outcome in df else None
        return cls.from_arrays(df[series].to_numpy(), df[time].to_numpy(dtype=float),
                               df[p].to_numpy(dtype=float), outcome=out, **kw)

    def to_frame(self) -> pd.DataFrame:
        """Long frame (series, time, p, outcome) in panel order."""
        return pd.DataFrame({
            "series": self.ids[self.series_index],
            "time": self.time,
            "p": self.p,
            "outcome": self.outcome[self.series_index],
        })

    def select_series(self, mask: np.ndarray) -> "Panel":
        """A new panel with only the series where ``mask`` (S,) is True."""
        mask = np.asarray(mask, dtype=bool)
        return self._subset(mask, mask[self.series_index], self.lengths[mask])

    def take_series(self, order: np.ndarray) -> "Panel":
        """A new panel with the series ``order`` (integer indices, e.g. a permutation),
        in that order, their rows moved with them."""
        order = np.asarray(order, dtype=np.int64)
        lengths = self.lengths[order]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        rows = np.repeat(self.offsets[:-1][order] - starts, lengths) + np.arange(int(lengths.sum()))
        return self._subset(order, rows, lengths)

    def relabel(self, **fields) -> "Panel":
        """``dataclasses.replace`` of per-series labels (``question``, ``cluster``,
        ``group``, ``ids``, ``meta``): the row arrays and what is derived from them
        (increments, times to resolution, ...) are shared with this panel, not copied
        or recomputed."""
        if not set(fields) <= {"question", "cluster", "group", "ids", "meta"}:
            raise ValueError(f"relabel changes per-series labels only, not {sorted(fields)}")
        new = replace(self, **fields)
        object.__setattr__(new, "_same_rows", self.__dict__.get("_same_rows") or self)
        return new

    def scratch_view(self) -> Panel:
        """A panel of the same arrays that shares none of this panel's derived values:
        what a one-off computation derives on it (increments, their series, ...) is freed
        with it instead of being cached here."""
        return replace(self)

    def _subset(self, pick: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> "Panel":
        """The panel of the series ``pick`` (mask or indices) and their ``rows``: every
        per-series field indexed by ``pick``, every per-row field by ``rows``. Picking
        every series in panel order keeps the same values in the same order: the panel
        then holds this panel's arrays themselves (``relabel``), not copies of them."""
        if pick.dtype == bool:
            everything = bool(pick.all())
        else:
            everything = len(pick) == self.n_series and bool(np.all(pick == np.arange(self.n_series)))
        # (a strided row array is still copied: the copy is contiguous, and a reduction's
        # rounding may depend on the memory layout)
        if everything and all(a is None or a.flags.c_contiguous
                              for a in (self.time, self.p, self.underlying, self.source_row)):
            return self.relabel(meta=dict(self.meta))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        def row(a):
            return None if a is None else a[rows]

        def per(a):
            return None if a is None else a[pick]

        return Panel(ids=self.ids[pick], offsets=offsets, time=self.time[rows], p=self.p[rows],
                     outcome=self.outcome[pick], time_kind=self.time_kind, time_unit=self.time_unit,
                     resolved_at=per(self.resolved_at), cluster=per(self.cluster), group=per(self.group),
                     underlying=row(self.underlying), source_row=row(self.source_row), question=per(self.question),
                     meta=dict(self.meta))

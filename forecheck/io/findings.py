"""How each data-quality finding is worded, and how findings on parts of the data add up.

A finding's message is a function of its typed details (count and extras, and for
DQ007 an internal state: the distinct model dates, which do not add up as a count)
and its ``nobs``, declared here once per code: the validator words its records with
it, and a finding assembled from the same finding on disjoint sets of series (the
Dask engine's partitions, each validated on its own) is worded from the sums the
same way (:func:`merge`), so both engines print the same sentence for the same data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecheck.details import FindingDetails
from forecheck.io.dq_rules import MAX_SHOWN
from forecheck.io.parse import format_times
from forecheck.results import CheckResult


@dataclass(frozen=True)
class FindingSpec:
    message: Callable[[FindingDetails, int | None], str]  # (details, nobs) -> the message of a finding
    rows_by: str = "file"  # the order rows are listed in: "file" (file, line) or "series" (id, then as found)
    # how each extra adds up over parts: "sum" (a count), "same" (a setting every part shares),
    # "all" (true when true in every part), "series" (the first series listed, by id),
    # "state" (the merged state's attribute of that name, below)
    extras: Mapping[str, str] | None = None
    # how the parts' states (FindingDetails._state: what the message reads beyond the
    # record, e.g. a set whose size is not the sum of the parts' sizes) add up; None: none
    state: Callable[[list[Any]], Any] | None = None


def _x(d: FindingDetails, key: str):
    return (d.extra or {})[key]


@dataclass(frozen=True)
class Backcasts:
    """DQ007's state in one part of the rows: the distinct model dates of its back-casts
    (float days, ascending: at most one per day, not one per row), the longest lag
    (days), the time kind the dates are written in, and whether the rows were dropped."""

    dates: np.ndarray
    max_lag: float
    time_kind: str
    dropped: bool

    @property
    def model_dates(self) -> int:
        return len(self.dates)


def merge_backcasts(parts: list[Backcasts]) -> Backcasts:
    """The whole input's Backcasts: the dates of every part (a date in several parts
    once), the longest lag; a part with a time of day makes the whole input's times
    timestamps (a date-only part is its dates at midnight)."""
    kind = "datetime" if any(b.time_kind == "datetime" for b in parts) else parts[0].time_kind
    return Backcasts(dates=np.unique(np.concatenate([b.dates for b in parts])),
                     max_lag=max(b.max_lag for b in parts), time_kind=kind, dropped=parts[0].dropped)


def _backcast_message(d: FindingDetails, n: int | None) -> str:
    b: Backcasts = d._state
    first, last = format_times(b.time_kind, [b.dates[0], b.dates[-1]])
    return (f"{d.count} rows on {_x(d, 'model_dates')} model dates ({first} ... {last}) were published more than "
            f"one day after their model date (up to {b.max_lag:.0f} days later): computed retroactively, so they "
            "are not real-time forecasts."
            + (" They were dropped (--drop-backcast)." if b.dropped else
               " Use --drop-backcast to analyse only real-time rows."))


FINDINGS: dict[str, FindingSpec] = {
    "DQ001": FindingSpec(
        lambda d, n: f"{d.count} rows with a blank, NA or infinite probability were dropped "
                     f"({_x(d, 'missing')} missing, {_x(d, 'nonfinite')} infinite).",
        extras={"missing": "sum", "nonfinite": "sum"}),
    "DQ002": FindingSpec(
        lambda d, n: f"{d.count} rows whose probability is a --na-values marker "
                     f"({', '.join(_x(d, 'na_values'))}) were dropped.",
        extras={"na_values": "same"}),
    "DQ003": FindingSpec(
        lambda d, n: f"{d.count} rows repeat an earlier row's series, time and probability; the copies were "
                     f"dropped.",
        rows_by="series"),
    "DQ004": FindingSpec(
        lambda d, n: f"{_x(d, 'series')} series were not in time order in the file ({d.count} rows earlier than "
                     f"the row before them); rows were sorted by series and time.",
        rows_by="series", extras={"series": "sum"}),
    "DQ005": FindingSpec(
        lambda d, n: f"{d.count} of {n} series have fewer than {_x(d, 'min_length')} forecasts; they are kept "
                     f"for calibration but skipped by dynamic checks.",
        extras={"min_length": "same", "series": "series"}),
    "DQ006": FindingSpec(
        lambda d, n: f"{d.count} forecasts in {_x(d, 'series')} series move away from a probability of exactly 0 "
                     f"or 1; a calibrated forecaster never does (certainty cannot be revised).",
        rows_by="series", extras={"series": "sum"}),
    "DQ007": FindingSpec(_backcast_message, extras={"model_dates": "state"}, state=merge_backcasts),
    "DQ008": FindingSpec(
        lambda d, n: f"{d.count} of {n} series have no outcome; checks that need one skip them.",
        extras={"series": "series"}),
    "DQ009": FindingSpec(
        lambda d, n: f"{d.count} forecasts in {_x(d, 'series')} series are dated after their series' resolution "
                     f"time.",
        rows_by="series", extras={"series": "sum"}),
    "DQ010": FindingSpec(
        lambda d, n: f"{d.count} of {n} series start at a probability of exactly 0 or 1: their variance budget "
                     f"p0(1-p0) is zero, so the martingale checks have nothing to test on them"
                     + ("; that is every series, so no variance-budget check can test this input (check the "
                        "probability column and --scale)." if _x(d, "all") else "."),
        extras={"all": "all", "series": "series"}),
    "DQ012": FindingSpec(
        lambda d, n: f"{d.count} of {n} series have no cluster label (--cluster-col); they are taken together "
                     f"as one cluster, dependent on one another and independent of the labelled clusters.",
        extras={"series": "series"}),
}


def merge(parts: list[CheckResult], paths: list[str]) -> CheckResult:
    """One record from the records of one DQ code on disjoint sets of series (each
    validated alone; ``paths``: the input files, in the order the rows were read):
    counts and nobs added, extras added up by their rule, the first rows and series
    listed in the order the whole input's validation lists them, and the message worded
    from the sums. A code without a :class:`FindingSpec` (no count to add) keeps the
    first part's record with the summed nobs."""
    first = parts[0]
    nobs = sum(r.nobs for r in parts) if all(r.nobs is not None for r in parts) else first.nobs
    spec = FINDINGS.get(first.code)
    dets = [r.details for r in parts if isinstance(r.details, FindingDetails)]
    if spec is None or len(dets) != len(parts):
        return first.with_(nobs=nobs)
    count = sum(d.count for d in dets)
    rows = None
    if any(d.rows is not None for d in dets):
        at = {p: i for i, p in enumerate(paths)}

        def where(row: dict) -> tuple:
            # by series: a stable sort keeps each part's own order within a series (each
            # series is whole in one part), which is the whole input's (by time, or file order)
            return (str(row.get("series")),) if spec.rows_by == "series" else \
                (at.get(row.get("file"), 0), row.get("line", 0))

        rows = tuple(sorted((row for d in dets for row in (d.rows or ())), key=where)[:MAX_SHOWN])
    states = [d._state for d in dets if d._state is not None]
    state = spec.state(states) if spec.state is not None and states else None
    extra = None
    if dets[0].extra is not None:
        extra = {key: getattr(state, key) if rule == "state" and state is not None else
                 _merge_extra(rule, [d.extra.get(key) for d in dets if d.extra])
                 for key, rule in (spec.extras or {}).items()}
        extra.update({k: v for k, v in dets[0].extra.items() if k not in extra})
        extra = {k: extra[k] for k in dets[0].extra}  # (the validator's key order)
    details = FindingDetails(count=count, rows=rows, extra=extra, _state=state)
    if count == 0:
        return first.with_(nobs=nobs, details=details)
    return first.with_(status="fail", statistic=float(count), nobs=nobs, details=details,
                       message=spec.message(details, nobs))


def _merge_extra(rule: str, values: list):
    if rule == "sum":
        return sum(values)
    if rule == "all":
        return all(values)
    if rule == "series":
        items = [x for v in values for x in v]
        return sorted(items, key=lambda x: str(x["series"]) if isinstance(x, dict) else str(x))[:MAX_SHOWN]
    return values[0]  # "same" (and "state" when no part has a state: each part's value, 0 alike)


# ---------------------------------------------------------------- notes
#: input notes that count series, worded here once (the validator and io/outcomes
#: format them); over parts each count (each group of the pattern) is added up
UNSORTED_NOTE = "Input was not in time order within {} series; sorted."
EMPTY_SERIES_NOTE = "{} series had no usable rows and are not in the analysis."
_COUNTED = (re.compile(r"^Input was not in time order within (\d+) series; sorted\.$"),
            re.compile(r"^(\d+) series had no usable rows and are not in the analysis\.$"),
            re.compile(r"^Outcomes from .*; (\d+) of (\d+) series matched\.$"))  # (io/outcomes)
#: notes that quote an example: over parts, the first part's
_EXAMPLE = (re.compile(r"^Underlying column .*: cells that are not numbers "),)


def merge_notes(parts: Sequence[Sequence[str]]) -> list[str]:
    """The input notes of disjoint parts' validations as the whole input's: each note
    once, in the order of first appearance; a note counting series once, with the
    parts' counts added; a note quoting an example once, with the first part's."""
    out: list[str] = []
    at: dict[tuple, int] = {}  # note key -> its index in out
    sums: dict[int, tuple[list[str], list[int]]] = {}  # index -> (the note around its counts, the sums)
    for notes in parts:
        for note in notes:
            m = next((m for pat in _COUNTED if (m := pat.match(note))), None)
            if m is not None:
                key: tuple = ("count", *_around(m))
            else:
                example = next((i for i, pat in enumerate(_EXAMPLE) if pat.match(note)), None)
                key = ("example", example) if example is not None else ("exact", note)
            if key not in at:
                at[key] = len(out)
                out.append(note)
            if m is not None:
                text, total = sums.get(at[key], (_around(m), [0] * m.re.groups))
                sums[at[key]] = (text, [a + int(b) for a, b in zip(total, m.groups())])
    for i, (text, total) in sums.items():
        out[i] = text[0] + "".join(f"{n}{rest}" for n, rest in zip(total, text[1:]))
    return out


def _around(m: re.Match) -> list[str]:
    """The text of a matched note before, between and after its count groups."""
    cut = [0, *(x for g in range(1, m.re.groups + 1) for x in (m.start(g), m.end(g))), len(m.string)]
    return [m.string[a:b] for a, b in zip(cut[::2], cut[1::2])]

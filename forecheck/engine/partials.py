"""One partition of whole units -> the additive contributions of the pooled checks.

A partition (a pandas frame holding every row of each of its series, and every
series of each of its declared questions and clusters: the Dask engine shuffles by
the outermost declared grouping to get there) is read by the in-memory loader
(``forecheck.io.load_frame``: the same validation, row accounting and DQ findings)
and the per-series quantities are computed by the same code the in-memory checks
use (``CheckContext``, ``series_budget``, ``_excess_terms``, ``excess_pvalues``,
``stats.dependence.cell_sums``/``unit_sums``). What leaves the partition is O(series)
per-series columns plus O(times) per-time-cell sums, never the rows. Declared
questions (``--question-col``) are honoured as the in-memory engine honours them
(``CheckContext.questions``: mirror contracts dropped from the pooled panel, unit
codes, per-cluster scores), and so are the questions the driver detected
(``Detected``, after the shuffle by them; what the driver's detection reads of a
partition: ``detection_parts``, ``fetch_rows``); what a partition cannot see,
whether the labels nest (``labels``), the driver checks over every partition's labels.

Two passes: the first gives everything except the same-time cells of MG101's
excess terms, which are centred on the pooled mean of those terms (known only
after every partition has reported); the second gives those cells. The WN
checks' parts come from ``engine/wiener.py`` in the same two passes (WN301's GLM
takes one more pass per Newton step over its rows, ``vol_design``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecheck.checks.context import CheckContext, first_of_units
from forecheck.checks.martingale import (
    _excess_terms,
    _mg101_inputs,
    _position,
    excess_reduction_variance,
    mg103_rows,
)
from forecheck.config import AnalysisConfig
from forecheck.engine import wiener
from forecheck.errors import InputError, InsufficientDataError
from forecheck.io.loaded import InputInfo
from forecheck.io.options import ReadOptions
from forecheck.io.validate import BadRows, NoUsableRows, row_labels
from forecheck.panel import NO_CLUSTER
from forecheck.report.model import series_table
from forecheck.results import CheckResult
from forecheck.stats.budget import uncertainty
from forecheck.stats.dependence import CellSums, cell_sums, unit_sums
from forecheck.stats.evalue import excess_pvalues, lower_bound
from forecheck.stats.streams import series_keys

#: column the Dask engine's reader adds: (file, row) of every row as one int64, file << ROW_BITS | row
ORDER = "__forecheck_row_order"
ROW_BITS = 40  # rows per file below 2^40, files below 2^23


@dataclass(frozen=True)
class Piece:
    """Consecutive row groups of one input file: one partition of the Dask read."""

    file: int  # index into the run's files
    path: str
    row_groups: tuple[int, ...]
    first_row: int  # 0-based row of the file where the piece starts


def read_piece(piece: Piece, names: list[str], schema) -> pd.DataFrame:
    """A piece's rows with the run's columns, cast to the types unified over the files
    (``schema``, pyarrow), and the ORDER of each row: where it is in its file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # (the parameter is not called ``columns``: dask.dataframe.from_map would pass its own)
    table = pq.ParquetFile(piece.path).read_row_groups(list(piece.row_groups), columns=names).select(names)
    for k, f in enumerate(table.schema):
        if pa.types.is_integer(f.type) and pa.types.is_floating(schema.field(f.name).type):
            # integers read as float64 (columns of several number types, or with nulls): rounded
            # to the nearest float64 beyond 2^53, as pandas reads them (the checked cast refuses)
            table = table.set_column(k, f.name, table.column(k).cast(schema.field(f.name).type, safe=False))
    try:
        table = table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = [f"{f.name!r} ({f.type} as {schema.field(f.name).type})" for f in table.schema
               if f.type != schema.field(f.name).type]
        raise InputError(f"{piece.path}: column(s) {', '.join(bad)} cannot be read as the type the other files "
                         f"give them ({str(exc).splitlines()[0][:200]}); write each column as one type in every "
                         "file, or use the in-memory engine") from None
    frame = table.to_pandas(self_destruct=True)
    rows = np.arange(piece.first_row, piece.first_row + len(frame), dtype=np.int64)
    return frame.assign(**{ORDER: (np.int64(piece.file) << ROW_BITS) | rows})


@dataclass(frozen=True)
class Pass1:
    info: InputInfo
    findings: list[CheckResult]
    series: pd.DataFrame  # the report's series table for this partition's series
    pooled: pd.DataFrame  # MG101/MG102 per-series columns of the series MG101 pools
    n_excluded: int  # pooled series MG101 leaves out (unresolved and short)
    d_sum: float  # Σ in-flight excess terms d of the pooled series (for centring)
    d_n: int
    tau: pd.DataFrame  # per distinct time to resolution τ of in-flight steps: n, movement, reduction, excess
    cells106: CellSums  # MG106: same-time cells of the dynamic series' increments
    n_dynamic: int
    n_dp_dynamic: int
    time_min: float
    time_max: float
    time_unit: str
    vr: dict | None  # MG105: per-q sums of the scores (engine/combine.variance_ratio)
    regressions: dict  # MG103/MG104: X'X, X'y, rows, clusters, Σ x-column (engine/combine.regression)
    wn: dict | None  # WN301–WN305, WN307: per-series tests, counts and sums (engine/wiener.first_parts)
    questions: object  # stats.questions.Questions of this partition's series (series table order)
    mg102_src: np.ndarray  # (S,) id of the pooled series whose MG102 columns each series shows, or None
    clusters106: frozenset | None  # declared clusters of the dynamic series (MG106's count), None: none
    labels: pd.DataFrame | None  # distinct (series columns, question, cluster) of the rows (nesting check)
    detect: dict | None = None  # what the driver's question detection reads (detection_parts), or None


@dataclass(frozen=True)
class Dropped:
    """The first pass of a partition none of whose rows is usable (each dropped: a
    missing probability, a back-cast with --drop-backcast, ...), which the whole input
    may well have: its rows and findings still count (the in-memory loader counts
    them), its series are among those without usable rows."""

    info: InputInfo
    findings: list[CheckResult]


REGRESSIONS = ("MG103", "MG104")


def regression_rows(ctx: CheckContext, code: str):
    """The rows of MG103's / MG104's regression exactly as checks/martingale.py forms
    them (mg103_rows; (o − p_t) on Δp_t), WLS-scaled: (X, y, series, time, clusters, panel);
    None when the partition has none."""
    pan, _ = ctx.dynamic()
    if code == "MG103":
        if not np.any(_position(pan) >= 1):
            return None
        y, x, s, t, w = mg103_rows(pan)
        keep = w > 0
        sw = np.sqrt(w[keep])
        y, x, s, t = y[keep], x[keep], s[keep], t[keep]
    else:
        pan = pan.select_series(pan.resolved)
        if pan.n_series == 0 or len(pan.dp) == 0:
            return None
        rows = pan.increment_rows
        y, x, s, t = pan.outcome[pan.dp_series] - pan.p[rows], pan.dp, pan.dp_series, pan.time[rows]
        sw = np.ones_like(y)
    # the cluster of each row as checks/martingale._with_codes forms it: contracts nest in
    # questions, questions in declared clusters (a partition holds whole clusters)
    groups = (pan.cluster.astype(str) if pan.cluster is not None else pan.question)[s]
    return np.column_stack([sw, sw * x]), sw * y, s, t, groups, pan


def _regression_sums(ctx: CheckContext) -> dict:
    out = {}
    for code in REGRESSIONS:
        r = regression_rows(ctx, code)
        if r is None:
            continue
        X, y, _, _, groups, _ = r
        out[code] = {"xtx": X.T @ X, "xty": X.T @ y, "n": len(y), "G": int(np.unique(groups).size),
                     "sum_x1": float(X[:, 1].sum()), "sum_sq": np.sum(X * X, axis=0),
                     "finite": bool(np.all(np.isfinite(X)) and np.all(np.isfinite(y)))}
    return out


def _regression_scores(ctx: CheckContext, fits: dict) -> dict:
    """Per cluster the CR1 scores X_g'û_g and the slope's score sums, and the
    same-time cells of the slope's scores (x − x̄)·û (checks/martingale._regression)."""
    import pandas as pd_

    out = {}
    for code, (beta, xbar) in fits.items():
        r = regression_rows(ctx, code)
        if r is None:
            continue
        X, y, s, t, groups, pan = r
        u = y - X @ beta
        g = pd_.factorize(groups)[0]
        G = int(g.max()) + 1 if len(g) else 0
        sc = np.stack([np.bincount(g, weights=X[:, j] * u, minlength=G) for j in range(2)], axis=1)
        score = (X[:, 1] - xbar) * u
        out[code] = {"scores": sc, "slope_score_sums": np.bincount(g, weights=score, minlength=G),
                     "cells": unit_sums(score, s, t, pan.question, pan.cluster)}
    return out


def _vr_scores(ctx: CheckContext):
    """MG105's per-increment scores Δx_t h_t for every q of VR_QS (check_mg105's probe)."""
    from forecheck.checks.martingale import VR_QS
    from forecheck.stats.variance_ratio import pooled_variance_ratio

    pan, _ = ctx.dynamic()
    n_inc = np.bincount(pan.dp_series, minlength=pan.n_series)
    if len(pan.dp) == 0:
        return None
    pos = _position(pan)
    try:
        probe = pooled_variance_ratio(pan.dp, pos, pan.dp_series, n_inc, VR_QS)
    except InsufficientDataError:  # every score zero in this partition (others may have some)
        probe = None
    return pan, n_inc, pos, probe


def _vr_sums(ctx: CheckContext) -> dict | None:
    from forecheck.checks.martingale import VR_QS

    r = _vr_scores(ctx)
    if r is None:
        return None
    pan, n_inc, pos, probe = r
    out = {"len_sum": [int(np.sum(n_inc[n_inc >= 2 * q])) for q in VR_QS]}
    sc = probe.scores if probe is not None else np.zeros((len(pan.dp), len(VR_QS)))
    out.update(total=sc.sum(0), omega=sc.T @ sc, used_sum=np.array([sc[sc[:, j] != 0, j].sum() for j in
                                                                    range(len(VR_QS))]),
               used_n=np.count_nonzero(sc, axis=0),
               den=np.array([float(np.sum(pan.dp[(pos >= q - 1) & (n_inc >= 2 * q)[pan.dp_series]] ** 2))
                             for q in VR_QS]),
               n_series=np.array([int(np.sum(n_inc >= 2 * q)) for q in VR_QS]),
               n_steps=np.array([int(np.sum((pos >= q - 1) & (n_inc >= 2 * q)[pan.dp_series])) for q in VR_QS]))
    return out


def _vr_cells(ctx: CheckContext, means: np.ndarray) -> list | None:
    """The same-time cells of MG105's centred scores, one UnitSums per q of VR_QS."""
    r = _vr_scores(ctx)
    if r is None or r[3] is None:
        return None
    pan, _, _, probe = r
    t_inc = pan.time[pan.increment_rows]
    out = []
    for j in range(probe.scores.shape[1]):
        v = probe.scores[:, j]
        used = v != 0
        out.append(unit_sums(np.where(used, v - means[j], 0.0), pan.dp_series, t_inc, pan.question, pan.cluster))
    return out


def _context(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
             detected: Detected | None = None):
    from forecheck import io

    # back to the input's row order (files in turn, rows in file order: what DQ003 and
    # DQ004 read), and each row's file and row for the findings' row references
    frame = frame.sort_values(ORDER, kind="stable").reset_index(drop=True)
    order = frame.pop(ORDER).to_numpy()
    frame = frame.drop(columns=[UNIT], errors="ignore")
    source = io.RowSource(file=order >> ROW_BITS, line=(order & ((1 << ROW_BITS) - 1)) + 1, paths=tuple(files))
    frame = _python_strings(frame)
    name = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
    loaded = io.load_frame(frame, options, name=name, min_length=config.min_length, source=source)
    # no question detection here (it compares series across partitions): the driver
    # detects them over every partition (``detected``: whole in this partition after
    # the shuffle by them); declared questions (panel.question) are whole in the
    # partition and honoured (CheckContext.questions)
    ctx = CheckContext(panel=loaded.panel, config=replace(config, question_detection=False))
    if detected is not None and loaded.panel.question is None:
        ctx.cache["questions"] = detected.of(loaded.panel.ids)
    return loaded, ctx


def time_parts(frame: pd.DataFrame, columns: list[str]) -> list:
    """io.parse.time_part of each of the time columns ``columns`` in one partition, as
    the loader sees the cells (the driver decides over every partition how each column
    is read, io.parse.time_reading_over)."""
    from forecheck.io.parse import time_part

    f = _python_strings(frame[columns])
    return [time_part(f[c]) for c in columns]


def time_cells(frame: pd.DataFrame, column: str) -> np.ndarray:
    """io.parse.time_cells of a text time column in one partition: its distinct cells,
    for the driver's reading when the partitions' time_parts do not decide it."""
    from forecheck.io.parse import time_cells as cells

    return cells(_python_strings(frame[[column]])[column])


def prob_range(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The smallest and largest probability of a text probability column in one piece,
    its cells read as the loader reads them (io.parse.parse_prob; cells that are not
    numbers are left out: they stop the run, DQ051, before any scale is read)."""
    from forecheck.io.parse import parse_prob

    v = parse_prob(_python_strings(frame[[column]])[column]).values
    v = v[np.isfinite(v)]
    return pd.DataFrame({"lo": [v.min() if v.size else np.nan], "hi": [v.max() if v.size else np.nan]})


def _python_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Dask's Arrow-backed strings as the in-memory reader's Python strings."""
    return frame.astype({c: object for c in frame.columns
                         if frame[c].dtype != object and pd.api.types.is_string_dtype(frame[c])})


#: column the Dask engine adds before its shuffle by detected questions: the unit of each row
UNIT = "__forecheck_unit"


@dataclass(frozen=True)
class Detected:
    """The questions the driver detected (stats.questions.detect_fetched) as a
    partition reads them: the question of each series in one (by id), and the
    per-question numbers (``questions``, its label left empty)."""

    q_of: pd.Series  # question number (0..Q−1, the whole panel's order), indexed by series id (text)
    questions: object  # stats.questions.Questions, label of length 0

    def question_of(self, ids: np.ndarray) -> np.ndarray:
        """(n,) the question number of each series id, −1 for a series in none."""
        g = self.q_of.reindex(pd.Index(np.asarray(ids).astype(str), dtype=object))
        return g.fillna(-1).to_numpy(np.int64)

    def of(self, ids: np.ndarray):
        """The Questions of a partition's series ``ids`` (whole questions): the
        panel's, restricted to them and renumbered in the panel's order (so units,
        mirrors and MG106's representatives are the in-memory engine's)."""
        from forecheck.stats.questions import Questions, none

        g = self.question_of(ids)
        present = np.unique(g[g >= 0])
        if len(present) == 0:
            return none(len(g))
        q = self.questions
        return Questions(label=np.where(g >= 0, np.searchsorted(present, np.maximum(g, 0)), -1), size=q.size[present],
                         source=q.source, prob_dev_max=q.prob_dev_max[present],
                         prob_dev_median=q.prob_dev_median[present], outcome_sum=q.outcome_sum[present],
                         complementary=q.complementary[present], names=q.names[present], tol=q.tol)


def detection_parts(frame: pd.DataFrame, options: ReadOptions, panel) -> dict:
    """What the driver's question detection reads of a partition's series
    (stats.questions.detect_fetched): id, length, candidate flag, grid fingerprint,
    outcome, the probabilities at the probe steps of the series' length (NaN after
    the last probe) and at up to SCREEN_STEPS steps (float32, to screen pair
    candidates) of each series, and with --cluster-col its cluster as the rows hold
    it (``cluster_text``); O(series), not the rows."""
    from forecheck.stats import questions as Q

    offsets, p = panel.offsets, panel.p
    lengths = np.diff(offsets)
    cand = Q.candidates(offsets, p)
    probes = np.full((panel.n_series, 8), np.nan)
    screen = np.full((panel.n_series, SCREEN_STEPS), np.nan, dtype=np.float32)
    for L in np.unique(lengths[cand]):
        sel = np.flatnonzero(cand & (lengths == L))
        for out, steps in ((probes, Q.probe_steps(int(L))), (screen, screen_steps(int(L)))):
            out[sel[:, None], np.arange(len(steps))[None, :]] = p[offsets[sel][:, None] + steps[None, :]]
    ids = panel.ids.astype(str)
    cluster = None
    if options.cluster_col:
        codes, labs = row_series(frame, options)
        first = pd.Series(cluster_text(frame, options)).groupby(codes, sort=True).first()
        cluster = pd.Series(first.to_numpy(), index=labs[first.index.to_numpy()]).reindex(ids).to_numpy(dtype=object)
    return {"ids": ids, "lengths": lengths, "cand": cand, "key": Q.grid_keys(offsets, panel.time),
            "outcome": np.asarray(panel.outcome, float), "probes": probes, "screen": screen, "cluster": cluster}


#: steps of each candidate series sent for the driver's screening of pair candidates
#: (as float32): on 10⁵ gaussian walks of 100 steps the 8 probes alone leave about 13%
#: of the series in some pair candidate, 32 steps about 1%, whose rows the driver
#: fetches (952 of 100,000 on the 10⁷-row benchmark, docs/performance.md "Detected questions")
SCREEN_STEPS = 32


def screen_steps(L: int) -> np.ndarray:
    """The steps of a grid of ``L`` times whose values screen the pair candidates."""
    return np.unique(np.linspace(0, L - 1, min(L, SCREEN_STEPS)).round().astype(int))


def row_series(frame: pd.DataFrame, options: ReadOptions) -> tuple[np.ndarray, np.ndarray]:
    """(N,) series code of each row and (K,) the series ids (text) as the loader forms
    them (io.series_id_codes on the same columns)."""
    from forecheck import io

    cols = list(options.series_cols)
    codes, labs = io.series_id_codes(_python_strings(frame[cols]), cols, options.prob_col or "series")
    return np.asarray(codes, np.int64), np.asarray(labs, dtype=object).astype(str)


def cluster_text(frame: pd.DataFrame, options: ReadOptions) -> np.ndarray:
    """(N,) the cluster of each row as text, as the panel labels it (``NO_CLUSTER``
    for every missing or empty value)."""
    labels, missing = row_labels(frame[options.cluster_col].astype(object))
    return np.where(missing, NO_CLUSTER, labels).astype(object)


def fetch_rows(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
               ids: list[str]) -> dict:
    """{id: (times, probabilities)} of the series ``ids`` of a partition (the rows the
    driver's detection still needs): the loader reads the rows of those series only
    (a series is loaded as in any set of whole series, the premise of the partitions),
    all of the partition's rows should an id not be found so."""
    if len(frame) == 0:
        return {}
    codes, labs = row_series(frame, options)
    want = np.isin(labs, np.asarray(list(ids), dtype=object).astype(str))
    out = _series_rows(frame[want[codes]], options, config, files, ids) if want.any() else {}
    if len(out) < len(ids):
        out = _series_rows(frame, options, config, files, ids)
    return out


def _series_rows(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
                 ids: list[str]) -> dict:
    try:
        loaded, _ = _context(frame, options, config, files)
    except NoUsableRows:
        return {}
    pan = loaded.panel
    pos = pd.Index(pan.ids.astype(str)).get_indexer(list(ids))
    out = {}
    for i, j in zip(ids, pos):
        if j >= 0:
            a, b = pan.offsets[j], pan.offsets[j + 1]
            out[i] = (pan.time[a:b].copy(), pan.p[a:b].copy())
    return out


def with_units(frame: pd.DataFrame, options: ReadOptions, unit_of: dict, by_cluster: bool) -> pd.DataFrame:
    """The rows with the shuffle key of the Dask engine's second shuffle (UNIT): a
    hash of the series' detected question (``unit_of``: series id -> unit name), of
    the series id itself when it is in none; with --cluster-col, of the cluster's
    group (``unit_of``: cluster text -> the name of its group of clusters joined by
    detected questions), of the cluster itself otherwise. Rows of one unit get one key."""
    if by_cluster:
        text = pd.Series(cluster_text(frame, options))
        name = text.map(unit_of).fillna(text).to_numpy(dtype=object)
    else:
        codes, labs = row_series(frame, options)
        names = pd.Series(labs).map(unit_of)
        names = np.where(names.isna().to_numpy(), np.char.add("s:", labs.astype(str)).astype(object),
                         names.to_numpy(dtype=object))
        name = names[codes]
    key = pd.util.hash_array(np.asarray(name, dtype=object)).astype(np.int64)
    return frame.assign(**{UNIT: key})


def kept_rows(panel) -> np.ndarray:
    """The ``ORDER`` keys (file, row) of the rows a partition's loader kept: the panel's
    rows, by their file and 1-based row (``source_row``; one file: file 0)."""
    line = np.asarray(panel.source_row, np.int64) - 1
    files = panel.meta.get("source_file")
    f = np.zeros_like(line) if files is None else np.asarray(files, np.int64)
    return (f << ROW_BITS) | line


def labels(frame: pd.DataFrame, options: ReadOptions, kept: np.ndarray | None = None) -> pd.DataFrame | None:
    """The distinct (series columns, question, cluster) of the rows, as text (the
    loader's ``astype(str)``): the driver checks over all partitions that each series
    has one question and one cluster and each question one cluster, which no partition
    can see alone once the rows are shuffled by the outer grouping. ``kept``: the
    ``ORDER`` keys of the rows the loader kept (:func:`kept_rows`), the only rows the
    in-memory loader checks (io/validate.step_labels): a dropped row's label (e.g. on a
    blank probability) does not stop the run."""
    cols = [c for c in (options.question_col, options.cluster_col) if c]
    if not cols:
        return None
    if kept is not None:
        frame = frame[np.isin(frame[ORDER].to_numpy(), kept)]
    keep = list(dict.fromkeys([*options.series_cols, *cols]))  # (a grouping may be a series column)
    out = frame[keep].astype(object).drop_duplicates()
    return out.astype({c: str for c in cols}).drop_duplicates().reset_index(drop=True)


def _mg102_sources(ctx: CheckContext, mask: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """check_mg102's series-table mapping: the id of the screened series whose values each
    series of the panel shows (its unit's last screened series: a mirror contract shows
    its question's), None where its unit has none."""
    S = ctx.panel.n_series
    out = np.full(S, None, dtype=object)
    if S == 0:
        return out
    at = np.flatnonzero(ctx.pooled()[1])[mask]
    units = ctx.questions().units()
    src = np.full(int(units.max()) + 1, -1, dtype=np.int64)
    src[units[at]] = np.arange(len(at))
    k = src[units]
    out[k >= 0] = ids[k[k >= 0]]
    return out


def pass1(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
          detected: Detected | None = None, detection: bool = False) -> Pass1 | Dropped | BadRows | None:
    """The first pass; with ``detection`` also what the driver's question detection
    reads (``detection_parts``). A validation step stopping on counted bad rows (DQ059,
    DQ050-DQ055: io/validate.BadRows) is returned, not raised: the driver words the stop of the
    whole input from every partition's (io/validate.merge_stops)."""
    if len(frame) == 0:
        return None
    try:
        loaded, ctx = _context(frame, options, config, files, detected)
    except NoUsableRows as exc:
        return Dropped(info=exc.info, findings=exc.findings)
    except BadRows as exc:
        return exc
    panel = loaded.panel
    lab = labels(frame, options, kept=kept_rows(panel))
    pan, mask = _mg101_inputs(ctx)
    b = ctx.pooled_budget().select(mask)
    d, s, _, prev = _excess_terms(pan)
    n_in = len(pan.dp)
    v = np.bincount(s, weights=d**2, minlength=pan.n_series)
    r = np.bincount(s, weights=excess_reduction_variance(pan), minlength=pan.n_series)
    x = np.bincount(s, weights=d, minlength=pan.n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, x / np.sqrt(v), 0.0)
    pv = excess_pvalues(d, lower_bound(prev), s, pan.n_series) if pan.n_series else np.zeros(0)
    pooled = pd.DataFrame({
        "id": pan.ids.astype(str), "n": pan.lengths, "p0": pan.p0, "p_last": pan.p_last,
        "resolved": b.resolved, "movement": b.movement, "movement_inflight": b.movement_inflight,
        "movement_resolution": b.movement_resolution, "uncertainty_reduction": b.uncertainty_reduction,
        "excess": b.excess, "ratio": b.ratio, "v": v, "r": r, "x": x, "z": z, "pv": pv,
        "key": series_keys(pan)})  # data keys: CA204's bootstrap order (stats/streams.py)
    if pan.cluster is not None:  # the calibration checks' units (checks/calibration._n_units)
        pooled["cluster"] = pan.cluster.astype(str)
    # per in-flight step τ (at the earlier forecast): aggregated by distinct τ
    tau = pan.time_to_resolution[pan.increment_rows - 1]
    red = uncertainty(pan.dp_prev_p) - uncertainty(pan.p[pan.increment_rows])
    tau_df = (pd.DataFrame({"tau": tau, "n": np.ones(len(tau), np.int64), "movement": pan.dp**2,
                            "reduction": red, "excess": d[:n_in]})
              .groupby("tau", sort=True).sum().reset_index())
    dyn, _ = ctx.dynamic()
    # MG106 measures one contract per question (CheckContext.dependence)
    rep = dyn.select_series(first_of_units(dyn.question))
    cells = cell_sums(rep.dp, rep.dp_series, rep.time[rep.increment_rows], rep.n_series, rep.cluster)
    return Pass1(info=loaded.info, findings=list(loaded.findings),
                 series=series_table(panel, ctx.budget(), {}), pooled=pooled,
                 n_excluded=int((~mask).sum()), d_sum=float(d[:n_in].sum()), d_n=int(n_in), tau=tau_df,
                 cells106=cells, n_dynamic=int(dyn.n_series), n_dp_dynamic=len(dyn.dp),
                 time_min=float(panel.time.min()), time_max=float(panel.time.max()), time_unit=panel.time_unit,
                 regressions=_regression_sums(ctx), vr=_vr_sums(ctx), wn=wiener.first_parts(panel, config),
                 questions=ctx.questions(), mg102_src=_mg102_sources(ctx, mask, pan.ids.astype(str)),
                 clusters106=None if dyn.cluster is None else frozenset(dyn.cluster.astype(str).tolist()),
                 labels=lab, detect=detection_parts(frame, options, panel) if detection else None)


def vol_design(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
               detected: Detected | None = None) -> dict | None:
    """WN301's GLM rows of one partition (engine/wiener.vol_design), kept on its worker
    for the Newton passes."""
    if len(frame) == 0:
        return None
    try:
        _, ctx = _context(frame, options, config, files, detected)
    except NoUsableRows:
        return None
    return wiener.vol_design(ctx.panel, config)


def pass2(frame: pd.DataFrame, options: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
          d_mean: float, horizons: tuple[float, ...], fits: dict | None = None,
          vr_means: np.ndarray | None = None, wn_params: dict | None = None, detected: Detected | None = None):
    """MG101's same-time cells of the in-flight excess terms, centred on the pooled
    mean; and the calibration checks' forecasts of each resolved series at its last
    forecast and at every candidate horizon (checks/calibration.calibration_data's
    rows, before the horizons with too few series are dropped over all partitions); and
    WN303's, WN304's and WN305's parts (engine/wiener.second_parts, given ``wn_params``)."""
    from forecheck.checks.calibration import horizon_rows

    if len(frame) == 0:
        return None
    try:
        _, ctx = _context(frame, options, config, files, detected)
    except NoUsableRows:
        return None
    pan, _ = _mg101_inputs(ctx)
    d, ds_, dt_, _ = _excess_terms(pan)
    n_in = len(pan.dp)
    dc = d[:n_in] - d_mean
    units = unit_sums(dc, ds_[:n_in], dt_[:n_in], pan.question, pan.cluster)
    pooled, _ = ctx.pooled()
    series = np.flatnonzero(pooled.resolved)
    rows = horizon_rows(pooled, np.concatenate([[0.0], np.asarray(horizons, float)]), series)
    p_all = np.where(rows >= 0, pooled.p[np.maximum(rows, 0)], np.nan)
    cal = pd.DataFrame(p_all, columns=[f"h{k}" for k in range(p_all.shape[1])])
    cal.insert(0, "outcome", pooled.outcome[series])
    cal.insert(0, "id", pooled.ids[series].astype(str))
    vr = _vr_cells(ctx, vr_means) if vr_means is not None else None
    return units, cal, _regression_scores(ctx, fits or {}), vr, wiener.second_parts(ctx.panel, config, wn_params)

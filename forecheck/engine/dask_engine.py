"""``forecheck analyze --engine dask``: Parquet input larger than memory.

The rows (a directory, a glob or files) are read in pieces of whole row groups
planned from the files' footers (``_check_files``), each row tagged with its file and
row (``partials.read_piece``), and shuffled by the outermost declared grouping (the
cluster column, else the question column, else the series) so that each partition
holds whole series, whole declared questions and whole declared clusters, and each
partition is reduced on a worker to per-series columns and per-time-cell sums
(``engine/partials.py``, the in-memory loader and formulas). The driver adds them up
and forms the pooled records (``engine/combine.py``). The shuffled rows are kept
on the cluster between the two passes (Dask spills them to disk under memory
pressure).

Without --question-col (and detection on) the questions are detected as the
in-memory engine detects them (``stats/questions.find_sets``): the first pass also
returns each series' length, candidate flag, grid fingerprint and values at the
probe times (``partials.detection_parts``); the driver runs the detection over
them (``_detect``), fetching from the partitions the full rows of only the series a
stage still needs (``_FetchedRows``), and when questions are found the kept rows
are shuffled again by question (with --cluster-col: the clusters a detected
question joins are put together) and the first pass runs again with each
partition reading the driver's questions (``partials.Detected``).

How the time column (or each of its ordering columns, ``--time-col a,-b``), a
resolution-time and a publication column are read -- dates or datetimes, epoch seconds,
epoch milliseconds or a step index, the date format, integers held exactly or as float64
-- is decided over every row (``_time_readings``: a summary of each shuffled partition,
combined on the driver, as the in-memory loader decides over the whole column) and given
to the partitions: one partition's rows alone may read otherwise.

Bad rows that stop the run (DQ059, DQ051, DQ050, DQ055, DQ054, DQ053, DQ052) stop it with
the in-memory message for the whole input (``_stop_on_bad_rows``): each partition returns its
stop instead of raising it, and the driver keeps the earliest validation step any partition
stops at, counts over the partitions stopping there and shows the first rows of the input.

A publication column (``--published-col`` or one found by its name) is read by every
partition as the in-memory loader reads it: back-casts (DQ007) found and, with
--drop-backcast, dropped per partition (the column is used when it and the time column
are read in days, which the readings decide over every row), and the distinct back-cast
model dates are united on the driver (``io/findings.merge_backcasts``), not added.

Computed: the data-quality findings and row accounting, DQ011, MG101–MG106,
CA201–CA204 (the last four by their own check functions on the per-series forecasts)
and WN301–WN307 (``engine/wiener.py``; WN306 from the series table). Labels that do
not nest (a series with two questions or clusters, a question in two clusters) are
refused (exit 2): the driver checks every partition's labels.
Every other selected check is a ``skip`` record saying it is not computed by this
engine (docs/performance.md, "Dask engine").
"""

from __future__ import annotations

import glob
import os
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from forecheck.config import AnalysisConfig
from forecheck.errors import InputError, InsufficientDataError
from forecheck.io.options import ReadOptions
from forecheck.stats.questions import SUM_TOL

COMPUTED = ("MG101", "MG102", "MG103", "MG104", "MG105", "MG106", "CA201", "CA202", "CA203", "CA204",
            "WN301", "WN302", "WN303", "WN304", "WN305", "WN306", "WN307")
#: computed by the in-memory check functions themselves, on the driver (engine/combine.py)
BY_CHECK_FUNCTION = ("CA201", "CA202", "CA203", "CA204")


def parquet_files(paths: list[str]) -> list[str]:
    """The Parquet files named by ``paths``: files, directories (their ``*.parquet``
    files, recursively) or glob patterns."""
    files: list[str] = []
    for p in paths:
        if p == "-":
            raise InputError("--engine dask reads Parquet files, not standard input")
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "**", "*.parquet"), recursive=True))
            if not found:
                raise InputError(f"{p}: no .parquet files in this directory (--engine dask reads Parquet only)")
            files.extend(found)
        elif os.path.exists(p):
            files.append(p)
        else:
            found = sorted(glob.glob(p, recursive=True))
            if not found:
                raise InputError(f"{p}: no such file (nor files matching it as a pattern)")
            files.extend(f for f in found if os.path.isfile(f))
    for f in files:
        if not f.endswith(".parquet") and not _is_parquet(f):
            raise InputError(f"{f}: --engine dask reads Parquet files only; use the in-memory engine "
                             "(--engine memory) for CSV/TSV, or convert the file to Parquet")
    return files


def _is_parquet(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _unsupported(opts: ReadOptions, config: AnalysisConfig) -> None:
    bad = [flag for flag, on in (
        ("--layout wide", opts.layout == "wide"), ("--group-by", opts.group_col),
        ("--sequential", config.sequential)) if on]
    if bad:
        raise InputError(f"--engine dask does not support {', '.join(bad)} yet (docs/performance.md, "
                         "\"Dask engine\"); use the in-memory engine")


def _reachable(address: str) -> None:
    """Fail fast (exit 2) when nothing listens at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    u = urlsplit(address)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 8786), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}; start one (dask scheduler, "
                         "dask worker ADDRESS) or omit --scheduler for a local cluster") from None


def _client(scheduler: str | None, n_workers: int | None, memory_limit: str | None):
    import logging

    from distributed import Client, LocalCluster

    # the scheduler's and workers' own log lines (shuffle progress) are not forecheck's messages
    logging.getLogger("distributed").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(dask|distributed)(\.|$)")
    if scheduler:
        _reachable(scheduler)
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {str(exc).splitlines()[0][:200]}")
    n = n_workers or max(1, min(4, os.cpu_count() or 1))
    # (CRITICAL: a partition that stops on bad input would otherwise log "Compute Failed"
    # with its traceback on stderr before the driver prints the one-line error)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=":0", memory_limit=memory_limit or "auto",
                           silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def _check_workers(client) -> None:
    """Every worker must import this forecheck (the partition code runs there)."""
    try:
        client.run(_version)
    except Exception as exc:  # the workers' unpickling error comes back wrapped
        if "forecheck" not in str(exc):
            raise
        raise InputError(f"the Dask workers cannot import forecheck ({exc}); install the same forecheck "
                         "(pip install 'forecheck[dask]') on every worker") from None


def _version() -> str:
    import forecheck

    return forecheck.__version__


def _quiet() -> None:
    import warnings

    warnings.filterwarnings("ignore", module=r"(dask|distributed)(\.|$)")


class _Deps:
    """What checks.dependence_gate reads from a context: MG106's count."""

    def __init__(self, dep):
        self._dep = dep

    def dependence(self):
        return self._dep


def analyze_dask(paths: list[str], read_options: ReadOptions, config: AnalysisConfig, *,
                 scheduler: str | None = None, n_workers: int | None = None, memory_limit: str | None = None,
                 npartitions: int | None = None, client=None):
    """The Report of the Dask engine (``client``: an existing ``distributed.Client``)."""
    try:
        import dask.dataframe as dd
        from dask import delayed
    except ImportError:
        raise InputError("--engine dask needs Dask: pip install 'forecheck[dask]'") from None
    _unsupported(read_options, config)
    files = parquet_files(paths)
    opts, scale_note, column_notes = _columns(files, read_options, config)
    if opts.outcomes_file:
        _outcomes_key(opts)
    grouping = [c for c in (opts.question_col, opts.cluster_col) if c]
    schema = _schema(files[0])  # (readable: _columns read its first row group)
    data_outcome = opts.outcome_col if opts.outcome_col and opts.outcome_col in schema else None
    needed = [*opts.series_cols, *_time_columns(opts.time_col, schema), opts.prob_col,
              *(c for c in (data_outcome, opts.underlying_col, opts.resolved_at_col, opts.published_col) if c),
              *grouping]
    needed = list(dict.fromkeys(needed))  # (a grouping column may be a series column, or both groupings one)
    pieces, unified = _check_files(files, needed)
    if not pieces:
        raise InputError(f"{files[0]}: no rows" if len(files) == 1 else f"{', '.join(files[:3])}: no rows")
    own_client = own_cluster = None
    if client is None:
        client, own_cluster = _client(scheduler, n_workers, memory_limit)
        own_client = client
    try:
        _check_workers(client)
        client.run(_quiet)  # Dask's own deprecation warnings on the workers are not the user's concern
        from forecheck.engine import partials

        meta = unified.empty_table().to_pandas().assign(**{partials.ORDER: pd.Series(dtype="int64")})
        ddf = dd.from_map(partials.read_piece, pieces, args=(needed, unified), meta=meta,
                          label="forecheck-read", enforce_metadata=False)
        if opts.scale == "auto":
            opts, scale_note = _scale(ddf, opts)
        from forecheck.engine import combine as C
        from forecheck.engine import wiener

        n_part = npartitions or max(ddf.npartitions, 2 * len(client.scheduler_info().get("workers", {})) or 2)
        # the outermost grouping: series nest in questions, questions in clusters (checked
        # after the first pass), so every partition holds whole units of each
        key = [opts.cluster_col] if opts.cluster_col else [opts.question_col] if opts.question_col \
            else list(opts.series_cols)
        shuffled = ddf.shuffle(on=key, npartitions=n_part)
        shuffled = client.persist(shuffled)
        parts = shuffled.to_delayed()
        opts = _time_readings(client, parts, opts, schema)
        sources = tuple(files)
        detection = config.question_detection and not opts.question_col
        p1 = client.compute([delayed(partials.pass1)(p, opts, config, sources, None, detection) for p in parts])
        first = client.gather(p1)
        _stop_on_bad_rows(first)
        if not any(r is not None for r in first):
            raise InputError(f"{files[0]}: no rows")
        _some_usable(first)
        detected = det_arg = reshuffled = fetched = None
        if detection:
            # the in-memory engine's question detection over every partition's series
            # (_detect: rows fetched only for the series a stage still needs)
            dq, dq_ids, dq_cluster, src = _detect(client, parts, first, opts, config, sources)
            fetched = len(src.cache)  # (the series whose rows came to the driver: the header's note)
            if dq.n_questions:
                detected = partials.Detected(
                    q_of=pd.Series(dq.label[dq.label >= 0], index=pd.Index(dq_ids[dq.label >= 0], dtype=object)),
                    questions=replace(dq, label=np.zeros(0, np.int64)))
                unit_of = _units_of(dq, dq_ids, dq_cluster, opts)
                if unit_of is not None:  # partitions of whole detected questions (and clusters)
                    rows = shuffled.map_partitions(partials.with_units, opts, unit_of, opts.cluster_col is not None,
                                                   meta=shuffled._meta.assign(**{partials.UNIT: pd.Series(
                                                       dtype="int64")}))
                    new = client.persist(rows.shuffle(on=[partials.UNIT], npartitions=n_part))
                    del rows  # (the first shuffle's rows are released with their last reference)
                    shuffled, reshuffled = new, True
                    parts = shuffled.to_delayed()
                # (one copy per worker, not one inside every task of the passes)
                det_arg = client.scatter(detected, broadcast=True, hash=False)
                p1 = client.compute([delayed(partials.pass1)(p, opts, config, sources, det_arg) for p in parts])
                first = client.gather(p1)
                _stop_on_bad_rows(first)  # (the same rows as the first time: none, but never dropped unsaid)
                _whole_questions(first, detected)
        dropped = [r for r in first if isinstance(r, partials.Dropped)]  # (no usable row: counted only)
        first = [r for r in first if isinstance(r, partials.Pass1)]
        _check_nesting([r.labels for r in first if r.labels is not None], opts)
        d_n = sum(r.d_n for r in first)
        d_mean = sum(r.d_sum for r in first) / d_n if d_n else 0.0
        hs = _horizons(first, config)
        fits, fit_errors = _fits(first, config)
        vr_parts = [r.vr for r in first if r.vr is not None]
        try:
            vr_q = C.vr_qs(vr_parts)
            fit_errors.pop("MG105", None)
        except InsufficientDataError as exc:
            vr_q, fit_errors["MG105"] = None, str(exc)
        wn_nulls = wiener.jump_nulls([r.wn for r in first], config)  # WN305's Gaussian null, on the driver
        wn_params = wiener.second_params([r.wn for r in first], config, wn_nulls)
        p2 = client.compute([delayed(partials.pass2)(p, opts, config, sources, d_mean, hs,
                                                     {c: (f[0], f[1]) for c, f in fits.items()},
                                                     vr_q[1] if vr_q is not None else None, wn_params, det_arg)
                             for p in parts])
        second = [r for r in client.gather(p2) if r is not None]
        vol = _volatility_fit(client, parts, opts, config, sources, det_arg) if config.is_selected("WN301") \
            else None
        n_parts = len(parts)
        del shuffled
    except RuntimeError as exc:
        if "deserialization" not in str(exc):
            raise
        raise InputError("the Dask scheduler cannot read forecheck's task graph (" + str(exc).splitlines()[0]
                         + "); install the same forecheck (pip install 'forecheck[dask]') on the scheduler and "
                         "every worker") from None
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return _report(first, second, files, paths, config, scale_note, n_parts, hs, fits, fit_errors,
                   (vr_q, vr_parts), vol, wn_nulls, opts, key, dq if detected is not None else None, reshuffled,
                   fetched, dropped, column_notes)


def _stop_on_bad_rows(first: list) -> None:
    """Partitions stopping on counted bad rows (DQ059, DQ050-DQ055): the in-memory loader's stop
    on the whole input (io/validate.merge_stops): the first step of its validation any
    partition stops at, the rows or series counted over every partition stopping there,
    those shown the first of the whole input; not the first partition's to stop."""
    from forecheck.io.validate import BadRows, merge_stops

    bad = [r for r in first if isinstance(r, BadRows)]
    if bad:
        raise merge_stops(bad)


def _some_usable(first: list) -> None:
    """Some partition has a usable row, else the whole input has none: the in-memory
    loader's error, on the rows of every partition (io/validate.no_usable_rows)."""
    from forecheck.engine.partials import Dropped
    from forecheck.io.validate import add_dropped, input_name, no_usable_rows

    parts = [r for r in first if r is not None]
    if not all(isinstance(r, Dropped) for r in parts):
        return
    dropped = add_dropped(r.info.rows_dropped for r in parts)
    raise InputError(no_usable_rows(input_name(parts[0].info.paths), sum(r.info.rows_read for r in parts), dropped),
                     code="DQ001")


def _check_nesting(parts: list[pd.DataFrame], opts: ReadOptions) -> None:
    """Series nest in questions and questions in clusters (the in-memory engine's model,
    which the shuffle by the outer grouping relies on): each series one question and
    one cluster, each question one cluster, over the rows of every partition (after the
    shuffle a partition may hold part of a series, or one cluster's part of a
    question, and cannot see it alone; the in-memory loader stops on the same data,
    io/validate.step_labels, with the same message)."""
    from forecheck.io.validate import label_conflict, nesting_conflict

    if not parts:
        return
    df = pd.concat(parts, ignore_index=True).drop_duplicates()
    series = list(opts.series_cols)
    for col, flag, unit in ((opts.question_col, "--question-col", "question"),
                            (opts.cluster_col, "--cluster-col", "cluster")):
        if not col or col in series:  # (a series column: one value per series by definition)
            continue
        n = df.groupby(series, sort=True, dropna=False)[col].nunique(dropna=False)
        bad = n[n > 1]
        if len(bad):
            key = bad.index[0] if isinstance(bad.index[0], tuple) else (bad.index[0],)
            sel = np.logical_and.reduce([df[c].astype(object).to_numpy() == v for c, v in zip(series, key)])
            vals = sorted(df.loc[sel, col].unique().tolist())
            raise InputError("--engine dask: " + label_conflict(col, flag, unit, len(bad), "|".join(map(str, key)),
                                                                vals))
    if opts.question_col and opts.cluster_col and opts.question_col != opts.cluster_col:
        qc = df[[opts.question_col, opts.cluster_col]].drop_duplicates()
        n = qc.groupby(opts.question_col, sort=True)[opts.cluster_col].nunique(dropna=False)
        bad = n[n > 1]
        if len(bad):
            q = bad.index[0]
            vals = sorted(qc.loc[qc[opts.question_col] == q, opts.cluster_col].tolist())
            raise InputError("--engine dask: " + nesting_conflict(opts.cluster_col, opts.question_col, len(bad), q,
                                                                  vals))


#: the screening tolerance's widening for the float32 rounding of the values
SCREEN_SLACK = 1e-6


class _FetchedRows:
    """The row source of stats.questions.find_sets on the driver: the probes from the
    first pass (``detection_parts``), the full rows of the series a stage asks for
    fetched from the partitions holding them (one task per such partition and stage,
    partials.fetch_rows) and kept: the driver holds the rows of those series only."""

    def __init__(self, client, parts, opts, config, files, ids, probes, screen, where):
        self.client, self.parts, self.opts, self.config, self.files = client, parts, opts, config, files
        self.ids, self.P8, self.D, self.where = ids, probes, screen, where
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.n_fetches = 0  # tasks run

    def probes(self, mem: np.ndarray, L: int) -> np.ndarray:
        from forecheck.stats.questions import probe_steps

        return np.ascontiguousarray(self.P8[mem][:, :len(probe_steps(L))])

    def screen(self, a: np.ndarray, b: np.ndarray, tol: float = SUM_TOL) -> np.ndarray:
        """(n,) bool: pairs (a_i, b_i) of one grid whose values at the screening steps
        (float32, partials.screen_steps) sum to 1 within ``tol`` (the detection's, or a
        rival's margin), widened by the float32 rounding (< 1.2·10⁻⁷ on a sum of two
        values in [0, 1]): a necessary condition of summing to 1 within tol at every time."""
        tol = tol + SCREEN_SLACK
        if len(a) == 0:
            return np.zeros(0, bool)
        out = np.ones(len(a), bool)
        for lo in range(0, len(a), 1 << 16):  # (blocks: a few MB at a time)
            da = self.D[a[lo:lo + (1 << 16)]].astype(float)
            db = self.D[b[lo:lo + (1 << 16)]].astype(float)
            dev = np.where(np.isnan(da), 0.0, np.abs(da + db - 1.0))
            out[lo:lo + (1 << 16)] = np.max(dev, axis=1) <= tol
        return out

    def prefetch(self, mem: np.ndarray) -> None:
        from dask import delayed

        from forecheck.engine import partials

        need = [int(i) for i in np.unique(np.asarray(mem, np.int64)) if int(i) not in self.cache]
        if not need:
            return
        by_part: dict[int, list[int]] = {}
        for i in need:
            by_part.setdefault(int(self.where[i]), []).append(i)
        tasks = [delayed(partials.fetch_rows)(self.parts[k], self.opts, self.config, self.files,
                                              [str(self.ids[i]) for i in idx]) for k, idx in by_part.items()]
        self.n_fetches += len(tasks)
        got: dict = {}
        for d in self.client.gather(self.client.compute(tasks)):
            got.update(d)
        for i in need:
            self.cache[i] = got[str(self.ids[i])]

    def rows(self, mem: np.ndarray, L: int) -> np.ndarray:
        self.prefetch(mem)
        return np.stack([self.cache[int(i)][1] for i in mem]) if len(mem) else np.zeros((0, L))

    def flat(self, mem: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        self.prefetch(mem)
        return np.concatenate([self.cache[int(i)][1] for i in mem]) if len(mem) else np.zeros(0)

    def rows_of(self, mem: np.ndarray) -> tuple[list, list]:
        self.prefetch(mem)
        return [self.cache[int(i)][0] for i in mem], [self.cache[int(i)][1] for i in mem]


def _detect(client, parts, first: list, opts: ReadOptions, config: AnalysisConfig, files: tuple[str, ...]):
    """The questions the in-memory engine detects (stats.questions.detect) from the
    first pass's per-series parts, in the in-memory series order (by id): the
    Questions, the ids, the clusters (text, or None) and the row source (its
    ``cache``: the series whose rows were fetched)."""
    from forecheck.engine.partials import Pass1
    from forecheck.stats import questions as Q

    got = [(k, r.detect) for k, r in enumerate(first) if isinstance(r, Pass1)]
    ids = np.concatenate([d["ids"] for _, d in got]).astype(str)
    order = np.argsort(ids, kind="stable")  # (the series table's order, _report)

    def cat(name):
        return np.concatenate([d[name] for _, d in got])[order]

    where = np.concatenate([np.full(len(d["ids"]), k) for k, d in got])[order]
    cluster = cat("cluster") if got[0][1]["cluster"] is not None else None
    src = _FetchedRows(client, parts, opts, config, files, ids[order], cat("probes"), cat("screen"), where)
    q = Q.detect_fetched(cat("lengths"), cat("cand"), cat("key"), src, cat("outcome"))
    return q, ids[order], cluster, src


def _units_of(q, ids: np.ndarray, cluster: np.ndarray | None, opts: ReadOptions) -> dict | None:
    """The second shuffle's units (partials.with_units), or None when the partitions
    already hold whole detected questions. Without --cluster-col: each detected
    question (its series' ids -> its name). With it the partitions hold whole clusters;
    the in-memory engine detects questions regardless of the clusters, so a question
    may join series of several clusters: such clusters are shuffled together (each
    connected group's clusters -> the group's first cluster), the others stay."""
    inq = q.label >= 0
    if cluster is None:
        return {str(i): f"q{int(g)}" for i, g in zip(ids[inq], q.label[inq])}
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    pairs = pd.DataFrame({"q": q.label[inq], "c": cluster[inq].astype(str)}).drop_duplicates()
    for _, cl in pairs.groupby("q", sort=True)["c"]:
        cl = sorted(cl.tolist())
        for c in cl[1:]:
            a, b = find(cl[0]), find(c)
            if a != b:
                parent[max(a, b)] = min(a, b)
    if not parent:
        return None
    involved = set(parent) | set(parent.values())
    return {c: find(c) for c in involved}


def _whole_questions(first: list, detected) -> None:
    """Every detected question lies in one partition after the shuffle (each
    partition's Questions are the panel's restricted to its series): the partitions
    holding some series of a question hold all of them."""
    from forecheck.engine.partials import Pass1

    held = [detected.question_of(r.series["id"].to_numpy()) for r in first if isinstance(r, Pass1)]
    held = [h[h >= 0] for h in held]
    n = np.bincount(np.concatenate(held), minlength=detected.questions.n_questions)
    n_parts = sum(len(np.unique(h)) for h in held)
    if n_parts != detected.questions.n_questions or not np.array_equal(n, detected.questions.size):
        raise RuntimeError("a detected question in two partitions")


def _volatility_fit(client, parts, opts: ReadOptions, config: AnalysisConfig, files: tuple[str, ...],
                    detected=None):
    """WN301's Poisson GLM (engine/wiener.fit_volatility): each partition's rows are
    kept on its worker while the driver takes one pass per Newton step; the fit, or the
    reason it cannot be made."""
    from dask import delayed

    from forecheck.engine import partials, wiener

    designs = client.compute([delayed(partials.vol_design)(p, opts, config, files, detected) for p in parts])
    try:
        return wiener.fit_volatility(lambda fn, **kw: client.gather(client.map(fn, designs, pure=False, **kw)))
    except ValueError as exc:
        return InsufficientDataError(str(exc))
    finally:
        client.cancel(designs)


def _fits(first, config: AnalysisConfig) -> tuple[dict, dict]:
    """β of MG103/MG104 from the first pass (the second pass forms their scores)."""
    from forecheck.engine import combine as C
    from forecheck.engine.partials import REGRESSIONS

    fits, errors = {}, {}
    for code in REGRESSIONS:
        if not config.is_selected(code):
            continue
        try:
            fits[code] = C.regression_fit(code, [r.regressions[code] for r in first if code in r.regressions],
                                          config.min_length)
        except InsufficientDataError as exc:
            errors[code] = str(exc)
    return fits, errors


def _horizons(first, config: AnalysisConfig) -> tuple[float, ...]:
    from forecheck.engine import combine as C

    pooled = pd.concat([r.pooled[["n", "resolved"]] for r in first], ignore_index=True)
    view = C.SeriesView(len(pooled), first[0].time_unit, pooled["n"].to_numpy())
    return C.candidate_horizons(view, pooled["resolved"].to_numpy(bool), config)


def _columns(files: list[str], opts: ReadOptions, config: AnalysisConfig
             ) -> tuple[ReadOptions, str | None, tuple[list[str], list[str]]]:
    """Column roles from a sample of the first file (the in-memory inference); and the
    notes on how the columns were found: what every partition will say (told the columns
    by name, as flags: "Time column 'modeldate' (--time-col).") and what the in-memory
    inference said (found by name: "Time column 'modeldate': recognised name."), which
    the report shows instead (``_notes_as_found``)."""
    import pyarrow.parquet as pq

    from forecheck import io
    from forecheck.io.infer import infer_columns
    from forecheck.io.readers import unreadable_parquet
    from forecheck.io.validate import BadRows, NoUsableRows

    try:
        pf = pq.ParquetFile(files[0])
        sample = pf.read_row_group(0).slice(0, 20_000).to_pandas() if pf.num_row_groups else None
    except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for corrupt files)
        raise unreadable_parquet(files[0], exc) from None
    if sample is None or len(sample) == 0:
        raise InputError(f"{files[0]}: the Parquet file has no rows.")
    try:
        cols = io.load_frame(sample, opts, name=files[0], min_length=config.min_length).info.columns
    except NoUsableRows as exc:  # (a sample of back-casts, say, dropped: its columns are what is read here)
        cols = exc.info.columns
    except BadRows as exc:
        # (bad rows in the sample, or time cells the sample alone cannot read, as how the
        # column reads is decided over every row: the partitions stop with the whole input's
        # message. Probabilities out of range with --scale auto still stop here: the
        # partitions read the scale the driver decides, _scale, and never see auto)
        if exc.code == "DQ050" and opts.scale == "auto":
            raise
        cols = infer_columns(sample, opts, files[0]).info()
    if opts.layout != "auto" and opts.layout != "long":
        raise InputError("--engine dask reads the long layout (series, time, p) only")
    # question, cluster, underlying, resolution- and publication-time columns found by their names
    # (question_id, cluster, underlying, resolved_at, published, ...) are read as the in-memory engine
    # reads them
    # (--outcome-col may name the outcomes file's column, which the data do not have: kept for
    # the loader's join, not read from the data)
    outcome = cols.get("outcome") or (opts.outcome_col if opts.outcomes_file else None)
    told = replace(opts, layout="long", series_cols=tuple(cols["series"]), time_col=cols["time"],
                   prob_col=cols["p"], outcome_col=outcome, question_col=cols.get("question"),
                   cluster_col=cols.get("cluster"), underlying_col=cols.get("underlying"),
                   resolved_at_col=cols.get("resolved_at"), published_col=cols.get("published"))
    notes = (infer_columns(sample, told, files[0]).notes, infer_columns(sample, opts, files[0]).notes)
    return told, None, notes


def _notes_as_found(notes: list[str], told: list[str], found: list[str]) -> list[str]:
    """The partitions' notes with their column notes (``told``: the columns as flags)
    replaced by the in-memory inference's (``found``), where the first of them stood."""
    told_set = set(told)
    out: list[str] = []
    placed = False
    for note in notes:
        if note in told_set:
            if not placed:
                out.extend(found)
                placed = True
            continue
        out.append(note)
    return out


def _schema(path: str) -> set[str]:
    import pyarrow.parquet as pq

    return set(pq.read_schema(path).names)


def _kind(t) -> str:
    """The kind of a Parquet column's Arrow type that the engine's readers care about:
    integers and floats are both numbers (pandas unifies them), an all-null column
    ("null") fits any kind, a dictionary column is the kind of its values."""
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        t = t.value_type
    if pt.is_null(t):
        return "null"
    if pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t):
        return "number"
    if pt.is_string(t) or pt.is_large_string(t):
        return "text"
    if pt.is_temporal(t):
        return "date/time"
    return str(t)


#: uncompressed bytes of the row groups one read piece gathers (Dask's read_parquet blocksize)
PIECE_BYTES = 256 * 2**20


def _check_files(files: list[str], needed: list[str]):
    """Every file is readable Parquet with the columns the run reads, each of one kind
    across the files, checked from the files' footers on the driver before any worker
    reads a row. The first two are the in-memory reader's errors (io.readers,
    io.load); a column of another kind in one file (numbers written as text, say)
    would otherwise fail inside a worker's read or shuffle with Dask's own traceback.

    Returns the read pieces (runs of whole row groups of one file, each knowing the
    file row it starts at, so every row keeps its file and row number) and the
    columns' types unified over the files (a pyarrow schema)."""
    import pyarrow.parquet as pq
    import pyarrow.types as pa_types

    from forecheck.engine.partials import ROW_BITS, Piece
    from forecheck.io import layout_mismatch
    from forecheck.io.readers import unreadable_parquet

    if len(files) >= 1 << (63 - ROW_BITS):
        raise InputError(f"--engine dask reads at most {(1 << (63 - ROW_BITS)) - 1:,} files; merge some of them")
    first_kind: dict[str, tuple[str, str]] = {}  # column -> (kind, the first file holding it)
    types: dict[str, list] = {c: [] for c in needed}
    with_nulls: set[str] = set()  # integer columns some row group of which may hold nulls
    pieces = []
    for i, path in enumerate(files):
        try:
            md = pq.read_metadata(path)
            schema = md.schema.to_arrow_schema()
        except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for corrupt files)
            raise unreadable_parquet(path, exc) from None
        missing = [c for c in needed if c not in schema.names]
        if missing:
            raise layout_mismatch(path, missing, files[0])
        for col in needed:
            t = schema.field(col).type
            kind = _kind(t)
            if kind == "null":
                continue
            types[col].append(t)
            if kind == "number" and pa_types.is_integer(t) and _may_hold_nulls(md, col):
                with_nulls.add(col)
            seen, where = first_kind.setdefault(col, (kind, path))
            if seen != kind:
                raise InputError(f"{path}: column {col!r} holds {kind} values where {where} holds {seen}; "
                                 "--engine dask reads each column as one type across the files: write it "
                                 "as one type in every file, or use the in-memory engine")
        if md.num_rows >= 1 << ROW_BITS:
            raise InputError(f"{path}: {md.num_rows:,} rows; --engine dask reads files of fewer than "
                             f"{1 << ROW_BITS:,} rows: split it")
        groups: list[int] = []
        start = row = size = 0
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            if groups and size + rg.total_byte_size > PIECE_BYTES:
                pieces.append(Piece(i, path, tuple(groups), start))
                groups, start, size = [], row, 0
            groups.append(g)
            row += rg.num_rows
            size += rg.total_byte_size
        if groups and row > start:
            pieces.append(Piece(i, path, tuple(groups), start))
    return pieces, _unified(types, with_nulls)


def _may_hold_nulls(md, col: str) -> bool:
    """Whether a file's column may hold nulls, by its row groups' statistics (none
    written: it may)."""
    j = next((k for k in range(md.num_columns) if md.schema.column(k).path == col), None)
    if j is None:
        return True
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(j).statistics
        if st is None or not st.has_null_count or st.null_count > 0:
            return True
    return False


def _unified(types: dict[str, list], with_nulls: set[str] = frozenset()):
    """One Arrow type per column for every file's rows: the type the files share;
    numbers of several types as float64 (pandas' unification), text as large_string,
    dictionary-encoded columns as their values; otherwise the first file's type (a
    cast that fails names the file, column and type). An integer column that may hold
    nulls (``with_nulls``) is float64 in every piece: pandas reads the pieces holding a
    null as float64, the others as int64, which the shuffle cannot put together beyond
    2^53 (the in-memory reader holds such a file's column as float64 too)."""
    import pyarrow as pa

    fields = []
    for col, ts in types.items():
        ts = [t.value_type if pa.types.is_dictionary(t) else t for t in ts]
        if not ts:
            t = pa.null()
        elif col in with_nulls:
            t = pa.float64()
        elif all(t == ts[0] for t in ts):
            t = ts[0]
        elif _kind(ts[0]) == "number":
            t = pa.float64()
        elif _kind(ts[0]) == "text":
            t = pa.large_string()
        else:
            t = ts[0]
        fields.append(pa.field(col, t))
    return pa.schema(fields)


def _time_columns(spec: str, columns) -> list[str]:
    """The columns of a time given as several sort keys (``--time-col a,-b``: b descending)."""
    if spec in columns:
        return [spec]
    return [k[1:] if k.startswith("-") and k not in columns else k for k in spec.split(",")]


def _outcomes_key(opts: ReadOptions) -> None:
    """--outcomes FILE: every partition's loader joins the file (read on its worker: the
    path must be readable there too) on its own series. The in-memory join key is the
    data's series column(s) by name, else the column matching most series ids — which
    a partition, seeing only its ids, could choose differently: refused."""
    from forecheck.io.readers import read_table

    tab = read_table(opts.outcomes_file, "auto", limits=opts)
    cols = [str(c) for c in tab.frame.columns]
    low = {c.lower() for c in cols}
    if not all(c.lower() in low for c in opts.series_cols):
        raise InputError(f"{opts.outcomes_file}: --engine dask joins --outcomes on the data's series column(s) by "
                         f"name ({', '.join(map(repr, opts.series_cols))}), which the file does not have (columns: "
                         f"{', '.join(cols[:20])}); name its key column so, or use the in-memory engine")


def _scale(ddf, opts: ReadOptions) -> tuple[ReadOptions, str]:
    """--scale auto over every row: unit when all probabilities lie in [0, 1]."""
    if opts.na_values:
        raise InputError("--engine dask with --na-values needs an explicit --scale unit or --scale percent")
    col = ddf[opts.prob_col]
    if pd.api.types.is_numeric_dtype(ddf._meta[opts.prob_col].dtype):
        lo, hi = (float(x) for x in __import__("dask").compute(col.min(), col.max()))
    else:  # text (the loader reads the numbers in it): the min and max of text are not the numbers'
        from forecheck.engine import partials

        got = ddf.map_partitions(partials.prob_range, opts.prob_col, meta={"lo": "f8", "hi": "f8"}).compute()
        lo, hi = float(got["lo"].min()), float(got["hi"].max())
    if lo >= -1e-9 and hi <= 1 + 1e-9:
        return replace(opts, scale="unit"), f"auto: all values within [0, 1] (max {hi:g}), read as probabilities"
    raise InputError(f"column {opts.prob_col!r}: values range {lo:g}-{hi:g}; with --engine dask pass "
                     "--scale percent (or --scale unit) explicitly")


def _time_readings(client, parts, opts: ReadOptions, schema: set[str]) -> ReadOptions:
    """How the time column (or each column of a time given as several sort keys), the
    resolution-time and the publication columns are read (kind, unit: epoch seconds,
    milliseconds or a step index; the date format; integers exactly or not), decided over
    every row as the in-memory loader decides over the whole column (io/validate.step_time,
    step_backcast), and given to the partitions: a partition alone may hold only small
    integers of a column of epoch seconds, or only the epoch milliseconds of a column mixing
    them with seconds, or another date format than the rest, or only integer text of a
    column holding "12.0" too, and read it otherwise. From a summary of each shuffled
    partition (io.parse.time_part: no second read of the files); when those do not decide
    (text of numbers in some partitions and dates in others, or no date format reading
    every partition's cells) from the distinct cells of the column, brought to the driver."""
    from dask import delayed

    from forecheck.engine import partials
    from forecheck.io.parse import parse_time, reading_of, time_reading_over

    cols = [c for c in dict.fromkeys([*_time_columns(opts.time_col, schema), opts.resolved_at_col,
                                      opts.published_col]) if c]
    if not cols:
        return opts
    got = client.gather(client.compute([delayed(partials.time_parts)(p, cols) for p in parts]))
    readings = []
    for k, col in enumerate(cols):
        reading = time_reading_over(g[k] for g in got)
        if reading is None:
            cells = client.gather(client.compute([delayed(partials.time_cells)(p, col) for p in parts]))
            whole = pd.Series(pd.unique(np.concatenate([np.asarray(c, dtype=object) for c in cells])), dtype=object)
            reading = reading_of(parse_time(whole))
        readings.append((col, reading))
    return replace(opts, time_readings=tuple(readings))


def _questions(first, series: pd.DataFrame, order: np.ndarray, time_unit: str, config: AnalysisConfig,
               detected=None):
    """The whole panel's questions: ``detected`` (the driver's detection, already in
    the series table's id order), else the declared ones (engine/combine.combine_questions,
    put in that order ``order``); and a driver context holding them with the series'
    budgets: what DQ011, MG101's questions summary and the header read."""
    from forecheck.checks.context import CheckContext
    from forecheck.engine import combine as C
    from forecheck.stats.budget import Budget

    if detected is not None:
        q = detected
    else:
        q = C.combine_questions([r.questions for r in first], [len(r.series) for r in first])
        q = replace(q, label=q.label[order])
    view = C.SeriesView(len(series), time_unit, series["n"].to_numpy(), ids=series["id"].to_numpy(dtype=object))
    b = Budget(*(series[c].to_numpy(float) for c in ("movement_inflight", "movement_resolution", "movement",
                                                      "uncertainty_reduction", "excess", "ratio")),
               resolved=~np.isnan(series["outcome"].to_numpy(float)))
    ctx = CheckContext(panel=view, config=config)  # type: ignore[arg-type]
    ctx.cache.update({"questions": q, "budget": b})
    return q, ctx


def _report(first, second, files, paths, config: AnalysisConfig, scale_note, n_parts: int,
            hs: tuple[float, ...], fits: dict, fit_errors: dict, vr: tuple, vol, wn_nulls: dict | None,
            opts: ReadOptions, key: list[str], detected=None, reshuffled: bool | None = None,
            fetched: int | None = None, dropped: list | None = None,
            column_notes: tuple[list[str], list[str]] | None = None):
    from forecheck.checks import (
        all_specs,
        dependence_gate,
        finalize,
        question_findings,
        stamp,
    )
    from forecheck.checks.martingale import questions_summary
    from forecheck.engine import combine as C
    from forecheck.engine import wiener as W
    from forecheck.report.model import Report
    from forecheck.results import skipped
    from forecheck.stats.dependence import combine_cells, combine_units

    def order(frames: list[pd.DataFrame]) -> np.ndarray:  # the in-memory panel's series order (by id)
        return np.argsort(pd.concat([f["id"] for f in frames], ignore_index=True).to_numpy(dtype=str), kind="stable")

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True).iloc[order(frames)].reset_index(drop=True)

    dropped = dropped or []  # (partitions without a usable row: their rows, notes and findings count)
    series_order = order([r.series for r in first])
    series = cat([r.series for r in first])
    if series["id"].duplicated().any():  # (whole series per partition: the nesting check runs first)
        raise RuntimeError("a series in two partitions")
    pooled = cat([r.pooled for r in first])
    tau = (pd.concat([r.tau for r in first], ignore_index=True).groupby("tau", sort=True).sum().reset_index())
    dep = combine_cells([r.cells106 for r in first])
    dep_x = combine_units([s[0] for s in second])
    cal = cat([s[1] for s in second])
    time_unit = first[0].time_unit
    by = ("series" if key == list(opts.series_cols) else
          f"{'cluster' if key == [opts.cluster_col] else 'question'} (column {key[0]!r})")
    if reshuffled:
        by += ", then by detected question" + (" (clusters a question joins together)" if opts.cluster_col else "")
    held = len(first) + len(dropped)
    busy = "" if held == n_parts else f" ({held} holding rows)"  # (fewer units than partitions)
    seen = "" if fetched is None else (f"; question detection brought the rows of {fetched:,} of "
                                       f"{len(series):,} series to the driver")
    note = (f"Read by the Dask engine: {len(files)} Parquet file(s), shuffled by {by} into {n_parts} "
            f"partitions{busy}{seen}; computed: data quality, {', '.join(COMPUTED)}, DQ011 (docs/performance.md).")
    info = C.combine_info([r.info for r in first] + [d.info for d in dropped], min(r.time_min for r in first),
                          max(r.time_max for r in first), paths, note)
    if column_notes is not None:
        info["notes"] = _notes_as_found(info["notes"], *column_notes)
    # the in-memory reader's note on each file's format, where the in-memory engine places
    # them (after the validator's notes), before the engine's own
    from forecheck.io import parquet_note

    info["notes"][-1:-1] = [parquet_note(f) for f in files]
    questions, q_ctx = _questions(first, series, series_order, time_unit, config, detected)
    if questions.n_questions:  # as forecheck.analyze reports them
        from forecheck.stats.questions import questions_info

        info["questions"] = questions_info(questions, q_ctx.budget())
    # the pooled series' question units (CheckContext.pooled: q.units() without the mirrors)
    units_all = questions.units()
    keep = ~questions.redundant()
    unit_of = pd.Series(units_all[keep], index=series["id"].to_numpy(dtype=object)[keep])
    pooled_units = unit_of.reindex(pooled["id"].to_numpy(dtype=object)).to_numpy(np.int64)
    findings = C.combine_findings([r.findings for r in first] + [d.findings for d in dropped], files)
    if scale_note:  # decided over every row (the partitions were told the scale)
        info["scale_note"] = scale_note
        findings = [r.with_(message=f"scale: {scale_note}") if r.code == "DQ056" and r.status == "pass" else r
                    for r in findings]
    results = [r for r in findings if config.is_selected(r.code)]
    if config.is_selected("DQ011"):  # declared, detected (or none): the in-memory record
        results.extend(question_findings(q_ctx))
    own = {}
    mg102_cols = cal_ctx = wn302_cols = wn305_cols = None
    wn_first = [r.wn for r in first]
    n_dyn = sum(r.n_dynamic for r in first)
    n_dp = sum(r.n_dp_dynamic for r in first)
    for spec in all_specs():
        if not config.is_selected(spec.code):
            continue
        if spec.code not in COMPUTED:
            results.append(skipped(spec.code, spec.name, spec.family, spec.severity, C.NOT_COMPUTED))
            continue
        try:
            if spec.code == "MG101":
                m = C.mg101(pooled, sum(r.n_excluded for r in first), tau, time_unit, dep_x, dep, config.n_sim)
                m = replace(m, details=replace(m.details, questions=questions_summary(q_ctx)))
                own["MG101"] = ("excess terms", dep_x)
            elif spec.code == "MG102":
                m, mg102_cols = C.mg102(pooled, config.alpha)
            elif spec.code in ("MG103", "MG104"):
                if spec.code in fit_errors:
                    raise InsufficientDataError(fit_errors[spec.code])
                m, dep_u = C.regression(spec.code, fits[spec.code],
                                        [s[2][spec.code] for s in second if spec.code in s[2]], dep, _Deps(dep),
                                        clustered=opts.cluster_col is not None)
                own[spec.code] = ("regression scores", dep_u)
            elif spec.code == "MG105":
                if "MG105" in fit_errors:
                    raise InsufficientDataError(fit_errors["MG105"])
                m, dep_vr = C.variance_ratio(vr[0][0], vr[1], [s[3] for s in second])
                own["MG105"] = ("variance-ratio terms", dep_vr)
            elif spec.code == "WN301":
                m = W.wn301(wn_first, vol, config, time_unit)
            elif spec.code == "WN302":
                m, wn302_cols = W.wn302(wn_first, config)
            elif spec.code == "WN303":
                m = W.wn303(wn_first, [s[4] for s in second], config)
            elif spec.code == "WN304":
                m = W.wn304(wn_first, [s[4] for s in second], config)
            elif spec.code == "WN305":
                m, wn305_cols = W.wn305(wn_first, [s[4] for s in second], wn_nulls, config)
            elif spec.code == "WN307":
                m = W.wn307(wn_first, config)
            elif spec.code == "WN306":  # from the series table and pass 2's underlying parts
                m = W.wn306(series, [s[4] for s in second], config)
            elif spec.code in BY_CHECK_FUNCTION:
                if cal_ctx is None:
                    cal_ctx = C.calibration_context(pooled, cal, hs, time_unit, dep, config, pooled_units)
                m = spec.run(cal_ctx)
            else:
                c106 = [r.clusters106 for r in first if r.clusters106 is not None]
                m = C.mg106(dep, n_dyn, n_dp, own, frozenset().union(*c106) if opts.cluster_col else None,
                            questions.n_questions)
        except InsufficientDataError as exc:
            results.append(skipped(spec.code, spec.name, spec.family, spec.severity, str(exc)))
            continue
        gate = dependence_gate(_Deps(dep), m) if spec.dependence_gated and m.test_based else None
        results.append(stamp(spec, m, gate))
    if mg102_cols is not None:  # each series shows its unit's screened series (check_mg102)
        src = np.concatenate([r.mg102_src for r in first])[series_order]
        shown = mg102_cols.set_index("id").reindex(pd.Index(src, dtype=object))
        for c in mg102_cols.columns.drop("id"):
            series[c] = shown[c].to_numpy()
    for cols in (wn302_cols, wn305_cols):
        if cols is not None:
            series = series.merge(cols, on="id", how="left")
    return Report(input=info, config=config, results=tuple(finalize(results, config)), series=series, panel=None)

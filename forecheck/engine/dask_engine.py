"""``forecheck analyze --engine dask``: Parquet input larger than memory.

The rows are read with ``dask.dataframe.read_parquet`` (a directory, a glob or one
file), shuffled by series so that each partition holds whole series, and each
partition is reduced on a worker to per-series columns and per-time-cell sums
(``engine/partials.py``, the in-memory loader and formulas). The driver adds them up
and forms the pooled records (``engine/combine.py``). The shuffled rows are kept
on the cluster between the two passes (Dask spills them to disk under memory
pressure).

Computed: the data-quality findings and row accounting, MG101–MG106,
CA201–CA204 (the last four by their own check functions on the per-series forecasts)
and WN301–WN307 (``engine/wiener.py``; WN306 from the series table).
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

COMPUTED = ("MG101", "MG102", "MG103", "MG104", "MG105", "MG106", "CA201", "CA202", "CA203", "CA204",
            "WN301", "WN302", "WN303", "WN304", "WN305", "WN306", "WN307")
#: column roles the in-memory inference may find by name that this engine refuses (role, flag)
DETECTED_UNSUPPORTED = (("published", "--published-col"), ("cluster", "--cluster-col"),
                        ("question", "--question-col"))
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
        ("--layout wide", opts.layout == "wide"), ("--cluster-col", opts.cluster_col),
        ("--question-col", opts.question_col), ("--group-by", opts.group_col), ("--outcomes", opts.outcomes_file),
        ("--published-col", opts.published_col),
        ("--drop-backcast", opts.drop_backcast),
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
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=":0", memory_limit=memory_limit or "auto",
                           silence_logs=logging.ERROR)
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
    opts, scale_note = _columns(files, read_options, config)
    needed = [*opts.series_cols, *_time_columns(opts.time_col, _schema_names(files[0])), opts.prob_col,
              *(c for c in (opts.outcome_col, opts.underlying_col, opts.resolved_at_col) if c)]
    own_client = own_cluster = None
    if client is None:
        client, own_cluster = _client(scheduler, n_workers, memory_limit)
        own_client = client
    try:
        _check_workers(client)
        client.run(_quiet)  # Dask's own deprecation warnings on the workers are not the user's concern
        ddf = dd.read_parquet(files, columns=needed)
        if opts.scale == "auto":
            opts, scale_note = _scale(ddf, opts)
        from forecheck.engine import combine as C
        from forecheck.engine import partials, wiener

        ddf = ddf.map_partitions(partials.add_order,
                                 meta=ddf._meta.assign(**{partials.ORDER: pd.Series(dtype="int64")}))
        n_part = npartitions or max(ddf.npartitions, 2 * len(client.scheduler_info().get("workers", {})) or 2)
        shuffled = ddf.shuffle(on=list(opts.series_cols), npartitions=n_part)
        shuffled = client.persist(shuffled)
        parts = shuffled.to_delayed()
        names = [f"<partition {i}>" for i in range(len(parts))]
        p1 = client.compute([delayed(partials.pass1)(p, opts, config, nm) for p, nm in zip(parts, names)])
        first = [r for r in client.gather(p1) if r is not None]
        if not first:
            raise InputError(f"{files[0]}: no rows")
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
        p2 = client.compute([delayed(partials.pass2)(p, opts, config, nm, d_mean, hs,
                                                     {c: (f[0], f[1]) for c, f in fits.items()},
                                                     vr_q[1] if vr_q is not None else None, wn_params)
                             for p, nm in zip(parts, names)])
        second = [r for r in client.gather(p2) if r is not None]
        vol = _volatility_fit(client, parts, opts, config, names) if config.is_selected("WN301") else None
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
                   (vr_q, vr_parts), vol, wn_nulls)


def _volatility_fit(client, parts, opts: ReadOptions, config: AnalysisConfig, names: list[str]):
    """WN301's Poisson GLM (engine/wiener.fit_volatility): each partition's rows are
    kept on its worker while the driver takes one pass per Newton step; the fit, or the
    reason it cannot be made."""
    from dask import delayed

    from forecheck.engine import partials, wiener

    designs = client.compute([delayed(partials.vol_design)(p, opts, config, nm) for p, nm in zip(parts, names)])
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


def _columns(files: list[str], opts: ReadOptions, config: AnalysisConfig) -> tuple[ReadOptions, str | None]:
    """Column roles from a sample of the first file (the in-memory inference)."""
    import pyarrow.parquet as pq

    from forecheck import io

    try:
        pf = pq.ParquetFile(files[0])
        sample = pf.read_row_group(0).slice(0, 20_000).to_pandas() if pf.num_row_groups else None
    except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for corrupt files)
        raise InputError(f"{files[0]}: cannot be read as Parquet ({str(exc).splitlines()[0][:200]}).") from None
    if sample is None or len(sample) == 0:
        raise InputError(f"{files[0]}: the Parquet file has no rows.")
    cols = io.load_frame(sample, opts, name=files[0], min_length=config.min_length).info.columns
    if opts.layout != "auto" and opts.layout != "long":
        raise InputError("--engine dask reads the long layout (series, time, p) only")
    # roles the inference finds by a column's name (docs/input.md) that this engine cannot
    # honour yet: refused, as their flags are (_unsupported), never dropped silently
    for role, flag in DETECTED_UNSUPPORTED:
        if cols.get(role):
            raise InputError(f"{files[0]}: column {cols[role]!r} is read as the {role.replace('_', ' ')} column "
                             f"(found by its name); --engine dask does not support {flag} yet (docs/performance.md, "
                             "\"Dask engine\"): use the in-memory engine, or drop or rename the column")
    return replace(opts, layout="long", series_cols=tuple(cols["series"]), time_col=cols["time"],
                   prob_col=cols["p"], outcome_col=cols.get("outcome"), underlying_col=cols.get("underlying"),
                   resolved_at_col=cols.get("resolved_at")), None


def _schema_names(path: str) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def _time_columns(spec: str, columns) -> list[str]:
    """The columns of a time given as several sort keys (``--time-col a,-b``: b descending)."""
    if spec in columns:
        return [spec]
    return [k[1:] if k.startswith("-") and k not in columns else k for k in spec.split(",")]


def _scale(ddf, opts: ReadOptions) -> tuple[ReadOptions, str]:
    """--scale auto over every row: unit when all probabilities lie in [0, 1]."""
    if opts.na_values:
        raise InputError("--engine dask with --na-values needs an explicit --scale unit or --scale percent")
    col = ddf[opts.prob_col]
    lo, hi = (float(x) for x in __import__("dask").compute(col.min(), col.max()))
    if lo >= -1e-9 and hi <= 1 + 1e-9:
        return replace(opts, scale="unit"), f"auto: all values within [0, 1] (max {hi:g}), read as probabilities"
    raise InputError(f"column {opts.prob_col!r}: values range {lo:g}-{hi:g}; with --engine dask pass "
                     "--scale percent (or --scale unit) explicitly")


def _report(first, second, files, paths, config: AnalysisConfig, scale_note, n_parts: int,
            hs: tuple[float, ...], fits: dict, fit_errors: dict, vr: tuple, vol, wn_nulls: dict | None):
    from forecheck.checks import all_specs, dependence_gate, finalize, stamp
    from forecheck.engine import combine as C
    from forecheck.engine import wiener as W
    from forecheck.report.model import Report
    from forecheck.results import skipped
    from forecheck.stats.dependence import combine_cells, combine_units

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        df = pd.concat(frames, ignore_index=True)
        return df.iloc[np.argsort(df["id"].to_numpy(dtype=str), kind="stable")].reset_index(drop=True)

    series = cat([r.series for r in first])
    pooled = cat([r.pooled for r in first])
    tau = (pd.concat([r.tau for r in first], ignore_index=True).groupby("tau", sort=True).sum().reset_index())
    dep = combine_cells([r.cells106 for r in first])
    dep_x = combine_units([s[0] for s in second])
    cal = cat([s[1] for s in second])
    time_unit = first[0].time_unit
    note = (f"Read by the Dask engine: {len(files)} Parquet file(s), shuffled by series into {n_parts} "
            f"partitions; computed: data quality, {', '.join(COMPUTED)} (docs/performance.md).")
    info = C.combine_info([r.info for r in first], min(r.time_min for r in first), max(r.time_max for r in first),
                          paths, note)
    findings = C.combine_findings([r.findings for r in first])
    if scale_note:  # decided over every row (the partitions were told the scale)
        info["scale_note"] = scale_note
        findings = [r.with_(message=f"scale: {scale_note}") if r.code == "DQ056" and r.status == "pass" else r
                    for r in findings]
    results = [r for r in findings if config.is_selected(r.code)]
    if config.is_selected("DQ011"):
        results.append(skipped("DQ011", "question-sums", "DQ", "warning",
                               "questions are not detected by the Dask engine (each series is its own question); "
                               "see docs/performance.md"))
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
                own["MG101"] = ("excess terms", dep_x)
            elif spec.code == "MG102":
                m, mg102_cols = C.mg102(pooled, config.alpha)
            elif spec.code in ("MG103", "MG104"):
                if spec.code in fit_errors:
                    raise InsufficientDataError(fit_errors[spec.code])
                m, dep_u = C.regression(spec.code, fits[spec.code],
                                        [s[2][spec.code] for s in second if spec.code in s[2]], dep, _Deps(dep))
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
                    cal_ctx = C.calibration_context(pooled, cal, hs, time_unit, dep, config)
                m = spec.run(cal_ctx)
            else:
                m = C.mg106(dep, n_dyn, n_dp, own)
        except InsufficientDataError as exc:
            results.append(skipped(spec.code, spec.name, spec.family, spec.severity, str(exc)))
            continue
        gate = dependence_gate(_Deps(dep), m) if spec.dependence_gated and m.test_based else None
        results.append(stamp(spec, m, gate))
    for cols in (mg102_cols, wn302_cols, wn305_cols):
        if cols is not None:
            series = series.merge(cols, on="id", how="left")
    return Report(input=info, config=config, results=tuple(finalize(results, config)), series=series, panel=None)

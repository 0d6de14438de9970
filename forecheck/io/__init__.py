"""Input layer: read files or frames, infer columns, validate, build a Panel.

Public entry points (used by the CLI and ``forecheck.api``):

* :func:`load` — paths (``-`` = stdin) -> :class:`LoadedInput`
* :func:`load_frame` — an in-memory ``pandas.DataFrame`` -> :class:`LoadedInput`
* :func:`load_panel` — wrap an existing :class:`~forecheck.panel.Panel`

See docs/input.md for formats, column inference, flags and the DQ codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecheck.errors import InputError
from forecheck.io.infer import ColumnMap, infer_columns
from forecheck.io.dq_rules import DQ_RULES, RULES_TABLE
from forecheck.io.loaded import InputInfo, LoadedInput
from forecheck.io.options import ReadOptions
from forecheck.io.parse import factorize_cells
from forecheck.io.readers import RawTable, RowSource, check_columns, check_rows, out_of_memory, read_table
from forecheck.io.validate import RawLong, return_arrow_memory, validate
from forecheck.panel import Panel

__all__ = ["load", "load_frame", "load_panel", "LoadedInput", "InputInfo", "ReadOptions", "RowSource", "DQ_RULES",
           "RULES_TABLE", "read_table"]


def load(paths: list[str], options: ReadOptions | None = None, min_length: int = 3) -> LoadedInput:
    """Read one or more files of the same layout (concatenated) and validate them.

    ``min_length`` is the analysis setting (``AnalysisConfig.min_length``, its one
    home) that DQ005 and ``short_series`` report against."""
    options = options or ReadOptions()
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise InputError("no input given: pass one or more files (or '-' for stdin).")
    tables = [read_table(p, options.input_format, options.stdin_name if p == "-" else None, limits=options)
              for p in paths]
    return _load_tables(tables, options, min_length, release=True)


def load_frame(df: pd.DataFrame, options: ReadOptions | None = None, name: str = "<dataframe>",
               min_length: int = 3, source: RowSource | None = None) -> LoadedInput:
    """Same inference and validation as :func:`load`, on an in-memory frame
    (``source``: the file and row of each row, when they come from files: messages
    and row details then name them instead of the frame's row numbers)."""
    options = options or ReadOptions()
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}.")
    frame = df.reset_index(drop=isinstance(df.index, pd.RangeIndex))
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise InputError(f"{name}: the DataFrame has no rows.", code="DQ058")
    check_columns(frame.shape[1], name, options.max_columns)
    check_rows(frame.shape[0], name, options.max_rows)
    if source is not None and len(source.line) != frame.shape[0]:
        raise ValueError("source: one file and row per row of the frame")
    return _load_tables([RawTable(frame=frame, path=name, format="dataframe", first_line=1, source=source)],
                        options, min_length)


def load_panel(panel: Panel, min_length: int = 3) -> LoadedInput:
    """Wrap an existing Panel: info block from the panel, no findings (it is trusted)."""
    t = panel.time
    info = InputInfo(
        paths=(),
        format="panel",
        encoding=None,
        delimiter=None,
        layout="long",
        columns={"series": [], "time": None, "p": None, "outcome": None, "published": None,
                 "resolved_at": None, "cluster": None, "question": None, "underlying": None},
        scale="unit",
        scale_note="Panel given directly: probabilities taken as on [0, 1]",
        rows_read=int(panel.n_obs),
        rows_used=int(panel.n_obs),
        rows_dropped={},
        series=int(panel.n_series),
        resolved_series=int(panel.resolved.sum()),
        short_series=int((panel.lengths < min_length).sum()),
        time_kind=panel.time_kind,
        time_unit=panel.time_unit,
        time_range=(panel.format_time(float(np.min(t))), panel.format_time(float(np.max(t))))
        if panel.n_obs else ("", ""),
        notes=("A Panel was passed in directly; it was not re-validated.",),
    )
    return LoadedInput(panel=panel, info=info, findings=[])


# ---------------------------------------------------------------- internals
def _load_tables(tables: list[RawTable], options: ReadOptions, min_length: int = 3,
                 release: bool = False) -> LoadedInput:
    """``release``: the tables are the loader's own; their frames are dropped once
    the used columns are taken out (the text of a 10^7-row file is ~0.6 GB)."""
    try:
        loaded = _load_tables_inner(tables, options, min_length, release)
    except MemoryError:
        names = ", ".join(t.path for t in tables[:3]) + (" ..." if len(tables) > 3 else "")
        raise out_of_memory(names, "validating") from None
    if release:
        # the raw columns died with the call; a Parquet file's numbers were views of
        # pyarrow's buffers, whose pages its allocator would keep (0.16 GB at 10^7 rows)
        return_arrow_memory()
    return loaded


def layout_mismatch(path: str, missing: list[str], first: str) -> InputError:
    """The error for a file without columns the first file has (both engines)."""
    return InputError(f"{path}: lacks column(s) {', '.join(missing)} found in {first}; "
                      "several files must share one layout.", code="DQ057")


def _load_tables_inner(tables: list[RawTable], options: ReadOptions, min_length: int,
                       release: bool = False) -> LoadedInput:
    first = tables[0]
    try:
        cm = infer_columns(first.frame, options, first.path)
    except InputError as exc:
        if exc.code is None:
            exc.code = "DQ057"
        raise
    needed = cm.used()
    for tab in tables[1:]:
        missing = [c for c in needed if c not in tab.frame.columns]
        if missing:
            raise layout_mismatch(tab.path, missing, first.path)
    # rows of the long frame (wide layout: cells), all inputs together
    n_long = sum(len(t.frame) for t in tables) * (len(cm.value_cols) if cm.layout == "wide" else 1)
    check_rows(n_long, first.path if len(tables) == 1 else f"{first.path} (+{len(tables) - 1} files)",
               options.max_rows)
    parts = [_to_long(tab, cm, i) for i, tab in enumerate(tables)]
    paths = list(first.source.paths) if len(tables) == 1 and first.source is not None else [t.path for t in tables]
    raw = _concat(parts, paths, cm)
    formats = sorted({t.format for t in tables})
    encodings = sorted({t.encoding for t in tables if t.encoding})
    delims = sorted({t.delimiter for t in tables if t.delimiter})
    meta_notes = []
    for t in tables:
        if t.format in ("csv", "tsv"):
            dname = {",": "comma", ";": "semicolon", "|": "pipe", "\t": "tab"}[t.delimiter]
            meta_notes.append(f"{t.path}: {t.format.upper()} text, {t.encoding}, {dname}-separated"
                              + (", gzip-compressed" if t.compressed else "") + ".")
        elif t.format == "parquet":
            meta_notes.append(parquet_note(t.path, t.compressed))
    if cm.layout == "wide":
        meta_notes.append("Wide layout: rows are counted as cells (time rows x series columns).")
    # the DQ052 hint looks at the columns not used (the used ones are in ``raw``)
    hint_frame = first.frame.drop(columns=[c for c in needed if c in first.frame.columns]) \
        if len(tables) == 1 and cm.layout == "long" else None
    meta = {"format": formats[0] if len(formats) == 1 else ",".join(formats),
            "encoding": encodings[0] if len(encodings) == 1 else (",".join(encodings) or None),
            "delimiter": delims[0] if len(delims) == 1 else (",".join(delims) or None),
            "notes": meta_notes,
            "frame_for_hint": hint_frame}
    if release:
        for t in tables:
            t.frame = None
    del parts, first, hint_frame
    return validate(raw, cm, options, meta, min_length)


def parquet_note(path: str, compressed: bool = False) -> str:
    """The input note on a Parquet file (both engines)."""
    return f"{path}: Parquet" + (", gzip-compressed" if compressed else "") + "."


def _col(frame: pd.DataFrame, name: str | None) -> pd.Series | None:
    return None if name is None else frame[name].reset_index(drop=True)


def series_id_codes(frame: pd.DataFrame, cols: list[str], default: str) -> tuple[np.ndarray, np.ndarray]:
    """Series codes (N,) and labels (K,): each key column is factorised on its own
    and only the K distinct combinations are joined into "a|b|c" strings (the loader's
    series ids; the Dask engine forms the same ids in its partitions)."""
    n = len(frame)
    if not cols:
        return np.zeros(n, dtype=np.int64), np.array([default], dtype=object)
    codes_list, uniq_list = [], []
    for c in cols:
        col = frame[c]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            # text: stripped (blank for missing) and factorised, on the distinct cells
            codes, uniq = factorize_cells(col, _stripped, use_na_sentinel=False)
        else:
            codes, uniq = pd.factorize(col, use_na_sentinel=False)
        codes_list.append(np.asarray(codes).astype(np.int64, copy=False))
        if isinstance(getattr(uniq, "dtype", None), pd.StringDtype) and not pd.isna(uniq).any():
            uniq_list.append(np.asarray(uniq, dtype=object))  # text without missing cells: its own label
        else:
            uniq_list.append(np.array([_label(u) for u in np.asarray(uniq, dtype=object)], dtype=object))
    if len(cols) == 1:
        return codes_list[0], uniq_list[0]
    # mixed-radix integer key of the code tuple, then a hash factorisation
    sizes = [max(len(u), 1) for u in uniq_list]
    if float(np.prod([float(x) for x in sizes])) < 2**62:
        key = np.zeros(n, dtype=np.int64)
        for codes, size in zip(codes_list, sizes):
            key = key * size + codes
        inv, first_key = pd.factorize(key)
        rows = np.asarray(first_key)
        combos = []
        for size in reversed(sizes):
            combos.append(rows % size)
            rows = rows // size
        combos = np.column_stack(combos[::-1])
    else:  # pragma: no cover - astronomically many distinct keys
        combos, inv = np.unique(np.column_stack(codes_list), axis=0, return_inverse=True)
    labels = np.array(["|".join(uniq_list[j][combos[i, j]] for j in range(len(cols)))
                       for i in range(len(combos))], dtype=object)
    return np.asarray(inv).reshape(-1).astype(np.int64), labels


def _stripped(col: pd.Series) -> pd.Series:
    return col.astype("string").fillna("").str.strip()


def _label(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v)) if abs(v) < 1e15 else str(v)
    return str(v)


def _to_long(tab: RawTable, cm: ColumnMap, file_idx: int) -> dict:
    f = tab.frame
    n = len(f)
    if tab.source is not None:
        line, file = tab.source.line, tab.source.file
    else:
        line, file = np.arange(tab.first_line, tab.first_line + n, dtype=np.int64), _file_index(n, file_idx)
    if cm.layout == "wide":
        vc = cm.value_cols
        k = len(vc)
        # melt column by column: series j occupies cells j*n:(j+1)*n (one vectorised
        # pass: a wide file may have 10^5 columns)
        vals = _stack_columns(f, vc)
        sid = (np.repeat(np.arange(k, dtype=np.int64), n), np.asarray(vc, dtype=object))
        tiled = np.tile(np.arange(n), k)

        def rep(name):
            return None if name is None else f[name].take(tiled).reset_index(drop=True)

        tkeys = [(rep(c), d) for c, d in cm.time_keys]
        return {"sid": sid, "time": rep(cm.time), "time_keys": tkeys, "p": vals, "outcome": None,
                "published": rep(cm.published), "resolved_at": rep(cm.resolved_at), "cluster": rep(cm.cluster),
                "question": rep(cm.question), "group": rep(cm.group), "underlying": None, "line": np.tile(line, k),
                "file": np.tile(file, k) if tab.source is not None else _file_index(n * k, file_idx)}
    return {"sid": series_id_codes(f, cm.series, cm.p or "series"), "time": _col(f, cm.time),
            "time_keys": [(_col(f, c), d) for c, d in cm.time_keys], "p": _col(f, cm.p),
            "outcome": _col(f, cm.outcome), "published": _col(f, cm.published),
            "resolved_at": _col(f, cm.resolved_at), "cluster": _col(f, cm.cluster),
            "question": _col(f, cm.question), "group": _col(f, cm.group), "underlying": _col(f, cm.underlying), "line": line, "file": file}


def _file_index(n: int, file_idx: int) -> np.ndarray:
    """(n,) index of the file each row comes from: a read-only broadcast of one
    number (no memory per row; only messages and several-file inputs read it)."""
    return np.broadcast_to(np.int64(file_idx), (n,))


def _stack_columns(f: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The cells of ``cols`` stacked column after column: text as "string", numbers
    as float (each column as ``astype`` would give it)."""
    dtypes = dict(zip(f.columns, f.dtypes))  # f[c] per column costs ~0.15 ms: too much for 10^5 columns
    kind_numeric = {dt: pd.api.types.is_numeric_dtype(dt) for dt in set(dtypes.values())}
    numeric = [kind_numeric[dtypes[c]] for c in cols]
    if not any(numeric):
        if len(cols) == f.shape[1] - 1 or len(cols) > 1000:  # one conversion of the frame, not one per column
            position = {c: i for i, c in enumerate(f.columns)}
            cells = f.to_numpy(dtype=object)[:, [position[c] for c in cols]]
        else:
            cells = f[cols].to_numpy(dtype=object)
        return pd.Series(cells.ravel(order="F"), dtype="string")
    if all(numeric):
        return pd.Series(f[cols].to_numpy(dtype=float, na_value=np.nan).ravel(order="F"))
    return pd.concat([f[c].astype(float) if num else f[c].astype("string") for c, num in zip(cols, numeric)],
                     ignore_index=True)


def _in_id_order(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Series codes numbered in the order of their ids as strings (the panel's series
    order; several files' labels are numbered so by ``np.unique``): whatever the
    validator lists by series (DQ003, DQ004) is then in the report's series order, in
    one file, several, or a Dask partition alike. Labels already in that order (the
    usual case: files written series by series) cost one comparison of the K labels."""
    text = np.asarray(labels).astype(str)
    if len(text) < 2 or bool(np.all(text[1:] > text[:-1])):
        return codes, labels
    order = np.argsort(text, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[codes], np.asarray(labels, dtype=object)[order]


def _concat(parts: list[dict], paths: list[str], cm: ColumnMap) -> RawLong:
    def cat(key):
        vals = [p[key] for p in parts]
        if vals[0] is None:
            return None
        if len(vals) == 1:
            return vals[0]
        return pd.concat([v.astype(object) if len({str(x.dtype) for x in vals}) > 1 else v for v in vals],
                         ignore_index=True)

    tkeys = []
    for j in range(len(parts[0]["time_keys"])):
        col = pd.concat([p["time_keys"][j][0] for p in parts], ignore_index=True) if len(parts) > 1 \
            else parts[0]["time_keys"][j][0]
        tkeys.append((col, parts[0]["time_keys"][j][1]))
    if len(parts) == 1:
        sid_codes, sid_labels = _in_id_order(*parts[0]["sid"])
    else:
        all_labels = np.concatenate([p["sid"][1] for p in parts]).astype(str)
        uniq, inv = np.unique(all_labels, return_inverse=True)
        shifts = np.cumsum([0] + [len(p["sid"][1]) for p in parts[:-1]])
        sid_codes = np.concatenate([inv[p["sid"][0] + s] for p, s in zip(parts, shifts)])
        sid_labels = uniq.astype(object)
    def rows(key):  # one file: its arrays as they are
        return parts[0][key] if len(parts) == 1 else np.concatenate([p[key] for p in parts])

    return RawLong(sid_codes=sid_codes, sid_labels=sid_labels, time=cat("time"), time_keys=tkeys, p=cat("p"), outcome=cat("outcome"),
                   published=cat("published"), resolved_at=cat("resolved_at"), cluster=cat("cluster"),
                   group=cat("group"), question=cat("question"), underlying=cat("underlying"),
                   line=rows("line"), file=rows("file"), paths=paths)

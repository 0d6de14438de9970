"""Reading files into a raw table of strings.

Every input (CSV, TSV, gzip-compressed text, Parquet, stdin) ends up as a
``RawTable``: a DataFrame plus what was detected about the file (format,
encoding, delimiter). Text files are read with every column as a string
(``keep_default_na=False``) so that nothing is silently turned into NaN
(PredictIt's literal ``n/a`` contract symbol, say) and so that parsing errors can
name the offending rows and values; the columns that matter are parsed later.

Speed: text is parsed by pyarrow's CSV reader directly (every column as
``large_string``, no nulls: the frame ``pd.read_csv(engine="pyarrow", dtype=str,
keep_default_na=False)`` gives, without pandas' passes over it); pandas' pyarrow
engine, then its C engine, are the fallbacks when pyarrow cannot parse the text
(ragged rows, quoted newlines) or pandas would rename the header (blank or
repeated names). The columns stay Arrow-backed, so the parsers work on Arrow
arrays (``parse.factorize_cells``, ``parse.float_cells``). UTF-16 input is
transcoded to UTF-8 in memory first, so it also goes through pyarrow.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import sys
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecheck.errors import InputError
from forecheck.io.options import ReadOptions

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
DELIMITERS = (",", ";", "|", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "|": "pipe", "\t": "tab"}
SUPPORTED = ".csv, .tsv, .txt, .csv.gz, .tsv.gz, .parquet (or '-' for stdin)"


@dataclass
class RawTable:
    """One input file as read: all text columns are strings."""

    frame: pd.DataFrame
    path: str
    format: str  # csv | tsv | parquet | dataframe
    encoding: str | None = None
    delimiter: str | None = None
    compressed: bool = False
    # Line number of data row 0 (header is line 1 for text files); parquet and
    # frames count rows from 1.
    first_line: int = 2
    # Where each row came from when the frame gathers rows of several files (a Dask
    # engine partition); None: row k is line first_line + k of ``path``.
    source: RowSource | None = None


@dataclass(frozen=True)
class RowSource:
    """The file and row of every row of a frame built from several files' rows."""

    file: np.ndarray  # (n,) index into paths
    line: np.ndarray  # (n,) 1-based row number in that file (Parquet rows count from 1)
    paths: tuple[str, ...]


def limit_error(path: str, what: str, flag: str) -> InputError:
    """A reading limit was exceeded: say which, and how to lift it."""
    return InputError(f"{path}: {what} (the {flag} limit). Pass {flag} N to raise it ({flag} 0 = no limit), "
                      f"or split the input.", code="DQ058")


def _read_bytes(path: str, max_bytes: int = 0) -> bytes:
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1) if max_bytes else sys.stdin.buffer.read()
        if max_bytes and len(data) > max_bytes:
            raise limit_error("<stdin>", f"standard input holds more than {max_bytes:,} bytes", "--max-bytes")
        return data
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a file. Pass a CSV, TSV or Parquet file "
                         f"({SUPPORTED}).")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file. Check the path (supported: {SUPPORTED}).")
    try:
        if max_bytes and os.path.getsize(path) > max_bytes:
            raise limit_error(path, f"the file has {os.path.getsize(path):,} bytes, more than {max_bytes:,}",
                              "--max-bytes")
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


def _gunzip(data: bytes, path: str, max_bytes: int, max_rows: int = 0) -> bytes:
    """Inflate gzip data (all members) in 16 MB steps, stopping as soon as the output
    passes ``max_bytes`` or holds more than ``max_rows`` data lines (0 = no limit):
    a small .gz can inflate to gigabytes."""
    parts: list[bytes] = []
    total = lines = 0
    src = data
    d = zlib.decompressobj(wbits=31)
    try:
        while True:
            piece = d.decompress(src, 1 << 24)
            total += len(piece)
            if max_bytes and total > max_bytes:
                raise limit_error(path, f"gzip data inflates to more than {max_bytes:,} bytes", "--max-bytes")
            if max_rows:
                lines += piece.count(b"\n")
                if lines - 1 > max_rows:  # the header is a line
                    raise limit_error(path, f"gzip data inflates to more than {max_rows:,} data lines",
                                      "--max-rows")
            parts.append(piece)
            src = d.unconsumed_tail
            if d.eof:
                rest = d.unused_data
                if not rest.strip(b"\x00"):
                    break
                d, src = zlib.decompressobj(wbits=31), rest  # another gzip member follows
            elif not src:
                raise InputError(f"{path}: gzip data is corrupt (Compressed file ended before the end-of-stream "
                                 f"marker was reached).")
    except zlib.error as exc:
        raise InputError(f"{path}: gzip data is corrupt ({exc}).") from None
    return b"".join(parts)


def check_rows(n_rows: int, path: str, max_rows: int) -> None:
    if max_rows and n_rows > max_rows:
        raise limit_error(path, f"has {n_rows:,} rows, more than {max_rows:,}", "--max-rows")


def check_columns(n_cols: int, path: str, max_columns: int) -> None:
    if max_columns and n_cols > max_columns:
        raise limit_error(path, f"has {n_cols:,} columns, more than {max_columns:,}", "--max-columns")


def _decode(data: bytes, path: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes (BOM removed) and the detected encoding's name."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):], "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                      (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(name)
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: starts with a {name.upper()} byte-order mark but is not valid "
                                 f"{name.upper()} (byte {exc.start}).") from None
            return text.encode("utf-8"), name.split("-")[0] + "-" + name.split("-")[1]
    # UTF-16 without a BOM: every other byte NUL in ASCII-heavy text.
    head = data[:4096]
    if len(head) >= 4 and head[1::2].count(0) > 0.9 * len(head[1::2]) and head[0::2].count(0) == 0:
        return data.decode("utf-16-le", errors="replace").encode("utf-8"), "utf-16-le"
    if b"\x00" in head:
        raise InputError(f"{path}: looks like a binary file (NUL bytes), not CSV/TSV text. "
                         f"Supported: {SUPPORTED}.")
    if data.isascii():  # ASCII is UTF-8: checked in place, without decoding the whole file
        return data, "utf-8"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        # Latin-1 decodes anything; say so in the notes.
        return data.decode("latin-1").encode("utf-8"), "latin-1"


_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(text: str, path: str, suffix_hint: str | None = None) -> str:
    """Pick the delimiter among , ; | tab that splits the first lines consistently."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        raise InputError(f"{path}: the file is empty.")
    stripped = [_QUOTED.sub("", ln) for ln in lines]
    best, best_score = None, (-1, -1)
    for d in DELIMITERS:
        counts = [ln.count(d) for ln in stripped]
        if counts[0] == 0:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = (round(consistent, 1), counts[0])
        if score > best_score:
            best, best_score = d, score
    if best is None:
        first = lines[0][:80]
        if first.lstrip().startswith(("{", "[")):
            raise InputError(f"{path}: looks like JSON, not a delimited table. Convert it to CSV "
                             f"(one row per series and time) or Parquet.")
        raise InputError(f"{path}: no column delimiter (comma, semicolon, pipe or tab) in the first line "
                         f"({first!r}); this does not look like a table. Supported: {SUPPORTED}.")
    if suffix_hint == "\t" and "\t" in stripped[0]:
        return "\t"
    return best


def _suffix(path: str) -> tuple[str, bool]:
    p = path.lower()
    gz = p.endswith(".gz")
    if gz:
        p = p[:-3]
    return os.path.splitext(p)[1], gz


def read_table(path: str, input_format: str = "auto", name: str | None = None, *,
               limits: "ReadOptions | None" = None) -> RawTable:
    """Read one input file (or ``-`` for stdin) into a :class:`RawTable`.

    ``name`` (``--stdin-filename``) is what messages, the report and annotations
    call the input, and its suffix guides format detection; the bytes still come
    from ``path``. Raises ``InputError`` (code DQ058) for anything that is not a
    readable table."""
    limits = limits or ReadOptions()
    try:
        return _read_table(path, input_format, name, limits)
    except InputError as exc:
        if exc.code is None:
            exc.code = "DQ058"
        raise
    except MemoryError:
        raise out_of_memory(name or path, "reading") from None


def out_of_memory(path: str, doing: str) -> InputError:
    return InputError(f"out of memory while {doing} {path}; try --max-rows to stop earlier, a Parquet file, "
                      f"or fewer rows per file.", code="DQ058")


def _read_table(path: str, input_format: str, name: str | None, limits: ReadOptions) -> RawTable:
    data = _read_bytes(path, limits.max_bytes)
    path = name or path  # from here on: the name shown to the user
    suffix, gz_suffix = _suffix(path)
    compressed = False
    if data.startswith(GZIP_MAGIC):
        data = _gunzip(data, path, limits.max_bytes, limits.max_rows)
        compressed = True
    elif gz_suffix:
        raise InputError(f"{path}: named .gz but is not gzip-compressed.")
    if input_format == "parquet" or (input_format == "auto" and (data.startswith(PARQUET_MAGIC)
                                                                  or suffix in (".parquet", ".pq"))):
        return _read_parquet(data, path, limits)
    if data.startswith(ZIP_MAGIC):
        raise InputError(f"{path}: is a ZIP archive. Unzip it and pass the CSV inside.")
    if not data[:65536].strip() and not data.strip():  # the head decides unless blank (no copy of the file)
        raise InputError(f"{path}: the file is empty.")
    text_bytes, encoding = _decode(data, path)
    head = text_bytes[:65536].decode("utf-8", errors="replace")
    if head.lstrip().startswith(("{", "[")):
        raise InputError(f"{path}: looks like JSON, not a delimited table. Convert it to CSV "
                         f"(one row per series and time) or Parquet.")
    if input_format == "tsv" or (input_format == "auto" and suffix == ".tsv"):
        hint = "\t"
    else:
        hint = None
    delim = "\t" if input_format == "tsv" else sniff_delimiter(head, path, hint)
    fmt = "tsv" if delim == "\t" else "csv"
    if limits.max_columns:
        first = head.split("\n", 1)[0] if "\n" in head else text_bytes.split(b"\n", 1)[0].decode("utf-8", "replace")
        check_columns(_QUOTED.sub("", first).count(delim) + 1, path, limits.max_columns)
    # line count: an upper bound of the data rows (+ header); a text of at most max_rows bytes
    # has at most max_rows lines, data and header together, so only a longer one is counted
    if limits.max_rows and len(text_bytes) > limits.max_rows:
        n_lines = _count_newlines(text_bytes) + (not text_bytes.endswith(b"\n"))
        if n_lines - 1 > limits.max_rows:
            raise limit_error(path, f"has {n_lines - 1:,} data lines, more than {limits.max_rows:,} rows",
                              "--max-rows")
    frame = _parse_text_typed(text_bytes, delim, path, limits)
    check_rows(frame.shape[0], path, limits.max_rows)
    if frame.shape[0] == 0:
        raise InputError(f"{path}: has a header ({', '.join(map(str, frame.columns[:8]))}) but no data rows.")
    if frame.shape[1] < 2:
        raise InputError(f"{path}: only one column ({frame.columns[0]!r}) was found; a forecast table needs "
                         f"at least a time or series column and a probability column.")
    return RawTable(frame=frame, path=path, format=fmt, encoding=encoding, delimiter=delim,
                    compressed=compressed, first_line=2)


def _count_newlines(data: bytes, block: int = 1 << 22) -> int:
    """``data.count(b"\\n")`` by numpy in 4 MB blocks: bytes.count scans a byte at a
    time (0.3 s for 10^7 rows of text), numpy's comparison several at once."""
    import numpy as np

    a = np.frombuffer(data, dtype=np.uint8)
    return sum(int(np.count_nonzero(a[i:i + block] == 10)) for i in range(0, len(a), block))


def csv_block_size(n_bytes: int) -> int:
    """Bytes of text pyarrow's CSV reader parses as one block (one task of its thread
    pool, one chunk of the table): an eighth of the text, within 1 MB (pyarrow's
    default) and 16 MB. Its 1 MB default cuts a 10⁷-row file into 310 chunks, each
    with its own dictionaries to unify and its own conversion set-up; 20 blocks of
    16 MB still keep both cores busy (``python benchmarks/speed.py sp_10m.csv``, read +
    validate, two alternating pairs: 3.59/1.99 → 2.24/1.71 s wall; benchmarks/README.md,
    hot spot 31). Blocks never change the values read, only the chunking."""
    return int(min(max(n_bytes // 8, 1 << 20), 1 << 24))


def _arrow_text(text_bytes: bytes, delim: str, types: dict | None = None) -> pd.DataFrame | None:
    """Every column as text, read by pyarrow's CSV reader directly: the frame
    ``pd.read_csv(engine="pyarrow", dtype=str, keep_default_na=False)`` returns
    (the same reader and options: text as ``large_string``, no nulls), without
    pandas' header and dtype passes. None when pandas would change the header
    (blank or repeated names) or pyarrow cannot parse the text: the caller then
    takes the pandas way, which decides those cases. ``types``: columns read as
    these Arrow types instead (a blank cell there is null), None on any cell they
    do not convert."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.BufferReader(text_bytes), read_options=pacsv.ReadOptions(block_size=csv_block_size(len(text_bytes))),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char='"', ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(default_column_type=pa.large_string(),
                                                 null_values=[""] if types else [],
                                                 strings_can_be_null=False, column_types=types or {}))
    except MemoryError:
        raise
    except (pa.ArrowException, ValueError, OSError):  # ragged rows, quoted newlines, ...: pandas decides
        return None
    names = table.column_names
    if "" in names or len(set(names)) != len(names) or not all(
            pa.types.is_large_string(t) or n in (types or {}) for n, t in zip(names, table.schema.types)):
        return None
    dictionaries = [n for n, t in zip(names, table.schema.types) if pa.types.is_dictionary(t)]
    return _with_categoricals(table, dictionaries) if dictionaries else table.to_pandas()


def _parse_text(text_bytes: bytes, delim: str, path: str) -> pd.DataFrame:
    kw = dict(sep=delim, dtype=str, keep_default_na=False, na_filter=False)
    frame = _arrow_text(text_bytes, delim)
    if frame is not None:
        return _checked_names(frame, path)
    try:
        frame = pd.read_csv(io.BytesIO(text_bytes), engine="pyarrow", dtype=str, sep=delim,
                            keep_default_na=False)
    except MemoryError:
        raise
    except Exception:  # pyarrow is strict (ragged rows, odd quoting): fall back to the C engine
        try:
            frame = pd.read_csv(io.BytesIO(text_bytes), engine="c", **kw)
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: the file is empty.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            msg = str(exc).strip().splitlines()[0][:200]
            raise InputError(f"{path}: cannot be parsed as a "
                             f"{DELIMITER_NAMES[delim]}-separated table: {msg}") from None
    return _checked_names(frame, path)


#: data rows the column inference samples (``infer._nonempty``, ``_prob_like_many``)
HEAD_ROWS = 2000
#: the head is looked for in this many leading bytes (a longer head: no typed read)
HEAD_BYTES = 1 << 23


def _head_bytes(text_bytes: bytes, rows: int) -> bytes | None:
    """The header and the first ``rows`` data lines (the whole text if shorter), or
    None when they do not fit in :data:`HEAD_BYTES`."""
    import numpy as np

    part = text_bytes[:HEAD_BYTES]
    ends = np.flatnonzero(np.frombuffer(part, dtype=np.uint8) == 10)
    if len(ends) > rows:
        return part[:ends[rows] + 1]
    return text_bytes if len(text_bytes) <= HEAD_BYTES else None


def _typed_plan(text_bytes: bytes, delim: str, path: str, options: ReadOptions):
    """(column types, column map of the head) for a typed read of the columns whose
    parse is a pure number conversion, or None. The column map comes from the same
    inference the validator runs, on the same sampled head rows; a column is typed
    only when every head cell converts:

    - the probability column as float64 (unless --na-values names markers, which
      must be matched as text);
    - the outcome column as int64 when its head cells are 0, 1 or blank;
    - the series id column(s) and the time column dictionary-encoded: the same text,
      read as codes into the distinct cells (pandas categoricals, whose cells messages
      quote as written; ``parse.factorize_cells`` reads the codes instead of hashing
      10⁷ cells, and the reader hashes them on its threads)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from forecheck.io.infer import infer_columns

    head_text = _head_bytes(text_bytes, HEAD_ROWS)
    head = _arrow_text(head_text, delim) if head_text is not None else None
    if head is None or len(head) == 0:
        return None
    raw_names = list(head.columns)
    try:
        head = _checked_names(head, path)
        cm = infer_columns(head, options, path)
    except InputError:  # the full read decides and explains
        return None
    if cm.layout != "long":
        return None
    name = dict(zip(head.columns, raw_names))
    types = {}

    def converts(col: str, typ) -> bool:
        cells = pa.array(head[col].to_numpy(dtype=object), type=pa.large_string())
        try:
            pc.cast(cells, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    if cm.p is not None and not options.na_values and converts(cm.p, pa.float64()):
        types[name[cm.p]] = pa.float64()
    if cm.outcome is not None and head[cm.outcome].str.strip().isin(["0", "1", ""]).all():
        types[name[cm.outcome]] = pa.int64()
    for col in [*cm.series, *([cm.time] if cm.time is not None and not cm.time_keys else [])]:
        types[name[col]] = pa.dictionary(pa.int32(), pa.large_string())
    return (types, cm) if types else None


def _clean_typed(frame: pd.DataFrame, cm) -> bool:
    """The typed columns hold what their text would parse to, with nothing for a
    message to quote: the probabilities are finite numbers (no blank cell), the
    outcomes 0, 1 or blank."""
    import numpy as np

    if cm.p is not None and pd.api.types.is_float_dtype(frame[cm.p].dtype):
        if not np.isfinite(frame[cm.p].to_numpy()).all():
            return False
    if cm.outcome is not None and pd.api.types.is_integer_dtype(frame[cm.outcome].dtype):
        # no blank cell (pyarrow gives an int64 column only then): 0 or 1 is the unsigned
        # value at most 1, one pass over the integers instead of a float copy and three masks
        o = frame[cm.outcome].to_numpy().astype(np.int64, copy=False)
        if not (o.view(np.uint64) <= 1).all():
            return False
    elif cm.outcome is not None and pd.api.types.is_numeric_dtype(frame[cm.outcome].dtype):
        o = frame[cm.outcome].to_numpy(dtype=float)
        if not ((o == 0) | (o == 1) | np.isnan(o)).all():
            return False
    return True


def _parse_text_typed(text_bytes: bytes, delim: str, path: str, options: ReadOptions) -> pd.DataFrame:
    """:func:`_parse_text`, with the probability (and 0/1 outcome) column converted by
    pyarrow's reader on its threads when the file allows: same values (the one
    string-to-number conversion of pyarrow, which :func:`forecheck.io.parse.float_cells`
    uses too), no text column of 10^7 cells to convert afterwards. Any cell the typed
    read would change or could not quote as written (a blank, a marker, text, a
    non-finite number) sends the file to the text read, which decides and explains."""
    plan = _typed_plan(text_bytes, delim, path, options)
    if plan is not None:
        types, cm = plan
        frame = _arrow_text(text_bytes, delim, types)
        if frame is not None:
            frame = _checked_names(frame, path)
            from forecheck.io.infer import infer_columns

            try:
                same = infer_columns(frame, options, path) == cm
            except InputError:
                same = False
            if same and _clean_typed(frame, cm):
                return frame
            del frame
    return _parse_text(text_bytes, delim, path)


def _checked_names(frame: pd.DataFrame, path: str) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    dup = pd.Index(frame.columns)[pd.Index(frame.columns).duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate column names: {', '.join(dup)}. Rename them.")
    return frame


# Arrow's conversion of a Parquet table to pandas: the table freed column by column as it is
# converted. Not ``split_blocks``: one pandas block per column made converting the numeric
# columns of 10^7 rows in ten row groups the slowest part of the read (``python
# benchmarks/speed.py sp_10m.parquet``, read + validate, two alternating pairs: 1.83 -> 0.79 s
# wall and 9.23 -> 1.01 s under outside load; benchmarks/README.md, hot spot 33)
PARQUET_TO_PANDAS = {"self_destruct": True}


def unreadable_parquet(path: str, exc: Exception) -> InputError:
    """The error for a file pyarrow cannot read as Parquet (both engines)."""
    return InputError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0][:200]}).")


def _read_parquet(data: bytes, path: str, limits: ReadOptions) -> RawTable:
    try:
        import pyarrow.parquet as pq

        md = pq.ParquetFile(io.BytesIO(data)).metadata
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise unreadable_parquet(path, exc) from None
    check_columns(md.num_columns, path, limits.max_columns)
    check_rows(md.num_rows, path, limits.max_rows)
    size = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    if limits.max_bytes and size > limits.max_bytes:
        raise limit_error(path, f"Parquet data inflates to {size:,} bytes, more than {limits.max_bytes:,}",
                          "--max-bytes")
    try:
        frame = _parquet_frame(data, path, limits)
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise unreadable_parquet(path, exc) from None
    if frame.shape[0] == 0:
        raise InputError(f"{path}: the Parquet file has no rows.")
    return RawTable(frame=frame, path=path, format="parquet", first_line=1)


def _parquet_frame(data: bytes, path: str, options: ReadOptions) -> pd.DataFrame:
    """The frame of a Parquet file: ``pd.read_parquet``'s, with text columns decoded
    straight into the ``large_string`` that pandas' string columns hold (pandas
    converts ``string`` to it afterwards: 0.5 s for 10⁷ series ids), and the series
    id column(s) kept dictionary-encoded as the file stores them
    (:func:`_dictionary_plan`). Any other outcome: pandas' own read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kw = dict(PARQUET_TO_PANDAS)  # (a copy: the options are handed on to pandas)
    pf = pq.ParquetFile(io.BytesIO(data))
    schema = pf.schema_arrow
    wide = pa.schema([f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f for f in schema],
                     metadata=schema.metadata)
    try:
        plan = _dictionary_plan(pf, wide, path, options)
        if plan is not None:
            frame = _parquet_dictionary_frame(data, wide, plan, path, options)
            if frame is not None:
                return frame
        if any(pa.types.is_string(f.type) for f in schema):
            return _normalised(pq.read_table(io.BytesIO(data), schema=wide).to_pandas(**kw))
    except MemoryError:
        raise
    except (pa.ArrowException, ValueError, TypeError):
        pass
    return _normalised(pd.read_parquet(io.BytesIO(data), to_pandas_kwargs=kw))


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """A stored index as columns (a default one dropped), every column name a string."""
    frame = frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex))
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _dictionary_plan(pf, wide, path: str, options: ReadOptions):
    """(series id columns to read dictionary-encoded, column map of the head), or None.

    The series ids are the longest text column of a panel and hold few distinct
    values (one per series): read as Arrow dictionaries (what Parquet writers store
    by default), the ids are never decoded into 10⁷ strings, and
    :func:`forecheck.io.parse.factorize_cells` reads the codes instead of hashing
    the cells (10⁷ rows: read + factorise 1.1–1.4 s → 0.7 s wall). The column map
    comes from the same inference the validator runs, on the head rows it samples,
    read as plain text; only text columns of the file are planned."""
    import pyarrow as pa

    from forecheck.io.infer import infer_columns

    if pf.metadata.num_rows == 0:
        return None
    stored_index = (wide.pandas_metadata or {}).get("index_columns", [])
    if any(not isinstance(c, dict) for c in stored_index):  # an index stored as columns: the plain read
        return None
    batch = next(pf.iter_batches(batch_size=HEAD_ROWS), None)
    if batch is None:
        return None
    head = _normalised(pa.Table.from_batches([batch]).cast(wide).to_pandas())
    try:
        cm = infer_columns(head, options, path)
    except InputError:  # the full read decides and explains
        return None
    text = {f.name for f in wide if pa.types.is_large_string(f.type)}
    if cm.layout != "long" or not cm.series or not all(c in text for c in cm.series):
        return None
    return list(cm.series), cm


def _parquet_dictionary_frame(data: bytes, wide, plan, path: str, options: ReadOptions) -> pd.DataFrame | None:
    """The frame with the planned series columns as pandas categoricals of the file's
    dictionaries, or None when the full frame would not map its columns as the head
    did (the plain read decides then) or a dictionary is not a set of distinct values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forecheck.io.infer import infer_columns

    cols, cm = plan
    # (a schema argument would decode the dictionaries and encode them again: 4x slower)
    table = pq.read_table(io.BytesIO(data), read_dictionary=cols)
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type):  # the other text columns as large_string (as the plain read)
            table = table.set_column(i, field.name, table.column(i).cast(pa.large_string()))
    frame = _with_categoricals(table, cols, **PARQUET_TO_PANDAS)
    del table
    if frame is None:
        return None
    frame = _normalised(frame)
    try:
        same = infer_columns(frame, options, path) == cm
    except InputError:
        same = False
    return frame if same else None


def _with_categoricals(table, names: list[str], **kw) -> pd.DataFrame | None:
    """``table.to_pandas(**kw)`` with the dictionary-encoded columns ``names`` as
    pandas categoricals (:func:`_categorical_of`), in the table's column order; None
    when one of them is not dictionary-encoded or its dictionary is not a set of
    distinct values."""
    order = table.column_names
    cats = {}
    for name in names:
        cat = _categorical_of(table.column(name))
        if cat is None:
            return None
        cats[name] = cat
        table = table.drop_columns([name])
    frame = table.to_pandas(**kw)
    del table
    for name, cat in cats.items():
        frame[name] = cat
    return frame[order]


def _categorical_of(ca):
    """A dictionary-encoded Arrow column as a pandas categorical of its dictionary
    (the chunks' dictionaries unified: a reader gives each block or row group its own),
    missing cells as code −1, the codes copied chunk by chunk into one array; the
    categories hold what the plain read's text column holds (``large_string``).
    pyarrow's own conversion takes 0.4 s for 10⁷ cells, this 0.1 s. None when ``ca``
    is not dictionary-encoded or its dictionary is not a set of distinct values."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(ca.type):
        return None
    ca = ca.unify_dictionaries()
    dictionary = ca.chunk(0).dictionary if ca.num_chunks else pa.array([], ca.type.value_type)
    if dictionary.null_count or len(pc.unique(dictionary)) != len(dictionary):
        return None
    codes = np.empty(len(ca), dtype=np.int32)
    pos = 0
    for c in ca.chunks:
        ix = pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False)
        codes[pos:pos + len(ix)] = ix
        pos += len(ix)
    name = "cells"
    categories = pd.Index(pa.table({name: dictionary.cast(pa.large_string())}).to_pandas()[name])
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))

"""Reading files into a raw table of strings.

Every input (CSV, TSV, gzip-compressed text, Parquet, stdin) ends up as a
``RawTable``: a DataFrame plus what was detected about the file (format,
encoding, delimiter). Text files are read with every column as a string
(``keep_default_na=False``) so that nothing is silently turned into NaN
(PredictIt's literal ``n/a`` contract symbol, say) and so that parsing errors can
name the offending rows and values; the columns that matter are parsed later.

Speed: pandas' ``engine="pyarrow"`` reads the 20 MB 538 House file in about
0.25 s; the C engine is the fallback when pyarrow cannot parse the text (ragged
rows, say). UTF-16 input is transcoded to UTF-8 in memory first, so it also
goes through pyarrow.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import sys
from dataclasses import dataclass

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


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a file. Pass a CSV, TSV or Parquet file "
                         f"({SUPPORTED}).")
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file. Check the path (supported: {SUPPORTED}).")
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


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
    try:
        return _read_table(path, input_format, name)
    except InputError as exc:
        if exc.code is None:
            exc.code = "DQ058"
        raise


def _read_table(path: str, input_format: str, name: str | None = None) -> RawTable:
    data = _read_bytes(path)
    path = name or path  # from here on: the name shown to the user
    suffix, gz_suffix = _suffix(path)
    compressed = False
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: gzip data is corrupt ({exc}).") from None
        compressed = True
    elif gz_suffix:
        raise InputError(f"{path}: named .gz but is not gzip-compressed.")
    if input_format == "parquet" or (input_format == "auto" and (data.startswith(PARQUET_MAGIC)
                                                                  or suffix in (".parquet", ".pq"))):
        return _read_parquet(data, path)
    if data.startswith(ZIP_MAGIC):
        raise InputError(f"{path}: is a ZIP archive. Unzip it and pass the CSV inside.")
    if not data.strip():
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
    frame = _parse_text(text_bytes, delim, path)
    if frame.shape[0] == 0:
        raise InputError(f"{path}: has a header ({', '.join(map(str, frame.columns[:8]))}) but no data rows.")
    if frame.shape[1] < 2:
        raise InputError(f"{path}: only one column ({frame.columns[0]!r}) was found; a forecast table needs "
                         f"at least a time or series column and a probability column.")
    return RawTable(frame=frame, path=path, format=fmt, encoding=encoding, delimiter=delim,
                    compressed=compressed, first_line=2)


def _parse_text(text_bytes: bytes, delim: str, path: str) -> pd.DataFrame:
    kw = dict(sep=delim, dtype=str, keep_default_na=False, na_filter=False)
    try:
        frame = pd.read_csv(io.BytesIO(text_bytes), engine="pyarrow", dtype=str, sep=delim,
                            keep_default_na=False)
    except Exception:  # pyarrow is strict (ragged rows, odd quoting): fall back to the C engine
        try:
            frame = pd.read_csv(io.BytesIO(text_bytes), engine="c", **kw)
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: the file is empty.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            msg = str(exc).strip().splitlines()[0][:200]
            raise InputError(f"{path}: cannot be parsed as a "
                             f"{DELIMITER_NAMES[delim]}-separated table: {msg}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    dup = pd.Index(frame.columns)[pd.Index(frame.columns).duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate column names: {', '.join(dup)}. Rename them.")
    return frame


def _read_parquet(data: bytes, path: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0][:200]}).") from None
    frame = frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex))
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise InputError(f"{path}: the Parquet file has no rows.")
    return RawTable(frame=frame, path=path, format="parquet", first_line=1)

"""``--format json``: the schema_version 2 document, written plainly.

The text is exactly ``json.dumps(report.to_dict(), indent=2, allow_nan=False,
ensure_ascii=False)``, but the per-series records (one per series: 100,000 at 10⁷
rows) are written column by column from the series table's arrays instead of as
100,000 dicts through ``_clean`` and the pure-Python indented encoder (5 s and a
few hundred MB at that size). Each column's texts are made as one Arrow string
array (numbers formatted by Arrow's cast, patched to ``repr``'s form, see
:func:`_float_texts`) and the records joined element-wise by Arrow, so that no
Python string is made per value. tests/test_scale_paths.py and
tests/test_json_columns.py compare both on several panels.
"""

from __future__ import annotations

import functools
import json
import uuid
from json.encoder import encode_basestring
from typing import Any

import numpy as np

from forecheck.report.model import Report
from forecheck.results import _clean
from forecheck.arrow import arrow_cells

_ITEM = "\n    "  # a record of the top-level "series" list (indent 2, depth 2)
_FIELD = "\n      "  # a field of such a record (depth 3)
# what the encoder escapes in a string (ensure_ascii=False): json.encoder.ESCAPE
_ESCAPED = r'[\x00-\x1f\\"]'


#: series records formatted at once: the Arrow texts of one block of rows live at a time
SERIES_BLOCK = 50_000


def render_json(report: Report) -> str:
    return "".join(render_json_chunks(report))


def render_json_chunks(report: Report) -> list[str]:
    """The document of :func:`render_json` as consecutive pieces (their concatenation
    is its text), for a writer that writes them one after another: at 10⁶ series the
    series list is 0.6 GB of text, which one string would hold two or three times over
    (the records, the document, the written copy)."""
    # allow_nan=False: NaN/inf are already mapped to null by Report.to_dict(); a
    # stray one must fail loudly here rather than emit invalid JSON.
    series = _series_chunks(report.series)
    if series is None:  # a column this writer does not format: the generic path
        return [json.dumps(report.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)]
    marker = f"forecheck-series-{uuid.uuid4().hex}"
    text = json.dumps(report.to_dict(series_placeholder=marker), indent=2, allow_nan=False, ensure_ascii=False)
    head, tail = text.split(f'"series": "{marker}"')
    return [head + '"series": ', *series, tail]


def _scalar(v: Any) -> str | None:
    """The encoder's text of one cleaned scalar (None: not a scalar)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return encode_basestring(v)
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return float.__repr__(v)
    return None


def _float_texts_repr(x: np.ndarray) -> list[str]:
    """``float.__repr__`` of each value (float64), "null" for NaN and infinities:
    the encoder's text of the cleaned values, one Python call per value."""
    out = list(map(float.__repr__, x.tolist()))
    for i in np.flatnonzero(~np.isfinite(x)).tolist():
        out[i] = "null"
    return out


def _float_texts(x: np.ndarray):
    """:func:`_float_texts_repr` of float64 ``x`` as an Arrow string array, made by
    Arrow's cast (5x faster than ``repr`` value by value).

    The cast writes the same shortest round-trip digits as ``repr``, in another
    layout: no ".0" on whole numbers ("1" for 1.0), exponents unpadded ("1e-7"),
    and its own switch between positional and scientific notation. ``repr`` writes
    a nonzero value in scientific notation exactly when ``|x| < 1e-4`` or
    ``|x| >= 1e16`` (its digits round back to ``x``, so they compare with those
    bounds as ``x`` does). So: where both write the same notation the layout is
    patched (".0" added, the exponent padded to two digits); the values where they
    differ (1e-5 is "0.00001" to Arrow, 1e15 is "1e+15") and NaN/inf are written
    by ``repr``/"null" one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    txt = pc.cast(pa.array(x, type=pa.float64()), pa.large_string())
    finite = np.isfinite(x)
    ax = np.abs(x)
    with np.errstate(invalid="ignore"):
        sci = (x != 0) & ((ax < 1e-4) | (ax >= 1e16))
    arrow_sci = pc.match_substring(txt, "e").to_numpy(zero_copy_only=False)
    positional = finite & ~sci & ~arrow_sci
    if positional.any():
        whole = positional & ~pc.match_substring(txt, ".").to_numpy(zero_copy_only=False)
        if whole.any():
            txt = pc.if_else(pa.array(whole), pc.binary_join_element_wise(txt, pa.scalar(".0", pa.large_string()),
                                                                          pa.scalar("", pa.large_string())), txt)
    scientific = finite & sci & arrow_sci
    if scientific.any():
        txt = pc.replace_substring_regex(txt, r"e([+-])(\d)$", r"e\10\2")
    other = ~(positional | scientific)
    if other.any():
        txt = pc.replace_with_mask(txt, pa.array(other), pa.array(_float_texts_repr(x[other]), pa.large_string()))
    return txt


@functools.cache
def _arrow_floats_ok() -> bool:
    """Whether :func:`_float_texts` agrees with ``repr`` on this pyarrow: a probe
    of the layouts it patches (each side of both notation bounds, whole numbers,
    short and long exponents, subnormals, signed zeros); checked once per process,
    and the value-by-value way is taken should a pyarrow format floats otherwise."""
    rng = np.random.default_rng(0)
    probe = np.concatenate([
        [0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, 9.999999999999999e-05, 1e-5, 1e-7, 1.5e-7, 1e-10, 1e15, 1e16,
         9999999999999998.0, 2.0**53, 1e21, 1e22, 1e100, 5e-324, 2.2250738585072014e-308,
         1.7976931348623157e308, np.nan, np.inf, -np.inf, 0.1, 1 / 3, 100.0, 123456789.0, 1.2345e-05],
        10.0 ** np.arange(-30, 30), 10.0 ** np.arange(-30, 30) * 1.5, -rng.random(200), rng.random(200) ** 16,
        np.round(rng.normal(size=200) * 1e6), rng.normal(size=200) * 1e17,
        rng.integers(0, 2**64, size=500, dtype=np.uint64).view(np.float64)])
    try:
        return _float_texts(probe).to_pylist() == _float_texts_repr(probe)
    except Exception:  # pragma: no cover - a pyarrow without one of the functions used
        return False


def _column_arrow(col: Any):
    """Each value of one series-table column (a pandas Series) as ``Report.to_dict()``
    then the encoder write it, as an Arrow large_string array (None when a value is
    not a scalar).

    ``DataFrame.to_dict(orient="records")`` takes each column's values by iterating
    it (Python scalars for numpy columns) and boxes object and extension columns with
    ``maybe_box_native``; numpy float, integer and bool columns are formatted here from
    the array directly, Arrow-backed text without missing cells as it is, the others
    value by value as the records would hold them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pandas.api.extensions import ExtensionDtype

    dtype = col.dtype
    if not isinstance(dtype, ExtensionDtype) and dtype.kind in "fiub":
        arr = col.to_numpy()
        if dtype.kind == "f":
            x = arr.astype(np.float64, copy=False)
            if _arrow_floats_ok():
                return _float_texts(x)
            return pa.array(_float_texts_repr(x), pa.large_string())
        if dtype.kind == "b":
            return pc.if_else(pa.array(arr, pa.bool_()), pa.scalar("true", pa.large_string()),
                              pa.scalar("false", pa.large_string()))
        return pc.cast(pa.array(arr), pa.large_string())  # integers: their decimal digits, as int.__repr__
    cells = arrow_cells(col)
    if cells is not None and cells.null_count == 0:
        cells = pc.cast(cells, pa.large_string()).combine_chunks()
        if not pc.any(pc.match_substring_regex(cells, _ESCAPED)).as_py():  # nothing to escape: "..." as it is
            quote = pa.scalar('"', pa.large_string())
            return pc.binary_join_element_wise(quote, cells, quote, pa.scalar("", pa.large_string()))
    from pandas.core.dtypes.cast import maybe_box_native

    items = list(map(maybe_box_native, col))
    try:  # all strings (ids, times): _clean keeps a str as it is
        return pa.array(list(map(encode_basestring, items)), pa.large_string())
    except TypeError:
        pass
    out = []
    for v in items:
        t = _scalar(_clean(v))
        if t is None:
            return None
        out.append(t)
    return pa.array(out, pa.large_string())


def _series_chunks(df: Any) -> list[str] | None:
    """The ``"series"`` list of the JSON document as the indented encoder writes it, in
    pieces of ``SERIES_BLOCK`` records (None: a column this writer does not format)."""
    block = SERIES_BLOCK
    if len(df) == 0:
        return ["[]"]
    if len(df.columns) == 0 or not df.columns.is_unique:
        return None
    out = []
    for r0 in range(0, len(df), block):
        body = _records_text(df.iloc[r0:r0 + block])
        if body is None:
            return None
        # each record starts with the list's separator ("," then a new line): the
        # first record's comma is cut off
        out.append("[" + body[1:] if r0 == 0 else body)
    out.append("\n  ]")
    return out


def _records_text(df: Any) -> str | None:
    """The records of the rows of ``df``, each with its leading separator, end to end."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = []
    for j, name in enumerate(df.columns):
        text = _column_arrow(df.iloc[:, j])
        if text is None:
            return None
        # every record starts with the list's separator, every field with its name
        prefix = ("," + _ITEM + "{" if j == 0 else ",") + _FIELD + encode_basestring(str(name)) + ": "
        pieces += [pa.scalar(prefix, pa.large_string()), text]
    pieces.append(pa.scalar(_ITEM + "}", pa.large_string()))
    records = pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))
    if isinstance(records, pa.ChunkedArray):
        records = records.combine_chunks()
    if records.null_count:  # pragma: no cover - every piece is text
        raise AssertionError("a series record is missing")
    # the records end to end are the data buffer between the first and last offsets
    offsets = np.frombuffer(records.buffers()[1], dtype=np.int64)[records.offset:records.offset + len(records) + 1]
    return str(memoryview(records.buffers()[2])[int(offsets[0]):int(offsets[-1])], "utf-8")

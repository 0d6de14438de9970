"""``--format json``: the schema_version 2 document, written plainly.

The text is exactly ``json.dumps(report.to_dict(), indent=2, allow_nan=False,
ensure_ascii=False)``, but the per-series records (one per series: 100,000 at 10⁷
rows) are written column by column from the series table's arrays — each column's
values formatted once, as the encoder would — instead of as 100,000 dicts through
``_clean`` and the pure-Python indented encoder (5 s and a few hundred MB at that
size). tests/test_report.py compares both on several panels.
"""

from __future__ import annotations

import json
import uuid
from json.encoder import encode_basestring
from typing import Any

import numpy as np

from forecheck.report.model import Report
from forecheck.results import _clean

_ITEM = "\n    "  # a record of the top-level "series" list (indent 2, depth 2)
_FIELD = "\n      "  # a field of such a record (depth 3)


def render_json(report: Report) -> str:
    # allow_nan=False: NaN/inf are already mapped to null by Report.to_dict(); a
    # stray one must fail loudly here rather than emit invalid JSON.
    series = _series_text(report.series)
    if series is None:  # a column this writer does not format: the generic path
        return json.dumps(report.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
    marker = f"forecheck-series-{uuid.uuid4().hex}"
    text = json.dumps(report.to_dict(series_placeholder=marker), indent=2, allow_nan=False, ensure_ascii=False)
    head, tail = text.split(f'"series": "{marker}"')
    return "".join((head, '"series": ', series, tail))


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


def _column_text(col: Any) -> list[str] | None:
    """Each value of one series-table column (a pandas Series) as ``Report.to_dict()``
    then the encoder write it (None when a value is not a scalar).

    ``DataFrame.to_dict(orient="records")`` takes each column's values by iterating
    it (Python scalars for numpy columns) and boxes object and extension columns with
    ``maybe_box_native``; numpy float, integer and bool columns are formatted here from
    the array directly, the others value by value as the records would hold them."""
    from pandas.api.extensions import ExtensionDtype

    dtype = col.dtype
    if not isinstance(dtype, ExtensionDtype) and dtype.kind in "fiub":
        arr = col.to_numpy()
        if dtype.kind == "f":
            out = list(map(float.__repr__, arr.astype(float).tolist()))
            for i in np.flatnonzero(~np.isfinite(arr)).tolist():
                out[i] = "null"
            return out
        if dtype.kind == "b":
            return ["true" if x else "false" for x in arr.tolist()]
        return list(map(int.__repr__, arr.tolist()))
    from pandas.core.dtypes.cast import maybe_box_native

    items = list(map(maybe_box_native, col))
    try:  # all strings (ids, times): _clean keeps a str as it is
        return list(map(encode_basestring, items))
    except TypeError:
        pass
    out = []
    for v in items:
        t = _scalar(_clean(v))
        if t is None:
            return None
        out.append(t)
    return out


def _series_text(df: Any) -> str | None:
    """The ``"series"`` list of the JSON document as the indented encoder writes it."""
    if len(df) == 0:
        return "[]"
    if len(df.columns) == 0 or not df.columns.is_unique:
        return None
    columns = []
    names = list(df.columns)
    for j, name in enumerate(names):
        text = _column_text(df.iloc[:, j])
        if text is None:
            return None
        # each field carries its separators: "{" before the first, "," after all but
        # the last, the record's closing brace after the last
        prefix = ("{" if j == 0 else "") + _FIELD + encode_basestring(str(name)) + ": "
        suffix = _ITEM + "}" if j == len(names) - 1 else ","
        columns.append([prefix + t + suffix for t in text])
    return "[" + _ITEM + ("," + _ITEM).join(map("".join, zip(*columns))) + "\n  ]"

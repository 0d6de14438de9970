"""Arrow-backed pandas columns, shared by the readers (``io``) and the JSON writer
(``report``): neither layer may import the other, so the one helper both need lives
here and imports nothing of forecheck."""

from __future__ import annotations

from typing import Any


def arrow_cells(values: Any):
    """The Arrow ``ChunkedArray`` behind an Arrow-backed text column (what the
    readers produce), or None for any other column (no copy either way)."""
    import pandas as pd

    dt = values.dtype
    if not isinstance(dt, pd.StringDtype) or dt.storage != "pyarrow":
        return None
    try:
        import pyarrow as pa

        ca = values.array.__arrow_array__()
        return ca if isinstance(ca, pa.ChunkedArray) else pa.chunked_array([ca])
    except (AttributeError, TypeError):  # pragma: no cover - an Arrow-backed array without the protocol
        return None

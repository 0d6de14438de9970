"""What reading produces: the panel, the description of how the input was
understood (:class:`InputInfo`, the JSON ``input`` block) and the data-quality
findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forecheck.panel import Panel
from forecheck.results import CheckResult

# The keys of the JSON ``input`` block, in the order they are written.
INFO_KEYS = ("paths", "format", "encoding", "delimiter", "layout", "columns", "scale", "scale_note", "rows_read",
             "rows_used", "rows_dropped", "series", "resolved_series", "short_series", "time_kind", "time_unit",
             "time_range", "notes")


@dataclass(frozen=True)
class InputInfo:
    """How the input was read and understood.

    Invariant: ``rows_read == rows_used + sum(rows_dropped.values())`` (rows are
    cells in the wide layout). ``to_dict()`` is the JSON ``input`` block."""

    paths: tuple[str, ...]
    format: str | None  # csv | tsv | parquet | dataframe | panel (comma-joined when files differ)
    encoding: str | None
    delimiter: str | None
    layout: str  # long | wide
    columns: dict[str, Any]  # role -> column name(s): series, time, p, outcome, published, ...
    scale: str  # unit | percent
    scale_note: str  # how the scale was decided
    rows_read: int
    rows_used: int
    rows_dropped: dict[str, int]  # reason -> rows, in the order the reasons arose
    series: int
    resolved_series: int
    short_series: int  # series shorter than min_length
    time_kind: str  # date | datetime | epoch | index
    time_unit: str  # day | second | step
    time_range: tuple[str, str]  # first and last time, formatted
    notes: tuple[str, ...]  # how each choice was made

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``input`` block (schema v1): same keys, values and order as ever."""
        return {
            "paths": list(self.paths),
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "layout": self.layout,
            "columns": dict(self.columns),
            "scale": self.scale,
            "scale_note": self.scale_note,
            "rows_read": int(self.rows_read),
            "rows_used": int(self.rows_used),
            "rows_dropped": dict(self.rows_dropped),
            "series": int(self.series),
            "resolved_series": int(self.resolved_series),
            "short_series": int(self.short_series),
            "time_kind": self.time_kind,
            "time_unit": self.time_unit,
            "time_range": list(self.time_range),
            "notes": list(self.notes),
        }

    def __getitem__(self, key: str) -> Any:
        """Transitional: ``info["rows_read"]`` as when ``info`` was a dict."""
        if key not in INFO_KEYS:
            raise KeyError(key)
        return self.to_dict()[key]


@dataclass(frozen=True)
class LoadedInput:
    panel: Panel
    info: InputInfo
    findings: list[CheckResult] = field(default_factory=list)  # DQ0xx records

"""Options that say how to read input files (the CLI's reading flags)."""

from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Literal

import numpy as np

Layout = Literal["auto", "long", "wide"]

# Default reading limits: far above any forecast file seen (the 538 House file has
# 0.3 M rows, 20 MB) and below what a 2-core, 8-16 GB machine can hold as a table
# of strings; a gzip bomb or a runaway export stops early with a clear message.
MAX_ROWS = 200_000_000
MAX_BYTES = 20_000_000_000  # 20 GB uncompressed
MAX_COLUMNS = 200_000  # a wide file of 100,000 series (+ time) reads in seconds
Scale = Literal["auto", "unit", "percent"]


@dataclass(frozen=True)
class ReadOptions:
    layout: Layout = "auto"
    series_cols: tuple[str, ...] = ()  # several columns are joined into one id
    time_col: str | None = None
    prob_col: str | None = None
    outcome_col: str | None = None
    published_col: str | None = None
    resolved_at_col: str | None = None
    cluster_col: str | None = None
    group_col: str | None = None  # --group-by: per-group verdicts side by side (model version, forecaster, ...)
    question_col: str | None = None  # mutually exclusive outcomes of one question
    underlying_col: str | None = None
    outcomes_file: str | None = None  # table series -> outcome [, resolved_at]
    na_values: tuple[str, ...] = ()
    scale: Scale = "auto"
    input_format: Literal["auto", "csv", "tsv", "parquet"] = "auto"
    # Drop rows published more than one day after their model date (DQ007 back-casts).
    drop_backcast: bool = False
    # How time columns are read (``(column, io.parse.TimeReading)`` pairs: the time column or
    # each of its ordering columns, the resolution-time and publication columns), decided over
    # the whole input by a caller that validates it in parts (the Dask engine: a part alone may
    # read its numbers or dates otherwise); a column not listed: decided from the rows read.
    time_readings: tuple = ()
    stdin_name: str | None = None  # what to call "-" in messages (--stdin-filename)
    # Reading limits (0 = no limit); exceeding one stops with an InputError (exit 2,
    # DQ058) before the data is parsed where possible. See docs/input.md.
    max_rows: int = MAX_ROWS  # data rows (wide layout: cells) of all inputs together
    max_bytes: int = MAX_BYTES  # bytes of one input after decompression
    max_columns: int = MAX_COLUMNS  # columns of one input

    def __post_init__(self) -> None:
        for name, flag in (("max_rows", "--max-rows"), ("max_bytes", "--max-bytes"),
                           ("max_columns", "--max-columns")):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{flag} must be a whole number >= 0 (0 = no limit), got {v!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["series_cols"] = list(self.series_cols)
        d["na_values"] = list(self.na_values)
        return d

"""Options that say how to read input files (the CLI's reading flags)."""

from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Literal

Layout = Literal["auto", "long", "wide"]
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
    question_col: str | None = None  # mutually exclusive outcomes of one question
    underlying_col: str | None = None
    outcomes_file: str | None = None  # table series -> outcome [, resolved_at]
    na_values: tuple[str, ...] = ()
    scale: Scale = "auto"
    input_format: Literal["auto", "csv", "tsv", "parquet"] = "auto"
    min_length: int = 3  # series shorter than this are kept for calibration only
    # Drop rows published more than one day after their model date (DQ007 back-casts).
    drop_backcast: bool = False
    stdin_name: str | None = None  # what to call "-" in messages (--stdin-filename)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["series_cols"] = list(self.series_cols)
        d["na_values"] = list(self.na_values)
        return d

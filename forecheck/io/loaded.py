"""What reading produces: the panel, the description of how the input was
understood (the JSON ``input`` block) and the data-quality findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forecheck.panel import Panel
from forecheck.results import CheckResult


@dataclass(frozen=True)
class LoadedInput:
    panel: Panel
    # JSON ``input`` block: paths, layout, columns {series, time, p, outcome, ...},
    # scale, rows_read, rows_used, rows_dropped {reason: count}, series,
    # resolved_series, time_kind, time_range [first, last], notes [str].
    # Invariant: rows_read == rows_used + sum(rows_dropped.values()).
    info: dict[str, Any]
    findings: list[CheckResult] = field(default_factory=list)  # DQ0xx records

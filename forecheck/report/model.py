"""The report: what was read, every check's record, and the per-series table.

``Report.to_dict()`` *is* the JSON contract (schema_version 2, docs/json-schema.md):
later versions add fields, never rename or remove them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecheck import __version__
from forecheck.config import AnalysisConfig
from forecheck.panel import NO_CLUSTER, Panel
from forecheck.report import prose
from forecheck.results import CheckResult, ExitCode, _clean
from forecheck.stats.budget import Budget

SCHEMA_VERSION = 2


def series_table(panel: Panel, b: Budget, extra_columns: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per series: length, time range, first/last belief, outcome and the
    variance-budget accounting ``b`` (A-R 2021, computed once by the checks), plus
    columns contributed by checks."""
    df = pd.DataFrame({
        "id": panel.ids.astype(str),
        "n": panel.lengths,
        "first_time": panel.format_time(panel.time[panel.first_row]) if panel.n_series else [],
        "last_time": panel.format_time(panel.time[panel.last_row]) if panel.n_series else [],
        "p0": panel.p0,
        "p_last": panel.p_last,
        "outcome": panel.outcome,
        "movement": b.movement,
        "movement_inflight": b.movement_inflight,
        "movement_resolution": b.movement_resolution,
        "uncertainty_reduction": b.uncertainty_reduction,
        "excess": b.excess,
        "ratio": b.ratio,
    })
    if panel.n_series == 1:
        # format_time returns a bare string for a single value
        df["first_time"] = [panel.format_time(panel.time[panel.first_row][0])]
        df["last_time"] = [panel.format_time(panel.time[panel.last_row][0])]
    if panel.cluster is not None:  # (a series without a label: none, NO_CLUSTER in the panel)
        cl = panel.cluster.astype(str)
        df["cluster"] = np.where(cl == NO_CLUSTER, None, cl).astype(object)
    for name, values in (extra_columns or {}).items():
        df[name] = values
    return df


@dataclass(frozen=True)
class Report:
    """Result of :func:`forecheck.analyze`; the CLI renders it."""

    input: dict[str, Any]
    config: AnalysisConfig
    results: tuple[CheckResult, ...]
    series: pd.DataFrame
    panel: Panel | None = field(default=None, repr=False, compare=False)
    # --baseline comparison (forecheck.report.baseline.Comparison); joins the gate.
    baseline: Any = field(default=None, repr=False, compare=False)
    # per-series overrides applied ([[tool.forecheck.overrides]]): codes and the series excluded
    overrides: tuple[dict[str, Any], ...] = field(default=(), repr=False, compare=False)
    # --group-by: (group, its own Report) and the pairwise comparisons (details.GroupComparison)
    groups: tuple[tuple[str, "Report"], ...] = field(default=(), repr=False, compare=False)
    group_comparisons: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    # what the checks measured for the HTML figures but the JSON does not carry
    # (CheckContext.figure_data, e.g. "jumps": WN305's flagged increments)
    figures: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------- verdict
    def gating_failures(self) -> list[CheckResult]:
        failed = set(self.decision().gating_failed)
        return [r for r in self.results if r.code in failed and r.status == "fail"]

    def decision(self):
        """The gate's verdict (forecheck.report.gate.decide): exit code, reasons, counts."""
        from forecheck.report.gate import Policy, decide

        return decide(self.results, Policy.from_config(self.config), baseline=self.baseline)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.decision().exit_code)

    def counts(self) -> dict[str, int]:
        """Checks (not DQ rules) by status; DQ rules: ``decision().dq_counts``."""
        return dict(self.decision().counts)

    def result(self, code: str) -> CheckResult | None:
        """The first record with this code (None if the check did not run)."""
        return next((r for r in self.results if r.code == code), None)

    def by_family(self, family: str) -> list[CheckResult]:
        return [r for r in self.results if r.family == family]

    # ------------------------------------------------------------ exports
    def to_dict(self, *, series_placeholder: str | None = None) -> dict[str, Any]:
        """The JSON document (schema_version 2). ``series_placeholder``: that string
        in place of the per-series records (the JSON writer formats them column-wise,
        ``report/json_format.py``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "forecheck", "version": __version__},
            "input": _clean(self.input),
            "config": self.config.to_dict(),
            "summary": self.decision().summary_dict(),
            "results": [r.to_dict() for r in self.results],
            "series": (series_placeholder if series_placeholder is not None
                       else [_clean(rec) for rec in self.series.to_dict(orient="records")]),
            **{k: _clean(v) for k, v in prose.extras(self.results).items()},
            **({"baseline": _clean(self.baseline.to_dict())} if self.baseline is not None else {}),
            **({"overrides": _clean(list(self.overrides))} if self.overrides else {}),
            **({"groups": [prose.group_summary(g, r) for g, r in self.groups],
                "group_comparisons": [c.to_dict() for c in self.group_comparisons]} if self.groups else {}),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per check record (the JSON ``results`` as a DataFrame)."""
        return pd.DataFrame([r.to_dict() for r in self.results])

    def summary(self) -> str:
        lines = [f"forecheck {__version__}: {self.input.get('series', '?')} series; {self.decision().sentence()}"]
        lines += [f"  {r.summary()}" for r in self.results]
        return "\n".join(lines)

    __str__ = summary

    def to_html(self) -> str:
        """The self-contained HTML report (== ``--html PATH``)."""
        from forecheck.report.html import render_html

        return render_html(self)

    def _repr_html_(self) -> str:
        return self.to_frame()[["code", "name", "status", "estimate", "pvalue", "pvalue_adjusted", "message"]].to_html()

"""Check registry and runner.

Each family module (``data_quality``, ``martingale``, ``calibration``, ``wiener``)
declares ``CHECKS: list[CheckSpec]``. A check is a pure function
``(ctx: CheckContext) -> CheckResult | list[CheckResult]``; it may raise
:class:`~forecheck.errors.InsufficientDataError`, which the runner turns into a
``skip`` record with the reason. ``ctx.cache`` lets checks of one run share work
(e.g. MG106's effective number of independent series widens MG101/MG103).

After all checks ran, the runner adjusts the p-values of the gating family once
(``config.p_adjust``) and sets each test-based record's status from the adjusted
p-value: fail iff ``pvalue_adjusted < alpha``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from forecheck.config import AnalysisConfig
from forecheck.errors import InsufficientDataError
from forecheck.panel import Panel
from forecheck.results import SEVERITY_RANK, CheckResult, SeverityName, skipped
from forecheck.stats.multitest import adjust_pvalues

FAMILY_MODULES = ("martingale", "calibration", "wiener")


@dataclass
class CheckContext:
    panel: Panel
    config: AnalysisConfig
    cache: dict[str, Any] = field(default_factory=dict)
    # Per-series columns a check contributes to the report's series table and the
    # JSON ``series`` records (name -> (S,) array), e.g. MG102's one-sided z.
    series_columns: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


@dataclass(frozen=True)
class CheckSpec:
    code: str
    name: str
    family: str
    severity: SeverityName
    run: Callable[[CheckContext], CheckResult | list[CheckResult]]
    summary: str = ""  # one line for `forecheck rules`


def all_specs() -> list[CheckSpec]:
    """Every registered check, in report order."""
    specs: list[CheckSpec] = []
    for mod in FAMILY_MODULES:
        try:
            module = importlib.import_module(f"forecheck.checks.{mod}")
        except ModuleNotFoundError as exc:  # a family not built yet
            if exc.name == f"forecheck.checks.{mod}":
                continue
            raise
        specs.extend(getattr(module, "CHECKS", []))
    return specs


def gating(result: CheckResult, config: AnalysisConfig) -> bool:
    """Does a failure of this record fail the run (exit code 1)?"""
    if config.fail_on == "never":
        return False
    return SEVERITY_RANK[result.severity] >= SEVERITY_RANK[config.fail_on]


def run_checks(panel: Panel, config: AnalysisConfig | None = None,
               specs: list[CheckSpec] | None = None) -> list[CheckResult]:
    """Run the selected checks and apply the multiple-testing adjustment."""
    return execute(panel, config, specs)[0]


def execute(panel: Panel, config: AnalysisConfig | None = None,
            specs: list[CheckSpec] | None = None,
            extra: list[CheckResult] | None = None) -> tuple[list[CheckResult], CheckContext]:
    """Run the selected checks; ``extra`` records (e.g. data-quality findings) join
    the results before the adjustment. Returns the final records and the context
    (with the per-series columns the checks contributed)."""
    config = config or AnalysisConfig()
    ctx = CheckContext(panel=panel, config=config)
    results: list[CheckResult] = [r for r in (extra or []) if config.is_selected(r.code)]
    for spec in specs if specs is not None else all_specs():
        if not config.is_selected(spec.code):
            continue
        try:
            out = spec.run(ctx)
        except InsufficientDataError as exc:
            out = skipped(spec.code, spec.name, spec.family, spec.severity, str(exc))
        results.extend(out if isinstance(out, list) else [out])
    return finalize(results, config), ctx


def finalize(results: list[CheckResult], config: AnalysisConfig) -> list[CheckResult]:
    """Adjust the gating family's p-values once and set test-based statuses.

    The family is every test-based, non-skipped record whose failure would gate
    (severity at or above ``fail_on``); other test-based records are reported with
    their raw p-value as the adjusted one.
    """
    idx = [i for i, r in enumerate(results)
           if r.test_based and r.status != "skip" and r.pvalue is not None and gating(r, config)]
    adjusted = adjust_pvalues(np.array([results[i].pvalue for i in idx], dtype=float), config.p_adjust)
    adj_of = dict(zip(idx, adjusted))
    out = []
    for i, r in enumerate(results):
        if r.test_based and r.status != "skip" and r.pvalue is not None:
            padj = float(adj_of.get(i, r.pvalue))
            status = "fail" if padj < config.alpha else "pass"
            r = r.with_(pvalue_adjusted=padj, status=status)
        out.append(r)
    return out

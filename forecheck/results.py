"""Result records shared by every check.

A :class:`CheckResult` is the public unit of output: the JSON ``results`` list is
``[r.to_dict() for r in report.results]``. Fields may be added over time; the
record unpacks as ``statistic, pvalue = result`` (statsmodels' result-object
convention, statsmodels/stats/base.py) so that unpacking never changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Iterator, Literal

Status = Literal["pass", "fail", "skip"]
SeverityName = Literal["error", "warning", "info"]

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class ExitCode(IntEnum):
    """Process exit codes (ruff/mypy/sqlfluff convention)."""

    PASSED = 0
    FAILED = 1
    ERROR = 2


# DQ data quality; MG martingale / variance budget and CA calibration (layer A);
# WN Wiener-process assumptions (layer B).
FAMILY_LAYER = {"DQ": "data", "MG": "A", "CA": "A", "WN": "B"}

DOCS_URL = "https://github.com/forecheck/forecheck/blob/main/docs/checks.md#{code}"


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars -> Python, NaN/inf -> None, tuples -> lists."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None  # type: ignore[assignment]
    if value is None or isinstance(value, (str, bool)):
        return value
    if np is not None and isinstance(value, np.bool_):
        return bool(value)
    if np is not None and isinstance(value, np.integer):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if np is not None and isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    return str(value)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one panel.

    ``status`` is decided by the runner for p-value based gating checks (after the
    multiple-testing adjustment); checks themselves set it for rule-based findings.
    ``pvalue`` is the raw p-value, ``pvalue_adjusted`` the family-adjusted one.
    """

    code: str
    name: str
    family: str
    severity: SeverityName
    status: Status
    statistic: float | None = None
    pvalue: float | None = None
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    nobs: int | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    null: str | None = None
    alternative: str | None = None
    pvalue_adjusted: float | None = None
    # True when the status follows from pvalue (adjusted) < alpha; the runner then
    # puts it in the multiple-testing family. False for rule-based findings.
    test_based: bool = True

    def __iter__(self) -> Iterator[float | None]:
        yield self.statistic
        yield self.pvalue

    @property
    def layer(self) -> str:
        return FAMILY_LAYER.get(self.family, "?")

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code.lower())

    def with_(self, **changes: Any) -> "CheckResult":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "layer": self.layer,
            "severity": self.severity,
            "status": self.status,
            "statistic": _clean(self.statistic),
            "pvalue": _clean(self.pvalue),
            "pvalue_adjusted": _clean(self.pvalue_adjusted),
            "estimate": _clean(self.estimate),
            "ci": _clean(list(self.ci)) if self.ci is not None else None,
            "nobs": _clean(self.nobs),
            "null": self.null,
            "alternative": self.alternative,
            "message": self.message,
            "url": self.url,
            "details": _clean(self.details),
        }

    def summary(self) -> str:
        parts = [f"{self.code} {self.name}: {self.status}"]
        if self.estimate is not None:
            parts.append(f"estimate={self.estimate:.4g}")
        if self.pvalue is not None:
            parts.append(f"p={self.pvalue:.3g}")
        if self.message:
            parts.append(self.message)
        return " | ".join(parts)

    __str__ = summary


def skipped(code: str, name: str, family: str, severity: SeverityName, reason: str, **kw: Any) -> CheckResult:
    """A skip record: the check could not run on this data, with the reason."""
    return CheckResult(code=code, name=name, family=family, severity=severity, status="skip",
                       message=reason, test_based=False, **kw)

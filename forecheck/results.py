"""Result records shared by every check.

A :class:`CheckResult` is the public unit of output: the JSON ``results`` list is
``[r.to_dict() for r in report.results]``. Fields may be added over time; the
record unpacks as ``statistic, pvalue = result`` (statsmodels' result-object
convention, statsmodels/stats/base.py) so that unpacking never changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import IntEnum
from typing import Any, Iterator, Literal

#: ``pass``/``fail``: the check ran and decided; ``skip``: it could not run (too
#: little data, a missing column); ``inconclusive``: it ran and reports an estimate
#: (and CI) but no valid p-value, e.g. too few effectively independent series.
Status = Literal["pass", "fail", "skip", "inconclusive"]
STATUSES: tuple[str, ...] = ("pass", "fail", "inconclusive", "skip")
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


def _plain(value: Any) -> Any:
    """Typed details -> plain containers (dataclass fields in declaration order;
    fields whose name starts with ``_`` are internal and never exported)."""
    if isinstance(value, Details):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Details:
    """Base class of every check's typed details (frozen dataclasses).

    Renderers read the fields; ``to_dict()`` is the JSON ``details`` object (the
    fields in declaration order, JSON-safe: NaN/inf as null)."""

    def to_dict(self) -> dict[str, Any]:
        return _clean({f.name: _plain(getattr(self, f.name)) for f in fields(self)  # type: ignore[arg-type]
                       if not f.name.startswith("_")})


@dataclass(frozen=True)
class NoDetails(Details):
    """Details of a record that carries none (e.g. a skip)."""


@dataclass(frozen=True)
class DependenceGate(Details):
    """Why a test-based record is ``inconclusive``: its data hold too few
    effectively independent units for an honest p-value.

    n_eff : effective number of independent units (the smallest of the check's own
        count and MG106's, see ``forecheck.checks.gate``).
    n_units : series (or clusters) the statistic pools.
    pvalue_if_independent : the p-value the check would report if the units were
        independent (kept for reference; not a valid p-value here).
    """

    n_eff: float
    n_units: int
    min_n_eff: float
    max_design_effect: float
    pvalue_if_independent: float | None
    statistic_if_independent: float | None


@dataclass(frozen=True)
class SimulationCap(Details):
    """A simulation that used fewer draws than ``--n-sim`` asked for, and why."""

    what: str
    requested: int
    used: int
    reason: str


@dataclass(frozen=True)
class SequentialEvidence(Details):
    """How an anytime-valid (``--sequential``) record was decided
    (``forecheck.checks.sequential``; docs/checks.md, "Anytime-valid e-processes").

    construction : "calendar-time pooled" (valid under any cross-series dependence),
        "per-series product" or "per-cluster product" (declared ``--cluster-col``).
    evalue : the e-value after the whole history; max_evalue : its running maximum,
        which decides (Ville's inequality bounds the probability that the maximum ever
        reaches the threshold, so the decision is valid however often it is run).
    threshold : K/α, e-Bonferroni over the K gating e-value checks of the run (1/α for
        a non-gating record); family_size : K.
    crossed, first_crossing_time, first_crossing : whether / when (panel time and its
        human form) the e-process first reached the threshold.
    direction : the larger one-sided e-value at the end (up: too much movement,
        positive revision autocorrelation, over-confidence).
    confidence_sequence : MG101 only, the anytime-valid (1 − α) interval for the
        movement ratio after the whole history (the record's ``ci``).
    fixed_sample_ci : MG101 only, the one-look bootstrap CI (reference only).
    cs_grid_points : MG101 only, hypothesised ratios the confidence sequence was
        computed on (81 from 0.1 to 10; fewer on very large panels under a product
        construction, ``forecheck.checks.sequential.CS_BUDGET``).
    """

    construction: str
    evalue: float
    max_evalue: float
    threshold: float
    family_size: int
    alpha: float
    crossed: bool
    first_crossing_time: float | None
    first_crossing: str | None
    direction: str
    n_terms: int
    n_series: int
    null: str
    confidence_sequence: tuple[float, float] | None = None
    fixed_sample_ci: tuple[float, float] | None = None
    cs_grid_points: int | None = None
    note: str = "anytime-valid: valid however often this is run"
    # the path (calendar time, log e), internal: for `forecheck monitor` and the HTML plot
    _times: Any = field(default=None, compare=False, repr=False)
    _log_e: Any = field(default=None, compare=False, repr=False)
    _time_labels: Any = field(default=None, compare=False, repr=False)


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
    details: Details = field(default_factory=NoDetails)
    null: str | None = None
    alternative: str | None = None
    pvalue_adjusted: float | None = None
    # True when the status follows from pvalue (adjusted) < alpha; the runner then
    # puts it in the multiple-testing family. False for rule-based findings.
    test_based: bool = True
    #: set when the record is ``inconclusive`` because of cross-series dependence
    gate: DependenceGate | None = None
    #: simulations that used fewer draws than requested (never silent)
    caps: tuple[SimulationCap, ...] = ()
    #: ``--sequential``: the anytime-valid e-value that decides the record, the
    #: threshold it is compared with, and how it was built (None otherwise)
    evalue: float | None = None
    evalue_threshold: float | None = None
    sequential: SequentialEvidence | None = None

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
            "details": self.details_dict(),
            "gate": self.gate.to_dict() if self.gate is not None else None,
            "caps": [c.to_dict() for c in self.caps],
            "evalue": _clean(self.evalue),
            "evalue_threshold": _clean(self.evalue_threshold),
            "sequential": self.sequential.to_dict() if self.sequential is not None else None,
        }

    def details_dict(self) -> dict[str, Any]:
        """The JSON ``details`` object. An inconclusive record also carries the
        p-value it would have had under independence and its effective count
        (schema v1 keys ``pvalue_if_independent`` and ``n_eff``)."""
        d = self.details.to_dict() if isinstance(self.details, Details) else _clean(dict(self.details))
        if self.gate is not None:
            d.setdefault("pvalue_if_independent", _clean(self.gate.pvalue_if_independent))
            d.setdefault("n_eff", _clean(self.gate.n_eff))
        return d

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


@dataclass(frozen=True)
class Measurement:
    """What a check function returns: the statistical part of a record.

    The runner stamps identity (code, name, family, severity, layer) from the
    check's :class:`~forecheck.checks.CheckSpec`, applies the dependence gate and
    the multiple-testing adjustment, and decides the status of test-based records.

    status : for rule-based findings (``test_based=False``) the check decides
        ``pass``/``fail``; for test-based ones leave it None.
    n_eff, n_units : the check's own effective number of independent units and the
        units it pools (for the dependence gate; None when it has no own estimate).
    """

    statistic: float | None = None
    pvalue: float | None = None
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    nobs: int | None = None
    message: str = ""
    details: Details = field(default_factory=NoDetails)
    null: str | None = None
    alternative: str | None = None
    test_based: bool = True
    status: Status | None = None
    n_eff: float | None = None
    n_units: int | None = None
    caps: tuple[SimulationCap, ...] = ()


def skipped(code: str, name: str, family: str, severity: SeverityName, reason: str, **kw: Any) -> CheckResult:
    """A skip record: the check could not run on this data, with the reason."""
    return CheckResult(code=code, name=name, family=family, severity=severity, status="skip",
                       message=reason, test_based=False, **kw)

"""Analysis settings (everything a check may read), separate from input options."""

from __future__ import annotations

from dataclasses import dataclass, asdict
from typing import Literal

PAdjust = Literal["holm", "bh", "none"]
FailOn = Literal["error", "warning", "info", "never"]


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of one analysis.

    alpha : significance level for every test-based check.
    p_adjust : multiple-testing adjustment over the gating family (Holm by default:
        one failure fails the build, so control the family-wise error rate).
    fail_on : lowest severity whose failure makes the exit code 1.
    select / ignore : check codes or prefixes (``MG``, ``MG1``, ``MG101``, ``ALL``).
    horizons : fixed horizons before resolution, in the panel's time unit
        (None: chosen from the data's time unit).
    min_length : shortest series (number of forecasts) used by dynamic checks.
    seed : seed of every bootstrap / simulation-calibrated p-value (reproducible).
    n_sim : number of simulation or bootstrap draws for such p-values.
    """

    alpha: float = 0.05
    p_adjust: PAdjust = "holm"
    fail_on: FailOn = "error"
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    horizons: tuple[float, ...] | None = None
    min_length: int = 3
    seed: int = 20240601
    n_sim: int = 999
    # CI gate policy (forecheck/report/gate.py): status `inconclusive` of a gating check
    # fails / warns / passes; effect-size thresholds judged on the CI; --exit-zero.
    inconclusive: Literal["fail", "warn", "pass"] = "warn"
    max_movement_ratio: float | None = None
    min_movement_ratio: float | None = None
    max_brier: float | None = None
    baseline_tolerance: float = 0.1
    exit_zero: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError("`alpha` must be strictly between 0 and 1.")
        if self.p_adjust not in ("holm", "bh", "none"):
            raise ValueError("`p_adjust` must be one of holm, bh, none.")
        if self.fail_on not in ("error", "warning", "info", "never"):
            raise ValueError("`fail_on` must be one of error, warning, info, never.")
        if self.inconclusive not in ("fail", "warn", "pass"):
            raise ValueError("--inconclusive must be one of fail, warn, pass.")
        for flag, v in (("--max-movement-ratio", self.max_movement_ratio),
                        ("--min-movement-ratio", self.min_movement_ratio)):
            if v is not None and not v > 0:
                raise ValueError(f"{flag} must be a positive number.")
        if self.max_brier is not None and not 0 <= self.max_brier <= 1:
            raise ValueError("--max-brier must be between 0 and 1.")
        if not self.baseline_tolerance >= 0:
            raise ValueError("--baseline-tolerance must be non-negative.")
        if self.min_length < 2:
            raise ValueError("`min_length` must be at least 2.")

    def is_selected(self, code: str) -> bool:
        def match(patterns: tuple[str, ...]) -> bool:
            return any(p == "ALL" or code.startswith(p) for p in patterns)

        return match(self.select) and not match(self.ignore)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["select"] = list(self.select)
        d["ignore"] = list(self.ignore)
        d["horizons"] = list(self.horizons) if self.horizons is not None else None
        return d

"""Analysis settings (everything a check may read), separate from input options."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from forecheck.errors import SettingsError
from forecheck.results import SEVERITY_RANK

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
    question_detection : without declared questions (``--question-col``), detect
        complementary series (probabilities summing to 1 at every shared time) and
        count them as one question (docs/checks.md, "Questions").
    sequential : decide MG101, MG103 and CA202 by anytime-valid e-values (valid
        however often the analysis is rerun on a growing history).
    jobs : checks run on this many threads at once; the records are the same for
        any value (each check has its own random stream), peak memory grows with it.
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
    allow_empty: bool = False
    question_detection: bool = True
    # --sequential: MG101, MG103 and CA202 decided by anytime-valid e-values
    # (forecheck/checks/sequential.py), valid however often the gate runs
    sequential: bool = False
    # --jobs: checks run on this many threads at once (same records; more memory)
    jobs: int = 2

    def __post_init__(self) -> None:
        # Validated once, here; messages name the CLI flag (and the field, for the API).
        def bad(flag: str, field: str, allowed: str, value: object) -> SettingsError:
            return SettingsError(f"{flag} must be {allowed} ({field} = {value!r})")

        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise bad("--alpha", "alpha", "a number strictly between 0 and 1", self.alpha)
        if self.p_adjust not in ("holm", "bh", "none"):
            raise bad("--p-adjust", "p_adjust", "one of holm, bh, none", self.p_adjust)
        if self.fail_on not in ("error", "warning", "info", "never"):
            raise bad("--fail-on", "fail_on", "one of error, warning, info, never", self.fail_on)
        if not _is_int(self.min_length) or self.min_length < 2:
            raise bad("--min-length", "min_length", "an integer of at least 2", self.min_length)
        if not _is_int(self.n_sim) or self.n_sim < 1:
            raise bad("--n-sim", "n_sim", "an integer of at least 1", self.n_sim)
        if not _is_int(self.jobs) or not 1 <= self.jobs <= 64:
            raise bad("--jobs", "jobs", "an integer from 1 to 64", self.jobs)
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            raise bad("--seed", "seed", "an integer from 0 to 2^63 - 1", self.seed)
        if self.horizons is not None:
            hs = tuple(self.horizons)
            if not hs or any(isinstance(h, bool) or not isinstance(h, (int, float)) or not math.isfinite(h)
                             or h <= 0 for h in hs):
                raise bad("--horizons", "horizons", "positive finite numbers (time units before resolution)",
                          self.horizons)
            object.__setattr__(self, "horizons", tuple(float(h) for h in hs))
        for name in ("select", "ignore"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(value))
        if self.inconclusive not in ("fail", "warn", "pass"):
            raise bad("--inconclusive", "inconclusive", "one of fail, warn, pass", self.inconclusive)
        for flag, fld in (("--max-movement-ratio", "max_movement_ratio"), ("--min-movement-ratio", "min_movement_ratio")):
            v = getattr(self, fld)
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
                raise bad(flag, fld, "a positive number", v)
        if self.max_brier is not None and not 0 <= self.max_brier <= 1:
            raise bad("--max-brier", "max_brier", "a number from 0 to 1", self.max_brier)
        if not self.baseline_tolerance >= 0:
            raise bad("--baseline-tolerance", "baseline_tolerance", "a non-negative number", self.baseline_tolerance)

    def gates(self, severity: str) -> bool:
        """Does a failure at this severity fail the run (exit code 1)?"""
        return self.fail_on != "never" and SEVERITY_RANK[severity] >= SEVERITY_RANK[self.fail_on]

    def is_selected(self, code: str) -> bool:
        def match(patterns: tuple[str, ...]) -> bool:
            return any(p == "ALL" or code.startswith(p) for p in patterns)

        return match(self.select) and not match(self.ignore)

    def to_dict(self) -> dict:
        """The settings that shape the results (the report's ``config``): ``jobs`` is
        left out, as it changes how the checks are scheduled, never what they report."""
        d = asdict(self)
        del d["jobs"]
        d["select"] = list(self.select)
        d["ignore"] = list(self.ignore)
        d["horizons"] = list(self.horizons) if self.horizons is not None else None
        return d


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)

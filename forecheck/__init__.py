"""forecheck: stress-test probability forecast time series.

A calibrated forecaster's probabilities form a martingale, which fixes a variance
budget: expected total squared movement equals the uncertainty resolved,
p0(1 − p0) for a question that resolves (Augenblick & Rabin 2021).
"""

__version__ = "0.1.0"

from forecheck.results import CheckResult, ExitCode  # noqa: E402
from forecheck.api import analyze  # noqa: E402

__all__ = ["__version__", "analyze", "CheckResult", "ExitCode"]

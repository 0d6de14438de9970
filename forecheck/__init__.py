"""forecheck: stress-test probability forecast time series.

A calibrated forecaster's probabilities form a martingale, which fixes a variance
budget: expected total squared movement equals the uncertainty resolved,
p0(1 − p0) for a question that resolves (Augenblick & Rabin 2021).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "analyze", "CheckResult", "ExitCode"]

#: public names and the modules they live in, imported on first use (PEP 562): the
#: command line (``forecheck.cli.app.main``) tunes the C allocator before numpy
#: starts its threads, which it can only do if importing this package imports nothing
_LAZY = {"analyze": "forecheck.api", "CheckResult": "forecheck.results", "ExitCode": "forecheck.results"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

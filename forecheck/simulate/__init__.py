"""Simulators: forecaster models (honest and biased) and the ±h belief walk.

``simulate(model, n_series, n_steps, seed, **params)`` returns the long frame
(series, time, p, outcome); ``MODELS`` documents every model; ``simulate_panel``
builds a :class:`~forecheck.panel.Panel` directly.
"""

from forecheck.simulate.models import (
    MODELS,
    ModelSpec,
    ParamSpec,
    SimPaths,
    simulate,
    simulate_panel,
    simulate_paths,
)
from forecheck.stats.walk import WalkResult, analyze_walk

__all__ = ["MODELS", "ModelSpec", "ParamSpec", "SimPaths", "simulate", "simulate_panel", "simulate_paths",
           "WalkResult", "analyze_walk"]

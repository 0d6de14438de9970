"""Deterministic simulated inputs for the CI-gate tests (honest, biased, broken)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from forecheck.cli.app import app


def simulate(path: Path, model: str, *extra: str, series: int = 40, steps: int = 40, seed: int = 11) -> Path:
    """``forecheck simulate`` (in-process): an honest ±h walk or an Augenblick-Rabin over-reactor."""
    res = CliRunner().invoke(app, ["simulate", model, "--series", str(series), "--steps", str(steps),
                                   "--seed", str(seed), *extra, "-o", str(path)], env={"NO_COLOR": "1"})
    assert res.exit_code == 0, res.stderr
    return path


def honest(path: Path) -> Path:
    return simulate(path, "walk")


def biased(path: Path) -> Path:
    # LR(p_{t+1}) = LR(p_t) * LR(s)^3: every signal counted three times (over-reaction)
    return simulate(path, "ar", "--alpha", "1", "--beta", "3")


def broken(path: Path) -> Path:
    path.write_text("series,time,p,outcome\na,0,0.5,1\na,1,banana,1\na,2,0.7,1\n")
    return path


def tiny_walks(path: Path) -> Path:
    """12 exact ±5% belief walks from 50% (numpy seed 2024): the golden-file input."""
    rng = np.random.default_rng(2024)
    rows = []
    for s in range(12):
        p, path_ = 0.5, []
        for t in range(12):
            path_.append((t, p))
            p = round(p + (0.05 if rng.uniform() < 0.5 else -0.05), 10)
        outcome = int(rng.uniform() < path_[-1][1])
        rows += [(f"q{s:02d}", t_, p_, outcome) for t_, p_ in path_]
    pd.DataFrame(rows, columns=["series", "time", "p", "outcome"]).to_csv(path, index=False)
    return path

"""The martingale section of the text report: plain words, the numbers, 80 columns."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import forecheck
from forecheck.panel import Panel
from forecheck.report.sections import martingale as section


def _panel() -> Panel:
    rng = np.random.default_rng(3)
    S, T = 40, 30
    p0 = rng.uniform(0.2, 0.8, S)
    steps = rng.choice([-0.02, 0.02], size=(S, T - 1))
    p = np.clip(np.concatenate([p0[:, None], p0[:, None] + np.cumsum(steps, 1)], 1), 0.01, 0.99)
    p[0, 1::2] = 0.9  # one series that jumps back and forth
    p[0, ::2] = 0.3
    out = (rng.random(S) < p[:, -1]).astype(float)
    return Panel.from_arrays(np.repeat(np.arange(S), T), np.tile(np.arange(T, dtype=float), S), p.ravel(),
                             outcome=np.repeat(out, T))


def test_section_renders_within_80_columns_with_numbers():
    report = forecheck.analyze(_panel(), select=("MG",), n_sim=99)
    parts = section.render(report)
    assert parts
    buf = io.StringIO()
    Console(file=buf, width=80, color_system=None).print(*parts)
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    r = report.result("MG101")
    assert "Is this forecast a martingale?" in text
    assert f"{r.estimate:.2f}×" in text  # the pooled ratio Σm/Σr
    assert "volatility seller" in text and "independent series" in text
    assert "MG103" in text and "MG105" in text
    assert "0" in text and "Series that stand out" in text
    # the oscillating series is listed by MG102
    assert report.series.loc[report.series["id"] == "0", "mg102_q"].iloc[0] < 0.05

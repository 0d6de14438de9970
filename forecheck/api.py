"""The Python API: ``forecheck.analyze`` returns the same records as ``--format json``."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pandas as pd

from forecheck.config import AnalysisConfig
from forecheck.io.loaded import LoadedInput
from forecheck.io.options import ReadOptions
from forecheck.panel import Panel


def load(data: Any, read_options: ReadOptions | None = None) -> LoadedInput:
    """Read paths (str/PathLike or a list of them), a long DataFrame or a Panel."""
    from forecheck import io

    opts = read_options or ReadOptions()
    if isinstance(data, LoadedInput):
        return data
    if isinstance(data, Panel):
        return io.load_panel(data)
    if isinstance(data, pd.DataFrame):
        return io.load_frame(data, opts)
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    return io.load([os.fspath(p) for p in data], opts)


def analyze(data: Any, *, config: AnalysisConfig | None = None, read_options: ReadOptions | None = None,
            **options: Any):
    """Read, validate and check forecast series; return a :class:`~forecheck.report.Report`.

    Parameters
    ----------
    data : path, list of paths, ``pandas.DataFrame`` (long layout) or ``Panel``
    config : analysis settings; keyword ``options`` override its fields
        (e.g. ``alpha=0.01, select=("MG",)``).
    read_options : how to read files (columns, layout, scale, ...).

    Examples
    --------
    >>> report = forecheck.analyze("sample_data/pres2020_states.csv")  # doctest: +SKIP
    >>> report.exit_code, report.result("MG101").estimate              # doctest: +SKIP
    """
    from forecheck.checks import execute
    from forecheck.report.model import Report, series_table
    from forecheck.stats.questions import question_budget

    config = config or AnalysisConfig()
    if options:
        config = replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    loaded = load(data, read_options)
    results, ctx = execute(loaded.panel, config, extra=loaded.findings)
    table = series_table(loaded.panel, ctx.budget(), ctx.series_columns)
    info = loaded.info
    q = ctx.questions()
    if q.n_questions:  # what the pooled tests count (docs/checks.md, "Questions")
        info = {**info, "questions": {
            "source": q.source, "n_questions": q.n_questions, "n_series_in_questions": q.n_in_questions,
            "outcomes_per_question": {str(k): v for k, v in q.size_counts().items()},
            "n_mirrors_dropped": int(q.redundant().sum()), "summary": q.summary()}}
        b = ctx.budget()
        qb = question_budget(q.label, q.n_questions, b.movement, b.uncertainty_reduction, b.resolved)
        su, sm = float(qb.uncertainty.sum()), float(qb.movement.sum())
        info["questions"].update(uncertainty=su, movement=sm, ratio=sm / su if su > 0 else None)
        if su > 0:
            info["questions"]["summary"] += (f"; their budget (A-R Prop. 3): movement Σm = {sm:.2f} against "
                                             f"uncertainty Σu = {su:.2f} ({sm / su:.2f}×)")
    return Report(input=info, config=config, results=tuple(results), series=table, panel=loaded.panel)

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
    from forecheck import progress
    from forecheck.checks import all_specs, execute
    from forecheck.report.model import Report, series_table

    config = config or AnalysisConfig()
    if options:
        config = replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    with progress.stage("reading input"):
        loaded = load(data, read_options)
    specs = [s for s in all_specs() if config.is_selected(s.code)]
    results, ctx = execute(loaded.panel, config, specs=progress.wrap_specs(specs), extra=loaded.findings)
    table = series_table(loaded.panel, ctx.series_columns)
    return Report(input=loaded.info, config=config, results=tuple(results), series=table,
                  panel=loaded.panel, extras=dict(ctx.cache.get("report_extras", {})))

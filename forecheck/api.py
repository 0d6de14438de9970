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


def load(data: Any, read_options: ReadOptions | None = None, min_length: int = 3) -> LoadedInput:
    """Read paths (str/PathLike or a list of them), a long DataFrame or a Panel.

    ``min_length`` is ``AnalysisConfig.min_length`` (its one home): DQ005 and the
    header's short-series count use the same value as the dynamic checks."""
    from forecheck import io

    opts = read_options or ReadOptions()
    if isinstance(data, LoadedInput):
        return data
    if isinstance(data, Panel):
        return io.load_panel(data, min_length)
    if isinstance(data, pd.DataFrame):
        return io.load_frame(data, opts, min_length=min_length)
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    return io.load([os.fspath(p) for p in data], opts, min_length)


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
    from forecheck.stats.questions import questions_info

    config = config or AnalysisConfig()
    if options:
        config = replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    with progress.stage("reading input"):
        loaded = load(data, read_options, config.min_length)
    specs = [s for s in all_specs() if config.is_selected(s.code)]
    results, ctx = execute(loaded.panel, config, specs=progress.wrap_specs(specs), extra=loaded.findings)
    table = series_table(loaded.panel, ctx.budget(), ctx.series_columns)
    info = loaded.info.to_dict()
    q = ctx.questions()
    if q.n_questions:  # what the pooled tests count (docs/checks.md, "Questions")
        info = {**info, "questions": questions_info(q, ctx.budget())}
    report = Report(input=info, config=config, results=tuple(results), series=table, panel=loaded.panel,
                    figures=dict(ctx.figure_data))
    if loaded.panel.group is not None:
        report = _with_groups(report, loaded.panel, config)
    return report


def _with_groups(report, panel: Panel, config: AnalysisConfig):
    """``--group-by``: the same analysis on each group's series, and every pair of
    groups compared on the questions both forecast (paired Brier, movement ratios)."""
    from itertools import combinations

    import numpy as np

    from forecheck import io
    from forecheck.checks import DEFF_GATE, MIN_NEFF
    from forecheck.details import GroupComparison
    from forecheck.stats import questions as qmod
    from forecheck.stats.compare import paired_brier

    groups = []
    keyed: dict[str, dict[str, tuple[float, float]]] = {}
    qkey: dict[str, dict[str, int]] = {}  # question of each resolved contract within its group (-1: none)
    labels = panel.group.astype(str)
    for g in np.unique(labels).tolist():
        mask = labels == g
        sub = replace(panel.select_series(mask), group=None)
        sub_report = analyze(io.load_panel(sub, config.min_length), config=config)
        sub_report = replace(sub_report, input={**sub_report.input, "paths": report.input.get("paths", []),
                                                "group": g})
        groups.append((g, sub_report))
        # a question's key: its id without the group's own component ("NV|...|deluxe" -> "NV|...")
        ids = ["|".join(part for part in str(i).split("|") if part != g) for i in sub.ids]
        keyed[g] = {k: (float(p), float(o)) for k, p, o, res in zip(ids, sub.p_last, sub.outcome, sub.resolved)
                    if res}
        qlab = qmod.of_panel(sub, config.question_detection).label
        qkey[g] = {k: int(q) for k, q, res in zip(ids, qlab, sub.resolved) if res}
    comparisons = []
    by_group = dict(groups)
    for a, b in combinations([g for g, _ in groups], 2):
        common = sorted(set(keyed[a]) & set(keyed[b]))
        pa = np.array([keyed[a][k][0] for k in common])
        pb = np.array([keyed[b][k][0] for k in common])
        o = np.array([keyed[a][k][1] for k in common])
        pb_res = paired_brier(pa, pb, o, unit=_common_questions(common, qkey[a], qkey[b]))
        neffs = [r.result("MG106").estimate for r in (by_group[a], by_group[b])
                 if r.result("MG106") is not None and r.result("MG106").status != "skip"]
        n_eff = float(min(neffs)) if neffs else None
        too_few = n_eff is not None and n_eff < MIN_NEFF and pb_res.n / n_eff >= DEFF_GATE
        ratio = lambda r: r.result("MG101").estimate if r.result("MG101") is not None else None  # noqa: E731
        comparisons.append(GroupComparison(
            a=a, b=b, n_common=pb_res.n, brier_a=pb_res.brier_a, brier_b=pb_res.brier_b,
            brier_difference=pb_res.mean_difference, se=pb_res.se,
            statistic=None if too_few else pb_res.statistic, pvalue=None if too_few else pb_res.pvalue,
            n_eff=n_eff, ratio_a=ratio(by_group[a]), ratio_b=ratio(by_group[b]),
            method="paired last-forecast Brier difference, Diebold–Mariano t with a normal reference"
                   + ("; standard error clustered by question (the contracts of one question are one draw)"
                      if pb_res.n < len(common) else "")
                   + "; no p-value when the questions amount to fewer than 10 effectively independent draws "
                     "(MG106)"))
    return replace(report, groups=tuple(groups), group_comparisons=tuple(comparisons))


def _common_questions(common: list[str], qa: dict[str, int], qb: dict[str, int]):
    """(n,) question unit of each common contract: contracts are one unit when either
    group puts them in one question (connected components), else each its own."""
    import numpy as np

    n = len(common)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for q in (qa, qb):
        first: dict[int, int] = {}
        for i, k in enumerate(common):
            lab = q.get(k, -1)
            if lab < 0:
                continue
            j = first.setdefault(lab, i)
            if j != i:
                parent[find(i)] = find(j)
    return np.array([find(i) for i in range(n)], dtype=np.int64)

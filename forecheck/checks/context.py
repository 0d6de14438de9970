"""What a check may read: the panel, the settings, and work shared within one run.

A check function is ``(ctx: CheckContext) -> Measurement``. Work that several
checks need is computed once here (``ctx.budget()``, ``ctx.dynamic()``,
``ctx.dependence()``), so no module recomputes it and the runner's dependence
gate and MG106 read one quantity.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.stats.budget import Budget, series_budget
from forecheck.stats import questions as qmod
from forecheck.stats.dependence import Dependence, UnitCells, design_effect, unit_cells


def check_rng(seed: int, code: str) -> np.random.Generator:
    """The random stream of one check: a function of ``--seed`` and the check code
    only (``[seed, number of the code]``), so a p-value is the same whether its check
    runs alone or with others. Check numbers are unique across families
    (MG1xx, CA2xx, WN3xx)."""
    return np.random.default_rng([int(seed), int(code[2:])])


def check_seed(seed: int, code: str) -> int:
    """An integer seed for check ``code``, for ``stats/`` functions that derive
    several streams from one seed (same convention as :func:`check_rng`): a function
    of ``--seed`` and the code only, so an engine without a panel (the Dask engine's
    driver) draws what the in-memory engine draws."""
    return int(np.random.SeedSequence([int(seed), int(code[2:])]).generate_state(1)[0])


def first_of_units(u: np.ndarray) -> np.ndarray:
    """(S,) bool: the first series (panel order) of each unit code in ``u``: the one
    contract per question MG106 measures (the Dask engine's partitions, holding whole
    questions, select the same series)."""
    first = np.zeros(len(u), bool)
    if len(u):  # (series are not sorted by unit)
        order = np.lexsort((np.arange(len(u)), u))
        first[order[np.r_[True, u[order][1:] != u[order][:-1]]]] = True
    return first


@dataclass
class CheckContext:
    panel: Panel
    config: AnalysisConfig
    cache: dict[str, Any] = field(default_factory=dict)
    # Per-series columns a check contributes to the report's series table and the
    # JSON ``series`` records (name -> (S,) array), e.g. MG102's one-sided z.
    series_columns: dict[str, Any] = field(default_factory=dict)
    # What a check measured that the HTML report draws but the JSON does not carry (name ->
    # a stats.plotdata object), e.g. WN305's flagged jumps: figures show the check's own
    # findings instead of recomputing them
    figure_data: dict[str, Any] = field(default_factory=dict)
    # one lock per cache key, shared by every view of this context (``for_check``): when
    # checks run on several threads, shared work is computed once and the others wait
    # for it. Keys form a DAG (questions → pooled → dynamic → dependence), so locks are
    # always taken in one order and cannot deadlock.
    _locks: dict[str, threading.RLock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        try:
            return self.cache[key]
        except KeyError:
            pass
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        with lock:
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]

    def for_check(self) -> "CheckContext":
        """A view for one check: the same panel, settings, cache and locks, its own
        ``series_columns`` and ``figure_data`` (the runner merges them in report order,
        so the series table's columns do not depend on which thread finished first)."""
        return CheckContext(panel=self.panel, config=self.config, cache=self.cache, series_columns={},
                            figure_data={}, _locks=self._locks, _guard=self._guard)

    def rng(self, code: str) -> np.random.Generator:
        """A fresh generator for check ``code`` (see :func:`check_rng`)."""
        return check_rng(self.config.seed, code)

    def seed(self, code: str) -> int:
        """An integer seed for check ``code`` (see :func:`check_seed`)."""
        return check_seed(self.config.seed, code)

    def budget(self) -> Budget:
        """The variance budget of every series of the panel (A-R 2021), computed once.

        When the pooled panel drops mirror contracts it is a copy with increments of its
        own, and the martingale and calibration families read those: the panel's own
        increments are then formed for the budget on a scratch view and freed, not held
        beside the copy's (the Wiener family forms them again, after the copy is
        released: ``checks.CACHE_READERS``)."""
        def make():
            q = self.cache.get("questions")
            copied = q is not None and bool(q.redundant().any())
            return series_budget(self.panel.scratch_view() if copied else self.panel)
        return self.cached("budget", make)

    def questions(self) -> qmod.Questions:
        """Question membership of the panel's series: declared (``panel.question``,
        ``--question-col``), else detected complementary sets unless
        ``config.question_detection`` is off (``stats/questions.py``)."""
        def make():
            pan = self.panel
            if pan.question is not None:
                return qmod.from_declared(pan.question, pan.offsets, pan.time, pan.p, pan.outcome)
            if self.config.question_detection:
                return qmod.detect(pan.offsets, pan.time, pan.p, pan.outcome)
            return qmod.none(pan.n_series)
        return self.cached("questions", make)

    def pooled(self) -> tuple[Panel, np.ndarray]:
        """The panel the pooled tests read, and its (S,) mask on ``panel``: the mirror
        contract of each complementary two-outcome question dropped (it would count
        the question twice), ``question`` = the unit code of each series (its
        question; a standalone series is its own unit). Declared clusters stay in
        ``cluster``: contracts nest in questions, questions in clusters."""
        def make():
            q = self.questions()
            keep = ~q.redundant()
            pan = self.panel.relabel(question=q.units()).select_series(keep)
            return pan, keep
        return self.cached("pooled", make)

    def pooled_budget(self) -> Budget:
        """The variance budget of the pooled panel's series."""
        return self.budget().select(self.pooled()[1])

    def dynamic(self) -> tuple[Panel, np.ndarray]:
        """Pooled series (``pooled()``) with at least ``min_length`` forecasts
        (dynamic checks) and their mask on the pooled panel."""
        def make():
            pan, _ = self.pooled()
            mask = pan.lengths >= self.config.min_length
            return pan.select_series(mask), mask
        return self.cached("dynamic", make)

    def dependence(self) -> Dependence:
        """MG106's same-time dependence of the in-flight increments of the dynamic
        series, one representative contract per question (the contracts of one
        question sum to a constant, so their increments cancel; Kish design effect,
        ``stats/dependence.py``)."""
        def make():
            pan, _ = self.dynamic()
            rep = pan.select_series(first_of_units(pan.question))
            # the increments' time cells when the shared increment cells already hold them
            # (every series its own unit, no clusters: their across cells are the time cells)
            uc = self.cache.get("increment_cells")
            cells = None
            if (uc is not None and uc.cell is None and uc.cl is None and rep.n_series == pan.n_series
                    and uc.n_values == len(rep.dp)):
                cells = (uc.across.astype(np.int64), uc.n_across, uc.across_time, None)
            return design_effect(rep.dp, rep.dp_series, rep.time[rep.increment_rows] if cells is None else None,
                                 rep.n_series, rep.cluster, cells=cells)
        return self.cached("dependence", make)

    def increment_cells(self, pan: Panel, pooled_mask: np.ndarray | None = None) -> UnitCells | None:
        """The (unit, time) cells of the dynamic panel's increments (``dp_series``,
        ``time[increment_rows]``, ``question``, ``cluster``: ``stats/dependence.unit_cells``),
        formed once for the pooled tests that sum their terms in them (MG101, MG104,
        MG105). For ``pan`` the dynamic panel, or a panel of the same series
        (``pooled_mask``, its mask on ``pooled()``, equal to the dynamic one); else None."""
        dyn, dmask = self.dynamic()
        if pan is not dyn and (pooled_mask is None or not np.array_equal(pooled_mask, dmask)):
            return None
        return self.cached("increment_cells", lambda: unit_cells(dyn.dp_series, dyn.time[dyn.increment_rows],
                                                                 dyn.question, dyn.cluster))

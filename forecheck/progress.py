"""A progress display on stderr for long runs.

Shown only when asked for (``forecheck analyze`` enables it when stderr is a terminal,
the format is the human one and ``--no-progress`` is not given): a transient Rich
progress bar that disappears when the run ends, so it never mixes with a report and
never reaches machine formats or pipes. Without an active display every hook here is
a no-op costing one attribute lookup, and Rich is not imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from typing import Any, Callable, Iterator

_active: "_Display | None" = None


class _Display:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                                  console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task("starting", total=total)

    def __enter__(self) -> "_Display":
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def describe(self, label: str) -> None:
        self._progress.update(self._task, description=label)

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def add_total(self, n: int) -> None:
        task = self._progress.tasks[0]
        self._progress.update(self._task, total=(task.total or 0) + n)


def should_show(format_name: str, no_progress: bool, stream: Any = None) -> bool:
    """The display is for people: a terminal on stderr, the text format, not disabled."""
    stream = sys.stderr if stream is None else stream
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    return tty and format_name == "text" and not no_progress


@contextlib.contextmanager
def display(enabled: bool, total: int = 1) -> Iterator[None]:
    """Activate the display for the duration of the block (no-op when not enabled)."""
    global _active
    if not enabled:
        yield
        return
    with _Display(total) as d:
        _active = d
        try:
            yield
        finally:
            _active = None


@contextlib.contextmanager
def stage(label: str) -> Iterator[None]:
    """Mark one unit of work (reading, one check) on the active display."""
    d = _active
    if d is None:
        yield
        return
    d.describe(label)
    try:
        yield
    finally:
        d.advance()


def wrap_specs(specs: list) -> list:
    """Check specs whose ``run`` reports a stage (specs unchanged without a display)."""
    d = _active
    if d is None:
        return specs
    d.add_total(len(specs))

    def wrapped(spec) -> Callable:
        def run(ctx):
            with stage(f"{spec.code} {spec.name}"):
                return spec.run(ctx)
        return run

    return [dataclasses.replace(s, run=wrapped(s)) for s in specs]

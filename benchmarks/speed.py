"""Where the time and memory of one `forecheck analyze` go, stage by stage.

    python benchmarks/speed.py FILE.csv                 # an existing file
    python benchmarks/speed.py --series 10000 --steps 100   # simulate, write CSV, read back
    python benchmarks/speed.py sp_short10m.csv --no-question-detection
    python benchmarks/speed.py sp_10m_cl.csv --cluster-col cl   # declared clusters

Prints, for reading + validation, every check and the JSON rendering: wall seconds,
CPU seconds, resident memory after the stage and the process's peak so far (GB).
The checks run one at a time here, so each stage's cost is its own; the command line
runs them on ``--jobs`` threads (default 2) and its wall time is about half their sum.
The heap is kept as the command line keeps it (``FORECHECK_MALLOC=system``: glibc's
defaults). Numbers are reported in docs/performance.md and benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def run(path: str, question_detection: bool = True,
        cluster_col: str | None = None) -> list[tuple[str, float, float, float, float]]:
    from forecheck.api import load
    from forecheck.checks import (CheckContext, all_specs, dependence_gate, finalize, one_blas_thread, release_after,
                                  stamp)
    from forecheck.config import AnalysisConfig
    from forecheck.errors import InsufficientDataError
    from forecheck.io.options import ReadOptions
    from forecheck.report import render
    from forecheck.report.model import Report, series_table

    rows = []

    def mark(label: str, t0: float, c0: float) -> None:
        rows.append((label, time.perf_counter() - t0, time.process_time() - c0, _rss_gb(), _peak_gb()))

    t0, c0 = time.perf_counter(), time.process_time()
    loaded = load(path, ReadOptions(cluster_col=cluster_col))
    mark(f"read + validate ({loaded.panel.n_obs:,} rows)", t0, c0)
    config = AnalysisConfig(question_detection=question_detection)
    ctx = CheckContext(panel=loaded.panel, config=config)
    results = list(loaded.findings)
    specs = all_specs()
    release = release_after([spec.code for spec in specs])  # as the runner drops shared work
    with one_blas_thread():  # as the runner runs the checks
        for i, spec in enumerate(specs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                m = spec.run(ctx)
                gate = dependence_gate(ctx, m) if spec.dependence_gated and m.test_based else None
                results.append(stamp(spec, m, gate))  # as the runner does (checks.execute)
            except InsufficientDataError:
                pass
            for key in release.get(i, ()):
                ctx.cache.pop(key, None)
            mark(f"  {spec.code} {spec.name}", t0, c0)
    t0, c0 = time.perf_counter(), time.process_time()
    results = finalize(results, config)
    report = Report(input=loaded.info.to_dict(), config=config, results=tuple(results),
                    series=series_table(loaded.panel, ctx.budget(), ctx.series_columns), panel=loaded.panel)
    payload = render(report, "json")
    mark(f"render JSON ({len(payload) / 1e6:.0f} MB)", t0, c0)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?")
    ap.add_argument("--series", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--no-question-detection", action="store_true",
                    help="as the command line's flag (the stages of many short series without the question search)")
    ap.add_argument("--cluster-col", default=None, help="as the command line's flag (declared clusters)")
    args = ap.parse_args()
    from forecheck.cli.app import _tune_allocator

    # the heap kept as the command line keeps it (FORECHECK_MALLOC=system: glibc's defaults),
    # so a stage's fresh column-sized arrays fault no more pages than they do in `analyze`
    _tune_allocator()
    with tempfile.TemporaryDirectory() as d:
        path = args.file
        if path is None:
            from forecheck.simulate import simulate

            path = str(Path(d) / "panel.csv")
            simulate("gaussian", n_series=args.series, n_steps=args.steps, seed=1).to_csv(path, index=False)
        rows = run(path, question_detection=not args.no_question_detection, cluster_col=args.cluster_col)
    print(f"{'stage':<48s} {'wall s':>8s} {'cpu s':>8s} {'RSS GB':>7s} {'peak GB':>7s}")
    for label, w, c, r, p in rows:
        print(f"{label:<48s} {w:8.2f} {c:8.2f} {r:7.2f} {p:7.2f}")
    print(f"{'total':<48s} {sum(r[1] for r in rows):8.2f} {sum(r[2] for r in rows):8.2f}")


if __name__ == "__main__":
    main()

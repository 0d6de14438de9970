"""Speed benchmark: reading and every check family at scale.

    python benchmarks/speed.py                 # 1,000 / 10,000 series x 100 steps
    python benchmarks/speed.py --series 3000 --steps 200

Prints wall-clock seconds per stage (read CSV, build panel + validate, each check
family, whole `analyze`). Numbers are reported in docs/performance.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from forecheck.checks import CheckContext, all_specs
from forecheck.config import AnalysisConfig
from forecheck.io import load
from forecheck.io.options import ReadOptions
from forecheck.simulate import simulate


def bench(n_series: int, n_steps: int, seed: int = 1) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    df = simulate("gaussian", n_series=n_series, n_steps=n_steps, seed=seed)
    rows.append(("simulate gaussian", time.perf_counter() - t0))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "panel.csv"
        df.to_csv(path, index=False)
        t0 = time.perf_counter()
        loaded = load([str(path)], ReadOptions())
        rows.append((f"read + validate CSV ({len(df):,} rows)", time.perf_counter() - t0))
    config = AnalysisConfig()
    ctx = CheckContext(panel=loaded.panel, config=config)
    by_family: dict[str, float] = {}
    for spec in all_specs():
        t0 = time.perf_counter()
        try:
            spec.run(ctx)
        except Exception as exc:  # report, keep timing the rest
            print(f"  {spec.code} raised {type(exc).__name__}: {exc}")
        dt = time.perf_counter() - t0
        by_family[spec.family] = by_family.get(spec.family, 0.0) + dt
        rows.append((f"  {spec.code} {spec.name}", dt))
    for fam, dt in by_family.items():
        rows.append((f"family {fam} total", dt))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, nargs="*", default=[1000, 10000])
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    for n in args.series:
        print(f"\n== {n:,} series x {args.steps} steps ==")
        for label, sec in bench(n, args.steps):
            print(f"{label:<55s} {sec:8.3f} s")


if __name__ == "__main__":
    main()

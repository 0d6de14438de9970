"""Input-layer speed: read + validate + panel of a long file, and wide-file column inference.

    python -m forecheck simulate gaussian --series 10000 --steps 100 --seed 1 -o io_1m.csv
    python benchmarks/input_speed.py io_1m.csv              # long file: read, validate, panel
    python benchmarks/input_speed.py --wide 100000          # column inference of a wide file

Prints the best of ``--repeat`` runs (CPU seconds) of each stage next to
``pandas.read_csv(engine="pyarrow")`` of the same file, the reference the input
layer is measured against (docs/input.md).
"""

from __future__ import annotations

import argparse
import io as _io
import time

import numpy as np
import pandas as pd

from forecheck.io import ReadOptions, _load_tables, load
from forecheck.io.infer import infer_columns
from forecheck.io.readers import RawTable, read_table


def best(fn, repeat: int) -> tuple[float, object]:
    """Best-of-``repeat`` CPU time of this process (wall time swings with other load on
    a shared machine; pyarrow's reader threads count too, so multi-core reads are not
    flattered)."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def long_file(path: str, repeat: int) -> None:
    t_pa, _ = best(lambda: pd.read_csv(path, engine="pyarrow"), repeat)
    t_read, tab = best(lambda: read_table(path), repeat)
    opts = ReadOptions()
    t_val, li = best(lambda: _load_tables([tab], opts), repeat)
    t_all, _ = best(lambda: load([path], opts), repeat)
    print(f"file: {path} ({li.info['rows_read']} rows); CPU seconds, best of {repeat}")
    print(f"pandas.read_csv(engine='pyarrow')     {t_pa:7.3f} s")
    print(f"read_table (all columns as strings)   {t_read:7.3f} s")
    print(f"infer + validate + panel              {t_val:7.3f} s  ({t_val / t_pa:.2f}x pyarrow read)")
    print(f"load total                            {t_all:7.3f} s  ({t_all / t_pa:.2f}x pyarrow read)")


def wide_file(n_cols: int, n_rows: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    data = {"date": pd.date_range("2020-01-01", periods=n_rows).strftime("%Y-%m-%d")}
    vals = np.round(rng.uniform(0, 1, (n_rows, n_cols)), 3).astype(str)
    frame = pd.DataFrame(vals, columns=[f"c{j}" for j in range(n_cols)])
    frame.insert(0, "date", data["date"])
    t_inf, cm = best(lambda: infer_columns(frame, ReadOptions(max_columns=0) if "max_columns" in
                                           ReadOptions.__dataclass_fields__ else ReadOptions(), "wide.csv"),
                     repeat)
    print(f"wide frame: {n_rows} rows x {n_cols} columns; layout {cm.layout}")
    print(f"infer_columns                         {t_inf:7.3f} s  ({1e3 * t_inf / n_cols:.3f} ms per column)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?")
    ap.add_argument("--wide", type=int, default=0, help="columns of a generated wide frame")
    ap.add_argument("--rows", type=int, default=20, help="rows of the wide frame")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if a.path:
        long_file(a.path, a.repeat)
    if a.wide:
        wide_file(a.wide, a.rows, a.repeat)


if __name__ == "__main__":
    main()

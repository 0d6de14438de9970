"""Input-layer speed: read + validate + panel of a long file, and wide-file column inference.

    python -m forecheck simulate gaussian --series 10000 --steps 100 --seed 1 -o io_1m.csv
    python benchmarks/input_speed.py io_1m.csv              # long file: read, validate, panel
    python benchmarks/input_speed.py --wide 100000          # column inference of a wide file
    python benchmarks/input_speed.py --fresh --tree OLD --tree . --runs 2 sp_1m.csv sp_1m.parquet

Prints the best of ``--repeat`` runs (CPU seconds) of each stage next to
``pandas.read_csv(engine="pyarrow")`` of the same file, the reference the input
layer is measured against (docs/input.md).

``--fresh``: whole processes instead, each under ``/usr/bin/time -v`` (wall, user +
system CPU, peak RSS): ``pandas.read_csv(FILE, engine="pyarrow")`` (``read_parquet``
for Parquet), then ``from forecheck.api import load; load(FILE)`` with each
``--tree`` (a source tree put first on ``PYTHONPATH``, e.g. a ``git worktree`` of
the commit before a change, and ``.``), in turn, ``--runs`` rounds; prints every run
and the load / read ratio of each round (wall and CPU). The same process also prints
the row ``benchmarks/speed.py FILE`` starts with ("read + validate": wall, CPU, RSS
after, peak), so that row can be had without running the checks.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from forecheck.io import ReadOptions, _load_tables, load
from forecheck.io.infer import infer_columns
from forecheck.io.readers import read_table


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


_STAGE = (
    "import os, resource, sys, time\n"
    "t0, c0 = time.perf_counter(), time.process_time()\n"
    "from forecheck.api import load\n"
    "t1, c1 = time.perf_counter(), time.process_time()\n"
    "li = load(sys.argv[1])\n"
    "w, c = time.perf_counter() - t1, time.process_time() - c1\n"
    "rss = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 1e9\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6\n"
    "print(f'read + validate ({li.panel.n_obs:,} rows) {w:.2f} {c:.2f} {rss:.2f} {peak:.2f}')\n"
)


def _timed(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, float, float, str]:
    """(wall s, user + system CPU s, peak RSS GB, stdout) of one process under /usr/bin/time -v."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env, check=False,
                       cwd=cwd)
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")

    def grab(pat: str) -> str:
        m = re.search(pat, p.stderr)
        return m.group(1) if m else "0"

    wall = sum(float(v) * 60 ** i for i, v in enumerate(reversed(
        grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)").split(":"))))
    cpu = float(grab(r"User time \(seconds\): ([0-9.]+)")) + float(grab(r"System time \(seconds\): ([0-9.]+)"))
    return wall, cpu, int(grab(r"Maximum resident set size \(kbytes\): ([0-9]+)")) / 1e6, p.stdout.strip()


def fresh(files: list[str], trees: list[str], runs: int) -> None:
    py = sys.executable
    print("| file | round | process | wall s | CPU s | peak GB | wall / read | CPU / read | speed.py row: wall, CPU s, "
          "RSS, peak GB |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for f in files:
        reader = "read_parquet(f)" if f.endswith((".parquet", ".pq")) else "read_csv(f, engine='pyarrow')"
        read_cmd = [py, "-c", f"import sys, pandas as pd; f = sys.argv[1]; df = pd.{reader}", f]
        for r in range(1, runs + 1):
            base = _timed(read_cmd, dict(os.environ))
            print(f"| {os.path.basename(f)} | {r} | pandas.{reader.split('(')[0]} | {base[0]:.2f} | {base[1]:.2f} | "
                  f"{base[2]:.2f} | | | |", flush=True)
            for tree in trees:
                # run in the tree: ``python -c`` puts the working directory first on sys.path
                env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
                w, c, peak, out = _timed([py, "-c", _STAGE + "import forecheck; assert forecheck.__file__"
                                          f".startswith({os.path.abspath(tree)!r})\n", os.path.abspath(f)],
                                         env, cwd=os.path.abspath(tree))
                row = " ".join(out.split()[-4:])
                print(f"| {os.path.basename(f)} | {r} | load ({tree}) | {w:.2f} | {c:.2f} | {peak:.2f} | "
                      f"{w / base[0]:.2f} | {c / base[1]:.2f} | {row} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="*")
    ap.add_argument("--wide", type=int, default=0, help="columns of a generated wide frame")
    ap.add_argument("--fresh", action="store_true", help="whole processes under /usr/bin/time -v (see above)")
    ap.add_argument("--tree", action="append", default=[], help="source tree to load with (--fresh; repeatable)")
    ap.add_argument("--runs", type=int, default=1, help="rounds (--fresh)")
    ap.add_argument("--rows", type=int, default=20, help="rows of the wide frame")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if a.fresh:
        fresh(a.path, a.tree or ["."], a.runs)
        return
    for path in a.path:
        long_file(path, a.repeat)
    if a.wide:
        wide_file(a.wide, a.rows, a.repeat)


if __name__ == "__main__":
    main()

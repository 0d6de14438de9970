"""Whole-process time and peak memory of `forecheck analyze` against
`pandas.read_csv(engine="pyarrow")` of the same file, measured in the same run.

    python benchmarks/growth.py FILE [FILE ...]          # e.g. the files below
    python benchmarks/growth.py --runs 3 FILE
    python benchmarks/growth.py --runs 3 --vs-env NUMPY_MADVISE_HUGEPAGE=1 FILE

Each file is read by pandas and analysed by forecheck (``--format json``, report to
/dev/null) in turn, ``--runs`` times each, every run a fresh process timed by
``/usr/bin/time -v`` (wall, user + system CPU, maximum resident set size). Prints the
medians and the median of the per-pair ratios analyze / read. Parquet files are read
by ``pandas.read_parquet`` for the reference. ``--vs-env NAME=VALUE`` also runs the
analysis with that variable set, right after each plain run, and prints a second table
(median wall, CPU and system seconds of each, and the median per-pair wall ratio).

Generate the data (not committed) with ``forecheck simulate``, for example

    forecheck simulate gaussian --series 1000   --steps 100  --seed 1 -o sp_100k.csv
    forecheck simulate gaussian --series 10000  --steps 100  --seed 1 -o sp_1m.csv
    forecheck simulate gaussian --series 100000 --steps 100  --seed 1 -o sp_10m.csv
    forecheck simulate gaussian --series 100000 --steps 10   --seed 1 -o sp_short10.csv
    forecheck simulate gaussian --series 1000   --steps 1000 --seed 1 -o sp_long1000.csv
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys


def _timed(cmd: list[str], env: dict) -> tuple[float, float, float, int, float]:
    """(wall s, cpu s, peak RSS GB, exit code, system s) of one process via /usr/bin/time -v."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    err = p.stderr

    def grab(pat: str) -> str:
        m = re.search(pat, err)
        return m.group(1) if m else "0"

    wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)")
    parts = [float(x) for x in wall.split(":")]
    secs = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    system = float(grab(r"System time \(seconds\): ([0-9.]+)"))
    cpu = float(grab(r"User time \(seconds\): ([0-9.]+)")) + system
    rss = int(grab(r"Maximum resident set size \(kbytes\): ([0-9]+)")) / 1e6
    code = int(grab(r"Exit status: ([0-9]+)"))
    return secs, cpu, rss, code, system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--vs-env", metavar="NAME=VALUE", help="also time the analysis with this variable set")
    args = ap.parse_args()
    env = dict(os.environ)
    vs_env = None
    if args.vs_env:
        name, sep, value = args.vs_env.partition("=")
        if not sep or not name:
            ap.error("--vs-env takes NAME=VALUE")
        vs_env = {**env, name: value}
    paired = []
    py = sys.executable
    print("| file | rows | read wall s | analyze wall s | analyze / read (wall) | analyze cpu s | "
          "read peak GB | analyze peak GB |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for f in args.files:
        reader = "read_parquet(f)" if f.endswith(".parquet") else "read_csv(f, engine='pyarrow')"
        read_cmd = [py, "-c", f"import sys, pandas as pd; f = sys.argv[1]; df = pd.{reader}; print(len(df))", f]
        ana_cmd = [py, "-m", "forecheck", "analyze", f, "--format", "json", "-o", os.devnull]
        rows = int(subprocess.run(read_cmd, capture_output=True, text=True, env=env).stdout.strip() or 0)
        reads, anas, ratios, others = [], [], [], []
        for _ in range(args.runs):
            r = _timed(read_cmd, env)
            a = _timed(ana_cmd, env)
            reads.append(r)
            anas.append(a)
            ratios.append(a[0] / r[0] if r[0] > 0 else float("nan"))
            if vs_env is not None:
                others.append(_timed(ana_cmd, vs_env))
        med = statistics.median
        if others:
            paired.append((f, anas, others))
        print(f"| {os.path.basename(f)} | {rows:,} | {med(x[0] for x in reads):.2f} | {med(x[0] for x in anas):.2f} | "
              f"{med(ratios):.1f}× | {med(x[1] for x in anas):.2f} | {med(x[2] for x in reads):.2f} | "
              f"{med(x[2] for x in anas):.2f} |" + ("" if all(x[3] in (0, 1) for x in anas) else " (exit 2!)"),
              flush=True)
    if paired:
        print(f"\n| file | analyze wall s | with {args.vs_env}: wall s | wall ratio (with / without) | "
              "cpu s | with: cpu s | system s | with: system s |")
        print("|---|---|---|---|---|---|---|---|")
        for f, anas, others in paired:
            med = statistics.median
            ratio = med(o[0] / a[0] for a, o in zip(anas, others) if a[0] > 0)
            print(f"| {os.path.basename(f)} | {med(a[0] for a in anas):.2f} | {med(o[0] for o in others):.2f} | "
                  f"{ratio:.2f} | {med(a[1] for a in anas):.2f} | {med(o[1] for o in others):.2f} | "
                  f"{med(a[4] for a in anas):.2f} | {med(o[4] for o in others):.2f} |", flush=True)


if __name__ == "__main__":
    main()

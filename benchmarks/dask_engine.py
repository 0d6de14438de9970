"""The Dask engine on data larger than its workers' memory.

    python benchmarks/dask_engine.py sp_10m.parquet --out sp10m_parts \
        [--partitions 20] [--workers 2] [--memory-limit 1GB] [--scheduler tcp://127.0.0.1:8786] \
        [--select WN305] [--clusters K] [--compare]

Writes SOURCE's rows as PARTITIONS Parquet files of consecutive rows into OUT (series
straddle the file boundaries, so the shuffle by series matters; never commit them),
then runs ``forecheck analyze OUT --engine dask`` in this process against a
``distributed.LocalCluster`` of WORKERS processes with MEMORY_LIMIT each (or the given
scheduler) and reports wall time, CPU seconds (driver + workers), the driver's peak
RSS and each worker's peak RSS (sampled every 0.2 s). ``--select`` runs only those
checks or families (comma-separated; default every check). ``--compare`` also runs the
in-memory engine on SOURCE (the same rows; the selected checks, by default the DQ, MG
and CA checks) and prints its wall and CPU time and the largest relative difference of
the numbers in the records both engines computed. ``--clusters K`` adds a column
``cluster`` (series i in cluster i mod K, by first appearance) to the files and runs both
engines with ``--cluster-col cluster``: the Dask engine then shuffles by cluster, so K
bounds the partitions holding rows (K = 1: every row in one partition).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_parts(source: str, out: Path, n: int, clusters: int | None = None) -> int:
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.parquet"):
        old.unlink()
    if clusters:
        return _write_clustered(source, out, n, clusters)
    pf = pq.ParquetFile(source)
    total = pf.metadata.num_rows
    per = math.ceil(total / n)
    k, in_k, writer = 0, 0, None
    for batch in pf.iter_batches(batch_size=200_000):
        start = 0
        while start < batch.num_rows:
            if writer is None:
                writer = pq.ParquetWriter(out / f"part{k:03d}.parquet", batch.schema)
            take = min(per - in_k, batch.num_rows - start)
            writer.write_batch(batch.slice(start, take))
            start += take
            in_k += take
            if in_k == per:
                writer.close()
                writer, k, in_k = None, k + 1, 0
    if writer is not None:
        writer.close()
    return total


def _write_clustered(source: str, out: Path, n: int, k: int) -> int:
    """The rows as n files of consecutive rows with a ``cluster`` column (series i, by
    first appearance, in cluster i mod k); the whole source in memory (10^6 rows: fine)."""
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(source)
    series = "series" if "series" in df.columns else df.columns[0]
    df["cluster"] = pd.Series(pd.factorize(df[series])[0] % k).map(lambda i: f"k{i}").to_numpy()
    for j, idx in enumerate(np.array_split(np.arange(len(df)), n)):
        df.iloc[idx].to_parquet(out / f"part{j:03d}.parquet", index=False)
    return len(df)


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _cpu() -> float:
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source")
    ap.add_argument("--out", required=True, help="directory for the partition files (not committed)")
    ap.add_argument("--partitions", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--scheduler")
    ap.add_argument("--select", help="checks or families to run, comma-separated (default: every check)")
    ap.add_argument("--clusters", type=int, help="add a cluster column with this many clusters; --cluster-col it")
    ap.add_argument("--compare", action="store_true")
    a = ap.parse_args()
    select = tuple(a.select.split(",")) if a.select else None

    import logging

    from distributed import Client, LocalCluster

    from forecheck.config import AnalysisConfig
    from forecheck.engine.dask_engine import COMPUTED, analyze_dask
    from forecheck.io.options import ReadOptions

    t0 = time.perf_counter()
    rows = write_parts(a.source, Path(a.out), a.partitions, a.clusters)
    opts = ReadOptions(cluster_col="cluster") if a.clusters else ReadOptions()
    size = sum(f.stat().st_size for f in Path(a.out).glob("*.parquet"))
    print(f"wrote {rows:,} rows as {a.partitions} files ({size / 1e6:.0f} MB on disk) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

    if a.scheduler:
        client, cluster = Client(a.scheduler), None
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", memory_limit=a.memory_limit, silence_logs=logging.ERROR)
        client = Client(cluster)
    info = client.scheduler_info()["workers"]
    limits = {w: v.get("memory_limit") for w, v in info.items()}
    peak: dict[str, int] = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                for w, r in client.run(_rss).items():
                    peak[w] = max(peak.get(w, 0), r)
            except Exception:  # noqa: BLE001, S110 (a worker restarting under memory pressure)
                pass
            stop.wait(0.2)

    cpu0 = sum(client.run(_cpu).values())
    drv0 = resource.getrusage(resource.RUSAGE_SELF)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t1 = time.perf_counter()
    rep = analyze_dask([a.out], opts, AnalysisConfig(select=select) if select else AnalysisConfig(),
                       client=client)
    computed = [code for code in COMPUTED if rep.result(code) is not None]  # the selected ones
    wall = time.perf_counter() - t1
    stop.set()
    th.join()
    drv1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_w = sum(client.run(_cpu).values()) - cpu0
    cpu_d = (drv1.ru_utime - drv0.ru_utime) + (drv1.ru_stime - drv0.ru_stime)
    print(f"workers: {len(info)}, memory limit each: "
          + ", ".join(f"{(v or 0) / 1e9:.2f} GB" for v in limits.values()))
    print(f"wall {wall:.1f} s; CPU driver {cpu_d:.1f} s + workers {cpu_w:.1f} s; driver peak RSS "
          f"{drv1.ru_maxrss / 1e6:.2f} GB (whole process, incl. the file writing); worker peak RSS "
          + ", ".join(f"{v / 1e9:.2f} GB" for v in peak.values()))
    for code in computed:
        r = rep.result(code)
        print(f"  {code} {r.status}: statistic {r.statistic}, p {r.pvalue}, estimate {r.estimate}")
    print("  rows read/used:", rep.input["rows_read"], rep.input["rows_used"], "dropped:", rep.input["rows_dropped"])
    print("  " + "; ".join(x for x in rep.input["notes"][-1].split("; ") if not x.startswith("computed")))
    client.close()
    if cluster is not None:
        cluster.close()
    if a.compare:
        import forecheck

        from forecheck.stats import jumps

        jumps._NULL_CACHE.clear()  # WN305's null: simulated again, not the Dask driver's memoised one
        sel = select or ("DQ", "MG", "CA")
        t2, r2 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        src = sorted(map(str, Path(a.out).glob("*.parquet"))) if a.clusters else a.source  # (with the column)
        mem = forecheck.analyze(src, select=sel, read_options=opts)
        r3 = resource.getrusage(resource.RUSAGE_SELF)
        print(f"in-memory engine (same rows, {', '.join(sel)}): {time.perf_counter() - t2:.1f} s wall, "
              f"{(r3.ru_utime - r2.ru_utime) + (r3.ru_stime - r2.ru_stime):.1f} CPU s, "
              f"process peak RSS now {r3.ru_maxrss / 1e6:.2f} GB")
        worst = 0.0

        def walk(x, y):
            nonlocal worst
            if isinstance(x, dict) and isinstance(y, dict):
                for k in set(x) & set(y) - {"pvalue_adjusted", "by_family", "rows", "message", "note"}:
                    walk(x[k], y[k])
            elif isinstance(x, list) and isinstance(y, list):
                for u, v in zip(x, y):
                    walk(u, v)
            elif isinstance(x, float) and isinstance(y, float) and math.isfinite(x) and math.isfinite(y):
                worst = max(worst, abs(x - y) / max(1.0, abs(x), abs(y)))
        refs = {}
        both = [code for code in computed if mem.result(code) is not None]
        for code in both:
            walk(rep.result(code).to_dict(), mem.result(code).to_dict())
            det = mem.result(code).to_dict().get("details") or {}
            refs[code] = det.get("reference") or (det.get("inference") or {}).get("reference", {}).get("reference")
        print(f"largest relative difference ({', '.join(both)} records): {worst:.2e}")
        print("in-memory references:", json.dumps(refs))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    main()

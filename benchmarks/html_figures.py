"""Where the time, memory and bytes of the HTML report (`--html`) go, figure by figure.

    python benchmarks/html_figures.py FILE        # CSV or Parquet

Runs the analysis once, then draws each figure of the report as `--html` does and prints
its CPU seconds, its size in the HTML (MB) and the process's peak RSS so far (GB).
Numbers are reported in docs/performance.md ("The HTML report").
"""

from __future__ import annotations

import argparse
import resource
import time


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    args = ap.parse_args()

    import forecheck
    from forecheck.report import html as H

    t0 = time.process_time()
    report = forecheck.analyze(args.path)
    print(f"{'analysis':20s} cpu {time.process_time() - t0:7.2f} s               peak {_peak_gb():.2f} GB")
    total_cpu, total_mb = 0.0, 0.0
    for spec in H._figures(report):
        t = time.process_time()
        text = H._figure_html(spec)
        cpu, mb = time.process_time() - t, len(text.encode()) / 1e6
        total_cpu, total_mb = total_cpu + cpu, total_mb + mb
        print(f"{spec.key:20s} cpu {cpu:7.2f} s  {mb:7.2f} MB  peak {_peak_gb():.2f} GB")
    print(f"{'all figures':20s} cpu {total_cpu:7.2f} s  {total_mb:7.2f} MB")


if __name__ == "__main__":
    main()

"""CPU seconds and resident memory of the Wiener-process checks (WN301–WN307).

    python benchmarks/wiener_speed.py FILE.csv

Reads FILE once, then runs only the WN checks on one shared context (as the runner
does: the checks share cached increments), printing per check the wall and CPU
seconds, the resident set after the check and the process's peak so far (GB).
The table in benchmarks/README.md ("Wiener-process checks") was made with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import time


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    args = ap.parse_args()
    from forecheck.api import load
    from forecheck.checks import CheckContext
    from forecheck.checks.wiener import CHECKS
    from forecheck.config import AnalysisConfig
    from forecheck.errors import InsufficientDataError

    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    loaded = load(args.file)
    ctx = CheckContext(panel=loaded.panel, config=AnalysisConfig())
    ctx.budget()  # WN306 reads the shared budget; the runner has computed it for MG checks
    rows.append((f"read + validate + budget ({loaded.panel.n_obs:,} rows)", time.perf_counter() - t0,
                 time.process_time() - c0, _rss_gb(), _peak_gb()))
    base = _rss_gb()
    wn_cpu = 0.0
    for spec in CHECKS:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            spec.run(ctx)
        except InsufficientDataError:
            pass
        c = time.process_time() - c0
        wn_cpu += c
        rows.append((f"  {spec.code} {spec.name}", time.perf_counter() - t0, c, _rss_gb(), _peak_gb()))
    print(f"{'stage':<48s} {'wall s':>8s} {'cpu s':>8s} {'RSS GB':>7s} {'peak GB':>7s}")
    for label, w, c, r, p in rows:
        print(f"{label:<48s} {w:8.2f} {c:8.2f} {r:7.2f} {p:7.2f}")
    print(f"{'WN total':<48s} {'':8s} {wn_cpu:8.2f} {_rss_gb() - base:+7.2f} (RSS added by the WN checks)")


if __name__ == "__main__":
    main()

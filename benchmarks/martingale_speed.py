"""CPU of MG101–MG105 and of the JSON rendering on one file, the panel read once.

    python benchmarks/martingale_speed.py FILE.csv [CODES ...]

The checks run in the runner's order on one context (so MG102 reuses MG101's pooled
panel as in a real run); the shared quantities every check reads (budget, pooled and
dynamic panels, MG106's dependence, questions) are computed before the timing. Then
the JSON document of these records and the full series table is rendered. Prints CPU
seconds per stage, the statistic and p-value of each check (to compare versions) and
the md5 of the JSON text. Numbers: benchmarks/README.md, "Martingale checks and
rendering".
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("codes", nargs="*", default=["MG101", "MG102", "MG103", "MG104", "MG105"])
    args = ap.parse_args()
    from forecheck.api import load
    from forecheck.checks import CheckContext, all_specs, finalize, stamp
    from forecheck.config import AnalysisConfig
    from forecheck.report import render
    from forecheck.report.model import Report, series_table

    loaded = load(args.file)
    config = AnalysisConfig()
    ctx = CheckContext(panel=loaded.panel, config=config)
    specs = {s.code: s for s in all_specs()}
    ctx.budget(), ctx.pooled(), ctx.dynamic(), ctx.dependence(), ctx.questions()
    records = []
    print(f"{'stage':<10s} {'cpu s':>8s}  statistic / p-value")
    for code in args.codes:
        c0 = time.process_time()
        m = specs[code].run(ctx)
        print(f"{code:<10s} {time.process_time() - c0:8.2f}  {m.statistic!r} / {m.pvalue!r}", flush=True)
        records.append(stamp(specs[code], m))
    report = Report(input=loaded.info.to_dict(), config=config, results=tuple(finalize(records, config)),
                    series=series_table(loaded.panel, ctx.budget(), ctx.series_columns), panel=loaded.panel)
    c0 = time.process_time()
    payload = render(report, "json")
    print(f"{'JSON':<10s} {time.process_time() - c0:8.2f}  {len(payload) / 1e6:.0f} MB, md5 "
          f"{hashlib.md5(payload.encode()).hexdigest()}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()

"""FiveThirtyEight's 2018 Senate forecast: lite vs classic vs deluxe with --group-by.

    python scripts/senate_models.py [--n-sim 999]

Reads ../shared/data/538-midterms-2018 (not shipped), joins the candidate outcomes
(race = state + "-S" + class, candidate), and prints forecheck's grouped comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import forecheck
from forecheck.io.options import ReadOptions
from forecheck.report.text import render_text

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "538-midterms-2018"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sim", type=int, default=999)
    args = ap.parse_args()
    f = pd.read_csv(DATA / "senate_seat_forecast.csv")
    o = pd.read_csv(DATA / "outcomes_2018_senate_governor_candidates.csv")
    o = o[o.branch == "Senate"]
    f["race"] = f.state + "-S" + f["class"].astype(int).astype(str)
    f = f.merge(o[["race", "candidate", "won"]], on=["race", "candidate"], how="left")
    df = f[["race", "candidate", "model", "forecastdate", "win_probability", "won"]]
    report = forecheck.analyze(df, n_sim=args.n_sim, read_options=ReadOptions(
        series_cols=("race", "candidate", "model"), time_col="forecastdate", prob_col="win_probability",
        outcome_col="won", group_col="model"))
    print(render_text(report, colour=False, width=120))


if __name__ == "__main__":
    main()

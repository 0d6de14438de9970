"""Rebuild sample_data/ from ../shared/data (538 2020) and a fixed seed (synthetic).

Usage: python scripts/make_sample_data.py [--shared PATH]

* sample_data/pres2020_states.csv: FiveThirtyEight 2020 presidential state
  forecasts (CC BY 4.0) in long layout: state, modeldate (ISO), p (=
  winstate_chal, P(Biden wins the state)), outcome (winstate_chal_outcome(Biden)
  joined by state), published (the run's timestamp, ISO). All 156 daily runs are
  kept, including the 70 back-filled ones (2020-06-01 .. 08-09, all published on
  2020-08-10), so that the back-cast finding DQ007 shows what it catches;
  `forecheck analyze --drop-backcast` analyses the 86 real-time runs only.
* sample_data/synthetic_walks.csv: 50 calibrated forecast paths of 40 steps.
  Each is the exact martingale p_t = Phi(W_t / sqrt(1 - t)) of a standard
  Brownian motion W observed at t = k/40 (k = 0..39), with outcome 1{W_1 > 0}
  (the probability that a Brownian motion ends above 0 given its value now);
  probabilities rounded to 4 decimals and kept within [0.0001, 0.9999].
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sample_data"


def pres2020(shared: Path) -> pd.DataFrame:
    src = shared / "538-pres-2020"
    f = pd.read_csv(src / "presidential_state_toplines_2020_nov2.csv", dtype=str, keep_default_na=False)
    o = pd.read_csv(src / "outcomes_2020_by_state.csv", dtype=str, keep_default_na=False)
    out = pd.DataFrame({
        "state": f["state"],
        "modeldate": pd.to_datetime(f["modeldate"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d"),
        "p": f["winstate_chal"],
        "published": pd.to_datetime(f["timestamp"].str.split().str.join(" "),
                                    format="%H:%M:%S %d %b %Y").dt.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    outcome = out["state"].map(o.set_index("state")["winstate_chal_outcome(Biden)"])
    if outcome.isna().any():
        raise SystemExit(f"unmatched states: {sorted(out.loc[outcome.isna(), 'state'].unique())}")
    out.insert(3, "outcome", outcome)
    return out.sort_values(["state", "modeldate"], kind="stable").reset_index(drop=True)


def synthetic(seed: int = 20240601, n_series: int = 50, n_steps: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dt = 1.0 / n_steps
    # W at t = 0, dt, ..., 1 (the value at 1 decides the outcome)
    w = np.concatenate([np.zeros((n_series, 1)),
                        np.cumsum(rng.normal(0.0, np.sqrt(dt), (n_series, n_steps)), axis=1)], axis=1)
    t = np.arange(n_steps) * dt
    p = norm.cdf(w[:, :n_steps] / np.sqrt(1.0 - t))
    outcome = (w[:, -1] > 0).astype(int)
    ids = [f"walk{i + 1:02d}" for i in range(n_series)]
    return pd.DataFrame({
        "series": np.repeat(ids, n_steps),
        "time": np.tile(np.arange(n_steps), n_series),
        # rounded to 4 decimals and kept off exactly 0/1 (a rounded 0.99997 must not
        # read as certainty that later moves, DQ006)
        "p": np.clip(np.round(p.reshape(-1), 4), 0.0001, 0.9999),
        "outcome": np.repeat(outcome, n_steps),
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    pres2020(args.shared).to_csv(OUT / "pres2020_states.csv", index=False, lineterminator="\n")
    synthetic().to_csv(OUT / "synthetic_walks.csv", index=False, lineterminator="\n")
    print(f"wrote {OUT / 'pres2020_states.csv'} and {OUT / 'synthetic_walks.csv'}")


if __name__ == "__main__":
    main()

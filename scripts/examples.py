"""Headline MG (and CA, when registered) numbers on FiveThirtyEight data for docs/examples.md.

    python scripts/examples.py [--data ../shared/data] [--n-sim 999]

Builds the panels with pandas + ``Panel.from_arrays`` (no dependency on the
readers) and prints a markdown summary per dataset:
* 2020 president, state ``winstate_chal`` = P(Biden wins), 56 units, all 156 daily
  runs and only the 86 real-time runs from 2020-08-10 (the earlier ones were
  back-filled on 10 Aug 2020);
* 2018 Senate seats, ``classic`` model, one series per candidate, clustered by race
  (the candidates of one race mirror each other), all dates and from 2018-09-12
  (model launch; earlier dates likely retroactive).
Source: FiveThirtyEight, CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from forecheck.checks import execute
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel

ROOT = Path(__file__).resolve().parents[1]


def _days(dates: pd.Series) -> np.ndarray:
    return ((dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def pres2020(data: Path, start: str | None = None) -> Panel:
    d = data / "538-pres-2020"
    df = pd.read_csv(d / "presidential_state_toplines_2020_nov2.csv", usecols=["modeldate", "state", "winstate_chal"])
    df["date"] = pd.to_datetime(df["modeldate"], format="%m/%d/%Y")
    if start:
        df = df[df["date"] >= pd.Timestamp(start)]
    out = pd.read_csv(d / "outcomes_2020_by_state.csv")
    o = dict(zip(out["state"], out["winstate_chal_outcome(Biden)"].astype(float)))
    res_day = _days(pd.Series([pd.Timestamp("2020-11-04")]))[0]
    return Panel.from_arrays(df["state"].to_numpy(), _days(df["date"]), df["winstate_chal"].to_numpy(float), o,
                             time_kind="date", time_unit="day", resolved_at=np.full(len(df), res_day))


def senate2018(data: Path, start: str | None = None, model: str = "classic") -> Panel:
    d = data / "538-midterms-2018"
    df = pd.read_csv(d / "senate_seat_forecast.csv")
    df = df[df["model"] == model].copy()
    df["date"] = pd.to_datetime(df["forecastdate"])
    if start:
        df = df[df["date"] >= pd.Timestamp(start)]
    df["race"] = df["state"] + "-S" + df["class"].astype(int).astype(str)
    out = pd.read_csv(d / "outcomes_2018_senate_governor_candidates.csv")
    df = df.merge(out[["race", "candidate", "won"]], on=["race", "candidate"], how="left")
    if df["won"].isna().any():
        raise SystemExit(f"unmatched candidates: {df.loc[df['won'].isna(), 'candidate'].unique()[:5]}")
    res_day = _days(pd.Series([pd.Timestamp("2018-11-07")]))[0]
    sid = (df["race"] + " " + df["candidate"]).to_numpy()
    return Panel.from_arrays(sid, _days(df["date"]), df["win_probability"].to_numpy(float),
                             outcome=df["won"].to_numpy(float), time_kind="date", time_unit="day",
                             resolved_at=np.full(len(df), res_day), cluster=df["race"].to_numpy())


def summarize(name: str, panel: Panel, cfg: AnalysisConfig) -> str:
    results, _ = execute(panel, cfg)
    r = {x.code: x for x in results}
    lines = [f"### {name}", "", f"{panel.n_series} series, {panel.n_obs} forecasts, "
             f"{int(panel.resolved.sum())} resolved.", ""]
    lines.append("| check | estimate | CI | p (raw) | status | message |")
    lines.append("|---|---|---|---|---|---|")
    for code, x in r.items():
        if x.family not in ("MG", "CA"):
            continue
        est = "" if x.estimate is None else f"{x.estimate:.3g}"
        ci = "" if x.ci is None else f"{x.ci[0]:.3g}–{x.ci[1]:.3g}"
        p = "" if x.pvalue is None else ("<0.001" if x.pvalue < 0.001 else f"{x.pvalue:.3f}")
        msg = x.message.replace("|", "/")
        lines.append(f"| {code} | {est} | {ci} | {p} | {x.status} | {msg} |")
    m = r.get("MG101")
    if m is not None and m.details:
        d = m.details  # ExcessMovementDetails (forecheck/details.py)

        def ratio(v: float | None) -> float:
            return float("nan") if v is None else v

        lines += ["", f"MG101 split: in flight {d.inflight.movement:.3f} vs budget "
                  f"{d.inflight.budget:.3f} (×{ratio(d.inflight.ratio):.2f}); resolution "
                  f"{d.resolution.movement:.3f} vs {d.resolution.budget:.3f} "
                  f"(×{ratio(d.resolution.ratio):.2f}); design effect "
                  f"{d.inference.design_effect:.1f}, N_eff ≈ {d.inference.n_eff:.0f}."]
        lines += ["", "By starting probability: " + "; ".join(
            f"{s.p0_from:.2f}–{s.p0_to:.2f}: n={s.n_series}, ratio "
            f"{s.ratio:.2f}" for s in d.by_p0 if s.ratio is not None)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n-sim", type=int, default=999)
    args = ap.parse_args()
    data = Path(args.data)
    cfg = AnalysisConfig(n_sim=args.n_sim, select=("MG", "CA"))
    print(summarize("538 2020 president, states, all runs (6/1–11/3)", pres2020(data), cfg))
    print(summarize("538 2020 president, states, real-time runs (8/10–11/3)", pres2020(data, "2020-08-10"), cfg))
    print(summarize("538 2018 Senate seats, classic, all dates (8/1–11/6), clustered by race",
                    senate2018(data), cfg))
    print(summarize("538 2018 Senate seats, classic, from launch (9/12–11/6), clustered by race",
                    senate2018(data, "2018-09-12"), cfg))


if __name__ == "__main__":
    main()

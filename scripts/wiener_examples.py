"""Layer-B (WN) assumptions table on real FiveThirtyEight series, for docs/examples.md.

Data (CC BY 4.0, FiveThirtyEight; read from ../shared/data, not copied):
- checking-our-work ``march_madness_in_game_men.csv``: one series per game, P(team1
  wins) = ``prob1``; order: period ascending, then seconds remaining descending;
  time = elapsed game seconds (halves 1200 s, overtimes 300 s).
- checking-our-work ``world_cup_matches_in_game_men.csv``: one series per match,
  P(team1 wins) = ``prob1``; order: period, then minute; time = update index (the
  minute column overlaps across periods).
- 538-pres-2020 state toplines: P(Biden wins the state) = ``winstate_chal``, daily,
  real-time runs only (2020-08-10 on; earlier rows were back-filled), resolved
  2020-11-04; underlying = Biden's two-party projected vote share.

Run:  python scripts/wiener_examples.py [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from forecheck.checks import execute
from forecheck.checks.martingale import CHECKS as MG_CHECKS
from forecheck.checks.wiener import CHECKS as WN_CHECKS
from forecheck.config import AnalysisConfig
from forecheck.panel import Panel
from forecheck.report.model import Report, series_table
from forecheck.report.prose import assumption_rows
from forecheck.report.sections import wiener as section

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def basketball() -> Panel:
    d = pd.read_csv(DATA / "538-checking-our-work" / "march_madness_in_game_men.csv")
    reg = d["period"] <= 2
    elapsed = np.where(reg, (d["period"] - 1) * 1200 + (1200 - d["secs"]),
                       2400 + (d["period"] - 3) * 300 + (300 - d["secs"]))
    sid = d["season"].astype(str) + " " + d["team1"] + " v " + d["team2"]
    return Panel.from_arrays(sid.to_numpy(), elapsed.astype(float), d["prob1"].to_numpy(float),
                             outcome=d["prob1_outcome"].to_numpy(float), time_kind="index", time_unit="second")


def soccer() -> Panel:
    d = pd.read_csv(DATA / "538-checking-our-work" / "world_cup_matches_in_game_men.csv")
    sid = d["season"].astype(str) + " " + d["team1"] + " v " + d["team2"]
    d = d.assign(sid=sid).sort_values(["sid", "period", "mins"], kind="stable")
    step = d.groupby("sid").cumcount().to_numpy(float)
    return Panel.from_arrays(d["sid"].to_numpy(), step, d["prob1"].to_numpy(float),
                             outcome=d["prob1_outcome"].to_numpy(float))


def president2020() -> Panel:
    d = pd.read_csv(DATA / "538-pres-2020" / "presidential_state_toplines_2020_nov2.csv")
    o = pd.read_csv(DATA / "538-pres-2020" / "outcomes_2020_by_state.csv")
    date = pd.to_datetime(d["modeldate"], format="%m/%d/%Y")
    d = d[date >= "2020-08-10"].assign(day=(date[date >= "2020-08-10"] - pd.Timestamp("1970-01-01")).dt.days)
    out = dict(zip(o["state"], o["winstate_chal_outcome(Biden)"]))
    share = d["voteshare_chal"] / (d["voteshare_chal"] + d["voteshare_inc"])
    resolved = float((pd.Timestamp("2020-11-04") - pd.Timestamp("1970-01-01")).days)
    return Panel.from_arrays(d["state"].to_numpy(), d["day"].to_numpy(float), d["winstate_chal"].to_numpy(float),
                             outcome_by_series=out, time_kind="date", time_unit="day",
                             underlying=share.to_numpy(float), resolved_at=np.full(len(d), resolved))


def analyse(panel: Panel) -> tuple[Report, float]:
    cfg = AnalysisConfig()
    specs = [s for s in MG_CHECKS if s.code == "MG101"] + list(WN_CHECKS)
    t0 = time.perf_counter()
    res, ctx = execute(panel, cfg, specs)
    dt = time.perf_counter() - t0
    rep = Report(input={"series": panel.n_series}, config=cfg, results=tuple(res),
                 series=series_table(panel, ctx.budget(), ctx.series_columns), panel=panel)
    return rep, dt


def markdown(name: str, rep: Report, dt: float) -> str:
    lines = [f"### {name}", "", f"{rep.panel.n_series} series, {rep.panel.n_obs} forecasts; WN checks + MG101 "
             f"in {dt:.1f} s.", "", "| assumption | holds? | measured here |", "|---|---|---|"]
    for r in assumption_rows({x.code: x for x in rep.results}):
        h = {True: "holds", False: "**fails**", None: "n/a"}[r["holds"]]
        lines.append(f"| {r['assumption']} ({', '.join(r['codes'])}) | {h} | {r['measured']} |")
    mg = rep.result("MG101")
    if mg is not None:
        p = "" if mg.pvalue is None else f"; p = {mg.pvalue:.3f}"
        lines += ["", f"MG101 ({mg.status}): {mg.message}{p}"]
    wn305 = rep.result("WN305")
    days = wn305.details.news_days if wn305 is not None and wn305.details is not None else ()
    if days:
        lines += ["", "Biggest news days (WN305, Lee–Mykland on standardised increments):", "",
                  "| series | time | p before → after | L |", "|---|---|---|---|"]
        lines += [f"| {d.series} | {d.time} | {d.p_before:.3f} → {d.p_after:.3f} | {d.L:+.1f} |"
                  for d in days[:5]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true", help="print Markdown for docs/examples.md")
    a = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not found")
    con = Console(width=80)
    for name, build in (("538 in-game men's basketball (March Madness 2016–22)", basketball),
                        ("538 in-game World Cup soccer (2018, 2022), P(team1 wins)", soccer),
                        ("538 2020 presidential forecast, state P(Biden), 10 Aug – 3 Nov", president2020)):
        rep, dt = analyse(build())
        if a.markdown:
            print(markdown(name, rep, dt) + "\n")
        else:
            con.rule(name)
            con.print(section.verdict(rep))
            for x in section.render(rep):
                con.print(x)
            for r in rep.results:
                con.print(f"{r.code} {r.status}: {r.message}", soft_wrap=False)


if __name__ == "__main__":
    main()

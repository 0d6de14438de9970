"""Loading the real files in ../shared/data with the documented flags.

Each test loads a file as `forecheck analyze` would (the ReadOptions mirror the
flags in docs/input.md) and checks per-series movement and uncertainty reduction
(Augenblick & Rabin 2021, p. 9; movement includes the resolution step) against
an independent pandas computation (sort, groupby, diff) on the raw file, plus
"known numbers" from ../shared/data/README.md. Skips when ../shared is absent.
PredictIt/Intrade data are only read here; nothing from them is stored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecheck.io import ReadOptions, load
from forecheck.stats.budget import series_budget
from tests.conftest import require_shared


def join_id(d: pd.DataFrame, key: list[str]) -> pd.Series:
    out = d[key[0]].astype(str)
    for k in key[1:]:
        out = out + "|" + d[k].astype(str)
    return out


def reference_budget(df: pd.DataFrame, key: list[str], order: list[str], ascending: list[bool], p: str,
                     outcome: pd.Series) -> pd.DataFrame:
    """Movement and uncertainty reduction per series, written with pandas only.

    ``outcome`` maps the joined id to 0/1 (NaN = unresolved)."""
    d = df.copy()
    d["_id"] = join_id(d, key)
    d = d.sort_values(["_id"] + order, ascending=[True] + ascending, kind="stable")
    g = d.groupby("_id", sort=True)[p]
    inflight = (g.diff() ** 2).groupby(d["_id"], sort=True).sum()
    first, last = g.first(), g.last()
    o = outcome.reindex(first.index).astype(float)
    res = o.notna()
    movement = inflight + np.where(res, (o - last) ** 2, 0.0)
    ur = np.where(res, first * (1 - first), first * (1 - first) - last * (1 - last))
    return pd.DataFrame({"movement": movement, "ur": ur, "n": g.size(), "p0": first, "p_last": last})


def compare(li, ref: pd.DataFrame) -> None:
    b = series_budget(li.panel)
    got = pd.DataFrame({"movement": b.movement, "ur": b.uncertainty_reduction, "n": li.panel.lengths},
                       index=li.panel.ids.astype(str))
    assert list(got.index) == list(ref.index)
    np.testing.assert_array_equal(got["n"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_allclose(got["movement"].to_numpy(), ref["movement"].to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["ur"].to_numpy(), ref["ur"].to_numpy(), rtol=1e-9, atol=1e-12)
    i = li.info
    assert i["rows_read"] == i["rows_used"] + sum(i["rows_dropped"].values())


def zero_incr_share(panel) -> float:
    return float(np.mean(panel.dp == 0))


# ------------------------------------------------------------------ 538 2020
def test_538_2020_states_with_outcomes_file():
    f = require_shared("538-pres-2020", "presidential_state_toplines_2020_nov2.csv")
    of = require_shared("538-pres-2020", "outcomes_2020_by_state.csv")
    li = load([str(f)], ReadOptions(prob_col="winstate_chal", outcomes_file=str(of)))
    raw = pd.read_csv(f, dtype={"state": str})
    raw["t"] = pd.to_datetime(raw["modeldate"], format="%m/%d/%Y")
    outc = pd.read_csv(of).set_index("state")["winstate_chal_outcome(Biden)"]
    ref = reference_budget(raw, ["state"], ["t"], [True], "winstate_chal", outc)
    compare(li, ref)
    assert li.info["series"] == 56 and li.info["resolved_series"] == 56 and li.info["rows_used"] == 8736
    # known number: final-day Brier 0.0400 (README "Known numbers")
    brier = float(np.mean((li.panel.p_last - li.panel.outcome) ** 2))
    assert round(brier, 4) == 0.0400
    # known number: the 70 back-filled dates (6/1-8/9) carry timestamp 10 Aug 2020
    dq7 = {r.code: r for r in li.findings}["DQ007"]
    assert dq7.status == "fail" and dq7.details.extra["model_dates"] == 70 and dq7.details.count == 70 * 56
    rt = load([str(f)], ReadOptions(prob_col="winstate_chal", outcomes_file=str(of), drop_backcast=True))
    assert set(rt.panel.lengths) == {86} and rt.info["rows_dropped"] == {"backcast": 3920}


def test_538_2020_national():
    f = require_shared("538-pres-2020", "presidential_national_toplines_2020_nov2.csv")
    of = require_shared("538-pres-2020", "outcomes_2020_national.csv")
    li = load([str(f)], ReadOptions(prob_col="ecwin_chal", outcomes_file=str(of)))
    assert list(li.panel.ids) == ["ecwin_chal"] and li.panel.outcome[0] == 1.0
    raw = pd.read_csv(f).assign(id="ecwin_chal", t=lambda d: pd.to_datetime(d["modeldate"], format="%m/%d/%Y"))
    ref = reference_budget(raw, ["id"], ["t"], [True], "ecwin_chal", pd.Series({"ecwin_chal": 1.0}))
    compare(li, ref)
    # known numbers: final 0.8916, first (6/1) 0.7006
    assert li.panel.p_last[0] == 0.8916 and round(li.panel.p0[0], 4) == 0.7006


def test_sample_data_matches_source():
    """sample_data/pres2020_states.csv loads without flags into the same panel as the original."""
    from tests.conftest import SAMPLE_DATA

    f = require_shared("538-pres-2020", "presidential_state_toplines_2020_nov2.csv")
    of = require_shared("538-pres-2020", "outcomes_2020_by_state.csv")
    sample = load([str(SAMPLE_DATA / "pres2020_states.csv")], ReadOptions())
    orig = load([str(f)], ReadOptions(prob_col="winstate_chal", outcomes_file=str(of)))
    np.testing.assert_array_equal(sample.panel.ids, orig.panel.ids)
    np.testing.assert_array_equal(sample.panel.p, orig.panel.p)
    np.testing.assert_array_equal(sample.panel.time, orig.panel.time)
    np.testing.assert_array_equal(sample.panel.outcome, orig.panel.outcome)
    assert {r.code: r for r in sample.findings}["DQ007"].details_dict()["count"] == 3920


# ------------------------------------------------------------------ 538 2018 Senate
def test_538_2018_senate_candidates(tmp_path):
    f = require_shared("538-midterms-2018", "senate_seat_forecast.csv")
    oc = require_shared("538-midterms-2018", "outcomes_2018_senate_governor_candidates.csv")
    key = ["state", "class", "special", "candidate", "model"]
    raw = pd.read_csv(f, dtype=str, keep_default_na=False)
    # outcomes per (race, candidate) -> a table keyed like the series (README: race = state-S<int(class)>)
    cands = raw[key].drop_duplicates()
    cands["race"] = cands["state"] + "-S" + cands["class"].astype(float).astype(int).astype(str)
    won = pd.read_csv(oc, dtype=str, keep_default_na=False)[["race", "candidate", "won"]]
    table = cands.merge(won, on=["race", "candidate"], how="left", validate="many_to_one")
    assert table["won"].ne("").all()
    of = tmp_path / "senate_outcomes.csv"
    table.drop(columns="race").to_csv(of, index=False)
    li = load([str(f)], ReadOptions(series_cols=tuple(key), outcomes_file=str(of)))
    assert li.info["series"] == 291 and li.info["resolved_series"] == 291
    raw["win_probability"] = raw["win_probability"].astype(float)
    outc = table.assign(_id=join_id(table, key)).set_index("_id")["won"].astype(float)
    ref = reference_budget(raw, key, ["forecastdate"], [True], "win_probability", outc)
    compare(li, ref)
    # known number: zero-increment share 31.8%, max |dp| 0.178 (MS-S2 Hyde-Smith, classic)
    assert round(zero_incr_share(li.panel), 3) == 0.318
    k = int(np.argmax(np.abs(li.panel.dp)))
    assert round(abs(li.panel.dp[k]), 3) == 0.178
    assert "Hyde-Smith" in li.panel.ids[li.panel.dp_series[k]]


# ------------------------------------------------------------------ basketball in-game
def test_538_basketball_in_game():
    f = require_shared("538-checking-our-work", "march_madness_in_game_men.csv")
    key = ["season", "team1", "team2"]
    li = load([str(f)], ReadOptions(series_cols=tuple(key), time_col="period,-secs", prob_col="prob1"))
    assert li.info["columns"]["outcome"] == "prob1_outcome" and li.info["series"] == 401
    raw = pd.read_csv(f, dtype={"season": str})
    outc = raw.assign(_id=join_id(raw, key)).groupby("_id")["prob1_outcome"].first()
    ref = reference_budget(raw, key, ["period", "secs"], [True, False], "prob1", outc)
    compare(li, ref)
    # known numbers: zero-incr 14%, max |dp| 0.83; every game's last prob1 equals its outcome (max diff 0.008)
    assert round(zero_incr_share(li.panel), 2) == 0.14
    assert round(float(np.max(np.abs(li.panel.dp))), 2) == 0.83
    assert float(np.max(np.abs(li.panel.p_last - li.panel.outcome))) <= 0.008 + 1e-12


# ------------------------------------------------------------------ PredictIt (local only)
def test_predictit_2018_original_utf16(tmp_path):
    f = require_shared("predictit-2018", "DailyMarketData.csv")
    oc = require_shared("predictit-2018", "outcomes_predictit_2018.csv")
    # the outcome table leaves ContractSymbol empty where the prices say "n/a" (README section 4)
    o = pd.read_csv(oc, dtype=str, keep_default_na=False)[["MarketId", "ContractSymbol", "outcome"]]
    o["ContractSymbol"] = o["ContractSymbol"].replace("", "n/a")
    of = tmp_path / "predictit_outcomes.csv"  # temporary, never stored in the repository
    o.to_csv(of, index=False)
    li = load([str(f)], ReadOptions(series_cols=("MarketId", "ContractSymbol"), prob_col="ClosePrice",
                                    outcomes_file=str(of)))
    assert (li.info["encoding"], li.info["delimiter"]) == ("utf-16", "|")
    assert li.info["series"] == 190 and li.info["resolved_series"] == 190 and li.info["rows_used"] == 44711
    raw = pd.read_csv(f, sep="|", encoding="utf-16", dtype={"MarketId": str}, keep_default_na=False)
    outc = o.assign(_id=o["MarketId"] + "|" + o["ContractSymbol"]).set_index("_id")["outcome"].astype(float)
    ref = reference_budget(raw, ["MarketId", "ContractSymbol"], ["Date"], [True], "ClosePrice", outc)
    compare(li, ref)
    # known numbers: zero-increment share 67%, max |dp| 0.98 (GOP.GA06.2018)
    assert round(zero_incr_share(li.panel), 2) == 0.67
    k = int(np.argmax(np.abs(li.panel.dp)))
    assert round(abs(li.panel.dp[k]), 2) == 0.98 and li.panel.ids[li.panel.dp_series[k]].endswith("GOP.GA06.2018")


# ------------------------------------------------------------------ Intrade (local only)
def test_intrade_2008_cents_zero_missing(tmp_path):
    f = require_shared("intrade-2008", "intrade08.csv")
    oc = require_shared("intrade-2008", "outcomes_intrade_2008.csv")
    li = load([str(f)], ReadOptions(series_cols=("state",), prob_col="PriceD", na_values=("0",),
                                    outcomes_file=str(oc), outcome_col="dem_won"))
    assert li.info["scale"] == "percent" and "auto" in li.info["scale_note"]
    # known number: PriceD = 0 on 562 rows
    assert li.info["rows_dropped"] == {"na_value": 562} and li.info["resolved_series"] == 51
    raw = pd.read_csv(f)
    raw = raw[raw["PriceD"] != 0].assign(p=lambda d: d["PriceD"] / 100.0)
    outc = pd.read_csv(oc).set_index("state")["dem_won"]
    ref = reference_budget(raw, ["state"], ["day"], [True], "p", outc)
    compare(li, ref)
    # known numbers: zero-incr 87% (zeros dropped), max |dp| 0.882; Brier on 2008-11-03 0.028
    assert round(zero_incr_share(li.panel), 2) == 0.87
    assert round(float(np.max(np.abs(li.panel.dp))), 3) == 0.882
    day = (pd.Timestamp("2008-11-03") - pd.Timestamp("1970-01-01")).days
    on = li.panel.time == day
    brier = np.mean((li.panel.p[on] - li.panel.outcome[li.panel.series_index[on]]) ** 2)
    assert round(float(brier), 3) == 0.028


def test_predictit_2018_questions(tmp_path):
    """--question-col MarketId: the 72 two-party markets are questions of 2 outcomes
    (README section 4: "72 'Which party will win …?' markets ... and 46 single-contract"),
    their budget the per-market sums of the contracts' budgets (pandas reference)."""
    import forecheck

    f = require_shared("predictit-2018", "DailyMarketData.csv")
    oc = require_shared("predictit-2018", "outcomes_predictit_2018.csv")
    o = pd.read_csv(oc, dtype=str, keep_default_na=False)[["MarketId", "ContractSymbol", "outcome"]]
    o["ContractSymbol"] = o["ContractSymbol"].replace("", "n/a")
    of = tmp_path / "predictit_outcomes.csv"  # temporary, never stored in the repository
    o.to_csv(of, index=False)
    opts = ReadOptions(series_cols=("MarketId", "ContractSymbol"), prob_col="ClosePrice", outcomes_file=str(of),
                       question_col="MarketId")
    rep = forecheck.analyze(str(f), read_options=opts, n_sim=99, select=("MG101", "MG106", "DQ"))
    q = rep.input["questions"]
    assert (q["source"], q["n_questions"], q["outcomes_per_question"]) == ("declared", 72, {"2": 72})
    assert q["n_series_in_questions"] == 144 and q["n_mirrors_dropped"] == 0  # the two sides do not add up
    raw = pd.read_csv(f, sep="|", encoding="utf-16", dtype={"MarketId": str}, keep_default_na=False)
    outc = o.assign(_id=o["MarketId"] + "|" + o["ContractSymbol"]).set_index("_id")["outcome"].astype(float)
    ref = reference_budget(raw, ["MarketId", "ContractSymbol"], ["Date"], [True], "ClosePrice", outc)
    market = ref.index.str.split("|").str[0]
    two = market.map(market.value_counts()) == 2
    assert q["movement"] == pytest.approx(float(ref.loc[two, "movement"].sum()), rel=1e-9)
    assert q["uncertainty"] == pytest.approx(float(ref.loc[two, "ur"].sum()), rel=1e-9)
    assert rep.result("DQ011").status == "fail"  # some markets' sides sum far from 1 (README: 0.45-1.70)

"""Every DQ rule, the row accounting invariant, and bad input -> InputError.

Expected counts are derived independently from the fixture frames (pandas
groupby/duplicated/diff), not from the validator.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecheck.errors import InputError
from forecheck.io import DQ_RULES, ReadOptions, load, load_frame
from forecheck.results import CheckResult


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "series": ["a"] * 5 + ["b"] * 5,
        "date": [f"2020-01-0{k}" for k in range(1, 6)] * 2,
        "p": [0.5, 0.6, 0.55, 0.7, 0.8, 0.4, 0.3, 0.35, 0.2, 0.1],
        "outcome": [1] * 5 + [0] * 5,
    })


def write(tmp_path, df: pd.DataFrame, name: str = "f.csv") -> str:
    f = tmp_path / name
    df.to_csv(f, index=False)
    return str(f)


def by_code(li) -> dict[str, CheckResult]:
    return {r.code: r for r in li.findings}


def accounted(li) -> None:
    i = li.info
    assert i["rows_read"] == i["rows_used"] + sum(i["rows_dropped"].values())
    assert i["rows_used"] == li.panel.n_obs


# ------------------------------------------------------------------ rule table
def test_rule_table_is_complete_and_every_rule_reports():
    codes = [c for c, *_ in DQ_RULES]
    assert len(codes) == len(set(codes)) and all(c.startswith("DQ") and len(c) == 5 for c in codes)
    assert {s for _, _, s, _ in DQ_RULES} <= {"info", "warning", "error"}
    li = load_frame(frame())
    recs = by_code(li)
    assert set(recs) == set(codes)  # one record per rule, either way
    for r in li.findings:
        assert r.family == "DQ" and r.test_based is False and r.status in ("pass", "fail")
        json.dumps(r.to_dict())
    assert all(r.status == "pass" for r in li.findings)  # clean input: no finding


# ------------------------------------------------------------------ findings
def test_dq001_missing_and_inf_dropped(tmp_path):
    df = frame().astype({"p": object})
    df.loc[1, "p"] = ""
    df.loc[6, "p"] = "NA"
    df.loc[7, "p"] = "inf"
    li = load([write(tmp_path, df)])
    r = by_code(li)["DQ001"]
    assert r.status == "fail" and r.severity == "warning"
    assert r.details_dict()["count"] == 3 and r.details_dict()["missing"] == 2 and r.details_dict()["nonfinite"] == 1
    assert [d["line"] for d in r.details_dict()["rows"]] == [3, 8, 9]  # 0-based rows 1, 6, 7 + header + 1
    assert li.info["rows_dropped"] == {"missing_p": 3}
    accounted(li)


def test_dq002_na_values_own_reason(tmp_path):
    df = frame().assign(p=lambda d: (d["p"] * 100).round(1))
    df.loc[[0, 9], "p"] = 0  # Intrade-style "0 = no data"
    path = write(tmp_path, df)
    li = load([path], ReadOptions(na_values=("0",)))
    r = by_code(li)["DQ002"]
    assert r.status == "fail" and r.details_dict()["count"] == 2
    assert li.info["rows_dropped"] == {"na_value": 2} and li.info["scale"] == "percent"
    accounted(li)


def test_dq003_duplicates_same_value_dropped(tmp_path):
    df = frame()
    dup = pd.concat([df, df.iloc[[2, 7]]], ignore_index=True)
    li = load([write(tmp_path, dup)])
    r = by_code(li)["DQ003"]
    n_dup = int(dup.duplicated(["series", "date"]).sum())  # independent count
    assert r.status == "fail" and r.details_dict()["count"] == n_dup == 2
    assert [d["line"] for d in r.details_dict()["rows"]] == [12, 13]  # the later copies are dropped
    assert li.info["rows_dropped"] == {"duplicate": 2} and li.panel.n_obs == 10
    accounted(li)


def test_dq005_short_series_kept():
    df = pd.concat([frame(), pd.DataFrame({"series": ["c", "c"], "date": ["2020-01-01", "2020-01-02"],
                                           "p": [0.5, 0.6], "outcome": [1, 1]})], ignore_index=True)
    li = load_frame(df, ReadOptions(), min_length=3)
    r = by_code(li)["DQ005"]
    assert r.status == "fail" and r.details_dict()["count"] == 1 and r.details_dict()["series"] == [{"series": "c", "n": 2}]
    assert "c" in list(li.panel.ids) and li.info["short_series"] == 1


def test_dq006_certainty_then_move():
    df = frame()
    df.loc[2, "p"] = 1.0  # a: 0.6 -> 1.0 -> 0.7 : moves away from certainty once
    df.loc[8, "p"] = 0.0
    df.loc[9, "p"] = 0.0  # b: 0 -> 0 stays: not a finding
    li = load_frame(df)
    r = by_code(li)["DQ006"]
    assert r.status == "fail" and r.details_dict()["count"] == 1 and r.details_dict()["rows"][0]["from"] == 1.0
    assert r.details_dict()["rows"][0]["value"] == 0.7  # the row after the 1.0 (frame row 3)


def test_dq007_backcast_detected_and_optionally_dropped(tmp_path):
    df = frame()
    # rows of the first 3 dates of each series were published on 2020-01-10 (back-filled)
    df["published"] = np.where(df["date"] <= "2020-01-03", "2020-01-10T12:00:00", df["date"] + "T23:00:00")
    path = write(tmp_path, df)
    li = load([path])
    r = by_code(li)["DQ007"]
    lag = (pd.to_datetime(df["published"]) - pd.to_datetime(df["date"])).dt.total_seconds() / 86400
    assert r.status == "fail" and r.details_dict()["count"] == int((lag > 1).sum()) == 6
    assert r.details_dict()["model_dates"] == 3
    assert li.info["columns"]["published"] == "published"
    li2 = load([path], ReadOptions(drop_backcast=True))
    assert li2.info["rows_dropped"] == {"backcast": 6} and li2.panel.n_obs == 4
    accounted(li2)


def test_dq007_538_timestamp_format(tmp_path):
    df = frame().assign(date=pd.to_datetime(frame()["date"]).dt.strftime("%-m/%-d/%Y"))
    df["timestamp"] = "00:00:48  10 Jan 2020"  # 538's run-time format, double space
    li = load([write(tmp_path, df)])
    assert by_code(li)["DQ007"].details_dict()["count"] == 10


def test_dq008_and_dq009(tmp_path):
    df = frame().astype({"outcome": object})
    df.loc[df["series"] == "b", "outcome"] = ""
    df["resolved_at"] = "2020-01-04"
    li = load([write(tmp_path, df)])
    rec = by_code(li)
    assert rec["DQ008"].status == "fail" and rec["DQ008"].details_dict()["count"] == 1
    assert rec["DQ009"].status == "fail" and rec["DQ009"].details_dict()["count"] == 2  # 01-05 in a and b


def test_row_accounting_everything_at_once(tmp_path):
    df = frame().astype({"p": object})
    df.loc[0, "p"] = ""
    df.loc[1, "p"] = "-1"  # na value
    df = pd.concat([df, df.iloc[[5]]], ignore_index=True)
    li = load([write(tmp_path, df)], ReadOptions(na_values=("-1",)))
    assert li.info["rows_read"] == 11
    assert li.info["rows_dropped"] == {"na_value": 1, "missing_p": 1, "duplicate": 1}
    accounted(li)


# ------------------------------------------------------------------ bad input
def test_bad_empty_and_header_only(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load([str(f)])
    f.write_text("series,date,p\n")
    with pytest.raises(InputError, match="no data rows"):
        load([str(f)])


def test_bad_binary_prose_json(tmp_path):
    f = tmp_path / "junk.csv"
    f.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError, match="binary"):
        load([str(f)])
    f.write_text("It was a bright cold day in April and the clocks were striking thirteen.\n"
                 "Winston Smith slipped quickly through the glass doors of Victory Mansions.\n")
    with pytest.raises(InputError, match="does not look like a table"):
        load([str(f)])
    f.write_text(json.dumps([{"series": "a", "p": 0.5}]))
    with pytest.raises(InputError, match="looks like JSON"):
        load([str(f)])


def test_bad_directory_missing_file_bad_gzip(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load([str(tmp_path)])
    with pytest.raises(InputError, match="no such file"):
        load([str(tmp_path / "nope.csv")])
    f = tmp_path / "f.csv.gz"
    f.write_text("series,date,p\n")
    with pytest.raises(InputError, match="not gzip"):
        load([str(f)])


def test_bad_missing_probability_column(tmp_path):
    path = write(tmp_path, frame().rename(columns={"p": "value"}).assign(value=["x"] * 10))
    with pytest.raises(InputError, match=r"no probability column.*--prob-col"):
        load([path])
    with pytest.raises(InputError, match=r"--prob-col 'nope': no such column"):
        load([path], ReadOptions(prob_col="nope"))


def test_bad_ambiguous_probability_columns(tmp_path):
    df = frame().drop(columns="p").assign(winstate_chal=frame()["p"], winstate_inc=1 - frame()["p"])
    with pytest.raises(InputError, match=r"winstate_chal, winstate_inc.*--prob-col") as e:
        load([write(tmp_path, df)])
    assert e.value.code == "DQ057"
    li = load([write(tmp_path, df)], ReadOptions(prob_col="winstate_chal"))
    np.testing.assert_allclose(li.panel.p, frame()["p"])


def test_bad_text_probabilities(tmp_path):
    df = frame().astype({"p": object})
    df.loc[3, "p"] = "high"
    df.loc[7, "p"] = "0.3x"
    with pytest.raises(InputError, match=r"'p': 2 values are not numbers: line 5 \('high'\), line 9 \('0.3x'\)") \
            as e:
        load([write(tmp_path, df)])
    assert e.value.code == "DQ051" and e.value.details[0]["line"] == 5


def test_bad_out_of_range(tmp_path):
    df = frame()
    df.loc[4, "p"] = 1.7
    with pytest.raises(InputError, match=r"scale unclear.*line 6.*--scale") as e:
        load([write(tmp_path, df)])
    assert e.value.code == "DQ056"
    with pytest.raises(InputError, match=r"1 probabilities outside \[0, 1\]: line 6 \(1.7\)"):
        load([write(tmp_path, df)], ReadOptions(scale="unit"))
    df.loc[4, "p"] = -0.2
    with pytest.raises(InputError, match=r"outside .*line 6"):
        load([write(tmp_path, df)])
    df.loc[4, "p"] = 140
    with pytest.raises(InputError, match=r"outside \[0, 100\]"):
        load([write(tmp_path, df)], ReadOptions(scale="percent"))


def test_bad_invalid_and_conflicting_outcomes(tmp_path):
    df = frame().astype({"outcome": object})
    df.loc[2, "outcome"] = "maybe"
    with pytest.raises(InputError, match=r"outcome column 'outcome': 1 values .*line 4 \('maybe'\)"):
        load([write(tmp_path, df)])
    df.loc[2, "outcome"] = 0  # series a: 1,1,0,1,1
    with pytest.raises(InputError, match=r"1 series have conflicting outcomes: 'a'") as e:
        load([write(tmp_path, df)])
    assert e.value.code == "DQ053"


def test_bad_conflicting_duplicates_with_hint(tmp_path):
    df = frame().assign(candidate="x")
    df2 = df.assign(candidate="y", p=1 - df["p"])
    with pytest.raises(InputError, match=r"different probability.*--series-col.*candidate") as e:
        load([write(tmp_path, pd.concat([df, df2]))])
    assert e.value.code == "DQ052"


def test_bad_times(tmp_path):
    df = frame()
    df.loc[6, "date"] = "someday"
    with pytest.raises(InputError, match=r"time column 'date': 1 values .*line 8 \('someday'\)"):
        load([write(tmp_path, df)])
    with pytest.raises(InputError, match="no time column"):
        load([write(tmp_path, frame().rename(columns={"date": "when"}))])


def test_bad_blank_series_id(tmp_path):
    df = frame()
    df.loc[3, "series"] = ""
    with pytest.raises(InputError, match=r"1 rows have no series id: line 5"):
        load([write(tmp_path, df)])


def test_bad_zip_and_mismatched_files(tmp_path):
    f = tmp_path / "f.zip"
    f.write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    with pytest.raises(InputError, match="ZIP"):
        load([str(f)])
    a = write(tmp_path, frame(), "a.csv")
    b = write(tmp_path, frame().drop(columns="outcome"), "b.csv")
    with pytest.raises(InputError, match="lacks column"):
        load([a, b])


@pytest.mark.parametrize("values", [[1.5], [0.5, 1.5], [0.2, 0.4, 0.6, 1.5, 2.0]])
def test_auto_scale_refuses_a_handful_of_values_above_one(tmp_path, values):
    # A few values above 1 among probabilities are errors, not a percent column:
    # --scale auto must stop (DQ056) rather than divide everything by 100.
    df = pd.DataFrame({"series": "a", "time": range(len(values)), "p": values})
    with pytest.raises(InputError, match="scale unclear") as e:
        load([write(tmp_path, df)])
    assert e.value.code == "DQ056"

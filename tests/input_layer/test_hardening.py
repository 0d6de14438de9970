"""Input hardening (issue #13) and the validator's structure (issue #8 item 6).

Expected values come from the fixtures themselves (the dates, integers and
sizes written into them), never from running the validator first.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forecheck.errors import InputError
from forecheck.io import InputInfo, ReadOptions, load, load_frame, load_panel
from forecheck.io.dq_rules import BY_CODE, DQ_RULES, RULES_TABLE
from forecheck.io.infer import _is_prob_like, _prob_like_many, infer_columns
from forecheck.io.loaded import INFO_KEYS
from forecheck.io.validate import PANEL_STEPS, ROW_STEPS
from forecheck.panel import Panel


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecheck", "analyze", *args, "--select", "DQ", "--allow-empty"],
                          capture_output=True, text=True, timeout=120)


def csv(tmp_path, text: str, name: str = "f.csv") -> str:
    f = tmp_path / name
    f.write_text(text)
    return str(f)


# ------------------------------------------------------------------ dates out of the ns range
def test_typo_far_future_date_is_read(tmp_path):
    days = [f"2020-01-0{k}" for k in range(1, 6)]
    days[2] = "2999-01-02"  # typo among 2020 dates: a valid ISO date beyond 2262
    df = pd.DataFrame({"series": ["a"] * 5, "date": days, "p": [0.5, 0.6, 0.55, 0.7, 0.8]})
    f = tmp_path / "f.csv"
    df.to_csv(f, index=False)
    li = load([str(f)])
    # days since 1970-01-01 of 2999-01-02, from numpy's proleptic Gregorian calendar
    expect = float(np.datetime64("2999-01-02", "D").astype(np.int64))
    assert li.panel.time.max() == expect
    assert li.info["time_range"] == ["2020-01-01", "2999-01-02"]
    r = run_cli(str(f))
    assert r.returncode in (0, 1) and "internal error" not in r.stderr


def test_unreadable_year_reports_lines_exit_2(tmp_path):
    f = csv(tmp_path, "series,date,p\na,2020-01-01,0.5\na,10000-01-02,0.6\na,2020-01-03,0.7\n")
    with pytest.raises(InputError) as exc:
        load([f])
    assert exc.value.code == "DQ055" and "line 3" in exc.value.message
    r = run_cli(f)
    assert r.returncode == 2 and "line 3" in r.stderr and "OutOfBounds" not in r.stderr


def test_parquet_timestamps_in_year_1(tmp_path):
    import datetime as dt

    times = [dt.datetime(1, 1, 1), dt.datetime(1, 1, 2), dt.datetime(2020, 1, 1)]
    t = pa.table({"series": ["a"] * 3, "time": pa.array(times, pa.timestamp("us")), "p": [0.5, 0.6, 0.7]})
    f = tmp_path / "f.parquet"
    pq.write_table(t, f)
    li = load([str(f)])
    first = float(np.datetime64("0001-01-01", "D").astype(np.int64))  # -719162 days
    np.testing.assert_array_equal(li.panel.time, [first, first + 1, float(np.datetime64("2020-01-01", "D")
                                                                           .astype(np.int64))])
    assert li.info["time_kind"] == "date" and li.info["time_range"] == ["0001-01-01", "2020-01-01"]


# ------------------------------------------------------------------ exact integer times
BASE_NS = 1_600_000_000_000_000_000  # a nanosecond epoch (2020-09-13), far above 2**53


@pytest.mark.parametrize("as_text", [False, True])
def test_ns_epochs_above_2_53_are_not_duplicates(as_text):
    assert BASE_NS > 2**53 and float(BASE_NS + 1) == float(BASE_NS + 2)  # float64 cannot tell them apart
    t = [BASE_NS + 3, BASE_NS + 1, BASE_NS + 2, BASE_NS + 4]
    df = pd.DataFrame({"series": ["a"] * 4, "time": [str(x) for x in t] if as_text else t,
                       "p": [0.3, 0.1, 0.2, 0.4]})
    li = load_frame(df)  # would raise DQ052 if the times were compared as float64
    codes = {r.code: r for r in li.findings}
    assert codes["DQ052"].status == "pass" and codes["DQ003"].status == "pass"
    # sorted by the exact times: p was written so that time order gives 0.1, 0.2, 0.3, 0.4
    np.testing.assert_array_equal(li.panel.p, [0.1, 0.2, 0.3, 0.4])
    assert codes["DQ004"].details_dict()["count"] == 1  # one row (t+1) earlier than the row before it
    assert any("2^53" in n for n in li.info["notes"])


def test_exact_integer_duplicates_still_conflict():
    df = pd.DataFrame({"series": ["a"] * 3, "time": [BASE_NS + 1, BASE_NS + 1, BASE_NS + 2], "p": [0.1, 0.2, 0.3]})
    with pytest.raises(InputError) as exc:
        load_frame(df)
    assert exc.value.code == "DQ052"


# ------------------------------------------------------------------ limits
def gz_bomb(tmp_path, rows: int) -> str:
    f = tmp_path / "bomb.csv.gz"
    f.write_bytes(gzip.compress(("series,time,p\n" + "s,0,0.5\n" * rows).encode()))
    return str(f)


def test_gzip_past_max_bytes_stops(tmp_path):
    f = gz_bomb(tmp_path, 200_000)  # ~1.6 MB of text in a few kB of gzip
    with pytest.raises(InputError) as exc:
        load([f], ReadOptions(max_bytes=100_000))
    assert exc.value.code == "DQ058" and "--max-bytes" in exc.value.message
    r = run_cli(f, "--max-bytes", "100000")
    assert r.returncode == 2 and "--max-bytes" in r.stderr
    li = load([f], ReadOptions(max_bytes=0))  # lifted: read; the 200,000 identical rows are one row + copies
    assert li.info["rows_read"] == 200_000 and li.info["rows_dropped"] == {"duplicate": 199_999}


def test_gzip_past_max_rows_stops(tmp_path):
    f = gz_bomb(tmp_path, 5_000)
    with pytest.raises(InputError) as exc:
        load([f], ReadOptions(max_rows=1_000))
    assert exc.value.code == "DQ058" and "--max-rows" in exc.value.message
    r = run_cli(f, "--max-rows", "1000")
    assert r.returncode == 2 and "--max-rows" in r.stderr


def test_max_rows_counts_all_inputs_and_wide_cells(tmp_path):
    df = pd.DataFrame({"date": ["2020-01-01", "2020-01-02", "2020-01-03"], "a": [0.1, 0.2, 0.3],
                       "b": [0.4, 0.5, 0.6]})
    assert load_frame(df, ReadOptions(max_rows=6)).info["rows_read"] == 6  # 3 times x 2 series
    with pytest.raises(InputError, match="--max-rows"):
        load_frame(df, ReadOptions(max_rows=5))


def test_too_many_columns(tmp_path):
    cols = ["date"] + [f"c{j}" for j in range(30)]
    df = pd.DataFrame([["2020-01-01"] + [0.5] * 30], columns=cols)
    f = tmp_path / "wide.csv"
    df.to_csv(f, index=False)
    pf = tmp_path / "wide.parquet"
    df.to_parquet(pf)
    for call in (lambda: load([str(f)], ReadOptions(max_columns=10)),
                 lambda: load([str(pf)], ReadOptions(max_columns=10)),
                 lambda: load_frame(df, ReadOptions(max_columns=10))):
        with pytest.raises(InputError) as exc:
            call()
        assert exc.value.code == "DQ058" and "31 columns" in exc.value.message
    assert load([str(f)], ReadOptions(max_columns=0)).info["layout"] == "wide"
    r = run_cli(str(f), "--max-columns", "10")
    assert r.returncode == 2 and "--max-columns" in r.stderr


@pytest.mark.parametrize("field", ["max_rows", "max_bytes", "max_columns"])
def test_limits_validated_at_construction(field):
    with pytest.raises(ValueError, match="--" + field.replace("_", "-")):
        ReadOptions(**{field: -1})


def test_memory_error_is_an_input_error(tmp_path, monkeypatch):
    f = csv(tmp_path, "series,time,p\na,0,0.5\na,1,0.6\n")

    def boom(*a, **k):
        raise MemoryError

    import pyarrow.csv

    monkeypatch.setattr(pd, "read_csv", boom)
    monkeypatch.setattr(pyarrow.csv, "read_csv", boom)  # the reader's own pyarrow pass
    with pytest.raises(InputError) as exc:
        load([f])
    assert "out of memory while reading" in exc.value.message and f in exc.value.message


# ------------------------------------------------------------------ column inference
def test_prob_like_many_agrees_with_the_per_column_rule():
    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame({
        "unit": rng.uniform(0, 1, n).round(3).astype(str),
        "pct": rng.uniform(0, 100, n).round(1).astype(str),
        "big": rng.uniform(0, 200, n).round(1).astype(str),
        "neg": rng.uniform(-1, 1, n).round(2).astype(str),
        "text": ["x"] * n,
        "mostly": ["0.5"] * (n - 1) + ["x"],  # 97.5 % numbers: prob-like
        "half": ["0.5"] * (n // 2) + [""] * (n // 2),  # blanks are not counted
        "blank": [""] * n,
        "inf": ["inf"] * n,
        "num": rng.uniform(0, 1, n),
        "numbig": rng.uniform(0, 1000, n),
        "flag": rng.uniform(size=n) > 0.5,
        "when": pd.date_range("2020-01-01", periods=n),
    })
    cols = list(df.columns)
    expect = np.array([_is_prob_like(df, c) for c in cols])
    np.testing.assert_array_equal(_prob_like_many(df, cols), expect)
    assert expect.tolist() == [True, True, False, False, False, True, True, False, False, True, False, False,
                               False]


def test_wide_inference_on_20000_columns():
    """Functional bound: 20,000 series columns infer as wide (the timing is benchmarks/input_speed.py)."""
    k = 20_000
    vals = np.tile(np.array([["0.1"], ["0.2"], ["0.3"]]), (1, k))
    df = pd.DataFrame(vals, columns=[f"s{j}" for j in range(k)])
    df.insert(0, "date", ["2020-01-01", "2020-01-02", "2020-01-03"])
    cm = infer_columns(df, ReadOptions(), "wide.csv")
    assert cm.layout == "wide" and len(cm.value_cols) == k
    li = load_frame(df)
    assert li.info["series"] == k and li.info["rows_read"] == 3 * k


# ------------------------------------------------------------------ degenerate start
def test_every_series_starting_at_certainty_is_reported():
    df = pd.DataFrame({"series": ["a", "a", "b", "b", "c", "c"], "time": [0, 1] * 3,
                       "p": [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]})
    r = {x.code: x for x in load_frame(df).findings}["DQ010"]
    assert r.status == "fail" and r.details_dict()["count"] == 3 and r.details_dict()["all"] is True
    df.loc[0, "p"] = 0.4
    r = {x.code: x for x in load_frame(df).findings}["DQ010"]
    assert r.status == "fail" and r.details_dict()["count"] == 2 and r.details_dict()["all"] is False
    df["p"] = 0.4
    assert {x.code: x for x in load_frame(df).findings}["DQ010"].status == "pass"


# ------------------------------------------------------------------ structure
# The keys of the JSON input block as the validator wrote its info dict before
# InputInfo (forecheck/io/validate.py at commit 8b0c96f), in that order.
OLD_INFO_KEYS = ["paths", "format", "encoding", "delimiter", "layout", "columns", "scale", "scale_note",
                 "rows_read", "rows_used", "rows_dropped", "series", "resolved_series", "short_series",
                 "time_kind", "time_unit", "time_range", "notes"]


def test_input_info_to_dict_keeps_the_old_keys_and_types():
    df = pd.DataFrame({"series": ["a"] * 4 + ["b"] * 4, "date": [f"2020-01-0{k}" for k in range(1, 5)] * 2,
                       "p": [0.5, 0.6, "", 0.7, 0.4, 0.4, 0.3, 0.2]})
    li = load_frame(df)
    assert isinstance(li.info, InputInfo)
    d = li.info.to_dict()
    assert list(d) == OLD_INFO_KEYS == list(INFO_KEYS)
    assert d["rows_dropped"] == {"missing_p": 1} and d["time_range"] == ["2020-01-01", "2020-01-04"]
    assert isinstance(d["paths"], list) and isinstance(d["notes"], list) and isinstance(d["time_range"], list)
    assert json.loads(json.dumps(d)) == d
    assert li.info["rows_read"] == d["rows_read"] == 8
    assert list(load_panel(li.panel).info.to_dict()) == OLD_INFO_KEYS
    with pytest.raises(Exception):
        li.info.rows_read = 3  # frozen


def test_steps_account_for_every_row_and_report_each_rule_once():
    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame({"series": rng.choice(list("abcdefgh"), n), "time": rng.integers(0, 60, n),
                       "p": rng.uniform(0.05, 0.95, n).round(2).astype(str)})
    df = df.drop_duplicates(["series", "time"]).reset_index(drop=True)
    m = len(df)
    df.loc[rng.choice(m, 15, replace=False), "p"] = ""  # DQ001
    nas = rng.choice(np.flatnonzero(df["p"] != ""), 7, replace=False)
    df.loc[nas, "p"] = "-1"  # DQ002 with --na-values -1
    copies = df[df["p"].isin(["", "-1"]) == False].sample(9, random_state=1)  # noqa: E712  DQ003
    df = pd.concat([df, copies], ignore_index=True)
    li = load_frame(df, ReadOptions(na_values=("-1",)))
    i = li.info
    # expected from the fixture's construction
    assert i["rows_dropped"] == {"na_value": 7, "missing_p": 15, "duplicate": 9}
    assert i["rows_read"] == len(df) == i["rows_used"] + 31 == li.panel.n_obs + 31
    codes = [r.code for r in li.findings]
    assert sorted(codes) == codes and codes == sorted(r.code for r in RULES_TABLE)
    assert len(ROW_STEPS) >= 9 and len(PANEL_STEPS) >= 5 and all(callable(s) for s in ROW_STEPS + PANEL_STEPS)


def test_rule_table_has_meaning_and_action_and_docs_list_every_code():
    from pathlib import Path

    assert [c for c, *_ in DQ_RULES] == [r.code for r in RULES_TABLE]
    assert all(r.summary and r.action for r in RULES_TABLE)
    docs = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
    text = docs.read_text()
    dq = text[text.index("## DQ"):text.index("## MG")]
    for r in RULES_TABLE:
        assert f"| {r.code} | `{r.name}` | {r.severity} |" in dq and r.action in dq
    assert BY_CODE["DQ058"].severity == "error"


def test_one_panel_constructor_codes_and_ids_agree():
    rng = np.random.default_rng(5)
    n = 300
    ids = rng.choice(["b", "a", "c10", "c9"], n)
    t = rng.permutation(n).astype(float)
    p = rng.uniform(size=n)
    codes, labels = pd.factorize(ids)
    by_ids = Panel.from_arrays(ids, t, p, outcome=(ids == "a").astype(float))
    by_codes = Panel.from_arrays(codes, t, p, labels=np.asarray(labels, dtype=object),
                                 outcome_by_code=(np.asarray(labels) == "a").astype(float),
                                 row_meta={"src": np.arange(n)})
    for name in ("ids", "offsets", "time", "p", "outcome"):
        np.testing.assert_array_equal(getattr(by_ids, name), getattr(by_codes, name))
    assert list(by_ids.ids) == ["a", "b", "c10", "c9"]  # sorted as strings
    np.testing.assert_array_equal(p[by_codes.meta["src"]], by_codes.p)


def test_rule_command_reads_the_dq_table():
    r = subprocess.run([sys.executable, "-m", "forecheck", "rule", "DQ010"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "certain-start" in r.stdout
    flat = " ".join(r.stdout.split())  # the text is wrapped at 78 columns
    assert "What to do: " + BY_CODE["DQ010"].action in flat

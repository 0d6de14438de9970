"""Readers and awkward-but-valid input: every format is read into the same panel.

Expected values come from an independent pandas computation on the frame that
generated the fixture (sort by series then time), never from the loader.
"""

from __future__ import annotations

import gzip
import io
import sys

import numpy as np
import pandas as pd
import pytest

from forecheck.io import ReadOptions, load, load_frame, load_panel
from forecheck.panel import Panel


def base_frame() -> pd.DataFrame:
    """Two resolved series, four daily forecasts each, already in time order."""
    return pd.DataFrame({
        "series": ["a"] * 4 + ["b"] * 4,
        "date": ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-05"] * 2,
        "p": [0.5, 0.6, 0.55, 0.7, 0.4, 0.3, 0.35, 0.2],
        "outcome": [1] * 4 + [0] * 4,
    })


def expected(df: pd.DataFrame, p_col: str = "p", scale: float = 1.0) -> pd.DataFrame:
    """Independent reference: per-row series/time(days)/p sorted by (series, time)."""
    d = pd.DataFrame({"series": df["series"].astype(str),
                      "time": (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.days.astype(float),
                      "p": df[p_col].astype(float) / scale})
    return d.sort_values(["series", "time"]).reset_index(drop=True)


def assert_panel_matches(li, ref: pd.DataFrame, outcomes: dict | None = None) -> None:
    got = li.panel.to_frame()
    np.testing.assert_array_equal(got["series"].to_numpy(dtype=str), ref["series"].to_numpy(dtype=str))
    np.testing.assert_allclose(got["time"].to_numpy(), ref["time"].to_numpy())
    np.testing.assert_allclose(got["p"].to_numpy(), ref["p"].to_numpy())
    if outcomes is not None:
        got_o = dict(zip(li.panel.ids, li.panel.outcome))
        for k, v in outcomes.items():
            if np.isnan(v):
                assert np.isnan(got_o[k])
            else:
                assert got_o[k] == v
    info = li.info
    assert info["rows_read"] == info["rows_used"] + sum(info["rows_dropped"].values())


OUT = {"a": 1.0, "b": 0.0}


def test_csv_plain(tmp_path):
    df = base_frame()
    f = tmp_path / "f.csv"
    df.to_csv(f, index=False)
    li = load([str(f)], ReadOptions())
    assert_panel_matches(li, expected(df), OUT)
    i = li.info
    assert (i["format"], i["delimiter"], i["encoding"], i["layout"]) == ("csv", ",", "utf-8", "long")
    assert i["columns"]["series"] == ["series"] and i["columns"]["time"] == "date"
    assert i["columns"]["p"] == "p" and i["columns"]["outcome"] == "outcome"
    assert i["time_kind"] == "date" and i["time_range"] == ["2020-01-01", "2020-01-05"]
    assert i["series"] == 2 and i["resolved_series"] == 2 and i["rows_read"] == 8
    assert any("'p'" in n for n in i["notes"])
    # source_row: 1-based file line numbers (header is line 1)
    np.testing.assert_array_equal(li.panel.source_row, np.arange(2, 10))


@pytest.mark.parametrize("name, sep", [("f.tsv", "\t"), ("f.csv", ";"), ("f.csv", "|"), ("f.txt", "\t")])
def test_delimiters(tmp_path, name, sep):
    df = base_frame()
    f = tmp_path / name
    df.to_csv(f, index=False, sep=sep)
    li = load([str(f)], ReadOptions())
    assert li.info["delimiter"] == sep
    assert_panel_matches(li, expected(df), OUT)


@pytest.mark.parametrize("name, sep", [("f.csv.gz", ","), ("f.tsv.gz", "\t")])
def test_gzip(tmp_path, name, sep):
    df = base_frame()
    f = tmp_path / name
    f.write_bytes(gzip.compress(df.to_csv(index=False, sep=sep).encode()))
    li = load([str(f)], ReadOptions())
    assert_panel_matches(li, expected(df), OUT)
    assert any("gzip" in n for n in li.info["notes"])


@pytest.mark.parametrize("encoding, bom", [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
                                           ("utf-16-be", "utf-16")])
def test_encodings_bom_crlf(tmp_path, encoding, bom):
    df = base_frame()
    text = df.to_csv(index=False, sep="|", lineterminator="\r\n")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    f = tmp_path / "f.csv"
    f.write_bytes(data)
    li = load([str(f)], ReadOptions())
    assert li.info["encoding"] == bom or li.info["encoding"].startswith(bom)
    assert li.info["columns"]["series"] == ["series"]  # BOM not glued to the first header
    assert_panel_matches(li, expected(df), OUT)


def test_crlf_utf8(tmp_path):
    df = base_frame()
    f = tmp_path / "f.csv"
    f.write_bytes(df.to_csv(index=False, lineterminator="\r\n").encode())
    assert_panel_matches(load([str(f)]), expected(df), OUT)


def test_parquet(tmp_path):
    df = base_frame()
    df2 = df.assign(date=pd.to_datetime(df["date"]))  # typed datetime column
    f = tmp_path / "f.parquet"
    df2.to_parquet(f)
    li = load([str(f)], ReadOptions())
    assert li.info["format"] == "parquet"
    assert_panel_matches(li, expected(df), OUT)


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_text_and_parquet(monkeypatch):
    df = base_frame()
    _stdin(monkeypatch, df.to_csv(index=False).encode())
    li = load(["-"], ReadOptions())
    assert li.info["paths"] == ["-"]
    assert_panel_matches(li, expected(df), OUT)
    buf = io.BytesIO()
    df.to_parquet(buf)
    _stdin(monkeypatch, buf.getvalue())
    li = load(["-"], ReadOptions())
    assert li.info["format"] == "parquet"
    assert_panel_matches(li, expected(df), OUT)


def test_several_files_concatenated(tmp_path):
    df = base_frame()
    f1, f2 = tmp_path / "a.csv", tmp_path / "b.tsv"
    df.iloc[:4].to_csv(f1, index=False)
    df.iloc[4:].to_csv(f2, index=False, sep="\t")
    li = load([str(f1), str(f2)], ReadOptions())
    assert_panel_matches(li, expected(df), OUT)
    assert li.info["rows_read"] == 8 and li.info["paths"] == [str(f1), str(f2)]


def test_percent_scale_auto_and_forced(tmp_path):
    df = base_frame().assign(p=lambda d: d["p"] * 100)
    f = tmp_path / "f.csv"
    df.to_csv(f, index=False)
    li = load([str(f)], ReadOptions())
    assert li.info["scale"] == "percent" and "auto" in li.info["scale_note"]
    assert_panel_matches(li, expected(df, scale=100.0), OUT)
    li = load([str(f)], ReadOptions(scale="percent"))
    assert li.info["scale"] == "percent" and "--scale percent" in li.info["scale_note"]
    assert_panel_matches(li, expected(df, scale=100.0), OUT)


def test_unsorted_input_is_sorted(tmp_path):
    df = base_frame()
    shuffled = df.sample(frac=1.0, random_state=3)
    f = tmp_path / "f.csv"
    shuffled.to_csv(f, index=False)
    li = load([str(f)])
    assert_panel_matches(li, expected(df), OUT)
    rec = {r.code: r for r in li.findings}["DQ004"]
    assert rec.status == "fail"
    # independent count: rows whose time is earlier than the previous row of the same series, file order
    t = pd.to_datetime(shuffled["date"])
    n_back = int((t.groupby(shuffled["series"]).diff().dt.days < 0).sum())
    assert rec.details_dict()["count"] == n_back > 0


def test_us_dates_and_yes_no_outcomes(tmp_path):
    df = base_frame()
    us = df.assign(date=pd.to_datetime(df["date"]).dt.strftime("%-m/%-d/%Y"),
                   outcome=np.where(df["outcome"] == 1, "Yes", "NO"))
    f = tmp_path / "f.csv"
    us.to_csv(f, index=False)
    li = load([str(f)])
    assert "US date" in " ".join(li.info["notes"])
    assert_panel_matches(li, expected(df), OUT)


@pytest.mark.parametrize("true, false", [("true", "false"), ("TRUE", "False"), ("1.0", "0.0"), ("won", "lost")])
def test_outcome_spellings(tmp_path, true, false):
    df = base_frame()
    f = tmp_path / "f.csv"
    df.assign(outcome=np.where(df["outcome"] == 1, true, false)).to_csv(f, index=False)
    assert_panel_matches(load([str(f)]), expected(df), OUT)


def test_unresolved_series_blank_outcome(tmp_path):
    df = base_frame().astype({"outcome": object})
    df.loc[df["series"] == "b", "outcome"] = ""
    f = tmp_path / "f.csv"
    df.to_csv(f, index=False)
    li = load([str(f)])
    assert_panel_matches(li, expected(df), {"a": 1.0, "b": np.nan})
    assert li.info["resolved_series"] == 1
    rec = {r.code: r for r in li.findings}["DQ008"]
    assert rec.status == "fail" and rec.details_dict()["count"] == 1 and rec.details_dict()["series"] == ["b"]


def test_wide_layout_with_outcomes_file(tmp_path):
    df = base_frame()
    wide = df.pivot(index="date", columns="series", values="p").reset_index()
    f = tmp_path / "wide.csv"
    wide.to_csv(f, index=False)
    of = tmp_path / "outcomes.csv"
    pd.DataFrame({"series": ["a", "b"], "outcome": [1, 0]}).to_csv(of, index=False)
    li = load([str(f)], ReadOptions(outcomes_file=str(of)))
    assert li.info["layout"] == "wide" and li.info["columns"]["series"] == ["a", "b"]
    assert_panel_matches(li, expected(df), OUT)
    assert li.info["rows_read"] == 8  # cells: 4 times x 2 series
    # forced long on the same file cannot find a probability column
    with pytest.raises(Exception, match="probability"):
        load([str(f)], ReadOptions(layout="long"))


def test_wide_layout_blank_cells_counted(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("date,x,y\n2020-01-01,0.2,\n2020-01-02,0.3,0.9\n2020-01-03,0.25,0.8\n")
    li = load([str(f)], ReadOptions(layout="wide"))
    assert li.info["rows_read"] == 6 and li.info["rows_used"] == 5
    assert li.info["rows_dropped"] == {"missing_p": 1}


def test_outcomes_file_with_resolution_time(tmp_path):
    df = base_frame().drop(columns="outcome")
    f = tmp_path / "f.csv"
    df.to_csv(f, index=False)
    of = tmp_path / "o.csv"
    of.write_text("id,result,resolved_at\na,yes,2020-01-04\nb,no,2020-01-10\n")
    li = load([str(f)], ReadOptions(outcomes_file=str(of)))
    assert_panel_matches(li, expected(df), OUT)
    days = (pd.to_datetime(["2020-01-04", "2020-01-10"]) - pd.Timestamp("1970-01-01")).days
    np.testing.assert_allclose(li.panel.resolved_at, days.to_numpy(dtype=float))
    rec = {r.code: r for r in li.findings}["DQ009"]  # a's 2020-01-05 row is after 01-04
    assert rec.status == "fail" and rec.details_dict()["count"] == 1


def test_epoch_seconds_integers_datetimes(tmp_path):
    df = base_frame()
    secs = (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.total_seconds().astype(int)
    f = tmp_path / "f.csv"
    df.assign(date=secs).rename(columns={"date": "timestamp"}).to_csv(f, index=False)
    li = load([str(f)])
    assert (li.panel.time_kind, li.panel.time_unit) == ("epoch", "second")
    np.testing.assert_allclose(li.panel.time, np.sort(secs.to_numpy().reshape(2, 4), axis=1).ravel())
    df.assign(date=[0, 1, 2, 4] * 2).rename(columns={"date": "step"}).to_csv(f, index=False)
    li = load([str(f)])
    assert (li.panel.time_kind, li.panel.time_unit) == ("index", "step")
    ts = pd.to_datetime(df["date"]) + pd.to_timedelta([6, 12, 0, 18] * 2, unit="h")
    df.assign(date=ts.dt.strftime("%Y-%m-%dT%H:%M:%S")).to_csv(f, index=False)
    li = load([str(f)])
    assert li.panel.time_kind == "datetime"
    ref = ((ts - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400).to_numpy()
    np.testing.assert_allclose(li.panel.time, np.sort(ref.reshape(2, 4), axis=1).ravel())


def test_series_cols_joined_and_overrides(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("mkt,side,when,close,res\n1,D,2020-01-01,0.4,1\n1,R,2020-01-01,0.6,0\n"
                 "1,D,2020-01-02,0.5,1\n1,R,2020-01-02,0.5,0\n")
    li = load([str(f)], ReadOptions(series_cols=("mkt", "side"), time_col="when", prob_col="close",
                                    outcome_col="res"))
    assert list(li.panel.ids) == ["1|D", "1|R"]
    np.testing.assert_allclose(li.panel.p, [0.4, 0.5, 0.6, 0.5])
    np.testing.assert_allclose(li.panel.outcome, [1, 0])
    assert any("--series-col" in n for n in li.info["notes"])


def test_time_col_several_keys_descending(tmp_path):
    # basketball-like: period ascending, seconds remaining descending
    f = tmp_path / "g.csv"
    rows = [("g1", 2, 100, 0.7), ("g1", 1, 1200, 0.5), ("g1", 1, 30, 0.6), ("g1", 2, 1200, 0.65),
            ("g2", 1, 1200, 0.4), ("g2", 1, 600, 0.3)]
    pd.DataFrame(rows, columns=["game", "period", "secs", "prob1"]).to_csv(f, index=False)
    li = load([str(f)], ReadOptions(series_cols=("game",), time_col="period,-secs", prob_col="prob1"))
    np.testing.assert_allclose(li.panel.p, [0.5, 0.6, 0.65, 0.7, 0.4, 0.3])
    np.testing.assert_allclose(li.panel.time, [0, 1, 2, 3, 0, 1])
    assert li.panel.time_kind == "index"


def test_load_frame_and_load_panel():
    df = base_frame()
    li = load_frame(df, ReadOptions())
    assert li.info["format"] == "dataframe" and li.info["paths"] == ["<dataframe>"]
    assert_panel_matches(li, expected(df), OUT)
    np.testing.assert_array_equal(li.panel.source_row, np.arange(1, 9))  # 1-based frame rows
    lp = load_panel(li.panel)
    assert lp.panel is li.panel and lp.findings == []
    assert lp.info["rows_read"] == lp.info["rows_used"] == 8 and lp.info["series"] == 2
    assert lp.info["time_range"] == ["2020-01-01", "2020-01-05"]


def test_panel_equals_from_arrays():
    """The loader's fast panel builder gives the same panel as Panel.from_arrays."""
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({"series": rng.choice(["x", "y", "z10", "z9"], n), "step": rng.permutation(n),
                       "p": rng.uniform(size=n).round(3)})
    li = load_frame(df)
    ref = Panel.from_arrays(df["series"].to_numpy(), df["step"].to_numpy(float), df["p"].to_numpy())
    np.testing.assert_array_equal(li.panel.ids, ref.ids)
    np.testing.assert_array_equal(li.panel.offsets, ref.offsets)
    np.testing.assert_allclose(li.panel.time, ref.time)
    np.testing.assert_allclose(li.panel.p, ref.p)

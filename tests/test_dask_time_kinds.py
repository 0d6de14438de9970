"""The Dask engine reads a time column as the in-memory engine reads the whole column.

The in-memory loader decides how times are read (datetimes: dates unless some value
has a time of day; numbers: epoch seconds, epoch milliseconds or a step index by
the range of every number; text dates: the first format reading every cell) over the
whole column (io/parse.parse_time). The Dask engine's partitions used to decide it
each on their own rows, so files whose times differ (epoch seconds in one, small
integers in another) were read with different kinds and units, silently combined,
and the header reported the first partition's. Here every file holds its own series
(so the shuffled partitions hold the rows of one kind or the other) and every
expected value is the in-memory engine's on the same files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecheck
from forecheck.config import AnalysisConfig
from forecheck.errors import InputError
from forecheck.io.options import ReadOptions
from tests.test_dask_engine import ROOT, _assert_engines_agree, _panel

#: partitions of the shuffle by series: as many as half the series of the small panels here, so
#: that many partitions hold the series of one file only (with a few partitions of many series
#: each, every partition would hold both files' series and read the mix as the whole column does)
N_PARTITIONS = 12


def _dask(paths, client, **kw):
    from forecheck.engine.dask_engine import analyze_dask

    return analyze_dask(paths, ReadOptions(), AnalysisConfig(**kw), client=client, npartitions=N_PARTITIONS)


DAY = pd.Timestamp("2024-03-01")


def _times(kind: str, step: np.ndarray):
    """Times of one kind at the steps (0, 1, ...) of a series."""
    if kind == "steps":
        return step.astype(np.int64)
    if kind == "epoch_s":
        return 1_709_251_200 + 3_600 * step.astype(np.int64)
    if kind == "epoch_ms":
        return 1_709_251_200_000 + 3_600_000 * step.astype(np.int64)
    if kind == "midnights":
        return DAY + pd.to_timedelta(step, unit="D")
    if kind == "timed":
        return DAY + pd.to_timedelta(step, unit="D") + pd.Timedelta(hours=6)
    if kind == "iso":
        return (DAY + pd.to_timedelta(step, unit="D")).strftime("%Y-%m-%d").to_numpy(dtype=object)
    if kind == "us":
        return (DAY + pd.to_timedelta(step, unit="D")).strftime("%m/%d/%Y").to_numpy(dtype=object)
    if kind == "number_text":
        return step.astype(str).astype(object)
    if kind == "epoch_text":
        return (1_709_251_200 + 3_600 * step).astype(str).astype(object)
    raise ValueError(kind)


def _two_kinds(tmp_path, first: str, second: str, n_series: int = 24, n_steps: int = 8) -> list[str]:
    """Two files, each holding its own half of the series (the first half's times of
    kind ``first``, the second's of kind ``second``)."""
    df = _panel(n_series, n_steps, seed=11, common_scale=0.02)
    half = df["series"] < f"s{n_series // 2:05d}"
    out = tmp_path / "d"
    out.mkdir()
    files = []
    for k, (rows, kind) in enumerate(((half, first), (~half, second))):
        part = df[rows.to_numpy()].copy()
        part["time"] = _times(kind, part["time"].to_numpy())
        files.append(str(out / f"part{k}.parquet"))
        part.to_parquet(files[-1], index=False)
    return files


# (first file's times, second file's times): how the in-memory engine reads the two together
MIXED = [
    ("epoch_s", "steps"),  # 0..7 and 1.7e9..: a step index (not epoch seconds)
    ("epoch_ms", "epoch_s"),  # 1.7e9.. and 1.7e12..: a step index (neither epoch unit)
    ("midnights", "timed"),  # datetimes, some at 06:00: kind datetime (not date)
    ("epoch_text", "number_text"),  # numbers as text: a step index
]


@pytest.mark.parametrize("first, second", MIXED)
def test_partitions_of_two_time_kinds_read_as_the_whole_column(client, tmp_path, monkeypatch, first, second):
    """Kind, unit, time range, the note saying how times were read and every record
    equal the in-memory engine's on the same files (MG101's analytic reference in both:
    test_dask_engine.test_the_sample_as_parquet_equals_the_in_memory_engine)."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    files = _two_kinds(tmp_path, first, second)

    def read_as(rep) -> list[str]:
        return [n for n in rep.input["notes"] if n.startswith("Times read as")]

    mem = forecheck.analyze(files)
    # a file alone reads otherwise than the two together (as a partition of its series alone did)
    alone = [read_as(forecheck.analyze([f], config=AnalysisConfig(select=("DQ",)))) for f in files]
    assert len(read_as(mem)) == 1 and any(a != read_as(mem) for a in alone)
    dsk = _dask([str(tmp_path / "d")], client)
    for key in ("time_kind", "time_unit", "time_range"):
        assert dsk.input[key] == mem.input[key], key
    assert read_as(dsk) == read_as(mem)
    _assert_engines_agree(dsk, mem)


def test_resolution_times_read_as_the_whole_column(client, tmp_path, monkeypatch):
    """A resolved_at column (found by its name) of epoch seconds for the first file's
    series and blank for the second's: the whole column is epoch seconds, the time
    column's unit, so it is used; a partition of the second file's series alone read
    its blank numbers as a step index and said "Resolution time column 'resolved_at'
    ignored". Notes and every record: the in-memory engine's on the same files."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    files = _two_kinds(tmp_path, "epoch_s", "epoch_s")
    for k, f in enumerate(files):
        part = pd.read_parquet(f)
        end = part.groupby("series")["time"].transform("max") + 3_600
        part.assign(resolved_at=end.astype(float) if k == 0 else np.nan).to_parquet(f, index=False)
    mem = forecheck.analyze(files)
    dsk = _dask([str(tmp_path / "d")], client)
    assert mem.input["columns"]["resolved_at"] == dsk.input["columns"]["resolved_at"] == "resolved_at"

    def ignored(rep) -> list[str]:
        return [n for n in rep.input["notes"] if n.startswith("Resolution time column")]

    assert ignored(dsk) == ignored(mem) == []
    _assert_engines_agree(dsk, mem)


@pytest.mark.parametrize("first, second", [("iso", "us"), ("number_text", "iso")])
def test_time_cells_no_one_reading_reads_stop(client, tmp_path, first, second):
    """ISO dates in one file and US dates in another (or numbers in one, dates in the
    other): the in-memory engine reads the whole column with the format failing on the
    fewest cells and stops on the others (DQ055: an InputError, exit 2); so does the
    Dask engine (its partitions used to read each file in its own format and go on),
    with the in-memory message: its cells counted and its rows named over every
    partition (test_bad_time_cells_are_counted_over_every_partition)."""
    from forecheck.engine.dask_engine import analyze_dask

    # (four series in twelve partitions: none holds both files' series, which would stop on its own)
    files = _two_kinds(tmp_path, first, second, n_series=4, n_steps=6)
    with pytest.raises(InputError) as mem:
        forecheck.analyze(files)
    mem_text = str(mem.value)
    with pytest.raises(InputError) as dsk:
        analyze_dask([str(tmp_path / "d")], ReadOptions(), AnalysisConfig(), client=client, npartitions=N_PARTITIONS)
    text = str(dsk.value)
    assert mem.value.code == dsk.value.code == "DQ055"
    # the file of the in-memory message's first row reference ("FILE:ROW ('cell')"): the file the
    # whole column's format does not read
    bad_file = mem_text.split("number): ")[1].split(",")[0].split(" (")[0].rsplit(":", 1)[0]
    assert bad_file in files
    head = "time column 'time': "
    assert head in mem_text and head in text and f"{bad_file}:" in text, text
    assert mem_text.endswith("Fix them or choose another --time-col.") and text == mem_text, text
    assert dsk.value.details == mem.value.details


@pytest.mark.parametrize("parts", [
    [[1_709_251_200, 1_709_254_800], [0, 1, 2]],
    [[1_709_251_200_000.0, np.nan], [1_709_251_200.0]],
    [[1_709_251_200_000, 1_709_254_800_000], [1_709_258_400_000]],
    [["1709251200", ""], ["5", None]],
    [["2024-03-01", "2024-03-02"], ["2024-03-03T10:00:00", ""]],
    [["2024-03-01"], ["", None]],
    [["", None], ["  "]],
    [["3/1/2024", "3/2/2024"], ["3/3/2024"]],
    [pd.to_datetime(["2024-03-01"]), pd.to_datetime(["2024-03-02 10:00"])],
    [[2**60 + 1, 2**60 + 2], [2**61 + 1]],
    [["1152921504606846977", ""], ["1152921504606846978"]],
    [["1152921504606846977", "1152921504606846978"], ["12.0", None]],
])
def test_a_reading_over_parts_is_parse_time_of_the_whole(parts):
    """What the Dask engine's partitions are told (io.parse.time_reading_over of each
    part's time_part) reads every part as parse_time reads the whole column: same kind,
    unit, description, values (the parts' rows in order) and exact integers (none when
    the whole column has a cell that is not one)."""
    from forecheck.io.parse import parse_time, reading_of, time_part, time_reading_over

    series = [pd.Series(p) for p in parts]
    whole = parse_time(pd.concat(series, ignore_index=True))
    reading = time_reading_over(time_part(s) for s in series)
    assert reading == reading_of(whole)
    read = [parse_time(s, reading) for s in series]
    assert {(r.kind, r.unit, r.description) for r in read} == {(whole.kind, whole.unit, whole.description)}
    np.testing.assert_array_equal(np.concatenate([r.values for r in read]), whole.values)
    np.testing.assert_array_equal(np.concatenate([r.bad for r in read]), whole.bad)
    if whole.exact is None:
        assert all(r.exact is None for r in read)
    else:
        np.testing.assert_array_equal(np.concatenate([r.exact for r in read]), whole.exact)


def test_formats_no_part_decides_alone():
    """ISO dates in one part, US dates in another: no format reads every cell, so the
    parts' summaries do not decide (None) and the driver reads the distinct cells of
    every part (time_cells) as parse_time reads the whole column: the format failing
    on the fewest cells (ISO here, on a tie the first), the US part's cells bad."""
    from forecheck.io.parse import (
        parse_time,
        reading_of,
        time_cells,
        time_part,
        time_reading_over,
    )

    iso, us = pd.Series(["2024-03-01", "2024-03-02"]), pd.Series(["03/03/2024", "03/04/2024"])
    assert time_reading_over([time_part(iso), time_part(us)]) is None
    cells = pd.Series(pd.unique(np.concatenate([time_cells(iso), time_cells(us)])), dtype=object)
    whole = parse_time(pd.concat([iso, us], ignore_index=True))
    assert reading_of(parse_time(cells)) == reading_of(whole)
    assert parse_time(us, reading_of(whole)).bad.all() and not parse_time(iso, reading_of(whole)).bad.any()


@pytest.mark.parametrize("data", ["sample", "clusters"])
def test_column_notes_say_what_the_in_memory_engine_says(client, tmp_path, data):
    """Columns found by their names: the Dask engine's notes say so as the in-memory
    engine's do ("Time column 'modeldate': recognised name."), not as if the flags had
    been given ("Time column 'modeldate' (--time-col)."), which is how the engine tells
    its partitions the columns. Expected: the in-memory engine's notes on the same file,
    its reader's note on the file ("FILE: Parquet.", which the Dask engine used to leave
    out) included, and the Dask engine's own note on the partitions at the end."""
    out = tmp_path / "n"
    out.mkdir()
    if data == "sample":  # published column found by name too
        df = pd.read_csv(ROOT / "sample_data" / "pres2020_states.csv")
    else:  # cluster and resolved_at found by name
        df = _panel(40, 6, seed=2).assign(cluster=lambda d: d["series"].str[-1:], resolved_at=9.0)
    f = out / "part0.parquet"
    df.to_parquet(f, index=False)
    cfg = {"select": ("DQ", "MG101"), "question_detection": False}
    mem = forecheck.analyze([str(f)], config=AnalysisConfig(**cfg))
    dsk = _dask([str(out)], client, **cfg)
    expected = mem.input["notes"]
    assert any("recognised name" in n for n in expected) and f"{f}: Parquet." in expected
    assert dsk.input["notes"][:-1] == expected
    assert dsk.input["notes"][-1].startswith("Read by the Dask engine")


def _halves(tmp_path, df: pd.DataFrame, second=None, name: str = "h") -> list[str]:
    """Two files, the first half of the series in one and the second half in the other
    (``second``: how the second file's rows are written otherwise)."""
    ids = df["series"].unique()
    half = df["series"].isin(ids[: len(ids) // 2]).to_numpy()
    out = tmp_path / name
    out.mkdir()
    files = []
    for k, rows in enumerate((half, ~half)):
        part = df[rows].copy()
        if k == 1 and second is not None:
            part = second(part)
        files.append(str(out / f"part{k}.parquet"))
        part.to_parquet(files[-1], index=False)
    return files


def _stop(run):
    """The InputError ``run()`` stops with (exit 2)."""
    with pytest.raises(InputError) as err:
        run()
    return err.value


def _iso_dates(steps) -> np.ndarray:
    return (DAY + pd.to_timedelta(np.asarray(steps), unit="D")).strftime("%Y-%m-%d").to_numpy(dtype=object)


def _us_dates(part: pd.DataFrame, col: str) -> pd.DataFrame:
    return part.assign(**{col: pd.to_datetime(part[col]).dt.strftime("%m/%d/%Y")})


@pytest.mark.parametrize("where", ["both files", "second file"])
def test_bad_time_cells_are_counted_over_every_partition(client, tmp_path, where):
    """Time cells no reading reads, in series spread over many partitions: the in-memory
    engine stops (DQ055, exit 2) counting them over the whole column and naming the
    first rows of the input; so does the Dask engine: same message (file, column, count,
    rows) and row details, and through the CLI the same stderr and exit code. It used to
    count the cells of the first partition that stopped only (or, with some in the first
    file, the cells of the sample it infers the columns from, naming that file alone)."""
    from typer.testing import CliRunner

    from forecheck.cli.app import app

    df = _panel(24, 6, seed=11, common_scale=0.02)
    df["time"] = _iso_dates(df["time"])
    ids = df["series"].unique()
    for k, s in enumerate(ids[1 if where == "both files" else 13::3]):  # (a few series of each file, or of the second)
        df.loc[df.index[(df["series"] == s).to_numpy()][1 + k % 4], "time"] = "garbage"
    files = _halves(tmp_path, df)
    mem = _stop(lambda: forecheck.analyze(files))
    dsk = _stop(lambda: _dask([str(tmp_path / "h")], client))
    assert mem.code == dsk.code == "DQ055" and "values are blank or not a recognised time" in str(mem)
    assert str(dsk) == str(mem)
    assert dsk.details == mem.details and len(mem.details) >= 4
    run = ["analyze", "--isolated", "--no-progress"]
    cli_mem = CliRunner().invoke(app, [*run, *files])
    cli_dsk = CliRunner().invoke(app, [*run, str(tmp_path / "h"), "--engine", "dask", "--scheduler",
                                       client.scheduler.address])
    assert cli_mem.exit_code == cli_dsk.exit_code == 2
    assert cli_dsk.stderr == cli_mem.stderr and "garbage" in cli_mem.stderr


@pytest.mark.parametrize("drop", [False, True])
def test_publication_dates_read_as_the_whole_column(client, tmp_path, monkeypatch, drop):
    """Publication dates written as ISO dates in one file and as US dates in the other:
    the in-memory engine reads the whole column in the one format reading most cells
    (the others' publication times unknown: no back-cast found there); the Dask engine's
    partitions used to read each file in its own format and found back-casts in both.
    DQ007 and every record, the notes and the accounting (with --drop-backcast the rows
    dropped) equal the in-memory engine's."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    df = _panel(24, 8, seed=11, common_scale=0.02)
    steps = df["time"].to_numpy()
    late = np.where(np.arange(len(df)) % 4 == 0, 3, 0)  # every fourth row published 3 days late
    df = df.assign(time=_iso_dates(steps), published=_iso_dates(steps + late))
    files = _halves(tmp_path, df, lambda p: _us_dates(p, "published"))
    opts = ReadOptions(drop_backcast=drop)
    mem = forecheck.analyze(files, read_options=opts)
    from forecheck.engine.dask_engine import analyze_dask

    dsk = analyze_dask([str(tmp_path / "h")], opts, AnalysisConfig(), client=client, npartitions=N_PARTITIONS)
    d7 = mem.result("DQ007")
    assert d7.status == "fail" and 0 < d7.details.count < int((late > 0).sum())  # (one file's back-casts)
    assert dsk.result("DQ007").to_dict() == d7.to_dict()
    assert dsk.input["notes"][:-1] == mem.input["notes"]
    _assert_engines_agree(dsk, mem)


def test_publication_cells_of_two_kinds_read_as_the_whole_column(client, tmp_path, monkeypatch):
    """A publication column of text holding dates in one file's series and only numbers in
    the other's: the in-memory engine reads the whole column as dates (the numbers are no
    date: their rows have no publication time). The Dask engine reads every partition so
    (it used to refuse the input, exit 2, since a partition of the numeric series alone
    read numbers): DQ007, every record and the notes are the in-memory engine's."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    df = _panel(24, 8, seed=5, common_scale=0.02)
    steps = df["time"].to_numpy()
    df = df.assign(time=_iso_dates(steps), published=_iso_dates(steps + np.where(steps < 2, 4, 0)))
    files = _halves(tmp_path, df, lambda p: p.assign(published="1709251200"))
    mem = forecheck.analyze(files, read_options=ReadOptions(drop_backcast=True))
    from forecheck.engine.dask_engine import analyze_dask

    dsk = analyze_dask([str(tmp_path / "h")], ReadOptions(drop_backcast=True), AnalysisConfig(), client=client,
                       npartitions=N_PARTITIONS)
    assert mem.result("DQ007").status == "fail" and mem.input["rows_dropped"]["backcast"] > 0
    assert dsk.result("DQ007").to_dict() == mem.result("DQ007").to_dict()
    assert dsk.input["notes"][:-1] == mem.input["notes"]
    _assert_engines_agree(dsk, mem)


def test_ordering_columns_read_as_the_whole_column(client, tmp_path):
    """--time-col a,-b with column a written as ISO dates in one file and as US dates in
    the other: the in-memory engine reads a in one format over the whole column and stops
    on the other file's cells (DQ055); the Dask engine's partitions used to read each
    their own cells (in the US format where they hold the second file's series only), so
    the run stopped on the partition holding both files' series that failed first, with
    its count. Now the same stop, message and details."""
    df = _panel(24, 6, seed=11, common_scale=0.02)
    df = df.assign(a=_iso_dates(df["time"]), b=-df["time"]).drop(columns="time")
    files = _halves(tmp_path, df, lambda p: _us_dates(p, "a"))
    opts = ReadOptions(time_col="a,-b")
    from forecheck.engine.dask_engine import analyze_dask

    mem = _stop(lambda: forecheck.analyze(files, read_options=opts))
    dsk = _stop(lambda: analyze_dask([str(tmp_path / "h")], opts, AnalysisConfig(), client=client,
                                     npartitions=N_PARTITIONS))
    assert mem.code == dsk.code == "DQ055" and "time column 'a'" in str(mem) and f"{files[1]}:1 " in str(mem)
    assert str(dsk) == str(mem) and dsk.details == mem.details


#: nanosecond epochs of 2001 and of 2017: on either side of 2^60 (2006), where float64's spacing doubles
NS_2001, NS_2017 = 978_307_200 * 10**9, 1_483_228_800 * 10**9


def test_integer_times_beyond_2_53_noted_as_the_whole_column(client, tmp_path, monkeypatch):
    """Nanosecond epochs of 2001 in one file, of 2017 in the other: the in-memory engine
    notes once that they are held as float64 "about 256 apart at most" (the whole
    column's largest); the Dask engine's partitions used to note each their own largest
    (128 in the partitions of 2001 only: two notes). Notes and every record equal."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    df = _panel(24, 8, seed=11, common_scale=0.02)
    ns = df["time"].to_numpy().astype(np.int64) * 3_600 * 10**9
    files = _halves(tmp_path, df.assign(time=NS_2001 + ns), lambda p: p.assign(time=p["time"] - NS_2001 + NS_2017))
    mem = forecheck.analyze(files)
    dsk = _dask([str(tmp_path / "h")], client)
    noted = [n for n in mem.input["notes"] if n.startswith("Integer times above 2^53")]
    assert len(noted) == 1 and "about 256 apart" in noted[0]
    assert dsk.input["notes"][:-1] == mem.input["notes"]
    _assert_engines_agree(dsk, mem)


def test_integer_text_held_exactly_only_as_the_whole_column(client, tmp_path, monkeypatch):
    """Times as text: nanosecond epochs written as integers in one file, and as decimals
    ("12.0") in the other. The in-memory engine holds the whole column as float64 (not
    every cell is an integer), so two rows of a series 1 ns apart with one probability
    are one time: a duplicate (DQ003, dropped). A partition of the first file's series
    alone used to hold them exactly (two times, no duplicate). DQ003, the accounting, the
    notes and every record equal the in-memory engine's."""
    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    df = _panel(24, 8, seed=11, common_scale=0.02)
    t = NS_2017 + df["time"].to_numpy().astype(np.int64) * 3_600 * 10**9
    df = df.assign(time=t.astype(str).astype(object))
    first = df.drop_duplicates("series").index[:3]  # a copy of the first row of three series, 1 ns later
    copies = df.loc[first].assign(time=(t[first] + 1).astype(str).astype(object))
    df = pd.concat([df, copies]).sort_index(kind="stable").reset_index(drop=True)
    files = _halves(tmp_path, df, lambda p: p.assign(time=p["time"] + ".0"))
    mem = forecheck.analyze(files)
    dsk = _dask([str(tmp_path / "h")], client)
    assert mem.result("DQ003").status == "fail" and mem.input["rows_dropped"]["duplicate"] == 3
    assert dsk.result("DQ003").to_dict() == mem.result("DQ003").to_dict()
    assert dsk.input["notes"][:-1] == mem.input["notes"]
    _assert_engines_agree(dsk, mem)


def test_integer_times_beyond_2_53_with_nulls_in_one_file(client, tmp_path, monkeypatch):
    """Nanosecond epochs as Parquet integers, the second file's column holding a null (on
    a row without a probability: dropped before the times are read). pandas reads that
    file's column as float64 and the first file's as int64; the in-memory engine holds the
    whole column as float64 (no exact integers, no note). The Dask engine's shuffle could
    not put the two together (int64 beyond 2^53 into float64: "internal error", exit 2);
    now every piece reads such a column as float64, and every record, the notes and the
    accounting equal the in-memory engine's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import forecheck.stats.asymptotic as asym

    monkeypatch.setattr(asym, "ANALYTIC_MIN_NEFF", 0.0)
    df = _panel(24, 8, seed=11, common_scale=0.02)
    df["time"] = NS_2017 + df["time"].to_numpy().astype(np.int64) * 3_600 * 10**9
    ids = df["series"].unique()
    out = tmp_path / "h"
    out.mkdir()
    files = []
    for k, part in enumerate((df[df["series"].isin(ids[:12])], df[~df["series"].isin(ids[:12])])):
        time = pa.array(part["time"].to_numpy(), type=pa.int64())
        if k == 1:  # (a null time on a row without a probability)
            gone = int(np.flatnonzero(part["p"].isna().to_numpy())[0]) if part["p"].isna().any() else 0
            part = part.assign(p=part["p"].where(np.arange(len(part)) != gone))
            time = pa.array([None if i == gone else int(v) for i, v in enumerate(part["time"])], type=pa.int64())
        table = pa.table({"series": part["series"].to_numpy(dtype=object), "time": time,
                          "p": part["p"].to_numpy(), "outcome": part["outcome"].to_numpy()})
        files.append(str(out / f"part{k}.parquet"))
        pq.write_table(table, files[-1])  # (no pandas metadata: the column reads as float64 where it has a null)
    mem = forecheck.analyze(files)
    dsk = _dask([str(out)], client)
    assert not any(n.startswith("Integer times above 2^53") for n in mem.input["notes"])
    assert dsk.input["notes"][:-1] == mem.input["notes"]
    _assert_engines_agree(dsk, mem)

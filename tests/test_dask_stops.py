"""The Dask engine stops on bad input with the in-memory engine's message for the whole input.

The in-memory loader validates the whole input in steps (io/validate.ROW_STEPS) and
stops (exit 2) at the first step that finds bad rows, counting them over every row and
naming the first of them. The Dask engine validates each partition with the same
steps; its stops used to count the rows of the first partition to stop (or of the
sample of the first file its columns are inferred from, naming that file alone), and
with partitions stopping at different steps, the first to stop won. Here the bad rows
lie in series of both files (or, for the mixed cases, each file stops at another step),
and every expected message, row detail, CLI stderr and exit code is the in-memory
engine's on the same files.
"""

from __future__ import annotations

import pandas as pd
import pytest

import forecheck
from forecheck.config import AnalysisConfig
from forecheck.io.options import ReadOptions
from tests.test_dask_engine import _panel
from tests.test_dask_time_kinds import N_PARTITIONS, _halves, _iso_dates, _stop


def _row(df: pd.DataFrame, series: str, k: int):
    """The index of the k-th row of a series."""
    return df.index[(df["series"] == series).to_numpy()][k]


def _text_probabilities(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(p=[("" if pd.isna(v) else repr(float(v))) for v in df["p"]])


def _blank_ids(df, ids):
    df = df.astype({"series": object})
    for s in ids[1::7]:  # (two series of each file)
        df.loc[_row(df, s, 2), "series"] = " "
    return df


def _bad_probabilities(df, ids):
    df = _text_probabilities(df)
    for k, s in enumerate(ids[1::3]):  # (series of both files)
        df.loc[_row(df, s, 1 + k % 4), "p"] = "n/a?"
    return df


def _out_of_range(df, ids):
    for k, s in enumerate(ids[1::3]):
        df.loc[_row(df, s, 1 + k % 4), "p"] = 1.5
    return df


def _bad_outcomes(df, ids):
    df = df.assign(outcome=[None if pd.isna(v) else str(int(v)) for v in df["outcome"]])
    for k, s in enumerate(ids[1::3]):
        df.loc[_row(df, s, 1 + k % 4), "outcome"] = "maybe"
    return df


def _conflicting_outcomes(df, ids):
    for k, s in enumerate(ids[3::3]):  # (three series in the first file, four in the second)
        df.loc[_row(df, s, 0), "outcome"] = 0.0
        df.loc[_row(df, s, 2 + k % 3), "outcome"] = 1.0
    return df


def _conflicting_duplicates(df, ids):
    extra = []
    for k, s in enumerate(ids[1::3]):
        r = df.loc[_row(df, s, 1 + k % 4)].copy()
        r["p"] = 0.123 + k / 100
        extra.append(r)
    return pd.concat([df, pd.DataFrame(extra)]).sort_values(["series", "time"], kind="stable").reset_index(drop=True)


def _times_then_outcomes(df, ids):
    """The second file stops at DQ055 (time), the first only later, at DQ053."""
    df = df.assign(time=_iso_dates(df["time"]))
    df.loc[_row(df, ids[14], 2), "time"] = "garbage"
    df.loc[_row(df, ids[2], 0), "outcome"] = 0.0
    df.loc[_row(df, ids[2], 3), "outcome"] = 1.0
    return df


def _probabilities_then_times(df, ids):
    """The second file stops at DQ051 (text probabilities), the first at DQ055 and later DQ053."""
    df = _text_probabilities(df).assign(time=[str(t) for t in df["time"]])
    df.loc[_row(df, ids[14], 2), "p"] = "abc"
    df.loc[_row(df, ids[2], 0), "outcome"] = 0.0
    df.loc[_row(df, ids[2], 3), "outcome"] = 1.0
    df.loc[_row(df, ids[3], 2), "time"] = "garbage"
    return df


@pytest.mark.parametrize("code, make, scale", [
    ("DQ059", _blank_ids, "auto"),
    ("DQ051", _bad_probabilities, "auto"),
    ("DQ050", _out_of_range, "unit"),
    ("DQ054", _bad_outcomes, "auto"),
    ("DQ053", _conflicting_outcomes, "auto"),
    ("DQ052", _conflicting_duplicates, "auto"),
    ("DQ055", _times_then_outcomes, "auto"),
    ("DQ051", _probabilities_then_times, "auto"),
])
def test_stops_are_the_in_memory_engines_over_every_partition(client, tmp_path, code, make, scale):
    """Bad rows (or series) in both files, which the shuffle spreads over many
    partitions: the Dask engine stops with the in-memory engine's rule, message (file,
    column, count, rows shown), row details, CLI stderr and exit code. It used to count
    those of the first file's sample, or of the first partition to stop; a partition
    stopping at a later step than another could win; and text probabilities whose bad
    cells lie outside the first file's sample failed on the driver (ValueError)."""
    from typer.testing import CliRunner

    from forecheck.cli.app import app
    from forecheck.engine.dask_engine import analyze_dask

    df = _panel(24, 6, seed=11, common_scale=0.02)
    df = make(df, df["series"].unique())
    files = _halves(tmp_path, df)
    opts = ReadOptions(scale=scale)
    mem = _stop(lambda: forecheck.analyze(files, read_options=opts))
    dsk = _stop(lambda: analyze_dask([str(tmp_path / "h")], opts, AnalysisConfig(), client=client,
                                     npartitions=N_PARTITIONS))
    assert mem.code == dsk.code == code
    assert str(dsk) == str(mem)
    assert dsk.details == mem.details
    if code != "DQ055" and make is not _probabilities_then_times:
        assert str(mem).count("part0.parquet:") and str(mem).count("part1.parquet:")  # rows of both files
    run = ["analyze", "--isolated", "--no-progress", "--scale", scale]
    cli_mem = CliRunner().invoke(app, [*run, *files])
    cli_dsk = CliRunner().invoke(app, [*run, str(tmp_path / "h"), "--engine", "dask", "--scheduler",
                                       client.scheduler.address])
    assert cli_mem.exit_code == cli_dsk.exit_code == 2
    assert cli_dsk.stderr == cli_mem.stderr and str(mem).splitlines()[0][-60:] in cli_mem.stderr.replace("\n", "")


@pytest.mark.parametrize("code, counted", [("DQ053", ": 30 series have conflicting outcomes: "),
                                           ("DQ052", ": 20 rows repeat a (series, time) pair")])
def test_many_conflicting_series_show_the_first_of_the_input(client, tmp_path, code, counted):
    """More conflicting series (DQ053) and more conflicting rows (DQ052) than a message
    shows (MAX_SHOWN), in both files: the series and rows shown are the first of the whole
    input in the order the in-memory validation meets them, and the counts ("and N more"
    included) are the whole input's."""
    from forecheck.engine.dask_engine import analyze_dask

    df = _panel(60, 6, seed=5, common_scale=0.02)
    ids = df["series"].unique()
    if code == "DQ053":
        for k, s in enumerate(ids[::2]):  # (30 series, 15 in each file)
            df.loc[_row(df, s, 0), "outcome"] = 0.0
            df.loc[_row(df, s, 1 + k % 5), "outcome"] = 1.0
    else:
        df = _conflicting_duplicates(df, ids)  # (20 rows, 10 in each file)
    files = _halves(tmp_path, df)
    mem = _stop(lambda: forecheck.analyze(files))
    dsk = _stop(lambda: analyze_dask([str(tmp_path / "h")], ReadOptions(), AnalysisConfig(), client=client,
                                     npartitions=N_PARTITIONS))
    assert mem.code == dsk.code == code
    assert str(dsk) == str(mem) and counted in str(mem)
    assert dsk.details == mem.details and len(mem.details) == 10

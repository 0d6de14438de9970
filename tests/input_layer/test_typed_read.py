"""The typed read (probability and 0/1 outcome columns converted, series ids and times dictionary-encoded by pyarrow's CSV
reader) gives what the all-text read gives: the same panel, findings, info and
messages; any cell it could change sends the file to the text read."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.errors import InputError
from forecheck.io import ReadOptions

from .same_load import assert_same_load, fast_and_plain


def _rows(n_series: int, steps: int, outcome=lambda s: str(s % 2)) -> list[str]:
    rng = np.random.default_rng(7)
    lines = ["series,time,p,outcome"]
    for s in range(n_series):
        p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, steps)), 0.01, 0.99)
        lines += [f"s{s},{t},{float(p[t])!r},{outcome(s)}" for t in range(steps)]
    return lines


def _write(tmp_path, lines: list[str], name: str = "f.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _load_both(path: str, monkeypatch, options: ReadOptions | None = None):
    """(typed-path result or error, text-path result or error), and the columns
    the typed read converted (empty: it was not used)."""
    used = []

    def wrap(real):
        def spy(text_bytes, delim, types=None):
            frame = real(text_bytes, delim, types)
            if types and frame is not None:
                used.extend(types)
            return frame
        return spy

    typed, text = fast_and_plain(monkeypatch, path, options, spy="_arrow_text", wrap=wrap, plan="_typed_plan")
    return typed, text, set(used)


def test_plain_file_is_read_typed_and_equals_text_read(tmp_path, monkeypatch):
    path = _write(tmp_path, _rows(30, 100))  # 3000 rows: the head (2000) is a part of the file
    typed, text, used = _load_both(path, monkeypatch)
    assert used == {"series", "time", "p", "outcome"}
    assert_same_load(typed, text)


def test_unresolved_series_keep_the_typed_outcome(tmp_path, monkeypatch):
    path = _write(tmp_path, _rows(30, 100, outcome=lambda s: "" if s % 3 == 0 else str(s % 2)))
    typed, text, used = _load_both(path, monkeypatch)
    assert used
    assert_same_load(typed, text)
    assert np.isnan(typed.panel.outcome).sum() == 10


@pytest.mark.parametrize("bad", ["", "NA", "inf", "-inf", "nan", "banana", " 0.5", "50%"])
def test_a_probability_cell_after_the_head_that_is_not_a_finite_number(tmp_path, monkeypatch, bad):
    lines = _rows(30, 100)
    s, t, _, o = lines[2500].split(",")
    lines[2500] = ",".join([s, t, bad, o])
    typed, text, _ = _load_both(_write(tmp_path, lines), monkeypatch)
    assert_same_load(typed, text)


@pytest.mark.parametrize("bad", ["2", "yes", "true", "1.0", "-1", " 1", "-9223372036854775808", "9223372036854775807"])
def test_an_outcome_cell_after_the_head_that_is_not_0_1_or_blank(tmp_path, monkeypatch, bad):
    lines = _rows(30, 100)
    start = 1 + 25 * 100  # every row of series s25
    for i in range(start, start + 100):
        s, t, p, _ = lines[i].split(",")
        lines[i] = ",".join([s, t, p, bad])
    typed, text, _ = _load_both(_write(tmp_path, lines), monkeypatch)
    assert_same_load(typed, text)


def test_na_values_and_percent_files_take_the_text_read_or_agree(tmp_path, monkeypatch):
    lines = _rows(30, 100)
    typed, text, used = _load_both(_write(tmp_path, lines), monkeypatch, ReadOptions(na_values=("-1",)))
    assert used == {"series", "time", "outcome"}  # markers are matched as text
    assert_same_load(typed, text)
    pct = ["series,time,p,outcome"] + [",".join([a, b, repr(round(100 * float(c), 3)), d])
                                       for a, b, c, d in (r.split(",") for r in lines[1:])]
    typed, text, used = _load_both(_write(tmp_path, pct, "pct.csv"), monkeypatch)
    assert used
    assert_same_load(typed, text)


def test_header_only_semicolon_and_tsv(tmp_path, monkeypatch):
    lines = _rows(3, 20)
    for name, delim in (("a.csv", ";"), ("b.tsv", "\t")):
        path = _write(tmp_path, [r.replace(",", delim) for r in lines], name)
        typed, text, used = _load_both(path, monkeypatch)
        assert used
        assert_same_load(typed, text)
    typed, text, _ = _load_both(_write(tmp_path, lines[:1], "h.csv"), monkeypatch)
    assert_same_load(typed, text)


def test_series_ids_padded_blank_quoted_and_two_columns(tmp_path, monkeypatch):
    # ids that strip to the same id, a blank id (an error the text read words), quoted ids with
    # the delimiter inside, and a two-column id: dictionary-encoded, they must read as the text does
    lines = _rows(30, 100)
    ids = {"s1": " s1", "s2": "s1 ", "s3": '"s,3"', "s4": '"s4"'}
    padded = ["series,time,p,outcome"] + [",".join([ids.get(a, a), b, c, d])
                                          for a, b, c, d in (r.split(",") for r in lines[1:])]
    typed, text, used = _load_both(_write(tmp_path, padded), monkeypatch)
    assert "series" in used
    assert_same_load(typed, text)
    blank = list(padded)
    blank[2600] = "," + blank[2600].split(",", 1)[1]
    typed, text, _ = _load_both(_write(tmp_path, blank, "blank.csv"), monkeypatch)
    assert isinstance(text, InputError)
    assert_same_load(typed, text)
    two = ["race,candidate,time,p,outcome"] + [",".join([f"r{int(a[1:]) // 3}", f"c{int(a[1:]) % 3}", b, c, d])
                                              for a, b, c, d in (r.split(",") for r in lines[1:])]
    typed, text, used = _load_both(_write(tmp_path, two, "two.csv"), monkeypatch,
                                   ReadOptions(series_cols=("race", "candidate")))
    assert {"race", "candidate"} <= used
    assert_same_load(typed, text)


@pytest.mark.parametrize("bad", ["", "yesterday", " 5 ", "5.5", "1e3"])
def test_a_time_cell_after_the_head(tmp_path, monkeypatch, bad):
    # the time column is dictionary-encoded text: a blank or unparseable cell is quoted as
    # written in the same DQ055 message, and odd-but-valid numbers parse as in the text read
    lines = _rows(30, 100)
    s, _, p, o = lines[2500].split(",")
    lines[2500] = ",".join([s, bad, p, o])
    typed, text, used = _load_both(_write(tmp_path, lines), monkeypatch)
    assert "time" in used
    assert_same_load(typed, text)


def test_date_times_read_typed_equal_the_text_read(tmp_path, monkeypatch):
    lines = _rows(30, 100)
    dated = ["series,date,p,outcome"] + [",".join([a, f"2020-{1 + int(b) // 28:02d}-{1 + int(b) % 28:02d}", c, d])
                                         for a, b, c, d in (r.split(",") for r in lines[1:])]
    typed, text, used = _load_both(_write(tmp_path, dated), monkeypatch)
    assert "date" in used
    assert_same_load(typed, text)


def test_many_small_blocks_read_what_one_block_reads(tmp_path, monkeypatch):
    # pyarrow's reader parses (and dictionary-encodes) each block on its own; the chunks'
    # dictionaries are unified afterwards. 4 KB blocks cut this ~150 KB file into dozens of
    # chunks, whose series and times recur across chunks: the same load as one block, and
    # the same as the text read.
    from forecheck.io import readers

    path = _write(tmp_path, _rows(40, 100))
    monkeypatch.setattr(readers, "csv_block_size", lambda n: 1 << 30)
    one_block, _, used = _load_both(path, monkeypatch)
    monkeypatch.setattr(readers, "csv_block_size", lambda n: 4096)
    many, text, _ = _load_both(path, monkeypatch)
    assert used == {"series", "time", "p", "outcome"}
    assert_same_load(many, one_block)
    assert_same_load(many, text)


def test_csv_block_size_is_an_eighth_of_the_text_within_1_and_16_mb():
    from forecheck.io.readers import csv_block_size

    assert csv_block_size(1000) == 1 << 20
    assert csv_block_size(80 << 20) == 10 << 20
    assert csv_block_size(324_000_000) == 1 << 24

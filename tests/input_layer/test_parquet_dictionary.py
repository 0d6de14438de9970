"""The Parquet read with the series ids kept dictionary-encoded gives what the plain
read (every text column decoded) gives: the same panel, ids, findings, info and
messages; a file it cannot plan (a stored index, a wide layout) takes the plain read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forecheck.errors import InputError
from forecheck.io import ReadOptions

from .same_load import assert_same_load, fast_and_plain


def _columns(n_series: int, steps: int, ids=None) -> dict:
    rng = np.random.default_rng(11)
    ids = ids if ids is not None else [f"s{s}" for s in range(n_series)]
    p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, (n_series, steps)), axis=1), 0.01, 0.99)
    return {"series": [ids[s] for s in range(n_series) for _ in range(steps)],
            "time": [t for _ in range(n_series) for t in range(steps)],
            "p": p.ravel().tolist(),
            "outcome": [s % 2 for s in range(n_series) for _ in range(steps)]}


def _load_both(path: str, monkeypatch, options: ReadOptions | None = None):
    """(dictionary-path result or error, plain-path result or error, whether the
    dictionary path built the frame)."""
    used = []

    def wrap(real):
        def spy(*a, **k):
            frame = real(*a, **k)
            used.append(frame is not None)
            return frame
        return spy

    dictionary, plain = fast_and_plain(monkeypatch, path, options, spy="_parquet_dictionary_frame", wrap=wrap,
                                       plan="_dictionary_plan")
    return dictionary, plain, any(used)


def test_pyarrow_file_in_several_row_groups(tmp_path, monkeypatch):
    path = tmp_path / "f.parquet"
    # 700-row groups: each has its own dictionary, which the reader unifies
    pq.write_table(pa.table(_columns(40, 90)), path, row_group_size=700)
    d, p, used = _load_both(str(path), monkeypatch)
    assert used
    assert_same_load(d, p)
    assert d.panel.n_series == 40


def test_pandas_file_with_other_text_columns(tmp_path, monkeypatch):
    cols = _columns(30, 50)
    cols["note"] = [f"n{i % 7}" for i in range(len(cols["p"]))]  # another text column stays text
    path = tmp_path / "f.parquet"
    pd.DataFrame(cols).to_parquet(path)
    d, p, used = _load_both(str(path), monkeypatch)
    assert used
    assert_same_load(d, p)


def test_codes_out_of_order_padding_blank_and_missing_ids(tmp_path, monkeypatch):
    # a dictionary in its own order (not the rows' first appearance), ids equal after stripping,
    # and missing ids: the error message (rows without a series id) must be the same
    ids = [" b", "a", "b", "a ", "c"] * 4
    cols = _columns(len(ids), 20, ids)
    dictionary = pa.array(["c", "a ", "b", " b", "a"])
    index = {v: i for i, v in enumerate(dictionary.to_pylist())}
    codes = pa.array([index[v] for v in cols["series"]], pa.int32())
    table = pa.table({**cols, "series": pa.DictionaryArray.from_arrays(codes, dictionary)})
    path = tmp_path / "f.parquet"
    pq.write_table(table, path, store_schema=False)  # read back as text (no Arrow dictionary type)
    d, p, used = _load_both(str(path), monkeypatch, ReadOptions(series_cols=("series",)))
    assert used
    assert_same_load(d, p)
    with_null = pa.table({**cols, "series": pa.DictionaryArray.from_arrays(
        pa.array([None if i % 97 == 5 else c for i, c in enumerate(codes.to_pylist())], pa.int32()), dictionary)})
    pq.write_table(with_null, path, store_schema=False)
    d, p, used = _load_both(str(path), monkeypatch, ReadOptions(series_cols=("series",)))
    assert used and isinstance(p, InputError)
    assert_same_load(d, p)


@pytest.mark.parametrize("cells", [
    ["b", "a", "b", "c"],  # codes in first-appearance order or not, depending on the categories
    [" b", "a", None, "b", "a ", "", None, "c"],  # padding merges cells; missing and blank are one id
    [None, "x", "x"],
    ["a", "a", None, "b", None],  # codes in first-appearance order with a missing cell after the first
    [],
])
@pytest.mark.parametrize("categories", ["sorted", "reversed"])
def test_factorize_categorical_equals_factorize_of_the_cells(cells, categories):
    from forecheck.io import _stripped
    from forecheck.io.parse import factorize_cells

    distinct = sorted({c for c in cells if c is not None}, reverse=categories == "reversed")
    col = pd.Series(pd.Categorical(cells, categories=pd.Index(distinct, dtype="str")))
    codes, uniques = factorize_cells(col, _stripped, use_na_sentinel=False)
    # reference: pandas' factorisation of the transformed cells themselves (the direct way)
    ref_codes, ref_uniques = pd.factorize(_stripped(pd.Series(cells, dtype="str")), use_na_sentinel=False)
    np.testing.assert_array_equal(codes, ref_codes)
    assert list(uniques) == list(ref_uniques)


def test_two_series_columns(tmp_path, monkeypatch):
    cols = _columns(24, 30)
    cols["race"] = [s.replace("s", "r") for s in cols["series"]]
    cols["candidate"] = [f"c{int(s[1:]) % 3}" for s in cols["series"]]
    del cols["series"]
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table(cols), path)
    d, p, used = _load_both(str(path), monkeypatch, ReadOptions(series_cols=("race", "candidate")))
    assert used
    assert_same_load(d, p)


@pytest.mark.parametrize("kind", ["stored index", "numeric ids", "no rows"])
def test_files_the_plan_leaves_to_the_plain_read(tmp_path, monkeypatch, kind):
    cols = _columns(10, 30)
    path = tmp_path / "f.parquet"
    if kind == "stored index":
        pd.DataFrame(cols).set_index("series").to_parquet(path)
    elif kind == "numeric ids":
        cols["series"] = [int(s[1:]) for s in cols["series"]]
        pq.write_table(pa.table(cols), path)
    else:
        pq.write_table(pa.table(cols).slice(0, 0), path)
    d, p, used = _load_both(str(path), monkeypatch)
    assert not used
    assert_same_load(d, p)


def test_a_missing_cell_of_a_dictionary_column_is_missing_not_the_last_category(tmp_path):
    """A null among dictionary codes that are otherwise in first-appearance order (code
    0 first, each new cell one more) was given the row code -1, which then picked the last
    distinct cell: a null series id crashed the load ("'list' argument must have no
    negative elements", exit 2 without the rule), and a null outcome was read as the last
    category's ("no": a resolved series). Now they read as the CSV's blank cells do."""
    from forecheck.io import load

    ids = pa.array(["a", "a", "a", None, "b", "b", "b"]).dictionary_encode()
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"series": ids, "time": [0, 1, 2, 0, 0, 1, 2],
                             "p": [0.5, 0.6, 0.7, 0.5, 0.4, 0.3, 0.2], "outcome": [1, 1, 1, 1, 0, 0, 0]}), path)
    with pytest.raises(InputError) as exc:
        load([str(path)], ReadOptions())
    assert exc.value.code == "DQ059" and "1 rows have no series id" in str(exc.value)
    outcome = pa.array(["yes"] * 3 + [None] * 3 + ["no"] * 3).dictionary_encode()
    cols = {"series": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "time": [0, 1, 2] * 3,
            "p": [0.5, 0.6, 0.7, 0.4, 0.3, 0.2, 0.5, 0.5, 0.4]}
    path = tmp_path / "outcome.parquet"
    pq.write_table(pa.table({**cols, "outcome": outcome}), path)
    panel = load([str(path)], ReadOptions()).panel
    csv = tmp_path / "outcome.csv"
    pd.DataFrame({**cols, "outcome": ["yes"] * 3 + [""] * 3 + ["no"] * 3}).to_csv(csv, index=False)
    ref = load([str(csv)], ReadOptions()).panel  # the same cells as text: the blank outcome is missing
    np.testing.assert_array_equal(panel.outcome, ref.outcome)
    assert np.isnan(panel.outcome[1]) and panel.outcome[0] == 1 and panel.outcome[2] == 0

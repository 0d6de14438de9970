"""The JSON writer's column-wise series records (report/json_format.py) against
the generic encoder, ``json.dumps(report.to_dict(), indent=2, allow_nan=False,
ensure_ascii=False)``, which is the definition of the output: floats through
Arrow's cast patched to ``repr``'s layout, Arrow text quoted as it is, and the
value-by-value ways they fall back to."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import forecheck
from forecheck.report import json_format
from forecheck.report.json_format import _float_texts, _float_texts_repr, render_json
from tests.conftest import SAMPLE_DATA


def _generic(rep) -> str:
    return json.dumps(rep.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)


def _awkward_floats(n: int, seed: int = 0) -> np.ndarray:
    """Values on both sides of repr's notation bounds (1e-4, 1e16) and Arrow's, whole
    numbers, one- to three-digit exponents, subnormals, signed zeros, NaN and infinities."""
    rng = np.random.default_rng(seed)
    edges = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, 1e-4, np.nextafter(1e-4, 0), 1e-5, 1e-6, 1e-7,
                      9.5e-7, 1e15, 1e16, np.nextafter(1e16, 0), 2.0**53, 1e21, 1e22, 5e-324, 1.7976931348623157e308,
                      0.1, 1 / 3, 1.1886454693955186e-05, 1.232595164407831e-32, 1e-100, -2.5e-300])
    parts = [edges,
             rng.random(n), rng.random(n) ** 12, rng.normal(size=n) * 1e-5, rng.normal(size=n) * 1e16,
             np.round(rng.normal(size=n) * 10.0 ** rng.integers(0, 22, n)),  # whole numbers up to 1e22
             10.0 ** rng.uniform(-320, 308, n), np.round(rng.random(n), 3),
             rng.random(n).astype(np.float32).astype(np.float64),
             rng.integers(0, 2**64, size=n, dtype=np.uint64).view(np.float64)]  # any bit pattern
    return np.concatenate(parts)


def test_float_texts_equal_repr_value_by_value():
    x = _awkward_floats(20_000)
    assert _float_texts(x).to_pylist() == _float_texts_repr(x)
    # the reference itself: repr of each value, "null" for the non-finite (what _clean and the encoder do)
    assert _float_texts_repr(np.array([0.5, np.nan, -np.inf, 1e-5])) == ["0.5", "null", "null", "1e-05"]


def test_float_texts_without_patches():
    # columns that need no patch of one kind or another (each branch skipped)
    for x in (np.array([0.25, 0.5]), np.array([1.0, 2.0]), np.array([1e-7, 2e-30]), np.array([1e-5, np.nan])):
        assert _float_texts(x).to_pylist() == _float_texts_repr(x)


@pytest.fixture(scope="module")
def report():
    return forecheck.analyze(str(SAMPLE_DATA / "pres2020_states.csv"))


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = _awkward_floats(n, seed)
    m = len(x) // n * n
    return pd.DataFrame({
        "id": pd.array([f"s{i}-é" for i in range(n)], dtype="str"),  # Arrow-backed text, nothing to escape
        "n": rng.integers(-10**12, 10**12, n),
        "big": rng.integers(0, 2**64, n, dtype=np.uint64),
        "ok": rng.random(n) < 0.5,
        **{f"f{k}": x[k * n:(k + 1) * n] for k in range(m // n)},
        "f32": rng.normal(size=n).astype(np.float32),
        "time": pd.array([f"2020-01-{1 + i % 28:02d}" for i in range(n)], dtype="string[pyarrow]"),
    })


def test_series_records_equal_the_generic_encoder(report):
    df = _frame(3_000)
    rep = dataclasses.replace(report, series=df)
    assert render_json(rep) == _generic(rep)


@pytest.mark.parametrize("column", [
    pd.array(['quote"d', "back\\slash", "tab\there", "ctl\x01"] * 5, dtype="str"),  # Arrow text to escape
    pd.array(["a", None, "c", "d"] * 5, dtype="string[pyarrow]"),  # missing cells
    pd.array(["a", "b", "c", "d"] * 5, dtype="string[python]"),  # not Arrow-backed
    np.array(["x", 1.5, None, np.float64(2.5)] * 5, dtype=object),
])
def test_series_records_text_fallbacks(report, column):
    df = pd.DataFrame({"id": column, "v": np.linspace(0, 1e-5, 20)})
    rep = dataclasses.replace(report, series=df)
    assert render_json(rep) == _generic(rep)


def test_series_records_when_arrow_formats_floats_otherwise(report, monkeypatch):
    # the value-by-value way (taken should a pyarrow's cast not match the probe)
    monkeypatch.setattr(json_format, "_arrow_floats_ok", lambda: False)
    rep = dataclasses.replace(report, series=_frame(500))
    assert render_json(rep) == _generic(rep)


def test_arrow_floats_probe_passes_here():
    assert json_format._arrow_floats_ok()


@pytest.mark.parametrize("block", [1, 7, 1000, 3000, 10_000])
def test_series_records_in_blocks_equal_the_generic_encoder(report, monkeypatch, block):
    # the records formatted SERIES_BLOCK rows at a time (one block, several, a last
    # partial one, one record per block) join to the same text
    monkeypatch.setattr(json_format, "SERIES_BLOCK", block)
    rep = dataclasses.replace(report, series=_frame(3_000))
    chunks = json_format.render_json_chunks(rep)
    assert len(chunks) == 2 + -(-3_000 // block) + 1  # head, the blocks, the list's end, the tail
    assert "".join(chunks) == render_json(rep) == _generic(rep)


def test_series_records_fallback_in_a_later_block(report, monkeypatch):
    # a value only the generic encoder writes (a list) in the last block: the whole
    # document takes the generic path, not a mix
    monkeypatch.setattr(json_format, "SERIES_BLOCK", 8)
    col = np.array([1.5] * 19 + [[1, 2]], dtype=object)
    rep = dataclasses.replace(report, series=pd.DataFrame({"id": [f"s{i}" for i in range(20)], "v": col}))
    assert json_format.render_json_chunks(rep) == [_generic(rep)]


def test_written_pieces_equal_the_document(report, tmp_path, monkeypatch, capsys):
    # the command line writes the pieces in turn, to a file (atomically) and to stdout
    from forecheck.cli import common

    monkeypatch.setattr(json_format, "SERIES_BLOCK", 10)
    chunks = json_format.render_json_chunks(report)
    assert len(chunks) > 3
    out = tmp_path / "r.json"
    assert common.write_payload(chunks, str(out))
    assert out.read_text(encoding="utf-8") == render_json(report) + "\n"
    assert common.write_payload(chunks, None)
    assert capsys.readouterr().out == render_json(report) + "\n"

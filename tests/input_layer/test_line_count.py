"""The pre-parse line count of the --max-rows limit (readers._count_newlines):
numpy in blocks instead of bytes.count, the same number."""

from __future__ import annotations

import numpy as np
import pytest

from forecheck.errors import InputError
from forecheck.io import ReadOptions, load
from forecheck.io.readers import _count_newlines


def test_count_newlines_equals_bytes_count():
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 64, 1000, 10_001):
        data = rng.choice(np.frombuffer(b"ab,\n\r0", np.uint8), n).tobytes()
        for block in (1, 3, 64, 1 << 22):  # block edges anywhere, also past the end
            assert _count_newlines(data, block) == data.count(b"\n")


@pytest.mark.parametrize("rows, limit, stops", [(50, 49, True), (50, 50, False), (3, 2, True)])
def test_max_rows_before_parsing(tmp_path, rows, limit, stops):
    f = tmp_path / "x.csv"
    f.write_text("series,time,p\n" + "".join(f"a,{i},0.5\n" for i in range(rows)))
    if stops:
        with pytest.raises(InputError, match=f"has {rows:,} data lines, more than {limit:,} rows"):
            load([str(f)], ReadOptions(max_rows=limit))
    else:
        assert load([str(f)], ReadOptions(max_rows=limit)).info["rows_read"] == rows

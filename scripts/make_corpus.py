"""Write the robustness corpus: small malformed, awkward and degenerate inputs in
``tests/data/`` and the table of expected behaviour ``tests/data/expected.csv``.

    python scripts/make_corpus.py            # (re)write tests/data/
    python scripts/make_corpus.py --check    # fail if the committed files differ

Each case is a few lines, deterministic (fixed seeds, fixed rounding). The table has
one row per CLI run: ``file`` (relative to tests/data; a name that is deliberately
absent tests the missing-file path), ``flags`` (shell-quoted, after the path),
``exit`` (expected exit code; ``0|1`` when the verdict of the checks is not the
point, only that the run completes), ``expect`` (substring of stdout+stderr that
must appear), ``forbid`` (substring that must not appear), ``owner`` (``io`` for
cases the input-layer work fixes, ``report`` for the text renderer's escaping; the tests
mark them xfail until that work lands) and
``note``. tests/test_corpus.py runs every row; scripts/fuzz.py mutates the files.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
HEADER = "series,time,p,outcome\n"


def _walks(n_series: int = 12, n_steps: int = 8, seed: int = 1, ids=None) -> list[tuple[str, int, float, int]]:
    """Honest +-step belief walks from 0.5 rounded to 4 decimals (a valid panel)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        sid = ids[s] if ids else f"s{s:02d}"
        p = 0.5
        path = []
        for t in range(n_steps):
            path.append((t, round(float(p), 4)))
            p = min(max(p + rng.choice([-0.06, 0.06]), 0.02), 0.98)
        outcome = int(rng.uniform() < path[-1][1])
        rows += [(sid, t, p_, outcome) for t, p_ in path]
    return rows


def _csv(rows, header: str = HEADER, fmt=repr) -> bytes:
    lines = [header.rstrip("\n")]
    for r in rows:
        lines.append(",".join(fmt(v) if isinstance(v, float) else str(v) for v in r))
    return ("\n".join(lines) + "\n").encode()


def _good() -> bytes:
    return _csv(_walks())


def _replace_cell(data: bytes, line: int, col: int, value: str) -> bytes:
    lines = data.decode().split("\n")
    cells = lines[line - 1].split(",")
    cells[col] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines).encode()


def _const(value: str, n_series: int = 30, n_steps: int = 6) -> bytes:
    rows = [f"s{s:02d},{t},{value},{s % 2}" for s in range(n_series) for t in range(n_steps)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _extremes() -> bytes:
    # series near 0 resolve 0, near 1 resolve 1: at or within 1e-300 of the bounds
    rows = []
    for s in range(20):
        lo = s % 2 == 0
        for t in range(6):
            v = ("1e-300" if t % 2 else "0") if lo else ("0.9999999999999999" if t % 2 else "1")
            rows.append(f"s{s:02d},{t},{v},{0 if lo else 1}")
    return (HEADER + "\n".join(rows) + "\n").encode()


def _tiny() -> bytes:
    rows = []
    for s in range(20):
        lo = s % 2 == 0
        for t in range(6):
            rows.append(f"s{s:02d},{t},{'1e-300' if lo else '0.9999999999999999'},{0 if lo else 1}")
    return (HEADER + "\n".join(rows) + "\n").encode()


def _separation() -> bytes:
    # every series that resolves 1 sits at 0.9, every 0 at 0.1: perfect separation
    rows = [f"s{s:02d},{t},{0.9 if s % 2 else 0.1},{s % 2}" for s in range(30) for t in range(6)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _one_step_moves() -> bytes:
    # every series moves once by the same amount then stays: zero-variance revisions
    rows = []
    for s in range(30):
        for t in range(6):
            rows.append(f"s{s:02d},{t},{0.4 if t == 0 else 0.5},{s % 2}")
    return (HEADER + "\n".join(rows) + "\n").encode()


def _parquet(table_fn) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table_fn(pa), buf)
    return buf.getvalue()


def _parquet_good(pa):
    rows = _walks(6, 6)
    return pa.table({"series": [r[0] for r in rows], "time": [r[1] for r in rows],
                     "p": [r[2] for r in rows], "outcome": [r[3] for r in rows]})


def _parquet_year1(pa):
    import datetime as dt

    rows = _walks(6, 6)
    times = [dt.datetime(2020, 1, 1) + dt.timedelta(days=r[1]) for r in rows]
    times[3] = dt.datetime(1, 1, 1)  # year 1: outside pandas' nanosecond range
    return pa.table({"series": [r[0] for r in rows], "time": pa.array(times, pa.timestamp("us")),
                     "p": [r[2] for r in rows], "outcome": [r[3] for r in rows]})


def _dates(typo: bool) -> bytes:
    rows = []
    for sid, t, p, o in _walks(8, 6):
        rows.append((sid, f"2020-01-{t + 1:02d}", p, o))
    if typo:
        rows[9] = (rows[9][0], "2999-01-02", rows[9][2], rows[9][3])
    return _csv(rows)


def _ns_times() -> bytes:
    # nanosecond epochs above 2**53: consecutive times differ by 1 ns
    base = 1_600_000_000_000_000_000
    rows = [(sid, base + t, p, o) for sid, t, p, o in _walks(8, 6)]
    return _csv(rows)


def _start_zero() -> bytes:
    rows = [f"s{s:02d},{t},0,0" for s in range(12) for t in range(5)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _wide() -> bytes:
    rng = np.random.default_rng(3)
    lines = ["date,A,B,C,D"]
    vals = np.full(4, 0.5)
    for t in range(6):
        lines.append(f"2020-01-{t + 1:02d}," + ",".join(f"{v:.3f}" for v in vals))
        vals = np.clip(vals + rng.choice([-0.05, 0.05], 4), 0.05, 0.95)
    return ("\n".join(lines) + "\n").encode()


def _ids(ids: list[str]) -> bytes:
    return _csv(_walks(len(ids), 6, ids=ids))


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _flip(data: bytes, i: int) -> bytes:
    b = bytearray(data)
    b[i] ^= 0xFF
    return bytes(b)


GOOD = _good()
LINE_OF_S01_T3 = 1 + 8 + 4  # header + 8 rows of s00 + 4th row of s01

# (file, content or None for a deliberately absent file, runs: [(flags, exit, expect, forbid, owner, note)])
CASES: list[tuple[str, bytes | None, list[tuple[str, str, str, str, str, str]]]] = [
    # ---------------------------------------------------------------- valid baselines
    ("good.csv", GOOD, [
        ("", "0|1", "MG101", "internal error", "", "a valid honest panel"),
        ("--format json", "0|1", '"schema_version"', "internal error", "", "JSON parses (checked by the test)"),
        ("--format junit", "0|1", "<testsuites", "internal error", "", "JUnit parses"),
        ("--format github", "0|1", "::notice", "internal error", "", "annotations"),
        ("--n-sim 1", "0|1", "MG101", "Warning", "", "one draw: no true_divide warning"),
        ("--n-sim 2 --format json", "0|1", '"schema_version"', "Warning", "", "two draws"),
    ]),
    ("good_crlf_bom.csv", b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n"), [
        ("", "0|1", "MG101", "internal error", "", "UTF-8 BOM and CRLF"),
    ]),
    ("good_utf16.csv", "\ufeff".encode("utf-16-le") + GOOD.decode().encode("utf-16-le"), [
        ("", "0|1", "MG101", "internal error", "", "UTF-16 LE with BOM"),
    ]),
    ("good_semicolon.csv", GOOD.replace(b",", b";"), [
        ("", "0|1", "MG101", "internal error", "", "semicolon delimiter"),
    ]),
    ("good.csv.gz", _gz(GOOD), [("", "0|1", "MG101", "internal error", "", "gzip")]),
    ("good.parquet", _parquet(_parquet_good), [("", "0|1", "MG101", "internal error", "", "parquet")]),
    ("wide.csv", _wide(), [("", "0|1", "MG101", "internal error", "", "wide layout, no outcomes")]),
    ("unresolved.csv", _csv([(s, t, p, "") for s, t, p, _ in _walks(8, 6)]), [
        ("", "0|1", "DQ008", "internal error", "", "no outcome resolved"),
    ]),
    ("unsorted.csv", _csv(list(reversed(_walks(8, 6)))), [
        ("", "0|1", "MG101", "internal error", "", "rows newest first"),
    ]),
    ("one_series.csv", _csv(_walks(1, 8)), [("", "0|1", "MG101", "internal error", "", "a single series")]),
    ("two_rows.csv", HEADER.encode() + b"a,0,0.5,1\na,1,0.6,1\n", [
        ("", "0|1", "MG101", "internal error", "", "two rows"),
    ]),
    ("short_series.csv", _csv(_walks(30, 2)), [
        ("", "0|1", "DQ005", "internal error", "", "every series shorter than --min-length"),
    ]),
    # ---------------------------------------------------------------- degenerate data
    ("constant_030.csv", _const("0.3"), [
        ("", "0|1", "MG103", "internal error", "", "30 series all at 0.3 forever"),
        ("--format json", "0|1", '"schema_version"', "internal error", "", "constant series, JSON"),
        ("--format junit", "0|1", "<testsuites", "internal error", "", "constant series, JUnit"),
    ]),
    ("constant_050_unresolved.csv", _const("0.5").replace(b",0\n", b",\n").replace(b",1\n", b",\n"), [
        ("", "2", "no gating check could run", "internal error", "", "constant and unresolved: nothing to test"),
        ("--allow-empty", "0|1", "MG101", "internal error", "", "constant and unresolved, --allow-empty"),
    ]),
    ("extremes.csv", _extremes(), [
        ("", "0|1", "MG101", "internal error", "", "0, 1e-300, 1 - 1e-16 and 1"),
    ]),
    ("tiny_probs.csv", _tiny(), [
        ("", "0|1", "MG101", "internal error", "", "every value 1e-300 or 1 - 1e-16"),
    ]),
    ("all_100_percent.csv", _const("100"), [
        ("--scale percent", "2", "no gating check could run", "internal error", "",
         "every value 100 with --scale percent: certainty, nothing to test"),
    ]),
    ("all_zero.csv", _const("0"), [
        ("", "2", "no gating check could run", "internal error", "", "every value 0: nothing to test"),
    ]),
    ("separation.csv", _separation(), [
        ("", "0|1", "CA20", "internal error", "", "perfect separation of outcomes by p"),
    ]),
    ("one_move.csv", _one_step_moves(), [
        ("", "0|1", "MG103", "internal error", "", "identical revisions: zero-variance regressor"),
    ]),
    ("two_values.csv", _const("0.5", 30, 3).replace(b",1,0.5,", b",1,0.6,"), [
        ("", "0|1", "MG101", "internal error", "", "three-point series, one move each"),
    ]),
    ("constant_clusters.csv",
     b"series,time,p,outcome,cluster\n" + b"".join(
         f"s{s:02d},{t},0.3,{s % 2},c{s % 3}\n".encode() for s in range(12) for t in range(5)), [
        ("--cluster-col cluster", "0|1", "MG103", "internal error", "", "constant series in declared clusters"),
    ]),
    ("underlying_constant.csv",
     b"series,time,p,outcome,underlying\n" + b"".join(
         f"s{s:02d},{t},{0.5 + 0.05 * (t % 2)},{s % 2},0.5\n".encode() for s in range(12) for t in range(6)), [
        ("--underlying-col underlying", "0|1", "WN306", "internal error", "", "constant underlying"),
    ]),
    # ---------------------------------------------------------------- input layer (owner=io)
    ("date_typo_2999.csv", _dates(True), [
        ("", "0|1", "2999-01-02", "internal error", "", "one typo'd date among 2020 dates: read, shown in the time range"),
    ]),
    ("parquet_year1.parquet", _parquet(_parquet_year1), [
        ("", "0|1", "0001-", "internal error", "", "Parquet timestamp in year 1: read"),
    ]),
    ("int_times_ns.csv", _ns_times(), [
        ("", "0|1", "MG101", "DQ052", "", "integer times above 2**53 compared exactly"),
    ]),
    ("all_start_zero.csv", _start_zero(), [
        ("", "2", "no gating check could run", "internal error", "", "every series at 0: nothing could run"),
        ("--allow-empty", "0|1", "DQ010", "internal error", "", "--allow-empty: reported, not an error"),
    ]),
    # ---------------------------------------------------------------- malformed input
    ("empty.csv", b"", [("", "2", "error", "internal error", "", "zero bytes")]),
    ("header_only.csv", HEADER.encode(), [("", "2", "error", "internal error", "", "header, no rows")]),
    ("not_a_table.json", b'{"series": [1, 2, 3], "p": [0.1, 0.2]}\n', [
        ("", "2", "error", "internal error", "", "JSON, not a table"),
    ]),
    ("binary_header.csv", b"\x00\x0f\x1b[31mPK\x03\x04\x00\x01\x02" + GOOD[:60], [
        ("", "2", "error", "internal error", "", "binary bytes"),
        ("--junit-xml {tmp}/j.xml", "2", "error", "internal error", "", "JUnit of exit 2 parses"),
    ]),
    ("truncated.csv.gz", _gz(GOOD)[:40], [("", "2", "error", "internal error", "", "gzip cut short")]),
    ("corrupt_deflate.csv.gz", _flip(_gz(GOOD), 12), [
        ("", "2", "error", "internal error", "", "corrupt deflate stream (zlib.error; found by the fuzzer)"),
    ]),
    ("truncated.parquet", _parquet(_parquet_good)[:200], [
        ("", "2", "error", "internal error", "", "Parquet cut short"),
        ("--junit-xml {tmp}/j.xml", "2", "error", "internal error", "", "pyarrow message in JUnit"),
    ]),
    ("p_out_of_range.csv", _replace_cell(GOOD, 5, 2, "1.5"), [
        ("--scale unit", "2", "1.5", "internal error", "", "p = 1.5")]),
    ("p_negative.csv", _replace_cell(GOOD, 5, 2, "-0.2"), [("", "2", "-0.2", "internal error", "", "p < 0")]),
    ("p_huge.csv", _replace_cell(GOOD, 5, 2, "1e400"), [("", "0|1|2", "", "internal error", "", "p overflows")]),
    ("p_text.csv", _replace_cell(GOOD, 5, 2, "abc"), [("", "2", "'abc'", "internal error", "", "text p")]),
    ("p_all_missing.csv", _csv([(s, t, "NA", o) for s, t, _, o in _walks(5, 4)]), [
        ("", "2", "error", "internal error", "", "every p missing"),
    ]),
    ("outcome_bad.csv", _replace_cell(GOOD, 5, 3, "maybe"), [
        ("", "2", "maybe", "internal error", "", "outcome maybe")]),
    ("outcome_conflict.csv", _replace_cell(GOOD, 5, 3, "1" if GOOD.split(b"\n")[4].endswith(b"0") else "0"), [
        ("", "2", "s00", "internal error", "", "two outcomes for one series"),
    ]),
    ("dup_conflict.csv", _replace_cell(_replace_cell(GOOD, 5, 1, "2"), 5, 2, "0.0123"), [
        ("", "2", "0.0123", "internal error", "", "(series, time) repeats with another p"),
    ]),
    ("time_bad.csv", _replace_cell(GOOD, 5, 1, "yesterday"), [
        ("", "2", "yesterday", "internal error", "", "bad time")]),
    ("id_blank.csv", _replace_cell(GOOD, 5, 0, ""), [("", "2", "no series id", "internal error", "", "blank id")]),
    ("two_prob_cols.csv", _csv([(s, t, p, p, o) for s, t, p, o in _walks(5, 4)],
                               header="series,time,prob_a,prob_b,outcome\n"), [
        ("", "2", "prob_b", "internal error", "", "two probability candidates"),
        ("--prob-col prob_a", "0|1", "MG101", "internal error", "", "resolved by the flag"),
    ]),
    ("ambiguous_scale.csv", _csv([(s, t, round(p * 100, 1) if s < "s02" else p, o)
                                  for s, t, p, o in _walks(6, 5)]), [
        ("", "2", "--scale", "internal error", "", "0-1 and 0-100 mixed"),
    ]),
    ("ragged.csv", GOOD.replace(b"\ns01,1,", b"\ns01,1,0.5,1,extra,"), [
        ("", "0|1|2", "", "internal error", "", "a row with extra fields"),
    ]),
    ("quoted_newline.csv", GOOD.replace(b"\ns01,", b'\n"s0\n1",', 1), [
        ("", "0|1|2", "", "internal error", "", "a quoted newline inside an id"),
    ]),
    ("p_inf.csv", _replace_cell(GOOD, 5, 2, "inf"), [("", "0|1", "DQ001", "internal error", "", "inf p is missing")]),
    # ---------------------------------------------------------------- user text that looks like markup
    ("markup_cell_close.csv", _replace_cell(GOOD, 5, 2, "[/x]"), [
        ("", "2", "[/x]", "internal error", "", "markup closing tag in a p cell"),
    ]),
    ("markup_cell_red.csv", _replace_cell(GOOD, 5, 2, "[red]oops"), [
        ("", "2", "[red]oops", "internal error", "", "markup style in a p cell shown verbatim"),
        ("--junit-xml {tmp}/j.xml", "2", "[red]oops", "internal error", "", "and written to JUnit"),
    ]),
    ("markup_ids.csv", _replace_cell(_ids(["[/x]", "[red]a", "]]>", "%0A", "a::b", "\u202eevil", "z\u200bw",
                                           "<x&y>"]), 5, 2, "bad"), [
        ("", "2", "bad", "internal error", "", "a bad cell in a series with a markup id"),
    ]),
    ("markup_ids_ok.csv", _ids(["[/x]", "[red]a", "]]>", "%0A", "a::b", "\u202eevil", "z\u200bw", "<x&y>"]), [
        ("-v", "0|1", "[/x]", "internal error", "", "markup, XML and RTL ids in the text report (series table)"),
        ("-v", "0|1", "[red]a", "internal error", "", "markup ids in the text report, never read as markup"),
        ("--format json", "0|1", "[red]a", "internal error", "", "JSON parses"),
        ("--format junit", "0|1", "<testsuites", "internal error", "", "JUnit parses"),
        ("--format github", "0|1", "::notice", "internal error", "", "annotations"),
    ]),
    ("markup_header.csv", _csv(_walks(5, 4), header="series,time,[/x],outcome\n"), [
        ("--prob-col [red]nope", "2", "[red]nope", "internal error", "", "option value with markup"),
        ("--time-col [/x]bad", "2", "[/x]bad", "internal error", "", "option value with markup"),
    ]),
    ("[red]missing[/x].csv", None, [
        ("", "2", "[red]missing[/x].csv", "internal error", "", "a missing path that looks like markup"),
    ]),
    ("good.csv", GOOD, [
        ("--outcomes [/x]nope.csv", "2", "[/x]nope.csv", "internal error", "", "outcomes path with markup"),
        ("--horizons [/x]", "2", "[/x]", "internal error", "", "horizons value with markup"),
        ("--select [red]ZZ", "0|1|2", "", "MarkupError", "", "selection with markup"),
        ("--scale [red]oops", "2", "[red]oops", "MarkupError", "", "enum option value with markup (typer)"),
        ("--bogus-[/x]", "2", "--bogus-[/x]", "MarkupError", "", "unknown option with markup (typer)"),
    ]),
    ("control_chars.csv", _replace_cell(GOOD, 5, 2, "0.\x01\x0f\x1f5"), [
        ("--junit-xml {tmp}/j.xml", "2", "not numbers", "internal error", "", "control characters in a cell"),
    ]),
]


def rows() -> list[dict[str, str]]:
    out = []
    for name, _, runs in CASES:
        for flags, code, expect, forbid, owner, note in runs:
            out.append({"file": name, "flags": flags, "exit": code, "expect": expect, "forbid": forbid,
                        "owner": owner, "note": note})
    return out


def files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, content, _ in CASES:
        if content is not None:
            out[name] = content
    return out


def table() -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["file", "flags", "exit", "expect", "forbid", "owner", "note"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows())
    return buf.getvalue().encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = ap.parse_args(argv)
    wanted = dict(files())
    wanted["expected.csv"] = table()
    if args.check:
        # gzip and Parquet bytes depend on the zlib / pyarrow build: those files must exist;
        # every text file must be byte-identical
        def differs(n: str, b: bytes) -> bool:
            if not (DATA / n).exists():
                return True
            if n.endswith((".gz", ".parquet")):
                return (DATA / n).stat().st_size == 0
            return (DATA / n).read_bytes() != b

        bad = [n for n, b in wanted.items() if differs(n, b)]
        for n in bad:
            print(f"differs: tests/data/{n}", file=sys.stderr)
        return 1 if bad else 0
    DATA.mkdir(parents=True, exist_ok=True)
    for n, b in wanted.items():
        (DATA / n).write_bytes(b)
    print(f"wrote {len(wanted) - 1} inputs and expected.csv ({len(rows())} runs) to tests/data/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

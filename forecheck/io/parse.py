"""Vectorised parsers for the columns forecheck uses: time, probability, outcome.

Each works on a whole column at once (string columns are parsed on their unique
values, which makes dates cheap: 302,859 House rows carry 98 distinct dates).
They never raise on bad cells; they return masks, and the caller (validate.py)
turns them into ``InputError`` messages naming rows and values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecheck.arrow import arrow_cells

# Cells read as "no probability here" (dropped and counted, finding DQ001).
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "nil", "#n/a", "-", "?", ".", "<na>"})
TRUE_TOKENS = frozenset({"1", "1.0", "true", "t", "yes", "y", "won", "win"})
FALSE_TOKENS = frozenset({"0", "0.0", "false", "f", "no", "n", "lost", "loss", "lose"})
OUTCOME_BLANK = frozenset({"", "na", "nan", "n/a", "null", "none", "unresolved", "pending", "-", "<na>"})

# (format, description) tried in order on string times; the first that parses
# every distinct value wins.
TIME_FORMATS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d", "ISO date (YYYY-MM-DD)"),
    ("ISO8601", "ISO 8601 timestamp"),
    ("%m/%d/%Y", "US date (M/D/YYYY)"),
    ("%m/%d/%y", "US date (M/D/YY)"),
    ("%H:%M:%S %d %b %Y", "538 run timestamp (HH:MM:SS D Mon YYYY)"),
    ("%Y/%m/%d", "date (YYYY/MM/DD)"),
    ("%d %b %Y", "date (D Mon YYYY)"),
    ("%Y%m%d", "compact date (YYYYMMDD)"),
)

DAY_NS = 86_400 * 10**9


@dataclass
class ParsedTime:
    values: np.ndarray  # float64: days since epoch, seconds, or step
    kind: str  # date | datetime | epoch | index
    unit: str  # day | second | step
    description: str
    bad: np.ndarray  # bool mask of unparseable cells (blank included)
    # Integer times as read (int64), for exact comparisons: float64 holds integers
    # exactly only up to 2**53, and nanosecond epochs (~1.6e18) are far above it.
    # None for dates, datetimes and non-integer numbers.
    exact: np.ndarray | None = None


def _as_str(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip()


def factorize_cells(values: pd.Series, transform, **kw) -> tuple[np.ndarray, object]:
    """``pd.factorize(transform(values), **kw)``, computed on the distinct raw cells.

    ``transform`` is cell by cell (strip, lower, ...), so it is applied to the K
    distinct cells of an Arrow-backed column (one hash pass over the N cells,
    ``dictionary_encode``) and the K results are factorised: same codes, same
    uniques in the same (first-appearance) order, without N-row string
    operations. A categorical column (the Parquet reader's dictionary-encoded series
    ids) is factorised on its categories the same way. Other columns take the direct
    way."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _factorize_categorical(values, transform, **kw)
    ca = arrow_cells(values)
    if ca is None or ca.num_chunks == 0:
        return pd.factorize(transform(values), **kw)
    enc = ca.dictionary_encode(null_encoding="encode")
    chunks = enc.chunks
    if not chunks:
        return pd.factorize(transform(values), **kw)
    d0 = chunks[0].dictionary
    if any(not _same_buffers(c.dictionary, d0) for c in chunks[1:]):  # pragma: no cover
        # pyarrow gives every chunk the one dictionary it built; should it not: the direct way
        return pd.factorize(transform(values), **kw)
    distinct = pd.Series(pd.array(d0, dtype=values.dtype), name=values.name)
    codes, uniques = pd.factorize(transform(distinct), **kw)
    codes = np.asarray(codes, dtype=np.int64)
    identity = bool(np.array_equal(codes, np.arange(len(codes))))  # the transform merged no two cells
    out = np.empty(len(values), dtype=np.int64)
    pos = 0
    for c in chunks:  # chunk by chunk into one array: no concatenated copy of the indices
        ix = c.indices.to_numpy(zero_copy_only=False)
        out[pos:pos + len(ix)] = ix if identity else codes[ix]
        pos += len(ix)
    return out, uniques


def _factorize_categorical(values: pd.Series, transform, **kw) -> tuple[np.ndarray, object]:
    """:func:`factorize_cells` of a categorical column: its distinct cells, in order of
    first appearance, are categories (or missing) picked by the codes, so ``transform``
    runs on them alone and the rows take their codes. The codes of a file's dictionary
    usually number the cells in that order already (each new cell one more than the
    largest before it), which one running maximum confirms without a hash pass."""
    cc = np.asarray(values.array.codes)  # (a view of the codes; ``.cat.codes`` copies them into a Series)
    n = len(cc)
    if n == 0:
        return pd.factorize(transform(values), **kw)
    top = _top_code_if_in_first_appearance_order(cc)
    if top is not None:
        rows, first = cc, np.arange(top + 1)
    else:
        rows, first = pd.factorize(cc)  # category codes (−1: missing) in order of first appearance
    cells = values.cat.categories.take(np.maximum(first, 0))
    distinct = pd.Series(cells.array, name=values.name)
    if (first < 0).any():
        distinct = distinct.astype(cells.dtype).where(first >= 0)
    codes, uniques = pd.factorize(transform(distinct), **kw)
    codes = np.asarray(codes, dtype=np.int64)
    if np.array_equal(codes, np.arange(len(codes))):  # the transform merged no two cells
        return rows.astype(np.int64), uniques
    return codes[rows], uniques


def _top_code_if_in_first_appearance_order(cc: np.ndarray, block: int = 1 << 16) -> int | None:
    """The largest code when the codes number the cells in order of first appearance
    (code 0 first, each later code at most one more than the largest before it: then
    every code below that largest appeared before it), else None — also when a cell is
    missing (code −1), which the running maximum alone would pass over. One running
    maximum over blocks that stay in cache, without N-sized temporaries."""
    if cc[0] != 0:
        return None
    top = 0
    for start in range(0, len(cc), block):
        if int(cc[start:start + block].min()) < 0:  # a missing cell: its row needs a code of its own
            return None
        run = np.maximum.accumulate(cc[start:start + block])
        np.maximum(run, top, out=run)
        if run[0] > top + 1 or (len(run) > 1 and int((run[1:] - run[:-1]).max()) > 1):
            return None
        top = int(run[-1])
    return top


def _same_buffers(a, b) -> bool:
    return len(a) == len(b) and [x.address if x is not None else 0 for x in a.buffers()] == \
        [x.address if x is not None else 0 for x in b.buffers()]


def to_float(s: pd.Series) -> np.ndarray:
    """Numbers from stripped strings, NaN where a cell is not a number.

    Fast path: pyarrow's cast of an Arrow-backed column (7x faster than
    ``pd.to_numeric``; same accepted forms and the same correctly rounded values),
    blank cells as missing. Any cell it rejects sends the whole column to
    ``pd.to_numeric(errors="coerce")``, which decides cell by cell."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = s.array.__arrow_array__()
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        return np.array(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    except Exception:  # not Arrow-backed, or a cell that is not a number: decide cell by cell
        return np.array(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan))


def float_cells(values: pd.Series) -> np.ndarray | None:
    """Numbers of an Arrow-backed text column without nulls when pyarrow's cast
    accepts every cell as it is, blanks as NaN (else None). The cast rejects any
    surrounding white space, so a column it accepts is its own stripped form:
    this is :func:`to_float` of the stripped column without stripping 10^7 cells."""
    ca = arrow_cells(values)
    if ca is None or ca.null_count:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    num = np.empty(len(values), dtype=float)
    pos = 0
    for chunk in ca.chunks:  # chunk by chunk into one array: no column-sized Arrow copy
        try:
            out = pc.cast(chunk, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            try:
                out = pc.cast(pc.if_else(pc.equal(chunk, ""), pa.scalar(None, chunk.type), chunk), pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        num[pos:pos + len(chunk)] = out.to_numpy(zero_copy_only=False)
        pos += len(chunk)
    return num


def _datetime_to_days(dt: pd.Series | pd.DatetimeIndex) -> tuple[np.ndarray, bool]:
    """Float days since 1970-01-01 and whether any value has a time of day.

    Works in the values' own resolution (s/ms/us/ns), never converting to
    nanoseconds: that range ends in 2262, and Parquet dates of year 1 or a typo'd
    2999-01-02 are valid dates."""
    idx = pd.DatetimeIndex(dt)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    ok = ~idx.isna()
    try:
        ticks, per_day = idx.as_unit("ns").asi8, DAY_NS
    except (OverflowError, ValueError):  # OutOfBoundsDatetime: outside 1677-2262, keep the own unit
        unit = np.datetime_data(idx.dtype)[0]
        ticks = idx.asi8
        per_day = {"s": 86_400, "ms": 86_400 * 10**3, "us": 86_400 * 10**6}[unit]
        whole, frac = np.divmod(ticks, per_day)  # exact in int64: whole days and ticks into the day
        days = np.where(ok, whole.astype(np.float64) + frac / per_day, np.nan)
        return days, bool(np.any(frac[ok] != 0))
    days = np.where(ok, ticks.astype(np.float64) / per_day, np.nan)
    return days, bool(np.any(np.mod(ticks[ok], per_day) != 0))


def _all_integral(x: np.ndarray, block: int = 1 << 20) -> bool:
    """``np.all(x == np.round(x))`` in blocks (no temporaries the size of ``x``)."""
    for i in range(0, len(x), block):
        b = x[i:i + block]
        if not np.all(b == np.round(b)):
            return False
    return True


EPOCH_MS = "epoch milliseconds (converted to seconds)"


def _numeric_reading(integral: bool, lo: float, hi: float) -> tuple[str, str, str, float]:
    """(kind, unit, description, divisor) of numeric times from their range: the
    range of the whole column, so one number reads the same in every row."""
    if integral and 1e9 <= lo and hi < 1e10:
        return "epoch", "second", "epoch seconds", 1.0
    if integral and 1e12 <= lo and hi < 1e13:
        return "epoch", "second", EPOCH_MS, 1000.0
    return "index", "step", "step index (numbers)", 1.0


def _number_stats(num: np.ndarray, integers: bool) -> tuple[int, bool, float, float]:
    """(finite values, all of them integral, min, max) of numeric times."""
    ok = np.isfinite(num)
    finite = num if ok.all() else num[ok]
    integral = finite.size > 0 and (integers or _all_integral(finite))
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return int(finite.size), bool(integral), lo, hi


def _numeric_time(num: np.ndarray, integers: bool = False) -> tuple[np.ndarray, str, str, str]:
    """``integers``: ``num`` was converted from an integer column (then every finite value is
    integral: float64 rounds an int64 to an integer)."""
    _, integral, lo, hi = _number_stats(num, integers)
    kind, unit, desc, divisor = _numeric_reading(integral, lo, hi)
    return (num / divisor if divisor != 1.0 else num), kind, unit, desc


def _exact_of_integers(values: pd.Series) -> np.ndarray | None:
    """The int64 times of an integer column (float64 cannot tell all of them apart; None
    for another column, or unsigned values beyond int64)."""
    if not pd.api.types.is_integer_dtype(values.dtype):
        return None
    if values.dtype.kind == "u" and len(values) and values.max() >= 2**63:
        return None
    return values.to_numpy(dtype=np.int64, na_value=0)


def _exact_integers(u: pd.Series, blank: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """int64 of distinct number strings ``u`` when every non-blank one is an integer
    that int64 holds (else None), mapped to rows by ``codes``; blanks are 0."""
    try:
        iu = pd.to_numeric(u[~blank])
    except (ValueError, TypeError, OverflowError):
        return None
    if not pd.api.types.is_integer_dtype(iu.dtype) or (iu.dtype.kind == "u" and len(iu) and iu.max() >= 2**63):
        return None
    out = np.zeros(len(u), dtype=np.int64)
    out[~blank] = iu.to_numpy(dtype=np.int64)
    return out[codes]


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, pd.Series, np.ndarray, np.ndarray]:
    """A text time column's distinct cells, whitespace-normalised (``u``), the code
    of each row's cell, which cells are blank and their values as numbers (NaN: not
    a number)."""
    codes, uniques = factorize_cells(values, _as_str)
    u = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.split().str.join(" ")
    blank = (u == "").to_numpy()
    num = pd.to_numeric(u, errors="coerce").to_numpy(dtype=float)
    return codes, u, blank, num


def _numbers_only(blank: np.ndarray, num: np.ndarray) -> bool:
    """A text time column read as numbers (epoch or step index), not as dates: every
    non-blank cell is a number, and some cell is not blank."""
    return bool(np.all(np.isfinite(num) | blank)) and not bool(np.all(blank))


def parse_time(values: pd.Series, reading: TimeReading | None = None) -> ParsedTime:
    """Parse a time column: datetimes, ISO/US dates, 538 run timestamps, epoch
    seconds or plain numbers (a step index). ``reading``: how to read it, decided
    over the whole column by a caller that parses it in parts (:func:`time_reading_over`);
    None: decided from ``values``."""
    if reading is not None:
        return _parse_as(values, reading)
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days, tod = _datetime_to_days(values)
        return ParsedTime(days, "datetime" if tod else "date", "day", "datetime values", np.isnan(days))
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        t, kind, unit, desc = _numeric_time(num, pd.api.types.is_integer_dtype(values.dtype))
        return ParsedTime(t, kind, unit, desc, ~np.isfinite(num), _exact_of_integers(values))
    codes, u, blank, num = _distinct_text(values)
    if _numbers_only(blank, num):
        t, kind, unit, desc = _numeric_time(np.where(blank, np.nan, num))
        tu = t
        return ParsedTime(tu[codes], kind, unit, desc, _per_row(blank | ~np.isfinite(tu), codes),
                          _exact_integers(u, blank, codes))
    best = None
    for fmt, desc in TIME_FORMATS:
        try:
            days, tod = _datetime_to_days(_dates_as(u, fmt))
        except (ValueError, TypeError):
            continue
        bad = np.isnan(days)
        if best is None or bad.sum() < best[2].sum():
            best = (days, tod, bad, desc)
        if not np.any(bad & ~blank):
            break
    days, tod, bad, desc = best
    kind = "datetime" if tod else "date"
    out = days[codes] if n else np.empty(0)
    return ParsedTime(out, kind, "day", desc, _per_row(bad, codes) if n else np.zeros(0, bool))


# ---------------------------------------------------------------- a column read in parts
@dataclass(frozen=True)
class TimeReading:
    """How :func:`parse_time` reads a column (kind, unit and description as it reports
    them), decided over the whole column by a caller that parses it in parts (the Dask
    engine's partitions): a part alone could read its cells otherwise (a part of epoch
    seconds as epoch seconds where the whole column, holding small integers too, is a
    step index; epoch milliseconds where the whole column mixes them with seconds; text
    dates in its own format)."""

    kind: str  # date | datetime | epoch | index
    unit: str  # day | second | step
    description: str
    divisor: float = 1.0  # numbers: 1000 for epoch milliseconds (read as seconds)
    fmt: str | None = None  # text dates: the TIME_FORMATS format that reads them
    # integers: held exactly (ParsedTime.exact) only when the whole column can be (a part of
    # integer cells alone could, where the whole column, holding "12.0" too, cannot)
    exact: bool = False
    top: float = 0.0  # exact integers: the largest magnitude of the whole column (its float64 spacing)


@dataclass(frozen=True)
class TimePart:
    """What :func:`time_reading_over` needs of one part of a time column (the same
    tests as ``parse_time``'s, in a form that adds up over parts)."""

    form: str  # datetime | numbers (numbers, or text of numbers) | dates (other text) | blank (text, all blank)
    n: int = 0  # numbers: finite values
    integral: bool = True  # numbers: every finite value integral
    lo: float = 0.0  # numbers: range of the finite values
    hi: float = 0.0
    tod: bool = False  # datetime: some value has a time of day
    exact: bool = False  # numbers: held exactly as int64 (ParsedTime.exact)
    top: float = 0.0  # exact numbers: the largest magnitude
    # dates: per TIME_FORMATS format, (it reads every non-blank cell, some value has a time of day)
    formats: tuple[tuple[bool, bool], ...] = ()


def _dates_as(u: pd.Series, fmt: str):
    """The text cells ``u`` read in date format ``fmt`` of TIME_FORMATS (NaT where not)."""
    kw = {"utc": True} if fmt == "ISO8601" else {}
    return pd.to_datetime(u, format=fmt, errors="coerce", **kw)


def time_part(values: pd.Series) -> TimePart:
    """The :class:`TimePart` of one part of a time column."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return TimePart("datetime", tod=_datetime_to_days(values)[1])
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        n, integral, lo, hi = _number_stats(values.to_numpy(dtype=float, na_value=np.nan),
                                            pd.api.types.is_integer_dtype(values.dtype))
        return TimePart("numbers", n=n, integral=integral, lo=lo, hi=hi, **_exact_part(_exact_of_integers(values)))
    _, u, blank, num = _distinct_text(values)
    if np.all(blank):
        return TimePart("blank")
    if _numbers_only(blank, num):
        n, integral, lo, hi = _number_stats(np.where(blank, np.nan, num), False)
        # (on the distinct cells: every one is some row's, so the largest is the rows')
        exact = _exact_integers(u, blank, np.arange(len(u)))
        return TimePart("numbers", n=n, integral=integral, lo=lo, hi=hi, **_exact_part(exact))
    formats = []
    for fmt, _ in TIME_FORMATS:  # every format: which one reads every part's cells is known only over them all
        try:
            days, tod = _datetime_to_days(_dates_as(u, fmt))
        except (ValueError, TypeError):
            formats.append((False, False))
            continue
        formats.append((not bool(np.any(np.isnan(days) & ~blank)), tod))
    return TimePart("dates", formats=tuple(formats))


def _exact_part(exact: np.ndarray | None) -> dict:
    """TimePart's exact and top of a part whose integers are ``exact`` (None: not held exactly)."""
    if exact is None:
        return {"exact": False}
    return {"exact": True, "top": _top(exact)}


def _top(exact: np.ndarray) -> float:
    """The largest magnitude of exact integer times, as the note on times beyond 2^53 quotes it."""
    return float(np.abs(exact).max()) if len(exact) else 0.0


def time_reading_over(parts) -> TimeReading | None:
    """``parse_time(whole)``'s reading from :func:`time_part` of disjoint parts of one
    column (each part of the same dtype): datetimes are dates unless some value has a
    time of day; numbers are epoch seconds, epoch milliseconds or a step index by the
    range of every part's numbers, held exactly (int64) when every part's are; text dates take the first format that reads every
    part's cells. None when the parts do not decide it (text of numbers in some parts
    and dates in others, or no format reads every part's cells: ``parse_time`` then
    picks the format failing on the fewest distinct cells, which counts need every
    part's cells: :func:`time_cells`, ``reading_of(parse_time(...))``)."""
    parts = [p for p in parts if p.form != "blank"]
    if not parts:  # every cell blank: parse_time's dates of the first format (none parses)
        return TimeReading("date", "day", TIME_FORMATS[0][1], fmt=TIME_FORMATS[0][0])
    forms = {p.form for p in parts}
    if forms == {"datetime"}:
        return TimeReading("datetime" if any(p.tod for p in parts) else "date", "day", "datetime values")
    if forms == {"numbers"}:
        some = [p for p in parts if p.n > 0]
        integral = bool(some) and all(p.integral for p in some)
        lo, hi = (min(p.lo for p in some), max(p.hi for p in some)) if some else (0.0, 0.0)
        kind, unit, desc, divisor = _numeric_reading(integral, lo, hi)
        exact = all(p.exact for p in parts)  # (int64 for every part's integers: for the whole column's)
        return TimeReading(kind, unit, desc, divisor, exact=exact,
                           top=max(p.top for p in parts) if exact else 0.0)
    if forms == {"dates"}:
        for i, (fmt, desc) in enumerate(TIME_FORMATS):
            if all(p.formats[i][0] for p in parts):
                tod = any(p.formats[i][1] for p in parts)
                return TimeReading("datetime" if tod else "date", "day", desc, fmt=fmt)
    return None


def time_cells(values: pd.Series) -> np.ndarray:
    """The distinct cells of a text time column, stripped (blank: ""): parse_time of
    every part's cells together reads them as the whole column (same distinct cells)."""
    _, uniques = factorize_cells(values, _as_str)
    return np.asarray(uniques, dtype=object)


def reading_of(pt: ParsedTime) -> TimeReading:
    """The :class:`TimeReading` that reads a column as ``pt`` read it."""
    fmt = next((f for f, d in TIME_FORMATS if d == pt.description), None)
    return TimeReading(pt.kind, pt.unit, pt.description, 1000.0 if pt.description == EPOCH_MS else 1.0, fmt,
                       exact=pt.exact is not None, top=_top(pt.exact) if pt.exact is not None else 0.0)


def _parse_as(values: pd.Series, reading: TimeReading) -> ParsedTime:
    """``parse_time`` of one part of a column as the whole column reads (``reading``)."""
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days, _ = _datetime_to_days(values)
        return ParsedTime(days, reading.kind, "day", reading.description, np.isnan(days))
    if reading.unit == "day" and reading.fmt is None:  # (datetimes: every part has the one dtype)
        raise RuntimeError("a reading of datetime values given for a column of another type")
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        if reading.fmt is not None:
            raise RuntimeError("a reading of text dates given for a column of numbers")
        num = values.to_numpy(dtype=float, na_value=np.nan)
        t = num / reading.divisor if reading.divisor != 1.0 else num
        return ParsedTime(t, reading.kind, reading.unit, reading.description, ~np.isfinite(num),
                          _exact_of_integers(values) if reading.exact else None)
    codes, u, blank, num = _distinct_text(values)
    if reading.fmt is None:  # numbers (a cell that is not one reads as bad, as in a whole column of dates)
        tu = np.where(blank, np.nan, num)
        if reading.divisor != 1.0:
            tu = tu / reading.divisor
        return ParsedTime(tu[codes], reading.kind, reading.unit, reading.description,
                          _per_row(blank | ~np.isfinite(tu), codes),
                          _exact_integers(u, blank, codes) if reading.exact else None)
    try:
        days, _ = _datetime_to_days(_dates_as(u, reading.fmt))
    except (ValueError, TypeError):
        days = np.full(len(u), np.nan)
    bad = np.isnan(days)
    out = days[codes] if n else np.empty(0)
    return ParsedTime(out, reading.kind, "day", reading.description, _per_row(bad, codes) if n else np.zeros(0, bool))


@dataclass
class ParsedProb:
    values: np.ndarray  # float64 on the file's scale (NaN where not usable)
    na_value: np.ndarray  # bool: matched --na-values
    missing: np.ndarray  # bool: blank / NA token / NaN
    nonfinite: np.ndarray  # bool: inf / -inf
    nonnumeric: np.ndarray  # bool: text that is not a number


def parse_prob(values: pd.Series, na_values: tuple[str, ...] = ()) -> ParsedProb:
    """Parse a probability column (any scale); classify every unusable cell."""
    n = len(values)
    na_set = {str(v).strip() for v in na_values}
    na_num = set()
    for v in na_set:
        try:
            na_num.add(float(v))
        except ValueError:
            pass
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        if not na_num and np.isfinite(num).all():  # the usual column: every value usable
            none = np.zeros(n, bool)
            return ParsedProb(np.array(num), none, none.copy(), none.copy(), none.copy())
        is_na = np.isin(num, list(na_num)) if na_num else np.zeros(n, bool)
        missing = np.isnan(num) & ~is_na
        nonnumeric = np.zeros(n, bool)
        owned = False  # may be the caller's own data
    else:
        num = float_cells(values)
        if num is None:  # some cell is padded, blank-only or not a number: strip, then decide cell by cell
            s = _as_str(values)
            num = to_float(s)
        else:  # every cell is blank or a number without padding: stripping would change nothing
            s = values
            if not na_set and np.isfinite(num).all():
                # every cell a finite number (the usual file): nothing is missing, a marker or text
                return ParsedProb(num, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
        owned = True  # ``num`` is a new array: the unusable cells are blanked in place
        is_na = s.isin(na_set).to_numpy().copy() if na_set else np.zeros(n, bool)
        if na_num:
            is_na |= np.isin(num, list(na_num))
        failed = np.isnan(num) & ~is_na
        missing = np.zeros(n, bool)
        if failed.any():
            tok = s[failed].str.lower()
            miss_sub = tok.isin(MISSING_TOKENS).to_numpy()
            missing[np.flatnonzero(failed)[miss_sub]] = True
        nonnumeric = failed & ~missing
    nonfinite = np.isinf(num) & ~is_na
    usable = ~(is_na | missing | nonfinite | nonnumeric)
    if owned:
        num[~usable] = np.nan
        return ParsedProb(num, is_na, missing, nonfinite, nonnumeric)
    return ParsedProb(np.where(usable, num, np.nan), is_na, missing, nonfinite, nonnumeric)


def parse_outcome(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes as 0.0/1.0/NaN (blank = unresolved) and a mask of invalid cells.

    Accepted (any case): 1/0, 1.0/0.0, true/false, t/f, yes/no, y/n, won/lost."""
    if pd.api.types.is_bool_dtype(values.dtype):
        out = values.to_numpy(dtype=float, na_value=np.nan)
        return out, np.zeros(len(out), bool)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":  # numpy integers: no missing cell
        v = values.to_numpy()
        bad = (v != 0) & (v != 1)
        return np.where(bad, np.nan, v.astype(float)) if bad.any() else v.astype(float), bad
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype=float, na_value=np.nan)
        bad = ~(np.isnan(out) | (out == 0) | (out == 1))
        return np.where(bad, np.nan, out), bad
    codes, uniques = factorize_cells(values, _as_str)
    u = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.lower()
    val = np.full(len(u), np.nan)
    val[u.isin(TRUE_TOKENS).to_numpy()] = 1.0
    val[u.isin(FALSE_TOKENS).to_numpy()] = 0.0
    bad_u = np.isnan(val) & ~u.isin(OUTCOME_BLANK).to_numpy()
    return val[codes], _per_row(bad_u, codes)


def _per_row(mask_u: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A mask of the distinct values, per row (no gather when it is all False)."""
    return mask_u[codes] if mask_u.any() else np.zeros(len(codes), dtype=bool)


def format_times(kind: str, values) -> list[str]:
    """Times (float days, or seconds and steps) as the report writes them for a time
    kind (date, datetime, epoch, index); blank for a missing one."""
    out = []
    for x in values:
        if not np.isfinite(x):
            out.append("")
        elif kind == "date":
            out.append(str(np.datetime64(int(round(x)), "D")))
        elif kind == "datetime":
            out.append(str(np.datetime64(int(round(x * 86400)), "s")).replace("T", " "))
        else:
            out.append(f"{x:g}")
    return out

"""One home for how numbers, p-values, times and widths are written in reports.

Every renderer (text, markdown, HTML, GitHub annotations) formats through these
functions, so a p-value reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

#: narrowest text report; Rich uses the terminal's width when it is wider
MIN_WIDTH = 80
WIDTH = MIN_WIDTH
MISSING = "–"


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt_p(p: Any) -> str:
    """A p-value: '< 0.001' below 0.001, else three decimals; '–' when absent."""
    v = _finite(p)
    if v is None:
        return MISSING
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def fmt_num(x: Any, digits: int = 3) -> str:
    """Compact number for tables ('' for missing): scientific only for very large
    or very small magnitudes."""
    if x is None:
        return ""
    v = _finite(x)
    if v is None:
        return "" if isinstance(x, (int, float)) or x is None else str(x)
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".")


def fmt_fixed(x: Any, spec: str = ".2f") -> str:
    """``format(x, spec)`` or '–' when missing or not finite."""
    v = _finite(x)
    return MISSING if v is None else format(v, spec)


def fmt_pct(x: Any) -> str:
    """A share as a whole percentage ('n/a' when missing)."""
    v = _finite(x)
    return "n/a" if v is None else f"{100 * v:.0f}%"


def fmt_count(n: int) -> str:
    """An integer count, with no decimals (e.g. an effective number of series)."""
    return f"{n:,.0f}"


def plural(n: float, one: str, many: str | None = None) -> str:
    """'1 series', '2 jumps': the count and the right form of the noun."""
    many = many or one + "s"
    return f"{fmt_count(n)} {one if round(n) == 1 else many}"


TIME_UNIT_WORDS = {"day": "days", "second": "seconds", "step": "steps", "minute": "minutes", "hour": "hours"}


def time_unit_word(unit: str | None) -> str:
    """The plural word for a panel's time unit ('days', 'steps', ...)."""
    return TIME_UNIT_WORDS.get(unit or "step", f"{unit}s" if unit else "steps")


"""Multiple-testing adjustment of one declared family of p-values.

The whole vector is adjusted at once (not each p in a loop; cf. ggsignif PR #31).
Holm (1979) controls the family-wise error rate, the right default when one
failure fails a CI build; Benjamini-Hochberg (1995) controls the FDR.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def adjust_pvalues(p: np.ndarray, method: Literal["holm", "bh", "none"] = "holm") -> np.ndarray:
    """Adjusted p-values, same order as ``p``; NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0 or method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1) * ranked[::-1]))[::-1]
    else:
        raise ValueError(f"unknown p-value adjustment {method!r}; use holm, bh or none")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out

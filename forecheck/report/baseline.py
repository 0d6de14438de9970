"""``--baseline report.json``: compare this run with a saved JSON report of the same questions.

Per check present in both runs with an estimate: the change in estimate and, where both
runs report a 95% confidence interval, a test of the difference,

    se = (ci_high - ci_low) / (2 * 1.959964),   z = (new - old) / sqrt(se_new^2 + se_old^2),

two-sided normal p-value. **Assumption: the two runs are independent samples.** Runs on the
same questions share outcomes and most of their paths, so their estimates are positively
correlated, Var(new - old) < se_new^2 + se_old^2, and this z is conservative (too small);
an asymmetric (bootstrap) interval is summarised by its half-width, an approximation.

"Worse" is measured as the distance from the value a calibrated forecaster has
(``TARGETS``): MG101 ratio and MG105 VR(2) from 1, MG103/MG104 slopes and CA202's Z from 0,
CA203's slope from 1, CA201 Brier and CA204's largest violation the larger the worse.
A gating check (severity at or above ``--fail-on``) whose distance grew by more than
``baseline-tolerance`` fails the run; the z-test is reported beside it, not required.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from forecheck.errors import UsageError

Z975 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)

# code -> ("target", value): distance |x - value|;  ("lower", floor): distance max(x - floor, 0)
TARGETS: dict[str, tuple[str, float]] = {
    "MG101": ("target", 1.0),
    "MG102": ("lower", 0.0),
    "MG103": ("target", 0.0),
    "MG104": ("target", 0.0),
    "MG105": ("target", 1.0),
    "CA201": ("lower", 0.0),
    "CA202": ("target", 0.0),
    "CA203": ("target", 1.0),
    "CA204": ("lower", 0.0),
}


class BaselineError(UsageError):
    """The baseline file cannot be used (exit code 2)."""


def load_baseline(path: str) -> dict[str, Any]:
    """Read and check a saved ``--format json`` report; errors name the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline report not found (save one with --format json -o {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline report: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: baseline is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) or "schema_version" not in doc:
        raise BaselineError(f"{path}: not a forecheck JSON report (no schema_version / results); "
                            "save one with forecheck analyze FILE --format json -o PATH")
    return doc


def _distance(code: str, x: float) -> float | None:
    t = TARGETS.get(code)
    if t is None:
        return None
    kind, v = t
    return abs(x - v) if kind == "target" else max(x - v, 0.0)


def _se(ci: Any) -> float | None:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return None
    lo, hi = float(ci[0]), float(ci[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return None
    return (hi - lo) / (2 * Z975)


@dataclass(frozen=True)
class Delta:
    code: str
    name: str
    severity: str
    old: float
    new: float
    delta: float
    z: float | None
    pvalue: float | None
    worse_by: float | None  # growth of the distance from the calibrated value
    worse: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Comparison:
    path: str
    tolerance: float
    rows: tuple[Delta, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "tolerance": self.tolerance,
                "assumption": "independent runs (conservative for runs on the same questions)",
                "rows": [r.to_dict() for r in self.rows], "notes": list(self.notes)}


def compare(results: Iterable[Any], doc: dict[str, Any], *, path: str, tolerance: float,
            series_ids: Iterable[str] | None = None) -> Comparison:
    """Compare this run's records with the baseline document's ``results``."""
    from scipy.stats import norm

    old_by_code: dict[str, dict[str, Any]] = {}
    for rec in doc.get("results", []):
        if isinstance(rec, dict) and isinstance(rec.get("code"), str):
            old_by_code.setdefault(rec["code"], rec)
    rows: list[Delta] = []
    seen: set[str] = set()
    for r in results:
        if r.code in seen or r.family == "DQ":
            continue
        seen.add(r.code)
        old = old_by_code.get(r.code)
        if old is None or old.get("estimate") is None or r.estimate is None:
            continue
        o, n = float(old["estimate"]), float(r.estimate)
        se_o, se_n = _se(old.get("ci")), _se(r.ci)
        z = p = None
        if se_o is not None and se_n is not None and (se_o > 0 or se_n > 0):
            z = (n - o) / math.hypot(se_o, se_n)
            p = float(2 * norm.sf(abs(z)))
        d_o, d_n = _distance(r.code, o), _distance(r.code, n)
        worse_by = None if d_o is None or d_n is None else d_n - d_o
        worse = worse_by is not None and worse_by > tolerance
        test = f", z = {z:+.2f}, p = {p:.3g}" if z is not None else ", no test (no CI in one run)"
        msg = f"{r.code} {r.name}: estimate {o:.4g} -> {n:.4g} ({n - o:+.4g}{test})"
        if worse:
            msg += f"; worse by {worse_by:.4g} > tolerance {tolerance:g}"
        rows.append(Delta(code=r.code, name=r.name, severity=r.severity, old=o, new=n, delta=n - o, z=z,
                          pvalue=p, worse_by=worse_by, worse=worse, message=msg))
    notes = []
    if series_ids is not None and isinstance(doc.get("series"), list):
        old_ids = {str(s.get("id")) for s in doc["series"] if isinstance(s, dict)}
        new_ids = {str(s) for s in series_ids}
        if old_ids != new_ids:
            notes.append(f"the baseline has {len(old_ids)} series, this run {len(new_ids)}, "
                         f"{len(old_ids & new_ids)} in common: estimates describe different questions")
    missing = sorted(set(old_by_code) - seen - {c for c in old_by_code if c.startswith("DQ")})
    if missing:
        notes.append("in the baseline but not in this run: " + ", ".join(missing))
    return Comparison(path=path, tolerance=tolerance, rows=tuple(rows), notes=tuple(notes))

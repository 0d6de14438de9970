"""``forecheck monitor FILE``: the anytime-valid e-processes over time.

Runs MG101, MG103 and CA202 with ``--sequential`` on (``forecheck/checks/sequential.py``)
and prints, for each, the e-process against calendar time (sampled rows of log e), when
the evidence first crossed the threshold (K/α, e-Bonferroni over the three checks) or
"never", and the final e-value. The whole history is recomputed on every run, so a
nightly job needs no stored state and may look as often as it likes. Settings (reading
columns, ``alpha``, ``min-length``, ...) resolve as for ``forecheck analyze``.

Exit codes as ``analyze``: 0 no check crossed, 1 a gating check crossed, 2 could not run.
"""

from __future__ import annotations

import json
import math
import os
import traceback
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from forecheck import settings as S
from forecheck.cli import common
from forecheck.cli.common import check_output_path, err_print, safe_streams, write_payload
from forecheck.errors import InputError
from forecheck.results import ExitCode

CODES = ("MG101", "MG103", "CA202")
READ = "Reading"
OUT = "Output"


class MonitorFormat(str, Enum):
    text = "text"
    json = "json"


def monitor_command(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Forecast files (CSV, TSV, .csv.gz, Parquet) or - for stdin.",
                                               show_default=False)],
    series_col: Annotated[Optional[list[str]], typer.Option("--series-col", help="Series id column.",
                                                            rich_help_panel=READ)] = None,
    time_col: Annotated[Optional[str], typer.Option(help="Time column.", rich_help_panel=READ)] = None,
    prob_col: Annotated[Optional[str], typer.Option(help="Probability column.", rich_help_panel=READ)] = None,
    outcome_col: Annotated[Optional[str], typer.Option(help="0/1 outcome column (blank = unresolved).",
                                                       rich_help_panel=READ)] = None,
    outcomes: Annotated[Optional[str], typer.Option("--outcomes", help="Table of series -> outcome.",
                                                    rich_help_panel=READ)] = None,
    resolved_at_col: Annotated[Optional[str], typer.Option(help="Resolution-time column.",
                                                           rich_help_panel=READ)] = None,
    cluster_col: Annotated[Optional[str], typer.Option(
        help="Cluster column: clusters are declared independent (per-cluster product; one series per cluster = "
             "per-series product). Without it the calendar-time pooled construction is used (valid under any "
             "dependence).", rich_help_panel=READ)] = None,
    min_length: Annotated[Optional[int], typer.Option(help="Shortest series used by dynamic checks.",
                                                      rich_help_panel=READ)] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Level: the family fails at e ≥ 3/alpha.")] = None,
    n_sim: Annotated[Optional[int], typer.Option(help="Draws of the one-look p-values shown for reference.")] = None,
    rows: Annotated[int, typer.Option(help="Rows of the e-process table per check (evenly spaced in calendar "
                                           "slots, always with the last).", min=2, rich_help_panel=OUT)] = 12,
    format: Annotated[MonitorFormat, typer.Option("--format", "-f", help="text or json (the whole path).",
                                                  rich_help_panel=OUT)] = MonitorFormat.text,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to this file.",
                                                  rich_help_panel=OUT)] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="Configuration file.")] = None,
    isolated: Annotated[bool, typer.Option(help="Ignore configuration files and FORECHECK_* variables.")] = False,
    debug: Annotated[bool, typer.Option(help="Show the traceback of internal errors.")] = False,
) -> None:
    """Print the anytime-valid e-processes of MG101, MG103 and CA202 over time.

    When did the evidence against calibration cross 1/alpha (adjusted for the three
    checks), and where is it now? Valid however often this is run on a growing history.
    """
    from forecheck.cli import analyze as A

    safe_streams()
    given: dict[str, Any] = {}
    for name in ("series_col", "time_col", "prob_col", "outcome_col", "outcomes", "resolved_at_col",
                 "cluster_col", "min_length", "alpha", "n_sim"):
        value = ctx.params.get(name)
        if value is None:
            continue
        given[name] = A._split(value) if S.BY_ATTR[name].kind == "list" else value
    given.update(sequential=True, select=list(CODES), extend_select=[], ignore=[], fail_on="error")
    fmt = format.value
    check_output_path(output, "--output", tuple(paths))
    try:
        eff = S.resolve(given, config_path=config, isolated=isolated)
    except S.SettingsError as exc:
        _exit2(exc.message)
    common.set_color(eff["color"])
    try:
        for path in paths:
            if path != "-" and os.path.isdir(path):
                raise InputError(f"{path}: is a directory, not a forecast file")
            if path != "-" and not os.path.exists(path):
                raise InputError(f"{path}: no such file")
        codes = A._selection(eff)
        read_options, cfg = A._build(eff, codes)
        report = A._analyze(list(paths), read_options, cfg, eff)
        decision = report.decision()
        doc = monitor_document(report, decision.exit_code)
        payload = render_json(doc) if fmt == "json" else render_monitor(doc, rows)
    except (InputError, ValueError) as exc:
        _exit2(exc.message if isinstance(exc, InputError) else str(exc))
    except typer.Exit:
        raise
    except Exception as exc:  # never a traceback without --debug
        if debug:
            err_print(traceback.format_exc())
        _exit2(f"internal error: {type(exc).__name__}: {exc}",
               "this is a bug in forecheck; rerun with --debug for the traceback and report it")
    write_payload(payload, output, machine=fmt == "json")
    raise typer.Exit(decision.exit_code)


def _exit2(message: str, hint: str | None = None):
    err_print(("error:", "bold red"), " ", str(message))
    if hint:
        err_print(f"  {hint}")
    raise typer.Exit(int(ExitCode.ERROR))


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def monitor_document(report, exit_code: int) -> dict[str, Any]:
    """The e-process of each sequential record (full path) plus its decision."""
    checks = []
    for code in CODES:
        r = report.result(code)
        if r is None:
            continue
        if r.sequential is None:
            checks.append({"code": code, "name": r.name, "status": r.status, "message": r.message, "path": []})
            continue
        s = r.sequential
        labels = s._time_labels or []
        checks.append({
            "code": code, "name": r.name, "status": r.status, "construction": s.construction,
            "evalue": _num(r.evalue), "max_evalue": _num(s.max_evalue), "threshold": s.threshold,
            "log_threshold": math.log(s.threshold), "crossed": s.crossed,
            "first_crossing_time": s.first_crossing_time, "first_crossing": s.first_crossing,
            "direction": s.direction,
            "confidence_sequence": [_num(x) for x in s.confidence_sequence] if s.confidence_sequence else None,
            "path": [{"time": _num(t), "label": str(lab), "log_e": _num(le)}
                     for t, lab, le in zip(s._times, labels, s._log_e)],
        })
    return {"tool": "forecheck monitor", "alpha": report.config.alpha, "exit_code": int(exit_code),
            "note": "anytime-valid: valid however often this is run", "paths": report.input.get("paths"),
            "checks": checks}


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _fmt_e(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def render_monitor(doc: dict[str, Any], rows: int = 12) -> str:
    """Plain text: per check, its decision line, then a table of time vs log e."""
    import numpy as np

    out = [f"forecheck monitor: {', '.join(str(p) for p in doc.get('paths') or [])} "
           f"(anytime-valid e-values, valid however often this is run; α = {doc['alpha']:g})", ""]
    for c in doc["checks"]:
        if not c.get("path"):
            out += [f"{c['code']} {c['name']}: {c['status']} — {c.get('message', '')}", ""]
            continue
        when = f"first crossed {c['threshold']:g} at {c['first_crossing']}" if c["crossed"] else \
            f"never crossed {c['threshold']:g}"
        cs = ""
        if c.get("confidence_sequence"):
            lo, hi = c["confidence_sequence"]
            cs = f"; movement ratio confidence sequence [{_fmt_e(lo)}, {'∞' if hi is None else _fmt_e(hi)}]"
        out.append(f"{c['code']} {c['name']} ({c['construction']}): {c['status']}; {when}; "
                   f"final e = {_fmt_e(c['evalue'])}, max e = {_fmt_e(c['max_evalue'])}{cs}")
        path = c["path"]
        k = np.linspace(0, len(path) - 1, min(rows, len(path))).round().astype(int)
        le_all = np.array([p["log_e"] if p["log_e"] is not None else 0.0 for p in path])
        hit = np.flatnonzero(le_all >= c["log_threshold"] - 1e-12)
        k = np.unique(np.concatenate([k, hit[:1]]))  # the first crossing is always shown
        width = max(4, *(len(path[i]["label"]) for i in k))
        thr = c["log_threshold"]
        out.append(f"  {'time':>{width}}  {'log e':>8}  {'':20}  (log threshold {thr:.2f})")
        for i in k:
            le = path[i]["log_e"] or 0.0
            n = int(round(20 * max(0.0, min(le, thr)) / thr)) if thr > 0 else 0
            bar = "#" * n + ("|" if le >= thr else "")
            out.append(f"  {path[i]['label']:>{width}}  {le:8.2f}  {bar:20}")
        out.append("")
    out.append(f"exit code {doc['exit_code']}")
    return "\n".join(out) + "\n"

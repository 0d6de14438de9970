"""``forecheck analyze``: read forecast files, run the checks, render, exit."""

from __future__ import annotations

import os
import traceback
from enum import Enum
from typing import Annotated, Optional

import typer

from forecheck.cli.common import err_console, fail, write_payload
from forecheck.config import AnalysisConfig
from forecheck.errors import InputError
from forecheck.io.options import ReadOptions
from forecheck.results import ExitCode


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


class LayoutOpt(str, Enum):
    auto = "auto"
    long = "long"
    wide = "wide"


class ScaleOpt(str, Enum):
    auto = "auto"
    unit = "unit"
    percent = "percent"


class PAdjustOpt(str, Enum):
    holm = "holm"
    bh = "bh"
    none = "none"


class FailOnOpt(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


class InputFormatOpt(str, Enum):
    auto = "auto"
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"


READ = "Reading input"
CHECK = "Checks"
OUT = "Output"


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Accept repeated options and comma-separated lists alike."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return tuple(out)


def _horizons(values: list[str] | None) -> tuple[float, ...] | None:
    items = _split(values)
    if not items:
        return None
    try:
        hs = tuple(float(x) for x in items)
    except ValueError:
        fail(f"--horizons must be numbers in the data's time unit, got {', '.join(items)}",
             "e.g. --horizons 1,7,30 for daily data")
    if any(h < 0 for h in hs):
        fail("--horizons must be non-negative")
    return hs


def analyze_command(
    paths: Annotated[list[str], typer.Argument(help="Forecast files (CSV, TSV, .csv.gz, Parquet) or - for stdin.",
                                               show_default=False)],
    layout: Annotated[LayoutOpt, typer.Option(help="Long (series, time, p) or wide (time + one column per series).",
                                              rich_help_panel=READ)] = LayoutOpt.auto,
    series_col: Annotated[Optional[list[str]], typer.Option(
        "--series-col", help="Series id column; repeat (or comma-separate) to join several into one id.",
        rich_help_panel=READ)] = None,
    time_col: Annotated[Optional[str], typer.Option(
        help="Time column; \"period,-secs\" orders by several columns (leading - = descending) and uses the "
             "step index.", rich_help_panel=READ)] = None,
    prob_col: Annotated[Optional[str], typer.Option(help="Probability column.", rich_help_panel=READ)] = None,
    outcome_col: Annotated[Optional[str], typer.Option(help="0/1 outcome column (blank = unresolved).",
                                                       rich_help_panel=READ)] = None,
    outcomes: Annotated[Optional[str], typer.Option(
        "--outcomes", help="Table of series -> outcome [, resolution time] joined on the series id.",
        rich_help_panel=READ)] = None,
    resolved_at_col: Annotated[Optional[str], typer.Option(help="Resolution-time column.",
                                                           rich_help_panel=READ)] = None,
    published_col: Annotated[Optional[str], typer.Option(
        help="Publication-time column (detects back-casts written after their model date).",
        rich_help_panel=READ)] = None,
    cluster_col: Annotated[Optional[str], typer.Option(
        help="Cluster column (e.g. election, model run): series in one cluster are not independent.",
        rich_help_panel=READ)] = None,
    question_col: Annotated[Optional[str], typer.Option(
        help="Question column: series with one value are the mutually exclusive outcomes of one question "
             "(YES/NO contracts, the candidates of one race).", rich_help_panel=READ)] = None,
    question_detection: Annotated[bool, typer.Option(
        "--question-detection/--no-question-detection",
        help="Without --question-col, detect series whose probabilities sum to 1 at every shared time and "
             "count each set as one question.", rich_help_panel=READ)] = True,
    underlying_col: Annotated[Optional[str], typer.Option(
        help="Underlying quantity (vote share, margin) for Taleb's binary-option model (WN306).",
        rich_help_panel=READ)] = None,
    na_values: Annotated[Optional[list[str]], typer.Option(
        "--na-values", help="Extra values meaning 'no data' (e.g. 0 for Intrade); such rows are dropped and counted.",
        rich_help_panel=READ)] = None,
    scale: Annotated[ScaleOpt, typer.Option(help="Probability scale: unit (0-1), percent (0-100) or auto.",
                                            rich_help_panel=READ)] = ScaleOpt.auto,
    drop_backcast: Annotated[bool, typer.Option(
        help="Drop back-cast rows (published more than a day after their model date): real-time beliefs only.",
        rich_help_panel=READ)] = False,
    input_format: Annotated[InputFormatOpt, typer.Option(help="Force the input format (default: by suffix/content).",
                                                         rich_help_panel=READ)] = InputFormatOpt.auto,
    stdin_filename: Annotated[Optional[str], typer.Option(help="Name to show for - (stdin) in messages.",
                                                          rich_help_panel=READ)] = None,
    min_length: Annotated[int, typer.Option(help="Shortest series (forecasts) used by dynamic checks; shorter ones "
                                                 "are kept for calibration.", rich_help_panel=READ)] = 3,
    alpha: Annotated[float, typer.Option(help="Significance level.", rich_help_panel=CHECK)] = 0.05,
    p_adjust: Annotated[PAdjustOpt, typer.Option(help="Multiple-testing adjustment over the gating checks.",
                                                 rich_help_panel=CHECK)] = PAdjustOpt.holm,
    fail_on: Annotated[FailOnOpt, typer.Option(help="Lowest severity whose failure gives exit code 1.",
                                               rich_help_panel=CHECK)] = FailOnOpt.error,
    select: Annotated[Optional[list[str]], typer.Option(help="Run only these codes or prefixes (MG, MG1, MG101, ALL).",
                                                        rich_help_panel=CHECK)] = None,
    ignore: Annotated[Optional[list[str]], typer.Option(help="Skip these codes or prefixes.",
                                                        rich_help_panel=CHECK)] = None,
    horizons: Annotated[Optional[list[str]], typer.Option(
        help="Horizons before resolution for calibration, in the data's time unit (e.g. 1,7,30).",
        rich_help_panel=CHECK)] = None,
    seed: Annotated[int, typer.Option(help="Seed of simulation/bootstrap p-values.", rich_help_panel=CHECK)] = 20240601,
    n_sim: Annotated[int, typer.Option(help="Simulation/bootstrap draws for p-values.", rich_help_panel=CHECK)] = 999,
    format: Annotated[Format, typer.Option("--format", "-f", help="Report format.", rich_help_panel=OUT)] = Format.text,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the report to this file.",
                                                  rich_help_panel=OUT)] = None,
    junit_xml: Annotated[Optional[str], typer.Option(help="Also write a JUnit XML report to this path.",
                                                     rich_help_panel=OUT)] = None,
    exit_zero: Annotated[bool, typer.Option(help="Exit 0 even when a gating check fails (never hides exit 2).",
                                            rich_help_panel=OUT)] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail (-v every series).",
                                         rich_help_panel=OUT)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the report payload, no commentary.",
                                        rich_help_panel=OUT)] = False,
    debug: Annotated[bool, typer.Option(help="Show the traceback of internal errors.", rich_help_panel=OUT)] = False,
) -> None:
    """Check forecast paths: data quality, variance budget, calibration, Wiener assumptions.

    Layer A (martingale and calibration checks) must pass for a calibrated
    forecaster; layer B (Wiener-process assumptions) may legitimately fail.

    Exit codes: 0 all gating checks passed; 1 a check at or above --fail-on failed;
    2 the input or options prevented analysis.
    """
    from forecheck.api import analyze
    from forecheck.report import render

    if quiet and verbose:
        fail("-q and -v cannot be used together")
    try:
        read_options = ReadOptions(
            layout=layout.value, series_cols=_split(series_col), time_col=time_col, prob_col=prob_col,
            outcome_col=outcome_col, published_col=published_col, resolved_at_col=resolved_at_col,
            cluster_col=cluster_col, question_col=question_col, underlying_col=underlying_col, outcomes_file=outcomes,
            na_values=_split(na_values), scale=scale.value, input_format=input_format.value,
            min_length=min_length, stdin_name=stdin_filename, drop_backcast=drop_backcast)
        config = AnalysisConfig(alpha=alpha, p_adjust=p_adjust.value, fail_on=fail_on.value,
                                select=_split(select) or ("ALL",), ignore=_split(ignore),
                                horizons=_horizons(horizons), min_length=min_length, seed=seed, n_sim=n_sim,
                                question_detection=question_detection)
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    for path in paths:
        if path != "-" and os.path.isdir(path):
            fail(f"{path}: is a directory, not a forecast file",
                 "pass the CSV/TSV/Parquet files inside it, e.g. forecheck analyze DIR/*.csv")
        if path != "-" and not os.path.exists(path):
            fail(f"{path}: no such file")
    try:
        report = analyze(paths, config=config, read_options=read_options)
        payload = render(report, format.value, verbose=verbose, quiet=quiet)
    except InputError as exc:
        _write_error_junit(junit_xml, str(exc))
        _print_input_error(exc)
        raise typer.Exit(int(ExitCode.ERROR))
    except typer.Exit:
        raise
    except Exception as exc:  # top-level catch: never a traceback without --debug
        _write_error_junit(junit_xml, f"internal error: {exc!r}")
        if debug:
            err_console.print(traceback.format_exc(), markup=False)
        fail(f"internal error: {type(exc).__name__}: {exc}",
             "this is a bug in forecheck; rerun with --debug for the traceback and report it")
    if payload is not None:
        write_payload(payload, output)
    if junit_xml:
        from forecheck.report.junit import render_junit

        write_payload(render_junit(report), junit_xml)
    code = report.exit_code
    if exit_zero and code == ExitCode.FAILED:
        code = ExitCode.PASSED
    raise typer.Exit(int(code))


def _print_input_error(exc: InputError) -> None:
    err_console.print(f"[bold red]error:[/] {exc.message}", markup=True)
    for row in exc.details[:10]:
        err_console.print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), markup=False)


def _write_error_junit(path: str | None, message: str) -> None:
    if not path:
        return
    from forecheck.report.junit import render_junit_error

    write_payload(render_junit_error(message), path)

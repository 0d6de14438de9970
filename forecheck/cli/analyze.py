"""``forecheck analyze``: read forecast files, run the checks, gate, render, exit.

Settings come from the command line, ``FORECHECK_*`` variables and ``[tool.forecheck]``
(forecheck/settings.py); the verdict from forecheck/report/gate.py. Every output path is
checked before the analysis starts and written atomically afterwards.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import replace
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from forecheck.cli import common
from forecheck.cli.common import check_output_path, err_print, fail, safe_streams, write_payload
from forecheck.config import AnalysisConfig
from forecheck.errors import InputError
from forecheck.io.options import ReadOptions
from forecheck.results import ExitCode
from forecheck import settings as S


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"
    markdown = "markdown"


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


class InconclusiveOpt(str, Enum):
    fail = "fail"
    warn = "warn"
    pass_ = "pass"


class ColorOpt(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class InputFormatOpt(str, Enum):
    auto = "auto"
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"


class EngineOpt(str, Enum):
    memory = "memory"
    dask = "dask"


READ = "Reading input"
CHECK = "Checks"
GATE = "Gate (exit code)"
OUT = "Output"
CONF = "Configuration"
ENGINE = "Engine"


def _split(values: Any) -> tuple[str, ...]:
    """Accept repeated options and comma-separated lists alike."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in str(v).split(",") if x.strip())
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


def _d(key: str) -> str:
    """The built-in default of a setting, for --help."""
    v = S.BY_KEY[key].default
    if isinstance(v, tuple):
        return ",".join(v) or "none"
    if isinstance(v, bool):
        return str(v).lower()
    return "none" if v is None else str(v)


def analyze_command(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Forecast files (CSV, TSV, .csv.gz, Parquet) or - for stdin.",
                                               show_default=False)],
    layout: Annotated[Optional[LayoutOpt], typer.Option(
        help="Long (series, time, p) or wide (time + one column per series).", show_default=_d("layout"),
        rich_help_panel=READ)] = None,
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
    group_by: Annotated[Optional[str], typer.Option(
        "--group-by", help="Compare groups (model version, forecaster, year): per-group verdicts side by side and "
                           "every pair tested on the questions both forecast. Keep the column in --series-col.",
        rich_help_panel=READ)] = None,
    question_col: Annotated[Optional[str], typer.Option(
        help="Question column: series with one value are the mutually exclusive outcomes of one question "
             "(YES/NO contracts, the candidates of one race).", rich_help_panel=READ)] = None,
    question_detection: Annotated[Optional[bool], typer.Option(
        "--question-detection/--no-question-detection",
        help="Without --question-col, detect series whose probabilities sum to 1 at every shared time and "
             "count each set as one question.", show_default=_d("question-detection"), rich_help_panel=READ)] = None,
    underlying_col: Annotated[Optional[str], typer.Option(
        help="Underlying quantity (vote share, margin) for Taleb's binary-option model (WN306).",
        rich_help_panel=READ)] = None,
    na_values: Annotated[Optional[list[str]], typer.Option(
        "--na-values", help="Extra values meaning 'no data' (e.g. 0 for Intrade); such rows are dropped and counted.",
        rich_help_panel=READ)] = None,
    scale: Annotated[Optional[ScaleOpt], typer.Option(
        help="Probability scale: unit (0-1), percent (0-100) or auto.", show_default=_d("scale"),
        rich_help_panel=READ)] = None,
    drop_backcast: Annotated[Optional[bool], typer.Option(
        "--drop-backcast/--no-drop-backcast",
        help="Drop back-cast rows (published more than a day after their model date): real-time beliefs only.",
        show_default=_d("drop-backcast"), rich_help_panel=READ)] = None,
    input_format: Annotated[Optional[InputFormatOpt], typer.Option(
        help="Force the input format (default: by suffix/content).", show_default=_d("input-format"),
        rich_help_panel=READ)] = None,
    stdin_filename: Annotated[Optional[str], typer.Option(help="Name to show for - (stdin) in messages.",
                                                          rich_help_panel=READ)] = None,
    min_length: Annotated[Optional[int], typer.Option(
        help="Shortest series (forecasts) used by dynamic checks; shorter ones are kept for calibration.",
        show_default=_d("min-length"), rich_help_panel=READ)] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Significance level.", show_default=_d("alpha"),
                                                   rich_help_panel=CHECK)] = None,
    p_adjust: Annotated[Optional[PAdjustOpt], typer.Option(
        help="Multiple-testing adjustment over the gating checks.", show_default=_d("p-adjust"),
        rich_help_panel=CHECK)] = None,
    select: Annotated[Optional[list[str]], typer.Option(
        help="Run only these codes or prefixes (MG, MG1, MG101, ALL); replaces the configured list. "
             "Unknown codes exit 2.", show_default=_d("select"), rich_help_panel=CHECK)] = None,
    extend_select: Annotated[Optional[list[str]], typer.Option(
        help="Add codes or prefixes to the selection.", rich_help_panel=CHECK)] = None,
    ignore: Annotated[Optional[list[str]], typer.Option(
        help="Skip these codes or prefixes (the most specific selector wins, as in ruff).",
        rich_help_panel=CHECK)] = None,
    allow_empty: Annotated[Optional[bool], typer.Option(
        "--allow-empty/--no-allow-empty", help="Allow a selection with no check that can fail the run.",
        show_default=_d("allow-empty"), rich_help_panel=CHECK)] = None,
    horizons: Annotated[Optional[list[str]], typer.Option(
        help="Horizons before resolution for calibration, in the data's time unit (e.g. 1,7,30).",
        rich_help_panel=CHECK)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of simulation/bootstrap p-values.",
                                                show_default=_d("seed"), rich_help_panel=CHECK)] = None,
    n_sim: Annotated[Optional[int], typer.Option(help="Simulation/bootstrap draws for p-values.",
                                                 show_default=_d("n-sim"), rich_help_panel=CHECK)] = None,
    jobs: Annotated[Optional[int], typer.Option(
        help="Checks run on this many threads at once (same results for any value; memory grows with it).",
        show_default=_d("jobs"), rich_help_panel=CHECK)] = None,
    sequential: Annotated[Optional[bool], typer.Option(
        "--sequential/--no-sequential",
        help="Decide MG101, MG103 and CA202 by anytime-valid e-values: valid however often the gate runs "
             "(nightly jobs); less power than one look.", show_default=_d("sequential"),
        rich_help_panel=CHECK)] = None,
    fail_on: Annotated[Optional[FailOnOpt], typer.Option(
        help="Lowest severity whose failure gives exit code 1.", show_default=_d("fail-on"),
        rich_help_panel=GATE)] = None,
    inconclusive: Annotated[Optional[InconclusiveOpt], typer.Option(
        help="A gating check that ran but has no valid p-value (too few independent series): fail (exit 1), "
             "warn (reported and annotated, exit 0) or pass.", show_default=_d("inconclusive"),
        rich_help_panel=GATE)] = None,
    max_movement_ratio: Annotated[Optional[float], typer.Option(
        help="Fail when MG101's 95% CI of movement/budget lies entirely above this (e.g. 1.5).",
        rich_help_panel=GATE)] = None,
    min_movement_ratio: Annotated[Optional[float], typer.Option(
        help="Fail when MG101's 95% CI lies entirely below this (e.g. 0.5).", rich_help_panel=GATE)] = None,
    max_brier: Annotated[Optional[float], typer.Option(
        help="Fail when CA201's Brier score CI (else its estimate) lies entirely above this.",
        rich_help_panel=GATE)] = None,
    baseline: Annotated[Optional[str], typer.Option(
        help="A saved --format json report to compare with; a gating estimate worse beyond the tolerance fails.",
        rich_help_panel=GATE)] = None,
    baseline_tolerance: Annotated[Optional[float], typer.Option(
        help="How much farther from the calibrated value an estimate may move before --baseline fails.",
        show_default=_d("baseline-tolerance"), rich_help_panel=GATE)] = None,
    exit_zero: Annotated[Optional[bool], typer.Option(
        "--exit-zero/--no-exit-zero", help="Exit 0 even when the gate fails (never hides exit 2); the report says so.",
        show_default=_d("exit-zero"), rich_help_panel=GATE)] = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="Report format.",
                                                     show_default=_d("format"), rich_help_panel=OUT)] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the report to this file.",
                                                  rich_help_panel=OUT)] = None,
    junit_xml: Annotated[Optional[str], typer.Option(help="Also write a JUnit XML report to this path.",
                                                     rich_help_panel=OUT)] = None,
    markdown: Annotated[Optional[str], typer.Option(
        help="Also write a GitHub-flavoured markdown summary to this path (e.g. for $GITHUB_STEP_SUMMARY).",
        rich_help_panel=OUT)] = None,
    html: Annotated[Optional[str], typer.Option(
        help="Also write a self-contained HTML report (verdict, tables, plots; no network) to this path.",
        rich_help_panel=OUT)] = None,
    max_rows: Annotated[Optional[int], typer.Option(
        help="Stop (exit 2) on inputs with more rows (wide: cells); 0 = no limit.", show_default=_d("max-rows"),
        rich_help_panel=READ)] = None,
    max_bytes: Annotated[Optional[int], typer.Option(
        help="Stop (exit 2) when one input is larger than this many bytes after decompression; 0 = no limit.",
        show_default=_d("max-bytes"), rich_help_panel=READ)] = None,
    max_columns: Annotated[Optional[int], typer.Option(
        help="Stop (exit 2) on inputs with more columns; 0 = no limit.", show_default=_d("max-columns"),
        rich_help_panel=READ)] = None,
    engine: Annotated[Optional[EngineOpt], typer.Option(
        help="memory, or dask: Parquet files/directories/globs larger than memory on a Dask cluster "
             "(pip install 'forecheck[dask]'; docs/performance.md).", show_default=_d("engine"),
        rich_help_panel=ENGINE)] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="--engine dask: address of a running Dask scheduler (tcp://host:8786); default: a local cluster.",
        rich_help_panel=ENGINE)] = None,
    dask_workers: Annotated[Optional[int], typer.Option(
        help="--engine dask without --scheduler: worker processes of the local cluster (default: cores, at most 4).",
        rich_help_panel=ENGINE)] = None,
    dask_memory_limit: Annotated[Optional[str], typer.Option(
        help="--engine dask without --scheduler: memory limit per local worker, e.g. 1GB (default: shared out).",
        rich_help_panel=ENGINE)] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail (-v every series).",
                                         rich_help_panel=OUT)] = 0,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Text: the verdict and what decided it only.", rich_help_panel=OUT)] = False,
    color: Annotated[Optional[ColorOpt], typer.Option(help="Colour in the text report and messages.",
                                                      show_default=_d("color"), rich_help_panel=OUT)] = None,
    config: Annotated[Optional[str], typer.Option(
        "--config", help="Configuration file (default: the closest forecheck.toml or pyproject.toml with "
                         "\\[tool.forecheck] up from the working directory).", rich_help_panel=CONF)] = None,
    isolated: Annotated[bool, typer.Option(help="Ignore configuration files and FORECHECK_* variables.",
                                           rich_help_panel=CONF)] = False,
    debug: Annotated[bool, typer.Option(help="Show the traceback of internal errors.", rich_help_panel=OUT)] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress display on stderr (shown only "
                                              "for the text format on a terminal).", rich_help_panel=OUT)] = False,
) -> None:
    """Check forecast paths: data quality, variance budget, calibration, Wiener assumptions.

    Layer A (martingale and calibration checks) must pass for a calibrated
    forecaster; layer B (Wiener-process assumptions) may legitimately fail.

    Every option can also be set in \\[tool.forecheck] (pyproject.toml) or forecheck.toml,
    or as FORECHECK_<OPTION> (e.g. FORECHECK_FAIL_ON=warning); the command line wins,
    then the environment, then the file. `forecheck config` shows the effective settings.

    Exit codes: 0 all gating checks passed; 1 the gate failed (a check at or above
    --fail-on, an inconclusive check with --inconclusive fail, a threshold or a baseline);
    2 the input, configuration or options prevented analysis.
    """
    safe_streams()
    given: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if name not in S.BY_ATTR or getattr(ctx.get_parameter_source(name), "name", "") != "COMMANDLINE":
            continue
        if isinstance(value, Enum):
            value = value.value
        if name == "horizons":
            value = _horizons(value)
        elif S.BY_ATTR[name].kind == "list":
            value = _split(value)
        given[name] = value
    # options that are not settings (yet) pass through to ReadOptions / AnalysisConfig by field name
    extra = {k: (v.value if isinstance(v, Enum) else v) for k, v in ctx.params.items()
             if k not in S.BY_ATTR and k not in ("paths", "config", "isolated", "debug")}
    run(list(paths), given, config_path=config, isolated=isolated, debug=debug, extra=extra)


# ---------------------------------------------------------------------------- the run
class _Outputs:
    """Where exit-2 reports go, known as early as possible."""

    fmt = "text"
    output: str | None = None
    junit: str | None = None
    markdown: str | None = None
    file: str | None = None


def _known_codes() -> tuple[list[str], dict[str, str]]:
    """Every code (DQ rules first, then the registry) and its default severity."""
    from forecheck.checks import all_specs

    sev: dict[str, str] = {}
    from forecheck.checks import RUNNER_DQ_RULES

    for code, _name, severity, _summary in [*_dq_rules(), *RUNNER_DQ_RULES]:
        sev[code] = severity
    for spec in all_specs():
        sev[spec.code] = spec.severity
    return list(sev), sev


def _dq_rules() -> list[tuple[str, str, str, str]]:
    try:  # the DQ table moves to forecheck.io.dq_rules
        from forecheck.io.dq_rules import DQ_RULES  # type: ignore[import-not-found]
    except ImportError:
        from forecheck.io.validate import DQ_RULES
    rows = []
    for rule in DQ_RULES:
        if isinstance(rule, tuple):
            rows.append(tuple(rule[:4]))
        else:  # a record with attributes
            rows.append((rule.code, rule.name, rule.severity, getattr(rule, "summary", "")))
    return rows


def _selection(eff: S.Effective) -> tuple[str, ...]:
    known, sev = _known_codes()
    sel = S.validate_selectors(eff["select"], known, f"select ({eff.sources['select']})")
    ext = S.validate_selectors(eff["extend_select"], known, f"extend-select ({eff.sources['extend_select']})")
    ign = S.validate_selectors(eff["ignore"], known, f"ignore ({eff.sources['ignore']})")
    for i, ov in enumerate(eff.overrides, 1):
        S.validate_selectors(ov.ignore, known, f"{eff.file.path if eff.file else 'config'} overrides #{i} ignore")
    codes = S.select_codes(known, sel, ext, ign)
    fail_on = eff["fail_on"]
    # DQ05x rules stop the run (exit 2) rather than fail it, so they cannot gate
    can_gate = [c for c in codes if not (c.startswith("DQ") and sev[c] == "error")
                and fail_on != "never" and _rank(sev[c]) >= _rank(fail_on)]
    if not can_gate and fail_on != "never" and not eff["allow_empty"]:
        shown = ", ".join(codes) if codes else "nothing"
        fail(f"the selection (select={','.join(sel) or '-'}, extend-select={','.join(ext) or '-'}, "
             f"ignore={','.join(ign) or '-'}) leaves no check that can fail the run at --fail-on {fail_on} "
             f"(selected: {shown})",
             "select a gating check (MG101, CA202, ...), lower --fail-on, or pass --allow-empty")
    return codes


def _rank(severity: str) -> int:
    return {"info": 0, "warning": 1, "error": 2, "never": 3}[severity]


def _build(eff: S.Effective, codes: tuple[str, ...],
           extra: dict[str, Any] | None = None) -> tuple[ReadOptions, AnalysisConfig]:
    from dataclasses import fields

    v = eff.values
    read_options = ReadOptions(
        layout=v["layout"], series_cols=tuple(v["series_col"]), time_col=v["time_col"], prob_col=v["prob_col"],
        outcome_col=v["outcome_col"], published_col=v["published_col"], resolved_at_col=v["resolved_at_col"],
        cluster_col=v["cluster_col"], group_col=v["group_by"], question_col=v["question_col"],
        underlying_col=v["underlying_col"],
        outcomes_file=v["outcomes"],
        na_values=tuple(v["na_values"]), scale=v["scale"], input_format=v["input_format"],
        stdin_name=v["stdin_filename"], drop_backcast=v["drop_backcast"],
        max_rows=v["max_rows"], max_bytes=v["max_bytes"], max_columns=v["max_columns"])
    config = AnalysisConfig(
        alpha=v["alpha"], p_adjust=v["p_adjust"], fail_on=v["fail_on"], select=codes, ignore=(),
        horizons=tuple(v["horizons"]) if v["horizons"] is not None else None, min_length=v["min_length"],
        seed=v["seed"], n_sim=v["n_sim"], inconclusive=v["inconclusive"],
        max_movement_ratio=v["max_movement_ratio"], min_movement_ratio=v["min_movement_ratio"],
        max_brier=v["max_brier"], baseline_tolerance=v["baseline_tolerance"], exit_zero=v["exit_zero"],
        allow_empty=v["allow_empty"], question_detection=v["question_detection"], sequential=v["sequential"],
        jobs=v["jobs"])
    for name, value in (extra or {}).items():
        if value is None:
            continue
        if name in {f.name for f in fields(ReadOptions)}:
            read_options = replace(read_options, **{name: value})
        elif name in {f.name for f in fields(AnalysisConfig)}:
            config = replace(config, **{name: value})
    return read_options, config


def _analyze(paths: list[str], read_options: ReadOptions, config: AnalysisConfig, eff: S.Effective):
    """Load once, run the checks; per-series overrides rerun their checks on the panel
    without the matching series, and the p-value family is adjusted once over all."""
    import numpy as np

    from forecheck.api import analyze, load
    from forecheck.checks import finalize
    from forecheck.io.loaded import LoadedInput

    if eff["engine"] == "dask":
        if eff.overrides:
            raise InputError("--engine dask does not apply [[tool.forecheck.overrides]] yet; use the in-memory engine")
        from forecheck.engine.dask_engine import analyze_dask

        return analyze_dask(paths, read_options, config, scheduler=eff["scheduler"], n_workers=eff["dask_workers"],
                            memory_limit=eff["dask_memory_limit"])
    if eff["scheduler"] or eff["dask_workers"] or eff["dask_memory_limit"]:
        raise InputError("--scheduler, --dask-workers and --dask-memory-limit need --engine dask")
    loaded = load(paths, read_options, config.min_length)
    panel = loaded.panel
    groups = S.override_groups(eff.overrides, config.select, [str(x) for x in panel.ids])
    if not groups:
        return analyze(loaded, config=config)
    moved = {c for cs, _ in groups for c in cs}
    main = analyze(loaded, config=replace(config, select=tuple(c for c in config.select if c not in moved)))
    results = list(main.results)
    notes = []
    for codes, excluded in groups:
        keep = np.ones(panel.n_series, dtype=bool)
        keep[list(excluded)] = False
        sub = LoadedInput(panel=panel.select_series(keep), info=loaded.info, findings=[])
        part = analyze(sub, config=replace(config, select=codes))
        results.extend(part.results)
        notes.append({"codes": list(codes), "excluded_series": [str(panel.ids[i]) for i in excluded]})
    order = {c: i for i, c in enumerate(config.select)}
    results.sort(key=lambda r: order.get(r.code, len(order)))
    results = finalize(results, config)
    return replace(main, results=tuple(results), overrides=tuple(notes))


def run(paths: list[str], given: dict[str, Any], *, config_path: str | None, isolated: bool, debug: bool,
        extra: dict[str, Any] | None = None) -> None:
    out = _Outputs()
    out.fmt = given.get("format", "text")
    out.file = paths[0] if paths else None
    try:
        eff = S.resolve(given, config_path=config_path, isolated=isolated)
    except S.SettingsError as exc:
        _error_exit(out, exc.message)
    out.fmt = eff["format"]
    common.set_color(eff["color"])
    if eff["quiet"] and eff["verbose"]:
        _error_exit(out, "-q and -v cannot be used together")
    # every output path is checked before any analysis
    for path, flag in ((eff["output"], "--output"), (eff["junit_xml"], "--junit-xml"),
                       (eff["markdown"], "--markdown"), (eff["html"], "--html")):
        check_output_path(path, flag, tuple(paths))
    chosen = [p for p in (eff["output"], eff["junit_xml"], eff["markdown"], eff["html"]) if p and p != "-"]
    if len({os.path.abspath(p) for p in chosen}) < len(chosen):
        fail("two outputs name the same file: " + ", ".join(chosen))
    out.output, out.junit, out.markdown = eff["output"], eff["junit_xml"], eff["markdown"]
    if out.file == "-" and eff["stdin_filename"]:
        out.file = eff["stdin_filename"]
    try:
        for path in paths if eff["engine"] != "dask" else ():  # dask: directories and globs (engine/)
            if path != "-" and os.path.isdir(path):
                raise InputError(f"{path}: is a directory, not a forecast file; pass the CSV/TSV/Parquet files "
                                 "inside it, e.g. forecheck analyze DIR/*.csv")
            if path != "-" and not os.path.exists(path):
                raise InputError(f"{path}: no such file")
        codes = _selection(eff)
        read_options, config = _build(eff, codes, extra)
        baseline_doc = None
        if eff["baseline"]:
            from forecheck.report.baseline import load_baseline

            baseline_doc = load_baseline(eff["baseline"])
        from forecheck import progress

        with progress.display(progress.should_show(eff["format"], eff["no_progress"] or eff["quiet"])):
            report = _analyze(paths, read_options, config, eff)
        if baseline_doc is not None:
            from forecheck.report.baseline import compare

            report = replace(report, baseline=compare(report.results, baseline_doc, path=eff["baseline"],
                                                      tolerance=config.baseline_tolerance,
                                                      series_ids=report.series["id"].tolist()))
        decision = report.decision()
        payload = _render(report, decision, eff)
        extra_md = None
        if eff["markdown"]:
            from forecheck.report.markdown import render_markdown

            extra_md = render_markdown(report, decision)
        extra_junit = None
        if eff["junit_xml"]:
            from forecheck.report.junit import render_junit

            extra_junit = render_junit(report, decision)
        extra_html = report.to_html() if eff["html"] else None
    except (InputError, ValueError) as exc:
        msg = exc.message if isinstance(exc, InputError) else str(exc)
        _error_exit(out, msg, getattr(exc, "details", None))
    except typer.Exit:
        raise
    except MemoryError as exc:  # incl. pyarrow's ArrowMemoryError: a limit of the machine, not a bug
        what = ", ".join(paths)
        _error_exit(out, f"out of memory while analysing {what} ({type(exc).__name__})",
                    hint="split the input into smaller files (by series), lower --n-sim, or use a machine "
                         "with more memory")
    except Exception as exc:  # top-level catch: never a traceback without --debug
        if debug:
            err_print(traceback.format_exc())
        _error_exit(out, f"internal error: {type(exc).__name__}: {exc}",
                    hint="this is a bug in forecheck; rerun with --debug for the traceback and report it")
    if extra_junit is not None:
        write_payload(extra_junit, eff["junit_xml"])
    if extra_md is not None:
        write_payload(extra_md, eff["markdown"])
    if extra_html is not None:
        write_payload(extra_html, eff["html"], machine=False)
    write_payload(payload, eff["output"], machine=eff["format"] != "text")
    raise typer.Exit(decision.exit_code)


def _render(report, decision, eff: S.Effective) -> str | list[str]:
    fmt = eff["format"]
    if fmt == "json":  # in pieces, written in turn (write_payload): the series list can be 0.6 GB
        from forecheck.report.json_format import render_json_chunks

        return render_json_chunks(report)
    if fmt == "junit":
        from forecheck.report.junit import render_junit

        return render_junit(report, decision)
    if fmt == "github":
        from forecheck.report.github import render_github

        return render_github(report, decision)
    if fmt == "markdown":
        from forecheck.report.markdown import render_markdown

        return render_markdown(report, decision)
    if eff["quiet"]:
        from forecheck.report.gate import quiet_lines

        return "\n".join(quiet_lines(decision, report.results))
    from forecheck.report.text import render_text

    colour = {"always": True, "never": False}.get(eff["color"])
    to_file = bool(eff["output"]) and eff["output"] != "-"
    return render_text(report, verbose=eff["verbose"], quiet=False, colour=False if to_file else colour)


def _error_exit(out: _Outputs, message: str, details: list[dict] | None = None, hint: str | None = None):
    """Exit 2: the reports that were asked for say so, then the message on stderr."""
    try:
        if out.junit:
            from forecheck.report.junit import render_junit_error

            write_payload(render_junit_error(message, out.file), out.junit)
        if out.markdown:
            from forecheck.report.markdown import render_markdown_error

            write_payload(render_markdown_error(message, out.file), out.markdown)
        if out.fmt == "github":
            from forecheck.report.github import render_github_error

            write_payload(render_github_error(message, out.file), out.output)
    except typer.Exit:
        pass
    err_print(("error:", "bold red"), " ", str(message))
    for row in (details or [])[:10]:
        err_print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    if hint:
        err_print(f"  {hint}")
    raise typer.Exit(int(ExitCode.ERROR))

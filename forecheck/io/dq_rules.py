"""The table of data-quality (DQ) rules: stable public codes, never reused.

One row per rule: code, name, severity, what it means and what to do. The
validator (:mod:`forecheck.io.validate`) emits one record per rule; ``forecheck
rule DQxxx`` and docs/checks.md read this table.

Severity: findings (``info``/``warning``) are reported as records and never stop a
run; rules of severity ``error`` stop it with an :class:`~forecheck.errors.InputError`
(exit 2) and report ``pass`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SHOWN = 10  # offending rows listed in messages and details


@dataclass(frozen=True)
class DQRule:
    code: str
    name: str
    severity: str  # info | warning | error
    summary: str  # what it means (one or two sentences)
    action: str  # what to do about it


RULES_TABLE: tuple[DQRule, ...] = (
    DQRule("DQ001", "missing-probability", "warning",
           "Rows whose probability is blank, NA, NaN or infinite; dropped and counted.",
           "Nothing if the gaps are real (no forecast that day). If a placeholder means 'no data', pass "
           "--na-values so it is counted as DQ002 instead; if the wrong column was picked, pass --prob-col."),
    DQRule("DQ002", "na-values", "info",
           "Rows whose probability matches --na-values (e.g. Intrade's 0 = no data); dropped and counted.",
           "Nothing: this records what --na-values removed. Check the count is what you expect."),
    DQRule("DQ003", "duplicate-rows", "warning",
           "Repeated (series, time) rows with the same probability; the extra copies are dropped.",
           "Usually harmless (a file concatenated twice, a scraper re-reading a day). If the copies are "
           "distinct events, the series key is incomplete: add --series-col columns."),
    DQRule("DQ004", "unsorted-input", "info",
           "Rows not in time order within a series (e.g. newest first); sorted before analysis.",
           "Nothing: rows are sorted by series and time. Check --time-col if the order looks wrong."),
    DQRule("DQ005", "short-series", "info",
           "Series with fewer than min_length forecasts; kept for calibration, skipped by dynamic checks.",
           "Nothing, or lower --min-length if short series should count in the dynamic checks."),
    DQRule("DQ006", "certainty-then-move", "warning",
           "A probability of exactly 0 or 1 followed by a different value: impossible for a calibrated "
           "forecaster (a martingale at 0 or 1 stays there).",
           "Check the rows listed: often a placeholder 0/1 before trading opened, or rounding to 0/1. Drop "
           "the placeholders (--na-values) or keep them as evidence of miscalibration."),
    DQRule("DQ007", "back-cast", "warning",
           "Rows published more than one day after their model date: computed retroactively, not real-time.",
           "Pass --drop-backcast to analyse only real-time rows (a back-cast is not a forecast)."),
    DQRule("DQ008", "unresolved-series", "info",
           "Series without an outcome; excluded from checks that need one.",
           "Give outcomes with --outcome-col or --outcomes FILE, or ignore if the events are still open."),
    DQRule("DQ009", "after-resolution", "warning",
           "Forecast rows dated after their series' resolution time.",
           "Check --resolved-at-col and the time column use the same clock and time zone; drop rows "
           "published after the event resolved."),
    DQRule("DQ010", "certain-start", "warning",
           "Series whose first forecast is exactly 0 or 1: their variance budget p0(1-p0) is zero, so the "
           "martingale checks have nothing to test on them (if every series starts there, nothing is tested).",
           "Check the probability column: an outcome or indicator column picked as --prob-col looks like "
           "this. Drop placeholder first rows (e.g. a 0 before trading opened) with --na-values."),
    DQRule("DQ012", "unlabelled-cluster", "warning",
           "Series whose --cluster-col label is missing or empty. They are taken together as one cluster: "
           "dependent on one another, independent of the labelled clusters (the cautious reading; counted "
           "apart they would be claimed independent).",
           "Give every series its cluster; a series known to be independent of all others can be a cluster "
           "of its own (e.g. its id in the cluster column)."),
    DQRule("DQ050", "probability-out-of-range", "error",
           "Probabilities outside [0, 1] (or [0, 100] with --scale percent); stops the run.",
           "Fix the rows listed, pass --scale percent for a 0-100 column, or --na-values for placeholders."),
    DQRule("DQ051", "non-numeric-probability", "error",
           "Text in the probability column that is neither a number nor a missing-value marker; stops the run.",
           "Fix the cells listed, pass --na-values for placeholder text, or choose another --prob-col."),
    DQRule("DQ052", "conflicting-duplicates", "error",
           "Repeated (series, time) rows with different probabilities; stops the run.",
           "The series key is incomplete: pass --series-col with more columns (the message suggests which)."),
    DQRule("DQ053", "conflicting-outcomes", "error",
           "Different outcomes for the same series; stops the run.",
           "Each series must resolve one way: check --series-col and the outcome column or --outcomes file."),
    DQRule("DQ054", "invalid-outcome", "error",
           "Outcome values other than 0/1, true/false, yes/no, won/lost or blank; stops the run.",
           "Fix the cells listed, or choose another --outcome-col."),
    DQRule("DQ055", "invalid-time", "error",
           "Times that are blank or not a recognised date, timestamp or number; stops the run.",
           "Fix the cells listed (the message names their lines) or choose another --time-col."),
    DQRule("DQ056", "ambiguous-scale", "error",
           "--scale auto cannot tell 0-1 from 0-100 data; stops the run (pass --scale).",
           "Pass --scale unit (values above 1 are then errors) or --scale percent."),
    DQRule("DQ057", "column-mapping", "error",
           "A needed column is missing or several columns could play the same role; stops the run.",
           "Name the column with the flag the message gives (--prob-col, --time-col, --series-col, ...)."),
    DQRule("DQ058", "unreadable-input", "error",
           "The file cannot be read as a table (missing, empty, binary, JSON, ...), or it exceeds a reading "
           "limit (--max-rows, --max-bytes, --max-columns); stops the run.",
           "Convert the file to CSV/TSV/Parquet; for a limit, raise it (0 = no limit) or split the file."),
    DQRule("DQ059", "missing-series-id", "error",
           "Rows with a blank series id; stops the run.",
           "Fill in the ids or choose other --series-col."),
)

# (code, name, severity, summary): the shape ``forecheck rule`` and older callers read.
DQ_RULES: list[tuple[str, str, str, str]] = [(r.code, r.name, r.severity, r.summary) for r in RULES_TABLE]
RULES: dict[str, tuple[str, str, str]] = {r.code: (r.name, r.severity, r.summary) for r in RULES_TABLE}
BY_CODE: dict[str, DQRule] = {r.code: r for r in RULES_TABLE}

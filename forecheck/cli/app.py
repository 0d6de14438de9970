"""The ``forecheck`` command: a thin typer layer over the Python API.

Parse -> options -> API -> render -> exit code; no statistics here.
Exit codes: 0 passed, 1 a gating check failed, 2 could not run.
"""

from __future__ import annotations

import sys

import typer

from forecheck import __version__

app = typer.Typer(
    name="forecheck",
    no_args_is_help=True,
    add_completion=False,
    help="Stress-test probability forecast time series against the martingale variance budget.",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"forecheck {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """forecheck: is this forecast too jumpy? Settle it with the variance budget.

    A calibrated forecaster's probabilities form a martingale, so expected total
    squared movement equals the uncertainty resolved: p0(1 - p0) for a question
    that resolves (Augenblick & Rabin 2021).
    """


def _register() -> None:
    from forecheck.cli.analyze import analyze_command
    from forecheck.cli.config_cmd import config_command
    from forecheck.cli.monitor import monitor_command
    from forecheck.cli.rules import rule_command, rules_command
    from forecheck.cli.simulate import simulate_command
    from forecheck.cli.walk import walk_command

    app.command("analyze")(analyze_command)
    app.command("config")(config_command)
    app.command("monitor")(monitor_command)
    app.command("rules")(rules_command)
    app.command("rule")(rule_command)
    app.command("walk")(walk_command)
    app.command("simulate")(simulate_command)


_register()


def main() -> None:
    """Console-script entry point.

    A closed stdout or stderr pipe that escapes the commands' own handling ends the
    run quietly (Python docs, signal module: "Note on SIGPIPE"); the commands keep
    their exit code themselves (see ``cli.common.write_payload``).
    """
    try:
        app()
    except BrokenPipeError:
        from forecheck.cli.common import _stdio_to_devnull

        _stdio_to_devnull(sys.stdout)
        _stdio_to_devnull(sys.stderr)
        sys.exit(2)

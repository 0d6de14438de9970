"""Helpers shared by the CLI commands: stderr console, error exits, plain output."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from forecheck.results import ExitCode

# Human-facing messages go to stderr; payloads (JSON, JUnit, annotations, CSV)
# are written plainly to stdout or a file, never through a Rich console
# (conventions.md: typer forces terminal mode under GITHUB_ACTIONS).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print a short error to stderr and exit with code 2 (could not run)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True)
    if hint:
        err_console.print(f"  {hint}")
    raise typer.Exit(int(ExitCode.ERROR))


def write_payload(text: str, output: str | None = None) -> None:
    """Write machine-readable output to ``output`` (a path) or stdout, plainly."""
    if not text.endswith("\n"):
        text += "\n"
    if output and output != "-":
        with open(output, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()

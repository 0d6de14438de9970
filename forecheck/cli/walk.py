"""`forecheck walk`: how many updates a ±h belief walk needs, exactly and simulated."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from forecheck.cli.common import fail, quiet_on_broken_pipe, write_payload
from forecheck.errors import UsageError


class WalkFormat(str, Enum):
    text = "text"
    json = "json"


def walk_command(
    start: Annotated[float, typer.Option("--start", help="Starting probability P0 (a multiple of "
                                         "--step).")] = 0.5,
    step: Annotated[float, typer.Option("--step", help="Step size H of each update, in (0, 0.5], "
                                        "1/H an integer.")] = 0.01,
    move_prob: Annotated[float, typer.Option("--move-prob", help="Probability Q that an update "
                                             "moves the belief (lazy walk if < 1).")] = 1.0,
    runs: Annotated[int, typer.Option("--runs", help="Monte Carlo runs for the check beside the exact "
                                      "results (0 = none).")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte Carlo check.")] = 0,
    fmt: Annotated[WalkFormat, typer.Option("--format", "-f", help="Output format.")] = WalkFormat.text,
) -> None:
    """How many updates does a belief need before it is certain?

    A belief that moves up or down by H at each update (with probability Q, else
    it stays) until it reaches 0 or 1 is a martingale, so its expected squared
    movement equals p0(1 - p0) (Augenblick and Rabin 2021): it needs
    p0(1 - p0)/(Q H^2) updates on average - 2500 from 50% with H = 1%, 1600 from
    20%, 99 from 1% - yet from 1% half of all paths end after one update.

    Exact results come from the absorbing Markov chain (linear solves for the
    mean and variance, the chain's spectral decomposition for the distribution);
    a vectorised Monte Carlo check is shown beside them.

    Example: forecheck walk --start 0.01 --step 0.01 --format json
    """
    from forecheck.stats.walk import analyze_walk

    try:
        result = analyze_walk(start, step, move_prob, runs=runs, seed=seed)
    except UsageError as exc:
        fail(str(exc), "Example: forecheck walk --start 0.2 --step 0.01 --move-prob 0.5")
    if fmt is WalkFormat.json:
        write_payload(json.dumps(result.to_dict(), indent=2))
        return
    _render_text(result)


def _render_text(r) -> None:
    console = quiet_on_broken_pipe(Console(highlight=False, width=min(Console().width, 80)))
    q_note = f", moving with probability {r.move_prob:g}" if r.move_prob < 1 else ""
    console.print(f"[bold]±{r.step:g} belief walk from {r.start:g}{q_note}[/], absorbed at 0 and 1")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("number of updates T", no_wrap=True)
    table.add_column("exact", justify="right")
    table.add_column("simulated", justify="right")
    sim = ("-" if r.simulated_mean_steps is None
           else f"{r.simulated_mean_steps:,.1f}")
    table.add_row("expected E[T]", f"{r.expected_steps:,.1f}", sim)
    table.add_row("standard deviation", f"{r.sd_steps:,.1f}", "")
    table.add_row("P(T = 1)", f"{r.p_single_step:.4g}", "")
    for key, val in r.quantiles.items():
        label = "median" if key == "0.5" else f"{float(key):.0%} quantile"
        table.add_row(label, f"{val:,}", "")
    console.print(table)
    console.print(f"Expected movement Σ Δp² = p0(1 − p0) = {r.expected_movement:.4g}; "
                  f"P(ends at 1) = p0 = {r.p_end_at_one:g}.")
    if r.simulated_runs:
        cens = f", {r.simulated_censored} censored" if r.simulated_censored else ""
        console.print(f"Simulated: {r.simulated_runs:,} runs{cens}.")
    else:
        console.print("Simulated: skipped (too many expected updates per run for the time budget).")
    half = f"{r.median_steps:,} update{'s' if r.median_steps != 1 else ''}"
    reading = [f"The mean of {r.expected_steps:,.0f} is carried by rare long paths: half of all paths end "
               f"within {half}, yet one in a hundred needs more than {r.quantiles['0.99']:,}."]
    reading.append("The number of updates is not a clock: a belief that moves only at some updates "
                   "needs proportionally more of them (E[T] = p0(1 − p0)/(Q·H²)).")
    reading.append(f"The budget is: whatever the path, the expected sum of squared moves is "
                   f"p0(1 − p0) = {r.expected_movement:.4g}.")
    console.print()
    console.print(" ".join(reading))

"""Report model and renderers (text, json, junit, github)."""

from __future__ import annotations

from forecheck.report.model import SCHEMA_VERSION, Report

__all__ = ["Report", "SCHEMA_VERSION", "render"]


def render(report: Report, fmt: str = "text", *, verbose: int = 0, quiet: bool = False) -> str:
    """Render a report in one of the formats text, json, junit, github, markdown."""
    if fmt == "json":
        from forecheck.report.json_format import render_json

        return render_json(report)
    if fmt == "junit":
        from forecheck.report.junit import render_junit

        return render_junit(report)
    if fmt == "github":
        from forecheck.report.github import render_github

        return render_github(report)
    if fmt == "markdown":
        from forecheck.report.markdown import render_markdown

        return render_markdown(report)
    if fmt == "text":
        from forecheck.report.text import render_text

        return render_text(report, verbose=verbose, quiet=quiet)
    raise ValueError(f"unknown format {fmt!r}; use text, json, junit, github or markdown")

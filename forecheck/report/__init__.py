"""Report model and renderers (text, json, junit, github)."""

from forecheck.report.model import SCHEMA_VERSION, Report

__all__ = ["Report", "SCHEMA_VERSION"]

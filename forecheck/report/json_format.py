"""``--format json``: the schema_version 1 document, written plainly."""

from __future__ import annotations

import json

from forecheck.report.model import Report


def render_json(report: Report) -> str:
    # allow_nan=False: NaN/inf are already mapped to null by Report.to_dict(); a
    # stray one must fail loudly here rather than emit invalid JSON.
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)

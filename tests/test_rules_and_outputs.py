"""``forecheck rule(s)``, --baseline, -q/-v/--color through the CLI (in-process)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from forecheck.checks import all_specs
from forecheck.cli.app import app
from forecheck.report.rule_docs import RULE_DOCS
from tests.gate_inputs import tiny_walks

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}
FIELDS = ("what", "why", "null", "statistic", "pass", "fail", "inconclusive", "action", "reference")


def invoke(*args, env=None):
    return CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})


def test_every_check_has_its_rule_doc_with_a_doi():
    for spec in all_specs():
        doc = RULE_DOCS[spec.code]
        assert all(doc.get(k) for k in FIELDS), spec.code
        assert re.search(r"doi:10\.\d{4,}/\S+", doc["reference"]), spec.code
    assert set(RULE_DOCS) == {s.code for s in all_specs()}


def test_rule_command_explains_like_ruff_rule():
    res = invoke("rule", "mg101")
    assert res.exit_code == 0
    for label in ("What it tests:", "Why it matters:", "Null hypothesis:", "Statistic:", "Reading: pass:",
                  "Reading: fail:", "Reading: inconclusive:", "What to do:", "Reference:", "Docs:"):
        assert label in res.stdout
    assert "doi:10.1093/qje/qjaa043" in res.stdout and "docs/checks.md#mg101" in res.stdout
    assert invoke("rule", "DQ006").exit_code == 0
    res = invoke("rule", "MG1O1")
    assert res.exit_code == 2 and "did you mean MG101" in res.stderr
    doc = json.loads(invoke("rule", "CA202", "--format", "json").stdout)
    assert doc["code"] == "CA202" and doc["null"].startswith("H0")


def test_rules_lists_one_line_summaries():
    res = invoke("rules")
    assert res.exit_code == 0
    for spec in all_specs():
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(spec.code))
        assert spec.severity in line and spec.name in line
    assert "excess movement" in res.stdout and "Movement vs uncertainty reduction" in res.stdout


@pytest.fixture(scope="module")
def walks(tmp_path_factory):
    return str(tiny_walks(tmp_path_factory.mktemp("w") / "w.csv"))


def test_quiet_verbose_and_colour(walks):
    base = ["analyze", walks, "--isolated", "--n-sim", "49", "--select", "MG101,MG106"]
    q = invoke(*base, "-q")
    assert q.exit_code == 0 and len(q.stdout.splitlines()) <= 5 and q.stdout.startswith("forecheck: passed")
    assert invoke(*base, "-q", "-v").exit_code == 2
    v = invoke(*base, "-v")
    assert all(f"q{i:02d}" in v.stdout for i in range(12))  # every series
    assert "\x1b[" in invoke(*base, "--color", "always").stdout
    assert "\x1b[" not in invoke(*base, "--color", "never", env={"FORCE_COLOR": "1"}).stdout


def test_baseline_end_to_end(walks, tmp_path):
    base = ["analyze", walks, "--isolated", "--n-sim", "49", "--select", "MG101,CA201"]
    saved = tmp_path / "base.json"
    assert invoke(*base, "-f", "json", "-o", str(saved)).exit_code == 0
    res = invoke(*base, "-f", "json", "--baseline", str(saved))
    doc = json.loads(res.stdout)
    rows = {r["code"]: r for r in doc["baseline"]["rows"]}
    assert rows["MG101"]["delta"] == 0 and rows["MG101"]["z"] == 0 and not rows["MG101"]["worse"]
    assert res.exit_code == 0
    # a baseline that was much closer to the budget: today's estimate is worse beyond the tolerance
    old = json.loads(saved.read_text())
    for r in old["results"]:
        if r["code"] == "MG101":
            r["estimate"] = 1.0
    saved.write_text(json.dumps(old))
    res = invoke(*base, "--baseline", str(saved), "--baseline-tolerance", "0.05", "-q")
    assert res.exit_code == 1 and "worse by" in res.stdout
    # an unusable baseline stops before the analysis
    (tmp_path / "bad.json").write_text("{")
    res = invoke(*base, "--baseline", str(tmp_path / "bad.json"))
    assert res.exit_code == 2 and "bad.json" in res.stderr and "not valid JSON" in res.stderr


def test_atomic_write_leaves_old_file_or_new_never_half(tmp_path, monkeypatch):
    from forecheck.cli import common

    target = tmp_path / "report.json"
    target.write_text("old\n")
    common.atomic_write(str(target), "new\n")
    assert target.read_text() == "new\n"

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(common.os, "replace", boom)
    with pytest.raises(OSError):
        common.atomic_write(str(target), "half")
    assert target.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_ascii_safe_text_keeps_meaning():
    from forecheck.cli.common import ascii_safe

    s = ascii_safe("Σm/Σr = 1.21 [0.85–1.73] × p0(1 − p0) ┃ ok ┡━┩")
    assert s == "sum m/sum r = 1.21 [0.85-1.73] x p0(1 - p0) | ok +-+"
    s.encode("ascii")

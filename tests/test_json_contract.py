"""The JSON contract (schema_version 2, docs/json-schema.md) on the bundled sample data.

Pins: the shipped JSON Schema validates real output; the documented keys exist; the
set of check codes is stable (codes are public identifiers: never renamed or reused);
the Python API returns exactly the records of ``--format json``.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from typer.testing import CliRunner

import forecheck
from forecheck.cli.app import app
from tests.conftest import SAMPLE_DATA

GOLDEN = SAMPLE_DATA.parent / "tests" / "golden"

SAMPLE = str(SAMPLE_DATA / "pres2020_states.csv")

# Public identifiers. Adding a code is fine (extend this list); renaming or removing one
# breaks users' --select/--ignore lists and CI parsers.
STABLE_CODES = {
    "DQ001", "DQ002", "DQ003", "DQ004", "DQ005", "DQ006", "DQ007", "DQ008", "DQ009", "DQ010", "DQ011", "DQ012",
    "DQ050", "DQ051", "DQ052", "DQ053", "DQ054", "DQ055", "DQ056", "DQ057", "DQ058", "DQ059",
    "MG101", "MG102", "MG103", "MG104", "MG105", "MG106",
    "CA201", "CA202", "CA203", "CA204",
    "WN301", "WN302", "WN303", "WN304", "WN305", "WN306", "WN307",
}


@pytest.fixture(scope="module")
def report():
    return forecheck.analyze(SAMPLE)


@pytest.fixture(scope="module")
def doc(report):
    return json.loads(json.dumps(report.to_dict(), allow_nan=False))


def test_schema_validates_sample_output(doc):
    schema = json.loads(resources.files("forecheck.report").joinpath("schema_v2.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["schema_version"] == 2
    assert doc["tool"] == {"name": "forecheck", "version": forecheck.__version__}


def test_documented_input_keys_and_row_accounting(doc):
    inp = doc["input"]
    for key in ("paths", "layout", "columns", "scale", "rows_read", "rows_used", "rows_dropped", "series",
                "resolved_series"):
        assert key in inp
    assert inp["rows_read"] == inp["rows_used"] + sum(inp["rows_dropped"].values())
    assert inp["series"] == len(doc["series"]) == 56
    assert inp["resolved_series"] == 56


def test_every_check_code_is_reported_once_with_all_fields(doc):
    codes = [r["code"] for r in doc["results"]]
    assert set(codes) == STABLE_CODES
    assert len(codes) == len(set(codes))
    for r in doc["results"]:
        for key in ("code", "name", "family", "severity", "status", "statistic", "pvalue", "estimate", "ci",
                    "nobs", "message", "details", "pvalue_adjusted"):
            assert key in r, (r["code"], key)
        assert r["code"].startswith(r["family"])
        if r["status"] != "skip" and r["pvalue"] is not None and r["severity"] == "error":
            assert r["pvalue_adjusted"] >= r["pvalue"]


def test_series_records(doc):
    for rec in doc["series"]:
        assert {"id", "n", "p0", "p_last", "outcome", "movement", "uncertainty_reduction"} <= rec.keys()
        # resolved: uncertainty reduction is the whole budget p0(1 - p0) (A-R 2021 Cor. 1)
        assert rec["uncertainty_reduction"] == pytest.approx(rec["p0"] * (1 - rec["p0"]))


def test_api_and_cli_json_agree(doc):
    res = CliRunner().invoke(app, ["analyze", SAMPLE, "--format", "json"], env={"NO_COLOR": "1"})
    assert res.exception is None or isinstance(res.exception, SystemExit)
    cli = json.loads(res.stdout)
    assert cli["results"] == doc["results"]
    assert cli["series"] == doc["series"]
    assert cli["summary"] == doc["summary"]
    assert res.exit_code == doc["summary"]["exit_code"]


def test_rules_command_lists_exactly_the_stable_codes():
    res = CliRunner().invoke(app, ["rules"], env={"NO_COLOR": "1"})
    # one line per code at column 0 (summaries are indented under it)
    listed = {ln.split()[0] for ln in res.stdout.splitlines() if ln.strip() and not ln[0].isspace()
              and not ln.startswith("`")}
    assert listed == STABLE_CODES
    res = CliRunner().invoke(app, ["rules", "--format", "json"], env={"NO_COLOR": "1"})
    assert {r["code"] for r in json.loads(res.stdout)} == STABLE_CODES



def _missing_keys(v1, v2, path=""):
    """Keys of the v1 skeleton ``v1`` absent from the document ``v2``."""
    if isinstance(v1, dict):
        if not isinstance(v2, dict):
            return [path]
        out = []
        for k, sub in v1.items():
            if k not in v2:
                out.append(f"{path}/{k}")
            else:
                out += _missing_keys(sub, v2[k], f"{path}/{k}")
        return out
    if isinstance(v1, list) and v1 and isinstance(v2, list) and v2:
        return _missing_keys(v1[0], v2[0], path + "[0]")
    return []


def test_every_schema_v1_key_is_kept(doc):
    # tests/golden/json_v1_keys.json: the keys of the sample's v1 document (provenance inside)
    v1 = json.loads((GOLDEN / "json_v1_keys.json").read_text())
    assert set(v1["top"]) <= set(doc)
    assert set(v1["input"]) <= set(doc["input"])
    assert set(v1["series"]) <= set(doc["series"][0])
    assert _missing_keys(v1["summary"], doc["summary"]) == []
    by_code = {r["code"]: r for r in doc["results"]}
    missing = {c: _missing_keys(k, by_code[c]) for c, k in v1["results"].items()}
    assert {c: m for c, m in missing.items() if m} == {}


def test_inconclusive_is_its_own_status_on_the_sample(doc):
    # the 56 states share one national swing: the pooled tests ran (estimate and CI)
    # but have no honest p-value -> inconclusive, not skip (issue: skip meant two things)
    by_code = {r["code"]: r for r in doc["results"]}
    for code in ("MG101", "MG103", "MG104", "MG105", "CA202", "CA203", "CA204"):
        r = by_code[code]
        assert r["status"] == "inconclusive", code
        assert r["pvalue"] is None and r["estimate"] is not None
        assert r["gate"]["n_eff"] < r["gate"]["min_n_eff"]
    assert doc["summary"]["counts"]["inconclusive"] == 7
    assert doc["summary"]["counts"]["skip"] == 0


def test_effective_series_is_one_number(report, doc):
    # the headline's effective number of series is MG106's estimate, the checks table's number
    from forecheck.report.prose import effective_series

    eff = effective_series(report.results)
    assert eff.n_eff == by_code(doc)["MG106"]["estimate"] == doc["effective_series"]["n_eff"]
    text = forecheck.report.render(report, "text")
    assert f"about {eff.n_eff:.0f} of {eff.n_series}" in text


def by_code(doc):
    return {r["code"]: r for r in doc["results"]}

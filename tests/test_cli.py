"""CLI behaviour: exit codes, streams, formats. CliRunner for speed, a few real
subprocess runs for the true exit codes and stdout/stderr separation."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecheck.cli.app import app

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env=ENV)


def assert_exit(result, code: int) -> None:
    """The exit code is the intended one and no exception escaped (CliRunner turns
    an uncaught exception into exit code 1, which would pass as 'checks failed')."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


@pytest.fixture(scope="module")
def forecast_csv(tmp_path_factory) -> str:
    """A small honest panel: exact +-5% belief walks (martingales) from 50%."""
    rng = np.random.default_rng(7)
    rows = []
    for s in range(30):
        p, t, path = 0.5, 0, []
        while 0 < p < 1 and t < 60:
            path.append((t, p))
            p = round(p + (0.05 if rng.uniform() < 0.5 else -0.05), 10)
            t += 1
        # absorbed: the outcome is where the walk ended; truncated: Bernoulli(p_last)
        outcome = int(p >= 1) if p in (0, 1) else int(rng.uniform() < path[-1][1])
        rows += [(f"q{s:02d}", t_, p_, outcome) for t_, p_ in path]
    path = tmp_path_factory.mktemp("cli") / "walks.csv"
    pd.DataFrame(rows, columns=["series", "time", "p", "outcome"]).to_csv(path, index=False)
    return str(path)


def test_json_output_is_plain_parseable_and_valid(forecast_csv):
    res = invoke("analyze", forecast_csv, "--format", "json")
    assert res.exit_code in (0, 1), res.stderr
    assert_exit(res, res.exit_code)
    doc = json.loads(res.stdout)  # nothing but the payload on stdout
    schema = json.loads(resources.files("forecheck.report").joinpath("schema_v2.json").read_text())
    jsonschema.validate(doc, schema)
    inp = doc["input"]
    assert inp["rows_read"] == inp["rows_used"] + sum(inp["rows_dropped"].values())
    assert doc["summary"]["exit_code"] == res.exit_code
    assert "\x1b[" not in res.stdout


def test_text_report_has_header_and_summary(forecast_csv):
    res = invoke("analyze", forecast_csv)
    assert_exit(res, res.exit_code)
    assert "What was read" in res.stdout and "forecheck verdict" in res.stdout
    assert "exit code" in res.stdout


def test_junit_and_github_formats(forecast_csv, tmp_path):
    junit_path = tmp_path / "out.xml"
    res = invoke("analyze", forecast_csv, "--format", "github", "--junit-xml", str(junit_path))
    assert_exit(res, res.exit_code)
    lines = [ln for ln in res.stdout.splitlines() if ln]
    assert lines and all(ln.startswith("::") for ln in lines)
    root = ET.parse(junit_path).getroot()
    assert root.tag == "testsuites" and len(root.findall(".//testcase")) >= 1
    res = invoke("analyze", forecast_csv, "--format", "junit")
    assert ET.fromstring(res.stdout).tag == "testsuites"


def test_exit_zero_and_fail_on_never(forecast_csv):
    assert_exit(invoke("analyze", forecast_csv, "--exit-zero", "-q"), 0)
    assert_exit(invoke("analyze", forecast_csv, "--fail-on", "never", "-q"), 0)


def test_output_file(forecast_csv, tmp_path):
    out = tmp_path / "r.json"
    res = invoke("analyze", forecast_csv, "-f", "json", "-o", str(out))
    assert_exit(res, res.exit_code)
    assert res.stdout == ""
    assert json.loads(out.read_text())["schema_version"] == 2


@pytest.mark.parametrize("args, message", [
    (["analyze", "does-not-exist.csv"], "no such file"),
    (["analyze", "--alpha", "2", "{csv}"], "alpha"),
    (["analyze", "-q", "-v", "{csv}"], "-q and -v"),
    (["analyze", "--horizons", "soon", "{csv}"], "horizons"),
    (["rule", "XX999"], "unknown check code"),
])
def test_usage_errors_exit_2_with_message(args, message, forecast_csv):
    res = invoke(*[a.replace("{csv}", forecast_csv) for a in args])
    assert_exit(res, 2)
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_directory_is_rejected(tmp_path):
    res = invoke("analyze", str(tmp_path))
    assert_exit(res, 2)
    assert "directory" in res.stderr


def test_internal_error_exits_2_and_points_to_debug(forecast_csv, monkeypatch):
    import forecheck.api

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(forecheck.api, "analyze", boom)
    res = invoke("analyze", forecast_csv)
    assert_exit(res, 2)
    assert "internal error" in res.stderr and "--debug" in res.stderr
    assert "Traceback" not in res.stderr
    res = invoke("analyze", forecast_csv, "--debug")
    assert_exit(res, 2)
    assert "Traceback" in res.stderr


def test_rules_lists_codes():
    res = invoke("rules")
    assert_exit(res, 0)
    codes = [ln.split()[0] for ln in res.stdout.splitlines() if ln.strip()]
    for code in ("MG101", "MG103", "CA202", "WN302"):
        assert code in codes
    assert any(c.startswith("DQ0") for c in codes)
    res = invoke("rule", "mg101")
    assert_exit(res, 0)
    assert "layer A" in res.stdout


# ---------------------------------------------------------------- subprocess
def run(*args: str, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "forecheck", *args], capture_output=True, input=stdin,
                          env={**ENV, "PATH": "/usr/bin:/bin"}, timeout=120)


def test_subprocess_json_exit_code_matches_summary(forecast_csv):
    proc = run("analyze", forecast_csv, "--format", "json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == doc["summary"]["exit_code"] in (0, 1)


def test_subprocess_stdin_dash(forecast_csv):
    with open(forecast_csv, "rb") as fh:
        proc = run("analyze", "-", "--format", "json", stdin=fh.read())
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["input"]["paths"] == ["-"]


def test_subprocess_bad_input_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("series,time,p\na,1,0.5\na,2,banana\n")
    proc = run("analyze", str(bad))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "bad.csv" in err and "Traceback" not in err
    assert proc.stdout == b""


def test_subprocess_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("forecheck ")


def test_github_annotation_points_at_first_offending_line(tmp_path):
    # a belief at exactly 1 that later moves (DQ006) on file line 4 (header = line 1)
    path = tmp_path / "certain.csv"
    rows = ["series,time,p,outcome", "a,0,0.5,1", "a,1,0.9,1", "a,2,1.0,1", "a,3,0.95,1"]
    rows += [f"b,{t},{0.5 + 0.01 * t},0" for t in range(6)]
    path.write_text("\n".join(rows) + "\n")
    res = invoke("analyze", str(path), "--format", "github", "--select", "DQ", "--allow-empty")
    assert_exit(res, 0)
    dq006 = [ln for ln in res.stdout.splitlines() if "(DQ006)" in ln]
    assert dq006 and dq006[0].startswith("::warning ") and f"file={path}" in dq006[0]
    assert ",line=5::" in dq006[0]  # the row that moves away from 1.0 is file line 5


def test_subprocess_stdin_filename_names_the_input(forecast_csv):
    with open(forecast_csv, "rb") as fh:
        data = fh.read()
    proc = run("analyze", "-", "--stdin-filename", "walks.csv", "--format", "json", stdin=data)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["input"]["paths"] == ["walks.csv"]
    bad = b"series,time,p\na,1,0.5\na,2,banana\n"
    proc = run("analyze", "-", "--stdin-filename", "upload.csv", stdin=bad)
    assert proc.returncode == 2 and b"upload.csv" in proc.stderr

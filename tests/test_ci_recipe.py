"""README "Use in CI": run exactly the GitHub Actions job's shell steps, with the README's
configuration, on a passing, a failing and an erroring forecast file.

The job (its ``run:`` commands with the step's ``env:``) and the configuration are parsed out of the README (the blocks after
``<!-- ci-job -->`` and ``<!-- ci-config -->``), so the documented recipe is what runs.
Differences from a runner, on purpose: the "Install forecheck" step is not run (this test
environment has forecheck already; a ``forecheck`` script on PATH runs ``python -m forecheck``
from this checkout); ``uses:`` steps (checkout, setup-python, upload-artifact) are not run
— for the upload step the test checks that the file it uploads exists;
``FORECHECK_N_SIM=199`` keeps the bootstrap short (the environment variable sits between
the command line and the file in the precedence, so it is also exercised here).
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.gate_inputs import biased, broken, honest

ROOT = Path(__file__).resolve().parents[1]


def _block(marker: str, lang: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(re.escape(marker) + r"\s*```" + lang + r"\n(.*?)```", text, flags=re.S)
    assert m, f"README has no ```{lang} block after {marker}"
    return m.group(1)


def _job() -> list[dict]:
    doc = yaml.safe_load(_block("<!-- ci-job -->", "yaml"))
    (job,) = doc["jobs"].values()
    return job["steps"]


def _project(tmp_path: Path, make_input) -> tuple[Path, dict]:
    proj = tmp_path / "project"
    (proj / "forecasts").mkdir(parents=True)
    (proj / "pyproject.toml").write_text(_block("<!-- ci-config -->", "toml"), encoding="utf-8")
    make_input(proj / "forecasts" / "latest.csv")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "forecheck"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m forecheck "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"), "FORECHECK_N_SIM": "199",
           "HOME": str(tmp_path)}
    return proj, env


def _run_job(proj: Path, env: dict) -> dict[str, subprocess.CompletedProcess]:
    """Run the job's ``run:`` steps as a runner would (bash -eo pipefail; after a failed
    step only ``if: always()`` steps run)."""
    results: dict[str, subprocess.CompletedProcess] = {}
    failed = False
    for step in _job():
        if "run" not in step or step.get("name") == "Install forecheck":
            continue
        if failed and step.get("if") != "always()":
            continue
        step_env = {**env, **{k: str(v) for k, v in (step.get("env") or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=proj,
                              env=step_env, capture_output=True, timeout=300)
        results[step["name"]] = proc
        failed = failed or proc.returncode != 0
    return results


def _uploaded(proj: Path) -> Path:
    (upload,) = [s for s in _job() if "upload-artifact" in s.get("uses", "")]
    return proj / upload["with"]["path"]


@pytest.mark.parametrize(("kind", "make_input", "code"), [("passing", honest, 0), ("failing", biased, 1),
                                                          ("erroring", broken, 2)])
def test_readme_github_actions_job(tmp_path, kind, make_input, code):
    proj, env = _project(tmp_path, make_input)
    steps = _run_job(proj, env)
    check = steps["Check the forecasts"]
    out, err = check.stdout.decode(), check.stderr.decode()
    assert check.returncode == code, (kind, out[-2000:], err[-2000:])
    assert "Traceback" not in err
    # the summary step ran (if: always()) and appended the markdown report
    assert steps["Job summary"].returncode == 0
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    junit = ET.parse(_uploaded(proj)).getroot()
    lines = [ln for ln in out.splitlines() if ln]
    assert lines and all(ln.startswith("::") for ln in lines)  # FORECHECK_FORMAT=github from the job
    if code == 0:
        assert summary.startswith("## ✅ forecheck: passed")
        assert junit.get("failures") == "0" and junit.get("errors") == "0"
        assert not any(ln.startswith("::error") for ln in lines)
        # ignore = ["WN"] from the configuration: no layer-B case at all
        assert not [c for c in junit.iter("testcase") if c.get("name", "").startswith("WN")]
    elif code == 1:
        assert summary.startswith("## ❌ forecheck: failed (exit code 1)")
        assert int(junit.get("failures")) >= 1
        assert any(ln.startswith("::error title=forecheck (MG101") for ln in lines)
    else:
        assert "could not run" in summary and "forecasts/latest.csv" in summary
        assert junit.get("errors") == "1"
        assert lines[0].startswith("::error title=forecheck (could not run),file=forecasts/latest.csv")
        assert "banana" in err or "DQ051" in err or "non-numeric" in err.lower()

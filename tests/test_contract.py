"""The result contract (issue: one result contract): typed details, identity from the
registry, the inconclusive status, settings validated once, one-way imports."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import forecheck
from forecheck.checks import all_specs
from forecheck.cli.app import app
from forecheck.config import AnalysisConfig
from forecheck.errors import SettingsError
from forecheck.results import Details
from forecheck.simulate import simulate
from tests.conftest import SAMPLE_DATA

PKG = Path(forecheck.__file__).parent
SAMPLE = str(SAMPLE_DATA / "pres2020_states.csv")

# Data flows io -> Panel -> stats -> checks -> report -> cli. What each layer may
# import (besides itself and the shared contract modules errors, results, details,
# config); nothing imports a layer downstream of it.
BASE = {"errors", "results", "details", "config", "__version__", "progress", "arrow"}
MAY_IMPORT = {
    "arrow": set(),  # Arrow-backed columns, for io and report (imports no other layer)
    "panel": set(),
    "io": {"panel"},
    "stats": {"panel"},
    "simulate": {"panel", "stats"},
    "checks": {"panel", "stats"},
    "report": {"panel", "stats"},
    "settings": {"io"},  # configuration files and FORECHECK_* variables: read by the CLI only
    "api": {"panel", "io", "stats", "checks", "report"},
    "engine": {"panel", "io", "stats", "checks", "report"},  # --engine dask (imported by the CLI only)
    "cli": {"panel", "io", "stats", "simulate", "checks", "report", "api", "cli", "settings", "engine"},
    "__main__": {"cli"},
}
LAYER = MAY_IMPORT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PKG.parent).with_suffix("")
    pkg = ".".join(rel.parts[:-1]) if rel.name != "__init__" else ".".join(rel.parts[:-1])
    out = set()
    for node in ast.walk(tree):  # lazy imports inside functions count too
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                out.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                out.add(node.module)
                out.update(f"{node.module}.{a.name}" for a in node.names if node.module == "forecheck")
    return out


def test_imports_flow_one_way():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        name = rel.parts[0].removesuffix(".py")
        if name not in MAY_IMPORT:
            continue
        allowed = MAY_IMPORT[name] | BASE | {name}
        for mod in _imports(path):
            parts = mod.split(".")
            if parts[0] == "forecheck" and len(parts) > 1 and parts[1] not in allowed:
                bad.append(f"{rel} imports {mod}")
    assert bad == []


def test_report_never_imports_checks():
    for path in (PKG / "report").rglob("*.py"):
        assert not any(m.startswith("forecheck.checks") for m in _imports(path)), path


@pytest.fixture(scope="module")
def sample_report():
    return forecheck.analyze(SAMPLE)


def test_every_check_has_typed_details_and_registry_identity(sample_report):
    specs = {s.code: s for s in all_specs()}
    for r in sample_report.results:
        if r.family == "DQ":
            continue
        spec = specs[r.code]
        assert (r.name, r.family, r.severity, r.layer) == (spec.name, spec.family, spec.severity, spec.layer)
        assert isinstance(r.details, Details) and dataclasses.is_dataclass(r.details), r.code
        assert r.to_dict()["details"] == r.details_dict()


def test_mg104_has_one_name_whether_it_runs_or_skips():
    ran = forecheck.analyze(SAMPLE, select=("MG104",), n_sim=99).result("MG104")
    df = simulate("gaussian", n_series=20, n_steps=30, seed=1)
    df["outcome"] = np.nan  # no resolved series: MG104 skips
    skipped = forecheck.analyze(df, select=("MG104",), n_sim=99).result("MG104")
    assert skipped.status == "skip"
    assert ran.name == skipped.name == "revision–error regression"


@pytest.mark.parametrize("args, flag", [
    (["--n-sim", "0"], "--n-sim must be an integer of at least 1"),
    (["--n-sim", "-5"], "--n-sim must be an integer of at least 1"),
    (["--seed", "-1"], "--seed"),
    (["--alpha", "1.5"], "--alpha"),
    (["--horizons", "0,-3"], "--horizons"),
    (["--min-length", "1"], "--min-length"),
])
def test_bad_settings_are_usage_errors_naming_the_flag(args, flag):
    res = CliRunner().invoke(app, ["analyze", SAMPLE, *args], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert flag in res.output and "internal error" not in res.output


def test_settings_are_validated_at_construction():
    with pytest.raises(SettingsError, match="--n-sim"):
        AnalysisConfig(n_sim=0)
    with pytest.raises(SettingsError, match="--seed"):
        AnalysisConfig(seed=-1)
    with pytest.raises(SettingsError, match="--horizons"):
        AnalysisConfig(horizons=(float("nan"),))
    assert AnalysisConfig(select="MG,CA").select == ("MG", "CA")


@pytest.mark.parametrize("code", ["MG101", "MG104", "CA202", "CA204", "WN305"])
def test_a_pvalue_does_not_depend_on_which_other_checks_run(code):
    df = simulate("gaussian", n_series=40, n_steps=40, seed=5)
    alone = forecheck.analyze(df, select=(code,), n_sim=199).result(code)
    together = forecheck.analyze(df, n_sim=199).result(code)
    assert alone.to_dict()["details"] == together.to_dict()["details"]
    assert alone.pvalue == together.pvalue and alone.estimate == together.estimate


def test_simulation_caps_are_reported_not_silent():
    df = simulate("gaussian", n_series=30, n_steps=40, seed=2)
    r = forecheck.analyze(df, select=("WN305",), n_sim=2000).result("WN305")
    assert r.caps and r.caps[0].requested == 2000 and r.caps[0].used == 999
    assert r.to_dict()["caps"][0]["used"] == 999


def test_min_length_has_one_home():
    # forecheck.analyze(df, min_length=5): DQ005 and the dynamic checks agree
    df = simulate("gaussian", n_series=20, n_steps=4, seed=3)
    rep = forecheck.analyze(df, min_length=5, n_sim=99)
    dq5 = rep.result("DQ005")
    assert dq5.status == "fail" and dq5.details_dict()["count"] == 20
    assert rep.input["short_series"] == 20
    assert rep.result("MG103").status == "skip"
    from forecheck.io.options import ReadOptions

    assert "min_length" not in {f.name for f in dataclasses.fields(ReadOptions)}

"""Configuration files, FORECHECK_* variables and precedence (forecheck/settings.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forecheck import settings as S
from forecheck.cli.app import app

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_closest_file_wins_and_pyproject_without_table_is_skipped(tmp_path):
    write(tmp_path / "forecheck.toml", 'alpha = 0.2\n')
    write(tmp_path / "a" / "pyproject.toml", '[project]\nname = "x"\n')  # no [tool.forecheck]: skipped
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert S.find_config_file(deep) == (tmp_path / "forecheck.toml").resolve()
    write(tmp_path / "a" / "b" / "pyproject.toml", '[tool.forecheck]\nalpha = 0.3\n')
    assert S.find_config_file(deep) == (deep / "pyproject.toml").resolve()
    # in one directory forecheck.toml wins over pyproject.toml
    write(deep / "forecheck.toml", 'alpha = 0.4\n')
    eff = S.resolve({}, cwd=deep, environ={})
    assert eff["alpha"] == 0.4 and eff.sources["alpha"].endswith("forecheck.toml forecheck.toml")


@pytest.mark.parametrize(("key", "file_value", "env_value", "cli_value", "parsed_env"), [
    ("alpha", "0.2", "0.1", 0.01, 0.1),
    ("fail-on", '"warning"', "info", "never", "info"),
    ("prob-col", '"winstate_chal"', "price", "p", "price"),
    ("select", '["MG"]', "CA,MG101", ("WN",), ("CA", "MG101")),
    ("n-sim", "199", "99", 9, 99),
])
def test_precedence_cli_over_env_over_file_over_default(tmp_path, key, file_value, env_value, cli_value,
                                                       parsed_env):
    s = S.BY_KEY[key]
    write(tmp_path / "pyproject.toml", f"[tool.forecheck]\n{key} = {file_value}\n")
    env = {s.env: env_value}
    # default only
    iso = S.resolve({}, isolated=True, environ=env, cwd=tmp_path)
    assert iso[s.attr] == s.default and iso.sources[s.attr] == "default"
    # file
    f = S.resolve({}, cwd=tmp_path, environ={})
    assert f.sources[s.attr] == f"{tmp_path / 'pyproject.toml'} [tool.forecheck]"
    # env beats file
    e = S.resolve({}, cwd=tmp_path, environ=env)
    assert e[s.attr] == parsed_env and e.sources[s.attr] == s.env
    # command line beats both
    c = S.resolve({s.attr: cli_value}, cwd=tmp_path, environ=env)
    assert c[s.attr] == cli_value and c.sources[s.attr] == "command line"


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    p = write(tmp_path / "pyproject.toml", '[tool.forecheck]\nalph = 0.1\n')
    with pytest.raises(S.SettingsError) as exc:
        S.resolve({}, cwd=tmp_path, environ={})
    msg = str(exc.value)
    assert str(p) in msg and "`alph`" in msg and "did you mean `alpha`" in msg and "allowed keys:" in msg


@pytest.mark.parametrize(("line", "needle"), [
    ('fail-on = "sometimes"', "one of error, warning, info, never"),
    ("alpha = 1.5", "strictly between 0 and 1"),
    ('n-sim = "many"', "an integer >= 1"),
    ("drop-backcast = 1", "true or false"),
    ('select = "MG101"', None),  # a single string is accepted as a one-item list
])
def test_bad_values_name_file_key_and_allowed_values(tmp_path, line, needle):
    p = write(tmp_path / "forecheck.toml", line + "\n")
    if needle is None:
        assert S.resolve({}, cwd=tmp_path, environ={})["select"] == ("MG101",)
        return
    with pytest.raises(S.SettingsError) as exc:
        S.resolve({}, cwd=tmp_path, environ={})
    assert str(p) in str(exc.value) and needle in str(exc.value) and line.split(" =")[0] in str(exc.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(S.SettingsError, match="FORECHECK_ALPHA.*strictly between 0 and 1"):
        S.resolve({}, isolated=False, environ={"FORECHECK_ALPHA": "2"}, cwd="/")


def test_paths_in_a_file_are_relative_to_it(tmp_path):
    write(tmp_path / "forecheck.toml", 'junit-xml = "reports/f.xml"\noutcomes = "/abs/o.csv"\n')
    eff = S.resolve({}, cwd=tmp_path, environ={})
    assert eff["junit_xml"] == str(tmp_path / "reports" / "f.xml") and eff["outcomes"] == "/abs/o.csv"


def test_explicit_config_and_isolated(tmp_path):
    other = write(tmp_path / "ci" / "gate.toml", 'fail-on = "warning"\n')
    write(tmp_path / "forecheck.toml", 'fail-on = "info"\n')
    assert S.resolve({}, config_path=other, cwd=tmp_path, environ={})["fail_on"] == "warning"
    iso = S.resolve({}, isolated=True, cwd=tmp_path, environ={"FORECHECK_FAIL_ON": "info"})
    assert iso["fail_on"] == "error" and iso.file is None
    with pytest.raises(S.SettingsError, match="no \\[tool.forecheck\\] table"):
        S.resolve({}, config_path=write(tmp_path / "pyproject.toml", "[project]\n"), environ={})


def test_overrides_are_parsed_and_grouped(tmp_path):
    write(tmp_path / "forecheck.toml",
          '[[overrides]]\nseries = "NE-*"\nignore = ["MG102"]\n'
          '[[overrides]]\nseries = ["ME-*", "NE-1"]\nignore = ["MG10", "CA2"]\n')
    eff = S.resolve({}, cwd=tmp_path, environ={})
    assert [o.series for o in eff.overrides] == [("NE-*",), ("ME-*", "NE-1")]
    ids = ["NE-1", "NE-2", "ME-1", "PA"]
    groups = dict(S.override_groups(eff.overrides, ["MG101", "MG102", "CA202", "WN301"], ids))
    # MG102 is ignored by both overrides: NE-1, NE-2 (first) and ME-1, NE-1 (second)
    assert groups == {("MG101", "CA202"): (0, 2), ("MG102",): (0, 1, 2)}


def test_bad_override_names_the_table(tmp_path):
    write(tmp_path / "forecheck.toml", '[[overrides]]\nseries = "x"\nignor = ["MG102"]\n')
    with pytest.raises(S.SettingsError, match="overrides #1: unknown key `ignor`.*did you mean `ignore`"):
        S.resolve({}, cwd=tmp_path, environ={})


def test_selection_is_strict_and_most_specific_wins():
    known = ["DQ001", "MG101", "MG102", "MG106", "CA201", "CA202", "WN301"]
    with pytest.raises(S.SettingsError, match="MG1O1.*did you mean `MG101`"):
        S.validate_selectors(["MG1O1"], known, "select")
    with pytest.raises(S.SettingsError, match="`XX`"):
        S.validate_selectors(["XX"], known, "ignore")
    assert S.validate_selectors(["mg1", "ALL"], known, "select") == ("MG1", "ALL")
    assert S.select_codes(known, ["ALL"]) == tuple(known)
    assert S.select_codes(known, ["MG"], ignore=["MG10"]) == ()
    assert S.select_codes(known, ["MG101"], ignore=["MG"]) == ("MG101",)  # more specific select wins
    assert S.select_codes(known, ["MG"], ignore=["MG"]) == ()  # equal specificity: ignore wins
    assert S.select_codes(known, ["CA"], extend_select=["MG106"]) == ("MG106", "CA201", "CA202")


def test_config_command_prints_values_and_sources(tmp_path, monkeypatch):
    write(tmp_path / "pyproject.toml", '[tool.forecheck]\nfail-on = "warning"\nmax-movement-ratio = 1.5\n')
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["config"], env={**ENV, "FORECHECK_ALPHA": "0.01"})
    assert res.exit_code == 0, res.stderr
    lines = {ln.split()[0]: ln for ln in res.stdout.splitlines() if ln and not ln[0].isspace()}
    assert "pyproject.toml [tool.forecheck]" in lines["fail-on"] and "warning" in lines["fail-on"]
    assert "FORECHECK_ALPHA" in lines["alpha"] and "0.01" in lines["alpha"]
    assert lines["n-sim"].split()[1:] == ["999", "default"]
    res = CliRunner().invoke(app, ["config", "--format", "json", "--isolated"], env=ENV)
    doc = json.loads(res.stdout)
    assert doc["config_file"] is None and doc["settings"]["fail-on"] == {"value": "error", "source": "default"}
    write(tmp_path / "pyproject.toml", '[tool.forecheck]\nfail-on = "sometimes"\n')
    res = CliRunner().invoke(app, ["config"], env=ENV)
    assert res.exit_code == 2 and "fail-on" in res.stderr and "one of error, warning, info, never" in res.stderr


def test_docs_list_every_key_with_its_variable():
    text = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for s in S.SETTINGS:
        assert f"| `{s.key}` | {s.allowed()} |" in text and f"`{s.env}`" in text, s.key

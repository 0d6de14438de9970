"""Regression tests of the crash classes of docs/robustness.md: degenerate data in the
statistics, user text in error messages, control characters in machine outputs and a
closed stdout. The corpus runs (tests/test_corpus.py) cover the same classes end to end."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from forecheck.cli import common
from forecheck.cli.app import app
from forecheck.errors import InsufficientDataError
from forecheck.report.github import _escape_data
from forecheck.report.junit import render_junit_error, xml_safe
from forecheck.stats.calibration import max_inequality_test
from forecheck.stats.clustered import cluster_ols, wild_cluster_bootstrap_p
from forecheck.stats.microstructure import roll
from forecheck.stats.volshape import fit_vol_shape

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ------------------------------------------------------------- degenerate regressions
def _design(x):
    return np.column_stack([np.ones_like(x), x])


@pytest.mark.parametrize("x", [np.zeros(40), np.full(40, 0.3), np.full(40, 1e-300),
                               np.r_[np.full(20, 1e-300), np.full(20, 2e-300)]],
                         ids=["zeros", "constant", "tiny", "tiny-underflow"])
def test_cluster_ols_without_variation_skips(x):
    """MG103's crash (LinAlgError: Singular matrix) on constant series: now a reason."""
    y = np.linspace(-1, 1, 40)
    groups = np.repeat(np.arange(8), 5)
    with pytest.raises(InsufficientDataError, match="regressor|singular"):
        cluster_ols(y, _design(x), groups)
    with pytest.raises(InsufficientDataError):
        wild_cluster_bootstrap_p(y, _design(x), groups, 1, n_boot=19, rng=np.random.default_rng(0))


def test_cluster_ols_too_few_clusters_and_rows():
    x = np.arange(6.0)
    with pytest.raises(InsufficientDataError, match="clusters"):
        cluster_ols(x, _design(x + 1), np.zeros(6))
    with pytest.raises(InsufficientDataError, match="observations"):
        cluster_ols(x[:2], _design(x[:2]), np.arange(2))


def test_cluster_ols_perfect_fit_is_nan_not_a_warning():
    """A dependent variable without residual variation (y = 0: every revision zero)
    gives zero standard errors and NaN t, and the bootstrap says why it cannot run."""
    x = np.arange(40.0)
    groups = np.repeat(np.arange(8), 5)
    fit = cluster_ols(np.zeros(40), _design(x), groups)
    np.testing.assert_array_equal(fit.params, [0, 0])
    assert np.all(fit.bse == 0) and np.all(np.isnan(fit.tvalues)) and np.all(np.isnan(fit.pvalues_t))
    with pytest.raises(InsufficientDataError, match="exactly"):
        wild_cluster_bootstrap_p(np.zeros(40), _design(x), groups, 1, n_boot=19, rng=np.random.default_rng(0))


def test_cluster_ols_regular_case_still_matches_statsmodels():
    """The guard leaves identified regressions alone: CR1 SEs as statsmodels'
    OLS(...).fit(cov_type="cluster") (its default small-sample correction)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=60) * 1e-3  # small but well-conditioned after column scaling
    y = 0.1 + 5 * x + rng.normal(size=60)
    groups = np.repeat(np.arange(12), 5)
    fit = cluster_ols(y, _design(x), groups)
    ref = sm.OLS(y, _design(x)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-8)


def test_vol_shape_on_constant_probabilities_is_a_reason():
    n = 60
    p_prev = np.full(n, 0.3)
    dp = np.tile([0.01, -0.01], n // 2)
    tau = np.linspace(60, 1, n)
    with pytest.raises(ValueError, match="does not vary"):
        fit_vol_shape(p_prev, dp, np.ones(n), tau, np.repeat(np.arange(12), 5))
    with pytest.raises(ValueError, match="does not vary"):  # constant time to resolution too
        fit_vol_shape(np.linspace(0.2, 0.8, n), dp, np.ones(n), np.full(n, 5.0), np.repeat(np.arange(12), 5))


def test_roll_when_no_lag_pair_moves():
    # each series moves only on its first step: every lag-1 product is 0
    dp = np.tile([0.1, 0.0, 0.0], 10)
    seg = np.repeat(np.arange(10), 3)
    out = roll(dp, seg)
    assert out["rho1"] is None and out["pvalue"] is None and out["gamma1"] == 0


def test_max_inequality_test_needs_two_draws():
    with pytest.raises(InsufficientDataError, match="--n-sim"):
        max_inequality_test(lambda w: w[:, :2], n=10, n_boot=1, seed=0)


# ------------------------------------------------------------- user text is not markup
@pytest.mark.parametrize("text", ["[/x]", "[red]oops", "[bold]a[/bold]", "[link=file:///etc]x[/link]"])
def test_error_messages_show_user_text_verbatim(text):
    res = CliRunner().invoke(app, ["rule", text], env=ENV)
    assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit)
    assert res.exit_code == 2
    assert text in res.stderr


def test_missing_path_with_markup(tmp_path):
    path = str(tmp_path / "[red]x[/x].csv")
    res = CliRunner().invoke(app, ["analyze", path], env=ENV)
    assert res.exit_code == 2 and path in res.stderr.replace("\n", "")


# ------------------------------------------------------------- machine outputs
def test_junit_error_sanitises_control_characters():
    raw = "bad cell '\x00\x0f\x1b[31m' \ud800 ]]> <x> & \t\n ok \ufffe"
    xml = render_junit_error(raw)
    root = ET.fromstring(xml.encode("utf-8"))
    msg = root.find(".//error").get("message")
    assert "\\x00" in msg and "\\x0f" in msg and "\\x1b" in msg and "]]>" in msg and "<x>" in msg
    assert xml_safe("plain é ü 中") == "plain é ü 中"


def test_github_data_escaping():
    s = _escape_data("100% a\nb\r\x00c::d")
    assert s == "100%25 a%0Ab%0D\\x00c::d"


# ------------------------------------------------------------- closed stdout (SIGPIPE)
def test_write_payload_on_closed_pipe_returns_quietly(monkeypatch):
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert common.write_payload("x") is False


def _run_closed_stdout(args, tmp_path):
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "forecheck", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    proc.stdout.close()  # the reader went away before anything was written: EPIPE
    err = proc.stderr.read().decode()
    return proc.wait(timeout=300), err


def test_closed_stdout_keeps_exit_code_and_writes_files(tmp_path):
    """`forecheck analyze f.csv | true`: quiet, the run's own exit code, --junit-xml and
    -o still written (Python docs, signal module: "Note on SIGPIPE")."""
    src = str(DATA / "constant_030.csv")  # MG101 fails: exit 1 when stdout is open
    base = ["analyze", src, "--n-sim", "19", "--junit-xml", "j.xml"]
    ref = subprocess.run([sys.executable, "-m", "forecheck", *base, "-q"], capture_output=True,
                         env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=300)
    assert ref.returncode == 1, ref.stderr
    (tmp_path / "j.xml").unlink()
    code, err = _run_closed_stdout([*base, "--format", "json"], tmp_path)
    assert code == ref.returncode, err
    assert "Traceback" not in err and "Broken" not in err and "Exception ignored" not in err, err
    ET.fromstring((tmp_path / "j.xml").read_bytes())
    code, err = _run_closed_stdout([*base, "-o", "out.txt", "--exit-zero"], tmp_path)
    assert code == 0 and err == "" and (tmp_path / "out.txt").stat().st_size > 0


def test_memory_error_is_exit_2_with_a_message(monkeypatch, tmp_path):
    import forecheck.api

    def boom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(forecheck.api, "analyze", boom)
    junit = tmp_path / "j.xml"
    res = CliRunner().invoke(app, ["analyze", str(DATA / "good.csv"), "--junit-xml", str(junit)], env=ENV)
    assert res.exit_code == 2 and "out of memory while analysing" in res.stderr
    assert "internal error" not in res.stderr
    ET.fromstring(junit.read_bytes())


def test_error_messages_escape_terminal_controls():
    """ESC sequences, NUL and bidi overrides in user text are shown, not obeyed."""
    res = CliRunner().invoke(app, ["analyze", "a\x1b]0;pwned\x07b\x01c\u202ed.csv"], env=ENV)
    assert res.exit_code == 2 and "no such file" in res.stderr
    assert "\x1b" not in res.stderr and "\x01" not in res.stderr and "\u202e" not in res.stderr
    assert "a\\x1b]0;pwned\\x07b\\x01c\\u202ed.csv" in res.stderr
    assert common.visible("tab\tand\nnewline é") == "tab\tand\nnewline é"


def test_pooled_variance_ratio_of_constant_series_is_a_reason():
    """MG105 used to *pass* constant series with VR = NaN and p = NaN."""
    from forecheck.stats.variance_ratio import pooled_variance_ratio

    n_inc = np.full(10, 6)
    series = np.repeat(np.arange(10), 6)
    pos = np.tile(np.arange(6), 10)
    with pytest.raises(InsufficientDataError, match="all zero"):
        pooled_variance_ratio(np.zeros(60), pos, series, n_inc, (2,))


def test_constant_series_skip_mg105_in_the_report():
    import forecheck

    r = forecheck.analyze(str(DATA / "constant_030.csv"), n_sim=19)
    assert r.result("MG105").status == "skip" and "all zero" in r.result("MG105").message
    assert r.result("MG103").status == "skip" and r.result("MG104").status == "skip"


def test_closed_stderr_and_walk_pipe_keep_exit_codes(tmp_path):
    """Rich's own broken-pipe handler would exit 1: an error run stays 2 when stderr is
    closed, and `forecheck walk … | head` stays 0."""
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "forecheck", "analyze", str(DATA / "p_text.csv")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    p.stderr.close()
    assert p.stdout.read() == b"" and p.wait(timeout=300) == 2
    code, err = _run_closed_stdout(["walk", "--start", "0.2", "--step", "0.05"], tmp_path)
    assert code == 0 and err == ""


HOSTILE = ["[/x]", "[red]oops", "]]>", "%0A", "a::b,c", "\u202eevil", "z\u200bw", "<x&y>"] + \
    [f"c{chr(i)}d" for i in range(0x20)] + ["\x7f", "\ufffe"]  # inside: ids are stripped of edge whitespace


def test_hostile_ids_through_every_machine_format():
    """Series ids with markup, XML and annotation syntax, every C0 control character,
    RTL and zero-width characters: JSON, JUnit and GitHub outputs still parse, and each
    annotation stays one line."""
    import json

    import pandas as pd

    import forecheck
    from forecheck.report import render

    rng = np.random.default_rng(3)
    rows = []
    for s, sid in enumerate(HOSTILE):
        p = 0.5
        for t in range(6):
            rows.append((sid, t, p, s % 2))
            p = float(np.clip(p + rng.choice([-0.1, 0.1]), 0.05, 0.95))
    rows.append(("\x01last", 0, 1.0, 1))
    rows.append(("\x01last", 1, 0.5, 1))  # certainty then a move: DQ006 fails and lists this id
    df = pd.DataFrame(rows, columns=["series", "time", "p", "outcome"])
    report = forecheck.analyze(df, n_sim=19)
    assert report.result("DQ006").status == "fail"
    doc = json.loads(render(report, "json"))
    assert {r["id"] for r in doc["series"]} == set(HOSTILE) | {"\x01last"}
    root = ET.fromstring(render(report, "junit").encode("utf-8"))
    assert root.tag == "testsuites"
    gh = render(report, "github")
    lines = gh.splitlines()
    assert all(line.startswith("::") for line in lines) and "\r" not in gh
    assert any(line.startswith("::warning title=forecheck (DQ006)") for line in lines)
    dq006 = next(r for r in doc["results"] if r["code"] == "DQ006")
    assert dq006["details"]["rows"][0]["series"] == "\x01last"


def test_parquet_runs_end_with_their_exit_code(tmp_path):
    # pyarrow's thread pool could abort the interpreter's teardown after a Parquet read
    # (status 134, apache/arrow#34314): before main() ended with os._exit, 9 of 30 runs
    # on a header-only Parquet file aborted. Each run here must give its own status.
    import pyarrow as pa
    import pyarrow.parquet as pq

    empty = tmp_path / "header_only.parquet"
    pq.write_table(pa.table({"series": pa.array([], pa.string()), "time": pa.array([], pa.int64()),
                             "p": pa.array([], pa.float64())}), empty)
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    for path, expected in [(empty, 2)] * 6 + [(DATA / "good.parquet", 0)] * 2:
        r = subprocess.run([sys.executable, "-m", "forecheck", "analyze", str(path), "--format", "json",
                            "--no-progress"], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert r.returncode == expected, r.stderr[-500:]
        assert "terminate called" not in r.stderr


def test_exit_status_follows_the_interpreter_rule(capsys):
    from forecheck.cli.app import _exit_status

    assert [_exit_status(c) for c in (None, 0, 1, 2)] == [0, 0, 1, 2]
    assert _exit_status("no such file") == 1 and capsys.readouterr().err == "no such file\n"


def test_atexit_handlers_run_before_the_fast_exit(tmp_path):
    # main() skips the interpreter's teardown but not the atexit handlers (coverage's, a
    # user's sitecustomize): a handler registered at start-up still runs
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import atexit\natexit.register(lambda: open('ran.txt', 'w').write('yes'))\n")
    env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join([str(hooks), str(ROOT)])}
    r = subprocess.run([sys.executable, "-m", "forecheck", "analyze", str(DATA / "good.csv"), "--format", "json",
                        "-o", "out.json", "--no-progress"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-500:]
    assert (tmp_path / "ran.txt").read_text() == "yes" and (tmp_path / "out.json").stat().st_size > 0


def test_a_long_shot_jump_does_not_overflow_the_coordinates(tmp_path):
    # a series at 1e-300 that jumps to 50%: its probit-clock increment Δp / φ(Φ⁻¹(p)) is
    # about 1e298, whose square overflows (scripts/fuzz.py found the RuntimeWarning). The
    # series has no finite scale in that coordinate and is left out of it; the others and
    # every WN check run, and no warning reaches the user.
    import pandas as pd

    import forecheck
    from forecheck.stats.standardize import Increments

    rng = np.random.default_rng(1)
    rows = []
    for s in range(12):
        p = np.clip(0.5 + np.cumsum(rng.normal(0, 0.05, 14)), 0.02, 0.98)
        o = int(rng.uniform() < p[-1])
        rows += [(f"w{s}", t, float(x), o) for t, x in enumerate(p)]
    jump = [1e-300] * 7 + [0.5, 0.6, 0.55, 0.7, 0.8, 0.9, 0.95]
    rows += [("longshot", t, x, 1) for t, x in enumerate(jump)]
    path = tmp_path / "longshot.csv"
    pd.DataFrame(rows, columns=["series", "time", "p", "outcome"]).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rep = forecheck.analyze(str(path), select=("WN",), n_sim=19)
        coord = Increments.from_panel(rep.panel, 3).coordinate("probit_clock")
    assert all(r.status in ("pass", "fail") for r in rep.results)
    longshot = list(rep.panel.ids).index("longshot")
    assert longshot not in set(coord.series.tolist()) and len(coord.series) == 12
    assert np.all(np.isfinite(coord.x))

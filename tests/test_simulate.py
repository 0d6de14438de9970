"""Simulator models: format, determinism, the martingale property of the honest
models and the bias of the biased ones (docs/checks.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import optimize, stats
from scipy.special import betainc
from typer.testing import CliRunner

from forecheck.errors import UsageError
from forecheck.panel import Panel
from forecheck.simulate import MODELS, simulate, simulate_panel, simulate_paths
from forecheck.simulate.models import _beta_mean_for
from forecheck.stats.budget import series_budget

MARTINGALES = [m for m, s in MODELS.items() if s.kind == "martingale"]
BIASED = [m for m, s in MODELS.items() if s.kind == "biased"]
CHECK_CODES = {"MG101", "MG103", "MG105", "CA202", "WN302", "WN305"}


# ------------------------------------------------------------ helpers
def lag1_slope(panel: Panel, with_resolution: bool = False) -> float:
    """Pooled OLS slope (no intercept) of Δp_t on Δp_{t−1} within series,
    written with pandas groupby/shift (independent of the generators); with
    ``with_resolution`` each series' resolution step o − p_last is its last revision."""
    df = panel.to_frame()
    if with_resolution:
        last = df.groupby("series").tail(1)
        res = last.assign(time=last["time"] + 1, p=last["outcome"].astype(float))
        df = pd.concat([df, res]).sort_values(["series", "time"], kind="stable")
    d = df.groupby("series")["p"].diff()
    prev = d.groupby(df["series"]).shift(1)
    ok = d.notna() & prev.notna()
    x, y = prev[ok].to_numpy(), d[ok].to_numpy()
    return float(x @ y / (x @ x))


def budget_t(panel: Panel) -> tuple[float, float]:
    """(Σm/Σr − 1, t of mean excess X over series) from series_budget."""
    b = series_budget(panel)
    x = b.excess
    return b.movement.sum() / b.uncertainty_reduction.sum() - 1, x.mean() / (x.std(ddof=1) / np.sqrt(len(x)))


# ------------------------------------------------------------ format
@pytest.mark.parametrize("model", list(MODELS))
def test_long_frame_format_and_panel_roundtrip(model):
    df = simulate(model, 7, 12, seed=3)
    assert list(df.columns) == ["series", "time", "p", "outcome"]
    assert df["series"].iloc[0] == "s0001"
    assert df["time"].dtype.kind == "i" and df["outcome"].dtype.kind == "i"
    assert df["p"].between(0, 1).all()
    assert set(df["outcome"].unique()) <= {0, 1}
    # outcome constant within a series; time 0, 1, ... within a series
    assert (df.groupby("series")["outcome"].nunique() == 1).all()
    assert (df.groupby("series")["time"].transform(lambda t: np.arange(len(t))) == df["time"]).all()
    panel = Panel.from_frame(df)
    direct = simulate_panel(model, 7, 12, seed=3)
    assert list(panel.ids) == list(direct.ids)
    np.testing.assert_array_equal(panel.offsets, direct.offsets)
    np.testing.assert_array_equal(panel.p, direct.p)
    np.testing.assert_array_equal(panel.outcome, direct.outcome)
    np.testing.assert_array_equal(panel.time, direct.time)


@pytest.mark.parametrize("model", list(MODELS))
def test_deterministic_for_seed(model):
    a = simulate(model, 20, 15, seed=11)
    b = simulate(model, 20, 15, seed=11)
    c = simulate(model, 20, 15, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not (len(a) == len(c) and np.array_equal(a["p"].to_numpy(), c["p"].to_numpy()))


def test_ids_zero_padded_sort_numerically():
    df = simulate("gaussian", 12345, 2, seed=0)
    ids = df["series"].unique()
    assert ids[0] == "s00001" and ids[-1] == "s12345"
    assert list(ids) == sorted(ids)


def test_model_specs_document_checks():
    for name, spec in MODELS.items():
        assert spec.name == name and spec.kind in ("martingale", "biased")
        assert set(spec.passes) | set(spec.fails) <= CHECK_CODES
        assert not set(spec.passes) & set(spec.fails)
        assert spec.description and spec.params
    for name in BIASED:
        assert MODELS[name].fails, name


def test_fixed_and_range_p0():
    panel = simulate_panel("jump", 50, 5, seed=1, p0=0.3)
    np.testing.assert_allclose(panel.p0, 0.3)
    panel = simulate_panel("gaussian", 500, 5, seed=1, p0=(0.01, 0.05))
    assert panel.p0.min() >= 0.01 - 1e-12 and panel.p0.max() <= 0.05 + 1e-12
    panel = simulate_panel("gaussian", 4000, 3, seed=1)
    # default: starts spread over Uniform(0.05, 0.95)
    assert panel.p0.min() >= 0.05 - 1e-12 and panel.p0.max() <= 0.95 + 1e-12
    assert stats.kstest(panel.p0, stats.uniform(0.05, 0.9).cdf).pvalue > 0.001


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        ("nope", {}, "unknown model"),
        ("gaussian", {"alpha": 1.0}, "has no option alpha"),
        ("walk", {"p0": 0.015, "step": 0.01}, "multiple of the step"),
        ("walk", {"step": 0.3}, "must divide 1"),
        ("walk", {"step": 0.6}, "step"),
        ("jump", {"news_prob": 0.0}, "news_prob"),
        ("gaussian", {"p0": 1.0}, "p0"),
        ("gaussian", {"horizon": 5}, "horizon"),
        ("ar", {"signal": "other"}, "signal"),
        ("bidask", {"noise_kind": "x"}, "noise_kind"),
        ("smooth", {"lam": 1.5}, "lam"),
    ],
)
def test_bad_options_raise_usage_error(model, params, match):
    with pytest.raises(UsageError, match=match):
        simulate(model, 3, 10, seed=0, **params)


# ------------------------------------------------- martingale property
@pytest.mark.parametrize("model", MARTINGALES)
def test_martingale_models_keep_the_budget(model):
    # A-R (2021) Cor. 1: a resolving martingale has E[m] = E[r] = E[p0(1−p0)].
    # 3000 series: |t| of the mean excess must be < 3.5 at a fixed seed.
    panel = simulate_panel(model, 3000, 60, seed=2024)
    excess, t = budget_t(panel)
    assert abs(t) < 3.5, (model, excess, t)
    assert abs(excess) < 0.06, (model, excess)


@pytest.mark.parametrize("model", [m for m in MARTINGALES if m != "deadline"] + ["ar"])
def test_martingale_revisions_uncorrelated(model):
    # E[Δp_t | past] = 0 ⇒ the pooled slope of Δp_t on Δp_{t−1} is 0. (Not for
    # "deadline": its in-flight revisions are a known decay, the test below.)
    slope = lag1_slope(simulate_panel(model, 2000, 40, seed=7))
    assert abs(slope) < 0.05, (model, slope)


def test_deadline_model_formula_and_event_ends():
    T = 20
    paths = simulate_paths("deadline", 4000, T, seed=3)
    p0 = paths.p[:, 0]
    k = np.arange(T)
    # p_k = 1 − exp(−λ(1 − k/T)) with λ = −log(1 − p0), i.e. 1 − (1 − p0)^(1 − k/T)
    np.testing.assert_allclose(paths.p, 1 - (1 - p0[:, None]) ** (1 - k[None, :] / T), rtol=1e-12)
    short = paths.length < T
    assert np.all(paths.outcome[short] == 1)  # a history that stops early stopped at its event
    # P(event within the window) = p0: the outcome rate matches the mean start (4.5 sd)
    assert abs(paths.outcome.mean() - p0.mean()) < 4.5 * np.sqrt(np.mean(p0 * (1 - p0)) / len(p0))


def test_deadline_revisions_are_martingale_differences_only_with_the_event():
    """The in-flight decay is predictable (slope ≈ 1: each step decays a little more
    than the last); with the event's jump to 1 (the resolution step) as the final
    revision, revisions are martingale differences again (slope ≈ 0)."""
    pan = simulate_panel("deadline", 4000, 40, seed=7)
    assert lag1_slope(pan) > 0.9
    assert abs(lag1_slope(pan, with_resolution=True)) < 0.05


@pytest.mark.parametrize("model", MARTINGALES)
def test_exact_posteriors_are_calibrated(model):
    # p_t = P(o = 1 | information at t): within deciles of p at a fixed step the
    # outcome frequency equals the mean forecast (binomial tolerance, 4.5 sd).
    panel = simulate_panel(model, 20000, 20, seed=5)
    keep = panel.lengths > 10
    rows = panel.first_row[keep] + 10
    p, o = panel.p[rows], panel.outcome[keep]
    bins = np.minimum((p * 10).astype(int), 9)
    for b in np.unique(bins):
        sel = bins == b
        if sel.sum() < 200:
            continue
        sd = np.sqrt(np.mean(p[sel] * (1 - p[sel])) / sel.sum())
        assert abs(o[sel].mean() - p[sel].mean()) < 4.5 * sd + 1e-9, (model, b)


# ---------------------------------------------- structure of each model
def test_ar_identity_is_bayesian_posterior():
    # α = β = 1 must equal the exact posterior (A-R 2021, Sec. 3.1): same draws.
    n, T = 300, 40
    a = simulate_paths("ar", n, T, seed=9, signal="latent")
    g = simulate_paths("gaussian", n, T, seed=9)
    np.testing.assert_allclose(a.p, g.p, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.outcome, g.outcome)
    a = simulate_paths("ar", n, T, seed=9, signal="jump", news_prob=0.1, strength=1.5)
    j = simulate_paths("jump", n, T, seed=9, news_prob=0.1, strength=1.5)
    np.testing.assert_allclose(a.p, j.p, rtol=0, atol=1e-12)
    a = simulate_paths("ar", n, T, seed=9, signal="gaussian", strength=0.4)
    j = simulate_paths("jump", n, T, seed=9, news_prob=1.0, strength=0.4)
    np.testing.assert_allclose(a.p, j.p, rtol=0, atol=1e-12)


def test_ar_recursion_in_log_odds():
    # ℓ_{t+1} = α ℓ_t + β (ℓ*_{t+1} − ℓ*_t), ℓ* the Bayesian log-odds (same seed)
    n, T, alpha, beta = 50, 30, 0.8, 1.3
    base = simulate_paths("ar", n, T, seed=4, signal="jump", news_prob=0.2, strength=0.5)
    biased = simulate_paths("ar", n, T, seed=4, signal="jump", news_prob=0.2, strength=0.5,
                            alpha=alpha, beta=beta)
    lstar = np.log(base.p / (1 - base.p))
    ell = np.log(biased.p / (1 - biased.p))
    expect = np.empty_like(ell)
    expect[:, 0] = lstar[:, 0]
    for t in range(1, T):
        expect[:, t] = alpha * expect[:, t - 1] + beta * (lstar[:, t] - lstar[:, t - 1])
    np.testing.assert_allclose(ell, expect, atol=1e-8)
    np.testing.assert_array_equal(base.outcome, biased.outcome)


def test_ar_reproduces_methods_reference_values():
    # docs/checks.md (2 000–4 000 streams, T = 100): log-odds over-reaction
    # ×1.5 gives Σm/Σr − 1 ≈ +0.58 (t ≈ +25); under-reaction ×0.7 ≈ −0.33 (t ≈ −32).
    # Measured with seed 1, 3000 streams: about +0.59 / −0.31 (see docs/simulate.md).
    over, t_over = budget_t(simulate_panel("ar", 3000, 100, seed=1, beta=1.5))
    under, t_under = budget_t(simulate_panel("ar", 3000, 100, seed=1, beta=0.7))
    assert 0.45 < over < 0.75 and t_over > 15
    assert -0.45 < under < -0.2 and t_under < -15


def test_smoothing_recursion_and_autocorrelation():
    n, T, lam = 400, 50, 0.3
    q = simulate_paths("gaussian", n, T, seed=8)
    s = simulate_paths("smooth", n, T, seed=8, lam=lam)
    expect = q.p.copy()
    for t in range(1, T):
        expect[:, t] = lam * q.p[:, t] + (1 - lam) * expect[:, t - 1]
    np.testing.assert_allclose(s.p, expect, atol=1e-12)
    np.testing.assert_array_equal(s.outcome, q.outcome)
    # Δp_t = λΔq_t + (1−λ)Δp_{t−1}: an AR(1) in increments with coefficient 1 − λ
    # when Δq are uncorrelated, so the pooled lag-1 slope is ≈ 0.7.
    slope = lag1_slope(simulate_panel("smooth", 2000, 60, seed=8, lam=lam))
    assert 0.6 < slope < 0.8


def test_bidask_noise_is_bounce_around_truth():
    n, T, s = 300, 40, 0.02
    q = simulate_paths("gaussian", n, T, seed=6, p0=0.5, horizon=4000)
    b = simulate_paths("bidask", n, T, seed=6, p0=0.5, horizon=4000, noise=s, tick=0.0)
    d = b.p - q.p
    interior = (q.p > 0.04) & (q.p < 0.96)
    np.testing.assert_allclose(np.abs(d[interior]), s, atol=1e-12)
    np.testing.assert_array_equal(b.outcome, q.outcome)
    # Roll (1984): bounce e_t = ±s iid adds Cov(Δp_t, Δp_{t−1}) = −s², Var(Δp) + 2s²,
    # so the lag-1 slope is −s²/(E[Δq²] + 2s²), with E[Δq²] measured on the truth.
    panel = simulate_panel("bidask", 3000, 40, seed=6, p0=0.5, horizon=4000, noise=s, tick=0.0)
    truth = simulate_panel("gaussian", 3000, 40, seed=6, p0=0.5, horizon=4000)
    expect = -s**2 / (np.mean(truth.dp**2) + 2 * s**2)
    assert lag1_slope(panel) == pytest.approx(expect, abs=0.02)
    excess, t = budget_t(panel)
    assert excess > 0.1 and t > 5  # bounce inflates movement


def test_stale_publishes_truth_on_random_days():
    n, T = 200, 50
    q = simulate_paths("gaussian", n, T, seed=3)
    st = simulate_paths("stale", n, T, seed=3, publish_prob=0.25)
    changed = np.diff(st.p, axis=1) != 0
    # each value is a past value of the truth, the latest one published
    assert np.all(np.isin(st.p[0], q.p[0]))
    assert 0.18 < changed.mean() < 0.32
    np.testing.assert_array_equal(st.p[:, 0], q.p[:, 0])
    np.testing.assert_array_equal(st.outcome, q.outcome)


def test_beta_prior_matches_start_and_posterior_formula():
    p0 = np.array([0.05, 0.3, 0.5, 0.8, 0.95])
    mu = _beta_mean_for(p0, 2.0)
    for target, m in zip(p0, mu):
        # reference: brentq on scipy.stats.beta.sf(0.5, cμ, c(1−μ)) = p0
        ref = optimize.brentq(lambda x: stats.beta.sf(0.5, 2 * x, 2 * (1 - x)) - target, 1e-9, 1 - 1e-9,
                              xtol=1e-14)
        assert m == pytest.approx(ref, abs=1e-8)
    # posterior after k successes in t draws: scipy.stats.beta.sf(0.5, a + k, b + t − k)
    a, b = 1.3, 0.7
    for t, k in [(0, 0), (5, 2), (40, 31)]:
        assert betainc(b + t - k, a + k, 0.5) == pytest.approx(stats.beta.sf(0.5, a + k, b + t - k), rel=1e-12)
    # and the path moves only in the direction of the draw (p increases after a success)
    paths = simulate_paths("beta", 200, 30, seed=1)
    assert np.all(np.diff(paths.p, axis=1) != 0)


def test_walk_model_grid_absorption_and_truncation():
    paths = simulate_paths("walk", 3000, 200, seed=2, p0=0.05, step=0.01)
    p, L, o = paths.p, paths.length, paths.outcome
    k = np.rint(p * 100)
    np.testing.assert_allclose(p * 100, k, atol=1e-9)
    mask = np.arange(200)[None, :] < L[:, None]
    inc = np.diff(k, axis=1)[mask[:, 1:]]
    assert set(np.unique(inc)) <= {-1.0, 1.0}
    last = k[np.arange(3000), L - 1]
    ended = L < 200
    # an absorbed path ends one grid step from the boundary it then hits
    assert np.all((last[ended] == 1) & (o[ended] == 0) | (last[ended] == 99) & (o[ended] == 1))
    assert np.all((k[mask] >= 1) & (k[mask] <= 99))
    # lazy walk: about (1 − q) of the steps are zero
    lazy = simulate_paths("walk", 2000, 100, seed=2, p0=0.5, move_prob=0.25)
    assert np.mean(np.diff(lazy.p, axis=1) == 0) == pytest.approx(0.75, abs=0.01)


# ------------------------------------------------------------------ CLI
@pytest.fixture
def runner_app():
    from forecheck.cli.simulate import simulate_command

    app = typer.Typer()
    app.command("simulate")(simulate_command)
    app.command("other")(lambda: None)  # keep typer in multi-command mode
    return app


def _run(app, args):
    return CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "120"})


def test_cli_simulate_csv_roundtrip(runner_app, tmp_path):
    out = tmp_path / "sim.csv"
    res = _run(runner_app, ["simulate", "ar", "--series", "5", "--steps", "8", "--seed", "3", "--beta", "1.5",
                            "-o", str(out)])
    assert res.exception is None and res.exit_code == 0, res.output
    df = pd.read_csv(out)
    expect = simulate("ar", 5, 8, seed=3, beta=1.5)
    assert list(df.columns) == ["series", "time", "p", "outcome"]
    np.testing.assert_allclose(df["p"].to_numpy(), expect["p"].to_numpy(), rtol=1e-15)
    assert list(df["series"]) == list(expect["series"])
    res = _run(runner_app, ["simulate", "walk", "--series", "3", "--steps", "5", "--seed", "1", "--p0", "0.5"])
    assert res.exception is None and res.exit_code == 0
    assert res.stdout.splitlines()[0] == "series,time,p,outcome"


def test_cli_simulate_p0_range(runner_app):
    res = _run(runner_app, ["simulate", "gaussian", "--series", "20", "--steps", "3", "--seed", "1",
                            "--p0", "0.01,0.05"])
    assert res.exception is None and res.exit_code == 0
    from io import StringIO

    df = pd.read_csv(StringIO(res.stdout))
    p0 = df[df.time == 0]["p"]
    assert p0.between(0.01, 0.05).all()


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "nope", "--series", "3", "--steps", "5"],
        ["simulate", "gaussian", "--series", "3", "--steps", "5", "--alpha", "0.5"],
        ["simulate", "walk", "--series", "3", "--steps", "5", "--p0", "0.015"],
        ["simulate", "jump", "--series", "0", "--steps", "5"],
        ["simulate", "gaussian", "--series", "3", "--steps", "5", "--p0", "x"],
    ],
)
def test_cli_simulate_errors_exit_2(runner_app, args):
    res = _run(runner_app, args)
    assert res.exit_code == 2
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


def test_cli_simulate_help_lists_models_and_checks(runner_app):
    res = _run(runner_app, ["simulate", "--help"])
    assert res.exit_code == 0
    for name in MODELS:
        assert name in res.stdout
    for code in ("MG101", "MG103", "MG105", "CA202", "WN302", "WN305"):
        assert code in res.stdout

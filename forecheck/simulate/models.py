"""Generators of honest (martingale) and biased probability forecasters.

Every generator is vectorised over series: it draws (n_series, n_steps) arrays
with ``numpy.random.default_rng(seed)`` and returns the forecast paths, their
lengths and the outcomes. :func:`simulate` turns them into the long frame
(series, time, p, outcome) that ``Panel.from_frame`` and ``forecheck analyze``
read without flags; :func:`simulate_panel` builds the :class:`Panel` directly.

Conventions shared by all models
--------------------------------
* Time is the step index 0, 1, ..., n_steps − 1. The question resolves one step
  after the last forecast (the "resolution step" the variance budget counts), so
  a martingale model satisfies E[m] = p0(1 − p0) with m including (o − p_last)²
  (Augenblick & Rabin 2021, Cor. 1).
* Starting probabilities: ``p0=None`` draws p0 ~ Uniform(0.05, 0.95) per series;
  a float fixes it; a pair ``(low, high)`` draws Uniform(low, high).
* Probabilities are exact posteriors, which never reach 0 or 1 mathematically;
  in floating point Φ(9) rounds to 1.0, and a rounded "certainty" that is then
  revised would look like a data error (DQ006). They are therefore kept in
  [2⁻⁵³, 1 − 2⁻⁵³] (≈ 1.1e-16 from the ends); the change is below 1.2e-16 per
  value, far below anything a check can see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from scipy.special import betainc, expit, log_ndtr, logit, ndtr, ndtri

from forecheck.errors import UsageError
from forecheck.panel import Panel

Kind = Literal["martingale", "biased"]

P0_RANGE = (0.05, 0.95)


# ---------------------------------------------------------------- specs
@dataclass(frozen=True)
class ParamSpec:
    """One model option: its name (Python keyword; CLI flag ``--name-with-dashes``),
    default, type and a one-line help text."""

    name: str
    default: Any
    type: type
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class ModelSpec:
    """A simulator model: what it represents and which checks it should pass/fail.

    ``passes``/``fails`` list check codes (MG101 excess movement, MG103 revision
    autocorrelation, MG105 variance ratio, CA202 calibration, WN302 Gaussian
    increments, WN305 jumps); ``notes`` says in words what is expected where the
    answer depends on options (e.g. the bias direction of ``ar``).
    """

    name: str
    description: str
    kind: Kind
    passes: tuple[str, ...]
    fails: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    generator: Callable[..., "SimPaths"] | None = field(default=None, repr=False, compare=False)
    notes: str = ""

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class SimPaths:
    """Raw generator output: ``p`` (S, T) forecasts (entries at or beyond
    ``length`` are ignored), ``length`` (S,) forecasts per series, ``outcome`` (S,)
    0/1 ints."""

    p: np.ndarray
    length: np.ndarray
    outcome: np.ndarray


# ---------------------------------------------------------------- helpers
def _start(rng: np.random.Generator, n: int, p0: Any) -> np.ndarray:
    """Starting probabilities: None → U(0.05, 0.95); a float; a (low, high) tuple
    or list → Uniform(low, high); an (n,) numpy array → one value per series."""
    if p0 is None:
        p0 = P0_RANGE
    if np.ndim(p0) == 0:
        v = float(p0)
        if not 0.0 < v < 1.0:
            raise UsageError(f"`p0` must be strictly between 0 and 1, got {v:g}.")
        return np.full(n, v)
    if isinstance(p0, (tuple, list)) and len(p0) == 2:
        lo, hi = float(p0[0]), float(p0[1])
        if not 0.0 < lo <= hi < 1.0:
            raise UsageError(f"`p0` range must satisfy 0 < low <= high < 1, got ({lo:g}, {hi:g}).")
        return rng.uniform(lo, hi, n)
    arr = np.asarray(p0, dtype=float)
    if arr.shape == (n,):
        if np.any((arr <= 0) | (arr >= 1)):
            raise UsageError("`p0` values must be strictly between 0 and 1.")
        return arr.copy()
    raise UsageError("`p0` must be None, a probability, a (low, high) pair or one value per series.")


def _check_range(name: str, value: float, lo: float, hi: float, *, lo_open=True, hi_open=False) -> None:
    ok_lo = value > lo if lo_open else value >= lo
    ok_hi = value < hi if hi_open else value <= hi
    if not (ok_lo and ok_hi and np.isfinite(value)):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise UsageError(f"`{name}` must be in {left}{lo:g}, {hi:g}{right}, got {value:g}.")


EPS_P = 2.0**-53  # 1 − EPS_P is the largest double below 1


def _full(p: np.ndarray, outcome: np.ndarray) -> SimPaths:
    np.clip(p, EPS_P, 1.0 - EPS_P, out=p)
    return SimPaths(p=p, length=np.full(p.shape[0], p.shape[1], dtype=np.int64),
                    outcome=outcome.astype(np.int64))


# ------------------------------------------------------- martingale cores
def _gaussian_core(rng, n_series, n_steps, p0, horizon):
    """Probit of a latent Brownian motion with a known horizon.

    S_t = S_0 + W_t (unit variance per step), resolution at step H ≥ n_steps with
    outcome 1{S_H > 0}; the exact posterior is p_t = P(S_H > 0 | S_t) =
    Φ(S_t / √(H − t)) — the Bachelier binary Φ(x/(σ√τ)) of Taleb's 2016 tweet
    (docs/checks.md) and the efficient price of Archak & Ipeirotis (2009).
    S_0 = Φ⁻¹(p0)·√H so that the first forecast is p0.
    """
    x, outcome = _latent_probit_argument(rng, n_series, n_steps, p0, horizon)
    return ndtr(x), outcome


def _latent_probit_argument(rng, n_series, n_steps, p0, horizon):
    """x_t = S_t / √(H − t) of the latent Brownian motion (p_t = Φ(x_t)) and the
    outcome 1{S_H > 0}; shared by the probability and log-odds forms."""
    H = n_steps if horizon is None else int(horizon)
    if H < n_steps:
        raise UsageError(f"`horizon` must be at least the number of steps ({n_steps}), got {H}.")
    start = _start(rng, n_series, p0)
    s0 = ndtri(start) * np.sqrt(H)
    z = rng.standard_normal((n_series, n_steps))
    z[:, 0] = 0.0
    s = s0[:, None] + np.cumsum(z, axis=1)
    tau = H - np.arange(n_steps, dtype=float)
    # remaining variance from the last forecast (t = n_steps − 1) to H
    s_end = s[:, -1] + rng.standard_normal(n_series) * np.sqrt(tau[-1])
    return s / np.sqrt(tau), (s_end > 0).astype(np.int64)


def _signal_llr(rng, theta, n_series, n_steps, strength, news_prob):
    """Log-likelihood ratios of signals about a binary state θ.

    A signal s ~ N(±d/2, 1) (sign by θ) has log LR log f1(s)/f0(s) = d·s. With
    ``news_prob`` < 1 a signal arrives only with that probability per step (else
    the LLR is 0: no news). Column 0 (the prior) carries no signal.
    """
    mean = (2.0 * theta[:, None] - 1.0) * (strength / 2.0)
    s = mean + rng.standard_normal((n_series, n_steps))
    llr = strength * s
    if news_prob < 1.0:
        llr = np.where(rng.random((n_series, n_steps)) < news_prob, llr, 0.0)
    llr[:, 0] = 0.0
    return llr


def _binary_core(rng, n_series, n_steps, p0, strength, news_prob):
    """Exact posterior of a binary state θ ~ Bernoulli(p0) from signal LLRs:
    logit p_t = logit p0 + Σ_{u ≤ t} llr_u (Bayes' rule in odds form)."""
    start = _start(rng, n_series, p0)
    theta = (rng.random(n_series) < start).astype(np.int64)
    llr = _signal_llr(rng, theta, n_series, n_steps, strength, news_prob)
    p = expit(logit(start)[:, None] + np.cumsum(llr, axis=1))
    return p, theta, start, llr


def _base(rng, n_series, n_steps, p0, base, horizon, news_prob, strength):
    if base == "gaussian":
        return _gaussian_core(rng, n_series, n_steps, p0, horizon)
    if base == "jump":
        p, theta, _, _ = _binary_core(rng, n_series, n_steps, p0, strength, news_prob)
        return p, theta
    raise UsageError(f"`base` must be 'gaussian' or 'jump', got {base!r}.")


# ------------------------------------------------------------ generators
def gen_gaussian(rng, n_series, n_steps, *, p0=None, horizon=None) -> SimPaths:
    p, out = _gaussian_core(rng, n_series, n_steps, p0, horizon)
    return _full(p, out)


def gen_jump(rng, n_series, n_steps, *, p0=None, news_prob=0.03, strength=2.0) -> SimPaths:
    _check_range("news_prob", news_prob, 0.0, 1.0)
    _check_range("strength", strength, 0.0, np.inf, hi_open=True)
    p, theta, _, _ = _binary_core(rng, n_series, n_steps, p0, strength, news_prob)
    return _full(p, theta)


def _beta_mean_for(p0: np.ndarray, conc: float) -> np.ndarray:
    """Prior mean μ of Beta(cμ, c(1−μ)) with P(θ > 1/2) = p0, by vectorised
    bisection (P(θ > 1/2) = I_{1/2}(b, a) increases in μ)."""
    lo = np.full(p0.shape, 1e-9)
    hi = np.full(p0.shape, 1.0 - 1e-9)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        val = betainc(conc * (1.0 - mid), conc * mid, 0.5)
        up = val < p0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def gen_beta(rng, n_series, n_steps, *, p0=None, concentration=2.0) -> SimPaths:
    """Beta-binomial learning about θ ~ Beta(a, b); event = {θ > 1/2}.

    After t Bernoulli(θ) draws with k successes the posterior is
    Beta(a + k, b + t − k), so p_t = P(θ > 1/2 | data) = 1 − I_{1/2}(a + k, b + t − k)
    = I_{1/2}(b + t − k, a + k) (regularised incomplete beta symmetry). The prior
    (a, b) = (cμ, c(1 − μ)) is chosen per series so that p_0 is the requested start.
    """
    _check_range("concentration", concentration, 0.0, np.inf, hi_open=True)
    start = _start(rng, n_series, p0)
    mu = _beta_mean_for(start, concentration)
    a = concentration * mu
    b = concentration * (1.0 - mu)
    theta = rng.beta(a, b)
    draws = rng.random((n_series, n_steps)) < theta[:, None]
    draws[:, 0] = False  # column 0 is the prior
    k = np.cumsum(draws, axis=1)
    t = np.arange(n_steps)
    p = betainc(b[:, None] + (t - k), a[:, None] + k, 0.5)
    p[:, 0] = start  # exact prior value (bisection tolerance ~1e-16 anyway)
    return _full(p, (theta > 0.5).astype(np.int64))


def gen_walk(rng, n_series, n_steps, *, p0=None, step=0.01, move_prob=1.0) -> SimPaths:
    """±h belief walk on the grid {0, h, ..., 1}, absorbed at 0/1.

    Each step the belief moves ±h with probability q (else stays). The move into
    0 or 1 is the resolution step: the series ends at the last interior value and
    the outcome is the absorbing value. A path still inside after n_steps forecasts
    gets outcome ~ Bernoulli(p_last), which keeps the whole path (plus resolution)
    a martingale.
    """
    _check_range("step", step, 0.0, 0.5)
    _check_range("move_prob", move_prob, 0.0, 1.0)
    N = int(round(1.0 / step))
    if abs(N * step - 1.0) > 1e-9:
        raise UsageError(f"`step` must divide 1 (1/step an integer), got {step:g}.")
    if p0 is None or isinstance(p0, (tuple, list)) and len(p0) == 2:
        lo, hi = P0_RANGE if p0 is None else (float(p0[0]), float(p0[1]))
        k_lo, k_hi = max(1, int(np.ceil(lo * N - 1e-9))), min(N - 1, int(np.floor(hi * N + 1e-9)))
        if k_lo > k_hi:
            raise UsageError(f"no grid point of step {step:g} lies in the p0 range ({lo:g}, {hi:g}).")
        k0 = rng.integers(k_lo, k_hi + 1, n_series)
    else:
        start = _start(rng, n_series, p0)
        k0f = start * N
        k0 = np.rint(k0f).astype(np.int64)
        if np.any(np.abs(k0f - k0) > 1e-6):
            raise UsageError(f"`p0` must be a multiple of the step {step:g}.")
    moves = np.where(rng.random((n_series, n_steps)) < 0.5, 1, -1).astype(np.int32)
    if move_prob < 1.0:
        moves *= rng.random((n_series, n_steps)) < move_prob
    moves[:, 0] = 0
    k = k0[:, None] + np.cumsum(moves, axis=1)
    absorbed = (k <= 0) | (k >= N)
    hit = absorbed.any(axis=1)
    first = np.where(hit, absorbed.argmax(axis=1), n_steps)
    length = first.astype(np.int64)  # rows before the absorbing move
    last_k = k[np.arange(n_series), length - 1]
    p = k / N
    p_last = last_k / N
    end_k = k[np.arange(n_series), np.minimum(first, n_steps - 1)]
    outcome = np.where(hit, (end_k >= N).astype(np.int64),
                       (rng.random(n_series) < p_last).astype(np.int64))
    return SimPaths(p=p, length=length, outcome=outcome)


def gen_deadline(rng, n_series, n_steps, *, p0=None) -> SimPaths:
    """"Will the event happen before the deadline?" with a constant hazard the
    forecaster knows: forecast k is made at t_k = k/T of the window, the event time
    is exponential with rate λ = −log(1 − p0) per window, and

        p_k = P(event in (t_k, 1] | none by t_k) = 1 − exp(−λ(1 − t_k)).

    The history ends when the event happens (outcome 1; the jump to 1 after the last
    forecast is the resolution step), else after the forecast at t_{T−1} (outcome 0).
    An exact martingale: E[p_{k+1} 1{no event} + 1{event} | none by t_k] = p_k (the
    exponential is memoryless). While no event happens the forecast decays by a known
    amount each step, so the in-flight revisions alone are predictable and the length
    of a series depends on its outcome (docs/validation.md, "Deadline questions")."""
    start = _start(rng, n_series, p0)
    lam = -np.log1p(-start)  # P(event within the window) = 1 − exp(−λ) = p0
    t = np.arange(n_steps) / n_steps
    p = -np.expm1(-lam[:, None] * (1.0 - t)[None, :])
    tau = rng.exponential(size=n_series) / lam  # event time, in windows
    event = tau < 1.0
    # the event falls in (t_k, t_{k+1}]: forecast k is the last one (k = ⌈τT⌉ − 1)
    k_last = np.clip(np.ceil(tau * n_steps).astype(np.int64) - 1, 0, n_steps - 1)
    length = np.where(event, k_last + 1, n_steps).astype(np.int64)
    np.clip(p, EPS_P, 1.0 - EPS_P, out=p)
    return SimPaths(p=p, length=length, outcome=event.astype(np.int64))


def gen_stale(rng, n_series, n_steps, *, p0=None, publish_prob=0.3, base="gaussian", horizon=None,
              news_prob=0.03, strength=2.0) -> SimPaths:
    """A martingale q_t published only on random days: with probability
    ``publish_prob`` the forecaster publishes q_t, else the last published value
    repeats (the first forecast is always published). Sampling a martingale at
    stopping times keeps it a martingale (optional sampling), so the budget holds."""
    _check_range("publish_prob", publish_prob, 0.0, 1.0)
    q, out = _base(rng, n_series, n_steps, p0, base, horizon, news_prob, strength)
    pub = rng.random((n_series, n_steps)) < publish_prob
    pub[:, 0] = True
    idx = np.where(pub, np.arange(n_steps)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    p = np.take_along_axis(q, idx, axis=1)
    return _full(p, out)


def _latent_core_logodds(rng, n_series, n_steps, p0, horizon):
    """Log-odds of the Gaussian-signal Bayesian (probit of a latent BM), computed
    stably as log Φ(x) − log Φ(−x) (no overflow at p ≈ 0 or 1), and its outcome."""
    x, outcome = _latent_probit_argument(rng, n_series, n_steps, p0, horizon)
    return log_ndtr(x) - log_ndtr(-x), outcome


def gen_ar(rng, n_series, n_steps, *, p0=None, alpha=1.0, beta=1.0, signal="gaussian", strength=None,
           news_prob=0.03, horizon=None) -> SimPaths:
    """Augenblick–Rabin (2021, Sec. 3.1, p. 24) bias family.

    LR[p_{t+1}] = LR[p_t]^α · LR[s_{t+1}]^β, i.e. in log-odds
    ℓ_{t+1} = α ℓ_t + β λ_{t+1}, where λ_{t+1} is the exact log-likelihood ratio
    of the new signal — equivalently the Bayesian's log-odds update ℓ*_{t+1} − ℓ*_t.
    Signal streams:

    * ``'gaussian'`` (default): binary state θ ~ Bernoulli(p0), a N(±d/2, 1) signal
      every step, λ = d·s; default d = 3/√(n_steps − 1), so the signals of a whole
      series carry the same information (mean |Σλ| = d²(T−1)/2 = 4.5) for any T;
    * ``'jump'``: the same signal only with probability ``news_prob`` (default d = 2);
    * ``'latent'``: λ_{t+1} = ℓ*_{t+1} − ℓ*_t of the Gaussian-signal Bayesian
      (probit of a latent BM, model ``gaussian``; ``horizon`` applies).

    α = β = 1 is the exact Bayesian posterior. Outcome = the true state.
    """
    _check_range("alpha", alpha, 0.0, np.inf, hi_open=True)
    _check_range("beta", beta, 0.0, np.inf, hi_open=True)
    if signal == "latent":
        lstar, theta = _latent_core_logodds(rng, n_series, n_steps, p0, horizon)
        ell0 = lstar[:, 0]
        lam = np.diff(lstar, axis=1)
    elif signal in ("gaussian", "jump"):
        if signal == "gaussian":
            d = 3.0 / np.sqrt(n_steps - 1) if strength is None else strength
            prob = 1.0
        else:
            d = 2.0 if strength is None else strength
            _check_range("news_prob", news_prob, 0.0, 1.0)
            prob = news_prob
        _check_range("strength", d, 0.0, np.inf, hi_open=True)
        start = _start(rng, n_series, p0)
        theta = (rng.random(n_series) < start).astype(np.int64)
        lam = _signal_llr(rng, theta, n_series, n_steps, d, prob)[:, 1:]
        ell0 = logit(start)
    else:
        raise UsageError(f"`signal` must be 'gaussian', 'jump' or 'latent', got {signal!r}.")
    ell = np.empty((n_series, n_steps))
    ell[:, 0] = ell0
    if alpha == 1.0:
        ell[:, 1:] = ell0[:, None] + beta * np.cumsum(lam, axis=1)
    else:
        # ℓ_t = α ℓ_{t−1} + β λ_t: a linear recursion over time, vectorised over series
        for t in range(1, n_steps):
            ell[:, t] = alpha * ell[:, t - 1] + beta * lam[:, t - 1]
    return _full(expit(ell), theta)


def gen_smooth(rng, n_series, n_steps, *, p0=None, lam=0.3, base="gaussian", horizon=None,
               news_prob=0.03, strength=2.0) -> SimPaths:
    """Exponential smoothing of a Bayesian posterior q_t:
    p_t = λ q_t + (1 − λ) p_{t−1}, p_0 = q_0 — the sluggish revisions Nordhaus
    (1987) found (positively autocorrelated revisions). Outcome from the truth."""
    _check_range("lam", lam, 0.0, 1.0)
    q, out = _base(rng, n_series, n_steps, p0, base, horizon, news_prob, strength)
    p = np.empty_like(q)
    p[:, 0] = q[:, 0]
    for t in range(1, n_steps):
        p[:, t] = lam * q[:, t] + (1.0 - lam) * p[:, t - 1]
    return _full(p, out)


def gen_bidask(rng, n_series, n_steps, *, p0=None, noise=0.02, noise_kind="bounce", tick=0.01,
               base="gaussian", horizon=None, news_prob=0.03, strength=2.0) -> SimPaths:
    """Bid-ask noise around a martingale q_t (the truth).

    ``noise_kind='bounce'``: each print is at the bid or the ask, q_t ± ``noise``
    (half-spread) with probability ½ each (Roll 1984 bounce); ``'gaussian'``: iid
    N(0, noise²). The observed price is clipped to [0.01, 0.99] and rounded to the
    ``tick`` grid (0 = no rounding). Outcome from the truth.
    """
    _check_range("noise", noise, 0.0, 0.5, lo_open=False)
    _check_range("tick", tick, 0.0, 0.5, lo_open=False)
    q, out = _base(rng, n_series, n_steps, p0, base, horizon, news_prob, strength)
    if noise_kind == "bounce":
        e = np.where(rng.random(q.shape) < 0.5, noise, -noise)
    elif noise_kind == "gaussian":
        e = noise * rng.standard_normal(q.shape)
    else:
        raise UsageError(f"`noise_kind` must be 'bounce' or 'gaussian', got {noise_kind!r}.")
    p = np.clip(q + e, 0.01, 0.99)
    if tick > 0:
        p = np.clip(np.round(p / tick) * tick, 0.01, 0.99)
    return _full(p, out)


# ------------------------------------------------------------- registry
_P0 = ParamSpec("p0", None, float, "start probability; None = Uniform(0.05, 0.95) per series, "
                "or a (low, high) range")
_HORIZON = ParamSpec("horizon", None, int, "gaussian base: steps from the first forecast to resolution "
                     "(default = number of steps)")
_NEWS = ParamSpec("news_prob", 0.03, float, "jump base: probability of a news signal per step")
_STRENGTH = ParamSpec("strength", 2.0, float, "signal strength d: a N(±d/2, 1) signal, log LR = d·s")
_BASE = ParamSpec("base", "gaussian", str, "underlying Bayesian posterior: 'gaussian' or 'jump'")

MODELS: dict[str, ModelSpec] = {
    "gaussian": ModelSpec(
        "gaussian",
        "Gaussian-signal Bayesian: p_t = Φ(S_t/√(H−t)), probit of a latent Brownian motion with a known "
        "horizon H (Taleb's binary-option model).",
        "martingale", ("MG101", "MG103", "MG105", "CA202", "WN305"), ("WN302",),
        (_P0, _HORIZON), gen_gaussian,
        notes="Raw Δp are non-Gaussian by construction (bounded, state- and clock-dependent volatility): "
              "raw-increment WN302 rejects often; on probit-clock latent increments it passes at about "
              "the nominal rate (docs/checks.md)."),
    "jump": ModelSpec(
        "jump",
        "Jump-news Bayesian: binary state θ ~ Bernoulli(p0); with probability news_prob per step an "
        "informative signal arrives, else nothing; p_t is the exact posterior.",
        "martingale", ("MG101", "MG103", "MG105", "CA202"), ("WN302", "WN305"),
        (_P0, _NEWS, _STRENGTH), gen_jump,
        notes="Passes layer A yet fails the Wiener diagnostics: a jumpy forecaster can be exactly "
              "Bayesian (docs/checks.md items 2, 5). The per-series z screen is oversized here."),
    "beta": ModelSpec(
        "beta",
        "Beta-binomial learning: θ ~ Beta(a, b), one Bernoulli(θ) draw per step, p_t = P(θ > 1/2 | data) "
        "exactly; outcome 1{θ > 1/2}.",
        "martingale", ("MG101", "MG103", "MG105", "CA202"), (),
        (_P0, ParamSpec("concentration", 2.0, float, "prior a + b (the prior mean is set by p0)")),
        gen_beta,
        notes="Every step is news, but steps are two-valued given the counts, so Wiener diagnostics "
              "(WN302) can go either way; it is a test of layer A on discrete, decelerating learning."),
    "walk": ModelSpec(
        "walk",
        "±h belief walk on the grid {0, h, …, 1}: moves ±h with probability move_prob per step, "
        "absorbed at 0/1 (the absorbing move is the resolution step).",
        "martingale", ("MG101", "MG103", "MG105", "CA202", "WN305"), ("WN302",),
        (ParamSpec("p0", None, float, "start (a multiple of step); None = a grid point in [0.05, 0.95]"),
         ParamSpec("step", 0.01, float, "step size h (1/h an integer, h ≤ 0.5)"),
         ParamSpec("move_prob", 1.0, float, "probability of moving per step (lazy walk if < 1)")),
        gen_walk,
        notes="Increments take two values (±h), so Gaussian-increment tests reject. From extreme starts "
              "movement is extremely right-skewed: a naive t-test rejects a true martingale "
              "(docs/checks.md); MG101 must stay valid. Series that reach 0/1 end early."),
    "stale": ModelSpec(
        "stale",
        "Stale publication: a Bayesian posterior published only on random days (publish_prob), "
        "otherwise the last published value repeats.",
        "martingale", ("MG101", "MG103", "MG105", "CA202"), ("WN305",),
        (_P0, ParamSpec("publish_prob", 0.3, float, "probability of publishing on a step"), _BASE,
         _HORIZON, _NEWS, _STRENGTH), gen_stale,
        notes="Sampling a martingale at random times keeps it a martingale, so the budget is unbiased "
              "(clock-free); catch-up moves after stale runs look like jumps, and many zero "
              "increments show up as staleness (WN307)."),
    "deadline": ModelSpec(
        "deadline",
        "Deadline question: will an event with a known constant hazard happen before the deadline? "
        "p_t = 1 − exp(−λ(1 − t/T)), λ = −log(1 − p0); the series ends when the event happens "
        "(outcome 1), else at the deadline (outcome 0).",
        "martingale", ("MG101",), (), (_P0,), gen_deadline,
        notes="An exact martingale whose in-flight revisions are a known decay (the no-news drift, "
              "compensated only by the event's jump) and whose length depends on its outcome. "
              "The budget (MG101) holds; the checks that read in-flight revisions or count horizons "
              "back from the last forecast (MG103, MG105, MG106, CA202–CA204) are not valid on such "
              "series (docs/validation.md, \"Deadline questions\")."),
    "ar": ModelSpec(
        "ar",
        "Augenblick–Rabin bias family: LR(p_{t+1}) = LR(p_t)^α · LR(s_{t+1})^β, LR = odds, on a "
        "binary state with Gaussian (or jump) signals; α = β = 1 is the exact Bayesian.",
        "biased", ("WN305",), ("MG101", "CA202"),
        (_P0, ParamSpec("alpha", 1.0, float, "weight on the prior log-odds (<1 base-rate neglect, "
                        ">1 confirmation)"),
         ParamSpec("beta", 1.0, float, "weight on the signal log LR (>1 over-, <1 under-reaction)"),
         ParamSpec("signal", "gaussian", str, "'gaussian' (a signal every step), 'jump' (news_prob) "
                   "or 'latent' (log-odds updates of model gaussian)"),
         ParamSpec("strength", None, float, "signal strength d (default 3/√(steps−1) gaussian, 2.0 jump)"),
         _NEWS, _HORIZON), gen_ar,
        notes="β = 1.5: moves too much (MG101 ratio > 1, over-confident CA202); β = 0.7: too little "
              "(ratio < 1, under-confident; CA202 needs ~1000 series to see it). With α = β = 1 it is a "
              "martingale and passes everything in layer A."),
    "smooth": ModelSpec(
        "smooth",
        "Exponential smoothing of a Bayesian posterior: p_t = λ q_t + (1 − λ) p_{t−1}; outcome from the "
        "truth.",
        "biased", ("CA202",), ("MG103", "MG105", "MG101"),
        (_P0, ParamSpec("lam", 0.3, float, "smoothing weight λ on the new posterior (1 = no smoothing)"),
         _BASE, _HORIZON, _NEWS, _STRENGTH), gen_smooth,
        notes="Revisions are positively autocorrelated (MG103 β > 0, MG105 VR > 1): the sluggishness "
              "Nordhaus (1987) found. In-flight movement is far below the budget (ratio < 1). The "
              "level stays roughly calibrated (Spiegelhalter Z ≈ −0.7 at mid-series, 3000 series)."),
    "bidask": ModelSpec(
        "bidask",
        "Bid-ask noise around a martingale: observed p = q_t ± half-spread (or + N(0, s²)), clipped to "
        "[0.01, 0.99] and rounded to the tick; outcome from the truth.",
        "biased", ("CA202",), ("MG101", "MG103", "MG105"),
        (_P0, ParamSpec("noise", 0.02, float, "half-spread (bounce) or noise s.d. (gaussian)"),
         ParamSpec("noise_kind", "bounce", str, "'bounce' (±noise, prob ½ each) or 'gaussian'"),
         ParamSpec("tick", 0.01, float, "price tick (0 = none)"),
         _BASE, _HORIZON, _NEWS, _STRENGTH), gen_bidask,
        notes="Bounce inflates fine-grid movement (MG101 ratio > 1), makes revisions negatively "
              "autocorrelated (MG103 β < 0, MG105 VR < 1); the noise is unbiased, so calibration of "
              "the level is roughly intact."),
}


# ---------------------------------------------------------------- API
def _validate_common(model: str, n_series: int, n_steps: int) -> ModelSpec:
    if model not in MODELS:
        raise UsageError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}.")
    if int(n_series) < 1:
        raise UsageError(f"`n_series` must be at least 1, got {n_series}.")
    if int(n_steps) < 2:
        raise UsageError(f"`n_steps` must be at least 2, got {n_steps}.")
    return MODELS[model]


def simulate_paths(model: str, n_series: int, n_steps: int, seed: int, **params: Any) -> SimPaths:
    """Raw (n_series, n_steps) arrays of a model (see :data:`MODELS`)."""
    spec = _validate_common(model, n_series, n_steps)
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise UsageError(f"model {model!r} has no option {', '.join(unknown)}; "
                         f"its options are: {', '.join(spec.defaults)}.")
    kw = {**spec.defaults, **{k: v for k, v in params.items()}}
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", under="ignore"):
        return spec.generator(rng, int(n_series), int(n_steps), **kw)


def series_ids(n_series: int) -> np.ndarray:
    """Zero-padded ids "s0001", ... (lexicographic order = numeric order)."""
    width = max(4, len(str(n_series)))
    return np.array([f"s{i:0{width}d}" for i in range(1, n_series + 1)], dtype=object)


def _flatten(paths: SimPaths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row p, row time, lengths) in (series, time) order."""
    S, T = paths.p.shape
    if np.all(paths.length == T):
        return paths.p.reshape(-1), np.tile(np.arange(T, dtype=np.int64), S), paths.length
    mask = np.arange(T)[None, :] < paths.length[:, None]
    time = np.broadcast_to(np.arange(T, dtype=np.int64), (S, T))[mask]
    return paths.p[mask], time, paths.length


def simulate(model: str, n_series: int, n_steps: int, seed: int, **params: Any) -> pd.DataFrame:
    """Simulate ``n_series`` forecast paths of ``n_steps`` forecasts from ``model``.

    Returns the long frame: ``series`` (str ids "s0001", ...), ``time`` (int step
    0, 1, ...), ``p`` (float in [0, 1]) and ``outcome`` (0/1 int, constant within a
    series; the question resolves one step after the last forecast). Deterministic
    for a given ``seed``. Model options are keywords (see ``MODELS[model].params``).

    Examples
    --------
    >>> df = simulate("ar", 1000, 100, seed=1, beta=1.5)   # log-odds over-reaction ×1.5
    >>> sorted(df.columns)
    ['outcome', 'p', 'series', 'time']
    """
    paths = simulate_paths(model, n_series, n_steps, seed, **params)
    p, time, lengths = _flatten(paths)
    ids = series_ids(int(n_series))
    codes = np.repeat(np.arange(len(ids)), lengths)
    return pd.DataFrame({
        "series": ids[codes],
        "time": time,
        "p": p,
        "outcome": np.repeat(paths.outcome.astype(np.int64), lengths),
    })


def simulate_panel(model: str, n_series: int, n_steps: int, seed: int, **params: Any) -> Panel:
    """Same draws as :func:`simulate`, built straight into a :class:`Panel`
    (no sorting of string ids: the ids are generated in panel order)."""
    paths = simulate_paths(model, n_series, n_steps, seed, **params)
    p, time, lengths = _flatten(paths)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Panel(ids=series_ids(int(n_series)), offsets=offsets, time=time.astype(float), p=p.astype(float),
                 outcome=paths.outcome.astype(float), time_kind="index", time_unit="step",
                 meta={"simulated": {"model": model, "n_series": int(n_series), "n_steps": int(n_steps),
                                     "seed": int(seed), **{k: v for k, v in params.items()}}})

"""Small exact Bayesian forecasters for the WN tests (fixed seeds).

Used while/if ``forecheck.simulate`` is unavailable; both are exact posterior
probabilities, so both are calibrated martingales (docs/checks.md).

- gaussian: signal S_t = S_0 + Σ ε, ε ~ N(0, 1); outcome 1{S_T > 0};
  p_t = P(S_T > 0 | S_t) = Φ(S_t/√(T − t)).
- jump: news arrives with probability q per step, each N(0, σ²/q) (same total
  variance); p_t = Σ_k Binom(k; T − t, q)·Φ(S_t/√(k σ²/q)) (k = 0: 1{S_t > 0}).
Times are 0..T−1; resolution at T (one step after the last forecast).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from forecheck.panel import Panel


def _panel(p: np.ndarray, outcome: np.ndarray) -> Panel:
    n, T = p.shape
    series = np.repeat(np.array([f"s{i:05d}" for i in range(n)]), T)
    time = np.tile(np.arange(T, dtype=float), n)
    return Panel.from_arrays(series, time, p.ravel(), outcome=np.repeat(outcome, T))


def gaussian_panel(n_series: int, n_steps: int, seed: int, prior_sd: float = 5.0) -> Panel:
    rng = np.random.default_rng(seed)
    T = n_steps
    s0 = rng.normal(0, prior_sd, n_series)
    eps = rng.normal(size=(n_series, T))
    # S at t = 0..T−1: S_0 = s0, then one signal per step; eps[:, 0] is kept for the resolution step
    S = np.concatenate([s0[:, None], s0[:, None] + np.cumsum(eps[:, 1:], axis=1)], axis=1)
    final = S[:, -1] + eps[:, 0]  # one more signal at the resolution step
    rem = T - np.arange(T)  # remaining signals: T − t
    p = stats.norm.cdf(S / np.sqrt(rem))
    return _panel(p, (final > 0).astype(float))


def jump_panel(n_series: int, n_steps: int, seed: int, q: float = 0.03, prior_sd: float = 5.0) -> Panel:
    rng = np.random.default_rng(seed)
    T = n_steps
    sd_news = 1.0 / np.sqrt(q)
    s0 = rng.normal(0, prior_sd, n_series)
    news = (rng.random((n_series, T)) < q) * rng.normal(0, sd_news, (n_series, T))
    S = np.concatenate([s0[:, None], s0[:, None] + np.cumsum(news[:, 1:], axis=1)], axis=1)
    final = S[:, -1] + news[:, 0]
    p = np.empty_like(S)
    k = np.arange(T + 1)
    for t in range(T):
        m = T - t
        w = stats.binom.pmf(k[: m + 1], m, q)
        with np.errstate(divide="ignore"):
            sd = np.sqrt(k[: m + 1]) * sd_news
            cond = np.where(sd[None, :] > 0, stats.norm.cdf(S[:, t, None] / np.where(sd > 0, sd, 1)[None, :]),
                            (S[:, t, None] > 0).astype(float))
        p[:, t] = cond @ w
    return _panel(p, (final > 0).astype(float))

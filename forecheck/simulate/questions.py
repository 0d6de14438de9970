"""Simulated panels of multi-outcome questions and common-factor panels, for the
validity of the pooled tests (benchmarks/size_power.py, docs/validation.md).

* :func:`pairs_panel` — every question of a binary model listed twice, as YES
  (p) and NO (1 − p, outcome 1 − o): 2Q mirror-image contracts, Q independent questions.
* :func:`candidates_panel` — Q independent races of K candidates: the exact
  posterior over K states from Gaussian signals (x_t ~ N(strength·e_θ, I_K)),
  π_t ∝ π_0 · exp(strength · Σ x), π_0 ~ Dirichlet(2, …, 2); outcome θ.
* :func:`factor_panel` — S series of a latent-probit Bayesian whose latent
  Brownian motions share a common factor with correlation ρ: W_i = √ρ F + √(1−ρ) E_i;
  o_i = 1{W_i(H) + c_i > 0}, p_it = Φ((W_i(t) + c_i)/√(H − t)) (each an exact
  martingale; the factor is in the increments and in the outcomes). With
  ``pairs=True`` each series is listed as a YES/NO pair (the mix).

Every generator is a martingale: these are null (size) panels.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from forecheck.panel import Panel


def _panel(p: np.ndarray, outcome: np.ndarray, ids: list[str], question: np.ndarray | None = None) -> Panel:
    S, T = p.shape
    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    p, outcome = p[order], outcome[order]
    offsets = np.arange(S + 1, dtype=np.int64) * T
    return Panel(ids=np.asarray(ids, dtype=object)[order], offsets=offsets,
                 time=np.tile(np.arange(T, dtype=float), S), p=np.clip(p, 1e-12, 1 - 1e-12).ravel(),
                 outcome=outcome.astype(float), time_kind="index", time_unit="step",
                 question=None if question is None else np.asarray(question, dtype=object)[order])


def _mirror(p: np.ndarray, o: np.ndarray, declare: bool) -> Panel:
    Q = p.shape[0]
    ids = [f"q{i:04d}:yes" for i in range(Q)] + [f"q{i:04d}:no" for i in range(Q)]
    qs = np.array([f"q{i:04d}" for i in range(Q)] * 2, dtype=object)
    return _panel(np.vstack([p, 1 - p]), np.concatenate([o, 1 - o]), ids, qs if declare else None)


def pairs_panel(n_questions: int, n_steps: int, seed: int, model: str = "gaussian", declare: bool = False,
                **params) -> Panel:
    """Each question of ``model`` listed as a YES and a NO contract."""
    from forecheck.simulate import simulate_paths

    paths = simulate_paths(model, n_questions, n_steps, seed, **params)
    if np.any(paths.length != n_steps):
        raise ValueError("pairs_panel needs a model with full-length paths")
    return _mirror(paths.p[:, :n_steps].astype(float), paths.outcome.astype(float), declare)


def candidates_panel(n_questions: int, n_candidates: int, n_steps: int, seed: int, strength: float = 0.15,
                     declare: bool = False) -> Panel:
    """Q races of K candidates (exact K-state Bayesian posterior, see module doc)."""
    rng = np.random.default_rng(seed)
    Q, K, T = n_questions, n_candidates, n_steps
    prior = rng.dirichlet(np.full(K, 2.0), size=Q)  # (Q, K)
    theta = (rng.uniform(size=(Q, 1)) > np.cumsum(prior, axis=1)).sum(axis=1)  # state ~ Categorical(prior)
    theta = np.minimum(theta, K - 1)
    x = rng.standard_normal((Q, T, K))
    x[:, 0, :] = 0.0
    x[:, 1:, :] += strength * (np.arange(K)[None, None, :] == theta[:, None, None])
    llr = strength * np.cumsum(x, axis=1)  # (Q, T, K); the common term cancels in the softmax
    a = np.log(prior)[:, None, :] + llr
    a -= a.max(axis=2, keepdims=True)
    pi = np.exp(a)
    pi /= pi.sum(axis=2, keepdims=True)
    p = pi.transpose(0, 2, 1).reshape(Q * K, T)
    o = (np.arange(K)[None, :] == theta[:, None]).astype(float).ravel()
    ids = [f"r{q:04d}:c{k}" for q in range(Q) for k in range(K)]
    qs = np.array([f"r{q:04d}" for q in range(Q) for _ in range(K)], dtype=object)
    return _panel(p, o, ids, qs if declare else None)


def factor_paths(n_series: int, n_steps: int, rng: np.random.Generator, rho: float,
                 p0: tuple[float, float] = (0.05, 0.95)) -> tuple[np.ndarray, np.ndarray]:
    """(S, T) probabilities and (S,) outcomes of the common-factor latent probit."""
    S, T = n_series, n_steps
    H = T  # resolution one step after the last forecast
    c = ndtri(rng.uniform(p0[0], p0[1], S)) * np.sqrt(H)
    f = rng.standard_normal(T + 1)  # common increments, step 1..T (last = to resolution)
    e = rng.standard_normal((S, T + 1))
    z = np.sqrt(rho) * f[None, :] + np.sqrt(1 - rho) * e
    z[:, 0] = 0.0
    w = np.cumsum(z[:, :T], axis=1)
    tau = H - np.arange(T, dtype=float)
    p = ndtr((w + c[:, None]) / np.sqrt(tau))
    end = w[:, -1] + c + z[:, T] * np.sqrt(tau[-1])  # remaining variance τ_last in one step
    return p, (end > 0).astype(float)


def factor_panel(n_series: int, n_steps: int, seed: int, rho: float, pairs: bool = False) -> Panel:
    """Common-factor Bayesian panel (module doc); ``pairs`` lists each as YES/NO."""
    rng = np.random.default_rng(seed)
    p, o = factor_paths(n_series, n_steps, rng, rho)
    if pairs:
        return _mirror(p, o, declare=False)
    return _panel(p, o, [f"s{i:04d}" for i in range(n_series)])

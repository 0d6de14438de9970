"""Taleb's binary-option model of an election forecast (WN306).

Taleb (2018), "Election predictions as martingales: an arbitrage approach",
*Quantitative Finance* 18(1) 1–5 (arXiv:1703.06351): a latent shadow
dX_t = σ²X_t dt + σ dW_t, vote share Y = S(X) = ½ + ½ erf(X). The forecast is the
binary option on X_T > l (l = 0 ⇔ Y_T > ½):

    Eq. 1   B(Y₀, σ, τ) = ½ erfc( (l − erf⁻¹(2Y₀ − 1)·e^{σ²τ}) / √(e^{2σ²τ} − 1) )

and σ from the vote-share volatility s by the delta method:

    Eq. 2   σ ≈ √(log(2π s² e^{2 erf⁻¹(2Y₀−1)²} + 1)) / (√2 √τ).

(Eq. 1 is the Gaussian law of the OU process with θ = −σ²: X_T | X₀ ~
N(X₀e^{σ²τ}, (e^{2σ²τ} − 1)/2); tests re-derive it that way and by Monte Carlo.)
"""

from __future__ import annotations

import numpy as np
from scipy import special


def shadow(y: np.ndarray | float) -> np.ndarray:
    """X = erf⁻¹(2Y − 1), the latent coordinate of a vote share Y ∈ (0, 1)."""
    return special.erfinv(2 * np.asarray(y, dtype=float) - 1)


def binary_price(y0: np.ndarray | float, sigma: np.ndarray | float, tau: np.ndarray | float,
                 l: float = 0.0) -> np.ndarray:
    """Taleb (2018) Eq. 1: B(Y₀, σ, τ). At τ = 0 the option pays 1{X₀ > l}."""
    x0 = shadow(y0)
    s2t = np.asarray(sigma, dtype=float) ** 2 * np.asarray(tau, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = (l - x0 * np.exp(s2t)) / np.sqrt(np.expm1(2 * s2t))
        out = 0.5 * special.erfc(arg)
    return np.where(s2t > 0, out, (x0 > l).astype(float))


def sigma_from_vote_volatility(s: np.ndarray | float, y0: np.ndarray | float,
                               tau: np.ndarray | float) -> np.ndarray:
    """Taleb (2018) Eq. 2: σ of the shadow from the vote-share volatility s over τ."""
    x0 = shadow(y0)
    s = np.asarray(s, dtype=float)
    return np.sqrt(np.log(2 * np.pi * s**2 * np.exp(2 * x0**2) + 1)) / (np.sqrt(2) * np.sqrt(tau))


def sigma_from_shadow_path(x: np.ndarray, t: np.ndarray) -> float:
    """σ̂ from a shadow path by its quadratic variation: d⟨X⟩ = σ² dt, so
    σ̂² = Σ(ΔX)²/Σ Δt (the drift σ²X dt is of lower order)."""
    dx, dt = np.diff(x), np.diff(t)
    ok = np.isfinite(dx) & (dt > 0)
    return float(np.sqrt(np.sum(dx[ok] ** 2) / np.sum(dt[ok]))) if ok.any() else float("nan")

"""A valid one-sided bound for excess movement of a single series (MG102).

Excess movement is a martingale transform, X = Σ_t d_t with d_t = (1 − 2p_{t−1})Δp_t
(A-R 2021, p. 10, fn 21). Because Δp_t ∈ [−p_{t−1}, 1 − p_{t−1}], every d_t has a
predictable lower bound −c_t,

    c_t = p(1 − 2p) for p < ½,  (2p − 1)(1 − p) for p ≥ ½,   c_t ≤ C = 1/8.

For ξ ≥ −1 and λ ∈ [0, 1), exp(λξ − ψ(λ)ξ²) ≤ 1 + λξ with ψ(λ) = −log(1 − λ) − λ
(Fan, Grama & Liu 2012, *Stoch. Proc. Appl.* 122, Lemma 4.1; the "empirical
Bernstein" supermartingale of Howard, Ramdas, McAuliffe & Sekhon 2021, *Ann.
Statist.* 49(2), Thm 1 / Fact 1). With ξ_t = d_t / c_t and predictable λ_t = λ c_t / C,

    M_λ = Π_t exp(λ d_t / C − ψ(λ c_t / C) d_t² / c_t²)

is a nonnegative supermartingale with M_0 = 1 under the martingale null — for any
bounded martingale, jumpy or not. A uniform mixture over a grid of λ is one too,
so p = min(1, 1 / mean_λ M_λ) is a valid one-sided p-value (Ville's / Markov's
inequality), large only when the series moved too much (A-R Cor. 4: a single
stream can only be rejected for moving too much).
"""

from __future__ import annotations

import numpy as np

C_MAX = 0.125
LAMBDAS = np.geomspace(0.02, 0.97, 24)


def lower_bound(p_prev: np.ndarray) -> np.ndarray:
    """c_t: −d_t ≤ c_t for every admissible move from p_prev."""
    p = np.asarray(p_prev, float)
    return np.where(p < 0.5, p * (1 - 2 * p), (2 * p - 1) * (1 - p))


_CHUNK = 1 << 16


def lower_bound_into(p_prev: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[:] = lower_bound(p_prev)`` (the same values), in chunks with small
    scratch buffers: no array-sized temporaries, which on large panels cost more in
    fresh memory than in arithmetic."""
    p_all = np.asarray(p_prev, float)
    n = len(p_all)
    a, b = np.empty(min(n, _CHUNK)), np.empty(min(n, _CHUNK))
    lo = np.empty(min(n, _CHUNK), bool)
    for i in range(0, n, _CHUNK):
        p, o = p_all[i:i + _CHUNK], out[i:i + _CHUNK]
        m = len(p)
        ai, bi, li = a[:m], b[:m], lo[:m]
        np.multiply(p, 2, out=ai)  # p(1 − 2p)
        np.subtract(1, ai, out=ai)
        ai *= p
        np.multiply(p, 2, out=bi)  # (2p − 1)(1 − p)
        bi -= 1
        np.subtract(1, p, out=o)
        o *= bi
        np.less(p, 0.5, out=li)
        np.copyto(o, ai, where=li)
    return out


def _psi_over_sq(x: np.ndarray) -> np.ndarray:
    """ψ(x)/x² with ψ(x) = −log(1 − x) − x, stable near 0 (limit ½)."""
    x = np.asarray(x, float)
    small = x < 1e-4
    xs = np.where(small, 0.5, x)
    big = (-np.log1p(-xs) - xs) / xs**2
    return np.where(small, 0.5 + x / 3 + x**2 / 4, big)


def _log_evalue(d: np.ndarray, c: np.ndarray, series: np.ndarray, n_series: int,
                lambdas: np.ndarray) -> np.ndarray:
    """log mean_λ M_λ per series (the exact mixture), for the given steps only.

    Per λ the step terms are λd/C − [ψ(x)/x²](λ/C)²d², x = λc/C (``_psi_over_sq``),
    formed in three reused buffers with the same operations in the same order."""
    log_m = np.empty((n_series, len(lambdas)))
    d2 = d**2
    n = len(d)
    x, pen, w = np.empty(n), np.empty(n), np.empty(n)
    small = np.empty(n, bool)
    for j, lam in enumerate(lambdas):  # loop over the λ grid only
        np.multiply(lam, c, out=x)
        x /= C_MAX
        # ψ(x) d²/c² = [ψ(x)/x²] · (λ/C)² d²  (finite as c → 0)
        _psi_over_sq_into(x, pen, w, small)
        pen *= (lam / C_MAX) ** 2
        pen *= d2
        np.multiply(lam, d, out=w)
        w /= C_MAX
        w -= pen
        log_m[:, j] = np.bincount(series, weights=w, minlength=n_series)
    mx = log_m.max(1, keepdims=True)
    return mx[:, 0] + np.log(np.mean(np.exp(log_m - mx), axis=1))


def _psi_over_sq_into(x: np.ndarray, out: np.ndarray, tmp: np.ndarray, small: np.ndarray) -> None:
    """``out[:] = _psi_over_sq(x)`` (the same values) with ``tmp``/``small`` as scratch;
    the series expansion is evaluated at the small x only."""
    np.less(x, 1e-4, out=small)
    any_small = bool(small.any())
    xs = x
    if any_small:  # xs = where(small, 0.5, x), in tmp
        np.copyto(tmp, x)
        tmp[small] = 0.5
        xs = tmp
    np.negative(xs, out=out)
    np.log1p(out, out=out)
    np.negative(out, out=out)
    out -= xs
    if any_small:
        np.square(xs, out=xs)
        out /= xs
        xm = x[small]
        out[small] = 0.5 + xm / 3 + xm**2 / 4
    else:
        np.square(xs, out=tmp)
        out /= tmp


# A series whose mixture is certainly below 1 by more than this (log scale) has p = 1
# without the exact mixture: far above the rounding of a sum of ~10^6 terms.
_SKIP_MARGIN = 1e-6


#: series per block of the mixture bound: its (block, λ) temporaries stay in cache
_BOUND_BLOCK = 16_384


def _log_mixture_bound(sums: list[np.ndarray], ell: np.ndarray) -> np.ndarray:
    """log mean_λ exp(ℓX − ℓ²Σd²/2 − ℓ³Σcd²/3 − ℓ⁴Σc²d²/4) per series (``excess_screen``),
    a block of series at a time: the same operations on the same operands per element,
    and each series' mean over its own row, so the same floats as the whole (S, λ) array
    at once, without its five S × 24 temporaries (0.2 GB each at 10⁶ series)."""
    S = len(sums[0])
    out = np.empty(S)
    for a in range(0, S, _BOUND_BLOCK):
        b = min(a + _BOUND_BLOCK, S)
        bound = (ell * sums[0][a:b, None] - ell**2 * (sums[1][a:b, None] / 2) - ell**3 * (sums[2][a:b, None] / 3)
                 - ell**4 * (sums[3][a:b, None] / 4))
        mx = bound.max(1, keepdims=True)
        with np.errstate(over="ignore"):
            out[a:b] = mx[:, 0] + np.log(np.mean(np.exp(bound - mx), axis=1))
    return out


def excess_pvalues(d: np.ndarray, c: np.ndarray, series: np.ndarray, n_series: int,
                   lambdas: np.ndarray = LAMBDAS) -> np.ndarray:
    """One-sided p-values per series for H0: martingale, against too much movement
    (:func:`excess_screen` without its sums)."""
    return excess_screen(d, c, series, n_series, lambdas)[0]


def excess_screen(d: np.ndarray, c: np.ndarray, series: np.ndarray, n_series: int,
                  lambdas: np.ndarray = LAMBDAS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-sided p-values per series for H0: martingale, against too much movement,
    and the per-series sums X = Σd and V = Σd² (MG102's z = X/√V).

    d : per-step contributions (1 − 2p_{t−1})Δp_t; c : their lower bounds c_t;
    series : series number of each step.

    Only the series whose p-value can be below 1 get the exact mixture (24 λ ×
    ``log1p`` per step). Since ψ(x) = Σ_{k≥2} x^k/k with every term ≥ 0 on [0, 1),
    truncating after k = 4 gives, per series, an upper bound of each log M_λ from
    four per-series sums (X = Σd, Σd², Σc d², Σc² d²):

        log M_λ ≤ ℓX − ℓ²Σd²/2 − ℓ³Σc d²/3 − ℓ⁴Σc²d²/4,   ℓ = λ/C.

    Where the mixture of these bounds is below 1 (by ``_SKIP_MARGIN``), the exact
    mixture is too, so p = min(1, 1/mean M) = 1 exactly; the other series (about
    15% under the null) get the same arithmetic as before, so their p-values are
    unchanged to the last bit (tests/test_martingale.py pins both).
    """
    d = np.asarray(d, float)
    c = np.asarray(c, float)
    series = np.asarray(series)
    if len(d) == 0:
        return np.ones(n_series), np.zeros(n_series), np.zeros(n_series)
    d2 = d * d
    cd2 = c * d2
    sums = [np.bincount(series, weights=w, minlength=n_series) for w in (d, d2, cd2, c * cd2)]
    log_bound = _log_mixture_bound(sums, np.asarray(lambdas, float) / C_MAX)
    exact = np.flatnonzero(~(log_bound < -_SKIP_MARGIN))
    log_e = np.full(n_series, -np.inf)
    if len(exact):
        need = np.zeros(n_series, bool)
        need[exact] = True
        rows = need[series]
        # the chosen series renumbered 0..k−1 in order; their steps keep their order,
        # so every per-series sum adds the same terms in the same sequence
        code = np.cumsum(need) - 1
        log_e[exact] = _log_evalue(d[rows], c[rows], code[series[rows]], len(exact), lambdas)
    return np.minimum(1.0, np.exp(-log_e)), sums[0], sums[1]

"""Parametric martingale bootstrap of excess movement (MG101's null distribution).

Why simulate: from extreme starts the null distribution of excess movement
X = m − r is extremely right-skewed (A-R 2021; methods §2 design consequence 3,
§9: from 1% the median ±1% walk moves once and the mean rests on the 1-in-100 path
to certainty), so a normal/t test over few series rejects a true martingale far
too often. We simulate, for every series, bounded martingale paths with the same
start p_0, the same number of forecasts, the same resolution status and a
volatility law matched to the observed path, and read the p-value off the
simulated distribution of ΣX.

The simulated process is the exact conditional probability of a Gaussian event
(a "probit Brownian bridge"): with a = Φ⁻¹(p_0), latent Brownian motion W on an
information clock s ∈ [0, 1] and event {a + W_1 > 0},

    p_s = P(a + W_1 > 0 | W_s) = Φ((a + W_s) / √(1 − s)),

a martingale at any sampling times whose outcome is Bernoulli(p_last) given the
path. Matching per series:
* information at the last forecast f solves E[Σ Δp²] = E[p_f²] − p_0² = m_in
  (observed in-flight movement), with E[p_f²] = Φ₂(a, a; ρ = f) (bivariate normal
  orthant, via Owen's T: Φ₂(h, h; ρ) = Φ(h) − 2 T(h, √((1−ρ)/(1+ρ))));
* the information clock follows the observed path: step k gets a share of f
  proportional to Δp_k² / φ(Φ⁻¹(p_{k−1}))² (the squared probit-scale move), so
  jumps, stale stretches and late news land where they happened.
Every simulated path is an exact martingale, so the null is centred at E[ΣX] = 0
whatever the matching; the matching only sets the spread and skew. The same
start p_0 per series makes the comparison stratified by p_0 by construction.

Cost: for large panels each series gets K < n_sim simulated paths and the B sums
ΣX* are formed by drawing one of each series' K values independently (the
product of per-series empirical laws), keeping memory and time linear in rows.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from forecheck.panel import Panel
from forecheck.stats.budget import uncertainty

_EPS = 1e-12


def phi2_equal(h: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(Z1 < h, Z2 < h) for standard bivariate normal with correlation rho (Owen 1956)."""
    h = np.asarray(h, float)
    rho = np.asarray(rho, float)
    a = np.sqrt(np.clip((1.0 - rho) / (1.0 + rho), 0.0, None))
    return special.ndtr(h) - 2.0 * special.owens_t(h, a)


def information_fraction(p0: np.ndarray, m_inflight: np.ndarray, iters: int = 60) -> np.ndarray:
    """f ∈ [0, 1) with E[p_f²] − p_0² = m_inflight under the probit bridge (bisection)."""
    p0 = np.clip(np.asarray(p0, float), _EPS, 1 - _EPS)
    a = special.ndtri(p0)
    target = p0**2 + np.asarray(m_inflight, float)
    lo = np.zeros_like(p0)
    hi = np.full_like(p0, 1.0 - 1e-9)
    for _ in range(iters):  # vectorised bisection over all series at once
        mid = 0.5 * (lo + hi)
        below = phi2_equal(a, mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    f = 0.5 * (lo + hi)
    f = np.where(np.asarray(m_inflight) <= 0, 0.0, f)
    return np.minimum(f, 1.0 - 1e-9)


def _matched_clock(panel: Panel):
    """The probit-bridge set-up shared by :func:`simulate_excess` and
    :func:`simulate_error_sums`: per series the start a = Φ⁻¹(p_0) and the total
    information f matched to the observed in-flight movement; per in-flight step its
    share of f, proportional to the observed squared probit-scale move (with a small
    floor so that no step gets zero information), the information clock s reached
    after the step and the increment sd √Δs. Increment offsets per series in ``start``.
    """
    S = panel.n_series
    p0 = panel.p0
    a = special.ndtri(np.clip(p0, _EPS, 1 - _EPS))
    srs = panel.dp_series
    dp = panel.dp
    n_inc = np.bincount(srs, minlength=S)
    m_in = np.bincount(srs, weights=dp**2, minlength=S)
    f = information_fraction(p0, m_in)
    dens = np.exp(-0.5 * special.ndtri(np.clip(panel.dp_prev_p, 1e-3, 1 - 1e-3)) ** 2) / np.sqrt(2 * np.pi)
    w = dp**2 / dens**2
    wsum = np.bincount(srs, weights=w, minlength=S)
    floor = 1e-3 * np.where(n_inc > 0, wsum / np.maximum(n_inc, 1), 0.0)
    w = w + floor[srs] + 1e-300
    wsum = np.bincount(srs, weights=w, minlength=S)
    ds = f[srs] * w / wsum[srs]
    start = np.concatenate([[0], np.cumsum(n_inc)])  # increment offsets per series
    has_inc = n_inc > 0
    cs_ds = np.cumsum(ds)
    s_clock = cs_ds - np.repeat(np.concatenate([[0.0], cs_ds])[start[:-1]], n_inc)
    denom = np.sqrt(np.clip(1.0 - s_clock, 1e-18, None))
    return (S, p0, a, len(dp), n_inc, start, start[1:] - 1, has_inc, start[:-1][has_inc], denom, np.sqrt(ds))


def simulate_excess(panel: Panel, n_draws: int, rng: np.random.Generator, *,
                    max_cells: int = 4_000_000, with_variance: bool = False):
    """(S, n_draws) excess movement X* of martingale paths matched to each series.

    Resolved series are closed with o* ~ Bernoulli(p*_last) (r* = u(p_0));
    unresolved ones keep in-flight movement only (r* = u(p_0) − u(p*_last)).
    With ``with_variance`` also returns V* = Σ_t d*_t², d*_t = (1 − 2p*_{t−1})Δp*_t
    (the sum of squared martingale-transform terms, for a studentised statistic).
    """
    S, p0, a, n, n_inc, start, last_inc, has_inc, first_pos, denom, sd = _matched_clock(panel)
    srs = panel.dp_series
    u0 = uncertainty(p0)
    resolved = panel.resolved
    out = np.empty((S, n_draws))
    var = np.empty((S, n_draws)) if with_variance else None
    chunk = max(1, min(n_draws, max_cells // max(n, 1)))
    for k0 in range(0, n_draws, chunk):
        b = min(chunk, n_draws - k0)
        if n:
            dw = rng.standard_normal((b, n)) * sd
            cw = np.cumsum(dw, axis=1)
            base = np.concatenate([np.zeros((b, 1)), cw], axis=1)[:, start[:-1]]
            wpath = cw - np.repeat(base, n_inc, axis=1)
            ps = special.ndtr((a[srs] + wpath) / denom)
            pprev = np.empty_like(ps)
            pprev[:, 1:] = ps[:, :-1]
            pprev[:, first_pos] = p0[has_inc]
            sq = np.concatenate([np.zeros((b, 1)), np.cumsum((ps - pprev) ** 2, axis=1)], axis=1)
            m_sim = sq[:, start[1:]] - sq[:, start[:-1]]
            if with_variance:
                dd = np.concatenate([np.zeros((b, 1)), np.cumsum(((1 - 2 * pprev) * (ps - pprev)) ** 2, axis=1)],
                                    axis=1)
                v_sim = dd[:, start[1:]] - dd[:, start[:-1]]
            plast = np.where(has_inc[None, :], ps[:, np.maximum(last_inc, 0)], p0[None, :])
        else:
            m_sim = np.zeros((b, S))
            v_sim = np.zeros((b, S))
            plast = np.broadcast_to(p0, (b, S)).copy()
        o = (rng.random((b, S)) < plast).astype(float)
        x_res = m_sim + (o - plast) ** 2 - u0[None, :]
        x_unres = m_sim - (u0[None, :] - uncertainty(plast))
        out[:, k0:k0 + b] = np.where(resolved[None, :], x_res, x_unres).T
        if with_variance:
            v_res = v_sim + ((1 - 2 * plast) * (o - plast)) ** 2
            var[:, k0:k0 + b] = np.where(resolved[None, :], v_res, v_sim).T
    return (out, var) if with_variance else out


def null_sums(x_draws: np.ndarray, n_sums: int, rng: np.random.Generator,
              *others: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
    """B draws of Σ_i X*_i from per-series draws (S, K): the column sums when
    K ≥ n_sums, else sums of independently chosen draws per series. Further (S, K)
    arrays in ``others`` are summed with the same draw indices (returned as a tuple)."""
    arrays = (x_draws,) + others
    S, K = x_draws.shape
    if K >= n_sums:
        res = tuple(a[:, :n_sums].sum(0) for a in arrays)
        return res if others else res[0]
    outs = [np.empty(n_sums) for _ in arrays]
    step = max(1, int(4e6 // max(S, 1)))
    rows = np.arange(S)[None, :]
    for b0 in range(0, n_sums, step):
        b = min(step, n_sums - b0)
        idx = rng.integers(K, size=(b, S))
        for o, a in zip(outs, arrays):
            o[b0:b0 + b] = a[rows, idx].sum(1)
    return tuple(outs) if others else outs[0]


def simulate_error_sums(panel: Panel, n_draws: int, rng: np.random.Generator, *,
                        max_cells: int = 4_000_000) -> dict[str, np.ndarray]:
    """Per-series sums of MG104's regression rows on the same matched probit-bridge
    martingale paths as :func:`simulate_excess` (resolved series, closed with
    o* ~ Bernoulli(p*_last)): rows x*_t = Δp*_t, y*_t = o* − p*_t at the series'
    in-flight steps. Returns (S, n_draws) arrays ``sx`` = Σx*, ``sxx`` = Σx*²,
    ``sy`` = Σy*, ``sxy`` = Σx*y* (n_t per series is the observed count).

    Why: the regression's score is pathwise an excess-movement statistic,
    Σ_t Δp_t (o − p_t) = Σ_s Δp_s (p_{s−1} − p_0) over all steps including the
    resolution = ((o − p_0)² − Σ_s Δp_s²)/2 (telescoping), so from extreme starts it
    inherits MG101's skew (the rare path to the unlikely outcome carries the mean)
    and needs the same simulated null rather than a symmetric wild bootstrap.
    """
    S, p0, a, n, n_inc, start, last_inc, has_inc, first_pos, denom, sd = _matched_clock(panel)
    srs = panel.dp_series
    out = {k: np.zeros((S, n_draws)) for k in ("sx", "sxx", "sy", "sxy")}
    if n == 0:
        return out

    def seg(v: np.ndarray) -> np.ndarray:  # (b, n) -> (b, S) per-series sums
        c = np.concatenate([np.zeros((v.shape[0], 1)), np.cumsum(v, axis=1)], axis=1)
        return c[:, start[1:]] - c[:, start[:-1]]

    chunk = max(1, min(n_draws, max_cells // max(n, 1)))
    for k0 in range(0, n_draws, chunk):
        b = min(chunk, n_draws - k0)
        cw = np.cumsum(rng.standard_normal((b, n)) * sd, axis=1)
        base = np.concatenate([np.zeros((b, 1)), cw], axis=1)[:, start[:-1]]
        ps = special.ndtr((a[srs] + cw - np.repeat(base, n_inc, axis=1)) / denom)
        pprev = np.empty_like(ps)
        pprev[:, 1:] = ps[:, :-1]
        pprev[:, first_pos] = p0[has_inc]
        x = ps - pprev
        plast = np.where(has_inc[None, :], ps[:, np.maximum(last_inc, 0)], p0[None, :])
        o = (rng.random((b, S)) < plast).astype(float)
        sx, sxx, sp, sxp = seg(x), seg(x * x), seg(ps), seg(x * ps)
        out["sx"][:, k0:k0 + b] = sx.T
        out["sxx"][:, k0:k0 + b] = sxx.T
        out["sy"][:, k0:k0 + b] = (n_inc[None, :] * o - sp).T
        out["sxy"][:, k0:k0 + b] = (o * sx - sxp).T
    return out

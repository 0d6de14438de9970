"""Parametric martingale bootstrap of excess movement (MG101's null distribution).

Why simulate: from extreme starts the null distribution of excess movement
X = m − r is extremely right-skewed (A-R 2021; docs/checks.md,
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

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special

from forecheck.panel import Panel
from forecheck.stats.budget import uncertainty
from forecheck.stats.streams import series_keys, stream_order

_EPS = 1e-12


@dataclass(frozen=True)
class _Steps:
    """What the matched-clock simulators read of a panel (its in-flight increments and
    per-series starts), series in data-key order (``stats/streams.stream_order``)."""

    n_series: int
    p0: np.ndarray
    dp: np.ndarray
    dp_prev_p: np.ndarray
    dp_series: np.ndarray
    resolved: np.ndarray


def _canonical_steps(panel: Panel) -> tuple[_Steps, np.ndarray]:
    """The panel's increments with its series in key order, and the permutation (new
    i = old perm[i]): the values ``streams.canonical(panel)`` would derive, in the same
    order, gathered from this panel's own increments instead of from a reordered copy
    of every row array and what is derived from it (benchmarks/README.md, hot spot 44)."""
    perm = stream_order(series_keys(panel))
    if np.all(perm == np.arange(len(perm))):
        return _Steps(panel.n_series, panel.p0, panel.dp, panel.dp_prev_p, panel.dp_series, panel.resolved), perm
    S = panel.n_series
    n_inc = np.bincount(panel.dp_series, minlength=S)
    start = np.concatenate([[0], np.cumsum(n_inc)])
    n_new = n_inc[perm]
    # the increments of series perm[0], perm[1], ... one after another
    rows = np.repeat(start[:-1][perm] - np.concatenate([[0], np.cumsum(n_new)[:-1]]), n_new)
    rows += np.arange(len(rows))
    steps = _Steps(S, panel.p0[perm], panel.dp[rows], panel.dp_prev_p[rows],
                   np.repeat(np.arange(S), n_new), panel.resolved[perm])
    return steps, perm


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


class _Clock(NamedTuple):
    """The matched probit-bridge set-up of :func:`_matched_clock` (steps in series order)."""

    n_series: int
    p0: np.ndarray  # (S,) starts
    a_over: np.ndarray  # (n,) Φ⁻¹(p_0) of the step's series / √(1 − s)
    n_steps: int
    n_inc: np.ndarray  # (S,) in-flight steps per series
    last_inc: np.ndarray  # (S,) position of each series' last step (read only where has_inc)
    has_inc: np.ndarray  # (S,) the series has in-flight steps
    first_pos: np.ndarray  # position of the first step of each series that has one
    inv_denom: np.ndarray  # (n,) 1/√(1 − s) after the step
    sd: np.ndarray  # (n,) increment sd √Δs


def _matched_clock(panel: _Steps) -> _Clock:
    """The probit-bridge set-up shared by :func:`simulate_excess` and
    :func:`simulate_error_sums`: per series the start a = Φ⁻¹(p_0) and the total
    information f matched to the observed in-flight movement; per in-flight step its
    share of f, proportional to the observed squared probit-scale move (with a small
    floor so that no step gets zero information), the information clock s reached
    after the step as 1/√(1 − s) (the simulators scale by it), a/√(1 − s) per step and
    the increment sd √Δs. Increment offsets per series in ``start``.
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
    inv_denom = np.sqrt(np.clip(1.0 - s_clock, 1e-18, None))
    np.divide(1.0, inv_denom, out=inv_denom)  # (in place: the same quotients as 1.0 / denom)
    sd = np.sqrt(ds)
    del dens, w, ds, cs_ds, s_clock  # (the step-sized work arrays, before a_over's)
    a_over = np.repeat(a, n_inc)  # a of each step's series (steps in series order)
    a_over *= inv_denom
    return _Clock(S, p0, a_over, len(dp), n_inc, start[1:] - 1, has_inc, start[:-1][has_inc], inv_denom, sd)


def _canonical_clock(panel: Panel) -> tuple[_Clock, np.ndarray, np.ndarray]:
    """(the matched clock of the series in key order, their resolution flags, the
    permutation): what both simulators start from; the gathered increments are freed
    once the clock is formed (the simulation reads the clock only)."""
    steps, perm = _canonical_steps(panel)
    return _matched_clock(steps), steps.resolved, perm


def _unpermute(perm: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of arrays computed on the canonical panel back in the caller's order."""
    outs = []
    for a in arrays:
        o = np.empty_like(a)
        o[perm] = a
        outs.append(o)
    return tuple(outs)


def simulate_excess(panel: Panel, n_draws: int, rng: np.random.Generator, *,
                    max_cells: int = 4_000_000, with_variance: bool = False, with_reduction: bool = False):
    """(S, n_draws) excess movement X* of martingale paths matched to each series.

    Resolved series are closed with o* ~ Bernoulli(p*_last) (r* = u(p_0));
    unresolved ones keep in-flight movement only (r* = u(p_0) − u(p*_last)).
    With ``with_variance`` also returns V* = Σ_t d*_t², d*_t = (1 − 2p*_{t−1})Δp*_t
    (the sum of squared martingale-transform terms, for a studentised statistic).
    With ``with_reduction`` (implies ``with_variance``) also R* = Σ_t (1 − 2p*_{t−1})²
    (u(p*_{t−1}) − u(p*_t)) + [resolved] (1 − 2p*_last)² u(p*_last), the variance the
    realised uncertainty reduction implies (:func:`reduction_variance`). No further
    random draws: the same paths, so the p-values of other statistics are unchanged.

    The draws are handed out in the order of the series' data keys
    (``stats/streams.py``), so a series' simulated paths do not depend on its id.
    """
    clk, resolved, perm = _canonical_clock(panel)
    res = _simulate_excess(clk, resolved, n_draws, rng, max_cells=max_cells,
                           with_variance=with_variance or with_reduction,
                           with_reduction=with_reduction)
    if with_variance or with_reduction:
        return _unpermute(perm, *res)
    return _unpermute(perm, res)[0]


def _chunk_paths(rng: np.random.Generator, b: int, clk: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """(b, n) simulated p*_t and p*_{t−1} of the matched probit bridge at every
    in-flight step (all series at once; in place where possible)."""
    first_pos = clk.first_pos
    w = rng.standard_normal((b, clk.n_steps))
    w *= clk.sd
    # within-series cumulative sums: each series' first step gives back the previous
    # series' total, so one running sum over the flat array restarts at every series
    if len(first_pos) > 1:
        tot = np.add.reduceat(w, first_pos, axis=1)
        w[:, first_pos[1:]] -= tot[:, :-1]
    np.cumsum(w, axis=1, out=w)
    w *= clk.inv_denom
    w += clk.a_over
    ps = special.ndtr(w, out=w)
    pprev = np.empty_like(ps)
    pprev[:, 1:] = ps[:, :-1]
    pprev[:, first_pos] = clk.p0[clk.has_inc]
    return ps, pprev


def _seg_sums(v: np.ndarray, S: int, has_inc: np.ndarray, first_pos: np.ndarray) -> np.ndarray:
    """(b, n) -> (b, S) per-series sums (0 for series without in-flight steps)."""
    out = np.zeros((v.shape[0], S))
    if len(first_pos):
        out[:, has_inc] = np.add.reduceat(v, first_pos, axis=1)
    return out


def _simulate_excess(clk: _Clock, resolved: np.ndarray, n_draws: int, rng: np.random.Generator, *,
                     max_cells: int, with_variance: bool, with_reduction: bool = False):
    S, p0, n, last_inc, has_inc, first_pos = clk.n_series, clk.p0, clk.n_steps, clk.last_inc, clk.has_inc, \
        clk.first_pos
    u0 = uncertainty(p0)
    out = np.empty((S, n_draws))
    var = np.empty((S, n_draws)) if with_variance else None
    red = np.empty((S, n_draws)) if with_reduction else None
    chunk = max(1, min(n_draws, max_cells // max(n, 1)))
    for k0 in range(0, n_draws, chunk):
        b = min(chunk, n_draws - k0)
        if n:
            ps, pprev = _chunk_paths(rng, b, clk)
            x = ps - pprev
            if with_variance:
                dd = 1.0 - 2.0 * pprev
                if with_reduction:
                    # R's step term w²(u(p_{t−1}) − u(p_t)) = (w Δp)² − w³Δp, w = 1 − 2p_{t−1}
                    # (reduction_variance), so R* = V* − Σ w³Δp: one product, no u(·) calls
                    w3x = dd * dd
                    w3x *= dd
                    w3x *= x
                    c_sim = _seg_sums(w3x, S, has_inc, first_pos)
                    del w3x
                dd *= x
                dd *= dd
                v_sim = _seg_sums(dd, S, has_inc, first_pos)
                if with_reduction:
                    r_sim = v_sim - c_sim
            x *= x
            m_sim = _seg_sums(x, S, has_inc, first_pos)
            plast = np.where(has_inc[None, :], ps[:, np.maximum(last_inc, 0)], p0[None, :])
            del ps, pprev, x  # (freed before the next chunk's paths: one chunk's rows at a time)
            if with_variance:
                del dd
        else:
            m_sim = np.zeros((b, S))
            v_sim = np.zeros((b, S))
            r_sim = np.zeros((b, S))
            plast = np.broadcast_to(p0, (b, S)).copy()
        o = (rng.random((b, S)) < plast).astype(float)
        x_res = m_sim + (o - plast) ** 2 - u0[None, :]
        x_unres = m_sim - (u0[None, :] - uncertainty(plast))
        out[:, k0:k0 + b] = np.where(resolved[None, :], x_res, x_unres).T
        if with_variance:
            v_res = v_sim + ((1 - 2 * plast) * (o - plast)) ** 2
            var[:, k0:k0 + b] = np.where(resolved[None, :], v_res, v_sim).T
        if with_reduction:
            r_res = r_sim + (1 - 2 * plast) ** 2 * uncertainty(plast)
            red[:, k0:k0 + b] = np.where(resolved[None, :], r_res, r_sim).T
    if with_reduction:
        return out, var, red
    return (out, var) if with_variance else out


def null_sums(x_draws: np.ndarray, n_sums: int, rng: np.random.Generator,
              *others: np.ndarray, order: np.ndarray | None = None) -> np.ndarray | tuple[np.ndarray, ...]:
    """B draws of Σ_i X*_i from per-series draws (S, K): the column sums when
    K ≥ n_sums, else sums of independently chosen draws per series. Further (S, K)
    arrays in ``others`` are summed with the same draw indices (returned as a tuple).
    ``order`` (a permutation of the S rows, e.g. by data key) sets which row gets
    which random index, so that the sums do not depend on the rows' order."""
    arrays = (x_draws,) + others
    S, K = x_draws.shape
    if K >= n_sums:
        res = tuple(a[:, :n_sums].sum(0) for a in arrays)
        return res if others else res[0]
    outs = [np.empty(n_sums) for _ in arrays]
    step = max(1, int(4e6 // max(S, 1)))
    rows = np.arange(S) if order is None else np.asarray(order)
    base, flats = _draw_base(rows, K), [_flat(a) for a in arrays]
    for b0 in range(0, n_sums, step):
        b = min(step, n_sums - b0)
        idx = rng.integers(K, size=(b, S))
        at = _draw_positions(base, idx)
        for o, f in zip(outs, flats):
            o[b0:b0 + b] = np.take(f, at).sum(1)
    return tuple(outs) if others else outs[0]


def _flat(a: np.ndarray) -> np.ndarray:
    """An (S, K) array of draws as one C-ordered vector (a view when it is one)."""
    return np.ascontiguousarray(a).ravel()


def _draw_base(rows: np.ndarray, K: int) -> np.ndarray:
    """(1, S) position of each row's first draw in :func:`_flat` of an (S, K) array."""
    return (np.asarray(rows, np.int64) * K)[None, :]


def _draw_positions(base: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(b, S) positions in :func:`_flat` of draw ``idx[j, i]`` of row i (``base``:
    :func:`_draw_base`): ``np.take`` of them is ``a[rows[None, :], idx]``, the same
    elements in the same (b, S) layout, gathered faster than by the 2-D fancy index
    (benchmarks/README.md, hot spot 43)."""
    return np.add(base, idx, out=idx)


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
    clk, _, perm = _canonical_clock(panel)
    out = _simulate_error_sums(clk, n_draws, rng, max_cells=max_cells)
    return dict(zip(out, _unpermute(perm, *out.values())))


def _simulate_error_sums(clk: _Clock, n_draws: int, rng: np.random.Generator, *,
                         max_cells: int) -> dict[str, np.ndarray]:
    S, p0, n, n_inc, last_inc, has_inc, first_pos = clk.n_series, clk.p0, clk.n_steps, clk.n_inc, \
        clk.last_inc, clk.has_inc, clk.first_pos
    out = {k: np.zeros((S, n_draws)) for k in ("sx", "sxx", "sy", "sxy")}
    if n == 0:
        return out
    chunk = max(1, min(n_draws, max_cells // max(n, 1)))
    for k0 in range(0, n_draws, chunk):
        b = min(chunk, n_draws - k0)
        ps, pprev = _chunk_paths(rng, b, clk)
        x = np.subtract(ps, pprev, out=pprev)
        plast = np.where(has_inc[None, :], ps[:, np.maximum(last_inc, 0)], p0[None, :])
        o = (rng.random((b, S)) < plast).astype(float)
        sx = _seg_sums(x, S, has_inc, first_pos)
        sp = _seg_sums(ps, S, has_inc, first_pos)
        ps *= x
        sxp = _seg_sums(ps, S, has_inc, first_pos)
        x *= x
        sxx = _seg_sums(x, S, has_inc, first_pos)
        del ps, pprev, x  # (freed before the next chunk's paths: one chunk's rows at a time)
        out["sx"][:, k0:k0 + b] = sx.T
        out["sxx"][:, k0:k0 + b] = sxx.T
        out["sy"][:, k0:k0 + b] = (n_inc[None, :] * o - sp).T
        out["sxy"][:, k0:k0 + b] = (o * sx - sxp).T
    return out


# ------------------------------------------------- MG101 / MG104 inference
SIM_CELLS = 20_000_000  # rows x draws budget of the parametric bootstrap
Z975 = 1.959963984540054  # Φ⁻¹(0.975)


def draws_per_series(panel: Panel, n_sim: int, sim_cells: int = SIM_CELLS) -> int:
    """K: n_sim simulated paths per series when rows × n_sim fits ``sim_cells``, else
    fewer (at least 64) — the n_sim null sums are then formed from them (``null_sums``),
    keeping time and memory linear in rows."""
    n_rows = max(len(panel.dp), panel.n_series)
    return int(n_sim) if n_rows * n_sim <= sim_cells else int(max(64, sim_cells // n_rows))


def two_sided_mc(t: float, null: np.ndarray) -> float:
    """Two-sided Monte-Carlo p-value of t against the simulated ``null`` (B,)."""
    up = (1 + np.sum(null >= t)) / (len(null) + 1)
    dn = (1 + np.sum(null <= t)) / (len(null) + 1)
    return float(min(1.0, 2 * min(up, dn)))


def two_sided_normal(t: float) -> float:
    """2 Φ(−|t|)."""
    return float(2.0 * special.ndtr(-abs(float(t))))


def _boot_t(xd: np.ndarray, vd: np.ndarray, n: int, rng: np.random.Generator, order: np.ndarray,
            rd: np.ndarray | None = None) -> np.ndarray:
    if rd is None:
        xs, vs = null_sums(xd, n, rng, vd, order=order)
    else:  # the same draw indices for R*: the studentiser of :func:`studentiser`
        xs, vm, rs = null_sums(xd, n, rng, vd, rd, order=order)
        vs = studentiser(vm, rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vs > 0, xs / np.sqrt(np.where(vs > 0, vs, 1.0)), 0.0)


#: the reduction-implied variance may not fall below this share of the realised one
#: (keeps t finite when the weighted uncertainty rises: |t| ≤ 2 × the QV-studentised t)
STUDENTISER_FLOOR = 0.25


def reduction_variance(p_prev: np.ndarray, p_next: np.ndarray) -> np.ndarray:
    """Per step (1 − 2p_{t−1})² (u(p_{t−1}) − u(p_t)); at a resolution step p_next = o
    gives (1 − 2p_last)² u(p_last). Under a martingale E[u(p_{t−1}) − u(p_t) | F_{t−1}]
    = E[Δp_t² | F_{t−1}], so its sum is, like Σ d_t² (d_t = (1 − 2p_{t−1})Δp_t), an
    unbiased estimate of Var(Σ d_t); the two differ by Σ (1 − 2p_{t−1})² d_t, i.e. by
    the excess itself (u(p_{t−1}) − u(p_t) = Δp_t² − d_t)."""
    return (1.0 - 2.0 * p_prev) ** 2 * (uncertainty(p_prev) - uncertainty(p_next))


def studentiser(v_mov, v_red):
    """MG101's variance estimate: the smaller of the realised quadratic variation
    V = Σ d_t² and the reduction-implied R (:func:`reduction_variance`), floored at
    ``STUDENTISER_FLOOR``·V. Both are unbiased for Var(ΣX) under H0 and converge to
    the same limit; each is inflated by one direction of the alternative (V by
    over-reaction, whose moves are too large; R by under-reaction, whose uncertainty
    falls faster than it moves), so the minimum is the variance not inflated by the
    effect under test — the restricted-variance (score-test) principle."""
    v_mov = np.asarray(v_mov, float)
    return np.maximum(np.minimum(v_mov, np.asarray(v_red, float)), STUDENTISER_FLOOR * v_mov)


@dataclass(frozen=True)
class ExcessInference:
    """MG101's p-value, the null quantiles for its interval and the strata p-values."""

    pvalue: float
    q_lo: float  # 2.5% quantile of the null of t
    q_hi: float  # 97.5% quantile
    strata_pvalues: np.ndarray  # (n_strata,), NaN for empty strata
    draws_per_series: int  # simulated paths per series (0 on the asymptotic path)
    reference: "object"  # stats.asymptotic.Reference
    strata_references: tuple[str, ...] = ()  # "asymptotic" or "simulated" per stratum


def excess_inference(panel: Panel, stat: float, v_series: np.ndarray, deff: float, n_eff_dependence: float,
                     strata: np.ndarray, strata_stat: np.ndarray, n_sim: int, rng: np.random.Generator, *,
                     sim_cells: int = SIM_CELLS, strata_sims: int = 999,
                     strata_sim_cells: int = 4_000_000) -> ExcessInference:
    """P-value of MG101's t = ΣX/√(deff·W), W = :func:`studentiser` (ΣV, ΣR), and of each
    p0 stratum's t (studentised by its ΣV).

    With many effectively independent contributions (``stats.asymptotic``) the
    reference is N(0, 1); a stratum too concentrated for it is simulated on its own
    series only. Otherwise the parametric martingale bootstrap-t of this module
    (draws handed out in data-key order). ``v_series`` (S,) = Σ_t d_t² per series;
    ``strata`` (S,) stratum of each series; ``strata_stat`` the strata's t (NaN where
    untestable: p = 1). Every simulated t* of the panel is studentised as ``stat`` is.
    On the asymptotic path a stratum is simulated on its own
    series only when it is too concentrated for the normal reference and small
    (rows × 64 ≤ ``strata_sim_cells``); its reference is in ``strata_references``.
    """
    from forecheck.stats.asymptotic import choose_reference

    S = panel.n_series
    n_strata = len(strata_stat)
    ref = choose_reference(v_series, deff, n_eff_dependence)
    sp = np.full(n_strata, np.nan)
    refs = ["simulated"] * n_strata
    B = int(n_sim)
    Bs = min(B, strata_sims)
    if ref.analytic:
        p = two_sided_normal(stat)
        q_lo, q_hi, K = -Z975, Z975, 0
        for j in range(n_strata):
            sel = strata == j
            if not sel.any():
                continue
            if not np.isfinite(strata_stat[j]):
                sp[j] = 1.0
                continue
            rj = choose_reference(v_series[sel], deff, n_eff_dependence * sel.sum() / max(S, 1))
            sub_rows = int(np.sum(np.maximum(panel.lengths[sel] - 1, 1)))
            if rj.analytic or sub_rows * 64 > strata_sim_cells:
                # descriptive strata p-values: a concentrated stratum too large to
                # simulate cheaply gets the normal reference too (strata_references)
                sp[j] = two_sided_normal(strata_stat[j])
                refs[j] = "asymptotic"
                continue
            refs[j] = "simulated"
            sub = panel.select_series(sel)
            xd, vd = simulate_excess(sub, draws_per_series(sub, Bs, sim_cells), rng, with_variance=True)
            sp[j] = two_sided_mc(strata_stat[j], _boot_t(xd, vd, Bs, rng, stream_order(series_keys(sub))))
        return ExcessInference(p, q_lo, q_hi, sp, K, ref, tuple(refs))
    K = draws_per_series(panel, B, sim_cells)
    xd, vd, rd = simulate_excess(panel, K, rng, with_reduction=True)
    keys = series_keys(panel)
    t_null = _boot_t(xd, vd, B, rng, stream_order(keys), rd)
    p = two_sided_mc(stat, t_null)
    q_hi, q_lo = np.quantile(t_null, [0.975, 0.025])
    for j in range(n_strata):
        sel = strata == j
        if not sel.any():
            continue
        if not np.isfinite(strata_stat[j]):
            sp[j] = 1.0
            continue
        sp[j] = two_sided_mc(strata_stat[j], _boot_t(xd[sel], vd[sel], Bs, rng, stream_order(keys[sel])))
    return ExcessInference(p, float(q_lo), float(q_hi), sp, K, ref, tuple(refs))


def error_regression_pvalue(panel: Panel, t_obs: float, n_sim: int, rng: np.random.Generator, *,
                            cluster: np.ndarray | None = None, sim_cells: int = SIM_CELLS,
                            chunk_cells: int = 4_000_000) -> tuple[float, int]:
    """Two-sided p of MG104's CR1 t (already divided by √deff) against the t* of the
    same regression on simulated martingale panels (:func:`simulate_error_sums`),
    summed within declared ``cluster`` (S,) labels when given. The n_sim
    regressions are formed in chunks (memory bounded by ``chunk_cells``); series
    get their random draw indices in data-key order. Returns (p, draws per series)."""
    from forecheck.stats.clustered import slope_t_from_sums

    B = int(n_sim)
    S = panel.n_series
    K = draws_per_series(panel, B, sim_cells)
    sims = simulate_error_sums(panel, K, rng)
    order = stream_order(series_keys(panel))
    ns = np.bincount(panel.dp_series, minlength=S).astype(float)[order]
    if cluster is not None:  # sum the series' rows within declared clusters
        codes = np.unique(np.asarray(cluster).astype(str), return_inverse=True)[1].ravel()[order]
        by = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.r_[True, codes[by][1:] != codes[by][:-1]])

        def agg(v: np.ndarray) -> np.ndarray:
            return np.add.reduceat(v[:, by], bounds, axis=1)

        def agg_taken(f: np.ndarray, at: np.ndarray) -> np.ndarray:
            # agg(np.take(f, at)) for the positions ``at`` already in cluster order (at[:, by]):
            # the same (b, S) elements, without a reordered copy of each of the four draws' sums
            return np.add.reduceat(np.take(f, at), bounds, axis=1)
    else:
        by = None

        def agg(v: np.ndarray) -> np.ndarray:
            return v

        def agg_taken(f: np.ndarray, at: np.ndarray) -> np.ndarray:
            return np.take(f, at)
    ns_g = agg(ns[None, :])[0]
    t_star = np.empty(B)
    step = max(1, chunk_cells // max(4 * S, 1))
    base = _draw_base(order, K)
    flats = {k: _flat(v) for k, v in sims.items()} if K < B else None
    for b0 in range(0, B, step):
        b = min(step, B - b0)
        if K >= B:
            arr = {k: agg(v[order, b0:b0 + b].T) for k, v in sims.items()}
        else:
            at = _draw_positions(base, rng.integers(K, size=(b, S)))
            if by is not None:
                at = at[:, by]  # (once for the four sums)
            arr = {k: agg_taken(f, at) for k, f in flats.items()}
        t_star[b0:b0 + b] = slope_t_from_sums(ns_g, arr["sx"], arr["sxx"], arr["sy"], arr["sxy"])
    return two_sided_mc(t_obs, t_star), K

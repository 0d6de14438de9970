"""Anytime-valid e-processes for the gating checks MG101, MG103 and CA202.

A fixed-sample p-value is valid for one look at the data. A gate run every night on a
growing history needs evidence that stays valid however often it is looked at: a
nonnegative supermartingale E_t with E_0 = 1 under the null, for which Ville's
inequality gives P(sup_t E_t ≥ 1/α) ≤ α (Ville 1939; Howard, Ramdas, McAuliffe &
Sekhon 2021, *Ann. Statist.* 49(2), 1055–1080, Lemma 1). Rejecting when E_t ≥ 1/α is
then valid at every look, at every stopping time and for any number of looks.

Calendar time
-------------
Every step of every series — in-flight increments Δp_{i,t} = p_{i,t} − p_{i,prev} and,
for resolved series, the resolution step o_i − p_{i,last} — is placed in a calendar
slot: its time, with resolution steps in a sub-slot after the in-flight steps of the
same time (so that p_last is known before the outcome is). Slots are ordered; F_{t−}
is everything published in earlier slots. The null of every construction here is

    E[Δp_{i,t} | F_{t−}] = 0 for every step,                                   (H0)

i.e. each forecast is a martingale with respect to everything published before its
step (for a resolution step: E[o_i | F_{t−}] = p_{i,last}). On a common grid where
every active series publishes at every slot this is exactly "the forecasts are
conditional expectations given the shared information"; a step that spans other
series' updates must also be unpredictable from those.

Pooled construction (valid under any cross-series dependence). For a term
z_{i,t} = w_{i,t} Δp_{i,t} with w predictable (known in F_{t−}), the slot sum
Z_t = Σ_i z_{i,t} has E[Z_t | F_{t−}] = 0 under H0 *whatever the joint law of the
series' steps* (linearity of conditional expectation). Since Δp ∈ [−p_prev, 1 − p_prev],
each term has predictable bounds lo_{i,t} ≤ z_{i,t} ≤ hi_{i,t}, so −L_t ≤ Z_t ≤ U_t with
L_t = −Σ lo, U_t = Σ hi. For ξ ≥ −1 and λ ∈ [0, 1),

    exp(λξ − ψ(λ)ξ²) ≤ 1 + λξ,   ψ(λ) = −log(1 − λ) − λ                          (1)

(Fan, Grama & Liu 2012, *Stoch. Proc. Appl.* 122, Lemma 4.1; the sub-exponential /
"empirical Bernstein" case of Howard et al. 2021, Fact 1). With ξ_t = Z_t / L_t and the
predictable stake λ_t = min(η L_t, κ), each factor has conditional mean ≤ 1, so

    M_t^+(η) = Π_{s ≤ t} exp(η_s Z_s − [ψ(λ_s)/λ_s²] η_s² Z_s²),   η_s = λ_s / L_s       (2)

is a nonnegative supermartingale ("too much" direction, Z > 0), and M^-(η) the same
for −Z_t with bound U_t ("too little"). A mixture over a fixed grid of η (mean over
the grid, fixed before seeing data) is one too (Howard et al. 2021, Sec. 3.2), and so
is the average of the two directions: E_t = ½(E_t^+ + E_t^−) is the two-sided e-process
(Vovk & Wang 2021, *Ann. Statist.* 49(3), 1736–1754: the mean is a valid e-merging).
The grid spans four decades of η (32 points per direction); the mixture costs about
log(grid / 3) ≈ 2.4 in log e against the best fixed η in hindsight.

The stake is capped by the pooled worst case, all active series at their extreme at
once (L_t is the sum of the series' bounds), and this cap is intrinsic: a factor f(Z)
with E f(Z) ≤ 1 for *every* mean-zero law on [−L_t, U_t] must satisfy f(z) ≤ 1 + λz
there for some λ ∈ [−1/U_t, 1/L_t] (the two-point laws are the extreme points). Since
one step's bound is many times its typical size, robustness to arbitrary dependence
costs much power (docs/validation.md measures it).

Per-series product (valid when series are independent). If the series are
independent given the past (declared: one series per cluster), the factors of (1) may
be taken per step with each step's own bound b_i, exp(η_i z − [ψ(λ_i)/λ_i²] η_i² z²) with
λ_i = min(η b_i, κ), and multiplied: for conditionally independent steps the product's
conditional mean is the product of the factors' means, ≤ 1. Per-series bounds are far
tighter than their sum, so the stakes can be much larger: more power, no robustness to
dependence between series. Per-cluster product (declared clusters): the pooled
construction within each cluster (any dependence inside it), multiplied across
clusters (independent of each other); one series per cluster is the per-series
product, one cluster the pooled construction. ``construction`` in each result records
which one was used.

Constructions per check
-----------------------
* MG101 (excess movement, two-sided): z = (1 − 2p_prev) Δp (Augenblick & Rabin 2021,
  *QJE* 136(2), p. 10 fn 21: Σ z = movement − uncertainty reduction). Bounds for
  p < ½: −p(1 − 2p) ≤ z ≤ (1 − p)(1 − 2p), mirrored for p ≥ ½. The confidence sequence
  for the movement ratio: for a hypothesised ratio c, H(c): E[m_t − c r_t | F_{t−}] = 0,
  with m = Δp², r = u(p_prev) − u(p), u(p) = p(1 − p). Because r = Δp² − (1 − 2p_prev)Δp
  identically (A-R, p. 10), m − c r = (1 − c)Δp² + c z; at c = 1 it is z, so H(1) is
  implied by the martingale null, and for c ≠ 1 H(c) says movement is on average c
  times uncertainty reduction, step by step. Its bounds over Δp ∈ [−p, 1 − p] are
  those of a quadratic (endpoints and vertex). The CS is {c in the grid : sup_{s≤t}
  E_s(c) < 1/α}, reported as the hull widened to the neighbouring grid points; by
  construction it only shrinks (a running intersection, Howard et al. 2021, Sec. 3).
  Under H0 it contains 1 at all times with probability ≥ 1 − α.
* MG103 (revision predictability, two-sided): z = w Δp_t · Δp_prev (Nordhaus 1987's
  moment E[Δp_t Δp_{t−1}] = 0), Δp_prev the series' previous increment (predictable);
  the resolution step is the final revision with MG103's predictable weight (see
  :func:`revision_terms`). Bounds: w Δp_prev · [−p_prev, 1 − p_prev].
* CA202 (Spiegelhalter direction, two-sided): at a series' resolution slot,
  z = (o − p)(1 − 2p) with p the last forecast: (o − p)² − p(1 − p) = z, so E[z] = 0
  says observed Brier = the forecasts' own expected Brier (Spiegelhalter 1986). This is
  the betting e-process of Arnold, Henzi & Ziegel (2023, *Ann. Appl. Stat.* 17(3),
  "Sequentially valid tests for forecast calibration") with the linear betting
  function λ(p) = η(1 − 2p) on the outcome residual o − p, in the e-value framework for
  forecast evaluation under optional stopping of Henzi & Ziegel (2022, *Biometrika*
  109(3), 647–663). When many series resolve in one slot the pooled construction sees
  one draw of their sum: under arbitrary dependence that is all the evidence there is.

:func:`combine_evalues` adjusts a family of e-values (e-Bonferroni or closed testing
with the arithmetic mean, Vovk & Wang 2021).

Everything is vectorised: one bincount per grid point over calendar slots, cumulative
sums over slots; no loop over series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from forecheck.panel import Panel

Construction = Literal["calendar-time pooled", "per-series product", "per-cluster product"]
POOLED: Construction = "calendar-time pooled"
PRODUCT: Construction = "per-series product"
CLUSTER: Construction = "per-cluster product"

KAPPA = 0.95  # largest stake as a fraction of the one that could lose everything
ETAS = np.geomspace(10**-1.5, 10**2.5, 32)  # mixture grid of η, fixed in advance
RATIO_GRID = 10.0 ** np.linspace(-1.0, 1.0, 81)  # 0.1 … 10, contains 1 exactly (midpoint)
RES_NEAR_EDGE = 1.5  # as MG103 (forecheck.checks.martingale.RES_NEAR_EDGE)


# ------------------------------------------------------------------ results
@dataclass(frozen=True, eq=False)
class EProcess:
    """A two-sided e-process over calendar slots.

    Attributes
    ----------
    times : (T,) time of each calendar slot (panel time unit), non-decreasing
        (a time appears twice when resolution steps follow in-flight steps at it).
    log_e : (T,) log of the two-sided e-value after each slot, ½(E⁺ + E⁻).
    log_e_up, log_e_down : (T,) log e-values of the two one-sided directions
        (up: too much movement / positive autocorrelation / over-confidence).
    evalue : final two-sided e-value (exp(log_e[-1]); 1.0 with no slot).
    max_evalue : sup over slots of the two-sided e-value.
    alpha, threshold : level and the rejection threshold 1/α.
    crossed : True when the e-value reached 1/α at some slot (Ville: probability ≤ α
        under H0, however many looks).
    first_crossing_time : time of the first slot with e ≥ 1/α, or None.
    direction : "up" or "down", the larger one-sided e-value at the last slot.
    construction : "calendar-time pooled" or "per-series product".
    n_terms, n_series : steps and series that entered.
    null : the hypothesis in words.
    """

    times: np.ndarray
    log_e: np.ndarray
    log_e_up: np.ndarray
    log_e_down: np.ndarray
    evalue: float
    max_evalue: float
    alpha: float
    threshold: float
    crossed: bool
    first_crossing_time: float | None
    direction: str
    construction: Construction
    n_terms: int
    n_series: int
    null: str

    def evalue_at(self, t: float) -> float:
        """E-value after the last slot with time ≤ t (1.0 before the first slot)."""
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        return 1.0 if k < 0 else float(np.exp(self.log_e[k]))


@dataclass(frozen=True, eq=False)
class MovementEProcess(EProcess):
    """MG101's e-process plus the movement ratio and its confidence sequence.

    ratio_path : (T,) running Σm / Σr (movement over uncertainty reduction) after each slot.
    ratio : final Σm / Σr (NaN when Σr ≤ 0).
    ratio_grid : (G,) hypothesised ratios c (None when no CS was computed).
    cs_lower, cs_upper : (T,) confidence sequence for c after each slot (running
        intersection, so the width never grows); NaN where every grid point has been
        excluded (no constant ratio fits); 0 / inf when the hull reaches the grid's end.
    cs : (lower, upper) after the last slot.
    """

    ratio_path: np.ndarray | None = None
    ratio: float = float("nan")
    ratio_grid: np.ndarray | None = None
    cs_lower: np.ndarray | None = None
    cs_upper: np.ndarray | None = None
    cs: tuple[float, float] | None = None


@dataclass(frozen=True, eq=False)
class Steps:
    """Every step of a panel in calendar order of entry.

    series, time, p_prev, dp : (n,) per step; dp = p − p_prev in flight, o − p_last at
    resolution. resolution : (n,) True for resolution steps. n_series : panel size.
    """

    series: np.ndarray
    time: np.ndarray
    p_prev: np.ndarray
    dp: np.ndarray
    resolution: np.ndarray
    n_series: int


@dataclass(frozen=True, eq=False)
class FamilyDecision:
    """A family of e-values adjusted for multiplicity.

    evalues : (K,) the e-values; adjusted : (K,) adjusted e-values, each compared with
    1/α (e-Bonferroni: e_k / K; closed-mean: min over subsets I ∋ k of the mean of e_I);
    reject : (K,) bool; global_evalue : mean of the e-values (an e-value for "all nulls
    true"); method ; alpha ; threshold = 1/α.
    """

    evalues: np.ndarray
    adjusted: np.ndarray
    reject: np.ndarray
    global_evalue: float
    method: str
    alpha: float
    threshold: float


# ------------------------------------------------------------------ inputs
def panel_steps(panel: Panel) -> Steps:
    """In-flight increments at their forecast times, resolution steps o − p_last at
    ``panel.resolution_time`` (the steps MG101's budget counts, A-R 2021 Cor. 1)."""
    res = np.flatnonzero(panel.resolved)
    pl = panel.p_last[res]
    n_in = len(panel.dp)
    return Steps(
        series=np.concatenate([panel.dp_series, res]).astype(np.int64),
        time=np.concatenate([panel.time[panel.increment_rows], panel.resolution_time[res]]).astype(float),
        p_prev=np.concatenate([panel.dp_prev_p, pl]).astype(float),
        dp=np.concatenate([panel.dp, panel.outcome[res] - pl]).astype(float),
        resolution=np.concatenate([np.zeros(n_in, bool), np.ones(len(res), bool)]),
        n_series=panel.n_series,
    )


def calendar_slots(time: np.ndarray, resolution: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(slot_times (T,), slot index of each step (n,)). Resolution steps at time t
    go to a slot after the in-flight steps at t."""
    time = np.asarray(time, float)
    flag = np.zeros(time.shape, np.int64) if resolution is None else np.asarray(resolution, bool).astype(np.int64)
    ut, inv = np.unique(time, return_inverse=True)
    key = 2 * inv.ravel() + flag
    uk, slot = np.unique(key, return_inverse=True)
    return ut[uk // 2], slot.ravel()


# ------------------------------------------------------------------ core
def _psi_over_sq(x: np.ndarray) -> np.ndarray:
    """ψ(x)/x² with ψ(x) = −log(1 − x) − x, stable near 0 (limit ½)."""
    x = np.asarray(x, float)
    small = x < 1e-4
    xs = np.where(small, 0.5, x)
    big = (-np.log1p(-xs) - xs) / xs**2
    return np.where(small, 0.5 + x / 3 + x**2 / 4, big)


def _log_factor(z: np.ndarray, bound: np.ndarray, eta: float | np.ndarray, kappa: float) -> np.ndarray:
    """log of the factor (2): η_s z − [ψ(λ)/λ²] η_s² z², λ = min(η·bound, κ), η_s = λ/bound
    (η_s = η where bound = 0; then z ≥ 0 and the factor is exp(ηz − η²z²/2) ≤ 1 + ηz)."""
    bound = np.maximum(bound, 0.0)
    with np.errstate(divide="ignore"):
        eta_s = np.minimum(eta, kappa / bound)  # bound = 0: κ/0 = inf, so η_s = η
    lam = eta_s * bound  # = min(η·bound, κ)
    y = eta_s * z
    return y - _psi_over_sq(lam) * y * y


def _logmeanexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.mean(np.exp(a - m), axis=axis))


def _cells(slot: np.ndarray, n_slots: int, group: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Cells (slot, group) of the steps: (cell of each step, slot of each cell)."""
    if group is None:
        return slot, np.arange(n_slots)
    group = np.asarray(group, np.int64)
    g = int(group.max()) + 1 if len(group) else 1
    ucell, cell = np.unique(slot.astype(np.int64) * g + group, return_inverse=True)
    return cell.ravel(), ucell // g


def _one_sided_paths(z: np.ndarray, lo: np.ndarray, hi: np.ndarray, slot: np.ndarray, n_slots: int,
                     group: np.ndarray | None, etas: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """log E⁺ and log E⁻ paths (n_slots,) from terms z with predictable bounds lo ≤ z ≤ hi.

    Terms are summed within cells (slot, group) — the pooled sum of a group at a slot,
    whose bounds are the sums of its terms' bounds — and the cells' factors (2) are
    multiplied: ``group=None`` is one group (calendar-time pooled), group = series the
    per-series product, group = cluster the per-cluster product."""
    etas = np.asarray(etas, float)
    if n_slots == 0:
        return np.zeros(0), np.zeros(0)
    cell, cell_slot = _cells(slot, n_slots, group)
    n_cells = len(cell_slot)
    zc = np.bincount(cell, weights=z, minlength=n_cells)
    low = -np.bincount(cell, weights=np.minimum(lo, 0.0), minlength=n_cells)
    upp = np.bincount(cell, weights=np.maximum(hi, 0.0), minlength=n_cells)
    f_up = np.empty((n_slots, len(etas)))
    f_dn = np.empty((n_slots, len(etas)))
    starts = np.flatnonzero(np.r_[True, cell_slot[1:] != cell_slot[:-1]]) if n_cells else np.zeros(0, int)
    step = max(1, int(2_000_000 // max(n_cells, 1)))  # η values per block: bounded memory
    for j0 in range(0, len(etas), step):  # loop over blocks of the η grid only
        eb = etas[None, j0:j0 + step]
        fu = _log_factor(zc[:, None], low[:, None], eb, kappa)
        fd = _log_factor(-zc[:, None], upp[:, None], eb, kappa)
        if group is None:
            f_up[:, j0:j0 + step], f_dn[:, j0:j0 + step] = fu, fd
        else:  # cells are sorted by slot and every slot has one: sum the cells of each slot
            f_up[:, j0:j0 + step] = np.add.reduceat(fu, starts, axis=0)
            f_dn[:, j0:j0 + step] = np.add.reduceat(fd, starts, axis=0)
    return (_logmeanexp(np.cumsum(f_up, axis=0), 1), _logmeanexp(np.cumsum(f_dn, axis=0), 1))


def _grouping(series: np.ndarray, independent: bool, cluster: np.ndarray | None
              ) -> tuple[np.ndarray | None, Construction]:
    """Group code per step and the construction's name. ``cluster`` is one code per
    series (indexed by series number); one series per cluster is the per-series product."""
    series = np.asarray(series, np.int64)
    if independent:
        return series, PRODUCT
    if cluster is None:
        return None, POOLED
    codes = np.unique(np.asarray(cluster).astype(str), return_inverse=True)[1].ravel()
    if len(np.unique(codes[np.unique(series)])) == len(np.unique(series)):
        return series, PRODUCT
    return codes[series], CLUSTER


def _finish(times, lup, ldn, alpha, construction, n_terms, n_series, null, cls=EProcess, **extra):
    if len(times):
        log_e = np.logaddexp(lup, ldn) - np.log(2.0)
    else:
        log_e = np.zeros(0)
    thr = 1.0 / alpha
    hit = np.flatnonzero(log_e >= np.log(thr) - 1e-12)
    return cls(times=np.asarray(times, float), log_e=log_e, log_e_up=lup, log_e_down=ldn,
               evalue=float(np.exp(log_e[-1])) if len(log_e) else 1.0,
               max_evalue=float(np.exp(log_e.max())) if len(log_e) else 1.0,
               alpha=float(alpha), threshold=thr, crossed=bool(len(hit)),
               first_crossing_time=float(times[hit[0]]) if len(hit) else None,
               direction=("up" if (len(lup) == 0 or lup[-1] >= ldn[-1]) else "down"),
               construction=construction, n_terms=int(n_terms), n_series=int(n_series), null=null, **extra)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def eprocess(z: np.ndarray, lo: np.ndarray, hi: np.ndarray, time: np.ndarray, *,
             resolution: np.ndarray | None = None, series: np.ndarray | None = None,
             independent: bool = False, cluster: np.ndarray | None = None, alpha: float = 0.05,
             etas: np.ndarray = ETAS, kappa: float = KAPPA, null: str = "E[z | past] = 0") -> EProcess:
    """Two-sided e-process for terms z with conditional mean zero and predictable
    bounds lo ≤ z ≤ hi (lo ≤ 0 ≤ hi), construction (2) of the module docstring.

    ``independent=True`` is the per-series product (steps of different series
    independent given the past; needs ``series``); ``cluster`` (one code per series,
    indexed by ``series``) the per-cluster product (pooled within clusters, clusters
    independent); otherwise the calendar-time pooled construction.
    """
    _check_alpha(alpha)
    z, lo, hi = (np.asarray(a, float) for a in (z, lo, hi))
    if (independent or cluster is not None) and series is None:
        raise ValueError("the product constructions need `series`")
    times, slot = calendar_slots(time, resolution)
    group, name = (None, POOLED) if series is None else _grouping(series, independent, cluster)
    lup, ldn = _one_sided_paths(z, lo, hi, slot, len(times), group, etas, kappa)
    n_series = 0 if series is None else len(np.unique(series))
    return _finish(times, lup, ldn, alpha, name, len(z), n_series, null)


# ------------------------------------------------------------------ MG101
def excess_bounds(p_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of z = (1 − 2p)Δp over Δp ∈ [−p, 1 − p]: the endpoint values −p(1 − 2p)
    and (1 − p)(1 − 2p), ordered."""
    p = np.asarray(p_prev, float)
    a, b = -p * (1 - 2 * p), (1 - p) * (1 - 2 * p)
    return np.minimum(a, b), np.maximum(a, b)


def _quadratic_bounds(a: float, b: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min and max of f(x) = a x² + b x over x ∈ [−p, 1 − p] (vectorised in b, p)."""
    f1 = a * p**2 - b * p
    f2 = a * (1 - p) ** 2 + b * (1 - p)
    lo, hi = np.minimum(f1, f2), np.maximum(f1, f2)
    if a != 0.0:
        xv = -b / (2 * a)
        inside = (xv > -p) & (xv < 1 - p)
        fv = -(b**2) / (4 * a)
        if a > 0:
            lo = np.where(inside, np.minimum(lo, fv), lo)
        else:
            hi = np.where(inside, np.maximum(hi, fv), hi)
    return lo, hi


def mg101_eprocess(series: np.ndarray, time: np.ndarray, p_prev: np.ndarray, dp: np.ndarray, *,
                   resolution: np.ndarray | None = None, independent: bool = False,
                   cluster: np.ndarray | None = None, alpha: float = 0.05,
                   ratio_grid: np.ndarray | None = RATIO_GRID, etas: np.ndarray = ETAS,
                   kappa: float = KAPPA) -> MovementEProcess:
    """Anytime-valid two-sided MG101: too much *and* too little movement.

    Steps (series, time, p_prev, dp) as from :func:`panel_steps` (resolution steps
    o − p_last flagged by ``resolution``). Construction: pooled by default;
    ``independent=True`` per-series product; ``cluster`` (one code per series, indexed
    by series number) per-cluster product. H0: E[(1 − 2p_prev)Δp | F_{t−}] = 0 at every
    step (implied by the martingale null). ``ratio_grid`` (None: no CS) gives the
    hypothesised ratios c of the confidence sequence for Σm/Σr (module docstring).
    Cost: O(n · |grid|) for the pooled CS, O(n · |grid| · |etas|) for the product CS.
    """
    _check_alpha(alpha)
    series = np.asarray(series)
    p_prev, dp = np.asarray(p_prev, float), np.asarray(dp, float)
    times, slot = calendar_slots(time, resolution)
    T = len(times)
    z = (1 - 2 * p_prev) * dp
    lo, hi = excess_bounds(p_prev)
    group, name = _grouping(series, independent, cluster)
    lup, ldn = _one_sided_paths(z, lo, hi, slot, T, group, etas, kappa)
    m_t = np.cumsum(np.bincount(slot, weights=dp**2, minlength=T))
    r_t = np.cumsum(np.bincount(slot, weights=dp**2 - z, minlength=T))  # r = Δp² − z (A-R p. 10)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_path = np.where(r_t > 0, m_t / r_t, np.nan)
    extra: dict = {"ratio_path": ratio_path, "ratio": float(ratio_path[-1]) if T else float("nan")}
    if ratio_grid is not None and T:
        grid = np.asarray(ratio_grid, float)
        thr = np.log(1.0 / alpha)
        excluded = np.zeros((T, len(grid)), bool)
        for k, c in enumerate(grid):  # loop over the ratio grid only
            zc = (1 - c) * dp**2 + c * z  # m − c·r
            lc, hc = _quadratic_bounds(1 - c, c * (1 - 2 * p_prev), p_prev)
            u, d = _one_sided_paths(zc, lc, hc, slot, T, group, etas, kappa)
            le = np.logaddexp(u, d) - np.log(2.0)
            excluded[:, k] = np.maximum.accumulate(le) >= thr - 1e-12
        keep = ~excluded
        anyk = keep.any(axis=1)
        first = np.where(anyk, keep.argmax(axis=1), 0)
        last = np.where(anyk, len(grid) - 1 - keep[:, ::-1].argmax(axis=1), 0)
        ext = np.concatenate([[0.0], grid, [np.inf]])  # hull widened to the neighbouring grid points
        cs_lo = np.where(anyk, ext[first], np.nan)
        cs_hi = np.where(anyk, ext[last + 2], np.nan)
        extra.update(ratio_grid=grid, cs_lower=cs_lo, cs_upper=cs_hi, cs=(float(cs_lo[-1]), float(cs_hi[-1])))
    null = "E[(1 − 2p_prev)·Δp | past] = 0 at every step: movement = uncertainty reduction (A-R 2021 Prop. 1)"
    n_series = len(np.unique(series)) if len(series) else 0
    return _finish(times, lup, ldn, alpha, name, len(z), n_series, null, cls=MovementEProcess, **extra)


# ------------------------------------------------------------------ MG103
def revision_terms(series: np.ndarray, time: np.ndarray, p_prev: np.ndarray, dp: np.ndarray,
                   resolution: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Pairs (Δp_t, Δp_prev) of consecutive steps of each series, with a predictable weight.

    Returns arrays z = w·Δp_t·Δp_prev, lo, hi (bounds w·Δp_prev·[−p_prev, 1 − p_prev]),
    time, resolution flag and series of the later step of each pair. In-flight pairs
    have w = 1. A resolution step is the series' final revision (as in MG103,
    ``forecheck.checks.martingale.mg103_rows``) with weight v/(p(1 − p)) capped at 1,
    v = the series' mean squared in-flight increment, or 1 when p lies within
    1.5·√v of 0 or 1; every in-flight increment precedes the resolution slot, so the
    weight is predictable.
    """
    series = np.asarray(series, np.int64)
    time = np.asarray(time, float)
    p_prev, dp = np.asarray(p_prev, float), np.asarray(dp, float)
    res = np.zeros(len(dp), bool) if resolution is None else np.asarray(resolution, bool)
    order = np.lexsort((res, time, series))
    s, t, pp, d, r = series[order], time[order], p_prev[order], dp[order], res[order]
    same = np.zeros(len(s), bool)
    same[1:] = s[1:] == s[:-1]
    cur = np.flatnonzero(same)
    x = d[cur - 1]
    y = d[cur]
    w = np.ones(len(cur))
    if r.any():
        n_s = int(s.max()) + 1
        inflight = ~r
        n_inc = np.bincount(s[inflight], minlength=n_s)
        v = np.bincount(s[inflight], weights=d[inflight] ** 2, minlength=n_s) / np.maximum(n_inc, 1)
        rc = r[cur]
        sc = s[cur][rc]
        pl = pp[cur][rc]
        u = pl * (1 - pl)
        near = np.minimum(pl, 1 - pl) <= RES_NEAR_EDGE * np.sqrt(v[sc]) + 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            wr = np.where(near, 1.0, np.minimum(1.0, v[sc] / np.where(u > 0, u, np.inf)))
        w[rc] = np.where(v[sc] > 0, wr, 0.0)
    a = w * x
    pc = pp[cur]
    b1, b2 = -a * pc, a * (1 - pc)
    return {"z": a * y, "lo": np.minimum(b1, b2), "hi": np.maximum(b1, b2), "time": t[cur],
            "resolution": r[cur], "series": s[cur]}


def mg103_eprocess(series: np.ndarray, time: np.ndarray, p_prev: np.ndarray, dp: np.ndarray, *,
                   resolution: np.ndarray | None = None, independent: bool = False,
                   cluster: np.ndarray | None = None, alpha: float = 0.05,
                   etas: np.ndarray = ETAS, kappa: float = KAPPA) -> EProcess:
    """Anytime-valid two-sided MG103: H0 E[Δp_t · Δp_prev | F_{t−}] = 0 (Nordhaus 1987),
    pooled per calendar slot (any dependence) or per-series product. Up = positive
    autocorrelation (smoothing), down = negative (over-reaction, bid-ask bounce).
    Steps as from :func:`panel_steps`; pairs by :func:`revision_terms`; ``independent`` and
    ``cluster`` as in :func:`mg101_eprocess`."""
    _check_alpha(alpha)
    rt = revision_terms(series, time, p_prev, dp, resolution)
    times, slot = calendar_slots(rt["time"], rt["resolution"])
    group, name = _grouping(rt["series"], independent, cluster)
    lup, ldn = _one_sided_paths(rt["z"], rt["lo"], rt["hi"], slot, len(times), group, etas, kappa)
    null = "E[Δp_t · Δp_prev | past] = 0: revisions unpredictable from the previous revision (Nordhaus 1987)"
    n_series = len(np.unique(rt["series"])) if len(rt["series"]) else 0
    return _finish(times, lup, ldn, alpha, name, len(rt["z"]), n_series, null)


# ------------------------------------------------------------------ CA202
def ca202_eprocess(time: np.ndarray, p: np.ndarray, outcome: np.ndarray, *, independent: bool = False,
                   cluster: np.ndarray | None = None, alpha: float = 0.05, etas: np.ndarray = ETAS,
                   kappa: float = KAPPA) -> EProcess:
    """Anytime-valid two-sided CA202 (Spiegelhalter direction) on outcomes as they resolve.

    One entry per resolved series: its resolution time, its last forecast p and its
    outcome o. z = (o − p)(1 − 2p) = (o − p)² − p(1 − p), bounds as MG101's (it is the
    resolution step of the budget). Up = over-confident (observed Brier above the
    forecasts' own), down = under-confident. H0: E[o | past] = p. ``independent`` makes
    it the per-series product; ``cluster`` (one code per entry) the per-cluster product.
    """
    _check_alpha(alpha)
    p, o = np.asarray(p, float), np.asarray(outcome, float)
    z = (o - p) * (1 - 2 * p)
    lo, hi = excess_bounds(p)
    times, slot = calendar_slots(time)
    group, name = _grouping(np.arange(len(z)), independent, cluster)
    lup, ldn = _one_sided_paths(z, lo, hi, slot, len(times), group, etas, kappa)
    null = "E[o | past] = p at the last forecast: observed Brier = expected Brier (Spiegelhalter 1986)"
    return _finish(times, lup, ldn, alpha, name, len(z), len(z), null)


# ------------------------------------------------------------------ family
def combine_evalues(evalues: Sequence[float] | np.ndarray, alpha: float = 0.05,
                    method: Literal["bonferroni", "closed-mean"] = "bonferroni") -> FamilyDecision:
    """Adjust K e-values (or e-processes evaluated at one look) for the family.

    ``bonferroni``: reject k when e_k ≥ K/α, i.e. adjusted e_k/K ≥ 1/α; family-wise
    error ≤ Σ_k α/K = α by Markov's (for e-processes Ville's) inequality.
    ``closed-mean``: closed testing with the arithmetic mean as the e-merging function
    (Vovk & Wang 2021, *Ann. Statist.* 49(3), Sec. 5): reject k when every subset I ∋ k
    has mean(e_I) ≥ 1/α; the smallest such mean takes e_k with the j smallest others for
    some j. Never rejects less than ``bonferroni``; family-wise error ≤ α, at any
    stopping time when the inputs are e-processes in one filtration (calendar time).
    """
    _check_alpha(alpha)
    e = np.asarray(evalues, float)
    if e.ndim != 1 or np.any(e < 0) or np.any(np.isnan(e)):
        raise ValueError("evalues must be a 1-d array of nonnegative numbers")
    K = len(e)
    thr = 1.0 / alpha
    if K == 0:
        return FamilyDecision(e, e.copy(), np.zeros(0, bool), 1.0, method, alpha, thr)
    if method == "bonferroni":
        adj = e / K
    elif method == "closed-mean":
        adj = np.empty(K)
        for k in range(K):  # K is the number of checks (3), not series
            others = np.sort(np.delete(e, k))
            sums = e[k] + np.concatenate([[0.0], np.cumsum(others)])
            adj[k] = np.min(sums / np.arange(1, K + 1))
    else:
        raise ValueError(f"unknown method {method!r}; use 'bonferroni' or 'closed-mean'")
    return FamilyDecision(evalues=e, adjusted=adj, reject=adj >= thr, global_evalue=float(e.mean()),
                          method=method, alpha=float(alpha), threshold=thr)

"""The ±h belief walk absorbed at 0 and 1: exact duration results and a Monte Carlo check.

A belief on the grid {0, h, 2h, …, 1} (N = 1/h, start p0 = k·h) moves ±h with
probability q per step (else stays) until it hits 0 or 1 — gambler's ruin
(Feller, Vol. I, ch. XIV §3). The number of updates T has

* E[T] = k(N − k)/q = p0(1 − p0)/(q h²)   — A-R (2021) Cor. 1: each move adds h² to
  the movement m, so E[m] = h²·E[moves] = p0(1 − p0); Wald's identity gives /q;
* Var(T) = Var(T₁)/q² + E[T₁](1 − q)/q², with Var(T₁) = k(N − k)[k² + (N − k)² − 2]/3
  for the simple walk (docs/checks.md);
* P(end at 1) = p0 (optional stopping: the belief is a martingale).

Here these are computed from the absorbing Markov chain itself, not from the closed
forms (which the tests use as independent checks):

* moments by linear solves with the fundamental matrix, (I − Q) t = 1 and
  (I − Q) s = 1 + 2 Q t, E[T²] = s (Q = transient block, tridiagonal → banded solve);
* the distribution of T from the spectral decomposition of Q: the simple walk's
  transient block has eigenvectors sin(ijπ/N)·√(2/N) and eigenvalues cos(jπ/N), the
  lazy one μ_j = 1 − q + q cos(jπ/N), so the survival function is
  P(T > n) = Σ_j c_j μ_j^n with c_j = (2/N) sin(kjπ/N) Σ_i sin(ijπ/N) — exact, O(N)
  per n, and quantiles follow by bisection over n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from forecheck.errors import UsageError

QUANTILES = (0.5, 0.9, 0.99)
# Work budget of the Monte Carlo check (expected simple-walk moves over all runs):
# 100,000 runs from 50% with h = 1% need 2.5e8; larger problems use fewer runs.
MC_MOVE_BUDGET = 3.0e8
MC_MIN_RUNS = 100
_TIE_TOL = 1e-9  # P(T ≤ n) ≥ prob is tested as S(n) ≤ 1 − prob + tol (exact ties, e.g. 1/2)


def _sig(x: float, digits: int = 10) -> float:
    """Round to ``digits`` significant digits (solver noise off exact values)."""
    return float(f"{x:.{digits}g}")


@dataclass(frozen=True)
class WalkGrid:
    """A validated walk: start index k on the grid 0..N, move probability q."""

    k: int
    N: int
    q: float

    @property
    def start(self) -> float:
        return self.k / self.N

    @property
    def step(self) -> float:
        return 1.0 / self.N


def walk_grid(start: float, step: float, move_prob: float = 1.0) -> WalkGrid:
    """Validate (p0, h, q) and return the grid; :class:`UsageError` with a clear message."""
    if not (np.isfinite(step) and 0.0 < step <= 0.5):
        raise UsageError(f"--step must be in (0, 0.5], got {step:g}.")
    n_grid = int(round(1.0 / step))
    if abs(n_grid * step - 1.0) > 1e-9:
        raise UsageError(f"--step must divide 1 (1/step an integer, e.g. 0.01, 0.05, 0.1), got {step:g}.")
    if not (np.isfinite(start) and 0.0 < start < 1.0):
        raise UsageError(f"--start must be strictly between 0 and 1, got {start:g}.")
    kf = start * n_grid
    k = int(round(kf))
    if abs(kf - k) > 1e-6:
        raise UsageError(f"--start {start:g} is not a multiple of --step {step:g}; the walk lives on the "
                         f"grid 0, {step:g}, {2 * step:g}, …, 1.")
    if not (np.isfinite(move_prob) and 0.0 < move_prob <= 1.0):
        raise UsageError(f"--move-prob must be in (0, 1], got {move_prob:g}.")
    return WalkGrid(k=k, N=n_grid, q=float(move_prob))


# ------------------------------------------------------------ exact results
def duration_moments(grid: WalkGrid) -> tuple[float, float]:
    """(E[T], Var(T)) from the absorbing chain: (I − Q)t = 1, (I − Q)s = 1 + 2Qt."""
    from scipy.linalg import solve_banded  # lazy: keeps scipy.linalg out of `forecheck analyze`

    n = grid.N - 1  # transient states 1..N−1
    q = grid.q
    # I − Q = q (I − A), A the simple walk's transient block (½ off the diagonal)
    ab = np.zeros((3, n))
    ab[0, 1:] = -q / 2.0
    ab[1, :] = q
    ab[2, :-1] = -q / 2.0
    ones = np.ones(n)
    t = solve_banded((1, 1), ab, ones)

    def q_times(v: np.ndarray) -> np.ndarray:
        out = (1.0 - q) * v
        out[1:] += q / 2.0 * v[:-1]
        out[:-1] += q / 2.0 * v[1:]
        return out

    s = solve_banded((1, 1), ab, ones + 2.0 * q_times(t))
    i = grid.k - 1
    return float(t[i]), float(s[i] - t[i] ** 2)


def _spectral(grid: WalkGrid) -> tuple[np.ndarray, np.ndarray]:
    """(c_j, μ_j), j = 1..N−1, with P(T > n) = Σ_j c_j μ_j^n."""
    N, k, q = grid.N, grid.k, grid.q
    j = np.arange(1, N)
    theta = j * np.pi / N
    # Σ_{i=1}^{N−1} sin(iθ) = sin((N−1)θ/2) sin(Nθ/2) / sin(θ/2)
    total = np.sin((N - 1) * theta / 2.0) * np.sin(N * theta / 2.0) / np.sin(theta / 2.0)
    c = (2.0 / N) * np.sin(k * theta) * total
    mu = 1.0 - q + q * np.cos(theta)
    return c, mu


def duration_survival(grid: WalkGrid, n: np.ndarray | int) -> np.ndarray:
    """P(T > n) for integer n ≥ 0 (exact up to floating point)."""
    c, mu = _spectral(grid)
    n_arr = np.atleast_1d(np.asarray(n, dtype=np.int64))
    out = np.empty(n_arr.shape, dtype=float)
    for lo in range(0, len(n_arr), 4096):  # bounded memory for long n vectors
        chunk = n_arr[lo:lo + 4096]
        with np.errstate(under="ignore"):
            out[lo:lo + 4096] = np.power(mu[None, :], chunk[:, None]) @ c
    out = np.clip(out, 0.0, 1.0)
    return out if np.ndim(n) else out[0]


def duration_quantile(grid: WalkGrid, prob: float) -> int:
    """Smallest n ≥ 1 with P(T ≤ n) ≥ prob (exact distribution, bisection on n)."""
    target = 1.0 - prob + _TIE_TOL

    def ok(n: int) -> bool:
        return bool(duration_survival(grid, n) <= target)

    lo, hi = 0, 1  # invariant: not ok(lo) (S(0) = 1), ok(hi) once found
    while not ok(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------ Monte Carlo
def simulate_moves(k: int, N: int, runs: int, rng: np.random.Generator,
                   max_moves: int | None = None) -> tuple[np.ndarray, int]:
    """Numbers of ±1 moves until a simple walk from k hits 0 or N, for ``runs`` walks.

    Vectorised in blocks: all live walks draw a block of steps (random bits), the
    cumulative sums locate the first exit, finished walks drop out. Returns
    (moves, n_censored); censored walks (still alive after ``max_moves``, default
    20 N², where the survival is below e^{−98}) get ``max_moves``.
    """
    cap = int(max_moves if max_moves is not None else max(100, 20 * N * N))
    moves = np.full(runs, cap, dtype=np.int64)
    alive = np.arange(runs)
    pos = np.full(runs, k, dtype=np.int64)
    done = 0
    while len(alive) and done < cap:
        block = int(min(65536, max(64, 4_000_000 // len(alive))))
        block = (block + 7) // 8 * 8
        block = min(block, ((cap - done) + 7) // 8 * 8)
        bits = np.unpackbits(rng.integers(0, 256, (len(alive), block // 8), dtype=np.uint8), axis=1)
        path = np.cumsum(bits.astype(np.int8) * 2 - 1, axis=1, dtype=np.int32)
        path += pos[:, None].astype(np.int32)
        hit = (path <= 0) | (path >= N)
        ended = hit.any(axis=1)
        first = hit.argmax(axis=1)
        moves[alive[ended]] = done + first[ended] + 1
        pos = path[~ended, -1].astype(np.int64)
        alive = alive[~ended]
        done += block
    n_cens = len(alive)
    if n_cens:
        moves[alive] = cap
    return moves, n_cens


def simulate_durations(grid: WalkGrid, runs: int, seed: int) -> tuple[np.ndarray, int]:
    """Simulated numbers of updates T (lazy walks: T = moves + NegBin(moves, q)
    stays, exact since each update moves independently with probability q)."""
    rng = np.random.default_rng(seed)
    moves, n_cens = simulate_moves(grid.k, grid.N, runs, rng)
    if grid.q < 1.0:
        return moves + rng.negative_binomial(moves, grid.q), n_cens
    return moves, n_cens


# ------------------------------------------------------------ result
@dataclass(frozen=True)
class WalkResult:
    """Exact and simulated results of the ±h belief walk (JSON keys as ``to_dict``)."""

    start: float
    step: float
    move_prob: float
    expected_steps: float
    sd_steps: float
    p_single_step: float
    median_steps: int
    quantiles: dict[str, int]
    expected_movement: float
    p_end_at_one: float
    simulated_mean_steps: float | None
    simulated_runs: int
    simulated_censored: int = 0
    extras: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "step": self.step,
            "move_prob": self.move_prob,
            "expected_steps": self.expected_steps,
            "sd_steps": self.sd_steps,
            "p_single_step": self.p_single_step,
            "median_steps": self.median_steps,
            "quantiles": dict(self.quantiles),
            "expected_movement": self.expected_movement,
            "p_end_at_one": self.p_end_at_one,
            "simulated_mean_steps": self.simulated_mean_steps,
            "simulated_runs": self.simulated_runs,
        }


def analyze_walk(start: float, step: float, move_prob: float = 1.0, *, runs: int = 100_000,
                 seed: int = 0) -> WalkResult:
    """Exact duration results of the ±``step`` walk from ``start`` plus a Monte
    Carlo check with up to ``runs`` simulated walks (fewer when the expected work
    exceeds :data:`MC_MOVE_BUDGET` moves; none if fewer than :data:`MC_MIN_RUNS`
    would fit)."""
    if runs < 0:
        raise UsageError(f"--runs must be non-negative, got {runs}.")
    grid = walk_grid(start, step, move_prob)
    mean, var = duration_moments(grid)
    quant = {f"{p:g}": duration_quantile(grid, p) for p in QUANTILES}
    # P(T = 1): the one-step absorption probability of row k of the chain, q/2 into
    # each neighbouring absorbing state (exactly ½ from 1% with q = 1)
    p1 = grid.q * (0.5 * (grid.k == 1) + 0.5 * (grid.k == grid.N - 1))
    p0 = grid.start
    # Monte Carlo: expected simple-walk moves per run is k(N − k)
    per_run = grid.k * (grid.N - grid.k)
    n_runs = int(min(runs, MC_MOVE_BUDGET // per_run))
    sim_mean, n_cens = None, 0
    if n_runs >= MC_MIN_RUNS:
        durations, n_cens = simulate_durations(grid, n_runs, seed)
        sim_mean = float(durations.mean())
    else:
        n_runs = 0
    return WalkResult(
        start=p0, step=grid.step, move_prob=grid.q,
        expected_steps=_sig(mean), sd_steps=_sig(math.sqrt(max(var, 0.0))),
        p_single_step=_sig(p1), median_steps=quant["0.5"], quantiles=quant,
        expected_movement=_sig(p0 * (1.0 - p0)), p_end_at_one=p0,
        simulated_mean_steps=sim_mean, simulated_runs=n_runs, simulated_censored=n_cens,
        extras={"requested_runs": runs, "grid_points": grid.N + 1, "start_index": grid.k},
    )

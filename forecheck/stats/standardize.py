"""Coordinates in which forecast increments are compared with a Wiener process.

Raw probability increments are heteroskedastic by construction: an efficient binary
price on a diffusive signal has dp = φ(Φ⁻¹(p)) dW/√τ (Archak & Ipeirotis 2009,
"Modeling volatility in prediction markets", ACM EC; docs/checks.md), so their
volatility vanishes at 0/1 and explodes near ½ as τ → 0. The coordinates here:

- ``raw``: Δp_t.
- ``logit``: Δlogit(p_t)/√Δt (variance-stabilising for a local rate [p(1−p)]²).
- ``probit_clock``: z_t = Δp_t / (φ(Φ⁻¹(p_{t−1}))·√(Δt/τ_{t−1})) (docs/checks.md).
- ``latent``: ΔS_t/√Δt with S_t = Φ⁻¹(p_t)·√τ_t, τ a fraction of the series'
  horizon (docs/checks.md): for the Gaussian-signal Bayesian forecaster S_t is exactly
  the accumulated signal, so its increments are exactly i.i.d. Gaussian. This is
  forecheck's "standardised" coordinate for the WN tests.

Each coordinate is divided by a per-series scale (root mean square, mean zero
imposed: a martingale has no drift) so that series with different signal volatility
can be pooled. Increments whose endpoints sit at exactly 0 or 1 (absorbed paths) or
with Δt ≤ 0 / τ ≤ 0 have no standardised value and are dropped from that
coordinate; the remaining increments of a series stay in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from forecheck.stats import dists as stats

from forecheck.panel import Panel
from forecheck.stats.segments import column_sums, is_contiguous, length_groups_of_counts, seg_count, seg_sum

COORDINATES = ("raw", "logit", "probit_clock", "latent")
STANDARDISED = "latent"
MIN_INCREMENTS = 3


@dataclass(frozen=True, eq=False)
class Coordinate:
    """One coordinate's increments, flat and segmented by (compact) series.

    ``x`` are the scaled values (the value before scaling is ``x·scale[seg]``),
    ``seg`` the compact segment (0..n_seg−1) of each value, ``series`` the panel
    series number of each segment, ``row`` the panel row of each increment's end
    point. Where every increment and every series is used, ``seg`` and ``row`` are
    the increments' own arrays (no copy): one coordinate costs one (N,) float array."""

    name: str
    x: np.ndarray
    seg: np.ndarray
    series: np.ndarray
    row: np.ndarray
    scale: np.ndarray

    @property
    def n_seg(self) -> int:
        return len(self.series)

    @cached_property
    def counts(self) -> np.ndarray:
        return self.sums.counts

    @cached_property
    def sums(self) -> "SegmentSums":
        """Per-series sums of ``x`` that WN302, WN304 and WN305 all read (formed once)."""
        return SegmentSums(self.x, self.seg, self.n_seg)


class SegmentSums:
    """Per-segment quantities of one segmented array ``x`` that several statistics
    need, each computed on first use and then shared: the same floats the
    statistics' own ``np.bincount``s give (``seg_sum``: values added in order).

    ``counts``; ``n`` (as float); ``layout`` (:func:`segments.length_groups`);
    ``equal_length`` (L when the values are ``n_seg`` contiguous segments of one
    length L, else 0); ``total`` (Σx), ``mean`` (Σx/n), ``dev_ss`` (Σ(x − mean)²),
    ``sum_sq`` (Σx²) per segment."""

    def __init__(self, x: np.ndarray, seg: np.ndarray, n_seg: int):
        self.x, self.seg, self.n_seg = x, seg, int(n_seg)

    @cached_property
    def counts(self) -> np.ndarray:
        return seg_count(self.seg, self.n_seg)

    @cached_property
    def n(self) -> np.ndarray:
        return self.counts.astype(float)

    @cached_property
    def contiguous(self) -> bool:
        return is_contiguous(self.seg)

    @cached_property
    def layout(self) -> list[tuple[np.ndarray, np.ndarray, int]] | None:
        """:func:`segments.length_groups` from the counts already formed."""
        return length_groups_of_counts(self.counts) if self.contiguous else None

    @cached_property
    def equal_length(self) -> int:
        n_seg, n = self.n_seg, len(self.x)
        if n_seg == 0 or n % n_seg:
            return 0
        L = n // n_seg
        if L == 0 or not self.contiguous or np.any(self.counts != L):
            return 0
        return L

    @cached_property
    def total(self) -> np.ndarray:
        L = self.equal_length
        if L:
            return row_sums(self.x.reshape(self.n_seg, L))
        return seg_sum(self.x, self.seg, self.n_seg)

    @cached_property
    def mean(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.total / self.n

    @cached_property
    def dev_ss(self) -> np.ndarray:
        L = self.equal_length
        if L:  # the same differences and squares, by broadcasting, a block of rows at a time
            return row_sums(self.x.reshape(self.n_seg, L), center=self.mean, square=True)
        d = self.x - self.mean[self.seg]
        d *= d
        return seg_sum(d, self.seg, self.n_seg)

    @cached_property
    def sum_sq(self) -> np.ndarray:
        L = self.equal_length
        if L:
            return row_sums(self.x.reshape(self.n_seg, L), square=True)
        return seg_sum(self.x * self.x, self.seg, self.n_seg)

    def squared(self, x2: np.ndarray) -> "SegmentSums":
        """The sums of ``x2`` = x**2 on the same segments: the layout is shared and Σx²
        is this array's ``sum_sq`` (x**2 and x·x are the same floats)."""
        out = SegmentSums(x2, self.seg, self.n_seg)
        for key in ("counts", "n", "contiguous", "layout", "equal_length"):
            out.__dict__[key] = getattr(self, key)
        out.__dict__["total"] = self.sum_sq
        return out


@dataclass(frozen=True, eq=False)
class Increments:
    """In-flight increments of the series with at least ``min_length`` forecasts.

    Only the row and series of each increment are stored (views of the panel's own
    arrays when every series is eligible); the per-increment quantities (``p``,
    ``dp``, ``tau`` …) are gathered from the panel when asked for, so holding an
    ``Increments`` costs no (N,) float arrays."""

    panel: Panel
    row: np.ndarray  # panel row of p_t
    series: np.ndarray  # panel series number
    eligible: np.ndarray  # (S,) series used
    keep: np.ndarray | None = None  # mask on the panel's increments; None: all of them

    @classmethod
    def from_panel(cls, panel: Panel, min_length: int) -> "Increments":
        eligible = panel.lengths >= max(min_length, 2)
        keep = eligible[panel.dp_series]
        if keep.all():
            return cls(panel=panel, row=panel.increment_rows, series=panel.dp_series, eligible=eligible)
        return cls(panel=panel, row=panel.increment_rows[keep], series=panel.dp_series[keep],
                   eligible=eligible, keep=keep)

    def _sel(self, a: np.ndarray) -> np.ndarray:
        return a if self.keep is None else a[self.keep]

    @property
    def n(self) -> int:
        return len(self.row)

    @cached_property
    def _equal_length(self) -> int:
        """L when every increment is used and every panel series has L ≥ 2 rows: the
        increments are then the (S, L − 1) matrix of each series' rows after its first,
        so values at their end and start rows are column slices of the (S, L) panel
        matrix (no index gathers); else 0."""
        if self.keep is not None:
            return 0
        lengths = self.panel.lengths
        if len(lengths) == 0 or len(self.row) == 0:
            return 0
        L = int(lengths[0])
        return L if L >= 2 and bool(np.all(lengths == L)) else 0

    def at_equal_length(self) -> int:
        """L (≥ 2) when every panel series is used and has L rows, else 0."""
        return self._equal_length

    def _r0(self) -> np.ndarray:
        return self._memoised("r0", lambda: self.row - 1)

    def at_end(self, a: np.ndarray) -> np.ndarray:
        """``a[row]``: a per-panel-row array at each increment's end row."""
        L = self._equal_length
        if L:
            return a.reshape(-1, L)[:, 1:].reshape(-1)
        return a[self.row]

    def at_start(self, a: np.ndarray) -> np.ndarray:
        """``a[row − 1]``: a per-panel-row array at each increment's start row."""
        L = self._equal_length
        if L:
            return a.reshape(-1, L)[:, :-1].reshape(-1)
        return a[self._r0()]

    def diff(self, a: np.ndarray) -> np.ndarray:
        """``a[row] − a[row − 1]`` (the same subtractions, without the two gathers when
        the series have one length)."""
        L = self._equal_length
        if L:
            A = a.reshape(-1, L)
            out = np.empty((A.shape[0], L - 1), dtype=np.result_type(a.dtype, a.dtype))
            np.subtract(A[:, 1:], A[:, :-1], out=out)
            return out.reshape(-1)
        return a[self.row] - a[self._r0()]

    @cached_property
    def series_counts(self) -> np.ndarray:
        """(S,) number of increments of each panel series."""
        return np.bincount(self.series, minlength=self.panel.n_series)

    @property
    def p_prev(self) -> np.ndarray:
        return self.at_start(self.panel.p)

    @property
    def p(self) -> np.ndarray:
        return self.at_end(self.panel.p)

    @property
    def dp(self) -> np.ndarray:
        return self._sel(self.panel.dp)

    @property
    def dt(self) -> np.ndarray:
        return self._sel(self.panel.dt)

    @property
    def tau_prev_time(self) -> np.ndarray:
        """Time to resolution at t−1 in the panel's time unit."""
        return self.at_start(self.panel.time_to_resolution)

    def memo(self, on: bool = True) -> None:
        """Keep (``on``) or drop the per-row transforms (τ/horizon, Φ⁻¹(p)) between
        :meth:`values` calls: WN301 reads all four coordinates in a row and shares
        them; nothing holds them afterwards."""
        object.__setattr__(self, "_memo", {} if on else None)

    def _memoised(self, key: str, compute):
        m = getattr(self, "_memo", None)
        if m is None:
            return compute()
        if key not in m:
            m[key] = compute()
        return m[key]

    def row_tau(self) -> np.ndarray:
        """(N_panel,) τ of every panel row as a fraction of its series' horizon
        (memoised while :meth:`memo` is on)."""
        return self._memoised("tau", self._row_tau_compute)

    _row_tau = row_tau

    def _row_tau_compute(self) -> np.ndarray:
        """(N_panel,) τ of every panel row as a fraction of its series' horizon (τ at
        the series' first forecast; NaN where the horizon is not positive)."""
        panel = self.panel
        ttr = panel.time_to_resolution
        horizon = ttr[panel.first_row]
        h = np.where(horizon > 0, horizon, np.nan)
        lengths = panel.lengths
        with np.errstate(divide="ignore", invalid="ignore"):
            if len(lengths) and len(ttr) == len(lengths) * int(lengths[0]) and np.all(lengths == lengths[0]):
                # series of one length: the same divisions by broadcasting, no (N,) gather
                return (ttr.reshape(len(lengths), -1) / h[:, None]).reshape(-1)
            return ttr / h[panel.series_index]

    @property
    def tau_prev(self) -> np.ndarray:
        """Time to resolution at t−1, fraction of the series' horizon."""
        return self.at_start(self._row_tau())

    @property
    def tau(self) -> np.ndarray:
        return self.at_end(self._row_tau())

    def values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Unscaled values of a coordinate and the mask where they exist.

        Transforms of p (Φ⁻¹, logit) and τ are evaluated once per panel row and
        read at both end points of each increment (the same numbers as evaluating
        them at p_{t−1} and at p_t separately); the arithmetic is done in place, in
        the order of the formulas (the same floats as evaluating them directly)."""
        if name == "raw":
            return self.dp, np.ones(self.n, dtype=bool)
        if name not in COORDINATES:
            raise ValueError(f"unknown coordinate {name!r}; expected one of {', '.join(COORDINATES)}")
        pr = self.panel.p
        mz = self._memoised
        dt = self.dt
        # masks shared by the coordinates (memoised while WN301 reads all four)
        inside = mz("inside", lambda: _inside(pr))
        inner_prev = mz("inner_prev", lambda: self.at_start(inside))
        inner = mz("inner", lambda: inner_prev & self.at_end(inside))
        ok_dt = mz("ok_dt", lambda: dt > 0)
        sqrt_dt = mz("sqrt_dt", lambda: np.sqrt(dt))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if name == "logit":
                if self._equal_length:
                    return self._scaled_diff_rows(lambda a, b: special.logit(pr[a:b]), sqrt_dt), inner & ok_dt
                lg = special.logit(pr)
                v = self.diff(lg)
                del lg
                v /= sqrt_dt
                return v, inner & ok_dt
            tau_row = self._row_tau()
            tau_prev = mz("tau_prev", lambda: self.at_start(tau_row))
            ok_tau_prev = mz("ok_tau_prev", lambda: tau_prev > 0)
            if name == "probit_clock":
                # docs/checks.md: z_t = Δp_t / (φ(Φ⁻¹(p_{t−1}))·√(Δt/τ_{t−1})), φ(x) =
                # exp(−0.5·x·x)/√(2π) as dists.norm.pdf evaluates it
                nd = mz("ndtri", lambda: special.ndtri(pr))
                if self._equal_length:
                    return self._probit_clock_rows(nd, dt, tau_prev), inner_prev & ok_dt & ok_tau_prev
                g = self.at_start(nd)
                dens = np.multiply(-0.5, g)
                dens *= g
                del g
                np.exp(dens, out=dens)
                dens /= stats._SQRT2PI
                q = np.divide(dt, tau_prev)
                np.sqrt(q, out=q)
                dens *= q
                del q
                np.divide(self.dp, dens, out=dens)
                return dens, inner_prev & ok_dt & ok_tau_prev
            # latent: S_t = Φ⁻¹(p_t)·√τ_t (docs/checks.md; Archak & Ipeirotis 2009)
            nd = mz("ndtri", lambda: special.ndtri(pr))
            if self._equal_length:
                def latent(a: int, b: int) -> np.ndarray:
                    S = np.sqrt(tau_row[a:b])
                    S *= nd[a:b]
                    return S

                v = self._scaled_diff_rows(latent, sqrt_dt)
            else:
                S = np.sqrt(tau_row)
                S *= nd
                v = self.diff(S)
                del S
                v /= sqrt_dt
            ok = inner & ok_dt
            ok &= ok_tau_prev
            ok &= self.at_end(tau_row >= 0)
            return v, ok

    def _scaled_diff_rows(self, transform, sqrt_dt: np.ndarray) -> np.ndarray:
        """``diff(f) / sqrt_dt`` for a per-panel-row transform f when every series has L
        rows, a few hundred series at a time: ``transform(a, b)`` gives f on panel rows
        a..b − 1, and only that block of f exists at once (no (N_panel,) array of f).
        The same subtractions and divisions, so the same floats as :meth:`diff`."""
        L = self._equal_length
        S = self.panel.n_obs // L
        out = np.empty((S, L - 1))
        SD = sqrt_dt.reshape(S, L - 1)
        R = max(1, BLOCK_CELLS // L)
        for r0 in range(0, S, R):
            r1 = min(r0 + R, S)
            F = transform(r0 * L, r1 * L).reshape(r1 - r0, L)
            o = out[r0:r1]
            np.subtract(F[:, 1:], F[:, :-1], out=o)
            o /= SD[r0:r1]
        return out.reshape(-1)

    def _probit_clock_rows(self, nd: np.ndarray, dt: np.ndarray, tau_prev: np.ndarray) -> np.ndarray:
        """The probit-clock values of :meth:`values` when every series has L rows, a few
        hundred series at a time: Φ⁻¹(p_{t−1}) read as a column slice of the (S, L) matrix
        and the block's density and clock factor kept in cache, instead of a gathered copy
        and two more (N,) temporaries. The same operations on the same operands in the
        same order (elementwise), so the same floats."""
        L = self._equal_length
        S = len(nd) // L
        G = nd.reshape(S, L)
        DT, TP, DP = dt.reshape(S, L - 1), tau_prev.reshape(S, L - 1), self.dp.reshape(S, L - 1)
        out = np.empty((S, L - 1))
        R = max(1, BLOCK_CELLS // (L - 1))
        qb = np.empty((min(R, S), L - 1))
        for r0 in range(0, S, R):
            r1 = min(r0 + R, S)
            dens, g, q = out[r0:r1], G[r0:r1, :-1], qb[:r1 - r0]
            np.multiply(-0.5, g, out=dens)
            dens *= g
            np.exp(dens, out=dens)
            dens /= stats._SQRT2PI
            np.divide(DT[r0:r1], TP[r0:r1], out=q)
            np.sqrt(q, out=q)
            dens *= q
            np.divide(DP[r0:r1], dens, out=dens)
        return out.reshape(-1)

    def coordinate(self, name: str) -> Coordinate:
        """Per-series RMS-scaled increments in one coordinate, series with at least
        ``MIN_INCREMENTS`` usable values."""
        v, ok = self.values(name)
        ok &= np.isfinite(v)
        s_all = self.panel.n_series
        every = bool(ok.all())
        ser = self.series if every else self.series[ok]
        u = v if every else v[ok]
        del v
        cnt = self.series_counts if every else np.bincount(ser, minlength=s_all)
        L = self._equal_length if every else 0
        # (a square can overflow: increments beyond 1e154, e.g. the probit-clock increment of
        # a jump from 1e-300, Δp/φ(Φ⁻¹(p)) ≈ 1e298; such a series has no finite scale and is
        # left out of this coordinate)
        with np.errstate(over="ignore"):
            ss = _row_sums_of_squares(u.reshape(s_all, L - 1)) if L else np.bincount(ser, weights=u * u,
                                                                                         minlength=s_all)
        with np.errstate(divide="ignore", invalid="ignore"):
            rms = np.sqrt(ss / cnt)
        use_series = (cnt >= MIN_INCREMENTS) & (rms > 0) & np.isfinite(rms)
        series_ids = np.flatnonzero(use_series)
        row = self.row
        if not use_series[cnt > 0].all():  # = use_series[ser].all(): ser holds the series with cnt > 0
            sub = use_series[ser]
            ok &= use_series[self.series]
            ser, u = ser[sub], u[sub]
            every = False
        if not every:
            row = row[ok]
        scale = rms[series_ids]
        if len(series_ids) == s_all:  # every panel series is a segment: compact ids are the series numbers
            seg = ser
            L = L if every else 0
            if L:  # the same divisions, by broadcasting instead of gathering scale[seg]
                if name == "raw":  # u is the panel's own Δp
                    x = (u.reshape(s_all, L - 1) / scale[:, None]).reshape(-1)
                else:  # u was computed for this call: divided in place, no second (N,) array
                    U = u.reshape(s_all, L - 1)
                    U /= scale[:, None]
                    x = u
                    del U
                return Coordinate(name=name, x=x, seg=seg, series=series_ids, row=row, scale=scale)
        else:
            compact = np.full(s_all, -1, dtype=np.int64)
            compact[series_ids] = np.arange(len(series_ids))
            seg = compact[ser]
        return Coordinate(name=name, x=u / scale[seg], seg=seg, series=series_ids, row=row, scale=scale)


def row_sums(U: np.ndarray, center: np.ndarray | None = None, square: bool = False) -> np.ndarray:
    """Σ of each row of U (of (u − center_row)² or u² when asked), added left to right —
    the floats of ``np.bincount(rows, weights=…)`` over the flat values — from
    transposed blocks of rows whose column sums run in cache, without (N,) temporaries."""
    S, m = U.shape
    out = np.empty(S)
    R = max(1, BLOCK_CELLS // max(m, 1))
    for r0 in range(0, S, R):
        B = U[r0:r0 + R]
        if center is not None:
            B = B - center[r0:r0 + R, None]
            if square:
                B *= B
        elif square:
            B = B * B
        out[r0:r0 + R] = column_sums(np.ascontiguousarray(B.T))
    return out


def _row_sums_of_squares(U: np.ndarray) -> np.ndarray:
    return row_sums(U, square=True)


BLOCK_CELLS = 1 << 16  # values per (L, c) block of segment_blocks (512 KB: the block stays in cache)


def segment_blocks(x: np.ndarray, groups, max_cells: int = BLOCK_CELLS):
    """``(ids, block, L)`` for the contiguous segments of each length L
    (:func:`segments.length_groups`), a few at a time: ``block`` is the (L, c)
    C-contiguous matrix whose columns are c of those segments (as
    :func:`segments.segment_block` forms all of them at once). Per-segment column
    sums of the blocks are the same floats as of the one big block (each column is
    added row by row either way); the products and sums stay in cache instead of
    streaming (L, g) temporaries through memory."""
    for ids, st, L in groups:
        c = max(1, max_cells // max(L, 1))
        for a in range(0, len(ids), c):
            s = st[a:a + c]
            g, s0 = len(s), int(s[0])
            if int(s[-1]) - s0 == (g - 1) * L:  # consecutive segments: one slice, transposed
                blk = np.ascontiguousarray(x[s0:s0 + g * L].reshape(g, L).T)
            else:
                blk = x[np.arange(L)[:, None] + s[None, :]]
            yield ids[a:a + c], blk, L


def bucket_index(key: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bucket of each ``key`` among increasing ``edges`` (int8):
    ``clip(searchsorted(edges, key, side="right") − 1, 0, len(edges) − 2)``, computed
    by comparisons (NaN, which searchsorted sorts last, goes to the last bucket)."""
    nb = len(edges) - 1
    if nb > 127:
        return np.clip(np.searchsorted(edges, key, side="right") - 1, 0, nb - 1)
    b = np.full(len(key), -1, dtype=np.int8)
    for e in edges:
        b += key >= e
    b[np.isnan(key)] = nb - 1
    np.clip(b, 0, nb - 1, out=b)
    return b


def _inside(p: np.ndarray) -> np.ndarray:
    """0 < p < 1."""
    ok = p > 0
    ok &= p < 1
    return ok


def dispersion_by_index(x2: np.ndarray, b: np.ndarray, edges: np.ndarray, min_count: int = 30,
                        cnt: np.ndarray | None = None) -> dict:
    """:func:`dispersion_by_bucket` from the squared values and their bucket index
    (``cnt``: ``np.bincount(b, minlength=len(edges) − 1)`` when the caller has it)."""
    nb = len(edges) - 1
    if cnt is None:
        cnt = np.bincount(b, minlength=nb)
    ms = np.bincount(b, weights=x2, minlength=nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        ms = ms / cnt
    used = cnt >= min_count
    ratio = float(ms[used].max() / ms[used].min()) if used.sum() >= 2 and ms[used].min() > 0 else None
    return {"edges": [float(e) for e in edges], "count": cnt.tolist(),
            "mean_square": [float(m) if u else None for m, u in zip(ms, used)], "ratio": ratio}


def dispersion_by_bucket(x: np.ndarray, key: np.ndarray, edges: np.ndarray, min_count: int = 30) -> dict:
    """Mean square of scaled increments per bucket of ``key`` and the max/min ratio.

    For homoskedastic scaled increments every bucket's mean square is ≈ 1, so the
    ratio is ≈ 1; a coordinate that leaves state or clock dependence gives a large
    ratio."""
    return dispersion_by_index(x**2, bucket_index(key, edges), edges, min_count)


def segment_rms(x: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(seg_sum(x**2, seg, n_seg) / seg_count(seg, n_seg))

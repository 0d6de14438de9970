"""Cross-series dependence of same-time increments (MG106).

All states of one election share a national swing, so their increments on a given
day are correlated and a pooled sum over S series carries less information than S
independent ones. For values v_it (an increment, or a per-increment score such as
(1 − 2p_{t−1})Δp_t) that are martingale differences in time, cross-time covariances
vanish and

    Var(Σ_i Σ_t v_it) = Σ_t Var(Σ_i v_it),

so the design effect (Kish 1965) of the pooled sum is estimated by

    deff = Σ_t (Σ_i v_it)² / Σ_t Σ_i v_it²,

the ratio of the time-clustered to the independence variance (a Driscoll–Kraay
/ time-clustered variance with zero lags, 1998 *REStat* 80(4)). With declared
clusters the sums run over (cluster, time) cells: series of different clusters
are taken as independent. The average pairwise correlation ρ̄ uses the same cells
on increments standardised per series, and N_eff = S / (1 + (n̄ − 1) ρ̄) with n̄ the
mean number of series sharing a time, capped to [1, S]; N_eff = S when the
same-time dependence is not significant (z ≤ 2, see ``Dependence.z``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

#: |drift_z| beyond which the same-time values share a drift that a martingale's
#: revisions do not have (self-normalised, so |drift_z| ≤ √cells: never below 17 cells)
COMMON_DRIFT_Z = 4.0


@dataclass(frozen=True)
class Dependence:
    deff: float  # design effect of the pooled sum of the given values (≥ 0, unclipped)
    rho: float  # average pairwise correlation of standardised same-time values
    n_eff: float  # effective number of independent series
    n_series: int
    n_cells: int  # (cluster, time) cells with at least two series
    mean_sharing: float  # mean number of series per cell (over values)
    z: float = 0.0  # test of deff = 1 (no same-time dependence), ~N(0,1) under independence
    # Σ_c D_c / √(Σ_c D_c²), D_c the sum of the values in (cluster, time) cell c: for the
    # in-flight revisions of a martingale whose series resolve at times fixed in advance the
    # cells' sums are martingale differences (whatever the dependence within a time), so this
    # is ~N(0,1); far from 0 the values share a drift (COMMON_DRIFT_Z; docs/checks.md, MG106)
    drift_z: float = 0.0

    @property
    def deff_used(self) -> float:
        """The design effect applied to widen inference: the estimate when it is
        significantly above 1 (z > 2), else 1 — the estimate's own noise under
        independence would otherwise make every test conservative."""
        return max(1.0, self.deff) if self.z > 2.0 else 1.0


def _coded_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct labels as text) of per-series or per-unit cluster labels: the
    form :func:`_cells` takes as ``(codes[series], distinct)``, so that N values are
    factorised as integers, not as N strings (seconds at 10⁷ values)."""
    import pandas as pd

    codes, uniq = pd.factorize(np.asarray(labels).astype(str))
    return np.asarray(codes, np.int64), np.asarray(uniq, dtype=object)


def _cells(time: np.ndarray, cluster_of_value, keys: bool = False):
    """Integer code of each value's (cluster, time) cell, and the number of cells
    (and with ``keys`` each cell's time and cluster label). Hash-based factorisation
    (linear time; the cells' numbering does not matter). ``cluster_of_value``: (N,)
    labels, or (codes, distinct labels) from :func:`_coded_labels` gathered per value,
    which number the cells exactly as the labels themselves would (first appearance
    among the values; equal codes are equal labels)."""
    import pandas as pd

    tcode, tuniq = pd.factorize(np.asarray(time, float))
    ckeys = None
    if cluster_of_value is None:
        cell = tcode.astype(np.int64, copy=False)
        tkeys = np.asarray(tuniq, float)
    else:
        if isinstance(cluster_of_value, tuple):
            vcode, distinct = cluster_of_value
            ccode, first = pd.factorize(np.asarray(vcode, np.int64))
            cuniq = np.asarray(distinct, dtype=object)[first]
        else:
            ccode, cuniq = pd.factorize(np.asarray(cluster_of_value).astype(str))
        ccode = ccode.astype(np.int64)
        width = max(len(tuniq), 1)
        cell, kuniq = pd.factorize(ccode * width + tcode)
        cell = cell.astype(np.int64, copy=False)
        kuniq = np.asarray(kuniq, np.int64)
        tkeys = np.asarray(tuniq, float)[kuniq % width]
        ckeys = np.asarray(cuniq, dtype=object)[kuniq // width].astype(str)
    n = int(cell.max()) + 1 if len(cell) else 0
    return (cell, n, tkeys, ckeys) if keys else (cell, n)


@dataclass(frozen=True)
class CellSums:
    """Additive per-cell partial sums of :func:`design_effect` (one row per (cluster,
    time) cell of the values given) plus scalar totals. Partial sums of disjoint sets of
    *whole* series (e.g. Dask partitions holding whole series) combine exactly:
    :func:`combine_cells` adds them cell by cell (cells matched on cluster and time)."""

    time: np.ndarray  # (C,) time of each cell
    cluster: np.ndarray | None  # (C,) declared cluster label (str) of each cell, or None
    tot: np.ndarray  # Σ v
    sq_cell: np.ndarray  # Σ v²
    q4_cell: np.ndarray  # Σ v⁴
    cnt: np.ndarray  # number of values (series present)
    te: np.ndarray  # Σ e, e = v standardised per series (unit mean square)
    te2: np.ndarray  # Σ e²
    sq: float  # Σ v² over all values
    used: int  # series with a non-zero value
    n_series: int
    n_values: int
    clusters: frozenset | None  # declared cluster labels of the series (None: no clusters)


def cell_sums(values: np.ndarray, series: np.ndarray, time: np.ndarray, n_series: int,
              cluster: np.ndarray | None = None, *, cells: tuple | None = None,
              counts: tuple[np.ndarray, np.ndarray] | None = None) -> CellSums:
    """The per-cell partial sums of ``values`` (arguments as :func:`design_effect`);
    ``cells`` : ``_cells(time, cluster[series], keys=True)`` when already formed;
    ``counts`` : (values per cell as float, values per series) of those cells, which do
    not depend on the values (formed once for several value vectors)."""
    values = np.asarray(values, float)
    clusters = None if cluster is None else frozenset(np.asarray(cluster).astype(str).tolist())
    if len(values) == 0:
        z = np.zeros(0)
        return CellSums(z, None if cluster is None else np.zeros(0, dtype=object), z, z, z, z, z, z,
                        0.0, 0, int(n_series), 0, clusters)
    if cells is None:
        cl = None
        if cluster is not None:
            codes, distinct = _coded_labels(cluster)
            cl = (codes[series], distinct)
        cells = _cells(np.asarray(time, float), cl, keys=True)
    cell, nc, tkeys, ckeys = cells
    tot = np.bincount(cell, weights=values, minlength=nc)
    v2 = values * values  # (not values**4 below: a float power is ~100x slower than products)
    sq = np.sum(v2)
    sq_cell = np.bincount(cell, weights=v2, minlength=nc)
    # standardised per series (unit mean square), for a correlation
    per_series = np.bincount(series, minlength=n_series) if counts is None else counts[1]
    ms = np.bincount(series, weights=v2, minlength=n_series) / np.maximum(per_series, 1)
    np.multiply(v2, v2, out=v2)  # v⁴, in place
    q4_cell = np.bincount(cell, weights=v2, minlength=nc)
    # e = values / √ms[series] where ms > 0, else 0 (the root taken per series, then
    # gathered into v⁴'s buffer: the same numbers as gathering first, no new N-sized array)
    moves = ms > 0
    e = np.take(np.sqrt(ms), series, out=v2, mode="clip")  # (in range: ms has a bin per series)
    del v2
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(values, e, out=e)
    if not np.all(moves):  # (the usual case: every series moves, nothing to mask)
        e[~moves[series]] = 0.0
    cnt = np.bincount(cell, minlength=nc).astype(float) if counts is None else counts[0]  # series present
    te = np.bincount(cell, weights=e, minlength=nc)
    np.multiply(e, e, out=e)
    te2 = np.bincount(cell, weights=e, minlength=nc)
    del e
    # series with a non-zero value: those whose Σv² > 0, unless a series with values has
    # Σv² = 0 (all zero, or squares below the smallest double): then counted from the values
    if np.all(moves | (per_series == 0)):
        used = int(np.count_nonzero(moves))
    else:
        used = int(np.count_nonzero(np.bincount(series[values != 0], minlength=n_series)))
    return CellSums(time=tkeys, cluster=ckeys,
                    tot=tot, sq_cell=sq_cell, q4_cell=q4_cell, cnt=cnt, te=te, te2=te2, sq=sq, used=used,
                    n_series=int(n_series), n_values=len(values), clusters=clusters)


def combine_cells(parts: list[CellSums]) -> Dependence:
    """:class:`Dependence` of the union of the (disjoint, whole-series) parts: the
    per-cell sums are added cell by cell, then the ratios are formed once."""
    parts = list(parts)
    n_series = sum(p.n_series for p in parts)
    nonempty = [p for p in parts if p.n_values]
    if not nonempty:
        return Dependence(1.0, 0.0, float(n_series), n_series, 0, 1.0, 0.0)
    if len(nonempty) == 1:
        c = nonempty[0]
        tot, sq_cell, q4_cell, cnt, te, te2 = c.tot, c.sq_cell, c.q4_cell, c.cnt, c.te, c.te2
        sq = c.sq
    else:
        t = np.concatenate([p.time for p in nonempty])
        cl = None if nonempty[0].cluster is None else np.concatenate([p.cluster for p in nonempty])
        cell, nc = _cells(t, cl)

        def add(name):
            return np.bincount(cell, weights=np.concatenate([getattr(p, name) for p in nonempty]), minlength=nc)

        tot, sq_cell, q4_cell, cnt, te, te2 = (add(n) for n in ("tot", "sq_cell", "q4_cell", "cnt", "te", "te2"))
        sq = sum(p.sq for p in nonempty)
    deff = float(np.sum(tot**2) / sq) if sq > 0 else 1.0
    # under independence Var(Σ_{i≠j} v_i v_j) = 2 Σ_{i≠j} v_i² v_j² within each cell
    var0 = 2.0 * np.sum(sq_cell**2 - q4_cell)
    z = float(np.sum(tot**2 - sq_cell) / np.sqrt(var0)) if var0 > 0 else 0.0
    pairs = np.sum(cnt * (cnt - 1))
    rho = float(np.sum(te**2 - te2) / pairs) if pairs > 0 else 0.0
    used = sum(p.used for p in parts) or n_series
    nbar = float(np.sum(cnt**2) / np.sum(cnt)) if np.sum(cnt) > 0 else 1.0  # series sharing a time
    n_eff = used / max(1.0 + (nbar - 1.0) * rho, 1.0)
    if z <= 2.0:  # no significant same-time dependence: do not shrink on noise
        n_eff = float(used)
    if parts[0].clusters is not None:
        n_eff = min(n_eff, float(len(frozenset().union(*(p.clusters for p in parts)))))
    tot_sq = float(np.sum(tot**2))
    drift_z = float(np.sum(tot) / np.sqrt(tot_sq)) if tot_sq > 0 else 0.0
    return Dependence(deff=deff, rho=rho, n_eff=float(min(max(n_eff, 1.0), used)), n_series=int(used),
                      n_cells=int(np.sum(cnt >= 2)), mean_sharing=nbar, z=z, drift_z=drift_z)


def design_effect(values: np.ndarray, series: np.ndarray, time: np.ndarray | None, n_series: int,
                  cluster: np.ndarray | None = None, *, cells: tuple | None = None) -> Dependence:
    """Design effect and average same-time correlation of ``values`` across series.

    values, series, time : flat arrays (one entry per increment); cluster : (S,)
    declared cluster of each series or None (then every series may be related).
    ``cells`` : the (cluster, time) cells when already formed (as :func:`cell_sums`;
    ``time`` is then not read). One implementation for both engines: per-cell sums
    (:func:`cell_sums`), combined (:func:`combine_cells`; the Dask engine combines one
    part per partition).
    """
    return combine_cells([cell_sums(values, series, time, n_series, cluster, cells=cells)])


@dataclass(frozen=True)
class UnitDependence:
    """Dependence of a pooled statistic's own contributions, units nested in time.

    Contributions are first summed within (unit, time) cells — a unit is a question
    (its contracts' same-time terms may be mirror images), or a declared cluster —
    so a mirror-image pair counts once and the sign of a correlation inside a unit
    cannot cancel. Across units the time-clustered design effect of the unit sums
    (``design_effect``; cells within declared clusters) measures a common factor
    of either sign as it enters the statistic.

    deff : total design effect of the contract-level sum, max(1, within)·across_used
    deff_within : Σ_{u,t} w² / Σ v² (≥ 2 for a mirror pair: its terms are equal)
    deff_across : Σ_t (Σ_u w)² / Σ w², unclipped; z its test (used when z > 2)
    n_eff : effective number of independent units, n_units / across_used (≤ clusters)
    """

    deff: float
    deff_within: float
    deff_across: float
    z: float
    rho_units: float
    n_units: int
    n_eff: float

    @property
    def deff_across_used(self) -> float:
        return max(1.0, self.deff_across) if self.z > 2.0 else 1.0


def _dense_rank(codes: np.ndarray) -> np.ndarray:
    """Rank of each value among the distinct values (0, 1, …), as
    ``np.unique(codes, return_inverse=True)[1]`` — without sorting N values when the
    codes are small non-negative integers (unit codes are)."""
    codes = np.asarray(codes)
    if codes.dtype.kind in "iu" and len(codes) and codes.min() >= 0 and codes.max() < 4 * len(codes) + 1024:
        seen = np.bincount(codes) > 0
        return (np.cumsum(seen) - 1)[codes].astype(np.int64)
    return np.unique(codes, return_inverse=True)[1].ravel().astype(np.int64)


def _unit_time_cells(ucode: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit, time) cell of each value, numbered in lexicographic (unit, time) order —
    the order of ``np.unique(np.stack([unit, time]), axis=1)``, which sorted N
    structured rows (seconds at 10⁷ values) — and each cell's unit and time."""
    cell, cu, ct, tfac = _unit_time_cells_ex(ucode, time)
    if cell is None:
        cell = np.arange(len(cu), dtype=np.int64)
        ct = np.asarray(tfac[1], float)[tfac[0]]
    return cell, cu, ct


def _unit_time_cells_ex(ucode: np.ndarray, time: np.ndarray):
    """:func:`_unit_time_cells` with cell None when every value is its own cell, in
    order (one value per unit and time, sorted: a panel whose units are its series),
    and then, instead of the cells' times ct (None), the time factorisation (codes,
    distinct times): ct = distinct[codes], and the codes number the time cells of the
    unit sums exactly as ``_cells(ct)`` would (first appearance); else that is None.

    Times are replaced by their rank among the distinct times (hash factorisation,
    then a sort of the distinct times only), so one int64 key orders the cells;
    values already in key order (series sorted by time, units in series order: the
    usual panel) are numbered by run length, a few sorted runs are merged by a stable
    sort, otherwise the distinct keys are sorted."""
    import pandas as pd

    tcode, tuniq = pd.factorize(time)
    order = np.argsort(tuniq, kind="stable")
    trank = np.empty(len(tuniq), np.int64)
    trank[order] = np.arange(len(tuniq))
    n_t = max(len(tuniq), 1)
    key = trank[tcode]
    key += np.multiply(ucode, n_t)
    tsorted = np.asarray(tuniq, float)[order]
    if np.all(key[1:] > key[:-1]) and (len(tcode) == 0 or tcode.min() >= 0):  # (−1: a NaN time)
        # each value its own cell (keys strictly increasing): cell i is value i (unit
        # ucode[i], time time[i]), and the time cells of the cells are tcode (the
        # first-appearance numbering of the cells' times, as factorising them gives)
        return None, np.asarray(ucode, np.int64), None, (tcode, tuniq)
    descents = np.count_nonzero(key[1:] < key[:-1])
    if descents == 0:
        starts = np.concatenate(([True], key[1:] != key[:-1]))
        del tcode
        cell = np.cumsum(starts)
        cell -= 1
        ukey = key[starts]
    elif descents <= 64:
        del tcode
        # a few sorted runs (e.g. MG103's in-flight rows, then the resolution rows):
        # numpy's stable sort merges runs in about linear time
        by_key = np.argsort(key, kind="stable")
        sk = key[by_key]
        del key
        starts = np.concatenate(([True], sk[1:] != sk[:-1]))
        ukey = sk[starts]
        del sk
        rank = np.cumsum(starts)
        rank -= 1
        cell = np.empty(len(by_key), np.int64)
        cell[by_key] = rank
        del rank, by_key
    else:
        del tcode
        kcode, kuniq = pd.factorize(key)
        korder = np.argsort(kuniq, kind="stable")
        krank = np.empty(len(kuniq), np.int64)
        krank[korder] = np.arange(len(kuniq))
        cell = krank[kcode]
        ukey = kuniq[korder]
    return cell.astype(np.int64, copy=False), (ukey // n_t).astype(np.int64), tsorted[ukey % n_t], None


def _compact(codes: np.ndarray, n: int) -> np.ndarray:
    """Integer codes in 0..n−1 in the smallest unsigned type (a cached cell structure
    at 10⁷ values: 10 MB for 100 distinct times instead of 80)."""
    return codes.astype(np.min_scalar_type(max(n - 1, 0)))


@dataclass(frozen=True)
class UnitCells:
    """The cell structure of :func:`unit_sums_many` for given contributions (series,
    time) and units: it depends on neither the values summed nor their number, so
    several statistics on the same contributions share it (``CheckContext.increment_cells``).

    cell : (N,) (unit, time) cell of each value, or None when value i is cell i
    (then the cells' units are ``ucode_s[series]``, not stored)."""

    n_values: int
    n_units: int
    ucode_s: np.ndarray  # (S,) dense unit code of each series (−1: no values)
    cell: np.ndarray | None
    cu: np.ndarray | None  # (C,) unit of each cell (None with cell None)
    cl: np.ndarray | None  # (n_units,) declared cluster (str) of each unit, or None
    across: np.ndarray  # (C,) (cluster, time) cell of each (unit, time) cell, compact integers
    n_across: int
    across_time: np.ndarray  # (n_across,) time of each across cell
    across_cluster: np.ndarray | None  # (n_across,) cluster label, or None
    cnt: np.ndarray  # (n_across,) float, unit cells in each across cell
    per_unit: np.ndarray  # (n_units,) cells of each unit
    units_are_series: bool = False  # every series present and its own unit, in order

    def units_of_cells(self, series: np.ndarray) -> np.ndarray:
        if self.cu is not None:
            return self.cu
        if self.units_are_series:
            return np.asarray(series, np.int64)  # (ucode_s is 0..S−1: a gather of N codes spared)
        return self.ucode_s[series]


def unit_cells(series: np.ndarray, time: np.ndarray, unit_of_series: np.ndarray | None,
               cluster_of_series: np.ndarray | None = None) -> UnitCells | None:
    """The :class:`UnitCells` of contributions (series, time) (arguments as
    :func:`unit_design_effect`); None when there are none."""
    series = np.asarray(series, np.int64)
    if len(series) == 0:
        return None
    n_s = int(series.max()) + 1
    unit_s = np.arange(n_s) if unit_of_series is None else np.asarray(unit_of_series, np.int64)
    # dense rank of each value's unit among the units present (``_dense_rank`` of the
    # N units), ranked over the series present and gathered once
    per_series = np.bincount(series, minlength=n_s)
    present = per_series > 0
    ucode_s = np.full(n_s, -1, dtype=np.int64)
    ucode_s[present] = _dense_rank(unit_s[:n_s][present])
    n_units = int(ucode_s.max()) + 1
    if cluster_of_series is None:
        fast = _own_cells(series, np.asarray(time, float), ucode_s, present, per_series, n_units)
        if fast is not None:
            return fast
    ucode = ucode_s[series]
    cl = None
    if cluster_of_series is not None:
        # cluster of each unit (units nest in clusters): that of the series of the unit's
        # last value, found on integer codes (an assignment of N series numbers, then S
        # labels, not N strings)
        last_series = np.empty(n_units, dtype=np.int64)
        last_series[ucode] = series
        cl = np.asarray(cluster_of_series).astype(str)[last_series].astype(object)
    cell, cu, ct, tfac = _unit_time_cells_ex(ucode, np.asarray(time, float))
    del ucode
    # the (cluster, time) cells of the unit sums, shared by every value vector
    if tfac is not None and cl is None:
        tcode, tuniq = tfac  # = _cells(ct)'s numbering (see _unit_time_cells_ex)
        across = (tcode, len(tuniq), np.asarray(tuniq, float), None)
    else:
        if tfac is not None:
            ct = np.asarray(tfac[1], float)[tfac[0]]
        coded = None
        if cl is not None:
            codes_u, distinct = _coded_labels(cl)
            coded = (codes_u[cu], distinct)
        across = _cells(np.asarray(ct, float), coded, keys=True)
    del ct, tfac
    a_code, n_a, a_time, a_cl = across
    cnt = np.bincount(a_code, minlength=n_a).astype(float)
    per_unit = np.bincount(cu, minlength=n_units)
    return UnitCells(n_values=len(series), n_units=n_units, ucode_s=ucode_s, cell=cell,
                     cu=None if cell is None else cu, cl=cl, across=_compact(a_code, n_a), n_across=n_a,
                     across_time=a_time, across_cluster=a_cl, cnt=cnt, per_unit=per_unit,
                     units_are_series=bool(np.array_equal(ucode_s, np.arange(n_s))))


def _own_cells(series: np.ndarray, time: np.ndarray, ucode_s: np.ndarray, present: np.ndarray,
               per_series: np.ndarray, n_units: int) -> UnitCells | None:
    """:func:`unit_cells` without declared clusters when every value is its own
    (unit, time) cell, found without forming the N (unit, time) keys of
    ``_unit_time_cells_ex``; else None. Needs each present series its own unit and
    the values in one or two runs sorted by series and strictly by time within a
    series: a panel's increments (the cells in order, as the keys' first case numbers
    them), or MG103's in-flight rows followed by one resolution row per series, each
    later than its series' in-flight rows (the cells' lexicographic ranks found by
    counting, as the keys' stable sort ranks them). The same structure either way:
    the across cells are the first-appearance codes of the cells' times, a unit's
    cells its series' values. Units numbered out of series order (the pooled panel of
    two-outcome questions: questions first, one contract each) move each series'
    block of cells to its unit's place (:func:`_cells_in_unit_order`)."""
    up = ucode_s[present]
    in_order = len(up) <= 1 or bool(np.all(up[1:] > up[:-1]))
    if not in_order and len(up) != n_units:  # (up are dense ranks: distinct iff n_units of them)
        return None
    down = np.flatnonzero(series[1:] < series[:-1])
    if len(down) > 1:
        return None
    cell = cu = None
    per_unit = per_series[present]
    grid = None if len(down) else _repeated_grid(time, per_unit)  # (per_unit: the series' counts here)
    if not in_order and grid is not None:
        # every unit's block is the grid: the across codes below hold in unit order too
        cell, cu, per_unit = _cells_in_unit_order(None, series, up, present, per_series, n_units)
    if grid is not None:
        # the first-appearance codes of the times are the grid's positions, repeated
        n_a = len(grid)
        across = np.tile(_compact(np.arange(n_a), n_a), len(series) // n_a)
        a_time = grid.copy()
        cnt = np.full(n_a, float(len(series) // n_a))
    else:
        step = np.not_equal(series[1:], series[:-1])
        step |= time[1:] > time[:-1]  # (a NaN time is never greater: general path)
        if not step.all():
            return None
        del step
        import pandas as pd

        ct = time
        if len(down):  # two runs [:m] and [m:]
            m = int(down[0]) + 1
            a_s, b_s = series[:m], series[m:]
            last = np.searchsorted(a_s, b_s, side="right")  # A's values of series ≤ each B value's
            prev = np.maximum(last - 1, 0)
            shared = (last > 0) & (a_s[prev] == b_s)
            if not np.all(time[m:][shared] > time[:m][prev[shared]]):  # B after its series' A values
                return None
            n_b_before = np.cumsum(np.bincount(b_s, minlength=len(ucode_s)))
            n_b_before -= np.bincount(b_s, minlength=len(ucode_s))  # B values of earlier series
            cell = np.empty(len(series), np.int64)
            np.add(np.arange(m), n_b_before[a_s], out=cell[:m])
            np.add(np.arange(len(b_s)), last, out=cell[m:])
            cu = np.repeat(up, per_series[present])
        if not in_order:
            cell, cu, per_unit = _cells_in_unit_order(cell, series, up, present, per_series, n_units)
        if cell is not None:
            ct = np.empty(len(series))
            ct[cell] = time
        tcode, tuniq = pd.factorize(ct)
        if len(tcode) and tcode.min() < 0:  # a NaN time
            return None
        n_a = len(tuniq)
        cnt = np.bincount(tcode, minlength=n_a).astype(float)
        across, a_time = _compact(tcode, n_a), np.asarray(tuniq, float)
        del tcode
    n_s = len(ucode_s)
    return UnitCells(n_values=len(series), n_units=n_units, ucode_s=ucode_s, cell=cell, cu=cu, cl=None,
                     across=across, n_across=n_a, across_time=a_time,
                     across_cluster=None, cnt=cnt, per_unit=per_unit,
                     units_are_series=bool(np.array_equal(ucode_s, np.arange(n_s))))


def _cells_in_unit_order(cell: np.ndarray | None, series: np.ndarray, up: np.ndarray, present: np.ndarray,
                         per_series: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, cu, per_unit) of own cells whose units ``up`` (of the present series, in
    series order; distinct) are not numbered in series order: ``cell`` (None: value i
    is cell i) ranks the cells with series in series order, and each series' block of
    consecutive cells moves to the place of its unit in (unit, time) order, the order
    the keyed path (``_unit_time_cells_ex``) numbers them in."""
    counts = per_series[present]
    per_unit = np.empty(n_units, np.int64)
    per_unit[up] = counts
    unit_start = np.cumsum(per_unit)
    unit_start -= per_unit
    series_start = np.cumsum(counts)
    series_start -= counts
    shift = np.zeros(len(per_series), np.int64)
    shift[present] = unit_start[up] - series_start
    moved = shift[series]
    moved += np.arange(len(series)) if cell is None else cell
    return moved, np.repeat(np.arange(n_units, dtype=np.int64), per_unit), per_unit


def _repeated_grid(time: np.ndarray, per_series: np.ndarray) -> np.ndarray | None:
    """The times of the first series when the values are whole series one after
    another (series sorted; ``per_series`` their counts) that all have these times,
    strictly increasing (the usual panel: one grid); else None. Factorising the N
    times by hash then only repeats what the first series' times give."""
    if len(per_series) == 0 or not np.all(per_series == per_series[0]):
        return None
    rows = time.reshape(len(per_series), int(per_series[0]))
    grid = rows[0]
    if not (np.all(grid[1:] > grid[:-1]) and np.array_equal(rows, np.broadcast_to(grid, rows.shape))):
        return None
    return grid


@dataclass(frozen=True)
class UnitSums:
    """Additive partial sums of :func:`unit_design_effect` over a set of whole units
    (a Dask partition's series): Σ v², Σ_{u,t} w², units used and the cells of the
    unit sums w (:class:`CellSums`). Combined by :func:`combine_units`."""

    sq: float
    w2: float
    n_units: int
    used_units: int
    cells: CellSums
    n_values: int


def unit_sums(values: np.ndarray, series: np.ndarray, time: np.ndarray,
              unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None, *,
              cells: UnitCells | None = None) -> UnitSums:
    """The partial sums of :func:`unit_design_effect` (same arguments)."""
    return unit_sums_many([values], series, time, unit_of_series, cluster_of_series, cells=cells)[0]


def unit_sums_many(values_list: Iterable[np.ndarray], series: np.ndarray, time: np.ndarray,
                   unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None, *,
                   cells: UnitCells | None = None) -> list[UnitSums]:
    """:func:`unit_sums` of several value vectors on the same contributions (series,
    time): the (unit, time) cells and their (cluster, time) cells are formed once
    (MG105's three horizons q), or given (``cells``: :func:`unit_cells` of the same
    arguments; ``time`` is then not read and may be None). ``values_list`` is read
    once, in order (a generator forms each vector only when it is summed)."""
    series = np.asarray(series, np.int64)
    if len(series) == 0:
        return [UnitSums(0.0, 0.0, 0, 0, cell_sums(np.zeros(0), series, time, 0), 0) for _ in values_list]
    uc = unit_cells(series, time, unit_of_series, cluster_of_series) if cells is None else cells
    if uc.n_values != len(series):
        raise ValueError("cells formed on other contributions")
    n_units = uc.n_units
    cu = uc.units_of_cells(series)
    across = (uc.across.astype(np.int64), uc.n_across, uc.across_time, uc.across_cluster)
    counts = (uc.cnt, uc.per_unit)
    n_cells = len(cu)
    out = []
    for values in values_list:
        values = np.asarray(values, float)
        n = len(values)
        # the unit sums w; one value per cell: the values themselves (a bincount adds
        # each to 0.0, the same number up to the sign of a zero, which no sum below sees)
        w = values if uc.cell is None else np.bincount(uc.cell, weights=values, minlength=n_cells)
        sq = None if uc.cell is None else float(np.sum(values**2))
        cs = cell_sums(w, cu, None, n_units, uc.cl, cells=across, counts=counts)
        del values, w  # before the next vector is formed
        # Σ w² and the units with a non-zero sum are cell_sums' Σ v² and series used (the
        # same expressions on w); with one value per cell Σ v² = Σ w²
        out.append(UnitSums(sq=float(cs.sq) if sq is None else sq, w2=float(cs.sq), n_units=n_units,
                            used_units=cs.used, cells=cs, n_values=n))
    return out


def combine_units(parts: list[UnitSums]) -> UnitDependence:
    """:class:`UnitDependence` of the union of disjoint parts holding whole units."""
    parts = [p for p in parts if p.n_values]
    if not parts:
        return UnitDependence(1.0, 1.0, 1.0, 0.0, 0.0, 0, 0.0)
    sq = parts[0].sq if len(parts) == 1 else sum(p.sq for p in parts)
    w2 = parts[0].w2 if len(parts) == 1 else sum(p.w2 for p in parts)
    n_units = sum(p.n_units for p in parts)
    within = float(w2 / sq) if sq > 0 else 1.0
    used_units = sum(p.used_units for p in parts) or n_units
    dep = combine_cells([p.cells for p in parts])
    across_used = max(1.0, dep.deff) if dep.z > 2.0 else 1.0
    n_eff = used_units / across_used
    if parts[0].cells.clusters is not None:
        n_eff = min(n_eff, float(len(frozenset().union(*(p.cells.clusters for p in parts)))))
    return UnitDependence(deff=max(1.0, within) * across_used, deff_within=within, deff_across=dep.deff, z=dep.z,
                          rho_units=dep.rho, n_units=int(used_units), n_eff=float(max(1.0, n_eff)))


def unit_design_effect(values: np.ndarray, series: np.ndarray, time: np.ndarray,
                       unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None, *,
                       cells: UnitCells | None = None) -> UnitDependence:
    """:class:`UnitDependence` of flat ``values`` (one per contribution) with their
    series and time; ``unit_of_series`` (S,) int unit codes (None: every series is its
    own unit); ``cluster_of_series`` (S,) declared clusters or None. Partial sums
    (:func:`unit_sums`) combined (:func:`combine_units`), as the Dask engine does per
    partition. ``cells`` : :func:`unit_cells` of (series, time, units, clusters) when
    already formed."""
    return combine_units([unit_sums(values, series, time, unit_of_series, cluster_of_series, cells=cells)])


def unit_design_effects(values_list: Iterable[np.ndarray], series: np.ndarray, time: np.ndarray,
                        unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None, *,
                        cells: UnitCells | None = None) -> list[UnitDependence]:
    """:func:`unit_design_effect` of several value vectors on the same contributions,
    the cells formed once (:func:`unit_sums_many`) or given (``cells``)."""
    return [combine_units([p]) for p in unit_sums_many(values_list, series, time, unit_of_series,
                                                       cluster_of_series, cells=cells)]

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

import numpy as np


@dataclass(frozen=True)
class Dependence:
    deff: float  # design effect of the pooled sum of the given values (≥ 0, unclipped)
    rho: float  # average pairwise correlation of standardised same-time values
    n_eff: float  # effective number of independent series
    n_series: int
    n_cells: int  # (cluster, time) cells with at least two series
    mean_sharing: float  # mean number of series per cell (over values)
    z: float = 0.0  # test of deff = 1 (no same-time dependence), ~N(0,1) under independence

    @property
    def deff_used(self) -> float:
        """The design effect applied to widen inference: the estimate when it is
        significantly above 1 (z > 2), else 1 — the estimate's own noise under
        independence would otherwise make every test conservative."""
        return max(1.0, self.deff) if self.z > 2.0 else 1.0


def _cells(time: np.ndarray, cluster_of_value: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Integer code of each value's (cluster, time) cell, and the number of cells.
    Hash-based factorisation (linear time; the cells' numbering does not matter)."""
    import pandas as pd

    tcode, tuniq = pd.factorize(np.asarray(time, float))
    if cluster_of_value is None:
        cell = tcode.astype(np.int64)
    else:
        ccode = pd.factorize(np.asarray(cluster_of_value).astype(str))[0].astype(np.int64)
        cell = pd.factorize(ccode * max(len(tuniq), 1) + tcode)[0].astype(np.int64)
    return cell, int(cell.max()) + 1 if len(cell) else 0


def design_effect(values: np.ndarray, series: np.ndarray, time: np.ndarray, n_series: int,
                  cluster: np.ndarray | None = None, *, cells: tuple[np.ndarray, int] | None = None) -> Dependence:
    """Design effect and average same-time correlation of ``values`` across series.

    values, series, time : flat arrays (one entry per increment); cluster : (S,)
    declared cluster of each series or None (then every series may be related);
    ``cells`` : ``_cells(time, cluster[series])`` when already formed.
    """
    values = np.asarray(values, float)
    if len(values) == 0:
        return Dependence(1.0, 0.0, float(n_series), n_series, 0, 1.0, 0.0)
    if cells is None:
        cl = None if cluster is None else np.asarray(cluster)[series]
        cells = _cells(np.asarray(time, float), cl)
    cell, nc = cells
    tot = np.bincount(cell, weights=values, minlength=nc)
    v2 = values * values  # (not values**4 below: a float power is ~100x slower than products)
    sq = np.sum(v2)
    deff = float(np.sum(tot**2) / sq) if sq > 0 else 1.0
    # under independence Var(Σ_{i≠j} v_i v_j) = 2 Σ_{i≠j} v_i² v_j² within each cell
    sq_cell = np.bincount(cell, weights=v2, minlength=nc)
    q4_cell = np.bincount(cell, weights=v2 * v2, minlength=nc)
    var0 = 2.0 * np.sum(sq_cell**2 - q4_cell)
    z = float(np.sum(tot**2 - sq_cell) / np.sqrt(var0)) if var0 > 0 else 0.0
    # standardised per series (unit mean square), for a correlation
    ms = np.bincount(series, weights=v2, minlength=n_series) / np.maximum(
        np.bincount(series, minlength=n_series), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(ms[series] > 0, values / np.sqrt(ms[series]), 0.0)
    cnt = np.bincount(cell, minlength=nc).astype(float)  # series present in each cell
    te = np.bincount(cell, weights=e, minlength=nc)
    te2 = np.bincount(cell, weights=e**2, minlength=nc)
    pairs = np.sum(cnt * (cnt - 1))
    rho = float(np.sum(te**2 - te2) / pairs) if pairs > 0 else 0.0
    used = int(np.count_nonzero(np.bincount(series[values != 0], minlength=n_series))) or n_series
    nbar = float(np.sum(cnt**2) / np.sum(cnt)) if np.sum(cnt) > 0 else 1.0  # series sharing a time
    n_eff = used / max(1.0 + (nbar - 1.0) * rho, 1.0)
    if z <= 2.0:  # no significant same-time dependence: do not shrink on noise
        n_eff = float(used)
    if cluster is not None:
        n_eff = min(n_eff, float(np.unique(np.asarray(cluster).astype(str)).size))
    return Dependence(deff=deff, rho=rho, n_eff=float(min(max(n_eff, 1.0), used)), n_series=int(used),
                      n_cells=int(np.sum(cnt >= 2)), mean_sharing=nbar, z=z)


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
    structured rows (seconds at 10⁷ values) — and each cell's unit and time.

    Times are replaced by their rank among the distinct times (hash factorisation,
    then a sort of the distinct times only), so one int64 key orders the cells;
    values already in key order (series sorted by time, units in series order: the
    usual panel) are numbered by run length, otherwise after a stable sort of the keys."""
    import pandas as pd

    tcode, tuniq = pd.factorize(time)
    order = np.argsort(tuniq, kind="stable")
    trank = np.empty(len(tuniq), np.int64)
    trank[order] = np.arange(len(tuniq))
    n_t = max(len(tuniq), 1)
    key = ucode * n_t + trank[tcode]
    if len(key) < 2 or np.all(key[1:] >= key[:-1]):
        starts = np.concatenate(([True], key[1:] != key[:-1]))
        cell = np.cumsum(starts) - 1
        ukey = key[starts]
    else:  # a stable sort (timsort: linear on a few sorted runs, e.g. MG103's rows)
        korder = np.argsort(key, kind="stable")
        ks = key[korder]
        starts = np.concatenate(([True], ks[1:] != ks[:-1]))
        cell = np.empty(len(key), np.int64)
        cell[korder] = np.cumsum(starts) - 1
        ukey = ks[starts]
    tsorted = np.asarray(tuniq, float)[order]
    return cell.astype(np.int64), (ukey // n_t).astype(np.int64), tsorted[ukey % n_t]


def unit_design_effect(values: np.ndarray, series: np.ndarray, time: np.ndarray,
                       unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None
                       ) -> UnitDependence:
    """:class:`UnitDependence` of flat ``values`` (one per contribution) with their
    series and time; ``unit_of_series`` (S,) int unit codes (None: every series is its
    own unit); ``cluster_of_series`` (S,) declared clusters or None."""
    return unit_design_effects([values], series, time, unit_of_series, cluster_of_series)[0]


def unit_design_effects(values_list: list[np.ndarray], series: np.ndarray, time: np.ndarray,
                        unit_of_series: np.ndarray | None, cluster_of_series: np.ndarray | None = None
                        ) -> list[UnitDependence]:
    """:func:`unit_design_effect` of several value vectors on the same contributions
    (series, time): the (unit, time) cells are formed once (MG105's three q)."""
    series = np.asarray(series, np.int64)
    n_s = int(series.max()) + 1 if len(series) else 0
    unit_s = np.arange(n_s) if unit_of_series is None else np.asarray(unit_of_series, np.int64)
    if len(series) == 0:
        return [UnitDependence(1.0, 1.0, 1.0, 0.0, 0.0, 0, 0.0) for _ in values_list]
    u = unit_s[series]
    ucode = _dense_rank(u)
    n_units = int(ucode.max()) + 1
    cell, cu, ct = _unit_time_cells(ucode, np.asarray(time, float))
    cl = None
    if cluster_of_series is not None:
        # cluster of each unit (units nest in clusters: first series' cluster)
        cl_u = np.empty(n_units, dtype=object)
        cl_u[ucode] = np.asarray(cluster_of_series).astype(str)[series]
        cl = cl_u
    # the cells' (cluster, time) cells of design_effect, shared by every value vector
    across_cells = _cells(np.asarray(ct, float), None if cl is None else cl[cu]) if len(cu) else None
    n_cells_u = len(cu)
    out = []
    for values in values_list:
        values = np.asarray(values, float)
        w = np.bincount(cell, weights=values, minlength=n_cells_u)
        sq = float(np.sum(values**2))
        within = float(np.sum(w**2) / sq) if sq > 0 else 1.0
        # distinct units with a non-zero cell sum (cu are dense codes 0..n_units−1)
        used_units = int(np.count_nonzero(np.bincount(cu[w != 0], minlength=n_units))) or n_units
        dep = design_effect(w, cu, ct, n_units, cl, cells=across_cells)
        across_used = max(1.0, dep.deff) if dep.z > 2.0 else 1.0
        n_eff = used_units / across_used
        if cl is not None:
            n_eff = min(n_eff, float(np.unique(cl.astype(str)).size))
        out.append(UnitDependence(deff=max(1.0, within) * across_used, deff_within=within, deff_across=dep.deff,
                                  z=dep.z, rho_units=dep.rho, n_units=int(used_units), n_eff=float(max(1.0, n_eff))))
    return out

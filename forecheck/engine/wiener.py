"""WN301–WN305 and WN307 in the Dask engine: the partitions' parts and the driver's
records.

Every increment these checks read belongs to one series and is scaled by that
series' own RMS (``stats/standardize.py``), so a partition of whole series forms
the coordinates exactly as the in-memory engine does (``Increments.from_panel`` and
``Increments.coordinate`` on the partition's panel). What leaves a partition:
per-series test results (JB, AD, ARCH-LM p-values, lag-1 ACF, WN305's BNS and
Lee–Mykland statistics), additive sums (moments, autocovariances, bucket sums,
counts, realised variances, GLM cross products), for WN303 the k + 1 largest |x| of
each coordinate and for WN305 the partition's candidates for the news days and the
largest moves — never the increments.

Pass 1 gives the per-series parts and the sizes that fix the second pass's
parameters (the number of usable |x| for Hill's k; the per-series counts for
WN304's number of ARCH lags and WN305's Lee–Mykland window and Gaussian null,
simulated on the driver between the passes: ``jump_nulls``); pass 2, given those,
gives WN303's top order statistics, WN304's ARCH-LM and autocorrelation parts and
WN305's per-series jump statistics (against the null's critical values; the
Monte-Carlo p-values are formed on the driver). WN301's Poisson GLM takes one more
pass per Newton step (``fit_volatility``). WN305 is the only one of these checks that
draws random numbers, and its draws are the in-memory engine's: the seed is a
function of ``--seed`` only and each length's stream of (seed, length)
(``checks/wiener.jump_null``).

The records are assembled here from those parts with the statistics functions of
``forecheck/stats`` and the record helpers of ``checks/wiener.py``; their wording
and decision rules follow ``checks/wiener.py`` (which computes from the pooled
arrays, so its assembly cannot be called on the parts).

WN306 is formed on the driver from the series table (each series' first forecast,
outcome and variance budget) and, with an underlying, pass 2's sums of its claim 2 and
per-series σ̂ (the % or share scale of the underlying decided over every partition
from pass 1's maxima, as the in-memory engine decides over the panel).
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np
import pandas as pd

from forecheck.checks.wiener import (
    COORD_LABEL,
    LARGEST_MOVES,
    NEWS_DAYS,
    NO_UNDERLYING,
    P_EDGES,
    TAU_EDGES,
    UNDERLYING_PERCENT_ABOVE,
    SeriesJumps,
    _step,
    clustering_part,
    coordinate_dispersion,
    hill_part,
    jump_null,
    jump_part,
    jump_window,
    largest_move_index,
    news_day_index,
    normality_part,
    null_critical_values,
    require_increments,
    series_jumps,
    taleb_parts,
    taleb_path,
    underlying_max,
    underlying_share,
    untestable_underlying,
    usable_underlying_count,
    wn301_measurement,
    wn302_measurement,
    wn303_measurement,
    wn304_measurement,
    wn305_measurement,
    wn306_measurement,
    wn307_measurement,
)
from forecheck.config import AnalysisConfig
from forecheck.details import (
    ClusteringPart,
    CoordinateDispersion,
    HillPart,
    KSigma,
    NewsDay,
    NormalityPart,
)
from forecheck.errors import InsufficientDataError
from forecheck.results import Measurement
from forecheck.stats import clustering, jumps, microstructure, normality, tails
from forecheck.stats import dists as stats
from forecheck.stats.budget import Budget
from forecheck.stats.segments import binomial_combination, group_codes
from forecheck.stats.standardize import (
    COORDINATES,
    STANDARDISED,
    Increments,
    bucket_index,
    dispersion_by_index,
)
from forecheck.stats.volshape import (
    DIVERGED,
    MIN_CLUSTERS,
    cluster_sandwich,
    newton_steps,
    vol_shape_rows,
    VolShapeFit,
    _eta,
    _gram,
    _gram_full_rank,
    _weighted_gram,
    _xty,
    poisson_glm,
)

#: the WN checks this engine computes
COMPUTED = ("WN301", "WN302", "WN303", "WN304", "WN305", "WN307")
COORDS = (STANDARDISED, "raw")
ACF_LAGS = 5  # lags of WN304's signed and squared autocorrelations (checks/wiener._cluster)
SIGNATURE_Q = 5  # WN307's coarse sampling step (checks/wiener.check_wn307)


def _selected(config: AnalysisConfig, codes) -> bool:
    return any(config.is_selected(c) for c in codes)


# ------------------------------------------------------------------ partitions
def first_parts(panel, config: AnalysisConfig) -> dict | None:
    """Pass 1 of one partition: increment and value counts, WN301's bucket sums,
    WN302's per-series tests and pooled moments, WN307's sums, WN306's largest
    underlying value (None when no computed WN check is selected)."""
    if not _selected(config, (*COMPUTED, "WN306")):
        return None
    out: dict = {}
    if config.is_selected("WN306") and panel.underlying is not None:
        # the pooled maximum decides % or share (checks/wiener.underlying_share)
        out["underlying_max"] = underlying_max(np.asarray(panel.underlying, dtype=float))
    if not _selected(config, COMPUTED):  # WN306 alone: its record reads the series table (wn306)
        return out
    inc = Increments.from_panel(panel, config.min_length)
    out["n_inc"] = inc.n
    names = COORDINATES if config.is_selected("WN301") else \
        COORDS if _selected(config, ("WN302", "WN303", "WN304", "WN305")) else ()
    coords = {name: inc.coordinate(name) for name in names}
    if config.is_selected("WN301"):
        out["dispersion"] = _dispersion_sums(panel, coords)
    for name in (n for n in COORDS if n in coords):
        c = coords[name]
        a = np.abs(c.x)
        part = {"n": len(c.x), "counts": c.counts,
                "n_hill": int(np.count_nonzero(a > 0))}  # the values tails.hill keeps (x is finite)
        if config.is_selected("WN302"):
            jb = normality.jarque_bera(c.x, c.seg, c.n_seg)
            mo = normality.segment_moments(c.x, None, 1)
            part.update(ids=panel.ids[c.series].astype(str), jb_p=jb["pvalue"], kurt=jb["excess_kurtosis"],
                        ad_p=normality.anderson_darling(c.x, c.seg, c.n_seg)["pvalue"],
                        moments=np.array([mo.n[0], mo.mean[0], mo.m2[0], mo.m3[0], mo.m4[0]]),
                        k_sigma=normality.k_sigma_counts(c.x))
        out[name] = part
    if config.is_selected("WN305"):
        a = np.abs(inc.dp)
        out["largest"] = [_candidate(panel, inc.row[i], a[i], None) for i in largest_move_index(inc)]
    if config.is_selected("WN307"):
        out["micro"] = _micro_sums(panel, inc)
    return out


def _candidate(panel, row: int, value: float, L: float | None) -> tuple[float, str, int, NewsDay]:
    """One of a partition's candidates for WN305's news days (``L`` given) or largest
    moves: the value it was ranked by (|L| or |Δp|), its place in the in-memory panel's
    order (series id, then position in the series: the order check_wn305 keeps among
    ties) and its record."""
    s = panel.series_index[row]
    return float(value), str(panel.ids[s]), int(row - panel.offsets[s]), _step(panel, row, L)


def _top(candidates: list[tuple], k: int) -> tuple:
    """The k largest of the partitions' candidates (each partition sent its own k
    largest), ties in the in-memory panel's order: the records check_wn305 lists."""
    return tuple(c[3] for c in sorted(candidates, key=lambda c: (-c[0], c[1], c[2]))[:k])


def _dispersion_sums(panel, coords: dict) -> dict:
    """WN301's per-bucket counts and sums of x² of every coordinate, by the bucket of
    p and of τ/horizon at t − 1 (checks/wiener.check_wn301's buckets)."""
    ttr = panel.time_to_resolution
    horizon = ttr[panel.first_row]
    p_bucket = bucket_index(panel.p, P_EDGES)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_bucket = bucket_index(ttr / horizon[panel.series_index], TAU_EDGES)
    out = {}
    for name, c in coords.items():
        x2 = c.x * c.x
        out[name] = {"n": len(c.x), **{
            key: (np.bincount(b[c.row - 1], minlength=len(edges) - 1),
                  np.bincount(b[c.row - 1], weights=x2, minlength=len(edges) - 1))
            for key, b, edges in (("by_p", p_bucket, P_EDGES), ("by_tau", tau_bucket, TAU_EDGES))}}
    return out


def _micro_sums(panel, inc: Increments) -> dict:
    """WN307's additive parts: zero moves, smallest move, grid, Roll's lag-1 sums
    (the pairs of stats/microstructure.roll), the signature sums, regular steps."""
    dp = inc.dp
    seg, _ = group_codes(inc.series)
    same = seg[1:] == seg[:-1]
    di, dj = dp[1:][same], dp[:-1][same]
    rows = np.flatnonzero(inc.eligible[panel.series_index])
    p_rows = panel.p[rows]
    rseg, n_seg = group_codes(panel.series_index[rows])
    return {"n": inc.n, "zeros": int(np.count_nonzero(dp == 0)),
            "tick": float(np.min(np.abs(dp), where=dp != 0, initial=np.inf)),
            "grid": microstructure.detect_grid(p_rows), "pairs": len(di), "sum_sq": float(np.sum(dp**2)),
            "sum_prod": float(np.sum(di * dj)), "sum_sq_i": float(np.sum(di**2)), "sum_sq_j": float(np.sum(dj**2)),
            "signature": microstructure.signature_ratio(p_rows, rseg, n_seg, q=SIGNATURE_Q),
            "regular": int(np.count_nonzero(np.isclose(inc.dt, panel.typical_step[inc.series])))}


def second_params(first: list[dict], config: AnalysisConfig, nulls: dict | None = None) -> dict | None:
    """What pass 2 needs from pass 1: per coordinate how many of the largest |x| to
    send (Hill's k + 1 for the pooled count n, every value when n < 10), WN304's
    number of ARCH lags (from the median count of standardised values per series) and,
    given WN305's nulls (:func:`jump_nulls`), each coordinate's Lee–Mykland window and
    the null's grid of lengths and critical values (never the null's draws)."""
    parts = [f for f in first if f is not None]
    out: dict = {}
    maxima = [p["underlying_max"] for p in parts if p.get("underlying_max") is not None]
    if any("underlying_max" in p for p in parts):  # WN306 with an underlying: its claim 2's parts
        out["underlying_percent"] = bool(maxima) and max(maxima) > UNDERLYING_PERCENT_ABOVE
    if not parts or not _selected(config, ("WN303", "WN304", "WN305")):
        return out or None
    out["take"] = {}
    for name in COORDS:
        n = sum(p[name]["n_hill"] for p in parts)
        out["take"][name] = n if n < 10 else int(np.floor(np.sqrt(n))) + 1
    counts = np.concatenate([p[STANDARDISED]["counts"] for p in parts])
    out["nlags"] = int(np.clip(np.median(counts) // 10, 1, 5)) if len(counts) else 1
    if nulls is not None:
        out["jumps"] = {name: {"window": K, "grid": null.grid, "crit": null_critical_values(null, config.alpha)}
                        for name, (K, null) in nulls.items()}
    return out


def jump_nulls(first: list[dict], config: AnalysisConfig) -> dict | None:
    """WN305's Lee–Mykland window and Gaussian null of each coordinate, simulated here
    on the driver from the pooled per-series counts (checks/wiener.jump_null: the
    in-memory engine's seed, lengths and draws); None when WN305 is not selected or
    skips for too little data (wn305 then gives the reason)."""
    if not config.is_selected("WN305"):
        return None
    try:
        parts = {name: _require(first, name, 20 if name == STANDARDISED else 10, config.min_length)
                 for name in COORDS}
    except InsufficientDataError:
        return None
    out = {}
    for name, ps in parts.items():
        counts = np.concatenate([p["counts"] for p in ps])
        K = jump_window(counts)
        out[name] = (K, jump_null(counts, K, config)[0])
    return out


def second_parts(panel, config: AnalysisConfig, params: dict | None) -> dict | None:
    """Pass 2 of one partition: WN303's largest |x|, WN304's ARCH-LM and ACF parts and
    WN305's per-series jump statistics and news-day candidates."""
    if params is None:
        return None
    inc = Increments.from_panel(panel, config.min_length)
    out = {}
    if "underlying_percent" in params and panel.underlying is not None:
        out["taleb"] = _taleb_sums(panel, inc, params["underlying_percent"])
    for name in COORDS if "take" in params else ():
        c = inc.coordinate(name)
        part: dict = {}
        if config.is_selected("WN303"):
            a = np.abs(c.x)
            a = a[a > 0]
            take = min(params["take"][name], len(a))
            part["top"] = np.partition(a, len(a) - take)[len(a) - take:] if take else a[:0]
        if config.is_selected("WN304"):
            lm = clustering.arch_lm_segments(c.x, c.seg, c.n_seg, params["nlags"])
            signed, s0, acf1 = clustering.pooled_acf_exchangeable_and_acf1(c.x, c.seg, c.n_seg, ACF_LAGS)
            squared, q0 = clustering.pooled_acf_exchangeable(c.x**2, c.seg, c.n_seg, ACF_LAGS)
            part.update(lm=lm["lm"], lm_p=lm["pvalue"], acf1=acf1,
                        signed=_acf_sums(c.x, c, signed, s0), squared=_acf_sums(c.x**2, c, squared, q0))
        if "jumps" in params and c.n_seg:
            part["jumps"] = _jump_parts(panel, c, params["jumps"][name], config.alpha, news=name == STANDARDISED)
        out[name] = part
    return out


def _taleb_sums(panel, inc: Increments, percent: bool) -> dict:
    """WN306's claim 2 on the partition's series (checks/wiener.taleb_parts): the
    additive sums, the count of usable underlying values, and σ̂, Eq. 2's σ and the
    fit flag per series with their ids."""
    y = underlying_share(panel, percent)
    part = taleb_parts(panel, inc, y)
    series = pd.DataFrame({"id": panel.ids.astype(str), **{k: part.pop(k) for k in ("sigma", "sigma_eq2", "fit_ok")}})
    return {**part, "n_usable": usable_underlying_count(panel, inc, y), "series": series}


def _jump_parts(panel, c, p: dict, alpha: float, news: bool) -> dict:
    """WN305's per-series statistics of the partition's series (checks/wiener.series_jumps,
    each series against the critical value of its nearest grid length) with their ids
    and counts, and with ``news`` the partition's NEWS_DAYS candidates for the news days."""
    s, flag, L = series_jumps(c, p["window"], p["crit"][jumps.grid_index(c.counts, p["grid"])], alpha)
    out = {"series": s, "ids": panel.ids[c.series].astype(str), "counts": c.counts}
    if news:
        out["news"] = [_candidate(panel, c.row[i], abs(L[i]), L[i]) for i in news_day_index(flag, L)]
    return out


def _acf_sums(v: np.ndarray, c, acf: np.ndarray, null: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The partition's denominator Σd² (d: deviations from each series' mean) and the
    numerators of its pooled ACF and of the ACF's exchangeable-null mean, so that the
    partitions' ratios can be pooled: acf = Σ num / Σ den (the ratios' own sums)."""
    mo = normality.segment_moments(v, c.seg, c.n_seg)
    den = float(np.nansum(mo.m2 * mo.n))
    if not den > 0:  # every deviation zero: no contribution (the functions return NaN ratios)
        return 0.0, np.zeros(ACF_LAGS), np.zeros(ACF_LAGS)
    return den, acf * den, null * den


# ------------------------------------------------------------------ driver
def _require(first: list[dict], name: str, min_values: int, min_length: int) -> list[dict]:
    """checks/wiener._increments' and _coord's conditions on the pooled counts."""
    parts = [f for f in first if f is not None]
    require_increments(sum(p["n_inc"] for p in parts), min_length)
    if sum(p[name]["n"] for p in parts) < min_values:
        raise InsufficientDataError(f"fewer than {min_values} usable {COORD_LABEL[name]} increments")
    return [p[name] for p in parts]


def _pooled_moments(parts: list[np.ndarray]) -> normality.SegmentMoments:
    """The central moments (ddof = 0) of the pooled values from each part's (n, mean,
    m2, m3, m4), merged pairwise (Pébay 2008, "Formulas for robust, one-pass parallel
    computation of covariances and arbitrary-order statistical moments", eqs. 2.1–2.3)."""
    n = mean = M2 = M3 = M4 = 0.0
    for nb, mb, m2b, m3b, m4b in parts:
        if nb == 0:
            continue
        na, M2b, M3b, M4b = n, m2b * nb, m3b * nb, m4b * nb
        n = na + nb
        d = mb - mean
        M4 = (M4 + M4b + d**4 * na * nb * (na * na - na * nb + nb * nb) / n**3
              + 6 * d * d * (na * na * M2b + nb * nb * M2) / n**2 + 4 * d * (na * M3b - nb * M3) / n)
        M3 = M3 + M3b + d**3 * na * nb * (na - nb) / n**2 + 3 * d * (na * M2b - nb * M2) / n
        M2 = M2 + M2b + d * d * na * nb / n
        mean = mean + d * nb / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return normality.SegmentMoments(n=np.array([n]), mean=np.array([mean]), m2=np.array([M2 / n]),
                                        m3=np.array([M3 / n]), m4=np.array([M4 / n]))


def _normality(parts: list[dict], alpha: float) -> NormalityPart:
    """checks/wiener._normality from the partitions' per-series tests and moments."""
    pooled = normality.jarque_bera_of(_pooled_moments([p["moments"] for p in parts]))
    k_sigma = tuple(KSigma(k=ks[0]["k"], observed=sum(k["observed"] for k in ks),
                           expected_gaussian=float(sum(k["expected_gaussian"] for k in ks)))
                    for ks in zip(*(p["k_sigma"] for p in parts)))
    cat = {key: np.concatenate([p[key] for p in parts]) for key in ("jb_p", "kurt", "ad_p")}
    return normality_part(pooled, cat["kurt"], cat["jb_p"], cat["ad_p"], k_sigma, alpha)


def wn302(first: list[dict], config: AnalysisConfig):
    """check_wn302's record; also its series-table column (ids, JB p-values)."""
    import pandas as pd

    a = config.alpha
    std_parts = _require(first, STANDARDISED, 10, config.min_length)
    std = _normality(std_parts, a)
    raw = _normality(_require(first, "raw", 10, config.min_length), a)
    cols = pd.DataFrame({"id": np.concatenate([p["ids"] for p in std_parts]),
                         "wn_jb_pvalue_std": np.concatenate([p["jb_p"] for p in std_parts])})
    m = wn302_measurement(std, raw, a)
    return m, cols


def _hill(n: int, tops: list[np.ndarray]) -> HillPart:
    """checks/wiener._hill of a coordinate from its pooled count n of non-zero |x| and
    each partition's largest values (k + 1 of them; all of them when n < 10)."""
    k = int(np.floor(np.sqrt(n)))
    top = np.concatenate(tops)
    if n < 10:  # every value is here: tails.hill's own refusal, with its n and k
        h = tails.hill(top)
    else:
        top = np.sort(top)[len(top) - (k + 1):]
        # Hill's ξ̂ reads only the k + 1 largest values; copies of the (k + 1)-th complete
        # a sample tails.hill accepts (n ≥ 10 values), its n is then the pooled count
        h = replace(tails.hill(np.concatenate([np.full(max(1, 10 - len(top)), top[0]), top]), k=k), n=n)
    return hill_part(h)


def wn303(first: list[dict], second: list[dict], config: AnalysisConfig) -> Measurement:
    """check_wn303's record from the pooled counts and the partitions' largest |x|."""
    parts = [s for s in second if s]
    try:  # in check_wn303's order: the standardised coordinate's conditions and estimate first
        std, raw = (_hill(sum(p["n_hill"] for p in _require(first, name, 30 if name == STANDARDISED else 10,
                                                               config.min_length)),
                          [s[name]["top"] for s in parts]) for name in COORDS)
    except ValueError as exc:
        raise InsufficientDataError(str(exc)) from None
    return wn303_measurement(std, raw, config.alpha)


# ------------------------------------------------------------------ WN304
def _pooled_acf(sums: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """The pooled ACF and its exchangeable-null mean from the partitions' (den, num, null num)."""
    den = sum(s[0] for s in sums)
    if not den > 0:
        return np.full(ACF_LAGS, np.nan), np.full(ACF_LAGS, np.nan)
    return sum(s[1] for s in sums) / den, sum(s[2] for s in sums) / den


def _cluster(parts: list[dict], n: int, nlags: int, alpha: float) -> ClusteringPart:
    """checks/wiener._cluster from the partitions' per-series ARCH-LM tests and ACF sums."""
    lm, lm_p, acf1 = (np.concatenate([p[key] for p in parts]) for key in ("lm", "lm_p", "acf1"))
    signed, s0 = _pooled_acf([p["signed"] for p in parts])
    squared, q0 = _pooled_acf([p["squared"] for p in parts])
    return clustering_part(signed - s0, squared - q0, acf1, lm, binomial_combination(lm_p, alpha), n, nlags)


def wn304(first: list[dict], second: list[dict], config: AnalysisConfig) -> Measurement:
    """check_wn304's record from the partitions' ARCH-LM and ACF parts (``nlags`` fixed
    between the passes from the pooled per-series counts: second_params)."""
    a = config.alpha
    parts = [s for s in second if s]
    nlags = second_params(first, config)["nlags"]
    std_n = sum(p["n"] for p in _require(first, STANDARDISED, 20, config.min_length))
    std = _cluster([s[STANDARDISED] for s in parts], std_n, nlags, a)
    raw_n = sum(p["n"] for p in _require(first, "raw", 10, config.min_length))
    raw = _cluster([s["raw"] for s in parts], raw_n, nlags, a)
    return wn304_measurement(std, raw, nlags, a)


# ------------------------------------------------------------------ WN305
def _jump_coordinate(parts: list[dict], window: int, null, config: AnalysisConfig):
    """checks/wiener.jump_part of a coordinate from the partitions' per-series
    statistics, put in the in-memory panel's series order (ids sorted) so that the
    Monte-Carlo p-values, sums and medians are taken over the same arrays in the same
    order; also the ids and the per-series BNS p-values (series table)."""
    ids = np.concatenate([p["ids"] for p in parts])
    order = np.argsort(ids, kind="stable")
    s = SeriesJumps.concat([p["series"] for p in parts]).take(order)
    counts = np.concatenate([p["counts"] for p in parts])[order]
    part, p_bns = jump_part(s, window, null, jumps.grid_index(counts, null.grid), config.alpha, config.seed)
    return part, ids[order], p_bns


def wn305(first: list[dict], second: list[dict], nulls: dict | None, config: AnalysisConfig):
    """check_wn305's record from the partitions' per-series jump statistics, news-day
    and largest-move candidates, and the driver's nulls (:func:`jump_nulls`); also its
    series-table column (ids, BNS Monte-Carlo p-values)."""
    import pandas as pd

    # check_wn305's conditions in its order: the standardised coordinate's, then raw's
    nobs = sum(p["n"] for p in _require(first, STANDARDISED, 20, config.min_length))
    _require(first, "raw", 10, config.min_length)
    assert nulls is not None  # simulated whenever the conditions above hold (jump_nulls)
    parts = [s for s in second if s]
    coords = {}
    for name in COORDS:
        K, null = nulls[name]
        coords[name] = _jump_coordinate([s[name]["jumps"] for s in parts if "jumps" in s[name]], K, null, config)
    std, ids, p_bns = coords[STANDARDISED]
    news = _top([c for s in parts if "jumps" in s[STANDARDISED] for c in s[STANDARDISED]["jumps"]["news"]],
                NEWS_DAYS)
    largest = _top([c for f in first if f is not None for c in f["largest"]], LARGEST_MOVES)
    m = wn305_measurement(std, coords["raw"][0], news, largest, nobs, config.alpha, config.n_sim)
    return m, pd.DataFrame({"id": ids, "wn_bns_pvalue_std": p_bns})


def _roll(parts: list[dict]) -> dict:
    """stats/microstructure.roll from the partitions' lag-1 sums."""
    n = sum(p["n"] for p in parts)
    npairs = sum(p["pairs"] for p in parts)
    m2 = sum(p["sum_sq"] for p in parts) / n if n else float("nan")
    if npairs < 3 or not m2 > 0:
        return {"gamma1": None, "rho1": None, "bounce_share": None, "pvalue": None, "pairs": npairs}
    prod = sum(p["sum_prod"] for p in parts)
    g1 = prod / npairs
    denom = float(np.sqrt(sum(p["sum_sq_i"] for p in parts) * sum(p["sum_sq_j"] for p in parts)))
    if not denom > 0:
        return {"gamma1": g1, "rho1": None, "bounce_share": -2 * g1 / m2, "pvalue": None, "pairs": npairs}
    rho1 = prod / denom
    return {"gamma1": g1, "rho1": rho1, "bounce_share": -2 * g1 / m2,
            "pvalue": float(stats.norm.cdf(rho1 * np.sqrt(npairs))), "pairs": npairs}


def _grid(grids: list[float | None]) -> float | None:
    """microstructure.detect_grid of the pooled rows: the grids are nested (each is a
    multiple of the next), so the pooled grid is the finest of the partitions' grids,
    and none when one partition lies on none."""
    if any(g is None for g in grids):
        return None
    return min(grids, default=microstructure.GRIDS[0])


def wn307(first: list[dict], config: AnalysisConfig) -> Measurement:
    """check_wn307's record from the partitions' sums."""
    parts = [f["micro"] for f in first if f is not None]
    n = sum(p["n"] for p in parts)
    require_increments(n, config.min_length)
    zero_share = sum(p["zeros"] for p in parts) / n
    tick = min(p["tick"] for p in parts)
    tick = float(tick) if np.isfinite(tick) else None
    grid = _grid([p["grid"] for p in parts])
    rl = _roll(parts)
    sig_parts = [p["signature"] for p in parts]
    rv_fine, rv_coarse = (float(sum(s[key] for s in sig_parts)) for key in ("rv_fine", "rv_coarse"))
    sig = {"q": SIGNATURE_Q, "rv_fine": rv_fine, "rv_coarse": rv_coarse,
           "ratio": rv_fine / rv_coarse if rv_coarse > 0 else None,
           "n_series": int(sum(s["n_series"] for s in sig_parts)), "n_blocks": int(sum(s["n_blocks"] for s in sig_parts))}
    regular = sum(p["regular"] for p in parts) / n
    return wn307_measurement(zero_share, tick, grid, rl, sig, regular, n, config.alpha)


# ------------------------------------------------------------------ WN306
def wn306(series: pd.DataFrame, second: list[dict | None], config: AnalysisConfig) -> Measurement:
    """check_wn306's record from the driver's series table (one row per series, in the
    in-memory panel's order) and, with an underlying, the partitions' claim-2 parts:
    claims 1 and 3 and the volatility seller read each series' first forecast,
    outcome and budget; claim 2 adds the partitions' sums and puts their per-series σ̂
    in the table's order."""
    n = series["n"].to_numpy(np.int64)
    eligible = n >= max(config.min_length, 2)  # Increments.from_panel's series
    require_increments(int(np.sum(n[eligible] - 1)), config.min_length)  # n − 1 increments each
    outcome = series["outcome"].to_numpy(float)
    b = Budget(**{f: series[f].to_numpy(float) for f in (
        "movement_inflight", "movement_resolution", "movement", "uncertainty_reduction", "excess", "ratio")},
        resolved=~np.isnan(outcome))
    parts = [s["taleb"] for s in second if s is not None and "taleb" in s]
    if not parts:
        path = {"testable": False, "reason": NO_UNDERLYING}
    else:
        path = untestable_underlying(sum(p["n_usable"] for p in parts))
        if path is None:
            per = pd.concat([p["series"] for p in parts], ignore_index=True).set_index("id").reindex(series["id"])
            path = taleb_path(parts, per["sigma"].to_numpy(float), per["sigma_eq2"].to_numpy(float),
                              per["fit_ok"].to_numpy(bool))
    return wn306_measurement(series["p0"].to_numpy(float), outcome, eligible, b, path, config.alpha)


# ------------------------------------------------------------------ WN301
# The Poisson GLM of stats/volshape.fit_vol_shape, one pass over the partitions per
# Newton step: each partition's design stays on its worker (vol_design) and returns
# its X'diag(μ)X, X'y and cluster scores (its clusters are its own series); the
# driver solves. The same estimator, start, steps and stopping rule as
# volshape.poisson_glm; on more than 2·WARM_START_ROWS increments the in-memory
# engine starts from a subsample's fit instead, which converges to the same root.
_GLM = {k: v.default for k, v in inspect.signature(poisson_glm).parameters.items() if k in ("max_iter", "tol")}


def vol_design(panel, config: AnalysisConfig) -> dict:
    """fit_vol_shape's rows of one partition: y = Δp²/Δt and the transposed design
    (1, log p(1−p), −log τ) on the increments with 0 < p_{t−1} < 1, Δt > 0, τ > 0."""
    inc = Increments.from_panel(panel, config.min_length)
    y, Xt, series = vol_shape_rows(inc.p_prev, inc.dp, inc.dt, inc.tau_prev_time, inc.series)
    groups, n_groups = group_codes(series)
    return {"y": y, "Xt": Xt, "groups": groups, "G": n_groups}


def vol_start(d: dict | None) -> dict | None:
    if d is None:
        return None
    Xt, y = d["Xt"], d["y"]
    return {"n": len(y), "sum_y": float(y.sum()), "any_pos": bool(np.any(y > 0)),
            "finite": bool(np.all(np.isfinite(Xt[1:]))), "gram": _gram(Xt), "xty": _xty(Xt, y), "G": d["G"]}


def vol_newton(d: dict | None, beta: np.ndarray) -> dict | None:
    """One Newton step's sums: X'diag(μ)X and the range of μ = exp(Xβ)."""
    if d is None or len(d["y"]) == 0:
        return None
    with np.errstate(over="ignore", under="ignore"):
        mu = np.exp(_eta(d["Xt"], beta))
    return {"hess": _weighted_gram(d["Xt"], mu), "mu_min": float(mu.min()), "mu_max": float(mu.max())}


def vol_scores(d: dict | None, beta: np.ndarray, scale_y: float, per_increment: bool) -> dict | None:
    """The sandwich's parts at the fit: bread sums, the meat Σ_g s_g s_g' of the score
    sums s_g = Σ x·(y/scale − μ) per series (per increment: HC), the residuals' range."""
    if d is None or len(d["y"]) == 0:
        return None
    Xt = d["Xt"]
    with np.errstate(over="ignore", under="ignore"):
        mu = np.exp(_eta(Xt, beta))
    yy = d["y"] / scale_y
    resid = yy - mu
    if per_increment:
        sc = (Xt * resid).T
    else:
        sc = np.stack([np.bincount(d["groups"], weights=Xt[j] * resid, minlength=d["G"]) for j in range(len(Xt))],
                      axis=1)
    return {"gram": _weighted_gram(Xt, mu), "meat": np.einsum("ga,gb->ab", sc, sc),
            "mu_min": float(mu.min()), "mu_max": float(mu.max()),
            "max_resid": float(np.max(np.abs(resid))), "max_yy": float(np.max(yy))}


def fit_volatility(run) -> VolShapeFit:
    """volshape.fit_vol_shape from the partitions' sums; ``run(fn, **kw)`` applies fn to
    every partition's design (on its worker) and returns the results."""
    st = [r for r in run(vol_start) if r is not None]
    n = sum(r["n"] for r in st)
    if n < 10:
        raise ValueError("too few increments to fit the volatility shape")
    if not any(r["any_pos"] for r in st):
        raise ValueError("every increment is zero")
    if not (all(r["finite"] for r in st) and _gram_full_rank(sum(r["gram"] for r in st))):
        raise ValueError("p(1−p) or the time to resolution does not vary enough to fit the volatility shape")
    n_groups = sum(r["G"] for r in st)
    per_increment = n_groups < MIN_CLUSTERS  # fit_vol_shape's HC fallback: each increment its own cluster
    ym = sum(r["sum_y"] for r in st) / n
    scale_y = ym if ym > 0 else 1.0  # rescaling y only shifts the intercept
    xty = sum(r["xty"] for r in st) / scale_y
    k = len(xty)
    beta = np.zeros(k)
    beta[0] = np.log(max(ym / scale_y, 1e-300))

    def weighted_gram_at(b: np.ndarray):
        parts = [r for r in run(vol_newton, beta=b) if r is not None]
        mu_min, mu_max = min(r["mu_min"] for r in parts), max(r["mu_max"] for r in parts)
        usable = mu_min > 0 and np.isfinite(mu_max)
        return mu_min, mu_max, sum(r["hess"] for r in parts) if usable else None

    beta, converged, _ = newton_steps(beta, xty, weighted_gram_at, _GLM["max_iter"], _GLM["tol"])
    fin = [r for r in run(vol_scores, beta=beta, scale_y=scale_y, per_increment=per_increment) if r is not None]
    if not (np.all(np.isfinite(beta)) and np.isfinite(max(r["mu_max"] for r in fin))
            and min(r["mu_min"] for r in fin) > 0):
        raise ValueError(DIVERGED)
    exact = not max(r["max_resid"] for r in fin) > 1e-10 * max(r["max_yy"] for r in fin)
    cov = cluster_sandwich(sum(r["gram"] for r in fin), sum(r["meat"] for r in fin), n,
                           n if per_increment else n_groups, exact)
    beta[0] += np.log(scale_y)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return VolShapeFit(log_c=float(beta[0]), gamma=float(beta[1]), alpha=float(beta[2]),
                       se_gamma=float(se[1]), se_alpha=float(se[2]), cov=cov, nobs=n, n_clusters=n_groups,
                       converged=converged, se_kind="hc" if per_increment else "cluster")


def wn301(first: list[dict], fit: VolShapeFit | InsufficientDataError, config: AnalysisConfig,
          time_unit: str) -> Measurement:
    """check_wn301's record from the distributed fit and the partitions' bucket sums."""
    parts = [f for f in first if f is not None]
    require_increments(sum(p["n_inc"] for p in parts), config.min_length)
    if isinstance(fit, InsufficientDataError):
        raise fit
    coords: dict[str, CoordinateDispersion | None] = {}
    for name in COORDINATES:
        d = [p["dispersion"][name] for p in parts]
        n = sum(x["n"] for x in d)
        if n < 10:
            coords[name] = None
            continue
        by = {}
        for key, edges in (("by_p", P_EDGES), ("by_tau", TAU_EDGES)):
            nb = len(edges) - 1
            # the buckets' pooled sums of x², each as one value of its own bucket
            by[key] = dispersion_by_index(sum(x[key][1] for x in d), np.arange(nb), edges,
                                          cnt=sum(x[key][0] for x in d))
        coords[name] = coordinate_dispersion(n, by["by_p"], by["by_tau"])
    return wn301_measurement(fit, coords, config.alpha, time_unit)

"""Layer B: Wiener-process assumption diagnostics (WN301–WN307).

A Wiener-process critique of a forecast (Taleb 2018; Madeka 2017) assumes that in
some coordinates the forecast moves with Gaussian, continuous, constant-volatility
increments. A calibrated Bayesian forecaster need satisfy none of this (Clayton
2019; docs/checks.md), so these checks are descriptive: severity "info",
``test_based=False``, status "fail" meaning "the assumption fails on this data".
Each test is run on standardised increments (probit-clock latent increments,
:mod:`forecheck.stats.standardize`) and on raw Δp, and says which in ``details``.
Only series with at least ``config.min_length`` forecasts are used.

The assumptions table (one row per assumption, the JSON key ``assumptions``) is
report prose: ``forecheck.report.prose.assumption_rows`` builds it from these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from forecheck.stats import dists as stats

from forecheck.checks import CheckSpec
from forecheck.checks.context import CheckContext, check_seed
from forecheck.details import (ArchLM, BNSPart, Claim, ClusteringPart, Combination, CoordinateDispersion,
                               GaussianIncrementsDetails, HillPart, JumpPart, JumpsDetails, KSigma, LeeMyklandPart,
                               MicrostructureDetails, NewsDay, NormalityPart, TailIndexDetails, TalebDetails,
                               VolatilityClusteringDetails, VolatilitySeller, VolatilityShapeDetails)
from forecheck.errors import InsufficientDataError
from forecheck.results import Measurement, SimulationCap
from forecheck.stats import clustering, jumps, microstructure, normality, tails, taleb
from forecheck.stats.budget import uncertainty
from forecheck.stats.segments import binomial_combination, group_codes, seg_count
from forecheck.stats.standardize import COORDINATES, STANDARDISED, Increments, bucket_index, dispersion_by_index
from forecheck.stats.volshape import VolShapeFit, fit_vol_shape

FAMILY = "WN"
SEVERITY = "info"
HOMOSKEDASTIC_RATIO = 2.0  # max/min bucket mean square below which a coordinate counts as homoskedastic
P_EDGES = np.array([0.0, 0.1, 0.3, 0.7, 0.9, 1.0 + 1e-12])
TAU_EDGES = np.array([0.0, 0.1, 0.3, 0.6, 1.0 + 1e-12])
COORD_LABEL = {"raw": "raw Δp", "logit": "logit", "probit_clock": "probit clock z",
               "latent": "latent probit-clock increments ΔS/√Δt"}
STD_NOTE = ("standardised = latent probit-clock increments ΔS/√Δt, S = Φ⁻¹(p)·√τ, "
            "scaled by each series' RMS; raw = Δp scaled by each series' RMS")


# --------------------------------------------------------------------------- plumbing
MIN_INCREMENTS = 10  # every WN check needs this many increments of eligible series


def require_increments(n: int, min_length: int) -> None:
    """The WN checks' common precondition (both engines: n counted over eligible series)."""
    if n < MIN_INCREMENTS:
        raise InsufficientDataError(
            f"fewer than {MIN_INCREMENTS} increments in series with at least {min_length} forecasts")


def _increments(ctx: CheckContext) -> Increments:
    inc = ctx.cached("wn_increments", lambda: Increments.from_panel(ctx.panel, ctx.config.min_length))
    require_increments(inc.n, ctx.config.min_length)
    return inc


CACHED_COORDINATES = ("raw", STANDARDISED)  # read by several checks; the others by WN301 only


def _coord(ctx: CheckContext, name: str, min_values: int = 10):
    if name in CACHED_COORDINATES:
        c = ctx.cached(f"wn_coord_{name}", lambda: _increments(ctx).coordinate(name))
    else:  # one (N,) array less held for the rest of the run
        c = _increments(ctx).coordinate(name)
    if len(c.x) < min_values:
        raise InsufficientDataError(f"fewer than {min_values} usable {COORD_LABEL[name]} increments")
    return c


def _measured(fails: bool, **kw: Any) -> Measurement:
    """A layer-B record: descriptive, so the check decides pass/fail itself."""
    return Measurement(status="fail" if fails else "pass", test_based=False, **kw)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _f(x: Any, spec: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return format(x, spec)


# --------------------------------------------------------------------------- WN301
def check_wn301(ctx: CheckContext) -> Measurement:
    inc = _increments(ctx)
    panel = ctx.panel
    ttr = panel.time_to_resolution
    horizon = ttr[panel.first_row]
    inc.memo(True)  # the four coordinates share Φ⁻¹(p), τ and their masks
    # bucket of p and of τ/horizon at every panel row, read at each coordinate's t − 1
    p_bucket = bucket_index(panel.p, P_EDGES)
    if np.all(horizon > 0):  # τ/horizon is the coordinates' own τ row (the same divisions)
        tau_bucket = bucket_index(inc.row_tau(), TAU_EDGES)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            tau_bucket = bucket_index(ttr / horizon[panel.series_index], TAU_EDGES)
    coords: dict[str, CoordinateDispersion | None] = {}
    buckets = None
    for name in COORDINATES:
        try:
            c = _coord(ctx, name)
        except InsufficientDataError:
            coords[name] = None
            continue
        if c.row is inc.row:  # no increment dropped: the buckets at t − 1 of every increment
            if buckets is None:
                # as intp, the index type bincount converts anything else to: one conversion
                # here instead of a fresh (N,) one in each of the coordinates' bincounts
                bp, bt = inc.at_start(p_bucket).astype(np.intp), inc.at_start(tau_bucket).astype(np.intp)
                # the bucket counts are the same for every coordinate sharing these rows
                buckets = bp, bt, np.bincount(bp, minlength=len(P_EDGES) - 1), \
                    np.bincount(bt, minlength=len(TAU_EDGES) - 1)
            bp, bt, cp, ct = buckets
        else:
            prev = c.row - 1
            bp, bt = p_bucket[prev], tau_bucket[prev]
            cp = ct = None
            del prev
        n_c = int(len(c.x))
        if name in CACHED_COORDINATES:
            x2 = c.x * c.x
        else:  # read by WN301 only: squared in place (the same products), one (N,) array less
            x2 = c.x
            x2 *= x2
        del c
        byp = dispersion_by_index(x2, bp, P_EDGES, cnt=cp)
        byt = dispersion_by_index(x2, bt, TAU_EDGES, cnt=ct)
        del x2, bp, bt, cp, ct
        coords[name] = coordinate_dispersion(n_c, byp, byt)
    inc.memo(False)
    # the fit after the coordinates: its (n,) buffers reuse the heap the coordinates
    # grew and freed, instead of being returned to the system and faulted in again
    try:
        fit = fit_vol_shape(inc.p_prev, inc.dp, inc.dt, inc.tau_prev_time, inc.series)
    except ValueError as exc:
        raise InsufficientDataError(str(exc)) from None
    return wn301_measurement(fit, coords, ctx.config.alpha, panel.time_unit)


def coordinate_dispersion(n: int, by_p: dict, by_tau: dict) -> CoordinateDispersion:
    """A coordinate's dispersion record from its bucket tables (``dispersion_by_index``)."""
    ratios = [r for r in (by_p["ratio"], by_tau["ratio"]) if r is not None]
    spread = max(ratios) if ratios else None
    return CoordinateDispersion(n=n, by_p=by_p, by_tau=by_tau, spread=spread,
                                homoskedastic=spread is not None and spread < HOMOSKEDASTIC_RATIO)


def wn301_measurement(fit: VolShapeFit, coords: dict[str, CoordinateDispersion | None], alpha: float,
                      time_unit: str) -> Measurement:
    """WN301's record from the volatility-shape fit and the coordinates' dispersions
    (both engines: the Dask engine fits by distributed Newton steps)."""
    ci = fit.ci()
    wald, p_wald = fit.wald_constant()
    ranked = sorted((v.spread, k) for k, v in coords.items() if v and v.spread is not None)
    homo = [k for k, v in coords.items() if v and v.homoskedastic]
    best = ranked[0][1] if ranked else None
    fails = bool(np.isfinite(p_wald) and p_wald < alpha)
    msg = (f"E[Δp²/Δt] ∝ [p(1−p)]^γ/τ^α: γ = {fit.gamma:.2f} [{ci['gamma'][0]:.2f}, {ci['gamma'][1]:.2f}], "
           f"α = {fit.alpha:.2f} [{ci['alpha'][0]:.2f}, {ci['alpha'][1]:.2f}]; "
           + (f"homoskedastic in: {', '.join(COORD_LABEL[h] for h in homo)}" if homo
              else f"no coordinate is homoskedastic (closest: {COORD_LABEL.get(best, 'none')})"))
    return _measured(
        fails, statistic=wald if np.isfinite(wald) else None, pvalue=p_wald if np.isfinite(p_wald) else None,
        estimate=fit.gamma, ci=ci["gamma"], nobs=fit.nobs, message=msg,
        null="volatility is constant in probability units (γ = α = 0)",
        alternative="volatility depends on the level p and/or the time to resolution τ",
        details=VolatilityShapeDetails(
            model="E[dp^2/dt] = c [p(1-p)]^gamma / tau^alpha, Poisson PML, series-clustered SE",
            gamma=fit.gamma, gamma_ci=ci["gamma"], alpha=fit.alpha, alpha_ci=ci["alpha"],
            log_c=fit.log_c, tau_unit=time_unit, n_series=fit.n_clusters,
            se="clustered by series" if fit.se_kind == "cluster" else
               "heteroskedasticity-robust (fewer than 10 series)",
            wald_constant=wald, converged=fit.converged,
            reference={"log-odds BM": {"gamma": 2}, "probit clock": {"gamma": 1.6, "alpha": 1},
                       "angular": {"gamma": 1}, "calendar clock": {"alpha": 0}},
            coordinates=coords, homoskedastic_coordinates=tuple(homo), best_coordinate=best,
            homoskedastic_ratio_threshold=HOMOSKEDASTIC_RATIO, standardised_coordinate=STANDARDISED))


# --------------------------------------------------------------------------- WN302
def _normality(c, alpha: float) -> tuple[NormalityPart, np.ndarray]:
    """Normality of one coordinate, and the per-series JB p-values (series table)."""
    jb = normality.jarque_bera(c.x, c.seg, c.n_seg, sums=c.sums)
    ad = normality.anderson_darling(c.x, c.seg, c.n_seg, sums=c.sums)
    pooled = normality.jarque_bera(c.x)
    part = normality_part(pooled, jb["excess_kurtosis"], jb["pvalue"], ad["pvalue"],
                          tuple(KSigma(**k) for k in normality.k_sigma_counts(c.x)), alpha)
    return part, jb["pvalue"]


def normality_part(pooled: dict, series_kurtosis: np.ndarray, jb_pvalues: np.ndarray, ad_pvalues: np.ndarray,
                   k_sigma: tuple[KSigma, ...], alpha: float) -> NormalityPart:
    """A coordinate's normality record: the pooled Jarque–Bera result
    (``normality.jarque_bera`` of all its increments, one segment) and the per-series
    JB and AD p-values combined over series."""
    return NormalityPart(
        n=int(pooled["n"][0]), n_series=int(len(jb_pvalues)),
        pooled_jb=float(pooled["statistic"][0]), pooled_jb_pvalue=float(pooled["pvalue"][0]),
        pooled_skew=float(pooled["skew"][0]), pooled_excess_kurtosis=float(pooled["excess_kurtosis"][0]),
        median_series_excess_kurtosis=float(np.nanmedian(series_kurtosis)),
        jb_per_series=Combination.of(binomial_combination(jb_pvalues, alpha)),
        ad_per_series=Combination.of(binomial_combination(ad_pvalues, alpha)), k_sigma=k_sigma)


def check_wn302(ctx: CheckContext) -> Measurement:
    a = ctx.config.alpha
    std, jb_p = _normality(_coord(ctx, STANDARDISED), a)
    raw, _ = _normality(_coord(ctx, "raw"), a)
    c = _coord(ctx, STANDARDISED)
    col = np.full(ctx.panel.n_series, np.nan)
    col[c.series] = jb_p
    ctx.series_columns["wn_jb_pvalue_std"] = col
    return wn302_measurement(std, raw, a)


def wn302_measurement(std: NormalityPart, raw: NormalityPart, alpha: float) -> Measurement:
    """WN302's record from the two coordinates' normality parts (both engines)."""
    p = std.ad_per_series.pvalue
    fails = p is not None and p < alpha
    k5 = std.k_sigma[1]
    msg = (f"standardised: excess kurtosis {std.pooled_excess_kurtosis:.2g}, "
           f"{k5.observed} moves beyond 5σ (Gaussian: {k5.expected_gaussian:.2g}); "
           f"AD rejects in {_pct(std.ad_per_series.share_reject)} of series, "
           f"raw Δp in {_pct(raw.ad_per_series.share_reject)} (expected {_pct(alpha)})")
    return _measured(fails, statistic=std.pooled_jb, pvalue=p, estimate=std.pooled_excess_kurtosis,
                     nobs=std.n, message=msg,
                     null="standardised increments are Gaussian (per series, Anderson–Darling)",
                     alternative="non-Gaussian increments in more series than chance allows",
                     details=GaussianIncrementsDetails(
                         coordinates=STD_NOTE, standardised=std, raw=raw,
                         pvalue_rule="2·min(binomial tail of #series rejecting, Bonferroni min p), "
                                     "Anderson–Darling on standardised increments"))


# --------------------------------------------------------------------------- WN303
def _hill(x: np.ndarray) -> HillPart:
    return hill_part(tails.hill(x))


def hill_part(h: tails.HillResult) -> HillPart:
    """A coordinate's tail-index record from Hill's estimate, against the Gaussian
    reference ξ of the same n and k (``tails.gaussian_reference_xi``)."""
    ref = tails.gaussian_reference_xi(h.n, h.k)
    z = (h.xi - ref) / h.se if h.se > 0 else float("nan")
    return HillPart(xi=h.xi, xi_ci=h.ci, tail_index=h.alpha, tail_index_ci=h.alpha_ci, k=h.k, n=h.n,
                    threshold=h.threshold, gaussian_reference_xi=ref, z=z,
                    pvalue=float(stats.norm.sf(z)) if np.isfinite(z) else None)


def check_wn303(ctx: CheckContext) -> Measurement:
    c = _coord(ctx, STANDARDISED, min_values=30)
    try:
        std = _hill(c.x)
        raw = _hill(_coord(ctx, "raw").x)
    except ValueError as exc:
        raise InsufficientDataError(str(exc)) from None
    return wn303_measurement(std, raw, ctx.config.alpha)


def wn303_measurement(std: HillPart, raw: HillPart, alpha: float) -> Measurement:
    """WN303's record from the two coordinates' Hill parts (both engines)."""
    fails = std.pvalue is not None and std.pvalue < alpha
    msg = (f"Hill tail index of |standardised increments| α̂ = {_f(std.tail_index, '.2f')} "
           f"[{_f(std.tail_index_ci[0], '.2f')}, {_f(std.tail_index_ci[1], '.2f')}] (k = {std.k}); "
           f"ξ̂ = {std.xi:.3f} vs {std.gaussian_reference_xi:.3f} for Gaussian data")
    return _measured(fails, statistic=std.z, pvalue=std.pvalue, estimate=std.tail_index, ci=std.tail_index_ci,
                     nobs=std.n, message=msg, null="tails as thin as a Gaussian's (Hill ξ at the Gaussian reference)",
                     alternative="heavier (power-law) tails",
                     details=TailIndexDetails(coordinates=STD_NOTE + "; pooled absolute values",
                                              standardised=std, raw=raw,
                                              interval="sqrt(k)(xi_hat - xi) -> N(0, xi^2) (Hill 1975)"))


# --------------------------------------------------------------------------- WN304
def _cluster(c, nlags: int, alpha: float) -> ClusteringPart:
    x2 = c.x**2
    lm = clustering.arch_lm_segments(c.x, c.seg, c.n_seg, nlags, sums=c.sums, x2=x2)
    comb = binomial_combination(lm["pvalue"], alpha)
    signed, s0, acf1 = clustering.pooled_acf_exchangeable_and_acf1(c.x, c.seg, c.n_seg, 5, sums=c.sums)
    squared, q0 = clustering.pooled_acf_exchangeable(x2, c.seg, c.n_seg, 5, sums=c.sums.squared(x2))
    del x2
    return clustering_part(signed - s0, squared - q0, acf1, lm["lm"], comb, len(c.x), nlags)


def clustering_part(signed: np.ndarray, squared: np.ndarray, acf1: np.ndarray, lm: np.ndarray, comb: dict,
                    n: int, nlags: int) -> ClusteringPart:
    """A coordinate's clustering record from its pooled signed and squared ACFs (each
    minus its exchangeable-null mean: bias-corrected), the per-series lag-1 ACFs and
    ARCH-LM statistics and their combination over series (``binomial_combination``)."""
    se = 1 / np.sqrt(n)
    neg = signed[0] < -2 * se
    pos_sq = squared[0] > 2 * se
    if neg and pos_sq:
        reading = "bounce (negative signed lag-1, positive squared ACF)"
    elif neg:
        reading = "mean reversion (negative signed lag-1, no squared ACF)"
    elif pos_sq and abs(signed[0]) <= 2 * se:
        reading = "stochastic volatility (signed ACF ≈ 0, positive squared ACF)"
    elif pos_sq:
        reading = "momentum with volatility clustering (positive signed and squared lag-1)"
    elif signed[0] > 2 * se:
        reading = "momentum / smoothing (positive signed lag-1)"
    else:
        reading = "no clustering or bounce detected"
    arch = ArchLM(**Combination.of(comb).__dict__,
                  median_lm=float(np.nanmedian(lm)) if np.isfinite(lm).any() else None, df=nlags)
    return ClusteringPart(
        arch_lm=arch, acf_signed=tuple(signed.tolist()), acf_squared=tuple(squared.tolist()), acf_se=se,
        acf_note="pooled within-series ACF minus its expectation under within-series exchangeability",
        share_series_negative_lag1=float(np.nanmean(acf1 < 0)) if np.isfinite(acf1).any() else None,
        reading=reading, n=n)


def check_wn304(ctx: CheckContext) -> Measurement:
    a = ctx.config.alpha
    c = _coord(ctx, STANDARDISED, min_values=20)
    med = float(np.median(c.counts))
    nlags = int(np.clip(med // 10, 1, 5))
    std = _cluster(c, nlags, a)
    raw = _cluster(_coord(ctx, "raw"), nlags, a)
    return wn304_measurement(std, raw, nlags, a)


def wn304_measurement(std: ClusteringPart, raw: ClusteringPart, nlags: int, alpha: float) -> Measurement:
    """WN304's record from the two coordinates' clustering parts (both engines)."""
    p = std.arch_lm.pvalue
    fails = p is not None and p < alpha
    msg = (f"ARCH-LM({nlags}) rejects in {_pct(std.arch_lm.share_reject)} of series "
           f"(raw Δp {_pct(raw.arch_lm.share_reject)}); standardised ACF lag 1 signed "
           f"{std.acf_signed[0]:+.3f}, squared {std.acf_squared[0]:+.3f}: {std.reading}")
    return _measured(fails, statistic=std.arch_lm.median_lm, pvalue=p, estimate=std.acf_squared[0],
                     nobs=std.n, message=msg,
                     null="no ARCH effects in standardised increments (constant volatility)",
                     alternative="volatility clusters (squared increments are autocorrelated)",
                     details=VolatilityClusteringDetails(
                         coordinates=STD_NOTE, nlags=nlags, standardised=std, raw=raw,
                         design="per-series regression of x_t^2 on 1, x_{t-1..q}^2 (Engle 1982; "
                                "= statsmodels het_arch per series), combined over series",
                         pvalue_rule="2·min(binomial tail of #series rejecting, Bonferroni min p)"))


# --------------------------------------------------------------------------- WN305
MAX_NULL_DRAWS = 999  # WN305's Gaussian null: at most this many draws per length (reported as a cap)
NEWS_DAYS = 10  # flagged increments of largest |L| listed
LARGEST_MOVES = 5  # largest |Δp| steps listed


@dataclass(frozen=True)
class SeriesJumps:
    """One coordinate's per-series jump statistics, in panel order: what WN305's part
    is built from (:func:`jump_part`). Each entry depends on its own series only (BNS
    sums and Lee–Mykland's local bipower windows are formed within the series,
    ``stats/jumps.py``), so the in-memory engine forms them on the whole panel and the
    Dask engine on partitions of whole series."""

    z: np.ndarray  # BNS ratio Z (Barndorff-Nielsen & Shephard 2006; Huang & Tauchen 2005), NaN: untested
    pvalue_asymptotic: np.ndarray  # its one-sided N(0, 1) p-value
    rj: np.ndarray  # relative jump (RV − BV)/RV
    rv: np.ndarray  # realised variance Σr²
    bv: np.ndarray  # bipower variation (π/2)Σ|r_i||r_{i−1}|
    xi_max: np.ndarray  # Lee–Mykland (2008) max statistic (max|L| − C_n)/S_n, NaN: untested
    pvalue_gumbel: np.ndarray  # its Gumbel p-value (Lee & Mykland 2008, Lemma 1)
    n_jumps: np.ndarray  # increments whose statistic exceeds the simulated critical value of the length

    def take(self, order: np.ndarray) -> SeriesJumps:
        """The series in ``order``."""
        return SeriesJumps(**{k: v[order] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[SeriesJumps]) -> SeriesJumps:
        """The series of ``parts``, one after the other."""
        return SeriesJumps(**{k: np.concatenate([getattr(p, k) for p in parts])
                              for k in SeriesJumps.__dataclass_fields__})


def jump_window(counts: np.ndarray) -> int:
    """Lee–Mykland's window K from the median number of a coordinate's values per series."""
    return jumps.default_window(float(np.median(counts)))


def jump_null(counts: np.ndarray, window: int, config) -> tuple[jumps.GaussianNull, np.ndarray]:
    """WN305's Gaussian null for series of these lengths and each series' grid row:
    the check's own seed (a function of --seed only: check_seed) and at most
    MAX_NULL_DRAWS draws per length; each length's stream is seeded by (seed, length)
    (stats/jumps.simulate_gaussian_null), so the draws do not depend on the panel's
    order or on which engine asks."""
    return jumps.simulate_gaussian_null(counts, window, min(config.n_sim, MAX_NULL_DRAWS),
                                        check_seed(config.seed, "WN305"))


def null_critical_values(null: jumps.GaussianNull, alpha: float) -> np.ndarray:
    """Per grid length the (1 − α) quantile of the simulated ξ_max: the critical value
    an increment's (|L| − C_n)/S_n is compared with (in place of the Gumbel β*, which is
    oversized at these lengths: stats/jumps.GaussianNull)."""
    return np.array([np.nanquantile(r, 1 - alpha) if np.isfinite(r).any() else np.nan for r in null.lm_xi])


def series_jumps(c, window: int, crit: np.ndarray, alpha: float) -> tuple[SeriesJumps, np.ndarray, np.ndarray]:
    """BNS and Lee–Mykland per series of coordinate ``c`` (``crit``: each series'
    simulated critical value); also the per-increment jump flags and L statistics."""
    b = jumps.bns(c.x, c.seg, c.n_seg, sums=c.sums)
    lm = jumps.lee_mykland(c.x, c.seg, c.n_seg, window, alpha=alpha, sums=c.sums)
    # xi is NaN where not tested, so the comparison over every increment flags the same ones
    crit_x = np.repeat(crit, c.counts) if c.sums.contiguous else crit[c.seg]
    with np.errstate(invalid="ignore"):
        flag = lm.xi > crit_x
    del crit_x
    s = SeriesJumps(z=b.z, pvalue_asymptotic=b.pvalue, rj=b.rj, rv=b.rv, bv=b.bv, xi_max=lm.xi_max,
                    pvalue_gumbel=lm.pvalue, n_jumps=seg_count(c.seg[flag], c.n_seg))
    return s, flag, lm.L


def jump_part(s: SeriesJumps, window: int, null: jumps.GaussianNull, gi: np.ndarray, alpha: float,
              seed: int) -> tuple[JumpPart, np.ndarray]:
    """A coordinate's jump record from its per-series statistics, with Monte-Carlo
    p-values under i.i.d. Gaussian increments of the same length (``null``, ``gi``:
    stats/jumps.simulate_gaussian_null; ``seed``: --seed, as reported); also the
    per-series BNS Monte-Carlo p-values (series table)."""
    p_bns = jumps.mc_pvalue(s.z, null.bns_z, gi)
    p_lm = jumps.mc_pvalue(s.xi_max, null.lm_xi, gi)
    ok = np.isfinite(s.z)
    rv, bv = float(s.rv[ok].sum()), float(s.bv[ok].sum())
    part = JumpPart(
        bns=BNSPart(per_series=Combination.of(binomial_combination(p_bns, alpha)),
                    per_series_asymptotic=Combination.of(binomial_combination(s.pvalue_asymptotic, alpha)),
                    median_rj=float(np.median(s.rj[ok])) if ok.any() else None,
                    pooled_jump_share=1 - bv / rv if rv > 0 else None),
        lee_mykland=LeeMyklandPart(window=window, per_series=Combination.of(binomial_combination(p_lm, alpha)),
                                   per_series_gumbel=Combination.of(binomial_combination(s.pvalue_gumbel, alpha)),
                                   gumbel_threshold=jumps.gumbel_threshold(alpha), n_jumps=int(s.n_jumps.sum()),
                                   series_with_jumps=int(np.sum(s.n_jumps > 0))),
        null={"n_sim": null.n_sim, "seed": seed, "lengths": null.grid.tolist()})
    return part, p_bns


def _jump_tests(ctx: CheckContext, c, name: str) -> tuple[JumpPart, np.ndarray, np.ndarray, np.ndarray]:
    """BNS and Lee–Mykland per series with Monte-Carlo p-values under i.i.d. Gaussian
    increments of the same length (the check's own random stream). Returns the part
    and the per-increment jump flags, L statistics and per-series BNS p-values."""
    a = ctx.config.alpha
    K = jump_window(c.counts)
    null, gi = ctx.cached(f"wn_null_{name}", lambda: jump_null(c.counts, K, ctx.config))
    s, flag, L = series_jumps(c, K, null_critical_values(null, a)[gi], a)
    part, p_bns = jump_part(s, K, null, gi, a, ctx.config.seed)
    return part, flag, L, p_bns


def _step(panel, row: int, L: float | None) -> NewsDay:
    return NewsDay(series=str(panel.ids[panel.series_index[row]]), time=panel.format_time(panel.time[row]),
                   p_before=float(panel.p[row - 1]), p_after=float(panel.p[row]),
                   dp=float(panel.p[row] - panel.p[row - 1]), L=float("nan") if L is None else float(L))


def _largest(a: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-a, kind="stable")[:k]``: the k largest, ties in index order,
    without sorting all of ``a`` (a partition finds the k-th largest value)."""
    n = len(a)
    if n <= k or not np.all(np.isfinite(a)):
        return np.argsort(-a, kind="stable")[:k]
    B = 1 << 16
    if n >= 4 * k * B:
        # the k-th largest of the block maxima is at most the k-th largest value (the k
        # largest maxima are k distinct values): a threshold from n/B maxima instead of
        # a partition of all n values; the candidates above it still hold the k largest
        m = n // B
        mx = a[:m * B].reshape(m, B).max(axis=1)
        if m * B < n:
            mx = np.r_[mx, a[m * B:].max()]
        thr = np.partition(mx, len(mx) - k)[len(mx) - k]
    else:
        thr = np.partition(a, n - k)[n - k]
    cand = np.flatnonzero(a >= thr)
    if len(cand) > 64 * k:  # many values at or above the threshold: the exact k-th largest among them
        v = a[cand]
        cand = cand[v >= np.partition(v, len(v) - k)[len(v) - k]]
    return cand[np.argsort(-a[cand], kind="stable")][:k]


def news_day_index(flag: np.ndarray, L: np.ndarray) -> np.ndarray:
    """The NEWS_DAYS flagged increments of largest |L|, largest first, ties in panel
    order (a defined order, so that the Dask engine's merge of its partitions' news
    days lists the same ones)."""
    idx = np.flatnonzero(flag)
    return idx[_largest(np.abs(L[idx]), NEWS_DAYS)]


def largest_move_index(inc: Increments) -> np.ndarray:
    """The LARGEST_MOVES increments of largest |Δp|, largest first, ties in panel order."""
    return _largest(np.abs(inc.dp), LARGEST_MOVES)


def check_wn305(ctx: CheckContext) -> Measurement:
    panel = ctx.panel
    c = _coord(ctx, STANDARDISED, min_values=20)
    std, flag, L, p_bns = _jump_tests(ctx, c, STANDARDISED)
    raw, _, _, _ = _jump_tests(ctx, _coord(ctx, "raw"), "raw")
    col = np.full(panel.n_series, np.nan)
    col[c.series] = p_bns
    ctx.series_columns["wn_bns_pvalue_std"] = col
    flagged = np.flatnonzero(flag)  # the HTML report's jumps figure draws these (no second test)
    ctx.figure_data["jumps"] = jumps.flagged_jumps(panel, c.row[flagged], L[flagged], std.lee_mykland.window)
    top = tuple(_step(panel, c.row[i], L[i]) for i in news_day_index(flag, L))
    inc = _increments(ctx)
    largest = tuple(_step(panel, inc.row[i], None) for i in largest_move_index(inc))
    return wn305_measurement(std, raw, top, largest, len(c.x), ctx.config.alpha, ctx.config.n_sim)


def wn305_measurement(std: JumpPart, raw: JumpPart, news_days: tuple[NewsDay, ...],
                      largest_moves: tuple[NewsDay, ...], nobs: int, alpha: float, n_sim: int) -> Measurement:
    """WN305's record from the two coordinates' jump parts, the news days and the
    largest moves (both engines)."""
    ps = [x for x in (std.bns.per_series.pvalue, std.lee_mykland.per_series.pvalue) if x is not None]
    p = float(min(1.0, 2 * min(ps))) if ps else None
    fails = p is not None and p < alpha
    js = std.bns.pooled_jump_share
    lmd = std.lee_mykland
    msg = (f"BNS rejects in {_pct(std.bns.per_series.share_reject)} of series "
           f"(raw Δp {_pct(raw.bns.per_series.share_reject)}), jump share of variance "
           f"{_f(100 * js if js is not None else None, '.0f')}%; Lee–Mykland (K = {lmd.window}) flags "
           f"{lmd.n_jumps} jumps in {lmd.series_with_jumps} series")
    caps = () if n_sim <= MAX_NULL_DRAWS else (SimulationCap(
        what="WN305 Gaussian null draws per series length", requested=int(n_sim),
        used=MAX_NULL_DRAWS, reason="descriptive layer-B p-values; more draws add run time, not information"),)
    return _measured(fails, statistic=std.bns.median_rj, pvalue=p, estimate=js, nobs=nobs, message=msg,
                     null="continuous paths (no jumps) in standardised increments", alternative="jumps",
                     details=JumpsDetails(
                         coordinates=STD_NOTE, standardised=std, raw=raw, news_days=news_days,
                         pvalue_rule="per-series Monte-Carlo p-values (Gaussian null, same length); "
                                     "2·min(BNS, Lee–Mykland) of 2·min(binomial, Bonferroni) combinations",
                         largest_moves=largest_moves), caps=caps)


# --------------------------------------------------------------------------- WN306
NO_UNDERLYING = "no underlying column"
UNDERLYING_PERCENT_ABOVE = 1.5  # an underlying with any value above this is in % (vote share 0–100)


def underlying_share(panel, percent: bool | None = None) -> np.ndarray | None:
    """The underlying as a share in (0, 1); ``percent`` None: decided on the panel's
    values (the Dask engine decides over every partition and passes it)."""
    u = panel.underlying
    if u is None:
        return None
    u = np.asarray(u, dtype=float)
    if percent is None:
        top = underlying_max(u)
        percent = top is not None and top > UNDERLYING_PERCENT_ABOVE
    if percent:
        u = u / 100.0
    return u


def underlying_max(u: np.ndarray) -> float | None:
    """The largest underlying value, NaN ignored (None when every value is missing)."""
    u = u[~np.isnan(u)]
    return float(u.max()) if len(u) else None


def _usable_underlying(y: np.ndarray) -> np.ndarray:
    return np.isfinite(y) & (y > 0) & (y < 1)


def taleb_parts(panel, inc: Increments, y: np.ndarray) -> dict:
    """Per series σ̂ fitted on the shadow X = erf⁻¹(2Y − 1) of the underlying share
    ``y`` (rows), σ from Taleb's Eq. 2, and the additive sums of the forecast against
    Taleb's B(Y_t, σ̂, τ_t) and of |Δp| against |ΔY| (``taleb_path`` forms the claim;
    the Dask engine adds the sums over partitions)."""
    s = panel.series_index
    ttr = panel.time_to_resolution
    horizon = ttr[panel.first_row]
    tfrac = panel.time / horizon[s]
    tau = ttr / horizon[s]
    x = taleb.shadow(np.clip(y, 1e-12, 1 - 1e-12))
    r = inc.row
    good = np.isfinite(y[r]) & np.isfinite(y[r - 1]) & (y[r] > 0) & (y[r] < 1) & (y[r - 1] > 0) & (y[r - 1] < 1)
    r, ser = r[good], inc.series[good]
    S = panel.n_series
    qv = np.bincount(ser, weights=(x[r] - x[r - 1]) ** 2, minlength=S)
    tt = np.bincount(ser, weights=tfrac[r] - tfrac[r - 1], minlength=S)
    vy = np.bincount(ser, weights=(y[r] - y[r - 1]) ** 2, minlength=S)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.sqrt(qv / tt)  # σ̂² = Σ ΔX² / Σ Δt (quadratic variation), t in horizons
        svote = np.sqrt(vy / tt)
    y0 = y[panel.first_row]
    sigma_eq2 = taleb.sigma_from_vote_volatility(svote, np.clip(y0, 1e-9, 1 - 1e-9), 1.0)
    b = taleb.binary_price(np.clip(y, 1e-12, 1 - 1e-12), sigma[s], np.maximum(tau, 0))
    use = inc.eligible[s] & _usable_underlying(y)
    use &= np.isfinite(b) & np.isfinite(sigma[s])
    adp = np.abs(panel.p[r] - panel.p[r - 1])
    ady = np.abs(y[r] - y[r - 1])
    return {"sse": float(np.sum((panel.p[use] - b[use]) ** 2)), "n_use": int(np.count_nonzero(use)),
            "n_more": int(np.count_nonzero(adp > ady)), "n_steps": len(adp),
            "sum_adp": float(adp.sum()), "sum_ady": float(ady.sum()),
            "sigma": sigma, "sigma_eq2": sigma_eq2, "fit_ok": np.isfinite(sigma) & (tt > 0)}


def taleb_path(parts: list[dict], sigma: np.ndarray, sigma_eq2: np.ndarray, fit_ok: np.ndarray) -> dict:
    """WN306's underlying path from the parts' sums (one part in memory) and the
    per-series σ̂, Eq. 2 σ and fit flags (S,) in panel order."""
    sse, n_use, n_more, n_steps, sum_adp, sum_ady = (
        parts[0][k] if len(parts) == 1 else sum(p[k] for p in parts)
        for k in ("sse", "n_use", "n_more", "n_steps", "sum_adp", "sum_ady"))
    return {"testable": True, "n_series": int(fit_ok.sum()),
            "sigma_median": float(np.median(sigma[fit_ok])) if fit_ok.any() else None,
            "sigma_eq2_median": float(np.nanmedian(sigma_eq2[fit_ok])) if fit_ok.any() else None,
            "rmse_forecast_vs_B": float(np.sqrt(sse / n_use)) if n_use else None,
            "share_steps_forecast_moves_more": n_more / n_steps if n_steps else None,
            "abs_movement_ratio": sum_adp / sum_ady if sum_ady > 0 else None,
            "sigma_per_series": sigma, "fit_ok_per_series": fit_ok}


MIN_UNDERLYING = 10  # usable underlying values (in (0, 1), eligible series) for WN306's claim 2


def untestable_underlying(n_usable: int) -> dict | None:
    """WN306's claim 2 when the underlying is too thin to fit (else None)."""
    if n_usable < MIN_UNDERLYING:
        return {"testable": False, "reason": f"fewer than {MIN_UNDERLYING} usable underlying values in (0, 1)"}
    return None


def usable_underlying_count(panel, inc: Increments, y: np.ndarray) -> int:
    """Rows of eligible series whose underlying share lies in (0, 1)."""
    return int(np.count_nonzero(inc.eligible[panel.series_index] & _usable_underlying(y)))


def _taleb_path(ctx: CheckContext, inc: Increments) -> dict:
    """Fit σ per series on the shadow X = erf⁻¹(2Y − 1) of the underlying and compare
    the forecast with Taleb's B(Y_t, σ̂, τ_t)."""
    y = underlying_share(ctx.panel)
    thin = untestable_underlying(usable_underlying_count(ctx.panel, inc, y))
    if thin is not None:
        return thin
    part = taleb_parts(ctx.panel, inc, y)
    return taleb_path([part], part["sigma"], part["sigma_eq2"], part["fit_ok"])


def check_wn306(ctx: CheckContext) -> Measurement:
    panel = ctx.panel
    inc = _increments(ctx)
    path = _taleb_path(ctx, inc) if panel.underlying is not None else {"testable": False, "reason": NO_UNDERLYING}
    return wn306_measurement(panel.p0, panel.outcome, inc.eligible, ctx.budget(), path, ctx.config.alpha)


def wn306_measurement(p0: np.ndarray, outcome: np.ndarray, eligible: np.ndarray, b, path: dict,
                      a: float) -> Measurement:
    """WN306's record from per-series arrays (S,) in panel order: first forecast
    ``p0``, ``outcome`` (NaN unresolved), ``eligible`` (series the increments use),
    the variance budget ``b`` of every series, and the underlying's path (``_taleb_path``;
    ``{"testable": False, "reason": ...}`` without one). Per-series inputs only, so the
    Dask engine forms the same record from the series table (engine/wiener.wn306)."""
    elig = eligible
    resolved = elig & ~np.isnan(outcome)
    claims = []

    # (1) "with high uncertainty the forecast should stay near 50%". Take each resolved
    # series' first forecast (the most time, hence uncertainty, left); among those beyond
    # 20/80, would a forecast pulled halfway to 50% have scored better (Brier)? Paired
    # difference d = (o − p_fav)² − (o − p_half)², p_half = ½ + (p_fav − ½)/2.
    extreme = resolved & (np.abs(p0 - 0.5) >= 0.3)
    n_ext = int(extreme.sum())
    early_share = float(np.mean(np.abs(p0[elig] - 0.5) >= 0.3)) if elig.any() else None
    z1 = p1 = None
    if n_ext >= 5:
        pf = np.maximum(p0[extreme], 1 - p0[extreme])
        won = np.where(p0[extreme] > 0.5, outcome[extreme], 1 - outcome[extreme])
        half = 0.5 + (pf - 0.5) / 2
        d = (won - pf) ** 2 - (won - half) ** 2
        sd = d.std(ddof=1)
        z1 = float(d.mean() / (sd / np.sqrt(n_ext))) if sd > 0 else 0.0
        p1 = float(2 * stats.norm.sf(abs(z1)))
        verdict = ("holds" if z1 > 0 else "fails") if p1 < a else "not established"
        ev = (f"{n_ext} series started beyond 20/80; the favourite won {100 * won.mean():.0f}% vs "
              f"{100 * pf.mean():.0f}% forecast; pulled halfway to 50% they would have scored "
              f"{abs(d.mean()):.3f} {'better' if d.mean() > 0 else 'worse'} in Brier score")
    else:
        verdict = "not testable"
        ev = f"only {n_ext} resolved series started beyond 20/80 (need 5)"
    claims.append(Claim(claim="with high uncertainty the forecast should stay near 50%", verdict=verdict,
                        evidence=ev, extra={"z": z1, "pvalue": p1,
                                            "share_series_starting_beyond_20_80": early_share, "n": n_ext}))

    # (2) "it should not move more than its underlying" (Taleb 2018 fn 1)
    path = dict(path)
    sigma = path.pop("sigma_per_series", None)
    fit_ok = path.pop("fit_ok_per_series", None)
    if path.get("testable"):
        ratio = path["abs_movement_ratio"]
        verdict = "not testable" if ratio is None else ("fails" if ratio > 1 else "holds")
        ev = (f"forecast moved more than the underlying on {100 * path['share_steps_forecast_moves_more']:.0f}% "
              f"of steps; Σ|Δp|/Σ|ΔY| = {_f(ratio, '.2f')}; Taleb B path with fitted σ̂ "
              f"(median {_f(path['sigma_median'], '.2f')}) has RMSE {_f(path['rmse_forecast_vs_B'], '.3f')}")
    else:
        reason = path.get("reason", "")
        verdict, ev = "not testable", (f"no usable underlying ({reason}); pass --underlying-col"
                                       if reason == NO_UNDERLYING else f"the underlying is not usable: {reason}")
    claims.append(Claim(claim="the forecast should not move more than its underlying", verdict=verdict,
                        evidence=ev, extra={"underlying": path}))

    # (3) "more volatility should mean less movement of the forecast". The budget says
    # the opposite: E[movement] = p0(1 − p0) (A-R 2021 Cor. 1), so more uncertain
    # questions must move more.
    m, u0 = b.movement[resolved], uncertainty(p0[resolved])
    rho = p3 = None
    if resolved.sum() >= 8 and np.ptp(u0) > 0 and np.ptp(m) > 0:
        res = stats.spearmanr(u0, m)
        rho = float(res.statistic)
        z_rho = np.arctanh(np.clip(rho, -0.999999, 0.999999)) * np.sqrt((len(m) - 3) / 1.06)  # |ρ| = 1 finite
        p_pos, p_neg = float(stats.norm.sf(z_rho)), float(stats.norm.cdf(z_rho))
        p3 = p_pos
        if p_pos < a:
            verdict = "fails"
        elif p_neg < a:
            verdict = "holds"
        else:
            verdict = "not established"
        ev = (f"across {int(resolved.sum())} resolved series, Spearman ρ(initial uncertainty p0(1−p0), "
              f"total movement) = {rho:+.2f} (the variance budget E[Σ Δp²] = p0(1−p0) requires ρ > 0)")
        extra = {}
        sel = fit_ok & resolved if sigma is not None and fit_ok is not None else None
        if sel is not None and np.sum(sel) >= 8 and np.ptp(sigma[sel]) > 0 and np.ptp(b.movement_inflight[sel]) > 0:
            rs = stats.spearmanr(sigma[sel], b.movement_inflight[sel])
            extra = {"spearman_sigma_vs_inflight_movement": float(rs.statistic), "n_sigma": int(sel.sum())}
            ev += f"; ρ(σ̂ of underlying, forecast movement) = {rs.statistic:+.2f}"
    else:
        verdict, ev, extra = "not testable", "fewer than 8 resolved series with varying p0", {}
    claims.append(Claim(claim="more volatility (uncertainty) should mean less movement of the forecast",
                        verdict=verdict, evidence=ev, extra={"spearman_rho": rho, "pvalue": p3, **extra}))

    # model-free replacement: the volatility seller's P&L (A-R 2021, Prop. 2)
    Xs = b.excess
    seller = VolatilitySeller(
        profit_total=float(np.sum(Xs)), profit_mean=float(np.mean(Xs)) if len(Xs) else None, n_series=int(len(Xs)),
        movement_over_reduction=float(b.movement.sum() / b.uncertainty_reduction.sum())
        if b.uncertainty_reduction.sum() > 0 else None,
        strategy="hold (1 − 2p) YES contracts each step; P&L = Σ(1 − 2p_{t−1})Δp_t = m − r")
    fails = any(c.verdict == "fails" for c in claims)
    verdicts = ", ".join(f"({i + 1}) {c.verdict}" for i, c in enumerate(claims))
    msg = (f"critique's claims: {verdicts}; volatility seller's profit Σ(m − r) = "
           f"{seller.profit_total:+.3f} per $1 over {seller.n_series} series")
    return _measured(fails, statistic=rho, pvalue=p3,
                     estimate=path.get("sigma_median") if path.get("testable") else rho,
                     nobs=int(resolved.sum()), message=msg,
                     null="the forecast behaves as Taleb's binary option on a Brownian shadow",
                     alternative="at least one of the model's qualitative claims is contradicted by the data",
                     details=TalebDetails(
                         claims=tuple(claims), volatility_seller=seller,
                         formula="B(Y0, sigma, tau) = 1/2 erfc((l - erfinv(2Y0-1) e^{sigma^2 tau}) / "
                                 "sqrt(e^{2 sigma^2 tau} - 1)), l = 0 (Taleb 2018 Eq. 1)"))


# --------------------------------------------------------------------------- WN307
def check_wn307(ctx: CheckContext) -> Measurement:
    a = ctx.config.alpha
    panel = ctx.panel
    inc = _increments(ctx)
    dp = inc.dp
    zero_share = float(np.mean(dp == 0))
    moved = dp != 0
    tick = float(np.min(np.abs(dp), where=moved, initial=np.inf)) if moved.any() else None
    del moved
    if inc.eligible.all():  # every row: the panel's own arrays, no copies
        p_rows, s_rows = panel.p, panel.series_index
    else:
        rows = np.flatnonzero(inc.eligible[panel.series_index])
        p_rows, s_rows = panel.p[rows], panel.series_index[rows]
    grid = microstructure.detect_grid(p_rows)
    L = inc.at_equal_length()  # every series used and of one length L: no segment codes needed
    if L:
        rl = microstructure.roll(dp, None, seg_length=L - 1)
        sig = microstructure.signature_ratio(p_rows, None, panel.n_series, q=5, seg_length=L)
        step = np.repeat(panel.typical_step, L - 1)
    else:
        seg, _ = group_codes(inc.series)  # = np.unique(…, return_inverse=True)[1]
        rl = microstructure.roll(dp, seg)
        del seg
        rseg, n_seg = group_codes(s_rows)
        sig = microstructure.signature_ratio(p_rows, rseg, n_seg, q=5)
        del rseg
        step = panel.typical_step[inc.series]
    regular = float(np.mean(np.isclose(inc.dt, step))) if inc.n else None
    del step
    return wn307_measurement(zero_share, tick, grid, rl, sig, regular, inc.n, a)


def wn307_measurement(zero_share: float, tick: float | None, grid: float | None, rl: dict, sig: dict,
                      regular: float | None, n: int, alpha: float) -> Measurement:
    """WN307's record from the share of zero updates, the smallest move, the price grid,
    Roll's bounce (``microstructure.roll``), the RV signature ratio and the share of
    regular steps (both engines)."""
    sig_ok = sig["n_series"] > 0 and sig["ratio"] is not None
    bounce = rl["bounce_share"]
    fails = zero_share >= 0.10 or (rl["pvalue"] is not None and rl["pvalue"] < alpha and (bounce or 0) > 0.05)
    msg = (f"{100 * zero_share:.0f}% zero updates; tick {_f(tick, '.3g')}"
           + (f" (grid {grid:g})" if grid else "") + f"; Roll bounce share {_f(bounce, '.2f')}"
           + (f"; signature ratio RV(1)/RV(5) = {sig['ratio']:.2f}" if sig_ok else ""))
    return _measured(fails, statistic=bounce, pvalue=rl["pvalue"], estimate=zero_share, nobs=n, message=msg,
                     null="continuous frictionless updating: few zero updates, no bid-ask bounce",
                     alternative="stale updates (≥ 10% zeros) or significant bounce (share > 5%)",
                     details=MicrostructureDetails(coordinates="raw Δp", zero_share=zero_share,
                                                   smallest_nonzero_move=tick, grid=grid, roll=rl,
                                                   signature=sig if sig_ok else None, share_regular_steps=regular))


CHECKS = [
    CheckSpec("WN301", "volatility shape", FAMILY, SEVERITY, check_wn301,
              "Fit E[Δp²/Δt] = c[p(1−p)]^γ/τ^α; which coordinates make increments homoskedastic."),
    CheckSpec("WN302", "Gaussian increments", FAMILY, SEVERITY, check_wn302,
              "Jarque–Bera and Anderson–Darling on standardised and raw increments; k-sigma moves."),
    CheckSpec("WN303", "tail index", FAMILY, SEVERITY, check_wn303,
              "Hill tail index of standardised increments against a Gaussian reference."),
    CheckSpec("WN304", "volatility clustering", FAMILY, SEVERITY, check_wn304,
              "ARCH-LM and signed/squared autocorrelation: bounce vs stochastic volatility."),
    CheckSpec("WN305", "jumps", FAMILY, SEVERITY, check_wn305,
              "BNS ratio test and Lee–Mykland jump detection; the biggest news days."),
    CheckSpec("WN306", "Taleb binary-option model", FAMILY, SEVERITY, check_wn306,
              "Taleb's B(Y0, σ, τ) and the critique's claims vs the volatility seller's P&L."),
    CheckSpec("WN307", "microstructure", FAMILY, SEVERITY, check_wn307,
              "Zero updates, tick, Roll bounce share and the RV signature ratio."),
]



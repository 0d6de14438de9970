"""Typed details of every check: the fields renderers read and the JSON ``details``.

One frozen dataclass per check (a few shared parts), fields in the order of the
JSON object (schema docs/json-schema.md). Checks build them; renderers read their
attributes and never index into dicts by string. ``to_dict()`` (from
:class:`~forecheck.results.Details`) gives the JSON object. A field typed
``dict[str, Any]`` is a free-form block for JSON readers (e.g. a per-bucket table
straight from ``stats/``) that no renderer reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forecheck.results import Details

# ============================================================== MG: martingale


@dataclass(frozen=True)
class BudgetPart(Details):
    """Movement against its own budget, for the in-flight steps or the resolution step."""

    movement: float
    budget: float
    ratio: float | None


@dataclass(frozen=True)
class P0Stratum(Details):
    """MG101 restricted to series starting in [p0_from, p0_to)."""

    p0_from: float
    p0_to: float
    n_series: int
    movement: float
    uncertainty_reduction: float
    excess: float
    ratio: float | None
    pvalue: float
    reference: str | None = None  # "simulated" or "asymptotic" (stats/asymptotic.py)


@dataclass(frozen=True)
class TauBin(Details):
    """Movement against uncertainty reduction of the steps taken in one band of time
    to resolution (the last band is the resolution step itself)."""

    time_to_resolution: str
    n_steps: int
    movement: float
    uncertainty_reduction: float
    excess: float
    ratio: float | None


@dataclass(frozen=True)
class ExcessInference(Details):
    """How MG101's p-value and CI were obtained.

    n_eff : effective number of independent series from the excess terms' own
        design effect; n_eff_increments : MG106's count; n_eff_gate : the smaller,
        used by the dependence gate.
    """

    method: str
    n_sim: int
    draws_per_series: int
    design_effect: float
    n_eff: float
    rho_excess_terms: float
    se_of_excess: float
    n_eff_increments: float
    n_eff_gate: float
    reference: dict[str, Any] | None = None  # which null: simulated or N(0, 1), and why (stats/asymptotic.py)


@dataclass(frozen=True)
class QuestionRow(Details):
    """One question's budget (A-R 2021 Prop. 3): u = 1 − Σ_s π_{s,0}², movement
    m = Σ_t Σ_s Δπ² with the resolution step to the outcome vector."""

    question: str
    n_outcomes: int
    uncertainty: float
    movement: float
    ratio: float | None
    resolved: bool


@dataclass(frozen=True)
class QuestionsSummary(Details):
    """The questions the pooled tests count (declared with --question-col or
    detected as complementary series; docs/checks.md, "Questions").

    n_mirrors_dropped : second contracts of complementary two-outcome questions,
        not counted again by the pooled tests (their per-contract values stay in the
        series table); largest : the questions with the largest excess movement.
    """

    source: str  # declared | detected
    n_questions: int
    n_series_in_questions: int
    outcomes_per_question: dict[str, int]
    n_mirrors_dropped: int
    n_probabilities_not_summing: int
    n_outcomes_not_summing: int
    uncertainty: float
    movement: float
    ratio: float | None
    largest: tuple[QuestionRow, ...]
    summary: str


@dataclass(frozen=True)
class ExcessMovementDetails(Details):
    """MG101: pooled movement Σm against uncertainty reduction Σr (A-R 2021 Prop. 1)."""

    ratio: float
    movement: float
    uncertainty_reduction: float
    excess: float
    n_series: int
    n_resolved: int
    n_excluded: int
    direction: str  # "moves too much" | "moves too little"
    inflight: BudgetPart
    resolution: BudgetPart
    by_p0: tuple[P0Stratum, ...]
    by_time_to_resolution: tuple[TauBin, ...]
    volatility_seller_profit: float
    volatility_seller_profit_per_series: float
    inference: ExcessInference
    questions: QuestionsSummary | None = None


@dataclass(frozen=True)
class FlaggedSeries(Details):
    id: str
    excess: float
    ratio: float | None
    z: float
    pvalue: float
    qvalue: float
    n: int


@dataclass(frozen=True)
class SeriesZ(Details):
    id: str
    z: float
    pvalue: float


@dataclass(frozen=True)
class SeriesScreenDetails(Details):
    """MG102: series whose excess movement is implausible on its own (BH over series)."""

    n_series: int
    n_flagged: int
    flagged: tuple[FlaggedSeries, ...]
    largest_z: tuple[SeriesZ, ...]
    method: str
    z_note: str


@dataclass(frozen=True)
class RegressionDetails(Details):
    """MG103 / MG104: a series-clustered regression of a revision (or forecast error)
    on the previous revision, with its dependence-widened inference."""

    beta: float
    alpha: float
    se: float
    t: float
    p_boot: float
    p_t: float
    ci: tuple[float, float]
    n_obs: int
    n_clusters: int
    deff: float
    n_eff: float
    se_cr1_unwidened: float
    reading: str
    method: str
    reference: str  # "asymptotic" (t(G − 1)) or "simulated" (bootstrap): stats/asymptotic.py
    n_eff_variance: float
    n_eff_dependence: float
    analytic_min_neff: float


@dataclass(frozen=True)
class RevisionAutocorrelationDetails(RegressionDetails):
    """MG103: Δp_t on Δp_{t−1}; p_value_t_G_minus_1 is the t(G−1) reference p."""

    p_value_t_G_minus_1: float


@dataclass(frozen=True)
class RevisionErrorDetails(RegressionDetails):
    """MG104: (o − p_t) on Δp_t; p_wcr_symmetric is the wild cluster bootstrap p
    (the reported p-value is the simulated-martingale one)."""

    p_wcr_symmetric: float


@dataclass(frozen=True)
class VarianceRatioAt(Details):
    q: int
    vr: float
    z: float
    pvalue: float
    n_series: int
    n_steps: int


@dataclass(frozen=True)
class VarianceRatioDetails(Details):
    """MG105: pooled Lo–MacKinlay variance ratios and their joint Wald test."""

    by_q: tuple[VarianceRatioAt, ...]
    wald: float
    wald_df: int
    wald_chi2_p: float
    bonferroni_p: float
    design_effect: float
    reading: str
    method: str


@dataclass(frozen=True)
class DependenceDetails(Details):
    """MG106: same-time correlation of revisions and the effective number of
    independent series (Kish design effect)."""

    rho: float
    design_effect_increments: float
    n_eff: float
    n_series: int
    n_shared_times: int
    mean_series_per_time: float
    clusters_declared: bool
    n_clusters: int | None
    method: str
    n_questions: int | None = None  # questions (declared or detected) among the series
    by_family: tuple["FamilyDependence", ...] = ()
    # Σ_t D_t / √Σ_t D_t² of the same-time sums D_t of the revisions: ~N(0, 1) for a
    # martingale resolving at fixed times; beyond ±COMMON_DRIFT_Z they drift together
    # (stats/dependence.py; docs/checks.md, MG106)
    common_drift_z: float = 0.0
    shared_drift: bool = False  # |common_drift_z| beyond stats/dependence.COMMON_DRIFT_Z


@dataclass(frozen=True)
class FamilyDependence(Details):
    """The effective number of independent units one pooled test measured on its own
    contributions (``stats/dependence.py:unit_design_effect``), as the dependence gate
    reads it."""

    code: str
    contributions: str
    n_units: int
    n_eff: float
    design_effect: float
    design_effect_within_units: float


# ============================================================= CA: calibration


@dataclass(frozen=True)
class Scores(Details):
    """Brier score with its Murphy (binned) and CORP (isotonic) decompositions.

    murphy : ``stats.calibration.murphy_decomposition(...).to_dict()`` (rel, res,
    unc, ...); corp : ``corp_decomposition(...).to_dict()`` (mcb, dsc, unc, ...).
    """

    n: int
    brier: float
    murphy: dict[str, Any]
    corp: dict[str, Any]
    bins: dict[str, Any] | None = None


@dataclass(frozen=True)
class HorizonScores(Details):
    label: str
    horizon: float
    n: int
    brier: float
    murphy: dict[str, Any]
    corp: dict[str, Any]


@dataclass(frozen=True)
class BrierDetails(Details):
    """CA201: Brier score at the last forecast and at fixed horizons."""

    last: Scores
    horizons: tuple[HorizonScores, ...]
    dropped_horizons: tuple[Any, ...]
    time_unit: str
    murphy_bins: str
    corp: str
    ci: str


@dataclass(frozen=True)
class SpiegelhalterDetails(Details):
    """CA202: observed against expected Brier of the last forecasts."""

    observed_brier: float
    expected_brier: float
    pvalue_mc: float | None  # None: not simulated, Z's N(0, 1) reference holds (``reference``)
    pvalue_mc_note: str
    reference: str  # "asymptotic": no simulated cross-check; "simulated": pvalue_mc computed
    n_eff_variance: float  # N_v of the units' variance contributions to Z
    n_eff_dependence: float
    analytic_min_neff: float
    note: str


@dataclass(frozen=True)
class RecalibrationDetails(Details):
    """CA203: Cox logistic recalibration logit P(o=1) = a + b logit(p)."""

    intercept: float
    intercept_se: float
    intercept_ci: tuple[float, float]
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    loglik: float
    loglik_null: float
    lr_df: int
    clip: float
    n_clipped: int
    note: str


@dataclass(frozen=True)
class HorizonCalibration(Details):
    label: str
    horizon: float | None
    n: int
    z: float
    pvalue: float
    observed_brier: float
    expected_brier: float


@dataclass(frozen=True)
class HorizonPoint(Details):
    label: str
    horizon: float | None
    brier: float
    variance: float


@dataclass(frozen=True)
class Violation(Details):
    kind: str  # "brier rises" | "dispersion falls"
    from_: str
    to: str
    diff: float
    t: float
    pvalue_pointwise: float

    def to_dict(self) -> dict[str, Any]:  # "from" is a keyword in Python
        d = super().to_dict()
        return {"kind": d["kind"], "from": d["from_"], **{k: v for k, v in d.items() if k not in ("kind", "from_")}}


@dataclass(frozen=True)
class HorizonConsistencyDetails(Details):
    """CA204: Patton–Timmermann (2012) bounds across horizons."""

    sequence: tuple[HorizonPoint, ...]
    violations: tuple[Violation, ...]
    merged_horizons: tuple[str, ...]
    per_horizon_calibration: tuple[HorizonCalibration, ...]
    method: str
    n_boot: int  # bootstrap draws, or draws of the Gaussian reference's maximum
    reference: str  # "asymptotic" (Gaussian max-t) or "simulated" (bootstrap): stats/asymptotic.py
    n_eff_variance: float  # N_v of the most concentrated contrast
    n_eff_dependence: float
    analytic_min_neff: float
    note: str


# ====================================================== WN: Wiener assumptions


@dataclass(frozen=True)
class Combination(Details):
    """Per-series tests combined over series (``stats.segments.binomial_combination``):
    the share rejecting at α against the expected share, and 2·min(binomial tail,
    Bonferroni min p)."""

    n_series: int
    n_reject: int
    share_reject: float | None
    expected_share: float | None
    pvalue_binomial: float | None
    pvalue_min: float | None
    pvalue: float | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> "Combination":
        return cls(**{k: d.get(k) for k in ("n_series", "n_reject", "share_reject", "expected_share",
                                              "pvalue_binomial", "pvalue_min", "pvalue")})


@dataclass(frozen=True)
class CoordinateDispersion(Details):
    """WN301: mean square of one coordinate's increments by level p and by clock τ."""

    n: int
    by_p: dict[str, Any]
    by_tau: dict[str, Any]
    spread: float | None
    homoskedastic: bool


@dataclass(frozen=True)
class VolatilityShapeDetails(Details):
    """WN301: E[Δp²/Δt] = c [p(1−p)]^γ / τ^α and which coordinates are homoskedastic."""

    model: str
    gamma: float
    gamma_ci: tuple[float, float]
    alpha: float
    alpha_ci: tuple[float, float]
    log_c: float
    tau_unit: str
    n_series: int
    se: str
    wald_constant: float
    converged: bool
    reference: dict[str, Any]
    coordinates: dict[str, CoordinateDispersion | None]
    homoskedastic_coordinates: tuple[str, ...]
    best_coordinate: str | None
    homoskedastic_ratio_threshold: float
    standardised_coordinate: str


@dataclass(frozen=True)
class KSigma(Details):
    k: float
    observed: int
    expected_gaussian: float


@dataclass(frozen=True)
class NormalityPart(Details):
    n: int
    n_series: int
    pooled_jb: float
    pooled_jb_pvalue: float
    pooled_skew: float
    pooled_excess_kurtosis: float
    median_series_excess_kurtosis: float
    jb_per_series: Combination
    ad_per_series: Combination
    k_sigma: tuple[KSigma, ...]


@dataclass(frozen=True)
class GaussianIncrementsDetails(Details):
    """WN302: Jarque–Bera / Anderson–Darling on standardised and raw increments."""

    coordinates: str
    standardised: NormalityPart
    raw: NormalityPart
    pvalue_rule: str


@dataclass(frozen=True)
class HillPart(Details):
    xi: float
    xi_ci: tuple[float, float]
    tail_index: float | None
    tail_index_ci: tuple[float | None, float | None]
    k: int
    n: int
    threshold: float
    gaussian_reference_xi: float
    z: float
    pvalue: float | None


@dataclass(frozen=True)
class TailIndexDetails(Details):
    """WN303: Hill tail index of |standardised increments| against a Gaussian reference."""

    coordinates: str
    standardised: HillPart
    raw: HillPart
    interval: str


@dataclass(frozen=True)
class ArchLM(Combination):
    """WN304's per-series ARCH-LM tests combined over series, plus the median LM
    statistic and its degrees of freedom."""

    median_lm: float | None
    df: int


@dataclass(frozen=True)
class ClusteringPart(Details):
    arch_lm: ArchLM
    acf_signed: tuple[float, ...]
    acf_squared: tuple[float, ...]
    acf_se: float
    acf_note: str
    share_series_negative_lag1: float | None
    reading: str
    n: int


@dataclass(frozen=True)
class VolatilityClusteringDetails(Details):
    """WN304: ARCH-LM and signed/squared autocorrelation."""

    coordinates: str
    nlags: int
    standardised: ClusteringPart
    raw: ClusteringPart
    design: str
    pvalue_rule: str


@dataclass(frozen=True)
class BNSPart(Details):
    per_series: Combination
    per_series_asymptotic: Combination
    median_rj: float | None
    pooled_jump_share: float | None


@dataclass(frozen=True)
class LeeMyklandPart(Details):
    window: int
    per_series: Combination
    per_series_gumbel: Combination
    gumbel_threshold: float
    n_jumps: int
    series_with_jumps: int


@dataclass(frozen=True)
class JumpPart(Details):
    bns: BNSPart
    lee_mykland: LeeMyklandPart
    null: dict[str, Any]


@dataclass(frozen=True)
class NewsDay(Details):
    """One detected jump (Lee–Mykland), largest |L| first."""

    series: str
    time: str
    p_before: float
    p_after: float
    dp: float
    L: float


@dataclass(frozen=True)
class JumpsDetails(Details):
    """WN305: BNS ratio test and Lee–Mykland jump detection.

    largest_moves : the largest |Δp| steps of the data whether or not a test flags
        them (so a report's "largest move" is the largest)."""

    coordinates: str
    standardised: JumpPart
    raw: JumpPart
    news_days: tuple[NewsDay, ...]
    pvalue_rule: str
    largest_moves: tuple[NewsDay, ...] = ()


@dataclass(frozen=True)
class Claim(Details):
    """One claim of Taleb's binary-option critique tested on the data.

    verdict : "holds" | "fails" | "not established" | "not testable"."""

    claim: str
    verdict: str
    evidence: str
    extra: dict[str, Any]

    @property
    def pvalue(self) -> float | None:
        """The across-series test's p-value (claims 1 and 3; treats series as independent)."""
        return self.extra.get("pvalue")

    @property
    def z(self) -> float | None:
        return self.extra.get("z")

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        return {"claim": d["claim"], "verdict": d["verdict"], "evidence": d["evidence"], **d["extra"]}


@dataclass(frozen=True)
class VolatilitySeller(Details):
    profit_total: float
    profit_mean: float | None
    n_series: int
    movement_over_reduction: float | None
    strategy: str


@dataclass(frozen=True)
class TalebDetails(Details):
    """WN306: the critique's claims against the data, and the model-free replacement
    (the volatility seller's P&L, A-R 2021)."""

    claims: tuple[Claim, ...]
    volatility_seller: VolatilitySeller
    formula: str


@dataclass(frozen=True)
class MicrostructureDetails(Details):
    """WN307: zero updates, tick grid, Roll bounce and the realised-variance signature."""

    coordinates: str
    zero_share: float
    smallest_nonzero_move: float | None
    grid: float | None
    roll: dict[str, Any]
    signature: dict[str, Any] | None
    share_regular_steps: float | None


# ============================================================= DQ: data quality


@dataclass(frozen=True)
class FindingDetails(Details):
    """A data-quality finding: how many rows or series, the first offending rows
    (file, line, ...), and rule-specific extras."""

    count: int
    rows: tuple[dict[str, Any], ...] | None = None  # None: the rule reports no rows
    extra: dict[str, Any] | None = None
    # what the message reads beyond the fields above, in a form that adds up over parts
    # of the rows (io/findings.FindingSpec.state: DQ007's distinct model dates); internal,
    # not written out
    _state: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        out: dict[str, Any] = {"count": d["count"]}
        if self.rows is not None:
            out["rows"] = d["rows"]
        out.update(d["extra"] or {})
        return out


# ================================================================ --group-by


@dataclass(frozen=True)
class GroupComparison(Details):
    """Two groups (e.g. model versions) compared on the questions both forecast:
    the paired Brier difference (Diebold–Mariano 1995) and both movement ratios.
    ``pvalue`` is None when the questions amount to too few effectively independent
    draws (``n_eff`` below the dependence gate's minimum), as for every pooled test."""

    a: str
    b: str
    n_common: int
    brier_a: float | None
    brier_b: float | None
    brier_difference: float | None  # a − b; negative: a scored better
    se: float | None
    statistic: float | None
    pvalue: float | None
    n_eff: float | None
    ratio_a: float | None
    ratio_b: float | None
    method: str

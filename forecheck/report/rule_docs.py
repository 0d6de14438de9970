"""What each check code means, for ``forecheck rule CODE`` (as ``ruff rule``).

One entry per code: what it tests, why it matters, the null hypothesis, the statistic,
how to read pass / fail / inconclusive, what to do, and the reference (with DOI). The
full derivations are in docs/checks.md (the ``url`` of every record). Data-quality
rules (DQ) take their summary from the input layer's rule table; ``DQ_ACTIONS`` says
what to do about each.
"""

from __future__ import annotations

INCONCLUSIVE_DEPENDENCE = (
    "inconclusive: MG106 finds fewer than 10 effectively independent series and dependence at least halves "
    "the information (e.g. the states of one election share a national swing), so the estimate and interval "
    "are reported without a p-value. Declare clusters with --cluster-col or add independent questions; "
    "--inconclusive fail makes such a run fail the gate.")
NOT_GATING = "not gating by default (severity info): a descriptive record."
LAYER_B = ("layer B: a calibrated Bayesian forecaster may legitimately fail this; a fail says which "
           "Wiener-process (critique-style) arguments do not apply to this data, not that the forecast is defective.")

RULE_DOCS: dict[str, dict[str, str]] = {
    "MG101": {
        "what": "Whether the forecast moves as much as the uncertainty it resolves: pooled movement Σ(Δp)² "
                "(resolution step included) against the uncertainty reduction Σ p0(1 − p0).",
        "why": "For a calibrated forecaster (a martingale) E[Σ(Δp)²] = p0(1 − p0) whatever the path. A forecast "
               "that moves more over-reacts, one that moves less is sluggish; a volatility seller holding "
               "(1 − 2p) YES contracts profits from the first.",
        "null": "H0: E[Σ X] = 0 with X = movement − uncertainty reduction (the forecast is a martingale).",
        "statistic": "estimate = Σm/Σr (1 = exactly the budget); t = ΣX/√(deff·ΣV) with a parametric martingale "
                     "bootstrap p-value (probit-bridge paths matched per series); 95% bootstrap-t CI of the ratio.",
        "pass": "no evidence that the forecast moves more or less than its budget.",
        "fail": "ratio significantly above 1 (over-reaction, jumpiness) or below 1 (sluggishness).",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "Look at details.by_p0 and by_time_to_resolution for where the excess sits; shrink noisy "
                  "updates (over-reaction) or incorporate news faster (under-reaction). Gate on the effect size "
                  "with --max-movement-ratio / --min-movement-ratio.",
        "reference": "Augenblick & Rabin (2021), Belief Movement, Uncertainty Reduction, and Rational Updating, "
                     "QJE 136(2) 933-985, doi:10.1093/qje/qjaa043",
    },
    "MG102": {
        "what": "Single series that move implausibly much for their own variance budget (one-sided).",
        "why": "A pooled ratio can hide a few violent streams; one stream can only be rejected for moving too much.",
        "null": "H0 per series: the stream is a bounded martingale.",
        "statistic": "a supermartingale e-value per series (p = min(1, 1/E)), valid for every bounded martingale; "
                     "series flagged at Benjamini-Hochberg q < alpha; estimate = number flagged.",
        "pass": "no series moves implausibly much.",
        "fail": "details.flagged lists the series (largest evidence first).",
        "inconclusive": "not used.",
        "action": "Inspect the flagged series' paths (jumps back and forth, data errors, stale-then-snap updates).",
        "reference": "Howard, Ramdas, McAuliffe & Sekhon (2021), Time-uniform, nonparametric, nonasymptotic "
                     "confidence sequences, Ann. Statist. 49(2) 1055-1080, doi:10.1214/20-AOS1991",
    },
    "MG103": {
        "what": "Whether revisions predict the next revision (Nordhaus regression Δp_t = a + βΔp_{t−1}).",
        "why": "A martingale's revisions are unpredictable: β > 0 means smoothing / under-reaction, β < 0 "
               "over-reaction or bid-ask bounce.",
        "null": "H0: β = 0.",
        "statistic": "weighted least squares β with series-clustered (CR1) SEs; wild cluster restricted bootstrap-t "
                     "p-value; estimate = β with CI.",
        "pass": "revisions are not predictable from the previous one.",
        "fail": "β significantly different from 0 (its sign says which bias).",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "β > 0: pass news through in full at once; β < 0: damp reversals, check for bid-ask bounce in prices.",
        "reference": "Nordhaus (1987), Forecasting Efficiency: Concepts and Applications, REStat 69(4) 667-674, "
                     "doi:10.2307/1935962",
    },
    "MG104": {
        "what": "Whether the latest revision predicts the remaining forecast error (o − p_t) = a + bΔp_t.",
        "why": "b > 0 means errors continue the last revision (under-reaction), b < 0 that they reverse it "
               "(over-reaction); a martingale has b = 0.",
        "null": "H0: b = 0.",
        "statistic": "OLS b with clustered SEs; p-value from MG101's parametric martingale bootstrap; estimate = b.",
        "pass": "no predictable error after revisions.",
        "fail": "b significantly different from 0.",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "As MG103; resolved series only.",
        "reference": "Coibion & Gorodnichenko (2015), Information Rigidity and the Expectations Formation Process, "
                     "AER 105(8) 2644-2678, doi:10.1257/aer.20110306",
    },
    "MG105": {
        "what": "Variance ratios VR(q) at q = 2, 5, 10: does movement over q steps equal q one-step movements?",
        "why": "VR < 1 is mean reversion (over-reaction, bounce), VR > 1 momentum (smoothing); a martingale has 1.",
        "null": "H0: VR(q) = 1 for every q (pooled martingale-transform form, exact mean 0).",
        "statistic": "robust z per q and a joint Wald χ² over q; estimate = VR(2).",
        "pass": "no mean reversion or momentum.",
        "fail": "some VR(q) significantly away from 1 (details.by_q).",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "Read together with MG103: the horizon where VR departs from 1 says how long the bias persists.",
        "reference": "Lo & MacKinlay (1988), Stock Market Prices Do Not Follow Random Walks, RFS 1(1) 41-66, "
                     "doi:10.1093/rfs/1.1.41",
    },
    "MG106": {
        "what": "Cross-series dependence of same-time revisions and the effective number of independent series.",
        "why": "Series that share news (states of one election) carry less independent evidence than their "
               "count; pooled p-values must account for it, and with too few independent series none is valid.",
        "null": "H0 (descriptive z): no same-time correlation of revisions.",
        "statistic": "average pairwise correlation ρ̄ (statistic) and N_eff = S/(1 + (n̄ − 1)ρ̄) (estimate).",
        "pass": "descriptive record; " + NOT_GATING,
        "fail": "not used.",
        "inconclusive": "below 10 effective series the gating MG and CA checks become inconclusive.",
        "action": "Declare known clusters with --cluster-col; more independent questions raise N_eff.",
        "reference": "Moulton (1990), An Illustration of a Pitfall in Estimating the Effects of Aggregate "
                     "Variables on Micro Units, REStat 72(2) 334-338, doi:10.2307/2109724",
    },
    "CA201": {
        "what": "Brier score of the last forecasts, with Murphy (binned) and CORP (isotonic) decompositions "
                "by horizon.",
        "why": "Accuracy in one number, split into miscalibration, discrimination and uncertainty.",
        "null": "none (descriptive).",
        "statistic": "estimate = mean (p − o)² at the last forecast with a normal CI over series.",
        "pass": "descriptive record; " + NOT_GATING + " Gate on it with --max-brier (CI entirely above fails).",
        "fail": "not used.",
        "inconclusive": "not used.",
        "action": "Compare MCB (miscalibration) with DSC (discrimination): a high MCB is fixable by recalibration.",
        "reference": "Dimitriadis, Gneiting & Jordan (2021), Stable reliability diagrams for probabilistic "
                     "classifiers, PNAS 118(8) e2016191118, doi:10.1073/pnas.2016191118",
    },
    "CA202": {
        "what": "Spiegelhalter's Z: is the observed Brier score of the last forecasts the one they expect?",
        "why": "A calibrated forecaster's own probabilities predict its Brier score; a gap means over- or "
               "under-confidence.",
        "null": "H0: o ~ Bernoulli(p) independently at the last forecasts.",
        "statistic": "Z = Σ(o − p)(1 − 2p)/√Σ(1 − 2p)²p(1 − p), two-sided N(0, 1) (exact conditional MC p in details).",
        "pass": "outcomes are consistent with the stated probabilities.",
        "fail": "Z > 0 over-confident (worse than claimed), Z < 0 under-confident.",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "Over-confident: shrink toward 50%; under-confident: sharpen. CA203 estimates by how much.",
        "reference": "Spiegelhalter (1986), Probabilistic prediction in patient management and clinical trials, "
                     "Stat. Med. 5(5) 421-433, doi:10.1002/sim.4780050506",
    },
    "CA203": {
        "what": "Logistic (Cox) recalibration logit P(o = 1) = a + b·logit(p) at the last forecasts.",
        "why": "The slope says whether forecasts are too extreme (b < 1) or too timid (b > 1).",
        "null": "H0: a = 0 and b = 1 (joint likelihood-ratio test, χ²₂).",
        "statistic": "estimate = slope b with Wald CI; intercept in details.",
        "pass": "no recalibration needed.",
        "fail": "the stated forecasts are significantly improved by a recalibration.",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "Apply the fitted recalibration (or fix its cause); skip when outcomes are separated.",
        "reference": "Cox (1958), Two further applications of a model for binary regression, Biometrika 45(3/4) "
                     "562-565, doi:10.1093/biomet/45.3-4.562",
    },
    "CA204": {
        "what": "Horizon consistency: mean Brier must not rise and the dispersion of forecasts must not fall as "
                "resolution approaches.",
        "why": "For a martingale p_far = E[p_near | F_far]: information accumulates, so later forecasts are "
               "better and more spread out.",
        "null": "H0: every adjacent contrast (Brier increase, variance decrease) is ≤ 0.",
        "statistic": "max standardised violation with an SPA-style recentred bootstrap over series (estimate).",
        "pass": "no horizon where forecasts get worse or less dispersed.",
        "fail": "information is lost or forecasts shrink toward 50% near resolution (details.violations).",
        "inconclusive": INCONCLUSIVE_DEPENDENCE,
        "action": "Check late-stage model changes, stale inputs near resolution, or shrinkage rules.",
        "reference": "Patton & Timmermann (2012), Forecast Rationality Tests Based on Multi-Horizon Bounds, JBES "
                     "30(1) 1-17, doi:10.1080/07350015.2012.634337",
    },
    "WN301": {
        "what": "Volatility shape: E[Δp²/Δt] = c[p(1 − p)]^γ/τ^α, and which coordinates make increments homoskedastic.",
        "why": "Critiques assume a constant σ in probability units; an efficient binary price's volatility must "
               "depend on its level p and time to resolution τ.",
        "null": "H0: γ = α = 0 (constant volatility in probability units).",
        "statistic": "Poisson pseudo-ML GLM with clustered SEs, Wald χ²₂; estimate = γ with CI.",
        "pass": "volatility does not depend on level and clock.",
        "fail": "it does (as it should for a probability). " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Judge movement by the variance budget (MG101), not a constant σ.",
        "reference": "Taleb (2018), Election predictions as martingales: an arbitrage approach, Quantitative "
                     "Finance 18(1) 1-5, doi:10.1080/14697688.2017.1395230",
    },
    "WN302": {
        "what": "Gaussian increments (Jarque-Bera, Anderson-Darling) on standardised and raw increments; k-sigma counts.",
        "why": "\"A six-sigma move means the model is broken\" assumes Gaussian increments.",
        "null": "H0: standardised increments are Gaussian.",
        "statistic": "combined per-series AD p-value; estimate = pooled excess kurtosis.",
        "pass": "increments look Gaussian.",
        "fail": "fat tails or skew. " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Do not read large moves as n-sigma events; check MG101 instead.",
        "reference": "Jarque & Bera (1980), Efficient tests for normality, homoscedasticity and serial "
                     "independence of regression residuals, Econ. Lett. 6(3) 255-259, doi:10.1016/0165-1765(80)90024-5",
    },
    "WN303": {
        "what": "Hill tail index of |standardised increments| against a Gaussian reference.",
        "why": "Heavy tails mean a few moves carry much of the variance.",
        "null": "H0: tails no heavier than Gaussian (one-sided).",
        "statistic": "Hill estimate, k = ⌊√n⌋; estimate = tail index with CI.",
        "pass": "tails are not heavier than Gaussian.",
        "fail": "heavy tails. " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Allowed for a Bayesian fed lumpy news; the budget bounds total, not single, movement.",
        "reference": "Hill (1975), A simple general approach to inference about the tail of a distribution, "
                     "Ann. Statist. 3(5) 1163-1174, doi:10.1214/aos/1176343247",
    },
    "WN304": {
        "what": "Volatility clustering: ARCH-LM per series, signed and squared autocorrelations.",
        "why": "Plugging one σ into a model (B(Y0, σ, τ)) assumes volatility constant over time.",
        "null": "H0: no ARCH effects.",
        "statistic": "combined per-series LM p-value; estimate = squared lag-1 autocorrelation.",
        "pass": "no clustering.",
        "fail": "news arrives in bursts. " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Negative signed lag 1 with positive squared = bounce; otherwise stochastic volatility.",
        "reference": "Engle (1982), Autoregressive Conditional Heteroscedasticity with Estimates of the Variance "
                     "of United Kingdom Inflation, Econometrica 50(4) 987-1007, doi:10.2307/1912773",
    },
    "WN305": {
        "what": "Jumps: Barndorff-Nielsen-Shephard ratio test and Lee-Mykland detection, Monte-Carlo p-values.",
        "why": "\"A revision from 48% to 15% is not what a tradable price does\" assumes continuous paths.",
        "null": "H0: no jumps (continuous diffusion).",
        "statistic": "2·min(BNS, Lee-Mykland combined); estimate = jump share of variance 1 − ΣBV/ΣRV.",
        "pass": "no jumps beyond a diffusion.",
        "fail": "jumps (details.news_days lists the largest). " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Check the flagged news days; jumps are legitimate when news is.",
        "reference": "Lee & Mykland (2008), Jumps in Financial Markets: A New Nonparametric Test and Jump "
                     "Dynamics, RFS 21(6) 2535-2563, doi:10.1093/rfs/hhm056",
    },
    "WN306": {
        "what": "Taleb's binary-option model B(Y0, σ, τ) and its claims (stay near 50% under uncertainty; move "
                "no more than the underlying; more volatility, less movement).",
        "why": "These claims are properties of one model; the data say whether they hold here.",
        "null": "per claim (details.claims); pvalue = Spearman test of claim 3.",
        "statistic": "estimate = share of claims contradicted; the volatility seller's P&L in details.",
        "pass": "no claim contradicted.",
        "fail": "at least one claim contradicted. " + LAYER_B,
        "inconclusive": "claims without data are 'not testable' (e.g. no --underlying-col).",
        "action": "Pass --underlying-col to test claim 2; the model-free verdict is MG101.",
        "reference": "Taleb (2018), Election predictions as martingales: an arbitrage approach, Quantitative "
                     "Finance 18(1) 1-5, doi:10.1080/14697688.2017.1395230",
    },
    "WN307": {
        "what": "Microstructure: zero updates, tick size, Roll bounce share, RV signature ratio.",
        "why": "Realised variance measures belief volatility only if every tick is information.",
        "null": "H0 (bounce): first-order autocorrelation of increments ≥ 0.",
        "statistic": "estimate = share of zero updates; statistic = bounce share.",
        "pass": "updates are frequent and free of bounce.",
        "fail": "≥ 10% zero updates, or a significant bounce above 5%. " + LAYER_B,
        "inconclusive": "not used.",
        "action": "Sample prices less often or use mid prices before reading MG101 on market data.",
        "reference": "Roll (1984), A Simple Implicit Measure of the Effective Bid-Ask Spread in an Efficient "
                     "Market, J. Finance 39(4) 1127-1139, doi:10.1111/j.1540-6261.1984.tb03897.x",
    },
}

DQ_ACTIONS: dict[str, str] = {
    "DQ001": "Fill or remove blank probabilities at the source; the rows are dropped and counted.",
    "DQ002": "Nothing, if the markers mean 'no data'; the rows are dropped and counted.",
    "DQ003": "Deduplicate the export; extra identical copies are dropped.",
    "DQ004": "Nothing: rows are sorted by time before analysis.",
    "DQ005": "Lower --min-length or collect longer series; short ones still count for calibration.",
    "DQ006": "A forecast of exactly 0 or 1 must stay there; fix rounding (publish 0.999, not 1) or the data.",
    "DQ007": "Use --drop-backcast to analyse only real-time rows.",
    "DQ008": "Pass --outcomes or --outcome-col if the series have resolved.",
    "DQ009": "Check the resolution times, or drop rows after resolution.",
    "DQ050": "Fix the values, or pass --scale percent for 0-100 data.",
    "DQ051": "Clean the column, or declare the markers with --na-values.",
    "DQ052": "Decide which row is right; forecheck will not guess.",
    "DQ053": "Fix the outcomes table: one outcome per series.",
    "DQ054": "Use 0/1, true/false, yes/no, won/lost or blank.",
    "DQ055": "Fix the times, or choose another column with --time-col.",
    "DQ056": "Pass --scale unit or --scale percent.",
    "DQ057": "Name the columns with --series-col, --time-col, --prob-col, --outcome-col.",
    "DQ058": "Check the path and the file type (CSV, TSV, .csv.gz, Parquet).",
    "DQ059": "Fill the series ids, or choose another --series-col.",
}

"""Report prose: pure functions of typed check records (no statistics here).

The Wiener-process assumptions table, the critique claims and the facts of the
variance-budget verdict are built here from the records' fields, for every
renderer (text, markdown, HTML) and the JSON ``assumptions`` key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forecheck.report.format import fmt_fixed, fmt_pct
from forecheck.results import CheckResult

COORD_LABEL = {"raw": "raw Δp", "logit": "logit", "probit_clock": "probit clock z",
               "latent": "latent probit-clock increments ΔS/√Δt"}


def _pct(x: float | None) -> str:
    return fmt_pct(x)


def _f(x: Any, spec: str = ".3g") -> str:
    out = fmt_fixed(x, spec)
    return "n/a" if out == "–" else out


def assumption_rows(records: dict[str, CheckResult]) -> list[dict]:
    """One row per Wiener-process assumption (the JSON ``assumptions`` list), from
    this run's WN records: what a critique infers from it, what was measured here,
    whether it holds, and what that means for this forecast."""
    rows = []

    def holds(r: CheckResult | None) -> bool | None:
        if r is None or r.status in ("skip", "inconclusive"):
            return None
        return r.status == "pass"

    def skipped_text(r: CheckResult | None) -> str:
        return "not run" if r is None else f"not measured: {r.message}"

    r = records.get("WN301")
    if holds(r) is not None:
        d = r.details
        spreads = ", ".join(f"{COORD_LABEL[k].split(' ')[0]} {v.spread:.1f}" for k, v in d.coordinates.items()
                            if v and v.spread is not None)
        measured = (f"γ = {d.gamma:.2f} [{d.gamma_ci[0]:.2f}, {d.gamma_ci[1]:.2f}], α = "
                    f"{d.alpha:.2f} [{d.alpha_ci[0]:.2f}, {d.alpha_ci[1]:.2f}]; max/min variance "
                    f"across p and τ buckets: {spreads}")
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "constant volatility in probability units",
        "critique_inference": "σ per day is one number (Madeka: variance linear in time), so a forecast "
                              "that moves more near 50% or near the end is 'too volatile'",
        "measured": measured, "holds": h, "codes": ["WN301"],
        "meaning": ("volatility is set by the level p and the clock τ, as for any probability; judge "
                    "movement against the variance budget (MG101), not against a constant σ; later tests "
                    "use the probit-clock latent increments" if h is False else
                    "no level/clock dependence detected; a constant-σ reading is not contradicted"
                    if h else "not measured")})

    r = records.get("WN302")
    if holds(r) is not None:
        s, w = r.details.standardised, r.details.raw
        k4, k5 = s.k_sigma
        expected = s.ad_per_series.expected_share or s.jb_per_series.expected_share
        measured = (f"excess kurtosis {s.pooled_excess_kurtosis:.2g} (raw {w.pooled_excess_kurtosis:.2g}); "
                    f"{k4.observed} moves beyond 4σ (Gaussian {k4.expected_gaussian:.2g}), "
                    f"{k5.observed} beyond 5σ ({k5.expected_gaussian:.2g}); Anderson–Darling rejects in "
                    f"{_pct(s.ad_per_series.share_reject)} of series (raw "
                    f"{_pct(w.ad_per_series.share_reject)}, expected {_pct(expected)})")
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "Gaussian increments",
        "critique_inference": "a large move is an n-sigma event, so the model that produced it is broken",
        "measured": measured, "holds": h, "codes": ["WN302"],
        "meaning": ("'this jump was a six-sigma event, the model is broken' does not apply: news arrives "
                    "in lumps and a Bayesian passes it on; calibration is decided by the variance budget "
                    "(MG101)" if h is False else
                    "standardised increments look Gaussian; sigma-counting arguments are at least "
                    "internally consistent here" if h else "not measured")})

    r = records.get("WN303")
    if holds(r) is not None:
        s = r.details.standardised
        measured = (f"Hill tail index {_f(s.tail_index, '.2f')} [{_f(s.tail_index_ci[0], '.2f')}, "
                    f"{_f(s.tail_index_ci[1], '.2f')}] (shape ξ̂ = {s.xi:.3f} vs Gaussian reference "
                    f"{s.gaussian_reference_xi:.3f})")
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "thin (Gaussian) tails",
        "critique_inference": "extreme revisions are practically impossible under a sound forecast",
        "measured": measured, "holds": h, "codes": ["WN303"],
        "meaning": ("a few large moves carry much of the variance; that is allowed: the budget bounds "
                    "expected total movement, not the size of single moves" if h is False else
                    "tails are no heavier than Gaussian" if h else "not measured")})

    r = records.get("WN304")
    if holds(r) is not None:
        s = r.details.standardised
        measured = (f"ARCH-LM({r.details.nlags}) rejects in "
                    f"{_pct(s.arch_lm.share_reject)} of series; ACF lag 1 "
                    f"signed {s.acf_signed[0]:+.3f}, squared {s.acf_squared[0]:+.3f} "
                    f"(SE {s.acf_se:.3f}): {s.reading}")
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "volatility constant over time (no clustering)",
        "critique_inference": "σ can be estimated from any window and plugged into B(Y0, σ, τ)",
        "measured": measured, "holds": h, "codes": ["WN304"],
        "meaning": ("information arrives in bursts (campaign events, game phases); a single σ misstates "
                    "both quiet and busy periods, but bursts are not excess movement" if h is False else
                    "no volatility clustering after standardising" if h else "not measured")})

    r = records.get("WN305")
    if holds(r) is not None:
        s = r.details.standardised
        js = s.bns.pooled_jump_share
        measured = (f"BNS rejects in {_pct(s.bns.per_series.share_reject)} of "
                    f"series; jumps carry {_f(100 * js if js is not None else None, '.0f')}% of variance; "
                    f"Lee–Mykland flags {s.lee_mykland.n_jumps} jumps in "
                    f"{s.lee_mykland.series_with_jumps} series")
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "continuous paths (no jumps)",
        "critique_inference": "a revision from 48% to 15% is not what a tradable price does; the "
                              "forecaster over-reacted",
        "measured": measured, "holds": h, "codes": ["WN305"],
        "meaning": ("the forecast jumps on news; a jumpy Bayesian still satisfies the martingale budget, "
                    "so whether the jumps over-react is MG101's question, not WN305's" if h is False else
                    "no jumps beyond what a diffusion produces" if h else "not measured")})

    r = records.get("WN306")
    if holds(r) is not None:
        measured = "; ".join(f"({i + 1}) {c.verdict}: {c.evidence}" for i, c in enumerate(r.details.claims))
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "forecast = Taleb's binary option B(Y0, σ, τ) on a Brownian shadow",
        "critique_inference": "high uncertainty ⇒ stay near 50%; never move more than the underlying; "
                              "more volatility ⇒ less movement",
        "measured": measured, "holds": h, "codes": ["WN306"],
        "meaning": ("at least one of the model's claims is contradicted; they are properties of one model, "
                    "not of calibrated forecasts (Clayton 2019); the model-free test is the volatility "
                    "seller's P&L (MG101)" if h is False else
                    "no claim of the model is contradicted by this data" if h else "not measured")})

    r = records.get("WN307")
    if holds(r) is not None:
        d = r.details
        sig = d.signature
        measured = (f"{100 * d.zero_share:.0f}% zero updates; smallest move {_f(d.smallest_nonzero_move)}"
                    + (f" (grid {d.grid:g})" if d.grid else "")
                    + f"; Roll bounce share {_f(d.roll.get('bounce_share'), '.2f')}"
                    + (f"; RV(1)/RV(5) = {sig['ratio']:.2f}" if sig else ""))
    else:
        measured = skipped_text(r)
    h = holds(r)
    rows.append({
        "assumption": "frictionless continuous updating",
        "critique_inference": "every tick is information, so realised variance measures belief volatility",
        "measured": measured, "holds": h, "codes": ["WN307"],
        "meaning": ("stale updates or bounce distort realised variance and per-step statistics; "
                    "prefer coarser sampling or the budget over the whole path" if h is False else
                    "updates are frequent and free of bounce" if h else "not measured")})
    for row in rows:
        row["summary"] = short_measure(records.get(row["codes"][0]))
    return rows


def short_measure(r: CheckResult | None) -> str:
    """One short line of what a WN check measured (the default report's layer-B row)."""
    if r is None:
        return "not run"
    if r.status == "skip":
        return f"not measured: {r.message}"
    d = r.details
    if r.code == "WN301":
        return f"γ = {d.gamma:.2f}, α = {d.alpha:.2f} in σ² ∝ [p(1−p)]^γ/τ^α (constant: γ = α = 0)"
    if r.code == "WN302":
        s = d.standardised
        return (f"excess kurtosis {s.pooled_excess_kurtosis:.2g}; {s.k_sigma[1].observed} moves > 5σ "
                f"(Gaussian {s.k_sigma[1].expected_gaussian:.2g})")
    if r.code == "WN303":
        return (f"tail index {_f(d.standardised.tail_index, '.2f')} (shape ξ̂ {d.standardised.xi:.2f}; Gaussian "
                f"{d.standardised.gaussian_reference_xi:.2f})")
    if r.code == "WN304":
        return f"ARCH-LM rejects in {_pct(d.standardised.arch_lm.share_reject)} of series"
    if r.code == "WN305":
        lm = d.standardised.lee_mykland
        js = d.standardised.bns.pooled_jump_share
        return (f"{lm.n_jumps} jumps in {lm.series_with_jumps} series, "
                f"{_f(100 * js if js is not None else None, '.0f')}% of the variance")
    if r.code == "WN306":
        verdicts = [c.verdict for c in d.claims]
        parts = [f"{verdicts.count(v)} {v}" for v in ("fails", "holds", "not established", "not testable")
                 if verdicts.count(v)]
        return f"the model's {len(verdicts)} claims: " + ", ".join(parts)
    if r.code == "WN307":
        return (f"{100 * d.zero_share:.0f}% zero updates; bid-ask bounce share "
                f"{_f(d.roll.get('bounce_share'), '.2f')}")
    return r.message


# ------------------------------------------------------------------ layer A facts
@dataclass(frozen=True)
class EffectiveSeries:
    """The effective number of independent series, one source for every renderer:
    MG106's estimate (``n_eff``, the number in the checks table) and, when MG101's
    own excess terms carry fewer, that count too (``n_eff_excess``)."""

    n_eff: float | None
    n_series: int | None
    rho: float | None
    n_eff_excess: float | None


def effective_series(results: list[CheckResult] | tuple[CheckResult, ...]) -> EffectiveSeries | None:
    by = {r.code: r for r in results}
    dep, mg = by.get("MG106"), by.get("MG101")
    n_eff = dep.estimate if dep is not None and dep.status not in ("skip",) else None
    if n_eff is None and (mg is None or mg.status == "skip"):
        return None
    n_series = dep.nobs if dep is not None and dep.status != "skip" else (mg.nobs if mg is not None else None)
    rho = dep.statistic if dep is not None and dep.status != "skip" else None
    n_x = None
    if mg is not None and mg.status != "skip":
        own = mg.details.inference.n_eff
        if n_eff is None or round(own) < round(n_eff):
            n_x = own
    return EffectiveSeries(n_eff=n_eff, n_series=n_series, rho=rho, n_eff_excess=n_x)


def no_pvalue_reason(r: CheckResult) -> str:
    """Why an ``inconclusive`` record has no p-value, in words."""
    g = r.gate
    if g is None:
        return ""
    return (f"the {g.n_units} series amount to only about {g.n_eff:.0f} effectively independent draws "
            f"(fewer than {g.min_n_eff:.0f}; cross-series dependence, MG106)")


def extras(results: list[CheckResult] | tuple[CheckResult, ...]) -> dict[str, Any]:
    """The JSON document's extra top-level keys, assembled in one place:
    ``effective_series`` (MG106) and ``assumptions`` (the layer-B table)."""
    out: dict[str, Any] = {}
    dep = next((r for r in results if r.code == "MG106" and r.status != "skip"), None)
    if dep is not None:
        out["effective_series"] = {"n_eff": dep.estimate, "rho": dep.statistic}
    wn = {r.code: r for r in results if r.family == "WN"}
    if wn:
        out["assumptions"] = assumption_rows(wn)
    return out


def group_summary(group: str, report: Any) -> dict[str, Any]:
    """One group's verdict (``--group-by``), from its own report's records: the JSON
    ``groups`` entry and the row of the text/markdown/HTML comparison tables."""
    from forecheck.report.verdict import layer_a_answers

    by = {r.code: r for r in report.results}
    answers = layer_a_answers(report.results)
    mg, brier = by.get("MG101"), by.get("CA201")
    wn = [r for r in report.results if r.family == "WN"]
    eff = effective_series(report.results)
    return {
        "group": group,
        "n_series": report.input.get("series"),
        "n_resolved": report.input.get("resolved_series"),
        "exit_code": int(report.exit_code),
        "answers": {k: {"answer": a.answer, "status": a.status}
                    for k, a in zip(("movement", "revisions", "calibration"), answers)},
        "movement_ratio": mg.estimate if mg is not None and mg.status != "skip" else None,
        "movement_ratio_ci": list(mg.ci) if mg is not None and mg.ci else None,
        "brier": brier.estimate if brier is not None and brier.status != "skip" else None,
        "layer_b_holds": sum(r.status == "pass" for r in wn),
        "layer_b_measured": sum(r.status in ("pass", "fail") for r in wn),
        "n_eff": eff.n_eff if eff is not None else None,
        "statuses": {r.code: r.status for r in report.results if r.family != "DQ"},
    }

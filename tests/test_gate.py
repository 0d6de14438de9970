"""The gate (forecheck/report/gate.py) and the baseline comparison, on hand-made records."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from forecheck.report.baseline import compare
from forecheck.report.gate import Policy, decide, status_of
from forecheck.results import CheckResult


def rec(code, status, severity="error", estimate=None, ci=None, pvalue=None, family=None):
    return CheckResult(code=code, name=code.lower(), family=family or code[:2], severity=severity, status=status,
                       estimate=estimate, ci=ci, pvalue=pvalue, pvalue_adjusted=pvalue)


DQ = [rec("DQ001", "pass", "warning"), rec("DQ006", "fail", "warning"), rec("DQ050", "pass")]


def test_counts_checks_and_dq_separately():
    records = [*DQ, rec("MG101", "pass", pvalue=0.4), rec("WN302", "fail", "info", pvalue=0.0),
               rec("MG103", "inconclusive", estimate=0.1, ci=(-0.1, 0.3)), rec("CA203", "skip", "warning")]
    d = decide(records)
    assert d.counts == {"pass": 1, "fail": 1, "inconclusive": 1, "skip": 1}
    assert d.dq_counts == {"rules": 3, "findings": 1}
    assert d.exit_code == 0 and d.gating_failed == ()  # WN302 (info) and DQ006 (warning) do not gate
    assert d.sentence() == ("4 checks: 1 passed, 1 failed (0 gating), 1 inconclusive, 1 skipped; "
                            "data quality: 1 finding (3 rules); exit code 0")
    assert decide(records, Policy(fail_on="warning")).gating_failed == ("DQ006",)


def test_status_is_read_as_recorded():
    assert status_of(rec("MG101", "inconclusive", estimate=0.5, ci=(0.1, 1.1))) == "inconclusive"
    assert status_of(rec("MG101", "skip")) == "skip"


@pytest.mark.parametrize(("policy", "exit_code", "effect"), [("warn", 0, "warn"), ("fail", 1, "fail"),
                                                            ("pass", 0, "pass")])
def test_inconclusive_policy(policy, exit_code, effect):
    records = [rec("MG101", "inconclusive", estimate=0.5, ci=(0.1, 1.1)),
               rec("MG106", "inconclusive", "info", estimate=4.0)]  # not gating: no reason
    d = decide(records, Policy(inconclusive=policy))
    assert d.exit_code == exit_code and [r.effect for r in d.reasons] == [effect]
    assert d.inconclusive_gating == ("MG101",)


def test_thresholds_fail_only_when_the_ci_lies_entirely_beyond():
    def run(ci, **kw):
        return decide([rec("MG101", "pass", estimate=sum(ci) / 2, ci=ci, pvalue=0.5)], Policy(**kw))

    assert run((1.55, 2.7), max_movement_ratio=1.5).exit_code == 1
    assert run((1.45, 2.7), max_movement_ratio=1.5).exit_code == 0  # straddles: not established
    assert run((0.2, 0.45), min_movement_ratio=0.5).exit_code == 1
    assert run((0.2, 0.55), min_movement_ratio=0.5).exit_code == 0
    # no interval: cannot be evaluated -> follows --inconclusive
    d = decide([rec("MG101", "inconclusive", estimate=2.0)], Policy(max_movement_ratio=1.5, inconclusive="fail"))
    assert d.exit_code == 1 and any(r.kind == "threshold" and r.effect == "fail" for r in d.reasons)
    # not selected
    d = decide([rec("CA202", "pass", pvalue=0.3)], Policy(max_brier=0.2))
    assert d.exit_code == 0 and d.warnings and "did not run" in d.warnings[0].message
    # CA201 without a CI: its estimate
    brier = [rec("CA201", "pass", "info", estimate=0.25)]
    assert decide(brier, Policy(max_brier=0.2)).exit_code == 1
    assert decide([rec("CA201", "pass", "info", estimate=0.25, ci=(0.18, 0.32))], Policy(max_brier=0.2)).exit_code == 0


def test_exit_zero_says_what_it_would_have_been():
    d = decide([rec("MG101", "fail", pvalue=0.001)], Policy(exit_zero=True))
    assert (d.exit_code, d.would_exit) == (0, 1)
    assert d.exit_phrase() == "exit code 0 (--exit-zero; would be 1)"
    assert decide([rec("MG101", "fail", pvalue=0.001)], Policy(fail_on="never")).exit_code == 0


def test_baseline_difference_test_and_tolerance():
    old = {"schema_version": 1, "results": [
        {"code": "MG101", "estimate": 1.10, "ci": [0.90, 1.30]},
        {"code": "CA201", "estimate": 0.10, "ci": None},
        {"code": "WN302", "estimate": 3.0, "ci": None}],
        "series": [{"id": "a"}, {"id": "b"}]}
    new = [rec("MG101", "pass", estimate=1.60, ci=(1.30, 1.90), pvalue=0.2),
           rec("CA201", "pass", "info", estimate=0.12), rec("WN302", "fail", "info", estimate=5.0)]
    cmp_ = compare(new, old, path="base.json", tolerance=0.1, series_ids=["a", "b"])
    by = {r.code: r for r in cmp_.rows}
    # independent re-derivation: se = half-width / z_0.975, z = diff / sqrt(se1^2 + se2^2)
    z975 = stats.norm.ppf(0.975)
    se_old, se_new = 0.20 / z975, 0.30 / z975
    z = 0.5 / math.sqrt(se_old ** 2 + se_new ** 2)
    assert by["MG101"].z == pytest.approx(z) and by["MG101"].pvalue == pytest.approx(2 * stats.norm.sf(z))
    assert by["MG101"].worse_by == pytest.approx(0.5) and by["MG101"].worse  # |1.6-1| - |1.1-1| = 0.5 > 0.1
    assert by["CA201"].z is None and not by["CA201"].worse  # Brier +0.02 within tolerance, no CI: no test
    assert by["WN302"].worse_by is None  # layer B has no calibrated target
    d = decide(new, Policy(), baseline=cmp_)
    assert d.exit_code == 1 and [r.kind for r in d.failures] == ["baseline"]
    assert cmp_.notes == ()
    other = compare(new, {**old, "series": [{"id": "a"}]}, path="b", tolerance=1.0, series_ids=["a", "b"])
    assert other.notes and "different questions" in other.notes[0]
    assert decide(new, Policy(), baseline=other).exit_code == 0

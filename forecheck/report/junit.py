"""``--junit-xml`` / ``--format junit``: one testsuite per family, one testcase per check
record (passes and skips included); on exit 2 one errored case, so the crash shows in CI
(as mypy and pytest do).

A ``<failure>`` appears exactly when the record (or a gate rule) fails the run
(forecheck/report/gate.py), so ``failures > 0`` iff the exit code is 1 (before
``--exit-zero``). Records that fail without gating (layer B ``info`` results, findings below
``--fail-on``) are passed cases with their status in ``<properties>`` and the message in
``<system-out>``. ``skip`` is ``<skipped>``; ``inconclusive`` follows ``--inconclusive``:
``fail`` -> ``<failure type="inconclusive">``, ``warn`` -> ``<skipped type="inconclusive">``,
``pass`` -> a passed case.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from forecheck.report.gate import Decision, status_of
from forecheck.report.model import Report

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'

# Code points XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates,
# U+FFFE/U+FFFF): ElementTree writes them raw and the file would not parse.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """User text made writable as XML 1.0: invalid code points become ``\\xNN``."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)



def _num(x: Any) -> str:
    if x is None:
        return ""
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return str(x)


def _case(suite: ET.Element, name: str, classname: str, outcome: str, message: str,
          props: dict[str, str], kind: str = "") -> None:
    # user text (ids, paths, cells, error messages) may hold code points XML forbids
    name, classname, message = xml_safe(name), xml_safe(classname), xml_safe(message)
    case = ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")
    if props:
        pe = ET.SubElement(case, "properties")
        for k, v in props.items():
            ET.SubElement(pe, "property", name=xml_safe(str(k)), value=xml_safe(str(v)))
    attrs = {"message": message[:500]}
    if kind:
        attrs["type"] = kind
    if outcome == "failure":
        ET.SubElement(case, "failure", attrs).text = message
    elif outcome == "skipped":
        ET.SubElement(case, "skipped", attrs)
    elif outcome == "error":
        ET.SubElement(case, "error", attrs).text = message
    if message and outcome in ("passed", "skipped"):
        ET.SubElement(case, "system-out").text = message


def _totals(el: ET.Element) -> None:
    cases = el.iter("testcase")
    n = f = e = s = 0
    for c in cases:
        n += 1
        f += c.find("failure") is not None
        e += c.find("error") is not None
        s += c.find("skipped") is not None
    el.set("tests", str(n))
    el.set("failures", str(f))
    el.set("errors", str(e))
    el.set("skipped", str(s))


def _outcome(r: Any, d: Decision) -> tuple[str, str, str]:
    """(outcome, type, message prefix) of one record."""
    st = status_of(r)
    if st == "fail":
        if d.fails(r.code, "check"):
            return "failure", "check", ""
        return "passed", "", f"status fail, does not gate (severity {r.severity}, fail-on {d.policy.fail_on}): "
    if st == "skip":
        return "skipped", "skip", ""
    if st == "inconclusive":
        eff = d.effect_of(r.code)
        if eff == "fail":
            return "failure", "inconclusive", "inconclusive (--inconclusive fail): "
        if eff == "warn":
            return "skipped", "inconclusive", "inconclusive (--inconclusive warn): "
        return "passed", "", "inconclusive, does not gate: "
    return "passed", "", ""


def render_junit(report: Report, decision: Decision | None = None) -> str:
    d = decision or report.decision()
    root = ET.Element("testsuites", name="forecheck")
    suites: dict[str, ET.Element] = {}
    for r in report.results:
        fam = r.family
        if fam not in suites:
            suites[fam] = ET.SubElement(root, "testsuite", name=f"forecheck.{fam}")
        outcome, kind, prefix = _outcome(r, d)
        props = {"status": status_of(r), "severity": r.severity, "layer": r.layer}
        for k, v in (("estimate", r.estimate), ("pvalue", r.pvalue), ("pvalue_adjusted", r.pvalue_adjusted)):
            if v is not None:
                props[k] = _num(v)
        if r.ci is not None:
            props["ci"] = f"{_num(r.ci[0])}, {_num(r.ci[1])}"
        props["url"] = r.url
        _case(suites[fam], f"{r.code} {r.name}", f"forecheck.{fam}", outcome,
              prefix + f"[{r.severity}] {r.message}", props, kind)
    extra = [x for x in d.reasons if x.kind in ("threshold", "baseline")]
    if extra:
        gate = ET.SubElement(root, "testsuite", name="forecheck.gate")
        for x in extra:
            outcome = {"fail": "failure", "warn": "skipped"}.get(x.effect, "passed")
            _case(gate, f"{x.kind} {x.code}", "forecheck.gate", outcome, x.message,
                  {"effect": x.effect}, x.kind)
    for s in root:
        _totals(s)
    _totals(root)
    ET.indent(root)
    return HEAD + ET.tostring(root, encoding="unicode") + "\n"


def render_junit_error(message: str, file: str | None = None) -> str:
    root = ET.Element("testsuites", name="forecheck")
    suite = ET.SubElement(root, "testsuite", name="forecheck")
    text = f"{file}: {message}" if file and not message.startswith(str(file)) else message
    _case(suite, "forecheck could not run", "forecheck", "error", text, {}, "error")
    _totals(suite)
    _totals(root)
    ET.indent(root)
    return HEAD + ET.tostring(root, encoding="unicode") + "\n"

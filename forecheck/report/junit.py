"""``--junit-xml`` / ``--format junit``: one testsuite per family, one testcase per
check record (passes and skips included); on exit 2 one errored case, so the
crash shows in CI (as mypy and pytest do)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from forecheck.report.model import Report

# Code points XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates,
# U+FFFE/U+FFFF): ElementTree writes them raw and the file would not parse.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """User text made writable as XML 1.0: invalid code points become ``\\xNN``."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)


def _suite(root: ET.Element, name: str, cases: list[tuple[str, str, str, str]]) -> None:
    failures = sum(1 for c in cases if c[2] == "fail")
    skipped = sum(1 for c in cases if c[2] == "skip")
    errors = sum(1 for c in cases if c[2] == "error")
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(cases)), failures=str(failures),
                          errors=str(errors), skipped=str(skipped))
    for case_name, classname, status, message in cases:
        case_name, classname, message = xml_safe(case_name), xml_safe(classname), xml_safe(message)
        case = ET.SubElement(suite, "testcase", name=case_name, classname=classname)
        if status == "fail":
            ET.SubElement(case, "failure", message=message[:500]).text = message
        elif status == "skip":
            ET.SubElement(case, "skipped", message=message[:500])
        elif status == "error":
            ET.SubElement(case, "error", message=message[:500]).text = message


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", name="forecheck")
    families: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in report.results:
        families.setdefault(r.family, []).append(
            (f"{r.code} {r.name}", f"forecheck.{r.family}", r.status, f"[{r.severity}] {r.message}"))
    for fam, cases in families.items():
        _suite(root, f"forecheck.{fam}", cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def render_junit_error(message: str) -> str:
    root = ET.Element("testsuites", name="forecheck")
    _suite(root, "forecheck", [("forecheck could not run", "forecheck", "error", message)])
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")

"""The ``junit`` format: JUnit XML, the test-report format every CI server shows.

One test case per examined file (a clean file is a passing case) and one per rule for findings
that name no file (drift in the database, pending model changes). Each error is a ``<failure>``;
warnings and notes go to the case's ``<system-out>``, since JUnit has no lesser level.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dfmigrate.ci_formats import Finding, Report


def render_junit(report: Report) -> str:
    cases: dict[str, list[Finding]] = {name: [] for name in report.files}
    for f in report.findings:
        cases.setdefault(f.file or f.rule, []).append(f)
    if not cases:  # nothing examined by file and nothing found: one passing case says so
        cases[report.command] = []
    failures = sum(1 for found in cases.values() if any(f.severity == "error" for f in found))
    suites = ET.Element("testsuites", name=f"dfmigrate {report.command}", tests=str(len(cases)),
                        failures=str(failures), errors="0")
    suite = ET.SubElement(suites, "testsuite", name=f"dfmigrate {report.command}", tests=str(len(cases)),
                          failures=str(failures), errors="0", skipped="0")
    for name, found in cases.items():
        case = ET.SubElement(suite, "testcase", classname=f"dfmigrate.{report.command}", name=name)
        for f in (f for f in found if f.severity == "error"):
            failure = ET.SubElement(case, "failure", type=f.rule, message=f"{f.where() or name}: {f.message}")
            failure.text = _body(f)
        rest = [f for f in found if f.severity != "error"]
        if rest:
            ET.SubElement(case, "system-out").text = "\n\n".join(
                f"{f.severity} [{f.rule}] {f.where()}: {f.message}" for f in rest)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _body(f: Finding) -> str:
    text = f"[{f.rule}] {f.where()}: {f.message}"
    return f"{text}\n\n{f.excerpt}" if f.excerpt else text

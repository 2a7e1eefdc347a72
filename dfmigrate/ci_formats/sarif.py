"""The ``sarif`` format: SARIF 2.1.0 (OASIS), read by code-scanning dashboards.

One run; the tool's driver lists every rule a result cites with its one-line summary, its
rationale and fix as help, and its default level; each result points at its rule by id and
index and, when it concerns a file, at the file and line.
"""

from __future__ import annotations

import json
from typing import Any

from dfmigrate import __version__
from dfmigrate.ci_formats import Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def sarif_data(report: Report) -> dict[str, Any]:
    cited = sorted({f.rule for f in report.findings} | set(report.rules))
    index = {rule: i for i, rule in enumerate(cited)}
    rules = []
    for rule in cited:
        doc = report.rules.get(rule)
        entry: dict[str, Any] = {"id": rule, "name": rule}
        if doc is not None:
            entry["shortDescription"] = {"text": doc.summary}
            if doc.why:
                entry["fullDescription"] = {"text": doc.why}
            help_text = " ".join(t for t in (doc.why, f"Fix: {doc.fix}" if doc.fix else "") if t)
            if help_text:
                entry["help"] = {"text": help_text}
            entry["defaultConfiguration"] = {"level": _LEVEL[doc.severity]}
        rules.append(entry)
    results = []
    for f in report.findings:
        result: dict[str, Any] = {"ruleId": f.rule, "ruleIndex": index[f.rule], "level": _LEVEL[f.severity],
                                  "message": {"text": f.message}}
        if f.file:
            physical: dict[str, Any] = {"artifactLocation": {"uri": f.file.replace("\\", "/")}}
            if f.line is not None:
                region: dict[str, Any] = {"startLine": f.line}
                if f.column is not None:
                    region["startColumn"] = f.column
                if f.excerpt:
                    region["snippet"] = {"text": f.excerpt}
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "dfmigrate", "version": __version__,
                                "informationUri": "https://pypi.org/project/dfmigrate/", "rules": rules}},
            "results": results,
            "artifacts": [{"location": {"uri": name.replace("\\", "/")}} for name in report.files],
        }],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_data(report), indent=2)

"""The ``json`` format: the report as data, versioned by ``dfmigrate/schemas/report-v1.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from dfmigrate.ci_formats import JSON_SCHEMA_ID, JSON_SCHEMA_VERSION, Report


def report_data(report: Report) -> dict[str, Any]:
    return {
        "$schema": JSON_SCHEMA_ID,
        "version": JSON_SCHEMA_VERSION,
        "command": report.command,
        "ok": report.errors == 0,
        "summary": {"errors": report.errors, "warnings": report.warnings, "files": len(report.files)},
        "files": list(report.files),
        "notes": list(report.notes),
        "findings": [
            {"rule": f.rule, "severity": f.severity, "message": f.message, "file": f.file,
             "line": f.line, "column": f.column, "excerpt": f.excerpt}
            for f in report.findings
        ],
        "rules": {
            r.id: {"summary": r.summary, "severity": r.severity, "why": r.why, "fix": r.fix}
            for r in sorted(report.rules.values(), key=lambda r: r.id)
        },
    }


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, sort_keys=True)

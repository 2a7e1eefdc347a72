"""The ``github`` format: GitHub Actions workflow commands, one per finding.

``::error file=F,line=L,col=C,title=RULE::message`` becomes an annotation on that line of the pull
request. Escaping follows the runner's rules: in the message ``%``, CR and LF are percent-encoded;
in property values ``:`` and ``,`` as well.
"""

from __future__ import annotations

from dfmigrate.ci_formats import Report

_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    lines = []
    for f in report.findings:
        props = []
        if f.file:
            props.append(f"file={_property(f.file)}")
            if f.line is not None:
                props.append(f"line={f.line}")
            if f.column is not None:
                props.append(f"col={f.column}")
        props.append(f"title={_property(f.rule)}")
        lines.append(f"::{_LEVEL[f.severity]} {','.join(props)}::{_data(f.message)}")
    lines.append(report.summary())
    return "\n".join(lines)

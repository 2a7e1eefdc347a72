"""The ``text`` format: what a person reads in a terminal or a CI log."""

from __future__ import annotations

from dfmigrate.ci_formats import Report


def render_text(report: Report) -> str:
    lines: list[str] = []
    explained: set[str] = set()
    for f in report.findings:
        where = f.where()
        lines.append(f"{where + ': ' if where else ''}{f.severity} [{f.rule}] {f.message}")
        if f.excerpt:
            lines.extend("    " + row for row in _shorten(f.excerpt).splitlines())
        doc = report.rules.get(f.rule)
        if doc and doc.fix and f.rule not in explained:  # once per rule: the advice does not change
            lines.append(f"    fix: {doc.fix}")
            explained.add(f.rule)
    lines.extend(f"note: {note}" for note in report.notes)
    lines.append(report.summary())
    return "\n".join(lines)


def _shorten(sql: str, max_lines: int = 6) -> str:
    rows = sql.strip().splitlines()
    return "\n".join(rows if len(rows) <= max_lines else [*rows[: max_lines - 1], "…"])

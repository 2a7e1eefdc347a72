"""Findings and the formats a CI system reads them in, shared by ``lint``, ``check`` and ``drift``.

A command builds one ``Report`` (its findings plus the docs of the rules they cite) and hands it
to ``render(report, fmt)``:

- ``text``: one ``file:line:col: severity [rule] message`` line per finding, for people;
- ``json``: the report as data, valid against ``dfmigrate/schemas/report-v1.schema.json``;
- ``github``: workflow commands (``::error file=…,line=…,title=RULE::message``) that GitHub
  Actions turns into annotations on the pull request's diff;
- ``junit``: JUnit XML, one test case per file (or per rule for findings without a file), which
  every CI server can show as test results;
- ``sarif``: SARIF 2.1.0, for code-scanning dashboards (GitHub code scanning, GitLab, Azure).

Standard library only: every command can import it at no cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("text", "json", "github", "junit", "sarif")
SEVERITIES = ("error", "warning", "note")
JSON_SCHEMA_VERSION = 1
JSON_SCHEMA_FILE = "report-v1.schema.json"
JSON_SCHEMA_ID = "https://dfmigrate.dev/schemas/report-v1.schema.json"


@dataclass(frozen=True)
class RuleDoc:
    id: str  # stable, kebab-case: what suppressions and config name
    summary: str  # one line: what the rule flags
    severity: str = "error"  # the default level; configuration may change it
    why: str = ""  # why it matters
    fix: str = ""  # how to fix it
    dialects: tuple[str, ...] = ()  # empty: every dialect


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "error" | "warning" | "note"
    message: str
    file: str | None = None  # as the user named it; None: not about a file (e.g. the database)
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    excerpt: str | None = None  # the statement (or object) the finding is about

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def where(self) -> str:
        parts = [str(p) for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(parts)


@dataclass
class Report:
    command: str  # "lint", "check", "drift"
    findings: list[Finding] = field(default_factory=list)
    rules: dict[str, RuleDoc] = field(default_factory=dict)  # at least every rule a finding cites
    files: list[str] = field(default_factory=list)  # what was examined (clean ones included)
    notes: list[str] = field(default_factory=list)  # what the reader should know (skipped files…)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    def summary(self) -> str:
        """The closing line of the text and GitHub formats."""
        files = len(self.files)
        if not self.findings:
            return f"No findings in {_plural(files, 'file')}."
        return (f"{_plural(self.errors, 'error')}, {_plural(self.warnings, 'warning')} "
                f"in {_plural(files, 'file')}.")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(report: Report, fmt: str) -> str:
    """``report`` in ``fmt`` (one of ``FORMATS``), ending without a newline."""
    if fmt == "text":
        from dfmigrate.ci_formats.text import render_text as renderer
    elif fmt == "json":
        from dfmigrate.ci_formats.json_report import render_json as renderer
    elif fmt == "github":
        from dfmigrate.ci_formats.github import render_github as renderer
    elif fmt == "junit":
        from dfmigrate.ci_formats.junit import render_junit as renderer
    elif fmt == "sarif":
        from dfmigrate.ci_formats.sarif import render_sarif as renderer
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return renderer(report)


def json_schema() -> dict:
    """The JSON Schema of the ``json`` format, as shipped in the package."""
    import json
    from importlib import resources

    text = resources.files("dfmigrate.schemas").joinpath(JSON_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]

"""Running the rules over the units ``inputs`` read, into a ``Report``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dfmigrate.ci_formats import Finding, Report
from dfmigrate.errors import DfmigrateError
from dfmigrate.lint.context import Context
from dfmigrate.lint.inputs import Chunk, Unit, files, read_text, read_unit
from dfmigrate.lint.parse import Position, parse_sql
from dfmigrate.lint.rules import ANY_DIALECT, BY_ID, RULES, Rule, canonical



@dataclass(frozen=True)
class Settings:
    """``[tool.dfmigrate.lint]``: rules turned off, rules downgraded to warnings (or raised to
    errors), and the oldest PostgreSQL major version the SQL must be safe on."""

    disable: frozenset[str] = frozenset()
    warn: frozenset[str] = frozenset()
    error: frozenset[str] = frozenset()
    pg_version: int = 15

    @classmethod
    def from_table(cls, table: dict[str, Any], origin: str = "[tool.dfmigrate.lint]") -> Settings:
        known = {"disable", "warn", "error", "pg_version"}
        lists: dict[str, frozenset[str]] = {}
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in known:
                raise DfmigrateError(f"{origin}: unknown key '{key}' (known: {', '.join(sorted(known))})")
            if name == "pg_version":
                if not isinstance(value, int) or isinstance(value, bool) or value < 9:
                    raise DfmigrateError(f"{origin}: pg_version must be a PostgreSQL major version, e.g. 15")
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DfmigrateError(f"{origin}: {key} must be a list of rule ids")
            unknown = [v for v in value if canonical(v) not in BY_ID]
            if unknown:
                raise DfmigrateError(f"{origin}: {key} names unknown rule(s) {', '.join(unknown)} "
                                     "(see 'dfmigrate lint --rules')")
            lists[name] = frozenset(canonical(v) for v in value)
        for a, b in (("disable", "warn"), ("disable", "error"), ("warn", "error")):
            both = lists.get(a, frozenset()) & lists.get(b, frozenset())
            if both:
                raise DfmigrateError(f"{origin}: {', '.join(sorted(both))} is in both {a} and {b}: "
                                     "list each rule once")
        return cls(lists.get("disable", frozenset()), lists.get("warn", frozenset()),
                   lists.get("error", frozenset()), table.get("pg_version", table.get("pg-version", 15)))

    def canonical(self) -> str:
        """The settings as one stable text (a cache key: frozensets print in hash order)."""
        return repr((sorted(self.disable), sorted(self.warn), sorted(self.error), self.pg_version))

    def severity(self, rule: Rule) -> str | None:
        """The level a finding of ``rule`` gets; None: the rule is off."""
        if rule.id in self.disable:
            return None
        if rule.id in self.error:
            return "error"
        if rule.id in self.warn:
            return "warning"
        return rule.doc.severity


def lint_paths(paths: list[str], settings: Settings | None = None, command: str = "lint") -> Report:
    """Lint every file behind ``paths``. A parse error is a ``DfmigrateError`` naming file:line.
    A file linted before with the same bytes and settings is not parsed again (``LintCache``)."""
    from dfmigrate.lint.cache import LintCache

    settings = settings or Settings()
    report = Report(command, rules={})
    cache = LintCache(paths[0] if paths else ".", settings.canonical())
    for path, migration in files(paths):
        source = read_text(path)
        key = cache.key(path, source)
        known = cache.get(key)
        if known is None:
            known = _lint_file(read_unit(path, migration, source), settings)
            cache.put(key, *known)
        findings, notes = known
        report.files.append(path)
        report.notes.extend(notes)
        for finding in findings:
            report.findings.append(finding)
            report.rules[finding.rule] = BY_ID[finding.rule].doc
    cache.save()
    return report


def _lint_file(unit: Unit, settings: Settings) -> tuple[list[Finding], list[str]]:
    if unit.dialect != "postgresql" and not any(c.step is not None for c in unit.chunks):
        return [], [f"{unit.file}: a {unit.dialect} migration: not linted (the rules are about PostgreSQL "
                    "locks and types)"]
    return lint_unit(unit, settings), []


def lint_unit(unit: Unit, settings: Settings) -> list[Finding]:
    """The findings of one file. PostgreSQL SQL is parsed and every rule applies; another
    dialect's generated steps are judged by the hazards they carry, unparsed (the SQL is not
    PostgreSQL's): data loss and renames matter on every database, the lock rules stay out."""
    parsed = unit.dialect == "postgresql"
    active = [(rule, _consented(rule, unit) or level) for rule in RULES
              if (parsed or rule.id in ANY_DIALECT) and (level := settings.severity(rule)) is not None]
    ctx = Context(migration=unit.migration or not parsed, pg_version=settings.pg_version)
    found: list[Finding] = []
    for chunk in unit.chunks:
        if not parsed and chunk.step is None:
            continue
        if ctx.migration:
            ctx.enter(chunk.transactional, chunk.isolated)
        statements = parse_sql(chunk.sql, Position(unit.file, chunk.line, chunk.column)) if parsed else [None]
        for statement in statements:
            exact = statement is not None and chunk.exact_lines
            line, column = (statement.line, statement.column) if exact else (chunk.line, chunk.column)
            text = statement.text if statement is not None else chunk.sql.strip()
            ignored = chunk.ignored | (statement.ignored if statement is not None else set())
            ctx.statement = text
            for rule, level in active:
                from_data = chunk.step is not None and rule.step is not None
                if rule.id in ignored or not (from_data or statement is not None):
                    continue
                messages = rule.step(chunk.step, ctx) if from_data else rule.statement(statement.node, ctx)  # type: ignore[misc, union-attr]
                for message in messages:
                    if level == "note":  # only consent lowers a finding to a note
                        message = _with_consent(message, rule)
                    at_line, at_column, excerpt = line, column, text
                    if isinstance(message, tuple):
                        message, offset = message
                        if exact:
                            at_line, at_column, excerpt = statement.at(offset)  # type: ignore[union-attr]
                    found.append(Finding(rule.id, level, message, unit.file, at_line, at_column, excerpt))
            if statement is not None:
                ctx.observe(statement.node)
            elif (step := chunk.step) is not None and step.target and step.kind.replace("_", "-").lower() == "create-table":
                ctx.created_tables.add(step.target.rsplit(".", 1)[-1])
    return found


def _consented(rule: Rule, unit: Unit) -> str | None:
    """"note" when the migration file records consent to the hazard this rule is about."""
    if rule.consent and (rule.consent in unit.allowed or "all" in unit.allowed):
        return "note"
    return None


def _with_consent(message: Any, rule: Rule) -> Any:
    note = f" (accepted: the file records allow_hazards {rule.consent})"
    return (message[0] + note, message[1]) if isinstance(message, tuple) else message + note


def rules_text() -> str:
    """``dfmigrate lint --rules``: one line per rule."""
    width = max(len(r.id) for r in RULES)
    return "\n".join(f"{r.id:<{width}}  {r.doc.severity:<7}  {r.doc.summary}" for r in RULES)


__all__ = ["Chunk", "Settings", "lint_paths", "lint_unit", "rules_text"]

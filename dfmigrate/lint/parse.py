"""Hand-written PostgreSQL SQL, parsed with pglast (libpg_query: PostgreSQL's own parser).

A chunk of SQL (a ``.sql`` file, or one string literal of a migration file) becomes
``ParsedStatement``s: the parse tree, the statement's text, where it starts (line and column in
the file the user edits) and the rules its ``-- dfmigrate:ignore RULE reason`` comments suppress.

pglast is imported here only, and only when something is linted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.lint.rules import canonical

# The suppression directive, read from a comment's text (the SQL itself is never scanned by regex).
_DIRECTIVE = re.compile(r"dfmigrate:ignore\s+(\S+)\s*(.*)", re.IGNORECASE | re.DOTALL)


# A psql meta-command: a line whose first non-blank character is a backslash.
_PSQL_META = re.compile(r"^[ \t]*\\[^\n]*", re.MULTILINE)


@dataclass(frozen=True)
class Position:
    """Where a chunk of SQL sits in its file: the line and column of its first character."""

    file: str
    line: int = 1
    column: int = 1


@dataclass
class ParsedStatement:
    node: Any  # the pglast statement node (``pglast.ast.IndexStmt``…)
    text: str
    line: int
    column: int
    ignored: set[str] = field(default_factory=set)  # rule ids suppressed for this statement
    source: str = ""  # the whole chunk the statement came from, and where that sits
    where: Position | None = None

    def at(self, offset: int) -> tuple[int, int, str]:
        """Line, column and source line of a parser location inside the statement (a column
        definition, say), for findings more precise than the statement."""
        if self.where is None:
            return self.line, self.column, self.text
        line, column = _locate(self.source, offset, self.where)
        start = self.source.rfind("\n", 0, offset) + 1
        end = self.source.find("\n", offset)
        return line, column, self.source[start:end if end >= 0 else None].strip()


def parse_directive(comment: str) -> set[str]:
    """The rule ids a ``dfmigrate:ignore RULE[,RULE…] reason`` comment names (empty: none)."""
    body = comment.strip()
    for lead in ("--", "/*", "#"):
        body = body.removeprefix(lead)
    body = body.removesuffix("*/").strip()
    match = _DIRECTIVE.match(body)
    if not match:
        return set()
    return {canonical(rule.strip().lower()) for rule in match.group(1).split(",") if rule.strip()}


def parse_sql(sql: str, where: Position) -> list[ParsedStatement]:
    """Every statement of ``sql``; a syntax error is a ``DfmigrateError`` naming file and line."""
    from pglast import parser

    raw: Any = None
    try:
        raw = parser.parse_sql(sql)
    except parser.ParseError as exc:
        message, offset = (exc.args + (None,))[:2]
        # A script written for psql may hold its meta-commands (\set ON_ERROR_STOP on, \timing):
        # they are not SQL, so their lines are blanked (offsets, hence lines, kept) and the rest
        # parsed again. Only after a failure: a valid file keeps every byte, even a string
        # literal with a line that starts with a backslash.
        blanked = _PSQL_META.sub(lambda m: " " * len(m.group(0)), sql)
        if blanked != sql:
            try:
                raw = parser.parse_sql(blanked)
            except parser.ParseError as again:  # the error that is not a meta-command's
                message, offset = (again.args + (None,))[:2]
        if raw is None:
            line, _ = _locate(sql, offset if isinstance(offset, int) else 0, where)
            raise DfmigrateError(f"{where.file}:{line}: cannot parse SQL: {message}") from None
        sql = blanked
    statements = []
    for stmt in raw:
        start = stmt.stmt_location or 0
        end = start + stmt.stmt_len if stmt.stmt_len else len(sql)
        text = sql[start:end].strip().rstrip(";").rstrip()
        line, column = _locate(sql, start, where)
        statements.append(ParsedStatement(stmt.stmt, text, line, column, source=sql, where=where))
    _attach_suppressions(sql, raw, statements)
    return statements


def _locate(sql: str, offset: int, where: Position) -> tuple[int, int]:
    before = sql[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        return where.line, where.column + offset
    return where.line + newlines, offset - before.rfind("\n")


def _attach_suppressions(sql: str, raw: Any, statements: list[ParsedStatement]) -> None:
    """A directive applies to the statement it sits in, else to the statement that ends on its
    line before it (``…; -- dfmigrate:ignore …``), else to the next statement."""
    from pglast import parser

    if "dfmigrate:ignore" not in sql.lower():
        return
    spans = []
    for stmt in raw:
        start = stmt.stmt_location or 0
        spans.append((start, start + stmt.stmt_len if stmt.stmt_len else len(sql)))
    for token in parser.scan(sql):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        rules = parse_directive(sql[token.start:token.end + 1])
        if rules:
            target = suppression_target(spans, token.start, sql.rfind("\n", 0, token.start) + 1)
            if target is not None:
                statements[target].ignored |= rules


def suppression_target(spans: list[tuple[int, int]], at: int, line_start: int) -> int | None:
    """Which statement (index into ``spans``, each ``(start, end)``) a directive at offset ``at``
    (on the line starting at ``line_start``) applies to; see ``_attach_suppressions``."""
    inside = [i for i, (start, end) in enumerate(spans) if start <= at < end]
    if inside:
        return inside[0]
    same_line = [i for i, (_, end) in enumerate(spans) if line_start < end <= at]
    if same_line:
        return same_line[-1]
    following = [i for i, (start, _) in enumerate(spans) if start > at]
    return following[0] if following else None

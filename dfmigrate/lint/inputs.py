"""What ``lint`` reads: ``.sql`` files, migration files and migrations directories.

A migration file is read with ``ast``, never run (no Kailash import, no side effects), and every
SQL literal keeps the line where it sits in the ``.py`` file, so findings point at it.
``read_migration`` is the one function that knows the file format.
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.lint.parse import parse_directive
from dfmigrate.core.step import Step

_HAZARD_FIELDS = ("kind", "lock", "target", "transactional", "isolated", "hazards", "resume")


@dataclass(frozen=True)
class Chunk:
    """One piece of SQL in a file: a whole ``.sql`` file, or one literal of a migration."""

    sql: str
    line: int = 1  # where the SQL text starts in the file
    column: int = 1
    exact_lines: bool = True  # False: the literal is escaped on one line; report its line only
    transactional: bool = True
    isolated: bool = False
    step: Step | None = None  # a generated step: its lock and hazards (none: none) are the renderer's word
    ignored: frozenset[str] = frozenset()  # rules suppressed by a Python comment next to it


@dataclass
class Unit:
    """One file to lint: what a rule calls "the same file" (tables created in it are new)."""

    file: str  # as messages show it
    dialect: str  # "postgresql" or "sqlite"
    migration: bool  # the runner owns its transaction and lock_timeout
    chunks: list[Chunk] = field(default_factory=list)
    allowed: frozenset[str] = frozenset()  # hazards the file records consent for ("all": every one)


def files(paths: list[str]) -> list[tuple[str, bool]]:
    """(file, is a migration) for each file behind each PATH: a ``.sql`` file, a migration file,
    a migrations directory (its migration files, in order)."""
    from dfmigrate.directory.files import MIGRATION_NAME, migration_names

    found: list[tuple[str, bool]] = []
    for path in paths:
        if os.path.isdir(path):
            found.extend((os.path.join(path, name), True) for name in migration_names(path))
        elif os.path.isfile(path):
            if path.endswith(".sql"):
                found.append((path, False))
            elif MIGRATION_NAME.match(os.path.basename(path)):
                found.append((path, True))
            else:
                raise DfmigrateError(f"{path}: not a .sql file, a migration file (NNNN_name.py) or a "
                                     "migrations directory")
        else:
            raise DfmigrateError(f"{path}: no such file or directory")
    return found


def read_unit(path: str, migration: bool, source: str) -> Unit:
    """The unit of one file whose text is ``source`` (``read_text(path)``)."""
    return read_migration(path, source) if migration else Unit(path, "postgresql", migration=False,
                                                              chunks=[Chunk(source)])


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DfmigrateError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DfmigrateError(f"cannot read {path}: {exc.strerror}") from None


def read_migration(path: str, source: str) -> Unit:
    """The forward SQL of a migration file, without running it: its PostgreSQL SQL when it has
    some, else that of its one dialect.

    Read: ``dialect = "…"`` with ``forward_sql = [...]`` (string literals) and
    ``non_transactional = [...]`` (their indexes); ``Step(...)`` calls in a forward attribute,
    in a ``ForDialect(forward=[...])`` assigned to an attribute named after its dialect, or in a
    dict keyed by dialect; ``RunSQL(sql)`` in ``operations`` (a text, a list, or a dict by
    dialect); and ``allow_hazards = [...]``, the consent the file records. Backward SQL is
    never read: lint judges what ``migrate`` runs."""
    try:
        tree = ast.parse(source, path)
    except SyntaxError as exc:
        raise DfmigrateError(f"{path}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    comments = _python_directives(source)
    lines = source.splitlines()
    declared = ""
    outside: set[int] = set()
    allowed: frozenset[str] = frozenset()
    found: list[tuple[ast.AST, str | None, int | None]] = []  # (literal or Step call, dialect, forward_sql index)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):  # a migration class is top-level
        for item in cls.body:
            name, value = _assignment(item)
            if name is None or "backward" in name or "reverse" in name:
                continue
            if name == "dialect" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                declared = value.value
            elif name == "forward_sql" and isinstance(value, (ast.List, ast.Tuple)):
                found.extend((e, None, i) for i, e in enumerate(value.elts) if _is_text(e))
            elif name == "non_transactional" and isinstance(value, (ast.List, ast.Tuple)):
                outside = {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, int)}
            elif name == "allow_hazards" and isinstance(value, (ast.List, ast.Tuple)):
                allowed = frozenset(e.value for e in value.elts if _is_text(e))  # type: ignore[attr-defined]
            else:
                found.extend((node, dialect, None) for node, dialect in
                             _forward_sql(value, name if name in _DIALECTS else None))
    dialects = {d for _, d, _ in found if d is not None}
    dialect = "postgresql" if "postgresql" in dialects else declared or (dialects.pop() if dialects else "postgresql")
    chunks: list[Chunk] = []
    for node, node_dialect, index in found:
        if node_dialect not in (None, dialect):
            continue
        if isinstance(node, ast.Call):
            chunk = _step_chunk(node, lines, comments)
            if chunk is not None:
                chunks.append(chunk)
        else:
            chunks.append(_literal_chunk(node, lines, comments, transactional=index not in outside))  # type: ignore[arg-type]
    return Unit(path, dialect, migration=True, chunks=chunks, allowed=allowed)


_DIALECTS = ("postgresql", "sqlite", "mysql")


def _is_text(node: Any) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _assignment(item: ast.stmt) -> tuple[str | None, Any]:
    if isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
        return item.targets[0].id, item.value
    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None:
        return item.target.id, item.value
    return None, None


def _forward_sql(node: Any, dialect: str | None) -> list[tuple[ast.AST, str | None]]:
    """The forward ``Step(...)`` calls and ``RunSQL`` string literals inside ``node``, each with
    the dialect it is for (None: every dialect)."""
    found: list[tuple[ast.AST, str | None]] = []
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            named = key.value if isinstance(key, ast.Constant) and key.value in _DIALECTS else dialect
            found.extend(_forward_sql(value, named))  # type: ignore[arg-type]
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            found.extend(_forward_sql(element, dialect))
    elif isinstance(node, ast.Call) and _callee(node) == "Step":
        found.append((node, dialect))
    elif isinstance(node, ast.Call) and _callee(node) == "ForDialect":
        for keyword in node.keywords:
            if keyword.arg == "forward":
                found.extend(_forward_sql(keyword.value, dialect))
    elif isinstance(node, ast.Call) and _callee(node) == "RunSQL":
        sql = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "sql"), None)
        found.extend(_run_sql(sql, dialect))
    return found


def _run_sql(node: Any, dialect: str | None) -> list[tuple[ast.AST, str | None]]:
    if _is_text(node):
        return [(node, dialect)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [(e, dialect) for e in node.elts if _is_text(e)]
    if isinstance(node, ast.Dict):
        return [pair for key, value in zip(node.keys, node.values)
                for pair in _run_sql(value, key.value if _is_text(key) else dialect)]  # type: ignore[union-attr]
    return []


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _step_chunk(call: ast.Call, lines: list[str], comments: dict[int, set[str]]) -> Chunk | None:
    values: dict[str, Any] = {}
    sql_node = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "sql":
            sql_node = keyword.value
        elif keyword.arg in _HAZARD_FIELDS:
            values[keyword.arg] = _data(keyword.value)
    if not (isinstance(sql_node, ast.Constant) and isinstance(sql_node.value, str)):
        return None  # a Python step, or SQL built in code: nothing to read
    values = {k: v for k, v in values.items() if v is not None}
    values["hazards"] = tuple(values.get("hazards") or ())
    step = Step(sql_node.value, **values)
    chunk = _literal_chunk(sql_node, lines, comments, transactional=step.transactional)
    return Chunk(chunk.sql, chunk.line, chunk.column, chunk.exact_lines, step.transactional, step.isolated,
                 step, chunk.ignored | comments.get(call.lineno, set()))


def _data(node: ast.expr) -> Any:
    """A literal value; ``Hazard.DELETES_DATA`` (an enum member) is read as its value."""
    if isinstance(node, ast.Attribute):
        return node.attr.lower().replace("_", "-")
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_data(e) for e in node.elts)
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _literal_chunk(node: ast.Constant, lines: list[str], comments: dict[int, set[str]],
                   transactional: bool) -> Chunk:
    text = str(node.value)
    end = node.end_lineno or node.lineno
    exact = end - node.lineno == text.count("\n")
    source_line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
    column = node.col_offset + 1 + _opening_length(source_line[node.col_offset:])
    ignored = comments.get(node.lineno, set()) | comments.get(node.lineno - 1, set())
    return Chunk(text, node.lineno, column, exact, transactional, ignored=frozenset(ignored))


def _opening_length(rest: str) -> int:
    """Length of a literal's prefix and opening quotes (``r\"\"\"`` is 4)."""
    prefix = len(rest) - len(rest.lstrip("rRbBuU"))
    quotes = rest[prefix:prefix + 3]
    return prefix + (3 if quotes in ('"""', "'''") else 1)


def _python_directives(source: str) -> dict[int, set[str]]:
    """``# dfmigrate:ignore RULE reason`` comments of a migration file, by line."""
    if "dfmigrate:ignore" not in source:
        return {}
    found: dict[int, set[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                rules = parse_directive(token.string)
                if rules:
                    found.setdefault(token.start[0], set()).update(rules)
    except (tokenize.TokenError, SyntaxError):  # ast.parse accepted the file: cannot happen
        return found
    return found

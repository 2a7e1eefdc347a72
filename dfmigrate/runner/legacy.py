"""Steps of a migration file that lists plain SQL (``forward_sql``, ``non_transactional``).

Such files carry SQL strings only, so the facts a step carries (lock, target, kind, resume
check) are read once here, with pglast (PostgreSQL's own parser), and from then on travel as
``Step`` data. A hand-written ``forward()``/``backward()`` is one Python step.

This bridge exists until migration files give their steps themselves
(``steps(dialect, direction)``); the runner asks a file for that first.
"""

from __future__ import annotations

from typing import Any

from dfmigrate.step import Step

# SQLite's PRAGMA statements. One outside a transaction is a session setting (``foreign_keys``),
# repeated on every run and never tracked; rows returned by one are violations
# (``foreign_key_check``): see runner.executor.
PRAGMA = "pragma"


def steps_of(migration: Any, dialect: str, direction: str) -> list[Step]:
    """The steps running ``migration`` in ``direction`` ("forward"/"backward") executes."""
    own = getattr(migration, "steps", None)
    if callable(own):  # a file that states its steps itself
        return list(own(dialect, direction))
    from dfmigrate.migration import SQLMigration

    method = getattr(type(migration), direction)
    if not isinstance(migration, SQLMigration) or method is not getattr(SQLMigration, direction):
        return [Step(None, kind="run python", python=getattr(migration, direction))]
    sql = list(migration.forward_sql if direction == "forward" else migration.backward_sql)
    outside = set(migration.non_transactional if direction == "forward" else migration.backward_non_transactional)
    return [_step(s, dialect, i in outside) for i, s in enumerate(sql)]


def _step(sql: str, dialect: str, outside: bool) -> Step:
    words = sql.split(None, 2)
    if dialect == "sqlite":
        head = " ".join(w.upper() for w in words[:2])
        if head.startswith("PRAGMA FOREIGN_KEYS"):  # a no-op inside a transaction
            return Step(sql, kind=PRAGMA, transactional=False)
        return Step(sql, kind=(words[0].lower() if words else "sql"), transactional=not outside)
    kind, lock, target, resume = _postgres_facts(sql)
    return Step(sql, kind=kind, lock=lock, target=target, transactional=not outside, resume=resume if outside else None)


def _name(range_var: Any) -> str:
    return f"{range_var.schemaname or 'public'}.{range_var.relname}"


def _postgres_facts(sql: str) -> tuple[str, str | None, str | None, str | None]:
    """(kind, lock, target, resume) of one PostgreSQL statement."""
    from pglast import ast, parse_sql
    from pglast.enums import AlterTableType, ObjectType

    try:
        (raw,) = parse_sql(sql)
    except Exception:  # several statements, or text pglast cannot read: run it, unguarded
        return "sql", None, None, None
    node = raw.stmt
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        subtypes = [c.subtype for c in node.cmds or ()]
        first = subtypes[0].name.removeprefix("AT_") if subtypes else "?"
        kind = "alter table " + "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in first).strip()
        if all(s in (AlterTableType.AT_ValidateConstraint, AlterTableType.AT_SetStatistics) for s in subtypes):
            lock = "SHARE UPDATE EXCLUSIVE"
        elif all(s == AlterTableType.AT_AddConstraint and getattr(c.def_, "contype", None) is not None
                 and c.def_.contype.name == "CONSTR_FOREIGN" for s, c in zip(subtypes, node.cmds)):
            lock = "SHARE ROW EXCLUSIVE"
        else:
            lock = "ACCESS EXCLUSIVE"
        return kind, lock, _name(node.relation), None
    if isinstance(node, ast.IndexStmt):
        target = _name(node.relation)
        namespace = target.split(".", 1)[0]
        resume = f"index:{namespace}.{node.idxname}" if node.concurrent and node.idxname else None
        return ("create index concurrently" if node.concurrent else "create index",
                "SHARE UPDATE EXCLUSIVE" if node.concurrent else "SHARE", target, resume)
    if isinstance(node, ast.DropStmt) and node.removeType in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX):
        names = [".".join(p.sval for p in obj) for obj in node.objects or ()]
        target = names[0] if names else None
        if target and "." not in target:
            target = f"public.{target}"
        if node.removeType == ObjectType.OBJECT_TABLE:
            return "drop table", "ACCESS EXCLUSIVE", target, None
        return ("drop index concurrently" if node.concurrent else "drop index", None, target,
                f"no-index:{target}" if node.concurrent and target else None)
    if isinstance(node, ast.TruncateStmt) and node.relations:
        return "truncate", "ACCESS EXCLUSIVE", _name(node.relations[0]), None
    if isinstance(node, ast.CreateTrigStmt):
        return "create trigger", "SHARE ROW EXCLUSIVE", _name(node.relation), None
    if isinstance(node, ast.AlterEnumStmt) and node.newVal is not None:
        parts = [p.sval for p in node.typeName]
        type_name = ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"
        return "add enum value", None, type_name, f"enum-label:{type_name}:{node.newVal}"
    name = type(node).__name__.removesuffix("Stmt")
    return "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in name).strip(), None, None, None

"""Tables as a whole: CREATE / DROP / RENAME and table-level ALTER (logged, RLS, options,
comment, inheritance, partition bound)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dfmigrate.core.changes import AlterTable, CreateTable, DropTable, RenameTable, TableChange
from dfmigrate.dialects.postgres.hazards import Op
from dfmigrate.dialects.postgres.quote import qualified, quote_dotted, quote_ident
from dfmigrate.dialects.postgres.render_common import (
    alter_table,
    column_def,
    comment_sql,
    constraint_clause,
    rel,
    stmt,
)
from dfmigrate.core.schema import CheckConstraint, Constraint, ForeignKey, Table
from dfmigrate.core.statement import Statement


def _inline_constraints(table: Table) -> list[Constraint]:
    """Constraints CREATE TABLE holds: foreign keys come as their own changes, and NOT VALID
    checks cannot be declared inline."""
    return [c for c in table.constraints
            if not isinstance(c, ForeignKey)
            and not (isinstance(c, CheckConstraint) and not c.validated)]


def _partition_elements(table: Table) -> list[str]:
    """A partition's own additions to the parent's columns: defaults and NOT NULL (harmless when
    the parent already has them), then its local constraints."""
    elements = []
    for col in table.columns:
        extra = (f" DEFAULT {col.default}" if col.default is not None else "") + (
            " NOT NULL" if not col.nullable else "")
        if extra:
            elements.append(f"{quote_ident(col.name)} WITH OPTIONS{extra}")
    return elements + [constraint_clause(c, not_valid=False) for c in _inline_constraints(table)]


def _element_list(elements: list[str]) -> str:
    if not elements:
        return "()"
    return "(\n    " + ",\n    ".join(elements) + "\n)"


def create_table_sql(table: Table) -> str:
    unlogged = "UNLOGGED " if table.unlogged else ""
    sql = f"CREATE {unlogged}TABLE {qualified(table.namespace, table.name)}"
    if table.partition_of:
        sql += f" PARTITION OF {quote_dotted(table.partition_of)}"
        elements = _partition_elements(table)
        if elements:
            sql += " " + _element_list(elements)
        sql += f" {table.partition_bound or 'DEFAULT'}"
    else:
        elements = [column_def(c) for c in table.columns]
        elements += [constraint_clause(c, not_valid=False) for c in _inline_constraints(table)]
        sql += " " + _element_list(elements)
        if table.inherits:
            sql += f" INHERITS ({', '.join(quote_dotted(p) for p in table.inherits)})"
    if table.partition_by:
        sql += f" PARTITION BY {table.partition_by}"
    if table.options:
        sql += f" WITH ({', '.join(table.options)})"
    return sql


def _table_comments(change: Any, table: Table) -> list[Statement]:
    target = rel(table.namespace, table.name)
    name = qualified(table.namespace, table.name)
    out = []
    if table.comment is not None:
        out.append(stmt(comment_sql(f"TABLE {name}", table.comment), change, Op.COMMENT, target))
    for col in table.columns:
        if col.comment is not None:
            sql = comment_sql(f"COLUMN {name}.{quote_ident(col.name)}", col.comment)
            out.append(stmt(sql, change, Op.COMMENT, target))
    for con in _inline_constraints(table):  # foreign keys are added (and commented) on their own
        if con.comment is not None:
            sql = comment_sql(f"CONSTRAINT {quote_ident(con.name)} ON {name}", con.comment)
            out.append(stmt(sql, change, Op.COMMENT, target))
    return out


def create_table(change: CreateTable) -> list[Statement]:
    table = change.table
    target = rel(table.namespace, table.name)
    head = alter_table(table.namespace, table.name)
    out = [stmt(create_table_sql(table), change, Op.CREATE_TABLE, target,
                reverse=[f"DROP TABLE {qualified(table.namespace, table.name)}"])]
    for check in table.checks:
        if not check.validated:
            out.append(stmt(f"{head} ADD {constraint_clause(check)}", change,
                            Op.ADD_CHECK_NOT_VALID, target))
    # RLS flags go with the table (simplest place); policies follow as their own changes
    if table.rls_enabled:
        out.append(stmt(f"{head} ENABLE ROW LEVEL SECURITY", change, Op.ALTER_TABLE, target))
    if table.rls_forced:
        out.append(stmt(f"{head} FORCE ROW LEVEL SECURITY", change, Op.ALTER_TABLE, target))
    return out + _table_comments(change, table)


def drop_table(change: DropTable) -> list[Statement]:
    table = change.table
    recreate = [s.sql for s in create_table(CreateTable(table))]  # structure only, not rows
    sql = f"DROP TABLE {qualified(table.namespace, table.name)}"
    return [stmt(sql, change, Op.DROP_TABLE, rel(table.namespace, table.name), reverse=recreate)]


def rename_table(change: RenameTable) -> list[Statement]:
    old, new = change.old, change.new
    out = []
    if old.name != new.name:
        sql = f"{alter_table(old.namespace, old.name)} RENAME TO {quote_ident(new.name)}"
        back = f"{alter_table(old.namespace, new.name)} RENAME TO {quote_ident(old.name)}"
        out.append(stmt(sql, change, Op.RENAME_TABLE, rel(old.namespace, old.name), reverse=[back]))
    if old.namespace != new.namespace:
        sql = f"{alter_table(old.namespace, new.name)} SET SCHEMA {quote_ident(new.namespace)}"
        back = f"{alter_table(new.namespace, new.name)} SET SCHEMA {quote_ident(old.namespace)}"
        out.append(stmt(sql, change, Op.RENAME_TABLE, rel(old.namespace, new.name), reverse=[back]))
    return out


# ---------------------------------------------------------------- ALTER TABLE, one flag each


def _options_dict(options: tuple[str, ...]) -> dict[str, str]:
    return dict(opt.split("=", 1) if "=" in opt else (opt, "true") for opt in options)


def _options_actions(before: tuple[str, ...], after: tuple[str, ...]) -> str:
    """``RESET (...), SET (...)``: one ALTER TABLE takes both, so one statement, one reverse."""
    old, new = _options_dict(before), _options_dict(after)
    removed = [k for k in old if k not in new]
    changed = [f"{k}={v}" for k, v in new.items() if old.get(k) != v]
    actions = [f"RESET ({', '.join(removed)})"] if removed else []
    actions += [f"SET ({', '.join(changed)})"] if changed else []
    return ", ".join(actions)


def _alter_flag(change: AlterTable, flag: TableChange) -> list[Statement]:
    old, new = change.old, change.new
    head = alter_table(new.namespace, new.name)
    target = rel(new.namespace, new.name)

    def one(op: Op, forward: str, back: str) -> list[Statement]:
        return [stmt(f"{head} {forward}", change, op, target, reverse=[f"{head} {back}"])]

    if flag is TableChange.LOGGED:
        return one(Op.SET_LOGGED, *(("SET UNLOGGED", "SET LOGGED") if new.unlogged
                                    else ("SET LOGGED", "SET UNLOGGED")))
    if flag is TableChange.RLS_ENABLED:
        pair = ("ENABLE", "DISABLE") if new.rls_enabled else ("DISABLE", "ENABLE")
        return one(Op.ALTER_TABLE, *(f"{p} ROW LEVEL SECURITY" for p in pair))
    if flag is TableChange.RLS_FORCED:
        pair = ("FORCE", "NO FORCE") if new.rls_forced else ("NO FORCE", "FORCE")
        return one(Op.ALTER_TABLE, *(f"{p} ROW LEVEL SECURITY" for p in pair))
    if flag is TableChange.OPTIONS:
        forward = _options_actions(old.options, new.options)
        return one(Op.ALTER_TABLE, forward, _options_actions(new.options, old.options)) \
            if forward else []
    if flag is TableChange.COMMENT:
        name = f"TABLE {qualified(new.namespace, new.name)}"
        return [stmt(comment_sql(name, new.comment), change, Op.COMMENT, target,
                     reverse=[comment_sql(name, old.comment)])]
    if flag is TableChange.INHERITS:
        gone = [p for p in old.inherits if p not in new.inherits]
        added = [p for p in new.inherits if p not in old.inherits]
        pairs = [(f"NO INHERIT {quote_dotted(p)}", f"INHERIT {quote_dotted(p)}") for p in gone]
        pairs += [(f"INHERIT {quote_dotted(p)}", f"NO INHERIT {quote_dotted(p)}") for p in added]
        return [s for forward, back in pairs for s in one(Op.ALTER_TABLE, forward, back)]
    if flag is TableChange.PARTITION_BOUND:
        return _partition_bound(change)
    if flag is TableChange.REPLICA_IDENTITY:
        return one(Op.ALTER_TABLE, _replica_identity(new.replica_identity), _replica_identity(old.replica_identity))
    return []


def _replica_identity(value: str) -> str:
    if value.startswith("index:"):
        return f"REPLICA IDENTITY USING INDEX {quote_ident(value[len('index:'):])}"
    return f"REPLICA IDENTITY {value.upper()}"


def _partition_bound(change: AlterTable) -> list[Statement]:
    """Detach from the old parent and/or attach to the new one: PostgreSQL cannot change a bound
    in place."""
    old, new = change.old, change.new
    out = []
    if old.partition_of:
        parent = quote_dotted(old.partition_of)
        name = qualified(old.namespace, old.name)
        back = f"ALTER TABLE {parent} ATTACH PARTITION {name} {old.partition_bound or 'DEFAULT'}"
        out.append(stmt(f"ALTER TABLE {parent} DETACH PARTITION {name}", change,
                        Op.DETACH_PARTITION, old.partition_of, reverse=[back]))
    if new.partition_of:
        parent = quote_dotted(new.partition_of)
        name = qualified(new.namespace, new.name)
        sql = f"ALTER TABLE {parent} ATTACH PARTITION {name} {new.partition_bound or 'DEFAULT'}"
        out.append(stmt(sql, change, Op.ATTACH_PARTITION, new.partition_of,
                        reverse=[f"ALTER TABLE {parent} DETACH PARTITION {name}"]))
    return out


# the order statements come out in when several flags change at once
_FLAG_ORDER = (
    TableChange.PARTITION_BOUND, TableChange.INHERITS, TableChange.LOGGED, TableChange.OPTIONS,
    TableChange.RLS_ENABLED, TableChange.RLS_FORCED, TableChange.COMMENT, TableChange.REPLICA_IDENTITY,
)


def alter_table_change(change: AlterTable) -> list[Statement]:
    return [s for flag in _FLAG_ORDER if flag in change.changes for s in _alter_flag(change, flag)]


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    CreateTable: create_table,
    DropTable: drop_table,
    RenameTable: rename_table,
    AlterTable: alter_table_change,
}

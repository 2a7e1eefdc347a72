"""Columns: ADD / DROP / RENAME COLUMN and ALTER COLUMN, one statement per aspect, in an order
PostgreSQL accepts (identity needs NOT NULL and no default; a type change needs the old default
out of the way)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dfmigrate.core.changes import AddColumn, AlterColumn, ColumnChange, DropColumn, RenameColumn
from dfmigrate.dialects.postgres.hazards import (
    Op,
    type_change_loses_data,
    type_change_narrows,
    type_change_rewrites,
    volatile_default,
)
from dfmigrate.dialects.postgres.quote import qualified, quote_ident, quote_name_text
from dfmigrate.dialects.postgres.render_common import (
    alter_table,
    column_def,
    comment_sql,
    identity_clause,
    rel,
    sequence_clauses,
    stmt,
)
from dfmigrate.core.schema import Column, SequenceOptions
from dfmigrate.core.statement import Hazard, Statement


def _column_comment(change: Any, namespace: str, table: str, col: Column,
                    old_comment: str | None = None) -> Statement:
    name = f"COLUMN {qualified(namespace, table)}.{quote_ident(col.name)}"
    return stmt(comment_sql(name, col.comment), change, Op.COMMENT, rel(namespace, table),
                reverse=[comment_sql(name, old_comment)])


def _add_column_op(col: Column) -> Op:
    """Whether adding the column fills every existing row (a rewrite) or only the catalog."""
    rewrite = col.generated or col.identity or volatile_default(col.default)
    return Op.ADD_COLUMN_REWRITE if rewrite else Op.ADD_COLUMN


def add_column(change: AddColumn) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    col = change.column
    extra = [Hazard.VALIDATES_ROWS, Hazard.FAILS_ON_DATA, Hazard.BREAKS_CLIENTS] \
        if col.required_without_default else []
    out = [stmt(f"{head} ADD COLUMN {column_def(col)}", change, _add_column_op(col),
                rel(change.namespace, change.table), extra=extra,
                reverse=[f"{head} DROP COLUMN {quote_ident(col.name)}"])]
    if col.comment is not None:
        out.append(_column_comment(change, change.namespace, change.table, col))
    return out


def drop_column(change: DropColumn) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    col = change.column
    return [stmt(f"{head} DROP COLUMN {quote_ident(col.name)}", change, Op.DROP_COLUMN,
                 rel(change.namespace, change.table),
                 reverse=[f"{head} ADD COLUMN {column_def(col)}"])]  # the column, not its data


def rename_column(change: RenameColumn) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    old, new = quote_ident(change.old.name), quote_ident(change.new.name)
    return [stmt(f"{head} RENAME COLUMN {old} TO {new}", change, Op.RENAME_COLUMN,
                 rel(change.namespace, change.table),
                 reverse=[f"{head} RENAME COLUMN {new} TO {old}"])]


# ---------------------------------------------------------------- ALTER COLUMN


@dataclass(frozen=True)
class _Step:
    action: str  # what follows ALTER COLUMN c
    op: Op
    undo: str | None = None  # the action that undoes it, when derivable
    extra: tuple[Hazard, ...] = ()  # hazards beyond the op's own


def _type_step(change: AlterColumn) -> _Step:
    old, new = change.old, change.new
    collation_changed = ColumnChange.COLLATION in change.changes

    def clause(col: Column) -> str:
        # ALTER ... TYPE without COLLATE resets the collation, so always restate a custom one
        if col.collation:
            return f"TYPE {col.type} COLLATE {quote_name_text(col.collation)}"
        return f"TYPE {col.type}" + (' COLLATE "default"' if collation_changed else "")

    if ColumnChange.TYPE in change.changes:
        op = (Op.ALTER_COLUMN_TYPE if type_change_rewrites(old.type, new.type)
              else Op.ALTER_COLUMN_TYPE_NO_REWRITE)
    else:
        op = Op.ALTER_COLUMN_COLLATION
    using = f" USING {change.using}" if change.using else ""
    extra: tuple[Hazard, ...] = ()
    if ColumnChange.TYPE in change.changes:
        extra = ((Hazard.DELETES_DATA,) if type_change_loses_data(old.type, new.type) else ()) + \
            ((Hazard.FAILS_ON_DATA,) if type_change_narrows(old.type, new.type) else ())
    return _Step(clause(new) + using, op, clause(old), extra)


def _identity_drop(change: AlterColumn) -> list[_Step]:
    """DROP IDENTITY goes first: DROP NOT NULL and SET DEFAULT fail on an identity column."""
    old, new = change.old, change.new
    if ColumnChange.IDENTITY in change.changes and old.identity and not new.identity:
        return [_Step("DROP IDENTITY", Op.ALTER_COLUMN, f"ADD {identity_clause(old)}")]
    return []


def _identity_set(change: AlterColumn) -> list[_Step]:
    """Adding an identity goes last: it needs NOT NULL and no default first."""
    old, new, flags = change.old, change.new, change.changes
    if not new.identity:
        return []
    if ColumnChange.IDENTITY in flags and not old.identity:
        return [_Step(f"ADD {identity_clause(new)}", Op.ALTER_COLUMN, "DROP IDENTITY")]
    steps = []
    if ColumnChange.IDENTITY in flags and new.identity != old.identity:
        steps.append(_Step(f"SET GENERATED {new.identity}", Op.ALTER_COLUMN,
                           f"SET GENERATED {old.identity}"))
    if ColumnChange.IDENTITY_OPTIONS in flags:
        before = old.identity_options or SequenceOptions()
        after = new.identity_options or SequenceOptions()
        forward = sequence_clauses(after, before, data_type=new.type, with_type=False)
        back = sequence_clauses(before, after, data_type=new.type, with_type=False)
        if forward:
            steps.append(_Step(" ".join(f"SET {c}" for c in forward), Op.ALTER_COLUMN,
                               " ".join(f"SET {c}" for c in back)))
    return steps


def _default_steps(change: AlterColumn) -> tuple[list[_Step], list[_Step]]:
    """(before the type change, after it). A type change drops the old default first because it
    may not cast to the new type; the new default is set afterwards."""
    old, new, flags = change.old, change.new, change.changes
    retype = bool(flags & (ColumnChange.TYPE | ColumnChange.COLLATION))
    changed = ColumnChange.DEFAULT in flags
    adding_identity = ColumnChange.IDENTITY in flags and new.identity and not old.identity
    before, after = [], []
    dropped = old.default is not None and (
        retype or adding_identity or (changed and new.default is None))
    if dropped:
        before.append(_Step("DROP DEFAULT", Op.ALTER_COLUMN, f"SET DEFAULT {old.default}"))
    if new.default is not None and (changed or dropped):
        undo = "DROP DEFAULT" if dropped or old.default is None else f"SET DEFAULT {old.default}"
        after.append(_Step(f"SET DEFAULT {new.default}", Op.ALTER_COLUMN, undo))
    return before, after


def _nullable_step(change: AlterColumn) -> list[_Step]:
    if ColumnChange.NULLABLE not in change.changes:
        return []
    if change.new.nullable:
        return [_Step("DROP NOT NULL", Op.ALTER_COLUMN, "SET NOT NULL")]
    return [_Step("SET NOT NULL", Op.SET_NOT_NULL, "DROP NOT NULL")]


def _regenerate(change: AlterColumn) -> list[Statement]:
    """A stored generation expression cannot be altered (before PostgreSQL 17) nor added to an
    existing column: drop the column and add it back. Values are recomputed; if the old column
    was a plain one, what it stored is lost."""
    head = alter_table(change.namespace, change.table)
    target = rel(change.namespace, change.table)
    old, new = change.old, change.new
    name = quote_ident(new.name)
    extra = [] if old.generated is not None else [Hazard.DELETES_DATA]
    note = ("generated expression changed: the column is dropped and re-added; indexes, "
            "constraints and views on it must be recreated")
    out = [
        stmt(f"{head} DROP COLUMN {quote_ident(old.name)}", change, Op.REGENERATE_COLUMN, target,
             extra=extra, comment=note),
        stmt(f"{head} ADD COLUMN {column_def(new)}", change, Op.REGENERATE_COLUMN, target,
             reverse=[f"{head} DROP COLUMN {name}", f"{head} ADD COLUMN {column_def(old)}"]),
    ]
    if new.comment is not None:
        out.append(_column_comment(change, change.namespace, change.table, new))
    return out


def alter_column(change: AlterColumn) -> list[Statement]:
    flags, old, new = change.changes, change.old, change.new
    if ColumnChange.GENERATED in flags and new.generated is not None:
        return _regenerate(change)
    steps: list[_Step] = []
    if ColumnChange.GENERATED in flags and old.generated is not None:
        steps.append(_Step("DROP EXPRESSION", Op.ALTER_COLUMN))  # keeps the stored values
    steps += _identity_drop(change)
    defaults_before, defaults_after = _default_steps(change)
    steps += defaults_before
    if flags & (ColumnChange.TYPE | ColumnChange.COLLATION):
        steps.append(_type_step(change))
    steps += defaults_after + _nullable_step(change) + _identity_set(change)

    head = f"{alter_table(change.namespace, change.table)} ALTER COLUMN {quote_ident(new.name)}"
    target = rel(change.namespace, change.table)
    out = [stmt(f"{head} {s.action}", change, s.op, target, extra=s.extra,
                reverse=[f"{head} {s.undo}"] if s.undo else ()) for s in steps]
    if ColumnChange.COMMENT in flags:
        out.append(_column_comment(change, change.namespace, change.table, new, old.comment))
    return out


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    AddColumn: add_column,
    DropColumn: drop_column,
    RenameColumn: rename_column,
    AlterColumn: alter_column,
}

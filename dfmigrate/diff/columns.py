"""Columns of a table that exists on both sides."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.core.changes import AddColumn, AlterColumn, Change, ColumnChange, DropColumn, RenameColumn
from dfmigrate.diff._lists import diff_by_key, name_key, spelling
from dfmigrate.core.schema import Column, Table

_FLAGS: tuple[tuple[str, ColumnChange], ...] = (
    ("type", ColumnChange.TYPE),
    ("nullable", ColumnChange.NULLABLE),
    ("default", ColumnChange.DEFAULT),
    ("identity", ColumnChange.IDENTITY),
    ("identity_options", ColumnChange.IDENTITY_OPTIONS),
    ("generated", ColumnChange.GENERATED),
    ("generated_kind", ColumnChange.GENERATED),
    ("collation", ColumnChange.COLLATION),
    ("comment", ColumnChange.COMMENT),
    # SQLite's AUTOINCREMENT (never set on PostgreSQL) is the rowid's generator: an identity
    ("autoincrement", ColumnChange.IDENTITY),
    ("on_update", ColumnChange.ATTRIBUTES),
    ("invisible", ColumnChange.ATTRIBUTES),
)


def column_changes(old: Column, new: Column) -> ColumnChange:
    flags = ColumnChange.NONE
    for attr, flag in _FLAGS:
        if getattr(old, attr) != getattr(new, attr):
            flags |= flag
    return flags


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _using(old: Column, new: Column, enums: frozenset[str]) -> str:
    """The cast a type change needs. There is no cast between two enums, nor from an enum to
    most types, but every enum converts to and from text."""
    column = _quoted(new.name)
    old_base, new_base = old.type.removesuffix("[]"), new.type.removesuffix("[]")
    if (old_base in enums or new_base in enums) and old_base != new_base:
        via = "text[]" if old.type.endswith("[]") else "text"
        return f"{column}::{via}::{new.type}"
    return f"{column}::{new.type}"


def alter_column(namespace: str, table: str, old: Column, new: Column,
                 enums: frozenset[str] = frozenset()) -> list[AlterColumn]:
    """One AlterColumn, or two when an identity and a default trade places: the identity's
    implicit sequence is named like a serial's (<table>_<column>_seq), so the old one must be
    gone before the new one is made, with the sequence change ordered in between."""
    identity = ColumnChange.IDENTITY | ColumnChange.IDENTITY_OPTIONS
    if old.identity and not new.identity and column_changes(old, new) & ~identity:
        mid = replace(old, identity=None, identity_options=None)
        return _single(namespace, table, old, mid, enums) + _single(namespace, table, mid, new, enums)
    if new.identity and not old.identity and old.default:
        mid = replace(old, default=None)
        return _single(namespace, table, old, mid, enums) + _single(namespace, table, mid, new, enums)
    return _single(namespace, table, old, new, enums)


def _single(namespace: str, table: str, old: Column, new: Column, enums: frozenset[str]) -> list[AlterColumn]:
    flags = column_changes(old, new)
    # renamed_from is a declaration, not column state
    if not flags:  # ColumnChange.NONE
        return []
    using = _using(old, new, enums) if flags & ColumnChange.TYPE else None
    return [AlterColumn(namespace, table, old, new, flags, using)]


def compare_columns(old_table: Table, new: Table, enums: frozenset[str] = frozenset(),
                    dialect: str = "postgresql") -> list[Change]:
    """``old_table`` is already under the new table's name when the table was renamed. A name
    that differs only in case (SQLite) is the same column under a new spelling: a rename."""
    ns, name = new.namespace, new.name
    fold = name_key(dialect)
    diff = diff_by_key(old_table.columns, new.columns, key=lambda c: fold(c.name),
                       renamed_from=lambda c: [fold(r) for r in c.renamed_from])
    changes: list[Change] = []
    respelled = [(o, n) for o, n in diff.changed if o.name != n.name]
    for old_col, new_col in (*diff.renamed, *respelled):
        changes.append(RenameColumn(ns, name, old_col, new_col))
        changes += alter_column(ns, name, _comparable(replace(old_col, name=new_col.name), old_table,
                                                      new_col, new, dialect), new_col, enums)
    changes += [AddColumn(ns, name, c) for c in diff.added]
    changes += [DropColumn(ns, name, c) for c in diff.removed]
    for old_col, new_col in diff.changed:
        if old_col.name == new_col.name:
            changes += alter_column(ns, name, _comparable(old_col, old_table, new_col, new, dialect),
                                    new_col, enums)
    return changes


def _comparable(old_col: Column, old_table: Table, new_col: Column, new_table: Table,
                dialect: str) -> Column:
    """The old column with the attributes that differ only in spelling on the dialect taken
    from the new one (SQLite: ``DEFAULT (1+2)`` is ``DEFAULT (1 + 2)``)."""
    forms = spelling(dialect)
    if forms is None:
        return old_col
    before, after = forms.column(old_table, old_col), forms.column(new_table, new_col)
    same = {f: getattr(new_col, f) for f in ("default", "generated", "nullable")
            if getattr(before, f) == getattr(after, f)}
    return replace(old_col, **same)

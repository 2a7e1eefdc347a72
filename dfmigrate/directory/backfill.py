"""Backfills for ``makemigrations``: which new columns need one, and which expression fills each.

A column added NOT NULL without a default to a table that already exists fails on the table's
first row (PostgreSQL and SQLite alike), and the release still running inserts rows without it.
Such a column needs a backfill: an SQL expression computing the value of each existing row,
declared on the field (``field(backfill=...)``) or given on the command line (``--backfill
TABLE.COLUMN=EXPR``, which wins). A nullable new column, or one with a default, may have one too:
it then fills the existing rows instead of leaving them NULL or at the default.

Nothing here renders SQL: the plan takes the expressions (``engine.plan_migration(backfills=)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dfmigrate.core.changes import AddColumn, CreateTable, RenameTable
from dfmigrate.errors import DfmigrateError
from dfmigrate.core.schema import DEFAULT_NAMESPACE, Column, Schema

Key = tuple[str, str, str]  # (namespace, table, column), the table under its new name


@dataclass(frozen=True)
class Given:
    """One ``--backfill [NAMESPACE.]TABLE.COLUMN=EXPR``."""

    option: str  # as typed, for messages
    namespace: str | None  # None: any namespace (the dialect's default one, in practice)
    table: str
    column: str
    expression: str

    def matches(self, key: Key) -> bool:
        return (self.namespace in (None, key[0])) and (self.table, self.column) == key[1:]


def parse_options(values: Iterable[str]) -> list[Given]:
    out = []
    for value in values:
        target, sep, expression = value.partition("=")
        parts = target.strip().split(".")
        if not sep or not expression.strip() or len(parts) not in (2, 3) or not all(parts):
            raise DfmigrateError(f"--backfill {value!r}: expected TABLE.COLUMN=EXPR "
                                 "(or NAMESPACE.TABLE.COLUMN=EXPR), e.g. --backfill users.score=0")
        namespace = parts[0] if len(parts) == 3 else None
        out.append(Given(value, namespace, parts[-2], parts[-1], expression.strip()))
    return out


def added_to_existing(old: Schema, changes: Sequence[Any]) -> dict[Key, Column]:
    """The columns ``changes`` add to tables that exist in ``old`` (followed through a rename;
    a table dropped and created again is new)."""
    tables = {(t.namespace, t.name) for t in old.tables}
    for c in changes:
        if isinstance(c, RenameTable) and (c.old.namespace, c.old.name) in tables:
            tables.add((c.new.namespace, c.new.name))
    tables -= {(c.table.namespace, c.table.name) for c in changes if isinstance(c, CreateTable)}
    return {(c.namespace, c.table, c.column.name): c.column for c in changes
            if isinstance(c, AddColumn) and (c.namespace, c.table) in tables}


@dataclass
class Resolved:
    """The backfills of one dialect's plan, and the columns that need one and have none."""

    backfills: dict[Key, str]
    missing: list[Key]


def resolve(old: Schema, changes: Sequence[Any], declared: Mapping[Key, str], given: Sequence[Given],
            used: set[str]) -> Resolved:
    """``declared`` (the models' ``field(backfill=)``: kept only for a column added now) and
    ``given`` (the command line, which wins) for the plan from ``old`` by ``changes``. ``used``
    collects the options that named a column (an option naming none is a mistake to report)."""
    added = added_to_existing(old, changes)
    backfills = {k: v for k, v in declared.items() if k in added}
    for g in given:
        for key in added:
            if g.matches(key):
                backfills[key] = g.expression
                used.add(g.option)
    partitioned = {(t.namespace, t.name) for t in old.tables if t.partition_by or t.partition_of}
    for key in backfills:
        if key[:2] in partitioned:
            raise DfmigrateError(f"{shown(key, old.dialect)}: {key[0]}.{key[1]} is partitioned, and dfmigrate has no "
                                 "backfill form for it: add the column nullable, fill it in a data migration "
                                 "(makemigrations --empty), then make it NOT NULL")
    return Resolved(backfills, [k for k, col in added.items() if col.required_without_default and k not in backfills])


def shown(key: Key, dialect: str) -> str:
    """``table.column``, with the namespace when it is not the dialect's default one."""
    namespace, table, column = key
    return f"{table}.{column}" if namespace == DEFAULT_NAMESPACE.get(dialect) else f"{namespace}.{table}.{column}"


def unused_error(given: Sequence[Given], used: set[str]) -> DfmigrateError | None:
    unused = [g.option for g in given if g.option not in used]
    if not unused:
        return None
    return DfmigrateError(f"--backfill {unused[0]!r}: this migration adds no column {unused[0].partition('=')[0]} "
                          "to an existing table; nothing written")


def missing_error(missing: Mapping[str, list[Key]]) -> DfmigrateError:
    """``missing``: dialect → keys. One line naming every column and both ways to fill it."""
    names = list(dict.fromkeys(shown(k, d) for d, keys in missing.items() for k in keys))
    example = names[0]
    return DfmigrateError(
        f"{', '.join(names)}: added NOT NULL without a default to an existing table, whose rows need a "
        f"value; give an SQL expression computing it: field(backfill=\"...\") in the model, or "
        f"--backfill {example}=EXPR (or give the column a default, or make it nullable); nothing written")

"""Tables: created, dropped, renamed (only when declared) or altered in place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dfmigrate.core.changes import (
    AddColumn,
    AlterTable,
    Change,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropTable,
    RenameTable,
    SetSequenceOwner,
    TableChange,
)
from dfmigrate.diff._lists import diff_by_key, name_key, spelling
from dfmigrate.diff.columns import compare_columns
from dfmigrate.diff.types import enum_type_names
from dfmigrate.diff.table_objects import (
    compare_constraints,
    compare_indexes,
    compare_policies,
    compare_triggers,
    create_table_objects,
)
from dfmigrate.core.schema import Column, Schema, Table

_TABLE_FLAGS: tuple[tuple[str, TableChange], ...] = (
    ("unlogged", TableChange.LOGGED),
    ("rls_enabled", TableChange.RLS_ENABLED),
    ("rls_forced", TableChange.RLS_FORCED),
    ("options", TableChange.OPTIONS),
    ("comment", TableChange.COMMENT),
    ("inherits", TableChange.INHERITS),
    ("partition_of", TableChange.PARTITION_BOUND),
    ("partition_bound", TableChange.PARTITION_BOUND),
    ("replica_identity", TableChange.REPLICA_IDENTITY),
    ("engine", TableChange.OPTIONS),
    ("collation", TableChange.OPTIONS),
    ("row_format", TableChange.OPTIONS),
    # SQLite has no ALTER for these: the dialect rebuilds the table
    ("strict", TableChange.OPTIONS),
    ("without_rowid", TableChange.OPTIONS),
)


def _key(t: Table) -> tuple[str, str]:
    return (t.namespace, t.name)


def _folded(fold: Callable[[str], str]) -> Callable[[Table], tuple[str, str]]:
    return lambda t: (t.namespace, fold(t.name))


def _must_recreate(old: Table, new: Table) -> bool:
    """Whether the table is partitioned is fixed at CREATE TABLE. (So are SQLite's STRICT and
    WITHOUT ROWID, but SQLite rebuilds a table keeping its rows: the dialect does that.)"""
    return old.partition_by != new.partition_by


def compare_tables(old: Schema, new: Schema) -> list[Change]:
    fold = name_key(new.dialect)
    diff = diff_by_key(old.tables, new.tables, key=_folded(fold),
                       renamed_from=lambda t: [(t.namespace, fold(r)) for r in t.renamed_from])
    enums = enum_type_names(old, new)
    changes: list[Change] = []
    recreated = _with_partitions([(o, n) for o, n in diff.changed if _must_recreate(o, n)], old, new)
    recreated_keys = {_key(o) for o, _ in recreated}
    for table in (*diff.added, *(n for _, n in recreated)):
        changes += create_table(table)
    # dropped and recreated tables together: a foreign key between two of them goes first
    changes += drop_tables([*diff.removed, *(o for o, _ in recreated)])
    changes += _keep_owned_sequences([o for o, _ in recreated], old, new)
    # a name that differs only in case (SQLite) is the same table under a new spelling
    respelled = [(o, n) for o, n in diff.changed if o.name != n.name and _key(o) not in recreated_keys]
    for o, n in (*diff.renamed, *respelled):
        changes.append(RenameTable(o, n))
        changes += alter_table(o, n, old, enums, new)
    for o, n in diff.changed:
        if _key(o) not in recreated_keys and o.name == n.name:
            changes += alter_table(o, n, old, enums, new)
    return changes


def _keep_owned_sequences(recreated: list[Table], old: Schema, new: Schema) -> list[Change]:
    """DROP TABLE drops the sequences its columns own (a serial's, say): one that the recreated
    table owns again is released before the drop and given back after the create."""
    tables = {f"{t.namespace}.{t.name}." for t in recreated}
    after = {(s.namespace, s.name): s for s in new.sequences}
    changes: list[Change] = []
    for seq in old.sequences:
        kept = after.get((seq.namespace, seq.name))
        if seq.owned_by and kept is not None and kept.owned_by == seq.owned_by \
                and any(seq.owned_by.startswith(prefix) for prefix in tables):
            changes += [SetSequenceOwner(replace(seq, owned_by=None)), SetSequenceOwner(kept)]
    return changes


def _with_partitions(recreated: list[tuple[Table, Table]], old: Schema, new: Schema) -> list[tuple[Table, Table]]:
    """DROP TABLE takes a partitioned table's partitions with it: those that stay are recreated
    too (and theirs, down the tree), changed or not."""
    keys = {_key(o) for o, _ in recreated}
    out = list(recreated)
    grew = True
    while grew:
        grew = False
        for table in new.tables:
            parent = table.partition_of
            if parent and tuple(parent.split(".", 1)) in keys and _key(table) not in keys:
                before = old.table(table.namespace, table.name)
                if before is not None and before.partition_of == parent:
                    out.append((before, table))
                    keys.add(_key(table))
                    grew = True
    return out


def create_table(table: Table) -> list[Change]:
    changes: list[Change] = [CreateTable(table), *create_table_objects(table)]
    if table.replica_identity != "default":  # USING INDEX needs the index: a step of its own
        changes.append(AlterTable(replace(table, replica_identity="default"), table, TableChange.REPLICA_IDENTITY))
    return changes


def drop_tables(tables: list[Table] | tuple[Table, ...]) -> list[Change]:
    """Foreign keys between dropped tables are dropped first and on their own, so that a cycle
    of references cannot make every DROP TABLE wait for another."""
    dropped = {_key(t) for t in tables}
    changes: list[Change] = []
    for t in tables:
        for fk in t.foreign_keys:
            if (fk.ref_namespace, fk.ref_table) in dropped and (fk.ref_namespace, fk.ref_table) != _key(t):
                changes.append(DropConstraint(t.namespace, t.name, fk))
        changes.append(DropTable(t))
    return changes


def _effective_columns(table: Table, schema: Schema) -> Table:
    """A partition made with PARTITION OF lists no columns of its own; once detached, the
    parent's columns are its own. Compare a detached partition by what it will hold."""
    if not table.partition_of or table.columns:
        return table
    pns, _, pname = table.partition_of.partition(".")
    parent = schema.table(pns, pname)
    return replace(table, columns=parent.columns) if parent else table


def _parent_columns(table: Table, schema: Schema) -> dict[str, Column]:
    cols: dict[str, Column] = {}
    for parent in table.inherits:
        pns, _, pname = parent.partition(".")
        t = schema.table(pns, pname)
        for c in t.columns if t else ():
            cols.setdefault(c.name, c)
    return cols


def _inheritance_columns(old: Table, new: Table, old_schema: Schema, new_schema: Schema) -> list[Change]:
    """A table that gains a parent must already hold the parent's columns (INHERIT checks it);
    one that loses a parent keeps the inherited columns as its own unless they are dropped.
    Inherited columns are implicit in the model, so both sides are spelled out here."""
    before = _parent_columns(old, old_schema)
    after = _parent_columns(new, new_schema)
    own_old = {c.name for c in old.columns}
    own_new = {c.name for c in new.columns}
    ns = new.namespace
    changes: list[Change] = [AddColumn(ns, new.name, c) for name, c in after.items()
                             if name not in own_old and name not in before]
    changes += [DropColumn(ns, new.name, c) for name, c in before.items()
                if name not in own_new and name not in after]
    return changes


def alter_table(old: Table, new: Table, old_schema: Schema, enums: frozenset[str] = frozenset(),
                new_schema: Schema | None = None) -> list[Change]:
    flags = TableChange.NONE
    for attr, flag in _TABLE_FLAGS:
        if getattr(old, attr) != getattr(new, attr):
            flags |= flag
    changes: list[Change] = []
    if flags & TableChange.REPLICA_IDENTITY:  # a step of its own: see plan.effects
        changes.append(AlterTable(old, new, TableChange.REPLICA_IDENTITY))
        flags &= ~TableChange.REPLICA_IDENTITY
    if flags != TableChange.NONE:
        changes.append(AlterTable(old, new, flags))
    if flags & TableChange.INHERITS and new_schema is not None:
        changes += _inheritance_columns(old, new, old_schema, new_schema)
    dialect = old_schema.dialect
    if not new.partition_of:  # a partition's columns follow its parent
        changes += compare_columns(replace(_effective_columns(old, old_schema), name=new.name), new,
                                   enums, dialect)
    forms = spelling(dialect)
    if forms is not None:  # what a constraint refers to, spelled out as the dialect reads it
        # Both sides against the target schema: an old REFERENCES parent (no columns) means the
        # parent's key as the plan leaves it, so a moved key changes what it enforces.
        target = new_schema or old_schema
        changes += compare_constraints(forms.resolved(old, target), forms.resolved(new, target), dialect)
    else:
        changes += compare_constraints(old, new, dialect)
    for compare in (compare_indexes, compare_triggers):
        changes += compare(old, new, dialect)
    changes += compare_policies(old, new)
    return changes

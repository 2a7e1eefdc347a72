"""Turn generic changes into changes SQLite can execute.

SQLite's ALTER TABLE only renames tables and columns, adds columns (no PK/UNIQUE, no
non-constant default, no NOT NULL without a non-NULL default, no STORED generated column) and
drops columns that nothing else uses. Every other table change is coalesced, per table, into one
``RebuildTable`` (https://www.sqlite.org/lang_altertable.html#otheralter). The rebuild recreates
the new table's indexes and triggers, so separate index/trigger changes for it are dropped; views
that read the table are dropped before and recreated after it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from dfmigrate.core.changes import (
    AddColumn, AddConstraint, AlterColumn, AlterTable, Change, ColumnChange, CreateIndex,
    CreateNamespace, CreateTable, CreateTrigger, CreateView, DropColumn, DropConstraint, DropIndex,
    DropTable, DropTrigger, DropView, GrantPrivilege, RebuildTable, RenameColumn, RenameTable,
    RevokePrivilege, SetComment, TableChange, ValidateConstraint,
)
from dfmigrate.dialects.sqlite import NAMESPACE
from dfmigrate.dialects.sqlite.ddl import is_literal, referenced_names
from dfmigrate.errors import UnsupportedError
from dfmigrate.core.schema import (
    CheckConstraint, Column, ForeignKey, PrimaryKey, Schema, Table, UniqueConstraint, View,
)

# Meaningless on SQLite, dropped silently: comments and privileges do not exist there, and every
# SQLite constraint is "validated".
_IGNORED = (SetComment, GrantPrivilege, RevokePrivilege, ValidateConstraint)
# Table-scoped changes a rebuild absorbs. A RenameTable stays a step of its own, before the
# rebuild, which then works under the new name (its old parts are not removed but renamed).
_ABSORBED = (AlterTable, AddColumn, DropColumn, RenameColumn, AlterColumn,
             AddConstraint, DropConstraint, CreateIndex, DropIndex, CreateTrigger, DropTrigger)
_SUPPORTED = _ABSORBED + (RenameTable, CreateTable, DropTable, CreateView, DropView)


def adapt_changes(changes: list[Change], old: Schema, new: Schema,
                  backfills: Mapping[tuple[str, str, str], str] | None = None) -> list[Change]:
    """``backfills`` ((namespace, table, column) → SQL expression) fill the existing rows of new
    columns: such a column's table is rebuilt, and the copy selects the expression for it (ALTER
    TABLE ADD COLUMN has no way to fill rows)."""
    fills = dict(backfills or {})
    # DROP TABLE takes the table's constraints with it, and SQLite has no ALTER TABLE ... DROP
    # CONSTRAINT: the diff's DropConstraint for a foreign key of a dropped table (emitted so that
    # PostgreSQL drops the key before the table it references) has nothing to do here.
    dropped = {c.table.name for c in changes if isinstance(c, DropTable)}
    kept = [c for c in changes if _keep(c)
            and not (isinstance(c, DropConstraint) and c.table in dropped)]
    kept = _fold_into_created_tables(kept)
    renames = {c.new.name: c.old.name for c in kept if isinstance(c, RenameTable)}
    renamed_to = {o: n for n, o in renames.items()}
    skip = {c.table.name for c in kept if isinstance(c, (CreateTable, DropTable))}
    rebuild: set[str] = set()
    for c in kept:
        table = _table_of(c, renamed_to, new)
        if table and table not in skip and (_needs_rebuild(c, old, new, renames.get(table, table))
                                            or _backfilled(c, fills)):
            rebuild.add(table)
    for t in new.tables:  # table options have no ALTER; the diff may not name them
        o = old.table(NAMESPACE, renames.get(t.name, t.name))
        if o and t.name not in skip and (o.strict, o.without_rowid) != (t.strict, t.without_rowid):
            rebuild.add(t.name)
    if not rebuild:
        return kept
    out: list[Change] = []
    for c in kept:
        table = _table_of(c, renamed_to, new)
        if table not in rebuild or not isinstance(c, _ABSORBED):
            out.append(c)
        elif not any(isinstance(x, RebuildTable) and x.new.name == table for x in out):
            out.append(_rebuild(table, kept, old, new, renames, fills))
    rebuilt_old = {renames.get(t, t) for t in rebuild}
    return _recreate_dependent_views(out, rebuilt_old, old, new)


def _keep(change: Change) -> bool:
    if isinstance(change, _IGNORED):
        return False
    if isinstance(change, CreateNamespace) and change.name == NAMESPACE:
        return False
    if isinstance(change, AlterColumn) and change.changes == ColumnChange.COMMENT:
        return False
    if isinstance(change, AlterTable) and change.changes == TableChange.COMMENT:
        return False
    if not isinstance(change, _SUPPORTED):
        raise UnsupportedError(f"SQLite cannot {_describe(change)}")
    return True


def _describe(change: Change) -> str:
    action = re.sub(r"(?<!^)([A-Z])", r" \1", type(change).__name__).lower()
    for f in dataclasses.fields(change):  # type: ignore[arg-type]
        value = getattr(change, f.name)
        name = getattr(value, "name", value if f.name == "name" else None)
        if isinstance(name, str):
            namespace = getattr(value, "namespace", None)
            return f"{action} {namespace}.{name}" if namespace else f"{action} {name}"
    return action


def _table_of(change: Change, renamed_to: dict[str, str], new: Schema) -> str | None:
    """The table a change belongs to, under its new name (drops name a renamed table as it
    was: they run before the rename)."""
    if isinstance(change, (RenameTable, AlterTable)):
        return change.new.name
    if isinstance(change, (CreateTable, DropTable)):
        return change.table.name
    table = getattr(change, "table", None)
    if not isinstance(table, str):
        return None
    return renamed_to[table] if table in renamed_to and new.table(NAMESPACE, table) is None else table


def _fold_into_created_tables(changes: list[Change]) -> list[Change]:
    """SQLite cannot add a constraint (a foreign key above all) to an existing table, so
    constraints on a table created in this plan go inline into its CREATE TABLE. FK cycles are
    fine: SQLite does not check that the referenced table exists at CREATE time."""
    created = {c.table.name: i for i, c in enumerate(changes) if isinstance(c, CreateTable)}
    out = list(changes)
    for c in changes:
        if isinstance(c, AddConstraint) and c.table in created:
            i = created[c.table]
            create = out[i]
            assert isinstance(create, CreateTable)
            out[i] = CreateTable(_with_constraint(create.table, c.constraint))
    return [c for c in out if not (isinstance(c, AddConstraint) and c.table in created)]


def _with_constraint(table: Table, constraint: object) -> Table:
    name = getattr(constraint, "name", "")
    if any(x == constraint or (name and x.name == name) for x in table.constraints):
        return table
    if isinstance(constraint, ForeignKey):
        return dataclasses.replace(table, foreign_keys=table.foreign_keys + (constraint,))
    if isinstance(constraint, CheckConstraint):
        return dataclasses.replace(table, checks=table.checks + (constraint,))
    if isinstance(constraint, UniqueConstraint):
        return dataclasses.replace(table, uniques=table.uniques + (constraint,))
    if isinstance(constraint, PrimaryKey):
        return dataclasses.replace(table, primary_key=constraint)
    raise UnsupportedError(f"SQLite has no {type(constraint).__name__} ({table.name})")


def _needs_rebuild(change: Change, old: Schema, new: Schema, old_name: str) -> bool:
    if isinstance(change, (AlterColumn, AddConstraint, DropConstraint, AlterTable)):
        return True
    if isinstance(change, AddColumn):
        new_table = new.table(NAMESPACE, change.table)
        return new_table is None or not _can_add_column(change.column, new_table)
    if isinstance(change, DropColumn):
        old_table = old.table(NAMESPACE, old_name)
        return old_table is None or not _can_drop_column(change.column.name, old_table, old)
    return False


def _backfilled(change: Change, fills: Mapping[tuple[str, str, str], str]) -> bool:
    return isinstance(change, AddColumn) and (change.namespace, change.table, change.column.name) in fills


def _can_add_column(column: Column, table: Table) -> bool:
    """The restrictions of ALTER TABLE ADD COLUMN on a table that may hold rows."""
    default = column.default
    keyed = column.name in (table.primary_key.columns if table.primary_key else ()) or any(
        column.name in u.columns for u in table.uniques)
    null_default = default is None or default.strip().upper() == "NULL"
    stored = column.generated is not None and column.generated_kind == "STORED"
    return not (keyed or stored or column.identity is not None
                or (not column.nullable and null_default)
                or (default is not None and not is_literal(default)))


def _can_drop_column(name: str, table: Table, schema: Schema) -> bool:
    """ALTER TABLE DROP COLUMN fails when anything in the schema still uses the column."""
    key = {name.lower()}
    keyed = [table.primary_key.columns if table.primary_key else ()]
    keyed += [u.columns for u in table.uniques] + [f.columns for f in table.foreign_keys]
    keyed += [tuple(p.column for p in i.parts if p.column) for i in table.indexes]
    if any(name.lower() in (c.lower() for c in cols) for cols in keyed):
        return False
    texts = [c.expression for c in table.checks]
    texts += [c.generated for c in table.columns if c.generated]
    texts += [p.expression for i in table.indexes for p in i.parts if p.expression]
    texts += [i.where for i in table.indexes if i.where]
    texts += [t.definition for t in table.triggers]
    views = [v.definition for v in _dependent_views(schema, {table.name})]
    # "SELECT *" reads every column: conservatively treat it as using this one.
    return not any(referenced_names(t, key) for t in texts + views if t) and not any(
        "*" in v for v in views)


def _rebuild(table: str, changes: list[Change], old: Schema, new: Schema,
             renames: dict[str, str], fills: Mapping[tuple[str, str, str], str]) -> RebuildTable:
    old_table = old.table(NAMESPACE, renames.get(table, table))
    new_table = new.table(NAMESPACE, table)
    if old_table is None or new_table is None:
        raise UnsupportedError(f"cannot rebuild SQLite table {table}: not in both schemas")
    renamed = {c.new.name: c.old.name for c in changes
               if isinstance(c, RenameColumn) and c.table == table}
    # a renamed table is renamed first (a step of its own): the rebuild finds it under its new name
    old_table = dataclasses.replace(old_table, name=table)
    added = {c.column.name for c in changes if isinstance(c, AddColumn) and c.table == table}
    exprs = {col: fills[(NAMESPACE, table, col)] for col in added if (NAMESPACE, table, col) in fills}
    return RebuildTable(old_table, new_table, column_map(old_table, new_table, renamed, exprs))


def column_map(old: Table, new: Table, renamed: dict[str, str],
               exprs: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """(new column, old column or SQL expression) for every new column whose data comes from
    the old table: RenameColumn changes first, then ``renamed_from`` (as the diff reads it: only
    when the new name is not in the old table, which then already holds the renamed column),
    then the same name, then ``exprs`` (a backfill: an expression over the old table's row).
    Generated columns are computed, never copied."""
    old_names = {c.name for c in old.columns}
    sources: dict[str, str] = {}
    for col in new.columns:
        declared = col.renamed_from if col.name not in old_names else ()
        src = renamed.get(col.name) or next((r for r in declared if r in old_names), None)
        if src in old_names:
            sources[col.name] = src
    consumed = set(sources.values())
    for col in new.columns:
        if col.name not in sources and col.name in old_names and col.name not in consumed:
            sources[col.name] = col.name
    for name, expr in (exprs or {}).items():
        sources.setdefault(name, expr)
    return tuple((c.name, sources[c.name]) for c in new.columns
                 if c.name in sources and c.generated is None)


def _dependent_views(schema: Schema, tables: set[str]) -> list[View]:
    """Views reading any of ``tables``, directly or through other views, in creation order."""
    found: list[View] = []
    names = set(tables)
    changed = True
    while changed:
        changed = False
        for v in schema.views:
            if v not in found and any(r.name in names for r in v.depends_on):
                found.append(v)
                names.add(v.name)
                changed = True
    return found


def _recreate_dependent_views(changes: list[Change], rebuilt_old: set[str], old: Schema,
                              new: Schema) -> list[Change]:
    """Drop every view reading a rebuilt table before the first rebuild and create it again
    (as the new schema has it) after the last one; the final RENAME fails while a view refers
    to a table that does not exist, and ``SELECT *`` views must see the new columns."""
    views = _dependent_views(old, rebuilt_old)
    if not views:
        return changes
    names = {v.name for v in views}
    rebuilds = [i for i, c in enumerate(changes) if isinstance(c, RebuildTable)]
    first, last = rebuilds[0], rebuilds[-1]
    late_creates = {c.view.name for i, c in enumerate(changes)
                    if isinstance(c, CreateView) and c.view.name in names and i > last}
    drops: list[Change] = [DropView(v) for v in reversed(views)]
    creates: list[Change] = []
    for v in views:
        nv = new.view(NAMESPACE, v.name)
        if nv is not None and v.name not in late_creates:  # DROP VIEW took its triggers too
            creates += [CreateView(nv), *(CreateTrigger(NAMESPACE, nv.name, t) for t in nv.triggers)]
    redone = {c.view.name for c in creates if isinstance(c, CreateView)}
    out: list[Change] = []
    for i, c in enumerate(changes):
        if isinstance(c, DropView) and c.view.name in names:
            continue
        if isinstance(c, CreateView) and c.view.name in redone:
            continue
        if isinstance(c, (CreateTrigger, DropTrigger)) and c.table in redone:
            continue
        if i == first:
            out.extend(drops)
        out.append(c)
        if i == last:
            out.extend(creates)
    return out


def settle(ordered: list[Change], old: Schema, new: Schema) -> list[Change]:
    """After ordering, nothing to regroup on SQLite (MySQL merges column changes here)."""
    return ordered

"""Turn generic changes into changes MySQL executes, and settle the order MySQL needs.

Before ordering (:func:`adapt_changes`):
- what MySQL has no notion of is dropped: grants (not read), the ``main`` namespace, comments
  on constraints and triggers, ``VALIDATE CONSTRAINT`` (MySQL checks rows when it adds one);
- a new table's indexes go inline into its ``CREATE TABLE`` (no second pass over the table);
- several changes of one column are one ``MODIFY COLUMN``; a generated column whose expression
  or kind changes is dropped and added again (neither MySQL nor MariaDB alters one in place);
- a comment change on an index is a drop and re-create (MySQL cannot alter an index).

After ordering (:func:`settle`): an added column gets its place (``AFTER``), so the table ends
up in the declared order; and within one table, a foreign key is added after the indexes
created for it (else MySQL makes a second, implicit one) and dropped before an index it uses;
an added column comes after the column it is placed after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dfmigrate.core.changes import (
    AddColumn, AddConstraint, AlterColumn, Change, ColumnChange, CreateIndex, CreateNamespace,
    CreateTable, DropColumn, DropConstraint, DropIndex, DropNamespace, GrantPrivilege, RenameColumn,
    RenameTable, RevokePrivilege, SetComment, ValidateConstraint,
)
from dfmigrate.core.deps import index_ref
from dfmigrate.dialects.mysql import NAMESPACE
from dfmigrate.dialects.mysql.render import PlacedAddColumn, TableAlterColumn, TableDropColumn
from dfmigrate.errors import UnsupportedError
from dfmigrate.core.schema import ForeignKey, Schema, Table

_IGNORED = (GrantPrivilege, RevokePrivilege, ValidateConstraint)


def adapt_changes(changes: list[Change], old: Schema, new: Schema,
                  backfills: Mapping[tuple[str, str, str], str] | None = None) -> list[Change]:
    if backfills:
        raise UnsupportedError("MySQL: dfmigrate has no backfill form (give the new column a default)")
    created = {c.table.name for c in changes if isinstance(c, CreateTable)}
    out = _index_comments(changes, old, new)
    for c in changes:
        if isinstance(c, _IGNORED):
            continue
        if isinstance(c, (CreateNamespace, DropNamespace)):
            if c.name != NAMESPACE:
                raise UnsupportedError(f"MySQL has one namespace per database: cannot create or drop {c.name}")
            continue
        if isinstance(c, SetComment):
            continue  # indexes: above; constraints and triggers have no comments in MySQL
        if isinstance(c, CreateIndex) and c.table in created:
            continue  # inline in CREATE TABLE
        out.append(c)
    return _merge_column_changes(out)


def _index_comments(changes: list[Change], old: Schema, new: Schema) -> list[Change]:
    """A drop and re-create of each index whose comment alone changed, read from the schemas,
    each table with its old self (renamed tables included). The comment change names the
    index by its table as it will be (``deps.index_ref``)."""
    refs = {c.target for c in changes if isinstance(c, SetComment) and c.target.kind == "index"}
    renamed = {c.new.name: c.old for c in changes if isinstance(c, RenameTable)}
    out: list[Change] = []
    for table in new.tables if refs else ():
        before = renamed.get(table.name) or old.table(table.namespace, table.name)
        if before is None:
            continue
        was = {i.name: i for i in before.indexes}
        for index in table.indexes:
            prior = was.get(index.name)
            if index_ref(new.dialect, table.namespace, table.name, index.name) not in refs:
                continue
            if prior is not None and prior != index and replace(prior, comment=index.comment) == index:
                out += [DropIndex(table.namespace, before.name, prior), CreateIndex(table.namespace, table.name, index)]
    return out


def _placed(c: AddColumn, new: Schema, before: Table | None) -> PlacedAddColumn:
    table = new.table(c.namespace, c.table)
    names = [col.name for col in table.columns] if table else []
    i = names.index(c.column.name) if c.column.name in names else len(names)
    # appended: a position clause would make MySQL reorder (and copy) the table
    return PlacedAddColumn(c.namespace, c.table, c.column, names[i - 1] if i > 0 else None,
                           appended=i >= len(names) - 1, before=before)


def _merge_column_changes(changes: list[Change]) -> list[Change]:
    """One AlterColumn per column: each renders the whole new definition anyway."""
    first: dict[tuple[str, str], int] = {}
    out: list[Change] = []
    for c in changes:
        if isinstance(c, AlterColumn):
            key = (c.table, c.new.name)
            if key in first:
                prev = out[first[key]]
                assert isinstance(prev, AlterColumn)
                out[first[key]] = replace(prev, new=c.new, changes=prev.changes | c.changes)
                continue
            first[key] = len(out)
        out.append(c)
    regenerated: list[Change] = []
    for c in out:
        if isinstance(c, AlterColumn) and c.changes & ColumnChange.GENERATED and c.old.generated and c.new.generated:
            regenerated += [DropColumn(c.namespace, c.table, c.old), AddColumn(c.namespace, c.table, c.new)]
        else:
            regenerated.append(c)
    return regenerated


# ---------------------------------------------------------------- after ordering


def settle(ordered: list[Change], old: Schema, new: Schema) -> list[Change]:
    renamed = {c.new.name: c.old for c in ordered if isinstance(c, RenameTable)}
    def before(table: str) -> Table | None:  # noqa: E306
        return renamed.get(table) or old.table(NAMESPACE, table)
    out = [_placed(c, new, before(c.table)) if isinstance(c, AddColumn)
           else TableDropColumn(c.namespace, c.table, c.column, before(c.table)) if isinstance(c, DropColumn)
           else TableAlterColumn(**{f: getattr(c, f) for f in ("namespace", "table", "old", "new", "changes", "using")},
                                 before=before(c.table), after=new.table(NAMESPACE, c.table))
           if isinstance(c, AlterColumn)
           else c for c in ordered]
    moved = True
    while moved:
        moved = _settle_once(out)
    return out


def _settle_once(out: list[Change]) -> bool:
    for i, c in enumerate(out):
        if isinstance(c, PlacedAddColumn) and c.after and not c.appended:
            j = _last(out, lambda x, c=c: (isinstance(x, AddColumn) and x.table == c.table and x.column.name == c.after)
                      or (isinstance(x, RenameColumn) and x.table == c.table and x.new.name == c.after))
            if j is not None and j > i:
                out.insert(j, out.pop(i))
                return True
        if isinstance(c, AddConstraint) and isinstance(c.constraint, ForeignKey):
            j = _last(out, lambda x, c=c: isinstance(x, CreateIndex) and x.table == c.table)
            if j is not None and j > i:
                out.insert(j, out.pop(i))
                return True
        if isinstance(c, DropConstraint) and isinstance(c.constraint, ForeignKey):
            j = _first(out, lambda x, c=c: isinstance(x, DropIndex) and x.table == c.table)
            if j is not None and j < i:
                out.insert(j, out.pop(i))
                return True
    return False


def _last(items: list[Change], match) -> int | None:  # type: ignore[no-untyped-def]
    found = [i for i, x in enumerate(items) if match(x)]
    return found[-1] if found else None


def _first(items: list[Change], match) -> int | None:  # type: ignore[no-untyped-def]
    return next((i for i, x in enumerate(items) if match(x)), None)

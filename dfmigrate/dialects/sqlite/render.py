"""SQLite SQL for adapted changes (run ``adapt.adapt_changes`` first).

Model text (types, defaults, expressions, view and trigger bodies) is written verbatim, a named
constraint with ``CONSTRAINT name`` and an unnamed one without, so re-inspecting the result gives
back the model.

Foreign keys and rebuilds: ``DROP TABLE`` inside a rebuild runs an implicit ``DELETE``, which
fires ``ON DELETE CASCADE / SET NULL`` in child tables whenever ``PRAGMA foreign_keys`` is on.
``PRAGMA defer_foreign_keys`` does not help (it defers violation checks, not actions: the
children are deleted), and ``PRAGMA foreign_keys`` is a no-op inside a transaction. So a plan
with a rebuild is wrapped by :func:`with_foreign_key_guard` in ``PRAGMA foreign_keys=OFF`` /
``=ON`` statements marked ``transactional=False``: the runner must execute them outside its
transaction. ``PRAGMA foreign_key_check`` statements return the violating rows; the runner must
treat any row as a failure and roll back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dfmigrate.core.changes import (
    AddColumn, Change, CreateIndex, CreateTable, CreateTrigger, CreateView, DropColumn,
    DropIndex, DropTable, DropTrigger, DropView, RebuildTable, RenameColumn, RenameTable,
)
from dfmigrate.dialects import dispatch, referential_actions, script
from dfmigrate.dialects.sqlite import NAMESPACE
from dfmigrate.dialects.sqlite.ddl import is_bare_default
from dfmigrate.dialects.sqlite.quote import quote_ident, quote_list, quote_literal
from dfmigrate.errors import UnsupportedError
from dfmigrate.core.schema import Column, ForeignKey, Index, PrimaryKey, Table, UniqueConstraint
from dfmigrate.core.statement import Hazard, Statement

FOREIGN_KEYS_OFF = "PRAGMA foreign_keys=OFF"
FOREIGN_KEYS_ON = "PRAGMA foreign_keys=ON"
FOREIGN_KEY_CHECK = "PRAGMA foreign_key_check"
REBUILD_PREFIX = "_dfm_new_"


def render_change(change: Change) -> list[Statement]:
    return dispatch(RENDERERS, change, "SQLite")


def with_foreign_key_guard(statements: list[Statement]) -> list[Statement]:
    """Wrap a plan containing a rebuild in foreign_keys OFF/ON (see the module docstring).

    So is a plan that drops two tables one of which references the other: with foreign keys on,
    ``DROP TABLE parent`` runs an implicit ``DELETE`` that fails while the child (dropped later,
    or earlier: nothing orders two drops by their foreign keys) still holds referencing rows."""
    if not statements or statements[0].sql == FOREIGN_KEYS_OFF:
        return list(statements)
    cause = next((s.source for s in statements if isinstance(s.source, RebuildTable)), None)
    if cause is None:
        drops = [s.source for s in statements if isinstance(s.source, DropTable)]
        dropped = {d.table.name for d in drops}
        cause = next((d for d in drops for fk in d.table.foreign_keys
                      if fk.ref_table != d.table.name and fk.ref_table in dropped), None)
    if cause is None:
        return list(statements)
    why = ("a rebuild must not fire FK actions" if isinstance(cause, RebuildTable)
           else "dropping a referenced table must not check or fire FK actions")
    return [
        Statement(FOREIGN_KEYS_OFF, cause, transactional=False,
                  comment=f"run outside the transaction: {why}", kind="pragma"),
        *statements,
        Statement(FOREIGN_KEY_CHECK, cause, comment="must return no rows", kind="foreign-key-check"),
        Statement(FOREIGN_KEYS_ON, cause, transactional=False, kind="pragma"),
    ]


def finish(statements: list[Statement]) -> list[Statement]:
    """The rendered plan as the runner receives it: with the foreign_keys OFF/ON steps a table rebuild needs
    (the runner must see them as steps, not only ``sql()``)."""
    return with_foreign_key_guard(statements)


def render_script(statements: list[Statement]) -> str:
    return script(with_foreign_key_guard(statements))


# ---------------------------------------------------------------- tables


def table_sql(table: Table, name: str | None = None) -> str:
    """CREATE TABLE as the model declares it, in the model's column order; a constraint with a
    name is written ``CONSTRAINT name``, one without stays unnamed."""
    _check_table(table)
    auto = next((c.name for c in table.columns if c.autoincrement), None)
    items = [column_sql(c, table) for c in table.columns]
    if table.primary_key and auto is None:
        items.append(f"{_named(table.primary_key.name)}PRIMARY KEY "
                     f"({quote_list(table.primary_key.columns)}){_on_conflict(table.primary_key)}")
    items += [f"{_named(u.name)}UNIQUE ({quote_list(u.columns)}){_on_conflict(u)}"
              for u in table.uniques]
    items += [f"{_named(c.name)}CHECK ({c.expression})" for c in table.checks]
    items += [_foreign_key_sql(fk) for fk in table.foreign_keys]
    options = [o for o, on in (("WITHOUT ROWID", table.without_rowid), ("STRICT", table.strict))
               if on]
    body = ",\n  ".join(items)
    tail = " " + ", ".join(options) if options else ""
    return f"CREATE TABLE {quote_ident(name or table.name)} (\n  {body}\n){tail}"


def _named(name: str) -> str:
    return f"CONSTRAINT {quote_ident(name)} " if name else ""


def _on_conflict(key: PrimaryKey | UniqueConstraint) -> str:
    return f" ON CONFLICT {key.on_conflict}" if key.on_conflict else ""


def _check_table(table: Table) -> None:
    keys = [table.primary_key] if table.primary_key else []
    if table.exclusions or any(k.deferrable for k in keys + list(table.uniques)) or any(
            u.include or u.nulls_not_distinct for u in table.uniques):
        raise UnsupportedError(f"SQLite table {table.name}: exclusion constraints, deferrable "
                               "keys, INCLUDE and NULLS NOT DISTINCT are not supported")
    if table.partition_by or table.partition_of or table.inherits or table.unlogged:
        raise UnsupportedError(f"SQLite table {table.name}: partitioning, inheritance and "
                               "UNLOGGED are not supported")


def column_sql(column: Column, table: Table | None = None) -> str:
    if column.identity is not None:
        raise UnsupportedError(f"SQLite column {column.name}: identity columns are not supported "
                               "(use INTEGER PRIMARY KEY)")
    parts = [quote_ident(column.name)] + ([column.type] if column.type else [])
    if column.autoincrement:
        if table is None or table.primary_key is None or table.primary_key.columns != (column.name,):
            raise UnsupportedError(f"SQLite column {column.name}: AUTOINCREMENT needs it to be "
                                   "the whole primary key")
        parts.append(f"{_named(table.primary_key.name)}PRIMARY KEY"
                     f"{_on_conflict(table.primary_key)} AUTOINCREMENT")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None:
        bare = is_bare_default(column.default)
        parts.append(f"DEFAULT {column.default}" if bare else f"DEFAULT ({column.default})")
    if column.collation:
        parts.append(f"COLLATE {quote_ident(column.collation)}")
    if column.generated:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) {column.generated_kind}")
    return " ".join(parts)


def _foreign_key_sql(fk: ForeignKey) -> str:
    if fk.ref_namespace != NAMESPACE:
        raise UnsupportedError(f"SQLite foreign key {fk.name}: references {fk.ref_namespace}")
    # no column list: the parent's primary key
    columns = f" ({quote_list(fk.ref_columns)})" if fk.ref_columns else ""
    sql = (f"{_named(fk.name)}FOREIGN KEY ({quote_list(fk.columns)}) "
           f"REFERENCES {quote_ident(fk.ref_table)}{columns}")
    sql += referential_actions(fk)
    if fk.deferrable:
        sql += " DEFERRABLE INITIALLY " + ("DEFERRED" if fk.initially_deferred else "IMMEDIATE")
    return sql


def _create_table(c: CreateTable) -> list[Statement]:
    return [Statement(table_sql(c.table), c)]


def _drop_table(c: DropTable) -> list[Statement]:
    # what it risks is the change's, not the dialect's: the running release reads the table too
    return [Statement(f"DROP TABLE {quote_ident(c.table.name)}", c, (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS),
                      reverse=(table_sql(c.table),))]


def _rename_table(c: RenameTable) -> list[Statement]:
    old, new = quote_ident(c.old.name), quote_ident(c.new.name)
    if c.old.name.lower() != c.new.name.lower():
        return [Statement(f"ALTER TABLE {old} RENAME TO {new}", c, (Hazard.BREAKS_CLIENTS,))]
    # SQLite refuses a new name equal to the old one but for case ("already exists"): go
    # through a temporary name. legacy_alter_table leaves views, other tables' triggers and
    # foreign keys as they are: they name the table in any case and still find it.
    tmp = quote_ident(REBUILD_PREFIX + c.new.name)
    return [Statement("PRAGMA legacy_alter_table=ON", c,
                      comment=f"a change of case: {c.old.name} to {c.new.name} in two steps"),
            Statement(f"ALTER TABLE {old} RENAME TO {tmp}", c, (Hazard.BREAKS_CLIENTS,)),
            Statement(f"ALTER TABLE {tmp} RENAME TO {new}", c),
            Statement("PRAGMA legacy_alter_table=OFF", c)]


def _add_column(c: AddColumn) -> list[Statement]:
    return [Statement(f"ALTER TABLE {quote_ident(c.table)} ADD COLUMN {column_sql(c.column)}", c)]


def _drop_column(c: DropColumn) -> list[Statement]:
    return [Statement(f"ALTER TABLE {quote_ident(c.table)} DROP COLUMN {quote_ident(c.column.name)}",
                      c, (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS))]


def _rename_column(c: RenameColumn) -> list[Statement]:
    return [Statement(f"ALTER TABLE {quote_ident(c.table)} RENAME COLUMN "
                      f"{quote_ident(c.old.name)} TO {quote_ident(c.new.name)}",
                      c, (Hazard.BREAKS_CLIENTS,))]


def fill_nulls(source: Change, table: str, column: str, expression: str) -> Statement:
    """A backfill run again (expand and contract): the rows of ``column`` still NULL get
    ``expression``. One UPDATE: SQLite has one writer at a time, and no batching would let
    another in sooner."""
    col = quote_ident(column)
    return Statement(f"UPDATE {quote_ident(table)} SET {col} = {expression} WHERE {col} IS NULL", source,
                     (Hazard.UPDATES_ROWS,), kind="backfill")


# ---------------------------------------------------------------- indexes, views, triggers


def index_sql(table: str, index: Index) -> str:
    if index.method != "btree" or index.include or index.options or index.nulls_not_distinct or any(
            p.opclass or p.nulls_first is not None for p in index.parts):
        raise UnsupportedError(f"SQLite index {index.name}: only plain b-tree indexes are supported")
    parts = []
    for p in index.parts:
        text = quote_ident(p.column) if p.column else str(p.expression)
        text += f" COLLATE {quote_ident(p.collation)}" if p.collation else ""
        parts.append(text + (" DESC" if p.descending else ""))
    sql = (f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {quote_ident(index.name)} "
           f"ON {quote_ident(table)} ({', '.join(parts)})")
    return sql + (f" WHERE {index.where}" if index.where else "")


def _create_index(c: CreateIndex) -> list[Statement]:
    return [Statement(index_sql(c.table, c.index), c, (Hazard.INDEX_BUILD,))]


def _drop_index(c: DropIndex) -> list[Statement]:
    return [Statement(f"DROP INDEX {quote_ident(c.index.name)}", c, (Hazard.INDEX_DROPPED,))]


def _create_view(c: CreateView) -> list[Statement]:
    if c.view.materialized:
        raise UnsupportedError(f"SQLite has no materialized views ({c.view.name})")
    # The column list keeps names a view declared explicitly ("CREATE VIEW v (a, b) AS").
    columns = f" ({quote_list(c.view.columns)})" if c.view.columns else ""
    return [Statement(f"CREATE VIEW {quote_ident(c.view.name)}{columns} AS {c.view.definition}", c)]


def _drop_view(c: DropView) -> list[Statement]:
    return [Statement(f"DROP VIEW {quote_ident(c.view.name)}", c)]


def _create_trigger(c: CreateTrigger) -> list[Statement]:
    return [Statement(c.trigger.definition, c)]


def _drop_trigger(c: DropTrigger) -> list[Statement]:
    return [Statement(f"DROP TRIGGER {quote_ident(c.trigger.name)}", c)]


# ---------------------------------------------------------------- rebuild


def _rebuild_table(c: RebuildTable) -> list[Statement]:
    """https://www.sqlite.org/lang_altertable.html#otheralter, steps 4-10 (the caller provides
    foreign_keys=OFF, the transaction and the dependent views)."""
    old, new = quote_ident(c.old.name), quote_ident(c.new.name)
    tmp = quote_ident(REBUILD_PREFIX + c.new.name)
    mapped = {o for _, o in c.column_map}
    lost = [col.name for col in c.old.columns if col.name not in mapped and not col.generated]
    hazards = (Hazard.TABLE_REWRITE,) + ((Hazard.DELETES_DATA,) if lost else ())
    out = [Statement(table_sql(c.new, REBUILD_PREFIX + c.new.name), c, hazards,
                     comment=f"rebuild {c.new.name}" + (f" (drops {', '.join(lost)})" if lost else ""))]
    if c.column_map:
        old_names = {col.name for col in c.old.columns}
        targets = quote_list([n for n, _ in c.column_map])
        sources = ", ".join(quote_ident(o) if o in old_names else o for _, o in c.column_map)
        out.append(Statement(f"INSERT INTO {tmp} ({targets}) SELECT {sources} FROM {old}", c))
    if any(col.autoincrement for col in c.old.columns) and any(
            col.autoincrement for col in c.new.columns):
        # Keep AUTOINCREMENT's promise never to reuse an id, even ids of deleted rows.
        seq_name = quote_literal(REBUILD_PREFIX + c.new.name)
        out += [Statement(f"DELETE FROM sqlite_sequence WHERE name = {seq_name}", c),
                Statement(f"INSERT INTO sqlite_sequence (name, seq) SELECT {seq_name}, seq"
                          f" FROM sqlite_sequence WHERE name = {quote_literal(c.old.name)}", c)]
    # legacy_alter_table: the RENAME must not re-resolve triggers of *other* tables that name
    # this table (they fail with "no such table" while it is gone); they keep working by name.
    out += [Statement(f"DROP TABLE {old}", c),
            Statement("PRAGMA legacy_alter_table=ON", c),
            Statement(f"ALTER TABLE {tmp} RENAME TO {new}", c),
            Statement("PRAGMA legacy_alter_table=OFF", c)]
    out += [Statement(index_sql(c.new.name, i), c, (Hazard.INDEX_BUILD,)) for i in c.new.indexes]
    out += [Statement(t.definition, c) for t in c.new.triggers]
    out.append(Statement(f"{FOREIGN_KEY_CHECK}({new})", c, comment="must return no rows"))
    return out


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    CreateTable: _create_table,
    DropTable: _drop_table,
    RenameTable: _rename_table,
    AddColumn: _add_column,
    DropColumn: _drop_column,
    RenameColumn: _rename_column,
    CreateIndex: _create_index,
    DropIndex: _drop_index,
    CreateView: _create_view,
    DropView: _drop_view,
    CreateTrigger: _create_trigger,
    DropTrigger: _drop_trigger,
    RebuildTable: _rebuild_table,
}

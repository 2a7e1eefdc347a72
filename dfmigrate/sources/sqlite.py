"""Live SQLite database -> Schema.

Pragmas are authoritative for what they expose (columns, types, NOT NULL, defaults, primary-key
order, foreign-key actions, generated-column kind); the stored CREATE text is read for the rest
(constraint names, CHECKs, collations, AUTOINCREMENT, generated expressions, WITHOUT ROWID,
STRICT, index expressions). Normalization rules: ``dfmigrate.dialects.sqlite``.

A path that does not exist is an empty database (it is typically a migration target that is
about to be created), not an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import urllib.parse

import sqlglot

from dfmigrate.dialects.sqlite import (
    NAMESPACE,
    constraint_key,
    normalize_collation,
    declared_type,
)
from dfmigrate.dialects.sqlite.ddl import (
    ConstraintDDL,
    TableDDL,
    canonical_expression,
    parse_create_index,
    parse_create_table,
    referenced_names,
    view_columns,
    view_select,
)
from dfmigrate.errors import SourceError, UnsupportedError
from dfmigrate.core.schema import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    Ref,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dfmigrate.sources import _view_reads

_HIDDEN_VIRTUAL, _HIDDEN_STORED = 2, 3  # pragma_table_xinfo.hidden for generated columns


async def inspect_sqlite(path: str) -> Schema:
    if path == ":memory:" or not os.path.exists(path):
        return Schema(dialect="sqlite", namespaces=(NAMESPACE,))
    return await asyncio.to_thread(_inspect_file, path)


def _inspect_file(path: str) -> Schema:
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise SourceError(f"cannot open SQLite database {path}: {e}") from None
    try:
        return inspect_sqlite_connection(conn)
    except sqlite3.DatabaseError as e:  # e.g. "file is not a database"
        raise SourceError(f"cannot read SQLite database {path}: {e}") from None
    finally:
        conn.close()


def inspect_sqlite_connection(conn: sqlite3.Connection) -> Schema:
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master"
        " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    objects = {(kind, name): (tbl, sql) for kind, name, tbl, sql in rows}
    table_names = {n for (k, n) in objects if k == "table"}
    view_names = {n for (k, n) in objects if k == "view"}
    # SQLite folds ASCII case in names: a reference spelled otherwise still names the table.
    declared = {n.lower(): n for n in table_names}
    tables = [
        _table(conn, name, sql, objects, declared) for (kind, name), (_, sql) in objects.items()
        if kind == "table"
    ]
    tables = _cased_references(tables)
    views = [
        _view(name, sql, table_names, view_names, _triggers(name, objects))
        for (kind, name), (_, sql) in objects.items() if kind == "view"
    ]
    return Schema(dialect="sqlite", namespaces=(NAMESPACE,), tables=tuple(tables),
                  views=tuple(views))


def _table(conn: sqlite3.Connection, name: str, sql: str,
           objects: dict[tuple[str, str], tuple[str, str]], declared: dict[str, str]) -> Table:
    if sql.upper().startswith("CREATE VIRTUAL"):
        raise UnsupportedError(f"SQLite virtual table {name} is not supported")
    try:
        ddl = parse_create_table(sql)
    except (ValueError, StopIteration, IndexError, sqlglot.errors.SqlglotError) as e:
        raise SourceError(f"cannot read the definition of SQLite table {name}: {e}") from None
    rows = conn.execute(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?, ?)'
        " ORDER BY cid", (name, NAMESPACE)).fetchall()
    column_names = {r[0].lower() for r in rows}
    pk_cols = tuple(r[0] for r in sorted((r for r in rows if r[4]), key=lambda r: r[4]))
    columns = []
    for col_name, col_type, notnull, default, _pk, hidden in rows:
        if hidden == 1:  # hidden columns of virtual tables
            continue
        info = ddl.columns.get(col_name.lower())
        generated = info.generated if info and hidden in (_HIDDEN_VIRTUAL, _HIDDEN_STORED) else None
        columns.append(Column(
            name=col_name,
            type=declared_type(col_type or ""),
            nullable=not notnull,
            default=default,
            generated=canonical_expression(generated, column_names) if generated else None,
            generated_kind="VIRTUAL" if generated and hidden == _HIDDEN_VIRTUAL else "STORED",
            collation=normalize_collation(info.collation if info else None),
            autoincrement=bool(info and info.autoincrement),
        ))
    pk, uniques, checks, fks = _constraints(conn, name, ddl, pk_cols, column_names, declared)
    return Table(
        namespace=NAMESPACE, name=name, columns=tuple(columns), primary_key=pk,
        uniques=uniques, checks=checks, foreign_keys=fks,
        indexes=_indexes(name, columns, objects),
        triggers=_triggers(name, objects),
        without_rowid=ddl.without_rowid, strict=ddl.strict,
    )


def _constraints(conn: sqlite3.Connection, table: str, ddl: TableDDL, pk_cols: tuple[str, ...],
                 column_names: set[str], declared: dict[str, str]) -> tuple[
        PrimaryKey | None, tuple[UniqueConstraint, ...], tuple[CheckConstraint, ...],
        tuple[ForeignKey, ...]]:
    """Constraints as declared: an unnamed one keeps the empty name (see ``dfmigrate.core.schema``),
    and column lists use the columns' declared spelling."""
    pk: PrimaryKey | None = None
    uniques, checks = [], []
    fk_names: dict[tuple[tuple[str, ...], str], list[ConstraintDDL]] = {}
    for c in ddl.constraints:
        if c.kind == "pk":
            pk = PrimaryKey(c.name or "", pk_cols, on_conflict=c.on_conflict)
        elif c.kind == "unique":
            uniques.append(UniqueConstraint(c.name or "", _cased(c.columns, ddl),
                                            on_conflict=c.on_conflict))
        elif c.kind == "check":
            assert c.expression is not None
            checks.append(CheckConstraint(c.name or "",
                                          canonical_expression(c.expression, column_names)))
        else:
            key = (tuple(x.lower() for x in c.columns), (c.ref_table or "").lower())
            fk_names.setdefault(key, []).append(c)
    fks = _foreign_keys(conn, table, fk_names, ddl, declared)
    return (pk, tuple(sorted(uniques, key=constraint_key)),
            tuple(sorted(checks, key=constraint_key)), fks)


def _cased(cols: tuple[str, ...], ddl: TableDDL) -> tuple[str, ...]:
    """Column names as declared (the lookup keys are lower-cased)."""
    return tuple(ddl.columns[c.lower()].name if c.lower() in ddl.columns else c for c in cols)


def _foreign_keys(conn: sqlite3.Connection, table: str,
                  declared_fks: dict[tuple[tuple[str, ...], str], list[ConstraintDDL]],
                  ddl: TableDDL, declared: dict[str, str]) -> tuple[ForeignKey, ...]:
    rows = conn.execute(
        'SELECT id, seq, "table", "from", "to", on_update, on_delete'
        " FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq", (table, NAMESPACE)).fetchall()
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    fks = []
    for parts in grouped.values():
        columns = _cased(tuple(p[3] for p in parts), ddl)
        ref_table = declared.get(parts[0][2].lower(), parts[0][2])
        # REFERENCES parent without columns (its primary key, whatever that becomes) stays so
        ref_columns = tuple(p[4] for p in parts if p[4] is not None)
        candidates = declared_fks.get((tuple(c.lower() for c in columns), ref_table.lower()), [])
        found = candidates.pop(0) if candidates else ConstraintDDL("fk")
        fks.append(ForeignKey(
            name=found.name or "", columns=columns, ref_namespace=NAMESPACE,
            ref_table=ref_table, ref_columns=ref_columns,
            on_delete=parts[0][6], on_update=parts[0][5],
            deferrable=found.deferrable, initially_deferred=found.initially_deferred,
        ))
    return tuple(sorted(fks, key=constraint_key))


def _cased_references(tables: list[Table]) -> list[Table]:
    """Referenced columns in their declared spelling (``REFERENCES t (ID)`` names ``t.id``)."""
    by_name = {t.name: {c.name.lower(): c.name for c in t.columns} for t in tables}
    out = []
    for t in tables:
        fks = tuple(dataclasses.replace(fk, ref_columns=tuple(
            by_name.get(fk.ref_table, {}).get(c.lower(), c) for c in fk.ref_columns))
            for fk in t.foreign_keys)
        out.append(dataclasses.replace(t, foreign_keys=fks) if fks != t.foreign_keys else t)
    return out


def _indexes(table: str, columns: list[Column],
             objects: dict[tuple[str, str], tuple[str, str]]) -> tuple[Index, ...]:
    by_name = {c.name.lower(): c for c in columns}
    indexes = []
    for (kind, name), (tbl, sql) in objects.items():
        if kind != "index" or tbl != table or sql is None:  # sql is NULL for constraint indexes
            continue
        try:
            parts_ddl, where = parse_create_index(sql)
        except (ValueError, StopIteration, IndexError, sqlglot.errors.SqlglotError) as e:
            raise SourceError(f"cannot read the definition of SQLite index {name}: {e}") from None
        parts = []
        for p in parts_ddl:
            column = by_name.get(p.column.lower()) if p.column else None
            # kept as declared, so a rebuild writes the index the way the schema spells it;
            # BINARY stays when it overrides the column's collation (it is not the default then)
            collation = normalize_collation(p.collation)
            if collation is None and p.collation and column is not None and column.collation:
                collation = "BINARY"
            parts.append(IndexPart(
                column=column.name if column else p.column,
                expression=canonical_expression(p.expression, set(by_name)) if p.expression else None,
                descending=p.descending, collation=collation))
        unique = sql.split("(", 1)[0].upper().split()[1] == "UNIQUE"
        indexes.append(Index(
            name=name, parts=tuple(parts), unique=unique,
            where=canonical_expression(where, set(by_name)) if where else None))
    return tuple(sorted(indexes, key=lambda i: i.name))


def _triggers(relation: str, objects: dict[tuple[str, str], tuple[str, str]]
              ) -> tuple[Trigger, ...]:
    """Triggers on a table, or INSTEAD OF triggers on a view; the definition is the CREATE text.
    A trigger's ``tbl_name`` is the table as its ON clause spells it."""
    return tuple(sorted((Trigger(n, sql) for (k, n), (t, sql) in objects.items()
                         if k == "trigger" and t.lower() == relation.lower()),
                        key=lambda t: t.name))


def _view(name: str, sql: str, tables: set[str],
          views: set[str], triggers: tuple[Trigger, ...]) -> View:
    definition = view_select(sql)
    columns = view_columns(sql)
    return View(namespace=NAMESPACE, name=name, definition=definition, columns=columns,
                depends_on=view_dependencies(definition, tables, views), triggers=triggers)


def view_dependencies(query: str, tables: set[str], views: set[str]) -> tuple[Ref, ...]:
    """Tables and views a query reads (names compare case-insensitively); text sqlglot cannot
    parse is scanned for every identifier naming a relation."""
    return _view_reads.view_dependencies(query, tables, views, namespace=NAMESPACE, read="sqlite",
                                         fold=str.lower, fallback=referenced_names)

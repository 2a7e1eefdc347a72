"""Live MySQL or MariaDB database -> Schema.

The catalog is read in a handful of batched ``information_schema`` queries (tables, columns,
indexes, foreign keys, checks, views, triggers); ``SHOW CREATE TABLE`` only for partitioned
tables (the catalog lists partitions, not the clause that made them), and one ``SELECT`` per
MariaDB sequence (its options live in the sequence itself). Normalization rules:
``dfmigrate.dialects.mysql``.

MariaDB differs from MySQL, and each difference is handled here by name:
- ``JSON`` is an alias of ``LONGTEXT`` with a ``json_valid()`` column check: read back as json;
- ``CHECK_CONSTRAINTS`` has the table name and the check's level (a column-level check is named
  after its column, so names repeat across tables); MySQL's needs ``TABLE_CONSTRAINTS``;
- ``COLUMN_DEFAULT`` is SQL text (quoted strings, ``NULL`` for a NULL default); MySQL prints
  literals bare and flags expressions with ``DEFAULT_GENERATED``;
- sequences exist (``TABLE_TYPE = 'SEQUENCE'``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from dfmigrate.dialects.mysql import NAMESPACE, is_text_type, normalize_now, normalize_type
from dfmigrate.dialects.mysql.connect import connect, connect_kwargs
from dfmigrate.dialects.mysql.quote import quote_ident, quote_literal
from dfmigrate.errors import SourceError, UnsupportedError
from dfmigrate.core.schema import (
    CheckConstraint, Column, ForeignKey, Index, IndexPart, PrimaryKey, Ref, Schema, Sequence,
    SequenceOptions, Table, Trigger, View,
)
from dfmigrate.sources import _view_reads
from dfmigrate.urls import mask

_TABLES = """SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT
FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME"""
_COLUMNS = """SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT, DATA_TYPE
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION"""
_INDEXES = """SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"""
_FOREIGN_KEYS = """SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = %s AND r.CONSTRAINT_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"""
_CHECKS_MARIADB = """SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL
FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s"""
_CHECKS_MYSQL = """SELECT t.TABLE_NAME, t.CONSTRAINT_NAME, c.CHECK_CLAUSE, 'Table' AS LEVEL
FROM information_schema.TABLE_CONSTRAINTS t
JOIN information_schema.CHECK_CONSTRAINTS c
  ON c.CONSTRAINT_NAME = t.CONSTRAINT_NAME
WHERE t.TABLE_SCHEMA = %s AND c.CONSTRAINT_SCHEMA = %s AND t.CONSTRAINT_TYPE = 'CHECK'"""
_VIEWS = """SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, ALGORITHM
FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME"""
_TRIGGERS = """SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION,
ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s AND EVENT_OBJECT_SCHEMA = %s
ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER"""
_SERVER = """SELECT VERSION() AS version, @@default_storage_engine AS engine,
(SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s) AS collation"""

_FK_RULE = {"RESTRICT": "NO ACTION"}  # the same in InnoDB; MariaDB reports the default as RESTRICT
_ON_UPDATE = re.compile(r"on update (\w+(?:\(\d*\))?)", re.IGNORECASE)


async def inspect_mysql(url: str) -> Schema:
    database = connect_kwargs(url).get("db")
    if not database:
        raise SourceError(f"{mask(url)}: a MySQL URL must name a database (mysql://host/db)")
    conn = await connect(url)
    try:
        return await inspect_connection(conn, database)
    finally:
        conn.close()


async def _rows(conn: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    from asyncmy.cursors import DictCursor

    async with conn.cursor(DictCursor) as cur:
        await cur.execute(sql, args or None)
        return list(await cur.fetchall())


async def inspect_connection(conn: Any, database: str) -> Schema:
    server = (await _rows(conn, _SERVER, database))[0]
    if server["collation"] is None:
        raise SourceError(f"MySQL database {database} does not exist")
    mariadb = "mariadb" in server["version"].lower()
    ctx = _Context(database, mariadb, server["engine"], server["collation"])
    tables = await _rows(conn, _TABLES, database)
    columns = _by_table(await _rows(conn, _COLUMNS, database))
    indexes = _by_table(await _rows(conn, _INDEXES, database))
    # Each information_schema table of a query gets the database as a constant of its own, and no
    # join on it: MariaDB narrows its scan by constants only, and a join on the database made it
    # open every table of every database (slow on a large server, and a warning for each table
    # another session was altering at that moment).
    fks = _by_table(await _rows(conn, _FOREIGN_KEYS, database, database))
    checks = _by_table(await _rows(conn, *((_CHECKS_MARIADB, database) if mariadb else
                                           (_CHECKS_MYSQL, database, database))))
    triggers = _by_table(await _rows(conn, _TRIGGERS, database, database), "EVENT_OBJECT_TABLE")
    views = await _rows(conn, _VIEWS, database)
    out_tables, sequences = [], []
    for t in tables:
        name = t["TABLE_NAME"]
        if t["TABLE_TYPE"] == "SEQUENCE":
            sequences.append(await _sequence(conn, name))
        elif t["TABLE_TYPE"] == "BASE TABLE":
            partition = await _partition_clause(conn, name) if "partitioned" in (t["CREATE_OPTIONS"] or "") else None
            out_tables.append(_table(ctx, t, columns[name], indexes[name], fks[name], checks[name],
                                     triggers[name], partition))
    names = {t.name for t in out_tables}
    view_names = {v["TABLE_NAME"] for v in views}
    out_views = [_view(ctx, v, names, view_names) for v in views]
    return Schema(dialect="mysql", namespaces=(NAMESPACE,), tables=tuple(out_tables),
                  views=tuple(out_views), sequences=tuple(sequences))


class _Context:
    def __init__(self, database: str, mariadb: bool, engine: str, collation: str) -> None:
        self.database, self.mariadb = database, mariadb
        self.engine, self.collation = engine, collation


def _by_table(rows: list[dict[str, Any]], key: str = "TABLE_NAME") -> defaultdict[str, list[dict[str, Any]]]:
    out: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out


# ---------------------------------------------------------------- tables


def _table(ctx: _Context, t: dict[str, Any], columns: list[dict[str, Any]], indexes: list[dict[str, Any]],
           fks: list[dict[str, Any]], checks: list[dict[str, Any]], triggers: list[dict[str, Any]],
           partition: str | None) -> Table:
    name = t["TABLE_NAME"]
    collation = t["TABLE_COLLATION"]
    json_checks = {c["CONSTRAINT_NAME"] for c in checks if _is_json_check(c)} if ctx.mariadb else set()
    cols = tuple(_column(ctx, c, collation, c["COLUMN_NAME"] in json_checks) for c in columns)
    pk, idx = _indexes(indexes)
    options = [o for o in (t["CREATE_OPTIONS"] or "").split() if o != "partitioned"]
    row_format = next((o.split("=", 1)[1].upper() for o in options if o.lower().startswith("row_format=")), None)
    options = sorted(o for o in options if not o.lower().startswith("row_format="))
    json_columns = {c.name for c in cols if c.type == "json"}
    kept_checks = [c for c in checks if not (c["CONSTRAINT_NAME"] in json_columns and c["CONSTRAINT_NAME"] in json_checks)]
    return Table(
        namespace=NAMESPACE, name=name, columns=cols, primary_key=pk, indexes=idx,
        foreign_keys=_foreign_keys(ctx, fks),
        checks=tuple(sorted((CheckConstraint(c["CONSTRAINT_NAME"], c["CHECK_CLAUSE"]) for c in kept_checks),
                            key=lambda c: c.name)),
        triggers=tuple(sorted((_trigger(tr) for tr in triggers), key=lambda tr: tr.name)),
        engine=None if t["ENGINE"] == ctx.engine else t["ENGINE"],
        collation=None if collation == ctx.collation else collation,
        row_format=row_format, options=tuple(options), comment=t["TABLE_COMMENT"] or None,
        partition_by=partition,
    )


def _is_json_check(check: dict[str, Any]) -> bool:
    return check["LEVEL"] == "Column" and check["CHECK_CLAUSE"] == f"json_valid({quote_ident(check['CONSTRAINT_NAME'])})"


def _column(ctx: _Context, c: dict[str, Any], table_collation: str, json_alias: bool) -> Column:
    extra = c["EXTRA"] or ""
    json = json_alias and c["DATA_TYPE"] == "longtext" and c["COLLATION_NAME"] == "utf8mb4_bin"
    column_type = "json" if json else normalize_type(c["COLUMN_TYPE"])
    generated = c["GENERATION_EXPRESSION"] or None if "GENERATED" in extra.upper() else None
    on_update = _ON_UPDATE.search(extra)
    collation = c["COLLATION_NAME"]
    if column_type == "json" or collation == table_collation or not is_text_type(column_type):
        collation = None
    return Column(
        name=c["COLUMN_NAME"], type=column_type, nullable=c["IS_NULLABLE"] == "YES",
        default=None if generated else _default(ctx, c, column_type, extra),
        generated=generated,
        generated_kind="VIRTUAL" if "VIRTUAL" in extra.upper() else "STORED",
        collation=collation, comment=c["COLUMN_COMMENT"] or None,
        autoincrement="auto_increment" in extra.lower(),
        on_update=normalize_now(on_update.group(1)) if on_update else None,
        invisible="INVISIBLE" in extra.upper(),
    )


_BARE_LITERAL = re.compile(r"^-?\d+(\.\d+)?(e[+-]?\d+)?$", re.IGNORECASE)


def _default(ctx: _Context, c: dict[str, Any], column_type: str, extra: str) -> str | None:
    value = c["COLUMN_DEFAULT"]
    if value is None or (ctx.mariadb and value == "NULL"):
        return None
    if ctx.mariadb:
        return value
    # MySQL 8 prints literals bare and expressions with DEFAULT_GENERATED in EXTRA.
    if "DEFAULT_GENERATED" in extra.upper():
        now = normalize_now(value)
        return now if now != value else f"({value})"
    if column_type.startswith(("bit", "binary", "varbinary")) and value.startswith(("b'", "0x")):
        return value
    if _BARE_LITERAL.match(value) and not is_text_type(column_type):
        return value
    return quote_literal(value)


def _indexes(rows: list[dict[str, Any]]) -> tuple[PrimaryKey | None, tuple[Index, ...]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(r["INDEX_NAME"], []).append(r)
    pk, indexes = None, []
    for name, parts in grouped.items():
        if name == "PRIMARY":
            pk = PrimaryKey("PRIMARY", tuple(p["COLUMN_NAME"] for p in parts))
            continue
        method = parts[0]["INDEX_TYPE"].lower()
        index_parts = tuple(
            IndexPart(column=p["COLUMN_NAME"], expression=None if p["COLUMN_NAME"] else p.get("EXPRESSION"),
                      descending=p["COLLATION"] == "D",
                      length=p["SUB_PART"] if method != "spatial" else None)
            for p in parts)
        indexes.append(Index(name, index_parts, unique=not int(parts[0]["NON_UNIQUE"]), method=method,
                             comment=parts[0].get("INDEX_COMMENT") or None))
    return pk, tuple(sorted(indexes, key=lambda i: i.name))


def _foreign_keys(ctx: _Context, rows: list[dict[str, Any]]) -> tuple[ForeignKey, ...]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(r["CONSTRAINT_NAME"], []).append(r)
    fks = []
    for name, parts in grouped.items():
        first = parts[0]
        schema = first["REFERENCED_TABLE_SCHEMA"]
        fks.append(ForeignKey(
            name=name, columns=tuple(p["COLUMN_NAME"] for p in parts),
            ref_namespace=NAMESPACE if schema == ctx.database else schema,
            ref_table=first["REFERENCED_TABLE_NAME"],
            ref_columns=tuple(p["REFERENCED_COLUMN_NAME"] for p in parts),
            on_delete=_FK_RULE.get(first["DELETE_RULE"], first["DELETE_RULE"]),
            on_update=_FK_RULE.get(first["UPDATE_RULE"], first["UPDATE_RULE"])))
    return tuple(sorted(fks, key=lambda f: f.name))


def _trigger(t: dict[str, Any]) -> Trigger:
    definition = (f"CREATE TRIGGER {quote_ident(t['TRIGGER_NAME'])} {t['ACTION_TIMING']} "
                  f"{t['EVENT_MANIPULATION']} ON {quote_ident(t['EVENT_OBJECT_TABLE'])} "
                  f"FOR EACH ROW {t['ACTION_STATEMENT']}")
    return Trigger(t["TRIGGER_NAME"], definition)


async def _partition_clause(conn: Any, table: str) -> str:
    rows = await _rows(conn, f"SHOW CREATE TABLE {quote_ident(table)}")
    text = rows[0]["Create Table"]
    match = re.search(r"(?:/\*!\d+\s*)?(PARTITION BY .*?)(?:\s*\*/)?\s*$", text, re.DOTALL)
    if not match:
        raise UnsupportedError(f"MySQL table {table}: cannot read its partitioning clause")
    return " ".join(match.group(1).split())


async def _sequence(conn: Any, name: str) -> Sequence:
    row = (await _rows(conn, f"SELECT start_value, minimum_value, maximum_value, increment, "
                             f"cache_size, cycle_option FROM {quote_ident(name)}"))[0]
    return Sequence(NAMESPACE, name, SequenceOptions(
        data_type="bigint", start=int(row["start_value"]), increment=int(row["increment"]),
        min_value=int(row["minimum_value"]), max_value=int(row["maximum_value"]),
        cache=int(row["cache_size"]), cycle=bool(row["cycle_option"])))


# ---------------------------------------------------------------- views


def _view(ctx: _Context, v: dict[str, Any], tables: set[str], views: set[str]) -> View:
    # The server qualifies every name with the database's own; two databases compare by content.
    definition = v["VIEW_DEFINITION"].replace(quote_ident(ctx.database) + ".", "")
    options = []
    if v["ALGORITHM"] not in (None, "UNDEFINED"):
        options.append(f"algorithm={v['ALGORITHM'].lower()}")
    if v["CHECK_OPTION"] not in (None, "NONE"):
        options.append(f"check_option={v['CHECK_OPTION'].lower()}")
    if v["SECURITY_TYPE"] == "INVOKER":
        options.append("security=invoker")
    return View(NAMESPACE, v["TABLE_NAME"], definition, options=tuple(options),
                depends_on=view_dependencies(definition, tables, views))


def view_dependencies(query: str, tables: set[str], views: set[str]) -> tuple[Ref, ...]:
    """Tables and views a view reads; text sqlglot cannot parse is scanned for quoted names (the
    server's canonical text quotes every one)."""
    def quoted(text: str, names: set[str]) -> set[str]:
        return {w.replace("``", "`") for w in re.findall(r"`((?:[^`]|``)+)`", text)}

    return _view_reads.view_dependencies(query, tables, views, namespace=NAMESPACE, read="mysql",
                                         fold=str, fallback=quoted)

"""The operations of the generated nodes, as parameterized SQL on asyncpg or sqlite3.

Why not Kailash's ``AsyncSQLDatabaseNode`` / ``WorkflowConnectionPool``, which the issue
prescribes (kailash-notes §5, kailash 2.65.0):

* it rewrites ``?``, ``$n`` and ``%s`` placeholders with a regex, which breaks on a literal
  ``'?'`` in the SQL (PostgreSQL: syntax error; SQLite: missing binding), so a generated
  statement with a string default or a user filter value shaped like a placeholder could fail;
* it reports ``rows_affected: 0`` for every INSERT/UPDATE/DELETE on PostgreSQL, which would make
  every Bulk*/Update/Delete count wrong;
* its query validator rejects legitimate SQL (``--`` in a value-free statement is fine, but
  any comment or ``UNION SELECT`` is refused), the pool has no transaction API beyond raw
  ``BEGIN`` on an acquired connection and returns connections to the pool with the transaction
  still open, and a node instance cannot be reused across two event loops;
* it has no ``executemany`` / ``unnest`` bulk path.

So each node call opens one connection (asyncpg on PostgreSQL, stdlib sqlite3 on SQLite, run
inline: a local file answers in microseconds), runs in one transaction, and closes it. A shared
pool is the next step; the per-call connection is correct, just not the fastest for tiny calls.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any

from kailash.sdk_exceptions import NodeExecutionError

from dfmigrate.aio import sqlite_write_transaction
from dfmigrate.nodes.meta import DEFAULT_BATCH_SIZE, ColumnMeta, ModelMeta, row_out, to_db
from dfmigrate.runner.connections import dialect_of, sqlite_path
from dfmigrate.urls import mask

SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


class ConstraintViolationError(NodeExecutionError):
    """A database constraint refused the write; ``constraint`` names it (None when unknown)."""

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint = constraint


# --- connections -----------------------------------------------------------------------------
class _Pg:
    dialect = "postgresql"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @staticmethod
    def ph(n: int) -> str:
        return f"${n}"

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.raw.fetch(sql, *args)]

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        status = await self.raw.execute(sql, *args)
        return _count(status)

    def transaction(self) -> Any:
        return self.raw.transaction()


class _Lite:
    dialect = "sqlite"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    @staticmethod
    def ph(n: int) -> str:
        return f"?{n}"

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.raw.execute(sql, tuple(args))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        return self.raw.execute(sql, tuple(args)).rowcount

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        return self.raw.executemany(sql, rows).rowcount

    def transaction(self) -> Any:
        return sqlite_write_transaction(self.raw)


def _count(status: str) -> int:
    try:
        return int(str(status).rsplit(" ", 1)[-1])
    except ValueError:
        return 0


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[_Pg | _Lite]:
    if dialect_of(url) == "postgresql":
        import asyncpg

        try:
            raw = await asyncpg.connect(url, timeout=10)
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
            raise NodeExecutionError(f"cannot connect to {mask(url)}: {exc}") from None
        try:
            yield _Pg(raw)
        finally:
            await raw.close()
    else:
        try:
            lite = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise NodeExecutionError(f"cannot open {mask(url)}: {exc}") from None
        try:
            lite.execute("PRAGMA foreign_keys=ON")
            lite.create_function("regexp", 2, _sqlite_regexp, deterministic=True)
            yield _Lite(lite)
        finally:
            lite.close()


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _sqlite_regexp(pattern: str | None, value: Any) -> bool | None:
    """``value REGEXP pattern`` for the ``$regex`` filter: Python's ``re.search``, the closest
    the stdlib has to PostgreSQL's ``~`` (DataFlow instead rewrites the pattern into a LIKE)."""
    if pattern is None or value is None:
        return None
    return _compiled(pattern).search(str(value)) is not None


# --- errors ----------------------------------------------------------------------------------
_SQLITE_COLUMNS = re.compile(r"(UNIQUE|NOT NULL) constraint failed: (.+)$")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (.+)$")


def database_error(meta: ModelMeta, node: str, exc: BaseException) -> NodeExecutionError | None:
    """The driver's error as a NodeExecutionError naming the constraint; None if not a DB error."""
    module = type(exc).__module__.split(".")[0]
    if module == "asyncpg":
        import asyncpg

        if not isinstance(exc, asyncpg.PostgresError):
            return None
        constraint = getattr(exc, "constraint_name", None)
        detail = getattr(exc, "detail", None)
        text = f"{exc}" + (f" ({detail})" if detail else "")
        if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
            if constraint is None and isinstance(exc, asyncpg.NotNullViolationError):
                constraint = f"{meta.table_name}.{getattr(exc, 'column_name', '?')} NOT NULL"
            return ConstraintViolationError(f"{node}: constraint {constraint} violated: {text}", constraint)
        return NodeExecutionError(f"{node}: {type(exc).__name__}: {text}")
    if isinstance(exc, sqlite3.IntegrityError):
        name = _sqlite_constraint(meta, str(exc))
        return ConstraintViolationError(f"{node}: constraint {name} violated: {exc}", name)
    if isinstance(exc, sqlite3.Error):
        return NodeExecutionError(f"{node}: {type(exc).__name__}: {exc}")
    return None


def _sqlite_constraint(meta: ModelMeta, message: str) -> str | None:
    # SQLite names columns, not constraints ("UNIQUE constraint failed: t.a, t.b"): map them back
    # to the model's constraint, named as on PostgreSQL.
    m = _SQLITE_COLUMNS.search(message)
    if m:
        cols = tuple(part.strip().rsplit(".", 1)[-1] for part in m.group(2).split(","))
        if m.group(1) == "NOT NULL":
            return f"{meta.table_name}.{cols[0]} NOT NULL"
        return next((name for name, c in meta.uniques if set(c) == set(cols)), None)
    m = _SQLITE_CHECK.search(message)
    if m:
        return m.group(1).strip()
    if "FOREIGN KEY" in message and len(meta.foreign_keys) == 1:
        return meta.foreign_keys[0]
    return None


# --- SQL pieces ------------------------------------------------------------------------------
class _Args:
    """Collects parameters and hands out the dialect's numbered placeholders."""

    def __init__(self, conn: _Pg | _Lite) -> None:
        self.conn = conn
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return self.conn.ph(len(self.values))


# Exactly the operators DataFlow 2.20.1's List/Count nodes accept: those both its filter
# validator (core/nodes.py) and its QueryBuilder (database/query_builder.py) take. $like is in the
# QueryBuilder but the validator refuses it ("Unsafe filter operator"); $not, $contains and $mul
# pass the validator but the QueryBuilder refuses them.
_COMPARE = {"$eq": "=", "$ne": "<>", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
FILTER_OPERATORS = (*_COMPARE, "$in", "$nin", "$regex", "$exists", "$null")


def _where(meta: ModelMeta, filter_: dict[str, Any] | None, args: _Args, node: str) -> str:
    if not filter_:
        return ""
    if not isinstance(filter_, dict):
        raise NodeExecutionError(f"{node}: filter must be a dict of field: value or field: {{operator: value}}")
    parts = []
    for name, value in filter_.items():
        if isinstance(name, str) and name.startswith("$"):
            raise NodeExecutionError(f"{node}: filter: unknown operator {name!r} at the top level (DataFlow's "
                                     f"filter has no $and/$or: fields are ANDed; operators go inside a field, "
                                     f"{{field: {{'$gt': 1}}}})")
        col = _col(meta, name, node)
        if isinstance(value, dict) and (col.kind != "json" or any(str(k).startswith("$") for k in value)):
            if not value:
                raise NodeExecutionError(f"{node}: filter on {name}: an empty operator dict")
            for op, operand in value.items():
                parts.append(_condition(meta, col, op, operand, args, node))
        elif value is None:
            parts.append(f"{col.quoted} IS NULL")
        elif isinstance(value, (list, tuple, set)) and col.kind != "json":
            parts.append(_condition(meta, col, "$in", value, args, node))
        else:
            parts.append(f"{col.quoted} = {args.add(to_db(value, col, meta.dialect))}")
    return " WHERE " + " AND ".join(parts)


def _condition(meta: ModelMeta, col: ColumnMeta, op: Any, operand: Any, args: _Args, node: str) -> str:
    """One ``{op: operand}`` as SQL, with DataFlow's semantics: ``$eq``/``$ne`` None are IS [NOT]
    NULL; ``$ne``, ``$nin`` and the comparisons never match a NULL column (plain SQL); None
    inside ``$in``/``$nin`` is dropped (as DataFlow's bulk filter does: ``NOT IN (…, NULL)``
    would match nothing); an empty ``$in`` matches nothing, an empty ``$nin`` everything."""
    q = col.quoted
    if op in _COMPARE:
        if operand is None:
            if op in ("$eq", "$ne"):
                return f"{q} IS {'NOT ' if op == '$ne' else ''}NULL"
            raise NodeExecutionError(f"{node}: filter on {col.name}: {op} needs a value, not None")
        return f"{q} {_COMPARE[op]} {args.add(to_db(operand, col, meta.dialect))}"
    if op in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple, set)):
            raise NodeExecutionError(f"{node}: filter on {col.name}: {op} needs a list, got {type(operand).__name__}")
        values = [v for v in operand if v is not None]
        if not values:
            return "1 = 0" if op == "$in" else "1 = 1"
        marks = ", ".join(args.add(to_db(v, col, meta.dialect)) for v in values)
        return f"{q} {'IN' if op == '$in' else 'NOT IN'} ({marks})"
    if op == "$regex":
        if not isinstance(operand, str):
            raise NodeExecutionError(f"{node}: filter on {col.name}: $regex needs a str pattern")
        # PostgreSQL's POSIX regex operator; SQLite has REGEXP once connect() defines it.
        return f"{q} {'~' if meta.dialect == 'postgresql' else 'REGEXP'} {args.add(operand)}"
    if op in ("$exists", "$null"):
        # DataFlow ignores the operand ($exists is always IS NOT NULL, $null always IS NULL);
        # False meaning the opposite is what a caller writing it expects.
        is_null = (op == "$null") == bool(operand)
        return f"{q} IS {'' if is_null else 'NOT '}NULL"
    raise NodeExecutionError(f"{node}: filter on {col.name}: unknown operator {op!r} "
                             f"(supported, as in DataFlow: {', '.join(FILTER_OPERATORS)})")


def _col(meta: ModelMeta, name: str, node: str) -> ColumnMeta:
    try:
        return meta.column(name, node)
    except ValueError as exc:
        raise NodeExecutionError(str(exc)) from None


def _order_by(meta: ModelMeta, order_by: Any, node: str) -> str:
    if order_by is None or order_by == [] or order_by == "":
        keys: list[Any] = list(meta.primary_key)
    elif isinstance(order_by, (str, dict)):
        keys = [order_by]
    else:
        keys = list(order_by)
    parts = []
    for key in keys:
        if isinstance(key, dict):  # DataFlow's {"field": 1 | -1}
            for name, direction in key.items():
                parts.append(f"{_col(meta, name, node).quoted} {'DESC' if direction in (-1, 'desc', 'DESC') else 'ASC'}")
            continue
        desc = isinstance(key, str) and key.startswith("-")
        name = key[1:] if desc else key
        parts.append(f"{_col(meta, name, node).quoted} {'DESC' if desc else 'ASC'}")
    return " ORDER BY " + ", ".join(parts) if parts else ""


def _set_clause(meta: ModelMeta, fields: dict[str, Any], args: _Args, node: str) -> str:
    if not isinstance(fields, dict) or not fields:
        raise NodeExecutionError(f"{node}: fields must be a non-empty dict of field: new value")
    parts = [f"{_col(meta, k, node).quoted} = {args.add(to_db(v, meta.columns[k], meta.dialect))}"
             for k, v in fields.items()]
    if meta.touches_updated_at and "updated_at" not in fields:
        parts.append(f"{meta.columns['updated_at'].quoted} = CURRENT_TIMESTAMP")
    return ", ".join(parts)


def _require_id(meta: ModelMeta, node: str) -> ColumnMeta:
    col = meta.id_column
    if col is None:
        raise NodeExecutionError(f"{node}: model {meta.name} has a composite primary key "
                                 f"({', '.join(meta.primary_key) or 'none'}): use filter")
    return col


# --- operations ------------------------------------------------------------------------------
async def create(conn: _Pg | _Lite, meta: ModelMeta, node: str, values: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for name, col in meta.columns.items():
        if name in values:
            row[name] = values[name]
        elif callable(col.info.default):  # computed in Python: there is no SQL default
            row[name] = col.info.default()
    args = _Args(conn)
    if row:
        cols = ", ".join(meta.columns[k].quoted for k in row)
        marks = ", ".join(args.add(to_db(v, meta.columns[k], meta.dialect)) for k, v in row.items())
        insert = f"INSERT INTO {meta.table_sql} ({cols}) VALUES ({marks})"
    else:
        insert = f"INSERT INTO {meta.table_sql} DEFAULT VALUES"
    if conn.dialect == "sqlite" and not SQLITE_RETURNING:
        assert isinstance(conn, _Lite)
        cursor = conn.raw.execute(insert, tuple(args.values))
        rows = await conn.fetch(f"SELECT * FROM {meta.table_sql} WHERE rowid = ?1", (cursor.lastrowid,))
    else:
        rows = await conn.fetch(insert + " RETURNING *", args.values)
    return row_out(meta, rows[0])


async def read(conn: _Pg | _Lite, meta: ModelMeta, node: str, id_: Any,
               raise_on_not_found: bool = True) -> dict[str, Any]:
    col = _require_id(meta, node)
    args = _Args(conn)
    rows = await conn.fetch(f"SELECT * FROM {meta.table_sql} WHERE {col.quoted} = "
                            f"{args.add(to_db(id_, col, meta.dialect))}", args.values)
    if not rows:
        if raise_on_not_found:
            raise NodeExecutionError(f"{node}: no {meta.name} with {col.name} = {id_!r}")
        return {"found": False, col.name: id_}
    return row_out(meta, rows[0])


async def update(conn: _Pg | _Lite, meta: ModelMeta, node: str, id_: Any, filter_: Any,
                 fields: dict[str, Any]) -> dict[str, Any]:
    args = _Args(conn)
    set_sql = _set_clause(meta, fields, args, node)
    if id_ is not None:
        col = _require_id(meta, node)
        mark = args.add(to_db(id_, col, meta.dialect))
        rows = await conn.fetch(f"UPDATE {meta.table_sql} SET {set_sql} WHERE {col.quoted} = {mark} "
                                "RETURNING *", args.values)
        if not rows:
            raise NodeExecutionError(f"{node}: no {meta.name} with {col.name} = {id_!r}")
        return row_out(meta, rows[0])
    if not filter_:
        raise NodeExecutionError(f"{node}: give id or a non-empty filter (BulkUpdate updates every row)")
    where = _where(meta, filter_, args, node)
    return {"rows_affected": await conn.execute(f"UPDATE {meta.table_sql} SET {set_sql}{where}", args.values)}


async def delete(conn: _Pg | _Lite, meta: ModelMeta, node: str, id_: Any) -> dict[str, Any]:
    col = _require_id(meta, node)
    args = _Args(conn)
    n = await conn.execute(f"DELETE FROM {meta.table_sql} WHERE {col.quoted} = "
                           f"{args.add(to_db(id_, col, meta.dialect))}", args.values)
    return {"deleted": n > 0, "rows_affected": n, col.name: id_}


async def list_(conn: _Pg | _Lite, meta: ModelMeta, node: str, filter_: Any, order_by: Any,
                limit: int | None, offset: int | None) -> dict[str, Any]:
    args = _Args(conn)
    sql = f"SELECT * FROM {meta.table_sql}{_where(meta, filter_, args, node)}{_order_by(meta, order_by, node)}"
    if limit is not None:
        sql += f" LIMIT {args.add(int(limit))}"
    if offset:
        if limit is None and conn.dialect == "sqlite":
            sql += " LIMIT -1"
        sql += f" OFFSET {args.add(int(offset))}"
    records = [row_out(meta, r) for r in await conn.fetch(sql, args.values)]
    return {"records": records, "count": len(records), "limit": limit, "offset": offset or 0}


async def count(conn: _Pg | _Lite, meta: ModelMeta, node: str, filter_: Any) -> dict[str, Any]:
    args = _Args(conn)
    rows = await conn.fetch(f"SELECT count(*) AS n FROM {meta.table_sql}{_where(meta, filter_, args, node)}",
                            args.values)
    return {"count": int(rows[0]["n"])}


async def upsert(conn: _Pg | _Lite, meta: ModelMeta, node: str, where: Any, update_: Any, create_: Any,
                 conflict_on: Any) -> dict[str, Any]:
    """DataFlow's single-row UpsertNode: insert ``{**where, **create}``, or, when a row with the
    same conflict key exists, set ``update`` on it; one statement (``INSERT … ON CONFLICT DO
    UPDATE … RETURNING``)."""
    for label, value in (("where", where), ("update", update_), ("create", create_)):
        if value is not None and not isinstance(value, dict):
            raise NodeExecutionError(f"{node}: {label} must be a dict of field: value")
    where, update_, create_ = where or {}, update_ or {}, create_ or {}
    if not where:
        raise NodeExecutionError(f"{node}: where is required: the unique field(s) naming the row, "
                                 "e.g. {'email': 'ann@x.io'}")
    if not update_ and not create_:
        raise NodeExecutionError(f"{node}: give update (set on an existing row) or create (inserted with "
                                 "where's fields when there is none)")
    for source in (where, update_, create_):
        for name in source:
            _col(meta, name, node)
    for name, value in where.items():
        if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
            raise NodeExecutionError(f"{node}: where on {name}: values only (they are also inserted), "
                                     "not filter operators")
    target = (conflict_on,) if isinstance(conflict_on, str) else tuple(conflict_on or where)
    for name in target:
        _col(meta, name, node)
    if not any(set(cols) == set(target) for _name, cols in meta.uniques):
        raise NodeExecutionError(f"{node}: conflict_on ({', '.join(target)}) is not the primary key or a unique "
                                 f"key of {meta.name}: ON CONFLICT needs one")
    row = {**where, **create_}
    missing = [c for c in target if c not in row]
    if missing:
        raise NodeExecutionError(f"{node}: conflict_on column(s) {', '.join(missing)} missing from where/create")
    for name, col in meta.columns.items():
        if name not in row and callable(col.info.default):  # as Create does: no SQL default exists
            row[name] = col.info.default()
    args = _Args(conn)
    cols = ", ".join(meta.columns[k].quoted for k in row)
    marks = ", ".join(args.add(to_db(v, meta.columns[k], meta.dialect)) for k, v in row.items())
    # As DataFlow: the conflict key and the primary key are never rewritten by the update branch.
    sets = [f"{meta.columns[k].quoted} = {args.add(to_db(v, meta.columns[k], meta.dialect))}"
            for k, v in update_.items() if k not in target and k not in meta.primary_key]
    if meta.touches_updated_at and "updated_at" not in update_:
        sets.append(f"{meta.columns['updated_at'].quoted} = CURRENT_TIMESTAMP")
    if not sets:  # a no-op update, so that RETURNING still hands back the existing row
        first = meta.columns[target[0]].quoted
        sets.append(f"{first} = excluded.{first}")
    on = ", ".join(meta.columns[c].quoted for c in target)
    sql = (f"INSERT INTO {meta.table_sql} ({cols}) VALUES ({marks}) "
           f"ON CONFLICT ({on}) DO UPDATE SET {', '.join(sets)} RETURNING *")
    async with conn.transaction():
        if isinstance(conn, _Pg):
            # xmax is 0 only on a freshly inserted row version: atomic, unlike a pre-check.
            rows = await conn.fetch(sql + ', (xmax = 0) AS "_dfm_created"', args.values)
            created = bool(rows[0].pop("_dfm_created"))
        else:
            if not SQLITE_RETURNING:
                raise NodeExecutionError(f"{node}: needs SQLite 3.35 or later (RETURNING); this is "
                                         f"{sqlite3.sqlite_version}")
            # BEGIN IMMEDIATE holds the write lock: nobody can insert the row between the two.
            check = _Args(conn)
            cond = " AND ".join(f"{meta.columns[c].quoted} = {check.add(to_db(row[c], meta.columns[c], 'sqlite'))}"
                                for c in target)
            created = not await conn.fetch(f"SELECT 1 FROM {meta.table_sql} WHERE {cond} LIMIT 1", check.values)
            rows = await conn.fetch(sql, args.values)
    return {"created": created, "record": row_out(meta, rows[0]), "action": "created" if created else "updated"}


async def bulk_filtered(conn: _Pg | _Lite, meta: ModelMeta, node: str, filter_: Any,
                        fields: dict[str, Any] | None, confirmed: bool) -> dict[str, Any]:
    """BulkUpdate (fields given) / BulkDelete: one statement; an empty filter needs confirmed."""
    if not filter_ and not confirmed:
        raise NodeExecutionError(f"{node}: an empty filter touches every row: pass confirmed=True")
    args = _Args(conn)
    if fields is None:
        sql = f"DELETE FROM {meta.table_sql}"
    else:
        sql = f"UPDATE {meta.table_sql} SET {_set_clause(meta, fields, args, node)}"
    sql += _where(meta, filter_, args, node)
    async with conn.transaction():
        n = await conn.execute(sql, args.values)
    return {"rows_affected": n}


async def bulk_insert(conn: _Pg | _Lite, meta: ModelMeta, node: str, data: list[dict[str, Any]],
                      batch_size: int, conflict_on: Any = None, upsert: bool = False) -> dict[str, Any]:
    """BulkCreate / BulkUpsert: rows grouped by their key set, sent in batches of batch_size,
    all in one transaction. PostgreSQL: binary COPY per batch (straight into the table for
    BulkCreate; into a temp table, then one ``INSERT … SELECT … ON CONFLICT`` for BulkUpsert);
    SQLite: ``executemany``."""
    if not isinstance(data, list) or not all(issubclass(t, dict) for t in set(map(type, data))):
        raise NodeExecutionError(f"{node}: data must be a list of dicts")
    batch_size = int(batch_size or DEFAULT_BATCH_SIZE)
    if batch_size < 1:
        raise NodeExecutionError(f"{node}: batch_size must be positive")
    groups = _group_rows(meta, data, node)
    try:
        async with conn.transaction():
            total, batches = await _write_groups(conn, meta, node, groups, batch_size, conflict_on, upsert, False)
    except _Reencode:
        async with conn.transaction():
            total, batches = await _write_groups(conn, meta, node, groups, batch_size, conflict_on, upsert, True)
    out: dict[str, Any] = {"rows_affected": total, "batches": batches, "rows": len(data)}
    if not upsert:
        out["inserted"] = total
    return out


async def _write_groups(conn: _Pg | _Lite, meta: ModelMeta, node: str,
                        groups: dict[tuple[str, ...], list[dict[str, Any]]], batch_size: int, conflict_on: Any,
                        upsert: bool, convert: bool) -> tuple[int, int]:
    total = batches = 0
    for number, (keys, rows) in enumerate(groups.items()):
        target = _conflict_target(meta, keys, conflict_on, node) if upsert else ()
        sql_tail = _conflict_clause(meta, keys, target) if upsert else ""
        cols = [meta.columns[k] for k in keys]
        stage = None
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size] if len(rows) > batch_size else rows
            if upsert:
                chunk = _last_per_key(chunk, target)
            if isinstance(conn, _Pg):
                if upsert:
                    stage = await _pg_stage(conn, meta, cols, stage, number)
                    await _pg_copy(conn, "pg_temp", stage, cols, chunk, convert)
                    names = ", ".join(c.quoted for c in cols)
                    total += await conn.execute(f"INSERT INTO {meta.table_sql} ({names}) "
                                                f"SELECT {names} FROM pg_temp.{stage}{sql_tail}")
                else:
                    total += await _pg_copy(conn, meta.namespace, meta.table_name, cols, chunk, convert)
            else:
                total += await _lite_insert(conn, meta, cols, chunk, sql_tail)
            batches += 1
    return total, batches


class _Reencode(Exception):
    """asyncpg refused a value as given: the call is redone with every value converted."""


def _group_rows(meta: ModelMeta, data: list[dict[str, Any]], node: str) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Rows by the (model-ordered) set of fields they carry. Usually every row has the same
    keys: then the shapes are checked once, not once per row, and ``data`` is the only group."""
    canonical: dict[tuple[str, ...], tuple[str, ...]] = {}
    for shape in set(map(tuple, data)):
        for key in shape:
            _col(meta, key, node)
        if not shape:
            raise NodeExecutionError(f"{node}: a row without fields")
        canonical[shape] = tuple(k for k in meta.columns if k in shape)
    if len(set(canonical.values())) <= 1:
        return {next(iter(canonical.values())): data} if data else {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in data:
        groups.setdefault(canonical[tuple(row)], []).append(row)
    return groups


async def _pg_stage(conn: _Pg, meta: ModelMeta, cols: list[ColumnMeta], stage: str | None, number: int) -> str:
    """The temp table a BulkUpsert batch is copied into: the target's column types, none of its
    constraints (the INSERT into the real table enforces them), dropped at commit."""
    if stage is not None:
        await conn.execute(f"TRUNCATE pg_temp.{stage}")
        return stage
    stage = f"_dfm_stage_{number}"
    names = ", ".join(c.quoted for c in cols)
    await conn.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {meta.table_sql} WITH NO DATA")
    return stage


async def _pg_copy(conn: _Pg, schema: str, table: str, cols: list[ColumnMeta], chunk: list[dict[str, Any]],
                   convert: bool) -> int:
    """Binary COPY of the rows. Unless ``convert``, values are sent as given: asyncpg's encoders
    take the native types as they are, and converting a million values in Python would cost more
    than the COPY. A value an encoder refuses (an ISO string for a date, an Enum member, an aware
    datetime for a ``timestamp`` column) raises and aborts the transaction; the caller
    then redoes the whole call converted (a savepoint per batch would cost two round trips per
    batch on the path that almost always succeeds)."""
    names = [c.name for c in cols]
    try:
        status = await conn.raw.copy_records_to_table(table, records=_pg_records(cols, chunk, convert),
                                                      columns=names, schema_name=schema)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        # The encoders raise these bare (a str for a date column: AttributeError 'toordinal');
        # the server's own errors are PostgresError and mean what they say.
        if convert or _is_server_error(exc):
            raise
        raise _Reencode() from None
    return _count(status)


def _is_server_error(exc: BaseException) -> bool:
    import asyncpg

    return isinstance(exc, asyncpg.PostgresError)


def _pg_records(cols: list[ColumnMeta], chunk: list[dict[str, Any]], convert_all: bool) -> list[tuple[Any, ...]]:
    convert = [convert_all or _needs_converting(col, chunk) for col in cols]
    if not any(convert):  # one C-level pass: itemgetter builds each record tuple
        names = [c.name for c in cols]
        if len(names) == 1:
            return [(v,) for v in map(itemgetter(names[0]), chunk)]
        return list(map(itemgetter(*names), chunk))
    columns = [[to_db(v, col, "postgresql") for v in map(itemgetter(col.name), chunk)] if conv
               else map(itemgetter(col.name), chunk) for col, conv in zip(cols, convert)]
    return list(zip(*columns))


def _needs_converting(col: ColumnMeta, chunk: list[dict[str, Any]]) -> bool:
    if col.kind == "json":  # a str is JSON text to asyncpg but a JSON string to us
        return True
    if col.kind == "decimal":
        # asyncpg encodes a float's binary expansion (0.1 → 0.1000000000000000055…); to_db goes
        # through str, as the single-row nodes do.
        return any(issubclass(t, float) for t in set(map(type, map(itemgetter(col.name), chunk))))
    return False


async def _lite_insert(conn: _Lite, meta: ModelMeta, cols: list[ColumnMeta], chunk: list[dict[str, Any]],
                       tail: str) -> int:
    names = ", ".join(c.quoted for c in cols)
    marks = ", ".join(f"?{i}" for i in range(1, len(cols) + 1))
    rows = [tuple(to_db(r[c.name], c, "sqlite") for c in cols) for r in chunk]
    return await conn.executemany(f"INSERT INTO {meta.table_sql} ({names}) VALUES ({marks}){tail}", rows)


def _conflict_target(meta: ModelMeta, keys: tuple[str, ...], conflict_on: Any, node: str) -> tuple[str, ...]:
    if conflict_on:
        target = (conflict_on,) if isinstance(conflict_on, str) else tuple(conflict_on)
        for name in target:
            _col(meta, name, node)
        missing = [c for c in target if c not in keys]
        if missing:
            raise NodeExecutionError(f"{node}: conflict_on column(s) {', '.join(missing)} missing from data rows")
        return target
    # Default: the primary key when the rows carry it, else the first unique key they carry.
    for _name, cols in meta.uniques:
        if all(c in keys for c in cols):
            return cols
    raise NodeExecutionError(f"{node}: the rows carry no primary or unique key of {meta.name}: pass conflict_on")


def _conflict_clause(meta: ModelMeta, keys: tuple[str, ...], target: tuple[str, ...]) -> str:
    on = ", ".join(meta.columns[c].quoted for c in target)
    updates = [f"{meta.columns[k].quoted} = excluded.{meta.columns[k].quoted}" for k in keys if k not in target]
    if meta.touches_updated_at and "updated_at" not in keys and updates:
        updates.append(f"{meta.columns['updated_at'].quoted} = CURRENT_TIMESTAMP")
    if not updates:
        return f" ON CONFLICT ({on}) DO NOTHING"
    return f" ON CONFLICT ({on}) DO UPDATE SET {', '.join(updates)}"


def _last_per_key(chunk: list[dict[str, Any]], target: tuple[str, ...]) -> list[dict[str, Any]]:
    """PostgreSQL refuses to update one row twice in a statement: the last row per key wins
    (as it would if the rows were upserted one by one), in the order of those last rows."""
    key = itemgetter(*target)
    try:
        last = dict(zip(map(key, chunk), range(len(chunk))))
    except TypeError:  # an unhashable key value (a JSON column): compare by repr
        last = {tuple(_hashable(row[c]) for c in target): i for i, row in enumerate(chunk)}
    if len(last) == len(chunk):
        return chunk
    return [chunk[i] for i in sorted(last.values())]


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)

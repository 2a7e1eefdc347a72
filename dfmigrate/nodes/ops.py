"""The operations of the generated nodes, as parameterized SQL: one code path for every database;
what differs per database (placeholders, reading back a written row, the upsert clause, the bulk
write path, errors) is asked of the connection (drivers.py).

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

So each node call opens one connection (asyncpg on PostgreSQL, asyncmy on MySQL and MariaDB,
stdlib sqlite3 on SQLite, run inline: a local file answers in microseconds), runs in one
transaction, and closes it. A shared pool is the next step; the per-call connection is correct,
just not the fastest for tiny calls.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from kailash.sdk_exceptions import NodeExecutionError

from dfmigrate.models import MISSING
from dfmigrate.nodes.drivers import Connection, ConstraintViolationError, RetryConverted
from dfmigrate.nodes.meta import DEFAULT_BATCH_SIZE, ColumnMeta, ModelMeta, row_out, to_db


# --- SQL pieces ------------------------------------------------------------------------------
class _Args:
    """Collects parameters and hands out the dialect's numbered placeholders."""

    def __init__(self, conn: Connection) -> None:
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
        # PostgreSQL's POSIX regex operator; REGEXP on MySQL, and on SQLite once connect() defines it.
        return f"{q} {args.conn.regex_operator} {args.add(operand)}"
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
async def create(conn: Connection, meta: ModelMeta, node: str, values: dict[str, Any]) -> dict[str, Any]:
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
        insert = conn.insert_default_values(meta.table_sql)
    return row_out(meta, await conn.insert_returning(meta, node, insert, args.values, row))


async def read(conn: Connection, meta: ModelMeta, node: str, id_: Any,
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


async def update(conn: Connection, meta: ModelMeta, node: str, id_: Any, filter_: Any,
                 fields: dict[str, Any]) -> dict[str, Any]:
    args = _Args(conn)
    set_sql = _set_clause(meta, fields, args, node)
    if id_ is not None:
        col = _require_id(meta, node)
        mark = args.add(to_db(id_, col, meta.dialect))
        row = await conn.update_returning(meta, f"UPDATE {meta.table_sql} SET {set_sql} WHERE {col.quoted} = {mark}",
                                          args.values, id_, fields)
        if row is None:
            raise NodeExecutionError(f"{node}: no {meta.name} with {col.name} = {id_!r}")
        return row_out(meta, row)
    if not filter_:
        raise NodeExecutionError(f"{node}: give id or a non-empty filter (BulkUpdate updates every row)")
    where = _where(meta, filter_, args, node)
    return {"rows_affected": await conn.execute(f"UPDATE {meta.table_sql} SET {set_sql}{where}", args.values)}


async def delete(conn: Connection, meta: ModelMeta, node: str, id_: Any) -> dict[str, Any]:
    col = _require_id(meta, node)
    args = _Args(conn)
    n = await conn.execute(f"DELETE FROM {meta.table_sql} WHERE {col.quoted} = "
                           f"{args.add(to_db(id_, col, meta.dialect))}", args.values)
    return {"deleted": n > 0, "rows_affected": n, col.name: id_}


async def list_(conn: Connection, meta: ModelMeta, node: str, filter_: Any, order_by: Any,
                limit: int | None, offset: int | None) -> dict[str, Any]:
    args = _Args(conn)
    sql = f"SELECT * FROM {meta.table_sql}{_where(meta, filter_, args, node)}{_order_by(meta, order_by, node)}"
    if limit is not None:
        sql += f" LIMIT {args.add(int(limit))}"
    if offset:
        if limit is None and conn.unlimited:
            sql += f" LIMIT {conn.unlimited}"
        sql += f" OFFSET {args.add(int(offset))}"
    records = [row_out(meta, r) for r in await conn.fetch(sql, args.values)]
    return {"records": records, "count": len(records), "limit": limit, "offset": offset or 0}


async def count(conn: Connection, meta: ModelMeta, node: str, filter_: Any) -> dict[str, Any]:
    args = _Args(conn)
    rows = await conn.fetch(f"SELECT count(*) AS n FROM {meta.table_sql}{_where(meta, filter_, args, node)}",
                            args.values)
    return {"count": int(rows[0]["n"])}


async def upsert(conn: Connection, meta: ModelMeta, node: str, where: Any, update_: Any, create_: Any,
                 conflict_on: Any) -> dict[str, Any]:
    """DataFlow's single-row UpsertNode: insert ``{**where, **create}``, or, when a row with the
    same conflict key exists, set ``update`` on it; one statement (``INSERT … ON CONFLICT DO
    UPDATE`` / ``ON DUPLICATE KEY UPDATE``)."""
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
                                 f"key of {meta.name}: an upsert needs one")
    row = {**where, **create_}
    missing = [c for c in target if c not in row]
    if missing:
        raise NodeExecutionError(f"{node}: conflict_on column(s) {', '.join(missing)} missing from where/create")
    for name, col in meta.columns.items():
        if name not in row and callable(col.info.default):  # as Create does: no SQL default exists
            row[name] = col.info.default()
    _require_values(meta, node, tuple(row))
    args = _Args(conn)
    cols = ", ".join(meta.columns[k].quoted for k in row)
    marks = ", ".join(args.add(to_db(v, meta.columns[k], meta.dialect)) for k, v in row.items())
    # As DataFlow: the conflict key and the primary key are never rewritten by the update branch.
    sets = [f"{meta.columns[k].quoted} = {args.add(to_db(v, meta.columns[k], meta.dialect))}"
            for k, v in update_.items() if k not in target and k not in meta.primary_key]
    if meta.touches_updated_at and "updated_at" not in update_:
        sets.append(f"{meta.columns['updated_at'].quoted} = CURRENT_TIMESTAMP")
    if not sets:  # a no-op update, so that the existing row still comes back
        first = meta.columns[target[0]].quoted
        sets.append(f"{first} = {conn.new_value(first)}")
    on = [meta.columns[c].quoted for c in target]
    sql = f"INSERT INTO {meta.table_sql} ({cols}) VALUES ({marks}){conn.conflict_clause(on, sets)}"
    created, record = await conn.upsert_returning(meta, node, sql, args.values, target, row)
    return {"created": created, "record": row_out(meta, record), "action": "created" if created else "updated"}


async def bulk_filtered(conn: Connection, meta: ModelMeta, node: str, filter_: Any,
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


async def bulk_insert(conn: Connection, meta: ModelMeta, node: str, data: list[dict[str, Any]],
                      batch_size: int, conflict_on: Any = None, upsert: bool = False) -> dict[str, Any]:
    """BulkCreate / BulkUpsert: rows grouped by their key set, sent in batches of batch_size,
    all in one transaction, by the connection's batch writer (binary COPY on PostgreSQL,
    ``executemany`` on SQLite and MySQL)."""
    if not isinstance(data, list) or not all(issubclass(t, dict) for t in set(map(type, data))):
        raise NodeExecutionError(f"{node}: data must be a list of dicts")
    batch_size = int(batch_size or DEFAULT_BATCH_SIZE)
    if batch_size < 1:
        raise NodeExecutionError(f"{node}: batch_size must be positive")
    groups = _group_rows(meta, data, node)
    try:
        async with conn.transaction():
            total, batches = await _write_groups(conn, meta, node, groups, batch_size, conflict_on, upsert, False)
    except RetryConverted:
        async with conn.transaction():
            total, batches = await _write_groups(conn, meta, node, groups, batch_size, conflict_on, upsert, True)
    out: dict[str, Any] = {"rows_affected": total, "batches": batches, "rows": len(data)}
    if not upsert:
        out["inserted"] = total
    return out


async def _write_groups(conn: Connection, meta: ModelMeta, node: str,
                        groups: dict[tuple[str, ...], list[dict[str, Any]]], batch_size: int, conflict_on: Any,
                        upsert: bool, convert: bool) -> tuple[int, int]:
    total = batches = 0
    for keys, rows in groups.items():
        target = _conflict_target(meta, keys, conflict_on, node) if upsert else ()
        if upsert:
            _require_values(meta, node, keys)
            if conn.upserts_on_any_key:
                _refuse_other_keys(meta, node, keys, target)
        cols = [meta.columns[k] for k in keys]
        sets = _conflict_updates(conn, meta, keys, target) if upsert else []
        write = conn.batch_writer(meta, cols, convert, [meta.columns[c].quoted for c in target] or None, sets)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size] if len(rows) > batch_size else rows
            if upsert:
                chunk = _last_per_key(chunk, target)
            total += await write(chunk)
            batches += 1
    return total, batches


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


def _refuse_other_keys(meta: ModelMeta, node: str, keys: tuple[str, ...], target: tuple[str, ...]) -> None:
    """MySQL's ``INSERT … ON DUPLICATE KEY UPDATE`` has no conflict target: a row colliding with
    any unique key updates the row it collides with, whether ``conflict_on`` names it or not.
    BulkUpsert cannot tell afterwards which row each input row updated, so rows that could
    collide on another unique key than the target are refused before anything is written. A key
    cannot collide when the rows leave out one of its columns and that column gets a fresh value
    (AUTO_INCREMENT) or NULL (nullable, no default: NULLs never collide in a unique key)."""
    for name, cols in meta.uniques:
        if set(cols) == set(target) or any(c not in keys and _always_fresh(meta, c) for c in cols):
            continue
        raise NodeExecutionError(
            f"{node}: {meta.name}'s rows carry its unique key {name} ({', '.join(cols)}) besides conflict_on "
            f"({', '.join(target)}), and MySQL's ON DUPLICATE KEY UPDATE updates the row a collision on either "
            f"finds, even one conflict_on does not name; send rows without {', '.join(c for c in cols if c in keys)}, "
            "or use Upsert per row, which checks the row it updated")


def _always_fresh(meta: ModelMeta, name: str) -> bool:
    """A column left out of an insert gets a value no existing row has: the AUTO_INCREMENT key,
    or NULL (nullable without a default)."""
    info = meta.columns[name].info
    return name == meta.auto_increment or (
        info.nullable and info.default in (None, MISSING) and info.spec.default_sql is None)


def _require_values(meta: ModelMeta, node: str, keys: tuple[str, ...]) -> None:
    """An upsert's rows must carry every NOT NULL field without a default, existing row or not:
    PostgreSQL and SQLite check the row to insert before looking for a conflict, but MariaDB's
    ``INSERT … ON DUPLICATE KEY UPDATE`` stores an empty value for a missing one, strict mode or
    not (a plain INSERT is refused there too)."""
    for name, col in meta.columns.items():
        if col.required_on_create and name not in keys:
            constraint = f"{meta.table_name}.{name} NOT NULL"
            raise ConstraintViolationError(f"{node}: constraint {constraint} violated: {name} has no value "
                                           "and no default", constraint)


def _conflict_updates(conn: Connection, meta: ModelMeta, keys: tuple[str, ...], target: tuple[str, ...]) -> list[str]:
    """What an upsert sets on an existing row: the other fields the rows carry (and updated_at);
    none means the existing row is left as it is."""
    updates = [f"{meta.columns[k].quoted} = {conn.new_value(meta.columns[k].quoted)}" for k in keys if k not in target]
    if meta.touches_updated_at and "updated_at" not in keys and updates:
        updates.append(f"{meta.columns['updated_at'].quoted} = CURRENT_TIMESTAMP")
    return updates


def _last_per_key(chunk: list[dict[str, Any]], target: tuple[str, ...]) -> list[dict[str, Any]]:
    """PostgreSQL refuses to update one row twice in a statement: the last row per key wins
    (as it would if the rows were upserted one by one), in the order of those last rows. The same
    on every database, so that each row of a batch is written once and counted once."""
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

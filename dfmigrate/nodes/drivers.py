"""What differs per database when the generated nodes run: one connection class per dialect.

The node logic (ops.py) is one code path for every database; it asks its connection for the
parts SQL dialects and drivers do differently: placeholders, reading back a written row
(``RETURNING`` on PostgreSQL and SQLite; MySQL has none), the upsert clause (``ON CONFLICT`` /
``ON DUPLICATE KEY UPDATE``), the bulk write path (binary ``COPY`` on asyncpg, ``executemany`` on
sqlite3 and asyncmy) and the driver's errors, mapped to the constraint they name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import functools
import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from operator import attrgetter, itemgetter
from typing import Any

from kailash.sdk_exceptions import NodeExecutionError

from dfmigrate.aio import sqlite_write_transaction
from dfmigrate.errors import DfmigrateError
from dfmigrate.nodes.meta import ColumnMeta, ModelMeta, to_db
from dfmigrate.runner.connections import dialect_of, sqlite_path
from dfmigrate.urls import mask

SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)

Rows = list[dict[str, Any]]
BatchWriter = Callable[[Rows], Awaitable[int]]


class ConstraintViolationError(NodeExecutionError):
    """A database constraint refused the write; ``constraint`` names it (None when unknown)."""

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint = constraint


class RetryConverted(Exception):
    """The driver refused a value as given: the caller redoes the whole bulk call with every
    value converted (its transaction has been rolled back)."""


class _OnConflict:
    """SQL that PostgreSQL and SQLite share: ``RETURNING``, ``ON CONFLICT``, ``excluded``."""

    dialect: str
    upserts_on_any_key = False  # ON CONFLICT names its target: another unique key's collision fails

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> Rows:
        raise NotImplementedError

    @staticmethod
    def insert_default_values(table_sql: str) -> str:
        return f"INSERT INTO {table_sql} DEFAULT VALUES"

    async def insert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               row: dict[str, Any]) -> dict[str, Any]:
        return (await self.fetch(sql + " RETURNING *", args))[0]

    async def update_returning(self, meta: ModelMeta, sql: str, args: list[Any], key: Any,
                               fields: dict[str, Any]) -> dict[str, Any] | None:
        """``sql`` updates the row whose single-column primary key is ``key``: the row after."""
        rows = await self.fetch(sql + " RETURNING *", args)
        return rows[0] if rows else None

    @staticmethod
    def new_value(quoted: str) -> str:
        """The value the row being inserted carries for a column, inside the upsert clause."""
        return f"excluded.{quoted}"

    @staticmethod
    def conflict_clause(target: list[str], sets: list[str]) -> str:
        on = ", ".join(target)
        if not sets:
            return f" ON CONFLICT ({on}) DO NOTHING"
        return f" ON CONFLICT ({on}) DO UPDATE SET {', '.join(sets)}"


# --- PostgreSQL (asyncpg) ------------------------------------------------------------------------
class PgConnection(_OnConflict):
    dialect = "postgresql"
    regex_operator = "~"
    unlimited: str | None = None  # PostgreSQL takes OFFSET without LIMIT

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @staticmethod
    def ph(n: int) -> str:
        return f"${n}"

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> Rows:
        return [dict(r) for r in await self.raw.fetch(sql, *args)]

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        status = await self.raw.execute(sql, *args)
        return _count(status)

    def transaction(self) -> Any:
        return self.raw.transaction()

    async def upsert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               target: tuple[str, ...], row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        async with self.transaction():
            # xmax is 0 only on a freshly inserted row version: atomic, unlike a pre-check.
            rows = await self.fetch(sql + ' RETURNING *, (xmax = 0) AS "_dfm_created"', args)
        record = rows[0]
        return bool(record.pop("_dfm_created")), record

    def batch_writer(self, meta: ModelMeta, cols: list[ColumnMeta], convert: bool,
                     target: list[str] | None, sets: list[str]) -> BatchWriter:
        """Binary COPY per batch: straight into the table for BulkCreate; for BulkUpsert into a
        temp table (the target's column types, none of its constraints, dropped at commit), then
        one ``INSERT … SELECT … ON CONFLICT``."""
        names = ", ".join(c.quoted for c in cols)
        tail = self.conflict_clause(target, sets) if target else ""
        stage: list[str] = []

        async def write(chunk: Rows) -> int:
            if not target:
                return await self._copy(meta.namespace, meta.table_name, cols, chunk, convert)
            if stage:
                await self.execute(f"TRUNCATE pg_temp.{stage[0]}")
            else:
                stage.append(f"_dfm_stage_{next(_STAGE_NUMBERS)}")
                await self.execute(f"CREATE TEMP TABLE {stage[0]} ON COMMIT DROP AS SELECT {names} "
                                   f"FROM {meta.table_sql} WITH NO DATA")
            await self._copy("pg_temp", stage[0], cols, chunk, convert)
            return await self.execute(f"INSERT INTO {meta.table_sql} ({names}) SELECT {names} "
                                      f"FROM pg_temp.{stage[0]}{tail}")

        return write

    async def _copy(self, schema: str, table: str, cols: list[ColumnMeta], chunk: Rows, convert: bool) -> int:
        """Binary COPY of the rows. Unless ``convert``, values are sent as given: asyncpg's
        encoders take the native types as they are, and converting a million values in Python
        would cost more than the COPY. A value an encoder refuses (an ISO string for a date, an
        Enum member, an aware datetime for a ``timestamp`` column) raises and aborts the
        transaction; the caller then redoes the whole call converted (a savepoint per batch would
        cost two round trips per batch on the path that almost always succeeds)."""
        import asyncpg

        names = [c.name for c in cols]
        try:
            status = await self.raw.copy_records_to_table(
                table, records=records(cols, chunk, convert, _pg_needs_converting, "postgresql"),
                columns=names, schema_name=schema)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            # The encoders raise these bare (a str for a date column: AttributeError 'toordinal');
            # the server's own errors are PostgresError and mean what they say.
            if convert or isinstance(exc, asyncpg.PostgresError):
                raise
            raise RetryConverted() from None
        return _count(status)


_STAGE_NUMBERS = itertools.count()  # temp table names: one per group of a call, never reused


def _count(status: str) -> int:
    try:
        return int(str(status).rsplit(" ", 1)[-1])
    except ValueError:
        return 0


def _pg_needs_converting(col: ColumnMeta, chunk: Rows) -> bool:
    if col.kind == "json":  # a str is JSON text to asyncpg but a JSON string to us
        return True
    if col.kind == "decimal":
        # asyncpg encodes a float's binary expansion (0.1 → 0.1000000000000000055…); to_db goes
        # through str, as the single-row nodes do.
        return any(issubclass(t, float) for t in set(map(type, map(itemgetter(col.name), chunk))))
    return False


# --- SQLite (sqlite3) ----------------------------------------------------------------------------
class SqliteConnection(_OnConflict):
    dialect = "sqlite"
    regex_operator = "REGEXP"  # connect() defines regexp()
    unlimited: str | None = "-1"

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    @staticmethod
    def ph(n: int) -> str:
        return f"?{n}"

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> Rows:
        cursor = self.raw.execute(sql, tuple(args))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        return self.raw.execute(sql, tuple(args)).rowcount

    def transaction(self) -> Any:
        return sqlite_write_transaction(self.raw)

    async def insert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               row: dict[str, Any]) -> dict[str, Any]:
        if SQLITE_RETURNING:
            return await super().insert_returning(meta, node, sql, args, row)
        cursor = self.raw.execute(sql, tuple(args))
        return (await self.fetch(f"SELECT * FROM {meta.table_sql} WHERE rowid = ?1", (cursor.lastrowid,)))[0]

    async def upsert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               target: tuple[str, ...], row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        if not SQLITE_RETURNING:
            raise NodeExecutionError(f"{node}: needs SQLite 3.35 or later (RETURNING); this is "
                                     f"{sqlite3.sqlite_version}")
        async with self.transaction():
            # BEGIN IMMEDIATE holds the write lock: nobody can insert the row between the two.
            cond, values = _key_condition(meta, target, row, "?{}")
            created = not await self.fetch(f"SELECT 1 FROM {meta.table_sql} WHERE {cond} LIMIT 1", values)
            rows = await self.fetch(sql + " RETURNING *", args)
        return created, rows[0]

    def batch_writer(self, meta: ModelMeta, cols: list[ColumnMeta], convert: bool,
                     target: list[str] | None, sets: list[str]) -> BatchWriter:
        names = ", ".join(c.quoted for c in cols)
        marks = ", ".join(f"?{i}" for i in range(1, len(cols) + 1))
        tail = self.conflict_clause(target, sets) if target else ""
        sql = f"INSERT INTO {meta.table_sql} ({names}) VALUES ({marks}){tail}"

        async def write(chunk: Rows) -> int:
            rows = [tuple(to_db(r[c.name], c, "sqlite") for c in cols) for r in chunk]
            return self.raw.executemany(sql, rows).rowcount

        return write


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _sqlite_regexp(pattern: str | None, value: Any) -> bool | None:
    """``value REGEXP pattern`` for the ``$regex`` filter: Python's ``re.search``, the closest
    the stdlib has to PostgreSQL's ``~`` (DataFlow instead rewrites the pattern into a LIKE)."""
    if pattern is None or value is None:
        return None
    return _compiled(pattern).search(str(value)) is not None


# --- MySQL and MariaDB (asyncmy) -----------------------------------------------------------------
# Session settings of every node connection: TIMESTAMP columns read and write UTC (aware
# datetimes are stored as UTC, see meta._to_mysql), and a value a column cannot hold is an error,
# never a warning with the value truncated, whatever the server's default sql_mode.
_MYSQL_SESSION = ("SET time_zone = '+00:00', "
                  "sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_TRANS_TABLES')")
# asyncmy runs statements with parameters as server-side prepared statements when it has a
# statement cache; with it, executemany on MariaDB is one COM_STMT_BULK_EXECUTE per statement.
_MYSQL_STATEMENT_CACHE = 16
# A statement this size needs no look at max_allowed_packet: asyncmy itself sends text INSERTs of
# up to this many bytes whatever the server's limit (MySQL's default limit is 64 MB, MariaDB's 16).
_MYSQL_ALWAYS_FITS = 1_024_000


class MysqlConnection:
    dialect = "mysql"
    regex_operator = "REGEXP"
    # ON DUPLICATE KEY UPDATE takes no target: a collision on any unique key updates that row
    upserts_on_any_key = True
    unlimited: str | None = "18446744073709551615"  # MySQL has no OFFSET without LIMIT

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.last_insert_id = 0
        self._packet_limit: int | None = None

    @staticmethod
    def ph(n: int) -> str:
        return "%s"

    async def fetch(self, sql: str, args: Iterable[Any] = ()) -> Rows:
        async with self.raw.cursor() as cursor:
            await cursor.execute(sql, tuple(args))
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row)) for row in await cursor.fetchall()]

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        async with self.raw.cursor() as cursor:
            count = await cursor.execute(sql, tuple(args))
            self.last_insert_id = cursor.lastrowid
            return int(count or 0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """InnoDB rolls back the whole transaction; a statement inside must not BEGIN again
        (MySQL would commit the outer one), so no method below opens one under another."""
        import asyncmy.errors

        await self.raw.begin()
        try:
            yield
        except BaseException:
            try:
                await self.raw.rollback()
            except asyncmy.errors.Error:
                pass  # the connection is gone (a packet too big drops it): the server rolled back
            raise
        await self.raw.commit()

    @staticmethod
    def insert_default_values(table_sql: str) -> str:
        return f"INSERT INTO {table_sql} () VALUES ()"

    async def insert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               row: dict[str, Any]) -> dict[str, Any]:
        """No RETURNING: insert, then read the row back by its primary key (the values given,
        or the AUTO_INCREMENT value the insert generated), in one transaction."""
        async with self.transaction():
            await self.execute(sql, args)
            key = {}
            for name in meta.primary_key:
                if name in row:
                    key[name] = row[name]
                elif name == meta.auto_increment:
                    key[name] = self.last_insert_id
                else:
                    raise NodeExecutionError(
                        f"{node}: cannot read back the created {meta.name}: its key {name} was not given and is "
                        "not AUTO_INCREMENT (MySQL has no RETURNING); pass the key")
            rows = await self._by_key(meta, tuple(key), key)
        return rows[0]

    async def update_returning(self, meta: ModelMeta, sql: str, args: list[Any], key: Any,
                               fields: dict[str, Any]) -> dict[str, Any] | None:
        (name,) = meta.primary_key
        async with self.transaction():
            if not await self.execute(sql, args):  # rows matched (the connection counts them)
                return None
            rows = await self._by_key(meta, (name,), {name: fields.get(name, key)})
        return rows[0] if rows else None

    @staticmethod
    def new_value(quoted: str) -> str:
        # VALUES(col), not MySQL 8.0.19's row alias (VALUES (…) AS new … new.col): MariaDB has no
        # row alias, MySQL 8 still accepts VALUES() (deprecated since 8.0.20, a note-level
        # warning), and asyncmy batches a multi-row INSERT only when ON DUPLICATE follows VALUES.
        return f"VALUES({quoted})"

    @staticmethod
    def conflict_clause(target: list[str], sets: list[str]) -> str:
        # MySQL takes no conflict target: any primary or unique key that collides updates that
        # row. With nothing to update, a key column set to itself leaves the row as it was.
        return " ON DUPLICATE KEY UPDATE " + ", ".join(sets or [f"{target[0]} = {target[0]}"])

    async def upsert_returning(self, meta: ModelMeta, node: str, sql: str, args: list[Any],
                               target: tuple[str, ...], row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        async with self.transaction():
            # Opened for an upsert, the connection counts 1 for an inserted row, 2 for an
            # updated one and 0 for one left as it was.
            created = await self.execute(sql, args) == 1
            rows = await self._by_key(meta, target, row)
            if not rows or not created and await self._another_row(meta, target, row, rows[0]):
                # No conflict target in MySQL: the insert collided with another unique key, so it
                # updated (or may have updated) a row conflict_on does not name
                raise NodeExecutionError(
                    f"{node}: the row collided with another unique key than conflict_on "
                    f"({', '.join(target)}); MySQL updated that row instead, so the change was rolled back")
        return created, rows[0]

    async def _another_row(self, meta: ModelMeta, target: tuple[str, ...], row: dict[str, Any],
                           found: dict[str, Any]) -> bool:
        """Whether another unique key's values in ``row`` name an existing row other than
        ``found`` (the row ``target`` names): the update may have gone to that one."""
        same = meta.primary_key or tuple(meta.columns)
        for _name, cols in meta.uniques:
            if set(cols) == set(target) or not all(row.get(c) is not None for c in cols):
                continue
            for other in await self._by_key(meta, cols, row):
                if any(other[c] != found[c] for c in same):
                    return True
        return False

    async def _by_key(self, meta: ModelMeta, key: tuple[str, ...], values: dict[str, Any]) -> Rows:
        cond, args = _key_condition(meta, key, values, "%s")
        return await self.fetch(f"SELECT * FROM {meta.table_sql} WHERE {cond}", args)

    def batch_writer(self, meta: ModelMeta, cols: list[ColumnMeta], convert: bool,
                     target: list[str] | None, sets: list[str]) -> BatchWriter:
        """``executemany`` of ``INSERT … [ON DUPLICATE KEY UPDATE …]``: on MariaDB one
        COM_STMT_BULK_EXECUTE (all rows bound in binary), elsewhere, or when a column mixes value
        types or is NULL in every row, asyncmy's multi-row INSERTs of up to 1 MB each. A batch
        goes in as many statements as keep each under the server's max_allowed_packet."""
        names = ", ".join(c.quoted for c in cols)
        tail = self.conflict_clause(target, sets) if target else ""
        sql = f"INSERT INTO {meta.table_sql} ({names}) VALUES ({', '.join('%s' for _ in cols)}){tail}"

        async def write(chunk: Rows) -> int:
            rows = records(cols, chunk, convert, _mysql_needs_converting, "mysql")
            size = _estimated_bytes(rows, cols)
            parts = [rows] if size <= _MYSQL_ALWAYS_FITS else _fitting(rows, cols, await self._statement_limit(), size)
            count = 0
            async with self.raw.cursor() as cursor:
                for part in parts:
                    count += int(await cursor.executemany(sql, part) or 0)
            # Opened for an upsert, the count is 1 per inserted row, 2 per updated one, 0 per one
            # left as it was; each (deduplicated) row was written once either way.
            return len(chunk) if target and sets else count

        return write

    async def _statement_limit(self) -> int:
        if self._packet_limit is None:
            rows = await self.fetch("SELECT @@max_allowed_packet AS n")
            self._packet_limit = int(rows[0]["n"]) * 3 // 4  # room for the statement's own framing
        return self._packet_limit


def _mysql_needs_converting(col: ColumnMeta, chunk: Rows) -> bool:
    """Values asyncmy would send as something else than the column means: JSON (a dict), Enum
    members (their name), UUIDs, datetimes with a zone other than UTC (asyncmy writes the wall
    clock and drops the zone, which is right only at offset 0), ISO text for a date or time (MySQL
    would take it, but one text value among dates sends the whole batch as text), floats for a
    DECIMAL (their binary expansion)."""
    kind = col.kind
    if kind in ("json", "uuid"):
        return True
    if kind not in ("enum", "date", "time", "datetime", "decimal"):
        return False
    values = list(map(itemgetter(col.name), chunk))
    types = set(map(type, values))
    if kind == "enum":
        return any(issubclass(t, enum.Enum) for t in types)
    if kind == "decimal":
        return float in types
    types.discard(type(None))
    if kind != "datetime":
        return not types <= {dt.date, dt.time}
    if types != {dt.datetime}:
        return True  # a date or time in a datetime column: to_db says what it means
    zones = set(map(attrgetter("tzinfo"), filter(None, values)))  # (a datetime is never false)
    return not all(z is None or (isinstance(z, dt.timezone) and not z.utcoffset(None)) for z in zones)


def _fitting(rows: list[tuple[Any, ...]], cols: list[ColumnMeta], limit: int,
             size: int | None = None) -> list[list[tuple[Any, ...]]]:
    """``rows`` (``size`` bytes, estimated) in consecutive parts whose estimated statement size
    stays under ``limit`` bytes (a row bigger than that goes alone: the server then refuses it)."""
    size = _estimated_bytes(rows, cols) if size is None else size
    if size <= limit or len(rows) == 1:
        return [rows]
    step = -(-len(rows) // -(-size // limit))
    parts: list[list[tuple[Any, ...]]] = []
    for start in range(0, len(rows), step):
        parts.extend(_fitting(rows[start:start + step], cols, limit))
    return parts


# Bytes a value of these kinds takes in a binary bulk statement, at most. A value of another type
# in such a column (a str for an int) is short, or the server refuses it anyway.
_FIXED_BYTES = {"bool": 1, "int": 8, "float": 8, "date": 5, "datetime": 12, "time": 13}
_DECIMAL_TYPE = re.compile(r"decimal\((\d+)")


def _estimated_bytes(rows: list[tuple[Any, ...]], cols: list[ColumnMeta]) -> int:
    """An upper bound of the rows' size on the wire: numbers and times by their column's kind, a
    Decimal as its column's digits, text at 4 bytes a character unless it is all ASCII, bytes as
    they are; plus a NULL indicator and a length prefix per value. Only text and bytes columns
    are read, each in C-level passes."""
    total = 3 * len(rows) * len(cols)
    for i, col in enumerate(cols):
        if col.kind in _FIXED_BYTES:
            total += len(rows) * _FIXED_BYTES[col.kind]
        elif col.kind == "decimal":
            digits = _DECIMAL_TYPE.match(col.sql_type)
            total += len(rows) * (int(digits.group(1)) + 2 if digits else 67)  # sign, point; DECIMAL(65)
        else:
            total += _text_bytes(list(filter(None, map(itemgetter(i), rows))))  # None and "" weigh nothing
    return total


def _text_bytes(values: list[Any]) -> int:
    try:
        size = sum(map(len, values))
        return size if all(map(str.isascii, values)) else 4 * size
    except TypeError:  # bytes (no str.isascii), or values of several types: one at a time
        return sum((len(v) if isinstance(v, (bytes, bytearray)) else 4 * len(v)) if isinstance(v, (str, bytes, bytearray))
                   else 64 for v in values)


# --- shared --------------------------------------------------------------------------------------
Connection = PgConnection | SqliteConnection | MysqlConnection


def records(cols: list[ColumnMeta], chunk: Rows, convert_all: bool,
            needs_converting: Callable[[ColumnMeta, Rows], bool], dialect: str) -> list[tuple[Any, ...]]:
    """The rows as value tuples in ``cols`` order. Values the driver takes as they are stay as
    given: converting a million values in Python would cost more than writing them. Without a
    column to convert, one C-level pass (itemgetter) builds the tuples."""
    convert = [convert_all or needs_converting(col, chunk) for col in cols]
    names = [c.name for c in cols]
    if not any(convert):
        if len(names) == 1:
            return [(v,) for v in map(itemgetter(names[0]), chunk)]
        return list(map(itemgetter(*names), chunk))
    columns = [[to_db(v, col, dialect) for v in map(itemgetter(col.name), chunk)] if conv
               else map(itemgetter(col.name), chunk) for col, conv in zip(cols, convert)]
    return list(zip(*columns))


def _key_condition(meta: ModelMeta, key: tuple[str, ...], values: dict[str, Any], mark: str) -> tuple[str, list[Any]]:
    """``a = ? AND b = ?`` for the key columns, with the (converted) values."""
    args = [to_db(values[name], meta.columns[name], meta.dialect) for name in key]
    cond = " AND ".join(f"{meta.columns[name].quoted} = {mark.format(i)}" for i, name in enumerate(key, 1))
    return cond, args


@asynccontextmanager
async def connect(url: str, *, upsert: bool = False) -> AsyncIterator[Connection]:
    """One connection for one node call, closed after it. ``upsert``: the call is an upsert.
    MySQL counts an UPDATE's matched rows (what PostgreSQL and SQLite count) only with
    CLIENT_FOUND_ROWS, and tells an upsert's inserted, updated and unchanged rows apart only
    without it, so a MySQL connection is opened for its call's kind."""
    dialect = dialect_of(url)
    if dialect == "postgresql":
        import asyncpg

        try:
            raw = await asyncpg.connect(url, timeout=10)
        # ValueError and InterfaceError: a URL asyncpg cannot parse (a port that is not a number)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError, ValueError) as exc:
            raise NodeExecutionError(f"cannot connect to {mask(url)}: {exc}") from None
        try:
            yield PgConnection(raw)
        finally:
            await raw.close()
    elif dialect == "mysql":
        import asyncmy.errors
        from asyncmy.constants import CLIENT

        from dfmigrate.dialects.mysql.connect import connect as mysql_connect

        try:
            my = await mysql_connect(url, client_flag=0 if upsert else CLIENT.FOUND_ROWS,
                                     stmt_cache_size=_MYSQL_STATEMENT_CACHE, init_command=_MYSQL_SESSION)
        except (OSError, asyncmy.errors.Error, asyncio.TimeoutError, DfmigrateError) as exc:
            raise NodeExecutionError(f"cannot connect to {mask(url)}: {exc}") from None
        try:
            yield MysqlConnection(my)
        finally:
            my.close()
    else:
        try:
            lite = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise NodeExecutionError(f"cannot open {mask(url)}: {exc}") from None
        try:
            lite.execute("PRAGMA foreign_keys=ON")
            lite.create_function("regexp", 2, _sqlite_regexp, deterministic=True)
            yield SqliteConnection(lite)
        finally:
            lite.close()


# --- errors --------------------------------------------------------------------------------------
_SQLITE_COLUMNS = re.compile(r"(UNIQUE|NOT NULL) constraint failed: (.+)$")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (.+)$")
_MYSQL_KEY = re.compile(r"for key '(.+)'$")
_MYSQL_COLUMN = re.compile(r"^(?:Column|Field) '(.+?)' ")
_MYSQL_CONSTRAINT = re.compile(r"CONSTRAINT `((?:[^`]|``)+)`|[Cc]heck constraint '(.+?)' is violated")
_MYSQL_NOT_NULL = (1048, 1364)  # "Column 'x' cannot be null", "Field 'x' doesn't have a default value"


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
    if module == "asyncmy":
        return _mysql_error(meta, node, exc)
    if isinstance(exc, sqlite3.IntegrityError):
        name = _sqlite_constraint(meta, str(exc))
        return ConstraintViolationError(f"{node}: constraint {name} violated: {exc}", name)
    if isinstance(exc, sqlite3.Error):
        return NodeExecutionError(f"{node}: {type(exc).__name__}: {exc}")
    return None


def _mysql_error(meta: ModelMeta, node: str, exc: BaseException) -> NodeExecutionError | None:
    import asyncmy.errors

    if not isinstance(exc, asyncmy.errors.MySQLError):
        return None
    code = exc.args[0] if exc.args else None
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = f"({code}) {message}"
    constraint: str | None = None
    if code in _MYSQL_NOT_NULL:
        m = _MYSQL_COLUMN.search(message)
        constraint = f"{meta.table_name}.{m.group(1) if m else '?'} NOT NULL"
    elif code == 1062:  # MySQL 8 says 'table.key', MariaDB 'key'
        m = _MYSQL_KEY.search(message)
        constraint = m.group(1).removeprefix(f"{meta.table_name}.") if m else None
    elif isinstance(exc, asyncmy.errors.IntegrityError) or code in (3819, 4025):
        m = _MYSQL_CONSTRAINT.search(message)
        constraint = (m.group(1).replace("``", "`") if m.group(1) else m.group(2)) if m else None
    else:
        return NodeExecutionError(f"{node}: {type(exc).__name__}: {text}")
    return ConstraintViolationError(f"{node}: constraint {constraint} violated: {text}", constraint)


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


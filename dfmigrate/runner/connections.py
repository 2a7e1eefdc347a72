"""One connection interface for every dialect: ``execute``/``fetch`` with ``$n`` parameters, a
``transaction()`` context manager, and rows indexable by column name and by position alike.

Kailash's runner hands migrations a raw driver connection and assumes asyncpg's API (``fetch``,
``$n`` placeholders, ``execute(sql, *args)``), which aiosqlite does not have (kailash-notes §1).
The runner here talks only to these adapters: ``PgConnection`` wraps asyncpg unchanged;
``SqliteConnection`` wraps a stdlib ``sqlite3`` connection in autocommit mode so that the
runner, not the driver, decides where transactions begin and end (``BEGIN IMMEDIATE`` …
``COMMIT``), and translates ``$n`` to SQLite's numbered ``?n``; ``MysqlConnection`` wraps
asyncmy, translating ``$n`` to its ``%s``.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from typing import Any

from dfmigrate.aio import sqlite_write_transaction
from dfmigrate.errors import DfmigrateError
from dfmigrate.urls import mask, url_dialect

_DOLLAR_PARAM = re.compile(r"\$(\d+)")


class ConnectionError_(DfmigrateError):
    """The database named by the URL cannot be opened."""


def dialect_of(url: str) -> str:
    """The dialect of a database the runner can apply to."""
    dialect = url_dialect(url)
    if dialect in ("postgresql", "sqlite", "mysql"):
        return dialect
    raise DfmigrateError(f"unsupported database URL '{mask(url)}': expected postgresql://…, mysql://… "
                         "(or mariadb://…) or sqlite:///path")


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs.db`` → ``/abs.db`` (SQLAlchemy's spelling)."""
    if not url.startswith("sqlite:///"):
        raise DfmigrateError(f"a SQLite database is written sqlite:///path, not '{url}'")
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if path in ("", ":memory:"):
        raise DfmigrateError("an in-memory SQLite database forgets its migrations: give a file, sqlite:///path")
    return path


class Row(tuple):  # type: ignore[type-arg]
    """One SQLite row with asyncpg ``Record``'s reading interface: by name, by position, ``get``,
    ``keys``/``values``/``items``, and ``dict(row)``."""

    _names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: tuple[Any, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._names else default

    def keys(self) -> tuple[str, ...]:
        return self._names

    def values(self) -> tuple[Any, ...]:
        return tuple(self)

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self))

    def __repr__(self) -> str:
        return "<Row " + " ".join(f"{k}={v!r}" for k, v in self.items()) + ">"


class PgConnection:
    """asyncpg, as is: the runner's dialect-neutral calls are asyncpg's own, and its records are
    the rows (by name and by position)."""

    dialect = "postgresql"
    script = False

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @property
    def pid(self) -> int:
        return int(self.raw.get_server_pid())

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self.raw.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.raw.fetch(sql, *args))

    def transaction(self) -> Any:
        return self.raw.transaction()

    async def close(self) -> None:
        # close() waits for the server to acknowledge; terminate() is the fallback when the
        # task is being cancelled (Ctrl-C), so the socket never outlives the run.
        try:
            await self.raw.close(timeout=5)
        except BaseException:
            self.raw.terminate()
            raise


class SqliteConnection:
    """A sqlite3 connection behind the async interface. Queries run inline: a local file
    answers in microseconds. ``threaded`` (the connection ``migrate`` and ``rollback`` apply
    with) runs ``execute`` in a worker thread instead, one call at a time, so that the event
    loop keeps going during a long statement: the reporter's line for a statement running over
    a second appears, and a Ctrl-C interrupts the statement instead of waiting for its end."""

    dialect = "sqlite"
    script = False
    pid = 0

    def __init__(self, raw: sqlite3.Connection, threaded: bool = False) -> None:
        self.raw = raw
        self.threaded = threaded  # raw must then be opened with check_same_thread=False
        self.file_lock: Any = None  # the run's migration lock (guard.sqlite_lock), released at close

    async def execute(self, sql: str, *args: Any) -> Any:
        # Each call yields once: sqlite3 never suspends, so without this a Ctrl-C (asyncio.run
        # cancels the main task) would only land after the whole run, not between statements.
        await asyncio.sleep(0)
        if self.threaded:
            return await self._off_loop(sql, args)
        return self._execute(sql, args)

    def _execute(self, sql: str, args: tuple[Any, ...]) -> Any:
        if args:
            return self.raw.execute(_qmarks(sql), args)
        # Without arguments asyncpg runs several ;-separated statements, and hand-written
        # migrations rely on it; executescript() would COMMIT the runner's transaction first.
        cursor = None
        for statement in split_statements(sql):
            cursor = self.raw.execute(statement)
        return cursor

    async def _off_loop(self, sql: str, args: tuple[Any, ...]) -> Any:
        task = asyncio.ensure_future(asyncio.to_thread(self._execute, sql, args))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # interrupted (Ctrl-C): stop the statement, and let the worker let go of the
            # connection before the caller rolls back on it
            self.raw.interrupt()
            await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # "interrupted", expected: retrieved so asyncio does not log it
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        await asyncio.sleep(0)
        cursor = self.raw.execute(_qmarks(sql) if args else sql, args)
        names = tuple(d[0] for d in cursor.description or ())
        return [Row(names, row) for row in cursor.fetchall()]

    def transaction(self) -> Any:
        # IMMEDIATE: a second runner waits for the write lock instead of both reading the ledger
        return sqlite_write_transaction(self.raw)

    async def close(self) -> None:
        try:
            if self.raw.in_transaction:  # interrupted mid-migration: undo, never half-commit
                self.raw.execute("ROLLBACK")
            self.raw.close()
        finally:
            if self.file_lock is not None:  # after the rollback: the next run must not see it half-done
                self.file_lock.close()


class MysqlConnection:
    """asyncmy in autocommit mode: each DDL statement commits by itself anyway, so the runner
    runs MySQL's DDL outside any transaction, and ``transaction()`` (``START TRANSACTION`` …
    ``COMMIT``) holds only rows (the history, a data step). ``$n`` parameters become ``%s`` in
    the order they appear; an aware datetime parameter is sent as UTC (DATETIME has no zone)."""

    dialect = "mysql"
    script = False

    def __init__(self, raw: Any, pid: int, mariadb: bool = False, database: str = "") -> None:
        self.raw = raw
        self.pid = pid  # CONNECTION_ID(): what the processlist and IS_USED_LOCK() show
        self.mariadb = mariadb  # the server is MariaDB (its settings and syntax differ from MySQL's)
        self.database = database  # the one the URL names (the session never leaves it: no USE is sent)
        # the last SET SESSION the guard's timeouts sent here: a session setting stays until it is
        # set again, so the same one is not sent again (None: unknown, e.g. after a failed SET)
        self.session_settings: str | None = None

    @classmethod
    async def open(cls, url: str) -> MysqlConnection:
        from dfmigrate.dialects.mysql.connect import connect as mysql_connect
        from dfmigrate.dialects.mysql.connect import connect_kwargs

        database = connect_kwargs(url).get("db")
        if not database:
            raise DfmigrateError(f"{mask(url)}: a MySQL URL must name a database (mysql://host/db)")
        raw = await mysql_connect(url)
        async with raw.cursor() as cur:
            # no notes ("table already exists" for each CREATE TABLE IF NOT EXISTS of the
            # history): the driver logs every one; warnings about the data still show
            await cur.execute("SET SESSION sql_notes = 0")
            await cur.execute("SELECT CONNECTION_ID(), VERSION()")
            pid, version = await cur.fetchone()
        return cls(raw, int(pid), "mariadb" in str(version).lower(), database)

    async def _cursor_run(self, sql: str, args: tuple[Any, ...]) -> tuple[tuple[str, ...], list[Any]]:
        if args:
            order = [int(n) - 1 for n in _DOLLAR_PARAM.findall(sql)]
            sql = _DOLLAR_PARAM.sub("%s", sql.replace("%", "%%"))
            args = tuple(_mysql_value(args[i]) for i in order)
        async with self.raw.cursor() as cur:
            await cur.execute(sql, args or None)
            names = tuple(d[0] for d in cur.description or ())
            return names, list(await cur.fetchall()) if names else []

    async def execute(self, sql: str, *args: Any) -> None:
        await self._cursor_run(sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        names, rows = await self._cursor_run(sql, args)
        return [Row(names, tuple(r)) for r in rows]

    def transaction(self) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def block() -> Any:
            await self.execute("START TRANSACTION")
            try:
                yield
            except BaseException:
                await self.execute("ROLLBACK")
                raise
            await self.execute("COMMIT")

        return block()

    async def close(self) -> None:
        self.raw.close()  # an open transaction ends with the session: rolled back, never half-committed


def _mysql_value(value: Any) -> Any:
    from datetime import datetime, timezone

    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class ScriptConnection:
    """Runs nothing: every statement the executor would send is appended to ``lines`` (with its
    parameters written in as literals), transactions as ``BEGIN;`` … ``COMMIT;``. Reads answer
    nothing, so a dry run plans as if no migration had started."""

    script = True
    pid = 0

    def __init__(self, dialect: str, *, history: bool = False) -> None:
        self.dialect = dialect
        # True: an offline script a DBA runs, which must record each migration's history row
        # itself; False: a dry run, which only says where the runner would record it
        self.history = history
        self.lines: list[str] = []

    async def execute(self, sql: str, *args: Any) -> None:
        text = _DOLLAR_PARAM.sub(lambda m: _literal(args[int(m.group(1)) - 1]), sql) if args else sql
        self.lines.append(" ".join(text.split()) + ";" if args else text.rstrip().rstrip(";") + ";")

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return []

    def comment(self, text: str) -> None:
        self.lines.append(f"-- {text}")

    def transaction(self) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def block() -> Any:
            self.lines.append("BEGIN;")
            yield
            self.lines.append("COMMIT;")

        return block()

    async def close(self) -> None:
        return None


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def split_statements(sql: str) -> list[str]:
    """``sql`` cut at the semicolons that end a statement (not those in strings or trigger
    bodies: ``sqlite3.complete_statement`` decides)."""
    out, buffer = [], ""
    for part in sql.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\n;"):
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \t\n;"):
        out.append(buffer.rstrip(";").strip())  # an unterminated last statement
    return out


def _qmarks(sql: str) -> str:
    return _DOLLAR_PARAM.sub(r"?\1", sql)


async def connect(url: str) -> PgConnection | SqliteConnection | MysqlConnection:
    """Open the database a URL names. A SQLite file is created if missing (``migrate`` is what
    brings a new database into existence); read-only callers check existence first."""
    if dialect_of(url) == "mysql":
        import asyncmy.errors

        try:
            return await MysqlConnection.open(url)
        except (OSError, asyncmy.errors.Error, TimeoutError) as exc:
            raise ConnectionError_(f"cannot connect to {mask(url)}: {' '.join(str(exc).split())}") from None
    if dialect_of(url) == "postgresql":
        import asyncpg

        try:
            # named, so that a waiting run's message (and pg_stat_activity) says who holds what
            # no named prepared statements: a transaction-pooling proxy (PgBouncer) may run the
            # next statement on another server connection, where the name does not exist
            return PgConnection(await asyncpg.connect(url, timeout=10, statement_cache_size=0,
                                                      server_settings={"application_name": "dfmigrate"}))
        # ValueError and InterfaceError: a URL asyncpg cannot parse (a port that is not a
        # number, an unclosed IPv6 bracket) is the user's input, not an internal error
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError, ValueError) as exc:
            raise ConnectionError_(f"cannot connect to {mask(url)}: {' '.join(str(exc).split())}") from None
    return open_sqlite(sqlite_path(url))


def open_sqlite(path: str) -> SqliteConnection:
    try:
        # check_same_thread=False: statements run in a worker thread (SqliteConnection.threaded),
        # never two at once
        raw = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ConnectionError_(f"cannot open SQLite database {path}: {exc}") from None
    # Enforced while migrating, so that data migrations and rebuilds cannot leave dangling rows
    # (rebuilds switch it off around themselves, outside the transaction).
    raw.execute("PRAGMA foreign_keys=ON")
    return SqliteConnection(raw, threaded=True)

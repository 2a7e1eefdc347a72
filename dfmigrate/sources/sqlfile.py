"""A ``.sql`` file → ``Schema``: the file is run in a scratch database of the dialect, which is
then introspected. Only the database can canonicalize SQL text (types, expressions, view
bodies), so parsing the file ourselves would never compare equal to a live database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from dfmigrate.errors import SourceError
from dfmigrate.core.schema import Schema
from dfmigrate.urls import mask, with_database

NEEDS_DEV_URL = "a .sql source needs a PostgreSQL server to load into: pass --dev-url"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


def _line_of(text: str, position: str | int | None) -> int | None:
    """1-based line of a 1-based character position as PostgreSQL reports it."""
    try:
        offset = int(position) - 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return text.count("\n", 0, max(offset, 0)) + 1


async def load_sql_file(path: str, dialect: str, dev_url: str | None) -> Schema:
    text = _read(path)
    if dialect == "sqlite":
        return await _load_sqlite(path, text)
    if dialect == "mysql":
        if dev_url is None:
            raise SourceError(f"{path}: a .sql source on MySQL needs a server: --dev-url mysql://…, "
                              "or a MySQL database on the other side")
        return await _load_mysql(path, text, dev_url)
    if dialect != "postgresql":
        raise SourceError(f"{path}: unknown dialect {dialect!r}")
    if dev_url is None:
        raise SourceError(NEEDS_DEV_URL)
    return await _load_postgres(path, text, dev_url)


async def _load_sqlite(path: str, text: str) -> Schema:
    from dfmigrate.sources.sqlite import inspect_sqlite_connection  # another module; keep imports lazy

    conn = sqlite3.connect(":memory:")
    try:
        try:
            conn.executescript(text)
        except sqlite3.Error as exc:
            raise SourceError(f"{path}: {' '.join(str(exc).split())}") from None
        return inspect_sqlite_connection(conn)
    finally:
        conn.close()


def _scratch_error(path: str, dev_url: str) -> Callable[[Exception], Exception]:
    def create_error(exc: Exception) -> Exception:
        return SourceError(f"{path}: cannot create a scratch database on {mask(dev_url)}: "
                           f"{' '.join(str(exc).split())}")

    return create_error


async def _load_postgres(path: str, text: str, dev_url: str) -> Schema:
    import asyncpg

    from dfmigrate.scratch import scratch_database
    from dfmigrate.sources.postgres import connect, inspect_postgres_connection

    async with scratch_database(dev_url, _scratch_error(path, dev_url)) as name:
        # The script expects the server's default search_path; introspection sets its own.
        conn = await connect(with_database(dev_url, name), for_catalog=False)
        try:
            try:
                await conn.execute(text)  # simple protocol: runs a multi-statement script like psql
            except asyncpg.PostgresError as exc:
                raise SourceError(_sql_error(path, text, exc)) from None
            # One connection: a scratch schema is small, and a fresh database makes every new
            # connection rebuild its relation cache, which costs more than the queries.
            return await inspect_postgres_connection(conn)
        finally:
            await conn.close()


async def _load_mysql(path: str, text: str, dev_url: str) -> Schema:
    """The server parses the script (``BEGIN … END`` bodies included; ``DELIMITER`` is a client
    command and is not understood)."""
    import asyncmy.errors

    from dfmigrate.dialects.mysql.connect import connect
    from dfmigrate.scratch import scratch_database
    from dfmigrate.sources.mysql import inspect_connection

    async with scratch_database(dev_url, _scratch_error(path, dev_url)) as name:
        conn = await connect(with_database(dev_url, name), scripts=True)
        try:
            async with conn.cursor() as cur:
                try:
                    await cur.execute(text)
                    while await cur.nextset():  # a failing statement raises when its result is read
                        pass
                except asyncmy.errors.Error as exc:
                    raise SourceError(f"{path}: {' '.join(str(exc).split())}") from None
            return await inspect_connection(conn, name)
        finally:
            conn.close()


def _sql_error(path: str, text: str, exc: Exception) -> str:
    line = _line_of(text, getattr(exc, "position", None))
    where = f"{path}:{line}" if line else path
    return f"{where}: {' '.join(str(exc).split())}"

"""Every database resource a command opens is owned by a Kailash ``ResourceRegistry``.

A command opens a ``session()``; resources are registered as factories and created on first
``get_resource``; the session's ``finally`` runs ``registry.cleanup()``, on success, on error and
on Ctrl-C (``asyncio.run`` cancels the main task, and cancellation runs ``finally``). So no
connection and no scratch database outlives a run.

``ResourceRegistry.cleanup()`` closes resources concurrently and logs (does not raise) errors
(kailash-notes §6): a scratch database is therefore one resource that closes its own connection
before dropping the database (``WITH (FORCE)`` as a second guard), never two resources racing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.runner.connections import PgConnection, SqliteConnection, connect, open_sqlite
from dfmigrate.sources import without_ledger
from dfmigrate.urls import mask, with_database

SCRATCH_PREFIX = "dfm_scratch_"


def _factory_base() -> type:
    from kailash.resources.factory import ResourceFactory

    return ResourceFactory


class ScratchDatabase:
    """An empty database to replay migrations into, dropped at cleanup."""

    def __init__(self, conn: PgConnection | SqliteConnection, admin_url: str | None, name: str | None) -> None:
        self.conn = conn
        self.admin_url, self.name = admin_url, name

    async def aclose(self) -> None:
        try:
            await self.conn.close()
        finally:
            if self.admin_url and self.name:
                await _admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def connection_factory(url: str) -> Any:
    """Factory of the target database connection (created lazily, closed at cleanup)."""

    class ConnectionFactory(_factory_base()):  # type: ignore[misc]
        async def create(self) -> PgConnection | SqliteConnection:
            return await connect(url)

        def get_config(self) -> dict[str, Any]:
            return {"url": mask(url)}

    return ConnectionFactory()


def scratch_factory(dialect: str, server_url: str | None) -> Any:
    """Factory of a scratch database: in-memory SQLite, or a uniquely named PostgreSQL database
    on ``server_url`` (``--dev-url`` or the target's server)."""

    class ScratchFactory(_factory_base()):  # type: ignore[misc]
        async def create(self) -> ScratchDatabase:
            if dialect == "sqlite":
                return ScratchDatabase(open_sqlite(":memory:"), None, None)
            if not server_url:
                from dfmigrate.errors import DfmigrateError

                raise DfmigrateError("a PostgreSQL scratch database needs a server: pass --dev-url")
            # the process id, as in dfmigrate.scratch: a run can tell its own leftovers from others'
            name = f"{SCRATCH_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
            await _admin(server_url, f'CREATE DATABASE "{name}"')
            try:
                conn = await connect(with_database(server_url, name))
            except BaseException:
                await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                raise
            return ScratchDatabase(conn, server_url, name)

        def get_config(self) -> dict[str, Any]:
            return {"dialect": dialect, "server": mask(server_url or "")}

    return ScratchFactory()


@asynccontextmanager
async def session() -> AsyncIterator[Any]:
    """A fresh registry whose resources are all cleaned up when the block exits, however."""
    from kailash.resources import ResourceRegistry

    registry = ResourceRegistry(enable_metrics=False)
    try:
        yield registry
    finally:
        await registry.cleanup()


# ---------------------------------------------------------------- schemas the commands compare


async def live_schema(conn: PgConnection | SqliteConnection) -> Any:
    """Introspect through the command's own connection (no second connection to the server)."""
    import inspect

    if conn.dialect == "postgresql":
        from dfmigrate.sources.postgres import inspect_postgres_connection

        return without_ledger(await inspect_postgres_connection(conn.raw))
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    result = inspect_sqlite_connection(conn.raw)
    return without_ledger(await result if inspect.isawaitable(result) else result)


async def replayed_schema(registry: Any, files: list[Any], all_files: list[Any], directory: str,
                          dialect: str, server_url: str | None) -> Any:
    """The schema ``files`` (a prefix of the directory, in order) produce. The whole directory
    goes through ``schema_of_directory`` (cached by the sum); a prefix is replayed here, by our
    own runner, into a scratch database the registry owns."""
    from dfmigrate.runner.runner import DfmigrateRunner

    if [f.id for f in files] == [f.id for f in all_files[:len(files)]]:  # a prefix: folded, cached by the sum
        from dfmigrate.migrations.replay import schema_of_directory

        return without_ledger(await schema_of_directory(directory, dialect, server_url, upto=len(files)))
    if not files:
        from dfmigrate.migrations.replay import empty_schema

        return empty_schema(dialect)
    name = f"scratch-{len(files)}"
    registry.register_factory(name, scratch_factory(dialect, server_url))
    scratch = await registry.get_resource(name)
    runner = DfmigrateRunner(scratch.conn, files)
    await runner.initialize()
    await runner.execute_plan(await runner.plan_forward())
    return await live_schema(scratch.conn)

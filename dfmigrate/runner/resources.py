"""Every database resource a command opens is owned by a Kailash ``ResourceRegistry``.

A command opens a ``session()``; resources are registered as factories and created on first
``get_resource``; the session's ``finally`` runs ``registry.cleanup()``, on success, on error and
on Ctrl-C (``asyncio.run`` cancels the main task, and cancellation runs ``finally``). So no
connection and no scratch database outlives a run.

A scratch database (replaying part of a directory) comes from ``dfmigrate.scratch``, the one
scratch-database path, which owns its drop the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.runner.connections import PgConnection, SqliteConnection, connect, open_sqlite
from dfmigrate.sources import without_ledger
from dfmigrate.urls import mask, with_database

def _factory_base() -> type:
    from kailash.resources.factory import ResourceFactory

    return ResourceFactory


def connection_factory(url: str) -> Any:
    """Factory of the target database connection (created lazily, closed at cleanup)."""

    class ConnectionFactory(_factory_base()):  # type: ignore[misc]
        async def create(self) -> PgConnection | SqliteConnection:
            return await connect(url)

        def get_config(self) -> dict[str, Any]:
            return {"url": mask(url)}

    return ConnectionFactory()


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
    if conn.dialect == "postgresql":
        from dfmigrate.sources.postgres import inspect_postgres_connection

        return without_ledger(await inspect_postgres_connection(conn.raw))
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    return without_ledger(inspect_sqlite_connection(conn.raw))


async def replayed_schema(files: list[Any], all_files: list[Any], directory: str,
                          dialect: str, server_url: str | None) -> Any:
    """The schema ``files`` (a prefix of the directory, in order) produce. The whole directory
    goes through ``schema_of_directory`` (cached by the sum); a prefix is replayed here, by our
    own runner, into a scratch database (dropped when done, even when cancelled)."""

    if [f.id for f in files] == [f.id for f in all_files[:len(files)]]:  # a prefix: folded, cached by the sum
        from dfmigrate.migrations.replay import schema_of_directory

        return without_ledger(await schema_of_directory(directory, dialect, server_url, upto=len(files)))
    if not files:
        from dfmigrate.migrations.replay import empty_schema

        return empty_schema(dialect)
    if dialect == "sqlite":
        return await _replay(open_sqlite(":memory:"), files)
    if not server_url:
        from dfmigrate.errors import DfmigrateError

        raise DfmigrateError("a PostgreSQL scratch database needs a server: pass --dev-url")
    from dfmigrate.scratch import scratch_database

    def create_error(exc: Exception) -> Exception:
        from dfmigrate.errors import DfmigrateError

        return DfmigrateError(f"cannot create a scratch database on {mask(server_url)}: {exc}")

    async with scratch_database(server_url, create_error) as name:  # the one scratch-database path
        return await _replay(await connect(with_database(server_url, name)), files)


async def _replay(conn: PgConnection | SqliteConnection, files: list[Any]) -> Any:
    """Apply ``files`` with our own runner on a fresh database, read it back, close it."""
    from dfmigrate.runner.runner import DfmigrateRunner

    try:
        runner = DfmigrateRunner(conn, files)
        await runner.initialize()
        await runner.execute_plan(await runner.plan_forward())
        return await live_schema(conn)
    finally:
        await conn.close()

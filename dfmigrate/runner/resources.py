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

from dfmigrate.runner.connections import MysqlConnection, PgConnection, SqliteConnection, connect
from dfmigrate.sources import without_ledger
from dfmigrate.urls import mask

def _factory_base() -> type:
    from kailash.resources.factory import ResourceFactory

    return ResourceFactory


def connection_factory(url: str) -> Any:
    """Factory of the target database connection (created lazily, closed at cleanup)."""

    class ConnectionFactory(_factory_base()):  # type: ignore[misc]
        async def create(self) -> PgConnection | SqliteConnection | MysqlConnection:
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


async def live_schema(conn: PgConnection | SqliteConnection | MysqlConnection) -> Any:
    """Introspect through the command's own connection (no second connection to the server)."""
    if conn.dialect == "postgresql":
        from dfmigrate.sources.postgres import inspect_postgres_connection

        return without_ledger(await inspect_postgres_connection(conn.raw))
    if conn.dialect == "mysql":
        from dfmigrate.sources.mysql import inspect_connection

        return without_ledger(await inspect_connection(conn.raw, conn.database))
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    return without_ledger(inspect_sqlite_connection(conn.raw))


async def replayed_schema(files: list[Any], all_files: list[Any], directory: str,
                          dialect: str, server_url: str | None) -> Any:
    """The schema ``files`` (in order) produce: a prefix of the directory is folded (cached by
    the sum); any other selection (a history with a gap) is replayed on a scratch database by
    the directory's own replay, which runs each file through the executor."""
    from dfmigrate.directory.replay import replay_migrations, schema_of_directory

    if [f.id for f in files] == [f.id for f in all_files[:len(files)]]:
        return without_ledger(await schema_of_directory(directory, dialect, server_url, upto=len(files)))
    from dfmigrate.directory import as_dir, load_migration

    store = as_dir(directory)
    return without_ledger(await replay_migrations(store, [load_migration(store, f.name) for f in files],
                                                  dialect, server_url))

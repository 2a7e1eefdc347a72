"""Scratch databases on a PostgreSQL or MySQL/MariaDB server, owned by a Kailash ResourceRegistry.

`.sql` sources and `migrations:DIR` replays load into a database that must not outlive the
command, whatever ends it: the registry's cleanup drops it, and that cleanup is finished even
when Ctrl-C cancels the command while it runs. The name carries the pid, so a process (and its
tests) can tell its own scratch databases from another's. The server is the one the URL's scheme
names; each kind says how to create and drop a database there (``_SERVERS``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.aio import finish_uncancelled
from dfmigrate.urls import mask, url_dialect

SCRATCH_PREFIX = "dfm_scratch_"


class _Postgres:
    """An admin connection to a PostgreSQL server."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> _Postgres:
        from dfmigrate.sources.postgres import connect

        return cls(await connect(url, for_catalog=False))

    @staticmethod
    def errors() -> tuple[type[BaseException], ...]:
        import asyncpg

        return (asyncpg.PostgresError,)

    async def create(self, name: str) -> None:
        await self.conn.execute(f'CREATE DATABASE "{name}"')

    async def drop(self, name: str) -> None:
        # FORCE ends sessions a script may have left connected (dblink, a hung statement)
        await self.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        await self.conn.close()


class _MySQL:
    """An admin connection to a MySQL or MariaDB server."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> _MySQL:
        import asyncio

        import asyncmy.errors

        from dfmigrate.dialects.mysql.connect import connect
        from dfmigrate.errors import SourceError

        try:
            return cls(await connect(url))
        except (asyncmy.errors.Error, OSError, asyncio.TimeoutError) as exc:
            raise SourceError(f"cannot connect to {mask(url)}: {' '.join(str(exc).split())}") from None

    @staticmethod
    def errors() -> tuple[type[BaseException], ...]:
        import asyncmy.errors

        return (asyncmy.errors.Error,)

    async def _execute(self, sql: str) -> None:
        async with self.conn.cursor() as cur:
            await cur.execute(sql)

    async def create(self, name: str) -> None:
        await self._execute(f"CREATE DATABASE `{name}`")

    async def drop(self, name: str) -> None:
        await self._execute(f"DROP DATABASE IF EXISTS `{name}`")

    async def close(self) -> None:
        self.conn.close()


_SERVERS: dict[str, type[_Postgres] | type[_MySQL]] = {"postgresql": _Postgres, "mysql": _MySQL}


class ScratchDatabase:
    def __init__(self, name: str, server: _Postgres | _MySQL) -> None:
        self.name, self.server = name, server

    async def aclose(self) -> None:
        """Called by ResourceRegistry.cleanup()."""
        try:
            await self.server.drop(self.name)
        finally:
            await self.server.close()


def _factory(dev_url: str, create_error: Callable[[Exception], Exception]) -> Any:
    from kailash.resources.factory import ResourceFactory

    kind = _SERVERS[url_dialect(dev_url) or ""]

    class ScratchFactory(ResourceFactory):  # type: ignore[misc]
        async def create(self) -> ScratchDatabase:
            name = f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
            server = await kind.open(dev_url)
            try:
                await server.create(name)
            except kind.errors() as exc:
                await server.close()
                raise create_error(exc) from None
            return ScratchDatabase(name, server)

        def get_config(self) -> dict[str, Any]:
            return {"server": mask(dev_url)}

    return ScratchFactory()


@asynccontextmanager
async def scratch_database(dev_url: str, create_error: Callable[[Exception], Exception]) -> AsyncIterator[str]:
    """Yield the name of a new, empty database on ``dev_url`` (a PostgreSQL or MySQL URL); it
    is dropped on exit. ``create_error`` turns a failed CREATE DATABASE into the caller's
    user-facing error."""
    from kailash.resources import ResourceRegistry

    registry = ResourceRegistry(enable_metrics=False)
    registry.register_factory("scratch", _factory(dev_url, create_error))
    try:
        try:
            scratch = await registry.get_resource("scratch")
        except Exception as exc:  # the registry may wrap the factory's error: surface ours
            from dfmigrate.errors import DfmigrateError

            cause = exc if isinstance(exc, DfmigrateError) else exc.__cause__
            raise (cause if isinstance(cause, DfmigrateError) else exc) from None
        yield scratch.name
    finally:
        await finish_uncancelled(registry.cleanup())

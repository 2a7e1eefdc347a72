"""Scratch PostgreSQL databases, owned by a Kailash ResourceRegistry.

`.sql` sources and `migrations:DIR` replays load into a database that must not outlive the
command, whatever ends it: the registry's cleanup drops it, and that cleanup is finished even
when Ctrl-C cancels the command while it runs. The name carries the pid, so a process (and its
tests) can tell its own scratch databases from another's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.aio import finish_uncancelled
from dfmigrate.urls import mask

SCRATCH_PREFIX = "dfm_scratch_"


class ScratchDatabase:
    def __init__(self, name: str, admin: Any) -> None:
        self.name, self.admin = name, admin

    async def aclose(self) -> None:
        """Called by ResourceRegistry.cleanup(). FORCE ends sessions a script may have left
        connected (dblink, a hung statement)."""
        try:
            await self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await self.admin.close()


def _factory(dev_url: str, create_error: Callable[[Exception], Exception]) -> Any:
    from kailash.resources.factory import ResourceFactory

    class ScratchFactory(ResourceFactory):  # type: ignore[misc]
        async def create(self) -> ScratchDatabase:
            import asyncpg

            from dfmigrate.sources.postgres import connect

            name = f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
            admin = await connect(dev_url, for_catalog=False)
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.PostgresError as exc:
                await admin.close()
                raise create_error(exc) from None
            return ScratchDatabase(name, admin)

        def get_config(self) -> dict[str, Any]:
            return {"server": mask(dev_url)}

    return ScratchFactory()


@asynccontextmanager
async def scratch_database(dev_url: str, create_error: Callable[[Exception], Exception]) -> AsyncIterator[str]:
    """Yield the name of a new, empty database on ``dev_url``; it is dropped on exit.
    ``create_error`` turns a failed CREATE DATABASE into the caller's user-facing error."""
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

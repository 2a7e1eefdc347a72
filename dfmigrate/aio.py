"""Small async helpers shared by the modules that own database connections."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any


async def finish_uncancelled(coro: Awaitable[Any]) -> None:
    """Await ``coro`` to the end even if this task is cancelled meanwhile (Ctrl-C under
    asyncio.run cancels the main task while it sits in a ``finally``), then re-raise the
    cancellation: a scratch database must be dropped whatever interrupts the command."""
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    task.result()


@asynccontextmanager
async def sqlite_write_transaction(conn: sqlite3.Connection) -> AsyncIterator[None]:
    """One write transaction on a stdlib SQLite connection. IMMEDIATE takes the write lock up
    front, so a second writer waits (busy timeout) instead of both reading and then colliding."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

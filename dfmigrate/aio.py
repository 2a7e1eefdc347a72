"""Small asyncio helpers shared by the modules that own scratch databases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
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

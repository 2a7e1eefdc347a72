"""Who blocks a running step, and how far an index build has got: one background task per
statement, on a connection of its own (the observer), asking the dialect's sessions reader
(``precheck.PgSessions``: ``pg_blocking_pids()`` and ``pg_stat_progress_create_index``;
``mysql_sessions.MysqlSessions``: the holders of the table's metadata lock while the statement
waits for it) every ``poll`` seconds.

The observer connection is used by nothing else while the task runs: the pre-check before a step
runs on it before the task starts, and ``stop()`` awaits the task before anything else touches
it. The task's error is never dropped: ``stop()`` returns it, and the caller reports it.

Read-only catalog queries: nothing here cancels or terminates any session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Observed:
    """Blockers of one session over one statement attempt."""

    waiter: int
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)
    longest_wait: float = 0.0


class BlockerWatch:
    """``start()`` before a statement, ``stop()`` after it (also when it failed)."""

    def __init__(self, observer: Any, sessions: Any, waiter: int, step: Any, poll: float, deadlocks: Any,
                 timeout: float, on_progress: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self.observer, self.sessions, self.step = observer, sessions, step
        self.poll, self.deadlocks, self.timeout = poll, deadlocks, timeout
        self.observed = Observed(waiter)
        self.on_progress = on_progress
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> str | None:
        """Ends the task; returns its error, if it had one (to be reported by the caller)."""
        task, self._task = self._task, None
        if task is None:
            return None
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return None
        except Exception as exc:  # returned: the caller reports it with the step
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _run(self) -> None:
        started = None
        shown = 0.0
        while True:
            await asyncio.sleep(self.poll)
            rows = await self.sessions.blocking(self.observer, self.observed.waiter, self.step)
            if rows:
                started = started or time.monotonic()
                self.observed.longest_wait = max(self.observed.longest_wait, time.monotonic() - started + self.poll)
                for row in rows:
                    self.observed.seen[row["pid"]] = row
                    if self.deadlocks is not None:
                        held = [tuple(x.rsplit(":", 1)) for x in (row["held"] or "").split(",") if ":" in x]
                        await self.deadlocks.observe(self.observed.waiter, {"pid": row["pid"], "held": held},
                                                     row["wanted"] or "lock:?", self.timeout)
            else:
                started = None
            if self.on_progress is not None and time.monotonic() - shown >= 2.0:
                progress = await self.sessions.progress(self.observer, self.observed.waiter)
                if progress:
                    shown = time.monotonic()
                    await self.on_progress(progress)

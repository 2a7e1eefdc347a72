"""Who blocks a running step, and how far an index build has got: one background task per
statement, on a connection of its own (the observer), reading ``pg_blocking_pids()`` of the
migration's backend and ``pg_stat_progress_create_index`` every ``poll`` seconds.

The observer connection is used by nothing else while the task runs: the pre-check before a step
runs on it before the task starts, and ``stop()`` awaits the task before anything else touches
it. The task's error is never dropped: ``stop()`` returns it, and the caller reports it.

Read-only catalog queries: nothing here cancels or terminates any session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_BLOCKERS = """
SELECT b.pid, b.state, b.application_name, left(regexp_replace(b.query, '\\s+', ' ', 'g'), 120) AS query,
       round(extract(epoch FROM now() - b.xact_start)::numeric, 1)::float8 AS xact_age,
       (SELECT string_agg(DISTINCT l.relation::regclass::text || ':' || l.mode, ',')
          FROM pg_locks l WHERE l.pid = b.pid AND l.granted AND l.relation IS NOT NULL
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held,
       (SELECT w.locktype || ':' || COALESCE(w.relation::regclass::text, w.transactionid::text, '?') || ':' || w.mode
          FROM pg_locks w WHERE w.pid = $1 AND NOT w.granted LIMIT 1) AS wanted
  FROM pg_stat_activity b
 WHERE b.pid = ANY (pg_blocking_pids($1))
 ORDER BY b.pid
"""

_INDEX_PROGRESS = """
SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total, lockers_done, lockers_total
  FROM pg_stat_progress_create_index WHERE pid = $1
"""


@dataclass
class Observed:
    """Blockers of one backend over one statement attempt."""

    waiter: int
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)
    longest_wait: float = 0.0


def describe(blockers: Iterable[dict[str, Any]]) -> str:
    """The blocking sessions as a failure message names them ('' when none was seen)."""
    return ", ".join(
        f"pid {b['pid']} ({b['state'] or '?'}, transaction age {b['xact_age'] if b['xact_age'] is not None else '?'} s,"
        f" holds {b['held'] or '?'}, query {b['query']!r})" for b in blockers)


class BlockerWatch:
    """``start()`` before a statement, ``stop()`` after it (also when it failed)."""

    def __init__(self, observer: Any, waiter: int, poll: float, deadlocks: Any, timeout: float,
                 on_progress: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self.observer, self.poll, self.deadlocks, self.timeout = observer, poll, deadlocks, timeout
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
            rows = await self.observer.fetch(_BLOCKERS, self.observed.waiter)
            if rows:
                started = started or time.monotonic()
                self.observed.longest_wait = max(self.observed.longest_wait, time.monotonic() - started + self.poll)
                for row in rows:
                    self.observed.seen[row["pid"]] = dict(row)
                    if self.deadlocks is not None:
                        held = [tuple(x.rsplit(":", 1)) for x in (row["held"] or "").split(",") if ":" in x]
                        await self.deadlocks.observe(self.observed.waiter, {"pid": row["pid"], "held": held},
                                                     row["wanted"] or "lock:?", self.timeout)
            else:
                started = None
            if self.on_progress is not None and time.monotonic() - shown >= 2.0:
                progress = await self.observer.fetch(_INDEX_PROGRESS, self.observed.waiter)
                if progress:
                    shown = time.monotonic()
                    await self.on_progress(dict(progress[0]))

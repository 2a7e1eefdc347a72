"""Who blocks a migration: ``pg_blocking_pids()`` of the migration's backend, read from a second
connection (the lock connection) while a statement runs, every ``poll`` seconds.

Read-only catalog queries: nothing here cancels or terminates any session.
"""

from __future__ import annotations

import asyncio
import time
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


@dataclass
class Watch:
    """Blockers of one backend, accumulated over the statements of one migration attempt."""

    waiter: int
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)
    longest_wait: float = 0.0
    error: str | None = None

    def describe(self) -> str:
        if not self.seen:
            return "no blocker was observed (it released before it could be read)"
        return "; ".join(
            f"pid {b['pid']} ({b['state'] or '?'}, transaction age {b['xact_age'] if b['xact_age'] is not None else '?'} s,"
            f" holds {b['held'] or '?'}, query {b['query']!r})" for b in self.seen.values())


async def blockers(observer: Any, pid: int) -> list[dict[str, Any]]:
    return await observer.fetch(_BLOCKERS, pid)


async def watch(observer: Any, watch_: Watch, poll: float, deadlocks: Any, timeout: float) -> None:
    """Run until cancelled: record every session blocking ``watch_.waiter`` and register each
    wait with the deadlock detector."""
    started = None
    while True:
        await asyncio.sleep(poll)
        rows = await blockers(observer, watch_.waiter)
        if not rows:
            started = None
            continue
        started = started or time.monotonic()
        watch_.longest_wait = max(watch_.longest_wait, time.monotonic() - started + poll)
        for row in rows:
            held = [tuple(x.rsplit(":", 1)) for x in (row["held"] or "").split(",") if ":" in x]
            watch_.seen[row["pid"]] = row
            if deadlocks is not None:
                await deadlocks.observe(watch_.waiter, {"pid": row["pid"], "held": held},
                                        row["wanted"] or "lock:?", timeout)

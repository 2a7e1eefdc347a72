"""The migration lock on MySQL and MariaDB: one named lock per database (``GET_LOCK``), polled
with a zero timeout, never waited on, so that a run that gives up can say who holds it: the
holder is read from the processlist (``IS_USED_LOCK`` names its connection).

The lock is taken on the migration connection itself, not on one of its own as on PostgreSQL:
MySQL's DDL has no lock queue a waiter could deadlock in, and a session's named locks live until
the session ends, which is the point. When a run is killed (kill -9) in the middle of a
statement, the server goes on executing it, and the session (with the lock) ends only when the
statement has finished and its result cannot be sent. A rerun therefore waits until the dead
run's last statement is over, and then reads a catalog that no longer changes: what it finds
is final (``dialects.mysql.resume``).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from dfmigrate.guard.lock import Held, LockBusy

_HOLDER = """SELECT ID, USER, HOST, COMMAND, TIME, STATE, LEFT(INFO, 80) AS INFO
FROM information_schema.PROCESSLIST WHERE ID = IS_USED_LOCK($1)"""


def lock_name(database: str) -> str:
    """Named locks are server-wide: the database's name keeps two databases apart (at most 64
    characters, MySQL's limit)."""
    return f"dfmigrate:{database}"[:64]


def describe_holder(h: dict[str, Any] | None) -> str:
    if h is None:
        return "by a session that released it just now"
    doing = f"running {' '.join(str(h['INFO']).split())!r}" if h.get("INFO") else f"{h.get('COMMAND') or '?'}"
    return (f"by connection {h['ID']} ({h.get('USER') or '?'}@{h.get('HOST') or '?'}, {doing} "
            f"for {h.get('TIME')} s)")


class MysqlMigrationLock:
    """The lock on ``conn`` (the migration connection), for one run."""

    def __init__(self, conn: Any, *, wait: float, poll: float) -> None:
        self.conn, self.wait, self.poll = conn, wait, poll
        self.name = ""
        self.held: Held | None = None

    async def holder(self) -> dict[str, Any] | None:
        rows = await self.conn.fetch(_HOLDER, self.name)
        return dict(rows[0].items()) if rows else None

    async def acquire(self) -> Held:
        """Poll for the lock for up to ``wait`` seconds; raise ``LockBusy`` naming the holder."""
        database = (await self.conn.fetch("SELECT DATABASE() AS db"))[0]["db"]
        self.name = lock_name(database)
        started = time.monotonic()
        attempts, seen = 0, []
        while True:
            attempts += 1
            rows = await self.conn.fetch("SELECT GET_LOCK($1, 0) AS ok", self.name)
            if rows[0]["ok"] == 1:
                self.held = Held(self.conn.pid, time.monotonic() - started, attempts, seen)
                return self.held
            h = await self.holder()
            if h is not None and h["ID"] not in seen:
                seen.append(h["ID"])
            left = self.wait - (time.monotonic() - started)
            if left <= 0:
                raise LockBusy(f"another dfmigrate run is migrating this database: lock {self.name!r} held "
                               f"{describe_holder(h)}; gave up after {time.monotonic() - started:.1f} s and "
                               f"{attempts} attempt(s) (--lock-wait {self.wait:g})")
            await asyncio.sleep(min(left, self.poll * random.uniform(0.5, 1.5)))

    async def release(self) -> bool:
        """False if this session did not hold it (closing the connection releases it anyway)."""
        held, self.held = self.held, None
        if held is None:
            return True
        rows = await self.conn.fetch("SELECT RELEASE_LOCK($1) AS ok", self.name)
        return rows[0]["ok"] == 1

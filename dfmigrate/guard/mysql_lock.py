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

from typing import Any

from dfmigrate.guard.lock import Held, poll_lock
from dfmigrate.guard.mysql_sessions import SessionHolder, named_sessions


def lock_name(database: str) -> str:
    """Named locks are server-wide: the database's name keeps two databases apart (at most 64
    characters, MySQL's limit)."""
    return f"dfmigrate:{database}"[:64]


def describe_holder(h: SessionHolder | None) -> str:
    return f"by {h.describe()}" if h is not None else "by a session that released it just now"


class MysqlMigrationLock:
    """The lock on ``conn`` (the migration connection), for one run."""

    def __init__(self, conn: Any, *, wait: float, poll: float) -> None:
        self.conn, self.wait, self.poll = conn, wait, poll
        self.name = lock_name(conn.database)
        self.held: Held | None = None

    async def holder(self) -> SessionHolder | None:
        """The session holding the lock (``IS_USED_LOCK`` names its connection), as the guard
        names any session (``mysql_sessions``)."""
        found = await named_sessions(self.conn, "p.ID = IS_USED_LOCK($1)", self.name)
        return found[0] if found else None

    async def acquire(self) -> Held:
        """Poll for the lock for up to ``wait`` seconds; raise ``LockBusy`` naming the holder."""
        async def take() -> tuple[bool, int | None, str]:
            rows = await self.conn.fetch("SELECT GET_LOCK($1, 0) AS ok", self.name)
            if rows[0]["ok"] == 1:
                return True, None, ""
            h = await self.holder()
            return False, h.pid if h else None, describe_holder(h)

        waited, attempts, seen = await poll_lock(take, f"lock {self.name!r}", wait=self.wait, poll=self.poll)
        self.held = Held(self.conn.pid, waited, attempts, seen)
        return self.held

    async def release(self) -> bool:
        """False if this session did not hold it (closing the connection releases it anyway)."""
        held, self.held = self.held, None
        if held is None:
            return True
        rows = await self.conn.fetch("SELECT RELEASE_LOCK($1) AS ok", self.name)
        return rows[0]["ok"] == 1

"""The race guard: one PostgreSQL session advisory lock per database, polled, never waited on.

Taken and released on a dedicated connection (not the one migrations run on) with no
transaction open, by polling ``pg_try_advisory_lock``: a blocking ``pg_advisory_lock`` waiter
sits in the lock queue where ``CREATE INDEX CONCURRENTLY`` (which waits for every older
transaction, including the waiter's) can deadlock with it, and it gives no chance to say who
holds the lock. On timeout the message names the holder from ``pg_locks`` ⨝ ``pg_stat_activity``.

Advisory locks are per database, so one key per history table is "database + history table".
A session lock needs the same server session from take to release: behind a transaction-pooling
proxy (PgBouncer ``pool_mode=transaction``) that is not guaranteed; ``acquire`` checks that the
backend that took the lock still holds it and refuses otherwise. ``--lock-mode transaction``
holds a transaction-level lock in a transaction kept open instead, which such a proxy pins to
one server connection (docs/guarded-apply.md).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dfmigrate.errors import DfmigrateError

LOCK_KEY = 0x64666D6967726174  # "dfmigrat": the session lock (bigint key)

_HOLDER = """
SELECT l.pid, a.application_name, a.backend_start, a.state, a.state_change, a.usename,
       host(a.client_addr) AS client
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid
   AND l.objsubid = 1
"""


class LockBusy(DfmigrateError):
    """The advisory lock stayed held for the whole ``--lock-wait``."""


@dataclass
class Held:
    pid: int  # our backend
    waited: float  # seconds until we got it
    attempts: int
    holders_seen: list[int]
    orphans_waited: float = 0.0  # seconds spent waiting for a dead run's backends (runner._claim_session)
    mode: str = "session"  # or "transaction": held by a transaction left open on the lock connection


async def holder(conn: Any, key: int = LOCK_KEY) -> dict[str, Any] | None:
    rows = await conn.fetch(_HOLDER, key)
    return rows[0] if rows else None


def describe_holder(h: dict[str, Any] | None) -> str:
    if h is None:
        return "by a session that released it just now"
    since = h.get("backend_start")
    since = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if since else "?"
    who = f"{h.get('usename') or '?'}@{h.get('client') or 'local'}"
    return (f"by pid {h['pid']} (application_name {h.get('application_name') or ''!r}, {who}, "
            f"session since {since}, state {h.get('state') or '?'})")


async def acquire(conn: Any, wait: float, poll: float, race: Any = None, key: int = LOCK_KEY,
                  mode: str = "session") -> Held:
    """Poll for the advisory lock on ``conn`` for up to ``wait`` seconds; raise ``LockBusy``
    naming the holder on timeout.

    ``session``: ``pg_try_advisory_lock`` outside any transaction. ``transaction``:
    ``pg_try_advisory_xact_lock`` in a transaction that stays open until ``release`` commits
    it; a transaction-pooling proxy (PgBouncer ``pool_mode=transaction``) keeps one server
    connection for a client for as long as its transaction is open, so the lock cannot move to
    another client, and it cannot leak: the proxy does not reuse the server connection before
    the transaction ends. The runner's blocker watch queries this connection every ``poll``
    seconds while statements run, which keeps the transaction from counting as idle."""
    started = time.monotonic()
    attempts, seen = 0, []
    xact = mode == "transaction"
    while True:
        attempts += 1
        if xact:
            await conn.execute("BEGIN")
        rows = await conn.fetch(f"SELECT pg_try_advisory{'_xact' if xact else ''}_lock($1) AS ok, "
                                "pg_backend_pid() AS pid", key)
        got = bool(rows[0]["ok"])
        our_pid = rows[0]["pid"]
        h = None if got else await holder(conn, key)
        if h is not None and h["pid"] not in seen:
            seen.append(h["pid"])
        if race is not None:
            await race.attempt(got, h["pid"] if h else None, our_pid)
        if got:
            if not xact:  # inside a transaction the server session cannot change under us
                await _verify(conn, key, rows[0]["pid"])
            since = datetime.now(timezone.utc).strftime("%H:%M:%SZ")
            # visible to the next waiter's message: who holds it and since when (for the
            # transaction only in transaction mode: a pooled session must not keep the name)
            await conn.fetch("SELECT set_config('application_name', $1, $2)", f"dfmigrate migrate, lock since {since}",
                             xact)
            if race is not None:
                await race.hold(our_pid)
            return Held(rows[0]["pid"], time.monotonic() - started, attempts, seen, mode=mode)
        if xact:
            await conn.execute("ROLLBACK")
        left = wait - (time.monotonic() - started)
        if left <= 0:
            waited = time.monotonic() - started
            raise LockBusy(f"another dfmigrate run is migrating this database: advisory lock held {describe_holder(h)}; "
                           f"gave up after {waited:.1f} s and {attempts} attempt(s) (--lock-wait {wait:g})")
        await asyncio.sleep(min(left, poll * random.uniform(0.5, 1.5)))


async def _verify(conn: Any, key: int, pid: int) -> None:
    """The backend that answered ``true`` must be the one holding it now (a transaction-pooling
    proxy may hand the next statement to another server session)."""
    rows = await conn.fetch("SELECT pg_backend_pid() AS now, "
                            "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $2"
                            " AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1) AS held", key, pid)
    if rows[0]["now"] != pid or not rows[0]["held"]:
        await conn.fetch("SELECT pg_advisory_unlock($1)", key)
        raise DfmigrateError("the advisory lock did not stay with its server session (a transaction-pooling proxy such "
                             "as PgBouncer in transaction mode?): connect directly or through session pooling "
                             "(docs/guarded-apply.md)")


async def release(conn: Any, race: Any = None, key: int = LOCK_KEY, mode: str = "session") -> bool:
    """Unlock explicitly (closing the connection would also release it). False if this session
    did not hold it."""
    try:
        if mode == "transaction":  # ending the transaction releases the lock
            await conn.execute("ROLLBACK")
            return True
        rows = await conn.fetch("SELECT pg_advisory_unlock($1) AS ok", key)
        return bool(rows[0]["ok"])
    finally:
        if race is not None:
            await race.release()

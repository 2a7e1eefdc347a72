"""The migration lock: one PostgreSQL advisory lock per database, polled, never waited on.

Taken and released on a dedicated connection (not the one migrations run on) by polling
``pg_try_advisory_lock``: a blocking ``pg_advisory_lock`` waiter sits in the lock queue where
``CREATE INDEX CONCURRENTLY`` (which waits for every older transaction, including the waiter's)
can deadlock with it, and it gives no chance to say who holds the lock. On timeout the message
names the holder from ``pg_locks`` ⨝ ``pg_stat_activity``.

Two protocols (``--lock-mode``):

- ``session``: a session-level lock outside any transaction. It needs the same server session
  from take to release, which a transaction-pooling proxy (PgBouncer ``pool_mode=transaction``)
  does not give: the next statement may run on another server session, and the lock stays on a
  pooled one after the run.
- ``transaction``: a transaction-level lock in a transaction kept open until the run ends. A
  pooling proxy keeps one server connection for a client while its transaction is open, and
  cannot hand it to anyone before the transaction ends, which releases the lock: safe behind any
  proxy, never left held.
- ``auto`` (the default): ``transaction`` when the connection goes through a proxy, else
  ``session``. A proxy shows as a client port, seen by the server, that is not our socket's.

Either way the holders are checked once we hold it, through ``RaceConditionDetectorNode``
(``detectors.RaceGuard``): another backend holding the lock, or another run's token on our own
server session (a proxy sharing one session between clients), stops the run before any DDL.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dfmigrate.errors import DfmigrateError

LOCK_KEY = 0x64666D6967726174  # "dfmigrat": the one advisory lock key (bigint)
_TOKEN = "dfmigrate.lock_owner"  # a session setting naming the run that holds the lock on it
# The migration connection's name while it applies: a backend still carrying it while another run
# holds the lock belongs to a run that died (kill -9) and has not noticed yet.
APPLYING = "dfmigrate migrate: applying"
_CHECK_CLIENT_MS = 250  # client_connection_check_interval (PostgreSQL 14+): see claim_session

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
    mode: str = "session"  # or "transaction": held by a transaction left open on the lock connection
    proxied: bool = False  # the connection goes through a pooling proxy
    orphans_waited: float = 0.0  # seconds spent waiting for a dead run's backends (claim_session)

    def to_dict(self) -> dict[str, Any]:
        return {"backend_pid": self.pid, "waited_s": round(self.waited, 3), "attempts": self.attempts,
                "contended": bool(self.holders_seen), "holders_seen": self.holders_seen, "mode": self.mode,
                "proxied": self.proxied, "orphans_waited_s": self.orphans_waited}


async def holders(conn: Any, key: int = LOCK_KEY) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_HOLDER, key)]


def describe_holder(h: dict[str, Any] | None) -> str:
    if h is None:
        return "by a session that released it just now"
    since = h.get("backend_start")
    since = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if since else "?"
    who = f"{h.get('usename') or '?'}@{h.get('client') or 'local'}"
    return (f"by pid {h['pid']} (application_name {h.get('application_name') or ''!r}, {who}, "
            f"session since {since}, state {h.get('state') or '?'})")


async def proxied(conn: Any) -> bool:
    """Whether ``conn`` reaches the server through a proxy: the client port the server sees is
    not our socket's (a Unix socket, with no port on either side, is direct)."""
    rows = await conn.fetch("SELECT inet_client_port() AS port")
    seen = rows[0]["port"]
    try:
        local = conn.raw._transport.get_extra_info("sockname")  # asyncpg keeps no public accessor
    except AttributeError:  # not an asyncpg connection as we know it: assume the worst
        return True
    ours = local[1] if isinstance(local, tuple) and len(local) >= 2 else None
    return seen != ours


async def poll_lock(take: Callable[[], Awaitable[tuple[bool, int | None, str]]], what: str, *,
                    wait: float, poll: float) -> tuple[float, int, list[int]]:
    """The poll loop of both migration locks (this one, ``mysql_lock``): ``take()`` tries once and
    answers (got it, the holder's session id or None, the holder as the message names it); tried
    every ~``poll`` seconds (jittered, so that waiting runs do not try in step) for up to ``wait``
    seconds, then ``LockBusy`` names the last holder seen. Returns (seconds waited, attempts,
    the holders seen, in order)."""
    started = time.monotonic()
    attempts, seen = 0, []
    while True:
        attempts += 1
        got, holder, described = await take()
        if holder is not None and holder not in seen:
            seen.append(holder)
        if got:
            return time.monotonic() - started, attempts, seen
        waited = time.monotonic() - started
        left = wait - waited
        if left <= 0:
            raise LockBusy(f"another dfmigrate run is migrating this database: {what} held {described}; gave up "
                           f"after {waited:.1f} s and {attempts} attempt(s) (--lock-wait {wait:g})")
        await asyncio.sleep(min(left, poll * random.uniform(0.5, 1.5)))


class MigrationLock:
    """The lock on ``conn`` (a connection of its own), for one run."""

    def __init__(self, conn: Any, race: Any, run_id: str, *, wait: float, poll: float, mode: str = "auto",
                 key: int = LOCK_KEY) -> None:
        self.conn, self.race, self.run_id = conn, race, run_id
        self.wait, self.poll, self.mode, self.key = wait, poll, mode, key
        self.held: Held | None = None

    async def acquire(self) -> Held:
        """Poll for the lock for up to ``wait`` seconds; raise ``LockBusy`` naming the holder on
        timeout, ``RaceDetected`` when it turns out held twice."""
        behind_proxy = await proxied(self.conn)
        mode = self.mode if self.mode != "auto" else ("transaction" if behind_proxy else "session")
        xact = mode == "transaction"
        ours: dict[str, Any] = {}

        async def take() -> tuple[bool, int | None, str]:
            if xact:
                await self.conn.execute("BEGIN")
            rows = await self.conn.fetch(
                f"SELECT pg_try_advisory{'_xact' if xact else ''}_lock($1) AS ok, pg_backend_pid() AS pid, "
                f"coalesce(current_setting('{_TOKEN}', true), '') AS owner", self.key)
            got = bool(rows[0]["ok"])
            h = None if got else next(iter(await holders(self.conn, self.key)), None)
            await self.race.attempt(h["pid"] if h else None)
            if got:
                ours.update(pid=rows[0]["pid"], owner=rows[0]["owner"])
                return True, None, ""
            if xact:
                await self.conn.execute("ROLLBACK")
            return False, h["pid"] if h else None, describe_holder(h)

        waited, attempts, seen = await poll_lock(take, "advisory lock", wait=self.wait, poll=self.poll)
        our_pid = ours["pid"]
        self.held = Held(our_pid, waited, attempts, seen, mode=mode, proxied=behind_proxy)
        await self.race.hold(our_pid, self.run_id)
        await self._check_sole_holder(our_pid, ours["owner"], xact)
        since = datetime.now(timezone.utc).strftime("%H:%M:%SZ")
        # the token, and the name the next waiter's message shows (for the transaction
        # only in transaction mode: a pooled session must not keep them)
        await self.conn.fetch(f"SELECT set_config('{_TOKEN}', $1, $3), set_config('application_name', $2, $3)",
                              self.run_id, f"dfmigrate migrate, lock since {since}", xact)
        return self.held

    async def _check_sole_holder(self, our_pid: int, owner: str, xact: bool) -> None:
        """Any holder but us, now that we hold it, is a race for the node to judge: another run's
        token on our server session (a re-entrant take: the proxy gave us its session), or
        another backend holding it (our take ran on a server session we no longer have)."""
        try:
            if owner and owner != self.run_id:
                await self.race.other_holder(f"run {owner} on server session pid {our_pid}", f"run:{owner}")
            if not xact:
                rows = await self.conn.fetch("SELECT pg_backend_pid() AS pid")
                for h in await holders(self.conn, self.key):
                    if h["pid"] != rows[0]["pid"]:
                        await self.race.other_holder(f"pid {h['pid']} ({describe_holder(h)})", f"pg:{h['pid']}")
        except BaseException:
            await self._undo(xact)
            raise

    async def _undo(self, xact: bool) -> None:
        """Give back only our own take (a re-entrant take on a shared session counts once)."""
        held, self.held = self.held, None
        if xact:
            await self.conn.execute("ROLLBACK")
        elif held is not None:
            await self.conn.fetch("SELECT pg_advisory_unlock($1)", self.key)
        await self.race.release()

    async def release(self) -> bool:
        """Unlock explicitly (closing the connection would also release it). False if this
        session did not hold it."""
        held, self.held = self.held, None
        if held is None:
            return True
        try:
            if held.mode == "transaction":  # ending the transaction releases the lock and the token
                await self.conn.execute("ROLLBACK")
                return True
            rows = await self.conn.fetch(f"SELECT pg_advisory_unlock($1) AS ok, set_config('{_TOKEN}', '', false)",
                                         self.key)
            return bool(rows[0]["ok"])
        finally:
            await self.race.release()


async def claim_session(conn: Any, held: Held, wait: float, poll: float) -> None:
    """After a kill -9 the server ends an idle session at once (releasing the advisory lock),
    but a backend in the middle of a statement runs on until it next talks to its client: an
    orphaned ``CREATE INDEX CONCURRENTLY`` may even finish and commit. So (1) our own migration
    connection asks the server to poll for a vanished client every 250 ms
    (``client_connection_check_interval``, PostgreSQL 14+), and (2) before touching anything we
    wait until no backend of a dead run is still working here; only then is what the catalog
    shows final (``progress.settle`` relies on it). Behind a pooling proxy there is no session
    to name or configure (settings would stay on a pooled server session), so neither is done."""
    if held.proxied:
        return
    try:
        await conn.execute(f"SET client_connection_check_interval = {_CHECK_CLIENT_MS}")
    except Exception as exc:  # PostgreSQL < 14 lacks the setting: orphans end when their statement does
        if getattr(exc, "sqlstate", None) != "42704":  # undefined_object; anything else is a real failure
            raise
    await conn.fetch("SELECT set_config('application_name', $1, false)", APPLYING)
    wait = max(wait, 5.0)
    started = time.monotonic()
    while True:
        rows = await conn.fetch(
            "SELECT pid, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query,"
            " round(extract(epoch FROM now() - query_start)::numeric, 1)::float8 AS age FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'dfmigrate migrate%'"
            " AND state <> 'idle' AND pid <> pg_backend_pid() AND pid <> $1", held.pid)
        if not rows:
            held.orphans_waited = round(time.monotonic() - started, 3)
            return
        if time.monotonic() - started > wait:
            r = rows[0]
            raise DfmigrateError(
                f"pid {r['pid']}, the backend of an interrupted dfmigrate run, is still {r['state']} here "
                f"(query {r['query']!r}, for {r['age']} s); it stops when that statement ends or the server notices "
                f"its client is gone: run migrate again then (dfmigrate cancels no session; waited {wait:g} s)")
        await asyncio.sleep(poll)

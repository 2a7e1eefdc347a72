"""Before a step takes a strong lock: who holds a lock it would queue behind, and whom do they wait for?

PostgreSQL queues a lock request behind every conflicting holder, and every later request on the
relation (each application ``SELECT``) behind it: one idle-in-transaction reader can stall a
table for as long as the migration waits. So before such a step runs, the holders of a
conflicting lock on its target are read from ``pg_locks`` and ``pg_stat_activity``, each with the
sessions it waits for itself (``pg_blocking_pids``): that is the wait graph the deadlock detector
judges (``detectors.DeadlockGuard``), and ``--cancel-blockers`` (opt-in, never the default) can
end the holders first.

The step's lock and target are the step's own data (``Step.lock``, ``Step.target``), written by
the renderer; nothing here reads SQL. ``PgSessions`` is what the step guard and the blocker watch
ask (``mysql_sessions.MysqlSessions`` answers the same questions on MySQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# PostgreSQL's names of the table-level modes (as the renderer writes them) → pg_locks' spelling.
MODES = {
    "ACCESS SHARE": "AccessShareLock", "ROW SHARE": "RowShareLock", "ROW EXCLUSIVE": "RowExclusiveLock",
    "SHARE UPDATE EXCLUSIVE": "ShareUpdateExclusiveLock", "SHARE": "ShareLock",
    "SHARE ROW EXCLUSIVE": "ShareRowExclusiveLock", "EXCLUSIVE": "ExclusiveLock",
    "ACCESS EXCLUSIVE": "AccessExclusiveLock",
}
# The modes each requested mode conflicts with (PostgreSQL's table-level lock matrix), for the
# modes a migration step is checked for: those that conflict with some application traffic.
CONFLICTS = {
    "AccessExclusiveLock": ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
                            "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"],
    "ExclusiveLock": ["RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
                      "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"],
    "ShareRowExclusiveLock": ["RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
                              "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"],
    "ShareLock": ["RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock", "ExclusiveLock",
                  "AccessExclusiveLock"],
    "ShareUpdateExclusiveLock": ["ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock",
                                 "ExclusiveLock", "AccessExclusiveLock"],
}

_HOLDERS = """
SELECT l.pid, l.mode, a.state, a.application_name,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120) AS query,
       round(extract(epoch FROM now() - a.xact_start)::numeric, 1)::float8 AS xact_age,
       pg_blocking_pids(l.pid) AS waits_for
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.granted AND l.relation = to_regclass($1)
   AND l.mode = ANY ($2::text[]) AND l.pid <> pg_backend_pid() AND NOT (l.pid = ANY ($3::int[]))
 ORDER BY l.pid
"""


# who blocks a running statement (the blocker watch), with what they hold and what it waits for
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


@dataclass(frozen=True)
class LockTarget:
    relation: str  # "namespace.name", as the step names it
    mode: str  # pg_locks spelling, e.g. AccessExclusiveLock

    @property
    def regclass(self) -> str:
        """The relation quoted for ``to_regclass`` (names are case- and dot-sensitive)."""
        namespace, _, name = self.relation.partition(".")
        parts = [namespace, name] if name else [namespace]
        return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


@dataclass(frozen=True)
class Holder:
    pid: int
    mode: str
    state: str | None
    application_name: str | None
    query: str | None
    xact_age: float | None
    waits_for: tuple[int, ...] = field(default=())  # pg_blocking_pids of the holder itself

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "mode": self.mode, "state": self.state, "application_name": self.application_name,
                "query": self.query, "xact_age": self.xact_age, "waits_for": list(self.waits_for),
                "description": self.describe()}  # how the report's lines name it

    def describe(self) -> str:
        return (f"pid {self.pid} ({self.state or '?'}, transaction age "
                f"{self.xact_age if self.xact_age is not None else '?'} s, holds {self.mode}, query {self.query!r})")


def target_of(step: Any) -> LockTarget | None:
    """The lock a step takes on its target, when it is one that can queue behind others."""
    mode = MODES.get((step.lock or "").upper())
    if not step.target or mode not in CONFLICTS:
        return None
    return LockTarget(step.target, mode)


async def conflicting_holders(conn: Any, target: LockTarget, ours: list[int]) -> list[Holder]:
    """Sessions (other than ``ours``) holding a lock on the relation that conflicts with the
    step's; nothing when the relation does not exist yet."""
    rows = await conn.fetch(_HOLDERS, target.regclass, CONFLICTS[target.mode], ours)
    return [Holder(r["pid"], r["mode"], r["state"], r["application_name"], r["query"], r["xact_age"],
                   tuple(r["waits_for"] or ())) for r in rows]


async def end_sessions(conn: Any, pids: list[int]) -> list[int]:
    """``pg_terminate_backend`` each pid (``--cancel-blockers`` only): a cancel would not help, an
    idle-in-transaction session has no query to cancel and keeps its locks. Returns those ended."""
    ended = []
    for pid in pids:
        rows = await conn.fetch("SELECT pg_terminate_backend($1) AS ok", pid)
        if rows and rows[0]["ok"]:
            ended.append(pid)
    return ended


def describe(blockers: Iterable[dict[str, Any]]) -> str:
    """The blocking sessions the watch saw, as a failure message names them ('' when none was seen)."""
    return ", ".join(
        f"pid {b['pid']} ({b['state'] or '?'}, transaction age {b['xact_age'] if b['xact_age'] is not None else '?'} s,"
        f" holds {b['held'] or '?'}, query {b['query']!r})" for b in blockers)


class PgSessions:
    """PostgreSQL's answers to the step guard's questions (``stepguard``)."""

    prefix = "pg"  # the deadlock detector's transaction ids
    noun = "pid"
    source = "pg_locks"  # where the holders are read from

    def target_of(self, step: Any) -> LockTarget | None:
        return target_of(step)

    async def holders(self, observer: Any, target: LockTarget, ours: list[int]) -> list[Holder]:
        return await conflicting_holders(observer, target, ours)

    def held_by(self, holders: list[Holder]) -> str:
        return "held " + "; ".join(h.describe() for h in holders)

    def to_end(self, holders: list[Holder], ended: list[int]) -> list[int]:
        """All holders not ended yet: ``pg_terminate_backend`` only signals, and a backend keeps
        its locks until it has exited, so one already ended is waited for, not ended again."""
        return sorted({h.pid for h in holders} - set(ended))

    async def end(self, observer: Any, pids: list[int]) -> list[int]:
        return await end_sessions(observer, pids)

    async def blocking(self, observer: Any, waiter: int, step: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await observer.fetch(_BLOCKERS, waiter)]

    async def progress(self, observer: Any, waiter: int) -> dict[str, Any] | None:
        rows = await observer.fetch(_INDEX_PROGRESS, waiter)
        return dict(rows[0]) if rows else None

    def describe(self, blockers: Iterable[dict[str, Any]]) -> str:
        return describe(blockers)

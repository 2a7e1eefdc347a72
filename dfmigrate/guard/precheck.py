"""Before a step takes a strong lock: who holds a lock it would queue behind, and whom do they wait for?

PostgreSQL queues a lock request behind every conflicting holder, and every later request on the
relation (each application ``SELECT``) behind it: one idle-in-transaction reader can stall a
table for as long as the migration waits. So before such a step runs, the holders of a
conflicting lock on its target are read from ``pg_locks`` and ``pg_stat_activity``, each with the
sessions it waits for itself (``pg_blocking_pids``): that is the wait graph the deadlock detector
judges (``detectors.DeadlockGuard``), and ``--cancel-blockers`` (opt-in, never the default) can
end the holders first.

The step's lock and target are the step's own data (``Step.lock``, ``Step.target``), written by
the renderer; nothing here reads SQL.
"""

from __future__ import annotations

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
                "query": self.query, "xact_age": self.xact_age, "waits_for": list(self.waits_for)}

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

"""Before a statement takes a strong lock: who holds a lock it would queue behind?

PostgreSQL queues a lock request behind every conflicting holder, and every later request on the
relation (each application ``SELECT``) behind it: one idle-in-transaction reader can stall a
table for as long as the migration waits. ``lock_timeout`` bounds that wait; this check says
*before* the statement runs who would cause it, from ``pg_locks`` and ``pg_stat_activity``, so
the report names them even when the wait is too short to observe, the deadlock detector gets the
predicted wait, and ``--cancel-blockers`` (opt-in, never the default) can end them first.

Which relation a statement locks, and in which mode, is read from its text: the statements
dfmigrate writes start with the command and its target (``ALTER TABLE``, ``CREATE INDEX ... ON``,
``DROP TABLE``...). A statement it does not recognise is not checked (it still runs under
``lock_timeout``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"({_NAME}(?:\s*\.\s*{_NAME})?)"
_ALTER_TABLE = re.compile(rf"\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QUALIFIED}\s+(.*)", re.I | re.S)
_INDEX_ON = re.compile(rf"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?.*?\s+ON\s+(?:ONLY\s+)?{_QUALIFIED}",
                       re.I | re.S)
_DROP_TRUNCATE = re.compile(rf"\s*(?:DROP\s+TABLE|TRUNCATE(?:\s+TABLE)?)\s+(?:IF\s+EXISTS\s+)?{_QUALIFIED}", re.I)
_TRIGGER_ON = re.compile(rf"\s*(?:CREATE(?:\s+OR\s+REPLACE)?\s+TRIGGER|DROP\s+TRIGGER).*?\s+ON\s+{_QUALIFIED}", re.I | re.S)

# The modes each requested mode conflicts with (PostgreSQL's table-level lock matrix).
_CONFLICTS = {
    "AccessExclusiveLock": ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
                            "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"],
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
       round(extract(epoch FROM now() - a.xact_start)::numeric, 1)::float8 AS xact_age
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.granted AND l.relation = to_regclass($1)
   AND l.mode = ANY ($2::text[]) AND l.pid <> pg_backend_pid() AND NOT (l.pid = ANY ($3::int[]))
 ORDER BY l.pid
"""


@dataclass(frozen=True)
class LockTarget:
    relation: str  # as written in the statement (quoted parts kept): to_regclass reads it
    mode: str  # pg_locks spelling, e.g. AccessExclusiveLock


def lock_target(sql: str) -> LockTarget | None:
    """The relation a statement locks and the mode, or None when the text is not one we know."""
    m = _ALTER_TABLE.match(sql)
    if m:
        action = m.group(2).lstrip().upper()
        if action.startswith(("VALIDATE CONSTRAINT", "SET STATISTICS", "CLUSTER ON", "SET WITHOUT CLUSTER")):
            mode = "ShareUpdateExclusiveLock"
        elif action.startswith("ADD CONSTRAINT") and "FOREIGN KEY" in action:  # since PostgreSQL 9.5
            mode = "ShareRowExclusiveLock"
        else:
            mode = "AccessExclusiveLock"
        return LockTarget(m.group(1), mode)
    m = _INDEX_ON.match(sql)
    if m:
        return LockTarget(m.group(2), "ShareUpdateExclusiveLock" if m.group(1) else "ShareLock")
    m = _DROP_TRUNCATE.match(sql)
    if m:
        return LockTarget(m.group(1), "AccessExclusiveLock")
    m = _TRIGGER_ON.match(sql)
    if m:
        return LockTarget(m.group(1), "ShareRowExclusiveLock")
    return None


async def conflicting_holders(conn: Any, target: LockTarget, ours: list[int]) -> list[dict[str, Any]]:
    """Sessions (other than ``ours``) holding a lock on the relation that conflicts with the
    statement's; nothing when the relation does not exist yet."""
    return await conn.fetch(_HOLDERS, target.relation, _CONFLICTS[target.mode], ours)


async def end_sessions(conn: Any, pids: list[int]) -> list[int]:
    """``pg_terminate_backend`` each pid (``--cancel-blockers`` only): a cancel would not help, an
    idle-in-transaction session has no query to cancel and keeps its locks. Returns those ended."""
    ended = []
    for pid in pids:
        rows = await conn.fetch("SELECT pg_terminate_backend($1) AS ok", pid)
        if rows and rows[0]["ok"]:
            ended.append(pid)
    return ended

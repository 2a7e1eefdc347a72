"""The progress record of statements that run outside a transaction (docs/guarded-apply.md,
"Non-transactional steps").

A migration's ``non_transactional`` statements (``CREATE INDEX CONCURRENTLY`` and the like)
commit on their own, so the history row cannot commit with them. Each one is therefore
bracketed by rows of ``dfmigrate_progress``, committed before and after it: ``running`` before
it starts, ``done`` when it returned. The migration's transactional body writes a ``done`` row
for step 0 in its own transaction when statements still follow it outside. The history row is
written, and the migration's progress rows deleted, in one transaction after the last step; so
the table is empty whenever no migration is half-done.

A ``running`` row means the statement was interrupted (kill -9, a lost connection, a lock
timeout, an error), and whether it took effect is read from the catalog (``settle``): a named
``CREATE INDEX CONCURRENTLY`` whose index exists and is valid is complete, an invalid one is
dropped (``DROP INDEX CONCURRENTLY``) and the statement runs again; ``DROP INDEX
CONCURRENTLY`` is complete when the index is gone; ``ALTER TYPE ... ADD VALUE`` when the label
exists. Any other statement runs again, so it must be idempotent.

The table is created on first use, so databases whose migrations never leave a transaction do
not get it. Both dialects: SQLite's outside statements (``VACUUM``) are tracked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dfmigrate.runner.ledger import own_table, own_table_exists

PROGRESS_TABLE = "dfmigrate_progress"
BODY = 0  # the step number of a migration's transactional body

_DDL = {
    "postgresql": f"""CREATE TABLE IF NOT EXISTS public.{PROGRESS_TABLE} (
        migration_id text NOT NULL,
        direction text NOT NULL,
        step integer NOT NULL,
        checksum text NOT NULL,
        state text NOT NULL,
        statement text NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (migration_id, direction, step))""",
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (
        migration_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        step INTEGER NOT NULL,
        checksum TEXT NOT NULL,
        state TEXT NOT NULL,
        statement TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (migration_id, direction, step))""",
}


@dataclass(frozen=True)
class Row:
    migration_id: str
    direction: str
    step: int
    checksum: str
    state: str  # "running" | "done"
    statement: str


async def create(conn: Any) -> None:
    await conn.execute(" ".join(_DDL[conn.dialect].split()))


async def exists(conn: Any) -> bool:
    return await own_table_exists(conn, PROGRESS_TABLE)


async def read(conn: Any) -> list[Row]:
    if not await exists(conn):
        return []
    rows = await conn.fetch(f"SELECT * FROM {own_table(conn.dialect, PROGRESS_TABLE)} ORDER BY migration_id, direction, step")
    return [Row(r["migration_id"], r["direction"], int(r["step"]), r["checksum"], r["state"], r["statement"])
            for r in rows]


async def mark(conn: Any, migration_id: str, direction: str, step: int, checksum: str, state: str,
               statement: str) -> None:
    now = datetime.now(timezone.utc)
    at: Any = now if conn.dialect == "postgresql" else now.isoformat(timespec="microseconds")
    await conn.execute(
        f"""INSERT INTO {own_table(conn.dialect, PROGRESS_TABLE)} (migration_id, direction, step, checksum, state, statement, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (migration_id, direction, step) DO UPDATE SET checksum = excluded.checksum,
                state = excluded.state, statement = excluded.statement, updated_at = excluded.updated_at""",
        migration_id, direction, step, checksum, state, statement, at)


async def clear(conn: Any, migration_id: str) -> None:
    if await exists(conn):
        await conn.execute(f"DELETE FROM {own_table(conn.dialect, PROGRESS_TABLE)} WHERE migration_id = $1", migration_id)


# ---------------------------------------------------------------- what an interrupted statement left

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_CREATE_INDEX = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{_IDENT})\s+"
    rf"ON\s+(?:ONLY\s+)?(?P<table>{_QUALIFIED})", re.IGNORECASE)
_DROP_INDEX = re.compile(
    rf"^\s*DROP\s+INDEX\s+CONCURRENTLY\s+(?:IF\s+EXISTS\s+)?(?P<name>{_QUALIFIED})\s*(?:CASCADE|RESTRICT)?\s*;?\s*$",
    re.IGNORECASE)
_ADD_VALUE = re.compile(
    rf"^\s*ALTER\s+TYPE\s+(?P<type>{_QUALIFIED})\s+ADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?'(?P<label>(?:[^']|'')*)'",
    re.IGNORECASE)


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident.lower()


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def leaves_invalid_index(sql: str) -> bool:
    return bool(_CREATE_INDEX.match(sql))


@dataclass(frozen=True)
class Settled:
    complete: bool  # True: the statement took effect, skip it; False: run it (again)
    found: str  # what the catalog showed, for the report
    action: str  # what was done about it


async def settle(conn: Any, sql: str) -> Settled:
    """What an interrupted run of ``sql`` left, and the cleanup that makes running it again
    safe (an invalid index is dropped). Catalog reads only, except that one ``DROP INDEX
    CONCURRENTLY`` (under the caller's session lock_timeout)."""
    if conn.dialect != "postgresql":
        return Settled(False, "not checkable", "run again")
    m = _CREATE_INDEX.match(sql)
    if m:
        rows = await conn.fetch(
            "SELECT n.nspname, c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))",
            _unquote(m["name"]), m["table"])
        if not rows:
            return Settled(False, "no index", "run again")
        qualified = f"{_quote(rows[0]['nspname'])}.{_quote(rows[0]['relname'])}"
        if rows[0]["indisvalid"]:
            return Settled(True, f"index {qualified} valid", "none: already complete")
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}")
        return Settled(False, f"index {qualified} INVALID", "dropped it, run again")
    m = _DROP_INDEX.match(sql)
    if m:
        rows = await conn.fetch("SELECT to_regclass($1) IS NOT NULL AS present", m["name"])
        if rows[0]["present"]:
            return Settled(False, "index still there", "run again")
        return Settled(True, "index gone", "none: already complete")
    m = _ADD_VALUE.match(sql)
    if m:
        rows = await conn.fetch("SELECT EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = to_regtype($1)"
                                " AND enumlabel = $2) AS present", m["type"], m["label"].replace("''", "'"))
        if rows[0]["present"]:
            return Settled(True, "enum label present", "none: already complete")
        return Settled(False, "enum label absent", "run again")
    return Settled(False, "not checkable", "run again")

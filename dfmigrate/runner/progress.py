"""The progress record of a migration that runs in several transactions (docs/guarded-apply.md,
"Several transactions per migration").

A migration's steps run in groups (``dfmigrate.core.step.transaction_groups``): runs of transactional
steps that commit together, and steps that run outside any transaction (``CREATE INDEX
CONCURRENTLY``). When a migration has more than one group, each finished group is recorded in
``dfmigrate_progress`` by its index: a transactional group marks itself ``done`` in its own
transaction, so the mark and the group's work commit together; a step outside a transaction is
bracketed by ``running`` (committed before it starts) and ``done`` (after it returned). The
history row is written, and the migration's progress rows deleted, with the last group; so the
table is empty whenever no migration is half-done, and a rerun after a kill -9 at any point
skips the groups marked ``done`` and continues with the next.

A ``running`` row means an outside step was interrupted (kill -9, a lost connection, a lock
timeout, an error), and whether it took effect is read from the catalog, as the step's
``resume`` says (``settle``):

- ``index:NS.NAME`` (a ``CREATE INDEX CONCURRENTLY``): complete when the index exists and is
  valid; an invalid one is dropped (``DROP INDEX CONCURRENTLY``) and the step runs again;
- ``no-index:NS.NAME`` (a ``DROP INDEX CONCURRENTLY``): complete when the index is gone;
- ``enum-label:NS.TYPE:LABEL`` (``ALTER TYPE … ADD VALUE``): complete when the label exists.

A step without ``resume`` runs again, so it must be idempotent. The table is created on first
use, so databases whose migrations are one transaction each never get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dfmigrate.runner.ledger import own_table, own_table_exists

PROGRESS_TABLE = "dfmigrate_progress"

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
    "mysql": f"""CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (
        migration_id VARCHAR(255) NOT NULL,
        direction VARCHAR(16) NOT NULL,
        step INT NOT NULL,
        checksum VARCHAR(255) NOT NULL,
        state VARCHAR(16) NOT NULL,
        statement TEXT NOT NULL,
        updated_at DATETIME(6) NOT NULL,
        PRIMARY KEY (migration_id, direction, step)) ENGINE=InnoDB""",
}
_UPSERT = {
    "mysql": """ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), state = VALUES(state),
        statement = VALUES(statement), updated_at = VALUES(updated_at)""",
}
_UPSERT_STANDARD = """ON CONFLICT (migration_id, direction, step) DO UPDATE SET checksum = excluded.checksum,
        state = excluded.state, statement = excluded.statement, updated_at = excluded.updated_at"""


@dataclass(frozen=True)
class Row:
    migration_id: str
    direction: str
    group: int  # the group's index in the migration's transaction_groups (column "step")
    checksum: str
    state: str  # "running" | "done"
    statement: str  # what the group runs, for a person reading the table


async def create(conn: Any) -> None:
    await conn.execute(" ".join(_DDL[conn.dialect].split()))


async def exists(conn: Any) -> bool:
    return await own_table_exists(conn, PROGRESS_TABLE)


async def read(conn: Any) -> list[Row]:
    if conn.script or not await exists(conn):
        return []
    rows = await conn.fetch(f"SELECT * FROM {own_table(conn.dialect, PROGRESS_TABLE)} ORDER BY migration_id, direction, step")
    return [Row(r["migration_id"], r["direction"], int(r["step"]), r["checksum"], r["state"], r["statement"])
            for r in rows]


async def mark(conn: Any, migration_id: str, direction: str, group: int, checksum: str, state: str,
               statement: str) -> None:
    now = datetime.now(timezone.utc)
    at: Any = now if conn.dialect != "sqlite" else now.isoformat(timespec="microseconds")
    await conn.execute(
        f"""INSERT INTO {own_table(conn.dialect, PROGRESS_TABLE)} (migration_id, direction, step, checksum, state, statement, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) {_UPSERT.get(conn.dialect, _UPSERT_STANDARD)}""",
        migration_id, direction, group, checksum, state, statement, at)


async def clear(conn: Any, migration_id: str) -> None:
    if conn.script or await exists(conn):
        await conn.execute(f"DELETE FROM {own_table(conn.dialect, PROGRESS_TABLE)} WHERE migration_id = $1", migration_id)


# ---------------------------------------------------------------- what an interrupted step left


@dataclass(frozen=True)
class Settled:
    complete: bool  # True: the step took effect, skip it; False: run it (again)
    found: str  # what the catalog showed, for the report
    action: str  # what was done about it


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _split(qualified: str) -> tuple[str, str]:
    namespace, _, name = qualified.partition(".")
    return (namespace, name) if name else ("public", namespace)


def leaves_invalid_index(resume: str | None) -> bool:
    return bool(resume and resume.startswith("index:"))


async def settle(conn: Any, resume: str | None) -> Settled:
    """What an interrupted run of a step left, read as its ``resume`` says, and the cleanup that
    makes running it again safe (an invalid index is dropped). Catalog reads only, except that
    one ``DROP INDEX CONCURRENTLY`` (under the caller's session lock_timeout)."""
    if conn.dialect == "mysql" and resume:
        from dfmigrate.dialects.mysql.resume import settle as settle_mysql

        return await settle_mysql(conn, resume)
    if conn.dialect != "postgresql" or not resume:
        return Settled(False, "not checkable", "run again")
    what, _, arg = resume.partition(":")
    if what == "index":
        namespace, name = _split(arg)
        rows = await conn.fetch(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2", namespace, name)
        if not rows:
            return Settled(False, "no index", "run again")
        qualified = f"{_quote(namespace)}.{_quote(name)}"
        if rows[0]["indisvalid"]:
            return Settled(True, f"index {qualified} valid", "none: already complete")
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}")
        return Settled(False, f"index {qualified} INVALID", "dropped it, run again")
    if what == "no-index":
        namespace, name = _split(arg)
        rows = await conn.fetch("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                                " WHERE n.nspname = $1 AND c.relname = $2", namespace, name)
        if rows[0]["n"]:
            return Settled(False, "index still there", "run again")
        return Settled(True, "index gone", "none: already complete")
    if what == "enum-label":
        type_name, _, label = arg.partition(":")
        namespace, name = _split(type_name)
        rows = await conn.fetch("SELECT count(*) AS n FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
                                " JOIN pg_namespace n ON n.oid = t.typnamespace"
                                " WHERE n.nspname = $1 AND t.typname = $2 AND e.enumlabel = $3", namespace, name, label)
        if rows[0]["n"]:
            return Settled(True, "enum label present", "none: already complete")
        return Settled(False, "enum label absent", "run again")
    if what == "rerun":  # idempotent by design (a batched backfill writes only the rows still NULL)
        return Settled(False, "an idempotent step", "run again (it continues where it stopped)")
    return Settled(False, f"unknown resume check {resume!r}", "run again")

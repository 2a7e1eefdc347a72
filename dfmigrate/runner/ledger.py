"""The history table ``dfmigrate_history`` (docs/lifecycle.md, "The ledger").

Our own table rather than Kailash's ``kailash_migrations``: upstream declares ``applied_at
TIMESTAMP`` (naive) and writes aware datetimes, which asyncpg rejects on PostgreSQL; it keys on
``migration_id`` but only ever INSERTs, so a rolled-back migration can never be recorded again;
and its ``migration_hash`` covers id/description/dependencies, not the SQL (kailash-notes §1).
Here one row exists per applied migration: written by an upsert, deleted by rollback, both in the
transaction of the migration's DDL (the callers pass the connection inside that transaction).

Every statement uses ``$n`` parameters; the SQLite adapter maps them to ``?n``.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

HISTORY_TABLE = "dfmigrate_history"

_DDL = {
    "postgresql": f"""CREATE TABLE IF NOT EXISTS public.{HISTORY_TABLE} (
        migration_id text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        applied_by text NOT NULL,
        tool_version text NOT NULL,
        direction text NOT NULL)""",
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
        migration_id TEXT PRIMARY KEY,
        checksum TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        applied_by TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        direction TEXT NOT NULL)""",
}


def own_table(dialect: str, name: str) -> str:
    """How statements name one of dfmigrate's tables (history, progress, timings)."""
    return f"public.{name}" if dialect == "postgresql" else name


@dataclass(frozen=True)
class HistoryRow:
    migration_id: str
    checksum: str
    applied_at: datetime
    duration_ms: int
    applied_by: str
    tool_version: str
    direction: str  # how it got there: "forward" (migrate), "baseline", "resolved"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["applied_at"] = self.applied_at.isoformat()
        return data


def _one_line(ddl: str) -> str:
    return " ".join(ddl.split())  # stored as written in sqlite_master: keep it tidy


def who() -> str:
    """user@host, for the applied_by column."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (containers without passwd entries)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


async def create(conn: Any) -> None:
    await conn.execute(_one_line(_DDL[conn.dialect]))


async def exists(conn: Any) -> bool:
    return await own_table_exists(conn, HISTORY_TABLE)


async def own_table_exists(conn: Any, name: str) -> bool:
    """Whether one of dfmigrate's tables (public.<name> on PostgreSQL) is there."""
    if conn.dialect == "postgresql":
        rows = await conn.fetch("SELECT to_regclass($1) IS NOT NULL AS present", own_table(conn.dialect, name))
    else:
        rows = await conn.fetch("SELECT count(*) > 0 AS present FROM sqlite_master WHERE name = $1", name)
    return bool(rows[0]["present"])


async def read(conn: Any) -> list[HistoryRow]:
    """All rows, oldest first; an absent table is an empty history (read-only commands never
    create it)."""
    if not await exists(conn):
        return []
    rows = await conn.fetch(f"SELECT * FROM {own_table(conn.dialect, HISTORY_TABLE)} ORDER BY applied_at, migration_id")
    return [_row(r) for r in rows]


async def read_one(conn: Any, migration_id: str) -> HistoryRow | None:
    rows = await conn.fetch(f"SELECT * FROM {own_table(conn.dialect, HISTORY_TABLE)} WHERE migration_id = $1", migration_id)
    return _row(rows[0]) if rows else None


def _row(r: dict[str, Any]) -> HistoryRow:
    applied_at = r["applied_at"]
    if isinstance(applied_at, str):  # SQLite stores ISO-8601 text
        applied_at = datetime.fromisoformat(applied_at)
    return HistoryRow(r["migration_id"], r["checksum"], applied_at, int(r["duration_ms"]),
                      r["applied_by"], r["tool_version"], r["direction"])


async def record(conn: Any, migration_id: str, checksum: str, duration_ms: int, direction: str) -> None:
    """Upsert: a migration rolled back and applied again gets its row back (upstream's plain
    INSERT hits the primary key, kailash-notes §1 #4)."""
    from dfmigrate import __version__

    now = datetime.now(timezone.utc)
    applied_at: Any = now if conn.dialect == "postgresql" else now.isoformat(timespec="microseconds")
    await conn.execute(
        f"""INSERT INTO {own_table(conn.dialect, HISTORY_TABLE)}
            (migration_id, checksum, applied_at, duration_ms, applied_by, tool_version, direction)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (migration_id) DO UPDATE SET checksum = excluded.checksum,
                applied_at = excluded.applied_at, duration_ms = excluded.duration_ms,
                applied_by = excluded.applied_by, tool_version = excluded.tool_version,
                direction = excluded.direction""",
        migration_id, checksum, applied_at, int(duration_ms), who(), __version__, direction,
    )


async def delete(conn: Any, migration_id: str) -> None:
    await conn.execute(f"DELETE FROM {own_table(conn.dialect, HISTORY_TABLE)} WHERE migration_id = $1", migration_id)

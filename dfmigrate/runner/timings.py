"""``dfmigrate_timings``: how long each applied statement took, kept to judge the next run.

An ops runbook wants to know, before and after a deploy, whether a step behaved like the steps
before it: an index build that took ten times its usual time points at a bloated table or a
blocked session. So each statement's duration is recorded with its step's *kind* (``create
index``, ``add column``..., from the migration's step data), in the transaction that records the migration in
the history (a rolled-back migration leaves no timings), and ``guard.metrics`` compares each new
duration with the history of its kind.
"""

from __future__ import annotations

from typing import Any

from dfmigrate.runner.ledger import own_table

TIMINGS_TABLE = "dfmigrate_timings"

_DDL = {
    "postgresql": f"""CREATE TABLE IF NOT EXISTS public.{TIMINGS_TABLE} (
        run_id text NOT NULL, migration_id text NOT NULL, direction text NOT NULL,
        statement integer NOT NULL, kind text NOT NULL, ms double precision NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now())""",
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {TIMINGS_TABLE} (
        run_id TEXT NOT NULL, migration_id TEXT NOT NULL, direction TEXT NOT NULL,
        statement INTEGER NOT NULL, kind TEXT NOT NULL, ms REAL NOT NULL,
        recorded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    "mysql": f"""CREATE TABLE IF NOT EXISTS {TIMINGS_TABLE} (
        run_id VARCHAR(64) NOT NULL, migration_id VARCHAR(255) NOT NULL, direction VARCHAR(16) NOT NULL,
        statement INT NOT NULL, kind VARCHAR(255) NOT NULL, ms DOUBLE NOT NULL,
        recorded_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB""",
}
HISTORY_PER_KIND = 200  # the most recent durations of a kind that a judgement looks at

async def create(conn: Any) -> None:
    await conn.execute(" ".join(_DDL[conn.dialect].split()))


async def record(conn: Any, run_id: str, migration_id: str, direction: str,
                 statements: list[dict[str, Any]]) -> None:
    """Inside the transaction that records the migration: its timings commit with it."""
    table = own_table(conn.dialect, TIMINGS_TABLE)
    for s in statements:
        await conn.execute(f"INSERT INTO {table} (run_id, migration_id, direction, statement, kind, ms)"
                           f" VALUES ($1, $2, $3, $4, $5, $6)",
                           run_id, migration_id, direction, s["statement"], s["kind"], float(s["ms"]))


async def history(conn: Any, kinds: list[str], run_id: str) -> dict[str, list[float]]:
    """The recorded durations (ms, oldest first) of each kind, other runs only."""
    found: dict[str, list[float]] = {kind: [] for kind in kinds}
    marks = ", ".join(f"${i}" for i in range(2, len(kinds) + 2))
    rows = await conn.fetch(  # one query for all kinds: the latest HISTORY_PER_KIND of each
        f"SELECT kind, ms FROM (SELECT kind, ms, row_number() OVER (PARTITION BY kind ORDER BY recorded_at DESC,"
        f" statement DESC) AS age FROM {own_table(conn.dialect, TIMINGS_TABLE)}"
        f" WHERE run_id <> $1 AND kind IN ({marks})) AS recent WHERE age <= {HISTORY_PER_KIND}"
        f" ORDER BY kind, age DESC", run_id, *kinds)
    for r in rows:
        found[r["kind"]].append(float(r["ms"]))
    return found

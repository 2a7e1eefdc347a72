"""``dfmigrate_timings``: how long each applied statement took, kept to judge the next run.

An ops runbook wants to know, before and after a deploy, whether a step behaved like the steps
before it: an index build that took ten times its usual time points at a bloated table or a
blocked session. So each statement's duration is recorded with its *kind* (``CREATE INDEX
CONCURRENTLY``, ``ALTER TABLE ADD COLUMN``...), in the transaction that records the migration in
the history (a rolled-back migration leaves no timings), and ``guard.metrics`` compares each new
duration with the history of its kind.
"""

from __future__ import annotations

import re
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
}
HISTORY_PER_KIND = 200  # the most recent durations of a kind that a judgement looks at

_WORD = re.compile(r'"(?:[^"]|"")*"|\S+')
_NOISE = {"ONLY", "IF", "EXISTS", "NOT", "UNIQUE", "OR", "REPLACE", "TEMPORARY", "UNLOGGED"}
_OBJECT_WORDS = {"TABLE", "INDEX", "VIEW", "MATERIALIZED", "TYPE", "DOMAIN", "SEQUENCE", "FUNCTION",
                 "PROCEDURE", "TRIGGER", "POLICY", "SCHEMA", "EXTENSION", "COLLATION", "CONCURRENTLY"}
_SUB_ACTIONS = {"ADD", "DROP", "ALTER", "RENAME", "VALIDATE", "SET", "ATTACH", "DETACH", "ENABLE",
                "DISABLE", "INHERIT", "NO", "OWNER", "RESET"}
_SUB_OBJECTS = {"COLUMN", "CONSTRAINT", "ATTRIBUTE", "VALUE", "PARTITION", "DEFAULT", "DATA",
                "LOGGED", "UNLOGGED", "SCHEMA", "ROW", "TRIGGER", "OWNED", "NOT", "TO", "OF"}


def kind_of(sql: str) -> str:
    """The statement's kind, for comparing like with like: its verb and object words, without
    names, e.g. ``CREATE INDEX CONCURRENTLY`` or ``ALTER TABLE ADD COLUMN``. Names are left out
    (quoted or not), so every ADD COLUMN compares with every other."""
    words = [w.upper() if not w.startswith('"') else '"' for w in _WORD.findall(sql.lstrip(" \n\t("))[:12]]
    if not words:
        return "?"
    kind = [words[0]]
    rest = words[1:]
    while rest and (rest[0] in _OBJECT_WORDS or rest[0] in _NOISE):
        if rest[0] not in _NOISE:
            kind.append(rest[0])
        rest = rest[1:]
    if kind[0] == "ALTER" and len(kind) > 1:  # the sub-action after the object's name
        for i, word in enumerate(rest[1:4], 1):
            if word in _SUB_ACTIONS:
                kind.append(word)
                following = rest[i + 1] if i + 1 < len(rest) else ""
                if following in _SUB_OBJECTS:
                    kind.append(following)
                break
    return " ".join(kind)


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

"""How big the tables a plan touches are, and how long each step may take on them.

Read from the live database's statistics, never by counting: ``pg_class.reltuples`` (the
planner's row estimate, kept by ANALYZE and autovacuum; ``pg_stat_all_tables.n_live_tup`` for a
table neither has seen yet), ``pg_relation_size`` (the heap) and
``pg_total_relation_size`` (with indexes and TOAST). The grade is what a reviewer needs at a
glance; the duration is an order of magnitude from throughputs measured on a small 2-core
machine (bench/online_safety.py), not a promise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# (grade, fewer rows than, smaller total size than): a table takes the first grade it fits
GRADES = (
    ("tiny", 10_000, 10 * 2**20),
    ("small", 100_000, 100 * 2**20),
    ("medium", 1_000_000, 2**30),
    ("large", 10_000_000, 10 * 2**30),
)
HUGE = "huge"

# Throughputs (per second) behind the estimates
SCAN_BYTES = 200e6  # a validation's sequential scan of the heap
INDEX_BUILD_BYTES = 40e6  # scanning and sorting the heap into a btree
REWRITE_BYTES = 30e6  # copying the heap and rebuilding every index
BACKFILL_ROWS = 60_000  # rows updated by a batched backfill

# A table never analyzed nor vacuumed has no row estimate in pg_class (reltuples -1 from
# PostgreSQL 14, 0 with relpages 0 before): a table filled by a bulk load a minute ago would read
# as empty, and its backfill as instant. The statistics system's live-row count (kept as rows are
# written, with no ANALYZE) stands in for it then.
_QUERY = """
SELECT n.nspname || '.' || c.relname AS name,
       CASE WHEN c.reltuples < 0 OR (c.reltuples = 0 AND c.relpages = 0)
            THEN coalesce(s.n_live_tup, 0) ELSE c.reltuples END::bigint AS rows,
       pg_relation_size(c.oid) AS heap, pg_total_relation_size(c.oid) AS total
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname || '.' || c.relname = ANY($1::text[])
"""


@dataclass(frozen=True)
class TableSize:
    rows: int  # the statistics' estimate (the live-row count when the table was never analyzed)
    heap_bytes: int
    total_bytes: int

    @property
    def grade(self) -> str:
        for name, rows, size in GRADES:
            if self.rows < rows and self.total_bytes < size:
                return name
        return HUGE

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "heap_bytes": self.heap_bytes, "total_bytes": self.total_bytes,
                "grade": self.grade}


async def table_sizes(conn: Any, targets: Iterable[str]) -> dict[str, TableSize]:
    """Sizes of the ``namespace.name`` relations among ``targets`` (asyncpg connection)."""
    names = sorted({t for t in targets if t})
    if not names:
        return {}
    rows = await conn.fetch(_QUERY, names)
    return {r["name"]: TableSize(int(r["rows"]), int(r["heap"]), int(r["total"])) for r in rows}


def estimate_seconds(hazards: Iterable[str], size: TableSize, *, concurrently: bool = False) -> float:
    """How long a step with ``hazards`` (values) runs on a table of ``size``: the catalog-only
    steps take no time worth counting; a concurrent index build scans the table twice."""
    kinds = set(hazards)
    seconds = 0.0
    if "table-rewrite" in kinds:
        seconds += size.total_bytes / REWRITE_BYTES
    elif "index-build" in kinds:
        seconds += size.heap_bytes / INDEX_BUILD_BYTES * (2 if concurrently else 1)
    if "validates-rows" in kinds and "table-rewrite" not in kinds:
        seconds += size.heap_bytes / SCAN_BYTES
    if "updates-rows" in kinds:
        seconds += size.rows / BACKFILL_ROWS
    return round(seconds, 2)


def human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} TB"


def describe(size: TableSize, seconds: float) -> str:
    """One line for a runbook: ``~1.0M rows, 97.3 MB (large); est. 2.4 s``."""
    rows = f"{size.rows / 1e6:.1f}M" if size.rows >= 1e6 else f"{size.rows:,}"
    return f"~{rows} rows, {human_bytes(size.total_bytes)} ({size.grade}); est. {seconds:g} s"

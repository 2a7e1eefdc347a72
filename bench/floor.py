"""The catalog-fetch floor: the least work any tool must do to diff two PostgreSQL databases.

Connects to BOTH databases concurrently and runs dfmigrate's own catalog queries
(``dfmigrate/dialects/postgres/queries/*.sql``, read raw from the directory) on each,
concurrently, fetching every row through asyncpg and doing nothing with them. A diff tool that
fetches the same facts cannot be faster than this by more than noise, so ``tool time / floor
time`` says how much a tool spends beyond fetching (interpreter start-up and imports included:
this script also runs in a fresh interpreter and pays its own start-up).

Deliberately standalone (imports only asyncio and asyncpg, never dfmigrate), so that the floor
does not move when dfmigrate's imports or processing change.

    python bench/floor.py URL_A URL_B [--connections 4] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg

QUERIES_DIR = Path(__file__).resolve().parent.parent / "dfmigrate" / "dialects" / "postgres" / "queries"

# privileges.sql only runs under `dfmigrate diff --privileges`; the benchmark diffs without it,
# so the floor leaves it out too (otherwise the floor would include work the tool skips).
SKIPPED_BY_DEFAULT = ("privileges",)

# The same session setting dfmigrate uses: it changes what format_type()/pg_get_expr() print,
# not how much work they do, but keeps the rows byte-identical to the tool's.
SERVER_SETTINGS = {"search_path": "", "application_name": "dfmigrate-bench-floor"}


def load_queries(directory: Path, skip: tuple[str, ...]) -> dict[str, str]:
    """name -> SQL text of every ``*.sql`` file, largest first (a rough proxy for cost, so that
    the slow queries start first and the small ones fill in behind them)."""
    files = sorted(directory.glob("*.sql"), key=lambda p: -p.stat().st_size)
    queries = {p.stem: p.read_text("utf-8") for p in files if p.stem not in skip}
    if not queries:
        sys.exit(f"floor: no *.sql files in {directory}")
    return queries


def specialize(sql: str, server_version: int) -> str:
    """Fill the one version-dependent template dfmigrate substitutes
    (``{nulls_not_distinct}``: pg_index.indnullsnotdistinct exists from PostgreSQL 15)."""
    nnd = "i.indnullsnotdistinct" if server_version >= 15 else "NULL::boolean"
    return sql.replace("{nulls_not_distinct}", nnd)


async def fetch_database(url: str, queries: dict[str, str], connections: int) -> dict[str, tuple[int, float]]:
    """Run every query once on ``url`` over ``connections`` connections (each takes the next
    query when idle: asyncpg runs one query at a time per connection). Returns
    name -> (rows, seconds)."""
    conns = await asyncio.gather(*(asyncpg.connect(url, server_settings=SERVER_SETTINGS)
                                   for _ in range(connections)))
    try:
        version = conns[0].get_server_version().major
        pending = iter(queries.items())
        timings: dict[str, tuple[int, float]] = {}

        async def worker(conn: asyncpg.Connection) -> None:
            for name, sql in pending:
                started = time.perf_counter()
                rows = await conn.fetch(specialize(sql, version))
                timings[name] = (len(rows), time.perf_counter() - started)

        await asyncio.gather(*(worker(c) for c in conns))
        return timings
    finally:
        await asyncio.gather(*(c.close() for c in conns))


async def main_async(args: argparse.Namespace) -> None:
    queries = load_queries(Path(args.queries), tuple(args.skip))
    results = await asyncio.gather(*(fetch_database(url, queries, args.connections)
                                     for url in (args.url_a, args.url_b)))
    for label, timings in zip("AB", results):
        print(f"{label}: {len(timings)} queries, {sum(r for r, _ in timings.values())} rows")
        if args.verbose:
            for name, (rows, seconds) in sorted(timings.items(), key=lambda kv: -kv[1][1]):
                print(f"   {name:<14} {rows:>7} rows {seconds * 1000:8.1f} ms")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url_a")
    parser.add_argument("url_b")
    parser.add_argument("--queries", default=str(QUERIES_DIR), help="directory of *.sql catalog queries")
    parser.add_argument("--connections", type=int, default=4, help="connections per database (default 4)")
    parser.add_argument("--skip", nargs="*", default=list(SKIPPED_BY_DEFAULT), metavar="NAME",
                        help="query files (without .sql) to leave out (default: privileges)")
    parser.add_argument("--verbose", action="store_true", help="per-query rows and time")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main_async(parse_args()))

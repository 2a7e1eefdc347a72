"""Create (or reuse) the benchmark databases ``dfm_bench_a_<n>`` / ``dfm_bench_b_<n>``.

A database is reused only when its comment carries the hash of exactly the SQL the generator
produces now, so a changed generator (or a half-finished build, which never gets the comment)
always rebuilds.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from schema_gen import GENERATOR_VERSION

# Statements per transaction. One transaction for a whole 2,000-table script would need a
# lock per table, index and sequence (>10,000), beyond the default lock table
# (max_locks_per_transaction 64 x max_connections 100); 500 statements stay well below it.
CHUNK = 500


def db_url(server_url: str, dbname: str) -> str:
    """``server_url`` with its database replaced by ``dbname``."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def db_names(n_tables: int) -> tuple[str, str]:
    return f"dfm_bench_a_{n_tables}", f"dfm_bench_b_{n_tables}"


def fingerprint(statements: list[str]) -> str:
    digest = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()[:16]
    return f"dfmigrate bench generator v{GENERATOR_VERSION} sql {digest}"


async def _current_comment(admin: asyncpg.Connection, dbname: str) -> str | None:
    return await admin.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", dbname)


async def _load(url: str, statements: list[str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for start in range(0, len(statements), CHUNK):
            # One simple-protocol round trip per chunk: a multi-statement string runs as one
            # implicit transaction, far faster than a round trip per statement.
            await conn.execute(";\n".join(statements[start:start + CHUNK]))
        # Fresh statistics on the catalogs, so that the first measured run does not pay for
        # (or race with) autovacuum's analyze of thousands of new catalog rows.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def ensure_database(server_url: str, dbname: str, statements: list[str], rebuild: bool) -> str:
    """Make ``dbname`` hold ``statements``; returns "reused" or "built in N s"."""
    wanted = fingerprint(statements)
    admin = await asyncpg.connect(server_url)
    try:
        if not rebuild and await _current_comment(admin, dbname) == wanted:
            return "reused"
        started = time.perf_counter()
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await _load(db_url(server_url, dbname), statements)
        # Marked only after a complete load: an interrupted build is never reused.
        await admin.execute(f"COMMENT ON DATABASE \"{dbname}\" IS '{wanted}'")
        return f"built in {time.perf_counter() - started:.1f} s"
    finally:
        await admin.close()


async def ensure_pair(server_url: str, n_tables: int, scripts: tuple[list[str], list[str]],
                      rebuild: bool) -> tuple[str, str]:
    """Both databases of one size, built concurrently (the server does the work on its cores)."""
    (name_a, name_b), (sql_a, sql_b) = db_names(n_tables), scripts
    return tuple(await asyncio.gather(ensure_database(server_url, name_a, sql_a, rebuild),
                                      ensure_database(server_url, name_b, sql_b, rebuild)))

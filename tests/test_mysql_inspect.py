"""Reading a MySQL/MariaDB database's catalog touches that database only: every
``information_schema`` query of the source and of the resume checks is narrowed to it by a
constant (MariaDB narrows its scan by constants, not by join conditions). A query that scanned
every database opened every table of the server: slow on a large server, and, for each table
another session was altering at that moment, a warning on the run's stderr (seen: a guard test's
one-line error got a second line from a parallel test's ALTER in another database). Checked by
the server's own ``EXPLAIN`` on the machine's MariaDB.
"""

from __future__ import annotations

import asyncio
import re

from dfmigrate.dialects.mysql import resume
from dfmigrate.sources import mysql as source


def explained(url: str, sql: str) -> list[str]:
    from dfmigrate.dialects.mysql.connect import connect

    async def run() -> list[str]:
        conn = await connect(url)
        try:
            async with conn.cursor() as cur:
                await cur.execute("EXPLAIN " + re.sub(r"\$\d", "%s", sql), ("x",) * len(re.findall(r"%s|\$\d", sql)))
                return [str(r[-1]) for r in await cur.fetchall()]
        finally:
            conn.close()

    return asyncio.run(run())


def test_catalog_queries_scan_one_database(mysql_url: str) -> None:
    queries = {name: getattr(source, name) for name in dir(source)
               if re.fullmatch(r"_[A-Z_]+", name) and "information_schema" in str(getattr(source, name))}
    queries |= {f"resume {kind}": sql for kind, sql in resume._QUERIES.items()}
    assert {"_FOREIGN_KEYS", "_TRIGGERS", "_CHECKS_MYSQL", "resume trigger"} <= set(queries), sorted(queries)
    for name, sql in queries.items():
        plans = explained(mysql_url, sql)
        assert not any("Scanned all databases" in p for p in plans), (name, plans)

"""Which asyncio MySQL driver reads a catalog faster: asyncmy or aiomysql.

Creates a scratch database with N tables (8 columns, 2 indexes, 1 foreign key each) on the
server named by DFMIGRATE_BENCH_MYSQL_URL (default: root on 127.0.0.1:3306), then times the
catalog reads dfmigrate's MySQL source runs (information_schema columns, statistics, constraints)
with each driver, best of 5. Prints a table; drops the database afterwards.

    python bench/mysql_driver_bench.py [TABLES]
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

QUERIES = (
    "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s",
    "SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
    "SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s",
    "SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
)


async def _read(connect, db: str) -> float:
    conn = await connect()
    try:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            async with conn.cursor() as cur:
                for q in QUERIES:
                    await cur.execute(q, (db,))
                    await cur.fetchall()
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        conn.close()
        if hasattr(conn, "ensure_closed"):
            await conn.ensure_closed()


async def main(tables: int) -> None:
    import aiomysql
    import asyncmy

    host, port, user = "127.0.0.1", 3306, "root"
    db = f"dfm_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncmy.connect(host=host, port=port, user=user, autocommit=True)
    try:
        async with admin.cursor() as cur:
            await cur.execute(f"CREATE DATABASE `{db}`")
            await cur.execute(f"USE `{db}`")
            for i in range(tables):
                ref = f", FOREIGN KEY (p) REFERENCES t{i - 1} (id)" if i else ""
                await cur.execute(
                    f"CREATE TABLE t{i} (id BIGINT AUTO_INCREMENT PRIMARY KEY, p BIGINT, "
                    "a VARCHAR(100) NOT NULL DEFAULT '', b INT UNSIGNED, c DECIMAL(10,2), "
                    "d DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), e TEXT, f JSON, "
                    f"KEY (a), UNIQUE KEY (b, c){ref})")
        results = {
            "asyncmy": await _read(lambda: asyncmy.connect(host=host, port=port, user=user, db=db), db),
            "aiomysql": await _read(lambda: aiomysql.connect(host=host, port=port, user=user, db=db), db),
        }
    finally:
        async with admin.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()
    floor = min(results.values())
    print(f"catalog read of {tables} tables, best of 5")
    print(f"{'driver':<10} {'seconds':>8} {'ratio':>6}")
    for name, seconds in sorted(results.items(), key=lambda kv: kv[1]):
        print(f"{name:<10} {seconds:>8.3f} {seconds / floor:>5.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))

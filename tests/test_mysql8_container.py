"""The hand-written pairs on MySQL 8 itself (testcontainers), where a Docker engine is reachable;
and the guard's MySQL-only answers: the holders of a metadata lock from performance_schema (on
by default there), and --statement-timeout refused.

MariaDB is the machine's server and CI's; MySQL 8 prints its catalog differently (bare literal
defaults, DEFAULT_GENERATED, no display widths, CHECK_CONSTRAINTS without table names), and this
is where those branches of the MySQL source meet a real server. Without Docker the tests step
aside (``mysql8_url`` in conftest.py says why).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.mysql_cases import CASES
from tests.mysql_converge import converge, execute, run, statements

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name,first,second", [c for c in CASES if c[0] != "sequences"],
                         ids=[c[0] for c in CASES if c[0] != "sequences"])
def test_pair_converges_on_mysql8(mysql8_url: str, name: str, first: str, second: str, direction: str) -> None:
    names = [f"dfm_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    run(execute(mysql8_url, [f"CREATE DATABASE `{n}`" for n in names]))
    try:
        a, b = (mysql8_url + n for n in names)
        src, dst = (first, second) if direction == "forward" else (second, first)
        run(execute(a, statements(src)))
        run(execute(b, statements(dst)))
        run(converge(a, b))
    finally:
        asyncio.run(execute(mysql8_url, [f"DROP DATABASE IF EXISTS `{n}`" for n in names]))


def test_guard_on_mysql8(mysql8_url: str, tmp_path: Path) -> None:
    """performance_schema names the session holding the table (exit 2, before the ALTER); MySQL
    has no statement timeout for DDL, so --statement-timeout is refused before anything runs."""
    from tests.test_mysql_apply import directory, finish, history, migrate
    from tests.test_mysql_guard import open_transaction

    name = f"dfm_{uuid.uuid4().hex[:10]}"
    run(execute(mysql8_url, [f"CREATE DATABASE `{name}`"]))
    try:
        url = mysql8_url + name
        mdir = directory(tmp_path, url)
        code, _, err = finish(migrate(url, mdir, "--statement-timeout", "5"))
        assert code == 2 and "--statement-timeout: MySQL has no timeout" in err, err
        assert _tables(url) == []  # refused before the history table was created
        assert finish(migrate(url, mdir, "--to", "0001_v1"))[0] == 0

        async def blocked() -> tuple[tuple[int, Any, str], int]:
            async with open_transaction(url, "SELECT count(*) FROM items") as (cur, pid):
                result = await asyncio.to_thread(finish, migrate(url, mdir, "--lock-timeout", "1", "--retries", "0"))
                await cur.execute("COMMIT")
                return result, pid

        (code, report, err), pid = asyncio.run(blocked())
        assert code == 2, err
        assert f"held (performance_schema) by connection {pid} (root@" in err and "holds SHARED_READ" in err, err
        assert report["verdicts"]["deadlock"]["sessions_from"] == "performance_schema"
        assert [r[0] for r in history(url)] == ["0001_v1"]
    finally:
        asyncio.run(execute(mysql8_url, [f"DROP DATABASE IF EXISTS `{name}`"]))


def _tables(url: str) -> list[Any]:
    from tests.test_runner import query

    return query(url, "SHOW TABLES")

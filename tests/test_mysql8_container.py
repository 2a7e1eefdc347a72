"""The hand-written pairs on MySQL 8 itself (testcontainers), where a Docker engine is reachable.

MariaDB is the machine's server and CI's; MySQL 8 prints its catalog differently (bare literal
defaults, DEFAULT_GENERATED, no display widths, CHECK_CONSTRAINTS without table names), and this
is where those branches of the MySQL source meet a real server. Without Docker the tests step
aside (``mysql8_url`` in conftest.py says why).
"""

from __future__ import annotations

import asyncio
import uuid

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

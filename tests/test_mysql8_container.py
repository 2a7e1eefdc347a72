"""The hand-written pairs on MySQL 8 itself (testcontainers), where a Docker engine is reachable.

MariaDB is the machine's server and CI's; MySQL 8 prints its catalog differently (bare literal
defaults, DEFAULT_GENERATED, no display widths, CHECK_CONSTRAINTS without table names), and this
is where those branches of the MySQL source meet a real server. Without Docker the module skips:
it needs no service fixture, so CI does not count the skip as a failure.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.mysql_cases import CASES
from tests.mysql_converge import converge, execute, run, statements

pytestmark = pytest.mark.slow


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # no client library, no socket, no engine: all mean "no Docker here"
        return False
    return True


@pytest.fixture(scope="module")
def mysql8() -> Iterator[str]:
    if not _docker_available():
        pytest.skip("no Docker engine: MySQL 8 runs only through testcontainers")
    from testcontainers.mysql import MySqlContainer

    with MySqlContainer("mysql:8.0") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(3306)
        yield f"mysql://root:{container.root_password}@{host}:{port}/"


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("name,first,second", [c for c in CASES if c[0] != "sequences"],
                         ids=[c[0] for c in CASES if c[0] != "sequences"])
def test_pair_converges_on_mysql8(mysql8: str, name: str, first: str, second: str, direction: str) -> None:
    names = [f"dfm_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    run(execute(mysql8, [f"CREATE DATABASE `{n}`" for n in names]))
    try:
        a, b = (mysql8 + n for n in names)
        src, dst = (first, second) if direction == "forward" else (second, first)
        run(execute(a, statements(src)))
        run(execute(b, statements(dst)))
        run(converge(a, b))
    finally:
        asyncio.run(execute(mysql8, [f"DROP DATABASE IF EXISTS `{n}`" for n in names]))

"""Shared fixtures: real PostgreSQL databases, SQLite files, the ../shared corpus.

Nothing is mocked. A test that needs PostgreSQL (or ../shared) and cannot have it is skipped on a
developer's machine, but fails when ``CI`` is set: CI must never go green by skipping.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/"
_counter = itertools.count()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where a missing service is a broken setup."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a skipped database test would hide failures)", pytrace=False)
    pytest.skip(reason)


SERVICE_FIXTURES = frozenset({"pg_url", "pg_db", "shared_dir", "mysql_server", "mysql_db", "mysql_url",
                              "mariadb_instrumented"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, a test that needs a service and got skipped anyway (say, by its own
    ``pytest.skip``) fails: the fixtures' rule, enforced for every way of skipping."""
    outcome = yield
    report = outcome.get_result()
    needs_service = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
    if in_ci() and report.skipped and needs_service and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI although it needs {', '.join(sorted(needs_service))}: {report.longrepr}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Admin URL of the test server, checked reachable once. ``DFMIGRATE_TEST_PG_URL`` names
    it; when unset and nothing answers at the default address, a throwaway PostgreSQL container
    is started (testcontainers) if a Docker engine is available. Every PostgreSQL test reaches
    its server through here, so a missing server skips locally and fails under ``CI``."""
    configured = os.environ.get("DFMIGRATE_TEST_PG_URL")
    url = configured or DEFAULT_PG_URL
    error = asyncio.run(_probe(url))
    if error is None:
        yield url
        return
    if configured:
        unavailable(f"PostgreSQL unreachable at {_mask(url)} (DFMIGRATE_TEST_PG_URL): {error}")
    container, why_not = _start_container()
    if container is None:
        unavailable(f"PostgreSQL unreachable at {_mask(url)}: {error}; no container either: {why_not}")
    try:
        yield container.get_connection_url(driver=None)
    finally:
        container.stop()


def no_docker() -> str | None:
    """Why no container can start here (testcontainers missing, no Docker engine), or None."""
    try:
        import docker
        import testcontainers  # noqa: F401
    except ImportError as exc:
        return f"testcontainers is not installed ({exc})"
    try:
        docker.from_env(timeout=3).ping()
    except Exception as exc:  # any failure to reach the engine means "no Docker": step aside
        return f"no Docker engine ({type(exc).__name__})"
    return None


def _start_container() -> tuple[Any, str]:
    """A PostgreSQL container and "", or None and why there is none (no Docker engine here, say)."""
    why_not = no_docker()
    if why_not is not None:
        return None, why_not
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer("postgres:15-alpine", username="postgres", password="postgres",
                                  dbname="postgres")
    container.start()
    return container, ""


async def _probe(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except Exception as exc:  # any failure means "no server to test against"
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture(scope="session")
def mysql8_url() -> Iterator[str]:
    """A MySQL 8 server in a throwaway container: MySQL 8 has no other way in here (the
    machine's server is MariaDB). Where no Docker engine runs, the tests using it step aside,
    under CI too (a machine property, not a broken setup); where one runs, a container that
    fails to start fails them."""
    why_not = no_docker()
    if why_not is not None:
        pytest.skip(f"MySQL 8 runs only in a container: {why_not}")
    from testcontainers.mysql import MySqlContainer

    with MySqlContainer("mysql:8.0") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(3306)
        yield f"mysql://root:{container.root_password}@{host}:{port}/"


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Callable[..., str]]:
    """Factory: ``pg_db()`` creates an empty, uniquely named database and returns its URL;
    every database it made is dropped (WITH (FORCE)) at teardown."""
    yield from _databases(lambda sql: asyncio.run(_admin(pg_url, sql)), pg_url,
                          'CREATE DATABASE "{}"', 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)')


def _databases(admin: Callable[[str], None], server: str, create: str, drop: str) -> Iterator[Callable[..., str]]:
    """A database factory for a fixture to yield, and the teardown dropping what it made."""
    from dfmigrate.urls import with_database

    created: list[str] = []

    def make(hint: str = "") -> str:
        name = _database_name(hint)
        admin(create.format(name))
        created.append(name)
        return with_database(server, name)

    yield make
    for name in reversed(created):
        admin(drop.format(name))


def _database_name(hint: str) -> str:
    # Worker id + pid + counter + random: unique across xdist workers and concurrent runs.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    safe_hint = "".join(c for c in hint.lower() if c.isalnum() or c == "_")[:16]
    parts = ["dfm_test", worker, str(os.getpid()), str(next(_counter)), uuid.uuid4().hex[:6], safe_hint]
    return "_".join(p for p in parts if p)[:63]


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def mysql_server() -> str:
    """Admin URL of the MySQL/MariaDB test server (env DFMIGRATE_TEST_MYSQL_URL), without a
    database; checked reachable once."""
    url = os.environ.get("DFMIGRATE_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)
    try:
        asyncio.run(_mysql_admin(url, "SELECT 1"))
    except Exception as exc:  # any failure means "no server to test against"
        unavailable(f"MySQL unreachable at {_mask(url)}: {type(exc).__name__}: {exc}")
    return url


@pytest.fixture
def mysql_db(mysql_server: str) -> Iterator[Callable[..., str]]:
    """Factory: ``mysql_db()`` creates an empty, uniquely named database and returns its URL;
    every database it made is dropped at teardown."""
    yield from _databases(lambda sql: asyncio.run(_mysql_admin(mysql_server, sql)), mysql_server,
                          "CREATE DATABASE `{}`", "DROP DATABASE IF EXISTS `{}`")


@pytest.fixture
def mysql_url(mysql_db: Callable[..., str]) -> str:
    """URL of a fresh, empty MySQL database of this test's own."""
    return mysql_db()


@pytest.fixture(scope="session")
def mariadb_instrumented() -> Iterator[str]:
    """Admin URL of a private MariaDB started here from the machine's own binaries, with what the
    machine's server (and MariaDB by default) lacks: ``performance_schema`` on and the
    ``metadata_lock_info`` plugin loaded; the metadata-lock instrument is off, MariaDB's default
    (tests switch it on). Its own data directory and port, removed at the end; one per test
    process."""
    import shutil
    import socket
    import subprocess
    import tempfile
    import time

    server = shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None)
    install = shutil.which("mariadb-install-db")
    if server is None or install is None:
        unavailable("a private MariaDB needs mariadbd and mariadb-install-db (Debian: mariadb-server)")
    workdir = Path(tempfile.mkdtemp(prefix="dfm_mariadb_"))
    user = []
    if os.geteuid() == 0:  # mariadbd refuses to run as root: it runs as mysql, who owns the files
        user = ["--user=mysql"]
        shutil.chown(workdir, "mysql", "mysql")
    data = workdir / "data"
    done = subprocess.run([install, "--no-defaults", *user, f"--datadir={data}", "--skip-test-db",
                           "--auth-root-authentication-method=normal"], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        unavailable(f"mariadb-install-db failed: {done.stderr.strip()[-300:]}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--no-defaults", *user, f"--datadir={data}", f"--port={port}",
                             "--bind-address=127.0.0.1", f"--socket={workdir}/mysqld.sock",
                             f"--pid-file={workdir}/mysqld.pid", f"--log-error={workdir}/error.log",
                             "--performance-schema=ON", "--plugin-load-add=metadata_lock_info",
                             "--innodb-buffer-pool-size=16M", "--skip-log-bin"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"mysql://root@127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                asyncio.run(_mysql_admin(url, "SELECT 1"))
                break
            except Exception as exc:  # not accepting connections yet
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (workdir / "error.log").read_text()[-500:] if (workdir / "error.log").exists() else ""
                    unavailable(f"the private MariaDB did not start ({type(exc).__name__}: {exc}): {log}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


async def _mysql_admin(url: str, sql: str) -> None:
    from dfmigrate.dialects.mysql.connect import connect

    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    """Path of a SQLite file that does not exist yet (the test creates it, or not)."""
    return str(tmp_path / "test.db")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared``: the peer corpus and tools every developer and CI has."""
    path = REPO.parent / "shared"
    if not path.is_dir():
        unavailable(f"{path} not found")
    return path


def _mask(url: str) -> str:
    from dfmigrate.logs import mask_text

    return mask_text(url)

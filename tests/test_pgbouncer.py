"""The migration lock through a transaction-pooling proxy: PgBouncer in pool_mode=transaction,
started here against the test server. With default flags, concurrent migrate processes that share
a few pooled server connections all succeed, apply each migration exactly once and leave no
advisory lock held; with the session protocol forced, a run handed another run's server session
is stopped by the race detector before any DDL."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.test_formats import shipped_json
from tests.test_guard import dfmigrate, three_migrations
from tests.test_runner import query


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer(pg_url: str) -> Iterator[str]:
    """host:port of a PgBouncer in transaction mode in front of the test server."""
    yield from _pgbouncer(pg_url, 8)


@pytest.fixture
def pgbouncer_one(pg_url: str) -> Iterator[str]:
    """The same with one server connection for every client."""
    yield from _pgbouncer(pg_url, 1)


def _pgbouncer(pg_url: str, pool_size: int) -> Iterator[str]:
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if binary is None:
        unavailable("pgbouncer is not installed (Debian: apt-get install pgbouncer; ci/start-services.sh does)")
    from urllib.parse import urlsplit

    server = urlsplit(pg_url)
    port = _free_port()
    # PgBouncer refuses to run as root: as root it switches to postgres, who must read the files
    workdir = Path(tempfile.mkdtemp(prefix="dfm_pgbouncer_"))
    workdir.chmod(0o777)
    (workdir / "userlist.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    (workdir / "pgbouncer.ini").write_text(f"""[databases]
* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
auth_type = trust
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
unix_socket_dir =
logfile = {workdir}/pgbouncer.log
ignore_startup_parameters = extra_float_digits,search_path
""")
    for f in workdir.iterdir():
        f.chmod(0o644)
    cmd = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(workdir / "pgbouncer.ini")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            unavailable("pgbouncer did not start")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def pooled_url(direct: str, pgbouncer: str) -> str:
    return direct.replace(direct.split("@", 1)[1].split("/", 1)[0], pgbouncer, 1)


def advisory_locks(direct: str) -> list[tuple[Any, ...]]:
    return query(direct, "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory' AND database = "
                         "(SELECT oid FROM pg_database WHERE datname = current_database())")


def test_default_flags_through_pgbouncer_transaction_pooling(pg_db: Any, pgbouncer: str, tmp_path: Path) -> None:
    """10 concurrent deploys, default flags: the proxy is detected, the transaction protocol
    chosen; all exit 0, each migration applied once, no advisory lock left on the server."""
    direct = pg_db("bouncer")
    pooled = pooled_url(direct, pgbouncer)
    mdir = tmp_path / "m"
    three_migrations(mdir)
    n = 10

    async def together() -> list[tuple[int, str, str]]:
        return await asyncio.gather(*(dfmigrate("migrate", "--database", pooled, "--dir", str(mdir),
                                                "--format", "json") for _ in range(n)))

    results = asyncio.run(together())
    assert [r[0] for r in results] == [0] * n, [r[2] for r in results]
    reports = [shipped_json(r[1], "migrate") for r in results]
    applied = sorted(m for rep in reports for m in rep["applied"])
    assert applied == ["0001_users", "0002_posts", "0003_nick"]  # each once, across all processes
    assert query(direct, "SELECT migration_id, count(*) FROM dfmigrate_history GROUP BY 1 ORDER BY 1") == [
        ("0001_users", 1), ("0002_posts", 1), ("0003_nick", 1)]
    assert query(direct, "SELECT count(*) FROM users") == [(1,)]  # 0002's INSERT ran once
    for rep in reports:
        assert rep["lock"]["released"] is True
        assert rep["lock"]["mode"] == "transaction" and rep["lock"]["proxied"] is True
    assert advisory_locks(direct) == []  # checked on the server, past the proxy
    # and the lifecycle commands work through the pooler (no named prepared statements)
    code, out, err = asyncio.run(dfmigrate("status", "--database", pooled, "--dir", str(mdir)))
    assert code == 0 and "3 applied, 0 pending" in out, err


def test_forced_session_lock_through_a_shared_server_session_is_a_race(pg_db: Any, pgbouncer_one: str,
                                                                       tmp_path: Path) -> None:
    """One pooled server session for every client and --lock-mode session: a run's take of the
    lock succeeds on the server session another run holds it on (advisory locks are
    re-entrant). RaceConditionDetectorNode sees two holders, and the run stops before any DDL,
    giving back only its own take: the first holder still holds it, and once it releases, no
    lock is left. The first run here is the runner's own lock protocol, driven by the test."""
    from dfmigrate.guard.detectors import RaceGuard
    from dfmigrate.guard.lock import LOCK_KEY, MigrationLock
    from dfmigrate.runner.connections import connect

    direct = pg_db("race")
    pooled = pooled_url(direct, pgbouncer_one)
    mdir = tmp_path / "m"
    three_migrations(mdir)

    async def two() -> tuple[int, str, str]:
        conn = await connect(pooled)
        first = MigrationLock(conn, RaceGuard("advisory"), "first-run", wait=0, poll=0.1, mode="session")
        try:
            held = await first.acquire()
            assert held.proxied and held.mode == "session"
            second = await dfmigrate("migrate", "--database", pooled, "--dir", str(mdir), "--lock-mode", "session",
                                     "--format", "json")
            still = await conn.fetch("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                     "AND objid = ($1::bigint & 4294967295)::oid AND database = "
                                     "(SELECT oid FROM pg_database WHERE datname = current_database())", LOCK_KEY)
            assert still[0]["n"] == 1  # the first run's lock, untouched by the second's undo
            assert await first.release() is True
            return second
        finally:
            await conn.close()

    code, out, err = asyncio.run(two())
    assert code == 2 and "RaceConditionDetectorNode: the migration lock is held twice, run first-run" in err, err
    assert "write_write_race" in err, err
    report = shipped_json(out, "migrate")
    assert report["applied"] == [] and report["steps"] == []  # stopped before any DDL
    (race,) = report["verdicts"]["race"]["races"]  # the node's own record
    assert race["race_type"] == "write_write_race" and report["verdicts"]["race"]["verdict"].startswith("RACE")
    assert query(direct, "SELECT to_regclass('public.users') IS NULL") == [(True,)]
    assert advisory_locks(direct) == []

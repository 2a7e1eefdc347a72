"""The migration lock through a transaction-pooling proxy: PgBouncer in pool_mode=transaction,
started here against the test server. With default flags, concurrent migrate processes that share
a few pooled server connections all succeed, apply each migration exactly once and leave no
advisory lock held; with the session protocol forced, a run handed another run's server session
is stopped by the race detector before any DDL."""

from __future__ import annotations

import asyncio
import json
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
from tests.test_guard import dfmigrate, three_migrations
from tests.test_runner import query, write_migration


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
admin_users = {server.username or "postgres"}
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
    reports = [json.loads(r[1]) for r in results]
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
    """One pooled server session for everyone and --lock-mode session: the second run's take of
    the lock succeeds on the session the first run holds it on (advisory locks are re-entrant).
    RaceConditionDetectorNode sees two holders and the second run stops before any DDL, giving
    back only its own take; the first run completes, and no lock is left."""
    direct = pg_db("race")
    pooled = pooled_url(direct, pgbouncer_one)
    mdir = tmp_path / "m"
    query(direct, "CREATE TABLE gate (id integer)")
    write_migration(mdir, "0001_slow", "postgresql", ["CREATE TABLE t (id integer)"], ["DROP TABLE t"])
    write_migration(mdir, "0002_gate", "postgresql", ["INSERT INTO t VALUES (1)", "SELECT count(*) FROM gate"],
                    ["DELETE FROM t"], deps=["0001_slow"])
    write_migration(mdir, "0003_slow", "postgresql", ["INSERT INTO t VALUES (2)", "SELECT pg_sleep(2)"],
                    ["DELETE FROM t WHERE id = 2"], deps=["0002_gate"])
    base = ["migrate", "--database", pooled, "--dir", str(mdir), "--lock-mode", "session", "--format", "json",
            "--lock-timeout", "60"]
    host, port = pgbouncer_one.split(":")

    def clients_waiting() -> int:
        """cl_waiting of the pool, from PgBouncer's admin console: clients queued for the one
        server connection."""
        out = subprocess.run(["psql", "-h", host, "-p", port, "-U", "postgres", "-At", "-F", ",", "pgbouncer",
                              "-c", "SHOW POOLS"], capture_output=True, text=True, check=True).stdout
        header = ["database", "user", "cl_active", "cl_waiting"]
        return sum(int(line.split(",")[header.index("cl_waiting")]) for line in out.splitlines()
                   if line.startswith(direct.rsplit("/", 1)[1] + ","))

    async def two() -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        import asyncpg

        gate = await asyncpg.connect(direct)
        try:
            await gate.execute("BEGIN")
            await gate.execute("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")
            first = asyncio.ensure_future(dfmigrate(*base))
            for _ in range(600):  # until the first run, holding the migration lock, waits at the gate
                await asyncio.sleep(0.05)
                if await gate.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()"):
                    break
            second = asyncio.ensure_future(dfmigrate(*base))
            for _ in range(600):  # until the second run is queued in the pooler (with the first's watch)
                await asyncio.sleep(0.05)
                if await asyncio.to_thread(clients_waiting) >= 2:
                    break
            await gate.execute("COMMIT")
            return await first, await second
        finally:
            await gate.close()

    first, second = asyncio.run(two())
    assert first[0] == 0, first[2]
    assert second[0] == 2 and "RaceConditionDetectorNode: the migration lock is held twice" in second[2], second
    assert "write_write_race" in second[2], second[2]
    report = json.loads(second[1])
    assert report["applied"] == [] and report["steps"] == []  # stopped before any DDL
    (race,) = report["verdicts"]["race"]["races"]  # the node's own record
    assert race["race_type"] == "write_write_race" and report["verdicts"]["race"]["verdict"].startswith("RACE")
    assert query(direct, "SELECT migration_id, count(*) FROM dfmigrate_history GROUP BY 1 ORDER BY 1") == [
        ("0001_slow", 1), ("0002_gate", 1), ("0003_slow", 1)]
    assert query(direct, "SELECT id FROM t ORDER BY 1") == [(1,), (2,)]
    assert advisory_locks(direct) == []

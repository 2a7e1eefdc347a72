"""The migration lock through a transaction-pooling proxy: PgBouncer in pool_mode=transaction,
started here against the test server. With --lock-mode transaction, concurrent migrate processes
that share a few pooled server connections still apply each migration exactly once."""

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
from tests.test_runner import query


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer(pg_url: str) -> Iterator[str]:
    """host:port of a PgBouncer in transaction mode in front of the test server."""
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
default_pool_size = 8
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


def test_transaction_mode_lock_serializes_runs_through_pgbouncer(pg_db: Any, pgbouncer: str, tmp_path: Path) -> None:
    direct = pg_db("bouncer")
    pooled = direct.replace(direct.split("@", 1)[1].split("/", 1)[0], pgbouncer, 1)
    mdir = tmp_path / "m"
    three_migrations(mdir)
    n = 6

    async def together() -> list[tuple[int, str, str]]:
        return await asyncio.gather(*(dfmigrate("migrate", "--database", pooled, "--dir", str(mdir),
                                                "--lock-mode", "transaction", "--lock-wait", "60",
                                                "--format", "json") for _ in range(n)))

    results = asyncio.run(together())
    assert [r[0] for r in results] == [0] * n, [r[2] for r in results]
    applied = sorted(m for r in results for m in json.loads(r[1])["applied"])
    assert applied == ["0001_users", "0002_posts", "0003_nick"]  # each once, across all processes
    assert query(direct, "SELECT migration_id, count(*) FROM dfmigrate_history GROUP BY 1 ORDER BY 1") == [
        ("0001_users", 1), ("0002_posts", 1), ("0003_nick", 1)]
    assert query(direct, "SELECT count(*) FROM users") == [(1,)]  # 0002's INSERT ran once
    for r in results:
        assert json.loads(r[1])["lock"]["released"] is True
    # and the lifecycle commands work through the pooler (no named prepared statements)
    code, out, err = asyncio.run(dfmigrate("status", "--database", pooled, "--dir", str(mdir)))
    assert code == 0 and "3 applied, 0 pending" in out, err

"""The guard before each DDL statement on MySQL/MariaDB (the machine's MariaDB, which shows no
metadata locks by default: performance_schema is off and the metadata_lock_info plugin is not
installed, so the holders are the sessions with an open transaction, once ``LOCK TABLES …
NOWAIT`` says the table is locked).

- a session whose open transaction holds the table's metadata lock makes ``migrate`` stop before
  the ALTER, without running it and without queueing the application's queries behind it,
  exit 2, naming that session; once it commits, a rerun applies from that statement;
- with ``--cancel-blockers`` the session is killed and the migration goes through;
- a statement the pre-check cannot judge (hand-written DDL names no table) that times out names
  the sessions it waited for, and says ``lock_wait_timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dfmigrate.migrations import write_sum
from dfmigrate.urls import database_name
from tests.test_mysql_apply import directory, finish, history, migrate
from tests.test_runner import cli, query


@asynccontextmanager
async def open_transaction(url: str, sql: str) -> AsyncIterator[tuple[Any, int]]:
    """A session that ran ``sql`` in a transaction it leaves open: (its cursor, its connection id)."""
    from dfmigrate.dialects.mysql.connect import connect

    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT CONNECTION_ID()")
            (pid,) = await cur.fetchone()
            await cur.execute("START TRANSACTION")
            await cur.execute(sql)
            await cur.fetchall()
            yield cur, int(pid)
    finally:
        conn.close()


async def alive(cur: Any) -> bool:
    try:
        await cur.execute("SELECT 1")
        return (await cur.fetchone())[0] == 1  # type: ignore[no-any-return]
    except Exception:  # any failure means the session is gone (killed)
        return False


def at_v1(url: str, mdir: Path) -> None:
    assert cli(["migrate", "--database", url, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    query(url, "INSERT INTO items (n, label, note) VALUES (1, 'a', 'x'), (2, 'b', 'y')")


def label_type(url: str) -> str:
    return str(query(url, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                          "AND TABLE_NAME = 'items' AND COLUMN_NAME = 'label'")[0][0])


def test_an_open_transaction_on_the_table_stops_the_alter_unrun_naming_it(mysql_url: str, tmp_path: Path) -> None:
    mdir = directory(tmp_path, mysql_url)
    at_v1(mysql_url, mdir)

    async def blocked() -> tuple[tuple[int, dict[str, Any], str], int, float, float, bool]:
        from dfmigrate.dialects.mysql.connect import connect

        async with open_transaction(mysql_url, "SELECT * FROM items WHERE id = 1 FOR UPDATE") as (cur, pid):
            app = await connect(mysql_url)
            stop, worst = asyncio.Event(), 0.0

            async def reads() -> None:  # the application, reading the table all along
                nonlocal worst
                async with app.cursor() as c:
                    while not stop.is_set():
                        t = time.monotonic()
                        await c.execute("SELECT count(*) FROM items")
                        await c.fetchall()
                        worst = max(worst, time.monotonic() - t)
                        await asyncio.sleep(0.02)

            loop = asyncio.ensure_future(reads())
            started = time.monotonic()
            try:
                result = await asyncio.to_thread(finish, migrate(mysql_url, mdir, "--lock-timeout", "1",
                                                                 "--retries", "1", "--format", "text"))
            finally:
                stop.set()
                await loop
                app.close()
            took = time.monotonic() - started
            still_there = await alive(cur)
            await cur.execute("COMMIT")
            return result, pid, took, worst, still_there

    (code, _, err), pid, took, worst, still_there = asyncio.run(blocked())
    db = database_name(mysql_url)
    assert code == 2, err
    (line,) = err.splitlines()
    # statement 1 creates the new table; statement 2 is the first ALTER of items
    assert f"0002_v2: statement 2 not run: it needs EXCLUSIVE metadata lock on {db}.items" in line, line
    assert f"connection {pid} (root@" in line and "transaction open" in line, line
    assert "DeadlockDetectorNode: timeout_inferred, they held it past 2 s" in line, line
    assert "no session was cancelled" in line and "next 'migrate' resumes" in line, line
    assert still_there  # nobody killed it
    assert 2 <= took < 15, took  # waited its bound, then stopped: it did not stall behind the transaction
    assert worst < 0.5, worst  # the application's reads never queued behind the migration
    assert label_type(mysql_url) == "varchar(40)"  # the ALTER did not run
    assert [r[0] for r in history(mysql_url)] == ["0001_v1"]

    code, report, err = finish(migrate(mysql_url, mdir))  # the transaction ended: the rerun applies
    assert code == 0 and report["applied"] == ["0002_v2"], err
    groups = report["steps"][0]["groups"]
    assert groups[0]["outcome"] == "done by an earlier, interrupted run" and groups[1]["outcome"] == "done"
    assert label_type(mysql_url) == "varchar(80)"
    assert report["verdicts"]["deadlock"]["stopped"] == 0


def test_cancel_blockers_kills_the_session_and_the_migration_goes_through(mysql_url: str, tmp_path: Path) -> None:
    mdir = directory(tmp_path, mysql_url)
    at_v1(mysql_url, mdir)

    async def cancelling() -> tuple[tuple[int, dict[str, Any], str], int, bool]:
        async with open_transaction(mysql_url, "SELECT count(*) FROM items") as (cur, pid):
            result = await asyncio.to_thread(finish, migrate(mysql_url, mdir, "--lock-timeout", "1", "--retries", "0",
                                                             "--cancel-blockers"))
            return result, pid, await alive(cur)

    (code, report, err), pid, still_there = asyncio.run(cancelling())
    assert code == 0, err
    assert not still_there
    assert report["applied"] == ["0002_v2"]
    (step,) = report["steps"]
    (decision,) = [d for d in step["decisions"] if d["terminated"]]
    assert decision["statement"] == 2 and decision["terminated"] == [pid], decision
    assert decision["action"] == "proceed after waiting", decision
    assert [h["pid"] for h in decision["holders"]] == [pid] and decision["holders"][0]["xact_age"] is not None
    assert step["attempts"] == 1
    assert [r[0] for r in history(mysql_url)] == ["0001_v1", "0002_v2"]


HAND_WRITTEN_DDL = '''
from dfmigrate.migration import DataMigration, RunSQL


class Migration(DataMigration):
    id = "0003_extra"
    description = "extra"
    dependencies = ["0002_v2"]
    allow_hazards = ["all"]  # its rollback drops the column
    operations = [RunSQL({"mysql": ["ALTER TABLE items ADD COLUMN extra INT"]},
                         reverse={"mysql": ["ALTER TABLE items DROP COLUMN extra"]})]
'''


def test_a_statement_that_times_out_names_the_sessions_it_waited_for(mysql_url: str, tmp_path: Path) -> None:
    """Hand-written DDL says nothing of the table it locks, so nothing is judged before it: it
    waits lock_wait_timeout, is tried again, and the failure names the session it waited for."""
    mdir = directory(tmp_path, mysql_url)
    (mdir / "0003_extra.py").write_text(HAND_WRITTEN_DDL)
    write_sum(str(mdir))
    assert cli(["migrate", "--database", mysql_url, "--dir", str(mdir), "--to", "0002_v2"]) == 0

    async def blocked() -> tuple[tuple[int, dict[str, Any], str], int]:
        async with open_transaction(mysql_url, "SELECT count(*) FROM items") as (cur, pid):
            result = await asyncio.to_thread(finish, migrate(mysql_url, mdir, "--lock-timeout", "1",
                                                             "--retries", "1"))
            await cur.execute("COMMIT")
            return result, pid

    (code, report, err), pid = asyncio.run(blocked())
    assert code == 2, err
    assert "lock_wait_timeout (1 s) expired on each of 2 attempt(s)" in err, err
    assert f"connection {pid} (root@" in err and "transaction open" in err, err
    assert "no session was cancelled" in err and "lock_timeout (" not in err.replace("lock_wait_timeout (", ""), err
    (step,) = report["steps"]
    assert step["lock_waits"] and step["lock_waits"][0]["blockers"][0]["pid"] == pid, step["lock_waits"]
    assert [r[0] for r in history(mysql_url)] == ["0001_v1", "0002_v2"]
    code, report, err = finish(migrate(mysql_url, mdir))
    assert code == 0 and report["applied"] == ["0003_extra"], err


def test_statement_timeout_is_max_statement_time_on_mariadb(mysql_url: str, tmp_path: Path) -> None:
    """--statement-timeout interrupts a generated ALTER that copies a 300,000-row table; the
    statement is rolled back by the server, and a run without the timeout applies it."""
    mdir = directory(tmp_path, mysql_url)
    at_v1(mysql_url, mdir)
    query(mysql_url, "INSERT INTO items (n, label, note) SELECT seq % 997, CONCAT('item ', seq), 'x' "
                     "FROM seq_3_to_300000")  # MariaDB's sequence engine
    started = time.monotonic()
    code, report, err = finish(migrate(mysql_url, mdir, "--statement-timeout", "0.25"))
    took = time.monotonic() - started
    assert code == 2, err
    assert "0002_v2: statement 2 failed: max_statement_time (0.25 s) expired" in err, err
    assert label_type(mysql_url) == "varchar(40)"  # the copy was interrupted and rolled back
    assert [r[0] for r in history(mysql_url)] == ["0001_v1"]
    print(f"\ninterrupted after {took:.2f} s (process start included)")
    code, report, err = finish(migrate(mysql_url, mdir))
    assert code == 0 and report["applied"] == ["0002_v2"], err
    assert label_type(mysql_url) == "varchar(80)"
    assert query(mysql_url, "SELECT count(*) FROM items") == [(300000,)]

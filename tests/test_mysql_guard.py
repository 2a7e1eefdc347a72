"""The guard before each DDL statement on MySQL/MariaDB (the machine's MariaDB, which shows no
metadata locks by default: performance_schema is off and the metadata_lock_info plugin is not
installed, so the holders are the sessions with an open transaction, once ``LOCK TABLES …
NOWAIT`` says the table is locked).

- a session whose open transaction holds the table's metadata lock makes ``migrate`` stop before
  the ALTER, without running it and without queueing the application's queries behind it,
  exit 2, naming that session; once it commits, a rerun applies from that statement;
- with ``--cancel-blockers`` the session is killed and the migration goes through;
- a statement the pre-check cannot judge (hand-written DDL names no table) that times out names
  the sessions it waited for, and says ``lock_wait_timeout``;
- ``--statement-timeout`` is MariaDB's ``max_statement_time``.

And on a private MariaDB started from the machine's binaries with what its server lacks
(``mariadb_instrumented``): the exact holders from the ``metadata_lock_info`` plugin (an
unrelated open transaction is neither named nor killed), and from ``performance_schema``, where
a session holding the table while it waits for this run's ``GET_LOCK`` is a cycle, stopped at
once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.directory import write_sum
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
    # without a metadata-lock source every open transaction on the server is a possible holder
    # (other tests' too, when they run in parallel): those in this database come first
    assert [h["pid"] for h in decision["holders"] if h["db"] == database_name(mysql_url)] == [pid], decision
    assert decision["holders"][0]["pid"] == pid and decision["holders"][0]["xact_age"] is not None
    # the holder carries how it is named, which the report's text lines show
    assert decision["holders"][0]["description"].startswith(f"connection {pid} (root@"), decision
    assert step["attempts"] == 1
    assert [r[0] for r in history(mysql_url)] == ["0001_v1", "0002_v2"]


def test_session_timeouts_are_sent_once_per_connection_unless_they_change(mysql_url: str) -> None:
    """The MySQL session settings are not transactional and the connection is the run's own: they
    are sent to a connection once (the server's count of SET statements on that session says
    so), and again only when they change."""
    from dfmigrate.guard.timeouts import Timeouts
    from dfmigrate.runner.connections import MysqlConnection

    async def sets_sent() -> tuple[list[int], tuple[Any, ...]]:
        conn = await MysqlConnection.open(mysql_url)
        try:
            async def count() -> int:
                return int((await conn.fetch("SHOW SESSION STATUS LIKE 'Com_set_option'"))[0][1])

            counts = [await count()]
            first = Timeouts(2, 0)
            for _ in range(3):
                await first.local(conn)
                async with first.session(conn):
                    pass
            counts.append(await count())
            for _ in range(2):  # another run's options (a new Timeouts) on the same connection
                await Timeouts(3, 0.5).local(conn)
            counts.append(await count())
            values = tuple((await conn.fetch("SELECT @@lock_wait_timeout, @@innodb_lock_wait_timeout, "
                                             "@@max_statement_time"))[0])
            return counts, values
        finally:
            await conn.close()

    counts, values = asyncio.run(sets_sent())
    assert [b - a for a, b in zip(counts, counts[1:])] == [1, 1], counts
    assert (int(values[0]), int(values[1]), float(values[2])) == (3, 3, 0.5), values


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


# ---------------------------------------------------------------- exact holders (private MariaDB)


@pytest.fixture
def instrumented_db(mariadb_instrumented: str) -> Iterator[Callable[..., str]]:
    """Factory of fresh databases on the private MariaDB (dropped at teardown)."""
    from tests.conftest import _databases, _mysql_admin

    yield from _databases(lambda sql: asyncio.run(_mysql_admin(mariadb_instrumented, sql)), mariadb_instrumented,
                          "CREATE DATABASE `{}`", "DROP DATABASE IF EXISTS `{}`")


@contextmanager
def metadata_lock_instrument(server: str) -> Iterator[None]:
    """performance_schema's metadata-lock instrument on, for the block (the private server's
    own setting: each test process has its server, and runs one test at a time)."""
    sql = "UPDATE performance_schema.setup_instruments SET ENABLED = '{}' WHERE NAME = 'wait/lock/metadata/sql/mdl'"
    query(server, sql.format("YES"))
    try:
        yield
    finally:
        query(server, sql.format("NO"))


def test_metadata_lock_info_names_the_holder_only(instrumented_db: Callable[..., str], tmp_path: Path) -> None:
    url, elsewhere = instrumented_db("mli"), instrumented_db("other")
    query(elsewhere, "CREATE TABLE t (id INT PRIMARY KEY)")
    mdir = directory(tmp_path, url)
    at_v1(url, mdir)

    async def blocked(*extra: str) -> tuple[tuple[int, dict[str, Any], str], int, int, bool, bool]:
        async with open_transaction(url, "SELECT count(*) FROM items") as (cur, pid), \
                open_transaction(elsewhere, "SELECT count(*) FROM t") as (other, unrelated):
            result = await asyncio.to_thread(finish, migrate(url, mdir, "--lock-timeout", "1", "--retries", "0",
                                                             *extra))
            return result, pid, unrelated, await alive(cur), await alive(other)

    (code, report, err), pid, unrelated, holder_alive, other_alive = asyncio.run(blocked())
    assert code == 2, err
    assert f"held (metadata_lock_info) by connection {pid} (root@" in err and "holds SHARED_READ" in err, err
    assert f"connection {unrelated} " not in err, err
    assert report["verdicts"]["deadlock"]["sessions_from"] == "metadata_lock_info"
    assert holder_alive and other_alive

    (code, report, err), pid, unrelated, holder_alive, other_alive = asyncio.run(blocked("--cancel-blockers"))
    assert code == 0 and report["applied"] == ["0002_v2"], err
    assert not holder_alive and other_alive  # only the holder was killed
    (decision,) = [d for d in report["steps"][0]["decisions"] if d["terminated"]]
    assert decision["terminated"] == [pid]


def test_performance_schema_sees_a_wait_cycle_through_the_migration_lock(
        mariadb_instrumented: str, instrumented_db: Callable[..., str], tmp_path: Path) -> None:
    """A session holds the table and then waits for the migration lock this run holds: each waits
    for the other. Only performance_schema shows the second wait (pending GET_LOCK): the detector
    finds the cycle and the run stops at once, long before its bound."""
    from tests.test_mysql_apply import lock_name

    url = instrumented_db("ps")
    mdir = directory(tmp_path, url)
    at_v1(url, mdir)

    async def cycle() -> tuple[tuple[int, dict[str, Any], str], int, float]:
        from dfmigrate.dialects.mysql.connect import connect

        async with open_transaction(url, "SELECT count(*) FROM items") as (cur, pid):
            started = time.monotonic()
            run = asyncio.ensure_future(asyncio.to_thread(finish, migrate(url, mdir, "--lock-timeout", "10")))
            watcher = await connect(url)
            try:
                async with watcher.cursor() as w:
                    while True:  # until the run holds its lock
                        await w.execute("SELECT IS_USED_LOCK(%s)", (lock_name(url),))
                        if (await w.fetchone())[0] is not None:
                            break
                        await asyncio.sleep(0.01)
            finally:
                watcher.close()
            await asyncio.sleep(0.5)  # it is waiting for this session now
            waiting = asyncio.ensure_future(cur.execute("SELECT GET_LOCK(%s, 30)", (lock_name(url),)))
            result = await run
            took = time.monotonic() - started
            await waiting  # the run stopped and released its lock: granted
            return result, pid, took

    with metadata_lock_instrument(mariadb_instrumented):
        (code, report, err), pid, took = asyncio.run(cycle())
    assert code == 2, err
    assert f"held (performance_schema) by connection {pid}" in err, err
    assert "DeadlockDetectorNode: wait_for_graph, a wait cycle through this run" in err, err
    assert took < 10, took  # its bound was 30 s: stopped on the cycle, not on the wait
    assert report["verdicts"]["deadlock"]["sessions_from"] == "performance_schema"
    (decision,) = report["steps"][0]["decisions"]
    assert decision["action"] == "stop" and decision["detector"]["deadlocks"][0]["deadlock_type"] == "wait_for_graph"
    assert [r[0] for r in history(url)] == ["0001_v1"]

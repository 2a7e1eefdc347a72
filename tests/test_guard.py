"""Guarded apply (issue 4) on real PostgreSQL, through the real CLI in subprocesses: the polled
advisory lock under concurrency, lock_timeout + retries + the blocker report, the JSON report."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.config import resolve
from dfmigrate.errors import DfmigrateError
from dfmigrate.runner import commands
from tests.test_formats import shipped_json
from tests.test_runner import USERS, query, write_migration

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))


async def dfmigrate(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dfmigrate", *args, cwd=str(REPO), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def until(conn: Any, sql: str, *args: Any, seconds: float = 20.0) -> bool:
    """Poll ``sql`` on ``conn`` every 0.05 s until it returns a true value, for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if await conn.fetchval(sql, *args):
            return True
    return False


def users_applied_nick_pending(url: str, mdir: Path) -> Any:
    """0001_users applied, 0002_nick (ALTER TABLE users ADD COLUMN nick) pending; the config."""
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    cfg = resolve(database=url, dir=str(mdir))
    asyncio.run(commands.migrate(cfg))
    write_migration(mdir, "0002_nick", "postgresql", ["ALTER TABLE users ADD COLUMN nick text"],
                    ["ALTER TABLE users DROP COLUMN nick"], deps=["0001_users"])
    return cfg


def users_applied_index_pending(url: str, tmp_path: Path) -> Path:
    """0001_users applied, 0002_idx (CREATE INDEX CONCURRENTLY, outside any transaction) pending."""
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    asyncio.run(commands.migrate(resolve(database=url, dir=str(mdir))))
    write_migration(mdir, "0002_idx", "postgresql", ["CREATE INDEX CONCURRENTLY users_email_idx ON users (email)"],
                    ["DROP INDEX users_email_idx"], deps=["0001_users"], nt=[0])
    return mdir


def three_migrations(mdir: Path) -> None:
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"], "SELECT pg_sleep(0.3)"],
                    ["DROP TABLE users"])
    write_migration(mdir, "0002_posts", "postgresql",
                    ["CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id))",
                     "INSERT INTO users VALUES (1, 'a@x.io')"],  # not idempotent: a double run would fail
                    ["DROP TABLE posts", "DELETE FROM users"], deps=["0001_users"])
    write_migration(mdir, "0003_nick", "postgresql", ["ALTER TABLE users ADD COLUMN nick text"],
                    ["ALTER TABLE users DROP COLUMN nick"], deps=["0002_posts"])


@pytest.mark.slow
def test_twenty_concurrent_migrate_processes_apply_each_migration_once(pg_db: Any, tmp_path: Path) -> None:
    """Issue 4's acceptance run: 20 processes, one database, every migration recorded once,
    every process exits 0. On 2 cores the 20 interpreters take ~10 s just to start, so the gate
    waits for all of them and --lock-wait leaves room for that and the queue behind the lock."""
    url = pg_db("race")
    mdir = tmp_path / "m"
    three_migrations(mdir)
    n = 20

    async def all_at_once() -> list[tuple[int, str, str]]:
        """The test holds the lock until all n processes are polling for it (each has its work
        and its lock connection open), so that they really contend, however slowly they start."""
        import asyncpg

        from dfmigrate.guard.lock import LOCK_KEY

        gate = await asyncpg.connect(url)
        try:
            await gate.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
            runs = [asyncio.ensure_future(dfmigrate("migrate", "--database", url, "--dir", str(mdir),
                                                    "--lock-wait", "90", "--format", "json")) for _ in range(n)]
            for _ in range(600):
                await asyncio.sleep(0.1)
                if await gate.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dfmigrate' "
                                       "AND datname = current_database()") >= 2 * n:
                    break
            await asyncio.sleep(0.3)
            nonlocal released
            released = time.monotonic()
            await gate.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            return await asyncio.gather(*runs)
        finally:
            await gate.close()

    started = time.monotonic()
    released = 0.0
    results = asyncio.run(all_at_once())
    print(f"\n{n} processes: {time.monotonic() - started:.1f} s in all, "
          f"{time.monotonic() - released:.1f} s from the gate's release to the last exit")
    assert [r[0] for r in results] == [0] * n, [r[2] for r in results]
    reports = [shipped_json(r[1], "migrate") for r in results]
    applied = [m for rep in reports for m in rep["applied"]]
    assert sorted(applied) == ["0001_users", "0002_posts", "0003_nick"]  # each once, across all processes
    assert query(url, "SELECT migration_id, count(*) FROM dfmigrate_history GROUP BY 1 ORDER BY 1") == [
        ("0001_users", 1), ("0002_posts", 1), ("0003_nick", 1)]
    assert query(url, "SELECT count(*) FROM users") == [(1,)]
    assert query(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                      "AND column_name = 'nick'") == [(1,)]
    assert all(rep["lock"]["contended"] for rep in reports)  # they really did wait (on the gate, on each other)
    assert sum(1 for rep in reports if len(rep["lock"]["holders_seen"]) > 1) >= 1  # ... on each other too
    for rep in reports:
        assert rep["lock"]["released"] is True
        assert rep["verdicts"]["race"]["overlap"] is False
        assert rep["verdicts"]["race"]["detector"] == "RaceConditionDetectorNode"
    winner = next(rep for rep in reports if rep["applied"])
    assert [s["migration"] for s in winner["steps"]] == ["0001_users", "0002_posts", "0003_nick"]
    assert all(s["outcome"] == "applied" and s["duration_ms"] >= 0 and s["attempts"] == 1 for s in winner["steps"])


def test_lock_wait_polls_then_names_the_holder(pg_db: Any, tmp_path: Path) -> None:
    import asyncpg

    from dfmigrate.guard.lock import LOCK_KEY
    from dfmigrate.guard.options import GuardOptions

    url = pg_db("holder")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    cfg = resolve(database=url, dir=str(mdir))

    from dfmigrate.guard.detectors import DeadlockGuard, RaceGuard
    from dfmigrate.runner import runner  # noqa: F401  warm: Kailash's import is not lock waiting

    RaceGuard("warm-up"), DeadlockGuard()

    async def contended() -> None:
        holder = await asyncpg.connect(url, server_settings={"application_name": "deploy-7"})
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
            started = time.monotonic()
            with pytest.raises(DfmigrateError) as info:
                await commands.migrate(cfg, guard=GuardOptions(lock_wait=1.0))
            waited = time.monotonic() - started
            message = str(info.value)
            assert f"pid {holder.get_server_pid()}" in message and "'deploy-7'" in message
            assert "session since" in message and "--lock-wait 1" in message
            assert 0.9 <= waited < 10  # polled for --lock-wait, not forever (loaded CI: generous)
            assert "\n" not in message
            # released while another run polls: it gets the lock and applies
            task = asyncio.ensure_future(commands.migrate(cfg, guard=GuardOptions(lock_wait=10)))
            await asyncio.sleep(0.5)
            await holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            assert [line.split(" (")[0] for line in await task] == ["applied 0001_users"]
        finally:
            await holder.close()

    asyncio.run(contended())


def test_blocking_reader_is_waited_for_then_the_step_is_stopped_unrun(pg_db: Any, tmp_path: Path) -> None:
    """An idle-in-transaction reader holds ACCESS SHARE on the table ALTER TABLE needs: the
    deadlock detector sees a plain wait, so the run waits (never queueing the application's
    queries behind it) until the node's timeout verdict, then stops without running the step,
    naming the reader; the reader is not cancelled; a later run applies."""
    import asyncpg

    url = pg_db("blocker")
    mdir = tmp_path / "m"
    users_applied_nick_pending(url, mdir)

    async def blocked() -> tuple[tuple[int, str, str], float, int, float]:
        reader = await asyncpg.connect(url)
        looper = await asyncpg.connect(url)
        stop = asyncio.Event()
        worst = 0.0

        async def loop() -> None:  # the application, reading the table all along
            nonlocal worst
            while not stop.is_set():
                t = time.monotonic()
                await looper.fetch("SELECT count(*) FROM users")
                worst = max(worst, time.monotonic() - t)
                await asyncio.sleep(0.02)

        try:
            await reader.execute("BEGIN")
            await reader.fetch("SELECT * FROM users")  # ACCESS SHARE, then idle in transaction
            pid = reader.get_server_pid()
            app = asyncio.ensure_future(loop())
            started = time.monotonic()
            result = await dfmigrate("migrate", "--database", url, "--dir", str(mdir),
                                     "--lock-timeout", "1", "--retries", "1")
            took = time.monotonic() - started
            stop.set()
            await app
            assert await reader.fetchval("SELECT 1") == 1  # the reader was not cancelled
            await reader.execute("COMMIT")
            return result, worst, pid, took
        finally:
            await reader.close()
            await looper.close()

    (code, out, err), worst, pid, took = asyncio.run(blocked())
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and f"pid {pid}" in err and "idle in transaction" in err, err
    assert "0002_nick: statement 1 not run: it needs AccessExclusiveLock on public.users" in err, err
    assert "DeadlockDetectorNode: timeout_inferred" in err and "past 2 s" in err, err
    assert "SELECT * FROM users" in err and "no session was cancelled" in err and "rolled back" in err
    assert "waiting up to 2 s for pid" in out, out  # said while it waited
    assert took > 2, took
    assert worst < 0.5, worst  # never queued: the application's reads went on
    assert query(url, "SELECT migration_id FROM dfmigrate_history") == [("0001_users",)]
    assert query(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                      "AND column_name = 'nick'") == [(0,)]
    code, out, err = asyncio.run(dfmigrate("migrate", "--database", url, "--dir", str(mdir), "--lock-timeout", "1"))
    assert code == 0 and "applied 0002_nick" in out, err
    assert query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1") == [("0001_users",), ("0002_nick",)]


def test_blocker_that_commits_while_waited_for_lets_the_step_proceed(pg_db: Any, tmp_path: Path) -> None:
    """A blocker that commits while the run waits for it: the detector's verdict was "wait",
    then "proceed"; the JSON report quotes the node's output and the blocker, one attempt."""
    import asyncpg

    from dfmigrate.guard.lock import APPLYING

    url = pg_db("retry")
    mdir = tmp_path / "m"
    users_applied_nick_pending(url, mdir)

    async def waited() -> tuple[tuple[int, str, str], int]:
        reader = await asyncpg.connect(url)
        watcher = await asyncpg.connect(url)  # not the reader: its transaction freezes pg_stat_activity
        try:
            await reader.execute("BEGIN")
            await reader.fetch("SELECT * FROM users")
            run = asyncio.ensure_future(dfmigrate("migrate", "--database", url, "--dir", str(mdir), "--lock-timeout",
                                                  "2", "--retries", "3", "--format", "json"))
            # until the run has waited 0.6 s, its transaction open, before ALTER TABLE (measured by the
            # server, not by a sleep here: on a loaded machine the run may reach its wait late; in this
            # test's database: other tests' runs carry the same application_name)
            assert await until(watcher, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                                        "AND datname = current_database() AND state = 'idle in transaction' "
                                        "AND now() - state_change > interval '0.6 seconds'", APPLYING, seconds=90)
            await reader.execute("COMMIT")
            return await run, reader.get_server_pid()
        finally:
            await reader.close()
            await watcher.close()

    (code, out, err), pid = asyncio.run(waited())
    assert code == 0, err
    report = shipped_json(out, "migrate")
    assert report["ok"] and report["applied"] == ["0002_nick"]
    (step,) = report["steps"]
    assert step["outcome"] == "applied" and step["attempts"] == 1 and step["duration_ms"] > 500
    (decision,) = step["decisions"]
    assert decision["action"] == "proceed after waiting" and decision["waited_s"] >= 0.5, decision
    assert [h["pid"] for h in decision["holders"]] == [pid]
    assert decision["detector"]["deadlock_count"] == 0  # the node's own output, quoted
    assert f"pg:{pid}" in str(decision["detector"]["wait_for_graph"])
    assert report["verdicts"]["deadlock"]["detector"] == "DeadlockDetectorNode"
    assert report["verdicts"]["deadlock"]["verdict"] == "waits, no deadlock"


def test_wait_cycle_through_the_migration_lock_stops_at_once(pg_db: Any, tmp_path: Path) -> None:
    """A session holds ACCESS SHARE on users and waits for the migration lock this run holds:
    PostgreSQL cannot see that cycle (the lock is on another of our connections), the
    DeadlockDetectorNode does, and the run stops before ALTER TABLE without waiting out its bound."""
    import asyncpg

    from dfmigrate.guard.lock import LOCK_KEY

    url = pg_db("cycle")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    asyncio.run(commands.migrate(resolve(database=url, dir=str(mdir))))
    write_migration(mdir, "0002_nick", "postgresql", ["SELECT pg_sleep(1.5)", "ALTER TABLE users ADD COLUMN nick text"],
                    ["ALTER TABLE users DROP COLUMN nick"], deps=["0001_users"])

    async def cycle() -> tuple[tuple[int, str, str], int]:
        other = await asyncpg.connect(url)
        watcher = await asyncpg.connect(url)
        try:
            await other.execute("BEGIN")
            await other.fetch("SELECT * FROM users")
            run = asyncio.ensure_future(dfmigrate("migrate", "--database", url, "--dir", str(mdir), "--lock-timeout",
                                                  "5", "--format", "json"))
            await until(watcher, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "  # held
                                 "database = (SELECT oid FROM pg_database WHERE datname = current_database())")
            waiting = asyncio.ensure_future(other.execute("SELECT pg_advisory_lock($1)", LOCK_KEY))
            result = await run
            await waiting  # granted once the run let go
            await other.execute("ROLLBACK")
            await other.execute("SELECT pg_advisory_unlock_all()")
            return result, other.get_server_pid()
        finally:
            await other.close()
            await watcher.close()

    (code, out, err), pid = asyncio.run(cycle())
    assert code == 2, (out, err)
    assert "DeadlockDetectorNode: wait_for_graph, a wait cycle through this run" in err, err
    (step,) = shipped_json(out, "migrate")["steps"]
    (decision,) = step["decisions"]
    assert decision["action"] == "stop" and decision["checks"] == 1 and decision["waited_s"] < 5
    assert decision["detector"]["deadlocks"][0]["deadlock_type"] == "wait_for_graph"
    assert [h["pid"] for h in decision["holders"]] == [pid]
    assert query(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                      "AND column_name = 'nick'") == [(0,)]


def test_text_report_and_json_error(pg_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncpg

    from dfmigrate.guard.lock import LOCK_KEY
    from tests.test_runner import cli

    url = pg_db("text")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    base = ["--database", url, "--dir", str(mdir)]

    async def held() -> int:
        holder = await asyncpg.connect(url)
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
            return await asyncio.to_thread(cli, ["migrate", *base, "--lock-wait", "0.3", "--format", "json"])
        finally:
            await holder.close()

    assert asyncio.run(held()) == 2
    captured = capsys.readouterr()
    assert shipped_json(captured.out, "migrate")["ok"] is False and "advisory lock held by pid" in captured.err
    assert cli(["migrate", *base]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("applying 0001_users (") and out[1].startswith("applied 0001_users (")
    assert not any("DetectorNode" in line for line in out), out  # detector details: --verbose only
    write_migration(mdir, "0002_nick", "postgresql", ["ALTER TABLE users ADD COLUMN nick text"],
                    ["ALTER TABLE users DROP COLUMN nick"], deps=["0001_users"])
    assert cli(["-v", "migrate", *base]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "RaceConditionDetectorNode: uncontended" in out and "DeadlockDetectorNode: no waits" in out
    assert any("statement 1 done in" in line for line in out), out
    assert cli(["-q", "migrate", *base]) == 0
    assert capsys.readouterr().out == ""
    # the same flags after the command name
    write_migration(mdir, "0003_bio", "postgresql", ["ALTER TABLE users ADD COLUMN bio text"],
                    ["ALTER TABLE users DROP COLUMN bio"], deps=["0002_nick"])
    assert cli(["migrate", *base, "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert cli(["rollback", *base, "--allow-hazards", "all", "--verbose"]) == 0
    assert any("DetectorNode" in line for line in capsys.readouterr().out.splitlines())
    assert cli(["migrate", *base]) == 0
    assert not any("DetectorNode" in line for line in capsys.readouterr().out.splitlines())
    assert cli(["migrate", *base]) == 0
    assert capsys.readouterr().out.strip() == "Nothing to migrate: the database is up to date."


def test_outside_statement_gets_lock_timeout_retries_and_resumes(pg_db: Any, tmp_path: Path) -> None:
    """CREATE INDEX CONCURRENTLY waits for every older transaction: under the session-level
    lock_timeout it gives up instead of waiting forever, is retried (dropping the invalid index
    each timed-out attempt leaves), names its blocker, and the next run finishes it."""
    import asyncpg

    url = pg_db("outside")
    mdir = users_applied_index_pending(url, tmp_path)
    base = ["migrate", "--database", url, "--dir", str(mdir)]

    async def blocked() -> tuple[tuple[int, str, str], tuple[int, str, str], int, list[Any]]:
        reader = await asyncpg.connect(url)
        watcher = await asyncpg.connect(url)
        try:
            await reader.execute("BEGIN")
            await reader.fetch("SELECT * FROM users")  # an older transaction, idle
            gave_up = await dfmigrate(*base, "--lock-timeout", "0.5", "--retries", "1")
            left = [tuple(r) for r in await watcher.fetch(
                "SELECT (SELECT count(*) FROM pg_index WHERE NOT indisvalid),"
                " (SELECT string_agg(step || ':' || state, ',') FROM dfmigrate_progress)")]
            run = asyncio.ensure_future(dfmigrate(*base, "--lock-timeout", "0.8", "--retries", "4", "--format", "json"))
            # until its first attempt waits on the reader
            await until(watcher, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database()", seconds=10)
            await asyncio.sleep(1.0)
            await reader.execute("COMMIT")
            return gave_up, await run, reader.get_server_pid(), left
        finally:
            await reader.close()
            await watcher.close()

    (code, out, err), (code2, out2, err2), pid, left = asyncio.run(blocked())
    assert code == 2 and err.count("\n") == 1, err
    assert "0002_idx: statement 1 failed: lock_timeout (0.5 s) expired on each of 2 attempt(s)" in err
    assert f"pid {pid}" in err and "no session was cancelled" in err and "next 'migrate' resumes" in err
    assert left[0][1] == "0:running", left
    if left[0][0]:  # the cleanup was blocked by the same reader: the message says so
        assert "an invalid index it left may remain" in err, err
    assert code2 == 0, err2
    report = shipped_json(out2, "migrate")
    (step,) = report["steps"]
    (outside,) = step["groups"]
    # Retries are proven by the first run ("each of 2 attempt(s)"); here the observed wait may be
    # the settle's DROP INDEX CONCURRENTLY, after which the build can finish on its first attempt.
    assert outside["attempts"] >= 1 and outside["outcome"] == "done", outside
    assert any(r["action"] == "dropped it, run again" for r in outside["resumed"]), outside
    assert pid in [b["pid"] for w in step["lock_waits"] for b in w["blockers"]]
    assert query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
    assert query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1") == [("0001_users",), ("0002_idx",)]


def test_waits_for_the_backend_of_a_killed_run(pg_db: Any, tmp_path: Path) -> None:
    """After a kill -9 the advisory lock goes at once, but the dead run's migration backend may
    still be inside a statement, holding its locks. The next run waits for it to end instead of
    timing out on those locks (here: lock_timeout 0.3 s, no retries, against a 3 s leftover, long
    enough that a slow start of the run still finds it there)."""
    import asyncpg

    from dfmigrate.guard.options import GuardOptions
    from dfmigrate.guard.lock import APPLYING

    url = pg_db("orphan")
    mdir = tmp_path / "m"
    cfg = users_applied_nick_pending(url, mdir)

    async def leftover() -> dict[str, Any]:
        orphan = await asyncpg.connect(url, server_settings={"application_name": APPLYING})
        try:
            await orphan.execute("BEGIN")
            await orphan.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            # then gone, as a killed run's backend is once its statement ends
            sleeping = asyncio.ensure_future(orphan.execute("SELECT pg_sleep(3); ROLLBACK"))
            await asyncio.sleep(0.2)
            report: dict[str, Any] = {}
            await commands.migrate(cfg, guard=GuardOptions(lock_timeout=0.3, retries=0), report=report)
            await sleeping
            return report
        finally:
            await orphan.close()

    report = asyncio.run(leftover())
    assert report["steps"][0]["outcome"] == "applied"
    assert report["lock"]["orphans_waited_s"] >= 1.0, report["lock"]
    assert any("for the backend of an interrupted run" in line for line in commands.report_lines(report))


def test_precheck_names_the_blocker_and_cancel_blockers_ends_it(pg_db: Any, tmp_path: Path) -> None:
    """Before ALTER TABLE takes ACCESS EXCLUSIVE, the holders of conflicting locks are named (JSON
    report, prechecks) even without waiting; only --cancel-blockers terminates them, and then the
    migration goes through on its first attempt."""
    import asyncpg

    url = pg_db("precheck")
    mdir = tmp_path / "m"
    users_applied_nick_pending(url, mdir)
    base = ["migrate", "--database", url, "--dir", str(mdir), "--lock-timeout", "0.5", "--retries", "0",
            "--format", "json"]

    async def run(cancel: bool) -> tuple[tuple[int, str, str], int, bool]:
        reader = await asyncpg.connect(url)
        try:
            await reader.execute("BEGIN")
            await reader.fetch("SELECT * FROM users")  # ACCESS SHARE, then idle in transaction
            result = await dfmigrate(*base, *(["--cancel-blockers"] if cancel else []))
            try:
                alive = await reader.fetchval("SELECT 1") == 1
            except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
                alive = False
            return result, reader.get_server_pid(), alive
        finally:
            reader.terminate()

    (code, out, err), pid, alive = asyncio.run(run(cancel=False))
    assert code == 2 and alive and "no session was cancelled" in err, err
    (step,) = shipped_json(out, "migrate")["steps"]
    (pre,) = step["decisions"]
    assert pre["mode"] == "AccessExclusiveLock" and pre["relation"] == "public.users" and pre["terminated"] == []
    assert pre["action"] == "stop"
    assert [(h["pid"], h["mode"], h["state"]) for h in pre["holders"]] == [(pid, "AccessShareLock", "idle in transaction")]

    (code, out, err), pid, alive = asyncio.run(run(cancel=True))
    assert code == 0 and not alive, err
    (step,) = shipped_json(out, "migrate")["steps"]
    assert step["attempts"] == 1 and step["decisions"][0]["terminated"] == [pid]
    assert step["decisions"][0]["action"] == "proceed after waiting"
    assert query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1") == [("0001_users",), ("0002_nick",)]


def test_lock_target_comes_from_the_step() -> None:
    from dfmigrate.guard.precheck import target_of
    from dfmigrate.core.step import Step

    t = target_of(Step("ALTER TABLE x ADD COLUMN y int", lock="ACCESS EXCLUSIVE", target='public.My "T"'))
    assert t is not None and t.mode == "AccessExclusiveLock" and t.regclass == '"public"."My ""T"""'
    assert target_of(Step("CREATE INDEX CONCURRENTLY i ON t (a)", lock="SHARE UPDATE EXCLUSIVE",
                          target="public.t")).mode == "ShareUpdateExclusiveLock"
    assert target_of(Step("CREATE TABLE t (a int)")) is None  # no lock named: nothing to check
    assert target_of(Step("SELECT 1", lock="ACCESS SHARE", target="public.t")) is None  # blocks no one


def test_index_build_progress_is_printed_while_it_runs(pg_db: Any, tmp_path: Path) -> None:
    """A concurrent index build held up by an old snapshot: the output names the running
    statement and, from pg_stat_progress_create_index, the phase it is in, while it runs."""
    import asyncpg

    url = pg_db("idxprogress")
    mdir = users_applied_index_pending(url, tmp_path)

    async def held_up() -> tuple[int, str, str]:
        reader = await asyncpg.connect(url)
        watcher = await asyncpg.connect(url)
        try:
            await reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            await reader.fetch("SELECT count(*) FROM users")  # a snapshot the build must outlive
            run = asyncio.ensure_future(dfmigrate("migrate", "--database", url, "--dir", str(mdir),
                                                  "--lock-timeout", "20"))
            await until(watcher, "SELECT count(*) FROM pg_stat_progress_create_index "  # the build waits
                                 "WHERE phase = 'waiting for old snapshots'")
            await asyncio.sleep(3)
            await reader.execute("COMMIT")
            return await run
        finally:
            await reader.close()
            await watcher.close()

    code, out, err = asyncio.run(held_up())
    assert code == 0, err
    assert "0002_idx: statement 1 (create-index-concurrently on public.users) running since" in out, out
    assert "0002_idx: statement 1: waiting for old snapshots" in out, out
    assert "applied 0002_idx (" in out

"""Applying generated migrations on MySQL/MariaDB (the machine's MariaDB): every DDL statement
commits by itself, so each is checkpointed as it completes, and the migration lock is
``GET_LOCK``.

- a kill -9 at 10 random moments of a multi-statement migration, each followed by a rerun, ends
  exactly where a clean run ends (SHOW CREATE TABLE, the history, the rows, no progress left);
  the same for a kill -9 of its rollback at each statement, rerun;
- a statement that took effect but was not marked done is recognised from the catalog, not run
  again;
- 10 concurrent ``migrate`` apply each migration exactly once;
- a held lock names its holder (the guard before each statement, and its lock waits, are
  tests/test_mysql_guard.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.directory import load_all, write_sum
from tests.test_formats import shipped_json
from tests.test_runner import cli, query

REPO = Path(__file__).resolve().parent.parent
SEED = 20261203
ROWS = 100_000

V1 = '''
from dfmigrate import field, model


@model
class Item:
    __timestamps__ = False
    n: int
    label: str = field(max_length=40)
    note: str | None = field(max_length=40)
    legacy: int | None = None
'''

# Each change is one statement on a 100,000-row table: a retype (the table is copied), an
# index build, a rename, a dropped and an added column, a new table with a foreign key to it.
V2 = '''
from dfmigrate import field, index, model


@model
class Item:
    __timestamps__ = False
    n: int
    label: str = field(max_length=80)
    remark: str | None = field(max_length=40, renamed_from="note")
    score: int = 0
    __indexes__ = (index("n"), index("label"))


@model
class Tag:
    __timestamps__ = False
    item_id: int = field(references="items.id", on_delete="CASCADE")
    name: str = field(max_length=20)
'''


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))


def dfmigrate(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dfmigrate", *args], cwd=str(REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})


def finish(proc: subprocess.Popen[bytes], timeout: float = 180) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=timeout)
    try:
        report = json.loads(out.decode())
    except ValueError:
        report = {}
    else:
        shipped_json(out.decode(), "migrate")
    return proc.returncode, report, err.decode()


def migrate(url: str, mdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return dfmigrate("migrate", "--database", url, "--dir", str(mdir), "--format", "json", *extra)


def generated(tmp_path: Path, url: str, *versions: tuple[str, str]) -> Path:
    """The migrations makemigrations writes for the MySQL database ``url`` names from each
    (message, models text) in turn, in ``tmp_path/migrations``."""
    mdir, models = tmp_path / "migrations", tmp_path / "models.py"
    for version, text in versions:
        models.write_text(text)
        assert cli(["makemigrations", "--models", str(models), "--dir", str(mdir), "--database", url,
                    "-m", version]) == 0
    return mdir


def directory(tmp_path: Path, url: str) -> Path:
    """Two generated migrations (v1, then v2 with consent to its rename and drop), written for
    the MySQL database ``url`` names."""
    mdir = generated(tmp_path, url, ("v1", V1), ("v2", V2))
    v2 = next(mdir.glob("0002_*.py"))
    assert "    mysql = ForDialect(" in v2.read_text()
    v2.write_text(v2.read_text().replace("\n    dependencies = ", '\n    allow_hazards = ["all"]\n    dependencies = ', 1))
    write_sum(str(mdir))
    return mdir


def at_v1_with_rows(url: str, mdir: Path) -> None:
    code, _, err = finish(migrate(url, mdir, "--to", "0001_v1"))
    assert code == 0, err
    digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL " \
             "SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
    number = "a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d"
    query(url, f"INSERT INTO items (id, n, label, note) SELECT {number} + 1, ({number}) % 997, "
               f"CONCAT('item ', {number}), 'x' FROM {digits} a, {digits} b, {digits} c, {digits} e, {digits} f")


def show_create(url: str) -> dict[str, str]:
    names = [r[0] for r in query(url, "SHOW TABLES") if not r[0].startswith("dfmigrate_")]
    return {n: query(url, f"SHOW CREATE TABLE `{n}`")[0][1].split(") ENGINE")[0] for n in sorted(names)}


def history(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT migration_id, checksum, direction FROM dfmigrate_history ORDER BY seq")


def lock_name(url: str) -> str:
    from dfmigrate.guard.mysql_lock import lock_name as name
    from dfmigrate.urls import database_name

    return name(database_name(url) or "")


async def _lock_holder(cur: Any, url: str) -> int | None:
    await cur.execute("SELECT IS_USED_LOCK(%s)", (lock_name(url),))
    return (await cur.fetchone())[0]  # type: ignore[no-any-return]


async def watch_apply(proc: subprocess.Popen[bytes], url: str, kill_after: float,
                      when: Callable[[Any], Any] | None = None) -> tuple[float, str]:
    """Wait until ``proc`` takes the migration lock; then SIGKILL it ``kill_after`` seconds later
    (or as soon as ``await when(cursor)`` is true, if given) and return (the seconds it held the
    lock until then, what its session was running at that moment); if it releases the lock
    before, return (how long it held it, "") and let it finish."""
    from dfmigrate.dialects.mysql.connect import connect

    watcher = await connect(url)
    try:
        async with watcher.cursor() as cur:
            deadline = time.monotonic() + 60
            while (holder := await _lock_holder(cur, url)) is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the run never took the lock: {finish(proc)}")
                await asyncio.sleep(0.005)
            taken = time.monotonic()
            while time.monotonic() - taken < kill_after and not (when is not None and await when(cur)):
                if await _lock_holder(cur, url) != holder:
                    return time.monotonic() - taken, ""
                await asyncio.sleep(0.002 if when is not None else 0.005)
            kill_after = time.monotonic() - taken
            await cur.execute("SELECT LEFT(INFO, 60) FROM information_schema.PROCESSLIST WHERE ID = %s", (holder,))
            row = await cur.fetchone()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return kill_after, (row[0] or "") if row else ""
    finally:
        watcher.close()


@pytest.mark.slow
def test_kill_9_at_ten_random_moments_then_rerun_equals_a_clean_run(mysql_db: Callable[..., str],
                                                                    tmp_path: Path) -> None:
    base = mysql_db("clean")
    mdir = directory(tmp_path, base)
    at_v1_with_rows(base, mdir)
    proc = migrate(base, mdir)
    held_s, _ = asyncio.run(watch_apply(proc, base, 600))
    code, report, err = finish(proc)
    assert code == 0, err
    assert report["applied"] == ["0002_v2"]
    expected = {"tables": show_create(base), "history": history(base),
                "rows": query(base, "SELECT count(*), sum(n), max(remark) FROM items")}
    assert "KEY `items_label_idx` (`label`)" in expected["tables"]["items"]

    # Each kill is timed from the moment the run takes the lock, at a seeded fraction of the
    # clean run's time under the lock (one fraction in each tenth): the interpreter's start-up
    # before it varies with the machine's load far more. A run that released the lock before its
    # kill (the machine got faster) is redone, on a fresh database, at the same fraction of the
    # time it held the lock (twice at most).
    rng = random.Random(SEED)
    fractions = [(i + rng.random()) / 10 for i in range(10)]
    print(f"\nclean run held the lock {held_s:.2f} s; trials:")
    trials = []
    for i, fraction in enumerate(fractions):
        url = mysql_db(f"crash{i}")
        at_v1_with_rows(url, mdir)
        proc = migrate(url, mdir)
        at, running = asyncio.run(watch_apply(proc, url, fraction * held_s))
        for again in range(2):
            if running or proc.poll() == -signal.SIGKILL:
                break
            assert finish(proc)[0] == 0
            url = mysql_db(f"crash{i}{'bc'[again]}")
            at_v1_with_rows(url, mdir)
            proc = migrate(url, mdir)
            at, running = asyncio.run(watch_apply(proc, url, fraction * at))
        proc.wait(timeout=60)  # one that released the lock before its kill may still be exiting
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, f"trial {i}: exit {proc.returncode} before its kill"
        progress = query(url, "SELECT step, state FROM dfmigrate_progress ORDER BY step") \
            if query(url, "SHOW TABLES LIKE 'dfmigrate_progress'") else []
        t1 = time.monotonic()
        code, rerun, err = finish(migrate(url, mdir, "--lock-wait", "60"))
        trials.append({"at": round(at, 2), "killed": killed, "running": running,
                       "progress": [f"{s}:{state}" for s, state in progress], "rerun_s": round(time.monotonic() - t1, 2),
                       "resumed": [f"#{g['statements'][0]}: {r['found']} -> {r['action']}"
                                   for s in rerun.get("steps", []) for g in s.get("groups", []) for r in g["resumed"]]})
        print(json.dumps(trials[-1]))
        assert code == 0, f"trial {i} ({trials[-1]}): rerun failed: {err}"
        assert show_create(url) == expected["tables"], f"trial {i}: {trials[-1]}"
        assert history(url) == expected["history"], f"trial {i}: {trials[-1]}"
        assert query(url, "SELECT count(*), sum(n), max(remark) FROM items") == expected["rows"]
        assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
        assert cli(["drift", "--database", url, "--dir", str(mdir)]) == 0, f"trial {i}: drift"
    assert sum(t["killed"] for t in trials) >= 9, trials
    # the kills landed in different statements, and some between a statement and its mark
    assert len({len(t["progress"]) for t in trials}) >= 3, trials
    assert any(t["resumed"] for t in trials), trials


def rollback_to_v1(url: str, mdir: Path) -> subprocess.Popen[bytes]:
    """``rollback --to 0001_v1``: rolls back 0002_v2 when it is applied, and nothing when an
    earlier run already did (a plain ``rollback`` would then roll back 0001_v1 too)."""
    return dfmigrate("rollback", "--database", url, "--dir", str(mdir), "--to", "0001_v1")


@pytest.mark.slow
def test_kill_9_of_rollback_at_each_statement_then_rerun_equals_a_clean_rollback(
        mysql_db: Callable[..., str], tmp_path: Path) -> None:
    """The same for ``rollback`` of the seven-statement migration on the 100,000-row table (its
    backward statements: the new table dropped, the indexes dropped, the column renamed back, the
    dropped column added back, the added one dropped, the retype undone by a table copy), killed
    at each statement and between some: each kill is followed by a rerun, which must end where a
    clean rollback ends."""
    def at_v2(url: str) -> None:
        at_v1_with_rows(url, mdir)
        code, _, err = finish(migrate(url, mdir))
        assert code == 0, err

    def rows(url: str) -> list[tuple[Any, ...]]:
        return query(url, "SELECT count(*), sum(n), max(note), max(label) FROM items")

    base = mysql_db("rbclean")
    mdir = directory(tmp_path, base)
    at_v2(base)
    proc = rollback_to_v1(base, mdir)
    held_s, _ = asyncio.run(watch_apply(proc, base, 600))
    code, _, err = finish(proc)
    assert code == 0, err
    expected = {"tables": show_create(base), "history": history(base), "rows": rows(base)}
    assert list(expected["tables"]) == ["items"] and "`note` varchar(40)" in expected["tables"]["items"]
    assert [r[2] for r in expected["history"]] == ["forward", "forward", "backward"]

    # Each kill is timed by the run's own progress marks, not by the clock: the table copy takes
    # most of a rollback's fraction of a second, so kills at moments spread over that time would
    # nearly all land in it. Trial k kills the run as soon as statement k is marked running (it
    # is about to start, or running), and three trials as soon as a statement is marked done.
    steps = len(load_all(str(mdir))[1].cls().steps("mysql", "backward"))
    events = [(k, "running") for k in range(steps)] + [(k, "done") for k in range(0, steps, 3)]
    print(f"\nclean rollback held the lock {held_s:.2f} s; trials:")
    trials = []
    for i, (step, state) in enumerate(events):
        def reached(cur: Any, step: int = step, state: str = state) -> Any:
            async def check() -> bool:
                await cur.execute("SELECT count(*) FROM dfmigrate_progress WHERE direction = 'backward' AND "
                                  "(step > %s OR step = %s AND state IN %s)",
                                  (step, step, ("done",) if state == "done" else ("running", "done")))
                return bool((await cur.fetchone())[0])
            return check()

        url = mysql_db(f"rbcrash{i}")
        at_v2(url)
        proc = rollback_to_v1(url, mdir)
        at, running = asyncio.run(watch_apply(proc, url, 600, reached))
        proc.wait(timeout=60)  # one that released the lock before its kill may still be exiting
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, f"trial {i}: exit {proc.returncode} before its kill"
        progress = query(url, "SELECT step, state FROM dfmigrate_progress WHERE direction = 'backward' ORDER BY step")
        code, _, err = finish(rollback_to_v1(url, mdir))
        trials.append({"at": f"{step}:{state}", "s": round(at, 3), "killed": killed, "running": running,
                       "progress": [f"{s}:{state}" for s, state in progress]})
        print(json.dumps(trials[-1]))
        assert code == 0, f"trial {i} ({trials[-1]}): rerun failed: {err}"
        assert show_create(url) == expected["tables"], f"trial {i}: {trials[-1]}"
        assert history(url) == expected["history"], f"trial {i}: {trials[-1]}"
        assert rows(url) == expected["rows"], f"trial {i}: {trials[-1]}"
        assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
        assert cli(["drift", "--database", url, "--dir", str(mdir)]) == 0, f"trial {i}: drift"
    # the last statement is fast: the run may end before its kill (its rerun, a no-op, is checked
    # all the same)
    assert sum(t["killed"] for t in trials) >= len(trials) - 1, trials
    # the kills landed in different statements, and some between a statement and its mark
    assert len({len(t["progress"]) for t in trials}) >= 3, trials
    assert any(p.endswith(":running") for t in trials for p in t["progress"]), trials


HAND_WRITTEN_DDL = '''
from dfmigrate.migration import DataMigration, RunSQL


class Migration(DataMigration):
    id = "0003_extra"
    description = "extra"
    dependencies = ["0002_v2"]
    operations = [RunSQL({"mysql": ["ALTER TABLE items ADD COLUMN extra INT",
                                    "CREATE INDEX items_extra_idx ON items (extra)"]},
                         reverse={"mysql": ["DROP INDEX items_extra_idx ON items",
                                            "ALTER TABLE items DROP COLUMN extra"]})]
'''


@pytest.mark.parametrize("migration", ["0002_v2", "0003_extra"], ids=["generated", "hand-written"])
def test_a_statement_done_but_not_marked_is_not_run_again(mysql_url: str, tmp_path: Path, migration: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The moment a kill -9 can hit between a statement's commit and its mark, made on purpose:
    the first statement run by hand, its progress row left 'running'. A generated step carries
    its resume check from the renderer; a hand-written one gets it from reading its SQL."""
    mdir = directory(tmp_path, mysql_url)
    (mdir / "0003_extra.py").write_text(HAND_WRITTEN_DDL)
    write_sum(str(mdir))
    before = {"0002_v2": "0001_v1", "0003_extra": "0002_v2"}[migration]
    assert cli(["migrate", "--database", mysql_url, "--dir", str(mdir), "--to", before]) == 0
    loaded = next(m for m in load_all(str(mdir)) if m.id == migration).cls()
    first = loaded.steps("mysql", "forward")[0]
    assert first.resume and first.resume != "rerun", first
    query(mysql_url, first.sql or "")
    from hashlib import sha256

    checksum = sha256((mdir / f"{migration}.py").read_bytes()).hexdigest()
    query(mysql_url, f"INSERT INTO dfmigrate_progress VALUES ('{migration}', 'forward', 0, '{checksum}', "
                     f"'running', 'by hand', UTC_TIMESTAMP(6))")
    capsys.readouterr()
    assert cli(["migrate", "--database", mysql_url, "--dir", str(mdir), "--to", migration, "--format", "json"]) == 0
    report = shipped_json(capsys.readouterr().out, "migrate")
    (resumed,) = report["steps"][0]["groups"][0]["resumed"]
    assert resumed["action"] == "none: already complete", resumed
    assert cli(["drift", "--database", mysql_url, "--dir", str(mdir)]) == 0


def test_ten_concurrent_migrates_apply_each_migration_once(mysql_url: str, tmp_path: Path) -> None:
    """The test holds the lock until all ten runs are connected and polling for it, so they
    really contend when it lets go."""
    from dfmigrate.urls import database_name

    mdir = directory(tmp_path, mysql_url)

    async def contend() -> tuple[list[tuple[int, dict[str, Any], str]], int]:
        from dfmigrate.dialects.mysql.connect import connect

        holder = await connect(mysql_url)
        try:
            async with holder.cursor() as cur:
                await cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (lock_name(mysql_url),))
                _, pid = await cur.fetchone()
                runs = [migrate(mysql_url, mdir, "--lock-wait", "120") for _ in range(10)]
                deadline = time.monotonic() + 120
                while True:
                    await cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> %s",
                                      (database_name(mysql_url), pid))
                    if (await cur.fetchone())[0] >= 10 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # the last one to connect polls by now
                await cur.execute("SELECT RELEASE_LOCK(%s)", (lock_name(mysql_url),))
            return await asyncio.gather(*(asyncio.to_thread(finish, p) for p in runs)), pid
        finally:
            holder.close()

    results, holder = asyncio.run(contend())
    assert [code for code, _, _ in results] == [0] * 10, [err for _, _, err in results]
    applied = sorted(m for _, report, _ in results for m in report["applied"])
    assert applied == ["0001_v1", "0002_v2"]  # each once, by whichever run got there first
    assert [r[0] for r in history(mysql_url)] == ["0001_v1", "0002_v2"]
    assert all(holder in report["lock"]["holders_seen"] for _, report, _ in results)  # all of them waited
    assert all(report["lock"]["released"] for _, report, _ in results)


def test_a_held_lock_names_its_holder(mysql_url: str, tmp_path: Path) -> None:
    mdir = directory(tmp_path, mysql_url)

    async def hold_and_run() -> tuple[int, dict[str, Any], str, int]:
        from dfmigrate.dialects.mysql.connect import connect

        holder = await connect(mysql_url)
        try:
            async with holder.cursor() as cur:
                await cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (lock_name(mysql_url),))
                got, pid = await cur.fetchone()
                assert got == 1
            result = await asyncio.to_thread(finish, migrate(mysql_url, mdir, "--lock-wait", "0.5"))
            return (*result, pid)
        finally:
            holder.close()

    code, _, err, pid = asyncio.run(hold_and_run())
    assert code == 2, err
    (line,) = err.splitlines()
    assert f"held by connection {pid} (root@" in line and "gave up after" in line, line
    assert query(mysql_url, "SHOW TABLES LIKE 'items'") == []


HAND_WRITTEN = '''
from dfmigrate.migration import DataMigration, RunSQL


class Migration(DataMigration):
    id = "0003_extra"
    description = "extra"
    dependencies = ["0002_v2"]
    allow_hazards = ["all"]  # its rollback drops the column
    operations = [RunSQL({"mysql": ["ALTER TABLE items ADD COLUMN extra INT", "UPDATE items SET extra = n * 2"]},
                         reverse={"mysql": ["ALTER TABLE items DROP COLUMN extra"]})]  # no state: replayed
'''


def test_hand_written_sql_runs_and_replays_on_a_scratch_database(mysql_url: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    mdir = directory(tmp_path, mysql_url)
    (mdir / "0003_extra.py").write_text(HAND_WRITTEN)
    write_sum(str(mdir))
    opts = ["--database", mysql_url, "--dir", str(mdir)]
    assert cli(["migrate", "--to", "0002_v2", *opts]) == 0
    query(mysql_url, "INSERT INTO items (n, label) VALUES (21, 'a')")
    capsys.readouterr()
    assert cli(["migrate", "--sql", "--dialect", "mysql", "--from", "0002_v2", *opts]) == 0
    script = capsys.readouterr().out
    assert "ALTER TABLE items ADD COLUMN extra INT;" in script and "INSERT INTO dfmigrate_history" in script
    assert cli(["migrate", *opts]) == 0
    assert query(mysql_url, "SELECT extra FROM items") == [(42,)]
    # the drift check replays the directory: 0003 says nothing of its schema changes, so it runs
    # on a scratch database of the same server, dropped afterwards
    assert cli(["drift", *opts]) == 0
    assert [r for r in query(mysql_url, "SHOW DATABASES") if r[0].startswith(f"dfm_scratch_{os.getpid()}_")] == []
    assert cli(["rollback", *opts]) == 0
    assert [r[0] for r in query(mysql_url, "SHOW COLUMNS FROM items")] == ["id", "n", "label", "remark", "score"]

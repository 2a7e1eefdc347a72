"""The runner and the apply-side commands on real PostgreSQL and SQLite (no mocks).

Each test builds a small migrations directory by hand (the runner's contract is the file
format in docs/lifecycle.md, not the generator), runs the library functions or the CLI, and
checks the database itself: schema, ``dfmigrate_history``, ``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.config import resolve
from dfmigrate.errors import DfmigrateError
from dfmigrate.directory import write_sum
from dfmigrate.runner import commands

TEMPLATE = '''from dfmigrate.migration import SQLMigration


class Migration(SQLMigration):
    id = {id!r}
    description = {id!r}
    dependencies = {deps!r}
    dialect = {dialect!r}
    forward_sql = {forward!r}
    backward_sql = {backward!r}
    non_transactional = {nt!r}
'''

USERS = {
    "postgresql": "CREATE TABLE public.users (id integer PRIMARY KEY, email text NOT NULL)",
    "sqlite": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
}


def write_migration(directory: Path, mid: str, dialect: str, forward: list[str], backward: list[str],
                    deps: list[str] | None = None, nt: list[int] | None = None, rehash: bool = True) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / f"{mid}.py"
    path.write_text(TEMPLATE.format(id=mid, deps=deps or [], dialect=dialect, forward=forward,
                                    backward=backward, nt=nt or []))
    if rehash:
        write_sum(str(directory))
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))  # replay cache: not ~/.cache


@pytest.fixture(params=["postgresql", "sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh database of each dialect, a migrations directory with two migrations, a config."""
    dialect = request.param
    if dialect == "postgresql":
        url = request.getfixturevalue("pg_db")("runner")
    else:
        url = "sqlite:///" + request.getfixturevalue("sqlite_path")
    mdir = tmp_path / "migrations"
    write_migration(mdir, "0001_users", dialect, [USERS[dialect]], ["DROP TABLE users"])
    write_migration(mdir, "0002_posts", dialect,
                    ["CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id))",
                     "ALTER TABLE users ADD COLUMN nick text"],
                    ["ALTER TABLE users DROP COLUMN nick", "DROP TABLE posts"], deps=["0001_users"])
    return {"dialect": dialect, "url": url, "dir": mdir, "cfg": resolve(database=url, dir=str(mdir))}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# consent to every destructive step (--allow-hazards all): these tests roll back migrations whose
# backward SQL drops tables and columns, which is refused without it (tests/test_consent.py)
ALL = frozenset({"all"})


async def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    if url.startswith(("mysql", "mariadb")):
        from dfmigrate.dialects.mysql.connect import connect

        my = await connect(url)
        try:
            async with my.cursor() as cur:
                await cur.execute(sql)
                return [tuple(r) for r in await cur.fetchall()]
        finally:
            my.close()
    import asyncpg

    pg = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await pg.fetch(sql)]
    finally:
        await pg.close()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    return run(_query(url, sql))


def tables(t: dict[str, Any]) -> list[str]:
    if t["dialect"] == "sqlite":
        return [r[0] for r in query(t["url"], "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    return [r[0] for r in query(t["url"], "SELECT tablename::text FROM pg_tables WHERE schemaname='public' ORDER BY 1")]


def snapshot(t: dict[str, Any]) -> tuple[Any, Any]:
    """(schema, history rows) as the database has them now."""
    from dfmigrate.runner.resources import live_schema, session, connection_factory

    async def read() -> Any:
        async with session() as reg:
            reg.register_factory("db", connection_factory(t["url"]))
            return await live_schema(await reg.get_resource("db"))

    hist = query(t["url"], "SELECT migration_id, checksum, applied_at FROM dfmigrate_history ORDER BY 1") \
        if "dfmigrate_history" in tables(t) else []
    return run(read()), hist


def history_ids(t: dict[str, Any]) -> list[str]:
    """The migrations applied now: those whose latest history row applied them."""
    latest = dict(query(t["url"], "SELECT migration_id, direction FROM dfmigrate_history ORDER BY seq"))
    return sorted(m for m, d in latest.items() if d in ("forward", "baseline", "resolved"))


def audit(t: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in query(t["url"], "SELECT migration_id, direction FROM dfmigrate_history ORDER BY seq")]


# ---------------------------------------------------------------- applying


def test_migrate_applies_and_records(target: dict[str, Any]) -> None:
    out = run(commands.migrate(target["cfg"]))
    assert [line.split(" (")[0] for line in out] == ["applied 0001_users", "applied 0002_posts"]
    assert {"users", "posts", "dfmigrate_history"} <= set(tables(target))
    rows = query(target["url"], "SELECT migration_id, checksum, applied_by, tool_version, direction, duration_ms"
                                " FROM dfmigrate_history ORDER BY 1")
    sha = hashlib.sha256((target["dir"] / "0001_users.py").read_bytes()).hexdigest()
    assert rows[0][:2] == ("0001_users", sha)
    assert "@" in rows[0][2] and rows[0][3] and rows[0][4] == "forward" and rows[0][5] >= 0
    if target["dialect"] == "postgresql":
        kind = query(target["url"], "SELECT data_type FROM information_schema.columns "
                                    "WHERE table_name='dfmigrate_history' AND column_name='applied_at'")
        assert kind == [("timestamp with time zone",)]
    assert run(commands.migrate(target["cfg"])) == []  # idempotent


def test_migrate_to_and_dry_run(target: dict[str, Any]) -> None:
    dry = run(commands.migrate(target["cfg"], dry_run=True))[0]
    assert dry.index(USERS[target["dialect"]]) < dry.index("ALTER TABLE users ADD COLUMN nick text")
    assert dry.count("BEGIN;") == 2 and dry.count("COMMIT;") == 2
    if target["dialect"] == "sqlite":
        assert not Path(target["url"][len("sqlite:///"):]).exists()  # not even created
    else:
        assert tables(target) == []
    run(commands.migrate(target["cfg"], to="0001_users"))
    assert history_ids(target) == ["0001_users"]
    assert run(commands.migrate(target["cfg"], to="0001_users")) == []
    with pytest.raises(DfmigrateError, match="no migration 'nope'"):
        run(commands.migrate(target["cfg"], to="nope"))


def test_failing_migration_leaves_schema_and_history_unchanged(target: dict[str, Any]) -> None:
    run(commands.migrate(target["cfg"], to="0001_users"))
    before = snapshot(target)
    # fails at its third statement, after creating a table and altering another
    write_migration(target["dir"], "0003_broken", target["dialect"],
                    ["CREATE TABLE audit (id integer PRIMARY KEY)", "ALTER TABLE users ADD COLUMN note text",
                     "INSERT INTO no_such_table VALUES (1)"], ["DROP TABLE audit"], deps=["0002_posts"])
    with pytest.raises(DfmigrateError, match=r"0003_broken: statement 3 failed: .*no_such_table.*rolled back"):
        run(commands.migrate(target["cfg"]))
    after = snapshot(target)
    assert history_ids(target) == ["0001_users", "0002_posts"]  # 0002 committed on its own
    assert "audit" not in tables(target)
    cols = [c.name for c in next(t for t in after[0].tables if t.name == "users").columns]
    assert "note" not in cols and "nick" in cols
    assert before[1][0] == after[1][0]  # 0001's row untouched


def test_history_row_and_ddl_commit_together(target: dict[str, Any]) -> None:
    """A failure while writing the history row undoes the migration's DDL (upstream recorded
    after the DDL had committed)."""
    run(commands.migrate(target["cfg"], to="0001_users"))
    before = snapshot(target)
    if target["dialect"] == "sqlite":
        trigger = ["CREATE TRIGGER refuse BEFORE INSERT ON dfmigrate_history WHEN NEW.migration_id = '0002_posts'"
                   " BEGIN SELECT RAISE(ABORT, 'ledger refused'); END"]
    else:
        trigger = ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$BEGIN RAISE EXCEPTION 'ledger refused'; END$$",
                   "CREATE TRIGGER refuse BEFORE INSERT ON dfmigrate_history FOR EACH ROW "
                   "WHEN (NEW.migration_id = '0002_posts') EXECUTE FUNCTION refuse()"]
    for sql in trigger:
        query(target["url"], sql) if target["dialect"] == "postgresql" else _sqlite_exec(target["url"], sql)
    with pytest.raises(DfmigrateError):
        run(commands.migrate(target["cfg"]))
    assert "posts" not in tables(target)
    assert snapshot(target)[1] == before[1]


def _sqlite_exec(url: str, sql: str) -> None:
    conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    conn.execute(sql)
    conn.close()


def test_rollback_then_reapply(target: dict[str, Any]) -> None:
    run(commands.migrate(target["cfg"]))
    assert run(commands.rollback(target["cfg"], dry_run=True))[0].startswith("-- 0002_posts")
    assert run(commands.rollback(target["cfg"], allow_hazards=ALL)) == ["rolled back 0002_posts"]
    assert history_ids(target) == ["0001_users"] and "posts" not in tables(target)
    # re-recording after rollback: upstream's INSERT hit the primary key here
    run(commands.migrate(target["cfg"]))
    assert history_ids(target) == ["0001_users", "0002_posts"]
    assert run(commands.rollback(target["cfg"], to="0001_users", allow_hazards=ALL)) == ["rolled back 0002_posts"]
    with pytest.raises(DfmigrateError, match=r"cannot roll back 5 migration\(s\): only 1 applied"):
        run(commands.rollback(target["cfg"], steps=5))  # past the history: an error, nothing undone
    assert run(commands.rollback(target["cfg"], steps=1, allow_hazards=ALL)) == ["rolled back 0001_users"]
    assert history_ids(target) == [] and tables(target) == ["dfmigrate_history", "dfmigrate_timings"]
    # the audit trail: every apply and every rollback is a row, who and how long included
    assert audit(target) == [("0001_users", "forward"), ("0002_posts", "forward"), ("0002_posts", "backward"),
                             ("0002_posts", "forward"), ("0002_posts", "backward"), ("0001_users", "backward")]
    rows = query(target["url"], "SELECT applied_by, duration_ms FROM dfmigrate_history WHERE direction = 'backward'")
    assert all("@" in who and ms >= 0 for who, ms in rows)
    assert run(commands.status(target["cfg"]))["pending"] == ["0001_users", "0002_posts"]
    assert [r["direction"] for r in run(commands.history(target["cfg"]))][-1] == "backward"


def test_modified_migration_is_reported_never_rerun(target: dict[str, Any]) -> None:
    run(commands.migrate(target["cfg"]))
    path = target["dir"] / "0002_posts.py"
    path.write_text(path.read_text().replace("nick", "nickname"))
    # without a rehash the sum refuses first, naming the file
    with pytest.raises(DfmigrateError, match=r"0002_posts\.py was edited"):
        run(commands.migrate(target["cfg"]))
    write_sum(str(target["dir"]))
    status = run(commands.status(target["cfg"]))
    assert status["modified"] == ["0002_posts"] and status["pending"] == []
    with pytest.raises(DfmigrateError, match=r"0002_posts\.py was modified after it was applied"):
        run(commands.migrate(target["cfg"]))
    with pytest.raises(DfmigrateError, match="modified"):
        run(commands.rollback(target["cfg"]))
    run(commands.resolve(target["cfg"], "0002_posts", applied=True))  # accept the edit
    assert run(commands.status(target["cfg"]))["modified"] == []


def test_missing_file_reported(target: dict[str, Any]) -> None:
    run(commands.migrate(target["cfg"]))
    (target["dir"] / "0002_posts.py").unlink()
    write_sum(str(target["dir"]))
    assert run(commands.status(target["cfg"]))["missing"] == ["0002_posts"]
    with pytest.raises(DfmigrateError, match="0002_posts is recorded as applied but its file is missing"):
        run(commands.migrate(target["cfg"]))
    assert run(commands.resolve(target["cfg"], "0002_posts", applied=False)) == "recorded 0002_posts as rolled back"
    assert run(commands.status(target["cfg"]))["missing"] == []


def test_status_and_history_json_via_cli(target: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--database", target["url"], "--dir", str(target["dir"])]
    assert cli(["migrate", *base, "--to", "0001_users"]) == 0
    capsys.readouterr()
    assert cli(["status", *base, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["migration_id"] for a in data["applied"]] == ["0001_users"]
    assert data["pending"] == ["0002_posts"] and data["modified"] == data["missing"] == []
    assert cli(["history", *base, "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert history["version"] == 1  # versioned: dfmigrate/schemas/history-v1.schema.json
    rows = history["rows"]
    assert [r["migration_id"] for r in rows] == ["0001_users"] and rows[0]["direction"] == "forward"
    assert cli(["status", *base]) == 0
    assert "1 applied, 1 pending, 0 modified, 0 missing" in capsys.readouterr().out
    assert cli(["rollback", *base, "--steps", "1", "--to", "0001_users"]) == 2
    assert "give --steps or --to, not both" in capsys.readouterr().err


def cli(args: list[str]) -> int:
    from dfmigrate import cli as cli_module
    from dfmigrate.cli.lifecycle import COMMANDS

    for command in COMMANDS:
        if command.name not in cli_module.cli.commands:
            cli_module.cli.add_command(command)
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main(args)
    return int(exit_info.value.code or 0)


# ---------------------------------------------------------------- transactions and dialect details


def test_sqlite_rebuild_guard_runs_outside_the_transaction(tmp_path: Path, sqlite_path: str) -> None:
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "sqlite", [USERS["sqlite"]], ["DROP TABLE users"])
    write_migration(mdir, "0002_rebuild", "sqlite", [
        "PRAGMA foreign_keys=OFF",
        "CREATE TABLE _dfm_new_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, age INTEGER)",
        "INSERT INTO _dfm_new_users (id, email) SELECT id, email FROM users",
        "DROP TABLE users", "ALTER TABLE _dfm_new_users RENAME TO users",
        "PRAGMA foreign_key_check", "PRAGMA foreign_keys=ON"], ["ALTER TABLE users DROP COLUMN age"],
        deps=["0001_users"])
    cfg = resolve(database="sqlite:///" + sqlite_path, dir=str(mdir))
    dry = run(commands.migrate(cfg, dry_run=True))[0]
    assert dry.index("PRAGMA foreign_keys=OFF;") < dry.rindex("BEGIN;") < dry.index("PRAGMA foreign_key_check;")
    assert dry.rindex("COMMIT;") < dry.index("PRAGMA foreign_keys=ON;")
    run(commands.migrate(cfg, allow_hazards=frozenset({"deletes-data", "breaks-clients"})))  # DROP TABLE users
    assert "age" in [r[1] for r in sqlite3.connect(sqlite_path).execute("PRAGMA table_info(users)")]
    # a foreign_key_check that returns rows fails the migration, which is rolled back
    write_migration(mdir, "0003_orphan", "sqlite", [
        "PRAGMA foreign_keys=OFF", "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id))",
        "INSERT INTO posts VALUES (1, 99)", "PRAGMA foreign_key_check", "PRAGMA foreign_keys=ON"],
        ["DROP TABLE posts"], deps=["0002_rebuild"])
    with pytest.raises(DfmigrateError, match="0003_orphan: statement 4 failed: foreign key violations"):
        run(commands.migrate(cfg))
    check = sqlite3.connect(sqlite_path)
    assert check.execute("SELECT count(*) FROM sqlite_master WHERE name = 'posts'").fetchone() == (0,)
    check.close()


def test_non_transactional_statement_in_the_middle_runs_between_two_transactions(tmp_path: Path,
                                                                                  sqlite_path: str) -> None:
    """Several transactions per migration: the outside statement ends the first, the next
    starts after it; the dry run shows the boundaries, the progress record ends empty."""
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_x", "sqlite", ["CREATE TABLE a (x)", "VACUUM", "CREATE TABLE b (x)"],
                    ["DROP TABLE b", "DROP TABLE a"], nt=[1])
    cfg = resolve(database="sqlite:///" + sqlite_path, dir=str(mdir))
    dry = run(commands.migrate(cfg, dry_run=True))[0]
    assert dry.index("CREATE TABLE a (x);") < dry.index("COMMIT;") < dry.index("VACUUM;") < dry.rindex("BEGIN;") \
        < dry.index("CREATE TABLE b (x);") < dry.index("-- record 0001_x")
    assert [line.split(" (")[0] for line in run(commands.migrate(cfg))] == ["applied 0001_x"]
    url = "sqlite:///" + sqlite_path
    assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
    assert {"a", "b"} <= {r[0] for r in query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_dialect_mismatch_refused(tmp_path: Path, sqlite_path: str) -> None:
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_x", "postgresql", ["CREATE TABLE a (x int)"], ["DROP TABLE a"])
    with pytest.raises(DfmigrateError, match=r"0001_x\.py is a postgresql migration, but the database is sqlite"):
        run(commands.migrate(resolve(database="sqlite:///" + sqlite_path, dir=str(mdir))))


# ---------------------------------------------------------------- baseline, resolve


def test_baseline_adopts_a_matching_database_and_refuses_otherwise(target: dict[str, Any]) -> None:
    statements = [USERS[target["dialect"]],
                  "CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id))"]
    for sql in statements:
        query(target["url"], sql) if target["dialect"] == "postgresql" else _sqlite_exec(target["url"], sql)
    # missing users.nick: not at 0002
    with pytest.raises(DfmigrateError, match=r"does not match the migrations up to 0002_posts .*nick"):
        run(commands.baseline(target["cfg"]))
    assert history_ids(target) == []
    # nor at 0001: posts is extra there
    with pytest.raises(DfmigrateError, match=r"up to 0001_users .*posts"):
        run(commands.baseline(target["cfg"], to="0001_users"))
    sql = "ALTER TABLE users ADD COLUMN nick text"
    query(target["url"], sql) if target["dialect"] == "postgresql" else _sqlite_exec(target["url"], sql)
    assert run(commands.baseline(target["cfg"])) == ["recorded 0001_users (baseline)", "recorded 0002_posts (baseline)"]
    assert run(commands.status(target["cfg"]))["pending"] == []
    assert run(commands.drift(target["cfg"]))["clean"]


def test_resolve_records_without_running_sql(target: dict[str, Any]) -> None:
    assert run(commands.resolve(target["cfg"], "0001_users", applied=True)) == "recorded 0001_users as applied"
    assert history_ids(target) == ["0001_users"] and "users" not in tables(target)
    with pytest.raises(DfmigrateError, match="not recorded"):
        run(commands.resolve(target["cfg"], "0002_posts", applied=False))
    with pytest.raises(DfmigrateError, match="no migration"):
        run(commands.resolve(target["cfg"], "0009_x", applied=True))


# ---------------------------------------------------------------- drift


def test_drift_reports_manual_changes_exactly(target: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    run(commands.migrate(target["cfg"], to="0001_users"))
    assert run(commands.drift(target["cfg"]))["clean"]  # a prefix of the directory: own replay
    run(commands.migrate(target["cfg"]))
    assert run(commands.drift(target["cfg"]))["clean"]  # the whole directory: schema_of_directory
    for sql in ("ALTER TABLE users ADD COLUMN manual text", "CREATE TABLE extra (id integer)",
                "DROP TABLE posts"):
        query(target["url"], sql) if target["dialect"] == "postgresql" else _sqlite_exec(target["url"], sql)
    report = run(commands.drift(target["cfg"]))
    ns = "public" if target["dialect"] == "postgresql" else "main"
    found = {(d["kind"], d["object"]) for d in report["drift"]}
    assert ("extra", f"column {ns}.users.manual") in found
    assert ("extra", f"table {ns}.extra") in found
    assert ("missing", f"table {ns}.posts") in found
    assert all(d["kind"] in ("extra", "missing", "changed") for d in report["drift"])
    base = ["--database", target["url"], "--dir", str(target["dir"])]
    capsys.readouterr()
    assert cli(["drift", *base]) == 1
    assert f"extra    column {ns}.users.manual" in capsys.readouterr().out


# ---------------------------------------------------------------- resources: nothing left behind


def pg_sessions(url: str) -> int:
    from dfmigrate.urls import database_name

    name = database_name(url)
    return query(url, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' "
                      "AND pid <> pg_backend_pid()")[0][0]


def test_no_connection_left_behind(pg_db: Any, tmp_path: Path) -> None:
    url = pg_db("leak")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    write_migration(mdir, "0002_bad", "postgresql", ["SELECT * FROM nowhere"], [], deps=["0001_users"])
    cfg = resolve(database=url, dir=str(mdir))
    with pytest.raises(DfmigrateError):
        run(commands.migrate(cfg))
    assert pg_sessions(url) == 0
    for call in (commands.status(cfg), commands.history(cfg), commands.drift(cfg),
                 commands.rollback(cfg, allow_hazards=ALL)):
        run(call)
        assert pg_sessions(url) == 0


def test_interrupted_migration_rolls_back_and_closes(pg_db: Any, tmp_path: Path) -> None:
    """Ctrl-C under asyncio.run cancels the main task: the registry still cleans up."""
    url = pg_db("cancel")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_slow", "postgresql",
                    [USERS["postgresql"], "SELECT pg_sleep(30)"], ["DROP TABLE users"])
    cfg = resolve(database=url, dir=str(mdir))

    async def interrupted() -> None:
        import asyncpg

        task = asyncio.ensure_future(commands.migrate(cfg))
        watcher = await asyncpg.connect(url)
        try:
            for _ in range(100):  # until the migration's pg_sleep is running
                await asyncio.sleep(0.1)
                if await watcher.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                          " AND query LIKE 'SELECT pg_sleep%'"):
                    break
        finally:
            await watcher.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(interrupted())
    assert pg_sessions(url) == 0
    assert query(url, "SELECT to_regclass('public.users') IS NULL")[0][0]
    assert query(url, "SELECT count(*) FROM dfmigrate_history")[0][0] == 0


PYTHON_MIGRATION = '''import asyncio

from kailash.utils.migrations import Migration as KailashMigration


class Migration(KailashMigration):
    id = "0003_data"
    description = "hand-written data migration"
    dependencies = ["0002_posts"]

    async def forward(self, conn):
        await conn.execute("INSERT INTO users (id, email) VALUES ($1, $2)", 7, "seven@x.io")
        rows = await conn.fetch("SELECT count(*) AS n FROM users WHERE email = $1", "seven@x.io")
        assert rows[0]["n"] == 1
        await conn.execute("UPDATE users SET nick = 'x'; UPDATE users SET nick = 'y'")
        await asyncio.sleep(float(__import__("os").environ.get("DFM_TEST_SLEEP", "0")))

    async def backward(self, conn):
        await conn.execute("DELETE FROM users WHERE id = 7")
'''


def test_hand_written_migration_and_cancellation(target: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python migration gets the adapter ($n parameters, fetch, several statements in one
    execute on both dialects); cancelled mid-way it leaves nothing, connection included."""
    (target["dir"] / "0003_data.py").write_text(PYTHON_MIGRATION)
    write_sum(str(target["dir"]))
    run(commands.migrate(target["cfg"], to="0002_posts"))
    monkeypatch.setenv("DFM_TEST_SLEEP", "30")

    async def interrupted() -> None:
        task = asyncio.ensure_future(commands.migrate(target["cfg"]))
        await asyncio.sleep(1.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(interrupted())
    assert history_ids(target) == ["0001_users", "0002_posts"]
    assert query(target["url"], "SELECT count(*) FROM users")[0][0] == 0
    if target["dialect"] == "postgresql":
        assert pg_sessions(target["url"]) == 0
    monkeypatch.setenv("DFM_TEST_SLEEP", "0")
    run(commands.migrate(target["cfg"]))
    assert query(target["url"], "SELECT id, nick FROM users") == [(7, "y")]
    run(commands.rollback(target["cfg"]))
    assert query(target["url"], "SELECT count(*) FROM users")[0][0] == 0


def test_unreachable_database_is_one_clear_error(tmp_path: Path, pg_url: str) -> None:
    from dfmigrate.urls import with_database

    url = with_database(pg_url, "dfm_no_such_db").replace("postgres@", "postgres:hunter2@")
    with pytest.raises(DfmigrateError, match="cannot connect to") as info:
        run(commands.status(resolve(database=url, dir=str(tmp_path / "m"))))
    assert "hunter2" not in str(info.value)


def test_concurrent_run_is_refused_by_the_advisory_lock(pg_db: Any, tmp_path: Path) -> None:
    import asyncpg

    from dfmigrate.guard.lock import LOCK_KEY as _LOCK_KEY

    url = pg_db("lock")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "postgresql", [USERS["postgresql"]], ["DROP TABLE users"])
    cfg = resolve(database=url, dir=str(mdir))

    async def contended() -> None:
        holder = await asyncpg.connect(url)
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
            with pytest.raises(DfmigrateError, match="another dfmigrate run"):
                await commands.migrate(cfg)
        finally:
            await holder.close()

    run(contended())
    assert run(commands.migrate(cfg)) != []


# ---------------------------------------------------------------- configuration


def test_config_precedence(tmp_path: Path) -> None:
    """Option > environment > file > default (every key's own environment variable)."""
    env = {"DFMIGRATE_DATABASE_URL": "postgresql://u:secret@h/env"}
    cfg = resolve(cwd=tmp_path, environ={})
    assert (cfg.database, cfg.dir, cfg.models) == ("sqlite:///dfmigrate.db", "migrations", None)
    assert resolve(cwd=tmp_path, environ=env).database.endswith("/env")
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndatabase = "sqlite:///p.db"\n'
                                             'dir = "db/migrations"\nmodels = "app/models.py"\ndev-url = "postgresql://x/y"\n')
    cfg = resolve(cwd=tmp_path, environ={})
    assert (cfg.database, cfg.dir, cfg.models, cfg.dev_url) == ("sqlite:///p.db", "db/migrations", "app/models.py",
                                                               "postgresql://x/y")
    assert resolve(cwd=tmp_path, environ=env).database == "postgresql://u:secret@h/env"
    cfg = resolve("postgresql://u:secret@h/opt", "d", cwd=tmp_path, environ=env)
    assert (cfg.database, cfg.dir, cfg.origin["database"]) == ("postgresql://u:secret@h/opt", "d", "option")
    assert "secret" not in cfg.describe()
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndatbase = "x"\n')
    with pytest.raises(DfmigrateError, match="unknown key 'datbase'"):
        resolve(cwd=tmp_path, environ={})


# ---------------------------------------------------------------- non-transactional steps (PostgreSQL)


def test_failed_outside_statement_is_cleaned_up_then_resumed(pg_db: Any, tmp_path: Path) -> None:
    """CREATE UNIQUE INDEX CONCURRENTLY fails on duplicates after its migration's first outside
    statement and its transaction committed: the invalid index is dropped, the progress record
    keeps what is done, and the next migrate resumes from there instead of starting over."""
    url = pg_db("outside")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_items", "postgresql", [
        "CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL)"], ["DROP TABLE items"])
    path = write_migration(mdir, "0002_idx", "postgresql", [
        "CREATE INDEX CONCURRENTLY items_id_idx ON items (id)", "ALTER TABLE items ADD COLUMN x integer",
        "CREATE UNIQUE INDEX CONCURRENTLY items_label_key ON items (label)"],
        ["DROP INDEX CONCURRENTLY items_label_key", "ALTER TABLE items DROP COLUMN x",
         "DROP INDEX CONCURRENTLY public.items_id_idx"], deps=["0001_items"], nt=[0, 2], rehash=False)
    path.write_text(path.read_text() + "    backward_non_transactional = [0, 2]\n")
    write_sum(str(mdir))
    cfg = resolve(database=url, dir=str(mdir))
    run(commands.migrate(cfg, to="0001_items"))
    query(url, "INSERT INTO items VALUES (1, 'a'), (2, 'a')")  # the application's data: not unique
    dry = run(commands.migrate(cfg, dry_run=True))[0]
    assert dry.index("items_label_key") < dry.rindex("BEGIN;") < dry.index("-- record 0002_idx")
    with pytest.raises(DfmigrateError, match=r"^0002_idx: statement 3 failed: UniqueViolationError.*dropped the invalid "
                                             r"index \"public\".\"items_label_key\" it left.*next 'migrate' resumes") as info:
        run(commands.migrate(cfg))
    assert "\n" not in str(info.value)
    assert history_ids({"url": url}) == ["0001_items"]
    assert query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    # by group: the first index build, the transaction, the second index build
    assert query(url, "SELECT step, state FROM dfmigrate_progress ORDER BY step") == [(0, "done"), (1, "done"),
                                                                                   (2, "running")]
    with pytest.raises(DfmigrateError, match="0002_idx: an interrupted run stopped applying it .*'dfmigrate migrate'"):
        run(commands.rollback(cfg, allow_hazards=ALL))
    query(url, "UPDATE items SET label = label || id")
    report: dict[str, Any] = {}
    assert [line.split(" (")[0] for line in run(commands.migrate(cfg, report=report))] == ["applied 0002_idx"]
    (step,) = report["steps"]
    # not run twice: ADD COLUMN x would fail
    assert [(g["statements"], g["outcome"]) for g in step["groups"]] == [
        ([1], "done by an earlier, interrupted run"), ([2], "done by an earlier, interrupted run"), ([3], "done")]
    assert step["groups"][2]["resumed"] == [{"found": "no index", "action": "run again"}]
    assert history_ids({"url": url}) == ["0001_items", "0002_idx"]
    assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
    assert run(commands.drift(cfg))["clean"]
    assert run(commands.rollback(cfg, allow_hazards=ALL)) == ["rolled back 0002_idx"]  # outside, transaction, outside, history
    assert history_ids({"url": url}) == ["0001_items"]
    assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
    assert query(url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'items'") == [(1,)]  # the primary key
    assert run(commands.migrate(cfg)) != []  # and again, from scratch
    assert run(commands.drift(cfg))["clean"]


def test_interrupted_outside_statements_are_settled_from_the_catalog(pg_db: Any, tmp_path: Path) -> None:
    """The states a kill -9 leaves, made by hand: each outside statement marked running and
    already done in the catalog. Run again blindly, every one of them would fail ("does not
    exist", "already exists"); settled, the migration completes."""
    from dfmigrate.runner import progress
    from dfmigrate.runner.connections import connect

    url = pg_db("settle")
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_t", "postgresql", [
        "CREATE TYPE mood AS ENUM ('a')", "CREATE TABLE t (id integer, m mood)", "CREATE INDEX t_id_idx ON t (id)"],
        ["DROP TABLE t", "DROP TYPE mood"])
    forward = ["DROP INDEX CONCURRENTLY t_id_idx", "ALTER TYPE mood ADD VALUE 'it''s'",
               "CREATE INDEX CONCURRENTLY t_m_idx ON public.t (m)", "CREATE INDEX CONCURRENTLY t_both_idx ON t (id, m)"]
    write_migration(mdir, "0002_outside", "postgresql", forward, ["DROP INDEX t_both_idx", "DROP INDEX t_m_idx"],
                    deps=["0001_t"], nt=[0, 1, 2, 3])
    cfg = resolve(database=url, dir=str(mdir))
    run(commands.migrate(cfg, to="0001_t"))
    from dfmigrate.runner.runner import load_files

    file_sum = next(f.checksum for f in load_files(str(mdir)) if f.id == "0002_outside")
    for sql in ("DROP INDEX t_id_idx", "ALTER TYPE mood ADD VALUE 'it''s'", "CREATE INDEX t_m_idx ON t (m)",
                "INSERT INTO t VALUES (1, 'a'), (1, 'a')"):
        query(url, sql)

    async def interrupted() -> None:
        conn = await connect(url)
        try:
            await progress.create(conn)
            for group, sql in enumerate(forward[:3]):
                await progress.mark(conn, "0002_outside", "forward", group, file_sum, "running", sql)
        finally:
            await conn.close()

    run(interrupted())
    # an invalid index of the fourth statement, as a timed-out or killed build leaves it
    with pytest.raises(Exception, match="could not create unique index"):
        query(url, "CREATE UNIQUE INDEX CONCURRENTLY t_both_idx ON t (id, m)")
    query(url, f"INSERT INTO dfmigrate_progress VALUES ('0002_outside', 'forward', 3, '{file_sum}', 'running', "
               f"'{forward[3]}', now())")
    assert query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(1,)]
    report: dict[str, Any] = {}
    assert [line.split(" (")[0] for line in run(commands.migrate(cfg, report=report))] == ["applied 0002_outside"]
    resumed = {g["statements"][0]: g["resumed"] for g in report["steps"][0]["groups"]}
    assert resumed == {
        1: [{"found": "index gone", "action": "none: already complete"}],
        2: [{"found": "enum label present", "action": "none: already complete"}],
        3: [{"found": 'index "public"."t_m_idx" valid', "action": "none: already complete"}],
        4: [{"found": 'index "public"."t_both_idx" INVALID', "action": "dropped it, run again"}]}
    assert query(url, "SELECT indexrelid::regclass::text, indisvalid, indisunique FROM pg_index"
                      " WHERE indrelid = 't'::regclass ORDER BY 1") == [("t_both_idx", True, False),
                                                                       ("t_m_idx", True, False)]
    assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
    assert history_ids({"url": url}) == ["0001_t", "0002_outside"]
    lines = commands.report_lines(report)
    assert any("statement 4 was interrupted by an earlier run: found index" in line for line in lines), lines


# ---------------------------------------------------------------- output, audit trail


SLEEP_MIGRATION = '''from kailash.utils.migrations import Migration as KailashMigration


class Migration(KailashMigration):
    id = "0001_sleep"
    description = "a hand-written step that takes four seconds"
    dependencies = []

    async def forward(self, conn):
        await conn.execute("SELECT pg_sleep(4)")

    async def backward(self, conn):
        pass
'''


def test_output_redirected_to_a_file_names_the_running_migration(pg_db: Any, tmp_path: Path) -> None:
    """1.5 s into a 4-second migration, `migrate > file` already names it (CI logs are files):
    each line is flushed as it is written; no colour codes in a file."""
    import os
    import subprocess
    import sys
    import time

    url = pg_db("progress")
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "0001_sleep.py").write_text(SLEEP_MIGRATION)
    write_sum(str(mdir))
    log = tmp_path / "migrate.log"
    repo = Path(__file__).resolve().parent.parent
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dfmigrate", "migrate", "--database", url, "--dir", str(mdir)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=str(repo),
                                env={**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": ""})
    try:
        age = 0.0
        deadline = time.monotonic() + 60
        while age < 1.5:  # the statement's own age, on the server
            rows = query(url, "SELECT extract(epoch FROM now() - query_start)::float8 FROM pg_stat_activity"
                              " WHERE query = 'SELECT pg_sleep(4)' AND state = 'active' AND datname = current_database()")
            age = rows[0][0] if rows else 0.0
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        text = log.read_text()
        assert "applying 0001_sleep (" in text, text
        assert "0001_sleep: statement 1 (run python) running since" in text, text
        assert "applied 0001_sleep" not in text
    finally:
        assert proc.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert "applied 0001_sleep (" in text and "statement 1 done in 4." in text, text
    assert "\033[" not in text


ENDLESS_SQLITE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_a_long_sqlite_statement_is_named_while_it_runs_and_ctrl_c_stops_it(tmp_path: Path,
                                                                             sqlite_path: str) -> None:
    """SQLite runs in-process: the long-statement line still appears while the statement runs
    (output to a file), and Ctrl-C interrupts the statement, rolls the migration back (its table
    too) and exits 130, instead of waiting for a statement that never ends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    url = "sqlite:///" + sqlite_path
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_endless", "sqlite", ["CREATE TABLE t (id integer PRIMARY KEY)", ENDLESS_SQLITE],
                    ["DROP TABLE t"])
    log = tmp_path / "migrate.log"
    repo = Path(__file__).resolve().parent.parent
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dfmigrate", "migrate", "--database", url, "--dir", str(mdir)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=str(repo),
                                env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        deadline = time.monotonic() + 60
        while "running since" not in log.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"no long-statement line while the statement runs:\n{log.read_text()}")
            time.sleep(0.05)
        assert "0001_endless: statement 2 (" in log.read_text(), log.read_text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "dfmigrate: interrupted" in log.read_text()
    assert query(url, "SELECT name FROM sqlite_master WHERE name = 't'") == []
    assert query(url, "SELECT count(*) FROM dfmigrate_history") == [(0,)]


SLOW_SQLITE_MIGRATION = '''
import time

from dfmigrate.migration import DataMigration, RunPython


async def forward(conn):
    await conn.execute("CREATE TABLE slow (id integer PRIMARY KEY)")
    time.sleep(3)  # inside the migration's transaction: a second run starts meanwhile


class Migration(DataMigration):
    id = "0001_slow"
    description = "slow"
    dependencies = []
    operations = [RunPython(forward, None, state=[])]
'''


def test_a_second_sqlite_migrate_waits_for_the_first_and_applies_nothing_twice(tmp_path: Path,
                                                                                sqlite_path: str) -> None:
    """Two deploys on one SQLite file: the second, started while the first is inside its
    migration, waits for the first run's lock, then reads the history and has nothing to do.
    (It used to read the history at once and plan the same migration: here it was skipped under
    BEGIN IMMEDIATE, but when the first run committed between the second's history read and its
    plan check, the second was refused, exit 2, as planned against another schema.)"""
    import os
    import subprocess
    import sys
    import time

    url = "sqlite:///" + sqlite_path
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "0001_slow.py").write_text(SLOW_SQLITE_MIGRATION)
    write_sum(str(mdir))
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    args = [sys.executable, "-m", "dfmigrate", "migrate", "--database", url, "--dir", str(mdir)]
    first_log = tmp_path / "first.log"
    with first_log.open("w") as out:
        first = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=str(repo), env=env)
    try:
        deadline = time.monotonic() + 60
        while "applying 0001_slow" not in first_log.read_text():
            assert time.monotonic() < deadline and first.poll() is None, first_log.read_text()
            time.sleep(0.05)
        second = subprocess.run(args, capture_output=True, text=True, cwd=str(repo), env=env, timeout=120)
        assert first.wait(timeout=60) == 0, first_log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to migrate" in second.stdout, second.stdout
    assert query(url, "SELECT migration_id, count(*) FROM dfmigrate_history GROUP BY 1") == [("0001_slow", 1)]


def test_a_ledger_of_the_earlier_shape_is_upgraded_in_place(tmp_path: Path, sqlite_path: str) -> None:
    """A database created by the version that kept one row per migration (migration_id the
    primary key, deleted by rollback): its rows are kept, in order, and rollbacks append."""
    url = "sqlite:///" + sqlite_path
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_users", "sqlite", [USERS["sqlite"]], ["DROP TABLE users"])
    write_migration(mdir, "0002_posts", "sqlite", ["CREATE TABLE posts (id integer PRIMARY KEY)"],
                    ["DROP TABLE posts"], deps=["0001_users"])
    sums = {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in mdir.glob("0*.py")}
    for sql in [USERS["sqlite"], "CREATE TABLE posts (id integer PRIMARY KEY)",
                "CREATE TABLE dfmigrate_history (migration_id TEXT PRIMARY KEY, checksum TEXT NOT NULL, "
                "applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, applied_by TEXT NOT NULL, "
                "tool_version TEXT NOT NULL, direction TEXT NOT NULL)",
                f"INSERT INTO dfmigrate_history VALUES ('0002_posts', '{sums['0002_posts']}', "
                "'2026-01-02T00:00:00+00:00', 5, 'a@b', '0.1', 'forward')",
                f"INSERT INTO dfmigrate_history VALUES ('0001_users', '{sums['0001_users']}', "
                "'2026-01-01T00:00:00+00:00', 7, 'a@b', '0.1', 'forward')"]:
        _sqlite_exec(url, sql)
    cfg = resolve(database=url, dir=str(mdir))
    assert run(commands.status(cfg))["pending"] == []  # read as it is, before any write
    assert run(commands.rollback(cfg, allow_hazards=ALL)) == ["rolled back 0002_posts"]
    assert query(url, "SELECT seq, migration_id, direction, duration_ms FROM dfmigrate_history ORDER BY seq")[:2] == [
        (1, "0001_users", "forward", 7), (2, "0002_posts", "forward", 5)]
    assert audit({"url": url}) == [("0001_users", "forward"), ("0002_posts", "forward"), ("0002_posts", "backward")]
    assert run(commands.status(cfg))["pending"] == ["0002_posts"]

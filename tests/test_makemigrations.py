"""makemigrations, replay (the migrations:DIR schema) and rehash, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from dfmigrate.errors import DfmigrateError
from dfmigrate.directory import LocalDir, load_all, load_migration, migration_names, verify, write_sum
from dfmigrate.directory.make import make_migrations
from dfmigrate.directory.replay import schema_of_directory
from dfmigrate.runner.connections import SqliteConnection
from dfmigrate.directory.writer import render
from tests.test_migrations_dir import FUNCTION_WITH_TRIPLE_QUOTES, NASTY_LABEL, plan_of

V1 = f'''
import enum
from dfmigrate import model, field

class Status(enum.Enum):
    DRAFT = "draft"
    NASTY = {NASTY_LABEL!r}

@model
class User:
    email: str = field(max_length=255, unique=True)
    legacy_name: str = ""

@model
class Post:
    title: str = field(max_length=200)
    status: Status = Status.DRAFT
'''
# v2: a declared rename, a new enum value, a new table with a foreign key, a dropped column
V2 = V1.replace('legacy_name: str = ""', 'display_name: str = field(default="", renamed_from="legacy_name")') \
       .replace('    NASTY', '    ARCHIVED = "archived"\n    NASTY') \
       .replace('    title: str = field(max_length=200)\n', '') + '''
@model
class Comment:
    post_id: int = field(references="posts.id", on_delete="CASCADE")
    body: str = ""
'''
# v1 plus a foreign key between two tables created together
PG_V1 = V1 + '''
@model
class Like:
    user_id: int = field(references="users.id", on_delete="CASCADE")
'''
PG_V2 = V2 + PG_V1[len(V1):]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def models(name: str, text: str) -> str:
    Path(name).write_text(text)
    return name


def sql(cls: type, dialect: str = "sqlite", direction: str = "forward") -> list[str]:
    """The SQL a migration file runs on ``dialect``."""
    return [step.sql for step in cls().steps(dialect, direction)]


def make(spec: str, **kw: object) -> object:
    return asyncio.run(make_migrations(spec, "migrations", **kw))  # type: ignore[arg-type]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    from dfmigrate.cli import cli, main
    from dfmigrate.cli.authoring import makemigrations, rehash

    for command in (makemigrations, rehash):  # the group in dfmigrate.cli adds them
        if command.name not in cli.commands:
            cli.add_command(command)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return info.value.code, out, err  # type: ignore[return-value]

    return run


# ---------------------------------------------------------------- SQLite


def test_v1_writes_the_initial_migration_then_nothing_to_do() -> None:
    spec = models("models_v1.py", V1)
    result = make(spec)
    assert result.status == "written" and result.path == os.path.join("migrations", "0001_initial.py")
    verify("migrations")
    text = Path(result.path).read_text()
    assert "sqlite = ForDialect(" in text and "postgresql = ForDialect(" in text  # every dialect by default
    assert "dependencies = []" in text and "CREATE TABLE users" in text and "CREATE TABLE public.users" in text
    assert 'CreateTable(\n' in text and 'Column(name="email", type="VARCHAR(255)", nullable=False)' in text
    sum_before = Path("migrations/dfmigrate.sum").read_bytes()
    assert make(spec).status == "nothing to do"
    assert migration_names("migrations") == ["0001_initial.py"]
    assert Path("migrations/dfmigrate.sum").read_bytes() == sum_before


def test_regeneration_is_byte_identical() -> None:
    spec = models("models_v1.py", V1)
    make(spec)
    first = Path("migrations/0001_initial.py").read_bytes()
    os.rename("migrations", "first")
    make(spec)
    assert Path("migrations/0001_initial.py").read_bytes() == first
    assert Path("migrations/dfmigrate.sum").read_bytes() == Path("first/dfmigrate.sum").read_bytes()


def test_declared_rename_becomes_rename_column_and_rolls_back_with_data() -> None:
    make(models("models_v1.py", V1))
    result = make(models("models_v2.py", V2), message="v2: rename, enum, comments")
    assert result.status == "written" and result.path.endswith("0002_v2_rename_enum_comments.py")
    assert "rename column main.users.legacy_name to display_name" in result.changes
    m2 = load_migration("migrations", "0002_v2_rename_enum_comments.py").cls
    forward, backward = "\n".join(sql(m2)), "\n".join(sql(m2, "sqlite", "backward"))
    assert 'RENAME COLUMN legacy_name TO display_name' in forward
    assert "DROP COLUMN legacy_name" not in forward and "ADD COLUMN display_name" not in forward
    assert 'RENAME COLUMN display_name TO legacy_name' in backward and "DROP COLUMN display_name" not in backward
    assert m2.dependencies == ["0001_initial"]
    assert make("models_v2.py").status == "nothing to do"

    # the SQL really keeps the data both ways (the runner adds transactions and the ledger)
    conn = sqlite3.connect("app.db", isolation_level=None)
    m1, m2 = (m.cls() for m in load_all("migrations"))
    asyncio.run(m1.forward(SqliteConnection(conn)))
    conn.execute("INSERT INTO users (email, legacy_name) VALUES ('a@b.c', 'Ann')")
    asyncio.run(m2.forward(SqliteConnection(conn)))
    assert conn.execute("SELECT display_name FROM users").fetchall() == [("Ann",)]
    asyncio.run(m2.backward(SqliteConnection(conn)))
    assert conn.execute("SELECT legacy_name FROM users").fetchall() == [("Ann",)]
    conn.close()


def test_sqlite_initial_migration_with_foreign_keys() -> None:
    # the backward plan drops two tables joined by a foreign key (needs the adapt.py fix that
    # discards the DropConstraint of a table dropped in the same plan)
    assert make(models("models.py", PG_V1)).status == "written"
    m1 = load_migration("migrations", "0001_initial.py").cls
    assert any("REFERENCES" in s for s in sql(m1))
    assert {"DROP TABLE likes", "DROP TABLE posts", "DROP TABLE users"} <= set(sql(m1, "sqlite", "backward"))
    # the foreign-key guard around the drops runs outside the runner's transaction
    assert [s.sql for s in m1().steps("sqlite", "backward") if not s.transactional] == \
        ["PRAGMA foreign_keys=OFF", "PRAGMA foreign_keys=ON"]
    assert make("models.py").status == "nothing to do"


def test_check_exit_codes_and_pyproject_models(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    models("models_v1.py", V1)
    Path("pyproject.toml").write_text('[tool.dfmigrate]\nmodels = "models_v1.py"\n')
    code, out, _ = run_cli("makemigrations", "--check")
    assert code == 1 and "create table main.users" in out and not Path("migrations").exists()
    code, out, err = run_cli("makemigrations")
    assert (code, err) == (0, "") and out.startswith(f"Wrote {os.path.join('migrations', '0001_initial.py')}:")
    assert run_cli("makemigrations", "--check")[:2] == (0, "No changes detected\n")
    assert run_cli("makemigrations")[:2] == (0, "No changes detected\n")
    models("models_v1.py", V2)
    code, out, _ = run_cli("makemigrations", "--check")
    assert code == 1 and "rename column main.users.legacy_name to display_name" in out
    assert migration_names("migrations") == ["0001_initial.py"]


def test_tampering_is_refused_until_rehash(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    models("m.py", V1)
    assert run_cli("makemigrations", "--models", "m.py")[0] == 0
    path = Path("migrations/0001_initial.py")
    path.write_text(path.read_text().replace("VARCHAR(255)", "VARCHAR(300)"))
    code, out, err = run_cli("makemigrations", "--models", "m.py", "--check")
    assert code == 2 and err == (f"dfmigrate: error: {path} was edited after dfmigrate.sum was written "
                                 "(run 'dfmigrate rehash' to accept the edit)\n")
    assert run_cli("rehash") == (0, "Wrote migrations/dfmigrate.sum (1 migration)\n", "")
    code, out, _ = run_cli("makemigrations", "--models", "m.py", "--check")
    assert code == 1 and "rebuild table main.users" in out  # edit accepted; the models still say 255
    assert run_cli("rehash", "--dir", "nowhere")[0] == 2


def test_empty_skeleton_and_hand_written_forward_are_replayed(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    make(models("m.py", V1))
    assert run_cli("makemigrations", "--empty", "-m", "audit table")[:2] == \
        (0, f"Wrote {os.path.join('migrations', '0002_audit_table.py')}\n")
    path = Path("migrations/0002_audit_table.py")
    # a step that does not declare its state is replayed on a scratch database
    path.write_text(path.read_text().replace(
        '    pass\n\n\nasync def backward', '    await conn.execute("CREATE TABLE audit (x int)")\n\n\nasync def backward')
        .replace("RunPython(forward, backward, state=[])", "RunPython(forward, backward)"))
    with pytest.raises(DfmigrateError, match="0002_audit_table.py was edited"):
        make("m.py")
    run_cli("rehash")
    schema = asyncio.run(schema_of_directory("migrations"))
    assert {t.name for t in schema.tables} == {"audit", "posts", "users"}
    # (on PostgreSQL that step would need a server to replay on)
    assert make("m.py", check=True, dialects=["sqlite"]).changes == ("drop table main.audit",)


def test_replay_failure_names_file_and_statement() -> None:
    d = LocalDir("migrations")
    d.write("0001_a.py", render("0001_a", "a", [], "sqlite", plan_of("CREATE TABLE a (x int)"), plan_of()).encode())
    d.write("0002_b.py", render("0002_b", "b", ["0001_a"], "sqlite",
                                plan_of("CREATE INDEX i ON a (x)", "ALTER TABLE nope ADD y int"), plan_of()).encode())
    with pytest.raises(DfmigrateError) as info:
        asyncio.run(schema_of_directory("migrations"))
    assert str(info.value) == ("migrations/0002_b.py: step 2 failed during replay: no such table: "
                               "nope (statement: ALTER TABLE nope ADD y int)")


def test_replay_is_cached_by_the_files(tmp_path: Path) -> None:
    make(models("m.py", V1))
    first = asyncio.run(schema_of_directory("migrations"))
    entries = list((tmp_path / "cache").glob("replay-*.json"))
    assert len(entries) == 2  # one per dialect, written by makemigrations
    assert asyncio.run(schema_of_directory("migrations")) == first
    for entry in entries:
        entry.write_text("{not json")  # a broken entry is a miss, not an error
    assert asyncio.run(schema_of_directory("migrations")) == first
    assert asyncio.run(schema_of_directory("empty_dir", "postgresql")).namespaces == ("public",)


def test_directory_dialect_wins_and_contradiction_is_an_error() -> None:
    d = LocalDir("migrations")  # a directory in the earlier one-dialect format
    d.write("0001_a.py", render("0001_a", "a", [], "sqlite", plan_of("CREATE TABLE a (x int)"), plan_of()).encode())
    write_sum(d)
    models("m.py", V1)
    with pytest.raises(DfmigrateError, match="holds sqlite migrations; --dialect postgresql contradicts it"):
        make("m.py", dialect="postgresql")
    with pytest.raises(DfmigrateError, match="needs a PostgreSQL server"):
        asyncio.run(schema_of_directory(_pg_dir_without_server()))


def _pg_dir_without_server() -> str:
    LocalDir("pgdir").write("0001_a.py", render("0001_a", "a", [], "postgresql",
                                                plan_of("SELECT 1", dialect="postgresql"), plan_of()).encode())
    return "pgdir"


# ---------------------------------------------------------------- PostgreSQL


def scratch_databases(pg_url: str) -> list[str]:
    """This process's replay databases (the pid is in the name: other tests run in parallel)."""
    async def query() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(pg_url)
        try:
            rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                    f"dfm_scratch_{os.getpid()}_%")
            return [r[0] for r in rows]
        finally:
            await conn.close()

    return asyncio.run(query())


def test_pg_cycle_v1_v2_with_rename(pg_url: str) -> None:
    kw = {"dialect": "postgresql", "dev_url": pg_url}
    assert make(models("v1.py", PG_V1), **kw).status == "written"
    assert make("v1.py", **kw).status == "nothing to do"
    result = make(models("v2.py", PG_V2), **kw)
    assert result.status == "written"
    m2 = load_all("migrations")[1].cls
    assert "ALTER TABLE public.users RENAME COLUMN legacy_name TO display_name" in sql(m2, "postgresql")
    assert "ALTER TABLE public.users RENAME COLUMN display_name TO legacy_name" in sql(m2, "postgresql", "backward")
    assert any("ADD VALUE 'archived'" in s for s in sql(m2, "postgresql"))
    assert make("v2.py", **kw).status == "nothing to do"
    assert scratch_databases(pg_url) == []


def test_pg_replay_round_trips_quotes_in_a_function_body(pg_url: str) -> None:
    LocalDir("migrations").write("0001_f.py", render(
        "0001_f", "f", [], "postgresql", plan_of(FUNCTION_WITH_TRIPLE_QUOTES, dialect="postgresql"),
        plan_of("DROP FUNCTION public.quoted()", dialect="postgresql")).encode())
    schema = asyncio.run(schema_of_directory("migrations", dev_url=pg_url))
    (function,) = schema.functions
    assert "SELECT '\"\"\"' || E'\\\\' || 'it''s'; -- \"\"\" and a backslash \\ at the end\"" in function.definition


def test_pg_failed_replay_leaves_no_scratch_database(pg_url: str) -> None:
    d = LocalDir("migrations")
    d.write("0001_a.py", render("0001_a", "a", [], "postgresql",
                                plan_of("CREATE TABLE public.a (x int)", dialect="postgresql"), plan_of()).encode())
    d.write("0002_b.py", render("0002_b", "b", ["0001_a"], "postgresql",
                                plan_of("ALTER TABLE public.nope ADD y int", dialect="postgresql"), plan_of()).encode())
    with pytest.raises(DfmigrateError, match=r'migrations/0002_b.py: step 1 failed during replay: '
                                             r'relation "public.nope" does not exist'):
        asyncio.run(schema_of_directory("migrations", dev_url=pg_url))
    assert scratch_databases(pg_url) == []


def test_pg_cancelled_replay_leaves_no_scratch_database(pg_url: str) -> None:
    LocalDir("migrations").write("0001_slow.py", render(
        "0001_slow", "slow", [], "postgresql", plan_of("SELECT pg_sleep(30)", dialect="postgresql"),
        plan_of()).encode())

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(schema_of_directory("migrations", dev_url=pg_url))
        await asyncio.sleep(1.5)  # inside pg_sleep by now, where Ctrl-C under asyncio.run would find it
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(cancel_midway(), 20))
    assert scratch_databases(pg_url) == []


def test_diff_from_a_migrations_directory_on_the_command_line(run_cli: Callable[..., tuple[int, str, str]]) -> None:
    v1 = models("models_v1.py", V1)
    assert make(v1).status == "written"
    code, out, err = run_cli("diff", "--from", "migrations:migrations", "--to", v1, "--exit-code")
    assert (code, out, err) == (0, "", "")
    code, out, err = run_cli("diff", "--from", "migrations:migrations", "--to", models("models_v2.py", V2))
    assert code == 0 and out.strip() and not err

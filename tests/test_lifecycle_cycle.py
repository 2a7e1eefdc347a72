"""Issue 3's full cycle, on every dialect, with models written here (not the repo's examples):

models v1 → makemigrations → migrate → v2 (a declared rename, a new enum value, a new table
with a foreign key, a dropped column) → makemigrations → migrate → rollback → migrate;
data survives the rename and its rollback; check and drift give the specified exit codes;
drift after a manual ALTER is reported exactly; no connection or scratch database is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.directory import write_sum
from tests.test_runner import cli, query

import dfmigrate.directory.make as make

V1 = '''
import enum
from dfmigrate import field, model


class Role(enum.Enum):
    MEMBER = "member"
    ADMIN = "admin"


@model
class Author:
    __timestamps__ = False
    email: str = field(max_length=255, unique=True)
    full_name: str = field(max_length=100)
    legacy_code: str | None = None
    role: Role = Role.MEMBER
'''

V2 = '''
import enum
from dfmigrate import field, model


class Role(enum.Enum):
    MEMBER = "member"
    ADMIN = "admin"
    EDITOR = "editor"


@model
class Author:
    __timestamps__ = False
    email: str = field(max_length=255, unique=True)
    display_name: str = field(max_length=100, renamed_from="full_name")
    role: Role = Role.MEMBER


@model
class Book:
    __timestamps__ = False
    author_id: int = field(references="authors.id", on_delete="CASCADE", index=True)
    title: str = field(max_length=200)
'''


def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        conn.execute(sql)
        conn.close()
    else:
        query(url, sql)


def consent(directory: Path) -> None:
    """The reviewer's consent to the v2 rename and drop, recorded in the file, then re-summed
    (what 'dfmigrate rehash' does after a reviewed edit)."""
    v2 = next(directory.glob("0002_*.py"))
    v2.write_text(v2.read_text().replace("\n    dependencies = ", '\n    allow_hazards = ["breaks-clients", '
                                         '"deletes-data"]\n    dependencies = ', 1))
    write_sum(str(directory))


def scratch_databases(pg_url: str) -> set[str]:
    """This process's scratch databases (their names carry the pid: other test workers, and
    other runs on the same server, create and drop their own meanwhile)."""
    return {r[0] for r in query(pg_url, "SELECT datname FROM pg_database WHERE datname LIKE 'dfm_scratch_%'")
            if r[0].startswith(f"dfm_scratch_{os.getpid()}_")}


class Cycle:
    """One database and one project directory, driven through the CLI."""

    def __init__(self, dialect: str, url: str, dev: str | None, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.dialect, self.url, self.dev, self.capsys = dialect, url, dev, capsys
        self.dir, self.models = tmp_path / "migrations", tmp_path / "models.py"
        self.opts = ["--database", url, "--dir", str(self.dir), "--models", str(self.models)]
        self.opts += ["--dev-url", dev] if dev else []

    def makemigrations(self, models: str, message: str) -> str:
        self.models.write_text(models)
        result = asyncio.run(make.make_migrations(str(self.models), str(self.dir), self.dialect,
                                                  message=message, dev_url=self.dev))
        return result.status  # type: ignore[no-any-return]

    def run(self, *args: str) -> tuple[int, str, str]:
        code = cli([*args, *self.opts])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def names(self, column: str) -> list[tuple[Any, ...]]:
        return query(self.url, f"SELECT {column} FROM authors ORDER BY email")


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite", "mysql"])
def test_full_cycle(dialect: str, tmp_path: Path, request: pytest.FixtureRequest,
                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    if dialect == "postgresql":
        pg_url = request.getfixturevalue("pg_url")
        scratch_before = scratch_databases(pg_url)
        c = Cycle(dialect, request.getfixturevalue("pg_db")("cycle"), pg_url, tmp_path, capsys)
    elif dialect == "mysql":
        c = Cycle(dialect, request.getfixturevalue("mysql_db")("cycle"), None, tmp_path, capsys)
    else:
        c = Cycle(dialect, "sqlite:///" + request.getfixturevalue("sqlite_path"), None, tmp_path, capsys)
    _v1(c)
    _v2_rollback_and_again(c)
    _drift_and_tamper(c)
    if dialect == "postgresql":
        from tests.test_runner import pg_sessions

        assert pg_sessions(c.url) == 0
        deadline = time.monotonic() + 10  # other xdist workers' scratch databases come and go
        while (scratch_databases(pg_url) - scratch_before) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not scratch_databases(pg_url) - scratch_before


def _v1(c: Cycle) -> None:
    assert c.makemigrations(V1, "initial") == "written"
    assert c.run("check")[0] == 0
    assert c.run("migrate")[0] == 0
    execute(c.url, "INSERT INTO authors (email, full_name, legacy_code) VALUES ('ann@x.io', 'Ann Lee', 'L1')")
    execute(c.url, "INSERT INTO authors (email, full_name, role) VALUES ('bo@x.io', 'Bo Chan', 'admin')")


def _v2_rollback_and_again(c: Cycle) -> None:
    c.models.write_text(V2)  # check sees the pending changes before makemigrations writes them
    code, out, _ = c.run("check")
    assert code == 1 and "authors" in out and "books" in out
    assert c.makemigrations(V2, "v2") == "written"
    code, out, _ = c.run("check")
    # check lints the PostgreSQL SQL every file holds: the rename and the drop wait for consent
    assert code == 1 and "[renaming-column]" in out and "[ban-drop-column]" in out, out
    consent(c.dir)
    code, out, _ = c.run("check")
    assert code == 0, out
    code, dry, _ = c.run("migrate", "--dry-run")
    assert code == 0 and "0002_v2" in dry and "BEGIN;" in dry
    assert json.loads(c.run("status", "--format", "json")[1])["pending"] == ["0002_v2"]  # dry run: nothing
    assert c.run("migrate")[0] == 0
    assert c.names("display_name") == [("Ann Lee",), ("Bo Chan",)]  # the rename kept the data
    execute(c.url, "INSERT INTO authors (email, display_name, role) VALUES ('cy@x.io', 'Cy', 'editor')")
    execute(c.url, "INSERT INTO books (author_id, title) SELECT id, 'Book' FROM authors WHERE email = 'ann@x.io'")
    assert c.run("drift")[0] == 0
    # rolling back removes the enum value: no row may hold it
    execute(c.url, "DELETE FROM authors WHERE email = 'cy@x.io'")
    code, _, err = c.run("rollback")
    assert code == 0, err
    assert c.names("full_name") == [("Ann Lee",), ("Bo Chan",)]
    assert c.run("drift")[0] == 0
    assert c.run("migrate")[0] == 0
    assert c.names("display_name") == [("Ann Lee",), ("Bo Chan",)]
    assert json.loads(c.run("status", "--format", "json")[1])["pending"] == []
    # the migrated database diffed against its own models: nothing to do
    assert cli(["diff", "--from", c.url, "--to", str(c.models), "--exit-code"]) == 0
    assert c.capsys.readouterr().out == ""


def _drift_and_tamper(c: Cycle) -> None:
    execute(c.url, "ALTER TABLE authors ADD COLUMN nickname text")
    code, out, _ = c.run("drift", "--format", "json")
    ns = "public" if c.dialect == "postgresql" else "main"  # SQLite's and MySQL's one namespace
    assert code == 1
    assert [(d["kind"], d["object"]) for d in json.loads(out)["drift"]] == [("extra", f"column {ns}.authors.nickname")]
    first = sorted(c.dir.glob("0001_*.py"))[0]
    first.write_text(first.read_text() + "\n# edited\n")
    for command in ("migrate", "drift", "check"):
        code, _, err = c.run(command)
        assert code == 2 and first.name in err, (command, err)


CLOSED = "postgresql://postgres@127.0.0.1:1/x"  # nothing listens on port 1: no server is needed

HAND_WRITTEN = '''
from dfmigrate.migration import DataMigration, RunPython


async def forward(conn):
    await conn.execute("CREATE TABLE author_emails (email VARCHAR(255) PRIMARY KEY)")
    rows = await conn.fetch("SELECT email FROM authors ORDER BY email")
    for row in rows:
        await conn.execute("INSERT INTO author_emails (email) VALUES ($1)", row["email"])


async def backward(conn):
    await conn.execute("DROP TABLE author_emails")


class Migration(DataMigration):
    id = "0003_emails"
    description = "emails"
    dependencies = ["0002_v2"]
    operations = [RunPython(forward, backward)]  # no state: replayed on a scratch database
'''


def test_one_directory_for_both_dialects(tmp_path: Path, request: pytest.FixtureRequest,
                                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Written from models without naming a dialect or reaching a server; applied to SQLite and
    PostgreSQL; a declared rename keeps its data on both; drift clean on both; offline SQL."""
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    pg_url = request.getfixturevalue("pg_url")
    dbs = {"sqlite": "sqlite:///" + request.getfixturevalue("sqlite_path"),
           "postgresql": request.getfixturevalue("pg_db")("both")}
    mdir, models = tmp_path / "migrations", tmp_path / "models.py"

    def run(*args: str, database: str | None = None, dev: str | None = CLOSED,
            lifecycle: bool = True) -> tuple[int, str, str]:
        opts = ["--dir", str(mdir), "--models", str(models)] if lifecycle else []
        opts += ["--database", database] if database else []
        code = cli([*args, *opts, *(["--dev-url", dev] if dev else [])])
        out = capsys.readouterr()
        return code, out.out, out.err

    models.write_text(V1)
    assert run("makemigrations", "-m", "initial")[0] == 0
    for url in dbs.values():
        assert run("migrate", database=url)[0] == 0, url
        execute(url, "INSERT INTO authors (email, full_name) VALUES ('ann@x.io', 'Ann Lee')")
    models.write_text(V2)
    assert run("check", database=dbs["postgresql"])[0] == 1  # pending, found without a server
    assert run("makemigrations", "-m", "v2")[0] == 0
    consent(mdir)
    assert run("check", database=dbs["postgresql"])[0] == 0
    code, script, _ = run("migrate", "--sql", "--dialect", "postgresql", database=CLOSED)
    assert code == 0 and "ALTER TABLE public.authors RENAME COLUMN full_name TO display_name;" in script
    assert "INSERT INTO public.dfmigrate_history" in script and "COMMIT;" in script
    (mdir / "0003_emails.py").write_text(HAND_WRITTEN)
    assert cli(["rehash", "--dir", str(mdir)]) == 0
    for dialect, url in dbs.items():
        code, _, err = run("migrate", database=url, dev=pg_url)
        assert code == 0, err
        assert query(url, "SELECT display_name FROM authors") == [("Ann Lee",)]  # the rename kept the data
        assert query(url, "SELECT email FROM author_emails") == [("ann@x.io",)]
        assert run("drift", database=url, dev=pg_url)[0] == 0, dialect
        code, out, _ = run("inspect", f"migrations:{mdir}", "--dialect", dialect, "--format", "sql", dev=pg_url,
                             lifecycle=False)
        assert code == 0 and "author_emails" in out

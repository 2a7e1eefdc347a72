"""Models → MySQL: every supported Python type maps to a MySQL type that reads back equal, a
declared rename is a RENAME COLUMN that keeps the data, and the CLI inspects and diffs MySQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dfmigrate.core.engine import plan_migration
from dfmigrate.sources.model_classes import load_models
from dfmigrate.sources.mysql import inspect_mysql
from tests.conftest import REPO
from tests.mysql_converge import apply_plan, execute, run

V1 = '''
from __future__ import annotations
import enum
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID
from dfmigrate import field, index, model


class Status(enum.Enum):
    DRAFT = "draft"
    DONE = "done"


@model
class Customer:
    email: str = field(max_length=255, unique=True)
    full_name: str = field(max_length=80)
    nickname: str | None = field(max_length=40)
    active: bool = True
    score: float = 1.5
    balance: Decimal = field(precision=10, scale=2, default=Decimal("1.5"), check="balance >= 0")
    notes: str = ""
    born: date | None = None
    wake: time | None = None
    seen_at: datetime | None = None
    token: UUID | None = None
    avatar: bytes | None = None
    prefs: dict | None = None
    status: Status = Status.DRAFT
    __indexes__ = (index("full_name", "status"),)
'''

# v2: full_name renamed to display_name, nickname dropped, a new table with an enum and a
# foreign key to customers.
V2 = V1.replace('full_name: str = field(max_length=80)',
                'display_name: str = field(max_length=80, renamed_from="full_name")') \
       .replace('    nickname: str | None = field(max_length=40)\n', '') \
       .replace('index("full_name", "status")', 'index("display_name", "status")') + '''

class Kind(enum.Enum):
    CARD = "card"
    BANK = "bank"


@model
class Payment:
    customer_id: int = field(references="customers.id", on_delete="CASCADE")
    kind: Kind = Kind.CARD
    amount: Decimal = field(precision=12, scale=2)
'''


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_models_round_trip_and_declared_rename(mysql_url: str, tmp_path: Path) -> None:
    v1 = load_models(_write(tmp_path, "v1.py", V1), "mysql")
    run(apply_plan(mysql_url, plan_migration(run(inspect_mysql(mysql_url)), v1)))
    live = run(inspect_mysql(mysql_url))
    assert plan_migration(live, v1).empty
    run(execute(mysql_url, ["INSERT INTO customers (email, full_name) VALUES ('a@x', 'Ann')"]))

    v2 = load_models(_write(tmp_path, "v2.py", V2), "mysql")
    plan = plan_migration(live, v2)
    sql = plan.sql()
    assert "RENAME COLUMN `full_name` TO `display_name`" in sql
    assert "DROP COLUMN `nickname`" in sql
    assert "`kind` enum('card','bank') NOT NULL DEFAULT 'card'" in sql
    run(apply_plan(mysql_url, plan))
    assert plan_migration(run(inspect_mysql(mysql_url)), v2).empty
    rows = run(_fetch(mysql_url, "SELECT email, display_name FROM customers"))
    assert rows == [("a@x", "Ann")]


async def _fetch(url: str, sql: str) -> list[tuple]:
    from dfmigrate.dialects.mysql.connect import connect

    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            return [tuple(r) for r in await cur.fetchall()]
    finally:
        conn.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmigrate", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_cli_inspect_and_diff(mysql_url: str, tmp_path: Path) -> None:
    models = _write(tmp_path, "v1.py", V1)
    created = _cli("diff", "--from", mysql_url, "--to", models, "--dialect", "mysql")
    assert created.returncode == 0, created.stderr
    assert "CREATE TABLE `customers`" in created.stdout
    run(execute(mysql_url, [s for s in created.stdout.split(";\n") if s.strip()]))

    inspected = _cli("inspect", mysql_url)
    assert inspected.returncode == 0, inspected.stderr
    schema = json.loads(inspected.stdout)
    assert schema["dialect"] == "mysql"
    assert [t["name"] for t in schema["tables"]] == ["customers"]

    same = _cli("diff", "--from", mysql_url, "--to", models, "--exit-code")
    assert (same.returncode, same.stdout) == (0, ""), same.stderr
    plan = _cli("diff", "--from", mysql_url, "--to", _write(tmp_path, "v2.py", V2), "--format", "json")
    steps = json.loads(plan.stdout)["statements"]
    rename = next(s for s in steps if "RENAME COLUMN" in s["sql"])
    assert rename["algorithm"] == "INSTANT" and "breaks-clients" in rename["hazards"]
    fk = next(s for s in steps if "FOREIGN KEY" in s["sql"])
    assert fk["algorithm"] == "COPY" and "table-copy" in fk["hazards"] and not fk["transactional"]


def test_cli_error_masks_the_password(mysql_server: str) -> None:
    url = mysql_server.replace("://root@", "://root:sekret@") + "nosuchdb"
    result = _cli("inspect", url)
    assert result.returncode == 2
    assert result.stderr.startswith("dfmigrate: error: ") and "sekret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_database_is_a_clear_error(mysql_server: str) -> None:
    result = _cli("inspect", mysql_server + "dfm_no_such_database_here")
    assert result.returncode == 2
    assert "dfm_no_such_database_here" in result.stderr and "Traceback" not in result.stderr


def test_mysql_and_postgres_do_not_mix(mysql_url: str, tmp_path: Path) -> None:
    result = _cli("diff", "--from", mysql_url, "--to", "postgresql://postgres@127.0.0.1/postgres")
    assert result.returncode == 2
    assert "cannot compare a MySQL database with a PostgreSQL database" in result.stderr




def test_sql_files_load_into_a_scratch_database(mysql_server: str, tmp_path: Path) -> None:
    first = _write(tmp_path, "a.sql", "CREATE TABLE t (id INT PRIMARY KEY, a INT);\n"
                   "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END;\n")
    second = _write(tmp_path, "b.sql", "CREATE TABLE t (id INT PRIMARY KEY, a BIGINT NOT NULL);\n")
    result = _cli("diff", "--from", first, "--to", second, "--dialect", "mysql", "--dev-url", mysql_server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(";\n\n") == [
        "DROP TRIGGER `tr`", "ALTER TABLE `t` MODIFY COLUMN `a` bigint NOT NULL, ALGORITHM=COPY, LOCK=SHARED;\n"]
    broken = _write(tmp_path, "bad.sql", "CREATE TABLE t (id INT PRIMARY KEY,;\n")
    failed = _cli("diff", "--from", first, "--to", broken, "--dialect", "mysql", "--dev-url", mysql_server)
    assert failed.returncode == 2 and failed.stderr.startswith("dfmigrate: error: ") and "bad.sql" in failed.stderr
    # both runs dropped their scratch databases (only this test makes them on the MySQL server)
    assert run(_fetch(mysql_server, "SHOW DATABASES LIKE 'dfm\\_scratch\\_%'")) == []


def test_sql_file_on_a_server_refusing_create_database_is_one_clear_line(mysql_server: str, tmp_path: Path) -> None:
    import os

    user = f"dfm_test_nocreate_{os.getpid()}"
    run(execute(mysql_server, [f"CREATE USER IF NOT EXISTS '{user}'@'%'", f"CREATE USER IF NOT EXISTS '{user}'@'localhost'"]))
    try:
        server = mysql_server.replace("root@", f"{user}@")
        assert server != mysql_server
        schema = _write(tmp_path, "a.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
        result = _cli("diff", "--from", schema, "--to", schema, "--dialect", "mysql", "--dev-url", server)
        assert result.returncode == 2
        assert result.stderr.startswith(f"dfmigrate: error: {schema}: cannot create a scratch database on {server}: ")
        assert "Access denied" in result.stderr and len(result.stderr.splitlines()) == 1
    finally:
        run(execute(mysql_server, [f"DROP USER IF EXISTS '{user}'@'%'", f"DROP USER IF EXISTS '{user}'@'localhost'"]))


STR_KEYS = '''
from dfmigrate import field, index, model, unique


@model
class Code:
    __timestamps__ = False
    id: str = field(primary_key=True)
    label: str = field(unique=True)
    group: str = field(index=True)
    tag: str
    kind: str
    note: str = ""
    sized: str = field(max_length=20, unique=True)
    __indexes__ = (index("tag", "note"),)
    __constraints__ = (unique("kind", "sized"),)


@model
class Use:
    __timestamps__ = False
    code_id: str = field(references="codes.id")
'''


def test_str_key_columns_without_max_length_are_varchar_255(mysql_url: str, tmp_path: Path) -> None:
    """TEXT cannot be a key on MySQL (MariaDB refuses a TEXT primary key, cuts an index on one to
    a prefix and makes a unique key on one a hash, so the models would never match the
    database): a `str` column that a key or index covers, without max_length, is varchar(255)
    there; elsewhere, and on the other databases, `str` stays text."""
    spec = _write(tmp_path, "keys.py", STR_KEYS)
    models = load_models(spec, "mysql")
    types = {(t.name, c.name): c.type for t in models.tables for c in t.columns}
    assert types == {
        ("codes", "id"): "varchar(255)", ("codes", "label"): "varchar(255)", ("codes", "group"): "varchar(255)",
        ("codes", "tag"): "varchar(255)", ("codes", "kind"): "varchar(255)", ("codes", "note"): "varchar(255)",
        ("codes", "sized"): "varchar(20)", ("uses", "id"): "int", ("uses", "code_id"): "varchar(255)"}, types
    assert {c.type for t in load_models(spec, "postgresql").tables for c in t.columns if c.name != "id"} == {
        "text", "character varying(20)"}
    run(apply_plan(mysql_url, plan_migration(run(inspect_mysql(mysql_url)), models)))  # the server takes it
    assert plan_migration(run(inspect_mysql(mysql_url)), models).empty  # and reads back what the models say
    unkeyed = STR_KEYS.replace('    __indexes__ = (index("tag", "note"),)\n', "")
    assert {c.name: c.type for c in load_models(_write(tmp_path, "v2.py", unkeyed), "mysql").tables[0].columns
            if c.name in ("tag", "note")} == {"tag": "text", "note": "text"}


RESTRICTED = '''
from dfmigrate import field, model


@model
class Author:
    name: str = field(max_length=80)


@model
class Book:
    author_id: int = field(references="Author.id", on_delete="restrict", on_update="restrict")
    title: str = field(max_length=80)
'''


def test_restrict_foreign_key_compares_equal_to_the_database_it_made(mysql_url: str, tmp_path: Path) -> None:
    """InnoDB's RESTRICT is its NO ACTION, and MariaDB reports either as RESTRICT: a model and a
    migrations directory saying RESTRICT equal the database they produced (diff, drift, check)."""
    from tests.test_mysql_apply import generated
    from tests.test_runner import cli

    mdir = generated(tmp_path, mysql_url, ("v1", RESTRICTED))
    models = str(tmp_path / "models.py")
    opts = ["--database", mysql_url, "--dir", str(mdir), "--models", models]
    assert cli(["migrate", *opts]) == 0
    same = _cli("diff", "--from", mysql_url, "--to", models, "--exit-code")
    assert (same.returncode, same.stdout) == (0, ""), same.stderr
    assert cli(["drift", *opts]) == 0
    assert cli(["check", *opts]) == 0
    # a real change of action is still one
    changed = _write(tmp_path, "cascade.py", RESTRICTED.replace('on_delete="restrict"', 'on_delete="cascade"'))
    differs = _cli("diff", "--from", mysql_url, "--to", changed, "--exit-code")
    assert differs.returncode == 1 and "ON DELETE CASCADE" in differs.stdout, differs.stderr

"""``dataflow:MODULE:ATTR``: the tables kailash-dataflow creates for a DataFlow app's models.

The convergence tests let DataFlow itself create its tables (``db.create_tables()`` or its first
query, in a child process), then require dfmigrate to see
no difference between that database and the ``dataflow:`` source, in both directions, and between
it and a database dfmigrate built from the source. DataFlow's bookkeeping tables
(``dataflow_migrations`` and friends) are not models: they are checked to be the only extra
tables and dropped before comparing.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from dfmigrate import cli
from dfmigrate.errors import SourceError
from dfmigrate.sources import classify
from dfmigrate.sources.dataflow import load_dataflow
from tests.conftest import REPO

BOOKKEEPING_PREFIX = "dataflow_"  # dataflow_migrations, dataflow_migration_history, dataflow_model_registry

APP = '''\
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Optional

from dataflow import DataFlow

db = DataFlow({url!r}{options})


class Tier(str, enum.Enum):
    GOLD = "gold"
    SILVER = "silver"


@db.model
class Customer:
    email: str
    name: str
    age: int = 0
    active: bool = True
    vip: bool = False
    score: float = 1.5
    ratio: float = 2
    tiny: float = 1e-07
    debt: float = -1.5
    offset: int = -1
    big: int = 3000000000
    balance: Decimal = Decimal("0.00")
    joined: dt.datetime
    since: dt.datetime = dt.datetime(2020, 1, 2, 3, 4, 5, 500000)
    bday: dt.date = dt.date(2000, 1, 2)
    note: Optional[str] = None
    motto: Optional[str]
    nick: str = "anon"
    city: str = "Zürich"
    tier: Tier = Tier.GOLD
    prefs: dict = {{"beta": 1, "a": [1, 2]}}
    tags: list[str] = []
    data: bytes
    stamp: dt.datetime = dt.datetime.now
    __dataflow__ = {{"indexes": [
        {{"name": "idx_customer_email", "fields": ["email"], "unique": True}},
        {{"fields": ["name", "age"]}},
    ]}}


@db.model
class OrderItem:
    customer_id: int
    qty: int = 1
    price: Optional[float] = None
    __dataflow__ = {{"soft_delete": True, "indexes": [{{"fields": ["customer_id"]}}]}}


@db.model
class Token:
    id: str
    value: str


@db.model
class Person:
    name: str


@db.model
class LegacyThing:
    __tablename__ = "legacy"
    code: str
'''


def write_app(directory: Path, url: str, options: str = "", body: str = APP) -> str:
    """A uniquely named app module in ``directory``; returns its module name."""
    name = f"dfapp_{uuid.uuid4().hex[:8]}"
    (directory / f"{name}.py").write_text(body.format(url=url, options=options))
    return name


# DataFlow's two ways of creating its tables: the explicit call, and the lazy one its first
# query takes (`_ensure_connected` → `_create_tables_batch`, engine.py:1286 and 9590).
CREATE_TABLES = "{module}.db.create_tables()"
FIRST_QUERY = """
from kailash.workflow.builder import WorkflowBuilder
from kailash.runtime.local import LocalRuntime
workflow = WorkflowBuilder()
workflow.add_node("TokenListNode", "list", {{"filter": {{}}}})
with LocalRuntime() as runtime:
    results, _ = runtime.execute(workflow.build())
assert "records" in results["list"], results
"""


def run_app(directory: Path, module: str, how: str) -> None:
    """Import the app and run ``how`` in a child process, so that DataFlow's pools and global
    registries stay out of this one."""
    code = f"import {module}\n" + textwrap.dedent(how).format(module=module)
    result = subprocess.run([sys.executable, "-c", code], cwd=directory, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]


def dfmigrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def assert_same(capsys: pytest.CaptureFixture[str], a: str, b: str) -> None:
    for left, right in ((a, b), (b, a)):
        code, out, err = dfmigrate(capsys, "diff", "--from", left, "--to", right, "--exit-code")
        assert (code, out) == (0, ""), f"{left} -> {right}:\n{out}{err}"


# --- the two databases -----------------------------------------------------------------------
def sqlite_tables(path: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")}


def sqlite_drop_bookkeeping(path: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for name in sqlite_tables(path):
            if name.startswith(BOOKKEEPING_PREFIX):
                conn.execute(f'DROP TABLE "{name}"')
        conn.commit()
    finally:
        conn.close()


async def pg(url: str, sql: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if sql.lstrip().upper().startswith("SELECT"):
            return [r[0] for r in await conn.fetch(sql)]
        await conn.execute(sql)
        return []
    finally:
        await conn.close()


PG_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"

MODEL_TABLES = {"customers", "order_items", "tokens", "people", "legacy"}


# --- convergence -----------------------------------------------------------------------------
@pytest.mark.parametrize("how", [CREATE_TABLES, FIRST_QUERY], ids=["create_tables", "first_query"])
def test_sqlite_dataflow_tables_equal_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], how: str) -> None:
    monkeypatch.chdir(tmp_path)
    created, built = str(tmp_path / "dataflow.db"), str(tmp_path / "dfmigrate.db")
    module = write_app(tmp_path, f"sqlite:///{created}")
    run_app(tmp_path, module, how)
    tables = sqlite_tables(created)
    assert tables - MODEL_TABLES and all(t.startswith(BOOKKEEPING_PREFIX) for t in tables - MODEL_TABLES)
    assert MODEL_TABLES <= tables
    sqlite_drop_bookkeeping(created)
    source = f"dataflow:{module}:db"
    assert_same(capsys, f"sqlite:///{created}", source)

    sqlite3.connect(built).close()  # an empty database (a missing file is an error)
    code, script, err = dfmigrate(capsys, "diff", "--from", f"sqlite:///{built}", "--to", source)
    assert code == 0 and "AUTOINCREMENT" in script, err
    with sqlite3.connect(built) as conn:
        conn.executescript(script)
    assert_same(capsys, f"sqlite:///{built}", f"sqlite:///{created}")
    assert_same(capsys, f"sqlite:///{built}", source)


@pytest.mark.parametrize("how", [CREATE_TABLES, FIRST_QUERY], ids=["create_tables", "first_query"])
def test_postgres_dataflow_tables_equal_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   pg_db: Callable[..., str], how: str) -> None:
    monkeypatch.chdir(tmp_path)
    created, built = pg_db("dataflow"), pg_db("dfmigrate")
    module = write_app(tmp_path, created)
    run_app(tmp_path, module, how)
    tables = set(asyncio.run(pg(created, PG_TABLES)))
    assert MODEL_TABLES <= tables
    extra = tables - MODEL_TABLES
    assert all(t.startswith(BOOKKEEPING_PREFIX) for t in extra), extra
    for name in extra:
        asyncio.run(pg(created, f'DROP TABLE public."{name}"'))
    source = f"dataflow:{module}:db"
    assert_same(capsys, created, source)

    code, script, err = dfmigrate(capsys, "diff", "--from", built, "--to", source)
    assert code == 0 and "nextval('public.customers_id_seq'::regclass)" in script, err
    asyncio.run(pg(built, script))
    assert_same(capsys, built, created)
    assert_same(capsys, built, source)


def test_makemigrations_and_migrate_from_a_dataflow_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The lifecycle path: makemigrations --models dataflow:..., migrate, then nothing pending."""
    monkeypatch.chdir(tmp_path)
    created, applied = str(tmp_path / "dataflow.db"), str(tmp_path / "app.db")
    module = write_app(tmp_path, f"sqlite:///{created}")
    source = f"dataflow:{module}:db"
    code, out, err = dfmigrate(capsys, "makemigrations", "--models", source, "--dir", "migrations",
                               "-m", "initial")
    assert code == 0, out + err
    code, out, err = dfmigrate(capsys, "migrate", "--database", f"sqlite:///{applied}", "--dir", "migrations")
    assert code == 0, out + err
    code, out, err = dfmigrate(capsys, "check", "--models", source, "--dir", "migrations")
    assert code == 0, out + err
    run_app(tmp_path, module, CREATE_TABLES)
    sqlite_drop_bookkeeping(created)
    code, out, err = dfmigrate(capsys, "diff", "--from", f"sqlite:///{applied}",
                               "--to", f"sqlite:///{created}", "--exit-code")
    # dfmigrate's own tables in the migrated database are not part of its schema: no difference.
    assert (code, out) == (0, ""), out + err


OWNED = ", auto_migrate=False, existing_schema_mode=True, enable_model_persistence=False"
CREATE_THEN_LIST = """
import json
from kailash.workflow.builder import WorkflowBuilder
from kailash.runtime.local import LocalRuntime
create, read = WorkflowBuilder(), WorkflowBuilder()
create.add_node("TokenCreateNode", "create", {{"id": "t1", "value": "v"}})
read.add_node("TokenListNode", "list", {{"filter": {{}}}})
with LocalRuntime() as runtime:
    runtime.execute(create.build())
    results, _ = runtime.execute(read.build())
assert [r["id"] for r in results["list"]["records"]] == ["t1"], results
"""


def test_dataflow_runs_on_the_sqlite_schema_dfmigrate_owns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """With auto-migration off (docs/dataflow.md), DataFlow creates nothing and works on the
    tables dfmigrate made."""
    monkeypatch.chdir(tmp_path)
    path = str(tmp_path / "owned.db")
    module = write_app(tmp_path, f"sqlite:///{path}", OWNED)
    sqlite3.connect(path).close()  # an empty database (a missing file is an error)
    code, script, err = dfmigrate(capsys, "diff", "--from", f"sqlite:///{path}",
                                  "--to", f"dataflow:{module}:db")
    assert code == 0, err
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
    before = sqlite_tables(path)
    run_app(tmp_path, module, CREATE_THEN_LIST)
    assert sqlite_tables(path) == before
    assert not (tmp_path / "migrations").exists()


def test_dataflow_runs_on_the_postgres_schema_dfmigrate_owns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        pg_db: Callable[..., str]) -> None:
    monkeypatch.chdir(tmp_path)
    url = pg_db("owned")
    module = write_app(tmp_path, url, OWNED)
    code, script, err = dfmigrate(capsys, "diff", "--from", url, "--to", f"dataflow:{module}:db")
    assert code == 0, err
    asyncio.run(pg(url, script))
    before = set(asyncio.run(pg(url, PG_TABLES)))
    run_app(tmp_path, module, CREATE_THEN_LIST)
    assert set(asyncio.run(pg(url, PG_TABLES))) == before == MODEL_TABLES
    assert not (tmp_path / "migrations").exists()


# --- what the source reads -------------------------------------------------------------------
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, dialect: str = "postgresql"):
    monkeypatch.chdir(tmp_path)
    module = write_app(tmp_path, "sqlite:///unused.db", body=body)
    return load_dataflow(f"dataflow:{module}:db", dialect)  # type: ignore[arg-type]


HEAD = "from typing import Any, Optional, Union\nfrom dataflow import DataFlow\ndb = DataFlow({url!r})\n"


def test_reading_the_models_touches_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = load(tmp_path, monkeypatch, HEAD + "@db.model\nclass Widget:\n    name: str\n")
    assert [t.name for t in schema.tables] == ["widgets"]
    assert not (tmp_path / "unused.db").exists()
    assert not (tmp_path / "migrations").exists()


def test_nullability_and_key_follow_dataflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = HEAD + textwrap.dedent("""
        @db.model
        class Widget:
            id: Optional[str]
            a: Optional[int]
            b: int = 5
    """)
    widgets = load(tmp_path, monkeypatch, body).tables[0]
    by_name = {c.name: c for c in widgets.columns}
    # Only exactly `id: str` gives a text key; Optional[str] gets the SERIAL key.
    assert by_name["id"].type == "integer" and by_name["id"].default.startswith("nextval(")
    assert by_name["a"].nullable is False  # no default: NOT NULL, Optional or not
    assert by_name["b"].nullable is True  # any default: nullable
    assert [c.name for c in widgets.columns] == ["id", "a", "b", "created_at", "updated_at"]


@pytest.mark.parametrize("annotation", ["Any", "Union[int, str]"])
def test_annotation_dataflow_only_maps_by_accident_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, annotation: str) -> None:
    body = HEAD + f"@db.model\nclass Widget:\n    blob: {annotation}\n"
    with pytest.raises(SourceError, match=r"model Widget, field blob: unsupported type .*TEXT"):
        load(tmp_path, monkeypatch, body)


def test_default_dataflow_writes_unescaped_is_an_error(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    body = HEAD + "@db.model\nclass Widget:\n    title: str = \"it's\"\n"
    with pytest.raises(SourceError, match="unescaped"):
        load(tmp_path, monkeypatch, body, "sqlite")


def test_classify_needs_module_and_attr() -> None:
    assert classify("dataflow:app.models:db") == ("dataflow", "dataflow:app.models:db")
    for spec in ("dataflow:", "dataflow:app.models", "dataflow::db", "dataflow:app:"):
        with pytest.raises(SourceError, match="expected dataflow:MODULE:ATTR"):
            classify(spec)


# --- errors as the user meets them -----------------------------------------------------------
def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmigrate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("attr_line, spec_tail, fragment", [
    ("", "{module}:nothing", "has no attribute nothing"),
    ("not_db = 42\n", "{module}:not_db", "not_db is not a DataFlow instance (type int)"),
    ("", "no_such_module_x:db", "cannot import module no_such_module_x"),
])
def test_errors_are_one_line(tmp_path: Path, attr_line: str, spec_tail: str, fragment: str) -> None:
    module = write_app(tmp_path, "sqlite:///unused.db", body=HEAD + attr_line)
    spec = "dataflow:" + spec_tail.format(module=module)
    result = run_cli(tmp_path, "inspect", spec)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dfmigrate: error: "), result.stderr
    assert fragment in lines[0], lines[0]


def test_error_inside_the_app_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError, match=r"dfapp_\w+\.py:4: RuntimeError: boom"):
        load(tmp_path, monkeypatch, HEAD + "raise RuntimeError('boom')\n")


def test_missing_kailash_dataflow_says_what_to_install(tmp_path: Path) -> None:
    # A meta-path finder that refuses `dataflow` stands in for an environment without the extra.
    code = textwrap.dedent("""
        import sys
        class NoDataflow:
            def find_spec(self, name, path=None, target=None):
                if name == "dataflow" or name.startswith("dataflow."):
                    raise ModuleNotFoundError("No module named 'dataflow'", name="dataflow")
        sys.meta_path.insert(0, NoDataflow())
        from dfmigrate.cli import main
        main(["inspect", "dataflow:app:db"])
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "install dfmigrate[dataflow]" in result.stderr and len(result.stderr.splitlines()) == 1

"""The migrations directory: file order, loading, the chained sum, the writer's literals."""

from __future__ import annotations

import ast
import asyncio
import os
import sqlite3
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfmigrate.core.engine import Plan
from dfmigrate.errors import DfmigrateError
from dfmigrate.directory import (
    SUM_FILE, IntegrityError, LocalDir, MemDir, Reason, load_all, load_migration, migration_names,
    rehash, verify, write_sum,
)
from dfmigrate.directory.files import directory_dialect, next_id, slugify
from dfmigrate.directory.writer import SQLMigrationGenerator, py_literal, render
from dfmigrate.core.statement import Statement

NASTY_LABEL = "it's'; DROP TABLE x; --"
FUNCTION_WITH_TRIPLE_QUOTES = (
    "CREATE FUNCTION public.quoted() RETURNS text LANGUAGE sql AS $body$\n"
    "  SELECT '\"\"\"' || E'\\\\' || 'it''s'; -- \"\"\" and a backslash \\ at the end\"\n$body$"
)


def plan_of(*sql: str, dialect: str = "sqlite", transactional: bool = True) -> Plan:
    return Plan(dialect, [], [Statement(s, None, transactional=transactional) for s in sql], nx.DiGraph())


def migration_file(migration_id: str, forward: list[str], deps: list[str] | None = None,
                   dialect: str = "sqlite") -> bytes:
    return render(migration_id, migration_id, deps or [], dialect, plan_of(*forward, dialect=dialect),
                  plan_of(dialect=dialect)).encode()


@pytest.fixture
def three() -> MemDir:
    d = MemDir("migrations")
    d.write("0001_a.py", migration_file("0001_a", ["CREATE TABLE a (x int)"]))
    d.write("0002_b.py", migration_file("0002_b", ["CREATE TABLE b (x int)"], ["0001_a"]))
    d.write("0003_c.py", migration_file("0003_c", ["CREATE TABLE c (x int)"], ["0002_b"]))
    d.write("README.md", b"not a migration")
    d.write("__init__.py", b"")
    write_sum(d)
    return d


def integrity_error(d: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        verify(d)
    return info.value


# ---------------------------------------------------------------- files and order


def test_only_numbered_files_are_migrations_in_numeric_order() -> None:
    d = MemDir(files={"0010_z.py": b"", "0002_b.py": b"", "9_x.py": b"", "helpers.py": b"",
                      "__init__.py": b"", "0001_a.txt": b""})
    assert migration_names(d) == ["0002_b.py", "9_x.py", "0010_z.py"]


def test_two_files_with_one_number_are_refused() -> None:
    d = MemDir(files={"0002_main.py": b"", "0002_branch.py": b""})
    with pytest.raises(DfmigrateError, match="0002_branch.py and 0002_main.py have the same number"):
        migration_names(d)


def test_slug_and_next_id() -> None:
    assert slugify("Add posts.status (v2)!") == "add_posts_status_v2"
    assert slugify("Ärger mit Übergrößen") == "arger_mit_ubergroen"
    assert len(slugify("x" * 100)) == 40
    assert slugify("???") == "migration"
    assert next_id(MemDir(), "initial") == "0001_initial"
    assert next_id(MemDir(files={"0009_a.py": b""}), "Next one") == "0010_next_one"


def test_loading_a_broken_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.py").write_bytes(migration_file("0001_ok", ["CREATE TABLE a (x int)"]))
    (tmp_path / "0002_bad.py").write_text("from dfmigrate.migration import SQLMigration\nclass Migration(:\n")
    with pytest.raises(DfmigrateError, match=r"0002_bad\.py:2: cannot load migration: SyntaxError"):
        load_all(str(tmp_path))
    (tmp_path / "0002_bad.py").write_text("import no_such_module_here\n")
    with pytest.raises(DfmigrateError, match=r"0002_bad\.py: cannot load migration: ModuleNotFoundError"):
        load_all(str(tmp_path))


def test_the_id_must_match_the_file_name() -> None:
    d = MemDir(files={"0001_a.py": migration_file("0001_other", [])})
    with pytest.raises(DfmigrateError, match="migrations/0001_a.py: declares id '0001_other'"):
        load_migration(d, "0001_a.py")


def test_loaded_class_is_a_kailash_migration_for_the_runner(three: MemDir) -> None:
    from kailash.utils.migrations import Migration

    from dfmigrate.migration import SQLMigration, kailash_class

    loaded = load_all(three)
    assert [m.id for m in loaded] == ["0001_a", "0002_b", "0003_c"]
    assert all(issubclass(m.cls, SQLMigration) and issubclass(kailash_class(m.cls), Migration) for m in loaded)
    assert kailash_class(loaded[0].cls)().forward_sql == loaded[0].cls.forward_sql
    assert loaded[1].cls.dependencies == ["0001_a"] and loaded[1].cls.dialect == "sqlite"
    assert directory_dialect(three) == "sqlite"


def test_sql_migration_runs_its_lists_on_the_connection() -> None:
    from dfmigrate.runner.connections import SqliteConnection

    cls = load_migration(MemDir(files={"0001_a.py": migration_file("0001_a", ["CREATE TABLE a (x int)"])}),
                         "0001_a.py").cls
    conn = sqlite3.connect(":memory:", isolation_level=None)
    asyncio.run(cls().forward(SqliteConnection(conn)))
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("a",)]
    conn.close()


# ---------------------------------------------------------------- the sum


def test_sum_format_and_clean_verify(three: MemDir) -> None:
    lines = three.read(SUM_FILE).decode().splitlines()
    assert lines[0].startswith("h1:") and [ln.split()[0] for ln in lines[1:]] == \
        ["0001_a.py", "0002_b.py", "0003_c.py"]
    verify(three)
    three.write("README.md", b"edited readme: not summed")
    verify(three)


def test_edit_is_detected_with_the_file_named(three: MemDir) -> None:
    three.write("0002_b.py", three.read("0002_b.py").replace(b"x int", b"y int"))
    err = integrity_error(three)
    assert err.reason is Reason.EDITED and err.filename == "migrations/0002_b.py"
    assert str(err) == ("migrations/0002_b.py was edited after dfmigrate.sum was written "
                        "(run 'dfmigrate rehash' to accept the edit)")


def test_add_remove_reorder_are_detected(three: MemDir) -> None:
    three.write("0004_d.py", migration_file("0004_d", [], ["0003_c"]))
    err = integrity_error(three)
    assert (err.reason, err.filename) == (Reason.ADDED, "migrations/0004_d.py")
    three.remove("0004_d.py")
    verify(three)

    removed = three.files.pop("0002_b.py")
    err = integrity_error(three)
    assert (err.reason, err.filename) == (Reason.REMOVED, "migrations/0002_b.py")
    assert "is listed in dfmigrate.sum but is missing" in str(err)
    three.write("0002_b.py", removed)

    # renumbering swaps the order: 0002_b runs last now
    three.files["0004_b.py"] = three.files.pop("0002_b.py")
    err = integrity_error(three)
    assert (err.reason, err.filename) == (Reason.REORDERED, "migrations/0003_c.py")


def test_hand_edited_or_missing_sum(three: MemDir) -> None:
    text = three.read(SUM_FILE).decode()
    three.write(SUM_FILE, text.replace("h1:", "h1:A", 1).encode())
    assert integrity_error(three).reason is Reason.EDITED
    three.write(SUM_FILE, b"garbage\n")
    assert integrity_error(three).reason is Reason.CORRUPT
    three.remove(SUM_FILE)
    err = integrity_error(three)
    assert err.reason is Reason.MISSING_SUM and "migrations/dfmigrate.sum is missing" in str(err)
    verify(MemDir())  # nothing to protect yet


def test_rehash_accepts_an_edit_on_disk(tmp_path: Path) -> None:
    d = str(tmp_path / "migrations")
    for mid, deps in (("0001_a", []), ("0002_b", ["0001_a"])):
        LocalDir(d).write(f"{mid}.py", migration_file(mid, [f"CREATE TABLE t{mid[-1]} (x int)"], deps))
    write_sum(d)
    path = Path(d, "0001_a.py")
    path.write_bytes(path.read_bytes() + b"# reviewed\n")
    err = integrity_error(d)
    assert err.reason is Reason.EDITED and err.filename == str(Path(d, "0001_a.py"))
    rehash(d)
    verify(d)


# ---------------------------------------------------------------- the writer


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_py_literal_round_trips_any_text(text: str) -> None:
    assert ast.literal_eval(py_literal(text)) == text


@pytest.mark.parametrize("sql", [
    f"CREATE TYPE public.s AS ENUM ('{NASTY_LABEL.replace(chr(39), chr(39) * 2)}')",
    FUNCTION_WITH_TRIPLE_QUOTES,
    'ends with a quote "', 'x\n"', '"""', '\\', "tab\there\r\nand CR", "\x00nul", "é\u2028",
])
def test_written_file_round_trips_nasty_sql(sql: str) -> None:
    d = MemDir()
    description = 'say "hi""" \\ it\'s'
    SQLMigrationGenerator(d, "postgresql", source='models "x".py').create_migration(
        description, description, forward=plan_of(sql, "SELECT 1", dialect="postgresql"),
        backward=plan_of(sql, dialect="postgresql"))
    cls = load_migration(d, "0001_say_hi_it_s.py").cls
    assert cls.forward_sql == [sql, "SELECT 1"] and cls.backward_sql == [sql]
    assert cls.description == description


def test_identical_input_gives_identical_bytes() -> None:
    args = ("0003_x", "x", ["0002_y"], "sqlite", plan_of("PRAGMA foreign_keys=OFF", "CREATE TABLE a (x int)",
                                                         transactional=False), plan_of("DROP TABLE a"))
    first = render(*args)
    assert render(*args) == first
    assert "    non_transactional = [0, 1]  # indexes into forward_sql" in first
    assert "Generated on" not in first and "2026" not in first


def test_generator_never_overwrites_and_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    d = MemDir()
    gen = SQLMigrationGenerator(d, "sqlite")
    assert gen.get_next_migration_number() == "0001"
    path = gen.create_migration("first", "first", forward=plan_of("CREATE TABLE a (x int)"),
                                backward=plan_of("DROP TABLE a"))
    assert path == "migrations/0001_first.py" and gen.get_next_migration_number() == "0002"
    assert capsys.readouterr().out == ""
    with pytest.raises(DfmigrateError, match="already exists"):
        d.write("0001_first.py", b"", exclusive=True)


def test_empty_skeleton_loads() -> None:
    d = MemDir(files={"0001_a.py": migration_file("0001_a", [])})
    path = SQLMigrationGenerator(d, "sqlite").create_migration("backfill", "backfill", "data")
    assert path == "migrations/0002_backfill.py"
    text = d.read("0002_backfill.py").decode()
    assert "async def forward" in text and "Hand-written migration" in text
    cls = load_migration(d, "0002_backfill.py").cls
    assert cls.dependencies == ["0001_a"]
    assert [step.kind for step in cls().steps("postgresql", "forward")] == ["run python"]
    from dfmigrate.migration import state_operations

    assert state_operations(cls(), "sqlite") == []  # declared: replay needs no database


def test_loading_files_does_not_import_kailash(tmp_path: Path) -> None:
    """check and makemigrations read files without paying for Kailash's import."""
    import subprocess
    import sys

    (tmp_path / "0001_a.py").write_bytes(migration_file("0001_a", []))
    code = ("import sys; from dfmigrate.directory import load_all; load_all(sys.argv[1]); "
            "print('kailash' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_makemigrations_and_check_do_not_import_kailash(tmp_path: Path) -> None:
    """The writer keeps Kailash's generator contract without deriving from it at import."""
    import subprocess
    import sys

    (tmp_path / "models.py").write_text("from dfmigrate import model\n\n\n@model\nclass Item:\n    name: str\n")
    code = ("import asyncio, sys; from dfmigrate.directory.make import make_migrations\n"
            "r = asyncio.run(make_migrations('models.py', 'migrations'))\n"
            "c = asyncio.run(make_migrations('models.py', 'migrations', check=True))\n"
            "print(r.status, c.status, 'kailash' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "DFMIGRATE_CACHE_DIR": str(tmp_path / "cache")})
    assert out.stdout.strip() == "written nothing to do False"


def test_kailash_generator_is_a_migration_generator() -> None:
    from kailash.utils.migrations.generator import MigrationGenerator

    from dfmigrate.directory.writer import kailash_generator

    d = MemDir()
    gen = kailash_generator(d, "sqlite")
    assert isinstance(gen, MigrationGenerator) and isinstance(gen, SQLMigrationGenerator)
    assert gen.create_migration("first", "first", forward=plan_of("CREATE TABLE a (x int)"),
                                backward=plan_of("DROP TABLE a")) == "migrations/0001_first.py"
    assert type(kailash_generator(d, "sqlite")) is type(gen)


def test_files_written_before_the_core_moved_keep_loading(tmp_path: Path) -> None:
    """A checksummed file imports the operations from their former top-level modules: it loads,
    and its operations are the engine's own classes."""
    from dfmigrate.core.changes import AddColumn
    from dfmigrate.directory import load_all

    (tmp_path / "0001_old.py").write_text('''
from dfmigrate.changes import AddColumn
from dfmigrate.migration import SchemaMigration
from dfmigrate.schema import Column
from dfmigrate.statement import Hazard
from dfmigrate.step import Step


class Migration(SchemaMigration):
    id = "0001_old"
    operations = [AddColumn("main", "t", Column("c", "INTEGER"))]
    hazards = [Hazard.DELETES_DATA, Step("SELECT 1")]
''')
    (loaded,) = load_all(str(tmp_path))
    assert type(loaded.cls.operations[0]) is AddColumn

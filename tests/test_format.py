"""The migration file format: steps with their facts as data, for old and new files alike."""

from __future__ import annotations

import pytest

from dfmigrate.core.classify import classify
from dfmigrate.errors import DfmigrateError
from dfmigrate.migration import Migration, RunPython, RunSQL, SQLMigration, migration_steps
from dfmigrate.core.step import Step


class OldPg(SQLMigration):
    id = "0001_old"
    description = "old"
    dialect = "postgresql"
    forward_sql = ["CREATE TABLE public.a (x int)", "ALTER TABLE public.a ADD COLUMN y text",
                   "CREATE INDEX CONCURRENTLY a_y_idx ON public.a (y)"]
    backward_sql = ["DROP TABLE public.a"]
    non_transactional = [2]


class OldSqlite(SQLMigration):
    id = "0002_old"
    description = "old"
    dialect = "sqlite"
    forward_sql = ["PRAGMA foreign_keys=OFF", "ALTER TABLE a RENAME COLUMN x TO z", "PRAGMA foreign_keys=ON"]


def test_old_format_steps_carry_kind_lock_target_from_the_classifier() -> None:
    steps = OldPg().steps("postgresql", "forward")
    assert [(s.kind, s.lock, s.target, s.transactional) for s in steps] == [
        ("create-table", None, "public.a", True),
        ("add-column", "ACCESS EXCLUSIVE", "public.a", True),
        ("create-index-concurrently", "SHARE UPDATE EXCLUSIVE", "public.a", False),
    ]
    assert [(s.kind, s.lock) for s in OldPg().steps("postgresql", "backward")] == [("drop-table", "ACCESS EXCLUSIVE")]
    sqlite = OldSqlite().steps("sqlite", "forward")
    assert [(s.kind, s.target, s.transactional) for s in sqlite] == [
        ("pragma", None, False), ("rename-column", "main.a", True), ("pragma", None, False)]


def test_an_old_file_refuses_the_other_dialect() -> None:
    with pytest.raises(DfmigrateError, match="0001_old is a postgresql migration .* but the database is sqlite"):
        OldPg().steps("sqlite", "forward")


def test_hand_written_forward_is_one_python_step() -> None:
    class Hand(SQLMigration):
        id = "0003_hand"
        description = "hand"

        async def forward(self, conn: object) -> None:
            pass

    steps = Hand().steps("sqlite", "forward")
    assert len(steps) == 1 and steps[0].python is not None and steps[0].kind == "run python"
    assert Hand().steps("sqlite", "backward") == []  # backward_sql is empty


async def _noop(conn: object) -> None:
    pass


def test_run_sql_and_run_python_per_dialect() -> None:
    class Ops(Migration):
        id = "0004_ops"
        description = "ops"
        operations = [
            RunSQL({"postgresql": "UPDATE public.a SET y = 'x'", "sqlite": ["UPDATE a SET y = 'x'"]},
                   reverse="UPDATE a SET y = NULL", state=[]),
            RunPython(_noop, state=[]),
        ]

    fwd = Ops().steps("postgresql", "forward")
    assert [(s.sql, s.kind, s.target) for s in fwd[:1]] == [("UPDATE public.a SET y = 'x'", "update", "public.a")]
    assert fwd[1].python is _noop
    with pytest.raises(DfmigrateError, match="RunPython step 1 has no backward function"):
        Ops().steps("sqlite", "backward")  # backward runs the steps in reverse order


def test_a_kailash_migration_is_one_python_step() -> None:
    from kailash.utils.migrations import Migration as KailashMigration

    class K(KailashMigration):
        id = "0005_k"
        description = "k"

        async def forward(self, conn: object) -> None:
            pass

        async def backward(self, conn: object) -> None:
            pass

    steps = migration_steps(K(), "sqlite", "forward")
    assert len(steps) == 1 and steps[0].python is not None


@pytest.mark.parametrize("sql,dialect,expected", [
    ("ALTER TABLE public.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES public.u (b) NOT VALID", "postgresql",
     ("add-foreign-key-not-valid", "SHARE ROW EXCLUSIVE", "public.t", True)),
    ("ALTER TABLE t VALIDATE CONSTRAINT f", "postgresql",
     ("validate-constraint", "SHARE UPDATE EXCLUSIVE", "public.t", True)),
    ("DROP INDEX CONCURRENTLY public.i", "postgresql", ("drop-index-concurrently", None, "public.i", False)),
    ('ALTER TABLE "T" RENAME TO "U"', "postgresql", ("rename-table", "ACCESS EXCLUSIVE", "public.T", True)),
    ("CREATE INDEX i ON t (a)", "sqlite", ("create-index", None, "main.t", True)),
    ("DROP TABLE t", "sqlite", ("drop-table", None, "main.t", True)),
    ("not sql at all", "postgresql", ("sql", None, None, True)),
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9) SELECT count(*) FROM c", "sqlite",
     ("sql", None, None, True)),
    ("WITH c AS (SELECT id FROM u) DELETE FROM t WHERE id IN (SELECT id FROM c)", "sqlite", ("delete", None, "main.t", True)),
])
def test_classifier(sql: str, dialect: str, expected: tuple[object, ...]) -> None:
    c = classify(sql, dialect)
    assert (c.kind, c.lock, c.target, c.transactional) == expected


@pytest.mark.parametrize("sql,expected", [
    ("ALTER TABLE t ADD COLUMN c INT, ADD COLUMN d INT", ("add-column", (), "column:`t`.`c`")),
    ("ALTER TABLE t DROP COLUMN c", ("drop-column", ("deletes-data", "breaks-clients"), "no-column:`t`.`c`")),
    ("ALTER TABLE t DROP FOREIGN KEY f", ("drop-constraint", (), "no-constraint:`t`.`f`")),
    ("ALTER TABLE t DROP INDEX i", ("drop-index", (), "no-index:`t`.`i`")),
    ("ALTER TABLE t CHANGE a b INT", ("alter-table", (), "column:`t`.`b`")),
    ("ALTER TABLE t MODIFY a BIGINT", ("alter-table", (), "rerun")),
    ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)", ("alter-table", (), "constraint:`t`.`f`")),
    ("CREATE UNIQUE INDEX i ON t (a)", ("create-index", (), "index:`t`.`i`")),
    ("DROP TABLE `we``ird`", ("drop-table", ("deletes-data", "breaks-clients"), "no-table:`we``ird`")),
    ("ALTER TABLE other.t ADD COLUMN c INT", ("add-column", (), None)),  # the checks read this database
    ("RENAME TABLE a TO b", ("sql", (), None)),
])
def test_hand_written_mysql_ddl_says_how_a_rerun_tells_it_finished(sql: str, expected: tuple[object, ...]) -> None:
    """MySQL DDL commits by itself: a hand-written statement gets the resume check a rerun after a
    kill reads, and only a column drop is destructive."""
    c = classify(sql, "mysql")
    assert (c.kind, c.hazards, c.resume) == expected and not c.transactional


def test_step_is_sql_or_python() -> None:
    with pytest.raises(ValueError):
        Step(None)


# ---------------------------------------------------------------- operations as constructor calls

from hypothesis import HealthCheck, given, settings  # noqa: E402

from dfmigrate.directory.ops import py_expr, read_back  # noqa: E402
from tests.strategies import schema_pairs  # noqa: E402


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_pairs("postgresql", views=True))
def test_every_planned_change_and_step_round_trips_as_python(pair: tuple[object, object]) -> None:
    from dfmigrate.core.engine import plan_migration
    from dfmigrate.directory.ops import statement_step

    plan = plan_migration(*pair)  # type: ignore[arg-type]
    for change in plan.changes:
        assert read_back(py_expr(change)) == change
    for statement in plan.statements:
        step = statement_step(statement)
        assert read_back(py_expr(step)) == step


def test_a_change_reads_as_a_constructor_call() -> None:
    from dfmigrate.core.changes import AddColumn, AlterColumn, ColumnChange
    from dfmigrate.core.schema import Column

    assert py_expr(AddColumn("public", "authors", Column(name="bio", type="text"))) == \
        'AddColumn("public", "authors", Column(name="bio", type="text"))'
    alter = AlterColumn("public", "a", Column("x", "int"), Column("x", "bigint", nullable=False),
                        ColumnChange.TYPE | ColumnChange.NULLABLE)
    assert "ColumnChange.TYPE | ColumnChange.NULLABLE" in py_expr(alter)
    assert read_back(py_expr(alter)) == alter


# ---------------------------------------------------------------- dialects and offline SQL

import asyncio  # noqa: E402
import sqlite3  # noqa: E402
from pathlib import Path  # noqa: E402

MODELS = '''
from dfmigrate import model, field

@model
class Author:
    name: str = field(max_length=100)
'''


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str = "") -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "pyproject.toml").write_text(f'[tool.dfmigrate]\nmodels = "models.py"\n{config}')


def test_dialects_setting_picks_what_files_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfmigrate.directory import load_all
    from dfmigrate.directory.make import make_migrations

    _project(tmp_path, monkeypatch, 'dialects = ["sqlite"]\n')
    assert asyncio.run(make_migrations("models.py", "migrations")).status == "written"
    cls = load_all("migrations")[0].cls
    assert cls().dialects() == ["sqlite"]
    with pytest.raises(DfmigrateError, match="has no postgresql operations"):
        cls().steps("postgresql", "forward")
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndialects = ["oracle"]\n')
    with pytest.raises(DfmigrateError, match=r"dialects must be a non-empty list of 'sqlite', 'postgresql'"):
        asyncio.run(make_migrations("models.py", "migrations2"))


def test_a_part_without_frozen_sql_is_rendered_from_its_operations(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from dfmigrate.directory import load_all
    from dfmigrate.directory.make import make_migrations

    _project(tmp_path, monkeypatch)
    asyncio.run(make_migrations("models.py", "migrations"))
    cls = load_all("migrations")[0].cls
    frozen = cls().steps("postgresql", "forward")
    part = cls.postgresql
    from dataclasses import replace

    cls.postgresql = replace(part, forward=None)
    assert cls().steps("postgresql", "forward") == frozen
    assert capsys.readouterr().err == ("dfmigrate: warning: 0001_initial has no frozen postgresql SQL: rendered "
                                       "from its operations (--strict refuses)\n")
    with pytest.raises(DfmigrateError, match="--strict refuses"):
        cls().steps("postgresql", "forward", strict=True)


def test_offline_script_brings_a_database_up_to_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from dfmigrate.directory.make import make_migrations
    from dfmigrate.directory.offline import offline_script
    from tests.test_runner import cli

    _project(tmp_path, monkeypatch)
    asyncio.run(make_migrations("models.py", "migrations"))
    script = offline_script("migrations", "sqlite")
    assert script.count("BEGIN;") == script.count("COMMIT;") == 1 and "INSERT INTO dfmigrate_history" in script
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.executescript(script)
    conn.close()
    capsys.readouterr()
    assert cli(["migrate", "--database", "sqlite:///app.db"]) == 0
    assert "Nothing to migrate" in capsys.readouterr().out  # the script's history rows count
    assert cli(["drift", "--database", "sqlite:///app.db"]) == 0
    with pytest.raises(DfmigrateError, match="rolling back 0001_initial needs consent: step 1 "
                                             r"\(DROP TABLE authors\) is deletes-data, breaks-clients"):
        offline_script("migrations", "sqlite", "backward")  # like rollback: dropping the table needs consent
    back = offline_script("migrations", "sqlite", "backward", allow_hazards=frozenset({"deletes-data", "breaks-clients"}))
    assert "DROP TABLE authors;" in back and "'0001_initial'" in back and "'backward');" in back
    assert "DROP TABLE public.authors;" in offline_script("migrations", "postgresql", "backward",
                                                          allow_hazards=frozenset({"all"}))

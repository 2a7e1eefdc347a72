"""The migration file format: steps with their facts as data, for old and new files alike."""

from __future__ import annotations

import pytest

from dfmigrate.classify import classify
from dfmigrate.errors import DfmigrateError
from dfmigrate.migration import Migration, RunPython, RunSQL, SQLMigration, migration_steps
from dfmigrate.step import Step


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
])
def test_classifier(sql: str, dialect: str, expected: tuple[object, ...]) -> None:
    c = classify(sql, dialect)
    assert (c.kind, c.lock, c.target, c.transactional) == expected


def test_step_is_sql_or_python() -> None:
    with pytest.raises(ValueError):
        Step(None)

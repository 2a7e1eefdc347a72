"""Replay in memory: the fold of a plan's changes over its old schema is its new schema."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from dfmigrate.core.changes import RenameColumn, RenameTable
from dfmigrate.core.engine import plan_migration
from dfmigrate.errors import DfmigrateError
from dfmigrate.core.fold import fold
from dfmigrate.core.schema import Column, PrimaryKey, Schema, Table
from tests.converge_util import pg_load_and_inspect
from tests.pg_cases import CASES
from tests.strategies import schema_pairs

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def by_column_name(schema: Schema) -> Schema:
    """Column order aside: the diff does not reorder columns (nor can ALTER TABLE), so an added
    column lands last in the fold as in the database, wherever the target lists it."""
    return replace(schema, tables=tuple(replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))
                                        for t in schema.tables))


def check(a: Schema, b: Schema) -> None:
    try:
        plan = plan_migration(a, b)
    except DfmigrateError:
        assume(False)  # a pair the planner refuses is the diff properties' business, not the fold's
        return
    folded = fold(a, plan.changes)
    assert plan_migration(folded, b).empty
    if not any(isinstance(c, (RenameColumn, RenameTable)) for c in plan.changes):
        # (a rename also rewrites the name inside SQL text that mentions it — a generated
        # column's expression, say — which the fold leaves as it was: the diff reads those
        # spellings as equal, as the assertion above checks)
        assert by_column_name(folded) == by_column_name(b)


@SETTINGS
@given(schema_pairs("postgresql", views=True))
def test_fold_of_a_postgresql_plan_is_its_target(pair: tuple[Schema, Schema]) -> None:
    check(*pair)


@SETTINGS
@given(schema_pairs("sqlite"))
def test_fold_of_a_sqlite_plan_is_its_target(pair: tuple[Schema, Schema]) -> None:
    check(*pair)


def _rename_pair(dialect: str, ns: str, int_type: str) -> tuple[Schema, Schema]:
    pk = PrimaryKey("people_pkey", ("id",))
    a = Schema(dialect=dialect, namespaces=(ns,), tables=(Table(ns, "people", (
        Column("id", int_type, nullable=False), Column("name", "text")), primary_key=pk),))  # type: ignore[arg-type]
    b = Schema(dialect=dialect, namespaces=(ns,), tables=(Table(ns, "persons", (  # type: ignore[arg-type]
        Column("id", int_type, nullable=False), Column("full_name", "text", renamed_from=("name",))),
        primary_key=pk, renamed_from=("people",)),))
    return a, b


def test_declared_renames_fold_on_both_dialects() -> None:
    for dialect, ns, int_type in (("postgresql", "public", "integer"), ("sqlite", "main", "INTEGER")):
        a, b = _rename_pair(dialect, ns, int_type)
        plan = plan_migration(a, b)
        # PostgreSQL renames; SQLite rebuilds the table, copying name into full_name
        assert {type(c).__name__ for c in plan.changes} <= {"RenameTable", "RenameColumn", "RebuildTable"}
        assert fold(a, plan.changes) == b


# ---------------------------------------------------------------- every PostgreSQL case, introspected


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_fold_of_each_postgresql_case(case: str, direction: str, pg_db: Any) -> None:
    """The hand-written PostgreSQL pairs (types, domains, sequences, functions, triggers,
    policies, partitions, comments…), introspected from real databases: folding the plan over
    the first gives a schema the planner finds equal to the second."""
    _, from_sql, to_sql = next(c for c in CASES if c[0] == case)
    if direction == "backward":
        from_sql, to_sql = to_sql, from_sql
    a = asyncio.run(pg_load_and_inspect(pg_db("fa"), from_sql))
    b = asyncio.run(pg_load_and_inspect(pg_db("fb"), to_sql))
    folded = fold(a, plan_migration(a, b).changes)
    assert plan_migration(folded, b).empty, [str(c) for c in plan_migration(folded, b).changes]

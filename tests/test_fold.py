"""Replay in memory: the fold of a plan's changes over its old schema is its new schema."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings

from dfmigrate.engine import plan_migration
from dfmigrate.fold import fold
from dfmigrate.schema import Column, PrimaryKey, Schema, Table
from tests.strategies import schema_pairs

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def by_column_name(schema: Schema) -> Schema:
    """Column order aside: the diff does not reorder columns (nor can ALTER TABLE), so an added
    column lands last in the fold as in the database, wherever the target lists it."""
    return replace(schema, tables=tuple(replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))
                                        for t in schema.tables))


def check(a: Schema, b: Schema) -> None:
    folded = fold(a, plan_migration(a, b).changes)
    assert by_column_name(folded) == by_column_name(b)
    assert plan_migration(folded, b).empty


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
        assert {type(c).__name__ for c in plan.changes} == {"RenameTable", "RenameColumn"}
        assert fold(a, plan.changes) == b

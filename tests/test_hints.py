"""Rename hints: printed next to the statement, never acted on."""

from dfmigrate.core.engine import plan_migration
from dfmigrate.core.schema import Column, Schema, Table


def _schema(*tables: Table) -> Schema:
    return Schema("postgresql", namespaces=("public",), tables=tables)


def test_dropped_and_added_column_of_same_type_gets_a_hint_but_stays_a_drop_and_add():
    old = _schema(Table("public", "t", columns=(Column("id", "integer"), Column("title", "text"))))
    new = _schema(Table("public", "t", columns=(Column("id", "integer"), Column("headline", "text"))))
    plan = plan_migration(old, new)
    sql = plan.sql()
    assert "DROP COLUMN title" in sql and "ADD COLUMN headline" in sql
    assert "renamed_from='title'" in sql


def test_no_hint_when_types_differ_or_when_ambiguous():
    old = _schema(Table("public", "t", columns=(Column("a", "text"), Column("b", "text"))))
    new = _schema(Table("public", "t", columns=(Column("c", "text"), Column("d", "integer"))))
    assert "hint" not in plan_migration(old, new).sql()


def test_declared_rename_is_a_rename_without_hint():
    old = _schema(Table("public", "t", columns=(Column("title", "text"),)))
    new = _schema(Table("public", "t", columns=(Column("headline", "text", renamed_from=("title",)),)))
    sql = plan_migration(old, new).sql()
    assert "RENAME COLUMN title TO headline" in sql
    assert "DROP COLUMN" not in sql and "hint" not in sql


def test_a_table_recreated_under_its_own_name_gets_no_rename_hint():
    cols = (Column("id", "integer"), Column("k", "text"))
    old = _schema(Table("public", "t", columns=cols))
    new = _schema(Table("public", "t", columns=cols, partition_by="LIST (k)"))
    sql = plan_migration(old, new).sql()
    assert "DROP TABLE public.t" in sql and "PARTITION BY LIST (k)" in sql
    assert "hint" not in sql
    moved = _schema(Table("public", "u", columns=cols))
    assert "hint: table t is dropped and u created" in plan_migration(old, moved).sql()

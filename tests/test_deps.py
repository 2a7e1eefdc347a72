"""The dependency map's reverse lookups on schemas built by hand (no database)."""

from __future__ import annotations

from dfmigrate.core.deps import Dependencies, TableTexts, column_ref, table_texts
from dfmigrate.core.schema import CheckConstraint, Column, Enum, Ref, Schema, Table


def _table(name: str, *columns: Column, checks=()) -> Table:
    return Table("public", name, columns, checks=tuple(checks))


def test_table_texts_finds_each_table_once_first_and_last_included() -> None:
    tables = (
        _table("a", Column("x", "public.mood"), Column("y", "public.mood[]")),
        _table("b", Column("x", "integer")),
        _table("c", Column("x", "text", default="'happy'::public.mood")),
    )
    texts = TableTexts(tables)
    assert [t.name for t in texts.mentioning("public.mood")] == ["a", "c"]
    assert texts.mentioning("integer") == [tables[1]]
    assert texts.mentioning("nowhere") == []
    assert texts.mentions("'happy'") and not texts.mentions("'sad'")
    assert TableTexts(()).mentioning("x") == []


def test_no_match_spans_two_tables() -> None:
    texts = TableTexts((_table("a", Column("x", "pub")), _table("b", Column("x", "lic"))))
    assert texts.mentioning("publ") == []


def test_dependents_of_a_type_are_found_through_the_text_index() -> None:
    mood = Enum("public", "mood", ("sad", "happy"))
    schema = Schema("postgresql", namespaces=("public",), enums=(mood,), tables=(
        _table("uses", Column("m", "public.mood")),
        _table("other", Column("n", "integer"),
               checks=[CheckConstraint("c", "(n > 0)")]),
        _table("casts", Column("k", "text"), checks=[CheckConstraint("k_mood", "((k)::public.mood IS NOT NULL)")]),
    ))
    found = Dependencies(schema).dependents_of(Ref("type", "public", "mood"))
    assert column_ref("public", "uses", "m") in found
    assert Ref("constraint", "public", "casts.k_mood") in found
    assert not any(r.name.startswith("other") for r in found)
    assert table_texts(schema) is table_texts(schema)  # built once, kept with the schema


def test_foreign_keys_of_other_tables_depend_on_the_key_they_reference() -> None:
    from dfmigrate.core.schema import ForeignKey, PrimaryKey

    parent = Table("public", "a", (Column("id", "integer", nullable=False), Column("n", "text")),
                   primary_key=PrimaryKey("a_pkey", ("id",)))
    child = Table("public", "b", (Column("a_id", "integer"), Column("m", "public.mood")),
                  foreign_keys=(ForeignKey("b_a_id_fkey", ("a_id",), "public", "a", ("id",)),))
    deps = Dependencies(Schema("postgresql", namespaces=("public",), tables=(parent, child)))
    fk = Ref("constraint", "public", "b.b_a_id_fkey")
    assert fk in deps.dependents_of(Ref("constraint", "public", "a.a_pkey"))
    assert fk in deps.dependents_of(column_ref("public", "a", "id"))
    assert fk not in deps.dependents_of(column_ref("public", "a", "n"))
    assert Ref("table", "public", "a") in deps.of(fk)


def test_dependents_of_a_type_include_the_tables_whose_columns_use_it() -> None:
    mood = Enum("public", "mood", ("sad", "happy"))
    schema = Schema("postgresql", namespaces=("public",), enums=(mood,), tables=(
        _table("uses", Column("m", "public.mood"), Column("other", "integer")),))
    found = Dependencies(schema).dependents_of(Ref("type", "public", "mood"))
    assert Ref("table", "public", "uses") in found  # CREATE TABLE needs the type
    assert column_ref("public", "uses", "other") not in found

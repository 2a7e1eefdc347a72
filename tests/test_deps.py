"""The dependency map's reverse lookups on schemas built by hand (no database)."""

from __future__ import annotations

from dfmigrate.deps import Dependencies, TableTexts, column_ref, table_texts
from dfmigrate.schema import CheckConstraint, Column, Enum, Ref, Schema, Table


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

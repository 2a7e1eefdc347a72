"""Expectations: the planned state of what a migration touches, and what breaks them."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.engine import plan_migration
from dfmigrate.expect import digest, expectations, mismatches, object_state
from dfmigrate.schema import CheckConstraint, Column, Enum, Index, IndexPart, Ref, Schema, Table


def _users(*extra: Column, indexes=(), checks=()) -> Table:
    return Table("public", "users", (Column("id", "integer", nullable=False), Column("email", "text"), *extra),
                 indexes=tuple(indexes), checks=tuple(checks))


def _schema(*tables: Table, enums=()) -> Schema:
    return Schema("postgresql", namespaces=("public",), tables=tables, enums=tuple(enums))


def test_a_plan_expects_its_pre_state_and_the_pre_state_meets_it() -> None:
    before = _schema(_users())
    after = _schema(_users(Column("nick", "text")), Table("public", "orders", (Column("id", "integer"),)))
    plan = plan_migration(before, after)
    expected = expectations(plan.changes, before, after)
    by_ref = {(k, ns, n): d for k, ns, n, d in expected}
    assert by_ref[("column", "public", "users.nick")] is None  # must not exist yet
    assert by_ref[("table", "public", "orders")] is None
    assert by_ref[("table", "public", "users")] is not None  # touched: must exist as planned
    assert mismatches(before, expected) == []
    assert expected == sorted(expected)


def test_a_changed_or_added_object_is_reported() -> None:
    before = _schema(_users())
    after = _schema(replace(_users(), columns=(Column("id", "integer", nullable=False), Column("email", "varchar(200)"))))
    expected = expectations(plan_migration(before, after).changes, before, after)
    # someone made the column NOT NULL by hand after the plan was made
    live = _schema(replace(_users(), columns=(Column("id", "integer", nullable=False),
                                              Column("email", "text", nullable=False))))
    found = mismatches(live, expected)
    assert [str(m.ref) for m in found] == ["column public.users.email"]
    assert "changed" in str(found[0])
    # and an object the plan creates already exists
    after2 = _schema(_users(Column("nick", "text")))
    expected2 = expectations(plan_migration(before, after2).changes, before, after2)
    assert [str(m) for m in mismatches(after2, expected2)] == [
        "column public.users.nick exists (the plan expected it absent)"]


def test_unrelated_parts_of_a_touched_table_do_not_block() -> None:
    before = _schema(_users())
    after = _schema(_users(Column("nick", "text")))
    expected = expectations(plan_migration(before, after).changes, before, after)
    live = _schema(_users(indexes=[Index("users_email_idx", (IndexPart("email"),))],
                          checks=[CheckConstraint("email_len", "(length(email) < 300)")]))
    assert mismatches(live, expected) == []
    assert [str(m) for m in mismatches(_schema(), expected)] == [
        "table public.users is missing (the plan expected it)"]


def test_object_states_per_kind() -> None:
    mood = Enum("public", "mood", ("sad", "happy"))
    schema = _schema(_users(indexes=[Index("users_email_idx", (IndexPart("email"),))]), enums=[mood])
    assert object_state(schema, Ref("index", "public", "users_email_idx"))["on"] == "users"
    assert object_state(schema, Ref("index", "public", "nope")) is None
    assert object_state(schema, Ref("type", "public", "mood"))["type"] == "Enum"
    assert digest(object_state(schema, Ref("type", "public", "mood"))) != digest(
        object_state(_schema(enums=[replace(mood, labels=("sad",))]), Ref("type", "public", "mood")))
    assert object_state(schema, Ref("namespace", "", "public")) == {"namespace": "public"}
    assert object_state(schema, Ref("namespace", "", "other")) is None

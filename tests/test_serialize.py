"""Schema JSON: exact round trips, deterministic and readable output, stable fingerprints."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings

from dfmigrate.core.changes import AddConstraint, AlterColumn, ColumnChange
from dfmigrate.core.schema import (
    CheckConstraint,
    Column,
    Grant,
    PrimaryKey,
    Schema,
    Sequence,
    SequenceOptions,
    Table,
)
from dfmigrate.core.serialize import (
    fingerprint,
    from_dict,
    schema_from_dict,
    schema_from_json,
    schema_to_dict,
    schema_to_json,
    to_dict,
)
from tests.strategies import any_schemas, schema_pairs, schemas

USERS = Table(
    namespace="public",
    name="users",
    columns=(
        Column("id", "bigint", nullable=False, identity="BY DEFAULT"),
        Column("email", "text", nullable=False),
    ),
    primary_key=PrimaryKey("users_pkey", ("id",)),
)


@settings(max_examples=150, deadline=None)
@given(schemas("postgresql", views=True))
def test_valid_postgres_schemas_round_trip(schema: Schema) -> None:
    assert schema_from_json(schema_to_json(schema)) == schema


@settings(max_examples=75, deadline=None)
@given(schemas("sqlite"))
def test_valid_sqlite_schemas_round_trip(schema: Schema) -> None:
    assert schema_from_json(schema_to_json(schema)) == schema


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(any_schemas())
def test_every_field_round_trips(schema: Schema) -> None:
    text = schema_to_json(schema)
    assert schema_from_json(text) == schema
    assert schema_to_json(schema_from_json(text)) == text


@settings(max_examples=50, deadline=None)
@given(schema_pairs())
def test_fingerprint_is_equality(pair: tuple[Schema, Schema]) -> None:
    old, new = pair
    assert (fingerprint(old) == fingerprint(new)) == (old == new)


def test_output_is_sorted_indented_and_omits_defaults() -> None:
    text = schema_to_json(Schema("postgresql", namespaces=("public",), tables=(USERS,)))
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2)
    column = json.loads(text)["tables"][0]["columns"][1]
    assert column == {"name": "email", "nullable": False, "type": "text"}
    assert "views" not in json.loads(text)


def test_value_equal_to_default_but_of_another_type_is_kept() -> None:
    seq = Sequence("public", "s", options=SequenceOptions(start=1, cycle=False))
    data = schema_to_dict(Schema("postgresql", sequences=(seq,)))
    assert data["sequences"][0]["options"] == {"start": 1}
    assert schema_from_dict(data).sequences[0] == seq


def test_nested_tuples_and_unions() -> None:
    schema = Schema("postgresql", namespace_grants=(("public", Grant("app", "USAGE", grantable=True)),))
    assert schema_from_json(schema_to_json(schema)) == schema
    change = AddConstraint("public", "t", CheckConstraint("t_a_check", "(a > 0)"))
    data = to_dict(change)
    assert data["constraint"]["$type"] == "CheckConstraint"
    assert from_dict(AddConstraint, json.loads(json.dumps(data))) == change


def test_enum_flags_serialize_by_value() -> None:
    old, new = USERS.columns[1], dataclasses.replace(USERS.columns[1], nullable=True, default="''::text")
    change = AlterColumn("public", "users", old, new, ColumnChange.NULLABLE | ColumnChange.DEFAULT)
    assert from_dict(AlterColumn, to_dict(change)) == change


def test_fingerprint_is_stable_and_hex() -> None:
    schema = Schema("postgresql", namespaces=("public",), tables=(USERS,))
    assert fingerprint(schema) == fingerprint(schema_from_json(schema_to_json(schema)))
    assert len(fingerprint(schema)) == 64 and int(fingerprint(schema), 16) >= 0
    assert fingerprint(schema) != fingerprint(Schema("postgresql", namespaces=("public",)))


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"dialect": "oracle"}', "not one of"),
        ('{"dialect": "sqlite", "tablez": []}', "unknown field"),
        ('{"dialect": "sqlite", "tables": [{"name": "t"}]}', "namespace"),
        ('{"dialect": "sqlite", "namespaces": "main"}', "expected a list"),
        ('{"dialect": "sqlite", "tables": [{"namespace": "main", "name": "t", "strict": 1}]}', "expected bool"),
    ],
)
def test_invalid_documents_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schema_from_json(text)

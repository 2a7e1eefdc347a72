"""compare_grants only walks the objects that carry grants; these pin what it must still see."""

from __future__ import annotations

from dfmigrate.core.changes import GrantPrivilege, RevokePrivilege
from dfmigrate.diff.grants import compare_grants
from dfmigrate.core.schema import Column, Grant, Ref, Schema, Sequence, Table

SELECT = Grant("reader", "SELECT")
USAGE = Grant("reader", "USAGE")


def _schema(*, table_grants=(), seq_grants=(), ns_grants=(), with_table=True) -> Schema:
    tables = (Table("public", "t", (Column("a", "integer"),), grants=tuple(table_grants)),) if with_table else ()
    return Schema("postgresql", namespaces=("public",), tables=tables,
                  sequences=(Sequence("public", "s", grants=tuple(seq_grants)),),
                  namespace_grants=tuple(("public", g) for g in ns_grants))


def _kinds(changes):
    return sorted((type(c).__name__, str(c.target), c.grant.privilege) for c in changes)


def test_every_grant_revoked_from_an_object_that_stays() -> None:
    old = _schema(table_grants=[SELECT], seq_grants=[USAGE], ns_grants=[USAGE])
    new = _schema()
    assert _kinds(compare_grants(old, new)) == [
        ("RevokePrivilege", "namespace public", "USAGE"),
        ("RevokePrivilege", "sequence public.s", "USAGE"),
        ("RevokePrivilege", "table public.t", "SELECT"),
    ]


def test_a_dropped_object_takes_its_grants_with_it() -> None:
    old = _schema(table_grants=[SELECT])
    assert compare_grants(old, _schema(with_table=False)) == []


def test_grants_added_and_kept() -> None:
    old = _schema(table_grants=[SELECT])
    new = _schema(table_grants=[SELECT, Grant("reader", "INSERT")], seq_grants=[USAGE])
    changes = compare_grants(old, new)
    assert all(isinstance(c, GrantPrivilege) for c in changes)
    assert _kinds(changes) == [
        ("GrantPrivilege", "sequence public.s", "USAGE"),
        ("GrantPrivilege", "table public.t", "INSERT"),
    ]
    assert not any(isinstance(c, RevokePrivilege) for c in changes)
    assert compare_grants(new, new) == []
    assert Ref("table", "public", "t") in {c.target for c in changes}

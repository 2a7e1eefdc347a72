"""Privileges (opt-in: sources only fill them when asked) and comments on types."""

from __future__ import annotations

from dfmigrate.core.changes import Change, GrantPrivilege, RevokePrivilege, SetComment
from dfmigrate.core.deps import function_ref, namespace_ref, table_ref, view_ref
from dfmigrate.core.expect import object_state
from dfmigrate.core.schema import Grant, Ref, Schema


def _grant_holders(schema: Schema) -> dict[Ref, tuple[Grant, ...]]:
    """The objects that carry grants (most carry none: privileges are opt-in)."""
    holders: dict[Ref, tuple[Grant, ...]] = {}
    for t in schema.tables:
        if t.grants:
            holders[table_ref(t.namespace, t.name)] = t.grants
    for v in schema.views:
        if v.grants:
            holders[view_ref(v.namespace, v.name)] = v.grants
    for s in schema.sequences:
        if s.grants:
            holders[Ref("sequence", s.namespace, s.name)] = s.grants
    for f in schema.functions:
        if f.grants:
            holders[function_ref(f)] = f.grants
    for ns, g in schema.namespace_grants:
        ref = namespace_ref(ns)
        holders[ref] = holders.get(ref, ()) + (g,)
    return holders


def compare_grants(old: Schema, new: Schema) -> list[Change]:
    """Grants on objects that exist on both sides or are new; a dropped object takes its grants
    with it."""
    before, after = _grant_holders(old), _grant_holders(new)
    changes: list[Change] = []
    for ref, grants in after.items():
        had = set(before.get(ref, ()))
        now = set(grants)
        changes += [RevokePrivilege(ref, g) for g in sorted(had - now, key=_order)]
        changes += [GrantPrivilege(ref, g) for g in sorted(now - had, key=_order)]
    for ref, grants in before.items():  # every grant revoked from an object that stays
        if ref not in after and object_state(new, ref) is not None:
            changes += [RevokePrivilege(ref, g) for g in sorted(set(grants), key=_order)]
    return changes


def _order(g: Grant) -> tuple[str, str, bool]:
    return (g.grantee, g.privilege, g.grantable)


def compare_type_comments(old: Schema, new: Schema) -> list[Change]:
    before = {(e.namespace, e.name): e.comment for e in old.enums}
    return [SetComment(Ref("type", e.namespace, e.name), e.comment)
            for e in new.enums
            if (e.namespace, e.name) in before and before[(e.namespace, e.name)] != e.comment]

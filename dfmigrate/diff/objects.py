"""Namespaces, extensions and sequences."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.core.changes import (
    AlterExtensionVersion,
    AlterSequence,
    Change,
    CreateExtension,
    CreateNamespace,
    CreateSequence,
    DropExtension,
    DropNamespace,
    DropSequence,
    SetComment,
    SetSequenceOwner,
)
from dfmigrate.core.deps import namespace_ref
from dfmigrate.diff._lists import diff_by_key
from dfmigrate.core.schema import Ref, Schema, Sequence


def compare_namespaces(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.namespaces, new.namespaces, key=lambda n: n)
    changes: list[Change] = [CreateNamespace(n) for n in diff.added]
    changes += [DropNamespace(n) for n in diff.removed]
    before, after = dict(old.namespace_comments), dict(new.namespace_comments)
    changes += [SetComment(namespace_ref(n), after.get(n)) for n in new.namespaces
                if before.get(n) != after.get(n) and (n in after or n in old.namespaces)]
    return changes


def compare_extensions(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.extensions, new.extensions, key=lambda e: e.name)
    changes: list[Change] = [CreateExtension(e) for e in diff.added]
    changes += [DropExtension(e) for e in diff.removed]
    for o, n in diff.changed:
        if o.namespace == n.namespace:
            changes.append(AlterExtensionVersion(o, n))
        else:
            changes += [DropExtension(o), CreateExtension(n)]
    return changes


def _owner_goes_away(seq: Sequence, new: Schema) -> bool:
    """A sequence owned by a column disappears with that column: dropping it again would fail."""
    if not seq.owned_by:
        return False
    ns, table, column = seq.owned_by.split(".", 2)
    t = new.table(ns, table)
    return t is None or t.column(column) is None


def compare_sequences(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.sequences, new.sequences, key=lambda s: (s.namespace, s.name))
    changes: list[Change] = []
    for seq in diff.added:
        changes.append(CreateSequence(replace(seq, owned_by=None)))
        if seq.owned_by:
            changes.append(SetSequenceOwner(seq))
    changes += [DropSequence(s) for s in diff.removed if not _owner_goes_away(s, new)]
    for o, n in diff.changed:
        if o.options != n.options:
            changes.append(AlterSequence(o, n))
        if o.owned_by != n.owned_by:
            changes.append(SetSequenceOwner(n))
        if o.comment != n.comment:
            changes.append(SetComment(Ref("sequence", n.namespace, n.name), n.comment))
    return changes

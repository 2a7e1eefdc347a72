"""Objects that live inside a table: constraints, indexes, triggers, policies.

A changed constraint, index or policy is dropped and added again: PostgreSQL cannot alter their
definitions in place. Drops name the table as it was (they run before a rename), additions name
it as it will be.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dfmigrate.changes import (
    AddConstraint,
    Change,
    CreateIndex,
    CreatePolicy,
    CreateTrigger,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTrigger,
    SetComment,
    SetTriggerEnabled,
    ValidateConstraint,
)
from dfmigrate.deps import constraint_ref, index_ref, policy_ref, trigger_ref
from dfmigrate.diff._lists import diff_by_key
from dfmigrate.schema import CheckConstraint, Constraint, ForeignKey, Table


def _validated_only(old: Constraint, new: Constraint) -> bool:
    """NOT VALID → valid is a VALIDATE CONSTRAINT, which keeps the constraint in place."""
    if not isinstance(old, (CheckConstraint, ForeignKey)) or type(old) is not type(new):
        return False
    return not old.validated and new.validated and replace(old, validated=True) == new


def compare_constraints(old: Table, new: Table) -> list[Change]:
    ns = new.namespace
    diff = diff_by_key(old.constraints, new.constraints, key=lambda c: c.name)
    changes: list[Change] = [DropConstraint(ns, old.name, c) for c in diff.removed]
    changes += [AddConstraint(ns, new.name, c) for c in diff.added]
    for o, n in diff.changed:
        if _comment_only(o, n):
            changes.append(SetComment(constraint_ref(ns, new.name, n.name), n.comment))
        elif _validated_only(replace(o, comment=n.comment), n):
            changes.append(ValidateConstraint(ns, new.name, n))
            if o.comment != n.comment:
                changes.append(SetComment(constraint_ref(ns, new.name, n.name), n.comment))
        else:
            changes += [DropConstraint(ns, old.name, o), AddConstraint(ns, new.name, n)]
    return changes


def _comment_only(old: Any, new: Any) -> bool:
    return type(old) is type(new) and old.comment != new.comment and replace(old, comment=new.comment) == new


def compare_indexes(old: Table, new: Table) -> list[Change]:
    ns = new.namespace
    diff = diff_by_key(old.indexes, new.indexes, key=lambda i: i.name)
    changes: list[Change] = [DropIndex(ns, old.name, i) for i in diff.removed]
    changes += [CreateIndex(ns, new.name, i) for i in diff.added]
    for o, n in diff.changed:
        if _comment_only(o, n):
            changes.append(SetComment(index_ref(ns, n.name), n.comment))
        else:
            changes += [DropIndex(ns, old.name, o), CreateIndex(ns, new.name, n)]
    return changes


def compare_triggers(old: Table, new: Table) -> list[Change]:
    ns = new.namespace
    diff = diff_by_key(old.triggers, new.triggers, key=lambda t: t.name)
    changes: list[Change] = [DropTrigger(ns, old.name, t) for t in diff.removed]
    changes += [CreateTrigger(ns, new.name, t) for t in diff.added]
    for o, n in diff.changed:
        if replace(o, enabled=n.enabled, comment=n.comment) == n:
            if o.enabled != n.enabled:
                changes.append(SetTriggerEnabled(ns, new.name, n))
            if o.comment != n.comment:
                changes.append(SetComment(trigger_ref(ns, new.name, n.name), n.comment))
        else:
            changes += [DropTrigger(ns, old.name, o), CreateTrigger(ns, new.name, n)]
    return changes


def compare_policies(old: Table, new: Table) -> list[Change]:
    ns = new.namespace
    diff = diff_by_key(old.policies, new.policies, key=lambda p: p.name)
    changes: list[Change] = [DropPolicy(ns, old.name, p) for p in diff.removed]
    changes += [CreatePolicy(ns, new.name, p) for p in diff.added]
    for o, n in diff.changed:
        if _comment_only(o, n):
            changes.append(SetComment(policy_ref(ns, new.name, n.name), n.comment))
        else:
            changes += [DropPolicy(ns, old.name, o), CreatePolicy(ns, new.name, n)]
    return changes


def create_table_objects(table: Table) -> list[Change]:
    """Everything a new table needs beyond CREATE TABLE itself."""
    ns, name = table.namespace, table.name
    changes: list[Change] = [AddConstraint(ns, name, fk) for fk in table.foreign_keys]
    changes += [CreateIndex(ns, name, i) for i in table.indexes]
    changes += [CreateTrigger(ns, name, t) for t in table.triggers]
    changes += [CreatePolicy(ns, name, p) for p in table.policies]
    return changes

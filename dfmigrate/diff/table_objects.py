"""Objects that live inside a table: constraints, indexes, triggers, policies.

A changed constraint, index or policy is dropped and added again: PostgreSQL cannot alter their
definitions in place. Drops name the table as it was (they run before a rename), additions name
it as it will be.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any

from dfmigrate.core.changes import (
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
from dfmigrate.core.deps import constraint_ref, index_ref, policy_ref, trigger_ref
from dfmigrate.diff._lists import diff_by_key, name_key, spelling
from dfmigrate.core.schema import CheckConstraint, Constraint, ForeignKey, Table, UniqueConstraint


def _validated_only(old: Constraint, new: Constraint) -> bool:
    """NOT VALID → valid is a VALIDATE CONSTRAINT, which keeps the constraint in place."""
    if not isinstance(old, (CheckConstraint, ForeignKey)) or type(old) is not type(new):
        return False
    return not old.validated and new.validated and replace(old, validated=True) == new


def constraint_identity(constraint: Constraint, fold: Callable[[str], str]) -> Hashable:
    """A named constraint is its name; an unnamed one (SQLite) is its kind and what it
    constrains, so that its other attributes (an FK's actions) can change."""
    if constraint.name:
        return fold(constraint.name)
    match constraint:
        case CheckConstraint(expression=e):
            return ("check", e)
        case ForeignKey():
            return ("fk", tuple(map(fold, constraint.columns)), fold(constraint.ref_table),
                    tuple(map(fold, constraint.ref_columns)))
        case UniqueConstraint(columns=cols):
            return ("unique", tuple(map(fold, cols)))
    return (type(constraint).__name__,)


def _as_declared(table: Table, dialect: str) -> tuple[Constraint, ...]:
    """The table's constraints as the dialect tells them apart (SQLite: a generated name is no
    name, column names without case; MySQL: a foreign key's RESTRICT is its NO ACTION);
    PostgreSQL's as they are."""
    if dialect == "mysql":
        return tuple(_mysql_actions(c) for c in table.constraints)
    forms = spelling(dialect)
    if forms is None:
        return table.constraints
    return tuple(forms.constraint(table, c) for c in table.constraints)


def _mysql_actions(constraint: Constraint) -> Constraint:
    """InnoDB treats RESTRICT and NO ACTION alike, and MariaDB reports an unstated action as
    RESTRICT, which the inspector reads as NO ACTION: a model or a migration that says RESTRICT
    must compare equal to the database it produced."""
    if not isinstance(constraint, ForeignKey) or "RESTRICT" not in (constraint.on_delete, constraint.on_update):
        return constraint
    return replace(constraint, on_delete="NO ACTION" if constraint.on_delete == "RESTRICT" else constraint.on_delete,
                   on_update="NO ACTION" if constraint.on_update == "RESTRICT" else constraint.on_update)


def compare_constraints(old: Table, new: Table, dialect: str = "postgresql") -> list[Change]:
    ns = new.namespace
    fold = name_key(dialect)
    # matched and compared under their declared names, changed under their own
    before = dict(zip(_as_declared(old, dialect), old.constraints))
    after = dict(zip(_as_declared(new, dialect), new.constraints))
    diff = diff_by_key(before, after, key=lambda c: constraint_identity(c, fold))
    changes: list[Change] = [DropConstraint(ns, old.name, before[c]) for c in diff.removed]
    changes += [AddConstraint(ns, new.name, after[c]) for c in diff.added]
    for do, dn in diff.changed:
        o, n = before[do], after[dn]
        if _comment_only(do, dn):
            changes.append(SetComment(constraint_ref(ns, new.name, n), n.comment))
        elif _validated_only(replace(do, comment=dn.comment), dn):
            changes.append(ValidateConstraint(ns, new.name, n))
            if o.comment != n.comment:
                changes.append(SetComment(constraint_ref(ns, new.name, n), n.comment))
        else:
            changes += [DropConstraint(ns, old.name, o), AddConstraint(ns, new.name, n)]
    return changes


def _comment_only(old: Any, new: Any) -> bool:
    return type(old) is type(new) and old.comment != new.comment and replace(old, comment=new.comment) == new


def _same_spelling(dialect: str, kind: str) -> Callable[[Any, Any], bool]:
    """Whether two objects of one name differ in spelling only (SQLite text, case)."""
    forms = spelling(dialect)
    if forms is None:
        return lambda o, n: False
    form = getattr(forms, kind)
    return lambda o, n: o.name == n.name and form(o) == form(n)


def compare_indexes(old: Table, new: Table, dialect: str = "postgresql") -> list[Change]:
    ns = new.namespace
    fold = name_key(dialect)
    forms = spelling(dialect)
    if forms is None:
        same = _same_spelling(dialect, "index")
    else:  # an index column's collation defaults to its column's: the table decides
        def same(o: Any, n: Any) -> bool:
            return bool(o.name == n.name and forms.index(o, old) == forms.index(n, new))
    diff = diff_by_key(old.indexes, new.indexes, key=lambda i: fold(i.name))
    changes: list[Change] = [DropIndex(ns, old.name, i) for i in diff.removed]
    changes += [CreateIndex(ns, new.name, i) for i in diff.added]
    for o, n in diff.changed:
        if same(o, n):
            continue
        if _comment_only(o, n):
            changes.append(SetComment(index_ref(dialect, ns, new.name, n.name), n.comment))
        else:
            changes += [DropIndex(ns, old.name, o), CreateIndex(ns, new.name, n)]
    return changes


def compare_triggers(old: Table, new: Table, dialect: str = "postgresql") -> list[Change]:
    ns = new.namespace
    fold = name_key(dialect)
    same = _same_spelling(dialect, "trigger")
    diff = diff_by_key(old.triggers, new.triggers, key=lambda t: fold(t.name))
    changes: list[Change] = [DropTrigger(ns, old.name, t) for t in diff.removed]
    changes += [CreateTrigger(ns, new.name, t) for t in diff.added]
    for o, n in diff.changed:
        if same(o, n):
            continue
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

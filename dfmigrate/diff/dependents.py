"""Dependents that must be dropped and recreated because something they rely on is.

PostgreSQL refuses to drop or retype an object while views, functions, triggers or foreign keys
depend on it. The comparators decide what changes; this pass finds the objects that did not
change themselves but sit on top of something that is dropped, recreated or retyped, and adds a
drop and a create for each, repeating until nothing new is found (a view on a view on a table).
"""

from __future__ import annotations

from dfmigrate.core.changes import (
    AddConstraint,
    AlterColumn,
    Change,
    ColumnChange,
    CreateFunction,
    CreateTrigger,
    CreatePolicy,
    DropColumn,
    DropConstraint,
    DropEnum,
    DropFunction,
    DropIndex,
    DropPolicy,
    DropSequence,
    DropTable,
    DropTrigger,
    DropView,
    RecreateDomain,
    RecreateEnum,
    RenameColumn,
    ReplaceFunction,
    DropDomain,
    DropCompositeType,
)
from dfmigrate.core.deps import (
    Dependencies,
    column_ref,
    constraint_ref,
    function_ref,
    index_ref,
    policy_ref,
    table_ref,
    trigger_ref,
    view_ref,
)
from dfmigrate.diff.views import create_view
from dfmigrate.core.schema import Ref, Schema, Table


def _gone(change: Change, dialect: str) -> set[Ref]:
    """Objects a change drops or replaces: anything depending on them must go first."""
    match change:
        case DropTable(table=t):
            return {table_ref(t.namespace, t.name)}
        case DropView(view=v):
            return {view_ref(v.namespace, v.name)}
        case DropFunction(function=f):
            return {function_ref(f)}
        case DropEnum(enum=e) | RecreateEnum(old=e) | RecreateDomain(old=e):
            return {Ref("type", e.namespace, e.name)}
        case DropDomain(domain=d):
            return {Ref("type", d.namespace, d.name)}
        case DropCompositeType(type=c):
            return {Ref("type", c.namespace, c.name)}
        case DropSequence(sequence=s):
            return {Ref("sequence", s.namespace, s.name)}
        case DropConstraint(namespace=ns, table=t, constraint=c):
            return {constraint_ref(ns, t, c)}
        case DropIndex(namespace=ns, table=t, index=i):
            return {index_ref(dialect, ns, t, i.name)}
        case DropColumn(namespace=ns, table=t, column=c):
            return {column_ref(ns, t, c.name)}
        case DropTrigger(namespace=ns, table=t, trigger=tr):  # already recreated by its comparator
            return {trigger_ref(ns, t, tr.name)}
        case DropPolicy(namespace=ns, table=t, policy=p):
            return {policy_ref(ns, t, p.name)}
    return set()


def _reshaped(change: Change) -> set[Ref]:
    """Tables whose row shape changes: views reading them must be rebuilt (view dependencies
    are tracked per table, so this is conservative)."""
    match change:
        case DropColumn(namespace=ns, table=t) | RenameColumn(namespace=ns, table=t):
            return {table_ref(ns, t)}
        case AlterColumn(namespace=ns, table=t, changes=flags) if flags & (ColumnChange.TYPE | ColumnChange.COLLATION):
            return {table_ref(ns, t)}
        case RecreateEnum(columns=uses) | RecreateDomain(columns=uses):
            return {table_ref(u.namespace, u.table) for u in uses}
    return set()


def recreate_dependents(old: Schema, new: Schema, changes: list[Change], deps_old: Dependencies) -> list[Change]:
    dropped = set().union(*(_gone(c, old.dialect) for c in changes)) if changes else set()
    reshaped = set().union(*(_reshaped(c) for c in changes)) if changes else set()
    handled = {r for c in changes for r in _gone(c, old.dialect)}
    replaced_functions = {function_ref(c.old): c for c in changes if isinstance(c, ReplaceFunction)}
    out = list(changes)
    frontier = dropped | reshaped
    while frontier:
        next_frontier: set[Ref] = set()
        for target in frontier:
            for dep in deps_old.dependents_of(target):
                if dep in handled or not _must_follow(dep, target, target in reshaped and target not in dropped):
                    continue
                if _owner_relations(dep) & dropped:
                    continue  # goes with its table or view, and comes back with it
                extra = _drop_and_recreate(dep, old, new, replaced_functions, out)
                if extra is None:
                    continue  # gone from the new schema: its own drop is already planned
                handled.add(dep)
                dropped.add(dep)
                out += extra
                next_frontier.add(dep)
        frontier = next_frontier
    return out


def _must_follow(dependent: Ref, target: Ref, reshaped_only: bool) -> bool:
    """Views must follow any change; other objects only a drop (they survive a retype). A
    constraint follows the key or table it references, not its own table's columns."""
    if dependent.kind == "view":
        return True
    if reshaped_only or target.kind == "column":
        return False
    if dependent.kind == "constraint":
        return target.kind in ("constraint", "index", "type", "function", "table")
    return dependent.kind in ("function", "trigger", "policy")


def _drop_and_recreate(ref: Ref, old: Schema, new: Schema, replaced: dict, out: list[Change]) -> list[Change] | None:  # type: ignore[type-arg]
    """A drop of the old object and a create of the new one, or None when it is not in both."""
    if ref.kind == "view":
        o, n = old.view(ref.namespace, ref.name), new.view(ref.namespace, ref.name)
        return [DropView(o), *create_view(n)] if o and n else None
    if ref.kind == "function":
        old_fn = next((f for f in old.functions if function_ref(f) == ref), None)
        new_fn = next((f for f in new.functions if function_ref(f) == ref), None)
        if not (old_fn and new_fn):
            return None
        if ref in replaced:
            out.remove(replaced[ref])
        return [DropFunction(old_fn), CreateFunction(new_fn)]
    table_name, _, obj_name = ref.name.partition(".")
    ot = old.table(ref.namespace, table_name) or old.view(ref.namespace, table_name)
    nt = new.table(ref.namespace, table_name) or new.view(ref.namespace, table_name)
    if not (ot and nt) or type(ot) is not type(nt):
        return None
    if ref.kind == "trigger":
        o, n = _named(ot.triggers, obj_name), _named(nt.triggers, obj_name)
        return [DropTrigger(ref.namespace, table_name, o), CreateTrigger(ref.namespace, table_name, n)] if o and n else None
    if not isinstance(ot, Table) or not isinstance(nt, Table):
        return None
    if ref.kind == "policy":
        o, n = _named(ot.policies, obj_name), _named(nt.policies, obj_name)
        return [DropPolicy(ref.namespace, table_name, o), CreatePolicy(ref.namespace, table_name, n)] if o and n else None
    if ref.kind == "constraint":
        o, n = _named(ot.constraints, obj_name), _named(nt.constraints, obj_name)
        return [DropConstraint(ref.namespace, table_name, o), AddConstraint(ref.namespace, table_name, n)] if o and n else None
    return None


def _owner_relations(ref: Ref) -> set[Ref]:
    if ref.kind in ("constraint", "trigger", "policy"):
        owner = ref.name.partition(".")[0]
        return {table_ref(ref.namespace, owner), view_ref(ref.namespace, owner)}
    return set()


def _named(items, name: str):  # type: ignore[no-untyped-def]
    return next((i for i in items if i.name == name), None)

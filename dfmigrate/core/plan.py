"""Order changes by real dependencies: a networkx graph, sorted topologically.

Each change declares what it creates, removes and modifies (``effects``). Edges then follow from
a handful of rules over the old and new schemas' dependency maps:

1. establish before use: a change that creates or modifies X runs after every change that
   creates or modifies something X needs in the new schema;
2. dependents go first: a change that removes X runs after the removal of everything that
   depended on X in the old schema (also before X is modified in place);
3. a dependency an object gives up is released before that dependency is touched (a default is
   dropped before its sequence; a partition is detached before its parent changes);
4. the same name is removed before it is created again.

Function bodies are invisible to PostgreSQL's dependency tracking; their references are soft
edges, kept only when they do not close a cycle. Ties are broken by a readable default order
(drops of dependents, then types, tables, columns, constraints, views, then drops of tables and
types) so that identical inputs always give identical plans.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

from dfmigrate.core import changes as ch
from dfmigrate.core.deps import (
    IDENT,
    Dependencies,
    column_ref,
    constraint_ref,
    dependencies,
    function_ref,
    index_ref,
    namespace_ref,
    policy_ref,
    relation_ref,
    table_ref,
    trigger_ref,
    view_ref,
)
from dfmigrate.core.schema import Column, ForeignKey, PrimaryKey, Ref, Schema, Table


@dataclass
class Effects:
    creates: set[Ref] = field(default_factory=set)
    removes: set[Ref] = field(default_factory=set)
    modifies: set[Ref] = field(default_factory=set)
    # the table a column-level change happens in: its dependents (views) are dropped first and
    # rebuilt after, but sibling column changes are not ordered against each other
    touches: set[Ref] = field(default_factory=set)
    requires: set[Ref] = field(default_factory=set)  # must exist first, without being changed


def _table_parts(t: Table, with_foreign_keys: bool) -> set[Ref]:
    ns, name = t.namespace, t.name
    refs = {table_ref(ns, name), *(column_ref(ns, name, c.name) for c in t.columns)}
    refs |= {constraint_ref(ns, name, c) for c in t.constraints
             if with_foreign_keys or not isinstance(c, ForeignKey)}
    return refs


def _owned_parts(dialect: str, t: Table) -> set[Ref]:
    """What DROP TABLE takes with it (foreign keys to other tables are dropped on their own)."""
    ns, name = t.namespace, t.name
    refs = _table_parts(t, with_foreign_keys=False)
    refs |= {constraint_ref(ns, name, fk) for fk in t.foreign_keys
             if (fk.ref_namespace, fk.ref_table) == (ns, name)}
    refs |= {index_ref(dialect, ns, name, i.name) for i in t.indexes}
    refs |= {trigger_ref(ns, name, tr.name) for tr in t.triggers}
    refs |= {policy_ref(ns, name, p.name) for p in t.policies}
    return refs


def _generated_inputs(schema: Schema, namespace: str, table: str, column: Column) -> set[Ref]:
    """The columns of ``table`` that ``column``'s generation expression names (an unquoted
    name matches in any case, as both dialects fold it)."""
    t = schema.table(namespace, table)
    if t is None or not column.generated:
        return set()
    named = {ident[1:-1].replace('""', '"') if ident.startswith('"') else ident.lower()
             for ident in re.findall(IDENT, column.generated)}
    return {column_ref(namespace, table, c.name) for c in t.columns
            if c.name != column.name and (c.name in named or c.name.lower() in named)}


def effects(change: ch.Change, old: Schema, new: Schema) -> Effects:  # noqa: C901 - one case per kind
    e = Effects()
    match change:
        case ch.CreateNamespace(name=n):
            e.creates.add(namespace_ref(n))
        case ch.DropNamespace(name=n):
            e.removes.add(namespace_ref(n))
        case ch.CreateExtension(extension=x):
            e.creates.add(Ref("extension", "", x.name))
        case ch.DropExtension(extension=x):
            e.removes.add(Ref("extension", "", x.name))
        case ch.AlterExtensionVersion(new=x):
            e.modifies.add(Ref("extension", "", x.name))
        case ch.CreateCollation(collation=c):
            e.creates.add(Ref("collation", c.namespace, c.name))
        case ch.DropCollation(collation=c):
            e.removes.add(Ref("collation", c.namespace, c.name))
        case ch.CreateEnum(enum=t) | ch.CreateDomain(domain=t) | ch.CreateCompositeType(type=t):
            e.creates.add(Ref("type", t.namespace, t.name))
        case ch.DropEnum(enum=t) | ch.DropDomain(domain=t) | ch.DropCompositeType(type=t):
            e.removes.add(Ref("type", t.namespace, t.name))
        case ch.AddEnumValue(enum=t) | ch.RenameEnumValue(enum=t) | ch.AlterDomain(new=t) | ch.AlterCompositeType(new=t):
            e.modifies.add(Ref("type", t.namespace, t.name))
        case ch.RenameEnum(old=o, new=n):
            e.removes.add(Ref("type", o.namespace, o.name))
            e.creates.add(Ref("type", n.namespace, n.name))
        case ch.RecreateEnum(new=t, columns=uses) | ch.RecreateDomain(new=t, columns=uses):
            e.modifies.add(Ref("type", t.namespace, t.name))
            for u in uses:
                e.modifies.add(column_ref(u.namespace, u.table, u.column))
                e.touches.add(table_ref(u.namespace, u.table))
        case ch.CreateSequence(sequence=s):
            e.creates.add(Ref("sequence", s.namespace, s.name))
        case ch.DropSequence(sequence=s):
            e.removes.add(Ref("sequence", s.namespace, s.name))
        case ch.AlterSequence(new=s):
            e.modifies.add(Ref("sequence", s.namespace, s.name))
        case ch.SetSequenceOwner(sequence=s):
            # ownership links two objects that already exist; it changes neither's shape
            e.requires.add(Ref("sequence", s.namespace, s.name))
            if s.owned_by:
                ns, table, column = s.owned_by.split(".", 2)
                e.requires.add(column_ref(ns, table, column))
        case ch.CreateTable(table=t):
            e.creates |= _table_parts(t, with_foreign_keys=False)
        case ch.DropTable(table=t):
            e.removes |= _owned_parts(old.dialect, t)
        case ch.RenameTable(old=o, new=n):
            e.removes.add(table_ref(o.namespace, o.name))
            e.creates.add(table_ref(n.namespace, n.name))
        case ch.AlterTable(new=t, changes=ch.TableChange.REPLICA_IDENTITY):
            # its own step (diff.tables): USING INDEX needs an index that needs the table, so it
            # uses the table without changing what others wait for
            e.requires.add(table_ref(t.namespace, t.name))
            if t.replica_identity.startswith("index:"):
                e.requires.add(index_ref(new.dialect, t.namespace, t.name, t.replica_identity[len("index:"):]))
        case ch.AlterTable(new=t):
            e.modifies.add(table_ref(t.namespace, t.name))
        case ch.RebuildTable(old=o, new=n):
            e.modifies.add(table_ref(n.namespace, n.name))
            # SQLite checks no foreign key while a rebuild runs (they are off): the new table's
            # keys do not wait for the tables they reference, which may be rebuilt too
            e.creates |= _table_parts(n, with_foreign_keys=False) - {table_ref(n.namespace, n.name)}
            e.removes |= _table_parts(o, with_foreign_keys=True) - _table_parts(n, with_foreign_keys=True)
        case ch.AddColumn(namespace=ns, table=t, column=c):
            e.creates.add(column_ref(ns, t, c.name))
            if c.generated:  # computed from its table's columns: those added alongside come first
                e.requires |= _generated_inputs(new, ns, t, c)
            if c.identity:
                e.creates.add(Ref("sequence", ns, f"{t}_{c.name}_seq"))
            e.touches.add(table_ref(ns, t))
        case ch.DropColumn(namespace=ns, table=t, column=c):
            e.removes.add(column_ref(ns, t, c.name))
            e.touches.add(table_ref(ns, t))
        case ch.RenameColumn(namespace=ns, table=t, old=o, new=n):
            e.removes.add(column_ref(ns, t, o.name))
            e.creates.add(column_ref(ns, t, n.name))
            e.touches.add(table_ref(ns, t))
        case ch.AlterColumn(namespace=ns, table=t, old=o, new=c):
            e.modifies.add(column_ref(ns, t, c.name))
            e.touches.add(table_ref(ns, t))
            # an identity owns an implicit sequence named like a serial's: order it like one
            implicit = Ref("sequence", ns, f"{t}_{c.name}_seq")
            if o.identity and not c.identity:
                e.removes.add(implicit)
            elif c.identity and not o.identity:
                e.creates.add(implicit)
        case ch.AddConstraint(namespace=ns, table=t, constraint=c):
            e.creates.add(constraint_ref(ns, t, c))
        case ch.DropConstraint(namespace=ns, table=t, constraint=c):
            e.removes.add(constraint_ref(ns, t, c))
        case ch.ValidateConstraint(namespace=ns, table=t, constraint=c):
            e.modifies.add(constraint_ref(ns, t, c))
        case ch.CreateIndex(namespace=ns, table=t, index=i):
            e.creates.add(index_ref(new.dialect, ns, t, i.name))
            e.requires.add(relation_ref(new, ns, t))
        case ch.DropIndex(namespace=ns, table=t, index=i):
            e.removes.add(index_ref(old.dialect, ns, t, i.name))
        case ch.CreateTrigger(namespace=ns, table=t, trigger=tr):
            e.creates.add(trigger_ref(ns, t, tr.name))
        case ch.DropTrigger(namespace=ns, table=t, trigger=tr):
            e.removes.add(trigger_ref(ns, t, tr.name))
        case ch.SetTriggerEnabled(namespace=ns, table=t, trigger=tr):
            e.modifies.add(trigger_ref(ns, t, tr.name))
        case ch.CreatePolicy(namespace=ns, table=t, policy=p):
            e.creates.add(policy_ref(ns, t, p.name))
        case ch.DropPolicy(namespace=ns, table=t, policy=p):
            e.removes.add(policy_ref(ns, t, p.name))
        case ch.CreateView(view=v):
            e.creates.add(view_ref(v.namespace, v.name))
        case ch.DropView(view=v):
            e.removes.add(view_ref(v.namespace, v.name))
            e.removes |= {index_ref(old.dialect, v.namespace, v.name, i.name) for i in v.indexes}
            e.removes |= {trigger_ref(v.namespace, v.name, t.name) for t in v.triggers}
        case ch.CreateFunction(function=f):
            e.creates.add(function_ref(f))
        case ch.DropFunction(function=f):
            e.removes.add(function_ref(f))
        case ch.ReplaceFunction(new=f):
            e.modifies.add(function_ref(f))
        case ch.GrantPrivilege(target=r) | ch.RevokePrivilege(target=r) | ch.SetComment(target=r):
            e.requires.add(r)
    return e


# ---------------------------------------------------------------- default order for ties

_RANK: dict[type, int] = {
    ch.DropTrigger: 0, ch.DropPolicy: 0, ch.DropView: 1, ch.DropFunction: 2,
    ch.DropIndex: 4, ch.CreateNamespace: 5,
    ch.CreateExtension: 6, ch.AlterExtensionVersion: 6, ch.CreateCollation: 6,
    ch.CreateEnum: 7, ch.AddEnumValue: 7, ch.RenameEnum: 7, ch.RenameEnumValue: 7,
    ch.RecreateEnum: 7, ch.CreateDomain: 7, ch.CreateCompositeType: 7, ch.AlterDomain: 7,
    ch.AlterCompositeType: 7, ch.RecreateDomain: 7,
    ch.CreateSequence: 8, ch.AlterSequence: 8,
    ch.RenameTable: 9, ch.CreateTable: 9, ch.AlterTable: 9, ch.RebuildTable: 9,
    ch.RenameColumn: 10, ch.AddColumn: 10, ch.AlterColumn: 10, ch.DropColumn: 10,
    ch.SetSequenceOwner: 11, ch.ValidateConstraint: 12, ch.CreateIndex: 12,
    ch.CreateFunction: 14, ch.ReplaceFunction: 14, ch.CreateView: 15,
    ch.CreateTrigger: 16, ch.SetTriggerEnabled: 16, ch.CreatePolicy: 16,
    ch.DropTable: 17, ch.DropSequence: 18, ch.DropEnum: 19, ch.DropDomain: 19,
    ch.DropCompositeType: 19, ch.DropCollation: 19, ch.DropExtension: 20, ch.DropNamespace: 21,
    ch.GrantPrivilege: 22, ch.RevokePrivilege: 22, ch.SetComment: 22,
}


def _rank(change: ch.Change) -> int:
    if isinstance(change, (ch.AddConstraint, ch.DropConstraint)):
        is_fk = isinstance(change.constraint, ForeignKey)
        if isinstance(change, ch.DropConstraint):
            return 3 if is_fk else 4
        return 13 if is_fk else 12
    return _RANK[type(change)]


def _subject(e: Effects) -> str:
    refs = sorted(e.creates or e.modifies or e.removes or e.requires)
    return str(refs[0]) if refs else ""


# ---------------------------------------------------------------- the graph


def build_graph(changes: list[ch.Change], old: Schema, new: Schema,
                deps_old: Dependencies | None = None, deps_new: Dependencies | None = None) -> nx.DiGraph:
    deps_old = deps_old or dependencies(old)
    deps_new = deps_new or dependencies(new)
    fx = [effects(c, old, new) for c in changes]
    creators, removers, modifiers = defaultdict(set), defaultdict(set), defaultdict(set)
    touchers: dict[Ref, set[int]] = defaultdict(set)
    for i, e in enumerate(fx):
        for r in e.touches:
            touchers[r].add(i)
        for r in e.creates:
            creators[r].add(i)
        for r in e.removes:
            removers[r].add(i)
        for r in e.modifies:
            modifiers[r].add(i)

    graph = nx.DiGraph()
    for i, c in enumerate(changes):
        graph.add_node(i, change=c, rank=_rank(c), subject=_subject(fx[i]))

    def edges(before: Iterable[int], after: int) -> None:
        graph.add_edges_from((b, after) for b in before if b != after)

    def establishers(d: Ref, e: Effects) -> set[int]:
        # a column-level change needs its table to exist, not the table's other changes done
        if d in e.touches:
            return creators[d]
        return creators[d] | modifiers[d] | touchers[d]

    for i, e in enumerate(fx):
        for x in e.creates | e.modifies:  # rule 1
            for d in _needs(changes[i], x, deps_new):
                edges(establishers(d, e), i)
        for d in e.requires:
            edges(establishers(d, e), i)
        # rule 2; a SQLite rebuild carries its table's dependents itself (foreign keys are off
        # while it runs), so only what it removes outright orders other removals before it
        moved = e.removes if isinstance(changes[i], ch.RebuildTable) else e.removes | e.modifies | e.touches
        for x in moved:
            for y in deps_old.dependents_of(x):
                edges(removers[y], i)
        for x in e.removes:  # rule 4
            graph.add_edges_from((i, j) for j in creators[x] if j != i)
    _same_name_edges(graph, changes)
    _inherited_column_edges(graph, changes, old)
    _sequence_owner_edges(graph, changes, old)
    _add_if_acyclic(graph, _released_dependency_edges(changes, fx, deps_old, deps_new, modifiers, removers, touchers))
    _add_if_acyclic(graph, _soft_edges(fx, deps_new, creators, modifiers))
    return graph


def _needs(change: ch.Change, ref: Ref, deps: Dependencies, before: bool = False) -> set[Ref]:
    """The dependencies of ``ref`` as the change leaves it (or finds it, with ``before``): a
    column change reads them off its own column state, which may be an intermediate step."""
    if isinstance(change, ch.AlterColumn) and ref == column_ref(change.namespace, change.table, change.new.name):
        return deps.of_column(change.namespace, change.table, change.old if before else change.new)
    return deps.of(ref)


def _released_dependency_edges(changes, fx, deps_old, deps_new, modifiers, removers, touchers):  # type: ignore[no-untyped-def]
    """Rule 3: an object that stops depending on X lets go of it before X is changed or dropped."""
    for i, e in enumerate(fx):
        for y in e.modifies | e.removes:
            for x in _needs(changes[i], y, deps_old, before=True) - _needs(changes[i], y, deps_new):
                for j in modifiers[x] | removers[x] | touchers[x]:
                    if j != i:
                        yield (i, j)


def _soft_edges(fx, deps_new, creators, modifiers):  # type: ignore[no-untyped-def]
    for i, e in enumerate(fx):
        for x in e.creates | e.modifies:
            for d in deps_new.soft.get(x, ()):
                for j in creators[d] | modifiers[d]:
                    if j != i:
                        yield (j, i)


def _same_name_edges(graph: nx.DiGraph, changes: list[ch.Change]) -> None:
    """Drop a routine before creating an overload of the same name, a table's old primary key
    before its new one, and a table before a view takes its name (or the reverse): PostgreSQL
    rejects each while the other exists."""
    drops: dict[tuple, list[int]] = defaultdict(list)
    creates: dict[tuple, list[int]] = defaultdict(list)
    for i, c in enumerate(changes):
        if isinstance(c, ch.DropFunction):
            drops[("fn", c.function.namespace, c.function.name)].append(i)
        elif isinstance(c, ch.CreateFunction):
            creates[("fn", c.function.namespace, c.function.name)].append(i)
        elif isinstance(c, (ch.DropTable, ch.DropView)):
            rel = c.table if isinstance(c, ch.DropTable) else c.view
            drops[("rel", rel.namespace, rel.name)].append(i)
        elif isinstance(c, (ch.CreateTable, ch.CreateView)):
            rel = c.table if isinstance(c, ch.CreateTable) else c.view
            creates[("rel", rel.namespace, rel.name)].append(i)
        elif isinstance(c, ch.RenameTable):
            drops[("rel", c.old.namespace, c.old.name)].append(i)
            creates[("rel", c.new.namespace, c.new.name)].append(i)
        elif isinstance(c, (ch.DropConstraint, ch.AddConstraint)) and isinstance(c.constraint, PrimaryKey):
            key = ("pk", c.namespace, c.table)
            (drops if isinstance(c, ch.DropConstraint) else creates)[key].append(i)
    for key, ds in drops.items():
        graph.add_edges_from((d, c) for d in ds for c in creates.get(key, ()) if d != c)
    # Two steps on one column (see diff.columns.alter_column) run in the order they were made.
    last_step: dict[tuple[str, str, str], int] = {}
    for i, c in enumerate(changes):
        if isinstance(c, ch.AlterColumn):
            key = (c.namespace, c.table, c.new.name)
            if key in last_step:
                graph.add_edge(last_step[key], i)
            last_step[key] = i


def _inherited_column_edges(graph: nx.DiGraph, changes: list[ch.Change], old: Schema) -> None:
    """A column a child inherits vanishes when its parent drops it; only then can the child
    add a column of that name of its own."""
    parents: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for t in old.tables:
        for parent in t.inherits:
            pns, _, pname = parent.partition(".")
            parents[(t.namespace, t.name)].append((pns, pname))
    drops = {(c.namespace, c.table, c.column.name): i for i, c in enumerate(changes) if isinstance(c, ch.DropColumn)}
    # a table changing parents: the parent's columns are added before INHERIT, and the columns
    # NO INHERIT leaves behind are dropped after it
    for i, c in enumerate(changes):
        if isinstance(c, ch.AlterTable) and c.changes & ch.TableChange.INHERITS:
            ns, name = c.new.namespace, c.new.name
            for j, other in enumerate(changes):
                if isinstance(other, ch.AddColumn) and (other.namespace, other.table) == (ns, name):
                    graph.add_edge(j, i)
                elif isinstance(other, ch.DropColumn) and (other.namespace, other.table) == (ns, name):
                    graph.add_edge(i, j)
    for i, c in enumerate(changes):
        if isinstance(c, ch.AddColumn):
            for pns, pname in parents.get((c.namespace, c.table), ()):
                dropped_at = drops.get((pns, pname, c.column.name))
                if dropped_at is not None:
                    graph.add_edge(dropped_at, i)


def _sequence_owner_edges(graph: nx.DiGraph, changes: list[ch.Change], old: Schema) -> None:
    """DROP COLUMN and DROP TABLE take the sequences their columns own with them: a sequence
    that stays must be released (or given to its new owner) first."""
    owners = {(s.namespace, s.name): s.owned_by for s in old.sequences if s.owned_by}
    dropped: dict[tuple[str, ...], int] = {}
    for i, c in enumerate(changes):
        if isinstance(c, ch.DropColumn):
            dropped[(c.namespace, c.table, c.column.name)] = i
        elif isinstance(c, ch.DropTable):
            dropped[(c.table.namespace, c.table.name)] = i
    for i, c in enumerate(changes):
        if isinstance(c, ch.SetSequenceOwner):
            owner = owners.get((c.sequence.namespace, c.sequence.name))
            if owner and c.sequence.owned_by != owner:  # giving it back to the same column is no release
                ns, table, column = owner.split(".", 2)
                for key in ((ns, table, column), (ns, table)):
                    if key in dropped and dropped[key] != i:
                        graph.add_edge(i, dropped[key])


def _add_if_acyclic(graph: nx.DiGraph, candidates: Iterable[tuple[int, int]]) -> None:
    for a, b in candidates:
        if graph.has_edge(a, b):
            continue
        if nx.has_path(graph, b, a):
            continue
        graph.add_edge(a, b)


def order_changes(changes: list[ch.Change], old: Schema, new: Schema,
                  deps_old: Dependencies | None = None,
                  deps_new: Dependencies | None = None) -> tuple[list[ch.Change], nx.DiGraph]:
    graph = build_graph(changes, old, new, deps_old, deps_new)
    try:
        order = list(nx.lexicographical_topological_sort(
            graph, key=lambda n: (graph.nodes[n]["rank"], graph.nodes[n]["subject"], n)))
    except nx.NetworkXUnfeasible as exc:
        cycle = nx.find_cycle(graph)
        names = " -> ".join(graph.nodes[a]["subject"] for a, _ in cycle)
        from dfmigrate.errors import DfmigrateError

        raise DfmigrateError(f"changes depend on each other in a cycle: {names}") from exc
    return [changes[i] for i in order], graph

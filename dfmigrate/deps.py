"""What depends on what inside one schema.

The planner orders changes by these edges and the diff uses them to find dependents that must be
dropped and recreated. Hard edges come from the model's structure and from what the database
itself records (``depends_on``, filled from ``pg_depend`` by the PostgreSQL source). Function
bodies are not tracked by PostgreSQL, so references found by scanning them are *soft*: they
order creation when they can, and are dropped when they would close a cycle.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from dfmigrate.schema import (
    Column,
    ForeignKey,
    Function,
    Index,
    Ref,
    Schema,
    Table,
    View,
)

# ---------------------------------------------------------------- references to objects


def namespace_ref(name: str) -> Ref:
    return Ref("namespace", "", name)


def table_ref(namespace: str, name: str) -> Ref:
    return Ref("table", namespace, name)


def view_ref(namespace: str, name: str) -> Ref:
    return Ref("view", namespace, name)


def column_ref(namespace: str, table: str, column: str) -> Ref:
    return Ref("column", namespace, f"{table}.{column}")


def constraint_ref(namespace: str, table: str, name: str) -> Ref:
    return Ref("constraint", namespace, f"{table}.{name}")


def index_ref(namespace: str, name: str) -> Ref:
    return Ref("index", namespace, name)


def trigger_ref(namespace: str, table: str, name: str) -> Ref:
    return Ref("trigger", namespace, f"{table}.{name}")


def policy_ref(namespace: str, table: str, name: str) -> Ref:
    return Ref("policy", namespace, f"{table}.{name}")


def function_ref(fn: Function) -> Ref:
    return Ref("function", fn.namespace, fn.signature)


def relation_ref(schema: Schema, namespace: str, name: str) -> Ref:
    """A table or a view of that name (indexes and triggers may sit on either)."""
    return view_ref(namespace, name) if schema.view(namespace, name) else table_ref(namespace, name)


# ---------------------------------------------------------------- scanning expression text

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = re.compile(rf"({_IDENT})\s*\.\s*({_IDENT})")
_NEXTVAL = re.compile(r"nextval\('([^']+)'")


def _unquote(ident: str) -> str:
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident.lower()


@dataclass
class _Names:
    """Lookup of the objects that expression text may mention by qualified name."""

    relations: dict[tuple[str, str], Ref] = field(default_factory=dict)
    types: dict[tuple[str, str], Ref] = field(default_factory=dict)
    sequences: dict[tuple[str, str], Ref] = field(default_factory=dict)
    functions: dict[tuple[str, str], list[Ref]] = field(default_factory=lambda: defaultdict(list))
    collations: dict[tuple[str, str], Ref] = field(default_factory=dict)
    unqualified_types: dict[str, Ref] = field(default_factory=dict)  # SQLite/models spell types bare

    def mentioned(self, text: str | None) -> set[Ref]:
        """Every known object named ``namespace.name`` in the text (tables, views, types,
        sequences, functions), plus sequences named inside nextval('...')."""
        found: set[Ref] = set()
        if not text:
            return found
        for a, b in _QUALIFIED.findall(text):
            key = (_unquote(a), _unquote(b))
            for table in (self.relations, self.types, self.sequences, self.collations):
                if key in table:
                    found.add(table[key])
            found.update(self.functions.get(key, ()))
        for seq in _NEXTVAL.findall(text):
            parts = [_unquote(p) for p in re.findall(_IDENT, seq)]
            if len(parts) == 2 and tuple(parts) in self.sequences:
                found.add(self.sequences[(parts[0], parts[1])])
        return found

    def type_refs(self, type_text: str) -> set[Ref]:
        found = self.mentioned(type_text)
        bare = type_text.rstrip("[]").strip().strip('"')
        if bare in self.unqualified_types:
            found.add(self.unqualified_types[bare])
        return found


def _names(schema: Schema) -> _Names:
    n = _Names()
    for t in schema.tables:
        n.relations[(t.namespace, t.name)] = table_ref(t.namespace, t.name)
    for v in schema.views:
        n.relations[(v.namespace, v.name)] = view_ref(v.namespace, v.name)
    for group in (schema.enums, schema.domains, schema.composite_types):
        for ty in group:
            ref = Ref("type", ty.namespace, ty.name)
            n.types[(ty.namespace, ty.name)] = ref
            n.unqualified_types.setdefault(ty.name, ref)
    for s in schema.sequences:
        n.sequences[(s.namespace, s.name)] = Ref("sequence", s.namespace, s.name)
    for fn in schema.functions:
        n.functions[(fn.namespace, fn.name)].append(function_ref(fn))
    for c in schema.collations:
        n.collations[(c.namespace, c.name)] = Ref("collation", c.namespace, c.name)
    return n


# ---------------------------------------------------------------- the dependency map


@dataclass
class Dependencies:
    hard: dict[Ref, set[Ref]] = field(default_factory=lambda: defaultdict(set))
    soft: dict[Ref, set[Ref]] = field(default_factory=lambda: defaultdict(set))

    def of(self, ref: Ref) -> set[Ref]:
        return self.hard.get(ref, set())

    def dependents(self) -> dict[Ref, set[Ref]]:
        """The reverse map of the hard edges: who depends on each object."""
        rev: dict[Ref, set[Ref]] = defaultdict(set)
        for obj, deps in self.hard.items():
            for d in deps:
                rev[d].add(obj)
        return rev


def dependencies(schema: Schema) -> Dependencies:
    names = _names(schema)
    deps = Dependencies()
    known_ns = set(schema.namespaces)

    def add(obj: Ref, *targets: Ref) -> None:
        deps.hard[obj].update(t for t in targets if t != obj)

    def in_namespace(obj: Ref, ns: str) -> None:
        if ns in known_ns:
            add(obj, namespace_ref(ns))

    for ext in schema.extensions:
        in_namespace(Ref("extension", "", ext.name), ext.namespace)
    for coll in schema.collations:
        in_namespace(Ref("collation", coll.namespace, coll.name), coll.namespace)
    for group in (schema.enums, schema.domains, schema.composite_types):
        for ty in group:
            in_namespace(Ref("type", ty.namespace, ty.name), ty.namespace)
    for dom in schema.domains:
        ref = Ref("type", dom.namespace, dom.name)
        add(ref, *names.type_refs(dom.base_type), *dom.depends_on)
        for chk in dom.checks:
            add(ref, *names.mentioned(chk.expression))
    for comp in schema.composite_types:
        ref = Ref("type", comp.namespace, comp.name)
        add(ref, *comp.depends_on)
        for attr in comp.attributes:
            add(ref, *names.type_refs(attr.type))
    for seq in schema.sequences:
        in_namespace(Ref("sequence", seq.namespace, seq.name), seq.namespace)
    for table in schema.tables:
        _table_dependencies(schema, table, names, add)
        in_namespace(table_ref(table.namespace, table.name), table.namespace)
    for view in schema.views:
        _view_dependencies(schema, view, names, add)
        in_namespace(view_ref(view.namespace, view.name), view.namespace)
    for fn in schema.functions:
        ref = function_ref(fn)
        in_namespace(ref, fn.namespace)
        add(ref, *fn.depends_on)
        body_refs = names.mentioned(fn.definition) - {ref} - deps.hard[ref]
        deps.soft[ref].update(body_refs)
    return deps


def _column_dependencies(names: _Names, column: Column) -> set[Ref]:
    refs = names.type_refs(column.type)
    refs |= names.mentioned(column.default) | names.mentioned(column.generated)
    if column.collation:
        refs |= names.mentioned(column.collation)
        for (ns, name), ref in names.collations.items():
            if column.collation.strip('"') == name:
                refs.add(ref)
    return refs


def _table_dependencies(schema: Schema, table: Table, names: _Names, add) -> None:  # type: ignore[no-untyped-def]
    ns, tname = table.namespace, table.name
    tref = table_ref(ns, tname)
    for parent in (*table.inherits, *([table.partition_of] if table.partition_of else [])):
        pns, _, pname = parent.partition(".")
        add(tref, table_ref(pns, pname))
    for col in table.columns:
        cref = column_ref(ns, tname, col.name)
        col_deps = _column_dependencies(names, col)
        add(cref, tref, *col_deps)
        add(tref, *col_deps)  # CREATE TABLE needs every column's type, sequence and function
    for con in table.constraints:
        cref = constraint_ref(ns, tname, con.name)
        add(cref, tref, *(column_ref(ns, tname, c) for c in getattr(con, "columns", ())))
        if isinstance(con, ForeignKey):
            add(cref, *_foreign_key_targets(schema, con))
        else:
            add(cref, *names.mentioned(getattr(con, "expression", None) or getattr(con, "definition", None)))
    for idx in table.indexes:
        add(index_ref(ns, idx.name), tref, *_index_dependencies(ns, tname, idx, names))
    for trg in table.triggers:
        add(trigger_ref(ns, tname, trg.name), tref, *([trg.function] if trg.function else []))
    for pol in table.policies:
        add(policy_ref(ns, tname, pol.name), tref, *names.mentioned(pol.using), *names.mentioned(pol.with_check))


def _foreign_key_targets(schema: Schema, fk: ForeignKey) -> set[Ref]:
    """The referenced table, its columns, and the key constraint the FK leans on: PostgreSQL
    refuses to drop that key while the FK exists."""
    ref_table = table_ref(fk.ref_namespace, fk.ref_table)
    targets = {ref_table, *(column_ref(fk.ref_namespace, fk.ref_table, c) for c in fk.ref_columns)}
    target = schema.table(fk.ref_namespace, fk.ref_table)
    if target is not None:
        keys = [target.primary_key, *target.uniques] if target.primary_key else list(target.uniques)
        for key in keys:
            if set(key.columns) == set(fk.ref_columns):
                targets.add(constraint_ref(fk.ref_namespace, fk.ref_table, key.name))
        for idx in target.indexes:
            if idx.unique and idx.where is None and {p.column for p in idx.parts} == set(fk.ref_columns):
                targets.add(index_ref(fk.ref_namespace, idx.name))
    return targets


def _index_dependencies(ns: str, table: str, idx: Index, names: _Names) -> set[Ref]:
    refs: set[Ref] = set()
    for part in idx.parts:
        if part.column:
            refs.add(column_ref(ns, table, part.column))
        refs |= names.mentioned(part.expression)
    refs |= {column_ref(ns, table, c) for c in idx.include}
    refs |= names.mentioned(idx.where)
    return refs


def _view_dependencies(schema: Schema, view: View, names: _Names, add) -> None:  # type: ignore[no-untyped-def]
    vref = view_ref(view.namespace, view.name)
    declared = set(view.depends_on)
    # Sources that do not read pg_depend (SQLite) leave depends_on empty: scan the text then.
    add(vref, *(declared or names.mentioned(view.definition)))
    for idx in view.indexes:
        add(index_ref(view.namespace, idx.name), vref, *names.mentioned(idx.where))
    for trg in view.triggers:
        add(trigger_ref(view.namespace, view.name, trg.name), vref, *([trg.function] if trg.function else []))

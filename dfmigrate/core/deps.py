"""What depends on what inside one schema.

The planner orders changes by these edges and the diff uses them to find dependents that must be
dropped and recreated. Hard edges come from the model's structure and from what the database
itself records (``depends_on``, filled from ``pg_depend`` by the PostgreSQL source). Function
bodies are not tracked by PostgreSQL, so references found by scanning them are *soft*: they
order creation when they can, and are dropped when they would close a cycle.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any

from dfmigrate.core.schema import (
    Column,
    ForeignKey,
    Function,
    Index,
    PrimaryKey,
    Ref,
    Schema,
    Table,
    UniqueConstraint,
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


def constraint_ref(namespace: str, table: str, constraint: Any) -> Ref:
    """A constraint's ref: by its name, or by ``constraint_label`` for an unnamed one."""
    return Ref("constraint", namespace, f"{table}.{constraint_label(constraint)}")


def constraint_label(constraint: Any) -> str:
    """What a constraint is called in a reference: its name, or for an unnamed one (SQLite)
    its kind and what it constrains, so that two unnamed constraints of a table stay apart."""
    if constraint.name:
        return str(constraint.name)
    kind = type(constraint).__name__
    if isinstance(constraint, ForeignKey):
        return (f"({kind} {','.join(constraint.columns)} -> {constraint.ref_table}"
                f"({','.join(constraint.ref_columns)}))")
    what = getattr(constraint, "expression", None) or ",".join(getattr(constraint, "columns", ()))
    return f"({kind} {what})"


def index_ref(dialect: str, namespace: str, table: str, name: str) -> Ref:
    """An index's ref: MySQL (and MariaDB) name indexes per table, so two tables may each have
    an ``ix`` and the ref is ``table.ix`` there; PostgreSQL and SQLite name them per schema,
    and the ref is the bare name. Every index ref is made here, and every lookup of one
    (``find_index``) compares against refs made here."""
    return Ref("index", namespace, f"{table}.{name}" if dialect == "mysql" else name)


def find_index(schema: Schema, ref: Ref) -> tuple[Table | View, Index] | None:
    """The relation and index ``ref`` names in ``schema``, or None (for refs read from migration
    files: their expectations and operations).

    MySQL migrations written before refs named their table hold a bare index name: it finds
    the first index of that name in the namespace, as it was found when they were planned."""
    maps = _index_maps(schema)
    found = maps.by_ref.get(ref)
    if found is None and schema.dialect == "mysql" and ref.kind == "index":
        found = maps.by_bare_name.get((ref.namespace, ref.name))
    return found


def index_clashes(schema: Schema) -> dict[Ref, tuple[str, list[str]]]:
    """The index refs of ``schema`` that more than one index has, with the index name and the
    relations holding them: on PostgreSQL and SQLite, index names are per schema, and models
    written for MySQL (per table) may give two tables an ``ix``, which no database of theirs
    can hold."""
    return _index_maps(schema).clashes


@dataclass
class _IndexMaps:
    by_ref: dict[Ref, tuple[Table | View, Index]] = field(default_factory=dict)
    by_bare_name: dict[tuple[str, str], tuple[Table | View, Index]] = field(default_factory=dict)
    clashes: dict[Ref, tuple[str, list[str]]] = field(default_factory=dict)


def _index_maps(schema: Schema) -> _IndexMaps:
    """Every index of the schema by its ref and by its bare name (the first of a name wins, as a
    scan in this order finds it), and the refs more than one index has: one pass, built once
    per schema and kept with it."""
    maps: _IndexMaps | None = schema.derived.get("indexes")
    if maps is None:
        maps = _IndexMaps()
        relations: tuple[Table | View, ...] = (*schema.tables, *schema.views)
        for rel in relations:
            for idx in rel.indexes:
                maps.by_bare_name.setdefault((rel.namespace, idx.name), (rel, idx))
                ref = index_ref(schema.dialect, rel.namespace, rel.name, idx.name)
                if ref in maps.by_ref:
                    maps.clashes.setdefault(ref, (idx.name, [maps.by_ref[ref][0].name]))[1].append(rel.name)
                else:
                    maps.by_ref[ref] = (rel, idx)
        schema.derived["indexes"] = maps
    return maps


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

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = re.compile(rf"({IDENT})\s*\.\s*({IDENT})")
_NEXTVAL = re.compile(r"nextval\('([^']+)'")


def _unquote(ident: str) -> str:
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident.lower()


@dataclass
class _Names:
    """Lookup of the objects that expression text may mention by qualified name."""

    schema: Schema
    types: dict[tuple[str, str], Ref] = field(default_factory=dict)
    sequences: dict[tuple[str, str], Ref] = field(default_factory=dict)
    functions: dict[tuple[str, str], list[Ref]] = field(default_factory=lambda: defaultdict(list))
    collations: dict[tuple[str, str], Ref] = field(default_factory=dict)
    unqualified_types: dict[str, Ref] = field(default_factory=dict)  # SQLite/models spell types bare

    def relation(self, namespace: str, name: str) -> Ref | None:
        # Through the schema's own lookups: a dict of Refs for every table would cost more to
        # build than the few lookups a plan makes.
        schema = self.schema
        if schema.table(namespace, name) is not None:
            return table_ref(namespace, name)
        if schema.view(namespace, name) is not None:
            return view_ref(namespace, name)
        return None

    def mentioned(self, text: str | None) -> set[Ref]:
        """Every known object named ``namespace.name`` in the text (tables, views, types,
        sequences, functions), plus sequences named inside nextval('...')."""
        found: set[Ref] = set()
        if not text or "." not in text:  # every reference we look for is qualified
            return found
        for a, b in _QUALIFIED.findall(text):
            key = (_unquote(a), _unquote(b))
            relation = self.relation(*key)
            if relation is not None:
                found.add(relation)
            for table in (self.types, self.sequences, self.collations):
                if key in table:
                    found.add(table[key])
            found.update(self.functions.get(key, ()))
        for seq in _NEXTVAL.findall(text):
            parts = [_unquote(p) for p in re.findall(IDENT, seq)]
            if len(parts) == 2 and tuple(parts) in self.sequences:
                found.add(self.sequences[(parts[0], parts[1])])
        return found

    def type_refs(self, type_text: str) -> set[Ref]:
        found = self.mentioned(type_text) if self.types else set()
        bare = type_text.rstrip("[]").strip().strip('"')
        if bare in self.unqualified_types:
            found.add(self.unqualified_types[bare])
        return found


def _names(schema: Schema) -> _Names:
    n = _Names(schema)
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

_TABLE_SCOPED = ("column", "constraint", "trigger", "policy")


class Dependencies:
    """The dependency map of one schema, computed lazily.

    A plan touches a handful of objects in schemas that may hold thousands of tables, so the
    edges of a table and its parts are only worked out when something asks about that table.
    Objects outside tables (types, views, functions...) are few and are mapped at once; the
    reverse question (who depends on X) looks only at the tables that can hold a dependent:
    the owner and the tables referencing or inheriting it, or those whose text names X.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.names = _names(schema)
        self.hard: dict[Ref, set[Ref]] = defaultdict(set)
        self.soft: dict[Ref, set[Ref]] = defaultdict(set)
        self._tables_done: set[tuple[str, str]] = set()
        self._global_reverse: dict[Ref, set[Ref]] = defaultdict(set)
        _global_dependencies(schema, self.names, self._add)
        for fn in schema.functions:  # bodies: PostgreSQL does not track these, so edges are soft
            ref = function_ref(fn)
            self.soft[ref] = self.names.mentioned(fn.definition) - {ref} - self.hard.get(ref, set())
        for obj, targets in self.hard.items():
            for t in targets:
                self._global_reverse[t].add(obj)

    @cached_property
    def _referencing(self) -> dict[tuple[str, str], list[tuple[Table, ForeignKey]]]:
        """The foreign keys pointing at each table, with their tables, by (namespace, name)."""
        found: dict[tuple[str, str], list[tuple[Table, ForeignKey]]] = defaultdict(list)
        for table in self.schema.tables:
            for fk in table.foreign_keys:
                found[(fk.ref_namespace, fk.ref_table)].append((table, fk))
        return found

    @cached_property
    def _inheriting(self) -> dict[tuple[str, str], list[Table]]:
        """Children and partitions of each table, by (namespace, name)."""
        found: dict[tuple[str, str], list[Table]] = defaultdict(list)
        for table in self.schema.tables:
            for parent in (*table.inherits, *([table.partition_of] if table.partition_of else [])):
                pns, _, pname = parent.partition(".")
                found[(pns, pname)].append(table)
        return found

    def _add(self, obj: Ref, *targets: Ref) -> None:
        entry = self.hard[obj]
        entry.update(targets)
        entry.discard(obj)

    def _owner(self, ref: Ref) -> Table | None:
        if ref.kind == "table":
            return self.schema.table(ref.namespace, ref.name)
        if ref.kind == "index":
            found = _index_maps(self.schema).by_ref.get(ref)  # refs made by index_ref: no bare-name fallback
            return found[0] if found is not None and isinstance(found[0], Table) else None
        if ref.kind in _TABLE_SCOPED:
            return self.schema.table(ref.namespace, ref.name.partition(".")[0])
        return None

    def _ensure(self, table: Table | None) -> None:
        if table is not None and (table.namespace, table.name) not in self._tables_done:
            self._tables_done.add((table.namespace, table.name))
            _table_dependencies(self.schema, table, self.names, self._add)

    def of(self, ref: Ref) -> set[Ref]:
        self._ensure(self._owner(ref))
        found = self.hard.get(ref)
        if ref.kind != "column":
            return found if found is not None else set()
        # A column always needs its table; the edge is implied rather than stored.
        table = table_ref(ref.namespace, ref.name.partition(".")[0])
        return found | {table} if found else {table}

    def of_column(self, namespace: str, table: str, column: Column) -> set[Ref]:
        """What a column in this exact state needs (a step of a column change may sit between
        the old and the new state, so the schema's own column is not always the one asked)."""
        return _column_dependencies(self.names, column) | {table_ref(namespace, table)}

    def dependents_of(self, ref: Ref) -> set[Ref]:
        """Every object whose hard dependencies include ``ref``."""
        found = set(self._global_reverse.get(ref, ()))
        owner = self._owner(ref)
        if owner is not None:
            key = (owner.namespace, owner.name)
            related = [owner, *self._inheriting.get(key, ())]
            # A table referencing this one can only depend on it through those foreign keys:
            # their edges are enough, the rest of that table need not be mapped.
            for table, fk in self._referencing.get(key, ()):
                cref = constraint_ref(table.namespace, table.name, fk)
                if cref not in self.hard:
                    _constraint_dependencies(self.schema, table, fk, self.names, self._add)
                if ref in self.hard[cref]:
                    found.add(cref)
        else:  # a type, sequence, function or view: only the parts whose text names it
            needle = ref.name.partition("(")[0]
            for table in table_texts(self.schema).mentioning(needle):
                for obj in self._parts_naming(table, needle):
                    if ref in self.hard.get(obj, ()):
                        found.add(obj)
            return found
        for table in related:
            self._ensure(table)
            for obj in _parts(self.schema.dialect, table):
                if ref in self.hard.get(obj, ()):
                    found.add(obj)
        return found


    def _parts_naming(self, table: Table, needle: str) -> list[Ref]:
        """The parts of ``table`` whose text contains ``needle``, with their edges mapped (a
        type used across a schema would otherwise map hundreds of tables whole)."""
        if (table.namespace, table.name) in self._tables_done:
            return _parts(self.schema.dialect, table)
        return _table_dependencies(self.schema, table, self.names, self._add, needle)


def table_text(table: Table) -> str:
    """Everything in a table that can name another object or a literal, as one string to
    search (column types, defaults and generation, constraint, index, trigger and policy
    expressions). Written as one loop of appends: it runs for every table of a schema, and
    this form takes ~40% less time than list comprehensions per part (measured)."""
    out: list[str] = []
    add = out.append
    for c in table.columns:
        add(c.type)
        if c.default:
            add(c.default)
        if c.generated:
            add(c.generated)
        if c.collation:
            add(c.collation)
    for chk in table.checks:
        add(chk.expression)
    for exc in table.exclusions:
        add(exc.definition)
    for idx in table.indexes:
        if idx.where:
            add(idx.where)
        for part in idx.parts:
            if part.expression:
                add(part.expression)
    for trg in table.triggers:
        add(trg.definition)
    for pol in table.policies:
        if pol.using:
            add(pol.using)
        if pol.with_check:
            add(pol.with_check)
    return "\n".join(out)


class TableTexts:
    """Every table's ``table_text`` joined into one string, so that "which tables name X" is one
    substring search in C rather than a Python test per table (a plan asks it for each type,
    function, sequence or view it touches, against schemas of thousands of tables)."""

    def __init__(self, tables: tuple[Table, ...]) -> None:
        texts = [table_text(t) for t in tables]
        self._tables = tables
        self._starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        self._blob = "\0".join(texts)  # NUL never occurs in SQL text, so no match spans two tables

    def mentions(self, needle: str) -> bool:
        return needle in self._blob

    def mentioning(self, needle: str) -> list[Table]:
        found: list[Table] = []
        blob, starts = self._blob, self._starts
        at = blob.find(needle)
        while at != -1:
            k = bisect_right(starts, at) - 1
            found.append(self._tables[k])
            if k + 1 == len(starts):
                break
            at = blob.find(needle, starts[k + 1])
        return found


def table_texts(schema: Schema) -> TableTexts:
    """The schema's ``TableTexts``, built once per schema and kept with it."""
    texts = schema.derived.get("table_texts")
    if texts is None:
        texts = schema.derived["table_texts"] = TableTexts(schema.tables)
    return texts


def _parts(dialect: str, table: Table) -> list[Ref]:
    ns, name = table.namespace, table.name
    refs = [table_ref(ns, name)]
    refs += [column_ref(ns, name, c.name) for c in table.columns]
    refs += [constraint_ref(ns, name, c) for c in table.constraints]
    refs += [index_ref(dialect, ns, name, i.name) for i in table.indexes]
    refs += [trigger_ref(ns, name, t.name) for t in table.triggers]
    refs += [policy_ref(ns, name, p.name) for p in table.policies]
    return refs


def dependencies(schema: Schema) -> Dependencies:
    return Dependencies(schema)


def _global_dependencies(schema: Schema, names: _Names, add) -> None:  # type: ignore[no-untyped-def]
    """Edges of everything that does not live inside a table."""
    known_ns = set(schema.namespaces)

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
    for view in schema.views:
        _view_dependencies(schema, view, names, add)
        in_namespace(view_ref(view.namespace, view.name), view.namespace)
    for fn in schema.functions:
        ref = function_ref(fn)
        in_namespace(ref, fn.namespace)
        add(ref, *fn.depends_on)


def _column_dependencies(names: _Names, column: Column) -> set[Ref]:
    refs = names.type_refs(column.type)
    if column.default:
        refs |= names.mentioned(column.default)
    if column.generated:
        refs |= names.mentioned(column.generated)
    if column.collation:
        refs |= names.mentioned(column.collation)
        for (_, name), ref in names.collations.items():
            if column.collation.strip('"') == name:
                refs.add(ref)
    return refs


def _table_dependencies(schema: Schema, table: Table, names: _Names, add,  # type: ignore[no-untyped-def]
                        needle: str | None = None) -> list[Ref]:
    """Map the edges of a table and its parts; with ``needle``, only of the parts whose text
    (``table_text``'s pieces) contains it, which are returned, the table itself among them
    when one of its columns matched."""
    ns, tname = table.namespace, table.name
    tref = table_ref(ns, tname)
    mapped: list[Ref] = []
    every = needle is None
    if every:
        if ns in schema.namespaces:
            add(tref, namespace_ref(ns))
        for parent in (*table.inherits, *([table.partition_of] if table.partition_of else [])):
            pns, _, pname = parent.partition(".")
            add(tref, table_ref(pns, pname))
    for col in table.columns:
        if every or _mentions(needle, col.type, col.default, col.generated, col.collation):
            col_deps = _column_dependencies(names, col)
            if col_deps:  # the column → table edge is implied (Dependencies.of)
                add(column_ref(ns, tname, col.name), *col_deps)
                add(tref, *col_deps)  # CREATE TABLE needs every column's type, sequence and function
            if not every:  # (a Ref per column costs ~1 µs: only when it is asked for)
                mapped.append(column_ref(ns, tname, col.name))
    if mapped:
        mapped.append(tref)
    for con in table.constraints:
        if every or _mentions(needle, getattr(con, "expression", None) or getattr(con, "definition", None)):
            _constraint_dependencies(schema, table, con, names, add)
            mapped.append(constraint_ref(ns, tname, con))
    for idx in table.indexes:
        if every or _mentions(needle, idx.where, *(p.expression for p in idx.parts)):
            mapped.append(index_ref(schema.dialect, ns, tname, idx.name))
            add(mapped[-1], tref, *_index_dependencies(ns, tname, idx, names))
    for trg in table.triggers:
        if every or _mentions(needle, trg.definition):
            mapped.append(trigger_ref(ns, tname, trg.name))
            add(mapped[-1], tref, *([trg.function] if trg.function else []))
    for pol in table.policies:
        if every or _mentions(needle, pol.using, pol.with_check):
            mapped.append(policy_ref(ns, tname, pol.name))
            add(mapped[-1], tref, *names.mentioned(pol.using), *names.mentioned(pol.with_check))
    return mapped


def _mentions(needle: str | None, *texts: str | None) -> bool:
    return any(needle in t for t in texts if t)  # type: ignore[operator]


def _constraint_dependencies(schema: Schema, table: Table, con: Any, names: _Names, add) -> None:  # type: ignore[no-untyped-def]
    ns, tname = table.namespace, table.name
    cref = constraint_ref(ns, tname, con)
    add(cref, table_ref(ns, tname), *(column_ref(ns, tname, c) for c in getattr(con, "columns", ())))
    if isinstance(con, ForeignKey):
        add(cref, *_foreign_key_targets(schema, con))
    else:
        add(cref, *names.mentioned(getattr(con, "expression", None) or getattr(con, "definition", None)))


def _foreign_key_targets(schema: Schema, fk: ForeignKey) -> set[Ref]:
    """The referenced table, its columns, and the key constraint the FK leans on: PostgreSQL
    refuses to drop that key while the FK exists."""
    ref_table = table_ref(fk.ref_namespace, fk.ref_table)
    targets = {ref_table, *(column_ref(fk.ref_namespace, fk.ref_table, c) for c in fk.ref_columns)}
    target = schema.table(fk.ref_namespace, fk.ref_table)
    if target is not None:
        keys: list[PrimaryKey | UniqueConstraint] = [*([target.primary_key] if target.primary_key else []),
                                                     *target.uniques]
        for key in keys:
            if set(key.columns) == set(fk.ref_columns):
                targets.add(constraint_ref(fk.ref_namespace, fk.ref_table, key))
        for idx in target.indexes:
            if idx.unique and idx.where is None and {p.column for p in idx.parts} == set(fk.ref_columns):
                targets.add(index_ref(schema.dialect, fk.ref_namespace, fk.ref_table, idx.name))
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
        add(index_ref(schema.dialect, view.namespace, view.name, idx.name), vref, *names.mentioned(idx.where))
    for trg in view.triggers:
        add(trigger_ref(view.namespace, view.name, trg.name), vref, *([trg.function] if trg.function else []))

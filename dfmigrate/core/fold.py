"""Replay without a database: ``apply_change(schema, change) -> schema`` for every change kind.

A generated migration lists the typed changes it makes (``dfmigrate.core.changes``); the schema a
migrations directory produces is the fold of those changes over the empty schema, so ``check``
and ``makemigrations`` need no server. The rule every case follows: after a change, the object it
creates, alters or drops looks exactly as the change says (a change carries the whole new object),
and everything the database would update along with it (a rename seen by foreign keys that
reference the renamed table or column) is updated too. ``fold(A, plan(A, B).changes) == B`` is
checked as a property over random schema pairs (tests/test_fold.py).

Collections keep the schema model's order: top-level objects by (namespace, name), table parts
by name, columns in physical order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from dfmigrate.core import changes as ch
from dfmigrate.core.deps import find_index
from dfmigrate.dialects.postgres.quote import qualified
from dfmigrate.core.schema import (
    CheckConstraint,
    ExclusionConstraint,
    ForeignKey,
    Grant,
    PrimaryKey,
    Ref,
    Schema,
    Table,
    UniqueConstraint,
)

T = TypeVar("T")
_INIT_FIELDS: dict[type, tuple[str, ...]] = {}


def replace(obj: T, /, **changes: Any) -> T:
    """``dataclasses.replace`` without its per-field bookkeeping (a fold of a long history makes
    a few thousand copies): the same constructor call, with every init field not given copied."""
    cls = type(obj)
    names = _INIT_FIELDS.get(cls)
    if names is None:
        names = _INIT_FIELDS[cls] = tuple(f.name for f in fields(cls) if f.init)  # type: ignore[arg-type]
    for name in names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return cls(**changes)


def fold(schema: Schema, changes: Iterable[Any]) -> Schema:
    for change in changes:
        schema = apply_change(schema, change)
    return schema


class FoldError(Exception):
    """A change that does not apply to the schema it is folded into (an object it names is not
    there, or is not what the change expects)."""


def apply_change(schema: Schema, change: Any) -> Schema:
    handler = _HANDLERS.get(type(change))
    if handler is None:
        raise FoldError(f"no replay rule for {type(change).__name__}")
    try:
        return handler(schema, change)
    except (KeyError, TypeError, StopIteration, AssertionError) as exc:  # the rules' lookups, one kind here
        raise FoldError(str(exc)) from exc


# ---------------------------------------------------------------- collection helpers


# Keys are attrgetters (C): a fold of a long history calls them a few hundred thousand times.
_top_key: Callable[[Any], tuple[str, str]] = attrgetter("namespace", "name")


def _put(items: tuple[T, ...], obj: T, key: Callable[[Any], Any]) -> tuple[T, ...]:
    """``items`` with ``obj`` in place of the item with its key (added when absent), sorted."""
    k = key(obj)
    return tuple(sorted([i for i in items if key(i) != k] + [obj], key=key))


def _drop(items: tuple[T, ...], k: Any, key: Callable[[Any], Any]) -> tuple[T, ...]:
    return tuple(i for i in items if key(i) != k)


_name: Callable[[Any], str] = attrgetter("name")
_function_key: Callable[[Any], tuple[str, str, str]] = attrgetter("namespace", "name", "arguments")
_grant_key: Callable[[Grant], tuple[str, str, bool]] = attrgetter("grantee", "privilege", "grantable")


def _with_table(schema: Schema, namespace: str, name: str, edit: Callable[[Table], Table]) -> Schema:
    table = schema.table(namespace, name)
    if table is None:
        view = schema.view(namespace, name)
        if view is None:
            raise KeyError(f"replay: no table {namespace}.{name}")
        return _set(schema, views=_put(schema.views, edit(view), _top_key))  # type: ignore[arg-type]
    return _set(schema, tables=_put(schema.tables, edit(table), _top_key))


def _fields(name: str, value: Any) -> dict[str, Any]:
    """One field by name, for ``replace`` (typed, so that a computed field name checks)."""
    return {name: value}


def _set(schema: Schema, **fields: Any) -> Schema:
    return replace(schema, **fields)  # a new instance: its cached lookups start empty


# ---------------------------------------------------------------- namespaces, extensions, types


def _create_namespace(s: Schema, c: ch.CreateNamespace) -> Schema:
    return _set(s, namespaces=tuple(sorted(set(s.namespaces) | {c.name})))


def _drop_namespace(s: Schema, c: ch.DropNamespace) -> Schema:
    return _set(s, namespaces=tuple(n for n in s.namespaces if n != c.name),
                namespace_grants=tuple(g for g in s.namespace_grants if g[0] != c.name),
                namespace_comments=tuple(g for g in s.namespace_comments if g[0] != c.name))


_ext_key = _name


def _put_top(field: str, attr: str, key: Callable[[Any], Any] = _top_key) -> Callable[[Schema, Any], Schema]:
    """The handler of a change that creates or replaces a top-level object (``change.attr``)."""
    def apply(s: Schema, c: Any) -> Schema:
        return _set(s, **{field: _put(getattr(s, field), getattr(c, attr), key)})
    return apply


def _drop_top(field: str, attr: str, key: Callable[[Any], Any] = _top_key) -> Callable[[Schema, Any], Schema]:
    """The handler of a change that drops a top-level object (``change.attr``)."""
    def apply(s: Schema, c: Any) -> Schema:
        return _set(s, **{field: _drop(getattr(s, field), key(getattr(c, attr)), key)})
    return apply


def _current_enum(s: Schema, namespace: str, name: str) -> Any:
    return next(e for e in s.enums if (e.namespace, e.name) == (namespace, name))


def _add_enum_value(s: Schema, c: ch.AddEnumValue) -> Schema:
    current = _current_enum(s, c.enum.namespace, c.enum.name)
    labels = [label for label in current.labels if label != c.label]
    if c.before is not None and c.before in labels:
        labels.insert(labels.index(c.before), c.label)
    elif c.after is not None and c.after in labels:
        labels.insert(labels.index(c.after) + 1, c.label)
    else:
        labels.append(c.label)
    return _set(s, enums=_put(s.enums, replace(current, labels=tuple(labels)), _top_key))


def _rename_enum_value(s: Schema, c: ch.RenameEnumValue) -> Schema:
    current = _current_enum(s, c.enum.namespace, c.enum.name)
    labels = tuple(c.new_label if label == c.old_label else label for label in current.labels)
    return _set(s, enums=_put(s.enums, replace(current, labels=labels), _top_key))


def _type_uses(s: Schema, uses: tuple[ch.TypeColumnUse, ...]) -> Schema:
    for use in uses:
        def edit(t: Any, use: ch.TypeColumnUse = use) -> Any:
            return replace(t, columns=tuple(replace(col, default=use.new_default) if col.name == use.column else col
                                            for col in t.columns))
        s = _with_table(s, use.namespace, use.table, edit)
    return s


def _recreate_enum(s: Schema, c: ch.RecreateEnum) -> Schema:
    s = _set(s, enums=_put(_drop(s.enums, _top_key(c.old), _top_key), c.new, _top_key))
    return _type_uses(s, c.columns)


def _retype_columns(s: Schema, old: str, new: str) -> Schema:
    """Columns (and composite attributes) of type ``old`` (or arrays of it) now print ``new``."""
    def retyped(t: str) -> str:
        base = t.rstrip("[]")
        return new + t[len(base):] if base == old else t

    tables = tuple(replace(t, columns=tuple(replace(col, type=retyped(col.type)) for col in t.columns))
                   if any(retyped(col.type) != col.type for col in t.columns) else t for t in s.tables)
    return _set(s, tables=tables)


def _rename_enum(s: Schema, c: ch.RenameEnum) -> Schema:
    current = _current_enum(s, c.old.namespace, c.old.name)
    s = _set(s, enums=_put(_drop(s.enums, _top_key(c.old), _top_key),
                           replace(current, name=c.new.name, renamed_from=c.new.renamed_from), _top_key))
    return _retype_columns(s, qualified(c.old.namespace, c.old.name), qualified(c.new.namespace, c.new.name))


def _recreate_domain(s: Schema, c: ch.RecreateDomain) -> Schema:
    s = _set(s, domains=_put(_drop(s.domains, _top_key(c.old), _top_key), c.new, _top_key))
    return _type_uses(s, c.columns)


# ---------------------------------------------------------------- sequences


def _alter_sequence(s: Schema, c: ch.AlterSequence) -> Schema:
    current = next((q for q in s.sequences if _top_key(q) == _top_key(c.old)), c.old)
    new = replace(c.new, owned_by=current.owned_by, grants=current.grants, comment=current.comment)
    return _set(s, sequences=_put(s.sequences, new, _top_key))


def _set_sequence_owner(s: Schema, c: ch.SetSequenceOwner) -> Schema:
    current = next((q for q in s.sequences if _top_key(q) == _top_key(c.sequence)), c.sequence)
    return _set(s, sequences=_put(s.sequences, replace(current, owned_by=c.sequence.owned_by), _top_key))


# ---------------------------------------------------------------- tables


def _rename_table(s: Schema, c: ch.RenameTable) -> Schema:
    current = s.table(c.old.namespace, c.old.name)
    assert current is not None, f"replay: no table {c.old.namespace}.{c.old.name}"
    renamed = replace(current, name=c.new.name, renamed_from=c.new.renamed_from)
    tables = _put(_drop(s.tables, _top_key(current), _top_key), renamed, _top_key)
    return _set(s, tables=_references_follow(tables, _top_key(current), c.new.name))


def _references_follow(tables: tuple[Table, ...], old: tuple[str, str], new_name: str) -> tuple[Table, ...]:
    """Foreign keys that reference a renamed table follow it (the database updates them)."""
    def refers(fk: ForeignKey) -> bool:
        return (fk.ref_namespace, fk.ref_table) == old

    return tuple(replace(t, foreign_keys=tuple(replace(fk, ref_table=new_name) if refers(fk) else fk
                                               for fk in t.foreign_keys))
                 if any(refers(fk) for fk in t.foreign_keys) else t for t in tables)


_TABLE_LEVEL = ("unlogged", "rls_enabled", "rls_forced", "options", "comment", "inherits",
                "partition_of", "partition_bound", "replica_identity")


def _alter_table(s: Schema, c: ch.AlterTable) -> Schema:
    def edit(t: Table) -> Table:
        columns = t.columns
        if t.partition_of != c.new.partition_of:
            # a partition's columns are its parent's, and the model lists them only while the
            # table stands alone: detached, it keeps them as its own; attached, they are inherited
            parent = _parent(s, t.partition_of or c.new.partition_of)
            inherited = parent.columns if parent is not None else ()
            if c.new.partition_of is None:
                own = {col.name for col in columns}
                columns = tuple(col for col in inherited if col.name not in own) + columns
            else:
                names = {col.name for col in inherited}
                columns = tuple(col for col in columns if col.name not in names)
        if t.inherits != c.new.inherits:
            # inherited columns are implicit in the model: a parent gained takes them over (the
            # plan added any the table lacked first), a parent lost leaves them as the table's own
            lost = [col for p in t.inherits if p not in c.new.inherits for col in _columns_of(s, p)]
            gained = {col.name for p in c.new.inherits for col in _columns_of(s, p)}
            own = {col.name for col in columns}
            columns = tuple(dict((col.name, col) for col in lost if col.name not in own).values()) + columns
            columns = tuple(col for col in columns if col.name not in gained)
        return replace(t, columns=columns, **{f: getattr(c.new, f) for f in _TABLE_LEVEL})

    return _with_table(s, c.old.namespace, c.old.name, edit)


def _columns_of(s: Schema, qualified: str) -> tuple[Any, ...]:
    parent = _parent(s, qualified)
    return parent.columns if parent is not None else ()


def _parent(s: Schema, qualified: str | None) -> Table | None:
    if qualified is None:
        return None
    namespace, _, name = qualified.partition(".")
    return s.table(namespace, name)


def _rebuild_table(s: Schema, c: ch.RebuildTable) -> Schema:
    tables = _put(_drop(s.tables, _top_key(c.old), _top_key), c.new, _top_key)
    if c.new.name != c.old.name:  # a rebuild that also renames the table
        tables = _references_follow(tables, _top_key(c.old), c.new.name)
    return _set(s, tables=tables)


def _add_column(s: Schema, c: ch.AddColumn) -> Schema:
    return _with_table(s, c.namespace, c.table, lambda t: replace(
        t, columns=tuple(col for col in t.columns if col.name != c.column.name) + (c.column,)))


def _drop_column(s: Schema, c: ch.DropColumn) -> Schema:
    return _with_table(s, c.namespace, c.table, lambda t: replace(
        t, columns=tuple(col for col in t.columns if col.name != c.column.name)))


def _renamed(names: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if n == old else n for n in names)


def _rename_column(s: Schema, c: ch.RenameColumn) -> Schema:
    old, new = c.old.name, c.new.name

    def edit(t: Any) -> Any:
        columns = tuple(replace(col, name=new, renamed_from=c.new.renamed_from) if col.name == old else col
                        for col in t.columns)
        if not isinstance(t, Table):
            return replace(t, columns=columns)
        pk = replace(t.primary_key, columns=_renamed(t.primary_key.columns, old, new)) if t.primary_key else None
        return replace(
            t, columns=columns, primary_key=pk,
            uniques=tuple(replace(u, columns=_renamed(u.columns, old, new), include=_renamed(u.include, old, new))
                          for u in t.uniques),
            foreign_keys=tuple(replace(fk, columns=_renamed(fk.columns, old, new)) for fk in t.foreign_keys),
            indexes=tuple(replace(i, parts=tuple(replace(p, column=new) if p.column == old else p for p in i.parts),
                                  include=_renamed(i.include, old, new)) for i in t.indexes))

    s = _with_table(s, c.namespace, c.table, edit)

    def refers(fk: ForeignKey) -> bool:
        return (fk.ref_namespace, fk.ref_table) == (c.namespace, c.table) and old in fk.ref_columns

    # foreign keys elsewhere that reference the column follow it
    if not any(refers(fk) for t in s.tables for fk in t.foreign_keys):
        return s
    tables = tuple(replace(t, foreign_keys=tuple(replace(fk, ref_columns=_renamed(fk.ref_columns, old, new))
                                                 if refers(fk) else fk for fk in t.foreign_keys))
                   if any(refers(fk) for fk in t.foreign_keys) else t for t in s.tables)
    return _set(s, tables=tables)


def _alter_column(s: Schema, c: ch.AlterColumn) -> Schema:
    return _with_table(s, c.namespace, c.table, lambda t: replace(
        t, columns=tuple(c.new if col.name == c.old.name else col for col in t.columns)))


def _constraint_field(con: Any) -> str:
    if isinstance(con, UniqueConstraint):
        return "uniques"
    if isinstance(con, ForeignKey):
        return "foreign_keys"
    if isinstance(con, CheckConstraint):
        return "checks"
    if isinstance(con, ExclusionConstraint):
        return "exclusions"
    raise TypeError(type(con).__name__)


def _add_constraint(s: Schema, c: ch.AddConstraint) -> Schema:
    con = c.constraint
    if isinstance(con, PrimaryKey):
        return _with_table(s, c.namespace, c.table, lambda t: replace(t, primary_key=con))
    field = _constraint_field(con)
    return _with_table(s, c.namespace, c.table,
                       lambda t: replace(t, **_fields(field, _put(getattr(t, field), con, _name))))


def _drop_constraint(s: Schema, c: ch.DropConstraint) -> Schema:
    con = c.constraint
    if isinstance(con, PrimaryKey):
        return _with_table(s, c.namespace, c.table, lambda t: replace(t, primary_key=None))
    field = _constraint_field(con)
    return _with_table(s, c.namespace, c.table,
                       lambda t: replace(t, **_fields(field, _drop(getattr(t, field), con.name, _name))))


def _validate_constraint(s: Schema, c: ch.ValidateConstraint) -> Schema:
    field = _constraint_field(c.constraint)

    def edit(t: Any) -> Any:
        current = next((x for x in getattr(t, field) if x.name == c.constraint.name), c.constraint)
        return replace(t, **_fields(field, _put(getattr(t, field), replace(current, validated=True), _name)))

    return _with_table(s, c.namespace, c.table, edit)


def _part_setter(attr: str, obj_attr: str, drop: bool = False) -> Callable[[Schema, Any], Schema]:
    def apply(s: Schema, c: Any) -> Schema:
        obj = getattr(c, obj_attr)
        if drop:
            return _with_table(s, c.namespace, c.table,
                               lambda t: replace(t, **_fields(attr, _drop(getattr(t, attr), obj.name, _name))))
        return _with_table(s, c.namespace, c.table,
                           lambda t: replace(t, **_fields(attr, _put(getattr(t, attr), obj, _name))))
    return apply


# ---------------------------------------------------------------- views, functions


def _replace_function(s: Schema, c: ch.ReplaceFunction) -> Schema:
    current = next((f for f in s.functions if _function_key(f) == _function_key(c.old)), c.old)
    new = replace(c.new, grants=current.grants, comment=current.comment)
    return _set(s, functions=_put(s.functions, new, _function_key))


# ---------------------------------------------------------------- privileges and comments


def _edit_object(s: Schema, ref: Ref, edit: Callable[[Any], Any], namespace_edit: Callable[[Schema], Schema]) -> Schema:
    kind, ns, name = ref.kind, ref.namespace, ref.name
    if kind == "namespace":
        return namespace_edit(s)
    if kind in ("table", "view") and s.table(ns, name) is not None:
        return _with_table(s, ns, name, edit)
    if kind in ("table", "view"):
        view = s.view(ns, name)
        assert view is not None, f"replay: no relation {ns}.{name}"
        return _set(s, views=_put(s.views, edit(view), _top_key))
    if kind == "sequence":
        seq = next(q for q in s.sequences if (q.namespace, q.name) == (ns, name))
        return _set(s, sequences=_put(s.sequences, edit(seq), _top_key))
    if kind == "function":
        fn = next(f for f in s.functions if (f.namespace, f.signature) == (ns, name)
                  or (f.namespace, f.name) == (ns, name))
        return _set(s, functions=_put(s.functions, edit(fn), _function_key))
    if kind == "type":
        for attr in ("enums", "domains", "composite_types"):
            items = getattr(s, attr)
            found = next((x for x in items if (x.namespace, x.name) == (ns, name)), None)
            if found is not None:
                return _set(s, **{attr: _put(items, edit(found), _top_key)})
        raise KeyError(f"replay: no type {ns}.{name}")
    if kind in ("column", "constraint", "index", "trigger", "policy"):
        return _edit_part(s, ref, edit)
    raise KeyError(f"replay: cannot find {ref}")


def _edit_part(s: Schema, ref: Ref, edit: Callable[[Any], Any]) -> Schema:
    if ref.kind == "index":  # by table and name on MySQL, by name elsewhere (deps.index_ref)
        found = find_index(s, ref)
        assert found is not None, f"replay: no index {ref}"
        table, part = found[0].name, found[1].name
    else:
        table, part = ref.name.split(".", 1)
    fields = {"column": ("columns",), "index": ("indexes",), "trigger": ("triggers",), "policy": ("policies",),
              "constraint": ("uniques", "foreign_keys", "checks", "exclusions")}[ref.kind]

    def edit_table(t: Any) -> Any:
        if ref.kind == "constraint" and t.primary_key is not None and t.primary_key.name == part:
            return replace(t, primary_key=edit(t.primary_key))
        for f in fields:
            items = getattr(t, f)
            if any(x.name == part for x in items):
                new = tuple(edit(x) if x.name == part else x for x in items)
                return replace(t, **{f: new})
        raise KeyError(f"replay: no {ref}")

    return _with_table(s, ref.namespace, table, edit_table)


def _grant(s: Schema, c: ch.GrantPrivilege) -> Schema:
    def ns_edit(s: Schema) -> Schema:
        entry = (c.target.name or c.target.namespace, c.grant)
        return _set(s, namespace_grants=tuple(sorted({*s.namespace_grants, entry},
                                                     key=lambda e: (e[0], *_grant_key(e[1])))))
    return _edit_object(s, c.target, lambda o: replace(o, grants=_put(o.grants, c.grant, _grant_key)), ns_edit)


def _revoke(s: Schema, c: ch.RevokePrivilege) -> Schema:
    def ns_edit(s: Schema) -> Schema:
        entry = (c.target.name or c.target.namespace, c.grant)
        return _set(s, namespace_grants=tuple(e for e in s.namespace_grants if e != entry))
    return _edit_object(s, c.target, lambda o: replace(o, grants=_drop(o.grants, _grant_key(c.grant), _grant_key)),
                        ns_edit)


def _comment(s: Schema, c: ch.SetComment) -> Schema:
    def ns_edit(s: Schema) -> Schema:
        ns = c.target.name or c.target.namespace
        rest = tuple(e for e in s.namespace_comments if e[0] != ns)
        return _set(s, namespace_comments=tuple(sorted(rest + (((ns, c.comment),) if c.comment is not None else ()))))
    return _edit_object(s, c.target, lambda o: replace(o, comment=c.comment), ns_edit)


_HANDLERS: dict[type, Callable[[Schema, Any], Schema]] = {
    ch.CreateNamespace: _create_namespace,
    ch.DropNamespace: _drop_namespace,
    ch.CreateExtension: _put_top("extensions", "extension", _ext_key),
    ch.DropExtension: _drop_top("extensions", "extension", _ext_key),
    ch.AlterExtensionVersion: _put_top("extensions", "new", _ext_key),
    ch.CreateCollation: _put_top("collations", "collation"),
    ch.DropCollation: _drop_top("collations", "collation"),
    ch.CreateEnum: _put_top("enums", "enum"),
    ch.DropEnum: _drop_top("enums", "enum"),
    ch.AddEnumValue: _add_enum_value,
    ch.RenameEnumValue: _rename_enum_value,
    ch.RecreateEnum: _recreate_enum,
    ch.RenameEnum: _rename_enum,
    ch.CreateDomain: _put_top("domains", "domain"),
    ch.DropDomain: _drop_top("domains", "domain"),
    ch.AlterDomain: _put_top("domains", "new"),
    ch.RecreateDomain: _recreate_domain,
    ch.CreateCompositeType: _put_top("composite_types", "type"),
    ch.DropCompositeType: _drop_top("composite_types", "type"),
    ch.AlterCompositeType: _put_top("composite_types", "new"),
    ch.CreateSequence: _put_top("sequences", "sequence"),
    ch.DropSequence: _drop_top("sequences", "sequence"),
    ch.AlterSequence: _alter_sequence,
    ch.SetSequenceOwner: _set_sequence_owner,
    ch.CreateTable: _put_top("tables", "table"),
    ch.DropTable: _drop_top("tables", "table"),
    ch.RenameTable: _rename_table,
    ch.AlterTable: _alter_table,
    ch.RebuildTable: _rebuild_table,
    ch.AddColumn: _add_column,
    ch.DropColumn: _drop_column,
    ch.RenameColumn: _rename_column,
    ch.AlterColumn: _alter_column,
    ch.AddConstraint: _add_constraint,
    ch.DropConstraint: _drop_constraint,
    ch.ValidateConstraint: _validate_constraint,
    ch.CreateIndex: _part_setter("indexes", "index"),
    ch.DropIndex: _part_setter("indexes", "index", drop=True),
    ch.CreateTrigger: _part_setter("triggers", "trigger"),
    ch.DropTrigger: _part_setter("triggers", "trigger", drop=True),
    ch.SetTriggerEnabled: _part_setter("triggers", "trigger"),
    ch.CreatePolicy: _part_setter("policies", "policy"),
    ch.DropPolicy: _part_setter("policies", "policy", drop=True),
    ch.CreateView: _put_top("views", "view"),
    ch.DropView: _drop_top("views", "view"),
    ch.CreateFunction: _put_top("functions", "function", _function_key),
    ch.DropFunction: _drop_top("functions", "function", _function_key),
    ch.ReplaceFunction: _replace_function,
    ch.GrantPrivilege: _grant,
    ch.RevokePrivilege: _revoke,
    ch.SetComment: _comment,
}

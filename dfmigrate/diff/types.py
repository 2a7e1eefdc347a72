"""User-defined types: enums, domains, composite types, collations."""

from __future__ import annotations

from dfmigrate.core.changes import (
    AddEnumValue,
    AlterCompositeType,
    AlterDomain,
    RecreateDomain,
    Change,
    CreateCollation,
    CreateCompositeType,
    CreateDomain,
    CreateEnum,
    DropCollation,
    DropCompositeType,
    DropDomain,
    DropEnum,
    TypeColumnUse,
    RecreateEnum,
    RenameEnum,
)
from dfmigrate.core.deps import table_texts
from dfmigrate.diff._lists import diff_by_key
from dfmigrate.core.schema import CompositeType, Domain, Enum, Schema


def _key(obj) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return (obj.namespace, obj.name)


def compare_enums(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.enums, new.enums, key=_key,
                       renamed_from=lambda e: [(e.namespace, r) for r in e.renamed_from])
    changes: list[Change] = [CreateEnum(e) for e in diff.added]
    changes += [DropEnum(e) for e in diff.removed]
    for o, n in diff.renamed:
        changes.append(RenameEnum(o, n))
        changes += _enum_values(o, n, old, new)
    for o, n in diff.changed:
        changes += _enum_values(o, n, old, new)
    return changes


def _enum_values(old: Enum, new: Enum, old_schema: Schema, new_schema: Schema) -> list[Change]:
    if old.labels == new.labels:
        return []
    positions = [new.labels.index(label) for label in old.labels if label in new.labels]
    kept_in_order = len(positions) == len(old.labels) and positions == sorted(positions)
    added = [label for label in new.labels if label not in old.labels]
    # A value added by ALTER TYPE ... ADD VALUE cannot be used before its transaction commits:
    # when the same migration uses it (a default, a view, a check), recreate the type instead.
    if not kept_in_order or _used_in(added, new_schema):
        return [RecreateEnum(old, new, enum_columns(old, new, old_schema, new_schema))]
    # Only additions: ADD VALUE each new label next to a neighbour that exists by then.
    changes: list[Change] = []
    present = list(old.labels)
    for i, label in enumerate(new.labels):
        if label in present:
            continue
        if i == 0:
            following = next((x for x in new.labels[1:] if x in present), None)
            changes.append(AddEnumValue(new, label, before=following))
            present.insert(present.index(following) if following else len(present), label)
        elif new.labels[i - 1] == present[-1]:
            changes.append(AddEnumValue(new, label))
            present.append(label)
        else:
            changes.append(AddEnumValue(new, label, after=new.labels[i - 1]))
            present.insert(present.index(new.labels[i - 1]) + 1, label)
    return changes


def _used_in(labels: list[str], schema: Schema) -> bool:
    if not labels:
        return False
    literals = ["'" + label.replace("'", "''") + "'" for label in labels]
    tables = table_texts(schema)
    return any(lit in v.definition for v in schema.views for lit in literals) or any(
        tables.mentions(lit) for lit in literals)


def enum_type_names(*schemas: Schema) -> frozenset[str]:
    """Every spelling of every enum type of the schemas, as a column type may print it."""
    return frozenset(n for s in schemas for e in s.enums for n in _type_names(e))


def _type_names(enum: Enum | Domain) -> set[str]:
    """How a column's type text can name the enum (qualified or bare, quoted or not)."""
    q = '"' + enum.name.replace('"', '""') + '"'
    nsq = '"' + enum.namespace.replace('"', '""') + '"'
    return {enum.name, q, f"{enum.namespace}.{enum.name}", f"{nsq}.{q}", f"{enum.namespace}.{q}", f"{nsq}.{enum.name}"}


def enum_columns(old: Enum, new: Enum, old_schema: Schema, new_schema: Schema) -> tuple[TypeColumnUse, ...]:
    """Columns of the new schema typed by the enum that exist already (new columns are created
    with the new type and need no conversion)."""
    return type_columns(_type_names(old) | _type_names(new), old_schema, new_schema)


def type_columns(names: set[str], old_schema: Schema, new_schema: Schema) -> tuple[TypeColumnUse, ...]:
    """Existing columns typed by a type of one of these spellings, on both sides."""
    uses = []
    for table in new_schema.tables:
        before = old_schema.table(table.namespace, table.name)
        for col in table.columns:
            if col.type.removesuffix("[]") not in names:
                continue
            old_col = before.column(col.name) if before else None
            if old_col is None or old_col.type.removesuffix("[]") not in names:
                continue
            uses.append(TypeColumnUse(table.namespace, table.name, col.name, col.type,
                                      old_col.default, col.default))
    return tuple(uses)


def compare_domains(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.domains, new.domains, key=_key)
    changes: list[Change] = [CreateDomain(d) for d in diff.added]
    changes += [DropDomain(d) for d in diff.removed]
    for o, n in diff.changed:
        if (o.base_type, o.collation) != (n.base_type, n.collation):  # ALTER DOMAIN cannot change either
            uses = type_columns(_type_names(o) | _type_names(n), old, new)
            changes += [RecreateDomain(o, n, uses)] if uses else [DropDomain(o), CreateDomain(n)]
        elif _domain_body(o) != _domain_body(n):
            changes.append(AlterDomain(o, n))
    return changes


def _domain_body(dom: Domain) -> tuple[object, ...]:
    # depends_on is derived from the checks (pg_depend): it changes with them, never alone
    return (dom.nullable, dom.default, dom.checks)


def compare_composite_types(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.composite_types, new.composite_types, key=_key)
    changes: list[Change] = [CreateCompositeType(t) for t in diff.added]
    changes += [DropCompositeType(t) for t in diff.removed]
    for o, n in diff.changed:
        if o.attributes == n.attributes:
            continue  # only depends_on differs: nothing to do
        if attributes_alterable(o, n):
            changes.append(AlterCompositeType(o, n))
        else:
            changes += [DropCompositeType(o), CreateCompositeType(n)]
    return changes


def attributes_alterable(old: CompositeType, new: CompositeType) -> bool:
    """ALTER TYPE drops attributes anywhere but adds them only at the end: the new list must be
    the surviving old attributes, in their order, followed by the new ones."""
    old_names = [a.name for a in old.attributes]
    new_names = [a.name for a in new.attributes]
    kept = [name for name in new_names if name in old_names]
    if kept != [name for name in old_names if name in new_names]:
        return False
    return new_names[:len(kept)] == kept


def compare_collations(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.collations, new.collations, key=_key)
    changes: list[Change] = [CreateCollation(c) for c in diff.added]
    changes += [DropCollation(c) for c in diff.removed]
    for o, n in diff.changed:
        changes += [DropCollation(o), CreateCollation(n)]
    return changes

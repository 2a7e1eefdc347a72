"""Schemas, extensions, collations, enums, domains, composite types and sequences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dfmigrate.core.changes import (
    AddEnumValue,
    AlterCompositeType,
    AlterDomain,
    AlterExtensionVersion,
    AlterSequence,
    CreateCollation,
    CreateCompositeType,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateNamespace,
    CreateSequence,
    DropCollation,
    DropCompositeType,
    DropDomain,
    DropEnum,
    DropExtension,
    DropNamespace,
    DropSequence,
    TypeColumnUse,
    RecreateDomain,
    RecreateEnum,
    RenameEnum,
    RenameEnumValue,
    SetSequenceOwner,
)
from dfmigrate.dialects.postgres.hazards import Op
from dfmigrate.dialects.postgres.quote import (
    qualified,
    quote_dotted,
    quote_ident,
    quote_literal,
    quote_name_text,
)
from dfmigrate.dialects.postgres.render_common import (
    alter_table,
    comment_sql,
    constraint_clause,
    rel,
    sequence_clauses,
    stmt,
)
from dfmigrate.core.schema import Collation, CompositeType, Domain, Enum, Extension, Sequence
from dfmigrate.core.statement import Hazard, Statement

# ---------------------------------------------------------------- schemas, extensions, collations


def create_namespace(change: CreateNamespace) -> list[Statement]:
    name = quote_ident(change.name)
    return [stmt(f"CREATE SCHEMA {name}", change, Op.CREATE_OBJECT,
                 reverse=[f"DROP SCHEMA {name}"])]


def drop_namespace(change: DropNamespace) -> list[Statement]:
    name = quote_ident(change.name)
    return [stmt(f"DROP SCHEMA {name}", change, Op.DROP_OBJECT, reverse=[f"CREATE SCHEMA {name}"])]


def _create_extension_sql(ext: Extension) -> str:
    sql = (f"CREATE EXTENSION IF NOT EXISTS {quote_ident(ext.name)} "
           f"WITH SCHEMA {quote_ident(ext.namespace)}")
    return sql + (f" VERSION {quote_literal(ext.version)}" if ext.version else "")


def create_extension(change: CreateExtension) -> list[Statement]:
    return [stmt(_create_extension_sql(change.extension), change, Op.CREATE_OBJECT,
                 reverse=[f"DROP EXTENSION {quote_ident(change.extension.name)}"])]


def drop_extension(change: DropExtension) -> list[Statement]:
    return [stmt(f"DROP EXTENSION {quote_ident(change.extension.name)}", change, Op.DROP_OBJECT,
                 reverse=[_create_extension_sql(change.extension)])]


def _update_extension_sql(ext: Extension) -> str:
    # no version = the extension's default version
    tail = f" TO {quote_literal(ext.version)}" if ext.version else ""
    return f"ALTER EXTENSION {quote_ident(ext.name)} UPDATE{tail}"


def alter_extension_version(change: AlterExtensionVersion) -> list[Statement]:
    return [stmt(_update_extension_sql(change.new), change, Op.ALTER_OBJECT,
                 reverse=[_update_extension_sql(change.old)])]


def _create_collation_sql(coll: Collation) -> str:
    options = [f"provider = {coll.provider}"]
    if coll.locale is not None:
        options.append(f"locale = {quote_literal(coll.locale)}")
    if coll.lc_collate is not None:
        options.append(f"lc_collate = {quote_literal(coll.lc_collate)}")
    if coll.lc_ctype is not None:
        options.append(f"lc_ctype = {quote_literal(coll.lc_ctype)}")
    if not coll.deterministic:
        options.append("deterministic = false")
    return f"CREATE COLLATION {qualified(coll.namespace, coll.name)} ({', '.join(options)})"


def create_collation(change: CreateCollation) -> list[Statement]:
    coll = change.collation
    return [stmt(_create_collation_sql(coll), change, Op.CREATE_OBJECT,
                 reverse=[f"DROP COLLATION {qualified(coll.namespace, coll.name)}"])]


def drop_collation(change: DropCollation) -> list[Statement]:
    coll = change.collation
    return [stmt(f"DROP COLLATION {qualified(coll.namespace, coll.name)}", change, Op.DROP_OBJECT,
                 reverse=[_create_collation_sql(coll)])]


# ---------------------------------------------------------------- enums


def _create_enum_sql(enum: Enum) -> str:
    labels = ", ".join(quote_literal(label) for label in enum.labels)
    return f"CREATE TYPE {qualified(enum.namespace, enum.name)} AS ENUM ({labels})"


def create_enum(change: CreateEnum) -> list[Statement]:
    enum = change.enum
    name = qualified(enum.namespace, enum.name)
    out = [stmt(_create_enum_sql(enum), change, Op.CREATE_OBJECT, reverse=[f"DROP TYPE {name}"])]
    if enum.comment is not None:
        out.append(stmt(comment_sql(f"TYPE {name}", enum.comment), change, Op.COMMENT))
    return out


def drop_enum(change: DropEnum) -> list[Statement]:
    name = qualified(change.enum.namespace, change.enum.name)
    return [stmt(f"DROP TYPE {name}", change, Op.DROP_OBJECT,
                 reverse=[_create_enum_sql(change.enum)])]


def add_enum_value(change: AddEnumValue) -> list[Statement]:
    sql = (f"ALTER TYPE {qualified(change.enum.namespace, change.enum.name)} "
           f"ADD VALUE {quote_literal(change.label)}")
    if change.before is not None:
        sql += f" BEFORE {quote_literal(change.before)}"
    elif change.after is not None:
        sql += f" AFTER {quote_literal(change.after)}"
    # PostgreSQL 12+ runs it in a transaction, but the new label is unusable until commit
    note = (f"enum value {change.label!r} cannot be used before this transaction commits; "
            "no statement in this migration may depend on it")
    return [stmt(sql, change, Op.ADD_ENUM_VALUE, comment=note, transactional=True)]


def rename_enum_value(change: RenameEnumValue) -> list[Statement]:
    name = qualified(change.enum.namespace, change.enum.name)
    old, new = quote_literal(change.old_label), quote_literal(change.new_label)
    return [stmt(f"ALTER TYPE {name} RENAME VALUE {old} TO {new}", change, Op.RENAME_OBJECT,
                 reverse=[f"ALTER TYPE {name} RENAME VALUE {new} TO {old}"])]


def _rename_type(change: Any, kind: str, old_ns: str, old: str, new_ns: str, new: str,
                 op: Op = Op.RENAME_OBJECT) -> list[Statement]:
    """RENAME TO and/or SET SCHEMA for a type-like object, each with its reverse."""
    out = []
    if old != new:
        sql = f"ALTER {kind} {qualified(old_ns, old)} RENAME TO {quote_ident(new)}"
        back = f"ALTER {kind} {qualified(old_ns, new)} RENAME TO {quote_ident(old)}"
        out.append(stmt(sql, change, op, reverse=[back]))
    if old_ns != new_ns:
        sql = f"ALTER {kind} {qualified(old_ns, new)} SET SCHEMA {quote_ident(new_ns)}"
        back = f"ALTER {kind} {qualified(new_ns, new)} SET SCHEMA {quote_ident(old_ns)}"
        out.append(stmt(sql, change, op, reverse=[back]))
    return out


def rename_enum(change: RenameEnum) -> list[Statement]:
    old, new = change.old, change.new
    return _rename_type(change, "TYPE", old.namespace, old.name, new.namespace, new.name)


def _convert_enum_column(change: RecreateEnum, use: TypeColumnUse) -> list[Statement]:
    # through text: the old and new enum have no cast between them
    return _convert_column(change, use, "text", Op.CONVERT_ENUM_COLUMN)


def _convert_column(change: Any, use: TypeColumnUse, through: str, op: Op) -> list[Statement]:
    head = f"{alter_table(use.namespace, use.table)} ALTER COLUMN {quote_ident(use.column)}"
    target = rel(use.namespace, use.table)
    via = f"{through}[]" if use.type.endswith("[]") else through
    out = []
    if use.old_default is not None:
        out.append(stmt(f"{head} DROP DEFAULT", change, Op.ALTER_COLUMN, target))
    out.append(stmt(f"{head} TYPE {use.type} USING {quote_ident(use.column)}::{via}::{use.type}",
                    change, op, target))
    if use.new_default is not None:
        out.append(stmt(f"{head} SET DEFAULT {use.new_default}", change, Op.ALTER_COLUMN, target))
    return out


def _parked_name(name: str) -> str:
    """Where the old enum waits while columns convert; shortened so that PostgreSQL's 63-byte
    truncation cannot make it collide with the name itself."""
    suffix = "__old_dfm"
    return name.encode()[:63 - len(suffix)].decode(errors="ignore") + suffix


def recreate_enum(change: RecreateEnum) -> list[Statement]:
    """Labels removed or reordered: ADD VALUE cannot do it, so build a new type and convert
    every column through text. A row holding a removed label makes the conversion fail."""
    old, new = change.old, change.new
    parked = _parked_name(old.name)
    out = _rename_type(change, "TYPE", old.namespace, old.name, old.namespace, parked,
                       op=Op.ALTER_OBJECT)
    out.append(stmt(_create_enum_sql(new), change, Op.CREATE_OBJECT))
    for use in change.columns:
        out += _convert_enum_column(change, use)
    out.append(stmt(f"DROP TYPE {qualified(old.namespace, parked)}", change, Op.DROP_OBJECT))
    return out


# ---------------------------------------------------------------- domains, composite types


def create_domain(change: CreateDomain) -> list[Statement]:
    return _create_domain(change.domain, change)


def _create_domain(dom: Domain, change: Any) -> list[Statement]:
    name = qualified(dom.namespace, dom.name)
    sql = f"CREATE DOMAIN {name} AS {dom.base_type}"
    if dom.collation:
        sql += f" COLLATE {quote_name_text(dom.collation)}"
    if dom.default is not None:
        sql += f" DEFAULT {dom.default}"
    if not dom.nullable:
        sql += " NOT NULL"
    for check in dom.checks:
        if check.validated:
            sql += f" {constraint_clause(check)}"
    out = [stmt(sql, change, Op.CREATE_OBJECT, reverse=[f"DROP DOMAIN {name}"])]
    for check in dom.checks:  # NOT VALID cannot be declared inline
        if not check.validated:
            out.append(stmt(f"ALTER DOMAIN {name} ADD {constraint_clause(check)}", change,
                            Op.ALTER_OBJECT))
    return out


def recreate_domain(change: RecreateDomain) -> list[Statement]:
    """A new base type or collation under columns that use the domain: park the old domain
    under another name, create the new one, convert each column through the old base type (a
    value the new domain rejects fails the step), drop the old domain."""
    old, new = change.old, change.new
    parked = _parked_name(old.name)
    out = _rename_type(change, "DOMAIN", old.namespace, old.name, old.namespace, parked, op=Op.ALTER_OBJECT)
    out += _create_domain(new, change)
    for use in change.columns:
        out += _convert_column(change, use, old.base_type, Op.ALTER_COLUMN_TYPE)
    out.append(stmt(f"DROP DOMAIN {qualified(old.namespace, parked)}", change, Op.DROP_OBJECT))
    return out


def drop_domain(change: DropDomain) -> list[Statement]:
    name = qualified(change.domain.namespace, change.domain.name)
    recreate = [s.sql for s in create_domain(CreateDomain(change.domain))]
    return [stmt(f"DROP DOMAIN {name}", change, Op.DROP_OBJECT, reverse=recreate)]


def alter_domain(change: AlterDomain) -> list[Statement]:
    """Each difference as its own ALTER DOMAIN, with its inverse. Adding a CHECK or NOT NULL
    checks every value in every column of the domain (a violating row fails the step)."""
    old, new = change.old, change.new
    name = qualified(new.namespace, new.name)
    out: list[Statement] = []

    def step(sql: str, op: Op, undo: str) -> None:
        out.append(stmt(f"ALTER DOMAIN {name} {sql}", change, op, reverse=[f"ALTER DOMAIN {name} {undo}"]))

    kept = {c.name: c for c in new.checks}
    for check in old.checks:  # a changed check keeps its name: drop it before adding it back
        now = kept.get(check.name)
        if now is None or now.expression != check.expression or (check.validated and not now.validated):
            step(f"DROP CONSTRAINT {quote_ident(check.name)}", Op.DROP_CONSTRAINT, f"ADD {constraint_clause(check)}")
    if old.default != new.default:
        undo = f"SET DEFAULT {old.default}" if old.default is not None else "DROP DEFAULT"
        step(f"SET DEFAULT {new.default}" if new.default is not None else "DROP DEFAULT", Op.ALTER_OBJECT, undo)
    if old.nullable and not new.nullable:
        step("SET NOT NULL", Op.SET_NOT_NULL, "DROP NOT NULL")
    elif new.nullable and not old.nullable:
        step("DROP NOT NULL", Op.ALTER_OBJECT, "SET NOT NULL")
    had = {c.name: c for c in old.checks}
    for check in new.checks:
        before = had.get(check.name)
        drop = f"DROP CONSTRAINT {quote_ident(check.name)}"
        if before is None or before.expression != check.expression or (before.validated and not check.validated):
            op = Op.ADD_CHECK if check.validated else Op.ADD_CHECK_NOT_VALID
            step(f"ADD {constraint_clause(check)}", op, drop)
        elif check.validated and not before.validated:
            # PostgreSQL cannot mark a constraint NOT VALID again: the inverse re-adds it so
            step(f"VALIDATE CONSTRAINT {quote_ident(check.name)}", Op.VALIDATE_CONSTRAINT, drop)
            out[-1] = replace(out[-1], reverse=(f"ALTER DOMAIN {name} {drop}",
                                                f"ALTER DOMAIN {name} ADD {constraint_clause(before)}"))
    return out


def alter_composite_type(change: AlterCompositeType) -> list[Statement]:
    """Drops, then retypes, then additions (ALTER TYPE appends). Retyping an attribute is
    refused by PostgreSQL while a table column uses the type; dropping one loses its values."""
    old, new = change.old, change.new
    name = qualified(new.namespace, new.name)
    before = {a.name: a for a in old.attributes}
    after = {a.name: a for a in new.attributes}
    out: list[Statement] = []
    for attr in old.attributes:
        if attr.name not in after:
            out.append(stmt(f"ALTER TYPE {name} DROP ATTRIBUTE {quote_ident(attr.name)}", change,
                            Op.ALTER_OBJECT, reverse=[f"ALTER TYPE {name} ADD ATTRIBUTE {_attribute(attr)}"],
                            extra=(Hazard.DELETES_DATA,)))
    for attr in new.attributes:
        was = before.get(attr.name)
        if was is not None and (was.type, was.collation) != (attr.type, attr.collation):
            out.append(stmt(f"ALTER TYPE {name} ALTER ATTRIBUTE {quote_ident(attr.name)} SET DATA TYPE "
                            f"{_attribute(attr, named=False)}", change, Op.ALTER_OBJECT,
                            reverse=[f"ALTER TYPE {name} ALTER ATTRIBUTE {quote_ident(attr.name)} "
                                     f"SET DATA TYPE {_attribute(was, named=False)}"]))
    for attr in new.attributes:
        if attr.name not in before:
            out.append(stmt(f"ALTER TYPE {name} ADD ATTRIBUTE {_attribute(attr)}", change, Op.ALTER_OBJECT,
                            reverse=[f"ALTER TYPE {name} DROP ATTRIBUTE {quote_ident(attr.name)}"]))
    return out


def _attribute(attr: Any, named: bool = True) -> str:
    collate = f" COLLATE {quote_name_text(attr.collation)}" if attr.collation else ""
    return f"{quote_ident(attr.name) + ' ' if named else ''}{attr.type}{collate}"


def _create_composite_sql(ctype: CompositeType) -> str:
    attrs = []
    for attr in ctype.attributes:
        collate = f" COLLATE {quote_name_text(attr.collation)}" if attr.collation else ""
        attrs.append(f"{quote_ident(attr.name)} {attr.type}{collate}")
    return f"CREATE TYPE {qualified(ctype.namespace, ctype.name)} AS ({', '.join(attrs)})"


def create_composite_type(change: CreateCompositeType) -> list[Statement]:
    name = qualified(change.type.namespace, change.type.name)
    return [stmt(_create_composite_sql(change.type), change, Op.CREATE_OBJECT,
                 reverse=[f"DROP TYPE {name}"])]


def drop_composite_type(change: DropCompositeType) -> list[Statement]:
    name = qualified(change.type.namespace, change.type.name)
    return [stmt(f"DROP TYPE {name}", change, Op.DROP_OBJECT,
                 reverse=[_create_composite_sql(change.type)])]


# ---------------------------------------------------------------- sequences


def _create_sequence_sql(seq: Sequence) -> str:
    clauses = sequence_clauses(seq.options)
    tail = (" " + " ".join(clauses)) if clauses else ""
    return f"CREATE SEQUENCE {qualified(seq.namespace, seq.name)}{tail}"


def create_sequence(change: CreateSequence) -> list[Statement]:
    seq = change.sequence
    out = [stmt(_create_sequence_sql(seq), change, Op.CREATE_OBJECT,
                reverse=[f"DROP SEQUENCE {qualified(seq.namespace, seq.name)}"])]
    if seq.comment is not None:
        out.append(stmt(comment_sql(f"SEQUENCE {qualified(seq.namespace, seq.name)}", seq.comment), change, Op.COMMENT))
    return out


def drop_sequence(change: DropSequence) -> list[Statement]:
    seq = change.sequence
    return [stmt(f"DROP SEQUENCE {qualified(seq.namespace, seq.name)}", change, Op.DROP_SEQUENCE,
                 reverse=[_create_sequence_sql(seq)])]


def alter_sequence(change: AlterSequence) -> list[Statement]:
    old, new = change.old, change.new
    out = _rename_type(change, "SEQUENCE", old.namespace, old.name, new.namespace, new.name)
    head = f"ALTER SEQUENCE {qualified(new.namespace, new.name)}"
    forward = sequence_clauses(new.options, old.options)
    if forward:
        back = sequence_clauses(old.options, new.options)
        out.append(stmt(f"{head} {' '.join(forward)}", change, Op.ALTER_OBJECT,
                        reverse=[f"{head} {' '.join(back)}"]))
    return out


def set_sequence_owner(change: SetSequenceOwner) -> list[Statement]:
    seq = change.sequence
    owner = quote_dotted(seq.owned_by) if seq.owned_by else "NONE"
    sql = f"ALTER SEQUENCE {qualified(seq.namespace, seq.name)} OWNED BY {owner}"
    return [stmt(sql, change, Op.ALTER_OBJECT)]


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    CreateNamespace: create_namespace,
    DropNamespace: drop_namespace,
    CreateExtension: create_extension,
    DropExtension: drop_extension,
    AlterExtensionVersion: alter_extension_version,
    CreateCollation: create_collation,
    DropCollation: drop_collation,
    CreateEnum: create_enum,
    DropEnum: drop_enum,
    AddEnumValue: add_enum_value,
    RenameEnumValue: rename_enum_value,
    RenameEnum: rename_enum,
    RecreateEnum: recreate_enum,
    CreateDomain: create_domain,
    DropDomain: drop_domain,
    AlterDomain: alter_domain,
    RecreateDomain: recreate_domain,
    AlterCompositeType: alter_composite_type,
    CreateCompositeType: create_composite_type,
    DropCompositeType: drop_composite_type,
    CreateSequence: create_sequence,
    DropSequence: drop_sequence,
    AlterSequence: alter_sequence,
    SetSequenceOwner: set_sequence_owner,
}

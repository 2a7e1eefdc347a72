"""Typed changes: what the diff decides and the renderers turn into SQL.

A change is plain data: it carries the objects it acts on (and, for modifications, both the old
and the new value) so that rendering, hazard analysis and reversal never need the schemas again.
Table-scoped changes name their table by ``namespace`` and ``table``.

``subject`` is the object a change creates, drops or modifies; the planner orders changes by the
dependencies between subjects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dfmigrate.core.schema import (
    Collation,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Extension,
    Function,
    Grant,
    Index,
    Policy,
    Ref,
    Sequence,
    Table,
    Trigger,
    View,
)


# ---------------------------------------------------------------- namespaces, extensions, types


@dataclass(frozen=True)
class CreateNamespace:
    name: str


@dataclass(frozen=True)
class DropNamespace:
    name: str


@dataclass(frozen=True)
class CreateExtension:
    extension: Extension


@dataclass(frozen=True)
class DropExtension:
    extension: Extension


@dataclass(frozen=True)
class AlterExtensionVersion:
    old: Extension
    new: Extension


@dataclass(frozen=True)
class CreateCollation:
    collation: Collation


@dataclass(frozen=True)
class DropCollation:
    collation: Collation


@dataclass(frozen=True)
class CreateEnum:
    enum: Enum


@dataclass(frozen=True)
class DropEnum:
    enum: Enum


@dataclass(frozen=True)
class AddEnumValue:
    """ALTER TYPE ... ADD VALUE: only appends or inserts, never removes or reorders."""

    enum: Enum  # the new enum
    label: str
    before: str | None = None  # insert before this existing label; None = append
    after: str | None = None


@dataclass(frozen=True)
class RenameEnumValue:
    enum: Enum
    old_label: str
    new_label: str


@dataclass(frozen=True)
class TypeColumnUse:
    """A column whose type is a recreated enum or domain (or an array of it)."""

    namespace: str
    table: str
    column: str
    type: str  # the column's type text (the enum or an array of it)
    old_default: str | None
    new_default: str | None


@dataclass(frozen=True)
class RecreateEnum:
    """Values removed or reordered: rename the old type away, create the new one, convert each
    using column through text, restore defaults, drop the old type. Views reading those columns
    are dropped before and recreated after by separate changes."""

    old: Enum
    new: Enum
    columns: tuple[TypeColumnUse, ...]


@dataclass(frozen=True)
class RenameEnum:
    old: Enum
    new: Enum


@dataclass(frozen=True)
class CreateDomain:
    domain: Domain


@dataclass(frozen=True)
class DropDomain:
    domain: Domain


@dataclass(frozen=True)
class RecreateDomain:
    """A base type or collation change ALTER DOMAIN cannot make, on a domain columns use: rename
    the old domain away, create the new one, convert each column through the old base type,
    restore defaults, drop the old domain. Views reading those columns are recreated around it."""

    old: Domain
    new: Domain
    columns: tuple[TypeColumnUse, ...]


@dataclass(frozen=True)
class AlterDomain:
    """Default, NOT NULL and CHECK constraints changed in place (ALTER DOMAIN): a domain that
    columns use cannot be dropped, and need not be. Base type and collation changes are a drop
    and create instead."""

    old: Domain
    new: Domain


@dataclass(frozen=True)
class CreateCompositeType:
    type: CompositeType


@dataclass(frozen=True)
class DropCompositeType:
    type: CompositeType


@dataclass(frozen=True)
class AlterCompositeType:
    """Attributes dropped, added at the end, or retyped in place (ALTER TYPE): columns of the
    type keep their values. A reordering is a drop and create instead."""

    old: CompositeType
    new: CompositeType


# ---------------------------------------------------------------- sequences


@dataclass(frozen=True)
class CreateSequence:
    sequence: Sequence  # owned_by is set by a separate SetSequenceOwner once the table exists


@dataclass(frozen=True)
class DropSequence:
    sequence: Sequence


@dataclass(frozen=True)
class AlterSequence:
    old: Sequence
    new: Sequence


@dataclass(frozen=True)
class SetSequenceOwner:
    sequence: Sequence  # sequence.owned_by is the new owner ("ns.table.column") or None


# ---------------------------------------------------------------- tables


@dataclass(frozen=True)
class CreateTable:
    """Columns, primary key, unique, check and exclusion constraints inline. Foreign keys,
    indexes, triggers, policies, comments and grants follow as their own changes, so foreign-key
    cycles and dependencies order like anything else."""

    table: Table


@dataclass(frozen=True)
class DropTable:
    table: Table


@dataclass(frozen=True)
class RenameTable:
    old: Table
    new: Table


class TableChange(enum.Flag):
    NONE = 0
    LOGGED = enum.auto()  # unlogged flag changed
    RLS_ENABLED = enum.auto()
    RLS_FORCED = enum.auto()
    OPTIONS = enum.auto()
    COMMENT = enum.auto()
    INHERITS = enum.auto()
    PARTITION_BOUND = enum.auto()  # attach / detach / change bound of a partition
    REPLICA_IDENTITY = enum.auto()


@dataclass(frozen=True)
class AlterTable:
    old: Table
    new: Table
    changes: TableChange


@dataclass(frozen=True)
class AddColumn:
    namespace: str
    table: str
    column: Column


@dataclass(frozen=True)
class DropColumn:
    namespace: str
    table: str
    column: Column


@dataclass(frozen=True)
class RenameColumn:
    namespace: str
    table: str
    old: Column
    new: Column


class ColumnChange(enum.Flag):
    NONE = 0
    TYPE = enum.auto()
    NULLABLE = enum.auto()
    DEFAULT = enum.auto()
    IDENTITY = enum.auto()  # added, removed or generation changed
    IDENTITY_OPTIONS = enum.auto()
    GENERATED = enum.auto()  # the generated expression changed or was dropped
    COLLATION = enum.auto()
    COMMENT = enum.auto()
    ATTRIBUTES = enum.auto()  # MySQL ON UPDATE, INVISIBLE (AUTO_INCREMENT is IDENTITY, as on SQLite)


@dataclass(frozen=True)
class AlterColumn:
    namespace: str
    table: str
    old: Column
    new: Column
    changes: ColumnChange
    using: str | None = None  # the USING expression for a TYPE change, when a cast is needed


@dataclass(frozen=True)
class AddConstraint:
    namespace: str
    table: str
    constraint: Constraint


@dataclass(frozen=True)
class DropConstraint:
    namespace: str
    table: str
    constraint: Constraint


@dataclass(frozen=True)
class ValidateConstraint:
    namespace: str
    table: str
    constraint: Constraint


@dataclass(frozen=True)
class CreateIndex:
    namespace: str
    table: str  # a table or a materialized view
    index: Index


@dataclass(frozen=True)
class DropIndex:
    namespace: str
    table: str
    index: Index


@dataclass(frozen=True)
class CreateTrigger:
    namespace: str
    table: str
    trigger: Trigger


@dataclass(frozen=True)
class DropTrigger:
    namespace: str
    table: str
    trigger: Trigger


@dataclass(frozen=True)
class SetTriggerEnabled:
    namespace: str
    table: str
    trigger: Trigger  # trigger.enabled is the new state


@dataclass(frozen=True)
class CreatePolicy:
    namespace: str
    table: str
    policy: Policy


@dataclass(frozen=True)
class DropPolicy:
    namespace: str
    table: str
    policy: Policy


@dataclass(frozen=True)
class RebuildTable:
    """SQLite only: a change its ALTER TABLE cannot make. Create the new table under a temporary
    name, copy the rows of the columns both share (``column_map``: new name -> old name or
    expression), drop the old table, rename, recreate indexes and triggers, check foreign keys."""

    old: Table
    new: Table
    column_map: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------- views, functions


@dataclass(frozen=True)
class CreateView:
    view: View


@dataclass(frozen=True)
class DropView:
    view: View


@dataclass(frozen=True)
class CreateFunction:
    function: Function


@dataclass(frozen=True)
class DropFunction:
    function: Function


@dataclass(frozen=True)
class ReplaceFunction:
    """Same signature and result type: CREATE OR REPLACE keeps dependents in place."""

    old: Function
    new: Function


# ---------------------------------------------------------------- privileges and comments


@dataclass(frozen=True)
class GrantPrivilege:
    target: Ref  # kind: table, view, sequence, function, namespace
    grant: Grant


@dataclass(frozen=True)
class RevokePrivilege:
    target: Ref
    grant: Grant


@dataclass(frozen=True)
class SetComment:
    target: Ref  # table, view, column ("table.column"), enum (kind "type"), function
    comment: str | None
    object_kind: str | None = None  # when the ref's kind alone does not name it: "MATERIALIZED VIEW"


Change = (
    CreateNamespace | DropNamespace
    | CreateExtension | DropExtension | AlterExtensionVersion
    | CreateCollation | DropCollation
    | CreateEnum | DropEnum | AddEnumValue | RenameEnumValue | RecreateEnum | RenameEnum
    | CreateDomain | DropDomain | AlterDomain | RecreateDomain | CreateCompositeType | DropCompositeType | AlterCompositeType
    | CreateSequence | DropSequence | AlterSequence | SetSequenceOwner
    | CreateTable | DropTable | RenameTable | AlterTable | RebuildTable
    | AddColumn | DropColumn | RenameColumn | AlterColumn
    | AddConstraint | DropConstraint | ValidateConstraint
    | CreateIndex | DropIndex
    | CreateTrigger | DropTrigger | SetTriggerEnabled
    | CreatePolicy | DropPolicy
    | CreateView | DropView
    | CreateFunction | DropFunction | ReplaceFunction
    | GrantPrivilege | RevokePrivilege | SetComment
)


def change_class(change: object) -> type:
    """The class of ``change`` among this module's. A dialect may refine a change for its
    renderer (MySQL's ``PlacedAddColumn``: the column with its place); the refinement is named,
    reported, written into files and replayed as the change it refines."""
    return next((cls for cls in type(change).__mro__ if cls.__module__ == __name__), type(change))

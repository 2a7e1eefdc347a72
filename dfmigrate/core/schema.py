"""The schema model: frozen, behaviour-free dataclasses every source produces and every
consumer reads.

Rules that keep the model comparable across sources (models, live databases, SQL files):
- Objects refer to each other by name (``namespace``, ``table``), never by pointer, so two
  schemas compare with ``==`` and serialize without cycles.
- Collections are tuples sorted by name (columns keep their physical order), so equality and
  JSON output are deterministic.
- Text that only the database can canonicalize (types, default and check expressions, view and
  function bodies) is stored exactly as the dialect's own catalog prints it. PostgreSQL sources
  introspect with ``search_path = ''`` so every name in that text is schema-qualified.
- Objects the database creates implicitly (the index behind a constraint, an identity's sequence,
  constraints and columns a partition or child table inherits) are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Dialect = Literal["postgresql", "sqlite", "mysql"]  # "mysql" covers MariaDB too
DIALECT_NAMES: dict[str, str] = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL"}  # in messages

# A reference to a top-level or table-scoped object, used for dependencies and change subjects.
# kind is one of REF_KINDS; name is "table.object" for objects that live inside a table.
REF_KINDS = (
    "namespace", "extension", "collation", "type", "sequence", "table", "view",
    "function", "column", "constraint", "index", "trigger", "policy",
)


@dataclass(frozen=True, order=True)
class Ref:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}.{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class SequenceOptions:
    """Sequence parameters; None means the dialect default for the data type."""

    data_type: str = "bigint"
    start: int | None = None
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as the dialect prints it: format_type() on PostgreSQL, declared type on SQLite
    nullable: bool = True
    default: str | None = None  # SQL expression text
    identity: Literal["ALWAYS", "BY DEFAULT"] | None = None
    identity_options: SequenceOptions | None = None
    generated: str | None = None  # expression of a generated column
    collation: str | None = None  # only when it differs from the type's default
    comment: str | None = None
    renamed_from: tuple[str, ...] = ()  # declared by models only; never introspected
    autoincrement: bool = False  # SQLite INTEGER PRIMARY KEY AUTOINCREMENT; MySQL AUTO_INCREMENT
    # a generated column's kind: STORED is written on change, VIRTUAL computed on read (SQLite, MySQL)
    generated_kind: Literal["STORED", "VIRTUAL"] = "STORED"
    on_update: str | None = None  # MySQL ON UPDATE expression, e.g. "current_timestamp(6)"
    invisible: bool = False  # MySQL/MariaDB INVISIBLE: left out of SELECT *

    @property
    def required_without_default(self) -> bool:
        """NOT NULL with nothing that fills the rows a table already has: adding it fails on a
        table with rows (unless backfilled), and the release still running inserts without it."""
        return (not self.nullable and self.default is None and not self.identity
                and self.generated is None and not self.autoincrement)


# Constraint names: always present on PostgreSQL. On SQLite an empty name is a constraint the
# user declared without CONSTRAINT <name>: it stays unnamed and is identified by its definition.


@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None
    on_conflict: str | None = None  # SQLite: ROLLBACK, ABORT, FAIL, IGNORE or REPLACE


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    deferrable: bool = False
    initially_deferred: bool = False
    nulls_not_distinct: bool = False
    include: tuple[str, ...] = ()
    comment: str | None = None
    on_conflict: str | None = None  # SQLite: ROLLBACK, ABORT, FAIL, IGNORE or REPLACE


FkAction = Literal["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_namespace: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: FkAction = "NO ACTION"
    on_update: FkAction = "NO ACTION"
    match: Literal["SIMPLE", "FULL", "PARTIAL"] = "SIMPLE"
    deferrable: bool = False
    initially_deferred: bool = False
    validated: bool = True  # False = NOT VALID
    comment: str | None = None


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str  # without the CHECK keyword, as the dialect prints it (PostgreSQL: "(price > 0)")
    validated: bool = True  # False = NOT VALID
    no_inherit: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class ExclusionConstraint:
    """PostgreSQL EXCLUDE constraints are kept as the catalog's definition text: they have no
    portable structure worth modelling and only PostgreSQL has them."""

    name: str
    definition: str  # pg_get_constraintdef(), e.g. "EXCLUDE USING gist (c WITH &&)"
    comment: str | None = None


Constraint = PrimaryKey | UniqueConstraint | ForeignKey | CheckConstraint | ExclusionConstraint


@dataclass(frozen=True)
class IndexPart:
    column: str | None = None  # exactly one of column / expression is set
    expression: str | None = None
    descending: bool = False
    nulls_first: bool | None = None  # None = the default for the direction
    opclass: str | None = None  # only when not the default operator class
    collation: str | None = None  # only when not the column's collation
    length: int | None = None  # MySQL prefix length: KEY (name(10))


@dataclass(frozen=True)
class Index:
    name: str
    parts: tuple[IndexPart, ...]
    unique: bool = False
    method: str = "btree"
    where: str | None = None  # partial index predicate, without WHERE
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    options: tuple[str, ...] = ()  # storage parameters, e.g. ("fillfactor=70",)
    comment: str | None = None


@dataclass(frozen=True)
class Trigger:
    name: str
    definition: str  # pg_get_triggerdef(); SQLite: the CREATE TRIGGER text
    function: Ref | None = None  # the trigger function (PostgreSQL)
    enabled: Literal["O", "D", "R", "A"] = "O"  # pg_trigger.tgenabled
    comment: str | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    permissive: bool = True
    command: Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"] = "ALL"
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Grant:
    """One privilege on one object for one grantee (opt-in: only introspected on request)."""

    grantee: str
    privilege: str  # SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, USAGE, EXECUTE
    grantable: bool = False


@dataclass(frozen=True)
class Table:
    namespace: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    uniques: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    exclusions: tuple[ExclusionConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    grants: tuple[Grant, ...] = ()
    unlogged: bool = False
    partition_by: str | None = None  # pg_get_partkeydef(), e.g. "RANGE (logdate)"
    partition_of: str | None = None  # "namespace.parent" of a partition
    partition_bound: str | None = None  # "FOR VALUES FROM (...) TO (...)" or "DEFAULT"
    inherits: tuple[str, ...] = ()  # "namespace.parent", in inheritance order
    rls_enabled: bool = False
    rls_forced: bool = False
    options: tuple[str, ...] = ()  # storage parameters
    comment: str | None = None
    renamed_from: tuple[str, ...] = ()  # declared by models only
    without_rowid: bool = False  # SQLite
    strict: bool = False  # SQLite
    # PostgreSQL's REPLICA IDENTITY: "default", "full", "nothing" or "index:<index name>"
    replica_identity: str = "default"
    # MySQL table options, None when the server's default (the collation implies the charset)
    engine: str | None = None
    collation: str | None = None
    row_format: str | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        pk: tuple[Constraint, ...] = (self.primary_key,) if self.primary_key else ()
        return pk + self.uniques + self.checks + self.exclusions + self.foreign_keys


@dataclass(frozen=True)
class View:
    namespace: str
    name: str
    definition: str  # the SELECT, as pg_get_viewdef() / the CREATE VIEW text prints it
    materialized: bool = False
    # output column names (a dependent's view of this view); SQLite: the declared list only
    columns: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # e.g. ("security_barrier=true", "check_option=local")
    indexes: tuple[Index, ...] = ()  # materialized views only
    triggers: tuple[Trigger, ...] = ()  # INSTEAD OF triggers on views
    depends_on: tuple[Ref, ...] = ()
    grants: tuple[Grant, ...] = ()
    comment: str | None = None
    with_data: bool = True  # materialized views: populated or not


@dataclass(frozen=True)
class Function:
    namespace: str
    name: str
    arguments: str  # identity arguments, pg_get_function_identity_arguments(): "i integer, t text[]"
    definition: str  # the whole CREATE OR REPLACE statement, pg_get_functiondef()
    kind: Literal["function", "procedure", "aggregate", "window"] = "function"
    returns: str | None = None  # pg_get_function_result(); None for procedures
    language: str = "sql"
    depends_on: tuple[Ref, ...] = ()
    grants: tuple[Grant, ...] = ()
    comment: str | None = None

    @property
    def signature(self) -> str:
        return f"{self.name}({self.arguments})"


@dataclass(frozen=True)
class Enum:
    namespace: str
    name: str
    labels: tuple[str, ...]  # in sort order, never sorted by us
    comment: str | None = None
    renamed_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    namespace: str
    name: str
    base_type: str
    nullable: bool = True
    default: str | None = None
    collation: str | None = None
    checks: tuple[CheckConstraint, ...] = ()
    depends_on: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class CompositeType:
    namespace: str
    name: str
    attributes: tuple[Column, ...]  # name, type and collation are used
    depends_on: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Sequence:
    namespace: str
    name: str
    options: SequenceOptions = field(default_factory=SequenceOptions)
    owned_by: str | None = None  # "namespace.table.column"
    grants: tuple[Grant, ...] = ()
    comment: str | None = None


@dataclass(frozen=True)
class Collation:
    namespace: str
    name: str
    provider: Literal["libc", "icu", "builtin"] = "libc"
    locale: str | None = None  # icu/builtin locale
    lc_collate: str | None = None  # libc
    lc_ctype: str | None = None  # libc
    deterministic: bool = True


@dataclass(frozen=True)
class Extension:
    name: str
    namespace: str  # the schema the extension's objects live in
    version: str | None = None


@dataclass(frozen=True)
class Schema:
    """Everything a source knows about one database."""

    dialect: Dialect
    namespaces: tuple[str, ...] = ()  # user namespaces that exist, "public" included
    extensions: tuple[Extension, ...] = ()
    collations: tuple[Collation, ...] = ()
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    composite_types: tuple[CompositeType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    namespace_grants: tuple[tuple[str, Grant], ...] = ()  # (namespace, grant), opt-in
    namespace_comments: tuple[tuple[str, str], ...] = ()  # (namespace, comment), sorted

    def table(self, namespace: str, name: str) -> Table | None:
        return self._tables_by_name.get((namespace, name))

    def view(self, namespace: str, name: str) -> View | None:
        return self._views_by_name.get((namespace, name))

    # Lookups are cached on the instance (cached_property writes __dict__ directly, which a
    # frozen dataclass allows); they are not fields, so equality and JSON never see them.
    @cached_property
    def _tables_by_name(self) -> dict[tuple[str, str], Table]:
        return {(t.namespace, t.name): t for t in self.tables}

    @cached_property
    def _views_by_name(self) -> dict[tuple[str, str], View]:
        return {(v.namespace, v.name): v for v in self.views}

    @cached_property
    def derived(self) -> dict[str, Any]:
        """Indexes other modules build from this schema once and keep with it (the table-text
        index of ``deps``, for one): a frozen schema never changes, so they never go stale."""
        return {}


DEFAULT_NAMESPACE: dict[str, str] = {"postgresql": "public", "sqlite": "main", "mysql": "main"}

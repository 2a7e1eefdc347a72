"""Hypothesis strategies for the schema IR.

``schemas()`` and ``schema_pairs()`` generate *valid* schemas: every name is a lower-case
identifier that is never a keyword, foreign keys point at an existing primary key with the same
column type, every constraint and index follows PostgreSQL's naming convention (on SQLite some
constraints are unnamed, some columns generated, VIRTUAL or STORED), and all text
(types, defaults, check expressions, view bodies) is written the way the catalog prints it with
``search_path = ''``. So a generated schema can be created in a real database, re-introspected and
compared with ``==``; the diff property tests rely on that.

Pairs are drawn as two subsets of one "universe" schema, so they share most objects and differ
in the ways a real migration does (tables, columns, constraints, indexes and enums added or
dropped, nullability and defaults changed, enum labels appended or removed; on SQLite also names
respelled in another case and generated columns changing kind).

``any_schemas()`` instead covers every field of every IR class with arbitrary values; it is only
meant for serialization round trips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypeVar

from hypothesis import assume
from hypothesis import strategies as st

from dfmigrate.dialects.sqlite import constraint_key
from dfmigrate.core.schema import (
    DEFAULT_NAMESPACE,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    Ref,
    Schema,
    SequenceOptions,
    Table,
    UniqueConstraint,
    View,
)

# Realistic names are none of PostgreSQL's or SQLite's keywords; generated ones end in a digit,
# which no keyword does.
TABLE_WORDS = ("users", "posts", "tags", "accounts", "orders", "items", "invoices", "events", "notes")
COLUMN_WORDS = ("email", "title", "body", "price", "quantity", "score", "slug", "total", "label", "note")
ENUM_WORDS = ("mood", "status", "level", "color")

T = TypeVar("T")

_generated = st.from_regex(r"[a-z]{1,6}[0-9]", fullmatch=True)


def names(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(words), _generated)


@dataclass(frozen=True)
class TypeSpec:
    type: str
    defaults: tuple[str, ...]  # as the catalog prints them
    checkable: bool = False  # "(col > 0)" prints back unchanged


PG_TYPES = (
    TypeSpec("integer", ("0", "42"), checkable=True),
    TypeSpec("bigint", ("0",), checkable=True),
    TypeSpec("smallint", ("1",)),
    TypeSpec("text", ("'x'::text", "''::text")),
    TypeSpec("boolean", ("true", "false")),
    TypeSpec("character varying(40)", ("'n/a'::character varying",)),
    TypeSpec("numeric(10,2)", ("0",)),
    TypeSpec("double precision", ("0",)),
    TypeSpec("timestamp with time zone", ("now()",)),
    TypeSpec("date", ("CURRENT_DATE",)),
    TypeSpec("uuid", ("gen_random_uuid()",)),
    TypeSpec("jsonb", ("'{}'::jsonb",)),
    TypeSpec("bytea", ()),
)
SQLITE_TYPES = (
    TypeSpec("INTEGER", ("0", "42"), checkable=True),
    TypeSpec("TEXT", ("'x'", "''")),
    TypeSpec("REAL", ("0.0",)),
    TypeSpec("NUMERIC", ("0",)),
    TypeSpec("BLOB", ()),
    TypeSpec("VARCHAR(40)", ("'n/a'",)),
    TypeSpec("TIMESTAMP", ("CURRENT_TIMESTAMP",)),
)
PK_TYPES = {"postgresql": ("integer", "bigint", "uuid", "text"), "sqlite": ("INTEGER", "TEXT")}
FK_ACTIONS = ("NO ACTION", "CASCADE", "RESTRICT")


def _types(dialect: str) -> tuple[TypeSpec, ...]:
    return PG_TYPES if dialect == "postgresql" else SQLITE_TYPES


# ---------------------------------------------------------------- building blocks


@st.composite
def enums(draw: st.DrawFn, namespace: str = "public") -> Enum:
    labels = draw(st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5, unique=True))
    return Enum(namespace=namespace, name=draw(names(ENUM_WORDS)), labels=tuple(labels))


@st.composite
def columns(draw: st.DrawFn, dialect: str, name: str, enum_types: tuple[Enum, ...] = ()) -> Column:
    options: list[TypeSpec] = list(_types(dialect))
    for e in enum_types:  # the catalog prints user types schema-qualified
        options.append(TypeSpec(f"{e.namespace}.{e.name}", (f"'{e.labels[0]}'::{e.namespace}.{e.name}",)))
    spec = draw(st.sampled_from(options))
    default = draw(st.sampled_from((None, *spec.defaults)))
    return Column(name=name, type=spec.type, nullable=draw(st.booleans()), default=default)


@st.composite
def tables(draw: st.DrawFn, dialect: str, name: str, enum_types: tuple[Enum, ...] = ()) -> Table:
    """A table with a single-column primary key ``id``, a few columns, and constraints and
    indexes on them. Foreign keys are added by :func:`universes`, which knows the other tables."""
    ns = DEFAULT_NAMESPACE[dialect]
    pk_type = draw(st.sampled_from(PK_TYPES[dialect]))
    identity = dialect == "postgresql" and pk_type in ("integer", "bigint") and draw(st.booleans())
    # The PostgreSQL source always reports an identity's sequence options (data type included).
    pk_col = Column("id", pk_type, nullable=False, identity="BY DEFAULT" if identity else None,
                    identity_options=SequenceOptions(data_type=pk_type) if identity else None)
    col_names = draw(st.lists(names(COLUMN_WORDS).filter(lambda n: n != "id"), max_size=5, unique=True))
    cols = [pk_col] + [draw(columns(dialect, n, enum_types)) for n in col_names]
    specs = {s.type: s for s in _types(dialect)}
    # SQLite keeps a constraint declared without a name unnamed (the empty name)
    unnamed = (lambda: dialect == "sqlite" and draw(st.booleans()))  # noqa: E731
    checks = tuple(
        CheckConstraint("" if unnamed() else f"{name}_{c.name}_check", f"({c.name} > 0)")
        for c in cols[1:]
        if c.type in specs and specs[c.type].checkable and draw(st.booleans())
    )
    uniques = tuple(
        UniqueConstraint("" if unnamed() else f"{name}_{c.name}_key", (c.name,))
        for c in cols[1:] if draw(st.integers(0, 3)) == 0
    )
    unique_cols = {u.columns[0] for u in uniques}
    indexes = tuple(
        Index(f"{name}_{c.name}_idx", (IndexPart(column=c.name, descending=draw(st.booleans())),))
        for c in cols[1:]
        if c.name not in unique_cols and draw(st.integers(0, 3)) == 0
    )
    if dialect == "sqlite":  # generated columns of both kinds over the numeric columns
        cols += [Column(f"{c.name}_g", "INTEGER", generated=f"{c.name} + 1",
                        generated_kind=draw(st.sampled_from(("VIRTUAL", "STORED"))))
                 for c in cols[1:] if c.type in ("INTEGER", "REAL", "NUMERIC") and draw(st.booleans())]
    return Table(
        namespace=ns,
        name=name,
        columns=tuple(cols),
        primary_key=PrimaryKey("" if unnamed() else f"{name}_pkey", ("id",)),
        uniques=_by_name(uniques),
        checks=_by_name(checks),
        indexes=_by_name(indexes),
    )


def _by_name(items: tuple[T, ...]) -> tuple[T, ...]:
    """IR collections are sorted by name (schema.py); unnamed SQLite constraints by definition."""
    return tuple(sorted(items, key=constraint_key))


@st.composite
def universes(draw: st.DrawFn, dialect: str = "postgresql", views: bool = False) -> Schema:
    """A schema with every object that any member of a pair may hold."""
    ns = DEFAULT_NAMESPACE[dialect]
    enum_list: list[Enum] = []
    if dialect == "postgresql":
        enum_list = draw(st.lists(enums(ns), max_size=2, unique_by=lambda e: e.name))
    table_names = draw(st.lists(names(TABLE_WORDS), min_size=1, max_size=5, unique=True))
    assume(not set(table_names) & {e.name for e in enum_list})  # tables and types share pg_type
    built = {n: draw(tables(dialect, n, tuple(enum_list))) for n in table_names}
    for name in table_names:
        built[name] = draw(_with_foreign_keys(built[name], built))
    view_list = [_view_of(t) for t in built.values() if views and dialect == "postgresql" and draw(st.booleans())]
    schema = Schema(
        dialect=dialect,  # type: ignore[arg-type]
        namespaces=(ns,),
        enums=tuple(sorted(enum_list, key=lambda e: e.name)),
        tables=tuple(built[n] for n in sorted(built)),
        views=tuple(sorted(view_list, key=lambda v: v.name)),
    )
    assume(_relation_names_unique(schema))
    return schema


@st.composite
def _with_foreign_keys(draw: st.DrawFn, table: Table, all_tables: dict[str, Table]) -> Table:
    """Add 0-2 referencing columns, each ``<target>_id`` with the target's key type."""
    targets = draw(st.lists(st.sampled_from(sorted(all_tables)), max_size=2, unique=True))
    cols, fks = list(table.columns), []
    for target in targets:
        col_name = f"{target}_id"
        if table.column(col_name) is not None:
            continue
        key = all_tables[target].columns[0]
        action = draw(st.sampled_from(FK_ACTIONS + ("SET NULL",)))
        nullable = action == "SET NULL" or draw(st.booleans())
        cols.append(Column(col_name, key.type, nullable=nullable))
        unnamed = table.namespace == DEFAULT_NAMESPACE["sqlite"] and draw(st.booleans())
        fks.append(ForeignKey(
            name="" if unnamed else f"{table.name}_{col_name}_fkey",
            columns=(col_name,),
            ref_namespace=table.namespace,
            ref_table=target,
            ref_columns=(key.name,),
            on_delete=action,  # type: ignore[arg-type]
        ))
    return replace(table, columns=tuple(cols), foreign_keys=_by_name(tuple(fks)))


def _view_of(table: Table) -> View:
    """A view reading the key column, as the PostgreSQL source reports pg_get_viewdef (PostgreSQL
    15: columns qualified by the table; the source trims the leading space and the semicolon)."""
    return View(
        namespace=table.namespace,
        name=f"{table.name}_v",
        definition=f"SELECT {table.name}.id\n   FROM {table.namespace}.{table.name}",
        columns=("id",),
        depends_on=(Ref("table", table.namespace, table.name),),
    )


def _relation_names_unique(schema: Schema) -> bool:
    """Tables, views, indexes and the indexes behind PK/unique constraints share one namespace."""
    seen: list[str] = [t.name for t in schema.tables] + [v.name for v in schema.views]
    for t in schema.tables:
        seen += [i.name for i in t.indexes] + [u.name for u in t.uniques]
        seen += [t.primary_key.name] if t.primary_key else []
    seen = [n for n in seen if n]
    constraint_names = [c.name for t in schema.tables for c in t.constraints if c.name]
    return len(seen) == len(set(seen)) and len(constraint_names) == len(set(constraint_names))


# ---------------------------------------------------------------- subsets and pairs


@st.composite
def subsets(draw: st.DrawFn, universe: Schema) -> Schema:
    """A valid schema made of part of ``universe``: dropping an object drops what needs it."""
    enum_list = []
    for e in universe.enums:
        if draw(st.booleans()):
            enum_list.append(replace(e, labels=e.labels[: draw(st.integers(1, len(e.labels)))]))
    enum_types = {f"{e.namespace}.{e.name}" for e in universe.enums}
    kept_enums = {f"{e.namespace}.{e.name}" for e in enum_list}
    names_kept = {t.name for t in universe.tables if draw(st.integers(0, 4)) > 0}
    tables_out = []
    for t in universe.tables:
        if t.name in names_kept:
            tables_out.append(draw(_table_subset(t, names_kept, enum_types - kept_enums)))
    views_out = tuple(v for v in universe.views if v.depends_on[0].name in names_kept and draw(st.booleans()))
    return replace(universe, enums=tuple(enum_list), tables=tuple(tables_out), views=views_out)


@st.composite
def _table_subset(draw: st.DrawFn, table: Table, tables_kept: set[str], dropped_types: set[str]) -> Table:
    fk_cols = {c for fk in table.foreign_keys if fk.ref_table not in tables_kept for c in fk.columns}
    cols = []
    for i, c in enumerate(table.columns):
        if i == 0:  # the primary key stays: foreign keys of other tables point at it
            cols.append(c)
        elif c.type not in dropped_types and c.name not in fk_cols and draw(st.integers(0, 3)) > 0:
            if c.generated is None or c.generated.split(" ", 1)[0] in {k.name for k in cols}:
                cols.append(draw(_column_variant(c, table)))
    kept = {c.name for c in cols}

    def keeps(columns: tuple[str, ...]) -> bool:
        return set(columns) <= kept and draw(st.integers(0, 3)) > 0

    return replace(
        table,
        columns=tuple(cols),
        uniques=tuple(u for u in table.uniques if keeps(u.columns)),
        checks=tuple(c for c in table.checks if keeps(_check_columns(c))),
        foreign_keys=tuple(f for f in table.foreign_keys if f.ref_table in tables_kept and keeps(f.columns)),
        indexes=tuple(i for i in table.indexes if keeps(tuple(p.column for p in i.parts if p.column))),
    )


@st.composite
def _column_variant(draw: st.DrawFn, column: Column, table: Table) -> Column:
    set_null = any(column.name in fk.columns and fk.on_delete == "SET NULL" for fk in table.foreign_keys)
    if column.generated is not None:  # a generated column may change kind, nothing else
        return replace(column, generated_kind=draw(st.sampled_from(("VIRTUAL", "STORED"))))
    nullable = True if set_null else draw(st.booleans())
    default = column.default if draw(st.booleans()) else None
    return replace(column, nullable=nullable, default=default)


def _check_columns(check: CheckConstraint) -> tuple[str, ...]:
    # Generated checks are "(<column> > 0)": the column is the first word inside the parenthesis.
    return (check.expression[1:].split(" ", 1)[0],)


def schemas(dialect: str = "postgresql", views: bool = False) -> st.SearchStrategy[Schema]:
    """One valid schema of the dialect."""
    return universes(dialect, views).flatmap(subsets)


@st.composite
def schema_pairs(draw: st.DrawFn, dialect: str = "postgresql", views: bool = False) -> tuple[Schema, Schema]:
    """(old, new): two valid schemas sharing most of their objects. On SQLite the new one may
    spell some table and column names in another case (the same objects to SQLite)."""
    universe = draw(universes(dialect, views))
    old, new = draw(subsets(universe)), draw(subsets(universe))
    if dialect == "sqlite":
        new = draw(_case_variants(new))
    return old, new


_SPELLINGS = (str.upper, str.capitalize, lambda n: n[:-1] + n[-1].upper())


@st.composite
def _case_variants(draw: st.DrawFn, schema: Schema) -> Schema:
    """Respell some tables, columns and indexes (``users`` → ``Users``), and every reference to
    them."""
    tables = {t.name: draw(st.sampled_from(_SPELLINGS))(t.name) if draw(st.integers(0, 3)) == 0
              else t.name for t in schema.tables}
    columns = {(t.name, c.name): draw(st.sampled_from(_SPELLINGS))(c.name)
               if c.name != "id" and draw(st.integers(0, 3)) == 0 else c.name
               for t in schema.tables for c in t.columns}

    def col(table: str, name: str) -> str:
        return columns.get((table, name), name)

    def expr(table: str, text: str) -> str:
        return re.sub(r"[a-z_][a-z0-9_]*", lambda m: col(table, m.group()), text)

    out = []
    for t in schema.tables:
        n = t.name
        out.append(replace(
            t, name=tables[n],
            columns=tuple(replace(c, name=col(n, c.name),
                                  generated=expr(n, c.generated) if c.generated else None)
                          for c in t.columns),
            primary_key=replace(t.primary_key, columns=tuple(col(n, c) for c in t.primary_key.columns))
            if t.primary_key else None,
            uniques=_by_name(tuple(replace(u, columns=tuple(col(n, c) for c in u.columns)) for u in t.uniques)),
            checks=_by_name(tuple(replace(c, expression=expr(n, c.expression)) for c in t.checks)),
            foreign_keys=_by_name(tuple(replace(
                f, columns=tuple(col(n, c) for c in f.columns), ref_table=tables[f.ref_table],
                ref_columns=tuple(col(f.ref_table, c) for c in f.ref_columns)) for f in t.foreign_keys)),
            indexes=_by_name(tuple(replace(
                i, name=draw(st.sampled_from(_SPELLINGS))(i.name) if draw(st.integers(0, 3)) == 0 else i.name,
                parts=tuple(replace(p, column=col(n, p.column) if p.column else None) for p in i.parts))
                for i in t.indexes)),
        ))
    return replace(schema, tables=tuple(sorted(out, key=lambda t: t.name)))


# ---------------------------------------------------------------- arbitrary IR (serialization only)


def any_schemas() -> st.SearchStrategy[Schema]:
    """Every field of every IR class, with arbitrary (not necessarily valid) values."""
    return st.from_type(Schema)


"""Expand and contract (``makemigrations --phases``): which part of a change the release still
running tolerates, and which part must wait until it is gone.

The split is made on schemas, not on SQL. Between the directory's schema (``previous``, what the
running release was written against) and the models (``new``, what the next release expects)
lies the *expanded* schema: everything ``previous`` has, plus everything ``new`` adds in a form
the old release does not notice. The pre-deploy migration is the ordinary plan ``previous →
expanded``, the post-deploy migration the plan ``expanded → new``; each is planned, rendered,
folded and checked like any other migration, on every dialect, so the directory's replay ends
at ``new`` and each file's operations apply to the state before it.

What goes before the deploy (the expanded schema takes it from ``new``):

- new tables, views, functions, types, sequences, namespaces, extensions; new indexes, unique
  constraints, triggers, policies and grants on existing tables;
- new columns, NOT NULL ones without a default added nullable (their backfill runs here);
- new foreign keys and checks on existing tables NOT VALID on PostgreSQL (their rows are
  checked later; new writes are checked at once);
- new enum values, a dropped NOT NULL, a new or changed default, a widened type (longer
  varchar, varchar to text, a larger integer or numeric), comments;
- a column the new release no longer writes (dropped, or the old side of a rename) that is NOT
  NULL without a default becomes nullable: the new release's inserts leave it out.

What waits until the old release is gone (the expanded schema keeps ``previous``'s): drops of
tables, columns, constraints, indexes and everything else; SET NOT NULL (the backfill runs
again first, for the rows the old release inserted meanwhile); VALIDATE CONSTRAINT; any other
type change; a removed default; anything else that changes an existing object.

A declared column rename becomes add + backfill + drop: the new column is added (nullable) and
filled from the old one before the deploy; after it, the rows still NULL are filled again from
the old column (the old release went on inserting into it), then the old column is dropped. A
table or type rename has no such form (docs/safety.md says why): ``--phases`` refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from dfmigrate.errors import DfmigrateError
from dfmigrate.directory.backfill import Key
from dfmigrate.core.schema import CheckConstraint, Column, Constraint, Enum, ForeignKey, Schema, Table

PRE, POST = "pre", "post"
PHASES = (PRE, POST)

T = TypeVar("T")


@dataclass(frozen=True)
class Expansion:
    """The expanded schema of one dialect, and the backfills of the columns a rename adds."""

    schema: Schema
    renames: dict[Key, str]  # (namespace, table, new column) → the old column it is filled from


def expanded(previous: Schema, new: Schema) -> Expansion:
    """The schema between ``previous`` and ``new`` that the release written against
    ``previous`` still runs on (module docstring)."""
    from dfmigrate.diff._lists import diff_by_key, name_key

    fold = name_key(new.dialect)
    _refuse_renames(previous.tables, new.tables, "table", fold)
    _refuse_renames(previous.enums, new.enums, "type", fold)
    tables = diff_by_key(previous.tables, new.tables, key=lambda t: (t.namespace, fold(t.name)))
    renames: dict[Key, str] = {}
    merged = [_table(o, n, new.dialect, renames) for o, n in tables.changed]
    kept = {(o.namespace, fold(o.name)) for o, _ in tables.changed}
    out_tables = [t for t in previous.tables if (t.namespace, fold(t.name)) not in kept]
    out_tables += merged + list(tables.added)
    schema = replace(
        previous,
        namespaces=tuple(sorted(_union(previous.namespaces, new.namespaces, lambda n: n))),
        extensions=_sorted(_union(previous.extensions, new.extensions, lambda x: x.name), lambda x: x.name),
        collations=_sorted(_union(previous.collations, new.collations, _top), _top),
        enums=_sorted(_enums(previous.enums, new.enums), _top),
        domains=_sorted(_union(previous.domains, new.domains, _top), _top),
        composite_types=_sorted(_union(previous.composite_types, new.composite_types, _top), _top),
        sequences=_sorted(_union(previous.sequences, new.sequences, _top), _top),
        tables=_sorted(out_tables, _top),
        views=_sorted(_union(previous.views, new.views, _top), _top),
        functions=_sorted(_union(previous.functions, new.functions, _signature), _signature),
        namespace_grants=_union(previous.namespace_grants, new.namespace_grants, lambda g: g),
    )
    return Expansion(schema, renames)


def _top(obj: Any) -> tuple[str, str]:
    return (obj.namespace, obj.name)


def _signature(f: Any) -> tuple[str, str, str]:
    return (f.namespace, f.name, f.arguments)


def _union(old: Iterable[T], new: Iterable[T], key: Callable[[T], Hashable]) -> tuple[T, ...]:
    """``old`` as it is, plus what ``new`` adds under a key ``old`` does not have (a changed
    object keeps its old form: changing it waits for the post-deploy migration)."""
    old = tuple(old)
    keys = {key(o) for o in old}
    return old + tuple(n for n in new if key(n) not in keys)


def _sorted(items: Iterable[T], key: Callable[[T], Any]) -> tuple[T, ...]:
    """In the schema model's order (top-level objects by namespace and name, table parts by
    name), as sources and the fold keep them."""
    return tuple(sorted(items, key=key))


def _refuse_renames(old: Iterable[Any], new: Iterable[Any], kind: str, fold: Callable[[str], str]) -> None:
    names = {(o.namespace, fold(o.name)) for o in old}
    for n in new:
        if (n.namespace, fold(n.name)) in names:
            continue
        source = next((r for r in n.renamed_from if (n.namespace, fold(r)) in names), None)
        if source is not None:
            raise DfmigrateError(
                f"--phases cannot split renaming {kind} {source} to {n.name}: the running release needs the old "
                f"name and the new release the new one, and no additive form serves both (docs/safety.md, "
                f"'Expand and contract'); write the rename as a migration of its own, without --phases; "
                "nothing written")


def _enums(old: tuple[Enum, ...], new: tuple[Enum, ...]) -> tuple[Enum, ...]:
    """Added values go before the deploy (ALTER TYPE ... ADD VALUE); a removed or reordered
    value waits (the type is recreated)."""
    by_key = {_top(e): e for e in new}
    kept = []
    for e in old:
        n = by_key.get(_top(e))
        in_order = n is not None and [label for label in n.labels if label in e.labels] == list(e.labels)
        kept.append(replace(e, labels=n.labels, comment=n.comment) if n is not None and in_order else e)
    return _union(tuple(kept), new, _top)


# ---------------------------------------------------------------- a table on both sides


def _table(old: Table, new: Table, dialect: str, renames: dict[Key, str]) -> Table:
    if old.partition_by != new.partition_by:
        return old  # recreated: after the deploy
    from dfmigrate.diff._lists import diff_by_key, name_key

    fold = name_key(dialect)
    columns = diff_by_key(old.columns, new.columns, key=lambda c: fold(c.name),
                          renamed_from=lambda c: [fold(r) for r in c.renamed_from])
    changed = {fold(o.name): n for o, n in columns.changed}
    leaving = {fold(o.name) for o in columns.removed} | {fold(o.name) for o, _ in columns.renamed}
    keyed = {fold(c) for c in (old.primary_key.columns if old.primary_key else ())}
    out: list[Column] = []
    for col in old.columns:
        name = fold(col.name)
        if name in changed:
            out.append(_column(col, changed[name]))
        elif name in leaving and col.required_without_default and name not in keyed:
            out.append(replace(col, nullable=True))  # the new release inserts without it
        else:
            out.append(col)
    for col in columns.added:
        out.append(_added(col))
    for o, n in columns.renamed:
        out.append(_added(n))
        renames[(old.namespace, old.name, n.name)] = o.name
    constraints = _constraints(old, new, dialect)
    return replace(
        old,
        columns=tuple(out),
        # primary_key stays old's: a new one waits, as it makes its columns NOT NULL
        uniques=constraints["uniques"],
        foreign_keys=constraints["foreign_keys"],
        checks=constraints["checks"],
        exclusions=constraints["exclusions"],
        indexes=_sorted(_union(old.indexes, new.indexes, lambda i: fold(i.name)), lambda i: i.name),
        triggers=_sorted(_union(old.triggers, new.triggers, lambda t: fold(t.name)), lambda t: t.name),
        policies=_sorted(_union(old.policies, new.policies, lambda p: p.name), lambda p: p.name),
        grants=_union(old.grants, new.grants, lambda g: g),
        comment=new.comment,
    )


def _added(col: Column) -> Column:
    """A new column as the old release can live with: nullable when it would be NOT NULL
    without a default (its NOT NULL comes after the deploy)."""
    col = replace(col, renamed_from=())
    return replace(col, nullable=True) if col.required_without_default else col


def _column(old: Column, new: Column) -> Column:
    """An existing column with what the running release tolerates of its change."""
    widened = old.type != new.type and widens(old.type, new.type)
    out = replace(old, type=new.type) if widened else old
    if new.nullable:
        out = replace(out, nullable=True)
    if new.default is not None and (old.type == new.type or widened):
        out = replace(out, default=new.default)
    return replace(out, comment=new.comment)


def _constraints(old: Table, new: Table, dialect: str) -> dict[str, tuple[Any, ...]]:
    """``old``'s constraints, plus ``new``'s that it lacks (matched as the diff matches them); a
    new foreign key or check NOT VALID on PostgreSQL, where the post-deploy migration validates
    it (SQLite checks nothing when a constraint is added)."""
    from dfmigrate.diff._lists import name_key, spelling
    from dfmigrate.diff.table_objects import constraint_identity

    fold = name_key(dialect)
    forms = spelling(dialect)

    def key(table: Table) -> Callable[[Constraint], Hashable]:
        return lambda c: constraint_identity(forms.constraint(table, c) if forms else c, fold)

    have = {key(old)(c) for c in old.constraints}
    added = [c for c in new.constraints if key(new)(c) not in have]
    if dialect == "postgresql":
        added = [replace(c, validated=False) if isinstance(c, (ForeignKey, CheckConstraint)) else c for c in added]
    out: dict[str, tuple[Any, ...]] = {}
    for field, kind in (("uniques", "UniqueConstraint"), ("foreign_keys", "ForeignKey"),
                        ("checks", "CheckConstraint"), ("exclusions", "ExclusionConstraint")):
        out[field] = tuple(getattr(old, field)) + tuple(c for c in added if type(c).__name__ == kind)
    return out


# ---------------------------------------------------------------- type widening

_ALIASES = {"varchar": "character varying", "int": "integer", "int4": "integer", "int8": "bigint",
            "int2": "smallint", "decimal": "numeric"}


def _normal(type_text: str) -> str:
    text = " ".join(type_text.lower().split()).replace(" (", "(").replace(", ", ",")
    head, paren, rest = text.partition("(")
    return _ALIASES.get(head, head) + paren + rest


def widens(old_type: str, new_type: str) -> bool:
    """Every value of ``old_type`` is a value of ``new_type``, spelled alike: a longer or no
    varchar limit, varchar to text, a larger integer, a numeric with more digits and the same
    scale. Read from the type text, the same way on every dialect."""
    from dfmigrate.dialects.postgres.hazards import (INTEGER_SIZES, type_change_loses_data, type_change_narrows,
                                                     type_change_rewrites)

    old, new = _normal(old_type), _normal(new_type)
    if old in INTEGER_SIZES and new in INTEGER_SIZES:
        return INTEGER_SIZES[new] > INTEGER_SIZES[old]
    if re.fullmatch(r"character varying(\(\d+\))?", old) and new == "text":
        return True
    return not type_change_rewrites(old, new) and not type_change_narrows(old, new) \
        and not type_change_loses_data(old, new) and old.split("(")[0] == new.split("(")[0]


# ---------------------------------------------------------------- the backfills of each side


def quoted(name: str) -> str:
    """A column name as an SQL expression, on every dialect."""
    return '"' + name.replace('"', '""') + '"'


def pre_backfills(given: Mapping[Key, str], expansion: Expansion) -> dict[Key, str]:
    """The backfills of the pre-deploy plan: those given (or declared on the field), and for a
    renamed column its old column, unless a backfill was given for it."""
    if expansion.renames and expansion.schema.dialect == "mysql":
        _, table, column = next(iter(expansion.renames))
        raise DfmigrateError(f"--phases writes renaming column {table}.{column} as add + backfill + drop, and "
                             "dfmigrate has no backfill form on MySQL; write the rename without --phases; "
                             "nothing written")
    return {**{k: quoted(old) for k, old in expansion.renames.items()}, **given}


def refills(pre: Mapping[Key, str], expansion: Expansion, new: Schema) -> dict[Key, str]:
    """The backfills the post-deploy migration runs again, first, for the rows the old release
    inserted between the two migrations: those of columns it makes NOT NULL, and those of
    renamed columns (their old column is dropped after it)."""
    out = {}
    for key, expression in pre.items():
        ns, table, column = key
        before, after = expansion.schema.table(ns, table), new.table(ns, table)
        was = next((c for c in before.columns if c.name == column), None) if before else None
        now = next((c for c in after.columns if c.name == column), None) if after else None
        if was is None or now is None:
            continue
        if key in expansion.renames or (was.nullable and not now.nullable):
            out[key] = expression
    return out


def with_refills(plan: Any, fills: Mapping[Key, str], expansion: Expansion) -> Any:
    """``plan`` (engine Plan of the post-deploy migration) with the backfills of ``fills``
    first: only rows still NULL are written, so a rerun continues. Each is attributed to the
    change it prepares: the column's NOT NULL, or the drop of the column a rename fills it from
    (on SQLite, the rebuild of its table)."""
    if not fills or plan.empty:
        return plan
    statements = []
    for key, expression in sorted(fills.items()):
        ns, table, column = key
        about = {column, expansion.renames.get(key)}
        on_table = [c for c in plan.changes if _table_name(c) == table]
        source = next((c for c in on_table if _column_name(c) in about), on_table[0] if on_table else None)
        if source is not None:
            statements.append(_fill(plan.dialect, source, ns, table, column, expression, plan.changes,
                                    expansion.schema))
    plan.statements = statements + plan.statements
    return plan


def _table_name(change: Any) -> str | None:
    table = getattr(change, "table", None)
    if isinstance(table, str):
        return table
    new = getattr(change, "new", None)  # a SQLite RebuildTable
    return new.name if isinstance(new, Table) else None


def _column_name(change: Any) -> str | None:
    column = getattr(change, "column", None) or getattr(change, "new", None)  # DropColumn, AlterColumn
    return column.name if isinstance(column, Column) else None


def _fill(dialect: str, source: Any, ns: str, table: str, column: str, expression: str,
          changes: list[Any], before: Schema) -> Any:
    if dialect == "postgresql":
        from dfmigrate.dialects.postgres import online

        ctx = online.online_context(before, changes)
        return online.backfill_statement(source, ns, table, column, expression, ctx)
    if dialect == "sqlite":
        from dfmigrate.dialects.sqlite.render import fill_nulls

        return fill_nulls(source, table, column, expression)
    raise DfmigrateError(f"{dialect}: dfmigrate has no backfill form; nothing written")  # refused before: no fills


# ---------------------------------------------------------------- applying one side


def declared_phase(migration: Any) -> str | None:
    """The ``phase`` a migration (class or instance) declares: "pre", "post" or None; anything
    else is refused, naming the migration (a misspelt phase must not run a contract early)."""
    value = getattr(migration, "phase", None)
    if value is not None and value not in PHASES:
        raise DfmigrateError(f"{getattr(migration, 'id', '') or migration}: phase must be \"pre\" or \"post\" "
                             f"(or absent), not {value!r}")
    return value  # type: ignore[no-any-return]


def before_post(migrations: Iterable[T], phase_of: Callable[[T], str | None] = declared_phase) -> list[T]:
    """What ``migrate --phase pre`` applies of the pending ``migrations`` (in order): those before
    the first post-deploy one. Ordinary migrations go with either side: they break nothing."""
    out = []
    for m in migrations:
        if phase_of(m) == POST:
            break
        out.append(m)
    return out

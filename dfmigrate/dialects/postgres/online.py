"""Online-safe forms of PostgreSQL changes on tables that exist before the migration.

The plain plan is right for a table created in the same migration and for piping into psql, but
on a table that holds rows and serves traffic several of its statements block writes (or reads)
for as long as they scan or build. The online plan replaces them (docs/safety.md):

- CREATE / DROP INDEX → ``CONCURRENTLY``, outside any transaction, with ``resume`` data;
- UNIQUE / PRIMARY KEY → a unique index built concurrently, then ``ADD CONSTRAINT … USING INDEX``;
- FOREIGN KEY / CHECK → ``ADD … NOT VALID``, then ``VALIDATE CONSTRAINT`` in its own transaction;
- SET NOT NULL → ``CHECK (c IS NOT NULL) NOT VALID``, VALIDATE, SET NOT NULL (no scan on 12+),
  drop the check;
- ADD COLUMN whose default is volatile (or any default before PostgreSQL 11), or with a backfill
  expression for its existing rows → add it nullable, backfill in committed batches by key
  range, then the NOT NULL as above.

A change with no online form (or on a new or partitioned table) renders as in the plain plan;
its hazards still say what it costs. ``render`` returns None for those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dfmigrate.core.changes import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    ColumnChange,
    CreateIndex,
    CreateTable,
    DropIndex,
    RenameColumn,
    RenameTable,
)
from dfmigrate.dialects.postgres import render_columns, render_table_objects
from dfmigrate.dialects.postgres.hazards import Op, volatile_default
from dfmigrate.dialects.postgres.quote import qualified, quote_ident, quote_literal
from dfmigrate.dialects.postgres.render_common import (
    alter_table,
    column_def,
    constraint_clause,
    deferrable_clause,
    rel,
    stmt,
)
from dfmigrate.core.schema import (
    CheckConstraint,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    Schema,
    UniqueConstraint,
)
from dfmigrate.core.statement import Hazard, Statement

DEFAULT_SERVER_VERSION = 150000  # server_version_num assumed when no database says otherwise
BATCH_ROWS = 5000  # rows per committed backfill batch (keyset over the primary key)
BATCH_BLOCKS = 64  # heap blocks per batch when the table has no one-column primary key


@dataclass(frozen=True)
class OnlineContext:
    """What the online forms need to know beyond the change itself."""

    existing: frozenset[tuple[str, str]]  # tables with rows before the migration (not recreated)
    keys: Mapping[tuple[str, str], str] = field(default_factory=dict)  # one-column primary keys
    server_version: int = DEFAULT_SERVER_VERSION
    # (namespace, table, column) → SQL expression filling existing rows of a new column
    backfills: Mapping[tuple[str, str, str], str] = field(default_factory=dict)

    def exists(self, namespace: str, table: str) -> bool:
        return (namespace, table) in self.existing


def online_context(old: Schema, changes: Iterable[Any], *, server_version: int | None = None,
                   backfills: Mapping[tuple[str, str, str], str] | None = None) -> OnlineContext:
    """The context of a plan from ``old`` through ``changes``. Partitioned tables and partitions
    are left out: PostgreSQL has no CONCURRENTLY index build on a partitioned table, and NOT
    VALID foreign keys on one arrived only in version 18."""
    changes = list(changes)
    tables = {(t.namespace, t.name): t for t in old.tables if not (t.partition_by or t.partition_of)}
    renamed_columns: set[tuple[str, str, str]] = set()
    for c in changes:
        if isinstance(c, RenameTable) and (c.old.namespace, c.old.name) in tables:
            tables[(c.new.namespace, c.new.name)] = tables.pop((c.old.namespace, c.old.name))
        elif isinstance(c, RenameColumn):
            renamed_columns.add((c.namespace, c.table, c.old.name))
    created = {(c.table.namespace, c.table.name) for c in changes if isinstance(c, CreateTable)}
    existing = frozenset(set(tables) - created)
    keys = {key: t.primary_key.columns[0] for key, t in tables.items()
            if key in existing and t.primary_key is not None and len(t.primary_key.columns) == 1
            and (*key, t.primary_key.columns[0]) not in renamed_columns}
    return OnlineContext(existing, keys, server_version or DEFAULT_SERVER_VERSION, dict(backfills or {}))


# ---------------------------------------------------------------- statement shapes


def _outside(statement: Statement, resume: str) -> Statement:
    return replace(statement, transactional=False, resume=resume)


def _own_transaction(statement: Statement) -> Statement:
    return replace(statement, isolated=True)


def _check_name(table: str, column: str) -> str:
    """The temporary CHECK proving NOT NULL; PostgreSQL truncates names at 63 bytes, so a long
    one ends in a digest of the full name instead."""
    name = f"{table}_{column}_not_null"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


def not_null_steps(change: Any, namespace: str, table: str, column: str,
                   ctx: OnlineContext) -> list[Statement]:
    """SET NOT NULL without a long ACCESS EXCLUSIVE scan: a NOT VALID check (brief lock), its
    validation in a transaction of its own (SHARE UPDATE EXCLUSIVE: writes go on), SET NOT NULL
    in another (PostgreSQL 12+ trusts the validated check and skips the scan), drop the check."""
    head = alter_table(namespace, table)
    target = rel(namespace, table)
    check, col = quote_ident(_check_name(table, column)), quote_ident(column)
    set_op = Op.SET_NOT_NULL_CHECKED if ctx.server_version >= 120000 else Op.SET_NOT_NULL
    return [
        stmt(f"{head} ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) NOT VALID", change,
             Op.ADD_CHECK_NOT_VALID, target, reverse=[f"{head} DROP CONSTRAINT {check}"]),
        _own_transaction(stmt(f"{head} VALIDATE CONSTRAINT {check}", change, Op.VALIDATE_CONSTRAINT,
                              target)),
        _own_transaction(stmt(f"{head} ALTER COLUMN {col} SET NOT NULL", change, set_op, target,
                              reverse=[f"{head} ALTER COLUMN {col} DROP NOT NULL"])),
        stmt(f"{head} DROP CONSTRAINT {check}", change, Op.DROP_CONSTRAINT, target),
    ]


def backfill_sql(namespace: str, table: str, column: str, expression: str, ctx: OnlineContext) -> str:
    """A DO block filling ``column`` of existing rows with ``expression``, one committed batch
    at a time: a keyset walk over a one-column primary key, else over heap block ranges (a TID
    range scan on PostgreSQL 14+). Only rows still NULL are written, so a rerun after a crash
    continues where the committed batches stopped. PostgreSQL before 11 cannot COMMIT inside
    DO: there the batches share one transaction."""
    t, col = qualified(namespace, table), quote_ident(column)
    commit = "\n    COMMIT;" if ctx.server_version >= 110000 else ""
    label = quote_literal(f"{namespace}.{table}.{column}")
    key = ctx.keys.get((namespace, table))
    if key is not None:
        k = quote_ident(key)
        return f"""DO $dfmigrate$
DECLARE
  _dfm_lo {t}.{k}%TYPE;
  _dfm_hi {t}.{k}%TYPE;
BEGIN
  SELECT min({k}) INTO _dfm_lo FROM {t};
  WHILE _dfm_lo IS NOT NULL LOOP
    SELECT max(s.k) INTO _dfm_hi FROM (SELECT {k} AS k FROM {t} WHERE {k} >= _dfm_lo ORDER BY {k} LIMIT {BATCH_ROWS}) s;
    UPDATE {t} SET {col} = {expression} WHERE {k} >= _dfm_lo AND {k} <= _dfm_hi AND {col} IS NULL;{commit}
    RAISE NOTICE 'backfill %: up to key %', {label}, _dfm_hi;
    SELECT min({k}) INTO _dfm_lo FROM {t} WHERE {k} > _dfm_hi;
  END LOOP;
END
$dfmigrate$"""
    return f"""DO $dfmigrate$
DECLARE
  _dfm_last bigint := pg_relation_size({quote_literal(t)}::regclass) / current_setting('block_size')::bigint;
  _dfm_lo bigint := 0;
BEGIN
  WHILE _dfm_lo <= _dfm_last LOOP
    UPDATE {t} SET {col} = {expression} WHERE {col} IS NULL
      AND ctid >= format('(%s,0)', _dfm_lo)::tid AND ctid < format('(%s,0)', _dfm_lo + {BATCH_BLOCKS})::tid;{commit}
    RAISE NOTICE 'backfill %: block % of %', {label}, least(_dfm_lo + {BATCH_BLOCKS}, _dfm_last), _dfm_last;
    _dfm_lo := _dfm_lo + {BATCH_BLOCKS};
  END LOOP;
END
$dfmigrate$"""


def backfill_statement(change: Any, namespace: str, table: str, column: str, expression: str,
                       ctx: OnlineContext) -> Statement:
    """The batched backfill as a step of its own, outside any transaction (it commits each
    batch), run again as it is after a crash (it writes only the rows still NULL)."""
    fill = stmt(backfill_sql(namespace, table, column, expression, ctx), change, Op.BACKFILL, rel(namespace, table))
    return _outside(fill, "rerun")


# ---------------------------------------------------------------- per change kind


def create_index(change: CreateIndex, ctx: OnlineContext) -> list[Statement] | None:
    if not ctx.exists(change.namespace, change.table):
        return None
    ns, table, index = change.namespace, change.table, change.index
    name = qualified(ns, index.name)
    build = stmt(render_table_objects.create_index_sql(ns, table, index, concurrently=True), change,
                 Op.CREATE_INDEX_CONCURRENTLY, rel(ns, table),
                 extra=[Hazard.FAILS_ON_DATA] if index.unique else [],
                 reverse=[f"DROP INDEX CONCURRENTLY {name}"])
    plain = render_table_objects.create_index(change)
    return [_outside(build, f"index:{ns}.{index.name}"), *plain[1:]]  # then its comment, if any


def drop_index(change: DropIndex, ctx: OnlineContext) -> list[Statement] | None:
    if not ctx.exists(change.namespace, change.table):
        return None
    ns, table, index = change.namespace, change.table, change.index
    drop = stmt(f"DROP INDEX CONCURRENTLY {qualified(ns, index.name)}", change,
                Op.DROP_INDEX_CONCURRENTLY, rel(ns, table),
                reverse=[render_table_objects.create_index_sql(ns, table, index, concurrently=True)])
    return [_outside(drop, f"no-index:{ns}.{index.name}")]


def add_constraint(change: AddConstraint, ctx: OnlineContext) -> list[Statement] | None:
    ns, table, con = change.namespace, change.table, change.constraint
    if not ctx.exists(ns, table):
        return None
    head, target, name = alter_table(ns, table), rel(ns, table), quote_ident(con.name)
    comments = render_table_objects.add_constraint(change)[1:]
    drop = f"{head} DROP CONSTRAINT {name}"
    if isinstance(con, PrimaryKey | UniqueConstraint):
        unique = isinstance(con, UniqueConstraint)
        index = Index(con.name, tuple(IndexPart(column=c) for c in con.columns), unique=True,
                      include=con.include if unique else (),
                      nulls_not_distinct=con.nulls_not_distinct if unique else False)
        build = stmt(render_table_objects.create_index_sql(ns, table, index, concurrently=True),
                     change, Op.CREATE_INDEX_CONCURRENTLY, target, extra=[Hazard.FAILS_ON_DATA],
                     reverse=[f"DROP INDEX CONCURRENTLY {qualified(ns, con.name)}"])
        kind = "UNIQUE" if unique else "PRIMARY KEY"
        attach = stmt(f"{head} ADD CONSTRAINT {name} {kind} USING INDEX {name}"
                      + deferrable_clause(con.deferrable, con.initially_deferred),
                      change, Op.ADD_CONSTRAINT_USING_INDEX, target, reverse=[drop])
        return [_outside(build, f"index:{ns}.{con.name}"), attach, *comments]
    if isinstance(con, CheckConstraint | ForeignKey) and con.validated:
        op = Op.ADD_CHECK_NOT_VALID if isinstance(con, CheckConstraint) else Op.ADD_FOREIGN_KEY_NOT_VALID
        add = stmt(f"{head} ADD {constraint_clause(replace(con, validated=False))}", change, op,
                   target, reverse=[drop])
        validate = stmt(f"{head} VALIDATE CONSTRAINT {name}", change, Op.VALIDATE_CONSTRAINT, target)
        return [add, _own_transaction(validate), *comments]
    return None


def alter_column(change: AlterColumn, ctx: OnlineContext) -> list[Statement] | None:
    flags, old, new = change.changes, change.old, change.new
    if ColumnChange.NULLABLE not in flags or new.nullable or not ctx.exists(change.namespace, change.table):
        return None
    if ColumnChange.GENERATED in flags and new.generated is not None:
        return None  # dropped and re-added: there is no existing column to prove NOT NULL on
    if ColumnChange.IDENTITY in flags and new.identity and not old.identity:
        return None  # ADD IDENTITY needs NOT NULL first, within the same ALTER sequence
    rest = render_columns.alter_column(replace(change, changes=flags & ~ColumnChange.NULLABLE))
    return [replace(s, source=change) for s in rest] + not_null_steps(
        change, change.namespace, change.table, new.name, ctx)


def add_column(change: AddColumn, ctx: OnlineContext) -> list[Statement] | None:
    ns, table, col = change.namespace, change.table, change.column
    if not ctx.exists(ns, table) or col.identity or col.generated is not None:
        return None
    backfill = ctx.backfills.get((ns, table, col.name))  # given: it fills the existing rows
    if backfill is None:
        if col.default is None:
            return None  # nothing to fill with: the plain form, flagged (makemigrations refuses it)
        if not (volatile_default(col.default) or ctx.server_version < 110000):
            return None  # stored in the catalog: the plain ADD is instant
        backfill = col.default
    head, target = alter_table(ns, table), rel(ns, table)
    name = quote_ident(col.name)
    out = [stmt(f"{head} ADD COLUMN {column_def(replace(col, nullable=True, default=None))}", change,
                Op.ADD_COLUMN, target, reverse=[f"{head} DROP COLUMN {name}"])]
    if col.default is not None:  # rows inserted from now on get it; the backfill does the others
        out.append(stmt(f"{head} ALTER COLUMN {name} SET DEFAULT {col.default}", change,
                        Op.ALTER_COLUMN, target))
    out.append(backfill_statement(change, ns, table, col.name, backfill, ctx))
    if not col.nullable:
        steps = not_null_steps(change, ns, table, col.name, ctx)
        if col.required_without_default:  # the release still running inserts without it
            set_not_null = (Op.SET_NOT_NULL.value, Op.SET_NOT_NULL_CHECKED.value)
            steps = [replace(s, hazards=(*s.hazards, Hazard.BREAKS_CLIENTS)) if s.kind in set_not_null else s
                     for s in steps]
        out += steps
    return out + render_columns.add_column(change)[1:]  # its comment, if any


ONLINE: dict[type, Callable[[Any, OnlineContext], list[Statement] | None]] = {
    CreateIndex: create_index,
    DropIndex: drop_index,
    AddConstraint: add_constraint,
    AlterColumn: alter_column,
    AddColumn: add_column,
}

_REWRITE_NOTE = "rewrites the whole table under ACCESS EXCLUSIVE: reads and writes wait until it ends"


def render(change: Any, ctx: OnlineContext, plain: Callable[[Any], list[Statement]]) -> list[Statement]:
    """The online statements of ``change``, or ``plain(change)`` when it has no online form;
    a statement that still rewrites an existing table says so in its comment."""
    online = ONLINE.get(type(change))
    statements = online(change, ctx) if online is not None else None
    if statements is None:
        statements = plain(change)
    return [_noted(s, ctx) for s in statements]


def render_backfills(change: Any, ctx: OnlineContext, plain: Callable[[Any], list[Statement]]) -> list[Statement]:
    """The plain plan's statements, except for a new column with a backfill expression: the
    plain plan has no form that fills existing rows, so it gets the batched one."""
    if isinstance(change, AddColumn) and (change.namespace, change.table, change.column.name) in ctx.backfills:
        return render(change, ctx, plain)
    return plain(change)


def _noted(s: Statement, ctx: OnlineContext) -> Statement:
    if Hazard.TABLE_REWRITE not in s.hazards or s.lock_target is None:
        return s
    ns, _, table = s.lock_target.partition(".")
    if not ctx.exists(ns, table):
        return s
    return replace(s, comment=f"{s.comment}\n{_REWRITE_NOTE}" if s.comment else _REWRITE_NOTE)

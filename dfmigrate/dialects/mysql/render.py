"""MySQL SQL for adapted changes (run ``adapt.adapt_changes`` first).

Every ``ALTER TABLE`` names the algorithm and lock it accepts (``ALGORITHM=INSTANT``, or
``INPLACE, LOCK=NONE``, or an explicit ``COPY, LOCK=SHARED``): the server refuses a request it
cannot honour instead of silently copying the table, and the choice is kept on the statement as
data (``Statement.algorithm``, ``lock``, hazards). The rules hold on MySQL 8.0.29+ and MariaDB
10.6+. MySQL DDL commits implicitly, so no statement is transactional, and each says how a rerun
after a crash tells whether it took effect (``Statement.resume``, read by ``resume.settle``):
the object it creates is there (``column:`t`.`c```), the one it drops is gone
(``no-index:`t`.`ix```), or it may simply run again (``rerun``: it sets a definition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dfmigrate.core.changes import (
    AddColumn, AddConstraint, AlterColumn, AlterSequence, AlterTable, Change, ColumnChange,
    CreateIndex, CreateSequence, CreateTable, CreateTrigger, CreateView, DropColumn,
    DropConstraint, DropIndex, DropSequence, DropTable, DropTrigger, DropView, RenameColumn,
    RenameTable, TableChange,
)
from dfmigrate.dialects import dispatch, referential_actions, script
from dfmigrate.dialects.mysql import NAMESPACE
from dfmigrate.dialects.mysql.quote import quote_ident, quote_list, quote_literal
from dfmigrate.errors import UnsupportedError
from dfmigrate.core.schema import (
    CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Sequence, Table, UniqueConstraint, View,
)
from dfmigrate.core.statement import Hazard, Statement

# Strength order of the algorithms: a statement with several clauses needs the strongest.
_ALGORITHMS = ("INSTANT", "INPLACE", "COPY")


# The column changes as MySQL needs them, made by ``adapt.settle`` after ordering (the planner
# only knows the generic classes; these keep their names, so plans describe them alike).
@dataclass(frozen=True)
class PlacedAddColumn(AddColumn):
    """An added column with its place: MySQL keeps columns in declaration order, so a column
    added in the middle of the new table is added ``AFTER`` its predecessor (or ``FIRST``).
    ``before`` is the table as it was: what it holds decides the algorithm."""

    after: str | None = None  # None: FIRST
    appended: bool = False  # at the end: no position clause
    before: Table | None = None


@dataclass(frozen=True)
class TableDropColumn(DropColumn):
    before: Table | None = None  # as for PlacedAddColumn


@dataclass(frozen=True)
class TableAlterColumn(AlterColumn):
    before: Table | None = None  # as for PlacedAddColumn
    # the table as the migration leaves it: a generated column added earlier in the same plan
    # already constrains how this change can run
    after: Table | None = None


def _has_fulltext(before: Table | None) -> bool:
    """A table with a FULLTEXT index has a hidden ``FTS_DOC_ID`` column that rules out adding
    or dropping a column instantly, and rebuilding it in place blocks writes (InnoDB)."""
    return before is not None and any(i.method == "fulltext" for i in before.indexes)


def _has_generated(*tables: Table | None) -> bool:
    """MariaDB rebuilds a table with generated columns only by copying it (error 1845 for
    INPLACE), stored ones included."""
    return any(t is not None and any(c.generated is not None for c in t.columns) for t in tables)


def _has_virtual(before: Table | None) -> bool:
    return before is not None and any(c.generated is not None and c.generated_kind == "VIRTUAL"
                                      for c in before.columns)


def render_change(change: Change) -> list[Statement]:
    return dispatch(RENDERERS, change, "MySQL")


def finish(statements: list[Statement]) -> list[Statement]:
    """The rendered plan as the runner receives it: unchanged on MySQL."""
    return statements


def render_script(statements: list[Statement]) -> str:
    return script(statements)


# ---------------------------------------------------------------- pieces


def column_sql(column: Column) -> str:
    parts = [quote_ident(column.name), column.type]
    if column.collation:
        parts.append(f"COLLATE {column.collation}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) {column.generated_kind.upper()}")
    if column.generated is None or not column.nullable:  # MariaDB takes no NULL on a generated one
        parts.append("NULL" if column.nullable else "NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.on_update is not None:
        parts.append(f"ON UPDATE {column.on_update}")
    if column.autoincrement:
        parts.append("AUTO_INCREMENT")
    if column.invisible:
        parts.append("INVISIBLE")
    if column.comment is not None:
        parts.append(f"COMMENT {quote_literal(column.comment)}")
    return " ".join(parts)


def index_sql(index: Index) -> str:
    if index.where or index.include or index.options or index.nulls_not_distinct:
        raise UnsupportedError(f"MySQL index {index.name}: partial indexes, INCLUDE and storage "
                               "options are PostgreSQL features")
    kind = {"fulltext": "FULLTEXT ", "spatial": "SPATIAL "}.get(index.method, "UNIQUE " if index.unique else "")
    parts = []
    for p in index.parts:
        text = f"({p.expression})" if p.expression else quote_ident(p.column or "")
        text += f"({p.length})" if p.length else ""
        parts.append(text + (" DESC" if p.descending else ""))
    sql = f"{kind}KEY {quote_ident(index.name)} ({', '.join(parts)})"
    if index.method == "hash":
        sql += " USING HASH"
    if index.comment is not None:
        sql += f" COMMENT {quote_literal(index.comment)}"
    return sql


def _reference(namespace: str, table: str) -> str:
    return quote_ident(table) if namespace == NAMESPACE else f"{quote_ident(namespace)}.{quote_ident(table)}"


def foreign_key_sql(fk: ForeignKey) -> str:
    sql = (f"CONSTRAINT {quote_ident(fk.name)} FOREIGN KEY ({quote_list(fk.columns)}) "
           f"REFERENCES {_reference(fk.ref_namespace, fk.ref_table)} ({quote_list(fk.ref_columns)})")
    sql += referential_actions(fk)
    return sql


def _check_sql(check: CheckConstraint) -> str:
    return f"CONSTRAINT {quote_ident(check.name)} CHECK ({check.expression})"


def _table_options(table: Table) -> list[str]:
    options = []
    if table.engine:
        options.append(f"ENGINE={table.engine}")
    if table.collation:
        options.append(f"DEFAULT CHARSET={_charset(table.collation)} COLLATE={table.collation}")
    if table.row_format:
        options.append(f"ROW_FORMAT={table.row_format}")
    options += list(table.options)
    if table.comment is not None:
        options.append(f"COMMENT={quote_literal(table.comment)}")
    return options


# The types CONVERT TO CHARACTER SET replaces by the next larger one when the new charset has
# wider characters (LONGTEXT has none larger).
_WIDENED_BY_CONVERSION = ("tinytext", "text", "mediumtext")


def _charset(collation: str) -> str:
    return collation.split("_", 1)[0]


def table_sql(table: Table) -> str:
    if table.exclusions or table.inherits or table.partition_of or table.policies or table.unlogged:
        raise UnsupportedError(f"MySQL table {table.name}: exclusion constraints, inheritance, "
                               "partitions of, policies and UNLOGGED are PostgreSQL features")
    items = [column_sql(c) for c in table.columns]
    if table.primary_key:
        items.append(f"PRIMARY KEY ({quote_list(table.primary_key.columns)})")
    items += [f"UNIQUE KEY {quote_ident(u.name)} ({quote_list(u.columns)})" for u in table.uniques]
    items += [index_sql(i) for i in table.indexes]
    items += [_check_sql(c) for c in table.checks]
    body = ",\n  ".join(items)
    tail = "".join(" " + o for o in _table_options(table))
    if table.partition_by:
        tail += "\n" + table.partition_by
    return f"CREATE TABLE {quote_ident(table.name)} (\n  {body}\n){tail}"


# What other sessions cannot do on the table while an ALTER holds each LOCK= level (MySQL
# "Online DDL Operations"; MariaDB "ALTER TABLE ... LOCK"): NONE permits reads and writes,
# SHARED permits reads only, EXCLUSIVE neither.
BLOCKS: dict[str, tuple[str, ...]] = {
    "NONE": (),
    "SHARED": ("writes",),
    "EXCLUSIVE": ("reads", "writes"),
}


RERUN = "rerun"


def present(kind: str, *names: str) -> str:
    """The resume check "the ``kind`` (table, column, index, constraint, trigger) named by
    ``names`` (a table, then the object in it) exists"."""
    return f"{kind}:" + ".".join(quote_ident(n) for n in names)


def absent(kind: str, *names: str) -> str:
    return "no-" + present(kind, *names)


def _alter(table: str, clause: str, change: Change, algorithm: str, hazards: tuple[Hazard, ...] = (),
           lock: str | None = None, comment: str | None = None, rebuilds: Table | None = None,
           resume: str = RERUN, also_locks: tuple[str, ...] = ()) -> Statement:
    """One ALTER TABLE with its algorithm and lock requested and recorded. ``lock``: when not
    the algorithm's own (COPY: SHARED, INPLACE: NONE, or SHARED when it ``rebuilds`` a table
    with a FULLTEXT index)."""
    if algorithm == "INSTANT":
        request, lock = "ALGORITHM=INSTANT", None
    else:
        lock = lock or ("SHARED" if algorithm == "COPY" or _has_fulltext(rebuilds) else "NONE")
        request = f"ALGORITHM={algorithm}, LOCK={lock}"
    extra = (Hazard.TABLE_COPY,) if algorithm == "COPY" else ()
    return Statement(f"ALTER TABLE {quote_ident(table)} {clause}, {request}", change,
                     (Hazard.METADATA_LOCK, *extra, *hazards), lock=lock,
                     lock_target=f"{NAMESPACE}.{table}", transactional=False, comment=comment,
                     algorithm=algorithm, resume=resume, also_locks=also_locks)


def _referenced(table: str, fk: ForeignKey) -> tuple[str, ...]:
    """The table a foreign key references, which adding or dropping it also takes a metadata
    lock on (MariaDB: one that waits for its writers; MySQL 8 updates its definition too)."""
    if fk.ref_namespace == NAMESPACE and fk.ref_table == table:
        return ()  # a self-reference: the table's own lock covers it
    return (f"{fk.ref_namespace}.{fk.ref_table}",)


def _ddl(sql: str, change: Change, resume: str, hazards: tuple[Hazard, ...] = (), target: str | None = None,
         reverse: tuple[str, ...] = ()) -> Statement:
    return Statement(sql, change, hazards, lock_target=target and f"{NAMESPACE}.{target}",
                     transactional=False, reverse=reverse, resume=resume)


# ---------------------------------------------------------------- tables


def _create_table(c: CreateTable) -> list[Statement]:
    return [_ddl(table_sql(c.table), c, present("table", c.table.name))]


def _drop_table(c: DropTable) -> list[Statement]:
    return [_ddl(f"DROP TABLE {quote_ident(c.table.name)}", c, absent("table", c.table.name),
                 (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS, Hazard.METADATA_LOCK), c.table.name)]


def _rename_table(c: RenameTable) -> list[Statement]:
    return [_ddl(f"RENAME TABLE {quote_ident(c.old.name)} TO {quote_ident(c.new.name)}", c,
                 present("table", c.new.name), (Hazard.BREAKS_CLIENTS, Hazard.METADATA_LOCK), c.old.name,
                 reverse=(f"RENAME TABLE {quote_ident(c.new.name)} TO {quote_ident(c.old.name)}",))]


def _alter_table(c: AlterTable) -> list[Statement]:
    old, new = c.old, c.new
    unsupported = c.changes & ~(TableChange.OPTIONS | TableChange.COMMENT)
    if unsupported:
        raise UnsupportedError(f"MySQL table {new.name}: cannot change {unsupported}")
    out = []
    if old.engine != new.engine:
        out.append(_alter(new.name, f"ENGINE={new.engine or 'InnoDB'}", c, "COPY"))
    if old.collation != new.collation:
        # The columns that follow the table's collation follow it here. The conversion changes
        # every text column, so one statement after it restates the columns it must not change
        # (in a clause of the same statement the conversion would win): those with a collation
        # of their own, MariaDB's JSON columns (text in utf8mb4_bin whatever the table says),
        # and the TEXT types, which it widens to hold as many characters in a wider charset
        # (latin1 TEXT becomes utf8mb4 MEDIUMTEXT).
        convert = (f"CONVERT TO CHARACTER SET {_charset(new.collation)} COLLATE {new.collation}"
                   if new.collation else "CONVERT TO CHARACTER SET DEFAULT")
        out.append(_alter(new.name, convert, c, "COPY", (Hazard.VALIDATES_ROWS,)))
        kept = [col for col in new.columns if old.column(col.name) is not None
                and (col.collation or col.type in ("json", *_WIDENED_BY_CONVERSION))]
        if kept:
            out.append(_alter(new.name, ", ".join(f"MODIFY COLUMN {column_sql(col)}" for col in kept), c, "COPY",
                              (Hazard.VALIDATES_ROWS,)))
    if old.row_format != new.row_format:
        out.append(_alter(new.name, f"ROW_FORMAT={new.row_format or 'DEFAULT'}", c, "INPLACE", rebuilds=old))
    if old.options != new.options:
        gone = [o.split("=", 1)[0] + "=DEFAULT" for o in old.options
                if o.split("=", 1)[0] not in {n.split("=", 1)[0] for n in new.options}]
        out.append(_alter(new.name, " ".join([*gone, *new.options]), c, "COPY"))
    if old.comment != new.comment:
        out.append(_alter(new.name, f"COMMENT={quote_literal(new.comment or '')}", c, "INSTANT"))
    return out


# ---------------------------------------------------------------- columns


def _add_column(c: AddColumn) -> list[Statement]:
    col = c.column
    placed = isinstance(c, PlacedAddColumn) and not c.appended
    place = ""
    if placed:
        place = f" AFTER {quote_ident(c.after)}" if c.after else " FIRST"
    # INSTANT takes neither a value MySQL must compute per row nor a new key. Placing a column
    # among virtual ones (or placing a virtual one) is a copy on MariaDB.
    before = getattr(c, "before", None)
    per_row = col.autoincrement or (col.generated is not None and col.generated_kind == "STORED")
    placed_virtual = placed and (col.generated is not None or _has_virtual(before))
    algorithm = "COPY" if per_row or placed_virtual else "INSTANT"
    if algorithm == "INSTANT" and _has_fulltext(before):
        algorithm = "COPY" if _has_virtual(before) else "INPLACE"
    hazards = (Hazard.VALIDATES_ROWS,) if per_row else ()
    return [_alter(c.table, f"ADD COLUMN {column_sql(col)}{place}", c, algorithm, hazards, rebuilds=before,
                   resume=present("column", c.table, col.name))]


def _drop_column(c: DropColumn) -> list[Statement]:
    before = getattr(c, "before", None)
    algorithm = "INSTANT"
    if _has_fulltext(before):  # a rebuild, which MariaDB cannot do in place around virtual columns
        algorithm = "COPY" if _has_virtual(before) else "INPLACE"
    return [_alter(c.table, f"DROP COLUMN {quote_ident(c.column.name)}", c, algorithm, (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS),
                   rebuilds=before, resume=absent("column", c.table, c.column.name))]


def _rename_column(c: RenameColumn) -> list[Statement]:
    return [_alter(c.table, f"RENAME COLUMN {quote_ident(c.old.name)} TO {quote_ident(c.new.name)}",
                   c, "INSTANT", (Hazard.BREAKS_CLIENTS,), resume=present("column", c.table, c.new.name))]


def _enum_appended(old: str, new: str) -> bool:
    """ENUM/SET values added at the end only: a metadata change."""
    for kind in ("enum(", "set("):
        if old.startswith(kind) and new.startswith(kind) and old.endswith(")"):
            return new.startswith(old[:-1] + ",")
    return False


def _alter_column(c: AlterColumn) -> list[Statement]:
    old, new, flags = c.old, c.new, c.changes
    if flags == ColumnChange.DEFAULT and new.generated is None:
        clause = (f"ALTER COLUMN {quote_ident(new.name)} SET DEFAULT {new.default}"
                  if new.default is not None else f"ALTER COLUMN {quote_ident(new.name)} DROP DEFAULT")
        return [_alter(c.table, clause, c, "INSTANT")]
    algorithm, hazards = "INSTANT", []
    if flags & ColumnChange.TYPE and not _enum_appended(old.type, new.type):
        algorithm = "COPY"
        hazards.append(Hazard.VALIDATES_ROWS)  # values that do not fit fail (strict mode)
    if flags & (ColumnChange.COLLATION | ColumnChange.GENERATED) or (
            old.autoincrement != new.autoincrement):
        algorithm = "COPY"
    if flags & ColumnChange.NULLABLE:
        algorithm = _max(algorithm, "INPLACE")
        if not new.nullable:
            hazards.append(Hazard.VALIDATES_ROWS)  # NULLs already there fail the statement
    if algorithm == "INPLACE" and _has_generated(getattr(c, "before", None), getattr(c, "after", None)):
        algorithm = "COPY"
    return [_alter(c.table, f"MODIFY COLUMN {column_sql(new)}", c, algorithm, tuple(hazards),
                   rebuilds=getattr(c, "before", None))]


def _max(a: str, b: str) -> str:
    return max(a, b, key=_ALGORITHMS.index)


# ---------------------------------------------------------------- constraints and indexes


def _add_constraint(c: AddConstraint) -> list[Statement]:
    k = c.constraint
    if isinstance(k, PrimaryKey):
        return [_alter(c.table, f"ADD PRIMARY KEY ({quote_list(k.columns)})", c, "INPLACE",
                       (Hazard.VALIDATES_ROWS,), resume=present("index", c.table, "PRIMARY"))]
    if isinstance(k, UniqueConstraint):
        return [_alter(c.table, f"ADD UNIQUE KEY {quote_ident(k.name)} ({quote_list(k.columns)})", c,
                       "INPLACE", (Hazard.INDEX_BUILD, Hazard.VALIDATES_ROWS), resume=present("index", c.table, k.name))]
    if isinstance(k, ForeignKey):
        # With foreign_key_checks on (it must be: existing rows are checked), MySQL adds a
        # foreign key only by copying the table.
        return [_alter(c.table, f"ADD {foreign_key_sql(k)}", c, "COPY", (Hazard.VALIDATES_ROWS,),
                       resume=present("constraint", c.table, k.name), also_locks=_referenced(c.table, k))]
    if isinstance(k, CheckConstraint):
        return [_alter(c.table, f"ADD {_check_sql(k)}", c, "COPY", (Hazard.VALIDATES_ROWS,),
                       resume=present("constraint", c.table, k.name))]
    raise UnsupportedError(f"MySQL has no {type(k).__name__} ({c.table}.{k.name})")


def _drop_constraint(c: DropConstraint) -> list[Statement]:
    k = c.constraint
    if isinstance(k, PrimaryKey):
        return [_alter(c.table, "DROP PRIMARY KEY", c, "COPY", (Hazard.INDEX_DROPPED,),
                       resume=absent("index", c.table, "PRIMARY"))]
    if isinstance(k, UniqueConstraint):
        return [_alter(c.table, f"DROP INDEX {quote_ident(k.name)}", c, "INPLACE", (Hazard.INDEX_DROPPED,),
                       resume=absent("index", c.table, k.name))]
    if isinstance(k, ForeignKey):
        return [_alter(c.table, f"DROP FOREIGN KEY {quote_ident(k.name)}", c, "INPLACE",
                       resume=absent("constraint", c.table, k.name), also_locks=_referenced(c.table, k))]
    if isinstance(k, CheckConstraint):
        return [_alter(c.table, f"DROP CONSTRAINT {quote_ident(k.name)}", c, "INPLACE",
                       resume=absent("constraint", c.table, k.name))]
    raise UnsupportedError(f"MySQL has no {type(k).__name__} ({c.table}.{k.name})")


def _create_index(c: CreateIndex) -> list[Statement]:
    # FULLTEXT and SPATIAL indexes are built in place but block writes meanwhile.
    lock = "SHARED" if c.index.method in ("fulltext", "spatial") else "NONE"
    hazards = (Hazard.INDEX_BUILD,) + ((Hazard.VALIDATES_ROWS,) if c.index.unique else ())
    return [_alter(c.table, f"ADD {index_sql(c.index)}", c, "INPLACE", hazards, lock=lock,
                   resume=present("index", c.table, c.index.name))]


def _drop_index(c: DropIndex) -> list[Statement]:
    return [_alter(c.table, f"DROP INDEX {quote_ident(c.index.name)}", c, "INPLACE", (Hazard.INDEX_DROPPED,),
                   resume=absent("index", c.table, c.index.name))]


# ---------------------------------------------------------------- views, triggers, sequences


def view_sql(view: View) -> str:
    if view.materialized or view.indexes:
        raise UnsupportedError(f"MySQL has no materialized views ({view.name})")
    opts = dict(o.split("=", 1) for o in view.options)
    head = "CREATE"
    if "algorithm" in opts:
        head += f" ALGORITHM={opts['algorithm'].upper()}"
    if opts.get("security") == "invoker":
        head += " SQL SECURITY INVOKER"
    sql = f"{head} VIEW {quote_ident(view.name)} AS {view.definition}"
    if "check_option" in opts:
        sql += f" WITH {opts['check_option'].upper()} CHECK OPTION"
    return sql


def _create_view(c: CreateView) -> list[Statement]:
    return [_ddl(view_sql(c.view), c, present("table", c.view.name))]


def _drop_view(c: DropView) -> list[Statement]:
    return [_ddl(f"DROP VIEW {quote_ident(c.view.name)}", c, absent("table", c.view.name), reverse=(view_sql(c.view),))]


def _create_trigger(c: CreateTrigger) -> list[Statement]:
    return [_ddl(c.trigger.definition, c, present("trigger", c.trigger.name), (Hazard.METADATA_LOCK,), c.table)]


def _drop_trigger(c: DropTrigger) -> list[Statement]:
    return [_ddl(f"DROP TRIGGER {quote_ident(c.trigger.name)}", c, absent("trigger", c.trigger.name),
                 (Hazard.METADATA_LOCK,), c.table, reverse=(c.trigger.definition,))]


def _sequence_options(s: Sequence, start: bool = True) -> str:
    o = s.options
    parts = [f"START WITH {o.start}"] if start and o.start is not None else []
    parts += [f"MINVALUE {o.min_value}" if o.min_value is not None else "NO MINVALUE",
              f"MAXVALUE {o.max_value}" if o.max_value is not None else "NO MAXVALUE",
              f"INCREMENT BY {o.increment}", f"CACHE {o.cache}", "CYCLE" if o.cycle else "NOCYCLE"]
    return " ".join(parts)


def _create_sequence(c: CreateSequence) -> list[Statement]:
    return [_ddl(f"CREATE SEQUENCE {quote_ident(c.sequence.name)} {_sequence_options(c.sequence)}", c,
                 present("table", c.sequence.name))]


def _drop_sequence(c: DropSequence) -> list[Statement]:
    return [_ddl(f"DROP SEQUENCE {quote_ident(c.sequence.name)}", c, absent("table", c.sequence.name),
                 (Hazard.DELETES_DATA,))]


def _alter_sequence(c: AlterSequence) -> list[Statement]:
    return [_ddl(f"ALTER SEQUENCE {quote_ident(c.new.name)} {_sequence_options(c.new)}", c, RERUN)]


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    CreateTable: _create_table,
    DropTable: _drop_table,
    RenameTable: _rename_table,
    AlterTable: _alter_table,
    AddColumn: _add_column,
    DropColumn: _drop_column,
    RenameColumn: _rename_column,
    AlterColumn: _alter_column,
    AddConstraint: _add_constraint,
    DropConstraint: _drop_constraint,
    CreateIndex: _create_index,
    DropIndex: _drop_index,
    CreateView: _create_view,
    DropView: _drop_view,
    CreateTrigger: _create_trigger,
    DropTrigger: _drop_trigger,
    CreateSequence: _create_sequence,
    DropSequence: _drop_sequence,
    AlterSequence: _alter_sequence,
}

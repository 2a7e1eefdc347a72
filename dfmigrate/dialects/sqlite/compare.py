"""What is spelling only on SQLite: the diff compares SQLite objects through these functions,
so that two schemas SQLite reads alike give no change.

- SQL text (CHECK, DEFAULT and generated expressions, index expressions and predicates, trigger
  and view bodies) is compared token by token with everything but string and blob literals
  folded to lower case and identifiers unquoted: SQLite reads ``NEW."Amount"`` and ``new.amount``
  alike, and its own ``RENAME`` rewrites references with quotes the user never wrote.
- Column names inside constraints and indexes compare without case.
- A constraint name PostgreSQL would have generated is no name (:func:`declared_name`).
- ``NOT NULL`` on a column SQLite keeps NULL out of anyway is not compared
  (:func:`implied_not_null`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot.tokens import TokenType

from dfmigrate.dialects.sqlite import normalize_type
from dfmigrate.dialects.sqlite.ddl import referenced_names, words
from dfmigrate.core.schema import (
    CheckConstraint, Column, Constraint, ForeignKey, Index, IndexPart, PrimaryKey, Schema, Table,
    Trigger,
    View,
)

_KEPT = {TokenType.STRING, TokenType.HEX_STRING}


def folded(text: str | None) -> str | None:
    """``text`` as SQLite reads it: tokens, case folded except in literals, quotes removed."""
    if text is None:
        return None
    return " ".join(text[w.start:w.end] if w.type in _KEPT else w.name.lower() for w in words(text))


_SUFFIX = {"PrimaryKey": "pkey", "UniqueConstraint": "key", "ForeignKey": "fkey",
           "CheckConstraint": "check"}


def declared_name(table: Table, constraint: Constraint) -> str:
    """The constraint's name as far as SQLite is concerned: ``""`` for an unnamed constraint and
    for one carrying the name PostgreSQL would have generated for it (``<table>_<cols>_pkey``,
    ``_key``, ``_fkey``, ``_check``, numbered on collision), which is how model sources name
    constraints a hand-written table leaves unnamed. Two constraints whose declared names are
    equal are the same constraint."""
    suffix = _SUFFIX.get(type(constraint).__name__)
    if not constraint.name or suffix is None:
        return constraint.name
    if isinstance(constraint, PrimaryKey):
        columns: tuple[str, ...] = ()
    elif isinstance(constraint, CheckConstraint):
        by_lower = {c.name.lower(): c.name for c in table.columns}
        refs = referenced_names(constraint.expression, set(by_lower))
        columns = (by_lower[next(iter(refs))],) if len(refs) == 1 else ()
    else:
        columns = constraint.columns  # type: ignore[union-attr]
    base = "_".join((table.name, *columns, suffix))
    return "" if re.fullmatch(re.escape(base) + r"\d*", constraint.name, re.IGNORECASE) else constraint.name


def implied_not_null(table: Table, column: Column) -> bool:
    """Whether SQLite keeps NULL out of the column whatever it declares: the rowid alias (the
    ``INTEGER`` primary key of a rowid table) and the key columns of a WITHOUT ROWID table.
    Declaring ``NOT NULL`` on them or not is spelling only."""
    key = [k.lower() for k in table.primary_key.columns] if table.primary_key else []
    if column.name.lower() not in key:  # the column may be compared under a new spelling
        return False
    return table.without_rowid or (len(key) == 1 and normalize_type(column.type) == "INTEGER")


def column(table: Table, col: Column) -> Column:
    return replace(col, name=col.name.lower(), type=normalize_type(col.type), default=folded(col.default),
                   generated=folded(col.generated),
                   nullable=col.nullable and not implied_not_null(table, col))


def constraint(table: Table, c: Constraint) -> Constraint:
    c = replace(c, name=declared_name(table, c))
    if isinstance(c, CheckConstraint):
        return replace(c, expression=folded(c.expression) or "")
    if isinstance(c, ForeignKey):
        return replace(c, columns=_lower(c.columns), ref_table=c.ref_table.lower(),
                       ref_columns=_lower(c.ref_columns))
    return replace(c, columns=_lower(c.columns))  # type: ignore[call-arg]


def resolved(table: Table, schema: Schema) -> Table:
    """The table with ``REFERENCES parent`` (no column list) naming the primary key the parent
    has in ``schema``, so that it compares equal to the same reference written out. The diff
    resolves both sides against the target schema: that is the key the reference will mean
    once the plan has run."""
    fks = tuple(replace(fk, ref_columns=_primary_key(schema, fk.ref_table))
                if not fk.ref_columns else fk for fk in table.foreign_keys)
    return replace(table, foreign_keys=fks) if fks != table.foreign_keys else table


def _primary_key(schema: Schema, name: str) -> tuple[str, ...]:
    parent = next((t for t in schema.tables if t.name.lower() == name.lower()), None)
    return parent.primary_key.columns if parent and parent.primary_key else ()


def index(i: Index, table: Table | None = None) -> Index:
    """An index column's collation defaults to its column's: ``email`` on a ``NOCASE`` column
    and ``email COLLATE NOCASE`` are one index (compared by the collation in effect)."""
    by_name = {c.name.lower(): c.collation for c in table.columns} if table else {}

    def effective(p: IndexPart) -> str | None:
        named = p.collation or (by_name.get(p.column.lower()) if p.column else None)
        return None if named is None or named.upper() == "BINARY" else named.upper()

    parts = tuple(replace(p, column=p.column.lower() if p.column else None,
                          expression=folded(p.expression), collation=effective(p)) for p in i.parts)
    return replace(i, parts=parts, where=folded(i.where))


def trigger(t: Trigger) -> Trigger:
    return replace(t, definition=folded(t.definition) or "")


def view(v: View) -> View:
    return replace(v, name=v.name.lower(), definition=folded(v.definition) or "",
                   columns=_lower(v.columns), triggers=tuple(trigger(t) for t in v.triggers),
                   depends_on=tuple(replace(r, name=r.name.lower()) for r in v.depends_on))


def _lower(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n.lower() for n in names)

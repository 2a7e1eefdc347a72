"""SQL fragments shared by the PostgreSQL renderers: statements tagged with their risks, column
and constraint definitions, sequence options.

IR text (types, defaults, expressions, definitions) is the catalog's own output and is emitted
verbatim; names and literals always go through ``quote``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dfmigrate.dialects.postgres.hazards import RISKS, Op
from dfmigrate.dialects.postgres.quote import qualified, quote_ident, quote_literal, quote_name_text
from dfmigrate.core.schema import (
    CheckConstraint,
    Column,
    Constraint,
    ExclusionConstraint,
    ForeignKey,
    PrimaryKey,
    SequenceOptions,
    UniqueConstraint,
)
from dfmigrate.core.statement import Hazard, Statement


def stmt(
    sql: str,
    change: Any,
    op: Op,
    target: str | None = None,
    *,
    reverse: Iterable[str] = (),
    comment: str | None = None,
    extra: Iterable[Hazard] = (),
    transactional: bool = True,
) -> Statement:
    """A statement whose lock and hazards come from the ``RISKS`` table for ``op``."""
    risk = RISKS[op]
    hazards = tuple(dict.fromkeys((*risk.hazards, *extra)))  # ordered, no duplicates
    return Statement(
        sql=sql,
        source=change,
        hazards=hazards,
        lock=risk.lock if target else None,
        lock_target=target if risk.lock else None,
        transactional=transactional,
        comment=comment,
        reverse=tuple(reverse),
        kind=op.value,
        # VALIDATE after ADD ... NOT VALID: the constraint must be committed (and visible to
        # other sessions) before the long scan, which then holds only SHARE UPDATE EXCLUSIVE
        isolated=op is Op.VALIDATE_CONSTRAINT,
    )


def rel(namespace: str, name: str) -> str:
    """The lock target of a relation: raw ``namespace.name`` (for humans and logs, not SQL)."""
    return f"{namespace}.{name}"


def alter_table(namespace: str, table: str) -> str:
    return f"ALTER TABLE {qualified(namespace, table)}"


def idents(names: Iterable[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def strip_sql(text: str) -> str:
    """Catalog text without trailing whitespace and semicolon (pg_get_viewdef ends with ';';
    render_script adds exactly one)."""
    text = text.rstrip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def comment_sql(object_sql: str, comment: str | None) -> str:
    value = "NULL" if comment is None else quote_literal(comment)
    return f"COMMENT ON {object_sql} IS {value}"


# ---------------------------------------------------------------- sequence options

_TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def effective_options(opts: SequenceOptions, data_type: str | None = None) -> dict[str, Any]:
    """Every sequence parameter with PostgreSQL's defaults for the data type filled in, so that
    an explicit default and None compare equal."""
    data_type = data_type or opts.data_type
    top = _TYPE_MAX.get(data_type, _TYPE_MAX["bigint"])
    ascending = opts.increment > 0
    low = opts.min_value if opts.min_value is not None else (1 if ascending else -top - 1)
    high = opts.max_value if opts.max_value is not None else (top if ascending else -1)
    start = opts.start if opts.start is not None else (low if ascending else high)
    return {"type": data_type, "increment": opts.increment, "min": low, "max": high,
            "start": start, "cache": opts.cache, "cycle": opts.cycle}


def _option_clause(key: str, value: Any) -> str:
    return {
        "type": lambda: f"AS {value}",
        "increment": lambda: f"INCREMENT BY {value}",
        "min": lambda: f"MINVALUE {value}",
        "max": lambda: f"MAXVALUE {value}",
        "start": lambda: f"START WITH {value}",
        "cache": lambda: f"CACHE {value}",
        "cycle": lambda: "CYCLE" if value else "NO CYCLE",
    }[key]()


def sequence_clauses(
    new: SequenceOptions, old: SequenceOptions | None = None, *,
    data_type: str | None = None, with_type: bool = True,
) -> list[str]:
    """Option clauses for CREATE SEQUENCE (old=None: those differing from the defaults) or ALTER
    SEQUENCE (those differing from old). Identity columns pass with_type=False: their sequence
    type is the column's."""
    after = effective_options(new, data_type)
    if old is None:
        # defaults for the new type and direction; AS and INCREMENT against CREATE's own defaults
        default = SequenceOptions(data_type=after["type"], increment=new.increment)
        before = {**effective_options(default), "type": "bigint", "increment": 1}
    else:
        before = effective_options(old, data_type)
    keys = [k for k in after if after[k] != before[k] and (with_type or k != "type")]
    return [_option_clause(k, after[k]) for k in keys]


# ---------------------------------------------------------------- columns


def identity_clause(col: Column) -> str:
    options = sequence_clauses(
        col.identity_options or SequenceOptions(), data_type=col.type, with_type=False)
    tail = f" ({' '.join(options)})" if options else ""
    return f"GENERATED {col.identity} AS IDENTITY{tail}"


def column_def(col: Column) -> str:
    """``name type [COLLATE] [GENERATED ...] [DEFAULT] [NOT NULL]`` as in CREATE TABLE / ADD."""
    parts = [quote_ident(col.name), col.type]
    if col.collation:
        parts.append(f"COLLATE {quote_name_text(col.collation)}")
    if col.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) STORED")
    elif col.identity:
        parts.append(identity_clause(col))
    elif col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if not col.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


# ---------------------------------------------------------------- constraints


def deferrable_clause(deferrable: bool, initially_deferred: bool) -> str:
    if not deferrable:
        return ""
    return " DEFERRABLE INITIALLY DEFERRED" if initially_deferred else " DEFERRABLE"


def _foreign_key_body(fk: ForeignKey) -> str:
    sql = (f"FOREIGN KEY ({idents(fk.columns)}) REFERENCES "
           f"{qualified(fk.ref_namespace, fk.ref_table)}({idents(fk.ref_columns)})")
    if fk.match != "SIMPLE":
        sql += f" MATCH {fk.match}"
    if fk.on_update != "NO ACTION":
        sql += f" ON UPDATE {fk.on_update}"
    if fk.on_delete != "NO ACTION":
        sql += f" ON DELETE {fk.on_delete}"
    return sql + deferrable_clause(fk.deferrable, fk.initially_deferred)


def constraint_body(con: Constraint, *, not_valid: bool = True) -> str:
    """The constraint definition after ``CONSTRAINT name``. ``not_valid=False`` leaves out NOT
    VALID (inline constraints in CREATE TABLE cannot carry it)."""
    if isinstance(con, PrimaryKey):
        return f"PRIMARY KEY ({idents(con.columns)})" + deferrable_clause(
            con.deferrable, con.initially_deferred)
    if isinstance(con, UniqueConstraint):
        sql = "UNIQUE NULLS NOT DISTINCT" if con.nulls_not_distinct else "UNIQUE"
        sql += f" ({idents(con.columns)})"
        if con.include:
            sql += f" INCLUDE ({idents(con.include)})"
        return sql + deferrable_clause(con.deferrable, con.initially_deferred)
    if isinstance(con, CheckConstraint):
        # always parenthesize: the IR keeps whatever the catalog printed, which is not
        # parenthesized for e.g. a bare boolean column or a function call
        sql = f"CHECK ({con.expression})" + (" NO INHERIT" if con.no_inherit else "")
        return sql + (" NOT VALID" if not_valid and not con.validated else "")
    if isinstance(con, ForeignKey):
        return _foreign_key_body(con) + (" NOT VALID" if not_valid and not con.validated else "")
    if isinstance(con, ExclusionConstraint):
        return con.definition
    raise TypeError(f"not a constraint: {type(con).__name__}")


def constraint_clause(con: Constraint, *, not_valid: bool = True) -> str:
    return f"CONSTRAINT {quote_ident(con.name)} {constraint_body(con, not_valid=not_valid)}"

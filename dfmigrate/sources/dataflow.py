"""A DataFlow instance's models → Schema: the tables kailash-dataflow itself creates for them.

``dataflow:package.module:attr`` names a ``DataFlow`` object. Its model registry is read as
DataFlow filled it at ``@db.model`` time; nothing here connects to a database or calls anything
that does (DataFlow connects lazily, on the first query or ``create_tables``).

The tables mirror DataFlow's own DDL (kailash-dataflow 2.20.1, ``dataflow/core/engine.py``):
``_python_type_to_sql_type`` (6416), ``_get_sql_column_definition`` (6494),
``_generate_create_table_sql`` (6590) and ``_generate_indexes_sql`` (6722), spelled the way the
catalog prints that DDL back (``format_type()`` / ``pg_get_expr()`` on PostgreSQL, the declared
text on SQLite), so a database DataFlow created diffs empty against this source. DataFlow's
conventions differ from dfmigrate's own models (``REAL`` floats, ``TEXT`` decimals and dates,
``SERIAL`` keys, nullable defaulted fields): the table in docs/dataflow.md lists them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, get_args, get_origin

from dfmigrate.errors import SourceError
from dfmigrate.core.schema import (
    DEFAULT_NAMESPACE, Column, Dialect, Index, IndexPart, PrimaryKey, Schema, Sequence,
    SequenceOptions, Table,
)
from dfmigrate.sources.model_classes import _jsonb_text, _location, _on_sys_path, import_roots, pg_object_name, quote_literal

__all__ = ["load_dataflow", "parse_spec"]

PREFIX = "dataflow:"
_IMPLICIT = ("id", "created_at", "updated_at")  # DataFlow writes these columns itself

# DataFlow's type table, by exact class (engine.py:6458): anything else is stored as TEXT.
_SQL_TYPES: dict[str, dict[type, str]] = {
    "postgresql": {int: "integer", str: "text", bool: "boolean", float: "real",
                   dt.datetime: "timestamp without time zone", dict: "jsonb", list: "jsonb",
                   bytes: "bytea"},
    "sqlite": {int: "INTEGER", str: "TEXT", bool: "INTEGER", float: "REAL", dt.datetime: "TEXT",
               dict: "TEXT", list: "TEXT", bytes: "BLOB"},
    "mysql": {int: "int", str: "varchar(255)", bool: "tinyint(1)", float: "double", dt.datetime: "datetime",
              dict: "json", list: "json", bytes: "blob"},
}
_FALLBACK = {"postgresql": "text", "sqlite": "TEXT", "mysql": "text"}
_TIMESTAMP = {"postgresql": "timestamp without time zone", "sqlite": "TEXT", "mysql": "timestamp"}
# DataFlow's DEFAULT CURRENT_TIMESTAMP as each catalog prints it (MariaDB's spelling on MySQL).
_NOW = {"postgresql": "CURRENT_TIMESTAMP", "sqlite": "CURRENT_TIMESTAMP", "mysql": "current_timestamp()"}
_JSON_ORIGINS = {list: list, dict: dict, set: list, frozenset: list, tuple: list}


def parse_spec(spec: str) -> tuple[str, str]:
    """``dataflow:pkg.mod:db`` → ``("pkg.mod", "db")``."""
    module, sep, attr = spec[len(PREFIX):].rpartition(":") if spec.startswith(PREFIX) else ("", "", "")
    if not sep or not module or not attr.isidentifier():
        raise SourceError(f"{spec}: expected dataflow:MODULE:ATTR, e.g. dataflow:myapp.models:db")
    return module, attr


def load_dataflow(spec: str, dialect: Dialect) -> Schema:
    """The Schema of the tables DataFlow creates for the models of the instance ``spec`` names."""
    module_name, attr = parse_spec(spec)
    dataflow_class = _dataflow_class()
    module = _import(spec, module_name)
    if not hasattr(module, attr):
        raise SourceError(f"{spec}: module {module_name} has no attribute {attr}")
    db = getattr(module, attr)
    if not isinstance(db, dataflow_class):
        raise SourceError(f"{spec}: {attr} is not a DataFlow instance (type {type(db).__name__})")
    names = list(db.list_models())
    if not names:
        raise SourceError(f"{spec}: the DataFlow instance has no models")
    tables, sequences = [], []
    claimed_indexes: set[str] = set()  # CREATE INDEX IF NOT EXISTS: a repeated name is skipped
    for name in names:  # registration order, as DataFlow creates them
        table, sequence = _table(db, name, dialect, claimed_indexes)
        tables.append(table)
        if sequence is not None:
            sequences.append(sequence)
    seen: dict[str, str] = {}
    for name, table in zip(names, tables):
        if table.name in seen:
            raise SourceError(f"models {seen[table.name]} and {name} both map to table {table.name}")
        seen[table.name] = name
    return Schema(dialect=dialect, namespaces=(DEFAULT_NAMESPACE[dialect],),
                  sequences=tuple(sorted(sequences, key=lambda s: s.name)),
                  tables=tuple(sorted(tables, key=lambda t: t.name)))


def _dataflow_class() -> type:
    try:
        from dataflow import DataFlow
    except ImportError as exc:
        raise SourceError(f"the dataflow: source needs kailash-dataflow: install dfmigrate[dataflow] "
                          f"({exc})") from None
    return DataFlow


# --- Importing the user's module -------------------------------------------------------------
def _import(spec: str, module_name: str) -> ModuleType:
    with _on_sys_path(*import_roots()), _user_code(spec, module_name):
        return importlib.import_module(module_name)


@contextmanager
def _user_code(spec: str, module_name: str) -> Iterator[None]:
    """A failure while the user's module runs becomes one line naming where it happened."""
    try:
        yield
    except SourceError:
        raise
    except SyntaxError as exc:
        raise SourceError(f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise SourceError(f"{spec}: cannot import module {module_name}: {exc}") from None
        raise SourceError(f"{_location(spec, None, exc)}: ModuleNotFoundError: {exc}") from None
    except (Exception, SystemExit) as exc:  # sys.exit() in the module must not end dfmigrate
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise SourceError(f"{_location(spec, None, exc)}: {type(exc).__name__}: {message}") from None


# --- One model → one table -------------------------------------------------------------------
def _table(db: Any, model: str, dialect: Dialect, claimed_indexes: set[str]) -> tuple[Table, Sequence | None]:
    fields: dict[str, dict[str, Any]] = db.get_model_fields(model)
    if not fields:
        raise SourceError(f"model {model}: no annotated fields (DataFlow cannot create its table)")
    cls = db.get_models()[model]
    config = getattr(cls, "__dataflow__", None) or {}
    table = _table_name(db, model)
    ns, pg = DEFAULT_NAMESPACE[dialect], dialect == "postgresql"

    key, sequence = _key_column(fields.get("id", {}), table, ns, dialect)
    columns = [key]
    for name, info in fields.items():
        if name in _IMPLICIT:
            continue
        sql_type = _sql_type(model, name, info["type"], dialect)
        # DataFlow's NOT NULL follows "has no class default" only: Optional[T] without a default
        # is NOT NULL, a field with any default (even a non-None one) is nullable.
        columns.append(Column(name=name, type=sql_type, nullable=not info.get("required", True),
                              default=_default(model, name, info, sql_type, dialect)))
    columns += [Column(name="created_at", type=_TIMESTAMP[dialect], default=_NOW[dialect]),
                # on MySQL DataFlow adds ON UPDATE CURRENT_TIMESTAMP to updated_at
                Column(name="updated_at", type=_TIMESTAMP[dialect], default=_NOW[dialect],
                       on_update=_NOW[dialect] if dialect == "mysql" else None)]
    if config.get("soft_delete", False) and "deleted_at" not in fields:
        columns.append(Column(name="deleted_at", type=_TIMESTAMP[dialect]))

    pk_name = pg_object_name(table, None, "pkey") if pg else "PRIMARY" if dialect == "mysql" else f"{table}_pkey"
    indexes = _indexes(model, table, config, {c.name for c in columns}, dialect, claimed_indexes)
    return Table(namespace=ns, name=table, columns=tuple(columns),
                 primary_key=PrimaryKey(pk_name, ("id",)),
                 indexes=tuple(sorted(indexes, key=lambda i: i.name))), sequence


def _table_name(db: Any, model: str) -> str:
    # The name registration stored (it respects __tablename__), which every DDL path reads.
    lookup = getattr(db, "_get_table_name", None)
    if lookup is None:
        raise SourceError("this kailash-dataflow has no DataFlow._get_table_name: "
                          "the dataflow: source was written against kailash-dataflow 2.20")
    return lookup(model)


def _key_column(info: dict[str, Any], table: str, ns: str,
                dialect: Dialect) -> tuple[Column, Sequence | None]:
    # engine.py:6647: only an `id: str` annotation (exactly str, not Optional[str]) gives a text
    # key; every other model, whatever its `id` says, gets DataFlow's generated integer key.
    if info.get("type") is str:
        if dialect == "mysql":  # VARCHAR(255) PRIMARY KEY
            return Column("id", "varchar(255)", nullable=False), None
        # SQLite lets a non-INTEGER PRIMARY KEY column hold NULL, and its catalog says so.
        return Column("id", _FALLBACK[dialect], nullable=dialect == "sqlite"), None
    if dialect == "sqlite":  # INTEGER PRIMARY KEY AUTOINCREMENT
        return Column("id", "INTEGER", nullable=False, autoincrement=True), None
    if dialect == "mysql":  # INT AUTO_INCREMENT PRIMARY KEY
        return Column("id", "int", nullable=False, autoincrement=True), None
    # SERIAL: an integer column fed by an owned sequence named like makeObjectName() would.
    seq = pg_object_name(table, "id", "seq")
    column = Column("id", "integer", nullable=False, default=f"nextval('{ns}.{seq}'::regclass)")
    return column, Sequence(ns, seq, SequenceOptions(data_type="integer"), owned_by=f"{ns}.{table}.id")


def _sql_type(model: str, field: str, annotation: Any, dialect: Dialect) -> str:
    """DataFlow's mapping; an annotation it only maps by accident (not a class) is an error."""
    args = get_args(annotation)
    if len(args) == 2 and type(None) in args and _is_union(annotation):
        return _sql_type(model, field, args[0] if args[1] is type(None) else args[1], dialect)
    origin = get_origin(annotation)
    if origin in _JSON_ORIGINS:
        return _SQL_TYPES[dialect][_JSON_ORIGINS[origin]]
    if annotation is Any or not isinstance(annotation, type) or origin is not None:  # Any is a class on 3.11
        # DataFlow would silently store these (Any, unions of types, Literal, ClassVar, ...) as
        # TEXT: a schema tool should say so rather than plan a TEXT column nobody asked for.
        raise SourceError(f"model {model}, field {field}: unsupported type {_type_name(annotation)} "
                          f"(DataFlow would store it as TEXT; annotate the field with a class)")
    return _SQL_TYPES[dialect].get(annotation, _FALLBACK[dialect])


def _is_union(annotation: Any) -> bool:
    import types
    import typing

    return get_origin(annotation) in (typing.Union, getattr(types, "UnionType", typing.Union))


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and get_origin(annotation) is None:
        return annotation.__name__
    return str(annotation).replace("typing.", "")


# --- Defaults --------------------------------------------------------------------------------
def _default(model: str, field: str, info: dict[str, Any], sql_type: str, dialect: Dialect) -> str | None:
    """DataFlow's DEFAULT clause (engine.py:6525), as the dialect's catalog prints it back."""
    value = info.get("default")
    if value is None or callable(value):
        return None  # a callable default is computed by DataFlow's Create node, not the database
    where = f"model {model}, field {field}: default {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        raise SourceError(f"{where}: DataFlow writes it as a bare word, which is not valid SQL")
    # DataFlow's branches in its order: str, bool, list/dict, int/float, anything else.
    literal: str | None = None  # the text DataFlow puts between quotes, for quoted branches
    if isinstance(value, str):
        literal = f"{value}"
    elif not isinstance(value, (bool, list, dict, int, float)):
        literal = str(value)
    if literal is not None and "'" in literal:
        raise SourceError(f"{where}: DataFlow writes it into its DDL unescaped, so its CREATE TABLE fails")
    if dialect == "sqlite":
        return _sqlite_default(value, literal, where)
    if dialect == "mysql":
        return _mysql_default(value, literal, sql_type, where)
    return _pg_default(value, literal, sql_type, where)


def _dataflow_json(value: Any, where: str) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"{where}: {exc}") from None


def _sqlite_default(value: Any, literal: str | None, where: str) -> str:
    # SQLite keeps the default's text exactly as DataFlow wrote it.
    if literal is not None:
        return f"'{literal}'"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, dict)):
        return quote_literal(_dataflow_json(value, where))
    return f"{value}"


def _mysql_default(value: Any, literal: str | None, sql_type: str, where: str) -> str:
    """DataFlow's MySQL DEFAULT clause as MariaDB's information_schema prints it."""
    if isinstance(value, (list, dict)):
        raise SourceError(f"{where}: DataFlow writes DEFAULT (CAST('…' AS JSON)), which MariaDB rejects "
                          f"and MySQL keeps as an expression: give the field no default")
    if literal is not None:
        if "\\" in literal:
            raise SourceError(f"{where}: DataFlow writes it unescaped, and MySQL reads a backslash as an escape")
        if isinstance(value, dt.datetime) and value.microsecond:
            raise SourceError(f"{where}: a datetime column keeps no fraction of a second; "
                              "MySQL rounds it (give a whole-second default)")
        return f"'{literal}'"
    if isinstance(value, bool):
        value = int(value)  # DataFlow writes 1 / 0
    if sql_type == "int" and not -(2**31) <= value < 2**31:
        raise SourceError(f"{where}: out of range for DataFlow's INT column, so its CREATE TABLE fails")
    text = f"{value}"
    if sql_type in ("varchar(255)", "text"):
        return f"'{text}'"  # a number default on a text column reads back as a string
    if "e" in text.lower():  # MariaDB prints an exponent literal positionally: 1e-07 → 0.0000001
        return format(decimal.Decimal(text), "f")
    return text


def _pg_default(value: Any, literal: str | None, sql_type: str, where: str) -> str:
    if literal is not None:  # an untyped string literal, coerced to the column's type
        if sql_type == "text":
            return f"{quote_literal(literal)}::text"
        if sql_type == "jsonb":
            try:
                return f"{quote_literal(_jsonb_text(json.loads(literal)))}::jsonb"
            except ValueError:
                raise SourceError(f"{where}: not valid JSON for a jsonb column") from None
        if sql_type == "timestamp without time zone" and isinstance(value, dt.datetime):
            text = value.replace(tzinfo=None).isoformat(sep=" ")
            text = text.rstrip("0").rstrip(".") if "." in text else text
            return f"{quote_literal(text)}::{sql_type}"
    # A typed literal keeps its own type under the assignment cast to the column (which the
    # catalog does not print), so it reads back the same on every column type that has one.
    elif isinstance(value, bool):
        if sql_type in ("boolean", "text"):
            return "true" if value else "false"
    elif isinstance(value, (list, dict)):
        if sql_type == "jsonb":
            return f"{quote_literal(_jsonb_text(json.loads(_dataflow_json(value, where))))}::jsonb"
    elif sql_type in ("integer", "real", "text"):
        return _pg_number(f"{value}", where)
    raise SourceError(f"{where}: no predictable PostgreSQL spelling for a {sql_type} column "
                      f"(give the field a default of its own type)")


def _pg_number(token: str, where: str) -> str:
    """An int4, int8 or numeric literal as the catalog prints it: bare when non-negative, quoted
    with its type when the parser folded a minus sign into the constant."""
    try:
        if any(c in token for c in ".eE"):
            text = format(decimal.Decimal(token), "f")
            return f"'{text}'::numeric" if text.startswith("-") else text
        n = int(token)
    except (ValueError, decimal.InvalidOperation):  # e.g. an IntEnum member formatted by name
        raise SourceError(f"{where}: DataFlow writes it as {token}, which is not a number") from None
    if 0 <= n <= 2**31 - 1:
        return str(n)
    # -2147483648 is negated from 2147483648, which the lexer already read as wider than int4.
    kind = "integer" if -(2**31) < n < 0 else "bigint" if -(2**63) <= n < 2**63 else "numeric"
    return f"'{n}'::{kind}"


# --- Indexes ---------------------------------------------------------------------------------
def _indexes(model: str, table: str, config: dict[str, Any], columns: set[str], dialect: Dialect,
             claimed: set[str]) -> list[Index]:
    from dataflow.adapters.dialect import DialectManager

    fit = DialectManager.get_dialect(dialect).normalize_identifier
    # DataFlow writes CREATE INDEX with unquoted names: PostgreSQL folds them to lower case,
    # SQLite matches columns case-insensitively and reports the column's own spelling.
    pg = dialect == "postgresql"
    # MySQL, like SQLite, matches index columns case-insensitively.
    column_for = {c: c for c in columns} if pg else {c.lower(): c for c in columns}
    found = []
    for spec in config.get("indexes", []) or []:
        fields = list(spec.get("fields", []) or [])
        if not fields:
            continue  # DataFlow skips an index without fields
        name = spec.get("name")
        name = fit(f"idx_{table}_{fields[0]}") if name is None else name
        name = name.lower() if pg else name
        parts = [column_for.get(f.lower()) for f in fields]
        if None in parts or (pg and table != table.lower()):
            raise SourceError(f"model {model}: DataFlow's CREATE INDEX {name} fails on {dialect} "
                              f"(it is skipped with a warning): check the index's fields")
        if name in claimed:
            continue  # IF NOT EXISTS: DataFlow's second index of that name is never created
        claimed.add(name)
        found.append(Index(name=name, parts=tuple(IndexPart(column=c) for c in parts),
                           unique=bool(spec.get("unique", False))))
    return found

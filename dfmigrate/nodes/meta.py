"""What the generated nodes know about one model: quoted names, column kinds, value conversion.

Built once per model from the same load that builds the schema IR (``ModelInfo`` for the Python
side, the ``Table`` for the column types and constraint names), so the nodes and the diff can
never disagree about a column.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_origin

from dfmigrate.models import MISSING, FieldInfo, ModelInfo
from dfmigrate.core.schema import DEFAULT_NAMESPACE, Dialect, Table

# DataFlow's bulk nodes default to 1,000. On PostgreSQL a batch is one binary COPY, and inside one
# COPY the client encodes while the server inserts; at each batch boundary the client waits for the
# server to finish. Measured at 100k rows (median of 7): one COPY 1.12x the floor, 25k-row batches
# 1.19x, 10k 1.45x, 1k ~2x. 100k keeps a million rows to ten waits, and a batch's tuples to ~10 MB.
DEFAULT_BATCH_SIZE = 100_000

# Order matters: bool is an int, datetime is a date.
_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"), (int, "int"), (float, "float"), (decimal.Decimal, "decimal"), (str, "str"),
    (bytes, "bytes"), (dt.datetime, "datetime"), (dt.date, "date"), (dt.time, "time"),
    (uuid.UUID, "uuid"),
)


def kind_of(python_type: Any) -> str:
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return "enum"
    if python_type in (dict, list) or get_origin(python_type) in (dict, list):
        return "json"
    for py, kind in _KINDS:
        if isinstance(python_type, type) and issubclass(python_type, py):
            return kind
    return "other"


def param_type(python_type: Any) -> Any:
    """The ``NodeParameter`` type: Kailash calls ``type(value)`` to convert, so generic aliases
    (``dict[str, Any]``) become their origin."""
    origin = get_origin(python_type)
    if origin in (dict, list):
        return origin
    return python_type if isinstance(python_type, type) else Any


def type_name(python_type: Any) -> str:
    origin = get_origin(python_type)
    if origin is not None:
        return str(python_type).replace("typing.", "")
    return getattr(python_type, "__name__", str(python_type))


@dataclass(frozen=True)
class ColumnMeta:
    name: str
    quoted: str
    kind: str
    sql_type: str  # as the catalog prints it (the IR's Column.type)
    info: FieldInfo

    @property
    def required_on_create(self) -> bool:
        f = self.info
        return not (f.nullable or f.has_default or f.generated)


@dataclass
class ModelMeta:
    name: str
    dialect: Dialect
    table_name: str
    namespace: str
    table_sql: str  # quoted (and qualified on PostgreSQL)
    columns: dict[str, ColumnMeta]
    primary_key: tuple[str, ...]
    uniques: list[tuple[str, tuple[str, ...]]]  # (constraint name, columns), primary key first
    foreign_keys: list[str]
    touches_updated_at: bool  # the implicit DataFlow updated_at column: nodes set it on update
    auto_increment: str | None = None  # the key column the database numbers (identity, AUTO_INCREMENT)
    info: ModelInfo = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def id_column(self) -> ColumnMeta | None:
        return self.columns[self.primary_key[0]] if len(self.primary_key) == 1 else None

    def quote(self, name: str) -> str:
        return _quoter(self.dialect)(name)

    def column(self, name: str, where: str) -> ColumnMeta:
        try:
            return self.columns[name]
        except (KeyError, TypeError):
            raise ValueError(f"{where}: model {self.name} has no field {name!r}") from None


def _quoter(dialect: Dialect) -> Callable[[str], str]:
    if dialect == "postgresql":
        from dfmigrate.dialects.postgres.quote import quote_ident
    elif dialect == "mysql":
        return _mysql_quote
    else:
        from dfmigrate.dialects.sqlite.quote import quote_ident
    return quote_ident


def _mysql_quote(name: str) -> str:
    """A MySQL name for SQL that asyncmy formats with ``%s`` parameters: a ``%`` in the name is
    doubled so that the formatting gives it back (the nodes always pass parameters, even none)."""
    from dfmigrate.dialects.mysql.quote import quote_ident

    return quote_ident(name).replace("%", "%%")


def build_meta(info: ModelInfo, table: Table, dialect: Dialect) -> ModelMeta:
    quote = _quoter(dialect)
    namespace = info.namespace if dialect == "postgresql" and info.namespace else DEFAULT_NAMESPACE[dialect]
    table_sql = f"{quote(namespace)}.{quote(table.name)}" if dialect == "postgresql" else quote(table.name)
    types = {c.name: c.type for c in table.columns}
    columns = {
        f.name: ColumnMeta(f.name, quote(f.name), kind_of(f.python_type), types.get(f.name, ""), f)
        for f in info.fields
    }
    uniques: list[tuple[str, tuple[str, ...]]] = []
    if table.primary_key:
        uniques.append((table.primary_key.name, table.primary_key.columns))
    uniques.extend((u.name, u.columns) for u in table.uniques)
    for ix in table.indexes:
        if ix.unique and not ix.where:  # a partial index cannot be an ON CONFLICT target as is
            cols = tuple(p.column or "" for p in ix.parts)
            if all(cols):
                uniques.append((ix.name, cols))
    updated = info.field("updated_at")
    numbered = [c.name for c in table.columns if c.autoincrement or c.identity]
    return ModelMeta(
        name=info.name, dialect=dialect, table_name=table.name, namespace=namespace,
        table_sql=table_sql, columns=columns,
        primary_key=table.primary_key.columns if table.primary_key else (),
        uniques=uniques, foreign_keys=[fk.name for fk in table.foreign_keys],
        touches_updated_at=bool(updated and updated.implicit),
        auto_increment=numbered[0] if len(numbered) == 1 else None, info=info,
    )


# --- values ----------------------------------------------------------------------------------
def to_db(value: Any, col: ColumnMeta, dialect: Dialect) -> Any:
    """A Python value as the driver wants it for this column."""
    if value is None:
        return None
    kind = col.kind
    if isinstance(value, enum.Enum):
        value = value.value
    if kind == "json":
        return json.dumps(value, default=_json_default)
    if dialect == "mysql":
        return _to_mysql(value, kind)
    pg = dialect == "postgresql"
    if kind == "decimal":
        return decimal.Decimal(str(value)) if pg else str(value)
    if kind == "datetime":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if pg and isinstance(value, dt.datetime) and col.sql_type == "timestamp without time zone" \
                and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value if pg else value.isoformat(sep=" ")
    if kind in ("date", "time"):
        if isinstance(value, str):
            value = (dt.date if kind == "date" else dt.time).fromisoformat(value)
        return value if pg else value.isoformat()
    if kind == "uuid":
        if pg:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return str(value)
    if kind == "bool" and not pg:
        return int(bool(value))
    return value


def _to_mysql(value: Any, kind: str) -> Any:
    """asyncmy takes int, str, bool, Decimal, bytes, date, time and naive datetime as they are.
    DATETIME and TIMESTAMP hold no zone: an aware datetime is stored as UTC (the nodes' sessions
    run with time_zone +00:00, so TIMESTAMP columns read back the same UTC time), a naive one as
    it is."""
    if kind == "decimal":
        return decimal.Decimal(str(value)) if isinstance(value, float) else value
    if kind == "datetime":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if kind in ("date", "time"):
        return (dt.date if kind == "date" else dt.time).fromisoformat(value) if isinstance(value, str) else value
    if kind == "uuid":
        return str(value)
    if kind == "bool":
        return int(bool(value))
    return value


def from_db(value: Any, col: ColumnMeta | None) -> Any:
    """A value read back, made JSON-serializable (Kailash rejects other node outputs)."""
    if value is None:
        return None
    kind = col.kind if col else None
    if kind == "json" and isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode()
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    if kind == "decimal" and isinstance(value, (int, float)):
        return str(value)
    if kind == "time" and isinstance(value, dt.timedelta) and dt.timedelta(0) <= value < dt.timedelta(days=1):
        return (dt.datetime.min + value).time().isoformat()  # MySQL drivers return TIME as a timedelta
    return json_safe(value)


def json_safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


def _json_default(value: Any) -> Any:
    safe = json_safe(value)
    if safe is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return safe


def row_out(meta: ModelMeta, row: dict[str, Any]) -> dict[str, Any]:
    return {k: from_db(v, meta.columns.get(k)) for k, v in row.items()}


def default_for_manifest(f: FieldInfo) -> Any:
    if f.default is MISSING or callable(f.default):
        return None
    return json_safe(f.default)

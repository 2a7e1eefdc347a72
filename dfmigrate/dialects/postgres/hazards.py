"""What each PostgreSQL operation locks and risks, as data.

The renderer tags every statement with an ``Op``; ``RISKS[op]`` says which lock the statement
takes on its relation and which hazards it carries. Keeping this in one table (instead of ifs next
to the SQL) makes the safety model reviewable in one place and lets a safety mode or a linter read
it. Lock names follow the PostgreSQL documentation ("Explicit Locking", table 13.2).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dfmigrate.core.statement import Hazard

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"

# What other sessions cannot do on the relation while each lock is held (table 13.2): reads are
# SELECT, writes are INSERT/UPDATE/DELETE. SHARE UPDATE EXCLUSIVE only excludes other DDL/VACUUM.
BLOCKS: dict[str, tuple[str, ...]] = {
    ACCESS_EXCLUSIVE: ("reads", "writes"),
    "EXCLUSIVE": ("writes",),
    SHARE_ROW_EXCLUSIVE: ("writes",),
    SHARE: ("writes",),
    SHARE_UPDATE_EXCLUSIVE: (),
    ROW_EXCLUSIVE: (),
}


class Op(enum.Enum):
    """One kind of rendered statement (a change may render to several)."""

    CREATE_OBJECT = "create"  # a new non-table object: schema, type, view, function, ...
    DROP_OBJECT = "drop"  # an object holding no rows: type, view, function, schema, ...
    RENAME_OBJECT = "rename"
    ALTER_OBJECT = "alter"  # metadata-only change of a non-table object
    DROP_SEQUENCE = "drop-sequence"
    ADD_ENUM_VALUE = "add-enum-value"
    CONVERT_ENUM_COLUMN = "convert-enum-column"
    GRANT = "grant"
    COMMENT = "comment"

    CREATE_TABLE = "create-table"
    DROP_TABLE = "drop-table"
    RENAME_TABLE = "rename-table"
    SET_LOGGED = "set-logged"
    ALTER_TABLE = "alter-table"  # RLS flags, storage options, inheritance
    ATTACH_PARTITION = "attach-partition"
    DETACH_PARTITION = "detach-partition"

    ADD_COLUMN = "add-column"
    ADD_COLUMN_REWRITE = "add-column-rewrite"  # stored generated, identity or volatile default
    DROP_COLUMN = "drop-column"
    RENAME_COLUMN = "rename-column"
    ALTER_COLUMN = "alter-column"  # defaults, DROP NOT NULL, identity, DROP EXPRESSION
    ALTER_COLUMN_TYPE = "alter-column-type"
    ALTER_COLUMN_TYPE_NO_REWRITE = "alter-column-type-no-rewrite"
    ALTER_COLUMN_COLLATION = "alter-column-collation"
    SET_NOT_NULL = "set-not-null"
    REGENERATE_COLUMN = "regenerate-column"  # drop + re-add a generated column

    ADD_INDEXED_CONSTRAINT = "add-indexed-constraint"  # primary key, unique, exclusion
    ADD_CHECK = "add-check"
    ADD_CHECK_NOT_VALID = "add-check-not-valid"
    ADD_FOREIGN_KEY = "add-foreign-key"
    ADD_FOREIGN_KEY_NOT_VALID = "add-foreign-key-not-valid"
    DROP_CONSTRAINT = "drop-constraint"
    DROP_INDEXED_CONSTRAINT = "drop-indexed-constraint"
    VALIDATE_CONSTRAINT = "validate-constraint"

    CREATE_INDEX = "create-index"
    DROP_INDEX = "drop-index"

    # the online forms (dfmigrate/dialects/postgres/online.py)
    CREATE_INDEX_CONCURRENTLY = "create-index-concurrently"
    DROP_INDEX_CONCURRENTLY = "drop-index-concurrently"
    ADD_CONSTRAINT_USING_INDEX = "add-constraint-using-index"  # over an index built concurrently
    SET_NOT_NULL_CHECKED = "set-not-null-checked"  # a validated CHECK (c IS NOT NULL) proves it
    BACKFILL = "backfill"  # UPDATE in committed batches by key range
    CREATE_TRIGGER = "create-trigger"
    DROP_TRIGGER = "drop-trigger"
    SET_TRIGGER_ENABLED = "set-trigger-enabled"
    CREATE_POLICY = "create-policy"
    DROP_POLICY = "drop-policy"
    REPLACE_FUNCTION = "replace-function"
    DROP_FUNCTION = "drop-function"


@dataclass(frozen=True)
class Risk:
    lock: str | None = None  # lock taken on the statement's relation; None = no table lock
    hazards: tuple[Hazard, ...] = ()


H = Hazard
_LONG_EXCLUSIVE = (H.TABLE_REWRITE, H.ACCESS_EXCLUSIVE_LOCK)
_SCAN_EXCLUSIVE = (H.VALIDATES_ROWS, H.ACCESS_EXCLUSIVE_LOCK)

RISKS: dict[Op, Risk] = {
    Op.CREATE_OBJECT: Risk(),
    Op.DROP_OBJECT: Risk(),
    Op.RENAME_OBJECT: Risk(hazards=(H.BREAKS_CLIENTS,)),
    Op.ALTER_OBJECT: Risk(),
    Op.DROP_SEQUENCE: Risk(hazards=(H.DELETES_DATA,)),  # its current value is lost
    Op.ADD_ENUM_VALUE: Risk(),
    Op.CONVERT_ENUM_COLUMN: Risk(ACCESS_EXCLUSIVE, (*_LONG_EXCLUSIVE, H.VALIDATES_ROWS)),
    Op.GRANT: Risk(),
    Op.COMMENT: Risk(SHARE_UPDATE_EXCLUSIVE),
    Op.CREATE_TABLE: Risk(),  # a new table: nobody else can be waiting on it
    # running code that reads a dropped table or column fails: both need consent
    Op.DROP_TABLE: Risk(ACCESS_EXCLUSIVE, (H.DELETES_DATA, H.BREAKS_CLIENTS)),
    Op.RENAME_TABLE: Risk(ACCESS_EXCLUSIVE, (H.BREAKS_CLIENTS,)),
    Op.SET_LOGGED: Risk(ACCESS_EXCLUSIVE, _LONG_EXCLUSIVE),
    Op.ALTER_TABLE: Risk(ACCESS_EXCLUSIVE),
    # ATTACH scans the partition (and a default partition) unless a matching CHECK exists; the
    # parent only takes SHARE UPDATE EXCLUSIVE (PostgreSQL 12+), the partition ACCESS EXCLUSIVE.
    Op.ATTACH_PARTITION: Risk(SHARE_UPDATE_EXCLUSIVE, (H.VALIDATES_ROWS,)),
    Op.DETACH_PARTITION: Risk(ACCESS_EXCLUSIVE),
    Op.ADD_COLUMN: Risk(ACCESS_EXCLUSIVE),
    Op.ADD_COLUMN_REWRITE: Risk(ACCESS_EXCLUSIVE, _LONG_EXCLUSIVE),
    Op.DROP_COLUMN: Risk(ACCESS_EXCLUSIVE, (H.DELETES_DATA, H.BREAKS_CLIENTS)),
    Op.RENAME_COLUMN: Risk(ACCESS_EXCLUSIVE, (H.BREAKS_CLIENTS,)),
    Op.ALTER_COLUMN: Risk(ACCESS_EXCLUSIVE),
    Op.ALTER_COLUMN_TYPE: Risk(ACCESS_EXCLUSIVE, _LONG_EXCLUSIVE),
    Op.ALTER_COLUMN_TYPE_NO_REWRITE: Risk(ACCESS_EXCLUSIVE),
    # a new collation keeps the heap but rebuilds every index on the column
    Op.ALTER_COLUMN_COLLATION: Risk(ACCESS_EXCLUSIVE, (H.INDEX_BUILD, H.ACCESS_EXCLUSIVE_LOCK)),
    Op.SET_NOT_NULL: Risk(ACCESS_EXCLUSIVE, (*_SCAN_EXCLUSIVE, H.FAILS_ON_DATA)),
    # values are recomputed, not lost, but the whole table is rewritten
    Op.REGENERATE_COLUMN: Risk(ACCESS_EXCLUSIVE, _LONG_EXCLUSIVE),
    Op.ADD_INDEXED_CONSTRAINT: Risk(
        ACCESS_EXCLUSIVE, (H.INDEX_BUILD, H.VALIDATES_ROWS, H.ACCESS_EXCLUSIVE_LOCK, H.FAILS_ON_DATA)),
    Op.ADD_CHECK: Risk(ACCESS_EXCLUSIVE, (*_SCAN_EXCLUSIVE, H.FAILS_ON_DATA)),
    Op.ADD_CHECK_NOT_VALID: Risk(ACCESS_EXCLUSIVE),
    # also SHARE ROW EXCLUSIVE on the referenced table
    Op.ADD_FOREIGN_KEY: Risk(SHARE_ROW_EXCLUSIVE, (H.VALIDATES_ROWS, H.FAILS_ON_DATA)),
    Op.ADD_FOREIGN_KEY_NOT_VALID: Risk(SHARE_ROW_EXCLUSIVE),
    Op.DROP_CONSTRAINT: Risk(ACCESS_EXCLUSIVE),
    Op.DROP_INDEXED_CONSTRAINT: Risk(ACCESS_EXCLUSIVE, (H.INDEX_DROPPED,)),
    Op.VALIDATE_CONSTRAINT: Risk(SHARE_UPDATE_EXCLUSIVE, (H.VALIDATES_ROWS, H.FAILS_ON_DATA)),
    Op.CREATE_INDEX: Risk(SHARE, (H.INDEX_BUILD, H.SHARE_LOCK)),
    Op.DROP_INDEX: Risk(ACCESS_EXCLUSIVE, (H.INDEX_DROPPED,)),
    # waits for running transactions, then builds without blocking writes
    Op.CREATE_INDEX_CONCURRENTLY: Risk(SHARE_UPDATE_EXCLUSIVE, (H.INDEX_BUILD, H.NON_TRANSACTIONAL)),
    Op.DROP_INDEX_CONCURRENTLY: Risk(SHARE_UPDATE_EXCLUSIVE, (H.INDEX_DROPPED, H.NON_TRANSACTIONAL)),
    # catalog-only once the index is valid: a brief ACCESS EXCLUSIVE, no build, no scan
    Op.ADD_CONSTRAINT_USING_INDEX: Risk(ACCESS_EXCLUSIVE),
    # PostgreSQL 12+ skips the scan when a validated CHECK (c IS NOT NULL) exists
    Op.SET_NOT_NULL_CHECKED: Risk(ACCESS_EXCLUSIVE),
    Op.BACKFILL: Risk(ROW_EXCLUSIVE, (H.UPDATES_ROWS, H.NON_TRANSACTIONAL)),
    Op.CREATE_TRIGGER: Risk(SHARE_ROW_EXCLUSIVE),
    Op.DROP_TRIGGER: Risk(ACCESS_EXCLUSIVE),
    Op.SET_TRIGGER_ENABLED: Risk(SHARE_ROW_EXCLUSIVE),
    Op.CREATE_POLICY: Risk(ACCESS_EXCLUSIVE),
    Op.DROP_POLICY: Risk(ACCESS_EXCLUSIVE),
    # callers are not tracked: function bodies are opaque to dependency analysis
    Op.REPLACE_FUNCTION: Risk(hazards=(H.UNTRACKABLE_DEPENDENCIES,)),
    Op.DROP_FUNCTION: Risk(hazards=(H.UNTRACKABLE_DEPENDENCIES,)),
}

# Substrings of a column default that make ADD COLUMN rewrite the table: PostgreSQL 11+ stores a
# non-volatile default in the catalog, but a volatile one is evaluated once per existing row.
VOLATILE_DEFAULT_MARKERS: tuple[str, ...] = (
    "nextval(", "random(", "gen_random_uuid(", "uuid_generate_", "clock_timestamp(",
    "timeofday(", "txid_current(",
)

def volatile_default(default: str | None) -> bool:
    """Whether a column default is evaluated per row (so ADD COLUMN with it rewrites the table)."""
    return default is not None and any(m in default for m in VOLATILE_DEFAULT_MARKERS)


# Type changes PostgreSQL makes without rewriting the table (binary-coercible widenings):
# (old type pattern, new type pattern, predicate on the two match objects).
_VARCHAR = r"character varying(?:\((\d+)\))?"
_NUMERIC = r"numeric(?:\((\d+),(\d+)\))?"
_BIT_VARYING = r"bit varying(?:\((\d+)\))?"


def _widens(old: re.Match[str], new: re.Match[str]) -> bool:
    """True when the new length limit is absent or at least the old one."""
    if new.group(1) is None:
        return True
    return old.group(1) is not None and int(new.group(1)) >= int(old.group(1))


def _numeric_widens(old: re.Match[str], new: re.Match[str]) -> bool:
    if new.group(1) is None:
        return True
    return (old.group(1) is not None and old.group(2) == new.group(2)
            and int(new.group(1)) >= int(old.group(1)))


NO_REWRITE_TYPE_CHANGES = (
    (_VARCHAR, _VARCHAR, _widens),
    (_VARCHAR, r"text", lambda old, new: True),
    (_NUMERIC, _NUMERIC, _numeric_widens),
    (_BIT_VARYING, _BIT_VARYING, _widens),
    (r"cidr", r"inet", lambda old, new: True),
    (r"xml", r"text", lambda old, new: True),
)


def type_change_rewrites(old_type: str, new_type: str) -> bool:
    """Whether ALTER COLUMN ... TYPE from old_type to new_type rewrites the table."""
    for old_pattern, new_pattern, ok in NO_REWRITE_TYPE_CHANGES:
        old = re.fullmatch(old_pattern, old_type)
        new = re.fullmatch(new_pattern, new_type)
        if old and new and ok(old, new):
            return False
    return True


# Type changes that can lose what a value holds (rounding, truncation of precision): they need
# consent like a dropped column. Shortening a length limit fails on a long value instead (no loss).
INTEGER_SIZES = {"smallint": 2, "integer": 4, "bigint": 8}
_LOSSY_TARGETS = {"smallint", "integer", "bigint", "date"}


def type_change_loses_data(old_type: str, new_type: str) -> bool:
    """Whether values may be rounded or truncated: numeric scale reduced, a fractional or
    timestamp type cast to an integer or a date."""
    old_num = re.fullmatch(_NUMERIC, old_type)
    new_num = re.fullmatch(_NUMERIC, new_type)
    if old_num and new_num:
        return new_num.group(2) is not None and (old_num.group(2) is None
                                                 or int(new_num.group(2)) < int(old_num.group(2)))
    fractional = old_num or old_type in ("real", "double precision") or old_type.startswith("timestamp")
    return bool(fractional) and (new_type in _LOSSY_TARGETS or bool(new_num))


def type_change_narrows(old_type: str, new_type: str) -> bool:
    """Whether existing values may not fit (the ALTER then fails on them): a shorter length limit
    or a smaller integer."""
    if old_type in INTEGER_SIZES and new_type in INTEGER_SIZES:
        return INTEGER_SIZES[new_type] < INTEGER_SIZES[old_type]
    for pattern in (_VARCHAR, _BIT_VARYING):
        old, new = re.fullmatch(pattern, old_type), re.fullmatch(pattern, new_type)
        if old and new:
            return not _widens(old, new)
    return bool(re.fullmatch(_VARCHAR, new_type)) and old_type == "text"

"""Catalog rows → tables and views (the per-relation half of PostgreSQL introspection).

Every function takes the rows of one query and returns IR objects grouped by the owning
relation's oid, so assembly is dictionary look-ups: no per-table queries, no row scans per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence as Seq
from dataclasses import MISSING, fields
from typing import Any, TypeVar

from dfmigrate.core.schema import (
    CheckConstraint, Column, ExclusionConstraint, ForeignKey, Grant, Index, IndexPart,
    Policy, PrimaryKey, Ref, SequenceOptions, Table, Trigger, UniqueConstraint, View,
)

Row = Mapping[str, Any]
T = TypeVar("T")

FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
IDENTITY = {"a": "ALWAYS", "d": "BY DEFAULT"}
_INT_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def sequence_options(data_type: str, start: int, increment: int, min_value: int, max_value: int,
                     cache: int, cycle: bool) -> SequenceOptions:
    """Options with the values PostgreSQL would pick by itself replaced by None, so that a
    sequence declared without MINVALUE compares equal to its introspected self."""
    hi = _INT_MAX.get(data_type, 2**63 - 1)
    default_min, default_max = (1, hi) if increment > 0 else (-hi - 1, -1)
    default_start = min_value if increment > 0 else max_value
    return SequenceOptions(
        data_type=data_type,
        start=None if start == default_start else start,
        increment=increment,
        min_value=None if min_value == default_min else min_value,
        max_value=None if max_value == default_max else max_value,
        cache=cache,
        cycle=cycle,
    )


def fast_constructor(cls: type[T], *positional: str) -> Callable[..., T]:
    """A constructor for a frozen dataclass that skips the per-field ``object.__setattr__`` guard
    of the generated ``__init__``: like dataclasses, it is generated code with the same
    parameters and defaults, but it installs the instance dict in one step (3-4x faster than the
    real ``__init__``; a 2,000-table schema has ~25,000 columns). Classes with ``__post_init__``
    or ``__slots__`` get their real constructor: the shortcut would skip work. ``positional``
    names the fields callers pass by position: if the class's field order ever changes, this
    fails at import instead of filling the wrong fields."""
    flds = [f for f in fields(cls) if f.init]  # type: ignore[arg-type]
    names = tuple(f.name for f in flds)
    if names[:len(positional)] != positional:
        raise TypeError(f"{cls.__name__} fields are {names}, expected them to start with {positional}")
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__") or len(flds) != len(fields(cls)):  # type: ignore[arg-type]
        return cls
    namespace: dict[str, Any] = {"_cls": cls, "_new": object.__new__, "_set": object.__setattr__}
    params, body = [], []
    for f in flds:
        if f.default is not MISSING:
            namespace[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            body.append(f"{f.name!r}: {f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"{f.name!r}: _f_{f.name}() if {f.name} is _MISSING else {f.name}")
        else:
            params.append(f.name)
            body.append(f"{f.name!r}: {f.name}")
    namespace["_MISSING"] = MISSING
    source = (f"def construct({', '.join(params)}):\n"
              f"    obj = _new(_cls)\n"
              f"    _set(obj, '__dict__', {{{', '.join(body)}}})\n"
              f"    return obj\n")
    exec(source, namespace)  # noqa: S102 - field names come from the dataclass, as in dataclasses
    construct = namespace["construct"]
    construct.__qualname__ = f"fast_constructor.<{cls.__name__}>"
    return construct  # type: ignore[no-any-return]


_column = fast_constructor(Column, "name", "type", "nullable", "default", "identity", "identity_options",
                           "generated", "collation", "comment")
_primary_key = fast_constructor(PrimaryKey, "name", "columns", "deferrable", "initially_deferred", "comment")
_unique = fast_constructor(UniqueConstraint, "name", "columns", "deferrable", "initially_deferred",
                           "nulls_not_distinct", "include", "comment")
_foreign_key = fast_constructor(ForeignKey, "name", "columns", "ref_namespace", "ref_table", "ref_columns",
                                "on_delete", "on_update", "match", "deferrable", "initially_deferred",
                                "validated", "comment")
_check_constraint = fast_constructor(CheckConstraint, "name", "expression", "validated", "no_inherit", "comment")
_index = fast_constructor(Index, "name", "parts", "unique", "method", "where", "include",
                          "nulls_not_distinct", "options", "comment")
_index_part = fast_constructor(IndexPart, "column", "expression", "descending", "nulls_first", "opclass",
                               "collation")
_table = fast_constructor(Table, "namespace", "name", "columns", "primary_key", "uniques", "foreign_keys",
                          "checks", "exclusions", "indexes", "triggers", "policies", "grants", "unlogged",
                          "partition_by", "partition_of", "partition_bound", "inherits", "rls_enabled",
                          "rls_forced", "options", "comment")


# Columns equal in every field, across the schemas read at the same time (both sides of a
# diff), become one object: a table that did not change then compares equal column by column by
# identity instead of field by field (most of the diff's time at 2,000 tables, measured), and
# the second schema costs less memory. Correctness never depends on it: a miss builds a new
# column. inspect_postgres opens the pool around each read; the last reader out empties it.
_column_pool: dict[tuple[Any, ...], Column] = {}
_pool_readers = 0


def open_column_pool() -> None:
    global _pool_readers
    _pool_readers += 1


def close_column_pool() -> None:
    global _pool_readers
    _pool_readers -= 1
    if _pool_readers <= 0:
        _pool_readers = 0
        _column_pool.clear()


def map_columns(rows: Iterable[Row]) -> dict[int, list[Column]]:
    """Columns by relation oid, in attnum order (the query sorts). Rows are unpacked by
    position: the order is columns.sql's SELECT list."""
    by_rel: dict[int, list[Column]] = {}
    identities = IDENTITY
    column = _column
    pool = _column_pool if _pool_readers else {}  # outside inspect_postgres: this schema's own
    for row in rows:
        key = row[1:]  # every field but the relation: the pool's key
        col = pool.get(key)
        if col is None:
            (name, type_, nullable, expr, generated, identity, collation, comment,
             seq_type, start, increment, min_value, max_value, cache, cycle) = key
            options = None
            if identity:
                identity = identities[identity]
                options = sequence_options(seq_type, start, increment, min_value, max_value, cache, cycle)
            else:
                identity = None
            if generated:
                col = column(name, type_, nullable, None, identity, options, expr, collation, comment)
            else:
                col = column(name, type_, nullable, expr, identity, options, None, collation, comment)
            pool[key] = col
        relid = row[0]
        cols = by_rel.get(relid)
        if cols is None:
            by_rel[relid] = [col]
        else:
            cols.append(col)
    return by_rel


def _check(name: str, text: str, comment: str | None = None) -> CheckConstraint:
    # pg_get_constraintdef prints "CHECK (expr)[ NO INHERIT][ NOT VALID]"; the flags are fields.
    validated = not text.endswith(" NOT VALID")
    text = text.removesuffix(" NOT VALID")
    no_inherit = text.endswith(" NO INHERIT")
    text = text.removesuffix(" NO INHERIT").removeprefix("CHECK ")
    return _check_constraint(name, text, validated, no_inherit, comment)


class TableConstraints:
    """One table's constraints, already split by kind (what ``Table`` stores them as)."""

    __slots__ = ("primary_key", "uniques", "foreign_keys", "checks", "exclusions")

    def __init__(self) -> None:
        self.primary_key: PrimaryKey | None = None
        self.uniques: list[UniqueConstraint] = []
        self.foreign_keys: list[ForeignKey] = []
        self.checks: list[CheckConstraint] = []
        self.exclusions: list[ExclusionConstraint] = []


NO_CONSTRAINTS = TableConstraints()


def map_constraints(rows: Iterable[Row]) -> tuple[dict[int, TableConstraints], dict[int, list[CheckConstraint]]]:
    """(table constraints by relation oid, domain checks by type oid). Rows are unpacked by
    position: the order is constraints.sql's SELECT list."""
    tables: dict[int, TableConstraints] = {}
    domains: dict[int, list[CheckConstraint]] = defaultdict(list)
    actions, matches = FK_ACTIONS, FK_MATCH
    for (relid, typid, name, kind, columns, ref_ns, ref_table, ref_columns, on_update, on_delete,
         match, deferrable, deferred, validated, definition, include, nulls_not_distinct, comment) in rows:
        if not relid:
            if kind == "c":  # a comment on a domain's constraint is not modelled
                domains[typid].append(_check(name, definition))
            continue
        bucket = tables.get(relid)
        if bucket is None:
            bucket = tables[relid] = TableConstraints()
        if kind == "f":
            bucket.foreign_keys.append(_foreign_key(
                name, tuple(columns or ()), ref_ns, ref_table, tuple(ref_columns or ()),
                actions[on_delete], actions[on_update], matches[match], deferrable, deferred, validated, comment))
        elif kind == "c":
            bucket.checks.append(_check(name, definition, comment))
        elif kind == "p":
            bucket.primary_key = _primary_key(name, tuple(columns or ()), deferrable, deferred, comment)
        elif kind == "u":
            bucket.uniques.append(_unique(name, tuple(columns or ()), deferrable, deferred,
                                          nulls_not_distinct, tuple(include or ()), comment))
        elif kind == "x":
            bucket.exclusions.append(ExclusionConstraint(name, definition, comment))
    return tables, domains


def map_indexes(rows: Iterable[Row]) -> dict[int, list[Index]]:
    """Indexes by relation oid. Rows are unpacked by position (indexes.sql's SELECT list)."""
    by_rel: dict[int, list[Index]] = defaultdict(list)
    part_of = _index_part
    for (relid, name, unique, method, where, options, nulls_not_distinct, nkey, columns, exprs,
         descending, nulls_first, opclasses, collations, comment) in rows:
        parts = []
        for k in range(nkey):
            column, desc, first = columns[k], descending[k], nulls_first[k]
            parts.append(part_of(
                column, exprs[k] if column is None else None, desc,
                # NULLS FIRST is the default for DESC and NULLS LAST for ASC: only a deviation counts.
                None if first == desc else first,
                opclasses[k], collations[k]))
        include = tuple(c for c in columns[nkey:] if c is not None) if len(columns) > nkey else ()
        by_rel[relid].append(_index(
            name, tuple(parts), unique, method, where, include, nulls_not_distinct,
            tuple(sorted(options)) if options else (), comment))
    return by_rel


def map_triggers(rows: Iterable[Row]) -> dict[int, list[Trigger]]:
    by_rel: dict[int, list[Trigger]] = defaultdict(list)
    for r in rows:
        fn = Ref("function", r["fn_ns"], f"{r['fn_name']}({r['fn_args']})")
        by_rel[r["relid"]].append(Trigger(r["name"], r["definition"], fn, r["enabled"], r["comment"]))
    return by_rel


def map_policies(rows: Iterable[Row]) -> dict[int, list[Policy]]:
    by_rel: dict[int, list[Policy]] = defaultdict(list)
    for r in rows:
        by_rel[r["relid"]].append(Policy(
            name=r["name"], permissive=r["permissive"],
            command=POLICY_COMMANDS[r["command"]],  # type: ignore[arg-type]
            roles=tuple(r["roles"] or ("public",)), using=r["using"], with_check=r["with_check"],
            comment=r["comment"],
        ))
    return by_rel


def _by_name(items: list[Any]) -> tuple[Any, ...]:
    if len(items) < 2:
        return tuple(items)
    return tuple(sorted(items, key=_name))


def _name(obj: Any) -> str:
    return obj.name


def build_table(r: Row, columns: list[Column], constraints: TableConstraints, indexes: list[Index],
                triggers: list[Trigger], policies: list[Policy], grants: tuple[Grant, ...]) -> Table:
    parents = tuple(r["parents"] or ())
    partition = r["is_partition"] and bool(parents)
    options = r["options"]
    return _table(
        r["ns"], r["name"], tuple(columns), constraints.primary_key,
        _by_name(constraints.uniques), _by_name(constraints.foreign_keys),
        _by_name(constraints.checks), _by_name(constraints.exclusions),
        _by_name(indexes), _by_name(triggers), _by_name(policies), grants,
        r["unlogged"], r["partition_by"], parents[0] if partition else None, r["partition_bound"],
        () if partition else parents, r["rls_enabled"], r["rls_forced"],
        tuple(sorted(options)) if options else (), r["comment"],
        replica_identity=r["replica_identity"] or "default",
    )


def build_view(r: Row, columns: list[Column], indexes: list[Index], depends_on: Seq[Ref],
               grants: tuple[Grant, ...], triggers: Seq[Trigger] = ()) -> View:
    return View(
        namespace=r["ns"], name=r["name"],
        definition=(r["definition"] or "").strip().rstrip(";").rstrip(),
        materialized=r["kind"] == "m",
        columns=tuple(c.name for c in columns),
        options=tuple(sorted(r["options"] or ())),
        indexes=_by_name(indexes), depends_on=tuple(depends_on), grants=grants,
        comment=r["comment"], with_data=r["populated"],
        triggers=_by_name(triggers),  # INSTEAD OF triggers (triggers.sql returns them per relid)
    )

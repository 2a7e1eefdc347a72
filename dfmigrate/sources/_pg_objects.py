"""Catalog rows → top-level PostgreSQL objects other than tables and views: types, sequences,
collations, extensions, functions, dependencies and grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from dfmigrate.core.schema import (
    CheckConstraint, Collation, Column, CompositeType, Domain, Enum, Extension, Function, Grant, Ref,
    Sequence,
)
from dfmigrate.sources._pg_tables import sequence_options

Row = Mapping[str, Any]
DepKey = tuple[str, int]  # (catalog of the dependent object, its oid)

COLLATION_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin", "d": "libc"}
FUNCTION_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "window"}
_PARALLEL = {"s": "SAFE", "r": "RESTRICTED"}


def map_dependencies(rows: Iterable[Row]) -> dict[DepKey, list[Ref]]:
    """Referenced objects by dependent, sorted. Refs are collected and sorted as plain tuples in
    Ref's field order (the same order Ref's generated comparisons give, without a Python-level
    ``__lt__`` per comparison) and built once per distinct reference. Rows are unpacked by
    position: dependencies.sql's SELECT list."""
    deps: dict[DepKey, set[tuple[str, str, str]]] = defaultdict(set)
    for dep_class, dep_oid, ref_kind, ref_ns, ref_name in rows:
        deps[(dep_class, dep_oid)].add((ref_kind, ref_ns, ref_name))
    refs: dict[tuple[str, str, str], Ref] = {}
    out: dict[DepKey, list[Ref]] = {}
    for key, targets in deps.items():
        built = []
        for t in sorted(targets):
            ref = refs.get(t)
            if ref is None:
                ref = refs[t] = Ref(*t)
            built.append(ref)
        out[key] = built
    return out


def map_grants(rows: Iterable[Row]) -> dict[tuple[str, int], tuple[Grant, ...]]:
    """Grants by (object kind, oid), kind being 'relation', 'function' or 'namespace'."""
    grants: dict[tuple[str, int], list[Grant]] = defaultdict(list)
    for r in rows:
        grants[(r["kind"], r["oid"])].append(Grant(r["grantee"], r["privilege"], r["grantable"]))
    return {key: tuple(sorted(g, key=lambda x: (x.grantee, x.privilege, x.grantable)))
            for key, g in grants.items()}


def map_extensions(rows: Iterable[Row]) -> tuple[Extension, ...]:
    return tuple(sorted((Extension(r["name"], r["ns"], r["version"]) for r in rows), key=lambda e: e.name))


def map_collations(rows: Iterable[Row]) -> list[Collation]:
    return [Collation(
        namespace=r["ns"], name=r["name"],
        provider=COLLATION_PROVIDERS.get(r["provider"], "libc"),  # type: ignore[arg-type]
        locale=r["locale"], lc_collate=r["lc_collate"], lc_ctype=r["lc_ctype"],
        deterministic=r["deterministic"],
    ) for r in rows]


def map_enums(rows: Iterable[Row]) -> list[Enum]:
    return [Enum(r["ns"], r["name"], tuple(r["labels"] or ()), comment=r["comment"]) for r in rows]


def map_domains(rows: Iterable[Row], checks: Mapping[int, list[CheckConstraint]],
                deps: Mapping[DepKey, list[Ref]]) -> list[Domain]:
    return [Domain(
        namespace=r["ns"], name=r["name"], base_type=r["base_type"], nullable=r["nullable"],
        default=r["default"], collation=r["collation"],
        checks=tuple(sorted(checks.get(r["oid"], ()), key=lambda c: c.name)),
        depends_on=tuple(deps.get(("pg_type", r["oid"]), ())),
    ) for r in rows]


def map_composites(rows: Iterable[Row], columns: Mapping[int, list[Column]],
                   deps: Mapping[DepKey, list[Ref]]) -> list[CompositeType]:
    return [CompositeType(
        namespace=r["ns"], name=r["name"], attributes=tuple(columns.get(r["relid"], ())),
        depends_on=tuple(deps.get(("pg_class", r["relid"]), ())),
    ) for r in rows]


def map_sequences(rows: Iterable[Row], grants: Mapping[tuple[str, int], tuple[Grant, ...]]) -> list[Sequence]:
    return [Sequence(
        namespace=r["ns"], name=r["name"],
        options=sequence_options(r["data_type"], r["start"], r["increment"], r["min_value"],
                                 r["max_value"], r["cache"], r["cycle"]),
        owned_by=r["owned_by"], grants=grants.get(("relation", r["oid"]), ()), comment=r["comment"],
    ) for r in rows]


def aggregate_definition(r: Row) -> str:
    """CREATE AGGREGATE text for an aggregate: pg_get_functiondef() cannot print one and
    pg_dump builds it the same way from pg_aggregate. Moving-aggregate (MSFUNC...) support
    functions are not rendered."""
    opts = [f"SFUNC = {r['sfunc']}", f"STYPE = {r['stype']}"]
    if r["sspace"]:
        opts.append(f"SSPACE = {r['sspace']}")
    if r["finalfunc"]:
        opts.append(f"FINALFUNC = {r['finalfunc']}")
        if r["finalfunc_extra"]:
            opts.append("FINALFUNC_EXTRA")
    for key in ("combinefunc", "serialfunc", "deserialfunc"):
        if r[key]:
            opts.append(f"{key.upper()} = {r[key]}")
    if r["initcond"] is not None:
        opts.append("INITCOND = '" + r["initcond"].replace("'", "''") + "'")
    if r["sortop"]:
        opts.append(f"SORTOP = {r['sortop']}")
    if r["aggkind"] == "h":
        opts.append("HYPOTHETICAL")
    if r["parallel"] in _PARALLEL:
        opts.append(f"PARALLEL = {_PARALLEL[r['parallel']]}")
    body = ",\n    ".join(opts)
    return f"CREATE OR REPLACE AGGREGATE {r['qualified']}({r['arguments'] or '*'}) (\n    {body}\n)"


def map_functions(rows: Iterable[Row], deps: Mapping[DepKey, list[Ref]],
                  grants: Mapping[tuple[str, int], tuple[Grant, ...]]) -> list[Function]:
    functions = []
    for r in rows:
        kind = FUNCTION_KINDS[r["kind"]]
        definition = aggregate_definition(r) if kind == "aggregate" else r["definition"]
        functions.append(Function(
            namespace=r["ns"], name=r["name"], arguments=r["arguments"], definition=definition,
            kind=kind, returns=r["returns"], language=r["language"],  # type: ignore[arg-type]
            depends_on=tuple(deps.get(("pg_proc", r["oid"]), ())),
            grants=grants.get(("function", r["oid"]), ()), comment=r["comment"],
        ))
    return functions

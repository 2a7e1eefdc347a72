"""Live PostgreSQL → ``Schema``.

A fixed set of set-based catalog queries (``dialects/postgres/queries/*.sql``, one per object
kind, never one per table) is fetched and mapped to the IR with dictionary look-ups by oid.

Why asyncpg directly and not Kailash's AsyncSQLDatabaseNode: importing Kailash alone costs
~0.6-1.5 s (more than introspecting 2,000 tables), and the node rewrites ``?``/``$n``/``%s``
parameters with a regex and rejects SQL containing ``--`` comments or several statements
(kailash-notes §5, §8). Catalog queries need neither, and asyncpg's binary protocol decodes
arrays and booleans without text parsing.

Every connection runs with ``search_path = ''`` so format_type(), pg_get_expr(),
pg_get_viewdef() etc. print user objects schema-qualified (``public.t``) and built-ins bare.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence as Seq
from functools import lru_cache
from importlib.resources import files
from typing import Any

import asyncpg

from dfmigrate.errors import SourceError
from dfmigrate.schema import Schema
from dfmigrate.sources import _pg_objects as objects
from dfmigrate.sources import _pg_tables as tables
from dfmigrate.urls import mask

# Heaviest first, so that with several connections the long queries start at once and the
# small ones fill in behind them.
QUERIES: tuple[str, ...] = (
    "columns", "constraints", "indexes", "relations", "dependencies", "functions", "triggers",
    "sequences", "policies", "domains", "enums", "composites", "collations", "extensions",
    "namespaces",
)

# How many connections inspect_postgres() spreads the queries over (asyncpg runs one query at a
# time per connection; pipelining on one connection is still sequential on the server).
# Measured on bench/ 2,000-table databases (PostgreSQL 15, localhost, a 2-core machine under
# load from other jobs, so ranges are wide), inspect_postgres() wall time, min / median of 7:
#   one DB:  1 conn 1113 / 1591 ms, 2 conns 646 / 1479, 4 conns 759 / 1445, 6 conns 703 / 1381
#   two DBs concurrently (DB-vs-DB diff): 1 conn each 1311 / 2615 ms, 4 conns each 1752 / 2192
# Columns (~25,000 rows) alone is ~40% of the fetch, so beyond 3-4 connections nothing gains.
CONNECTIONS = 4
SERVER_SETTINGS = {"search_path": "", "application_name": "dfmigrate"}

Records = Mapping[str, Seq[Any]]


@lru_cache(maxsize=None)
def _query(name: str, server_version: int) -> str:
    text = (files("dfmigrate.dialects.postgres") / "queries" / f"{name}.sql").read_text("utf-8")
    # indnullsnotdistinct exists from PostgreSQL 15; before it every index treats NULLs as distinct.
    nnd = "i.indnullsnotdistinct" if server_version >= 150000 else "NULL::boolean"
    return text.replace("{nulls_not_distinct}", nnd)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def connect(dsn: str, *, for_catalog: bool = True) -> asyncpg.Connection:
    """An asyncpg connection (with ``search_path = ''`` when ``for_catalog``); failures become
    one-line SourceErrors with the password masked."""
    try:
        return await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS if for_catalog else None)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise SourceError(f"cannot connect to {mask(dsn)}: {_one_line(exc)}") from None


def _server_version(conn: asyncpg.Connection) -> int:
    v = conn.get_server_version()
    return v.major * 10000 + v.minor if v.major >= 10 else v.major * 10000 + v.minor * 100


# Row mappers that need no other query's result run as soon as their rows arrive, so that
# Python maps columns while the server is still computing constraints and indexes; the rest
# (cheap, cross-referencing) runs in ``assemble``.
EARLY_MAPPERS: dict[str, Callable[[Seq[Any]], Any]] = {
    "columns": tables.map_columns, "constraints": tables.map_constraints,
    "indexes": tables.map_indexes, "triggers": tables.map_triggers,
    "policies": tables.map_policies, "dependencies": objects.map_dependencies,
    "privileges": objects.map_grants,
}


async def _fetch(conns: Seq[asyncpg.Connection], names: Seq[str]) -> dict[str, Any]:
    """Run the named queries spread over ``conns`` (one query at a time per connection: asyncpg
    cannot multiplex a connection), each idle connection taking the next query. Returns query
    name -> rows, or the early mapper's result for those that have one."""
    version = _server_version(conns[0])
    pending = iter(names)
    results: dict[str, Any] = {}

    async def worker(conn: asyncpg.Connection) -> None:
        for name in pending:
            rows = await conn.fetch(_query(name, version))
            mapper = EARLY_MAPPERS.get(name)
            results[name] = mapper(rows) if mapper else rows

    await asyncio.gather(*(worker(c) for c in conns))
    return results


async def _fetch_snapshot(conns: Seq[asyncpg.Connection], names: Seq[str]) -> dict[str, Any]:
    """Like ``_fetch``, but all connections read one exported snapshot, so that a concurrent
    DDL cannot leave e.g. a column whose table the relations query did not see."""
    lead, rest = conns[0], conns[1:]
    async with lead.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await lead.fetchval("SELECT pg_export_snapshot()")
        transactions = [c.transaction(isolation="repeatable_read", readonly=True) for c in rest]
        try:
            await asyncio.gather(*(t.start() for t in transactions))
            await asyncio.gather(*(c.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'") for c in rest))
            return await _fetch(conns, names)
        finally:
            await asyncio.gather(*(t.rollback() for t in transactions), return_exceptions=True)


def _query_names(privileges: bool) -> tuple[str, ...]:
    return QUERIES + ("privileges",) if privileges else QUERIES


async def inspect_postgres(dsn: str, *, privileges: bool = False) -> Schema:
    """Introspect the database ``dsn`` names, over a few concurrent connections."""
    conns = await asyncio.gather(*(connect(dsn) for _ in range(CONNECTIONS)), return_exceptions=True)
    try:
        failed = [c for c in conns if isinstance(c, BaseException)]
        if failed:
            raise failed[0]
        try:
            rows = await _fetch_snapshot(conns, _query_names(privileges))  # type: ignore[arg-type]
        except asyncpg.PostgresError as exc:
            raise SourceError(f"cannot introspect {mask(dsn)}: {_one_line(exc)}") from None
    finally:
        await asyncio.gather(*(c.close() for c in conns if isinstance(c, asyncpg.Connection)),
                             return_exceptions=True)
    return assemble(rows, privileges=privileges)


async def inspect_postgres_connection(conn: asyncpg.Connection, *, privileges: bool = False) -> Schema:
    """Introspect through an open connection (queries run one after another on it). Its
    search_path is set to '' for the duration and restored afterwards."""
    previous = await conn.fetchval("SELECT current_setting('search_path')")
    await conn.execute("SET search_path = ''")
    try:
        rows = await _fetch([conn], _query_names(privileges))
    finally:
        await conn.execute("SELECT set_config('search_path', $1, false)", previous)
    return assemble(rows, privileges=privileges)


def assemble(rows: Mapping[str, Any], *, privileges: bool = False) -> Schema:
    """The Schema from what ``_fetch`` returned (rows or early-mapped results by query name)."""
    deps = rows["dependencies"]
    grants = rows["privileges"] if privileges else {}
    columns = rows["columns"]
    constraints, domain_checks = rows["constraints"]
    indexes, triggers, policies = rows["indexes"], rows["triggers"], rows["policies"]

    table_list, view_list = [], []
    for r in rows["relations"]:
        oid = r["oid"]
        rel_grants = grants.get(("relation", oid), ())
        if r["kind"] in ("r", "p"):
            table_list.append(tables.build_table(
                r, columns.get(oid, []), constraints.get(oid, []), indexes.get(oid, []),
                triggers.get(oid, []), policies.get(oid, []), rel_grants))
        else:
            view_list.append(tables.build_view(
                r, columns.get(oid, []), indexes.get(oid, []), deps.get(("pg_class", oid), ()), rel_grants))

    ns_oids = {r["oid"]: r["name"] for r in rows["namespaces"]}
    ns_grants = sorted(((ns_oids[oid], g) for (kind, oid), gs in grants.items()
                        if kind == "namespace" and oid in ns_oids for g in gs),
                       key=lambda p: (p[0], p[1].grantee, p[1].privilege, p[1].grantable))
    by_name = _sort_key
    return Schema(
        dialect="postgresql",
        namespaces=tuple(sorted(ns_oids.values())),
        extensions=objects.map_extensions(rows["extensions"]),
        collations=tuple(sorted(objects.map_collations(rows["collations"]), key=by_name)),
        enums=tuple(sorted(objects.map_enums(rows["enums"]), key=by_name)),
        domains=tuple(sorted(objects.map_domains(rows["domains"], domain_checks, deps), key=by_name)),
        composite_types=tuple(sorted(objects.map_composites(rows["composites"], columns, deps), key=by_name)),
        sequences=tuple(sorted(objects.map_sequences(rows["sequences"], grants), key=by_name)),
        tables=tuple(sorted(table_list, key=by_name)),
        views=tuple(sorted(view_list, key=by_name)),
        functions=tuple(sorted(objects.map_functions(rows["functions"], deps, grants),
                               key=lambda f: (f.namespace, f.name, f.arguments))),
        namespace_grants=tuple(ns_grants),
    )


def _sort_key(obj: Any) -> tuple[str, str]:
    return (obj.namespace, obj.name)

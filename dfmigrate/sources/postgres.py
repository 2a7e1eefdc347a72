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
from collections.abc import Awaitable, Callable, Mapping, Sequence as Seq
from functools import cache
from importlib import import_module
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import asyncpg

from dfmigrate.errors import SourceError
from dfmigrate.urls import mask

if TYPE_CHECKING:
    from dfmigrate.core.schema import Schema

# Heaviest first, so that with several connections the long queries start at once and the
# small ones fill in behind them.
QUERIES: tuple[str, ...] = (
    "columns", "constraints", "indexes", "relations", "dependencies", "functions", "triggers",
    "sequences", "policies", "domains", "enums", "composites", "collations", "extensions",
    "namespaces",
)

# How many connections inspect_postgres() spreads the queries over (asyncpg runs one query at a
# time per connection; pipelining on one connection is still sequential on the server).
# Measured as whole `dfmigrate diff` runs of bench/'s 2,000-table pair (both databases at once,
# so twice this many connections), PostgreSQL 15 on localhost, 2 cores shared with other jobs
# (load 3-5), 7 interleaved rounds, median / min in seconds:
#   1 conn 2.88 / 2.09, 2 conns 2.43 / 2.18, 3 conns 2.41 / 2.09, 4 conns 2.39 / 2.08,
#   6 conns 2.75 / 2.39 (the floor, 4 conns: 1.83 / 1.41)
# 2-4 are equal within noise; 1 leaves a core idle while columns.sql (~35% of the work) runs, 6
# only adds backends competing for the same 2 cores. 4 also matches bench/floor.py's default.
CONNECTIONS = 4
SERVER_SETTINGS = {"search_path": "", "application_name": "dfmigrate"}

Records = Mapping[str, Seq[Any]]


@cache
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
        # statement_cache_size=0: each catalog query runs once, and unnamed statements also work
        # through a transaction-pooling proxy
        return await asyncpg.connect(dsn, statement_cache_size=0,
                                     server_settings=SERVER_SETTINGS if for_catalog else None)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise SourceError(f"cannot connect to {mask(dsn)}: {_one_line(exc)}") from None


def _server_version(conn: asyncpg.Connection) -> int:
    v = conn.get_server_version()
    return v.major * 10000 + v.minor if v.major >= 10 else v.major * 10000 + v.minor * 100


# Row mappers that need no other query's result run as soon as their rows arrive, so that
# Python maps columns while the server is still computing constraints and indexes; the rest
# (cheap, cross-referencing) runs in ``assemble``. The mapping modules (and through them the
# schema model, ~40-60 ms of imports) are imported on first use, not with this module: the CLI
# imports them on a background thread while the connections open.
EARLY_MAPPERS: dict[str, tuple[str, str]] = {
    "columns": ("_pg_tables", "map_columns"), "constraints": ("_pg_tables", "map_constraints"),
    "indexes": ("_pg_tables", "map_indexes"), "triggers": ("_pg_tables", "map_triggers"),
    "policies": ("_pg_tables", "map_policies"), "dependencies": ("_pg_objects", "map_dependencies"),
    "privileges": ("_pg_objects", "map_grants"),
}
MAPPING_MODULES = ("dfmigrate.sources._pg_tables", "dfmigrate.sources._pg_objects")


@cache
def _early_mapper(name: str) -> Callable[[Seq[Any]], Any] | None:
    spec = EARLY_MAPPERS.get(name)
    return getattr(import_module(f"dfmigrate.sources.{spec[0]}"), spec[1]) if spec else None


async def _fetch(conns: Seq[asyncpg.Connection], names: Seq[str],
                 setup: Callable[[int, asyncpg.Connection], Awaitable[None]] | None = None) -> dict[str, Any]:
    """Run the named queries spread over ``conns`` (one query at a time per connection: asyncpg
    cannot multiplex a connection), each idle connection taking the next query, after
    ``setup(i, conn)`` when given. Returns query name -> rows, or the early mapper's result for
    those that have one."""
    version = _server_version(conns[0])
    pending = iter(names)
    results: dict[str, Any] = {}

    async def worker(i: int, conn: asyncpg.Connection) -> None:
        if setup is not None:
            await setup(i, conn)
        for name in pending:
            rows = await conn.fetch(_query(name, version))
            mapper = _early_mapper(name)
            results[name] = mapper(rows) if mapper else rows

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(conns)))
    return results


# SET LOCAL as well as the connection's startup setting: a pooler may drop startup parameters,
# and inside the transaction the setting cannot leak to, or come from, another client
_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = ''"


async def _fetch_snapshot(conns: Seq[asyncpg.Connection], names: Seq[str]) -> dict[str, Any]:
    """Like ``_fetch``, but all connections read one exported snapshot, so that a concurrent
    DDL cannot leave e.g. a column whose table the relations query did not see.

    The first connection starts on the queries as soon as it has exported the snapshot; each
    other one joins it in a single round trip (BEGIN and SET TRANSACTION SNAPSHOT together).
    The transactions are left open: they are read-only and the caller closes the connections,
    which ends them (no COMMIT/ROLLBACK round trips)."""
    snapshot: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def setup(i: int, conn: asyncpg.Connection) -> None:
        if i == 0:
            try:
                await conn.execute(_BEGIN)
                snapshot.set_result(await conn.fetchval("SELECT pg_export_snapshot()"))
            except BaseException as exc:
                snapshot.set_exception(exc)
                raise
        else:
            await conn.execute(f"{_BEGIN}; SET TRANSACTION SNAPSHOT '{await asyncio.shield(snapshot)}'")

    try:
        return await _fetch(conns, names, setup)
    finally:
        if not snapshot.done():
            snapshot.cancel()
        elif not snapshot.cancelled():
            snapshot.exception()  # retrieved: no "exception was never retrieved" noise


def _query_names(privileges: bool) -> tuple[str, ...]:
    return QUERIES + ("privileges",) if privileges else QUERIES


async def _close(conns: Seq[Any]) -> None:
    await asyncio.gather(*(c.close() for c in conns if isinstance(c, asyncpg.Connection)),
                         return_exceptions=True)


async def inspect_postgres(dsn: str, *, privileges: bool = False) -> Schema:
    """Introspect the database ``dsn`` names, over a few concurrent connections."""
    from dfmigrate.sources._pg_tables import close_column_pool, open_column_pool

    open_column_pool()
    try:
        return await _inspect(dsn, privileges)
    finally:
        close_column_pool()


async def _inspect(dsn: str, privileges: bool) -> Schema:
    conns = await asyncio.gather(*(connect(dsn) for _ in range(CONNECTIONS)), return_exceptions=True)
    try:
        failed = [c for c in conns if isinstance(c, BaseException)]
        if failed:
            raise failed[0]
        try:
            rows = await _fetch_snapshot(conns, _query_names(privileges))  # type: ignore[arg-type]
        except asyncpg.PostgresError as exc:
            raise SourceError(f"cannot introspect {mask(dsn)}: {_one_line(exc)}") from None
    except BaseException:
        await _close(conns)
        raise
    # The sessions end while the rows are assembled: one turn of the loop sends every
    # Terminate, and the server winds the backends down meanwhile.
    closing = asyncio.ensure_future(_close(conns))
    await asyncio.sleep(0)
    try:
        return assemble(rows, privileges=privileges)
    finally:
        await closing


async def inspect_postgres_connection(conn: asyncpg.Connection, *, privileges: bool = False) -> Schema:
    """Introspect through an open connection (queries run one after another on it), with
    search_path '' for the duration only."""
    if conn.is_in_transaction():  # the caller's transaction: SET LOCAL ends with it
        await conn.execute("SET LOCAL search_path = ''")
        return assemble(await _fetch([conn], _query_names(privileges)), privileges=privileges)
    # one transaction: the queries see one snapshot, and a transaction-pooling proxy runs them
    # all on one server connection, where SET LOCAL holds and ends with it
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL search_path = ''")
        rows = await _fetch([conn], _query_names(privileges))
    return assemble(rows, privileges=privileges)


def assemble(rows: Mapping[str, Any], *, privileges: bool = False) -> Schema:
    """The Schema from what ``_fetch`` returned (rows or early-mapped results by query name)."""
    from dfmigrate.core.schema import Schema
    from dfmigrate.sources import _pg_objects as objects
    from dfmigrate.sources import _pg_tables as tables

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
                r, columns.get(oid, []), constraints.get(oid, tables.NO_CONSTRAINTS), indexes.get(oid, []),
                triggers.get(oid, []), policies.get(oid, []), rel_grants))
        else:
            view_list.append(tables.build_view(
                r, columns.get(oid, []), indexes.get(oid, []), deps.get(("pg_class", oid), ()), rel_grants,
                triggers.get(oid, [])))

    ns_oids = {r["oid"]: r["name"] for r in rows["namespaces"]}
    ns_grants = sorted(((ns_oids[oid], g) for (kind, oid), gs in grants.items()
                        if kind == "namespace" and oid in ns_oids for g in gs),
                       key=lambda p: (p[0], p[1].grantee, p[1].privilege, p[1].grantable))
    by_name = _sort_key
    return Schema(
        dialect="postgresql",
        namespaces=tuple(sorted(ns_oids.values())),
        namespace_comments=tuple(sorted(
            (r["name"], r["comment"]) for r in rows["namespaces"]
            # PostgreSQL 15 creates public with this comment: as good as none
            if r["comment"] is not None and (r["name"], r["comment"]) != ("public", "standard public schema"))),
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

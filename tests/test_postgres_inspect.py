"""PostgreSQL live introspection against a real server (no mocks).

Every test gets its own scratch database ``dfm_h1_<hex>`` (dropped afterwards). The server comes
from conftest's ``pg_url`` (``DFMIGRATE_TEST_PG_URL``), which skips when it is unreachable and
fails under ``CI``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from dfmigrate.errors import SourceError
from dfmigrate.core.schema import (
    CheckConstraint, Column, ForeignKey, Index, IndexPart, PrimaryKey, Ref, Schema, SequenceOptions,
    UniqueConstraint,
)
from dfmigrate.sources.postgres import inspect_postgres, inspect_postgres_connection
from dfmigrate.sources.sqlfile import NEEDS_DEV_URL, load_sql_file
from dfmigrate.urls import with_database



EVIL_LABEL = "it's'; DROP TABLE x; --"

DDL = f"""
create extension hstore;
create schema s2;
create type public.mood as enum ('sad', {"'" + EVIL_LABEL.replace("'", "''") + "'"}, 'happy');
create domain public.posint as integer default 1 not null check (value > 0);
create type public.pair as (a integer, b public.mood, c text collate "C");
create collation public.num (provider = icu, locale = 'en-u-kn-true');
create sequence public.s1 increment 5 minvalue 3 maxvalue 1000 cache 10 cycle;
create function public.f1(i integer, m public.mood[] default null) returns integer
  language sql immutable as $$ select i * 2 $$;
create procedure s2.p1(a text) language plpgsql as $$ begin perform 1; end $$;
create function public.trg() returns trigger language plpgsql as $$ begin return new; end $$;
create aggregate public.mysum(integer) (sfunc = int4pl, stype = integer, initcond = '0');
create table public.parent (
  id int generated always as identity (start 10 increment 2) primary key,
  name text collate "C" not null default 'x',
  m public.mood, p public.posint, h public.hstore,
  g int generated always as (id * 2) stored,
  constraint name_chk check (length(name) > 0) no inherit,
  unique nulls not distinct (name) include (m),
  constraint uq2 unique (id, m) deferrable initially deferred);
alter table public.parent add constraint ck2 check (id > 0) not valid;
comment on table public.parent is 'the parent';
comment on column public.parent.name is 'nm';
create table public.child (extra text collate "C", serialcol serial) inherits (public.parent);
alter table public.child add foreign key (extra) references public.parent (name)
  match full on delete set null on update cascade not valid;
create index child_idx on public.child
  (lower(extra) desc nulls last, extra text_pattern_ops, name collate "POSIX") include (serialcol)
  where extra is not null;
create index child_brin on public.child using brin (serialcol) with (pages_per_range = 16);
create trigger t1 before insert on public.child for each row execute function public.trg();
alter table public.child disable trigger t1;
alter table public.child enable row level security;
alter table public.child force row level security;
create policy pol1 on public.child as restrictive for update to postgres
  using (id > 0) with check (id < 100);
create unlogged table public.ul (a int) with (fillfactor = 70);
create table public.meas (city int not null, logdate date not null, primary key (city, logdate))
  partition by range (logdate);
create table public.meas_y1 partition of public.meas for values from ('2020-01-01') to ('2021-01-01');
create index meas_city on public.meas (city);
create table public.ex (r int4range, exclude using gist (r with &&));
create view public.v1 with (security_barrier = true) as
  select id, name::text::public.mood as x, public.f1(id) as f from public.parent;
create materialized view s2.mv as select * from public.v1 with no data;
create index mv_idx on s2.mv (id);
grant select on public.parent to public;
grant usage on schema s2 to public;
"""


def run(coro):  # pytest-asyncio is not a dependency; each test drives its own loop
    return asyncio.run(coro)


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server(pg_url: str) -> str:
    """conftest's ``pg_url``: the one fixture that skips locally and fails under CI."""
    return pg_url


def _fresh_database(server: str) -> Iterator[str]:
    name = f"dfm_h1_{secrets.token_hex(5)}"
    run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server, name)
    finally:
        run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pgdb(server: str) -> Iterator[str]:
    """URL of a fresh, empty database, dropped after the test."""
    yield from _fresh_database(server)


async def _load_and_inspect(url: str, ddl: str, **kwargs: bool) -> Schema:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ddl)
    finally:
        await conn.close()
    return await inspect_postgres(url, **kwargs)


@pytest.fixture(scope="module")
def loaded(server: str) -> Iterator[tuple[str, Schema]]:
    """The DDL above, loaded once into its own database: the tests using it only read."""
    for url in _fresh_database(server):
        yield url, run(_load_and_inspect(url, DDL, privileges=True))


def test_types_sequences_extensions(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    assert s.namespaces == ("public", "s2")
    assert [e.name for e in s.extensions] == ["hstore"]
    assert [(e.name, e.labels) for e in s.enums] == [("mood", ("sad", EVIL_LABEL, "happy"))]
    (dom,) = s.domains
    assert (dom.base_type, dom.nullable, dom.default) == ("integer", False, "1")
    assert dom.checks == (CheckConstraint("posint_check", "(VALUE > 0)"),)
    (pair,) = s.composite_types
    assert [(a.name, a.type, a.collation) for a in pair.attributes] == [
        ("a", "integer", None), ("b", "public.mood", None), ("c", "text", 'pg_catalog."C"')]
    assert pair.depends_on == (Ref("type", "public", "mood"),)
    (coll,) = s.collations
    assert (coll.name, coll.provider, coll.locale) == ("num", "icu", "en-u-kn-true")
    seqs = {q.name: q for q in s.sequences}
    assert set(seqs) == {"s1", "child_serialcol_seq"}  # the identity sequence is the column's
    assert seqs["s1"].options == SequenceOptions("bigint", None, 5, 3, 1000, 10, True)
    assert seqs["child_serialcol_seq"].owned_by == "public.child.serialcol"


def test_extension_members_excluded(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    names = {f.name for f in s.functions}
    assert names == {"f1", "p1", "trg", "mysum"}  # no hstore functions
    assert "hstore" not in {e.name for e in s.enums} | {d.name for d in s.domains}


def test_table_columns_and_constraints(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    parent = s.table("public", "parent")
    assert parent is not None and parent.comment == "the parent"
    cols = {c.name: c for c in parent.columns}
    assert [c.name for c in parent.columns] == ["id", "name", "m", "p", "h", "g"]
    assert cols["id"].identity == "ALWAYS"
    assert cols["id"].identity_options == SequenceOptions("integer", 10, 2)
    assert cols["name"] == Column("name", "text", False, "'x'::text", collation='pg_catalog."C"', comment="nm")
    assert cols["h"].type == "public.hstore" and cols["p"].type == "public.posint"
    assert (cols["g"].generated, cols["g"].default) == ("(id * 2)", None)
    assert parent.primary_key == PrimaryKey("parent_pkey", ("id",))
    assert parent.uniques == (
        UniqueConstraint("parent_name_m_key", ("name",), nulls_not_distinct=True, include=("m",)),
        UniqueConstraint("uq2", ("id", "m"), deferrable=True, initially_deferred=True),
    )
    assert parent.checks == (
        CheckConstraint("ck2", "(id > 0)", validated=False),
        CheckConstraint("name_chk", "(length(name) > 0)", no_inherit=True),
    )
    assert parent.indexes == ()  # constraint indexes are implicit


def test_inheritance_indexes_triggers_policies(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    child = s.table("public", "child")
    assert child is not None
    assert child.inherits == ("public.parent",)
    assert [c.name for c in child.columns] == ["extra", "serialcol"]  # inherited ones are implicit
    assert child.checks == () and child.primary_key is None  # PK is not inherited; ck2 is (implicit)
    assert child.foreign_keys == (ForeignKey(
        "child_extra_fkey", ("extra",), "public", "parent", ("name",), on_delete="SET NULL",
        on_update="CASCADE", match="FULL", validated=False),)
    idx = {i.name: i for i in child.indexes}
    assert idx["child_idx"] == Index("child_idx", (
        IndexPart(expression="lower(extra)", descending=True, nulls_first=False, collation='pg_catalog."C"'),
        IndexPart(column="extra", opclass="text_pattern_ops"),
        IndexPart(column="name", collation='pg_catalog."POSIX"'),
    ), where="(extra IS NOT NULL)", include=("serialcol",))
    assert (idx["child_brin"].method, idx["child_brin"].options) == ("brin", ("pages_per_range=16",))
    (trg,) = child.triggers
    assert (trg.function, trg.enabled) == (Ref("function", "public", "trg()"), "D")
    assert trg.definition.startswith("CREATE TRIGGER t1 BEFORE INSERT ON public.child")
    (pol,) = child.policies
    assert (pol.permissive, pol.command, pol.roles, pol.using, pol.with_check) == (
        False, "UPDATE", ("postgres",), "(id > 0)", "(id < 100)")
    assert child.rls_enabled and child.rls_forced


def test_partitions_unlogged_exclusion(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    meas, part = s.table("public", "meas"), s.table("public", "meas_y1")
    assert meas is not None and part is not None
    assert meas.partition_by == "RANGE (logdate)"
    assert [i.name for i in meas.indexes] == ["meas_city"]
    assert (part.partition_of, part.inherits, part.columns, part.indexes, part.primary_key) == (
        "public.meas", (), (), (), None)
    assert part.partition_bound == "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')"
    ul = s.table("public", "ul")
    assert ul is not None and ul.unlogged and ul.options == ("fillfactor=70",)
    ex = s.table("public", "ex")
    assert ex is not None and ex.exclusions[0].definition == "EXCLUDE USING gist (r WITH &&)"


def test_views_functions_grants(loaded: tuple[str, Schema]) -> None:
    _, s = loaded
    v1, mv = s.view("public", "v1"), s.view("s2", "mv")
    assert v1 is not None and mv is not None
    assert v1.columns == ("id", "x", "f") and v1.options == ("security_barrier=true",)
    assert not v1.definition.endswith(";") and "public.parent" in v1.definition
    assert v1.depends_on == (Ref("function", "public", "f1(i integer, m public.mood[])"),
                             Ref("table", "public", "parent"), Ref("type", "public", "mood"))
    assert mv.materialized and not mv.with_data and [i.name for i in mv.indexes] == ["mv_idx"]
    fns = {f.name: f for f in s.functions}
    assert fns["f1"].definition.startswith("CREATE OR REPLACE FUNCTION public.f1(")
    assert (fns["f1"].returns, fns["f1"].language) == ("integer", "sql")
    assert fns["f1"].depends_on == (Ref("type", "public", "mood"),)
    assert (fns["p1"].kind, fns["p1"].returns) == ("procedure", None)
    assert fns["mysum"].kind == "aggregate" and "SFUNC = int4pl" in fns["mysum"].definition
    parent = s.table("public", "parent")
    assert parent is not None and [(g.grantee, g.privilege) for g in parent.grants] == [("public", "SELECT")]
    assert [(ns, g.grantee, g.privilege) for ns, g in s.namespace_grants if ns == "s2"] == [
        ("s2", "public", "USAGE")]


def test_connection_api_matches_and_restores_search_path(loaded: tuple[str, Schema]) -> None:
    url, expected = loaded

    async def go() -> tuple[Schema, str]:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET search_path = s2, public")
            schema = await inspect_postgres_connection(conn, privileges=True)
            return schema, await conn.fetchval("SHOW search_path")
        finally:
            await conn.close()

    schema, path = run(go())
    assert schema == expected
    assert path == "s2, public"


def test_connection_failure_masks_password(server: str) -> None:
    bad = "postgresql://someone:s3cret@127.0.0.1:1/nodb"
    with pytest.raises(SourceError) as err:
        run(inspect_postgres(bad))
    assert "s3cret" not in str(err.value) and "***" in str(err.value)
    assert "\n" not in str(err.value)


def _scratch_dbs(server: str) -> set[str]:
    async def go() -> set[str]:
        conn = await asyncpg.connect(server)
        try:
            # only this process's: other xdist workers and sessions share the server
            rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                    f"dfm_scratch_{os.getpid()}_%")
            return {r[0] for r in rows}
        finally:
            await conn.close()
    return run(go())


def test_load_sql_file_ok_and_failing(server: str, tmp_path: Path) -> None:
    good = tmp_path / "good.sql"
    good.write_text("create table t (id int primary key);\ncreate view v as select id from t;\n")
    bad = tmp_path / "bad.sql"
    bad.write_text("create table t (id int);\n\ncreate tabel oops (x int);\n")
    before = _scratch_dbs(server)
    s = run(load_sql_file(str(good), "postgresql", server))
    assert [t.name for t in s.tables] == ["t"] and [v.name for v in s.views] == ["v"]
    with pytest.raises(SourceError, match=r"bad\.sql:3: syntax error"):
        run(load_sql_file(str(bad), "postgresql", server))
    with pytest.raises(SourceError, match="cannot read"):
        run(load_sql_file(str(tmp_path / "missing.sql"), "postgresql", server))
    with pytest.raises(SourceError) as err:
        run(load_sql_file(str(good), "postgresql", None))
    assert str(err.value) == NEEDS_DEV_URL
    assert _scratch_dbs(server) == before  # dropped on success and on failure


def test_load_sql_file_cancelled_still_drops(server: str, tmp_path: Path) -> None:
    slow = tmp_path / "slow.sql"
    slow.write_text("create table t (id int);\nselect pg_sleep(30);\n")
    before = _scratch_dbs(server)

    async def go() -> None:
        task = asyncio.ensure_future(load_sql_file(str(slow), "postgresql", server))
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    assert _scratch_dbs(server) == before


def _roles(case: Path) -> list[str]:
    meta = case / "meta.json"
    return json.loads(meta.read_text()).get("roles", []) if meta.exists() else []


def test_corpus_introspects(server: str, pgdb: str, shared_dir: Path) -> None:
    """Every migra fixture file loads and introspects. One database is reset between files
    (dropping every user schema and extension) because CREATE DATABASE per file would take
    most of this file's time budget; load_sql_file's own path is covered above."""
    files = sorted((shared_dir / "corpus" / "migra").glob("*/[ab].sql"))
    assert files, f"no migra fixtures under {shared_dir}"
    roles = sorted({r for f in files for r in _roles(f.parent)})

    async def go() -> int:
        for role in roles:
            await _admin(server, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
                         f"THEN CREATE ROLE \"{role}\"; END IF; END $$")
        conn = await asyncpg.connect(pgdb)
        try:
            for path in files:
                await _reset(conn)
                await conn.execute(path.read_text())
                schema = await inspect_postgres_connection(conn, privileges=True)
                assert schema.dialect == "postgresql" and "public" in schema.namespaces, path
        finally:
            await conn.close()
        return len(files)

    assert run(go()) == len(files) > 40


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute("RESET ALL; RESET ROLE")
    schemas = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
                               "AND nspname <> 'information_schema'")
    exts = await conn.fetch("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
    stmts = [f'DROP EXTENSION IF EXISTS "{r[0]}" CASCADE' for r in exts]
    stmts += [f'DROP SCHEMA IF EXISTS "{r[0]}" CASCADE' for r in schemas]
    await conn.execute(";".join(stmts + ["CREATE SCHEMA public"]))

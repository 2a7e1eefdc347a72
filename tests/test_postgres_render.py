"""PostgreSQL renderer: each change kind is built by hand from IR objects, rendered, executed on a
real database holding the "before" objects, and checked in the catalog (not by string equality).

One scratch database per run (``dfm_h2_render_*``), one fresh schema per test.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from dfmigrate.core.changes import (
    AddColumn,
    AddConstraint,
    AddEnumValue,
    AlterColumn,
    AlterExtensionVersion,
    AlterSequence,
    AlterTable,
    ColumnChange,
    CreateCollation,
    CreateCompositeType,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateFunction,
    CreateIndex,
    CreateNamespace,
    CreatePolicy,
    CreateSequence,
    CreateTable,
    CreateTrigger,
    CreateView,
    DropCollation,
    DropColumn,
    DropCompositeType,
    DropConstraint,
    DropDomain,
    DropEnum,
    DropExtension,
    DropFunction,
    DropIndex,
    DropNamespace,
    DropPolicy,
    DropSequence,
    DropTable,
    DropTrigger,
    DropView,
    TypeColumnUse,
    GrantPrivilege,
    RebuildTable,
    RecreateEnum,
    RenameColumn,
    RenameEnum,
    RenameEnumValue,
    RenameTable,
    ReplaceFunction,
    RevokePrivilege,
    SetComment,
    SetSequenceOwner,
    SetTriggerEnabled,
    TableChange,
    ValidateConstraint,
)
from dfmigrate.dialects.postgres.hazards import RISKS, Op, type_change_rewrites
from dfmigrate.dialects.postgres.quote import (
    qualified,
    quote_ident,
    quote_literal,
    quote_name_text,
    split_dotted,
)
from dfmigrate.dialects.postgres.render import render_change, render_script
from dfmigrate.errors import UnsupportedChange
from dfmigrate.core.schema import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Index,
    IndexPart,
    Policy,
    PrimaryKey,
    Ref,
    Sequence,
    SequenceOptions,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dfmigrate.core.statement import Hazard, Statement

MALICIOUS = "it's'; DROP TABLE x; --"


class Db:
    """A synchronous face on one asyncpg connection, so the tests read top to bottom."""

    def __init__(self, dsn: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(dsn))
        self.ns = ""

    def execute(self, sql: str) -> None:
        self.loop.run_until_complete(self.conn.execute(sql))

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.loop.run_until_complete(self.conn.fetch(sql, *args))]

    def val(self, sql: str, *args: Any) -> Any:
        return self.loop.run_until_complete(self.conn.fetchval(sql, *args))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[Db]:
    """One scratch database for the module. The server comes from conftest's ``pg_url``, the one
    fixture that decides whether a missing server skips (locally) or fails (under CI)."""
    name = f"dfm_h2_render_{uuid.uuid4().hex[:10]}"
    admin = Db(pg_url)
    admin.execute(f"CREATE DATABASE {name}")
    db = Db(_with_database(pg_url, name))
    try:
        yield db
    finally:
        db.close()
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


_counter = itertools.count()


@pytest.fixture
def db(database: Db) -> Iterator[Db]:
    """The scratch database with a fresh schema ``db.ns`` for this test."""
    database.ns = f"t{next(_counter)}"
    database.execute(f"CREATE SCHEMA {database.ns}")
    try:
        yield database
    finally:
        database.execute(f"DROP SCHEMA {database.ns} CASCADE")


def apply(db: Db, *changes: Any) -> list[Statement]:
    """Render the changes and run them as one script, as the CLI would."""
    statements = [s for change in changes for s in render_change(change)]
    db.execute(render_script(statements))
    return statements


def undo(db: Db, statements: list[Statement]) -> None:
    for statement in reversed(statements):
        for sql in statement.reverse:
            db.execute(sql)


def condefs(db: Db, ns: str, table: str) -> dict[str, str]:
    return dict(db.rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = format('%I.%I', $1::text, $2::text)::regclass", ns, table))


def columns(db: Db, ns: str, table: str) -> dict[str, tuple[Any, ...]]:
    """name -> (type, not null, default, identity, generated, collation)."""
    rows = db.rows(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, c.collname "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum) "
        "LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100 "
        "WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", ns, table)
    return {r[0]: r[1:] for r in rows}


def table_exists(db: Db, ns: str, table: str) -> bool:
    return db.val("SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL", ns, table)


# ---------------------------------------------------------------- quoting


@pytest.mark.parametrize("name, sql", [
    ("users", "users"), ("user_2$", "user_2$"), ("User", '"User"'), ("order", '"order"'),
    ("int", '"int"'), ("join", '"join"'), ("1st", '"1st"'), ('a"b', '"a""b"'),
    ("two words", '"two words"'), ("ünï", '"ünï"'),
])
def test_quote_ident(name: str, sql: str) -> None:
    assert quote_ident(name) == sql


def test_quote_helpers() -> None:
    assert qualified("My Schema", "order") == '"My Schema"."order"'
    assert qualified(None, "t") == "t"
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("a\\b'") == "E'a\\\\b'''"
    assert split_dotted('app."My.Table".col') == ["app", "My.Table", "col"]
    assert split_dotted('"a""b".c') == ['a"b', "c"]
    assert quote_name_text("C") == '"C"'
    assert quote_name_text("en_US.utf8") == '"en_US.utf8"'
    assert quote_name_text('pg_catalog."C"') == 'pg_catalog."C"'
    assert quote_name_text("text_pattern_ops") == "text_pattern_ops"


def test_literals_round_trip_on_the_server(db: Db) -> None:
    for text in [MALICIOUS, "back\\slash", "'", "\\'", "$$x$$", "e'x'", "ünïcode\n"]:
        assert db.val(f"SELECT {quote_literal(text)}") == text
    for name in ["User", "order", 'we"ird', "Mixed Case", "select"]:
        assert db.val(f"SELECT {quote_ident(name)} FROM (SELECT 1 AS {quote_ident(name)}) s") == 1


# ---------------------------------------------------------------- dispatch and script


def test_unknown_change_is_unsupported() -> None:
    with pytest.raises(UnsupportedChange, match="RebuildTable"):
        render_change(RebuildTable(Table("main", "t"), Table("main", "t"), ()))
    with pytest.raises(UnsupportedChange, match="object"):
        render_change(object())


def test_render_script_layout() -> None:
    assert render_script([]) == ""
    a = Statement("CREATE SCHEMA a", None)
    b = Statement("DROP SCHEMA b", None, comment="two\nlines")
    assert render_script([a, b]) == (
        "SET check_function_bodies = off;\n\nCREATE SCHEMA a;\n\n-- two\n-- lines\nDROP SCHEMA b;\n")


def test_every_op_has_a_risk() -> None:
    assert set(RISKS) == set(Op)


def test_type_change_rewrite_rules() -> None:
    assert not type_change_rewrites("character varying(10)", "character varying(20)")
    assert not type_change_rewrites("character varying(10)", "text")
    assert not type_change_rewrites("numeric(10,2)", "numeric(12,2)")
    assert type_change_rewrites("character varying(20)", "character varying(10)")
    assert type_change_rewrites("numeric(10,2)", "numeric(12,3)")
    assert type_change_rewrites("integer", "bigint")


# ---------------------------------------------------------------- tables


def _orders(ns: str) -> Table:
    return Table(
        ns, "orders",
        columns=(
            Column("id", "bigint", nullable=False, identity="BY DEFAULT",
                   identity_options=SequenceOptions(start=100, increment=5)),
            Column("code", "text", nullable=False, collation="C", comment=MALICIOUS),
            Column("qty", "integer", nullable=False, default="1"),
            Column("total", "numeric", generated="(qty * 2)"),
            Column("during", "tsrange"),
            Column("note", "character varying(20)"),
        ),
        primary_key=PrimaryKey("orders_pkey", ("id",), deferrable=True),
        uniques=(UniqueConstraint("orders_code_key", ("code",), deferrable=True,
                                  initially_deferred=True, include=("qty",)),
                 UniqueConstraint("orders_note_key", ("note",), nulls_not_distinct=True)),
        checks=(CheckConstraint("orders_qty_check", "(qty > 0)", no_inherit=True),
                CheckConstraint("orders_note_check", "(length((note)::text) < 10)", validated=False)),
        exclusions=(ExclusionConstraint("orders_during_excl", "EXCLUDE USING gist (during WITH &&)"),),
        options=("fillfactor=70",),
        rls_enabled=True, rls_forced=True,
        comment="order book",
    )


def test_create_table_everything(db: Db) -> None:
    table = _orders(db.ns)
    statements = apply(db, CreateTable(table))
    cols = columns(db, db.ns, "orders")
    assert cols["id"][:4] == ("bigint", True, None, "d")
    assert cols["code"][5] == "C"
    assert cols["qty"][2] == "1"
    assert cols["total"][2:4] == ("(qty * 2)", "") and cols["total"][4] == "s"
    assert db.val(f"SELECT pg_get_serial_sequence('{db.ns}.orders', 'id')") is not None
    assert db.val(f"SELECT start_value || ',' || increment_by FROM pg_sequences "
                  f"WHERE schemaname = '{db.ns}'") == "100,5"
    assert condefs(db, db.ns, "orders") == {
        "orders_pkey": "PRIMARY KEY (id) DEFERRABLE",
        "orders_code_key": "UNIQUE (code) INCLUDE (qty) DEFERRABLE INITIALLY DEFERRED",
        "orders_note_key": "UNIQUE NULLS NOT DISTINCT (note)",
        "orders_qty_check": "CHECK ((qty > 0)) NO INHERIT",
        "orders_note_check": "CHECK ((length((note)::text) < 10)) NOT VALID",
        "orders_during_excl": "EXCLUDE USING gist (during WITH &&)",
    }
    assert db.rows(f"SELECT relrowsecurity, relforcerowsecurity, reloptions FROM pg_class "
                   f"WHERE oid = '{db.ns}.orders'::regclass") == [(True, True, ["fillfactor=70"])]
    assert db.val(f"SELECT obj_description('{db.ns}.orders'::regclass)") == "order book"
    assert db.val(f"SELECT col_description('{db.ns}.orders'::regclass, 2)") == MALICIOUS
    assert statements[0].hazards == () and statements[0].reverse == (f"DROP TABLE {db.ns}.orders",)

    drop = render_change(DropTable(table))
    assert drop[0].hazards == (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS) and drop[0].lock == "ACCESS EXCLUSIVE"
    assert drop[0].lock_target == f"{db.ns}.orders"
    db.execute(render_script(drop))
    assert not table_exists(db, db.ns, "orders")
    undo(db, drop)  # the structure comes back
    assert "orders_during_excl" in condefs(db, db.ns, "orders")


def test_quoted_names_everywhere(database: Db) -> None:
    ns = "My Schema"
    table = Table(ns, "User", columns=(Column("order", "integer", nullable=False),
                                       Column("Select", "text", default="'x'::text")),
                  primary_key=PrimaryKey('User "pk"', ("order",)),
                  checks=(CheckConstraint("Check", '("order" > 0)'),))
    apply(database, CreateNamespace(ns), CreateTable(table),
          CreateIndex(ns, "User", Index("Idx", (IndexPart(column="Select"),))),
          RenameColumn(ns, "User", table.columns[1], Column("from", "text")))
    try:
        assert list(columns(database, ns, "User")) == ["order", "from"]
        assert set(condefs(database, ns, "User")) == {'User "pk"', "Check"}
        assert {r[0] for r in database.rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = $1", ns)} == {"Idx", 'User "pk"'}
    finally:
        apply(database, DropTable(table), DropNamespace(ns))
    assert not database.val("SELECT count(*) FROM pg_namespace WHERE nspname = $1", ns)


def test_partitions_inheritance_unlogged_columnless(db: Db) -> None:
    ns = db.ns
    parent = Table(ns, "events", columns=(Column("at", "date", nullable=False), Column("kind", "text")),
                   partition_by="RANGE (at)")
    p2024 = Table(ns, "events_2024", partition_of=f"{ns}.events",
                  partition_bound="FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                  columns=(Column("kind", "text", default="'x'::text"),),
                  checks=(CheckConstraint("kind_check", "(kind <> '')"),))
    other = Table(ns, "events_other", partition_of=f"{ns}.events")
    base = Table(ns, "base", columns=(Column("id", "integer"),))
    child = Table(ns, "child", columns=(Column("extra", "text"),), inherits=(f"{ns}.base",),
                  unlogged=True)
    empty = Table(ns, "empty")
    apply(db, *(CreateTable(t) for t in (parent, p2024, other, base, child, empty)))
    bounds = dict(db.rows(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass", f"{ns}.events"))
    assert bounds == {"events_2024": "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                      "events_other": "DEFAULT"}
    assert columns(db, ns, "events_2024")["kind"][2] == "'x'::text"
    assert "kind_check" in condefs(db, ns, "events_2024")
    assert db.val(f"SELECT relpersistence::text FROM pg_class WHERE oid = '{ns}.child'::regclass") == "u"
    assert list(columns(db, ns, "child")) == ["id", "extra"]
    assert columns(db, ns, "empty") == {}


def test_rename_and_alter_table(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE SCHEMA {ns}_b; CREATE TABLE {ns}.a (id int); CREATE TABLE {ns}.p (id int);"
               f"CREATE TABLE {ns}.r (at int) PARTITION BY RANGE (at);"
               f"CREATE TABLE {ns}.r1 PARTITION OF {ns}.r FOR VALUES FROM (0) TO (10)")
    old = Table(ns, "a", columns=(Column("id", "integer"),))
    new = Table(f"{ns}_b", "b", columns=old.columns)
    rename = apply(db, RenameTable(old, new))
    assert table_exists(db, f"{ns}_b", "b") and rename[0].hazards == (Hazard.BREAKS_CLIENTS,)
    undo(db, rename)
    assert table_exists(db, ns, "a")
    db.execute(f"DROP SCHEMA {ns}_b")

    changed = Table(ns, "a", columns=old.columns, unlogged=True, rls_enabled=True, rls_forced=True,
                    options=("fillfactor=50", "autovacuum_enabled=false"), comment="c",
                    inherits=(f"{ns}.p",))
    flags = (TableChange.LOGGED | TableChange.RLS_ENABLED | TableChange.RLS_FORCED
             | TableChange.OPTIONS | TableChange.COMMENT | TableChange.INHERITS)
    statements = apply(db, AlterTable(old, changed, flags))
    assert db.rows(f"SELECT relpersistence::text, relrowsecurity, relforcerowsecurity, reloptions, "
                   f"obj_description(oid) FROM pg_class WHERE oid = '{ns}.a'::regclass") == [
        ("u", True, True, ["fillfactor=50", "autovacuum_enabled=false"], "c")]
    assert db.val(f"SELECT count(*) FROM pg_inherits WHERE inhrelid = '{ns}.a'::regclass") == 1
    assert any(Hazard.TABLE_REWRITE in s.hazards for s in statements)
    apply(db, AlterTable(changed, Table(ns, "a", columns=old.columns, options=("fillfactor=60",)),
                         flags))
    assert db.rows(f"SELECT relpersistence::text, relrowsecurity, reloptions, obj_description(oid) "
                   f"FROM pg_class WHERE oid = '{ns}.a'::regclass") == [
        ("p", False, ["fillfactor=60"], None)]
    assert not db.val(f"SELECT count(*) FROM pg_inherits WHERE inhrelid = '{ns}.a'::regclass")
    undo(db, [s for s in statements if "SET (" in s.sql])  # back to the original options
    assert db.val(f"SELECT reloptions FROM pg_class WHERE oid = '{ns}.a'::regclass") is None

    r1 = Table(ns, "r1", partition_of=f"{ns}.r", partition_bound="FOR VALUES FROM (0) TO (10)")
    moved = Table(ns, "r1", partition_of=f"{ns}.r", partition_bound="FOR VALUES FROM (0) TO (20)")
    bound = apply(db, AlterTable(r1, moved, TableChange.PARTITION_BOUND))
    assert [s.sql.split()[-3:] for s in bound][0] == ["DETACH", "PARTITION", f"{ns}.r1"]
    assert db.val(f"SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                  f"WHERE oid = '{ns}.r1'::regclass") == "FOR VALUES FROM (0) TO (20)"


# ---------------------------------------------------------------- columns


def test_add_drop_rename_column(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (id int); INSERT INTO {ns}.t VALUES (1)")
    uid = Column("uid", "uuid", nullable=False, default="gen_random_uuid()", comment="k")
    plain = Column("flag", "boolean", nullable=False, default="false")
    add = apply(db, AddColumn(ns, "t", uid), AddColumn(ns, "t", plain))
    assert Hazard.TABLE_REWRITE in add[0].hazards and Hazard.TABLE_REWRITE not in add[2].hazards
    assert columns(db, ns, "t")["uid"][:3] == ("uuid", True, "gen_random_uuid()")
    drop = apply(db, DropColumn(ns, "t", plain))
    assert drop[0].hazards == (Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS)
    undo(db, drop)
    assert columns(db, ns, "t")["flag"] == ("boolean", True, "false", "", "", None)
    rename = apply(db, RenameColumn(ns, "t", uid, Column("key", "uuid")))
    assert "key" in columns(db, ns, "t")
    undo(db, rename)
    undo(db, add)
    assert list(columns(db, ns, "t")) == ["id"]


def _alter(db: Db, old: Column, new: Column, flags: ColumnChange, using: str | None = None
           ) -> list[Statement]:
    return apply(db, AlterColumn(db.ns, "t", old, new, flags, using))


def test_alter_column_type_default_nullable(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (c varchar(10) DEFAULT '7', w varchar(10));"
               f"INSERT INTO {ns}.t VALUES ('5', 'w')")
    old = Column("c", "character varying(10)", default="'7'::character varying")
    new = Column("c", "integer", nullable=False, default="42")
    flags = ColumnChange.TYPE | ColumnChange.DEFAULT | ColumnChange.NULLABLE
    statements = _alter(db, old, new, flags, using="c::integer")
    assert [s.sql.split(" ALTER COLUMN c ")[1] for s in statements] == [
        "DROP DEFAULT", "TYPE integer USING c::integer", "SET DEFAULT 42", "SET NOT NULL"]
    assert Hazard.TABLE_REWRITE in statements[1].hazards
    assert Hazard.VALIDATES_ROWS in statements[3].hazards
    assert columns(db, ns, "t")["c"][:3] == ("integer", True, "42")
    assert db.val(f"SELECT c FROM {ns}.t") == 5

    before = db.val(f"SELECT relfilenode FROM pg_class WHERE oid = '{ns}.t'::regclass")
    widen = _alter(db, Column("w", "character varying(10)"), Column("w", "character varying(30)"),
                   ColumnChange.TYPE)
    assert Hazard.TABLE_REWRITE not in widen[0].hazards
    assert db.val(f"SELECT relfilenode FROM pg_class WHERE oid = '{ns}.t'::regclass") == before
    undo(db, widen)
    assert columns(db, ns, "t")["w"][0] == "character varying(10)"


def test_alter_column_identity_generated_collation_comment(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a int, b int DEFAULT 0, g int GENERATED ALWAYS AS (a + 1) "
               f"STORED, h int GENERATED ALWAYS AS (a * 2) STORED, s text, "
               f"i int GENERATED BY DEFAULT AS IDENTITY); INSERT INTO {ns}.t (a, s) VALUES (1, 'x')")
    b_old = Column("b", "integer", default="0")
    b_new = Column("b", "integer", nullable=False, identity="ALWAYS",
                   identity_options=SequenceOptions(start=10))
    steps = _alter(db, b_old, b_new,
                   ColumnChange.IDENTITY | ColumnChange.DEFAULT | ColumnChange.NULLABLE)
    assert columns(db, ns, "t")["b"][:4] == ("integer", True, None, "a")
    undo(db, steps)
    assert columns(db, ns, "t")["b"][:4] == ("integer", False, "0", "")

    i_old = Column("i", "integer", nullable=False, identity="BY DEFAULT")
    i_new = Column("i", "integer", nullable=False, identity="ALWAYS",
                   identity_options=SequenceOptions(increment=3, cache=5))
    _alter(db, i_old, i_new, ColumnChange.IDENTITY | ColumnChange.IDENTITY_OPTIONS)
    assert columns(db, ns, "t")["i"][3] == "a"
    assert db.val(f"SELECT increment_by || ',' || cache_size FROM pg_sequences "
                  f"WHERE schemaname = '{ns}'") == "3,5"
    _alter(db, i_new, Column("i", "integer"), ColumnChange.IDENTITY | ColumnChange.NULLABLE)
    assert columns(db, ns, "t")["i"][:4] == ("integer", False, None, "")

    _alter(db, Column("g", "integer", generated="(a + 1)"), Column("g", "integer"),
           ColumnChange.GENERATED)
    assert columns(db, ns, "t")["g"][4] == "" and db.val(f"SELECT g FROM {ns}.t") == 2
    regen = _alter(db, Column("h", "integer", generated="(a * 2)"),
                   Column("h", "integer", generated="(a * 3)", comment="x3"), ColumnChange.GENERATED)
    assert Hazard.TABLE_REWRITE in regen[0].hazards and regen[0].comment
    assert db.val(f"SELECT h FROM {ns}.t") == 3

    coll = _alter(db, Column("s", "text"), Column("s", "text", collation="C", comment="sorted"),
                  ColumnChange.COLLATION | ColumnChange.COMMENT)
    assert columns(db, ns, "t")["s"][5] == "C"
    assert db.val(f"SELECT col_description('{ns}.t'::regclass, 5)") == "sorted"
    undo(db, coll)
    assert columns(db, ns, "t")["s"][5] is None


# ---------------------------------------------------------------- constraints and indexes


def test_constraints(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.p (a int, b int, UNIQUE (a, b));"
               f"CREATE TABLE {ns}.c (id int, x int, y int, v int)")
    fk = ForeignKey("c_fk", ("x", "y"), ns, "p", ("a", "b"), on_delete="CASCADE",
                    on_update="SET NULL", match="FULL", deferrable=True, validated=False)
    check = CheckConstraint("c_v_check", "(v > 0)")
    pk = PrimaryKey("c_pkey", ("id",))
    statements = apply(db, *(AddConstraint(ns, "c", con) for con in (fk, check, pk)))
    assert condefs(db, ns, "c") == {
        "c_fk": f"FOREIGN KEY (x, y) REFERENCES {ns}.p(a, b) MATCH FULL ON UPDATE SET NULL "
                "ON DELETE CASCADE DEFERRABLE NOT VALID",
        "c_v_check": "CHECK ((v > 0))",
        "c_pkey": "PRIMARY KEY (id)",
    }
    assert statements[0].lock == "SHARE ROW EXCLUSIVE" and Hazard.VALIDATES_ROWS not in statements[0].hazards
    assert Hazard.VALIDATES_ROWS in statements[1].hazards
    validate = apply(db, ValidateConstraint(ns, "c", fk))
    assert validate[0].lock == "SHARE UPDATE EXCLUSIVE"
    assert db.val("SELECT convalidated FROM pg_constraint WHERE conname = 'c_fk'") is True
    drop = apply(db, DropConstraint(ns, "c", pk), DropConstraint(ns, "c", check))
    assert drop[0].hazards == (Hazard.INDEX_DROPPED,) and set(condefs(db, ns, "c")) == {"c_fk"}
    undo(db, drop)
    assert set(condefs(db, ns, "c")) == {"c_fk", "c_pkey", "c_v_check"}


def test_indexes(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a text, b int, c int, d jsonb)")
    unique = Index("t_u", (IndexPart(expression="lower(a)", opclass="text_pattern_ops"),
                           IndexPart(column="b", descending=True, nulls_first=False)),
                   unique=True, include=("c",), nulls_not_distinct=True,
                   options=("fillfactor=80",), where="(c > 0)")
    gin = Index("t_gin", (IndexPart(column="d"),), method="gin")
    coll = Index("t_coll", (IndexPart(column="a", collation="C"),
                            IndexPart(column="c", nulls_first=True)))
    statements = apply(db, *(CreateIndex(ns, "t", i) for i in (unique, gin, coll)))
    defs = dict(db.rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1", ns))
    assert defs["t_u"] == (
        f"CREATE UNIQUE INDEX t_u ON {ns}.t USING btree (lower(a) text_pattern_ops, b DESC NULLS "
        f"LAST) INCLUDE (c) NULLS NOT DISTINCT WITH (fillfactor='80') WHERE (c > 0)")
    assert defs["t_gin"] == f"CREATE INDEX t_gin ON {ns}.t USING gin (d)"
    assert defs["t_coll"] == f'CREATE INDEX t_coll ON {ns}.t USING btree (a COLLATE "C", c NULLS FIRST)'
    assert statements[0].lock == "SHARE"
    assert set(statements[0].hazards) == {Hazard.INDEX_BUILD, Hazard.SHARE_LOCK}
    drop = apply(db, DropIndex(ns, "t", gin))
    assert drop[0].hazards == (Hazard.INDEX_DROPPED,)
    undo(db, drop)
    assert db.val("SELECT count(*) FROM pg_indexes WHERE schemaname = $1", ns) == 3


# ---------------------------------------------------------------- triggers and policies


def test_triggers(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a int); CREATE FUNCTION {ns}.f() RETURNS trigger "
               f"LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$")
    trigger = Trigger("trg", f"CREATE TRIGGER trg BEFORE INSERT ON {ns}.t FOR EACH ROW "
                             f"EXECUTE FUNCTION {ns}.f()", enabled="D")
    statements = apply(db, CreateTrigger(ns, "t", trigger))
    assert statements[0].lock == "SHARE ROW EXCLUSIVE"
    assert db.val("SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'trg'") == "D"
    apply(db, SetTriggerEnabled(ns, "t", Trigger("trg", trigger.definition, enabled="R")))
    assert db.val("SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'trg'") == "R"
    drop = apply(db, DropTrigger(ns, "t", trigger))
    assert not db.val("SELECT count(*) FROM pg_trigger WHERE tgname = 'trg'")
    undo(db, drop)
    assert db.val("SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'trg'") == "D"


def test_policies(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (owner text, a int)")
    everyone = Policy("Everyone", roles=("public",), using="(owner = CURRENT_USER)")
    writers = Policy("writers", permissive=False, command="INSERT", roles=("postgres",),
                     with_check="a > 0")
    statements = apply(db, CreatePolicy(ns, "t", everyone), CreatePolicy(ns, "t", writers))
    rows = db.rows("SELECT policyname, permissive, roles::text[], cmd, qual, with_check "
                   "FROM pg_policies WHERE schemaname = $1 ORDER BY 1", ns)
    assert rows == [("Everyone", "PERMISSIVE", ["public"], "ALL", "(owner = CURRENT_USER)", None),
                    ("writers", "RESTRICTIVE", ["postgres"], "INSERT", None, "(a > 0)")]
    assert statements[0].lock == "ACCESS EXCLUSIVE"
    drop = apply(db, DropPolicy(ns, "t", everyone))
    assert db.val("SELECT count(*) FROM pg_policies WHERE schemaname = $1", ns) == 1
    undo(db, drop)
    assert db.val("SELECT count(*) FROM pg_policies WHERE schemaname = $1", ns) == 2


# ---------------------------------------------------------------- views and functions


def test_views(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a int); CREATE VIEW {ns}.tmp AS SELECT a + 1 AS b FROM {ns}.t")
    definition = db.val("SELECT pg_get_viewdef($1::regclass)", f"{ns}.tmp")
    db.execute(f"DROP VIEW {ns}.tmp")
    view = View(ns, "v", definition, options=("security_barrier=true",), comment="plain")
    mat = View(ns, "m", definition, materialized=True, with_data=False, comment="mat")
    apply(db, CreateView(view), CreateView(mat),
          CreateIndex(ns, "m", Index("m_b", (IndexPart(column="b"),))))
    assert db.val("SELECT pg_get_viewdef($1::regclass)", f"{ns}.v") == definition
    assert db.rows(f"SELECT relname, relkind::text, relispopulated, reloptions, obj_description(oid) "
                   f"FROM pg_class WHERE relnamespace = '{ns}'::regnamespace AND relkind IN "
                   f"('v', 'm') ORDER BY 1") == [
        ("m", "m", False, None, "mat"), ("v", "v", True, ["security_barrier=true"], "plain")]
    assert db.val("SELECT count(*) FROM pg_indexes WHERE tablename = 'm' AND schemaname = $1", ns) == 1
    drop = apply(db, DropView(view), DropView(mat))
    assert not db.val(f"SELECT count(*) FROM pg_class WHERE relnamespace = '{ns}'::regnamespace "
                      f"AND relkind IN ('v', 'm')")
    undo(db, drop)
    assert db.val(f"SELECT count(*) FROM pg_class WHERE relnamespace = '{ns}'::regnamespace "
                  f"AND relkind IN ('v', 'm')") == 2


def test_functions(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE FUNCTION {ns}.add(a integer, b integer) RETURNS integer LANGUAGE sql "
               f"AS 'SELECT a + b'; CREATE PROCEDURE {ns}.p(x text) LANGUAGE sql AS 'SELECT 1'")
    fdef = db.val("SELECT pg_get_functiondef($1::regprocedure)", f"{ns}.add(int, int)")
    pdef = db.val("SELECT pg_get_functiondef($1::regprocedure)", f"{ns}.p(text)")
    db.execute(f"DROP FUNCTION {ns}.add(int, int); DROP PROCEDURE {ns}.p(text)")
    fn = Function(ns, "add", "a integer, b integer", fdef, returns="integer", comment="adds")
    proc = Function(ns, "p", "x text", pdef, kind="procedure", returns=None)
    agg = Function(ns, "total", "integer",
                   f"CREATE AGGREGATE {ns}.total(integer) (SFUNC = {ns}.add, STYPE = integer, INITCOND = '0')",
                   kind="aggregate")
    apply(db, CreateFunction(fn), CreateFunction(proc), CreateFunction(agg))
    assert db.val(f"SELECT {ns}.add(2, 3)") == 5
    assert db.val(f"SELECT {ns}.total(x) FROM generate_series(1, 4) x") == 10
    assert db.val(f"SELECT obj_description('{ns}.add(int, int)'::regprocedure)") == "adds"
    newer = Function(ns, "add", fn.arguments, fdef.replace("a + b", "a + b + 100"), returns="integer")
    replace = apply(db, ReplaceFunction(fn, newer))
    assert replace[0].hazards == (Hazard.UNTRACKABLE_DEPENDENCIES,)
    assert db.val(f"SELECT {ns}.add(2, 3)") == 105
    drop = apply(db, DropFunction(agg), DropFunction(proc))
    assert not db.val("SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace "
                      "AND proname IN ('total', 'p')", ns)
    undo(db, drop)
    assert db.val(f"SELECT {ns}.total(x) FROM generate_series(1, 4) x") == 410


# ---------------------------------------------------------------- enums and other types


def labels(db: Db, ns: str, name: str) -> list[str]:
    return [r[0] for r in db.rows(
        "SELECT enumlabel FROM pg_enum WHERE enumtypid = format('%I.%I', $1::text, $2::text)::regtype "
        "ORDER BY enumsortorder", ns, name)]


def test_enum_lifecycle_and_malicious_label(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.x (id int)")  # the table the label tries to drop
    mood = Enum(ns, "Mood", (MALICIOUS, "ok"), comment="feelings")
    statements = apply(db, CreateEnum(mood))
    assert labels(db, ns, "Mood") == [MALICIOUS, "ok"] and table_exists(db, ns, "x")
    assert db.val(f"SELECT obj_description('{ns}.\"Mood\"'::regtype)") == "feelings"
    added = apply(db, AddEnumValue(mood, "sad", before="ok"), AddEnumValue(mood, "glad", after="ok"),
                  AddEnumValue(mood, "back\\slash"))
    assert added[0].transactional and "cannot be used" in (added[0].comment or "")
    assert labels(db, ns, "Mood") == [MALICIOUS, "sad", "ok", "glad", "back\\slash"]
    apply(db, RenameEnumValue(mood, "glad", "happy"))
    renamed = Enum(f"{ns}", "mood", mood.labels)
    apply(db, RenameEnum(mood, renamed))
    assert labels(db, ns, "mood")[3] == "happy"
    assert statements[0].reverse == (f'DROP TYPE {ns}."Mood"',)
    drop = apply(db, DropEnum(renamed))
    assert db.val("SELECT to_regtype($1)", f"{ns}.mood") is None
    undo(db, drop)
    assert labels(db, ns, "mood")[0] == MALICIOUS and table_exists(db, ns, "x")


def test_recreate_enum_converts_columns(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TYPE {ns}.e AS ENUM ('a', 'b', 'c');"
               f"CREATE TABLE {ns}.t (v {ns}.e DEFAULT 'a', vs {ns}.e[], w {ns}.e);"
               f"INSERT INTO {ns}.t VALUES ('c', ARRAY['a', 'c']::{ns}.e[], 'a')")
    old = Enum(ns, "e", ("a", "b", "c"))
    new = Enum(ns, "e", ("c", "a"))
    uses = (TypeColumnUse(ns, "t", "v", f"{ns}.e", f"'a'::{ns}.e", f"'c'::{ns}.e"),
            TypeColumnUse(ns, "t", "vs", f"{ns}.e[]", None, None),
            TypeColumnUse(ns, "t", "w", f"{ns}.e", None, None))
    statements = apply(db, RecreateEnum(old, new, uses))
    assert labels(db, ns, "e") == ["c", "a"]
    assert db.val("SELECT count(*) FROM pg_type WHERE typname LIKE 'e__old_dfm%'") == 0
    assert db.rows(f"SELECT v::text, vs::text, w::text FROM {ns}.t") == [("c", "{a,c}", "a")]
    assert columns(db, ns, "t")["v"][2] == f"'c'::{ns}.e"
    assert any(Hazard.TABLE_REWRITE in s.hazards for s in statements)


def test_domains_composites_collations(db: Db) -> None:
    ns = db.ns
    dom = Domain(ns, "positive", "integer", nullable=False, default="1",
                 checks=(CheckConstraint("positive_check", "(VALUE > 0)"),
                         CheckConstraint("small", "(VALUE < 100)", validated=False)))
    comp = CompositeType(ns, "pair", (Column("left", "text", collation="C"), Column("n", "integer")))
    icu = Collation(ns, "ci", provider="icu", locale="und-u-ks-level2", deterministic=False)
    libc = Collation(ns, "posix", lc_collate="C", lc_ctype="C")
    apply(db, CreateDomain(dom), CreateCompositeType(comp), CreateCollation(icu), CreateCollation(libc))
    assert dict(db.rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = $1::regtype",
        f"{ns}.positive")) == {"positive_check": "CHECK ((VALUE > 0))",
                               "small": "CHECK ((VALUE < 100)) NOT VALID"}
    assert db.rows("SELECT typnotnull, typdefault FROM pg_type WHERE oid = $1::regtype",
                   f"{ns}.positive") == [(True, "1")]
    assert db.val(f"SELECT (ROW('x', 2)::{ns}.pair).n") == 2
    assert db.val(f"SELECT 'A' = 'a' COLLATE {ns}.ci") is True
    assert db.val(f"SELECT collprovider::text FROM pg_collation WHERE collname = 'posix' "
                  f"AND collnamespace = '{ns}'::regnamespace") == "c"
    apply(db, DropDomain(dom), DropCompositeType(comp), DropCollation(icu))
    assert db.val("SELECT to_regtype($1)", f"{ns}.pair") is None
    assert db.val("SELECT to_regtype($1)", f"{ns}.positive") is None


def test_sequences(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (id int)")
    plain = Sequence(ns, "plain")
    assert render_change(CreateSequence(plain))[0].sql == f"CREATE SEQUENCE {ns}.plain"
    seq = Sequence(ns, "s", SequenceOptions(data_type="integer", start=5, increment=-1,
                                            min_value=-10, max_value=10, cache=3, cycle=True))
    apply(db, CreateSequence(plain), CreateSequence(seq))
    query = ("SELECT data_type::text, start_value, increment_by, min_value, max_value, cache_size, "
             "cycle FROM pg_sequences WHERE schemaname = $1 AND sequencename = $2")
    assert db.rows(query, ns, "s") == [("integer", 5, -1, -10, 10, 3, True)]
    changed = Sequence(ns, "s", SequenceOptions(data_type="bigint", start=5, increment=2,
                                                max_value=1000))
    alter = apply(db, AlterSequence(seq, changed))
    assert db.rows(query, ns, "s") == [("bigint", 5, 2, 1, 1000, 1, False)]
    undo(db, alter)
    assert db.rows(query, ns, "s") == [("integer", 5, -1, -10, 10, 3, True)]
    apply(db, SetSequenceOwner(Sequence(ns, "s", owned_by=f"{ns}.t.id")))
    assert db.val(f"SELECT pg_get_serial_sequence('{ns}.t', 'id')") == f"{ns}.s"
    apply(db, SetSequenceOwner(Sequence(ns, "s")))
    assert db.val(f"SELECT pg_get_serial_sequence('{ns}.t', 'id')") is None
    drop = apply(db, DropSequence(seq))
    assert drop[0].hazards == (Hazard.DELETES_DATA,)
    assert db.val("SELECT to_regclass($1)", f"{ns}.s") is None


def test_namespaces_and_extensions(db: Db) -> None:
    ns = db.ns
    trgm = Extension("pg_trgm", ns, "1.5")
    apply(db, CreateNamespace(f"{ns}_x"), CreateExtension(trgm),
          CreateExtension(Extension("uuid-ossp", ns)))
    assert db.rows("SELECT extname, extversion, extnamespace::regnamespace::text FROM pg_extension "
                   "WHERE extname IN ('pg_trgm', 'uuid-ossp') ORDER BY 1") == [
        ("pg_trgm", "1.5", ns), ("uuid-ossp", "1.1", ns)]
    update = apply(db, AlterExtensionVersion(trgm, Extension("pg_trgm", ns, "1.6")))
    assert db.val("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'") == "1.6"
    assert update[0].reverse == ("ALTER EXTENSION pg_trgm UPDATE TO '1.5'",)
    apply(db, DropExtension(trgm), DropExtension(Extension("uuid-ossp", ns)),
          DropNamespace(f"{ns}_x"))
    assert not db.val("SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'uuid-ossp')")
    assert not db.val("SELECT count(*) FROM pg_namespace WHERE nspname = $1", f"{ns}_x")


# ---------------------------------------------------------------- privileges and comments


def test_grants_and_revokes(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a int, b int); CREATE SEQUENCE {ns}.s;"
               f"CREATE FUNCTION {ns}.f(x integer) RETURNS int LANGUAGE sql AS 'SELECT x';"
               f"REVOKE ALL ON FUNCTION {ns}.f(integer) FROM PUBLIC")
    changes = [
        GrantPrivilege(Ref("table", ns, "t"), Grant("public", "SELECT")),
        GrantPrivilege(Ref("column", ns, "t.b"), Grant("PUBLIC", "UPDATE")),
        GrantPrivilege(Ref("sequence", ns, "s"), Grant("public", "USAGE")),
        GrantPrivilege(Ref("function", ns, "f(x integer)"), Grant("public", "EXECUTE")),
        GrantPrivilege(Ref("namespace", "", ns), Grant("public", "USAGE")),
    ]
    statements = apply(db, *changes)
    assert statements[3].sql == f"GRANT EXECUTE ON ROUTINE {ns}.f(x integer) TO PUBLIC"
    checks = (f"SELECT has_table_privilege('public', '{ns}.t', 'SELECT'), "
              f"has_column_privilege('public', '{ns}.t', 'b', 'UPDATE'), "
              f"has_column_privilege('public', '{ns}.t', 'a', 'UPDATE'), "
              f"has_sequence_privilege('public', '{ns}.s', 'USAGE'), "
              f"has_function_privilege('public', '{ns}.f(int)', 'EXECUTE'), "
              f"has_schema_privilege('public', '{ns}', 'USAGE')")
    assert db.rows(checks) == [(True, True, False, True, True, True)]
    apply(db, *(RevokePrivilege(c.target, c.grant) for c in changes))
    assert db.rows(checks) == [(False,) * 6]
    undo(db, statements)  # undo of a GRANT is its REVOKE
    assert db.rows(checks) == [(False,) * 6]


def test_set_comment(db: Db) -> None:
    ns = db.ns
    db.execute(f"CREATE TABLE {ns}.t (a int CONSTRAINT a_pos CHECK (a > 0)); "
               f"CREATE VIEW {ns}.v AS SELECT 1 AS one; CREATE TYPE {ns}.e AS ENUM ('x');"
               f"CREATE FUNCTION {ns}.f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
               f"CREATE SEQUENCE {ns}.s; CREATE INDEX t_a ON {ns}.t (a)")
    targets = {
        Ref("table", ns, "t"): f"'{ns}.t'::regclass, 'pg_class'",
        Ref("view", ns, "v"): f"'{ns}.v'::regclass, 'pg_class'",
        Ref("type", ns, "e"): f"'{ns}.e'::regtype, 'pg_type'",
        Ref("function", ns, "f()"): f"'{ns}.f()'::regprocedure, 'pg_proc'",
        Ref("sequence", ns, "s"): f"'{ns}.s'::regclass, 'pg_class'",
        Ref("index", ns, "t_a"): f"'{ns}.t_a'::regclass, 'pg_class'",
        Ref("namespace", "", ns): f"'{ns}'::regnamespace, 'pg_namespace'",
        Ref("constraint", ns, "t.a_pos"):
            "(SELECT oid FROM pg_constraint WHERE conname = 'a_pos'), 'pg_constraint'",
    }
    apply(db, *(SetComment(ref, f"{ref.kind} {MALICIOUS}") for ref in targets))
    for ref, where in targets.items():
        assert db.val(f"SELECT obj_description({where})") == f"{ref.kind} {MALICIOUS}"
    apply(db, SetComment(Ref("column", ns, "t.a"), "col"))
    assert db.val(f"SELECT col_description('{ns}.t'::regclass, 1)") == "col"
    apply(db, *(SetComment(ref, None) for ref in targets))
    assert db.val(f"SELECT obj_description('{ns}.t'::regclass, 'pg_class')") is None
    with pytest.raises(UnsupportedChange):
        render_change(SetComment(Ref("bogus", ns, "x"), "y"))

"""SQLite introspection, adaptation and rendering, against real database files."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from dfmigrate.core.changes import (
    AddColumn, AddConstraint, AlterColumn, Change, ColumnChange, CreateEnum, CreateIndex,
    CreateTable, CreateTrigger, CreateView, DropColumn, DropView, DropConstraint, DropIndex, RebuildTable,
    RenameColumn, RenameTable, SetComment,
)
from dfmigrate.dialects.sqlite import normalize_type
from dfmigrate.dialects.sqlite.adapt import adapt_changes
from dfmigrate.dialects.sqlite.quote import quote_ident
from dfmigrate.dialects.sqlite.render import render_change, render_script
from dfmigrate.errors import SourceError, UnsupportedChange, UnsupportedError
from dfmigrate.core.schema import (
    CheckConstraint, Column, Enum, ForeignKey, Index, IndexPart, PrimaryKey, Ref, Schema, Table,
    Trigger, UniqueConstraint, View,
)
from dfmigrate.sources.sqlite import inspect_sqlite, inspect_sqlite_connection
from dfmigrate.core.statement import Hazard
from tests.converge_util import sqlite_apply

EVIL = "it's'; DROP TABLE x; --"
EVIL_SQL = "'it''s''; DROP TABLE x; --'"
EMPTY = Schema(dialect="sqlite", namespaces=("main",))


# ---------------------------------------------------------------- helpers


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def migrate(conn: sqlite3.Connection, changes: list[Change], old: Schema, new: Schema) -> list[Change]:
    adapted = adapt_changes(changes, old, new)
    sqlite_apply(conn, [s for c in adapted for s in render_change(c)])
    return adapted


def creation_changes(schema: Schema) -> list[Change]:
    out: list[Change] = [CreateTable(t) for t in schema.tables]
    out += [CreateIndex("main", t.name, i) for t in schema.tables for i in t.indexes]
    out += [CreateTrigger("main", t.name, tr) for t in schema.tables for tr in t.triggers]
    out += [CreateView(v) for v in schema.views]
    return out + [CreateTrigger("main", v.name, tr) for v in schema.views for tr in v.triggers]


def build(path: Path, schema: Schema) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn, creation_changes(schema), EMPTY, schema)
    return conn


def inspect(conn: sqlite3.Connection) -> Schema:
    return inspect_sqlite_connection(conn)


def col(name: str, type_: str = "INTEGER", **kw: object) -> Column:
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def schema(*tables: Table, views: tuple[View, ...] = ()) -> Schema:
    return Schema(dialect="sqlite", namespaces=("main",),
                  tables=tuple(sorted(tables, key=lambda t: t.name)), views=views)


# ---------------------------------------------------------------- fixtures: IR built by hand

PARENT = Table("main", "parent", columns=(
    col("id", nullable=False, autoincrement=True),
    col("code", "VARCHAR(20)", nullable=False, collation="NOCASE"),
), primary_key=PrimaryKey("parent_pkey", ("id",)),
    uniques=(UniqueConstraint("parent_code_key", ("code",)),))

ITEM = Table("main", "item", columns=(
    col("id", nullable=False),
    col("parent_id"),
    col("label", "TEXT", nullable=False, default=EVIL_SQL),
    col("price", "NUMERIC(10, 2)", default="0"),
    col("created", "TEXT", default="CURRENT_TIMESTAMP"),
    col("doubled", "NUMERIC", generated="price * 2"),
    col("status", "TEXT", default="1 + 2"),
), primary_key=PrimaryKey("item_pkey", ("id",)),
    uniques=(UniqueConstraint("item_label_price_key", ("label", "price")),),
    checks=(CheckConstraint("item_label_check", f"label IN ('a', {EVIL_SQL})"),
            CheckConstraint("item_price_check", "price >= 0")),
    foreign_keys=(ForeignKey("item_parent_id_fkey", ("parent_id",), "main", "parent", ("id",),
                             on_delete="CASCADE", deferrable=True, initially_deferred=True),),
    indexes=(Index("item_expr_idx", (IndexPart(expression="lower(label)", descending=True),
                                     IndexPart(column="price", collation="RTRIM")),
                   where="price > 0"),
             Index("item_parent_idx", (IndexPart(column="parent_id"),), unique=True)),
    triggers=(Trigger("item_touch", "CREATE TRIGGER item_touch AFTER UPDATE ON item BEGIN "
                      "UPDATE item SET created = CURRENT_TIMESTAMP WHERE id = new.id; END"),))

KEYWORDS = Table("main", "order", columns=(
    col("group", "TEXT", nullable=False), col("select", "TEXT"), col("two words", ""),
), primary_key=PrimaryKey("order pk", ("group",)), without_rowid=True, strict=False)

STRICT = Table("main", "s", columns=(col("k", "TEXT", nullable=False), col("v", "ANY")),
               primary_key=PrimaryKey("s_pkey", ("k",)), without_rowid=True, strict=True)

CYCLE_A = Table("main", "a", columns=(col("id", nullable=False), col("b_id")),
                primary_key=PrimaryKey("a_pkey", ("id",)),
                foreign_keys=(ForeignKey("a_b_id_fkey", ("b_id",), "main", "b", ("id",)),))
CYCLE_B = Table("main", "b", columns=(col("id", nullable=False), col("a_id")),
                primary_key=PrimaryKey("b_pkey", ("id",)),
                foreign_keys=(ForeignKey("b_a_id_fkey", ("a_id",), "main", "a", ("id",),
                                         on_update="SET NULL"),))

ITEM_VIEW = View("main", "item_names",
                 "SELECT i.label, p.code FROM item i JOIN parent p ON p.id = i.parent_id",
                 columns=("label", "code"),
                 depends_on=(Ref("table", "main", "item"), Ref("table", "main", "parent")))

ROUND_TRIPS = {
    "parent-item-view": schema(PARENT, ITEM, views=(ITEM_VIEW,)),
    "keywords-without-rowid": schema(KEYWORDS),
    "strict": schema(STRICT),
    "fk-cycle": schema(CYCLE_A, CYCLE_B),
}


# ---------------------------------------------------------------- introspection


def test_introspects_every_construct(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite")
    conn.executescript(f"""
        CREATE TABLE parent (id integer PRIMARY KEY AUTOINCREMENT, code text UNIQUE);
        CREATE TABLE "order" (
          id INTEGER CONSTRAINT order_pk PRIMARY KEY,
          name varchar( 255 ) NOT NULL DEFAULT 'x' COLLATE nocase CHECK (length(name) > 0),
          price numeric(10,2) CONSTRAINT pos CHECK (price > 0),
          parent INTEGER REFERENCES parent ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
          g INT GENERATED ALWAYS AS (price * 2) STORED,
          status TEXT DEFAULT {EVIL_SQL} CHECK (status IN ('a', {EVIL_SQL})),
          CONSTRAINT uq UNIQUE (name, price),
          UNIQUE (price),
          CHECK (price < 1000 AND id > 0),
          CONSTRAINT fk2 FOREIGN KEY (parent, id) REFERENCES other (a, b) ON UPDATE SET NULL
        );
        CREATE TABLE w (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID, STRICT;
        CREATE INDEX ix ON "order" (price + 1 DESC, name COLLATE nocase, status COLLATE rtrim)
          WHERE price > 0;
        CREATE UNIQUE INDEX ux ON w (v);
        CREATE TRIGGER tr AFTER INSERT ON w BEGIN SELECT 1; END;
        CREATE VIEW v AS SELECT o.name, p.code FROM "order" o JOIN parent p ON p.id = o.parent;
        CREATE VIEW v2 AS WITH x AS (SELECT * FROM v) SELECT * FROM x;
    """)
    s = inspect(conn)
    order, parent, w = s.tables
    assert [t.name for t in s.tables] == ["order", "parent", "w"]
    # the rowid alias never holds NULL, but it declares no NOT NULL: the catalog says so
    assert order.columns[0] == Column("id", "INTEGER", nullable=True)
    # the type as declared (upper-cased, whitespace runs collapsed): a rebuild writes it so
    assert order.columns[1] == Column("name", "VARCHAR( 255 )", nullable=False, default="'x'",
                                      collation="NOCASE")
    assert order.columns[2].type == "NUMERIC(10,2)"
    assert (order.columns[4].generated, order.columns[4].generated_kind) == ("price * 2", "STORED")
    assert order.columns[5].default == EVIL_SQL
    assert order.primary_key == PrimaryKey("order_pk", ("id",))
    # unnamed constraints keep the empty name, sorted by definition after no name
    assert [(u.name, u.columns) for u in order.uniques] == [("", ("price",)), ("uq", ("name", "price"))]
    assert sorted((c.name, c.expression) for c in order.checks) == [
        ("", "length(name) > 0"), ("", "price < 1000 AND id > 0"),
        ("", f"status IN ('a', {EVIL_SQL})"), ("pos", "price > 0")]
    assert order.foreign_keys == (
        ForeignKey("", ("parent",), "main", "parent", (),  # REFERENCES parent: its key
                   on_delete="CASCADE", deferrable=True, initially_deferred=True),
        ForeignKey("fk2", ("parent", "id"), "main", "other", ("a", "b"), on_update="SET NULL"))
    assert order.indexes == (Index("ix", (
        IndexPart(expression="price + 1", descending=True), IndexPart(column="name", collation="NOCASE"),
        IndexPart(column="status", collation="RTRIM")), where="price > 0"),)
    assert parent.columns[0].autoincrement and parent.primary_key == PrimaryKey("", ("id",))
    assert parent.uniques == (UniqueConstraint("", ("code",)),)
    assert w.without_rowid and w.strict and w.columns[0].nullable is False
    assert w.indexes == (Index("ux", (IndexPart(column="v"),), unique=True),)
    assert w.triggers == (Trigger("tr", "CREATE TRIGGER tr AFTER INSERT ON w BEGIN SELECT 1; END"),)
    v, v2 = s.views
    assert v.definition == 'SELECT o.name, p.code FROM "order" o JOIN parent p ON p.id = o.parent'
    assert v.columns == ()  # no declared column list
    assert v.depends_on == (Ref("table", "main", "order"), Ref("table", "main", "parent"))
    assert v2.depends_on == (Ref("view", "main", "v"),)


def test_constraint_names_survive_a_rebuild(tmp_path: Path) -> None:
    """Unnamed constraints stay unnamed, named ones keep their names, through a table rebuild
    that rows survive; the next plan is empty."""
    conn = connect(tmp_path / "db.sqlite")
    conn.executescript("""
        CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
        CREATE TABLE t (a INT, b INT REFERENCES p (code), CONSTRAINT t_check CHECK (a > 0),
                        CHECK (a < 100), CHECK (a <> 7), CONSTRAINT named_fk FOREIGN KEY (a) REFERENCES p);
        INSERT INTO p VALUES (1, 'x');
        INSERT INTO t VALUES (1, 'x');
    """)
    old = inspect(conn)
    t = old.table("main", "t")
    assert t is not None and [c.name for c in t.checks] == ["", "", "t_check"]
    target_t = dataclasses.replace(t, columns=(*t.columns, col("c", "TEXT", nullable=False, default="'z'")),
                                   checks=t.checks[1:])  # drops one unnamed check, by definition
    new = dataclasses.replace(old, tables=(old.tables[0], target_t))
    from dfmigrate.core.engine import plan_migration

    plan = plan_migration(old, new)
    assert [type(c) for c in plan.changes] == [RebuildTable]
    sqlite_apply(conn, plan)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()[0]
    assert "CONSTRAINT t_check CHECK (a > 0)" in sql and "CONSTRAINT named_fk FOREIGN KEY" in sql
    assert sql.count("CONSTRAINT") == 2 and "CHECK (a <> 7)" in sql
    assert conn.execute("SELECT a, b, c FROM t").fetchall() == [(1, "x", "z")]
    assert inspect(conn) == new and plan_migration(inspect(conn), new).statements == []


def test_generated_columns_keep_their_kind(tmp_path: Path) -> None:
    """VIRTUAL (the default, with or without GENERATED ALWAYS) and STORED round-trip through
    a rebuild; changing one into the other rebuilds the table."""
    conn = connect(tmp_path / "db.sqlite")
    conn.executescript("""
        CREATE TABLE g (x INT NOT NULL, v1 INT AS (x + 1), v2 INT GENERATED ALWAYS AS (x + 2),
                        v3 INT AS (x + 3) VIRTUAL, s INT GENERATED ALWAYS AS (x * 2) STORED);
        INSERT INTO g (x) VALUES (5);
    """)
    old = inspect(conn)
    kinds = [(c.name, c.generated_kind) for c in old.tables[0].columns if c.generated]
    assert kinds == [("v1", "VIRTUAL"), ("v2", "VIRTUAL"), ("v3", "VIRTUAL"), ("s", "STORED")]
    cols = tuple(dataclasses.replace(c, generated_kind="STORED") if c.name == "v1" else
                 dataclasses.replace(c, generated_kind="VIRTUAL") if c.name == "s" else c
                 for c in old.tables[0].columns)
    new = dataclasses.replace(old, tables=(dataclasses.replace(old.tables[0], columns=cols),))
    from dfmigrate.core.engine import plan_migration

    plan = plan_migration(old, new)
    assert [type(c) for c in plan.changes] == [RebuildTable]
    sqlite_apply(conn, plan)
    hidden = conn.execute("SELECT name, hidden FROM pragma_table_xinfo('g') ORDER BY cid").fetchall()
    assert hidden == [("x", 0), ("v1", 3), ("v2", 2), ("v3", 2), ("s", 2)]
    assert conn.execute("SELECT x, v1, s FROM g").fetchall() == [(5, 6, 10)]
    assert inspect(conn) == new


def test_missing_file_is_an_empty_database(tmp_path: Path) -> None:
    assert asyncio.run(inspect_sqlite(str(tmp_path / "new.db"))) == EMPTY


def test_file_is_opened_read_only_and_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    build(path, ROUND_TRIPS["strict"]).close()
    assert asyncio.run(inspect_sqlite(str(path))) == ROUND_TRIPS["strict"]
    bad = tmp_path / "bad.db"
    bad.write_text("not a database at all" * 100)
    with pytest.raises(SourceError, match="cannot read SQLite database") as err:
        asyncio.run(inspect_sqlite(str(bad)))
    assert "\n" not in str(err.value)


def test_unsupported_objects_are_named(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
    with pytest.raises(UnsupportedError, match="virtual table docs"):
        inspect(conn)


def test_view_trigger_survives_rebuild(tmp_path: Path) -> None:
    """An INSTEAD OF trigger lives on its view: a rebuild that recreates the view restores it."""
    t = Table("main", "t", columns=(col("a"),))
    trigger = Trigger("v_ins", "CREATE TRIGGER v_ins INSTEAD OF INSERT ON v BEGIN "
                      "INSERT INTO t (a) VALUES (new.a); END")
    view = View("main", "v", "SELECT a FROM t", columns=("a",),
                depends_on=(Ref("table", "main", "t"),), triggers=(trigger,))
    old = schema(t, views=(view,))
    conn = build(tmp_path / "db.sqlite", old)
    assert inspect(conn) == old
    new_t = Table("main", "t", columns=(col("a", nullable=False),))
    new = schema(new_t, views=(view,))
    migrate(conn, [AlterColumn("main", "t", t.columns[0], new_t.columns[0], ColumnChange.NULLABLE)],
            old, new)
    assert inspect(conn) == new
    conn.execute("INSERT INTO v (a) VALUES (5)")
    assert conn.execute("SELECT a FROM t").fetchall() == [(5,)]


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip(tmp_path: Path, name: str) -> None:
    conn = build(tmp_path / "db.sqlite", ROUND_TRIPS[name])
    assert inspect(conn) == ROUND_TRIPS[name]


def test_evil_label_is_data(tmp_path: Path) -> None:
    conn = build(tmp_path / "db.sqlite", ROUND_TRIPS["parent-item-view"])
    conn.execute("INSERT INTO parent (code) VALUES ('p')")
    conn.execute("INSERT INTO item (id, parent_id) VALUES (1, 1)")
    assert conn.execute("SELECT label FROM item").fetchone() == (EVIL,)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO item (id, label) VALUES (2, 'b')")
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} >= {"item", "parent"}


def test_type_spelling() -> None:
    assert normalize_type("numeric( 10 ,2 )") == "NUMERIC(10, 2)"
    assert normalize_type("unsigned   big int") == "UNSIGNED BIG INT"
    assert quote_ident("order") == '"order"' and quote_ident("plain_1") == "plain_1"
    assert quote_ident('we"ird') == '"we""ird"'


# ---------------------------------------------------------------- adaptation


def test_plain_alters_stay_alters() -> None:
    old = schema(Table("main", "t", columns=(col("a"), col("b"))))
    new = schema(Table("main", "t", columns=(col("a"), col("c", "TEXT", default="'x'", nullable=False))))
    changes: list[Change] = [DropColumn("main", "t", col("b")),
                             AddColumn("main", "t", new.tables[0].columns[1]),
                             SetComment(Ref("table", "main", "t"), "ignored")]
    assert adapt_changes(changes, old, new) == changes[:2]


@pytest.mark.parametrize("column", [
    col("c", nullable=False), col("c", "TEXT", default="CURRENT_TIMESTAMP"),
    col("c", default="1 + 2"), col("c", generated="a * 2"),
])
def test_add_column_restrictions_rebuild(column: Column) -> None:
    old = schema(Table("main", "t", columns=(col("a"),)))
    new = schema(Table("main", "t", columns=(col("a"), column)))
    adapted = adapt_changes([AddColumn("main", "t", column)], old, new)
    assert adapted == [RebuildTable(old.tables[0], new.tables[0], (("a", "a"),))]


def test_drop_indexed_column_rebuilds_and_absorbs_index_changes() -> None:
    idx = Index("t_b_idx", (IndexPart(column="b"),))
    old = schema(Table("main", "t", columns=(col("a"), col("b")), indexes=(idx,)))
    new = schema(Table("main", "t", columns=(col("a"),)))
    adapted = adapt_changes([DropIndex("main", "t", idx), DropColumn("main", "t", col("b"))], old, new)
    assert adapted == [RebuildTable(old.tables[0], new.tables[0], (("a", "a"),))]
    sql = [s.sql for s in render_change(adapted[0])]
    assert sql[0].startswith("CREATE TABLE _dfm_new_t") and "DROP TABLE t" in sql
    assert Hazard.DELETES_DATA in render_change(adapted[0])[0].hazards


def test_unsupported_changes_name_the_object() -> None:
    with pytest.raises(UnsupportedError, match="create enum main.mood"):
        adapt_changes([CreateEnum(Enum("main", "mood", ("a",)))], EMPTY, EMPTY)
    with pytest.raises(UnsupportedChange):
        render_change(CreateEnum(Enum("main", "mood", ("a",))))  # type: ignore[arg-type]


def test_foreign_key_on_new_table_is_inlined() -> None:
    fk = CYCLE_A.foreign_keys[0]
    bare = dataclasses.replace(CYCLE_A, foreign_keys=())
    adapted = adapt_changes([CreateTable(bare), AddConstraint("main", "a", fk)], EMPTY,
                            schema(CYCLE_A))
    assert adapted == [CreateTable(CYCLE_A)]


def test_render_script() -> None:
    assert render_script([]) == ""
    plain = render_change(CreateTable(STRICT))
    assert render_script(plain + plain) == f"{plain[0].sql};\n\n{plain[0].sql};\n"
    old = schema(Table("main", "t", columns=(col("a"),)))
    new = schema(Table("main", "t", columns=(col("a", "TEXT"),)))
    script = render_script(render_change(RebuildTable(old.tables[0], new.tables[0], (("a", "a"),))))
    assert script.startswith("-- run outside the transaction")
    assert "PRAGMA foreign_keys=OFF;" in script
    assert script.endswith("PRAGMA foreign_key_check;\n\nPRAGMA foreign_keys=ON;\n")


# ---------------------------------------------------------------- rebuilds on real data


def seeded(tmp_path: Path) -> tuple[sqlite3.Connection, Schema]:
    old = ROUND_TRIPS["parent-item-view"]
    conn = build(tmp_path / "db.sqlite", old)
    conn.execute("INSERT INTO parent (code) VALUES ('p1'), ('p2')")
    conn.execute("INSERT INTO item (id, parent_id, label, price) VALUES (1, 1, 'a', 5), (2, 2, 'a', 7)")
    return conn, old


def with_item(old: Schema, **changes: object) -> Schema:
    item = dataclasses.replace(old.table("main", "item"), **changes)  # type: ignore[arg-type]
    return dataclasses.replace(old, tables=tuple(item if t.name == "item" else t for t in old.tables))


def rows(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute("SELECT id, parent_id, label, price FROM item ORDER BY id").fetchall()


def test_rebuild_change_type_restores_indexes_triggers_views(tmp_path: Path) -> None:
    conn, old = seeded(tmp_path)
    before = rows(conn)
    item = old.table("main", "item")
    price = dataclasses.replace(item.columns[3], type="REAL")
    new = with_item(old, columns=item.columns[:3] + (price,) + item.columns[4:])
    adapted = migrate(conn, [AlterColumn("main", "item", item.columns[3], price, ColumnChange.TYPE)],
                      old, new)
    assert [type(c).__name__ for c in adapted] == ["DropView", "RebuildTable", "CreateView"]
    assert inspect(conn) == new
    assert rows(conn) == before
    assert conn.execute("SELECT count(*) FROM item_names").fetchone() == (2,)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_rebuild_keeps_cascading_children(tmp_path: Path) -> None:
    """DROP TABLE parent inside the rebuild must not cascade into item."""
    conn, old = seeded(tmp_path)
    parent = old.table("main", "parent")
    code = dataclasses.replace(parent.columns[1], collation=None)
    new_parent = dataclasses.replace(parent, columns=(parent.columns[0], code))
    new = dataclasses.replace(old, tables=(old.table("main", "item"), new_parent))
    migrate(conn, [AlterColumn("main", "parent", parent.columns[1], code, ColumnChange.COLLATION)],
            old, new)
    assert inspect(conn) == new
    assert len(rows(conn)) == 2
    # AUTOINCREMENT still never reuses ids
    conn.execute("DELETE FROM item WHERE parent_id = 2")
    conn.execute("DELETE FROM parent WHERE id = 2")
    conn.execute("INSERT INTO parent (code) VALUES ('p3')")
    assert conn.execute("SELECT max(id) FROM parent").fetchone() == (3,)


def test_rebuild_not_null_and_check(tmp_path: Path) -> None:
    conn, old = seeded(tmp_path)
    item = old.table("main", "item")
    price = dataclasses.replace(item.columns[3], nullable=False)
    check = CheckConstraint("item_price_small", "price < 100")
    new = with_item(old, columns=item.columns[:3] + (price,) + item.columns[4:],
                    checks=item.checks + (check,))
    migrate(conn, [AlterColumn("main", "item", item.columns[3], price, ColumnChange.NULLABLE),
                   AddConstraint("main", "item", check)], old, new)
    assert inspect(conn) == new
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO item (id, price) VALUES (9, 500)")


def test_rebuild_drops_primary_key_column(tmp_path: Path) -> None:
    old = schema(Table("main", "t", columns=(col("a", nullable=False), col("b", nullable=False),
                                             col("c", "TEXT")),
                       primary_key=PrimaryKey("t_pkey", ("a", "b"))))
    conn = build(tmp_path / "db.sqlite", old)
    conn.execute("INSERT INTO t VALUES (1, 1, 'x'), (2, 1, 'y')")
    t = old.tables[0]
    new = schema(dataclasses.replace(t, columns=(t.columns[0], t.columns[2]),
                                     primary_key=PrimaryKey("t_pkey", ("a",))))
    migrate(conn, [DropConstraint("main", "t", t.primary_key), DropColumn("main", "t", t.columns[1]),
                   AddConstraint("main", "t", new.tables[0].primary_key)], old, new)
    assert inspect(conn) == new
    assert conn.execute("SELECT * FROM t ORDER BY a").fetchall() == [(1, "x"), (2, "y")]


def test_rebuild_add_foreign_key_checks_rows(tmp_path: Path) -> None:
    child = Table("main", "child", columns=(col("id", nullable=False), col("parent_id")),
                  primary_key=PrimaryKey("child_pkey", ("id",)))
    parent = Table("main", "parent", columns=(col("id", nullable=False),),
                   primary_key=PrimaryKey("parent_pkey", ("id",)))
    old = schema(child, parent)
    fk = ForeignKey("child_parent_id_fkey", ("parent_id",), "main", "parent", ("id",))
    new = schema(dataclasses.replace(child, foreign_keys=(fk,)), parent)
    conn = build(tmp_path / "db.sqlite", old)
    conn.execute("INSERT INTO parent VALUES (1)")
    conn.execute("INSERT INTO child VALUES (1, 1), (2, 99)")
    with pytest.raises(AssertionError, match="foreign key violations"):
        migrate(conn, [AddConstraint("main", "child", fk)], old, new)
    assert inspect(conn) == old  # rolled back
    conn.execute("DELETE FROM child WHERE id = 2")
    migrate(conn, [AddConstraint("main", "child", fk)], old, new)
    assert inspect(conn) == new
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute("INSERT INTO child VALUES (3, 42)")


def test_rebuild_with_renames_and_foreign_trigger(tmp_path: Path) -> None:
    """Table and column renamed while rebuilt; a trigger on another table names the table."""
    log = Table("main", "log", columns=(col("x"),), triggers=(Trigger(
        "log_copy", "CREATE TRIGGER log_copy AFTER INSERT ON log BEGIN "
        "INSERT INTO t (a) VALUES (new.x); END"),))
    t = Table("main", "t", columns=(col("a"), col("b", "TEXT")))
    old = schema(log, t)
    conn = build(tmp_path / "db.sqlite", old)
    conn.execute("INSERT INTO t VALUES (1, 'one')")
    a2 = col("a2", "TEXT", renamed_from=("a",))
    u = Table("main", "u", columns=(a2, col("b", "TEXT", nullable=False)), renamed_from=("t",))
    new = schema(log, u)
    changes: list[Change] = [RenameTable(t, u), RenameColumn("main", "u", t.columns[0], a2),
                             AlterColumn("main", "u", t.columns[1], u.columns[1], ColumnChange.NULLABLE)]
    adapted = migrate(conn, changes, old, new)
    # the rename is a step of its own; the rebuild then works under the new name
    assert adapted == [RenameTable(t, u),
                       RebuildTable(dataclasses.replace(t, name="u"), u, (("a2", "a"), ("b", "b")))]
    got = inspect(conn)
    assert [x.name for x in got.tables] == ["log", "u"]
    assert got.table("main", "u").columns[0].name == "a2"
    assert conn.execute("SELECT * FROM u").fetchall() == [("1", "one")]


def test_script_text_runs_as_is(tmp_path: Path) -> None:
    """The printed script is correct on its own (sqlite3 CLI, executescript): the FK pragmas
    sit outside any transaction, so rebuilding the parent keeps the cascading children."""
    conn, old = seeded(tmp_path)
    parent = old.table("main", "parent")
    code = dataclasses.replace(parent.columns[1], type="TEXT")
    new = dataclasses.replace(old, tables=(old.table("main", "item"),
                                           dataclasses.replace(parent, columns=(parent.columns[0], code))))
    adapted = adapt_changes([AlterColumn("main", "parent", parent.columns[1], code, ColumnChange.TYPE)],
                            old, new)
    conn.executescript(render_script([s for c in adapted for s in render_change(c)]))
    assert inspect(conn) == new
    assert len(rows(conn)) == 2
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_drop_column_read_by_star_view_rebuilds() -> None:
    t = Table("main", "t", columns=(col("a"), col("b")))
    view = View("main", "v", "SELECT * FROM t", columns=("a", "b"),
                depends_on=(Ref("table", "main", "t"),))
    old = schema(t, views=(view,))
    new_t = dataclasses.replace(t, columns=(col("a"),))
    new = schema(new_t, views=(dataclasses.replace(view, columns=("a",)),))
    adapted = adapt_changes([DropColumn("main", "t", col("b"))], old, new)
    assert adapted == [DropView(view), RebuildTable(t, new_t, (("a", "a"),)), CreateView(new.views[0])]

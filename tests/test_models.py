"""Model classes → Schema: types, nullability, defaults, enums, FKs, naming, loader errors, and
round trips against real PostgreSQL and SQLite (the database must print back what we produce)."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dfmigrate import models as api
from dfmigrate.errors import SourceError
from dfmigrate.core.schema import Enum, ForeignKey, Schema, SequenceOptions
from dfmigrate.sources.model_classes import load_model_classes, load_models, pg_object_name

HEADER = """\
from __future__ import annotations
import datetime, decimal, enum, uuid
from typing import Any, Optional
from dfmigrate.models import model, field, index, unique, check
"""


def write(tmp_path: Path, body: str, name: str = "models.py") -> str:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return str(path)


def table(schema: Schema, name: str):
    found = next((t for t in schema.tables if t.name == name), None)
    assert found is not None, [t.name for t in schema.tables]
    return found


# --- naming ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, expected", [
    ("Customer", "customers"), ("OrderItem", "order_items"), ("Person", "people"),
    ("Category", "categories"), ("OrderStatus", "order_statuses"), ("Child", "children"),
    ("UserData", "user_data"), ("Box", "boxes"), ("Knife", "knives"), ("Key", "keys"),
    ("XMLParser", "xml_parsers"), ("Leaf", "leaves"), ("UserActivity", "user_activities"),
    ("Analysis", "analyses"), ("Photo", "photos"), ("Address", "addresses"),
])
def test_dataflow_table_names(cls: str, expected: str) -> None:
    assert api.table_name_for(cls) == expected


def test_long_generated_table_name_gets_dataflow_digest_per_dialect() -> None:
    cls = "Very" * 20 + "Item"
    pg = api.table_name_for(cls, "postgresql")
    assert len(pg) == 63 and pg.startswith("very_very") and pg[-9] == "_"
    assert api.table_name_for(cls, "sqlite") == "_".join(["very"] * 20) + "_items"


def test_pluralization_matches_installed_dataflow() -> None:
    """Reads DataFlow's IRREGULAR_PLURALS without importing dataflow (seconds of import)."""
    spec = importlib.util.find_spec("dataflow")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("kailash-dataflow is not installed")
    engine = Path(next(iter(spec.submodule_search_locations))) / "core" / "engine.py"
    tree = ast.parse(engine.read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", None) == "IRREGULAR_PLURALS")
    irregular = ast.literal_eval(node.value)
    for word, plural in irregular.items():
        if "-" not in word:
            assert api.pluralize(word) == plural, word


def test_pg_object_name_truncates_like_postgresql() -> None:
    # Verified: PostgreSQL 15 named this unique constraint exactly so.
    long_table = "averyveryveryveryveryverylongtablenamethatgoesonandonandon_xyz"
    assert pg_object_name(long_table, "averyveryveryverylongcolumnname_abcdefghijkl", "key") == \
        "averyveryveryveryveryverylong_averyveryveryverylongcolumnna_key"
    assert pg_object_name("t", None, "pkey") == "t_pkey"


# --- types, nullability, defaults ------------------------------------------------------------
TYPES_MODEL = """
class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"

@model
class Everything:
    i: int
    s: str
    v: str = field(max_length=20)
    b: bool
    f: float
    d: decimal.Decimal
    n: decimal.Decimal = field(precision=10, scale=2)
    ts: datetime.datetime
    dt: datetime.date
    tm: datetime.time
    by: bytes
    u: uuid.UUID
    j: dict[str, Any]
    l: list[int]
    plain_dict: dict
    mood: Mood
    raw: str = field(db_type={"postgresql": "varchar(5)", "sqlite": "varchar( 5 )"})
"""

PG_TYPES = ["integer", "integer", "text", "character varying(20)", "boolean", "double precision",
            "numeric", "numeric(10,2)", "timestamp with time zone", "date",
            "time without time zone", "bytea", "uuid", "jsonb", "jsonb", "jsonb", "public.mood",
            "character varying(5)", "timestamp without time zone", "timestamp without time zone"]
SQLITE_TYPES = ["INTEGER", "INTEGER", "TEXT", "VARCHAR(20)", "BOOLEAN", "REAL", "NUMERIC",
                "NUMERIC(10, 2)", "TIMESTAMP", "DATE", "TIME", "BLOB", "TEXT", "TEXT", "TEXT",
                "TEXT", "TEXT", "VARCHAR(5)", "TEXT", "TEXT"]


@pytest.mark.parametrize("dialect, expected", [("postgresql", PG_TYPES), ("sqlite", SQLITE_TYPES)])
def test_type_table(tmp_path: Path, dialect: str, expected: list[str]) -> None:
    t = table(load_models(write(tmp_path, TYPES_MODEL), dialect), "everythings")
    assert [c.type for c in t.columns] == expected
    assert [c.name for c in t.columns][0] == "id"
    assert [c.name for c in t.columns][-2:] == ["created_at", "updated_at"]


def test_unsupported_type_is_one_line_source_error(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Bad:
        tags: tuple[int, int]
    """)
    with pytest.raises(SourceError, match=r"^model Bad, field tags: unsupported type"):
        load_models(path, "postgresql")


def test_nullability(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Thing:
        a: int
        b: Optional[int]
        c: int | None
        d: int = None
        e: Optional[int] = field(nullable=False, default=1)
        f: str = field(nullable=True)
    """)
    t = table(load_models(path, "postgresql"), "things")
    assert {c.name: c.nullable for c in t.columns} == {
        "id": False, "a": False, "b": True, "c": True, "d": True, "e": False, "f": True,
        "created_at": True, "updated_at": True}


DEFAULTS_MODEL = """
class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"

UTC = datetime.timezone.utc

@model
class Defaults:  # DataFlow would call it "defaultses"
    __tablename__ = "defaults"
    __timestamps__ = False
    i0: int = 0
    i1: int = -1
    i2: int = 3000000000
    t0: str = "abc"
    t1: str = "it's a \\\\ test"
    t2: str = ""
    v0: str = field(default="abc", max_length=10)
    bo: bool = True
    bf: bool = False
    f0: float = 1.5
    f1: float = -1.5
    f2: float = 2.0
    f3: float = 1e100
    f4: float = 1e-7
    f5: float = float("inf")
    n0: decimal.Decimal = decimal.Decimal("1.50")
    n1: decimal.Decimal = field(default=decimal.Decimal("3"), precision=10, scale=2)
    n2: decimal.Decimal = decimal.Decimal("-1.5")
    j0: dict = {}
    j1: list = []
    j2: dict[str, Any] = {"bb": 1, "a": [1, 2.5, "é"], "ccc": {"z": None}}
    d0: datetime.date = datetime.date(2020, 1, 2)
    ts: datetime.datetime = datetime.datetime(2020, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    tm: datetime.time = datetime.time(12, 30)
    u0: uuid.UUID = uuid.UUID(int=0)
    by: bytes = b"\\x01\\x02"
    e0: Mood = Mood.SAD
    nw: datetime.datetime = field(default_sql="now()")
    ct: datetime.datetime = field(default_sql="CURRENT_TIMESTAMP")
    cb: datetime.datetime = field(default=datetime.datetime.now)
"""

PG_DEFAULTS = {
    "i0": "0", "i1": "'-1'::integer", "i2": "'3000000000'::bigint", "t0": "'abc'::text",
    "t1": "'it''s a \\ test'::text", "t2": "''::text", "v0": "'abc'::character varying",
    "bo": "true", "bf": "false", "f0": "1.5", "f1": "'-1.5'::numeric", "f2": "2.0",
    "f3": "'1" + "0" * 100 + "'::numeric", "f4": "0.0000001", "f5": "'Infinity'::double precision",
    "n0": "1.50", "n1": "3", "n2": "'-1.5'::numeric", "j0": "'{}'::jsonb", "j1": "'[]'::jsonb",
    "j2": """'{"a": [1, 2.5, "é"], "bb": 1, "ccc": {"z": null}}'::jsonb""",
    "d0": "'2020-01-02'::date", "ts": "'2020-01-02 03:04:05.5+00'::timestamp with time zone",
    "tm": "'12:30:00'::time without time zone",
    "u0": "'00000000-0000-0000-0000-000000000000'::uuid", "by": "'\\x0102'::bytea",
    "e0": "'sad'::public.mood", "nw": "now()", "ct": "CURRENT_TIMESTAMP", "cb": None,
}


def test_postgres_default_spellings(tmp_path: Path) -> None:
    t = table(load_models(write(tmp_path, DEFAULTS_MODEL), "postgresql"), "defaults")
    assert {c.name: c.default for c in t.columns if c.name != "id"} == PG_DEFAULTS


def test_postgres_prints_every_default_back_unchanged(tmp_path: Path, pg_db: Callable[..., str]) -> None:
    """The spellings are fixpoints: CREATE TABLE with them, pg_get_expr() returns them."""
    schema = load_models(write(tmp_path, DEFAULTS_MODEL), "postgresql")
    t = table(schema, "defaults")
    cols = ", ".join(f"{c.name} {c.type}" + (f" DEFAULT {c.default}" if c.default else "")
                     for c in t.columns if c.name != "id")
    ddl = f"CREATE TYPE public.mood AS ENUM ('happy', 'sad'); CREATE TABLE public.defaults ({cols})"
    rows = asyncio.run(_pg_defaults(pg_db("models_defaults"), ddl))
    assert rows == {c.name: c.default for c in t.columns if c.name != "id"}


async def _pg_defaults(url: str, ddl: str) -> dict[str, str | None]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ddl)
        await conn.execute("SET search_path = ''")
        rows = await conn.fetch(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attribute a"
            " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = 'public.defaults'::regclass AND a.attnum > 0 ORDER BY a.attnum")
    finally:
        await conn.close()
    return {r["attname"]: r["expr"] for r in rows}


def test_sqlite_default_spellings(tmp_path: Path) -> None:
    body = DEFAULTS_MODEL.replace('    f5: float = float("inf")\n', "")
    t = table(load_models(write(tmp_path, body), "sqlite"), "defaults")
    got = {c.name: c.default for c in t.columns}
    assert got["i1"] == "-1" and got["t1"] == "'it''s a \\ test'" and got["bo"] == "1"
    assert got["f2"] == "2.0" and got["by"] == "X'0102'" and got["e0"] == "'sad'"
    assert got["j2"] == """'{"bb": 1, "a": [1, 2.5, "é"], "ccc": {"z": null}}'"""
    assert got["ct"] == "CURRENT_TIMESTAMP" and got["cb"] is None


# --- conventions -----------------------------------------------------------------------------
def test_implicit_id_and_timestamps_follow_dataflow(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Customer:
        name: str
    """)
    pg = table(load_models(path, "postgresql"), "customers")
    ident = pg.columns[0]
    assert (ident.name, ident.type, ident.identity, ident.nullable) == ("id", "integer", "BY DEFAULT", False)
    assert ident.identity_options == SequenceOptions("integer", None, 1, None, None, 1, False)
    assert pg.primary_key is not None and pg.primary_key.name == "customers_pkey"
    created = pg.column("created_at")
    assert created is not None
    assert (created.type, created.default, created.nullable) == (
        "timestamp without time zone", "CURRENT_TIMESTAMP", True)
    lite = table(load_models(path, "sqlite"), "customers")
    rowid = lite.columns[0]
    assert (rowid.type, rowid.identity, rowid.autoincrement, rowid.nullable) == ("INTEGER", None, False, False)
    assert lite.column("updated_at") == created.__class__("updated_at", "TEXT", True, "CURRENT_TIMESTAMP")


def test_declared_keys_and_options(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Tag:
        __tablename__ = "labels"
        __timestamps__ = False
        __renamed_from__ = "old_tags"
        id: str
        text: str = field(renamed_from="label", comment="shown to users")

    @model(table="pairs")
    class Pair:
        a: int = field(primary_key=True)
        b: int = field(primary_key=True)

    @model
    class Code:
        code: int = field(primary_key=True, identity=False)
    """)
    schema = load_models(path, "postgresql")
    labels = table(schema, "labels")
    assert [c.name for c in labels.columns] == ["id", "text"]
    assert (labels.columns[0].type, labels.columns[0].identity) == ("text", None)
    assert labels.renamed_from == ("old_tags",)
    assert labels.columns[1].renamed_from == ("label",) and labels.columns[1].comment == "shown to users"
    pairs = table(schema, "pairs")
    assert pairs.primary_key.columns == ("a", "b") and all(c.identity is None for c in pairs.columns)
    codes = table(schema, "codes")
    assert codes.primary_key.columns == ("code",) and codes.columns[0].identity is None


def test_model_info_for_the_node_generator(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Customer:
        name: str
        age: int = 0
        nick: Optional[str] = None
    """)
    [info] = load_model_classes(path)
    assert info.name == "Customer" and info.table == "customers" and info.cls.__name__ == "Customer"
    f = {x.name: x for x in info.fields}
    assert f["id"].generated and f["id"].primary_key and f["id"].implicit and f["id"].python_type is int
    assert not f["name"].has_default and f["name"].default is api.MISSING
    assert f["age"].has_default and f["age"].default == 0 and not f["age"].nullable
    assert f["nick"].nullable and f["nick"].python_type is str
    assert f["created_at"].generated and f["created_at"].has_default


# --- enums, constraints, indexes, references -------------------------------------------------
ENUM_MODEL = """
class OrderStatus(enum.Enum):
    NEW = "new"
    PAID = "paid"

@model
class Order:
    status: OrderStatus = OrderStatus.NEW

@model
class Shipment:
    status: Optional[OrderStatus] = None
"""


def test_enum_on_postgres_is_one_type(tmp_path: Path) -> None:
    schema = load_models(write(tmp_path, ENUM_MODEL), "postgresql")
    assert schema.enums == (Enum("public", "order_status", ("new", "paid")),)
    assert table(schema, "orders").column("status").type == "public.order_status"


def test_enum_on_sqlite_is_text_with_check(tmp_path: Path) -> None:
    t = table(load_models(write(tmp_path, ENUM_MODEL), "sqlite"), "orders")
    assert t.column("status").type == "TEXT"
    assert [(c.name, c.expression) for c in t.checks] == [
        ("orders_status_check", "status IN ('new', 'paid')")]


def test_constraints_and_indexes(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class Product:
        sku: str = field(unique=True)
        price: decimal.Decimal = field(check="price > 0", index=True)
        cost: decimal.Decimal
        __indexes__ = [index("sku", "price", unique=True), index("lower(sku)", where="cost > 0"),
                       index("cost", name="by_cost")]
        __constraints__ = [unique("price", "cost"), check("price > cost"), check("cost >= 0"),
                           check("(cost < 100)", name="cheap")]
    """)
    t = table(load_models(path, "postgresql"), "products")
    assert [(u.name, u.columns) for u in t.uniques] == [
        ("products_price_cost_key", ("price", "cost")), ("products_sku_key", ("sku",))]
    assert [(c.name, c.expression) for c in t.checks] == [
        ("cheap", "(cost < 100)"), ("products_check", "(price > cost)"),
        ("products_cost_check", "(cost >= 0)"), ("products_price_check", "(price > 0)")]
    assert [(i.name, i.unique, i.where) for i in t.indexes] == [
        ("by_cost", False, None), ("products_lower_idx", False, "(cost > 0)"),
        ("products_price_idx", False, None), ("products_sku_price_idx", True, None)]


def test_references_by_table_class_and_namespace(tmp_path: Path) -> None:
    path = write(tmp_path, """
    @model
    class User:
        name: str

    @model
    class Post:
        author_id: int = field(references="users.id", on_delete="cascade")
        editor_id: Optional[int] = field(references="User.id", on_delete="set_null", on_update="restrict")
        reviewer_id: Optional[int] = field(references="public.users.id")
    """)
    fks = table(load_models(path, "postgresql"), "posts").foreign_keys
    assert fks == (
        ForeignKey("posts_author_id_fkey", ("author_id",), "public", "users", ("id",), on_delete="CASCADE"),
        ForeignKey("posts_editor_id_fkey", ("editor_id",), "public", "users", ("id",),
                   on_delete="SET NULL", on_update="RESTRICT"),
        ForeignKey("posts_reviewer_id_fkey", ("reviewer_id",), "public", "users", ("id",)),
    )


@pytest.mark.parametrize("ref, message", [
    ("nobody.id", "references unknown model or table 'nobody'"),
    ("users.nope", "references unknown column users.nope"),
    ("users", "is not table.column"),
])
def test_bad_reference(tmp_path: Path, ref: str, message: str) -> None:
    path = write(tmp_path, f"""
    @model
    class User:
        name: str

    @model
    class Post:
        author_id: int = field(references={ref!r})
    """)
    with pytest.raises(SourceError, match=message):
        load_models(path, "postgresql")


# --- loader ----------------------------------------------------------------------------------
def test_loader_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such models file"):
        load_models(str(tmp_path / "absent.py"), "postgresql")
    bad = tmp_path / "syntax.py"
    bad.write_text("x = 1\ndef (:\n")
    with pytest.raises(SourceError, match=r"syntax\.py:2: SyntaxError: invalid syntax"):
        load_models(str(bad), "postgresql")
    boom = write(tmp_path, "\n\nraise RuntimeError('boom')\n", "boom.py")
    with pytest.raises(SourceError, match=r"boom\.py:7: RuntimeError: boom$"):
        load_models(boom, "postgresql")
    empty = write(tmp_path, "x = 1\n", "empty.py")
    with pytest.raises(SourceError, match="no @model classes found"):
        load_models(empty, "postgresql")
    with pytest.raises(SourceError, match="cannot import module"):
        load_models("models:no_such_package_xyz.models", "postgresql")


def test_each_load_collects_its_own_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path, "@model\nclass Alpha:\n    a: int\n", "first.py")
    second = write(tmp_path, "@model\nclass Beta:\n    b: int\n", "second.py")
    before = list(api.default_registry().models)
    assert [t.name for t in load_models(first, "sqlite").tables] == ["alphas"]
    assert [t.name for t in load_models(second, "sqlite").tables] == ["betas"]
    assert [t.name for t in load_models(first, "sqlite").tables] == ["alphas"]  # runs again
    assert api.default_registry().models == before
    # models:package.module, with a model defined in a module it imports
    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text(HEADER + "@model\nclass Store:\n    name: str\n")
    (pkg / "models.py").write_text(HEADER + "from shop.base import Store\n"
                                   "@model\nclass Item:\n    store_id: int = field(references='Store.id')\n")
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second import is served from sys.modules: models are still found
        assert [t.name for t in load_models("models:shop.models", "postgresql").tables] == ["items", "stores"]


# --- round trips against the real databases --------------------------------------------------
SHOP_MODELS = """
class Status(enum.Enum):
    ACTIVE = "active"
    CLOSED = "closed"

@model
class Customer:
    email: str = field(unique=True, max_length=200)
    name: str
    status: Status = Status.ACTIVE
    credit: decimal.Decimal = field(default=decimal.Decimal("0.00"), precision=12, scale=2)
    prefs: dict[str, Any] = {}

@model
class OrderItem:
    customer_id: int = field(references="Customer.id", on_delete="cascade", index=True)
    qty: int = field(default=1, check="qty > 0")
    note: Optional[str] = None
"""

SHOP_PG_DDL = """
CREATE TYPE public.status AS ENUM ('active', 'closed');
CREATE TABLE public.customers (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email varchar(200) NOT NULL UNIQUE,
    name text NOT NULL,
    status public.status NOT NULL DEFAULT 'active',
    credit numeric(12, 2) NOT NULL DEFAULT 0.00,
    prefs jsonb NOT NULL DEFAULT '{}',
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE public.order_items (
    id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    qty integer NOT NULL DEFAULT 1 CHECK (qty > 0),
    note text,
    created_at timestamp DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX ON public.order_items (customer_id);
"""

SHOP_SQLITE_DDL = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email VARCHAR(200) NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    credit NUMERIC(12, 2) NOT NULL DEFAULT 0.00,
    prefs TEXT NOT NULL DEFAULT '{}',
    created_at TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    qty INTEGER NOT NULL DEFAULT 1 CHECK (qty > 0),
    note TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX order_items_customer_id_idx ON order_items (customer_id);
"""


def test_models_equal_hand_written_postgres_ddl(tmp_path: Path, pg_db: Callable[..., str]) -> None:
    from dfmigrate.sources.postgres import inspect_postgres

    url = pg_db("models_shop")
    asyncio.run(_execute(url, SHOP_PG_DDL))
    live = asyncio.run(inspect_postgres(url))
    assert load_models(write(tmp_path, SHOP_MODELS), "postgresql") == live


def test_models_equal_hand_written_sqlite_ddl(tmp_path: Path) -> None:
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SHOP_SQLITE_DDL)
        live = inspect_sqlite_connection(conn)
    finally:
        conn.close()
    # SQLite keeps what the DDL declares (unnamed constraints, no NOT NULL on the rowid alias);
    # the models name them as PostgreSQL would: the same schema to the diff, both ways.
    from dfmigrate.diff import diff_schemas

    models = load_models(write(tmp_path, SHOP_MODELS), "sqlite")
    assert diff_schemas(models, live) == [] and diff_schemas(live, models) == []


def test_models_created_by_the_pipeline_read_back_equal(tmp_path: Path, pg_db: Callable[..., str]) -> None:
    """models → plan from an empty database → apply → introspect: nothing left to change."""
    from dfmigrate.diff import diff_schemas
    from dfmigrate.core.engine import plan_migration
    from dfmigrate.sources.postgres import inspect_postgres

    models = load_models(write(tmp_path, SHOP_MODELS + TYPES_MODEL), "postgresql")
    plan = plan_migration(Schema("postgresql", namespaces=("public",)), models)
    url = pg_db("models_pipeline")
    asyncio.run(_execute(url, plan.sql()))
    live = asyncio.run(inspect_postgres(url))
    assert diff_schemas(live, models) == []
    assert live == models


async def _execute(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_models_for_every_dialect_run_the_file_once(tmp_path: Path) -> None:
    from dfmigrate.sources.model_classes import load_models_for, load_models_with_backfills

    runs = tmp_path / "runs"
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from dfmigrate import field, model
        with Path({str(runs)!r}).open("a") as fh:
            fh.write("x")

        @model
        class Item:
            name: str = field(max_length=20, backfill="'?'")
    """))
    both = load_models_for(str(path), ["sqlite", "postgresql"])
    assert runs.read_text() == "x"
    for dialect in ("sqlite", "postgresql"):
        assert both[dialect] == load_models_with_backfills(str(path), dialect)  # type: ignore[arg-type]
    assert both["postgresql"][0] != both["sqlite"][0]

"""Property tests on real databases: for random valid schema pairs (A, B) (tests/strategies.py),
a database created from empty holds exactly A, the plan A → B run on it gives exactly B, and the
next plan is empty. On PostgreSQL and on SQLite.

Plus the acceptance point of issue 2: models written against the public API (below, independent of
the repository's examples) converge an empty SQLite and an empty PostgreSQL database, a second
diff is empty, and one model version migrates to the next.

Speed: one PostgreSQL database per test function, with ``public`` dropped and recreated between
examples; one SQLite file per example (creating one costs nothing).
"""

from __future__ import annotations

import asyncio
import itertools
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from dfmigrate.core.engine import Plan, plan_migration
from dfmigrate.core.schema import Schema
from dfmigrate.sources.model_classes import load_models
from tests.converge_util import (
    EMPTY_PG,
    EMPTY_SQLITE,
    assert_converged,
    first_difference,
    pg_apply,
    pg_connect,
    pg_inspect,
    pg_reset_public,
    sqlite_apply,
    sqlite_connect,
    sqlite_converge,
)
from dfmigrate.sources.sqlite import inspect_sqlite_connection
from tests.strategies import schema_pairs

pytestmark = pytest.mark.slow

PROPERTY_SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    derandomize=False,
    print_blob=True,
)


def _ir_mismatch(label: str, actual: Schema, expected: Schema, plan_sql: str) -> str:
    from dfmigrate.diff import diff_schemas

    return (f"{label}: re-introspected schema differs from the intended one\n"
            f"first difference: {first_difference(actual, expected)}\n"
            f"diff(actual → expected): {diff_schemas(actual, expected)!r}\n"
            f"actual:   {actual!r}\nexpected: {expected!r}\n--- plan:\n{plan_sql or '(empty)'}")


def _columns_by_name(schema: Schema) -> Schema:
    """The schema with each table's columns sorted by name. ADD COLUMN appends (on both
    dialects), and the diff does not reorder columns (the corpus scorer's primary mode ignores
    column order too), so after A → B a column that B declares before existing ones comes last.
    Everything else must match exactly."""
    return replace(schema, tables=tuple(
        replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name))) for t in schema.tables))


def _assert_reached(label: str, actual: Schema, expected: Schema, plan: Plan, strict_order: bool) -> None:
    if strict_order:
        ok = actual == expected
    else:
        ok = _columns_by_name(actual) == _columns_by_name(expected)
    assert ok, _ir_mismatch(label, actual, expected, plan.sql())


def _plan(old: Schema, new: Schema) -> Plan:
    return plan_migration(old, new)


# ---------------------------------------------------------------- PostgreSQL


async def _pg_property(conn: Any, a: Schema, b: Schema) -> None:
    await pg_reset_public(conn)
    create = plan_migration(EMPTY_PG, a)
    await pg_apply(conn, create)
    a_db = await pg_inspect(conn)
    _assert_reached("A from empty", a_db, a, create, strict_order=True)
    migrate = plan_migration(a_db, b)
    await pg_apply(conn, migrate)
    b_db = await pg_inspect(conn)
    _assert_reached("A → B", b_db, b, migrate, strict_order=False)
    assert_converged(b_db, b, migrate)


def test_postgres_pairs_converge(pg_db: Any) -> None:
    url = pg_db("props")

    @settings(max_examples=40, **PROPERTY_SETTINGS)  # type: ignore[arg-type]
    @given(pair=schema_pairs("postgresql", views=True))
    def check(pair: tuple[Schema, Schema]) -> None:
        async def go() -> None:
            conn = await pg_connect(url)
            try:
                await _pg_property(conn, *pair)
            finally:
                await conn.close()

        asyncio.run(go())

    check()


# ---------------------------------------------------------------- SQLite


def test_sqlite_pairs_converge(tmp_path: Path) -> None:
    counter = itertools.count()

    @settings(max_examples=60, **PROPERTY_SETTINGS)  # type: ignore[arg-type]
    @given(pair=schema_pairs("sqlite"))
    def check(pair: tuple[Schema, Schema]) -> None:
        a, b = pair
        conn = sqlite_connect(str(tmp_path / f"prop{next(counter)}.db"))
        try:
            create = plan_migration(EMPTY_SQLITE, a)
            sqlite_apply(conn, create)
            a_db = inspect_sqlite_connection(conn)
            _assert_reached("A from empty", a_db, a, create, strict_order=True)
            migrate = _plan(a_db, b)
            sqlite_apply(conn, migrate)
            b_db = inspect_sqlite_connection(conn)
            _assert_reached("A → B", b_db, b, migrate, strict_order=False)
            assert_converged(b_db, b, migrate)
        finally:
            conn.close()

    check()


# ---------------------------------------------------------------- models → empty databases

MODELS_HEADER = """\
from __future__ import annotations

import datetime
import enum
import uuid
from decimal import Decimal
from typing import Any, Optional

from dfmigrate import check, field, index, model, unique
"""

# Every supported annotation, nullable and not, with defaults of every kind; FKs with actions;
# unique/index/check on fields and at table level; __tablename__, __timestamps__, composite key.
SHOP_V1 = """
class Tier(enum.Enum):
    FREE = "free"
    PRO = "pro"
    IT_S = "it's"


@model
class Account:
    handle: str = field(max_length=40, unique=True)
    display: str = "it's me"
    bio: Optional[str] = None
    active: bool = True
    verified: bool = False
    karma: int = field(default=0, check="karma >= 0")
    debt: int = -1
    rating: float = 1.5
    weight: Optional[float] = None
    balance: Decimal = field(default=Decimal("0.00"), precision=12, scale=2)
    ratio: Optional[Decimal] = field(precision=5, scale=4)
    joined_at: datetime.datetime = field(default_sql="now()")
    born_on: Optional[datetime.date] = datetime.date(2000, 1, 2)
    wakes_at: datetime.time = datetime.time(7, 30)
    avatar: Optional[bytes] = b"\\x00\\x01"
    token: uuid.UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
    settings: dict[str, Any] = {}
    tags: list[str] = []
    tier: Tier = Tier.FREE
    last_tier: Optional[Tier] = None

    __indexes__ = [index("active", "karma"), index("lower(display)", name="account_display_ci")]


@model
class Post:
    account_id: int = field(references="Account.id", on_delete="cascade", index=True)
    editor_id: Optional[int] = field(references="accounts.id", on_delete="set null")
    title: str = field(max_length=200)
    body: str = ""
    score: int = field(default=0, check="score >= 0")
    published: Optional[datetime.datetime] = None

    __constraints__ = [unique("account_id", "title"), check("score < 1000000")]


@model
class Membership:
    __tablename__ = "memberships"
    __timestamps__ = False

    account_id: int = field(primary_key=True, references="Account.id", on_delete="restrict")
    post_id: int = field(primary_key=True, references="Post.id", on_delete="cascade", on_update="cascade")
    role: str = field(default="reader", max_length=20)
    since: datetime.date = field(default_sql="CURRENT_DATE")
"""

# The next version: a table dropped, one added, columns added/dropped/retyped, nullability,
# defaults, an enum value appended, constraints and indexes changed.
SHOP_V2 = """
class Tier(enum.Enum):
    FREE = "free"
    PRO = "pro"
    IT_S = "it's"
    TEAM = "team"


@model
class Account:
    handle: str = field(max_length=60, unique=True)
    display: str = "anonymous"
    bio: str = ""
    active: bool = True
    karma: int = field(default=0, check="karma >= 0")
    rating: float = 1.5
    balance: Decimal = field(default=Decimal("0.00"), precision=12, scale=2)
    joined_at: datetime.datetime = field(default_sql="now()")
    born_on: Optional[datetime.date] = None
    token: uuid.UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
    settings: dict[str, Any] = {"theme": "dark"}
    tags: list[str] = []
    tier: Tier = Tier.PRO
    country: Optional[str] = field(max_length=2, index=True)

    __indexes__ = [index("active", "karma", where="karma > 0")]


@model
class Post:
    account_id: int = field(references="Account.id", on_delete="cascade", index=True)
    title: str = field(max_length=200)
    body: Optional[str] = None
    score: int = field(default=0)
    published: Optional[datetime.datetime] = None
    views: int = 0

    __constraints__ = [unique("account_id", "title")]


@model
class Comment:
    post_id: int = field(references="Post.id", on_delete="cascade")
    author_id: Optional[int] = field(references="Account.id", on_delete="set null")
    text: str
    flagged: bool = False
"""

# Self-reference, a str key filled by the application, an explicit identity-less integer key.
TREE = """
@model
class Category:
    id: str = field(primary_key=True, max_length=36)
    parent_id: Optional[str] = field(references="categories.id", on_delete="cascade", index=True)
    name: str = field(check="length(name) > 0")
    position: int = 0

    __constraints__ = [unique("parent_id", "name")]


@model
class Counter:
    __timestamps__ = False

    id: int = field(primary_key=True, identity=False)
    value: int = field(default=0, index=True)
    note: Optional[str] = None
"""

MODELS = {"shop": SHOP_V1, "shop_v2": SHOP_V2, "tree": TREE}
DIALECTS = ("sqlite", "postgresql")


def _write_models(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}_models.py"
    path.write_text(MODELS_HEADER + textwrap.dedent(MODELS[name]))
    return str(path)


def _models_target(tmp_path: Path, name: str, dialect: str) -> Schema:
    return load_models(_write_models(tmp_path, name), dialect)  # type: ignore[arg-type]


def test_models_cover_every_supported_type(tmp_path: Path) -> None:
    """Guards the models above: every type of docs/models.md's table appears in them."""
    schema = _models_target(tmp_path, "shop", "postgresql")
    types = {c.type for t in schema.tables for c in t.columns}
    assert {"integer", "text", "character varying(40)", "boolean", "double precision", "numeric(12,2)",
            "timestamp with time zone", "date", "time without time zone", "bytea", "uuid", "jsonb",
            "public.tier"} <= types
    enums = {e.name: e.labels for e in schema.enums}
    assert enums == {"tier": ("free", "pro", "it's")}
    accounts = next(t for t in schema.tables if t.name == "accounts")
    assert accounts.column("bio").nullable and not accounts.column("handle").nullable
    fk_actions = {(fk.name, fk.on_delete) for t in schema.tables for fk in t.foreign_keys}
    assert {a for _, a in fk_actions} == {"CASCADE", "SET NULL", "RESTRICT"}


def _converge_models_pg(url: str, steps: list[Schema]) -> None:
    async def go() -> None:
        conn = await pg_connect(url)
        try:
            for target in steps:
                before = await pg_inspect(conn)
                plan = plan_migration(before, target)
                assert plan.statements, "a models step with something to do planned nothing"
                await pg_apply(conn, plan)
                assert_converged(await pg_inspect(conn), target, plan)
        finally:
            await conn.close()

    asyncio.run(go())


def _converge_models_sqlite(path: str, steps: list[Schema]) -> None:
    conn = sqlite_connect(path)
    try:
        for target in steps:
            plan = plan_migration(inspect_sqlite_connection(conn), target)
            assert plan.statements, "a models step with something to do planned nothing"
            sqlite_apply(conn, plan)
            assert_converged(inspect_sqlite_connection(conn), target, plan)
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["shop", "tree"])
def test_models_converge_empty_sqlite(tmp_path: Path, name: str) -> None:
    _converge_models_sqlite(str(tmp_path / "m.db"), [_models_target(tmp_path, name, "sqlite")])


@pytest.mark.parametrize("name", ["shop", "tree"])
def test_models_converge_empty_postgres(pg_db: Any, tmp_path: Path, name: str) -> None:
    _converge_models_pg(pg_db(f"models_{name}"), [_models_target(tmp_path, name, "postgresql")])


@pytest.mark.parametrize(("start", "end"), [("shop", "shop_v2"), ("shop_v2", "shop")])
def test_models_next_version_converges_sqlite(tmp_path: Path, start: str, end: str) -> None:
    steps = [_models_target(tmp_path, n, "sqlite") for n in (start, end)]
    _converge_models_sqlite(str(tmp_path / "m.db"), steps)


@pytest.mark.parametrize(("start", "end"), [("shop", "shop_v2"), ("shop_v2", "shop")])
def test_models_next_version_converges_postgres(pg_db: Any, tmp_path: Path, start: str, end: str) -> None:
    steps = [_models_target(tmp_path, n, "postgresql") for n in (start, end)]
    _converge_models_pg(pg_db("models_v2"), steps)


# ---------------------------------------------------------------- known bugs and regressions


def _sqlite_table(name: str, *columns: Any, fks: tuple[Any, ...] = ()) -> Any:
    from dfmigrate.core.schema import Column, PrimaryKey, Table

    return Table("main", name, columns=(Column("id", "INTEGER", nullable=False), *columns),
                 primary_key=PrimaryKey(f"{name}_pkey", ("id",)), foreign_keys=fks)


def test_sqlite_rebuilds_of_parent_and_child_do_not_form_a_cycle() -> None:
    """Regression: a parent rebuilt for a non-constant default and a child whose FK column is
    replaced used to make planning raise a dependency cycle."""
    from dfmigrate.core.schema import Column, ForeignKey

    def fk(col: str) -> ForeignKey:
        return ForeignKey(f"c_{col}_fkey", (col,), "main", "p", ("id",))

    old = replace(EMPTY_SQLITE, tables=(_sqlite_table("c", Column("a", "INTEGER"), fks=(fk("a"),)),
                                        _sqlite_table("p")))
    new = replace(EMPTY_SQLITE, tables=(
        _sqlite_table("c", Column("b", "INTEGER", nullable=False), fks=(fk("b"),)),
        _sqlite_table("p", Column("ts", "TEXT", default="CURRENT_TIMESTAMP"))))
    rebuilt = {s.source.new.name for s in plan_migration(old, new).statements
               if type(s.source).__name__ == "RebuildTable"}
    assert rebuilt == {"c", "p"}


@pytest.mark.parametrize("parent", ["a", "z"])  # drops are ordered by name: parent first, then last
def test_sqlite_drops_parent_and_child_holding_rows(tmp_path: Path, parent: str) -> None:
    """Found by the SQLite property: the diff's DropConstraint for a dropped table's foreign key
    had no SQLite rendering, and DROP TABLE of a parent still referenced by rows of a child
    dropped in the same plan failed ("FOREIGN KEY constraint failed")."""
    conn = sqlite_connect(str(tmp_path / "drop.db"))
    try:
        conn.executescript(
            f"CREATE TABLE {parent} (id INTEGER NOT NULL, CONSTRAINT {parent}_pkey PRIMARY KEY (id));"
            f"CREATE TABLE b (id INTEGER NOT NULL, pid INTEGER, CONSTRAINT b_pkey PRIMARY KEY (id),"
            f" CONSTRAINT b_pid_fkey FOREIGN KEY (pid) REFERENCES {parent} (id));"
            f"INSERT INTO {parent} VALUES (1); INSERT INTO b VALUES (1, 1);")
        sqlite_converge(conn, EMPTY_SQLITE)
    finally:
        conn.close()


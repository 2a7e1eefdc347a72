"""Generated Kailash nodes on real SQLite, PostgreSQL and MySQL (MariaDB) databases, inside real
workflows.

The schema is created the way a user would: models → ``plan_migration(empty, models)`` → execute.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.core.engine import plan_migration
from dfmigrate.core.schema import Schema
from dfmigrate.sources.model_classes import load_models

from kailash.nodes.base import NodeRegistry
from kailash.runtime.local import LocalRuntime
from kailash.workflow.builder import WorkflowBuilder

from dfmigrate.nodes import (
    ConstraintViolationError, SchemaMismatchError, WorkflowFailedError, generate_nodes, manifest,
    run_workflow, run_workflow_async,
)

# Written independently of the repo's own examples: a str key, an enum, money, JSON, a date.
MODELS = '''
from __future__ import annotations
import datetime, enum
from decimal import Decimal
from typing import Any, Optional
from dfmigrate import model, field

class Tier(enum.Enum):
    FREE = "free"
    PRO = "pro"

@model
class Member:
    email: str = field(unique=True, max_length=120)
    name: str
    tier: Tier = Tier.FREE
    balance: Decimal = field(default=Decimal("0.00"), precision=12, scale=2)
    tags: list[str] = []
    joined: Optional[datetime.date] = None
    last_seen: Optional[datetime.datetime] = None
    active: bool = True

@model
class Product:
    sku: str = field(primary_key=True, max_length=40)  # MySQL keys no TEXT column without a length
    title: str
    qty: int = 0
    __timestamps__ = False
'''

NINE = ("Create", "Read", "Update", "Delete", "List", "BulkCreate", "BulkUpdate", "BulkDelete", "BulkUpsert")


def _models_file(tmp_path: Path, body: str = MODELS) -> str:
    path = tmp_path / "members_models.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def _empty(dialect: str) -> Schema:
    if dialect == "postgresql":
        return Schema("postgresql", namespaces=("public",))
    if dialect == "mysql":
        return Schema("mysql", namespaces=("main",))
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    conn = sqlite3.connect(":memory:")
    try:
        return inspect_sqlite_connection(conn)
    finally:
        conn.close()


async def _pg_exec(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_fetch(url: str, sql: str) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _mysql(url: str, sql: str) -> list[dict[str, Any]]:
    from dfmigrate.dialects.mysql.connect import connect

    conn = await connect(url, scripts=True)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row)) for row in await cur.fetchall()]
    finally:
        conn.close()


def execute_sql(url: str, sql: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_pg_exec(url, sql))
    elif url.startswith("mysql"):
        asyncio.run(_mysql(url, sql))
    else:
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            conn.executescript(sql)
        finally:
            conn.close()


def query(url: str, sql: str) -> list[dict[str, Any]]:
    if url.startswith("postgresql"):
        return asyncio.run(_pg_fetch(url, sql))
    if url.startswith("mysql"):
        return asyncio.run(_mysql(url, sql))
    conn = sqlite3.connect(url[len("sqlite:///"):])
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(models file, database URL) with the models' schema created through the plan."""
    dialect = request.param
    spec = _models_file(tmp_path)
    if dialect == "postgresql":
        url = request.getfixturevalue("pg_db")("nodes")
    elif dialect == "mysql":
        url = request.getfixturevalue("mysql_db")("nodes")
    else:
        url = "sqlite:///" + request.getfixturevalue("sqlite_path")
    plan = plan_migration(_empty(dialect), load_models(spec, dialect))  # type: ignore[arg-type]
    execute_sql(url, plan.sql())
    return spec, url


# --- generation --------------------------------------------------------------------------------
def test_classes_are_registered_async_nodes_with_model_typed_parameters(database: tuple[str, str]) -> None:
    from kailash.nodes.base_async import AsyncNode

    spec, url = database
    nodes = generate_nodes(spec, url)
    for model in ("Member", "Product"):
        for op in (*NINE, "Count"):
            name = f"{model}{op}Node"
            assert issubclass(nodes[name], AsyncNode)
            assert NodeRegistry.get(name) is nodes[name]
    params = nodes["MemberCreateNode"]().get_parameters()
    assert set(params) == {"email", "name", "tier", "balance", "tags", "joined", "last_seen", "active"}  # no id/timestamps
    assert params["email"].required and params["name"].required
    assert not params["tier"].required and not params["joined"].required
    assert params["email"].type is str and params["active"].type is bool and params["tags"].type is list
    assert nodes["ProductReadNode"]().get_parameters()["id"].type is str  # the key's type
    assert nodes["MemberReadNode"]().get_parameters()["id"].type is int


def test_manifest_lists_the_nodes_with_parameters(tmp_path: Path) -> None:
    from dfmigrate.nodes.generate import build_classes, load

    infos, schema = load(_models_file(tmp_path), "postgresql")
    data = manifest(build_classes(infos, schema, "postgresql"))
    by_name = {m["node"]: m for m in data}
    assert len(data) == 2 * 11
    create = by_name["MemberCreateNode"]
    assert create["table"] == "public.members" and create["operation"] == "Create"
    email = next(p for p in create["parameters"] if p["name"] == "email")
    tier = next(p for p in create["parameters"] if p["name"] == "tier")
    assert email == {"name": "email", "type": "str", "required": True}
    assert tier["type"] == "Tier" and tier["default"] == "free" and not tier["required"]
    upsert = by_name["ProductBulkUpsertNode"]
    assert [p["name"] for p in upsert["parameters"]] == ["data", "batch_size", "conflict_on"]
    single = by_name["MemberUpsertNode"]  # DataFlow's UpsertNode parameters
    assert [(p["name"], p["required"]) for p in single["parameters"]] == [
        ("where", True), ("update", False), ("create", False), ("conflict_on", False)]
    json.dumps(data)  # the CLI prints it as is


def test_cli_nodes_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dfmigrate.nodes.cli import nodes

    spec = _models_file(tmp_path)
    result = CliRunner().invoke(nodes, ["--models", spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {m["node"] for m in json.loads(result.output)["nodes"]} >= {f"Member{op}Node" for op in NINE}
    text = CliRunner().invoke(nodes, ["--models", spec])
    assert text.exit_code == 0 and "ProductBulkUpsertNode (products)" in text.output
    bad = CliRunner().invoke(nodes, ["--models", str(tmp_path / "missing.py")])
    assert bad.exit_code == 2 and "not found" in bad.output


# --- every node in real workflows ----------------------------------------------------------------
def test_every_node_in_workflows(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)

    wf = WorkflowBuilder()
    wf.add_node("MemberCreateNode", "create", {"email": "ann@x.io", "name": "Ann", "balance": "12.50",
                                               "tags": ["a", "b"]})
    wf.add_node("MemberReadNode", "read", {})
    wf.add_node("MemberUpdateNode", "update", {"fields": {"name": "Ann B?", "tier": "pro",
                                                          "last_seen": "2024-05-01T10:00:00+00:00"}})
    wf.add_connection("create", "id", "read", "id")
    wf.add_connection("read", "id", "update", "id")
    r = run_workflow(wf)
    created = r["create"]
    assert isinstance(created["id"], int)
    assert created["email"] == "ann@x.io" and created["tier"] == "free" and created["active"] is True
    assert created["tags"] == ["a", "b"] and created["joined"] is None
    assert float(created["balance"]) == 12.5
    assert created["created_at"]  # the database default came back
    assert r["read"] == created
    assert r["update"]["name"] == "Ann B?" and r["update"]["tier"] == "pro"
    # MySQL's DATETIME holds no zone: an aware value is stored, and comes back, as UTC.
    utc = "" if url.startswith("mysql") else "+00:00"
    assert r["update"]["last_seen"].replace(" ", "T") == "2024-05-01T10:00:00" + utc
    assert r["update"]["updated_at"] >= created["updated_at"]
    member_id = created["id"]

    # Independent nodes run in no promised order: order-dependent steps are separate workflows.
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkCreateNode", "bulk", {
        "data": [{"email": f"m{i:04d}@x.io", "name": f"m{i}", "tier": "pro" if i % 2 else "free"}
                 for i in range(1000)],
        "batch_size": 300})
    r = run_workflow(wf)
    assert r["bulk"]["inserted"] == 1000 and r["bulk"]["batches"] == 4

    wf = WorkflowBuilder()
    wf.add_node("MemberListNode", "list", {"filter": {"tier": "pro"}, "order_by": "-email", "limit": 3,
                                           "offset": 1})
    wf.add_node("MemberListNode", "page", {"filter": {"tier": "free", "active": True}, "order_by": ["email"],
                                           "limit": 2, "offset": 1})
    wf.add_node("MemberListNode", "default", {})
    wf.add_node("MemberCountNode", "count", {"filter": {"tier": "free"}})
    wf.add_node("MemberCountNode", "some", {"filter": {"email": ["m0001@x.io", "m0002@x.io", "zz"]}})
    wf.add_node("MemberCountNode", "qmark", {"filter": {"name": "Ann B?"}})
    wf.add_node("ProductBulkUpsertNode", "upsert", {"data": [
        {"sku": "A", "title": "Apple", "qty": 1}, {"sku": "B", "title": "Bean", "qty": 2}]})
    r = run_workflow(wf)
    pro = sorted((f"m{i:04d}@x.io" for i in range(1000) if i % 2), reverse=True)
    assert [m["email"] for m in r["list"]["records"]] == sorted([*pro, "ann@x.io"], reverse=True)[1:4]
    assert [m["email"] for m in r["page"]["records"]] == ["m0002@x.io", "m0004@x.io"]
    assert len(r["default"]["records"]) == 10 and r["default"]["records"][0]["id"] == member_id
    assert r["count"] == {"count": 500} and r["some"] == {"count": 2} and r["qmark"] == {"count": 1}
    assert r["upsert"]["rows_affected"] == 2

    wf = WorkflowBuilder()
    wf.add_node("ProductBulkUpsertNode", "upsert", {"data": [
        {"sku": "B", "title": "Bean v2", "qty": 20}, {"sku": "C", "title": "Corn", "qty": 3}],
        "conflict_on": ["sku"]})
    wf.add_node("MemberBulkUpdateNode", "bupdate", {"filter": {"tier": "pro"}, "fields": {"active": False}})
    r = run_workflow(wf)
    assert r["upsert"]["rows_affected"] == 2
    assert r["bupdate"]["rows_affected"] == 500 + 1

    wf = WorkflowBuilder()
    wf.add_node("MemberBulkDeleteNode", "bdelete", {"filter": {"active": False}})
    assert run_workflow(wf)["bdelete"]["rows_affected"] == 501
    wf = WorkflowBuilder()
    wf.add_node("MemberDeleteNode", "delete", {"id": member_id})
    r = run_workflow(wf)
    assert r["delete"] == {"deleted": False, "rows_affected": 0, "id": member_id}  # Ann went in bulk
    assert query(url, "SELECT sku, title, qty FROM products ORDER BY sku") == [
        {"sku": "A", "title": "Apple", "qty": 1}, {"sku": "B", "title": "Bean v2", "qty": 20},
        {"sku": "C", "title": "Corn", "qty": 3}]
    assert query(url, "SELECT count(*) AS n FROM members")[0]["n"] == 500


def test_read_update_delete_by_key(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("ProductCreateNode", "create", {"sku": "K-1", "title": "Kettle"})
    wf.add_node("ProductUpdateNode", "update", {"fields": {"qty": 7}})
    wf.add_node("ProductReadNode", "read", {})
    wf.add_node("ProductDeleteNode", "delete", {})
    wf.add_node("ProductReadNode", "gone", {"raise_on_not_found": False})
    wf.add_connection("create", "sku", "update", "id")
    wf.add_connection("update", "sku", "read", "id")
    wf.add_connection("read", "sku", "delete", "id")
    wf.add_connection("delete", "sku", "gone", "id")
    r = run_workflow(wf)
    assert r["create"] == {"sku": "K-1", "title": "Kettle", "qty": 0}  # default applied
    assert r["read"] == {"sku": "K-1", "title": "Kettle", "qty": 7}
    assert r["delete"] == {"deleted": True, "rows_affected": 1, "sku": "K-1"}
    assert r["gone"] == {"found": False, "sku": "K-1"}
    assert query(url, "SELECT count(*) AS n FROM products")[0]["n"] == 0


def test_async_local_runtime(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("MemberCreateNode", "create", {"email": "zed@x.io", "name": "Zed",
                                               "joined": datetime.date(2024, 2, 29)})
    wf.add_node("MemberReadNode", "read", {})
    wf.add_connection("create", "id", "read", "id")
    r = asyncio.run(run_workflow_async(wf))
    assert r["create"]["joined"] == "2024-02-29"
    assert r["read"] == r["create"]


# --- failures ------------------------------------------------------------------------------------
def test_unique_violation_names_the_constraint(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    first = WorkflowBuilder()
    first.add_node("MemberCreateNode", "one", {"email": "dup@x.io", "name": "One"})
    run_workflow(first)

    dup = WorkflowBuilder()
    dup.add_node("MemberCreateNode", "two", {"email": "dup@x.io", "name": "Two"})
    with pytest.raises(WorkflowFailedError) as info:
        run_workflow(dup)
    assert "members_email_key" in str(info.value) and "two" in info.value.failures
    cause = info.value.__cause__
    while cause is not None and not isinstance(cause, ConstraintViolationError):
        cause = cause.__cause__
    assert cause is not None and cause.constraint == "members_email_key"

    # The Kailash defect run_workflow guards against: a lone failing node does not raise.
    with LocalRuntime() as runtime:
        results, _ = runtime.execute(dup.build())
    assert results["two"]["failed"] is True and "members_email_key" in results["two"]["error"]

    # A failing node inside a bulk call rolls the whole call back.
    bulk = WorkflowBuilder()
    bulk.add_node("MemberBulkCreateNode", "bulk", {"data": [{"email": "new@x.io", "name": "N"},
                                                            {"email": "dup@x.io", "name": "D"}]})
    with pytest.raises(WorkflowFailedError, match="members_email_key"):
        run_workflow(bulk)
    assert query(url, "SELECT count(*) AS n FROM members")[0]["n"] == 1


def test_primary_key_violation_in_bulk_names_the_key(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("ProductBulkCreateNode", "bulk", {"data": [{"sku": "A", "title": "a"}, {"sku": "A", "title": "b"}]})
    with pytest.raises(WorkflowFailedError, match="PRIMARY" if url.startswith("mysql") else "products_pkey"):
        run_workflow(wf)
    assert query(url, "SELECT count(*) AS n FROM products")[0]["n"] == 0


def test_bad_input_fails_visibly(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("MemberListNode", "list", {"filter": {"nope": 1}})
    with pytest.raises(WorkflowFailedError, match="no field 'nope'"):
        run_workflow(wf)
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkDeleteNode", "all", {"filter": {}})
    with pytest.raises(WorkflowFailedError, match="confirmed=True"):
        run_workflow(wf)
    wf = WorkflowBuilder()
    wf.add_node("MemberReadNode", "missing", {"id": 999})
    with pytest.raises(WorkflowFailedError, match="no Member with id = 999"):
        run_workflow(wf)


def test_schema_mismatch_is_refused(database: tuple[str, str]) -> None:
    spec, url = database
    execute_sql(url, "ALTER TABLE products DROP COLUMN qty")
    with pytest.raises(SchemaMismatchError) as info:
        generate_nodes(spec, url)
    assert any("qty" in d for d in info.value.differences), info.value.differences
    assert "qty" in str(info.value) and "check_schema=False" in str(info.value)
    assert "ProductCreateNode" in generate_nodes(spec, url, check_schema=False)
    execute_sql(url, "CREATE TABLE unrelated (x integer)")  # other tables are not the models' business
    execute_sql(url, "ALTER TABLE products ADD COLUMN qty integer NOT NULL DEFAULT 0")
    generate_nodes(spec, url)


def test_missing_database_tables_are_refused(tmp_path: Path) -> None:
    spec = _models_file(tmp_path)
    (tmp_path / "empty.db").touch()  # an empty SQLite database (a missing file is its own error)
    with pytest.raises(SchemaMismatchError, match="members"):
        generate_nodes(spec, f"sqlite:///{tmp_path / 'empty.db'}")


# --- bulk upsert at volume -----------------------------------------------------------------------
def _upsert_rows(url: str, spec: str, n: int) -> float:
    generate_nodes(spec, url)
    first = [{"sku": f"S{i:07d}", "title": f"t{i}", "qty": i} for i in range(n)]
    second = [{"sku": f"S{i:07d}", "title": f"u{i}", "qty": -i} for i in range(n // 2, n + n // 2)]
    t0 = time.perf_counter()
    for data, expected in ((first, n), (second, n)):
        wf = WorkflowBuilder()
        wf.add_node("ProductBulkUpsertNode", "up", {"data": data, "batch_size": 5000})
        assert run_workflow(wf)["up"]["rows_affected"] == expected
    elapsed = time.perf_counter() - t0
    rows = query(url, "SELECT count(*) AS n, sum(qty) AS s FROM products")[0]
    half = n // 2
    assert rows["n"] == n + half
    assert int(rows["s"]) == sum(range(half)) - sum(range(half, n + half))
    assert query(url, f"SELECT title FROM products WHERE sku = 'S{n - 1:07d}'")[0]["title"] == f"u{n - 1}"
    return elapsed


def test_bulk_upsert_10k(database: tuple[str, str]) -> None:
    spec, url = database
    _upsert_rows(url, spec, 10_000)


@pytest.mark.slow
def test_bulk_upsert_100k_postgres(tmp_path: Path, pg_db: Callable[..., str]) -> None:
    spec = _models_file(tmp_path)
    url = pg_db("nodes100k")
    execute_sql(url, plan_migration(_empty("postgresql"), load_models(spec, "postgresql")).sql())
    assert _upsert_rows(url, spec, 100_000) < 20


@pytest.mark.slow
def test_bulk_upsert_100k_mysql(tmp_path: Path, mysql_db: Callable[..., str]) -> None:
    spec = _models_file(tmp_path)
    url = mysql_db("nodes100k")
    execute_sql(url, plan_migration(_empty("mysql"), load_models(spec, "mysql")).sql())
    assert _upsert_rows(url, spec, 100_000) < 20


# --- bulk write paths (PostgreSQL: COPY, converted values, staged upsert) ----------------------------
def test_bulk_create_mixed_shapes_and_values_that_need_converting(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    aware = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkCreateNode", "bulk", {"data": [
        {"email": "a@x.io", "name": "A"},
        {"name": "B", "email": "b@x.io"},  # same fields, other order: same group
        # values asyncpg's binary COPY refuses as given (ISO date, aware datetime for a naive
        # timestamp column) or would store differently (a float for numeric): converted first
        {"email": "c@x.io", "name": "C", "tier": "pro", "balance": 0.1, "joined": "2024-02-29",
         "last_seen": aware, "tags": ["t"], "created_at": aware},
    ]})
    out = run_workflow(wf)["bulk"]
    assert out == {"inserted": 3, "rows_affected": 3, "batches": 2, "rows": 3}
    rows = query(url, "SELECT email, tier, balance, joined, tags, created_at FROM members ORDER BY email")
    assert [r["email"] for r in rows] == ["a@x.io", "b@x.io", "c@x.io"]
    c = rows[2]
    assert str(c["tier"]) == "pro" and str(c["balance"]) in ("0.10", "0.1")
    assert str(c["joined"]) == "2024-02-29"
    assert (json.loads(c["tags"]) if isinstance(c["tags"], str) else c["tags"]) == ["t"]
    if url.startswith("postgresql"):  # timestamp without time zone: stored as UTC
        assert c["created_at"] == datetime.datetime(2024, 3, 1, 10, 0)

    # The same values in a 5,000-row call through small batches: one transaction, counts right.
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkCreateNode", "many", {"batch_size": 700, "data": [
        {"email": f"n{i}@x.io", "name": f"n{i}", "joined": "2024-01-02" if i % 2 else datetime.date(2024, 1, 3)}
        for i in range(5000)]})
    assert run_workflow(wf)["many"] == {"inserted": 5000, "rows_affected": 5000, "batches": 8, "rows": 5000}
    assert query(url, "SELECT count(*) AS n FROM members WHERE joined IS NOT NULL")[0]["n"] == 5001


def test_bulk_upsert_last_row_per_key_wins_across_batches(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("ProductBulkCreateNode", "seed", {"data": [{"sku": "A", "title": "old", "qty": 0}]})
    run_workflow(wf)
    wf = WorkflowBuilder()
    wf.add_node("ProductBulkUpsertNode", "up", {"batch_size": 2, "data": [
        {"sku": "A", "title": "a1", "qty": 1}, {"sku": "A", "title": "a2", "qty": 2},  # batch 1: a2 wins
        {"sku": "B", "title": "b1", "qty": 3}, {"sku": "A", "title": "a3", "qty": 4},  # batch 2: updates a2
        {"sku": "B", "title": "b2", "qty": 5}]})
    out = run_workflow(wf)["up"]
    assert out["batches"] == 3 and out["rows"] == 5
    assert out["rows_affected"] == 1 + 2 + 1  # one write per distinct key per batch
    assert query(url, "SELECT sku, title, qty FROM products ORDER BY sku") == [
        {"sku": "A", "title": "a3", "qty": 4}, {"sku": "B", "title": "b2", "qty": 5}]

    # A row the table refuses rolls the whole call back, earlier batches included.
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkUpsertNode", "bad", {"batch_size": 1, "conflict_on": "email", "data": [
        {"email": "ok@x.io", "name": "ok"}, {"email": "bad@x.io", "name": None}]})
    with pytest.raises(WorkflowFailedError, match="name"):
        run_workflow(wf)
    assert query(url, "SELECT count(*) AS n FROM members")[0]["n"] == 0


# --- filter operators (DataFlow's) -----------------------------------------------------------------
def _seed_ten_members() -> None:
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkCreateNode", "seed", {"data": [
        {"email": f"m{i}@x.io", "name": f"m{i}", "tier": "pro" if i % 2 else "free", "balance": str(i),
         "joined": datetime.date(2024, 1, i + 1) if i % 3 else None} for i in range(10)]})
    run_workflow(wf)


def test_filter_operators_in_list_count_and_writes(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    _seed_ten_members()
    counts = {
        "gt": {"balance": {"$gt": "5.00"}},                     # 6..9
        "range": {"balance": {"$gte": 5, "$lt": 8}},            # several operators on a field: ANDed
        "ne": {"tier": {"$ne": "pro"}},
        "ne_nullable": {"joined": {"$ne": "2024-01-02"}},      # NULL rows never match $ne (plain SQL)
        "null": {"joined": {"$null": True}}, "exists": {"joined": {"$exists": True}},
        "not_null": {"joined": {"$null": False}}, "not_exists": {"joined": {"$exists": False}},
        "eq_none": {"joined": {"$eq": None}}, "ne_none": {"joined": {"$ne": None}},
        "in": {"email": {"$in": ["m1@x.io", "m2@x.io", None, "zz"]}},
        "nin": {"email": {"$nin": ["m1@x.io", "m2@x.io", None]}},  # None dropped, not "matches nothing"
        "in_empty": {"email": {"$in": []}}, "nin_empty": {"email": {"$nin": []}},
        "regex": {"name": {"$regex": "^m[0-4]$"}},
        "date_lt": {"joined": {"$lt": "2024-01-05"}},          # ISO text converted for a date column
        "mixed": {"tier": "pro", "balance": {"$lte": 3}},
        "literal": {"name": {"$eq": "a?$1 ${x}"}},              # placeholder-shaped text stays a value
    }
    wf = WorkflowBuilder()
    for key, flt in counts.items():
        wf.add_node("MemberCountNode", key, {"filter": flt})
    wf.add_node("MemberListNode", "list", {"filter": {"balance": {"$gte": 2}, "tier": {"$in": ["free"]}},
                                           "order_by": "-balance", "limit": 3})
    r = run_workflow(wf)
    got = {key: r[key]["count"] for key in counts}
    assert got == {"gt": 4, "range": 3, "ne": 5, "ne_nullable": 5, "null": 4, "exists": 6, "not_null": 6,
                   "not_exists": 4, "eq_none": 4, "ne_none": 6, "in": 2, "nin": 8, "in_empty": 0,
                   "nin_empty": 10, "regex": 5, "date_lt": 2, "mixed": 2, "literal": 0}
    assert [m["email"] for m in r["list"]["records"]] == ["m8@x.io", "m6@x.io", "m4@x.io"]

    wf = WorkflowBuilder()
    wf.add_node("MemberUpdateNode", "update", {"filter": {"balance": {"$lt": 2}}, "fields": {"name": "low"}})
    assert run_workflow(wf)["update"] == {"rows_affected": 2}
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkUpdateNode", "bupdate", {"filter": {"joined": {"$null": True}}, "fields": {"active": False}})
    assert run_workflow(wf)["bupdate"] == {"rows_affected": 4}
    wf = WorkflowBuilder()
    wf.add_node("MemberBulkDeleteNode", "bdelete", {"filter": {"balance": {"$gte": 8}}})
    assert run_workflow(wf)["bdelete"] == {"rows_affected": 2}
    assert query(url, "SELECT count(*) AS n FROM members")[0]["n"] == 8
    assert query(url, "SELECT count(*) AS n FROM members WHERE NOT active")[0]["n"] == 3  # 0, 3, 6 (9 deleted)
    assert query(url, "SELECT count(*) AS n FROM members WHERE name = 'low'")[0]["n"] == 2


@pytest.mark.parametrize(("flt", "message"), [
    ({"name": {"$like": "m%"}}, "unknown operator '\\$like'"),   # DataFlow's List refuses it too
    ({"name": {"$ilike": "m%"}}, "unknown operator '\\$ilike'"),
    ({"$or": [{"name": "m1"}]}, "unknown operator '\\$or' at the top level"),
    ({"tier": {}}, "empty operator dict"),
    ({"email": {"$in": "m1@x.io"}}, "\\$in needs a list"),
    ({"balance": {"$gt": None}}, "\\$gt needs a value"),
    ({"nope": {"$gt": 1}}, "no field 'nope'"),
])
def test_unknown_or_malformed_filter_operators_fail_naming_them(database: tuple[str, str], flt: dict[str, Any],
                                                                message: str) -> None:
    spec, url = database
    generate_nodes(spec, url)
    _seed_ten_members()
    for node, params in (("MemberCountNode", {}), ("MemberBulkDeleteNode", {}),
                         ("MemberBulkUpdateNode", {"fields": {"active": False}})):
        wf = WorkflowBuilder()
        wf.add_node(node, "n", {"filter": flt, **params})
        with pytest.raises(WorkflowFailedError, match=message):
            run_workflow(wf)
    assert query(url, "SELECT count(*) AS n FROM members WHERE active")[0]["n"] == 10


# --- single-row Upsert (DataFlow's UpsertNode) ------------------------------------------------------
def test_upsert_node_creates_then_updates(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    wf = WorkflowBuilder()
    wf.add_node("ProductUpsertNode", "up", {"where": {"sku": "U-1"}, "create": {"title": "new", "qty": 1},
                                            "update": {"qty": 5}})
    first = run_workflow(wf)["up"]
    assert first == {"created": True, "action": "created", "record": {"sku": "U-1", "title": "new", "qty": 1}}
    second = run_workflow(wf)["up"]
    assert second == {"created": False, "action": "updated", "record": {"sku": "U-1", "title": "new", "qty": 5}}
    # Nothing to update: the existing row comes back unchanged.
    wf = WorkflowBuilder()
    wf.add_node("ProductUpsertNode", "same", {"where": {"sku": "U-1"}, "create": {"title": "other"}})
    assert run_workflow(wf)["same"]["record"] == {"sku": "U-1", "title": "new", "qty": 5}

    # By a unique key other than the primary key, with values that need converting.
    wf = WorkflowBuilder()
    wf.add_node("MemberCreateNode", "make", {"email": "u@x.io", "name": "U"})
    made = run_workflow(wf)["make"]
    wf = WorkflowBuilder()
    wf.add_node("MemberUpsertNode", "up", {"where": {"email": "u@x.io"}, "conflict_on": "email",
                                           "update": {"tier": "pro", "balance": "3.50"}, "create": {"name": "never"}})
    r = run_workflow(wf)
    member = r["up"]["record"]
    assert r["up"]["created"] is False and member["id"] == made["id"]
    assert member["tier"] == "pro" and float(member["balance"]) == 3.5 and member["name"] == "U"
    assert query(url, "SELECT count(*) AS n FROM members")[0]["n"] == 1


def test_upsert_node_refuses_bad_input(database: tuple[str, str]) -> None:
    spec, url = database
    generate_nodes(spec, url)
    for params, message in (
        ({"where": {}, "create": {"title": "t"}}, "where is required"),
        ({"where": {"sku": "A"}}, "give update .* or create"),
        ({"where": {"title": "t"}, "create": {"sku": "A"}}, "not the primary key or a unique key"),
        ({"where": {"sku": {"$gt": "A"}}, "create": {"title": "t"}}, "values only"),
        ({"where": {"sku": "A"}, "create": {"nope": 1}}, "no field 'nope'"),
    ):
        wf = WorkflowBuilder()
        wf.add_node("ProductUpsertNode", "up", params)
        with pytest.raises(WorkflowFailedError, match=message):
            run_workflow(wf)
    wf = WorkflowBuilder()  # the database's own refusal, named: name is NOT NULL
    wf.add_node("MemberUpsertNode", "up", {"where": {"email": "n@x.io"}, "update": {"name": "N"}})
    with pytest.raises(WorkflowFailedError, match="name"):
        run_workflow(wf)
    assert query(url, "SELECT count(*) AS n FROM products")[0]["n"] == 0

"""Generated Kailash nodes on real SQLite and PostgreSQL databases, inside real workflows.

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

from dfmigrate.engine import plan_migration
from dfmigrate.schema import Schema
from dfmigrate.sources.models import load_models

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
    sku: str = field(primary_key=True)
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


def execute_sql(url: str, sql: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_pg_exec(url, sql))
    else:
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            conn.executescript(sql)
        finally:
            conn.close()


def query(url: str, sql: str) -> list[dict[str, Any]]:
    if url.startswith("postgresql"):
        return asyncio.run(_pg_fetch(url, sql))
    conn = sqlite3.connect(url[len("sqlite:///"):])
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(models file, database URL) with the models' schema created through the plan."""
    dialect = request.param
    spec = _models_file(tmp_path)
    if dialect == "postgresql":
        url = request.getfixturevalue("pg_db")("nodes")
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
    assert len(data) == 2 * 10
    create = by_name["MemberCreateNode"]
    assert create["table"] == "public.members" and create["operation"] == "Create"
    email = next(p for p in create["parameters"] if p["name"] == "email")
    tier = next(p for p in create["parameters"] if p["name"] == "tier")
    assert email == {"name": "email", "type": "str", "required": True}
    assert tier["type"] == "Tier" and tier["default"] == "free" and not tier["required"]
    upsert = by_name["ProductBulkUpsertNode"]
    assert [p["name"] for p in upsert["parameters"]] == ["data", "batch_size", "conflict_on"]
    json.dumps(data)  # the CLI prints it as is


def test_cli_nodes_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dfmigrate.nodes.cli import nodes

    spec = _models_file(tmp_path)
    result = CliRunner().invoke(nodes, ["--models", spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {m["node"] for m in json.loads(result.output)} >= {f"Member{op}Node" for op in NINE}
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
    assert r["update"]["last_seen"].replace(" ", "T") == "2024-05-01T10:00:00+00:00"
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
    with pytest.raises(WorkflowFailedError, match="products_pkey"):
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

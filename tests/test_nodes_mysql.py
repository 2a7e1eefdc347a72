"""Generated nodes on MySQL/MariaDB where it differs from PostgreSQL and SQLite: types through
asyncmy's two bulk paths, upserts without a conflict target, statements kept under
max_allowed_packet, the constraint a refused write names. Every node run is a real workflow on
the machine's MariaDB (tests/conftest.py's ``mysql_db``); the cross-database semantics (counts,
``created``) are checked on all three databases.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kailash.workflow.builder import WorkflowBuilder

from dfmigrate.core.engine import plan_migration
from dfmigrate.nodes import WorkflowFailedError, generate_nodes, run_workflow
from dfmigrate.sources.model_classes import load_models
from tests.test_nodes import _empty, execute_sql, query

MODELS = '''
from __future__ import annotations
import datetime, enum, uuid
from decimal import Decimal
from typing import Any, Optional
from dfmigrate import model, field

class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"

@model
class Account:
    code: str = field(unique=True, max_length=20)
    label: str = field(default="", max_length=80)
    __timestamps__ = False

@model
class Invoice:
    number: str = field(primary_key=True, max_length=30)
    account_id: Optional[int] = field(default=None, references="accounts.id")
    amount: Decimal = field(precision=14, scale=4)
    lines: int = field(default=1, check="lines > 0")
    issued: datetime.datetime
    due: Optional[datetime.date] = None
    at: Optional[datetime.time] = None
    paid: bool = False
    status: Status = Status.NEW
    meta: Optional[dict[str, Any]] = None
    blob: Optional[bytes] = None
    ref: Optional[uuid.UUID] = None
    note: Optional[str] = None
'''


class Status(enum.Enum):  # an Enum member is written as its value, whichever class it is
    NEW = "new"
    PAID = "paid"


def _database(tmp_path: Path, url: str, dialect: str) -> tuple[str, str]:
    spec = tmp_path / "billing_models.py"
    spec.write_text(textwrap.dedent(MODELS))
    execute_sql(url, plan_migration(_empty(dialect), load_models(str(spec), dialect)).sql())  # type: ignore[arg-type]
    generate_nodes(str(spec), url)
    return str(spec), url


@pytest.fixture
def mysql_billing(tmp_path: Path, mysql_db: Callable[..., str]) -> str:
    """URL of a MariaDB database holding the billing models' tables, their nodes generated."""
    return _database(tmp_path, mysql_db("billing"), "mysql")[1]


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def billing(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same on each of the three databases."""
    dialect = request.param
    if dialect == "postgresql":
        url = request.getfixturevalue("pg_db")("billing")
    elif dialect == "mysql":
        url = request.getfixturevalue("mysql_db")("billing")
    else:
        url = "sqlite:///" + request.getfixturevalue("sqlite_path")
    return _database(tmp_path, url, dialect)[1]


def run(node: str, params: dict[str, Any]) -> Any:
    wf = WorkflowBuilder()
    wf.add_node(node, "n", params)
    return run_workflow(wf)["n"]


EVERYTHING = {
    "number": "INV-1", "amount": decimal.Decimal("12.3456"),
    "issued": datetime.datetime(2024, 3, 1, 12, 30, 15, 250, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    "due": datetime.date(2024, 3, 31), "at": datetime.time(10, 11, 12, 500), "paid": True, "status": "paid",
    "meta": {"lines": [{"sku": "é-1", "qty": 2}], "ok": True, "n": None}, "blob": b"\x00\xff\x10'\\",
    "ref": uuid.UUID("12345678-1234-5678-1234-567812345678"), "note": "it's \\ 100% ✓",
}
# What every node returns for EVERYTHING: JSON-serializable, the aware datetime as UTC.
EVERYTHING_OUT = {
    "number": "INV-1", "account_id": None, "amount": "12.3456", "lines": 1, "issued": "2024-03-01T10:30:15.000250",
    "due": "2024-03-31", "at": "10:11:12.000500", "paid": True, "status": "paid",
    "meta": {"lines": [{"sku": "é-1", "qty": 2}], "ok": True, "n": None}, "blob": "00ff10275c",
    "ref": "12345678-1234-5678-1234-567812345678", "note": "it's \\ 100% ✓",
}


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}


# --- types --------------------------------------------------------------------------------------
def test_types_round_trip_through_every_write_path(mysql_billing: str) -> None:
    url = mysql_billing
    created = run("InvoiceCreateNode", EVERYTHING)
    assert _record(created) == EVERYTHING_OUT
    assert _record(run("InvoiceReadNode", {"id": "INV-1"})) == EVERYTHING_OUT

    # The same values through BulkCreate, in batches asyncmy sends differently: values of one
    # type per column (one binary bulk statement), a nullable column NULL in every row and a
    # column mixing int and Decimal (both: multi-row text INSERTs). Each must store the same.
    bulk = [{**EVERYTHING, "number": f"B-{i}"} for i in range(3)]
    bulk += [{**EVERYTHING, "number": f"N-{i}", "note": None} for i in range(3)]
    bulk += [{**EVERYTHING, "number": "M-0", "amount": 12}, {**EVERYTHING, "number": "M-1"}]
    out = run("InvoiceBulkCreateNode", {"data": bulk, "batch_size": 3})
    assert out == {"inserted": 8, "rows_affected": 8, "batches": 3, "rows": 8}
    listed = run("InvoiceListNode", {"order_by": "number", "limit": 100})["records"]
    by_number = {r["number"]: _record(r) for r in listed}
    for number, row in by_number.items():
        expected = {**EVERYTHING_OUT, "number": number}
        if number.startswith("N-"):
            expected["note"] = None
        if number == "M-0":
            expected["amount"] = "12.0000"
        assert row == expected, number

    # BulkUpsert converts the same way (an Enum member, ISO text for the datetime and the date).
    up = run("InvoiceBulkUpsertNode", {"data": [
        {**EVERYTHING, "number": "B-0", "status": Status.NEW, "issued": "2024-03-01T08:30:15.000250+00:00",
         "due": "2024-04-30", "amount": 0.1}]})
    assert up == {"rows_affected": 1, "batches": 1, "rows": 1}
    b0 = _record(run("InvoiceReadNode", {"id": "B-0"}))
    assert b0 == {**EVERYTHING_OUT, "number": "B-0", "status": "new", "issued": "2024-03-01T08:30:15.000250",
                  "due": "2024-04-30", "amount": "0.1000"}

    # What the database holds: native types, not text.
    raw = query(url, "SELECT amount, issued, paid, status, meta, `blob`, ref, at FROM invoices WHERE number = 'INV-1'")[0]
    assert raw["amount"] == decimal.Decimal("12.3456")
    assert raw["issued"] == datetime.datetime(2024, 3, 1, 10, 30, 15, 250)
    assert raw["paid"] == 1 and raw["status"] == "paid" and raw["blob"] == b"\x00\xff\x10'\\"
    assert json.loads(raw["meta"]) == EVERYTHING["meta"] and raw["ref"] == str(EVERYTHING["ref"])
    assert raw["at"] == datetime.timedelta(hours=10, minutes=11, seconds=12, microseconds=500)

    # Filters convert like writes: a bool, a Decimal range, an enum, a date, bytes.
    counts = {key: run("InvoiceCountNode", {"filter": flt})["count"] for key, flt in {
        "paid": {"paid": True}, "amount": {"amount": {"$gte": "12.3456"}}, "status": {"status": "new"},
        "due": {"due": {"$lt": datetime.date(2024, 4, 1)}}, "blob": {"blob": b"\x00\xff\x10'\\"},
    }.items()}
    assert counts == {"paid": 9, "amount": 7, "status": 1, "due": 8, "blob": 9}


# --- upserts ------------------------------------------------------------------------------------
def test_bulk_upsert_with_conflicts_counts_like_postgresql(billing: str) -> None:
    url = billing
    seed = [{"number": f"I-{i:04d}", "amount": i, "issued": datetime.datetime(2024, 1, 1)} for i in range(1000)]
    assert run("InvoiceBulkCreateNode", {"data": seed})["inserted"] == 1000
    # 500 existing keys updated, 500 new ones, and every key of the second half twice in a row:
    # the last one wins, and each key counts once.
    rows = [{"number": f"I-{i:04d}", "amount": i + 5000, "issued": datetime.datetime(2024, 2, 1), "note": "first"}
            for i in range(500, 1500)]
    rows += [{**r, "note": "last"} for r in rows[500:]]
    out = run("InvoiceBulkUpsertNode", {"data": rows, "batch_size": 2000})
    assert out == {"rows_affected": 1000, "batches": 1, "rows": 1500}
    assert query(url, "SELECT count(*) AS n FROM invoices")[0]["n"] == 1500
    assert query(url, "SELECT count(*) AS n FROM invoices WHERE amount >= 5000")[0]["n"] == 1000
    notes = query(url, "SELECT note, count(*) AS n FROM invoices WHERE note IS NOT NULL GROUP BY note ORDER BY note")
    assert notes == [{"note": "first", "n": 500}, {"note": "last", "n": 500}]

    # Rows carrying only their key: the existing ones are left as they are, the count is the
    # rows inserted (PostgreSQL's DO NOTHING).
    run("AccountCreateNode", {"code": "a", "label": "kept"})
    out = run("AccountBulkUpsertNode", {"data": [{"code": "a"}, {"code": "b"}], "conflict_on": "code"})
    assert out == {"rows_affected": 1, "batches": 1, "rows": 2}
    assert query(url, "SELECT code, label FROM accounts ORDER BY code") == [
        {"code": "a", "label": "kept"}, {"code": "b", "label": ""}]


def test_upsert_node_tells_created_from_updated(billing: str) -> None:
    first = run("AccountUpsertNode", {"where": {"code": "x"}, "create": {"label": "one"}, "update": {"label": "two"}})
    assert first["created"] is True and first["record"]["label"] == "one"
    second = run("AccountUpsertNode", {"where": {"code": "x"}, "create": {"label": "one"}, "update": {"label": "two"}})
    assert second["created"] is False and second["record"]["label"] == "two"
    # Updated to the values it already has: still an existing row, not a created one.
    same = run("AccountUpsertNode", {"where": {"code": "x"}, "update": {"label": "two"}})
    assert same == {"created": False, "action": "updated", "record": second["record"]}


def test_upsert_rows_without_a_required_field_are_refused(billing: str) -> None:
    # MariaDB alone would store an empty value for the missing NOT NULL issued (no default).
    with pytest.raises(WorkflowFailedError, match=r"invoices\.issued NOT NULL"):
        run("InvoiceUpsertNode", {"where": {"number": "U-1"}, "create": {"amount": 1}})
    with pytest.raises(WorkflowFailedError, match=r"invoices\.issued NOT NULL"):
        run("InvoiceBulkUpsertNode", {"data": [{"number": "U-1", "amount": 1}]})
    assert query(billing, "SELECT count(*) AS n FROM invoices")[0]["n"] == 0


def test_upsert_colliding_on_another_unique_key_is_rolled_back(mysql_billing: str) -> None:
    run("AccountBulkCreateNode", {"data": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}]})
    ids = {r["code"]: r["id"] for r in query(mysql_billing, "SELECT id, code FROM accounts")}
    # The row named by id does not exist; its code collides with account b. MySQL has no
    # conflict target, so it would update b: refused, nothing changed.
    with pytest.raises(WorkflowFailedError, match="another unique key than conflict_on"):
        run("AccountUpsertNode", {"where": {"id": max(ids.values()) + 10}, "create": {"code": "b"},
                                  "update": {"label": "changed"}})
    assert query(mysql_billing, "SELECT code, label FROM accounts ORDER BY code") == [
        {"code": "a", "label": "A"}, {"code": "b", "label": "B"}]


# --- statement size ------------------------------------------------------------------------------
def test_bulk_rows_beyond_max_allowed_packet_go_in_several_statements(mysql_billing: str) -> None:
    url = mysql_billing
    packet = query(url, "SELECT @@max_allowed_packet AS n")[0]["n"]
    # ~4 × max_allowed_packet of JSON in one batch (ü is written \u00fc), and non-ASCII notes.
    size = packet // 40
    rows = [{"number": f"J-{i}", "amount": 1, "issued": datetime.datetime(2024, 1, 1), "note": "ü" * (i + 1),
             "meta": {"text": ("ü" if i % 3 == 0 else "a") * size}} for i in range(60)]
    assert run("InvoiceBulkCreateNode", {"data": rows}) == {"inserted": 60, "rows_affected": 60, "batches": 1,
                                                             "rows": 60}
    got = query(url, "SELECT number, CHAR_LENGTH(meta) AS n FROM invoices WHERE number = 'J-3'")[0]
    assert got["n"] == len(json.dumps({"text": "ü" * size}, ensure_ascii=True))

    # A single row bigger than the server takes: its error, and nothing of the call written.
    huge = [{"number": "K-1", "amount": 1, "issued": datetime.datetime(2024, 1, 1)},
            {"number": "K-2", "amount": 1, "issued": datetime.datetime(2024, 1, 1), "note": "x" * (packet + 1)}]
    with pytest.raises(WorkflowFailedError, match="max_allowed_packet"):
        run("InvoiceBulkCreateNode", {"data": huge, "batch_size": 1})
    assert query(url, "SELECT count(*) AS n FROM invoices WHERE number LIKE 'K-%'")[0]["n"] == 0


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("row", "constraint"), [
    ({"account_id": 999}, "invoices_account_id_fkey"),
    ({"lines": 0}, "invoices_lines_check"),
    ({"issued": None}, "invoices.issued NOT NULL"),  # (Kailash refuses a None for Create's datetime)
    ({"number": "E-0"}, "PRIMARY"),
])
def test_refused_writes_name_the_constraint(mysql_billing: str, row: dict[str, Any], constraint: str) -> None:
    from dfmigrate.nodes import ConstraintViolationError

    run("InvoiceCreateNode", {"number": "E-0", "amount": 1, "issued": datetime.datetime(2024, 1, 1)})
    calls = [("InvoiceBulkCreateNode", {"data": [{"number": "E-2", "amount": 1, "issued": datetime.datetime(2024, 1, 1),
                                                  **row}]})]
    if row.get("issued", True) is not None:
        calls.append(("InvoiceCreateNode", {"number": "E-1", "amount": 1, "issued": datetime.datetime(2024, 1, 1),
                                            **row}))
    for node, params in calls:
        with pytest.raises(WorkflowFailedError, match=f"constraint {constraint} violated") as info:
            run(node, params)
        cause = info.value.__cause__
        while cause is not None and not isinstance(cause, ConstraintViolationError):
            cause = cause.__cause__
        assert cause is not None and cause.constraint == constraint
    assert query(mysql_billing, "SELECT count(*) AS n FROM invoices")[0]["n"] == 1


def test_a_value_the_column_cannot_hold_is_an_error_not_a_truncation(mysql_billing: str) -> None:
    with pytest.raises(WorkflowFailedError, match="Data too long"):
        run("AccountCreateNode", {"code": "x" * 21})
    assert query(mysql_billing, "SELECT count(*) AS n FROM accounts")[0]["n"] == 0



def test_mariadb_urls_generate_the_same_nodes(tmp_path: Path, mysql_db: Callable[..., str]) -> None:
    spec, url = _database(tmp_path, mysql_db("mariadb"), "mysql")
    nodes = generate_nodes(spec, "mariadb://" + url.split("://", 1)[1])  # the schema check runs too
    assert len(nodes) == 2 * 11 and nodes["InvoiceReadNode"]().get_parameters()["id"].type is str
    run("AccountCreateNode", {"code": "m"})
    assert run("AccountCountNode", {}) == {"count": 1}

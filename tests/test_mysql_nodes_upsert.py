"""Upserts on MySQL/MariaDB when a row can collide with another unique key than ``conflict_on``:
``INSERT … ON DUPLICATE KEY UPDATE`` has no conflict target, so such a collision updates the row
it collides with, one the caller did not name. BulkUpsert refuses rows that could (before
writing anything); the single-row Upsert checks, after its statement, that no other unique key
of its row names another existing row, and rolls back if one does. On the machine's MariaDB,
through real workflows (tests/test_nodes_mysql.py's billing models: ``Account`` has an
AUTO_INCREMENT ``id`` and a unique ``code``).
"""

from __future__ import annotations

import pytest

from dfmigrate.nodes import WorkflowFailedError
from tests.test_nodes_mysql import mysql_billing, run  # noqa: F401 - the fixture, used by name
from tests.test_nodes import query


def accounts(url: str) -> list[dict[str, object]]:
    return query(url, "SELECT id, code, label FROM accounts ORDER BY id")


def test_bulk_upsert_refuses_rows_that_carry_another_unique_key(mysql_billing: str) -> None:  # noqa: F811
    run("AccountBulkCreateNode", {"data": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}]})
    before = accounts(mysql_billing)
    new_id = max(int(r["id"]) for r in before) + 100  # type: ignore[call-overload]
    # Meant: insert account new_id (conflict_on id). Its code collides with account b: MySQL
    # would update b instead, silently. Refused, nothing written.
    for conflict_on in ("id", None):  # named, and the default (the primary key the rows carry)
        params = {"data": [{"id": new_id, "code": "b", "label": "changed"}],
                  **({"conflict_on": conflict_on} if conflict_on else {})}
        with pytest.raises(WorkflowFailedError, match=r"unique key accounts_code_key \(code\) besides conflict_on "
                                                      r"\(id\).*send rows without code"):
            run("AccountBulkUpsertNode", params)
        assert accounts(mysql_billing) == before
    # conflict_on code with the id carried: a collision on id would update that row
    with pytest.raises(WorkflowFailedError, match=r"unique key \w+ \(id\) besides conflict_on \(code\)"):
        run("AccountBulkUpsertNode", {"data": [{"id": new_id, "code": "a", "label": "x"}], "conflict_on": "code"})
    assert accounts(mysql_billing) == before

    # Rows that can collide on conflict_on only (the AUTO_INCREMENT id left out) go through.
    out = run("AccountBulkUpsertNode", {"data": [{"code": "b", "label": "B2"}, {"code": "c", "label": "C"}],
                                        "conflict_on": "code"})
    assert out["rows_affected"] == 2
    assert [(r["code"], r["label"]) for r in accounts(mysql_billing)] == [("a", "A"), ("b", "B2"), ("c", "C")]


def test_upsert_that_updated_another_row_than_conflict_on_names_is_rolled_back(mysql_billing: str) -> None:  # noqa: F811
    run("AccountBulkCreateNode", {"data": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}]})
    before = accounts(mysql_billing)
    ids = {r["code"]: r["id"] for r in before}
    # Row (id of b, code a), conflict_on code: account a exists, but the insert collides on the
    # primary key with account b first, and MySQL updates b. The row found by code (a) is not the
    # one updated: refused, rolled back.
    with pytest.raises(WorkflowFailedError, match="another unique key than conflict_on"):
        run("AccountUpsertNode", {"where": {"code": "a"}, "create": {"id": ids["b"]}, "update": {"label": "changed"}})
    assert accounts(mysql_billing) == before
    # The same upsert without the id updates account a
    out = run("AccountUpsertNode", {"where": {"code": "a"}, "update": {"label": "changed"}})
    assert out["action"] == "updated" and out["record"]["id"] == ids["a"]

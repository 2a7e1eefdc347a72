"""``dataflow:MODULE:ATTR`` on a MySQL DataFlow URL: kailash-dataflow creates its tables on the
machine's MariaDB (in a child process), and dfmigrate sees no difference between that database
and the source, both ways, nor between it and a database dfmigrate built from the source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mysql_converge import execute, run
from tests.test_dataflow_source import BOOKKEEPING_PREFIX, CREATE_TABLES, assert_same, dfmigrate, run_app, write_app

# DataFlow's MySQL DDL, less what it cannot create on MariaDB (JSON defaults, an INT default
# beyond INT), which the source rejects with a message of its own.
APP = '''\
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Optional

from dataflow import DataFlow

db = DataFlow({url!r}{options})


class Tier(str, enum.Enum):
    GOLD = "gold"


@db.model
class Customer:
    email: str
    name: str
    age: int = 0
    active: bool = True
    vip: bool = False
    score: float = 1.5
    ratio: float = 2
    tiny: float = 1e-07
    debt: float = -1.5
    offset: int = -1
    balance: Decimal = Decimal("0.00")
    joined: dt.datetime
    since: dt.datetime = dt.datetime(2020, 1, 2, 3, 4, 5)
    bday: dt.date = dt.date(2000, 1, 2)
    note: Optional[str] = None
    motto: Optional[str]
    nick: str = "anon"
    city: str = "Zürich"
    tier: Tier = Tier.GOLD
    tags: list[str] = None
    data: bytes
    stamp: dt.datetime = dt.datetime.now
    __dataflow__ = {{"indexes": [
        {{"name": "idx_customer_email", "fields": ["email"], "unique": True}},
        {{"fields": ["name", "age"]}},
    ]}}


@db.model
class OrderItem:
    customer_id: int
    qty: int = 1
    price: Optional[float] = None
    __dataflow__ = {{"soft_delete": True, "indexes": [{{"fields": ["customer_id"]}}]}}


@db.model
class Token:
    id: str
    value: str
'''


async def _tables(url: str) -> list[str]:
    from dfmigrate.dialects.mysql.connect import connect

    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            await cur.execute("SHOW TABLES")
            return [r[0] for r in await cur.fetchall()]
    finally:
        conn.close()


def test_mysql_dataflow_tables_equal_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                mysql_db: Callable[..., str]) -> None:
    monkeypatch.chdir(tmp_path)
    created, built = mysql_db("dataflow"), mysql_db("dfmigrate")
    module = write_app(tmp_path, created, body=APP)
    run_app(tmp_path, module, CREATE_TABLES)
    tables = set(run(_tables(created)))
    assert {"customers", "order_items", "tokens"} <= tables
    extra = tables - {"customers", "order_items", "tokens"}
    assert all(t.startswith(BOOKKEEPING_PREFIX) for t in extra), extra
    run(execute(created, [f"DROP TABLE `{t}`" for t in extra]))
    source = f"dataflow:{module}:db"
    assert_same(capsys, created, source)

    code, script, err = dfmigrate(capsys, "diff", "--from", built, "--to", source)
    assert code == 0 and "ON UPDATE current_timestamp()" in script, err
    run(execute(built, [s for s in script.split(";\n") if s.strip()]))
    assert_same(capsys, built, created)


def test_dataflow_json_default_is_refused_on_mysql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    body = APP.replace("tags: list[str] = None", "tags: list[str] = []")
    module = write_app(tmp_path, "mysql://root@127.0.0.1:3306/unused", body=body)
    code, _, err = dfmigrate(capsys, "inspect", f"dataflow:{module}:db", "--dialect", "mysql")
    assert code == 2 and "CAST" in err and "tags" in err

"""Adding a foreign key on MySQL/MariaDB also takes a metadata lock on the table it references:
the guard before the statement checks that table's holders too (the renderer says which table,
as ``Step.also_locks``), on the machine's MariaDB (no metadata-lock source: the ``LOCK TABLES …
NOWAIT`` probe, then the sessions with an open transaction).

MariaDB's lock on the referenced table waits for its writers, not its readers (measured on 10.11:
``ALTER TABLE child ADD FOREIGN KEY … REFERENCES parent`` runs beside a transaction that read
``parent``, and waits for one that wrote it or read it ``FOR UPDATE``). So a session whose open
transaction read the parent ``FOR UPDATE`` stops the step before it runs, named; a plain reader
does not. The same through MariaDB's ``metadata_lock_info`` plugin (exact holders, on a private
server), where the lock types say which sessions write the referenced table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dfmigrate.directory import load_all, write_sum
from dfmigrate.urls import database_name
from tests.test_mysql_apply import finish, generated, history, migrate
from tests.test_mysql_guard import alive, instrumented_db, open_transaction  # noqa: F401 - a fixture
from tests.test_runner import cli, query

V1 = '''
from dfmigrate import field, model


@model
class Item:
    __timestamps__ = False
    label: str = field(max_length=40)


@model
class Tag:
    __timestamps__ = False
    item_id: int
    name: str = field(max_length=20)
'''

V2 = V1.replace("    item_id: int\n", '    item_id: int = field(references="items.id")\n')


def directory(tmp_path: Path, url: str) -> Path:
    mdir = generated(tmp_path, url, ("v1", V1), ("v2", V2))
    write_sum(str(mdir))
    return mdir


def foreign_keys(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
                      "WHERE CONSTRAINT_SCHEMA = DATABASE()")


def test_a_writer_of_the_referenced_table_stops_the_foreign_key_step_naming_it(mysql_url: str,
                                                                                tmp_path: Path) -> None:
    mdir = directory(tmp_path, mysql_url)
    steps = load_all(str(mdir))[1].cls().steps("mysql", "forward")
    (n, step), = [(n, s) for n, s in enumerate(steps, 1) if "FOREIGN KEY" in (s.sql or "")]
    assert step.target == "main.tags" and step.also_locks == ("main.items",), step
    assert cli(["migrate", "--database", mysql_url, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    query(mysql_url, "INSERT INTO items (id, label) VALUES (1, 'a'), (2, 'b')")
    query(mysql_url, "INSERT INTO tags (item_id, name) VALUES (1, 'x')")
    db = database_name(mysql_url)

    async def blocked(sql: str) -> tuple[tuple[int, dict[str, Any], str], int, bool]:
        async with open_transaction(mysql_url, sql) as (cur, pid):
            result = await asyncio.to_thread(finish, migrate(mysql_url, mdir, "--lock-timeout", "1",
                                                             "--retries", "1", "--format", "text"))
            still_there = await alive(cur)
            await cur.execute("COMMIT")
            return result, pid, still_there

    # a transaction that read the referenced table FOR UPDATE (it holds it as a writer does)
    (code, _, err), pid, still_there = asyncio.run(blocked("SELECT * FROM items WHERE id = 1 FOR UPDATE"))
    assert code == 2, err
    (line,) = err.splitlines()
    assert (f"statement {n} not run: it needs EXCLUSIVE metadata lock on {db}.tags (and one that waits for "
            f"writers on {db}.items, which its foreign key references)") in line, line
    assert f"connection {pid} (root@" in line and "transaction open" in line, line
    assert "DeadlockDetectorNode: timeout_inferred" in line and "no session was cancelled" in line, line
    assert still_there
    assert foreign_keys(mysql_url) == []  # the ALTER did not run
    assert [r[0] for r in history(mysql_url)] == ["0001_v1"]

    # a plain reader of the referenced table does not hold MariaDB's ALTER up: the step runs
    (code, report, err), _, still_there = asyncio.run(blocked("SELECT count(*) FROM items"))
    assert code == 0, err
    assert still_there
    assert foreign_keys(mysql_url) == [("tags", "items")]
    assert [r[0] for r in history(mysql_url)] == ["0001_v1", "0002_v2"]


def test_metadata_lock_info_judges_only_the_writers_of_the_referenced_table(
        instrumented_db: Callable[..., str], tmp_path: Path) -> None:  # noqa: F811
    url = instrumented_db("fkmli")
    mdir = directory(tmp_path, url)
    assert cli(["migrate", "--database", url, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    query(url, "INSERT INTO items (id, label) VALUES (1, 'a')")
    db = database_name(url)

    async def run_beside(sql: str) -> tuple[tuple[int, dict[str, Any], str], int]:
        async with open_transaction(url, sql) as (cur, pid):
            result = await asyncio.to_thread(finish, migrate(url, mdir, "--lock-timeout", "1", "--retries", "0"))
            await cur.execute("COMMIT")
            return result, pid

    (code, report, err), pid = asyncio.run(run_beside("SELECT * FROM items WHERE id = 1 FOR UPDATE"))
    assert code == 2, err
    assert report["verdicts"]["deadlock"]["sessions_from"] == "metadata_lock_info"
    assert f"held (metadata_lock_info) by connection {pid} (root@" in err, err
    assert f"holds SHARED_WRITE on {db}.items" in err, err  # what it holds, and on which table
    (code, report, err), _ = asyncio.run(run_beside("SELECT count(*) FROM items"))  # SHARED_READ: no wait
    assert code == 0 and report["applied"] == ["0002_v2"], err
    assert foreign_keys(url) == [("tags", "items")]

"""``kill -9`` at every statement of an online PostgreSQL migration, each followed by a rerun
that must end exactly where a clean run ends.

The migration is written by ``makemigrations`` from models and carries each online rewrite on an
existing, filled table: ``DROP INDEX CONCURRENTLY``, SET NOT NULL through a NOT VALID check, a
NOT NULL column added with a batched backfill, a unique constraint through a concurrent unique
index and ``USING INDEX``, a CHECK and a foreign key added NOT VALID then validated, and
``CREATE INDEX CONCURRENTLY``.

Where each kill lands is decided by the server, not by timing: an event trigger counts the DDL
statements that name the table and, at the K-th, sleeps inside it (``ddl_command_start``: the
statement has begun; ``ddl_command_end``, for the statements that run outside a transaction: it
has done its work but not returned). The test kills the run while it sleeps there, once for
every K, then removes the trigger and runs ``migrate``
again with default flags. Compared with a clean run: ``pg_dump --schema-only``, the history,
an empty progress record, no INVALID index, every constraint validated, ``drift`` clean.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_crash import history, schema_dump
import tests.test_makemigrations_online as online
from tests.test_makemigrations_online import _isolated, dfm, in_dir, project  # noqa: F401  (fixtures)
from tests.test_runner import query


# the models of the online tests, plus an index to drop concurrently, a CHECK and a backfilled column
V1 = online.V1 + "    qty: int = field(default=0, index=True)\n"
V2 = online.V2 + '    qty: int = field(default=0, check="qty >= 0")\n    score: int = field(backfill="n * 2")\n'
SEED = """
INSERT INTO parents (name) SELECT 'p' || g FROM generate_series(1, 20) g;
INSERT INTO items (code, n, parent_id, note, qty) SELECT 'c' || g, g, g % 20 + 1, 'note ' || g, g % 7
    FROM generate_series(1, 3000) g;
"""
# Sleeps inside the K-th DDL statement of the session that names the table or one of its
# indexes. The count is a session setting, not a sequence: nextval would give the transaction an
# id, and DROP INDEX CONCURRENTLY refuses to run in a transaction that has one.
ARM = (
    r"""CREATE FUNCTION kill_at() RETURNS event_trigger LANGUAGE plpgsql AS $f$
DECLARE
  n integer;
BEGIN
  IF current_query() ~* '\mitems' THEN
    n := coalesce(nullif(current_setting('kill.counter', true), ''), '0')::integer + 1;
    PERFORM set_config('kill.counter', n::text, false);
    IF n = {k} THEN
      PERFORM pg_sleep(300);
    END IF;
  END IF;
END $f$""",
    "CREATE EVENT TRIGGER kill_at ON {event} EXECUTE FUNCTION kill_at()",
)
DISARM = ("DROP EVENT TRIGGER kill_at", "DROP FUNCTION kill_at()")


def _prepared(run: Any, pg_db: Any, name: str) -> str:
    """A database at 0001 with rows in it (``run``: the in-process command line)."""
    url = pg_db(name)
    assert run("migrate", "--database", url, "--to", "0001_v1")[0] == 0
    for statement in SEED.strip().split(";\n"):
        query(url, statement)
    return url


def _kill_while_sleeping(root: Path, url: str) -> str | None:
    """Run ``migrate`` and kill -9 it while its session sleeps in the event trigger; returns the
    statement it was in, or None when the run finished without reaching the K-th statement."""
    from dfmigrate.guard.lock import APPLYING

    proc = online._start(root, url)
    try:
        deadline = time.monotonic() + 120
        while not (rows := query(url, "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                                      f" AND application_name = '{APPLYING}' AND wait_event = 'PgSleep'")):
            if proc.poll() is not None:
                assert proc.returncode == 0, f"the run failed before its kill: {proc.communicate()[0].decode()}"
                return None
            assert time.monotonic() < deadline, "the run never reached the statement"
            time.sleep(0.02)
        online._kill(url, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return str(rows[0][0])


def _end_state(url: str) -> dict[str, Any]:
    return {
        "schema": schema_dump(url),
        "history": [row[:2] for row in history(url)],
        "progress": query(url, "SELECT count(*) FROM dfmigrate_progress")[0][0],
        "invalid": query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")[0][0],
        "not_validated": query(url, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated")[0][0],
        "rows": query(url, "SELECT count(*), sum(score), count(*) FILTER (WHERE score <> n * 2) FROM items")[0],
    }


@pytest.mark.slow
def test_kill_9_inside_every_statement_then_rerun_equals_a_clean_run(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any) -> None:  # noqa: F811
    root = project("app", V1, 'dialects = ["postgresql"]\n')
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V2)
    assert dfm("makemigrations", "-m", "v2", "--allow-hazards", "breaks-clients")[0] == 0
    text = (root / "migrations" / "0002_v2.py").read_text()
    assert "CONCURRENTLY" in text and "NOT VALID" in text and "USING INDEX" in text, text

    clean = _prepared(dfm, pg_db, "clean")
    code, out, err = dfm("migrate", "--database", clean)
    assert code == 0, out + err
    expected = _end_state(clean)
    assert expected["progress"] == 0 and expected["invalid"] == 0 and expected["not_validated"] == 0
    assert expected["rows"] == (3000, sum(2 * g for g in range(1, 3001)), 0)

    def kill_and_rerun(k: int, event: str) -> str | None:
        url = _prepared(dfm, pg_db, f"k{k}{event[12]}")
        for sql in ARM:
            query(url, sql.format(k=k, event=event))
        statement = _kill_while_sleeping(root, url)
        for sql in DISARM:
            query(url, sql)
        if statement is None:  # past the last statement: the run finished by itself
            assert _end_state(url) == expected
            return None
        statement = " ".join(statement.split())
        where = f"a kill at {event} of statement {k} ({statement})"
        code, out, err = dfm("migrate", "--database", url)
        assert code == 0, f"rerun after {where}: {out}{err}"
        assert _end_state(url) == expected, f"after {where}"
        assert dfm("drift", "--database", url)[0] == 0, f"drift after {where}"
        return statement

    killed_in: list[str] = []
    while (statement := kill_and_rerun(len(killed_in) + 1, "ddl_command_start")) is not None:
        killed_in.append(statement)
    print("\n".join(f"{i + 1}: {s[:90]}" for i, s in enumerate(killed_in)))
    # every kind of statement of the online plan was hit
    kinds = ("DROP INDEX CONCURRENTLY", "NOT VALID", "VALIDATE CONSTRAINT", "SET NOT NULL", "ADD COLUMN",
             "CREATE UNIQUE INDEX CONCURRENTLY", "USING INDEX", "CREATE INDEX CONCURRENTLY")
    assert all(any(kind in s for s in killed_in) for kind in kinds), killed_in
    # A statement outside a transaction has done its work, committed, by the end of its command;
    # a kill there is a different state from a kill at its start. (A transactional statement
    # killed at its end rolls back exactly as one killed at its start.)
    for k, statement in enumerate(killed_in, 1):
        if "CONCURRENTLY" in statement:
            assert kill_and_rerun(k, "ddl_command_end") == statement

"""Online-safe PostgreSQL plans on real databases: each rewrite converges to the same schema as
the plain plan (the schema model and ``pg_dump --schema-only``), keeps the rows, and takes the
online form only on tables that exist before the migration."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from dfmigrate.core.engine import Plan, plan_migration
from dfmigrate.core.statement import Hazard, Statement
from tests.converge_util import (
    assert_converged,
    assert_same_dump,
    pg_apply,
    pg_connect,
    pg_execute_script,
    pg_inspect,
    pg_load_and_inspect,
)

# rows in every existing table: enough for several backfill batches
SEED = """
INSERT INTO parent SELECT g FROM generate_series(1, 50) g;
INSERT INTO t (id, parent_id, email, n, code)
    SELECT g, g % 50 + 1, 'e' || g, g, 'c' || g FROM generate_series(1, 12000) g;
INSERT INTO nopk SELECT g, g FROM generate_series(1, 12000) g;
"""
BASE = """
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, parent_id bigint, email text, n int, code varchar(10));
CREATE TABLE nopk (a int, b int);
CREATE INDEX t_n_idx ON t (n);
"""

# name → (target schema, SQL fragments the online plan must hold, must not hold)
CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "index": (BASE + "CREATE INDEX t_parent_idx ON t (parent_id) WHERE n > 5;",
              ("CREATE INDEX CONCURRENTLY t_parent_idx",), ()),
    "drop-index": (BASE.replace("CREATE INDEX t_n_idx ON t (n);", ""),
                   ("DROP INDEX CONCURRENTLY public.t_n_idx",), ()),
    "unique": (BASE + "ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE (email) DEFERRABLE;",
               ("CREATE UNIQUE INDEX CONCURRENTLY t_email_key", "UNIQUE USING INDEX t_email_key DEFERRABLE"),
               ()),
    "primary-key": (BASE + "ALTER TABLE nopk ADD PRIMARY KEY (a);",
                    ("CHECK (a IS NOT NULL) NOT VALID", "PRIMARY KEY USING INDEX nopk_pkey"), ()),
    "foreign-key": (BASE + "ALTER TABLE t ADD FOREIGN KEY (parent_id) REFERENCES parent(id) ON DELETE CASCADE;",
                    ("ON DELETE CASCADE NOT VALID", "VALIDATE CONSTRAINT t_parent_id_fkey"), ()),
    "check": (BASE + "ALTER TABLE t ADD CONSTRAINT t_n_positive CHECK (n > 0);",
              ("CHECK ((n > 0)) NOT VALID", "VALIDATE CONSTRAINT t_n_positive"), ()),
    "set-not-null": (BASE.replace("email text", "email text NOT NULL DEFAULT ''"),
                     ("CHECK (email IS NOT NULL) NOT VALID", "SET NOT NULL", "DROP CONSTRAINT t_email_not_null"),
                     ()),
    "volatile-default": (BASE.replace("code varchar(10)", "code varchar(10), token uuid NOT NULL DEFAULT gen_random_uuid()"),
                         ("ADD COLUMN token uuid;", "DO $dfmigrate$", "id >= _dfm_lo", "SET NOT NULL"),
                         ("ADD COLUMN token uuid NOT NULL",)),
    "volatile-default-no-key": (BASE.replace("b int)", "b int, seen timestamptz DEFAULT clock_timestamp())"),
                                ("ctid >=", "SET DEFAULT clock_timestamp()"), ("SET NOT NULL",)),
    "widen": (BASE.replace("code varchar(10)", "code text"), ("TYPE text",), ("CONCURRENTLY",)),
}


def _online_vs_plain(pg_db: Any, target_sql: str, seed: str = SEED) -> tuple[Plan, Plan, str, str]:
    """Migrate one copy of BASE+seed with the plain plan and another with the online plan;
    both must converge to the target, and their dumps must be equal."""
    plain_url, online_url, target_url = pg_db("plain"), pg_db("online"), pg_db("target")

    async def go() -> tuple[Plan, Plan]:
        target = await pg_load_and_inspect(target_url, target_sql)
        plans = []
        for url, online in ((plain_url, False), (online_url, True)):
            conn = await pg_connect(url)
            try:
                await pg_execute_script(conn, BASE + seed)
                before = await pg_inspect(conn)
                plan = plan_migration(before, target, online=online)
                await pg_apply(conn, plan)
                assert_converged(await pg_inspect(conn), target, plan)
                plans.append(plan)
            finally:
                await conn.close()
        return plans[0], plans[1]

    plain, online = asyncio.run(go())
    assert_same_dump(online_url, plain_url)
    return plain, online, plain_url, online_url


@pytest.mark.parametrize("case", sorted(CASES))
def test_online_rewrite_converges_like_the_plain_plan(pg_db: Any, case: str) -> None:
    target_sql, present, absent = CASES[case]
    plain, online, _, online_url = _online_vs_plain(pg_db, target_sql)
    script = online.sql()
    for fragment in present:
        assert fragment in script, f"{fragment!r} missing from the online plan:\n{script}"
    for fragment in absent:
        assert fragment not in script, f"{fragment!r} in the online plan:\n{script}"
    # the rows are still there, and a backfilled column is filled in every one of them
    rows = asyncio.run(_fetch(online_url, "SELECT count(*) FROM t"))
    assert rows == [(12000,)]
    if case == "volatile-default":
        assert asyncio.run(_fetch(online_url, "SELECT count(DISTINCT token) FROM t")) == [(12000,)]
    if case == "volatile-default-no-key":
        assert asyncio.run(_fetch(online_url, "SELECT count(*) FROM nopk WHERE seen IS NULL")) == [(0,)]


async def _fetch(url: str, query: str) -> list[tuple[Any, ...]]:
    conn = await pg_connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


def _schema(sql: str, pg_db: Any) -> Any:
    return asyncio.run(pg_load_and_inspect(pg_db("s"), sql))


def test_online_statements_carry_transaction_and_resume_data(pg_db: Any) -> None:
    old = _schema(BASE, pg_db)
    new = _schema(BASE + "CREATE INDEX t_code ON t (code);"
                  "ALTER TABLE t ADD FOREIGN KEY (parent_id) REFERENCES parent(id);"
                  "ALTER TABLE t ADD UNIQUE (email); DROP INDEX t_n_idx;", pg_db)
    by_sql = {s.sql.split(" ON ")[0]: s for s in plan_migration(old, new, online=True).statements}
    build = by_sql["CREATE INDEX CONCURRENTLY t_code"]
    assert (build.transactional, build.resume, build.lock) == (False, "index:public.t_code", "SHARE UPDATE EXCLUSIVE")
    drop = next(s for s in by_sql.values() if s.sql.startswith("DROP INDEX"))
    assert (drop.sql, drop.transactional, drop.resume) == (
        "DROP INDEX CONCURRENTLY public.t_n_idx", False, "no-index:public.t_n_idx")
    validate = next(s for s in by_sql.values() if "VALIDATE" in s.sql)
    assert validate.isolated and validate.transactional and Hazard.FAILS_ON_DATA in validate.hazards
    unique = next(s for s in by_sql.values() if "USING INDEX" in s.sql)
    assert unique.lock == "ACCESS EXCLUSIVE" and Hazard.VALIDATES_ROWS not in unique.hazards
    # the plain plan of the same change blocks writes while it builds
    plain = plan_migration(old, new)
    plain_index = next(s for s in plain.statements if s.sql.startswith("CREATE INDEX t_code"))
    assert plain_index.transactional and plain_index.lock == "SHARE"
    data = plain.to_dict()["statements"]
    assert next(d for d in data if d["sql"].startswith("CREATE INDEX"))["blocks"] == ["writes"]


def test_a_table_created_in_the_same_migration_gets_the_plain_form(pg_db: Any) -> None:
    old = _schema("CREATE TABLE a (id int PRIMARY KEY);", pg_db)
    new = _schema("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, "
                  "a_id int REFERENCES a(id), x int UNIQUE, y uuid NOT NULL DEFAULT gen_random_uuid());"
                  "CREATE INDEX b_x ON b (x);", pg_db)
    script = plan_migration(old, new, online=True).sql()
    assert script == plan_migration(old, new).sql()
    assert "CONCURRENTLY" not in script and "NOT VALID" not in script


def test_a_rewriting_type_change_is_flagged_never_silent(pg_db: Any) -> None:
    old = _schema("CREATE TABLE t (id int PRIMARY KEY, n int, price numeric(10,2), s varchar(20));", pg_db)
    new = _schema("CREATE TABLE t (id int PRIMARY KEY, n bigint, price numeric(12,2), s varchar(40));", pg_db)
    statements = plan_migration(old, new, online=True).statements
    retype = {s.sql.split("ALTER COLUMN ")[1].split()[0]: s for s in statements}
    assert Hazard.TABLE_REWRITE in retype["n"].hazards and "rewrites the whole table" in (retype["n"].comment or "")
    for cheap in ("price", "s"):  # binary-coercible widenings: no rewrite, no note
        assert Hazard.TABLE_REWRITE not in retype[cheap].hazards and retype[cheap].comment is None


def test_narrowing_and_lossy_type_changes_are_hazards(pg_db: Any) -> None:
    old = _schema("CREATE TABLE t (id int PRIMARY KEY, price numeric(10,4), s varchar(40));", pg_db)
    new = _schema("CREATE TABLE t (id int PRIMARY KEY, price numeric(10,2), s varchar(10));", pg_db)
    retype = {s.sql.split("ALTER COLUMN ")[1].split()[0]: s for s in plan_migration(old, new).statements}
    assert Hazard.DELETES_DATA in retype["price"].hazards  # rounded to two places
    assert Hazard.FAILS_ON_DATA in retype["s"].hazards and Hazard.DELETES_DATA not in retype["s"].hazards


def test_a_backfill_expression_fills_a_required_column(pg_db: Any) -> None:
    url, target_url = pg_db("backfill"), pg_db("t")

    async def go() -> list[Statement]:
        conn = await pg_connect(url)
        try:
            await pg_execute_script(conn, BASE + SEED)
            old = await pg_inspect(conn)
            new = await pg_load_and_inspect(target_url, BASE.replace("n int,", "n int, score int NOT NULL,"))
            plan = plan_migration(old, new, online=True, backfills={("public", "t", "score"): "n * 2"})
            await pg_apply(conn, plan)
            assert_converged(await pg_inspect(conn), new, plan)
            assert [tuple(r) for r in await conn.fetch("SELECT count(*) FROM t WHERE score <> n * 2")] == [(0,)]
            return plan.statements
        finally:
            await conn.close()

    statements = asyncio.run(go())
    fill = next(s for s in statements if s.sql.startswith("DO"))
    assert (fill.transactional, fill.resume, fill.lock) == (False, "rerun", "ROW EXCLUSIVE")
    assert Hazard.UPDATES_ROWS in fill.hazards


def test_diff_online_prints_a_pipeable_script(pg_db: Any) -> None:
    from_url, to_url = pg_db("from"), pg_db("to")
    asyncio.run(pg_load_and_inspect(from_url, BASE + SEED))
    asyncio.run(pg_load_and_inspect(to_url, CASES["unique"][0] + "CREATE INDEX t_code ON t (code);"))
    cmd = [sys.executable, "-m", "dfmigrate", "diff", "--from", from_url, "--to", to_url]
    plain = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    online = subprocess.run([*cmd, "--online"], capture_output=True, text=True, check=True).stdout
    assert "CONCURRENTLY" not in plain and "CREATE INDEX CONCURRENTLY t_code" in online
    assert "BEGIN;" not in online.upper() and "COMMIT;" not in online.upper()
    # psql in autocommit runs it as it is: CONCURRENTLY outside any transaction block
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", from_url], input=online, text=True,
                   check=True, capture_output=True)
    again = subprocess.run([*cmd, "--online"], capture_output=True, text=True, check=True).stdout
    assert again == ""


def test_diff_grades_each_table_from_live_statistics(pg_db: Any) -> None:
    import json

    from_url, to_url = pg_db("from"), pg_db("to")
    asyncio.run(pg_load_and_inspect(from_url, BASE + SEED + "ANALYZE;"))
    asyncio.run(pg_load_and_inspect(to_url, BASE + "CREATE INDEX t_code ON t (code);"
                                    "ALTER TABLE t ALTER COLUMN n TYPE bigint;"))
    cmd = [sys.executable, "-m", "dfmigrate", "diff", "--from", from_url, "--to", to_url]
    data = json.loads(subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=True).stdout)
    retype = next(s for s in data["statements"] if "TYPE bigint" in s["sql"])
    assert retype["table_size"]["rows"] == 12000 and retype["table_size"]["grade"] == "small"
    assert retype["blocks"] == ["reads", "writes"] and retype["estimated_s"] > 0
    text = subprocess.run([*cmd, "--format", "text", "--online"], capture_output=True, text=True, check=True).stdout
    assert "table: ~12,000 rows" in text and "(small); est." in text
    assert "lock: SHARE UPDATE EXCLUSIVE on public.t" in text  # the concurrent build blocks nothing

"""Convergence helpers: plan a migration, run it on a real database, and check the result.

The runner contract these helpers follow (and so check the plans against):

- PostgreSQL: the script header (``SET check_function_bodies = off``) for the session, then the
  plan's transactional statements in one transaction; a statement with ``transactional=False``
  runs between transactions (the open one is committed first and a new one opened after it),
  and one with ``isolated=True`` commits the open transaction and starts a new one.
- SQLite: the same, with the ``PRAGMA foreign_keys=OFF/ON`` statements that
  ``with_foreign_key_guard`` adds running outside the transaction, and any
  ``PRAGMA foreign_key_check`` that returns rows failing the run (rolled back).

Convergence means: after the plan ran, re-introspecting the database gives a schema whose diff
against the target is empty, and planning again from it gives no statement at all.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dfmigrate.diff import diff_schemas
from dfmigrate.dialects.postgres.render import SCRIPT_HEADER
from dfmigrate.dialects.sqlite.render import FOREIGN_KEY_CHECK, with_foreign_key_guard
from dfmigrate.core.engine import Plan, plan_migration
from dfmigrate.core.schema import Schema
from dfmigrate.sources.postgres import inspect_postgres_connection
from dfmigrate.sources.sqlite import inspect_sqlite_connection
from dfmigrate.core.statement import Statement

EMPTY_PG = Schema(dialect="postgresql", namespaces=("public",))
EMPTY_SQLITE = Schema(dialect="sqlite", namespaces=("main",))


class ApplyError(AssertionError):
    """A planned statement failed on the database (the message names the statement)."""


@dataclass
class Outcome:
    plan: Plan  # the plan that was applied
    after: Schema  # the database re-introspected after the plan ran


def describe_plan(plan: Plan | Sequence[Statement]) -> str:
    text = plan.sql() if isinstance(plan, Plan) else "".join(f"{s.sql};\n" for s in plan)
    return text or "(empty plan)"


def _fail_statement(plan: Plan | Sequence[Statement], statement: Statement, exc: BaseException) -> ApplyError:
    return ApplyError(
        f"statement failed: {type(exc).__name__}: {exc}\n--- statement:\n{statement.sql}\n"
        f"--- whole plan:\n{describe_plan(plan)}"
    )


def assert_converged(after: Schema, target: Schema, plan: Plan | None = None) -> None:
    """``after`` equals ``target`` for the diff, and a second plan is empty."""
    remaining = diff_schemas(after, target)
    context = f"\n--- applied plan:\n{describe_plan(plan)}" if plan is not None else ""
    assert remaining == [], f"diff after migration is not empty: {remaining!r}{context}"
    second = plan_migration(after, target)
    assert second.statements == [], f"second plan is not empty:\n{second.sql()}{context}"


# ---------------------------------------------------------------- PostgreSQL


async def pg_connect(url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(url, timeout=10)


async def pg_execute_script(conn: Any, sql: str) -> None:
    """Run a multi-statement SQL text (simple query protocol), as a fixture loader."""
    if sql.strip():
        await conn.execute(sql)


async def pg_reset_public(conn: Any) -> None:
    """An empty ``public`` again, without the cost of a new database."""
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


async def pg_inspect(conn: Any) -> Schema:
    return await inspect_postgres_connection(conn)


async def pg_apply(conn: Any, plan: Plan) -> None:
    """Run ``plan`` the way a runner must: one transaction for the transactional statements,
    the others between transactions. A failure rolls back the open transaction and raises."""
    await conn.execute(SCRIPT_HEADER)
    tx = None
    current: Statement | None = None
    try:
        for current in plan.statements:
            if not current.transactional:
                if tx is not None:
                    await tx.commit()
                    tx = None
                await conn.execute(current.sql)
                continue
            if tx is not None and current.isolated:  # it starts a transaction of its own
                await tx.commit()
                tx = None
            if tx is None:
                tx = conn.transaction()
                await tx.start()
            await conn.execute(current.sql)
        if tx is not None:
            await tx.commit()
            tx = None
    except Exception as exc:
        if tx is not None:
            await tx.rollback()
        assert current is not None
        raise _fail_statement(plan, current, exc) from exc
    finally:
        await conn.execute("RESET check_function_bodies")


async def pg_migrate(conn: Any, old: Schema, new: Schema) -> Outcome:
    """Plan old → new, apply it on ``conn`` (a database holding ``old``), re-introspect."""
    plan = plan_migration(old, new)
    await pg_apply(conn, plan)
    return Outcome(plan, await pg_inspect(conn))


async def pg_converge(conn: Any, target: Schema) -> Outcome:
    """Introspect the database behind ``conn``, migrate it to ``target``, check convergence."""
    before = await pg_inspect(conn)
    outcome = await pg_migrate(conn, before, target)
    assert_converged(outcome.after, target, outcome.plan)
    return outcome


async def pg_load_and_inspect(url: str, sql: str) -> Schema:
    conn = await pg_connect(url)
    try:
        await pg_execute_script(conn, sql)
        return await pg_inspect(conn)
    finally:
        await conn.close()


async def pg_fetch(conn: Any, query: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.fetch(query)]


def pg_converge_sql(from_url: str, to_url: str, from_sql: str, to_sql: str,
                    seed_sql: str = "", check_query: str | None = None) -> tuple[Outcome, list[tuple[Any, ...]] | None]:
    """Load ``from_sql`` (plus ``seed_sql``) into ``from_url`` and ``to_sql`` into ``to_url``
    (both empty databases), migrate the first to the second's introspected schema in one
    transaction, and check convergence: on the IR, and (independently of the source) on the
    normalized ``pg_dump --schema-only`` of both databases. Returns the outcome and
    ``check_query``'s rows on the migrated database."""

    async def go() -> tuple[Outcome, list[tuple[Any, ...]] | None]:
        target = await pg_load_and_inspect(to_url, to_sql)
        conn = await pg_connect(from_url)
        try:
            await pg_execute_script(conn, from_sql)
            await pg_execute_script(conn, seed_sql)
            outcome = await pg_converge(conn, target)
            rows = await pg_fetch(conn, check_query) if check_query else None
            return outcome, rows
        finally:
            await conn.close()

    result = asyncio.run(go())
    assert_same_dump(from_url, to_url)
    return result


# ---------------------------------------------------------------- SQLite


def sqlite_connect(path: str) -> sqlite3.Connection:
    """Autocommit mode (the runner issues BEGIN/COMMIT itself), foreign keys enforced."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def sqlite_apply(conn: sqlite3.Connection, plan: Plan | Sequence[Statement]) -> None:
    """Run ``plan`` (or bare statements) as the runner does: transactional statements in one
    transaction, the others outside it; a ``PRAGMA foreign_key_check`` that returns rows rolls
    back and fails."""
    statements: Sequence[Statement] = with_foreign_key_guard(plan.statements if isinstance(plan, Plan) else plan)
    in_tx = False
    for s in statements:
        try:
            if not s.transactional:
                if in_tx:
                    conn.execute("COMMIT")
                    in_tx = False
                conn.execute(s.sql)
                continue
            if not in_tx:
                conn.execute("BEGIN")
                in_tx = True
            rows = conn.execute(s.sql).fetchall()
        except sqlite3.Error as exc:
            if in_tx:
                conn.execute("ROLLBACK")
            conn.execute("PRAGMA foreign_keys=ON")
            raise _fail_statement(plan, s, exc) from exc
        if s.sql.startswith(FOREIGN_KEY_CHECK) and rows:
            conn.execute("ROLLBACK")
            conn.execute("PRAGMA foreign_keys=ON")
            raise ApplyError(f"foreign key violations after {s.sql}: {rows}\n--- plan:\n{describe_plan(plan)}")
    if in_tx:
        conn.execute("COMMIT")
    # A plan must leave foreign keys enforced, whatever it switched off on the way.
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,), "plan left foreign_keys OFF"


def sqlite_migrate(conn: sqlite3.Connection, old: Schema, new: Schema) -> Outcome:
    plan = plan_migration(old, new)
    sqlite_apply(conn, plan)
    return Outcome(plan, inspect_sqlite_connection(conn))


def sqlite_converge(conn: sqlite3.Connection, target: Schema) -> Outcome:
    before = inspect_sqlite_connection(conn)
    outcome = sqlite_migrate(conn, before, target)
    assert_converged(outcome.after, target, outcome.plan)
    return outcome


def first_difference(actual: Any, expected: Any, path: str = "schema") -> str | None:
    """Where two IR values first differ, as ``path: actual != expected`` (None when equal)."""
    import dataclasses

    if actual == expected:
        return None
    if dataclasses.is_dataclass(actual) and type(actual) is type(expected):
        for f in dataclasses.fields(actual):
            found = first_difference(getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}")
            if found:
                return found
    if isinstance(actual, tuple) and isinstance(expected, tuple):
        if len(actual) == len(expected):
            for i, (x, y) in enumerate(zip(actual, expected)):
                label = getattr(x, "name", i)
                found = first_difference(x, y, f"{path}[{label!r}]")
                if found:
                    return found
        names = lambda items: [getattr(x, "name", x) for x in items]  # noqa: E731
        return f"{path}: {names(actual)!r} != {names(expected)!r}"
    return f"{path}: {actual!r} != {expected!r}"


# ---------------------------------------------------------------- pg_dump: a check independent of the source

_DUMP_NOISE = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config\(|\\restrict |\\unrestrict )")


def pg_dump_normalized(url: str) -> list[str]:
    """``pg_dump --schema-only`` of the database as a sorted list of statements, without
    comments and settings, with the column lines of each CREATE TABLE sorted (ADD COLUMN
    appends; column order is not compared). An object the introspection misses on both sides
    still shows up here."""
    exe = shutil.which("pg_dump")
    if exe is None:
        raise AssertionError("pg_dump is not on PATH (the PostgreSQL convergence tests need it)")
    proc = subprocess.run([exe, "--schema-only", "--no-owner", "--no-privileges", "-d", url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"pg_dump failed: {proc.stderr.strip()}"
    lines = [line.rstrip() for line in proc.stdout.splitlines()
             if line.strip() and not _DUMP_NOISE.match(line)]
    statements, current, in_table = [], [], False
    columns: list[str] = []
    for line in lines:
        if in_table:
            if line.startswith(")"):
                current += sorted(columns)
                in_table, columns = False, []
            else:
                columns.append(line.rstrip(","))
                continue
        current.append(line)
        if re.match(r"^CREATE (UNLOGGED )?TABLE .*\($", line):
            in_table = True
        elif line.endswith(";"):
            statements.append("\n".join(current))
            current = []
    if current:
        statements.append("\n".join(current))
    return sorted(statements)


def assert_same_dump(migrated_url: str, target_url: str) -> None:
    import difflib

    migrated, target = pg_dump_normalized(migrated_url), pg_dump_normalized(target_url)
    if migrated != target:
        diff = "\n".join(difflib.unified_diff(target, migrated, "target", "migrated", lineterm="", n=1))
        raise AssertionError(f"pg_dump of the migrated database differs from the target's:\n{diff[:4000]}")

"""MySQL convergence: plan a migration between two live databases, run it, check the result.

Convergence means: after the plan ran on A, re-introspecting A gives exactly B's schema model,
``SHOW CREATE TABLE`` of every table is the same on both, and a second plan is empty.
``SHOW CREATE TABLE`` is compared without the AUTO_INCREMENT counter (data, not schema) and with
the index lines sorted: the server lists indexes in creation order, which carries no meaning and
which no migration can choose for an index added to an existing table. Each statement runs on its own connection
in autocommit, as MySQL DDL commits implicitly anyway.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from dfmigrate.dialects.mysql.connect import connect
from dfmigrate.dialects.mysql.quote import quote_ident
from dfmigrate.core.engine import Plan, plan_migration
from dfmigrate.core.schema import Schema
from dfmigrate.core.serialize import schema_to_json
from dfmigrate.sources.mysql import inspect_mysql

_COUNTER = re.compile(r" AUTO_INCREMENT=\d+")


async def execute(url: str, statements: list[str]) -> None:
    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            for sql in statements:
                await cur.execute(sql)
    finally:
        conn.close()


async def show_create_tables(url: str, schema: Schema) -> dict[str, str]:
    conn = await connect(url)
    try:
        out = {}
        async with conn.cursor() as cur:
            for t in schema.tables:
                await cur.execute(f"SHOW CREATE TABLE {quote_ident(t.name)}")
                row = await cur.fetchone()
                out[t.name] = _normalized(row[1])
        return out
    finally:
        conn.close()


_INDEX_LINE = re.compile(r"^  (UNIQUE |FULLTEXT |SPATIAL )?KEY ")


def _normalized(create: str) -> str:
    lines = _COUNTER.sub("", create).splitlines()
    keys = sorted(line.rstrip(",") for line in lines if _INDEX_LINE.match(line))
    rest = [line.rstrip(",") for line in lines if not _INDEX_LINE.match(line)]
    return "\n".join(rest[:-1] + keys + rest[-1:])


async def apply_plan(url: str, plan: Plan) -> None:
    conn = await connect(url)
    try:
        async with conn.cursor() as cur:
            for s in plan.statements:
                try:
                    await cur.execute(s.sql)
                except Exception as exc:  # re-raised with the statement and the whole plan
                    raise AssertionError(f"statement failed: {exc}\n--- statement:\n{s.sql}\n"
                                         f"--- whole plan:\n{plan.sql()}") from exc
    finally:
        conn.close()


async def converge(a_url: str, b_url: str) -> tuple[Plan, Schema]:
    """Run the plan A → B on A and check every convergence criterion; returns the plan."""
    before, target = await inspect_mysql(a_url), await inspect_mysql(b_url)
    plan = plan_migration(before, target)
    await apply_plan(a_url, plan)
    after = await inspect_mysql(a_url)
    assert after == target, (f"model differs after the plan\n--- plan:\n{plan.sql()}\n"
                             f"--- got:\n{schema_to_json(after)}\n--- want:\n{schema_to_json(target)}")
    got, want = await show_create_tables(a_url, after), await show_create_tables(b_url, target)
    if got != want:
        diffs = "\n".join("\n".join(difflib.unified_diff(want.get(n, "").splitlines(), got.get(n, "").splitlines(),
                                                        f"{n} (target)", f"{n} (migrated)", lineterm=""))
                          for n in sorted(set(got) | set(want)) if got.get(n) != want.get(n))
        raise AssertionError(f"SHOW CREATE TABLE differs\n{diffs}\n--- plan:\n{plan.sql()}")
    again = plan_migration(after, target)
    assert again.empty, f"second plan not empty:\n{again.sql()}"
    return plan, after


def statements(script: str) -> list[str]:
    """A script split on semicolons at line ends (the cases put each statement on its own)."""
    return [s.strip() for s in re.split(r";\s*\n", script + "\n") if s.strip()]


def run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)

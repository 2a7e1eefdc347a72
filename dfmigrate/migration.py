"""``SQLMigration``: the base class of every migration file dfmigrate writes.

A migration file is a Kailash ``Migration`` subclass (id, description, dependencies, forward,
backward) whose SQL is data: ``forward_sql`` / ``backward_sql`` lists that tools can read without
running anything (the writer, replay, ``migrate --dry-run``). Hand-written data migrations
override ``forward`` / ``backward`` instead, or list their own SQL.

This module imports Kailash at load time, which costs about a second: only code that loads
migration files imports it (never ``dfmigrate.cli`` at start-up).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kailash.utils.migrations import Migration as KailashMigration

__all__ = ["SQLMigration"]


class SQLMigration(KailashMigration):
    """Runs ``forward_sql`` / ``backward_sql`` in order on the connection it is given.

    ``conn`` is an asyncpg connection on PostgreSQL; on SQLite the runner (and replay) pass an
    adapter with the same ``await conn.execute(sql)`` method. Which statements must run outside
    a transaction is the runner's business: it reads ``non_transactional`` (indexes into
    ``forward_sql``) and ``backward_non_transactional`` (indexes into ``backward_sql``).
    """

    dialect: ClassVar[str] = ""  # "postgresql" or "sqlite": the dialect the SQL is written in
    forward_sql: ClassVar[list[str]] = []
    backward_sql: ClassVar[list[str]] = []
    non_transactional: ClassVar[list[int]] = []
    backward_non_transactional: ClassVar[list[int]] = []
    # (kind, namespace, name, digest or None): the planned state of what the forward SQL touches,
    # checked against the database before it runs (dfmigrate/expect.py); empty = not checked
    expects: ClassVar[list[tuple[str, str, str, str | None]]] = []

    async def forward(self, conn: Any) -> None:
        for sql in self.forward_sql:
            await conn.execute(sql)

    async def backward(self, conn: Any) -> None:
        for sql in self.backward_sql:
            await conn.execute(sql)

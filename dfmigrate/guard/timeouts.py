"""``lock_timeout`` / ``statement_timeout`` around the steps (PostgreSQL); on MySQL the lock
timeout is ``lock_wait_timeout`` (and InnoDB's row-lock wait), and the statement timeout is
MariaDB's ``max_statement_time``, which interrupts any statement, DDL included. MySQL's
``max_execution_time`` bounds read-only ``SELECT`` statements only, so MySQL has no statement
timeout for a migration: ``--statement-timeout`` is refused there (by the runner, before the
lock is taken).

In a transaction: ``SET LOCAL``, so a pooled or reused session keeps its own settings. Around a
step that runs outside any transaction (no ``SET LOCAL`` there): set for the session, reset
afterwards; behind a pooling proxy not at all, since the next statement may run on another
server session and the setting would stay on the one it reached (such a step then runs without
a lock_timeout: docs/guarded-apply.md).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

MARIADB_STATEMENT_TIMEOUT = 1969  # "Query execution was interrupted (max_statement_time exceeded)"
MYSQL_INTERRUPTED = 1317  # "Query execution was interrupted"


class Timeouts:
    def __init__(self, lock_timeout: float, statement_timeout: float, proxied: bool = False) -> None:
        self.lock_ms = max(1, round(lock_timeout * 1000))
        self.statement_ms = max(1, round(statement_timeout * 1000)) if statement_timeout else 0
        self.proxied = proxied

    async def local(self, conn: Any) -> None:
        if conn.dialect == "mysql" and not conn.script:
            await self._mysql(conn)
            return
        if conn.dialect != "postgresql" or conn.script:
            return
        await conn.execute(f"SET LOCAL lock_timeout = {self.lock_ms}")
        if self.statement_ms:
            await conn.execute(f"SET LOCAL statement_timeout = {self.statement_ms}")

    @property
    def mysql_lock_seconds(self) -> int:
        """MySQL's lock waits are set in whole seconds: ``--lock-timeout`` rounded up."""
        return max(1, math.ceil(self.lock_ms / 1000))

    def lock_setting(self, dialect: str) -> str:
        """The lock timeout as the server calls it, with the value it was set to."""
        if dialect == "mysql":
            return f"lock_wait_timeout ({self.mysql_lock_seconds} s)"
        return f"lock_timeout ({self.lock_ms / 1000:g} s)"

    def statement_expired(self, exc: BaseException) -> str | None:
        """"max_statement_time (N s) expired" when ``exc`` is MariaDB interrupting a statement
        that ran past it (error 1969; 1317 from an in-place ALTER TABLE, which a KILL QUERY
        would also give); else None."""
        if not self.statement_ms or not type(exc).__module__.startswith("asyncmy"):
            return None
        if exc.args[:1] in ((MARIADB_STATEMENT_TIMEOUT,), (MYSQL_INTERRUPTED,)):
            return f"max_statement_time ({self.statement_ms / 1000:g} s) expired"
        return None

    async def _mysql(self, conn: Any) -> None:
        """MySQL's session settings: the wait for a metadata lock (DDL) and for a row lock (a data
        step), and on MariaDB the statement timeout (0: none). A session of our own: nothing to
        reset, and nothing to send when it already has these (``session_settings``: another run's
        options on the same connection send them again)."""
        seconds = self.mysql_lock_seconds
        statement = f", max_statement_time = {self.statement_ms / 1000:g}" if getattr(conn, "mariadb", False) else ""
        sql = f"SET SESSION lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}{statement}"
        if conn.session_settings == sql:
            return
        conn.session_settings = None  # a failed SET leaves the session unknown: sent again next time
        await conn.execute(sql)
        conn.session_settings = sql

    @asynccontextmanager
    async def session(self, conn: Any) -> AsyncIterator[None]:
        if conn.dialect == "mysql" and not conn.script:
            await self._mysql(conn)
            yield
            return
        if conn.dialect != "postgresql" or conn.script or self.proxied:
            yield
            return
        await conn.execute(f"SET lock_timeout = {self.lock_ms}")
        if self.statement_ms:
            await conn.execute(f"SET statement_timeout = {self.statement_ms}")
        try:
            yield
        finally:
            try:
                await conn.execute("RESET lock_timeout; RESET statement_timeout")
            except Exception:  # a broken connection: nothing more runs on it, the failure is reported
                pass

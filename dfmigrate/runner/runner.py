"""``DfmigrateRunner``: Kailash's ``MigrationRunner`` with its defects overridden.

Kept from upstream: the ``Migration`` contract, ``register_migration`` and ``create_plan``
(dependency checks and the topological order). Overridden, each for a defect in kailash-notes §1:

- ``initialize``: upstream creates ``kailash_migrations`` with a naive ``TIMESTAMP`` that asyncpg
  refuses aware datetimes for; we create ``dfmigrate_history`` (``ledger.py``, TIMESTAMPTZ).
- ``get_applied_migrations`` / ``get_migration_history``: upstream calls ``conn.fetch`` with
  ``$n`` parameters, which aiosqlite lacks; we read through the dialect adapter.
- ``_apply_migration``: upstream records the migration *after* the DDL transaction commits (a
  crash in between leaves it applied but unrecorded) and only INSERTs (a rolled-back migration can
  never be recorded again); here DDL and the history upsert commit in one transaction.
- ``execute_plan`` / ``rollback_migration``: upstream refuses any plan with rollbacks
  (``is_safe()``) and its documented ``rollback_migration`` does not exist; ours is public.
- No lock upstream: two runners both ran the same migration. PostgreSQL takes a session
  advisory lock (``lock()``); on both dialects each migration re-checks the ledger inside its own
  transaction, so a migration another runner applied meanwhile is skipped, not run twice.

Statements a migration lists in ``non_transactional`` (and SQLite's ``PRAGMA foreign_keys``,
which is a no-op inside a transaction) run outside it: the leading ones before, the trailing ones
after. One sitting between transactional statements is refused rather than silently reordered.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kailash.utils.migrations import Migration, MigrationHistory, MigrationRunner
from kailash.utils.migrations.models import MigrationPlan

from dfmigrate.errors import DfmigrateError
from dfmigrate.runner import ledger

_ALWAYS_OUTSIDE = re.compile(r"^\s*PRAGMA\s+foreign_keys\s*=", re.IGNORECASE)
_FK_CHECK = re.compile(r"^\s*PRAGMA\s+foreign_key_check\b", re.IGNORECASE)
_LOCK_KEY = 0x64666D6967726174  # "dfmigrat": one advisory lock per database (= guard.lock.LOCK_KEY)
_LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired


@dataclass(frozen=True)
class MigrationFile:
    id: str  # "0002_x", the ledger's migration_id
    name: str  # "0002_x.py"
    shown: str  # how messages name it: "migrations/0002_x.py"
    cls: type[Migration]
    checksum: str  # sha256 of the file's bytes, recorded in the ledger and compared every run


def load_files(directory: Any) -> list[MigrationFile]:
    """The directory's migrations in execution order (``dfmigrate.migrations`` loads them)."""
    import hashlib

    from dfmigrate.migrations import as_dir, load_all

    store = as_dir(directory)
    return [MigrationFile(m.id, m.name, store.display(m.name), m.cls,
                          hashlib.sha256(store.read(m.name)).hexdigest()) for m in load_all(store)]


class MigrationFailed(DfmigrateError):
    """A migration's statement failed; its transaction was rolled back."""


@dataclass(frozen=True)
class Steps:
    before: list[str]  # outside the transaction, first
    body: list[str] | None  # in the transaction; None: call the migration's forward()/backward()
    after: list[str]  # outside the transaction, last


def steps_of(migration: Migration, direction: str) -> Steps:
    """What running ``migration`` in ``direction`` ("forward"/"backward") executes."""
    from dfmigrate.migration import SQLMigration

    method = getattr(type(migration), direction)
    if not isinstance(migration, SQLMigration) or method is not getattr(SQLMigration, direction):
        return Steps([], None, [])  # hand-written Python: runs whole, inside the transaction
    sql = list(migration.forward_sql if direction == "forward" else migration.backward_sql)
    listed = migration.non_transactional if direction == "forward" else migration.backward_non_transactional
    outside = [i in set(listed) or bool(_ALWAYS_OUTSIDE.match(s)) for i, s in enumerate(sql)]
    start = next((i for i, o in enumerate(outside) if not o), len(sql))
    end = max((i + 1 for i, o in enumerate(outside) if not o), default=start)
    if any(outside[start:end]):
        n = start + outside[start:end].index(True) + 1
        raise DfmigrateError(
            f"{migration.id}: {direction} statement {n} must run outside a transaction but sits between "
            "transactional ones; move it to the start or the end, or into a migration of its own")
    return Steps(sql[:start], sql[start:end], sql[end:])


class DfmigrateRunner(MigrationRunner):
    """Runs migration files on one open connection (``connections.PgConnection`` or
    ``SqliteConnection``), never through Kailash's global connection manager."""

    def __init__(self, conn: Any, files: list[MigrationFile], *, read_only: bool = False,
                 guard: Any = None) -> None:
        super().__init__({"type": conn.dialect}, migration_table=ledger.HISTORY_TABLE)
        self.conn = conn
        self.read_only = read_only  # dry runs and reports: never create the ledger
        from dfmigrate.guard.options import GuardOptions

        self.guard = guard or GuardOptions()
        self.observer: Any = None  # the lock connection (PostgreSQL): watches who blocks self.conn
        self.race: Any = None  # guard.detectors.RaceWatch
        self.deadlocks: Any = None  # guard.detectors.DeadlockWatch
        self.held: Any = None  # guard.lock.Held
        self.steps_report: list[dict[str, Any]] = []
        self.files = {f.id: f for f in files}
        for f in files:  # in id order: upstream's Kahn sort breaks ties by registration order
            self.register_migration(f.cls)

    # ------------------------------------------------------------ ledger (upstream defects 1, 2)

    async def initialize(self) -> None:
        if not self.read_only:
            await ledger.create(self.conn)
        self._initialized = True

    async def get_applied_migrations(self) -> set[str]:
        return {row.migration_id for row in await ledger.read(self.conn)}

    async def get_migration_history(self, migration_id: str | None = None) -> list[ledger.HistoryRow]:  # type: ignore[override]
        rows = await ledger.read(self.conn)
        return [r for r in rows if migration_id in (None, r.migration_id)]

    async def lock(self, lock_conn: Any = None) -> None:
        """Serialize runners on PostgreSQL: poll the session advisory lock on ``lock_conn`` (a
        dedicated connection, outside any transaction; ``self.conn`` when none is given) for up to
        ``guard.lock_wait`` seconds (``dfmigrate.guard.lock``). The lock connection then watches
        for sessions blocking the migrations. SQLite serializes through ``BEGIN IMMEDIATE`` per
        migration instead (busy timeout: 30 s)."""
        if self.conn.dialect != "postgresql":
            return
        from dfmigrate.guard import lock as guard_lock
        from dfmigrate.guard.detectors import DeadlockWatch, RaceWatch

        lock_conn = lock_conn or self.conn
        self.race = RaceWatch(f"advisory:{_LOCK_KEY}:{ledger.HISTORY_TABLE}")
        self.deadlocks = DeadlockWatch()
        self.held = await guard_lock.acquire(lock_conn, self.guard.lock_wait, self.guard.poll, self.race)
        self.lock_conn = lock_conn
        if lock_conn is not self.conn:
            self.observer = lock_conn

    async def unlock(self) -> bool:
        if getattr(self, "lock_conn", None) is None:
            return True
        from dfmigrate.guard import lock as guard_lock

        conn, self.lock_conn = self.lock_conn, None
        return await guard_lock.release(conn, self.race)

    async def verdicts(self) -> dict[str, Any]:
        return {"race": await self.race.verdict() if self.race else None,
                "deadlock": await self.deadlocks.verdict() if self.deadlocks else None}

    # ------------------------------------------------------------ planning

    async def plan_forward(self, to: str | None = None) -> MigrationPlan:
        """Upstream's plan, minus its trap: a ``target_migration`` that is not pending (already
        applied, or unknown) made it plan *everything*."""
        if to is not None and to not in self.files:
            raise DfmigrateError(f"no migration {to!r} in the directory")
        plan = await self.create_plan()
        if plan.warnings:
            raise DfmigrateError("; ".join(plan.warnings))
        if to is not None:
            if to not in plan.dependency_order:
                return MigrationPlan()
            cut = plan.dependency_order.index(to) + 1
            plan.migrations_to_apply = plan.migrations_to_apply[:cut]
            plan.dependency_order = plan.dependency_order[:cut]
        return plan

    # ------------------------------------------------------------ applying (defects 4, 5, 6)

    async def execute_plan(self, plan: MigrationPlan, dry_run: bool = False, user: str = "") -> list[MigrationHistory]:
        """Rollbacks first (upstream refuses them), else forward migrations; stops at the first
        failure by raising ``MigrationFailed`` (upstream returned it as a record)."""
        if dry_run:
            raise DfmigrateError("use dry_run_sql(plan): a dry run prints SQL, it does not validate")
        done: list[MigrationHistory] = []
        try:
            for migration in plan.migrations_to_rollback:
                done.append(await self._rollback_migration(migration, user, False))
            for migration in [] if plan.migrations_to_rollback else plan.migrations_to_apply:
                done.append(await self._apply_migration(migration, user, False))
        except MigrationFailed as exc:
            if not done:
                raise
            # the error is all the user sees: say what did commit before it
            raise MigrationFailed(f"{exc} (committed before it: {', '.join(h.migration_id for h in done)})") from exc
        return done

    async def _apply_migration(self, migration: Migration, user: str, dry_run: bool) -> MigrationHistory:
        return await self._run(migration, "forward", self.files[migration.id].checksum, "forward")

    async def _rollback_migration(self, migration: Migration, user: str, dry_run: bool) -> MigrationHistory:
        return await self._run(migration, "backward", "", "")

    async def rollback_migration(self, migration_id: str) -> MigrationHistory:
        """Public rollback (the upstream docstring promises it; only a private one exists)."""
        if migration_id not in self.files:
            raise DfmigrateError(f"cannot roll back {migration_id}: its file is not in the directory")
        return await self._rollback_migration(self.files[migration_id].cls(), "", False)

    async def _record_migration(self, conn: Any, migration: Migration, *args: Any) -> None:
        raise NotImplementedError("recording happens inside the migration's transaction (_run)")

    async def _run(self, migration: Migration, direction: str, checksum: str, how: str) -> MigrationHistory:
        steps = steps_of(migration, direction)
        started = time.monotonic()
        step: dict[str, Any] = {"migration": migration.id, "direction": direction, "attempts": 0,
                                "lock_waits": [], "outcome": "running"}
        self.steps_report.append(step)
        try:
            await self._outside(migration, steps.before, 0)
            attempt = 0
            while True:
                attempt += 1
                step["attempts"] = attempt
                watch = self._watch()
                try:
                    async with self._watching(watch):
                        async with self.conn.transaction():
                            await self._timeouts()
                            present = await ledger.read_one(self.conn, migration.id) is not None
                            if present == (direction == "forward"):  # another runner got here first
                                step["outcome"] = "skipped: already done by another run"
                                return self._history(migration, started, direction)
                            await self._inside(migration, direction, steps)
                            await self._ledger(migration, direction, checksum, started, how)
                    self._note_waits(step, watch)
                    break
                except MigrationFailed as exc:
                    self._note_waits(step, watch)
                    if not _lock_timed_out(exc):
                        raise
                    if attempt > self.guard.retries:
                        step["outcome"] = "gave up: lock timeout"
                        raise MigrationFailed(await self._blocked_message(migration, direction, attempt, watch)) from exc
                    import asyncio
                    import random

                    await asyncio.sleep(self.guard.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.25))
            await self._outside(migration, steps.after, len(steps.before) + len(steps.body or ()))
            step["outcome"] = "applied" if direction == "forward" else "rolled back"
        except BaseException:
            if step["outcome"] == "running":
                step["outcome"] = "failed"
            raise
        finally:
            step["duration_ms"] = _ms(started)
            if steps.before and self.conn.dialect == "sqlite":
                await self.conn.execute("PRAGMA foreign_keys=ON")  # a failure must not leave it off
        return self._history(migration, started, direction)

    # ------------------------------------------------------------ guard (PostgreSQL)

    async def _timeouts(self) -> None:
        """lock_timeout / statement_timeout for this transaction only (SET LOCAL: a pooled or
        reused session keeps its own settings)."""
        if self.conn.dialect != "postgresql":
            return
        await self.conn.execute(f"SET LOCAL lock_timeout = {max(1, round(self.guard.lock_timeout * 1000))}")
        if self.guard.statement_timeout:
            await self.conn.execute(f"SET LOCAL statement_timeout = {max(1, round(self.guard.statement_timeout * 1000))}")

    def _watch(self) -> Any:
        if self.observer is None:
            return None
        from dfmigrate.guard.blockers import Watch

        return Watch(self.conn.raw.get_server_pid())

    def _watching(self, watch: Any) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def ctx() -> Any:
            if watch is None:
                yield
                return
            import asyncio

            from dfmigrate.guard.blockers import watch as run_watch

            task = asyncio.ensure_future(run_watch(self.observer, watch, self.guard.poll, self.deadlocks,
                                                   self.guard.lock_timeout / 2))
            try:
                yield
            finally:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception as exc:  # observing is advisory: never fails the migration
                    watch.error = f"{type(exc).__name__}: {exc}"

        return ctx()

    def _note_waits(self, step: dict[str, Any], watch: Any) -> None:
        if watch is not None and watch.seen:
            step["lock_waits"].append({"attempt": step["attempts"], "waited_s": round(watch.longest_wait, 2),
                                       "blockers": [dict(b) for b in watch.seen.values()]})

    async def _blocked_message(self, migration: Migration, direction: str, attempts: int, watch: Any) -> str:
        verdict = (await self.deadlocks.verdict())["verdict"] if self.deadlocks else "not run"
        blocked = watch.describe() if watch is not None else "blockers not observed (no observer connection)"
        return (f"{migration.id} ({direction}): lock_timeout ({self.guard.lock_timeout:g} s) expired on each of "
                f"{attempts} attempt(s); rolled back, schema and history unchanged; blocked by {blocked}; "
                f"deadlock detector: {verdict}; no session was cancelled")

    async def _ledger(self, migration: Migration, direction: str, checksum: str, started: float, how: str) -> None:
        try:
            if direction == "forward":
                await ledger.record(self.conn, migration.id, checksum, _ms(started), how)
            else:
                await ledger.delete(self.conn, migration.id)
        except Exception as exc:
            raise MigrationFailed(f"{migration.id} ({direction}): writing {ledger.HISTORY_TABLE} failed: "
                                  f"{_reason(exc)}; rolled back, schema and history unchanged") from exc

    async def _inside(self, migration: Migration, direction: str, steps: Steps) -> None:
        # upstream's contract: validate() gates forward(), on the connection it will run on
        if direction == "forward" and not await migration.validate(self.conn):
            raise MigrationFailed(f"{migration.id}: its validate() returned False; nothing applied")
        if steps.body is None:
            try:
                await getattr(migration, direction)(self.conn)
            except Exception as exc:
                raise MigrationFailed(f"{migration.id} ({direction}) failed: {_reason(exc)}; "
                                      "rolled back, schema and history unchanged") from exc
            return
        for n, sql in enumerate(steps.body, len(steps.before) + 1):
            await self._statement(migration, direction, n, sql, True)

    async def _outside(self, migration: Migration, statements: list[str], offset: int) -> None:
        for n, sql in enumerate(statements, offset + 1):
            await self._statement(migration, "", n, sql, False)

    async def _statement(self, migration: Migration, direction: str, n: int, sql: str, inside: bool) -> None:
        try:
            if _FK_CHECK.match(sql):
                rows = await self.conn.fetch(sql)
                if rows:
                    raise DfmigrateError(f"foreign key violations: {rows[:3]}")
            else:
                await self.conn.execute(sql)
        except Exception as exc:
            outcome = ("rolled back, schema and history unchanged" if inside
                       else "this statement runs outside the transaction")
            raise MigrationFailed(f"{migration.id}: statement {n} failed: {_reason(exc)} ({outcome})") from exc

    def _history(self, migration: Migration, started: float, direction: str) -> MigrationHistory:
        now = datetime.now(timezone.utc)
        return MigrationHistory(migration.id, now, ledger.who(), time.monotonic() - started, True,
                                rollback_at=now if direction == "backward" else None)

    # ------------------------------------------------------------ dry run

    def dry_run_sql(self, plan: MigrationPlan, direction: str = "forward") -> str:
        """Exactly what would run, in order, with the transaction boundaries."""
        migrations = plan.migrations_to_rollback if direction == "backward" else plan.migrations_to_apply
        out: list[str] = []
        for m in migrations:
            steps = steps_of(m, direction)
            out.append(f"-- {m.id}: {m.description} ({direction})")
            out += [f"{s};" for s in steps.before]
            out.append("BEGIN;")
            out += [f"{s};" for s in steps.body] if steps.body is not None else [
                f"-- runs {type(m).__name__}.{direction}() (Python code)"]
            out.append(f"-- {'record' if direction == 'forward' else 'delete'} {m.id} in {ledger.HISTORY_TABLE}")
            out.append("COMMIT;")
            out += [f"{s};" for s in steps.after]
            out.append("")
        return "\n".join(out)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _lock_timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, DfmigrateError) else f"{type(exc).__name__}: {text}"

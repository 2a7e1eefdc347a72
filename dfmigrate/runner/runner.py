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
Each (but the PRAGMA, a session setting) has a progress record (``progress.py``), runs under a
session-level lock_timeout with the transaction's retries, and is resumed by the next run after
a crash; the history row then commits after the last of them, not with the body.
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
from dfmigrate.runner import ledger, progress, timings

_ALWAYS_OUTSIDE = re.compile(r"^\s*PRAGMA\s+foreign_keys\s*=", re.IGNORECASE)
_FK_CHECK = re.compile(r"^\s*PRAGMA\s+foreign_key_check\b", re.IGNORECASE)
_LOCK_KEY = 0x64666D6967726174  # "dfmigrat": one advisory lock per database (= guard.lock.LOCK_KEY)
_LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired
# The migration connection's name while it applies: a backend still carrying it while another run
# holds the lock belongs to a run that died (kill -9) and has not noticed yet.
APPLYING = "dfmigrate migrate: applying"
_CHECK_CLIENT_MS = 250  # client_connection_check_interval (PostgreSQL 14+): see _claim_session


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

    from dfmigrate.migration import kailash_class
    from dfmigrate.migrations import as_dir, load_all

    store = as_dir(directory)
    return [MigrationFile(m.id, m.name, store.display(m.name), kailash_class(m.cls),
                          hashlib.sha256(store.read(m.name)).hexdigest()) for m in load_all(store)]


class MigrationFailed(DfmigrateError):
    """A migration's statement failed; its transaction was rolled back."""


@dataclass(frozen=True)
class Steps:
    before: list[str]  # outside the transaction, first
    body: list[str] | None  # in the transaction; None: call the migration's forward()/backward()
    after: list[str]  # outside the transaction, last


def steps_of(migration: Migration, direction: str, dialect: str) -> Steps:
    """What running ``migration`` in ``direction`` ("forward"/"backward") executes."""
    from dfmigrate.migration import migration_steps

    listed = migration_steps(migration, dialect, direction)
    if any(s.python is not None for s in listed):  # Python code: forward()/backward() runs every step
        return Steps([], None, [])
    sql = [s.sql for s in listed]
    outside = [not s.transactional for s in listed]
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
        from uuid import uuid4

        from dfmigrate.guard.metrics import StepMetrics

        self.run_id = uuid4().hex  # tells this run's timings from the history it is judged by
        self.metrics = StepMetrics()
        self.files = {f.id: f for f in files}
        for f in files:  # in id order: upstream's Kahn sort breaks ties by registration order
            self.register_migration(f.cls)

    # ------------------------------------------------------------ ledger (upstream defects 1, 2)

    async def initialize(self) -> None:
        if not self.read_only:
            await ledger.create(self.conn)
            await timings.create(self.conn)
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
        if self.guard.lock_mode == "transaction" and lock_conn is self.conn:
            raise DfmigrateError("--lock-mode transaction needs a lock connection of its own")
        self.race = RaceWatch(f"advisory:{_LOCK_KEY}:{ledger.HISTORY_TABLE}")
        self.deadlocks = DeadlockWatch()
        self.held = await guard_lock.acquire(lock_conn, self.guard.lock_wait, self.guard.poll, self.race,
                                             mode=self.guard.lock_mode)
        self.lock_conn = lock_conn
        if lock_conn is not self.conn:
            self.observer = lock_conn
        await self._claim_session()

    async def _claim_session(self) -> None:
        """After a kill -9 the server ends an idle session at once (releasing the advisory lock),
        but a backend in the middle of a statement runs on until it next talks to its client:
        an orphaned ``CREATE INDEX CONCURRENTLY`` may even finish and commit. So (1) our own
        migration connection asks the server to poll for a vanished client every 250 ms
        (``client_connection_check_interval``, PostgreSQL 14+), and (2) before touching
        anything we wait until no backend of a dead run is still working here; only then is
        what the catalog shows final (``progress.settle`` relies on it)."""
        import asyncio

        try:
            await self.conn.execute(f"SET client_connection_check_interval = {_CHECK_CLIENT_MS}")
        except Exception:  # PostgreSQL < 14: orphans end when their statement does
            pass
        if self.conn is not self.lock_conn:  # the lock connection keeps its "lock since" name
            await self.conn.fetch("SELECT set_config('application_name', $1, false)", APPLYING)
        wait = max(self.guard.lock_wait, 5.0)
        started = time.monotonic()
        while True:
            rows = await self.conn.fetch(
                "SELECT pid, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query,"
                " round(extract(epoch FROM now() - query_start)::numeric, 1)::float8 AS age FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name LIKE 'dfmigrate migrate%'"
                " AND state <> 'idle' AND pid <> pg_backend_pid() AND pid <> $1", self.held.pid)
            if not rows:
                self.held.orphans_waited = round(time.monotonic() - started, 3)
                return
            if time.monotonic() - started > wait:
                r = rows[0]
                raise DfmigrateError(
                    f"pid {r['pid']}, the backend of an interrupted dfmigrate run, is still {r['state']} here "
                    f"(query {r['query']!r}, for {r['age']} s); it stops when that statement ends or the server notices "
                    f"its client is gone: run migrate again then (dfmigrate cancels no session; waited {wait:g} s)")
            await asyncio.sleep(self.guard.poll)

    async def unlock(self) -> bool:
        if getattr(self, "lock_conn", None) is None:
            return True
        from dfmigrate.guard import lock as guard_lock

        conn, self.lock_conn = self.lock_conn, None
        return await guard_lock.release(conn, self.race, mode=self.held.mode if self.held else "session")

    async def metrics_report(self) -> dict[str, Any]:
        """Per-kind aggregates of this run's statements (TransactionMetricsNode) and the ones
        whose duration departs from their kind's history here (PerformanceAnomalyNode)."""
        measured = [{"migration": step["migration"], **s} for step in self.steps_report
                    for s in step.get("statements", [])]
        kinds = sorted({m["kind"] for m in measured})
        try:
            past = await timings.history(self.conn, kinds, self.run_id) if kinds else {}
        except Exception as exc:  # advisory: no history table yet, or the connection is gone
            return {"per_kind": await self.metrics.aggregated(), "anomalies": [], "judged": 0,
                    "error": f"history unavailable: {type(exc).__name__}: {exc}"}
        return await self.metrics.report(past, measured)

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
        """One migration: its leading outside statements, its transaction, its trailing outside
        statements. The history row commits with the transaction when nothing tracked follows
        it outside, else in a last transaction of its own after them (``progress``)."""
        steps = steps_of(migration, direction, self.conn.dialect)
        started = time.monotonic()
        step: dict[str, Any] = {"migration": migration.id, "direction": direction, "attempts": 0,
                                "lock_waits": [], "outside": [], "outcome": "running"}
        self.steps_report.append(step)
        file_sum = self.files[migration.id].checksum
        first_body = len(steps.before) + 1
        finish_later = any(map(_tracked, steps.after))
        try:
            done = await self._progress_of(migration, direction, file_sum)
            if direction == "forward" and not done:  # a resumed migration is part-way, not stale
                await self._check_expectations(migration, step)
            if any(map(_tracked, steps.before + steps.after)) and not self.read_only:
                await progress.create(self.conn)
            await self._outside(migration, direction, steps.before, 0, done, file_sum, step)
            if done.get(progress.BODY) == "done":
                step["body"] = "committed by an earlier, interrupted run"
            elif not await self._body(migration, direction, checksum, how, steps, started, step,
                                      bool(done), finish_later, file_sum):
                return self._history(migration, started, direction)  # another runner did it
            await self._outside(migration, direction, steps.after, first_body - 1 + len(steps.body or ()),
                                done, file_sum, step)
            if finish_later:
                async with self.conn.transaction():
                    if await self._already(migration, direction, step):
                        return self._history(migration, started, direction)
                    await self._ledger(migration, direction, checksum, started, how, clear=True)
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

    async def _check_expectations(self, migration: Migration, step: dict[str, Any]) -> None:
        """Refuse a migration whose planned objects changed since it was written (its
        ``expects``, from ``dfmigrate.expect``): read under the migration lock, so no other
        dfmigrate run can change them between this check and the migration. Files without
        ``expects`` (hand-written, or older) are not checked."""
        expected = getattr(migration, "expects", None)
        if not expected:
            return
        from dfmigrate.expect import PlanChanged, live_mismatches

        found = await live_mismatches(self.conn, expected)
        step["expectations"] = {"checked": len(expected), "changed": [str(m) for m in found]}
        if found:
            step["outcome"] = "refused: planned objects changed"
            if self.race is not None:
                await self.race.plan_changed(migration.id, [str(m.ref) for m in found])
            raise PlanChanged(migration.id, found)

    async def _body(self, migration: Migration, direction: str, checksum: str, how: str, steps: Steps,
                    started: float, step: dict[str, Any], had_progress: bool, finish_later: bool,
                    file_sum: str) -> bool:
        """The transaction, retried on lock timeouts. False: another runner had already done it."""
        attempt = 0
        while True:
            attempt += 1
            step["attempts"] = attempt
            self._forget_inside(step)  # an attempt rolled back: its timings did not happen
            watch = self._watch()
            try:
                async with self._watching(watch):
                    async with self.conn.transaction():
                        await self._timeouts()
                        if await self._already(migration, direction, step):
                            return False
                        await self._inside(migration, direction, steps)
                        if finish_later:  # committed with the DDL: a resumed run skips the body
                            await progress.mark(self.conn, migration.id, direction, progress.BODY, file_sum, "done",
                                                f"statements {len(steps.before) + 1}-"
                                                f"{len(steps.before) + len(steps.body or ())}")
                        else:
                            await self._ledger(migration, direction, checksum, started, how, clear=had_progress)
                self._note_waits(step, watch, attempt)
                return True
            except MigrationFailed as exc:
                self._note_waits(step, watch, attempt)
                if not _lock_timed_out(exc):
                    raise
                if attempt > self.guard.retries:
                    step["outcome"] = "gave up: lock timeout"
                    raise MigrationFailed(await self._blocked_message(migration, direction, attempt, watch)) from exc
                await self._backoff(attempt)

    async def _already(self, migration: Migration, direction: str, step: dict[str, Any]) -> bool:
        present = await ledger.read_one(self.conn, migration.id) is not None
        if present == (direction == "forward"):  # another runner got here first
            step["outcome"] = "skipped: already done by another run"
            return True
        return False

    async def _backoff(self, attempt: int) -> None:
        import asyncio
        import random

        await asyncio.sleep(self.guard.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.25))

    # ------------------------------------------------------------ outside the transaction

    async def _progress_of(self, migration: Migration, direction: str, file_sum: str) -> dict[int, str]:
        """{step: state} of an earlier, interrupted run of this migration in this direction.
        Refuses when another migration is half-done in the other direction, or when the file
        changed since its steps ran (resuming would mix two versions)."""
        rows = await progress.read(self.conn)
        for r in rows:
            if r.direction != direction:
                verb, command = ("applying", "migrate") if r.direction == "forward" else ("rolling back", "rollback")
                raise DfmigrateError(
                    f"{r.migration_id}: an interrupted run stopped {verb} it (statement {r.step}, {r.state}; see "
                    f"{progress.PROGRESS_TABLE}): run 'dfmigrate {command}' to finish that first")
        mine = [r for r in rows if r.migration_id == migration.id]
        if any(r.checksum != file_sum for r in mine):
            raise DfmigrateError(
                f"{self.files[migration.id].shown} was partly {'applied' if direction == 'forward' else 'rolled back'} "
                f"from another version of the file (steps {', '.join(str(r.step) for r in mine)} in "
                f"{progress.PROGRESS_TABLE}): restore that version and run again, or undo those steps by hand and "
                f"run 'dfmigrate resolve {migration.id} --rolled-back' to clear them")
        return {r.step: r.state for r in mine}

    async def _outside(self, migration: Migration, direction: str, statements: list[str], offset: int,
                       done: dict[int, str], file_sum: str, step: dict[str, Any]) -> None:
        for n, sql in enumerate(statements, offset + 1):
            if _tracked(sql):
                await self._outside_step(migration, direction, n, sql, done, file_sum, step)
            else:  # a session setting (PRAGMA foreign_keys): nothing to resume
                await self._statement(migration, "", n, sql, False)

    async def _outside_step(self, migration: Migration, direction: str, n: int, sql: str,
                            done: dict[int, str], file_sum: str, step: dict[str, Any]) -> None:
        """One tracked statement outside the transaction: ``running`` is committed before it
        starts and ``done`` after it returns; a ``running`` left by an earlier run is settled
        from the catalog first (``progress.settle``). Lock timeouts are retried like the
        transaction's, each retry settling what the timed-out attempt left."""
        entry: dict[str, Any] = {"statement": n, "attempts": 0, "outcome": "running"}
        step["outside"].append(entry)
        if done.get(n) == "done":
            entry["outcome"] = "done by an earlier, interrupted run"
            return
        state = done.get(n)
        attempt = 0
        while True:
            attempt += 1
            entry["attempts"] = attempt
            watch = self._watch()
            try:
                async with self._session_timeouts(), self._watching(watch):
                    if state == "running":
                        settled = await progress.settle(self.conn, sql)
                        entry.setdefault("resumed", []).append({"found": settled.found, "action": settled.action})
                        if settled.complete:
                            await progress.mark(self.conn, migration.id, direction, n, file_sum, "done", sql)
                            done[n] = entry["outcome"] = "done"
                            return
                    else:
                        await progress.mark(self.conn, migration.id, direction, n, file_sum, "running", sql)
                        state = done[n] = "running"
                    await self._timed(step, n, sql, inside=False)
                    await progress.mark(self.conn, migration.id, direction, n, file_sum, "done", sql)
                    done[n] = entry["outcome"] = "done"
                self._note_waits(step, watch, f"statement {n}, attempt {attempt}")
                return
            except Exception as exc:
                self._note_waits(step, watch, f"statement {n}, attempt {attempt}")
                if _lock_timed_out(exc) and attempt <= self.guard.retries:
                    await self._backoff(attempt)
                    continue
                entry["outcome"] = "failed"
                raise MigrationFailed(await self._outside_failure(migration, direction, n, sql, attempt, exc, watch)) from exc

    async def _outside_failure(self, migration: Migration, direction: str, n: int, sql: str, attempts: int,
                               exc: Exception, watch: Any) -> str:
        """The message, after a best-effort cleanup of what the failed statement left (an
        invalid index): its ``running`` row stays, so the next run settles it again anyway."""
        left = ""
        try:
            async with self._session_timeouts():
                settled = await progress.settle(self.conn, sql)
            if "INVALID" in settled.found:
                left = f"; dropped the invalid {settled.found.split(' INVALID')[0]} it left"
        except Exception as cleanup:  # blocked too, or the connection is gone: the next run settles it
            if progress.leaves_invalid_index(sql):
                left = f"; an invalid index it left may remain ({_reason(cleanup)}): the next run drops it"
        what = (f"lock_timeout ({self.guard.lock_timeout:g} s) expired on each of {attempts} attempt(s), blocked by "
                f"{watch.describe() if watch is not None else 'sessions not observed'}; {self._cancelled()}"
                if _lock_timed_out(exc) else _reason(exc))
        command = "migrate" if direction == "forward" else "rollback"
        before = "the statements before it stay applied, " if n > 1 else ""
        return (f"{migration.id}: statement {n} failed: {what} (it runs outside the transaction{left}; {before}"
                f"the history is unchanged, and the next '{command}' resumes from {progress.PROGRESS_TABLE})")

    # ------------------------------------------------------------ guard (PostgreSQL)

    async def _timeouts(self) -> None:
        """lock_timeout / statement_timeout for this transaction only (SET LOCAL: a pooled or
        reused session keeps its own settings)."""
        if self.conn.dialect != "postgresql":
            return
        await self.conn.execute(f"SET LOCAL lock_timeout = {max(1, round(self.guard.lock_timeout * 1000))}")
        if self.guard.statement_timeout:
            await self.conn.execute(f"SET LOCAL statement_timeout = {max(1, round(self.guard.statement_timeout * 1000))}")

    def _session_timeouts(self) -> Any:
        """lock_timeout / statement_timeout at session level around a statement that cannot run
        in a transaction (no SET LOCAL there), back to the session's defaults afterwards."""
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def ctx() -> Any:
            if self.conn.dialect != "postgresql":
                yield
                return
            await self.conn.execute(f"SET lock_timeout = {max(1, round(self.guard.lock_timeout * 1000))}")
            if self.guard.statement_timeout:
                await self.conn.execute(f"SET statement_timeout = {max(1, round(self.guard.statement_timeout * 1000))}")
            try:
                yield
            finally:
                try:
                    await self.conn.execute("RESET lock_timeout; RESET statement_timeout")
                except Exception:  # a broken connection: nothing more runs on it
                    pass

        return ctx()

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

    def _note_waits(self, step: dict[str, Any], watch: Any, attempt: Any) -> None:
        if watch is not None and watch.seen:
            step["lock_waits"].append({"attempt": attempt, "waited_s": round(watch.longest_wait, 2),
                                       "blockers": [dict(b) for b in watch.seen.values()]})

    async def _blocked_message(self, migration: Migration, direction: str, attempts: int, watch: Any) -> str:
        verdict = (await self.deadlocks.verdict())["verdict"] if self.deadlocks else "not run"
        blocked = watch.describe() if watch is not None else "blockers not observed (no observer connection)"
        return (f"{migration.id} ({direction}): lock_timeout ({self.guard.lock_timeout:g} s) expired on each of "
                f"{attempts} attempt(s); rolled back, schema and history unchanged; blocked by {blocked}; "
                f"deadlock detector: {verdict}; {self._cancelled()}")

    async def _precheck(self, step: dict[str, Any], n: int, sql: str) -> None:
        """Name the sessions a strong-lock statement would queue behind before it runs (and, with
        --cancel-blockers only, terminate them); the predicted waits go to the deadlock
        detector. Advisory: a failed check is recorded, the statement runs under lock_timeout."""
        from dfmigrate.guard import precheck

        target = precheck.lock_target(sql)
        if target is None:
            return
        ours = [self.conn.raw.get_server_pid(), *([self.held.pid] if self.held else [])]
        entry: dict[str, Any] = {"statement": n, "relation": target.relation, "mode": target.mode}
        try:
            # on the lock connection when there is one: a failing query inside the migration's
            # transaction would abort it
            holders = await precheck.conflicting_holders(self.observer or self.conn, target, ours)
        except Exception as exc:  # e.g. an aborted transaction is reported by the statement itself
            entry["error"] = f"{type(exc).__name__}: {exc}"
            step.setdefault("prechecks", []).append(entry)
            return
        if not holders:
            return
        entry["holders"] = holders
        step.setdefault("prechecks", []).append(entry)
        if self.deadlocks is not None:
            for h in holders:
                await self.deadlocks.observe(ours[0], {"pid": h["pid"], "held": [(target.relation, h["mode"])]},
                                             f"relation:{target.relation}:{target.mode}", self.guard.lock_timeout)
        if self.guard.cancel_blockers:
            entry["terminated"] = await precheck.end_sessions(self.observer or self.conn,
                                                              sorted({h["pid"] for h in holders}))

    def _cancelled(self) -> str:
        ended = sorted({pid for step in self.steps_report for pre in step.get("prechecks", [])
                        for pid in pre.get("terminated", [])})
        if ended:
            return f"terminated by --cancel-blockers: pid {', '.join(map(str, ended))}"
        return "no session was cancelled"

    def _forget_inside(self, step: dict[str, Any]) -> None:
        step["statements"] = [s for s in step.get("statements", []) if not s["inside"]]

    async def _ledger(self, migration: Migration, direction: str, checksum: str, started: float, how: str,
                      clear: bool = False) -> None:
        try:
            if direction == "forward":
                await ledger.record(self.conn, migration.id, checksum, _ms(started), how)
            else:
                await ledger.delete(self.conn, migration.id)
            statements = self.steps_report[-1].get("statements", []) if self.steps_report else []
            if statements and not self.read_only:  # with the history row: a rollback leaves none
                await timings.record(self.conn, self.run_id, migration.id, direction, statements)
            if clear:  # in the same transaction: history and progress never disagree
                await progress.clear(self.conn, migration.id)
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

    async def _timed(self, step: dict[str, Any], n: int, sql: str, inside: bool) -> Any:
        """Execute one statement, timed by the metrics node; a statement that succeeds is kept in
        the step (and, with the history row, in ``dfmigrate_timings``)."""
        if self.conn.dialect == "postgresql":
            await self._precheck(step, n, sql)
        kind = timings.kind_of(sql)
        tid = await self.metrics.start(kind)
        started = time.monotonic()
        try:
            result = await (self.conn.fetch(sql) if _FK_CHECK.match(sql) else self.conn.execute(sql))
        except BaseException as exc:
            await self.metrics.end(tid, False, type(exc).__name__)
            raise
        ms = (time.monotonic() - started) * 1000
        await self.metrics.end(tid, True)
        step.setdefault("statements", []).append({"statement": n, "kind": kind, "ms": round(ms, 1), "inside": inside})
        return result

    async def _statement(self, migration: Migration, direction: str, n: int, sql: str, inside: bool) -> None:
        try:
            rows = await self._timed(self.steps_report[-1], n, sql, inside)  # the step _run is on
            if _FK_CHECK.match(sql) and rows:
                raise DfmigrateError(f"foreign key violations: {rows[:3]}")
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
            steps = steps_of(m, direction, self.conn.dialect)
            out.append(f"-- {m.id}: {m.description} ({direction})")
            out += [f"{s};" for s in steps.before]
            out.append("BEGIN;")
            out += [f"{s};" for s in steps.body] if steps.body is not None else [
                f"-- runs {type(m).__name__}.{direction}() (Python code)"]
            record = f"-- {'record' if direction == 'forward' else 'delete'} {m.id} in {ledger.HISTORY_TABLE}"
            finish_later = any(map(_tracked, steps.after))
            out.append(f"-- mark the body done in {progress.PROGRESS_TABLE}" if finish_later else record)
            out.append("COMMIT;")
            out += [f"{s};" for s in steps.after]
            if finish_later:
                out += ["BEGIN;", record, "COMMIT;"]
            out.append("")
        return "\n".join(out)


def _tracked(sql: str) -> bool:
    """An outside statement with a progress record: all but session settings."""
    return not _ALWAYS_OUTSIDE.match(sql)


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

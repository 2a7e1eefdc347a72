"""``DfmigrateRunner``: Kailash's ``MigrationRunner``, a thin shell over the runner's parts.

Kept from upstream: the ``Migration`` contract, ``register_migration`` and ``create_plan``
(dependency checks and the topological order). The work is done by small parts: the history
(``ledger``), the migration lock (``guard.lock``), the step executor (``executor``) with its
retry policy (``retry``), the guard before and around each step (``guard.stepguard``: detectors,
blocker watch) and the reporter (``reporter``). Each override below names the upstream defect
(kailash-notes §1) it exists for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kailash.utils.migrations import Migration, MigrationHistory, MigrationRunner
from kailash.utils.migrations.models import MigrationPlan

from dfmigrate.errors import DfmigrateError
from dfmigrate.runner import ledger, timings
from dfmigrate.runner.executor import Executor, MigrationFailed
from dfmigrate.runner.reporter import Reporter
from dfmigrate.runner.retry import RetryPolicy

__all__ = ["DfmigrateRunner", "MigrationFailed", "MigrationFile", "load_files"]


@dataclass(frozen=True)
class MigrationFile:
    id: str  # "0002_x", the ledger's migration_id
    name: str  # "0002_x.py"
    shown: str  # how messages name it: "migrations/0002_x.py"
    cls: type[Migration]
    checksum: str  # sha256 of the file's bytes, recorded in the ledger and compared every run


def load_files(directory: Any) -> list[MigrationFile]:
    """The directory's migrations in execution order (``dfmigrate.directory`` loads them)."""
    import hashlib

    from dfmigrate.migration import kailash_class
    from dfmigrate.directory import as_dir, load_all

    store = as_dir(directory)
    return [MigrationFile(m.id, m.name, store.display(m.name), kailash_class(m.cls),
                          hashlib.sha256(store.read(m.name)).hexdigest()) for m in load_all(store)]


class DfmigrateRunner(MigrationRunner):
    """Runs migration files on one open connection (``connections.PgConnection`` or
    ``SqliteConnection``), never through Kailash's global connection manager (upstream defect:
    a process-global pool keyed by a DSN built without URL-escaping)."""

    def __init__(self, conn: Any, files: list[MigrationFile], *, read_only: bool = False, guard: Any = None,
                 reporter: Reporter | None = None, allow_hazards: frozenset[str] = frozenset()) -> None:
        super().__init__({"type": conn.dialect}, migration_table=ledger.HISTORY_TABLE)
        from uuid import uuid4

        from dfmigrate.guard.options import GuardOptions

        self.conn = conn
        self.read_only = read_only  # dry runs and reports: never create the ledger
        self.options = guard or GuardOptions()
        self.reporter = reporter or Reporter()
        self.allow_hazards = allow_hazards  # consent given on the command line (safety.consent)
        self._steps: dict[tuple[str, str], list[Any]] = {}  # (migration id, direction) -> its steps
        self.run_id = uuid4().hex  # tells this run's timings from the history it is judged by
        self.lock_: Any = None  # guard.lock.MigrationLock
        self.race: Any = None  # guard.detectors.RaceGuard
        self.step_guard: Any = None  # guard.stepguard.StepGuard (PostgreSQL, with an observer)
        self.metrics: Any = None  # guard.metrics.StepMetrics
        self.live: Any = None  # expect.LiveTracker: the live schema, read once per run, then folded
        self._applied: dict[str, Any] = {}  # migration id -> its instance, for the fold
        self.files = {f.id: f for f in files}
        for f in files:  # in id order: upstream's Kahn sort breaks ties by registration order
            self.register_migration(f.cls)

    @property
    def held(self) -> Any:
        return self.lock_.held if self.lock_ is not None else None

    # ------------------------------------------------------------ ledger

    async def initialize(self) -> None:
        # upstream defect: kailash_migrations with a naive TIMESTAMP that asyncpg refuses aware
        # datetimes for, an INSERT-only row per migration; ours is dfmigrate_history (ledger)
        if not self.read_only:
            await ledger.create(self.conn)
            await timings.create(self.conn)
        self._initialized = True

    async def get_applied_migrations(self) -> set[str]:
        # upstream defect: conn.fetch with $n parameters, which aiosqlite lacks
        return set(ledger.applied(await ledger.read(self.conn)))

    async def get_migration_history(self, migration_id: str | None = None) -> list[ledger.HistoryRow]:  # type: ignore[override]
        # upstream defect: as get_applied_migrations; both directions are rows here
        return [r for r in await ledger.read(self.conn) if migration_id in (None, r.migration_id)]

    # ------------------------------------------------------------ the lock (no lock upstream)

    async def lock(self, lock_conn: Any = None, observer: Any = None) -> None:
        """Upstream defect: no lock, two runners both ran the same migration. PostgreSQL takes
        the advisory lock on ``lock_conn`` (a dedicated connection); ``observer`` (an async
        callable) then opens a third one for the guard's pre-checks and blocker watch. MySQL takes
        ``GET_LOCK`` on the migration connection itself (``guard.mysql_lock``), then opens the
        observer the same way. SQLite takes a ``flock`` on the database file
        (``guard.sqlite_lock``), released when the connection closes at the latest."""
        if self.conn.dialect == "sqlite":
            from dfmigrate.guard.sqlite_lock import SqliteMigrationLock

            path = next(r["file"] for r in await self.conn.fetch("PRAGMA database_list") if r["name"] == "main")
            if path:  # an in-memory database has no file and no other run
                lock = SqliteMigrationLock(path, wait=self.options.lock_wait, poll=self.options.poll)
                self.conn.file_lock = lock
                if await lock.acquire() is not None:
                    self.lock_ = lock
            return
        if self.conn.dialect == "mysql":
            from dfmigrate.guard.mysql_lock import MysqlMigrationLock

            if self.options.statement_timeout and not self.conn.mariadb:
                raise DfmigrateError("--statement-timeout: MySQL has no timeout for a migration's statements "
                                     "(max_execution_time bounds read-only SELECTs only): run without it; "
                                     "MariaDB has one (max_statement_time)")

            self.lock_ = MysqlMigrationLock(self.conn, wait=self.options.lock_wait, poll=self.options.poll)
            await self.lock_.acquire()
            if observer is not None:
                from dfmigrate.guard.mysql_sessions import MysqlSessions
                from dfmigrate.guard.stepguard import StepGuard

                watcher, sessions = await observer(), MysqlSessions()
                await sessions.setup(watcher)
                self.step_guard = StepGuard(watcher, self.conn, self.options, [self.conn.pid, watcher.pid],
                                            self.reporter, sessions)
            return
        if self.conn.dialect != "postgresql":
            return
        from dfmigrate.guard.detectors import RaceGuard
        from dfmigrate.guard.lock import LOCK_KEY, MigrationLock, claim_session

        if lock_conn is None or lock_conn is self.conn:
            raise DfmigrateError("the migration lock needs a connection of its own")
        self.race = RaceGuard(f"advisory:{LOCK_KEY}:{ledger.HISTORY_TABLE}")
        self.lock_ = MigrationLock(lock_conn, self.race, self.run_id, wait=self.options.lock_wait,
                                   poll=self.options.poll, mode=self.options.lock_mode)
        held = await self.lock_.acquire()
        await claim_session(self.conn, held, self.options.lock_wait, self.options.poll)
        if observer is not None:  # opened once we hold the lock: waiting runs hold two connections, not three
            from dfmigrate.guard.stepguard import StepGuard

            self.step_guard = StepGuard(await observer(), self.conn, self.options, [self.conn.pid, held.pid],
                                        self.reporter)

    async def unlock(self) -> bool:
        if self.lock_ is None:
            return True
        return bool(await self.lock_.release())

    # ------------------------------------------------------------ planning

    async def plan_forward(self, to: str | None = None) -> MigrationPlan:
        """Upstream defect: a ``target_migration`` that is not pending (already applied, or
        unknown) made ``create_plan`` plan *everything*."""
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

    def steps_of(self, migration: Migration, direction: str) -> list[Any]:
        """The steps ``migration`` runs in ``direction`` on this database, computed once per run:
        what the consent check reads is what the executor runs."""
        from dfmigrate.migration import migration_steps

        key = (migration.id, direction)
        if key not in self._steps:
            self._steps[key] = migration_steps(migration, self.conn.dialect, direction)
        return self._steps[key]

    # ------------------------------------------------------------ consent

    def consent_missing(self, plan: MigrationPlan) -> list[tuple[str, list[Any]]]:
        """The plan's destructive steps that neither ``--allow-hazards`` nor their file's
        ``allow_hazards`` cover (``safety.consent``), per migration: its rollbacks when it has
        any, else its forward migrations."""
        from dfmigrate.safety import consent

        direction, migrations = _direction(plan)
        return consent.missing([(m.id, m, self.steps_of(m, direction)) for m in migrations], self.allow_hazards)

    def require_consent(self, plan: MigrationPlan) -> None:
        """Refuse the whole plan (``consent.ConsentNeeded``, one line) before its first migration
        runs when any of its migrations lacks consent: a refusal changes nothing."""
        from dfmigrate.safety import consent

        direction, migrations = _direction(plan)
        consent.require([(m.id, m, self.steps_of(m, direction)) for m in migrations], self.allow_hazards, direction)

    # ------------------------------------------------------------ applying

    async def execute_plan(self, plan: MigrationPlan, dry_run: bool = False, user: str = "") -> list[MigrationHistory]:
        """Upstream defects: refuses any plan with rollbacks (``is_safe()``), and returns a
        failure as a record instead of raising. Rollbacks first, else forward migrations;
        stops at the first failure by raising ``MigrationFailed``."""
        if dry_run:
            raise DfmigrateError("use dry_run_sql(plan): a dry run prints SQL, it does not validate")
        self.require_consent(plan)  # planned under the lock: every migration checked before the first runs
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
        # upstream defect: records the migration after its DDL committed (a crash in between
        # leaves it applied but unrecorded); here the history row commits with the last group
        return await self._run(migration, "forward")

    async def _rollback_migration(self, migration: Migration, user: str, dry_run: bool) -> MigrationHistory:
        # upstream defect: deletes the history row; here a rollback is a row of its own
        return await self._run(migration, "backward")

    async def rollback_migration(self, migration_id: str) -> MigrationHistory:
        """Upstream defect: the documented public ``rollback_migration`` does not exist."""
        if migration_id not in self.files:
            raise DfmigrateError(f"cannot roll back {migration_id}: its file is not in the directory")
        migration = self.files[migration_id].cls()
        self.require_consent(MigrationPlan(migrations_to_rollback=[migration]))
        return await self._rollback_migration(migration, "", False)

    async def _record_migration(self, conn: Any, migration: Migration, *args: Any) -> None:
        raise NotImplementedError("recording happens inside the migration's last transaction (executor)")

    def executor(self) -> Executor:
        from dfmigrate.guard.timeouts import Timeouts

        held = self.held
        return Executor(self.conn, self.reporter, retry=RetryPolicy(self.options.retries, self.options.backoff),
                        timeouts=Timeouts(self.options.lock_timeout, self.options.statement_timeout,
                                          bool(held and held.proxied))
                        if self.conn.dialect in ("postgresql", "mysql") else None,
                        guard=self.step_guard, metrics=self.metrics, run_id=self.run_id)

    async def _run(self, migration: Migration, direction: str) -> MigrationHistory:
        if self.metrics is None:
            from dfmigrate.guard.metrics import StepMetrics

            self.metrics = StepMetrics()
        f = self.files[migration.id]
        started = time.monotonic()

        async def before(report: Any) -> None:
            if direction == "forward":
                await self._check_expectations(migration, report)
                # upstream's contract: validate() gates forward(), on the connection it runs on
                if not await migration.validate(self.conn):
                    raise MigrationFailed(f"{migration.id}: its validate() returned False; nothing applied")

        await self.executor().run(migration.id, direction, self.steps_of(migration, direction),
                                  checksum=f.checksum, shown=f.shown, description=migration.description, before=before)
        now = datetime.now(timezone.utc)
        return MigrationHistory(migration.id, now, ledger.who(), time.monotonic() - started, True,
                                rollback_at=now if direction == "backward" else None)

    async def _check_expectations(self, migration: Migration, report: Any) -> None:
        """Refuse a migration whose planned objects changed since it was written (its
        ``expects``, from ``dfmigrate.core.expect``): read under the migration lock, so no other
        dfmigrate run can change them between this check and the migration. Files without
        ``expects`` (hand-written, or older) are not checked."""
        from dfmigrate.migration import expectations_of

        expected = expectations_of(migration, self.conn.dialect)
        if not expected:
            return
        from dfmigrate.core.expect import PlanChanged, live_mismatches

        if self.live is None:
            from dfmigrate.core.expect import LiveTracker

            self.live = LiveTracker()
        for m in self.reporter.migrations:  # instantiated once each, not once per later check
            if m.outcome == "applied" and m.direction == "forward" and m.migration not in self._applied:
                self._applied[m.migration] = self.files[m.migration].cls()
        applied = list(self._applied.values())
        found = await live_mismatches(self.conn, expected, self.live, applied)
        report.expectations = {"checked": len(expected), "changed": [str(m) for m in found]}
        if found:
            report.outcome = "refused: planned objects changed"
            if self.race is not None:
                await self.race.plan_changed(migration.id, [str(m.ref) for m in found])
            raise PlanChanged(migration.id, found)

    # ------------------------------------------------------------ dry run

    async def dry_run_sql(self, plan: MigrationPlan, direction: str = "forward") -> str:
        """Exactly what would run, in order, with the transaction boundaries: the executor's own
        path, on a connection that writes the script instead of running it."""
        from dfmigrate.runner.executor import script

        migrations = plan.migrations_to_rollback if direction == "backward" else plan.migrations_to_apply
        return await script(self.conn.dialect, direction, [
            (m.id, self.steps_of(m, direction), self.files[m.id].checksum, self.files[m.id].shown,
             m.description) for m in migrations])

    # ------------------------------------------------------------ the report

    async def report(self) -> dict[str, Any]:
        """The run as data (``migrate --format json``)."""
        out: dict[str, Any] = {"steps": [m.to_dict() for m in self.reporter.migrations]}
        deadlock = None
        if self.step_guard is not None:  # with where the sessions it judged were read from
            deadlock = {**await self.step_guard.deadlocks.verdict(), "sessions_from": self.step_guard.sessions.source}
        out["verdicts"] = {"race": await self.race.verdict() if self.race else None, "deadlock": deadlock}
        out["metrics"] = await self.metrics_report()
        return out

    async def metrics_report(self) -> dict[str, Any]:
        """Per-kind aggregates of this run's statements (TransactionMetricsNode) and the ones
        whose duration departs from their kind's history here (PerformanceAnomalyNode)."""
        if self.metrics is None:
            return {"per_kind": {}, "anomalies": [], "judged": 0, "error": None}
        measured = [{"migration": m.migration, "statement": s.statement, "kind": s.kind, "ms": s.ms}
                    for m in self.reporter.migrations for s in m.statements]
        kinds = sorted({m["kind"] for m in measured})
        try:
            past = await timings.history(self.conn, kinds, self.run_id) if kinds else {}
        except Exception as exc:  # reported: no history table yet, or the connection is gone
            return {"per_kind": await self.metrics.aggregated(), "anomalies": [], "judged": 0,
                    "error": f"history unavailable: {type(exc).__name__}: {exc}"}
        return await self.metrics.report(past, measured)


def _direction(plan: MigrationPlan) -> tuple[str, list[Migration]]:
    """What ``execute_plan`` runs of ``plan``: its rollbacks when it has any, else its forward
    migrations."""
    if plan.migrations_to_rollback:
        return "backward", list(plan.migrations_to_rollback)
    return "forward", list(plan.migrations_to_apply)

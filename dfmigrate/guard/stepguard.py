"""The guard around each step of a migration, on the observer connection (PostgreSQL, MySQL).

Before a step that takes a strong lock (``Step.lock`` on ``Step.target`` on PostgreSQL; a DDL
statement's metadata lock on MySQL): the holders of a conflicting lock and whom they wait for go
to ``DeadlockDetectorNode`` (``detectors.DeadlockGuard``), whose verdict decides: no holder,
proceed; a cycle, stop without running the step; else wait, look again every ``poll`` seconds,
and stop once the node's timeout detection says the wait outlasted
``GuardOptions.blocker_wait``. With ``--cancel-blockers`` (opt-in) the holders are ended instead
of waited for.

What the server shows is read by the dialect's sessions reader, one object with the same
questions on each dialect: ``precheck.PgSessions`` (``pg_locks``, ``pg_blocking_pids``) and
``mysql_sessions.MysqlSessions`` (``performance_schema.metadata_locks``, MariaDB's
``METADATA_LOCK_INFO``, or the open transactions). Everything else here is one code path.

While the step runs, a ``BlockerWatch`` task owns the observer connection: it records who
blocks the statement and how far an index build has got. The observer is one connection per
concurrent task: the pre-check runs on it only while no watch runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.guard.blockers import BlockerWatch, Observed
from dfmigrate.guard.detectors import DeadlockGuard, Decision


class StepStopped(DfmigrateError):
    """The deadlock detector's verdict: the step was not run."""


class StepGuard:
    def __init__(self, observer: Any, conn: Any, options: Any, ours: list[int], reporter: Any,
                 sessions: Any = None) -> None:
        from dfmigrate.guard.precheck import PgSessions

        self.observer, self.conn, self.options = observer, conn, options
        self.ours = ours  # our sessions: the migration connection's and the lock's
        self.reporter = reporter
        self.sessions = sessions or PgSessions()  # what the server shows (precheck, mysql_sessions)
        self.deadlocks = DeadlockGuard(self.sessions.prefix)
        self.terminated: list[int] = []

    async def before(self, report: Any, n: int, step: Any) -> None:
        target = self.sessions.target_of(step)
        if target is None:
            return
        decision = Decision(n, target.relation, target.mode)
        judge = await self.deadlocks.start(decision)
        bound = self.options.blocker_wait
        run = f"dfmigrate:{self.ours[0]}"
        warned = False
        while True:
            try:
                holders = await self.sessions.holders(self.observer, target, self.ours)
            except Exception as exc:  # reported in the decision; the step still runs under lock_timeout
                decision.error = f"{type(exc).__name__}: {exc}"
                decision.action = "proceed (pre-check failed)"
                break
            verdict = await judge.judge(run, self.ours, holders, bound)
            if verdict == "proceed":
                break
            if verdict == "stop":
                self.reporter.decided(report, decision)
                report.decisions.append(decision)
                raise StepStopped(self._stopped(report, decision, holders, bound))
            if self.options.cancel_blockers:
                # an ended session may keep its locks a while (exiting, rolling back): it is
                # waited for, not ended (and counted) again
                fresh = self.sessions.to_end(holders, decision.terminated)
                if fresh:
                    ended = await self.sessions.end(self.observer, fresh)
                    decision.terminated += ended
                    self.terminated += ended
                else:
                    await asyncio.sleep(self.options.poll)
                continue
            if not warned:
                self.reporter.waiting(report, decision, holders, bound)
                warned = True
            await asyncio.sleep(self.options.poll)
        if decision.checks > 1 or decision.holders or decision.error:
            report.decisions.append(decision)
        self.reporter.decided(report, decision)

    def _stopped(self, report: Any, decision: Decision, holders: list[Any], bound: float) -> str:
        found = decision.detector.get("deadlocks") or [{}]
        kind = found[0].get("deadlock_type") or "?"
        why = (f"a wait cycle through this run ({' -> '.join(found[0].get('involved_transactions') or [])})"
               if kind == "wait_for_graph" else f"they held it past {bound:g} s")
        return (f"statement {decision.statement} not run: it needs {decision.mode} on {decision.relation}, "
                f"{self.sessions.held_by(holders)}; DeadlockDetectorNode: {kind}, {why}, "
                f"recommended {found[0].get('recommended_strategy') or '?'}; {self.cancelled()}")

    def cancelled(self) -> str:
        if self.terminated:
            return (f"terminated by --cancel-blockers: {self.sessions.noun} "
                    f"{', '.join(map(str, sorted(set(self.terminated))))}")
        return "no session was cancelled"

    @asynccontextmanager
    async def watching(self, report: Any, n: int, step: Any) -> AsyncIterator[Observed]:
        """The blocker watch (and an index build's or a backfill's progress) for one statement."""
        on_progress = None
        if step.kind and "index" in step.kind and not step.transactional:
            async def on_progress(row: dict[str, Any]) -> None:
                await self.reporter.index_progress(report, n, row)
        notices = None
        if self.conn.dialect == "postgresql" and step.kind == _backfill_kind():
            # its batches RAISE NOTICE how far they got, as they commit
            def notices(_conn: Any, message: Any) -> None:
                self.reporter.statement_notice(report, n, message.message)
            self.conn.raw.add_log_listener(notices)
        watch = BlockerWatch(self.observer, self.sessions, self.conn.pid, step, self.options.poll, self.deadlocks,
                             self.options.lock_timeout / 2, on_progress)
        watch.start()
        try:
            yield watch.observed
        finally:
            if notices is not None:
                self.conn.raw.remove_log_listener(notices)
            error = await watch.stop()
            if error:
                self.reporter.watch_failed(report, n, error)
            if watch.observed.seen:
                report.lock_waits.append({"statement": n, "waited_s": round(watch.observed.longest_wait, 2),
                                          "blockers": list(watch.observed.seen.values())})


def _backfill_kind() -> str:
    """The kind of a batched backfill step: its NOTICEs are progress (only PostgreSQL renders one)."""
    from dfmigrate.dialects.postgres.hazards import Op

    return Op.BACKFILL.value

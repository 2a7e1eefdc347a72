"""The guard around each step of a migration (PostgreSQL), on the observer connection.

Before a step that takes a strong lock (``Step.lock`` on ``Step.target``): the holders of a
conflicting lock and whom they wait for (``precheck``) go to ``DeadlockDetectorNode``
(``detectors.DeadlockGuard``), whose verdict decides: no holder, proceed; a cycle, stop without
running the step; else wait, look again every ``poll`` seconds, and stop once the node's
timeout detection says the wait outlasted ``GuardOptions.blocker_wait``. With
``--cancel-blockers`` (opt-in) the holders are terminated instead of waited for.

While the step runs, a ``BlockerWatch`` task owns the observer connection: it records who
blocks the statement and how far an index build has got. The observer is one connection per
concurrent task: the pre-check runs on it only while no watch runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dfmigrate.dialects.postgres.hazards import Op
from dfmigrate.errors import DfmigrateError
from dfmigrate.guard import precheck
from dfmigrate.guard.blockers import BlockerWatch, Observed
from dfmigrate.guard.detectors import DeadlockGuard, Decision


class StepStopped(DfmigrateError):
    """The deadlock detector's verdict: the step was not run."""


class StepGuard:
    def __init__(self, observer: Any, conn: Any, options: Any, ours: list[int], reporter: Any) -> None:
        self.observer, self.conn, self.options = observer, conn, options
        self.ours = ours  # our backends: the migration connection's and the lock's
        self.reporter = reporter
        self.deadlocks = DeadlockGuard()
        self.terminated: list[int] = []

    async def before(self, report: Any, n: int, step: Any) -> None:
        target = precheck.target_of(step)
        if target is None:
            return
        decision = Decision(n, target.relation, target.mode)
        judge = await self.deadlocks.start(decision)
        bound = self.options.blocker_wait
        run = f"dfmigrate:{self.ours[0]}"
        warned = False
        while True:
            try:
                holders = await precheck.conflicting_holders(self.observer, target, self.ours)
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
                # pg_terminate_backend only signals: the backend keeps its locks until it has
                # exited, so one already terminated is waited for, not terminated (and counted) again
                fresh = sorted({h.pid for h in holders} - set(decision.terminated))
                if fresh:
                    ended = await precheck.end_sessions(self.observer, fresh)
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
        return (f"statement {decision.statement} not run: it needs {decision.mode} on {decision.relation}, held "
                f"{'; '.join(h.describe() for h in holders)}; DeadlockDetectorNode: {kind}, {why}, "
                f"recommended {found[0].get('recommended_strategy') or '?'}; {self.cancelled()}")

    def cancelled(self) -> str:
        if self.terminated:
            return f"terminated by --cancel-blockers: pid {', '.join(map(str, sorted(set(self.terminated))))}"
        return "no session was cancelled"

    @asynccontextmanager
    async def watching(self, report: Any, n: int, step: Any) -> AsyncIterator[Observed]:
        """The blocker watch (and an index build's or a backfill's progress) for one statement."""
        on_progress = None
        if step.kind and "index" in step.kind and not step.transactional:
            async def on_progress(row: dict[str, Any]) -> None:
                await self.reporter.index_progress(report, n, row)
        notices = None
        if step.kind == Op.BACKFILL.value:  # its batches RAISE NOTICE how far they got, as they commit
            def notices(_conn: Any, message: Any) -> None:
                self.reporter.statement_notice(report, n, message.message)
            self.conn.raw.add_log_listener(notices)
        watch = BlockerWatch(self.observer, self.conn.pid, self.options.poll, self.deadlocks,
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

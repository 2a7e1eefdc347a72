"""The one path a migration's steps run through: apply, rollback, dry run (on a
``ScriptConnection``) and replay (``replay``, no ledger, no guard).

Steps run by ``dfmigrate.core.step.transaction_groups``: each group of transactional steps commits
together (lock_timeout/statement_timeout set for it, retried as a whole when its lock_timeout
expired: ``retry.RetryPolicy``); a step outside any transaction runs alone, bracketed by progress
marks. When a migration has several groups or any outside step, each finished group is recorded
by its index in ``dfmigrate_progress`` (``progress``), in the same transaction for a
transactional group; a rerun after a crash skips the recorded groups and settles an interrupted
outside step by its ``resume`` check. The history row (and the statements' timings) is written
with the last group, in its transaction, or in a transaction of its own after a last outside
step. Before each strong-lock step the guard decides (``guard.stepguard``); while it runs, the
blocker watch observes.

SQLite's ``PRAGMA`` steps are handled apart (``PRAGMA`` below).
"""

from __future__ import annotations

import time
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.runner import ledger, progress, timings
from dfmigrate.runner.reporter import MigrationReport, Reporter
from dfmigrate.runner.retry import RetryPolicy, lock_timed_out
from dfmigrate.core.step import Step, transaction_groups


# SQLite's PRAGMA statements (``dfmigrate.core.classify``'s kind). One outside a transaction is a
# session setting (``foreign_keys``), repeated on every run and never tracked; rows returned by
# one are violations (``foreign_key_check``), which fail the migration.
PRAGMA = "pragma"


class MigrationFailed(DfmigrateError):
    """A migration's statement failed; its transaction was rolled back."""


class _Skip(Exception):
    """Another run applied (or rolled back) the migration first."""


Numbered = list[tuple[int, Step]]


def numbered_groups(steps: list[Step]) -> list[Numbered]:
    """``transaction_groups`` with each step's 1-based number in the migration."""
    out: list[Numbered] = []
    n = 0
    for group in transaction_groups(steps):
        out.append([(n + i + 1, s) for i, s in enumerate(group)])
        n += len(group)
    return out


def _setting(group: Numbered) -> bool:
    return len(group) == 1 and group[0][1].kind == PRAGMA and not group[0][1].transactional


class Executor:
    def __init__(self, conn: Any, reporter: Reporter, *, retry: RetryPolicy | None = None, timeouts: Any = None,
                 guard: Any = None, metrics: Any = None, run_id: str = "", record: bool = True) -> None:
        self.conn = conn
        self.reporter = reporter
        self.retry = retry or RetryPolicy(retries=0)
        self.timeouts = timeouts  # guard.timeouts.Timeouts, or None (no timeouts: SQLite, replay)
        self.guard = guard  # guard.stepguard.StepGuard, or None
        self.metrics = metrics  # guard.metrics.StepMetrics, or None
        self.run_id = run_id
        self.record = record  # False: replay (no history, no progress)

    # ---------------------------------------------------------------- one migration

    async def run(self, migration_id: str, direction: str, steps: list[Step], *, checksum: str, shown: str,
                  description: str = "", before: Any = None) -> MigrationReport:
        """Run ``steps``; ``before(report)`` runs first unless resuming (expectations, validate)."""
        report = self.reporter.migration_started(migration_id, direction, shown)
        if self.conn.script:
            self.conn.comment(f"{migration_id}: {description} ({direction})")
        groups = numbered_groups(steps)
        tracked = [i for i, g in enumerate(groups) if not _setting(g)]
        last = tracked[-1] if tracked else None
        tracking = self.record and (len(tracked) > 1 or any(not groups[i][0][1].transactional for i in tracked))
        apart = last is None or not groups[last][0][1].transactional  # the history row after the last group
        started = time.monotonic()
        report.groups = [_group_report(i, g) for i, g in enumerate(groups)]
        ctx = _Run(migration_id, direction, checksum, report, started, tracking)
        try:
            # read for every migration: one half-done in the other direction blocks them all
            done = await self._progress_of(ctx) if self.record else {}
            if before is not None and not done:  # a resumed migration is part-way, not stale
                await before(report)
            if tracking and not self.conn.script:
                await progress.create(self.conn)
            for i, group in enumerate(groups):
                g = report.groups[i]
                if _setting(group):
                    n, step = group[0]
                    await self._statement(ctx, n, step, inside=False)
                    g.outcome = "done"
                elif done.get(i) == "done":
                    g.outcome = "done by an earlier, interrupted run"
                elif group[0][1].transactional:
                    await self._transaction(ctx, i, group, final=self.record and i == last)
                else:
                    await self._outside(ctx, i, group[0], done.get(i))
            if self.record and apart:
                async with self.conn.transaction():
                    await self._check_not_done(ctx)
                    await self._finish(ctx)
            report.outcome = "applied" if direction == "forward" else "rolled back"
        except _Skip:
            report.outcome = "skipped: already done by another run"
        except BaseException:
            if report.outcome == "running":
                report.outcome = "failed"
            raise
        finally:
            report.duration_ms = round((time.monotonic() - started) * 1000)
            if self.conn.dialect == "sqlite" and not self.conn.script and any(map(_setting, groups)):
                await self.conn.execute("PRAGMA foreign_keys=ON")  # a failure must not leave it off
            self.reporter.migration_finished(report)
        return report

    # ---------------------------------------------------------------- a transaction

    async def _retrying(self, g: Any, attempt_once: Any, message: Any) -> None:
        """``attempt_once(attempt)`` until it succeeds, or fails in a way the retry policy does not
        retry: then ``MigrationFailed(await message(exc, attempts))``."""
        attempt = 0
        while True:
            attempt += 1
            g.attempts = attempt
            try:
                await attempt_once(attempt)
                g.outcome = "done"
                return
            except _Skip:
                raise
            except Exception as exc:
                if self.retry.should_retry(exc, attempt):
                    await self.retry.wait(attempt)
                    continue
                g.outcome = "failed"
                raise MigrationFailed(await message(exc, attempt)) from exc

    async def _transaction(self, ctx: _Run, i: int, group: Numbered, final: bool) -> None:
        async def attempt_once(attempt: int) -> None:
            self.reporter.forget_statements(ctx.report, [n for n, _ in group])  # a rolled-back attempt
            async with self.conn.transaction():
                if self.timeouts is not None:
                    await self.timeouts.local(self.conn)
                if self.record:
                    await self._check_not_done(ctx)
                for n, step in group:
                    await self._statement(ctx, n, step, inside=True)
                if final:
                    await self._finish(ctx)
                elif ctx.tracking:  # committed with the group: a rerun skips it
                    await self._mark(ctx, i, "done", group)

        await self._retrying(ctx.report.groups[i], attempt_once,
                             lambda exc, attempts: self._failed(ctx, i, group, exc, attempts))

    async def _failed(self, ctx: _Run, i: int, group: Numbered, exc: Exception, attempts: int) -> str:
        earlier = ctx.tracking and any(g.outcome.startswith("done") for g in ctx.report.groups[:i])
        undone = ("this transaction rolled back; the steps before it stay applied, the history is unchanged, and the "
                  f"next '{ctx.command}' resumes from {progress.PROGRESS_TABLE}") if earlier else (
            "rolled back, schema and history unchanged")
        if lock_timed_out(exc) and self.timeouts is not None:
            waited = dict.fromkeys(w["statement"] for w in ctx.report.lock_waits)  # in order, once each
            waits = "; ".join(f"statement {n}: " + self._describe_blockers(
                b for w in ctx.report.lock_waits if w["statement"] == n for b in w["blockers"]) for n in waited) or (
                "no blocker was observed (it released before it could be read)")
            verdict = (await self.guard.deadlocks.verdict())["verdict"] if self.guard else "not run"
            return (f"{ctx.migration_id} ({ctx.direction}): {self.timeouts.lock_setting(self.conn.dialect)} expired on "
                    f"each of {attempts} attempt(s); {undone}; blocked by {waits}; deadlock detector: {verdict}; "
                    f"{self.guard.cancelled() if self.guard else 'no session was cancelled'}")
        n = getattr(exc, "statement", None)
        if n is None:  # stopped by the guard before the statement, or a failure around the steps
            return f"{ctx.migration_id}: {_reason(exc)} ({undone})"
        return f"{ctx.migration_id}: statement {n} failed: {self._reason(exc)} ({undone})"

    async def _check_not_done(self, ctx: _Run) -> None:
        if self.conn.script:
            return
        if await ledger.is_applied(self.conn, ctx.migration_id) == (ctx.direction == "forward"):
            raise _Skip()

    async def _finish(self, ctx: _Run) -> None:
        """The history row, the timings and the end of the progress record, in one transaction."""
        ms = round((time.monotonic() - ctx.started) * 1000)
        if self.conn.script:
            if self.conn.history:
                self.conn.lines.append(ledger.record_sql(self.conn.dialect, ctx.migration_id, ctx.checksum,
                                                         ctx.direction))
            else:
                self.conn.comment(f"record {ctx.migration_id} ({ctx.direction}) in {ledger.HISTORY_TABLE}")
            return
        await ledger.record(self.conn, ctx.migration_id, ctx.checksum, ms, ctx.direction)
        statements = [{"statement": s.statement, "kind": s.kind, "ms": s.ms} for s in ctx.report.statements]
        if statements:
            await timings.record(self.conn, self.run_id, ctx.migration_id, ctx.direction, statements)
        if ctx.tracking:
            await progress.clear(self.conn, ctx.migration_id)

    async def _mark(self, ctx: _Run, i: int, state: str, group: Numbered) -> None:
        if self.conn.script:
            if not self.conn.history:  # an offline script keeps no progress record: a DBA resumes by hand
                self.conn.comment(f"mark group {i} {state} in {progress.PROGRESS_TABLE}")
            return
        what = "; ".join((s.sql or f"python {getattr(s.python, '__qualname__', '?')}")[:200] for _, s in group)
        await progress.mark(self.conn, ctx.migration_id, ctx.direction, i, ctx.checksum, state, what)

    # ---------------------------------------------------------------- a step outside any transaction

    async def _outside(self, ctx: _Run, i: int, numbered: tuple[int, Step], state: str | None) -> None:
        n, step = numbered
        g = ctx.report.groups[i]

        async def attempt_once(attempt: int) -> None:
            nonlocal state
            async with self._session_timeouts():
                if state == "running":
                    async with self._watching(ctx, n, step):  # its DROP INDEX CONCURRENTLY may wait too
                        settled = await progress.settle(self.conn, step.resume)
                    g.resumed.append({"found": settled.found, "action": settled.action})
                    if settled.complete:
                        await self._mark(ctx, i, "done", [numbered])
                        return
                elif ctx.tracking:
                    await self._mark(ctx, i, "running", [numbered])
                    state = "running"
                await self._statement(ctx, n, step, inside=False)
                if ctx.tracking:
                    await self._mark(ctx, i, "done", [numbered])

        await self._retrying(g, attempt_once, lambda exc, attempts: self._outside_failed(ctx, n, step, attempts, exc))

    def _reason(self, exc: BaseException) -> str:
        """A statement's failure, saying so when it ran past the statement timeout."""
        expired = self.timeouts.statement_expired(exc.__cause__ or exc) if self.timeouts is not None else None
        return f"{expired}: {_reason(exc)}" if expired else _reason(exc)

    def _describe_blockers(self, blockers: Any) -> str:
        """The sessions the blocker watch saw, each once as last seen (every attempt records its
        own), named as the dialect names them ('' when none)."""
        latest = {b["pid"]: b for b in blockers}
        return self.guard.sessions.describe(latest.values()) if self.guard is not None else ""

    def _watching(self, ctx: _Run, n: int, step: Step) -> Any:
        from contextlib import nullcontext

        return self.guard.watching(ctx.report, n, step) if self.guard is not None else nullcontext()

    def _session_timeouts(self) -> Any:
        from contextlib import nullcontext

        return self.timeouts.session(self.conn) if self.timeouts is not None else nullcontext()

    async def _outside_failed(self, ctx: _Run, n: int, step: Step, attempts: int, exc: Exception) -> str:
        """The message, after a best-effort cleanup of what the failed step left (an invalid
        index): its ``running`` mark stays, so the next run settles it again anyway."""
        left = ""
        try:
            async with self._session_timeouts():
                settled = await progress.settle(self.conn, step.resume)
            if "INVALID" in settled.found:
                left = f"; dropped the invalid {settled.found.split(' INVALID')[0]} it left"
        except Exception as cleanup:  # blocked too, or the connection is gone: the next run settles it
            if progress.leaves_invalid_index(step.resume):
                left = f"; an invalid index it left may remain ({_reason(cleanup)}): the next run drops it"
        if lock_timed_out(exc) and self.timeouts is not None:
            observed = [w for w in ctx.report.lock_waits if w["statement"] == n]
            blockers = self._describe_blockers(b for w in observed for b in w["blockers"]) or "sessions not observed"
            what = (f"{self.timeouts.lock_setting(self.conn.dialect)} expired on each of {attempts} attempt(s), "
                    f"blocked by {blockers}; {self.guard.cancelled() if self.guard else 'no session was cancelled'}")
        else:
            what = self._reason(exc)
        before = "the statements before it stay applied, " if n > 1 else ""
        # a DfmigrateError without a statement number was raised before the statement ran (the guard's stop)
        failed = "" if isinstance(exc, DfmigrateError) and getattr(exc, "statement", None) is None else (
            f"statement {n} failed: ")
        return (f"{ctx.migration_id}: {failed}{what} (it runs outside the transaction{left}; {before}"
                f"the history is unchanged, and the next '{ctx.command}' resumes from {progress.PROGRESS_TABLE})")

    # ---------------------------------------------------------------- one statement

    async def _statement(self, ctx: _Run, n: int, step: Step, inside: bool) -> None:
        if self.guard is not None:
            await self.guard.before(ctx.report, n, step)
        timer = self.reporter.statement_started(ctx.report, n, step)
        tid = await self.metrics.start(step.kind or "?") if self.metrics is not None else None
        ok = False
        try:
            async with self._watching(ctx, n, step):
                await self._execute(step)
            ok = True
        except Exception as exc:
            if not isinstance(exc, DfmigrateError) or isinstance(exc, _StepError):
                raise _StepError(n, exc) from exc
            exc.statement = n  # type: ignore[attr-defined]
            raise
        finally:
            if tid is not None:
                await self.metrics.end(tid, ok)
            self.reporter.statement_finished(ctx.report, n, step, timer, ok, inside)

    async def _execute(self, step: Step) -> None:
        conn = self.conn
        if step.python is not None:
            if conn.script:
                conn.comment(f"runs {getattr(step.python, '__qualname__', 'python')}() (Python code)")
            else:
                await step.python(conn)
            return
        assert step.sql is not None
        if step.kind == PRAGMA and not conn.script and conn.dialect == "sqlite":
            rows = await conn.fetch(step.sql)
            if rows:
                raise DfmigrateError(f"foreign key violations: {[tuple(r) for r in rows[:3]]}")
            return
        await conn.execute(step.sql)

    # ---------------------------------------------------------------- resuming

    async def _progress_of(self, ctx: _Run) -> dict[int, str]:
        """{group: state} of an earlier, interrupted run of this migration in this direction.
        Refuses when another migration is half-done in the other direction, or when the file
        changed since its groups ran (resuming would mix two versions)."""
        rows = await progress.read(self.conn)
        for r in rows:
            if r.direction != ctx.direction:
                verb, command = ("applying", "migrate") if r.direction == "forward" else ("rolling back", "rollback")
                raise DfmigrateError(
                    f"{r.migration_id}: an interrupted run stopped {verb} it (group {r.group}, {r.state}; see "
                    f"{progress.PROGRESS_TABLE}): run 'dfmigrate {command}' to finish that first")
        mine = [r for r in rows if r.migration_id == ctx.migration_id]
        if any(r.checksum != ctx.checksum for r in mine):
            raise DfmigrateError(
                f"{ctx.migration_id} was partly {'applied' if ctx.direction == 'forward' else 'rolled back'} from "
                f"another version of its file (groups {', '.join(str(r.group) for r in mine)} in "
                f"{progress.PROGRESS_TABLE}): restore that version and run again, or undo those steps by hand and "
                f"run 'dfmigrate resolve {ctx.migration_id} --rolled-back' to clear them")
        return {r.group: r.state for r in mine}


class _StepError(DfmigrateError):
    """A statement's failure, with its number."""

    def __init__(self, n: int, exc: BaseException) -> None:
        super().__init__(_reason(exc))
        self.statement = n
        self.sqlstate = getattr(exc, "sqlstate", None)


class _Run:
    """One migration's run: what every part of it needs to know."""

    def __init__(self, migration_id: str, direction: str, checksum: str, report: MigrationReport, started: float,
                 tracking: bool) -> None:
        self.migration_id, self.direction, self.checksum = migration_id, direction, checksum
        self.report, self.started, self.tracking = report, started, tracking
        self.command = "migrate" if direction == "forward" else "rollback"


def _group_report(i: int, group: Numbered) -> Any:
    from dfmigrate.runner.reporter import GroupReport

    return GroupReport(i, group[0][1].transactional, [n for n, _ in group])


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, DfmigrateError) else f"{type(exc).__name__}: {text}"


async def replay(conn: Any, migration_id: str, steps: list[Step]) -> None:
    """Run ``steps`` on a scratch database: the same groups and transactions as an apply, with no
    history, no progress record, no guard."""
    await Executor(conn, Reporter(), record=False).run(migration_id, "forward", steps, checksum="",
                                                       shown=migration_id)


async def script(dialect: str, direction: str, items: list[tuple[str, list[Step], str, str, str]], *,
                 history: bool = False, header: tuple[str, ...] = ()) -> str:
    """What running ``items`` — ``(migration id, steps, checksum, shown, description)`` — would
    send, as a script: the dry run (``history`` False: where the history row goes is a comment)
    and the offline script (True: the history rows are statements of the script)."""
    from dfmigrate.runner.connections import ScriptConnection

    conn = ScriptConnection(dialect, history=history)
    conn.lines += list(header)
    executor = Executor(conn, Reporter())
    for migration_id, steps, checksum, shown, description in items:
        await executor.run(migration_id, direction, steps, checksum=checksum, shown=shown, description=description)
        conn.lines.append("")
    return "\n".join(conn.lines)

"""What a run did, as data (the JSON report) and as lines while it happens (the console).

``MigrationReport`` is one migration's record: its groups of steps with their attempts and
outcomes, each statement's kind, target and duration, the lock waits the blocker watch saw, the
deadlock detector's decisions, and any error of a background task. ``Reporter`` builds these and
prints, at once and flushed, a line when each migration starts and ends, when a statement has
run for more than ``LONG_STATEMENT`` seconds (and when it ends), an index build's progress and a
backfill's (its notices); detector and timing details only with --verbose.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dfmigrate.logs import VERBOSE, Console

LONG_STATEMENT = 1.0  # seconds before a running statement gets its own line


@dataclass
class GroupReport:
    group: int
    transactional: bool
    statements: list[int]
    attempts: int = 0
    outcome: str = "pending"
    resumed: list[dict[str, str]] = field(default_factory=list)


@dataclass
class StatementReport:
    statement: int
    kind: str
    target: str | None
    ms: float
    inside: bool


@dataclass
class MigrationReport:
    migration: str
    direction: str
    outcome: str = "running"
    duration_ms: int = 0
    groups: list[GroupReport] = field(default_factory=list)
    statements: list[StatementReport] = field(default_factory=list)
    lock_waits: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)  # guard.detectors.Decision
    watch_errors: list[str] = field(default_factory=list)
    expectations: dict[str, Any] | None = None

    @property
    def attempts(self) -> int:
        return max((g.attempts for g in self.groups), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"migration": self.migration, "direction": self.direction, "outcome": self.outcome,
                "duration_ms": self.duration_ms, "attempts": self.attempts,
                "groups": [vars(g) for g in self.groups], "statements": [vars(s) for s in self.statements],
                "lock_waits": self.lock_waits, "decisions": [d.to_dict() for d in self.decisions],
                "watch_errors": self.watch_errors, "expectations": self.expectations}


class Reporter:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(level=-1)
        self.migrations: list[MigrationReport] = []

    # ---------------------------------------------------------------- migrations

    def migration_started(self, migration: str, direction: str, shown: str) -> MigrationReport:
        report = MigrationReport(migration, direction)
        self.migrations.append(report)
        verb = "applying" if direction == "forward" else "rolling back"
        self.console.line(f"{verb} {migration} ({shown}) at {datetime.now().strftime('%H:%M:%S')}", style="bold")
        return report

    def migration_finished(self, report: MigrationReport) -> None:
        took = f"{report.duration_ms} ms"
        if report.outcome in ("applied", "rolled back"):
            self.console.line(f"{report.outcome} {report.migration} ({took})", style="ok")
        elif report.outcome.startswith("skipped"):
            self.console.line(f"{report.migration}: {report.outcome} ({took})", style="dim")
        else:
            self.console.line(f"{report.migration}: {report.outcome} after {took}", style="fail")

    # ---------------------------------------------------------------- statements

    def statement_started(self, report: MigrationReport, n: int, step: Any) -> Any:
        """A timer: the statement gets a line if it is still running after LONG_STATEMENT."""
        what = _what(step)
        self.console.line(f"  {report.migration}: statement {n} ({what}) started", level=VERBOSE, style="dim")
        loop = asyncio.get_running_loop()
        return _Timer(loop.call_later(LONG_STATEMENT, self._long, report.migration, n, what), time.monotonic())

    def _long(self, migration: str, n: int, what: str) -> None:
        if self.console.level < VERBOSE:
            self.console.line(f"  {migration}: statement {n} ({what}) running since "
                              f"{datetime.now().strftime('%H:%M:%S')} …", style="dim")

    def statement_finished(self, report: MigrationReport, n: int, step: Any, timer: Any, ok: bool,
                           inside: bool) -> None:
        timer.handle.cancel()
        seconds = time.monotonic() - timer.started
        if ok:
            report.statements.append(StatementReport(n, step.kind or "?", step.target, round(seconds * 1000, 1), inside))
        long = seconds >= LONG_STATEMENT
        if long or self.console.level >= VERBOSE:
            state = "done" if ok else "failed"
            self.console.line(f"  {report.migration}: statement {n} {state} in {seconds:.1f} s",
                              level=0 if long else VERBOSE, style="dim" if ok else "fail")

    def forget_statements(self, report: MigrationReport, numbers: list[int]) -> None:
        """A rolled-back attempt: its statements' timings did not happen."""
        report.statements = [s for s in report.statements if s.statement not in numbers]

    async def index_progress(self, report: MigrationReport, n: int, row: dict[str, Any]) -> None:
        done, total = row.get("blocks_done") or 0, row.get("blocks_total") or 0
        tuples, ttotal = row.get("tuples_done") or 0, row.get("tuples_total") or 0
        amount = (f", {done}/{total} blocks ({100 * done // total} %)" if total else
                  f", {tuples}/{ttotal} tuples" if ttotal else "")
        self.console.line(f"  {report.migration}: statement {n}: {row.get('phase')}{amount}", style="dim")

    def statement_notice(self, report: MigrationReport, n: int, message: str) -> None:
        """A message the running statement sent (a backfill's progress), as it arrives."""
        self.console.line(f"  {report.migration}: statement {n}: {message}", style="dim")

    # ---------------------------------------------------------------- guard

    def waiting(self, report: MigrationReport, decision: Any, holders: list[Any], bound: float) -> None:
        names = ", ".join(h.describe() for h in holders)
        self.console.line(f"  {report.migration}: statement {decision.statement} needs {decision.mode} on "
                          f"{decision.relation}; waiting up to {bound:g} s for {names}", style="wait")

    def decided(self, report: MigrationReport, decision: Any) -> None:
        graph = decision.detector.get("wait_for_graph") if decision.detector else None
        found = [d.get("deadlock_type") for d in (decision.detector or {}).get("deadlocks", [])]
        self.console.line(f"  DeadlockDetectorNode before {report.migration} statement {decision.statement}: "
                          f"{decision.action} (deadlocks: {', '.join(found) or 'none'}; wait-for graph {graph})",
                          level=VERBOSE, style="dim")

    def watch_failed(self, report: MigrationReport, n: int, error: str) -> None:
        report.watch_errors.append(f"statement {n}: {error}")
        self.console.line(f"  {report.migration}: the blocker watch of statement {n} failed: {error} "
                          "(the statement itself was not affected)", style="wait")


@dataclass
class _Timer:
    handle: Any
    started: float


def _what(step: Any) -> str:
    kind = step.kind or "statement"
    return f"{kind} on {step.target}" if step.target else kind

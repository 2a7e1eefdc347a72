"""Kailash's ``RaceConditionDetectorNode`` and ``DeadlockDetectorNode``, deciding.

The nodes never touch the database (kailash-notes §3): we feed them what the server shows and
act on what they answer.

- ``RaceGuard``: the migration lock's holders, as accesses to one resource. Holders seen while
  polling are writes that end before ours begins (contention, serialized by the lock). Once we
  hold it, any other holder of the lock seen at the same time (another backend holding it, or
  another run's token on our own server session, as a pooling proxy can produce) is registered
  as a write while ours is open: the node's answer to that registration is a race, and the run
  stops before any DDL (``RaceDetected``).
- ``DeadlockGuard``: before each strong-lock step, the wait graph (this run waits for each
  holder of a conflicting lock; each holder waits for the sessions blocking it) goes into a
  fresh node, and ``detect_deadlocks(combined)`` decides: no holder, proceed; a cycle, stop
  without running the step; a plain wait, wait and look again, until the node's timeout
  detection says the wait has lasted past its bound, then stop, naming the blockers. The
  sessions are the dialect's (``pg:<pid>``, ``mysql:<connection id>``): what they hold and wait
  for is read by ``precheck`` (PostgreSQL) or ``mysql_sessions`` (MySQL, MariaDB).

``kailash.nodes.monitoring``'s package ``__init__`` needs aiohttp (the ``kailash[server]`` extra);
the detector modules do not, so they are imported through a stub package (kailash-notes §3 (b)).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Any

from dfmigrate.errors import DfmigrateError

_log = logging.getLogger("dfmigrate.guard")


def _module(name: str) -> Any:
    full = f"kailash.nodes.monitoring.{name}"
    if full in sys.modules:
        return sys.modules[full]
    try:
        return importlib.import_module(full)
    except ImportError:
        import kailash

        pkg = types.ModuleType("kailash.nodes.monitoring")
        pkg.__path__ = [os.path.join(os.path.dirname(kailash.__file__), "nodes", "monitoring")]
        sys.modules["kailash.nodes.monitoring"] = pkg
        return importlib.import_module(full)


def _quiet() -> None:
    # the nodes log at INFO/ERROR through the last-resort handler (stderr) otherwise
    for name in ("kailash.nodes.monitoring", "kailash.nodes", "kailash"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class _DetectorNode:
    """One Kailash monitoring node. A node that cannot be built or that fails records ``error``
    and answers nothing; the callers say in the report what they did without its answer."""

    def __init__(self, module: str, node_class: str) -> None:
        self.error: str | None = None
        try:
            _quiet()
            self.node = getattr(_module(module), node_class)()
        except Exception as exc:  # reported: every verdict carries ``error``
            self.node, self.error = None, f"{type(exc).__name__}: {exc}"

    async def _call(self, **kw: Any) -> dict[str, Any]:
        if self.node is None:
            return {}
        try:
            return await self.node.execute_async(**kw)
        except Exception as exc:  # reported: every verdict carries ``error``
            self.error = f"{type(exc).__name__}: {exc}"
            return {}


# ---------------------------------------------------------------- races


class RaceDetected(DfmigrateError):
    """RaceConditionDetectorNode found the migration lock held twice: nothing was run."""


class RaceGuard(_DetectorNode):
    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.attempts = 0
        self.contended = 0
        self.seen: dict[int, str] = {}  # holder pid -> open access id, until we hold the lock
        self.races: list[dict[str, Any]] = []  # the node's own race records
        self._hold: str | None = None
        self._n = 0
        self.stale_plan: dict[str, Any] | None = None
        self._resources = [resource]
        super().__init__("race_condition_detector", "RaceConditionDetectorNode")

    def _id(self, what: str) -> str:
        self._n += 1
        return f"{what}-{os.getpid()}-{self._n}"

    async def attempt(self, holder_pid: int | None) -> None:
        """One polling attempt; ``holder_pid``: who held the lock instead of us."""
        self.attempts += 1
        if holder_pid is not None and holder_pid not in self.seen:
            self.contended += 1
            self.seen[holder_pid] = self._id("held")
            await self._access(self.seen[holder_pid], f"pg:{holder_pid}", f"pg:{holder_pid}")

    async def _access(self, access: str, operation: str, thread: str, resource: str | None = None,
                      kind: str = "write") -> dict[str, Any]:
        return await self._call(operation="register_access", resource_id=resource or self.resource, access_id=access,
                                operation_id=operation, thread_id=thread, process_id=thread, access_type=kind)

    async def hold(self, our_pid: int, run_id: str) -> None:
        for access in self.seen.values():  # they released: we hold it now
            await self._call(operation="end_access", access_id=access)
        self.seen.clear()
        self._hold = self._id("hold")
        await self._access(self._hold, f"run:{run_id}", f"run:{run_id}")

    async def other_holder(self, what: str, thread: str) -> None:
        """A holder seen while we hold the lock: registered as a concurrent write. The node's
        immediate answer is the verdict; a race stops the run (``RaceDetected``)."""
        result = await self._access(self._id("other"), what, thread)
        found = result.get("races_detected") or []
        self.races += [_race(r) for r in found]
        if found or self.node is None:
            detail = "; ".join(f"{r['race_type']} ({r['severity']}, confidence {r['confidence']}) between "
                               f"{' and '.join(r['operations'])}" for r in self.races[-len(found):]) if found else (
                f"the node could not judge ({self.error}), and two holders is a race in any case")
            raise RaceDetected(
                f"RaceConditionDetectorNode: the migration lock is held twice, {what} as well as this run: {detail}; "
                "stopped before running anything (a pooling proxy shares server sessions between clients: "
                "use --lock-mode transaction or auto)")

    async def plan_changed(self, migration_id: str, changed: list[str]) -> None:
        """A migration's planned objects changed before it ran (``dfmigrate.core.expect``): the plan
        read them, someone else wrote them since; registered as such, one pair per object."""
        self.stale_plan = {"migration": migration_id, "changed": changed}
        self._resources += changed
        for obj in changed:
            accesses = [(self._id("planned"), f"plan:{migration_id}", "plan", "read"),
                        (self._id("changed"), "unknown-writer", "database", "write")]
            for access, operation, thread, kind in accesses:
                await self._access(access, operation, thread, obj, kind)
            for access, *_ in accesses:
                await self._call(operation="end_access", access_id=access)

    async def release(self) -> None:
        if self._hold:
            await self._call(operation="end_access", access_id=self._hold)
            self._hold = None

    async def verdict(self) -> dict[str, Any]:
        for access in self.seen.values():
            await self._call(operation="end_access", access_id=access)
        self.seen.clear()
        result = await self._call(operation="detect_races", detection_window=3600.0, resource_filters=self._resources)
        window = [_race(r) for r in result.get("races_detected", [])]
        if self.error:
            verdict = "error"
        elif self.races:
            verdict = "RACE: two holders at once"
        elif self.stale_plan:
            verdict = (f"RACE: {self.stale_plan['migration']} was planned against objects changed since: "
                       + ", ".join(self.stale_plan["changed"]))
        else:
            verdict = "contended, serialized by the lock" if self.contended else "uncontended"
        return {"detector": "RaceConditionDetectorNode", "overlap": bool(self.races), "attempts": self.attempts,
                "contended": self.contended, "races": self.races,
                # detect_races over the window flags any two writers, overlapping or not: quoted
                # as the node's candidates, not as the verdict
                "window_candidates": window, "stale_plan": self.stale_plan, "verdict": verdict, "error": self.error}


def _race(r: dict[str, Any]) -> dict[str, Any]:
    return {"race_type": r.get("race_type"), "severity": r.get("severity"),
            "confidence": round(float(r.get("confidence_score") or 0), 2),
            "operations": list(r.get("involved_operations") or ())}


# ---------------------------------------------------------------- lock waits


@dataclass
class Decision:
    """What the deadlock detector decided before one step."""

    statement: int
    relation: str
    mode: str
    action: str = "proceed"  # "proceed" | "proceed after waiting" | "stop"
    holders: list[dict[str, Any]] = field(default_factory=list)
    waited_s: float = 0.0
    checks: int = 0
    detector: dict[str, Any] = field(default_factory=dict)  # the node's own output, quoted
    terminated: list[int] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "relation": self.relation, "mode": self.mode, "action": self.action,
                "holders": self.holders, "waited_s": round(self.waited_s, 3), "checks": self.checks,
                "detector": self.detector, "terminated": self.terminated, "error": self.error}


class DeadlockGuard:
    """One decision per strong-lock step, each on a fresh node (its ``initialize`` does not
    clear the graph, kailash-notes §3), plus a run-long node fed the waits the blocker watch
    observes while statements run, whose verdict goes in the report."""

    def __init__(self, prefix: str = "pg") -> None:
        self.prefix = prefix  # the node's transaction ids: "pg:<pid>", "mysql:<connection id>"
        self.observed = _DetectorNode("deadlock_detector", "DeadlockDetectorNode")
        self.waits: set[tuple[int, int, str]] = set()
        self.decisions: list[Decision] = []

    async def start(self, decision: Decision) -> _Judge:
        self.decisions.append(decision)
        return _Judge(decision, self.prefix)

    async def observe(self, waiter: int, blocker: dict[str, Any], wanted: str, timeout: float) -> None:
        key = (waiter, blocker["pid"], wanted)
        if key in self.waits:
            return
        self.waits.add(key)
        for rel, mode in blocker.get("held", []):
            await self.observed._call(operation="register_lock", transaction_id=f"{self.prefix}:{blocker['pid']}",
                                      resource_id=f"relation:{rel}", lock_type=_lock_type(mode))
        await self.observed._call(operation="register_wait", transaction_id=f"{self.prefix}:{waiter}",
                                  waiting_for_transaction_id=f"{self.prefix}:{blocker['pid']}", resource_id=wanted,
                                  timeout=timeout, metadata={"observed_at": time.time()})

    async def verdict(self) -> dict[str, Any]:
        stopped = [d for d in self.decisions if d.action == "stop"]
        base = {"detector": "DeadlockDetectorNode", "decisions": len(self.decisions),
                "waited": sum(1 for d in self.decisions if d.checks > 1 or d.action == "stop"), "stopped": len(stopped)}
        if not self.waits and not any(d.holders for d in self.decisions):
            return {**base, "waits": 0, "deadlock_count": 0, "verdict": "no waits", "error": self.observed.error}
        result = await self.observed._call(operation="detect_deadlocks", detection_algorithm="combined") if self.waits else {}
        found = result.get("deadlocks_detected", [])
        kinds = sorted({d.get("deadlock_type", "?") for d in found})
        if stopped:
            verdict = "stopped before " + ", ".join(f"statement {d.statement}" for d in stopped)
        else:
            verdict = ", ".join(kinds) if found else "waits, no deadlock"
        return {**base, "waits": len(self.waits) + sum(len(d.holders) for d in self.decisions),
                "deadlock_count": len(found), "types": kinds,
                "verdict": "error" if self.observed.error else verdict, "error": self.observed.error}


class _Judge:
    """The wait graph of one step, re-read at each check, in one node."""

    def __init__(self, decision: Decision, prefix: str) -> None:
        self.decision = decision
        self.prefix = prefix
        self.node = _DetectorNode("deadlock_detector", "DeadlockDetectorNode")
        self.registered: set[tuple[str, str]] = set()
        self.started = time.monotonic()

    async def judge(self, run: str, ours: list[int], holders: list[Any], bound: float) -> str:
        """"proceed", "wait" or "stop", from the node's ``detect_deadlocks(combined)``; the
        node's output is quoted in the decision."""
        d = self.decision
        d.checks += 1
        d.waited_s = time.monotonic() - self.started
        for h in holders:
            # an unnamed holder (pid 0: the table is locked, no session is seen) right after a
            # named one was ended is that session still exiting: not a second holder
            if h.pid not in {x["pid"] for x in d.holders} and (h.pid or not d.holders):
                d.holders.append(h.to_dict())
        if not holders:
            d.action = "proceed after waiting" if d.checks > 1 else "proceed"
            return "proceed"
        resource = f"relation:{d.relation}:{d.mode}"
        for h in holders:
            holder = f"{self.prefix}:{h.pid}"
            await self._lock(holder, f"relation:{d.relation}", h.mode)
            await self._wait(run, holder, resource, bound)
            for other in h.waits_for:
                await self._wait(holder, run if other in ours else f"{self.prefix}:{other}", f"pid:{other}", None)
        if self.node.node is None:
            d.error = f"DeadlockDetectorNode unavailable ({self.node.error}): the step runs under lock_timeout"
            d.action = "proceed"
            return "proceed"
        result = await self.node._call(operation="detect_deadlocks", detection_algorithm="combined")
        found = result.get("deadlocks_detected") or []
        d.detector = {"deadlock_count": result.get("deadlock_count", len(found)),
                      "deadlocks": [{"deadlock_type": x.get("deadlock_type"),
                                     "involved_transactions": x.get("involved_transactions"),
                                     "involved_resources": x.get("involved_resources"),
                                     "recommended_strategy": x.get("recommended_strategy"),
                                     "victim_candidates": x.get("victim_candidates")} for x in found],
                      "wait_for_graph": result.get("wait_for_graph"), "error": self.node.error}
        if found:
            d.action = "stop"
            return "stop"
        d.action = "wait"
        return "wait"

    async def _lock(self, holder: str, resource: str, mode: str) -> None:
        if (holder, resource) not in self.registered:
            self.registered.add((holder, resource))
            await self.node._call(operation="register_lock", transaction_id=holder, resource_id=resource,
                                  lock_type=_lock_type(mode))

    async def _wait(self, waiter: str, holder: str, resource: str, timeout: float | None) -> None:
        if (waiter, holder) not in self.registered:
            self.registered.add((waiter, holder))
            await self.node._call(operation="register_wait", transaction_id=waiter, waiting_for_transaction_id=holder,
                                  resource_id=resource, timeout=timeout, metadata={"observed_at": time.time()})


def _lock_type(mode: str) -> str:
    # the node knows shared/exclusive-style names; PostgreSQL's modes (AccessExclusiveLock) and
    # MySQL's metadata lock types (EXCLUSIVE, SHARED_WRITE) map onto them
    upper = mode.upper()
    return "exclusive" if "EXCLUSIVE" in upper and "SHARE" not in upper else "shared"

"""Kailash's ``RaceConditionDetectorNode`` and ``DeadlockDetectorNode`` as verdict engines.

They never touch the database (kailash-notes §3): we feed them what PostgreSQL shows (advisory
lock attempts/holds/releases, ``pg_blocking_pids`` waits) and report their verdicts. They are
advisory: a detector error is recorded in the verdict, never fails a migration, and nothing here
cancels any session.

``kailash.nodes.monitoring``'s package ``__init__`` needs aiohttp (the ``kailash[server]`` extra);
the two detector modules do not, so they are imported through a stub package (kailash-notes §3 (b)).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import types
from typing import Any

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
    """One Kailash detector node, used as an advisory verdict engine: a node that cannot be
    built or that fails records ``error`` and answers nothing, and the migration goes on."""

    def __init__(self, module: str, node_class: str) -> None:
        self.error: str | None = None
        try:
            _quiet()
            self.node = getattr(_module(module), node_class)()
        except Exception as exc:
            self.node, self.error = None, f"{type(exc).__name__}: {exc}"

    async def _call(self, **kw: Any) -> dict[str, Any]:
        if self.node is None:
            return {}
        try:
            return await self.node.execute_async(**kw)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return {}


class RaceWatch(_DetectorNode):
    """Advisory-lock attempts, holds and releases as accesses to one resource. Our attempts are
    reads (probes), our hold is a write; a holder seen by a failed attempt is a write from its
    pid, ended when we get the lock. The node's ``detect_races`` flags any two writers inside its
    window, overlapping or not, so its candidates are reported as such; ``overlap`` is our own
    check that no observed holder's interval overlapped ours (the lock's actual promise)."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.attempts = 0
        self.contended = 0
        self.holders: dict[int, str] = {}  # pid -> access id, open until we hold the lock
        self.overlapped = False  # set by saw_holder_while_holding()
        self._hold: str | None = None
        self._n = 0
        self.stale_plan: dict[str, Any] | None = None
        self._resources = [resource]
        super().__init__("race_condition_detector", "RaceConditionDetectorNode")

    def _id(self, what: str) -> str:
        self._n += 1
        return f"{what}-{os.getpid()}-{self._n}"

    async def attempt(self, got: bool, holder_pid: int | None, our_pid: int) -> None:
        self.attempts += 1
        if holder_pid is not None and holder_pid not in self.holders:
            self.contended += 1
            self.holders[holder_pid] = self._id("held")
            await self._call(operation="register_access", resource_id=self.resource, access_id=self.holders[holder_pid],
                             operation_id=f"pg:{holder_pid}", thread_id=f"pg:{holder_pid}", process_id=f"pg:{holder_pid}",
                             access_type="write")

    async def hold(self, our_pid: int) -> None:
        for access in self.holders.values():  # they released: we hold it now
            await self._call(operation="end_access", access_id=access)
        self.holders.clear()
        self._hold = self._id("hold")
        await self._call(operation="register_access", resource_id=self.resource, access_id=self._hold,
                         operation_id=f"pg:{our_pid}", thread_id=f"pg:{our_pid}", process_id=str(os.getpid()),
                         access_type="write")

    def saw_holder_while_holding(self) -> None:
        self.overlapped = True

    async def plan_changed(self, migration_id: str, changed: list[str]) -> None:
        """A migration's planned objects changed before it ran (``dfmigrate.expect``): the plan
        read them, someone else wrote them since; registered as such, one pair per object."""
        self.stale_plan = {"migration": migration_id, "changed": changed}
        self._resources += changed
        for obj in changed:
            accesses = [(self._id("planned"), f"plan:{migration_id}", "plan", "read"),
                        (self._id("changed"), "unknown-writer", "database", "write")]
            for access, operation, thread, kind in accesses:
                await self._call(operation="register_access", resource_id=obj, access_id=access,
                                 operation_id=operation, thread_id=thread, process_id=thread, access_type=kind)
            for access, *_ in accesses:
                await self._call(operation="end_access", access_id=access)

    async def release(self) -> None:
        if self._hold:
            await self._call(operation="end_access", access_id=self._hold)
            self._hold = None

    async def verdict(self) -> dict[str, Any]:
        for access in self.holders.values():
            await self._call(operation="end_access", access_id=access)
        self.holders.clear()
        result = await self._call(operation="detect_races", detection_window=3600.0, resource_filters=self._resources)
        races = result.get("races_detected", [])
        overlap = self.overlapped
        if self.error:
            verdict = "error"
        elif overlap:
            verdict = "RACE: two holders at once"
        elif self.stale_plan:
            verdict = (f"RACE: {self.stale_plan['migration']} was planned against objects changed since: "
                       + ", ".join(self.stale_plan["changed"]))
        else:
            verdict = "contended, serialized by the lock" if self.contended else "uncontended"
        return {"overlap": overlap, "detector": "RaceConditionDetectorNode", "attempts": self.attempts, "contended": self.contended,
                "race_count": len(races), "races": [{"type": r.get("race_type"), "severity": r.get("severity")}
                                                    for r in races],
                "stale_plan": self.stale_plan, "verdict": verdict, "error": self.error}


class DeadlockWatch(_DetectorNode):
    """Observed lock waits (``pg_blocking_pids``) registered with ``DeadlockDetectorNode``;
    ``detect_deadlocks(combined)`` gives the verdict: a cycle, or a wait past its timeout."""

    def __init__(self) -> None:
        self.waits: set[tuple[int, int, str]] = set()
        super().__init__("deadlock_detector", "DeadlockDetectorNode")

    async def observe(self, waiter: int, blocker: dict[str, Any], wanted: str, timeout: float) -> None:
        key = (waiter, blocker["pid"], wanted)
        if key in self.waits:
            return
        self.waits.add(key)
        for rel, mode in blocker.get("held", []):
            await self._call(operation="register_lock", transaction_id=f"pg:{blocker['pid']}",
                             resource_id=f"relation:{rel}", lock_type=_lock_type(mode))
        await self._call(operation="register_wait", transaction_id=f"pg:{waiter}",
                         waiting_for_transaction_id=f"pg:{blocker['pid']}", resource_id=wanted,
                         timeout=timeout, metadata={"observed_at": time.time()})

    async def verdict(self) -> dict[str, Any]:
        if not self.waits:
            return {"detector": "DeadlockDetectorNode", "waits": 0, "deadlock_count": 0, "verdict": "no waits",
                    "error": self.error}
        result = await self._call(operation="detect_deadlocks", detection_algorithm="combined")
        found = result.get("deadlocks_detected", [])
        kinds = sorted({d.get("deadlock_type", "?") for d in found})
        return {"detector": "DeadlockDetectorNode", "waits": len(self.waits), "deadlock_count": len(found),
                "types": kinds, "verdict": "error" if self.error else (", ".join(kinds) if found else "waits, no deadlock"),
                "error": self.error}


def _lock_type(mode: str) -> str:
    # the node knows shared/exclusive-style names; PostgreSQL's modes map onto them
    return "exclusive" if "Exclusive" in mode and "Share" not in mode else "shared"

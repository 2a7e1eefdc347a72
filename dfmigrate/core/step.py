"""``Step``: one unit a migration runs, with what it risks as data.

A migration, for one dialect and one direction, is an ordered list of steps. The renderer knows
each statement's lock, target and transactionality when it writes it; a step carries those facts
into the migration file and on to the executor, so nothing downstream re-reads them from SQL.

How the executor runs a list of steps:
- consecutive transactional steps share one transaction; a step with ``isolated=True`` starts a
  new one (``VALIDATE CONSTRAINT`` after ``ADD … NOT VALID`` must commit separately);
- a step with ``transactional=False`` runs alone, outside any transaction (``CREATE INDEX
  CONCURRENTLY``); ``resume`` says how a rerun after a crash recognizes it as done;
- a step with ``python`` set runs that callable (``RunPython``) with the connection, inside the
  current transaction.

This module imports nothing heavy: migration files, the linter and the CLI read it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    sql: str | None  # one statement, no trailing semicolon; None for a Python step
    kind: str = ""  # what the step does, e.g. "create index", "add column", "run python"
    lock: str | None = None  # strongest lock taken, PostgreSQL's name ("ACCESS EXCLUSIVE", …)
    target: str | None = None  # the relation it locks or acts on, "namespace.name"
    transactional: bool = True  # False: outside any transaction, alone
    isolated: bool = False  # True: begins a transaction of its own (commits what came before)
    hazards: tuple[str, ...] = ()  # Hazard values, e.g. ("deletes-data",)
    resume: str | None = None  # how a rerun tells a finished outside step, e.g. "index:ns.name"
    python: Callable[..., Any] | None = None  # RunPython: ``await python(conn)``
    also_locks: tuple[str, ...] = ()  # other relations it locks (MySQL: a foreign key's referenced table)

    def __post_init__(self) -> None:
        if (self.sql is None) == (self.python is None):
            raise ValueError("a step has either sql or python, not both and not neither")
        if self.python is not None and not self.transactional:
            raise ValueError("a Python step runs inside the transaction")


def transaction_groups(steps: list[Step]) -> list[list[Step]]:
    """``steps`` cut where a transaction must end: each group is either one non-transactional
    step or a run of transactional steps that commit together."""
    groups: list[list[Step]] = []
    for step in steps:
        if not step.transactional or step.isolated or not groups or not groups[-1][-1].transactional:
            groups.append([step])
        else:
            groups[-1].append(step)
    return groups

"""A rendered SQL statement that remembers why it exists and what it risks."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Hazard(enum.Enum):
    DELETES_DATA = "deletes-data"  # a table, column or value is dropped
    TABLE_REWRITE = "table-rewrite"  # the whole table is rewritten under ACCESS EXCLUSIVE
    ACCESS_EXCLUSIVE_LOCK = "access-exclusive-lock"  # blocks reads and writes while it runs
    SHARE_LOCK = "share-lock"  # blocks writes (e.g. a plain CREATE INDEX)
    VALIDATES_ROWS = "validates-rows"  # scans the table to check a constraint or NOT NULL
    INDEX_BUILD = "index-build"
    INDEX_DROPPED = "index-dropped"  # queries may get slower
    NON_TRANSACTIONAL = "non-transactional"  # cannot run inside a transaction
    RECREATES_DEPENDENTS = "recreates-dependents"  # views/functions dropped and recreated
    UNTRACKABLE_DEPENDENCIES = "untrackable-dependencies"  # function bodies
    BREAKS_CLIENTS = "breaks-clients"  # running code fails: renames, drops, NOT NULL without a default
    TABLE_COPY = "table-copy"  # MySQL ALGORITHM=COPY: rows copied to a new table, writes blocked
    METADATA_LOCK = "metadata-lock"  # MySQL: waits for open transactions; queries queue behind it
    FAILS_ON_DATA = "fails-on-data"  # may fail on existing rows: new unique, NOT NULL, check, FK
    UPDATES_ROWS = "updates-rows"  # a backfill writes every existing row (in committed batches)


# Hazards that cost data or break the release still running: applying one needs consent.
DESTRUCTIVE = frozenset({Hazard.DELETES_DATA, Hazard.BREAKS_CLIENTS})


@dataclass(frozen=True)
class Statement:
    sql: str  # one statement, without the trailing semicolon
    source: Any  # the Change that produced it (typed as Any to keep this module dependency-free)
    hazards: tuple[Hazard, ...] = ()
    lock: str | None = None  # strongest lock taken, e.g. "ACCESS EXCLUSIVE"
    lock_target: str | None = None  # the relation locked, "namespace.name"
    transactional: bool = True
    comment: str | None = None  # a note printed above the statement (e.g. a rename hint)
    reverse: tuple[str, ...] = field(default=())  # SQL that undoes it, where it can be derived
    algorithm: str | None = None  # MySQL ALGORITHM the statement requests: INSTANT, INPLACE, COPY
    kind: str = ""  # what it does, e.g. "add-column"; "" = named after the change that produced it
    isolated: bool = False  # must begin a transaction of its own (commit what came before)
    # how a rerun tells an outside statement already took effect: "index:ns.name" (built and valid;
    # an invalid leftover is dropped and rebuilt), "no-index:ns.name" (gone), "rerun" (idempotent)
    resume: str | None = None
    # other relations it locks, "namespace.name": on MySQL the table a foreign key it adds or
    # drops references (a metadata lock on that table too, which the guard checks before it runs)
    also_locks: tuple[str, ...] = ()

"""The base classes of migration files, and ``migration_steps``: what a file runs, as steps.

A migration file defines one class with ``id``, ``description`` and ``dependencies`` (the
contract of Kailash's ``Migration``, which the runner adapts it to, lazily: this module imports
no Kailash, so ``check`` and ``makemigrations`` read files without paying for it). What it runs:

- ``SchemaMigration`` (written by ``makemigrations``): one ``ForDialect`` per dialect the
  directory targets, named after it (``sqlite = ForDialect(...)``): the typed changes
  (``operations``: what replay folds), the changes that undo them (``reverse``), and the SQL
  rendered from each, frozen when the file was written (``forward`` / ``backward``: ``Step``
  lists with each statement's kind, lock, target and transactionality). The frozen SQL is what
  runs; a dialect whose SQL is missing is rendered from its operations (with a warning).
- ``Migration`` with ``operations = [RunSQL(...), RunPython(...)]`` (hand-written): SQL per
  dialect and Python callables, each with the schema changes it makes (``state``) so replay
  needs no database. A step without ``state`` is replayed on a scratch database.
- ``Migration`` overriding ``forward(conn)`` / ``backward(conn)``: one Python step.
- ``SQLMigration``: the earlier format (``forward_sql`` / ``backward_sql`` lists for one
  ``dialect``), still read and run unchanged; kind, lock and target come from
  ``dfmigrate.core.classify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from dfmigrate.errors import DfmigrateError
from dfmigrate.core.step import Step

__all__ = ["DataMigration", "ForDialect", "Migration", "RunPython", "RunSQL", "SQLMigration", "SchemaMigration", "Step",
           "expectations_of", "kailash_class", "migration_steps", "state_operations"]

DIALECTS = ("sqlite", "postgresql", "mysql")
# What a directory's files hold when neither the dialects setting, nor the directory's own files,
# nor the target database name another (see makemigrations)
DEFAULT_DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class ForDialect:
    """One dialect's part of a generated migration."""

    operations: Sequence[Any] = ()  # typed changes (dfmigrate.core.changes), in execution order
    reverse: Sequence[Any] = ()  # the changes that undo them, in execution order
    forward: Sequence[Step] | None = None  # the SQL frozen at generation time; None: render
    backward: Sequence[Step] | None = None
    # (kind, namespace, name, digest or None = absent): the planned state of what the forward
    # SQL touches, compared with the database before it runs (dfmigrate.core.expect)
    expects: Sequence[tuple[str, str, str, str | None]] = ()


SQLText = str | Sequence[str]


@dataclass(frozen=True)
class RunSQL:
    """Hand-written SQL: one text (or list of statements) for every dialect, or a dict per
    dialect. ``state``: the schema changes the SQL makes (a list, or a dict per dialect), for
    replay without a database; None: replay runs it on a scratch database."""

    sql: SQLText | dict[str, SQLText]
    reverse: SQLText | dict[str, SQLText] | None = None
    state: Sequence[Any] | dict[str, Sequence[Any]] | None = None


@dataclass(frozen=True)
class RunPython:
    """Hand-written Python: ``await forward(conn)`` inside the migration's transaction."""

    forward: Callable[..., Any]
    backward: Callable[..., Any] | None = None
    state: Sequence[Any] | dict[str, Sequence[Any]] | None = None


class Migration:
    """What every migration file's class derives from (Kailash's contract, without Kailash)."""

    id: ClassVar[str] = ""
    description: ClassVar[str] = ""
    dependencies: ClassVar[list[str]] = []
    operations: ClassVar[Sequence[Any]] = ()  # RunSQL / RunPython, hand-written
    # the destructive hazards ("deletes-data", "breaks-clients", or "all") this file's author
    # consented to (dfmigrate.safety.consent): migrate and rollback run them without --allow-hazards
    allow_hazards: ClassVar[list[str]] = []
    # expand and contract (makemigrations --phases): "pre" runs before the new release is deployed
    # (migrate --phase pre stops before the first pending "post"), "post" once the old release is
    # gone; None: an ordinary migration, run whenever it is pending
    phase: ClassVar[str | None] = None

    def __init__(self) -> None:
        if not self.id:
            raise ValueError("Migration must have an id")
        if not self.description:
            raise ValueError("Migration must have a description")

    def steps(self, dialect: str, direction: str, *, strict: bool = False) -> list[Step]:
        """What running this migration on ``dialect`` in ``direction`` executes (``strict``:
        refuse to render SQL a generated file lacks instead of warning)."""
        own = getattr(type(self), direction)
        if own is not getattr(Migration, direction):  # forward()/backward() written by hand
            return [Step(None, kind="run python", python=getattr(self, direction))]
        out: list[Step] = []
        items = list(self.operations) if direction == "forward" else list(reversed(self.operations))
        for n, item in enumerate(items, 1):
            if isinstance(item, RunPython):
                call = item.forward if direction == "forward" else item.backward
                if call is None:
                    raise DfmigrateError(f"{self.id}: RunPython step {n} has no backward function")
                out.append(Step(None, kind="run python", python=call))
            elif isinstance(item, RunSQL):
                text = item.sql if direction == "forward" else item.reverse
                if text is None:
                    raise DfmigrateError(f"{self.id}: RunSQL step {n} has no reverse SQL")
                out += _sql_steps(_for(text, dialect, self.id, "SQL"), dialect)
            else:
                raise DfmigrateError(f"{self.id}: operations lists RunSQL and RunPython steps, "
                                     f"not {type(item).__name__}")
        return out

    async def forward(self, conn: Any) -> None:
        await _run(self.steps(conn.dialect, "forward"), conn)

    async def backward(self, conn: Any) -> None:
        await _run(self.steps(conn.dialect, "backward"), conn)

    async def validate(self, conn: Any) -> bool:
        return True

    def get_hash(self) -> str:  # Kailash's, kept for callers of its contract
        content = f"{self.id}:{self.description}:{','.join(self.dependencies)}"
        return hashlib.sha256(content.encode()).hexdigest()[:16]


DataMigration = Migration  # the name hand-written files import (their own class is "Migration")


class SchemaMigration(Migration):
    """A generated migration: a ``ForDialect`` class attribute per dialect (``sqlite``,
    ``postgresql``, ``mysql``)."""

    def part(self, dialect: str) -> ForDialect | None:
        part = getattr(type(self), dialect, None) if dialect in DIALECTS else None
        return part if isinstance(part, ForDialect) else None

    def dialects(self) -> list[str]:
        return [d for d in DIALECTS if self.part(d) is not None]

    def steps(self, dialect: str, direction: str, *, strict: bool = False) -> list[Step]:
        if getattr(type(self), direction) is not getattr(Migration, direction):
            return super().steps(dialect, direction)
        part = self.part(dialect)
        if part is None:
            raise DfmigrateError(f"{self.id} has no {dialect} operations (it was written for "
                                 f"{', '.join(self.dialects()) or 'no dialect'}): add {dialect} to "
                                 "[tool.dfmigrate] dialects and write the migrations again")
        frozen = part.forward if direction == "forward" else part.backward
        if frozen is not None:
            return list(frozen)
        if strict:
            raise DfmigrateError(f"{self.id} has no frozen {dialect} SQL and --strict refuses to render it")
        import sys

        print(f"dfmigrate: warning: {self.id} has no frozen {dialect} SQL: rendered from its operations "
              "(--strict refuses)", file=sys.stderr)
        from dfmigrate.directory.ops import render_steps

        return render_steps(list(part.operations if direction == "forward" else part.reverse), dialect)


class SQLMigration(Migration):
    """The earlier format: ``forward_sql`` / ``backward_sql`` for one ``dialect``.

    ``non_transactional`` (indexes into ``forward_sql``) and ``backward_non_transactional``
    (into ``backward_sql``) run outside a transaction, as does SQLite's ``PRAGMA foreign_keys``.
    """

    dialect: ClassVar[str] = ""
    forward_sql: ClassVar[list[str]] = []
    backward_sql: ClassVar[list[str]] = []
    non_transactional: ClassVar[list[int]] = []
    backward_non_transactional: ClassVar[list[int]] = []
    expects: ClassVar[list[tuple[str, str, str, str | None]]] = []

    def steps(self, dialect: str, direction: str, *, strict: bool = False) -> list[Step]:
        if getattr(type(self), direction) is not getattr(Migration, direction):
            return super().steps(dialect, direction)
        if self.dialect and self.dialect != dialect:
            raise DfmigrateError(f"{self.id} is a {self.dialect} migration (written before migrations held "
                                 f"every dialect), but the database is {dialect}")
        sql = self.forward_sql if direction == "forward" else self.backward_sql
        outside = frozenset(self.non_transactional if direction == "forward" else self.backward_non_transactional)
        return _sql_steps(sql, dialect, outside)


def _for(value: Any, dialect: str, owner: str, what: str) -> Any:
    if isinstance(value, dict):
        if dialect not in value:
            raise DfmigrateError(f"{owner}: no {dialect} {what} (it has {', '.join(sorted(value))})")
        return value[dialect]
    return value


def _sql_steps(sql: SQLText, dialect: str, outside: frozenset[int] = frozenset()) -> list[Step]:
    from dfmigrate.core.classify import classify

    texts = [sql] if isinstance(sql, str) else list(sql)
    out = []
    for i, text in enumerate(texts):
        c = classify(text, dialect)
        transactional = c.transactional and i not in outside
        out.append(Step(text, kind=c.kind, lock=c.lock, target=c.target, transactional=transactional,
                        hazards=c.hazards, resume=None if transactional else c.resume))
    return out


async def _run(steps: list[Step], conn: Any) -> None:
    """Run steps in order on ``conn`` (which transaction they share is the caller's business)."""
    for step in steps:
        if step.python is not None:
            await step.python(conn)
        else:
            await conn.execute(step.sql)


def migration_steps(migration: Any, dialect: str, direction: str, *, strict: bool = False) -> list[Step]:
    """``migration.steps(dialect, direction)``, for any migration object: one whose class derives
    straight from Kailash's ``Migration`` runs as one Python step."""
    if isinstance(migration, Migration):
        return migration.steps(dialect, direction, strict=strict)
    return [Step(None, kind="run python", python=getattr(migration, direction))]


def state_operations(migration: Any, dialect: str) -> list[Any] | None:
    """The schema changes ``migration`` makes on ``dialect``, in order, for replay without a
    database; None when it does not say (hand-written code without ``state``, older files)."""
    if isinstance(migration, SchemaMigration):
        if type(migration).forward is not Migration.forward:
            return None
        part = migration.part(dialect)
        return list(part.operations) if part is not None else None
    if not isinstance(migration, Migration) or isinstance(migration, SQLMigration):
        return None
    if type(migration).forward is not Migration.forward:
        return None
    out: list[Any] = []
    for item in migration.operations:
        state = getattr(item, "state", None)
        if state is None:
            return None
        out += list(_for(state, dialect, migration.id, "state"))
    return out


def expectations_of(migration: Any, dialect: str) -> list[tuple[str, str, str, str | None]]:
    """The planned state of what ``migration`` touches on ``dialect`` (``dfmigrate.core.expect``);
    empty when it does not say (hand-written files)."""
    if isinstance(migration, SchemaMigration):
        part = migration.part(dialect)
        return list(part.expects) if part is not None else []
    return list(getattr(migration, "expects", None) or [])


_ADAPTED: dict[type, type] = {}


def kailash_class(cls: type) -> type:
    """``cls`` as a Kailash ``Migration`` subclass, for the runner (imports Kailash)."""
    from kailash.utils.migrations import Migration as KailashMigration

    # the MRO, not issubclass: Kailash's Migration is an ABC, whose subclass check walks every
    # subclass made so far (each adapted file's class), quadratic over a long history
    if KailashMigration in cls.__mro__:
        return cls
    if cls not in _ADAPTED:
        _ADAPTED[cls] = type(cls.__name__, (cls, KailashMigration), {"__module__": cls.__module__,
                                                                     "__doc__": cls.__doc__})
    return _ADAPTED[cls]


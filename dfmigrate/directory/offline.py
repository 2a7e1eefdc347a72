"""Offline SQL: the whole script ``migrate`` (or ``rollback``) would run, without a database.

For teams whose DBAs run scripts themselves (Alembic's ``upgrade --sql``). The script holds the
history table, every statement of every migration in the range with the transaction boundaries
the runner would use (``step.transaction_groups``: a statement that cannot run in a transaction
stands alone), and each migration's history row, written in the migration's last transaction,
with the checksum ``migrate`` records, so a database brought up by the script is seen by later
``migrate`` runs as up to date. Migrations that run Python code cannot be written as SQL: the
script is refused, naming them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dfmigrate import __version__
from dfmigrate.errors import DfmigrateError
from dfmigrate.directory.files import as_dir, load_all
from dfmigrate.directory.sumfile import verify


def _range(ids: list[str], start: str | None, stop: str | None) -> tuple[int, int]:
    for given, flag in ((start, "--from"), (stop, "--to")):
        if given is not None and given not in ids:
            raise DfmigrateError(f"{flag} {given}: no such migration in the directory")
    return (ids.index(start) + 1 if start else 0), (ids.index(stop) + 1 if stop else len(ids))


def offline_script(directory: Any, dialect: str, direction: str = "forward",
                   start: str | None = None, stop: str | None = None, strict: bool = False,
                   allow_hazards: frozenset[str] = frozenset(), phase: str | None = None) -> str:
    """The script. Forward: the migrations after ``start`` (all when None) up to and including
    ``stop`` (the last when None). Backward: the migrations after ``stop`` (the one before
    ``start`` when None) up to and including ``start`` (the last when None), newest first.
    Refused, like ``migrate``, when a step loses data or breaks clients and neither
    ``allow_hazards`` (``--allow-hazards``) nor its file's ``allow_hazards`` consents. ``phase``
    "pre" (forward only) ends the range before its first post-deploy migration."""
    import asyncio

    from dfmigrate.migration import migration_steps
    from dfmigrate.safety import consent

    store = as_dir(directory)
    verify(store)
    loaded = load_all(store)
    ids = [m.id for m in loaded]
    if direction == "forward":
        lo, hi = _range(ids, start, stop)
        chosen = loaded[lo:hi]
        if phase == "pre":
            from dfmigrate.directory.phases import before_post, declared_phase

            chosen = before_post(chosen, lambda m: declared_phase(m.cls))
    else:
        if start is not None and start not in ids:
            raise DfmigrateError(f"--from {start}: no such migration in the directory")
        newest = ids.index(start) if start else len(ids) - 1
        keep = _range(ids, None, stop)[1] if stop else max(newest, 0)
        chosen = list(reversed(loaded[keep:newest + 1]))
    planned = [(m, migration_steps(m.cls(), dialect, direction, strict=strict)) for m in chosen]
    consent.require([(m.id, m.cls, steps) for m, steps in planned], allow_hazards, direction)
    python = [store.display(m.name) for m, steps in planned if any(s.python is not None for s in steps)]
    if python:
        raise DfmigrateError(f"{', '.join(python)} run Python code, which an offline script cannot hold: "
                             "apply them with 'dfmigrate migrate', or script the range around them (--from/--to)")
    return asyncio.run(_script(store, dialect, direction, planned))


async def _script(store: Any, dialect: str, direction: str, planned: list[tuple[Any, list[Any]]]) -> str:
    """Each migration through the runner's executor, on a connection that writes the statements
    (and the history rows) instead of running them: the same transactions ``migrate`` uses."""
    from dfmigrate.runner import ledger
    from dfmigrate.runner.executor import script

    header = (f"-- dfmigrate {__version__}: {'migrate' if direction == 'forward' else 'rollback'} script "
              f"for {dialect}, {len(planned)} migration(s)", ledger.ddl(dialect) + ";", "")
    return await script(dialect, direction, [
        (m.id, steps, hashlib.sha256(store.read(m.name)).hexdigest(), store.display(m.name),
         getattr(m.cls, "description", "")) for m, steps in planned], history=True, header=header)


def require_frozen(directory: Any, dialect: str) -> None:
    """``migrate --strict``: refuse, before connecting, a generated file that lacks the
    dialect's frozen SQL (it would be rendered from its operations)."""
    from dfmigrate.migration import SchemaMigration

    store = as_dir(directory)
    verify(store)
    for m in load_all(store):
        if issubclass(m.cls, SchemaMigration):
            m.cls().steps(dialect, "forward", strict=True)

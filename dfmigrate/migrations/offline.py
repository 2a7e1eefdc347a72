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
from dfmigrate.migrations.directory import as_dir, load_all
from dfmigrate.migrations.sumfile import verify
from dfmigrate.step import Step, transaction_groups



def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _history(dialect: str) -> tuple[str, str]:
    """(the history table's CREATE statement, its name), as the runner's ledger has them."""
    from dfmigrate.runner.ledger import _DDL, HISTORY_TABLE, _one_line, own_table

    return _one_line(_DDL[dialect].format(table=HISTORY_TABLE)) + ";", own_table(dialect, HISTORY_TABLE)


def _range(ids: list[str], start: str | None, stop: str | None) -> tuple[int, int]:
    for given, flag in ((start, "--from"), (stop, "--to")):
        if given is not None and given not in ids:
            raise DfmigrateError(f"{flag} {given}: no such migration in the directory")
    return (ids.index(start) + 1 if start else 0), (ids.index(stop) + 1 if stop else len(ids))


def offline_script(directory: Any, dialect: str, direction: str = "forward",
                   start: str | None = None, stop: str | None = None, strict: bool = False) -> str:
    """The script. Forward: the migrations after ``start`` (all when None) up to and including
    ``stop`` (the last when None). Backward: the migrations after ``stop`` (the one before
    ``start`` when None) up to and including ``start`` (the last when None), newest first."""
    from dfmigrate.migration import migration_steps

    store = as_dir(directory)
    verify(store)
    loaded = load_all(store)
    ids = [m.id for m in loaded]
    if direction == "forward":
        lo, hi = _range(ids, start, stop)
        chosen = loaded[lo:hi]
    else:
        newest = ids.index(start) if start else len(ids) - 1
        if start is not None and start not in ids:
            raise DfmigrateError(f"--from {start}: no such migration in the directory")
        keep = _range(ids, None, stop)[1] if stop else max(newest, 0)
        chosen = list(reversed(loaded[keep:newest + 1]))
    ddl, table = _history(dialect)
    out = [f"-- dfmigrate {__version__}: {'migrate' if direction == 'forward' else 'rollback'} script "
           f"for {dialect}, {len(chosen)} migration(s)", ddl, ""]
    python = []
    for m in chosen:
        steps = migration_steps(m.cls(), dialect, direction, strict=strict)
        if any(s.python is not None for s in steps):
            python.append(store.display(m.name))
            continue
        checksum = hashlib.sha256(store.read(m.name)).hexdigest()
        out += [f"-- {m.id}: {getattr(m.cls, 'description', '')} ({direction})", *_transactions(steps, _ledger(
            dialect, table, m.id, checksum, direction)), ""]
    if python:
        raise DfmigrateError(f"{', '.join(python)} run Python code, which an offline script cannot hold: "
                             "apply them with 'dfmigrate migrate', or script the range around them (--from/--to)")
    return "\n".join(out)


def _ledger(dialect: str, table: str, migration_id: str, checksum: str, direction: str) -> str:
    """The history row the runner appends (one per apply and per rollback, as ``ledger.record``)."""
    from dfmigrate.runner.ledger import _COLUMNS

    now = "now()" if dialect == "postgresql" else "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '+00:00'"
    who = "current_user || ' (offline script)'" if dialect == "postgresql" else "'offline script'"
    return (f"INSERT INTO {table} ({_COLUMNS}) VALUES ({_quote(migration_id)}, {_quote(checksum)}, {now}, 0, "
            f"{who}, {_quote(__version__)}, {_quote(direction)});")


def _transactions(steps: list[Step], ledger: str) -> list[str]:
    """The statements with BEGIN/COMMIT where the runner puts its transactions; the history row
    goes with the last transaction (or in one of its own after a final outside statement)."""
    out: list[str] = []
    groups = transaction_groups(steps)
    if not groups or not groups[-1][-1].transactional:
        groups.append([])  # the history row needs a transaction of its own at the end
    for n, group in enumerate(groups):
        if group and not group[0].transactional:
            out.append(f"{group[0].sql};")
            continue
        out.append("BEGIN;")
        out += [f"{s.sql};" for s in group]
        if n == len(groups) - 1:
            out.append(ledger)
        out.append("COMMIT;")
    return out


def require_frozen(directory: Any, dialect: str) -> None:
    """``migrate --strict``: refuse, before connecting, a generated file that lacks the
    dialect's frozen SQL (it would be rendered from its operations)."""
    from dfmigrate.migration import SchemaMigration

    store = as_dir(directory)
    verify(store)
    for m in load_all(store):
        if issubclass(m.cls, SchemaMigration):
            m.cls().steps(dialect, "forward", strict=True)

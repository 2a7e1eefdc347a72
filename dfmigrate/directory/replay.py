"""The schema a migrations directory produces (the ``migrations:DIR`` source).

Generated migrations (and hand-written steps that declare their ``state``) list the typed
changes they make: the directory's schema in a dialect is the fold of those changes
(``dfmigrate.core.fold``), computed in memory, without a database and without Kailash. Only a file
that does not say what it changes (a hand-written step without ``state``, or a file in the
earlier format) makes the directory replay on a scratch database of the dialect (in-memory
SQLite, or a temporary PostgreSQL database on ``dev_url``), which is then introspected.

Results are cached as Schema JSON per dialect, keyed by each file's chained hash (the sum's
lines): after a new migration only the files past the longest cached prefix are loaded and
folded, so ``check`` and ``makemigrations`` stay fast on long histories.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dfmigrate import __version__
from dfmigrate.errors import DfmigrateError
from dfmigrate.directory.files import LoadedMigration, as_dir, directory_dialect, load_migration
from dfmigrate.directory.sumfile import file_lines

if TYPE_CHECKING:  # the schema model loads with the first replay: lint imports cache_dir alone
    from dfmigrate.core.schema import Schema

log = logging.getLogger(__name__)

NEEDS_DEV_URL = ("replaying {server} migrations needs a {server} server for a scratch database: "
                 "pass --dev-url (or set dev_url under [tool.dfmigrate] in pyproject.toml)")

def empty_schema(dialect: str) -> Schema:
    from dfmigrate.core.schema import DEFAULT_NAMESPACE, Schema

    return Schema(dialect=dialect, namespaces=(DEFAULT_NAMESPACE[dialect],))  # type: ignore[arg-type]


async def schema_of_directory(directory: Any, dialect: str | None = None,
                              dev_url: str | None = None, *, upto: int | None = None,
                              lines: list[tuple[str, str]] | None = None, own: str | None | bool = False) -> Schema:
    """The schema ``directory`` (its first ``upto`` files, all by default) produces in
    ``dialect`` (default: the directory's own when it is in the earlier one-dialect format, else
    SQLite). The caller verifies the sum first (the cache key is computed from the files
    themselves, so a stale sum never yields a stale schema). ``lines`` (the directory's
    ``file_lines``) and ``own`` (its ``directory_dialect``): what the caller computed for the same
    files already (makemigrations replays every dialect after verifying)."""
    store = as_dir(directory)
    lines = (file_lines(store) if lines is None else lines)[:upto]
    own = directory_dialect(store) if own is False else own
    if own and dialect and dialect != own:
        raise DfmigrateError(f"{store.display('')} holds {own} migrations, not {dialect}")
    dialect = own or dialect or "sqlite"
    if not lines:
        return empty_schema(dialect)
    start, schema = _cached_prefix(lines, dialect)
    if start == len(lines) and schema is not None:
        return schema
    migrations = [_load(store, name, h) for name, h in lines[start:]]
    folded = _fold(store, migrations, dialect, schema or empty_schema(dialect))
    if folded is None:  # a file that does not say what it changes: replay everything on a database
        earlier = [load_migration(store, name) for name, _ in lines[:start]]
        folded = await replay_migrations(store, earlier + migrations, dialect, dev_url)
    _cache_write(_cache_key(lines[-1][1], dialect), folded)
    return folded


_LOADED: dict[tuple[str, str], LoadedMigration] = {}


def _load(store: Any, name: str, line_hash: str) -> LoadedMigration:
    """A file loaded once per process for every dialect replayed (makemigrations and check fold
    each dialect in turn): keyed by its chained hash, so an edited file is loaded again."""
    key = (store.display(name), line_hash)
    if key not in _LOADED:
        _LOADED[key] = load_migration(store, name)
    return _LOADED[key]


def _fold(store: Any, migrations: list[LoadedMigration], dialect: str, schema: Schema) -> Schema | None:
    from dfmigrate.core.fold import FoldError, apply_change
    from dfmigrate.migration import state_operations

    for m in migrations:
        ops = state_operations(_instantiate(m, store.display(m.name)), dialect)
        if ops is None:
            return None
        for n, change in enumerate(ops, 1):
            try:
                schema = apply_change(schema, change)
            except FoldError as exc:
                raise DfmigrateError(f"{store.display(m.name)}: operation {n} ({type(change).__name__}) does not "
                                     f"apply to the schema before it: {_one_line(exc)}") from None
    return schema


def store_folded(directory: Any, changes: dict[str, list[Any]], before: dict[str, Schema]) -> None:
    """Cache the schema after the newest file: ``before`` (the state the file was planned
    against) folded with its ``changes``, per dialect. Best effort, like every cache write."""
    from dfmigrate.core.fold import fold

    lines = file_lines(as_dir(directory))
    for dialect, listed in changes.items():
        _cache_write(_cache_key(lines[-1][1], dialect), fold(before[dialect], listed))


async def replay_migrations(store: Any, migrations: list[LoadedMigration], dialect: str,
                            dev_url: str | None) -> Schema:
    """``migrations`` run in order on a scratch database of ``dialect``, read back."""
    from dfmigrate.urls import url_dialect

    if dialect == "sqlite":
        return await _replay_sqlite(store, migrations)
    if not dev_url or url_dialect(dev_url) != dialect:
        from dfmigrate.core.schema import DIALECT_NAMES

        raise DfmigrateError(NEEDS_DEV_URL.format(server=DIALECT_NAMES[dialect])
                             + " (a hand-written step without 'state' is replayed on one)")
    return await _replay_server(store, migrations, dialect, dev_url)


# ---------------------------------------------------------------- applying


async def _apply(store: Any, migration: LoadedMigration, conn: Any) -> None:
    """Run one migration's forward steps through the runner's executor (its groups and
    transactions, without history or guard), so a failure names the file and the step."""
    from dfmigrate.migration import migration_steps
    from dfmigrate.runner.executor import MigrationFailed, replay

    shown = store.display(migration.name)
    steps = migration_steps(_instantiate(migration, shown), conn.dialect, "forward")
    try:
        await replay(conn, migration.id, steps)
    except MigrationFailed as failed:
        step_error = failed.__cause__  # the executor's per-statement error, numbered
        index = getattr(step_error, "statement", None)
        if index is None:
            raise DfmigrateError(f"{shown}: failed during replay: {_one_line(failed)}") from None
        step = steps[index - 1]
        original = step_error.__cause__ if step_error is not None and step_error.__cause__ else step_error
        what = "Python code" if step.python is not None else f"statement: {_excerpt(step.sql or '')}"
        raise DfmigrateError(f"{shown}: step {index} failed during replay: {_one_line(original)}"
                             f" ({what})") from None


def _instantiate(migration: LoadedMigration, shown: str) -> Any:
    try:
        return migration.cls()
    except Exception as exc:  # Kailash's Migration.__init__ refuses a missing id/description
        raise DfmigrateError(f"{shown}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    from dfmigrate.logs import mask_text

    return mask_text(" ".join(str(exc).split()) or type(exc).__name__)


def _excerpt(sql: str, limit: int = 80) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _replay_sqlite(store: Any, migrations: list[LoadedMigration]) -> Schema:
    from dfmigrate.sources.sqlite import inspect_sqlite_connection

    # Autocommit (isolation_level=None): PRAGMA foreign_keys only takes effect outside a
    # transaction, and a rebuild's guard statements rely on it.
    from dfmigrate.runner.connections import SqliteConnection

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        adapter = SqliteConnection(conn)  # the runner's: replay runs a file as migrate does
        for m in migrations:
            await _apply(store, m, adapter)
        return inspect_sqlite_connection(conn)
    finally:
        conn.close()


async def _replay_server(store: Any, migrations: list[LoadedMigration], dialect: str, dev_url: str) -> Schema:
    """On a scratch database of the PostgreSQL or MySQL server ``dev_url`` names."""
    from dfmigrate.runner.connections import connect
    from dfmigrate.runner.resources import live_schema
    from dfmigrate.scratch import scratch_database
    from dfmigrate.urls import mask, with_database

    def create_error(exc: Exception) -> Exception:
        return DfmigrateError(f"cannot create a scratch database on {mask(dev_url)}: {_one_line(exc)}")

    async with scratch_database(dev_url, create_error) as name:
        conn = await connect(with_database(dev_url, name))  # the runner's: replay runs a file as migrate does
        try:
            for m in migrations:
                await _apply(store, m, conn)
            return await live_schema(conn)
        finally:
            await conn.close()


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    configured = os.environ.get("DFMIGRATE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "dfmigrate"


def _cache_key(line_hash: str, dialect: str) -> str:
    # The tool version is part of the key: introspection output may change between releases.
    return hashlib.sha256(f"{line_hash}\n{dialect}\n{__version__}".encode()).hexdigest()


def _cached_prefix(lines: list[tuple[str, str]], dialect: str) -> tuple[int, Schema | None]:
    """(n, schema) for the longest prefix of the files whose schema is cached; (0, None) if none."""
    try:
        entries = set(os.listdir(cache_dir()))  # one listing, not a stat per file of the history
    except OSError:  # no cache yet (or unreadable): nothing cached
        return 0, None
    for n in range(len(lines), 0, -1):
        key = _cache_key(lines[n - 1][1], dialect)
        if f"replay-{key}.json" in entries:
            cached = _cache_read(key)
            if cached is not None:
                return n, cached
    return 0, None


def _cache_read(key: str) -> Schema | None:
    from dfmigrate.core.serialize import schema_from_json

    path = cache_dir() / f"replay-{key}.json"
    try:
        return schema_from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except Exception as exc:  # a corrupt or old-format entry is a miss, never an error
        log.debug("ignoring cache entry %s: %s", path, exc)
        return None


def _cache_write(key: str, schema: Schema) -> None:
    import json

    from dfmigrate.core.serialize import schema_to_dict

    path = cache_dir() / f"replay-{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # compact: json's C encoder (an indented dump runs the pure-Python one, 5x slower)
        tmp.write_text(json.dumps(schema_to_dict(schema), separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # concurrent runs write the same content; last one wins
    except OSError as exc:  # a read-only home must not fail the command
        log.debug("cannot write cache entry %s: %s", path, exc)

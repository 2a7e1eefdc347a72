"""The schema a migrations directory produces (the ``migrations:DIR`` source).

Every migration runs, in order, in a scratch database of the directory's dialect (in-memory
SQLite, or a temporary PostgreSQL database on ``dev_url``), which is then introspected: only
the database can tell what the SQL really creates. The result is cached as Schema JSON, keyed
by the hash of the files (the sum's ``h1`` header) and the dialect, so ``check`` and
``makemigrations`` replay only when a file changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from dfmigrate import __version__
from dfmigrate.errors import DfmigrateError
from dfmigrate.migrations.directory import LoadedMigration, as_dir, directory_dialect, load_all
from dfmigrate.migrations.sumfile import header_hash
from dfmigrate.schema import DEFAULT_NAMESPACE, Schema

log = logging.getLogger(__name__)

NEEDS_DEV_URL = ("replaying PostgreSQL migrations needs a PostgreSQL server for a scratch database: "
                 "pass --dev-url (or set dev_url under [tool.dfmigrate] in pyproject.toml)")


def empty_schema(dialect: str) -> Schema:
    return Schema(dialect=dialect, namespaces=(DEFAULT_NAMESPACE[dialect],))  # type: ignore[arg-type]


async def schema_of_directory(directory: Any, dialect: str | None = None,
                              dev_url: str | None = None, *, use_cache: bool = True) -> Schema:
    """Replay ``directory`` and introspect the result. ``dialect`` is only used for an empty
    directory (default SQLite); a non-empty one has its own, and contradicting it is an error.
    The caller verifies the sum first (the cache key is computed from the files themselves, so a
    stale sum never yields a stale schema)."""
    store = as_dir(directory)
    own = directory_dialect(store)
    if own is None:
        return empty_schema(dialect or "sqlite")
    if dialect and dialect != own:
        raise DfmigrateError(f"{store.display('')} holds {own} migrations, not {dialect}")
    key = _cache_key(header_hash(store), own)
    cached = _cache_read(key) if use_cache else None
    if cached is not None:
        return cached
    migrations = load_all(store)
    for m in migrations:
        declared = getattr(m.cls, "dialect", own) or own
        if declared != own:
            raise DfmigrateError(f"{store.display(m.name)}: dialect {declared!r}, but the directory is {own}")
    if own == "sqlite":
        schema = await _replay_sqlite(store, migrations)
    else:
        if not dev_url:
            raise DfmigrateError(NEEDS_DEV_URL)
        schema = await _replay_postgres(store, migrations, dev_url)
    if use_cache:
        _cache_write(key, schema)
    return schema


# ---------------------------------------------------------------- applying


async def _apply(store: Any, migration: LoadedMigration, conn: Any) -> None:
    """Run one migration's forward steps, as migrate would (autocommit: a scratch database has
    nothing to protect), so that a failure names the step."""
    from dfmigrate.migration import migration_steps

    shown = store.display(migration.name)
    instance = _instantiate(migration, shown)
    for index, step in enumerate(migration_steps(instance, conn.dialect, "forward"), 1):
        try:
            if step.python is not None:
                await step.python(conn)
            else:
                await conn.execute(step.sql)
        except Exception as exc:
            what = "Python code" if step.python is not None else f"statement: {_excerpt(step.sql or '')}"
            raise DfmigrateError(f"{shown}: step {index} failed during replay: {_one_line(exc)}"
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


async def _replay_postgres(store: Any, migrations: list[LoadedMigration], dev_url: str) -> Schema:
    from dfmigrate.scratch import scratch_database
    from dfmigrate.sources.postgres import connect, inspect_postgres_connection
    from dfmigrate.urls import mask, with_database

    def create_error(exc: Exception) -> Exception:
        return DfmigrateError(f"cannot create a scratch database on {mask(dev_url)}: {_one_line(exc)}")

    async with scratch_database(dev_url, create_error) as name:
        conn = await connect(with_database(dev_url, name), for_catalog=False)
        try:
            from dfmigrate.runner.connections import PgConnection

            for m in migrations:
                await _apply(store, m, PgConnection(conn))
            return await inspect_postgres_connection(conn)
        finally:
            await conn.close()


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    configured = os.environ.get("DFMIGRATE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "dfmigrate"


def _cache_key(header: str, dialect: str) -> str:
    # The tool version is part of the key: introspection output may change between releases.
    return hashlib.sha256(f"{header}\n{dialect}\n{__version__}".encode()).hexdigest()


def _cache_read(key: str) -> Schema | None:
    from dfmigrate.serialize import schema_from_json

    path = cache_dir() / f"replay-{key}.json"
    try:
        return schema_from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except Exception as exc:  # a corrupt or old-format entry is a miss, never an error
        log.debug("ignoring cache entry %s: %s", path, exc)
        return None


def _cache_write(key: str, schema: Schema) -> None:
    from dfmigrate.serialize import schema_to_json

    path = cache_dir() / f"replay-{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(schema_to_json(schema), encoding="utf-8")
        os.replace(tmp, path)  # concurrent runs write the same content; last one wins
    except OSError as exc:  # a read-only home must not fail the command
        log.debug("cannot write cache entry %s: %s", path, exc)

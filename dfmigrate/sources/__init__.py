"""Which source a spec names, and loading one or two of them.

A spec is what the user types after ``--from``/``--to``:

=============================== ========== =========================================
spec                            kind       loader
=============================== ========== =========================================
``postgresql://…``, ``postgres://…`` postgres ``sources.postgres.inspect_postgres``
``sqlite:///path``              sqlite     ``sources.sqlite.inspect_sqlite``
``mysql://…``, ``mariadb://…``  mysql      ``sources.mysql.inspect_mysql``
``models:pkg.mod``, ``x.py``    models     ``sources.models.load_models``
``sql:PATH``, ``x.sql``         sqlfile    ``sources.sqlfile.load_sql_file``
``dataflow:MODULE:ATTR``        dataflow   ``sources.dataflow.load_dataflow``
=============================== ========== =========================================

Loaders are imported when used: the drivers (asyncpg, sqlglot, kailash) cost far more to import
than a ``--help`` may take.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from dfmigrate.errors import DfmigrateError, SourceError

if TYPE_CHECKING:
    from dfmigrate.core.schema import Dialect, Schema

SourceKind = Literal["postgres", "sqlite", "mysql", "models", "sqlfile", "migrations", "dataflow"]

DEFAULT_DIALECT: Dialect = "sqlite"  # the embedded default: works with nothing installed or running

_UNKNOWN = (
    "unknown source '{spec}': expected postgresql://…, mysql://…, sqlite:///path, "
    "a models .py file or models:MODULE, a .sql file or sql:PATH, dataflow:MODULE:ATTR"
)


@dataclass(frozen=True)
class SourceContext:
    dialect: Dialect | None = None  # for sources that have none of their own (models, .sql)
    dev_url: str | None = None  # a PostgreSQL or MySQL server for scratch databases (.sql sources)
    privileges: bool = False  # introspect grants too (opt-in: slower, and noisy across roles)
    include_ledger: bool = False  # keep dfmigrate's own tables (history, progress, timings)


def classify(spec: str) -> tuple[SourceKind, str]:
    """(kind, target): the target is what the kind's loader takes."""
    if spec.startswith(("postgresql://", "postgres://")):
        return "postgres", spec
    if spec.startswith("sqlite:"):
        return "sqlite", _sqlite_path(spec)
    if spec.startswith(("mysql://", "mariadb://")):
        return "mysql", spec
    if spec.startswith("models:"):
        if not spec[len("models:"):]:
            raise SourceError("models: needs a module, e.g. models:myapp.models")
        return "models", spec
    if spec.startswith("sql:"):
        if not spec[len("sql:"):]:
            raise SourceError("sql: needs a file, e.g. sql:schema.sql")
        return "sqlfile", spec[len("sql:"):]
    if spec.startswith("dataflow:"):
        from dfmigrate.sources.dataflow import parse_spec

        parse_spec(spec)  # a spec without MODULE:ATTR is an error now, not at load time
        return "dataflow", spec
    if spec.startswith("migrations:"):
        if not spec[len("migrations:"):]:
            raise SourceError("migrations: needs a directory, e.g. migrations:migrations")
        return "migrations", spec[len("migrations:"):]
    if spec.endswith(".py"):
        return "models", spec
    if spec.endswith(".sql"):
        return "sqlfile", spec
    raise SourceError(_UNKNOWN.format(spec=_mask(spec)))


def _sqlite_path(spec: str) -> str:
    # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy and DataFlow spell them.
    if not spec.startswith("sqlite:///"):
        raise SourceError(f"unknown source '{spec}': a SQLite file is written sqlite:///path")
    path = spec[len("sqlite:///"):].split("?", 1)[0]
    if path in ("", ":memory:"):
        raise SourceError("an in-memory SQLite database is always empty: give a file, sqlite:///path")
    return path


def source_dialect(spec: str) -> Dialect | None:
    """The dialect a database source imposes; None for models and .sql files."""
    kind, target = classify(spec)
    if kind == "migrations":
        from dfmigrate.directory.files import directory_dialect

        return directory_dialect(target) if os.path.isdir(target) else None  # type: ignore[return-value]
    return {"postgres": "postgresql", "sqlite": "sqlite", "mysql": "mysql"}.get(kind)  # type: ignore[return-value]


async def load_source(spec: str, ctx: SourceContext) -> Schema:
    """Read one source. A models or .sql source takes the dialect from ``ctx`` (SQLite when
    unset)."""
    kind, target = classify(spec)
    try:
        if kind in _MODEL_KINDS:
            return await _load_model_kind(spec, kind, target, ctx)
        schema = await _load_database(kind, target, ctx)
    except DfmigrateError:
        raise
    except (OSError, asyncio.TimeoutError) as exc:
        raise SourceError(f"cannot read {_mask(spec)}: {_describe(exc)}") from exc
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("asyncpg", "sqlite3", "asyncmy"):
            raise SourceError(f"cannot read {_mask(spec)}: {_describe(exc)}") from exc
        raise
    return schema if ctx.include_ledger else without_ledger(schema)


# Sources that describe a wanted schema; every other kind is a live database.
_MODEL_KINDS = frozenset({"models", "dataflow", "migrations", "sqlfile"})


def without_ledger(schema: Schema) -> Schema:
    """``schema`` without dfmigrate's own tables (history, progress, timings): they belong to the
    tool, not to the application, and no model or migration ever declares them, so a migrated
    database compared with its own models would otherwise "need" them dropped. Every reader of a
    live database goes through here (``load_source``, and the runner's own introspection)."""
    from dfmigrate.runner.ledger import HISTORY_TABLE, own_table
    from dfmigrate.runner.progress import PROGRESS_TABLE
    from dfmigrate.runner.timings import TIMINGS_TABLE

    ours = {own_table(schema.dialect, name) for name in (HISTORY_TABLE, PROGRESS_TABLE, TIMINGS_TABLE)}
    kept = tuple(t for t in schema.tables if t.name not in ours and f"{t.namespace}.{t.name}" not in ours)
    return schema if len(kept) == len(schema.tables) else replace(schema, tables=kept)


async def _load_database(kind: SourceKind, target: str, ctx: SourceContext) -> Schema:
    if kind == "postgres":
        from dfmigrate.sources.postgres import inspect_postgres

        return await inspect_postgres(target, privileges=ctx.privileges)
    if kind == "mysql":
        from dfmigrate.sources.mysql import inspect_mysql

        return await inspect_mysql(target)
    return await _load_sqlite(target)


async def _load_model_kind(spec: str, kind: SourceKind, target: str, ctx: SourceContext) -> Schema:
    dialect: Dialect = source_dialect(spec) or ctx.dialect or DEFAULT_DIALECT
    if kind == "models":
        _require_file(spec, "model file")
        from dfmigrate.sources.model_classes import load_models

        # Importing user code is synchronous; a thread lets a database side load meanwhile.
        return await asyncio.to_thread(load_models, target, dialect)
    if kind == "dataflow":
        from dfmigrate.sources.dataflow import load_dataflow

        return await asyncio.to_thread(load_dataflow, target, dialect)
    if kind == "migrations":
        return await _load_migrations(target, dialect, ctx.dev_url)
    _require_file(target, "SQL file")
    from dfmigrate.sources.sqlfile import load_sql_file

    return await load_sql_file(target, dialect, ctx.dev_url)


async def _load_migrations(directory: str, dialect: Dialect, dev_url: str | None) -> Schema:
    """What the directory's migrations produce, replayed into a scratch database (cached)."""
    if not os.path.isdir(directory):
        raise SourceError(f"migrations directory not found: {directory}")
    from dfmigrate.directory.replay import schema_of_directory
    from dfmigrate.directory.sumfile import verify

    verify(directory)
    return await schema_of_directory(directory, dialect, dev_url)


async def _load_sqlite(path: str) -> Schema:
    from dfmigrate.sources import sqlite as sqlite_source

    # Opening a path that does not exist would create an empty database and report it as an empty
    # schema: a typo in a path must be an error, not a "drop everything" diff.
    if not os.path.isfile(path):
        raise SourceError(f"no SQLite database at {path} (only 'dfmigrate migrate' creates one)")
    return await sqlite_source.inspect_sqlite(path)


def _require_file(spec: str, what: str) -> None:
    if spec.startswith("models:"):
        return  # a module name, resolved by the import system
    if not os.path.isfile(spec):
        raise SourceError(f"{what} not found: {spec}")


_LOADER_MODULES: dict[str, tuple[str, ...]] = {
    "postgres": ("dfmigrate.sources.postgres",),
    "sqlite": ("dfmigrate.sources.sqlite",),
    "mysql": ("dfmigrate.sources.mysql",),
    "models": ("dfmigrate.sources.model_classes", "dfmigrate.models"),  # not the user's module
    "sqlfile": ("dfmigrate.sources.sqlfile",),
    "dataflow": ("dfmigrate.sources.dataflow", "dfmigrate.sources.model_classes"),  # not dataflow itself
    "migrations": ("dfmigrate.directory.replay",),
}


def preload_loaders(*specs: str) -> set[str]:
    """Import the loader modules the specs need (now, on this thread) and return their kinds.

    The CLI calls this before it imports the diff engine on a second thread while the sources
    load, so that the two threads do not import the same modules concurrently. Specs that do not
    classify are left for ``load_source`` to report."""
    from importlib import import_module

    kinds = set()
    for spec in specs:
        try:
            kind, _ = classify(spec)
        except DfmigrateError:
            continue
        kinds.add(kind)
        for module in _LOADER_MODULES[kind]:
            try:
                import_module(module)
            except ImportError:
                pass  # load_source imports it again and reports the failure where it belongs
    return kinds


async def load_pair(from_spec: str, to_spec: str, ctx: SourceContext) -> tuple[Schema, Schema]:
    """Load both sides concurrently, in one dialect.

    The dialect is the database side's (two databases must agree), else ``ctx.dialect``, else
    SQLite. A .sql source on PostgreSQL needs a server for its scratch database: ``ctx.dev_url``,
    else the PostgreSQL server of the other side.
    """
    sides = [d for d in (source_dialect(from_spec), source_dialect(to_spec)) if d]
    dialects = set(sides)
    if len(dialects) > 1:
        from dfmigrate.core.schema import DIALECT_NAMES

        first, second = (DIALECT_NAMES[d] for d in sides)
        raise SourceError(f"cannot compare a {first} database with a {second} database")
    if dialects and ctx.dialect and ctx.dialect not in dialects:
        raise SourceError(f"--dialect {ctx.dialect} contradicts the database source ({dialects.pop()})")
    dialect = next(iter(dialects), None) or ctx.dialect or DEFAULT_DIALECT
    dev_url = ctx.dev_url
    server_kind = {"postgresql": "postgres", "mysql": "mysql"}.get(dialect)
    if dev_url is None and server_kind:
        dev_url = next((s for s in (from_spec, to_spec) if classify(s)[0] == server_kind), None)
    resolved = replace(ctx, dialect=dialect, dev_url=dev_url)
    # return_exceptions: when both sides fail, the second error must not surface later as
    # "exception was never retrieved" noise on stderr.
    old, new = await asyncio.gather(
        load_source(from_spec, resolved), load_source(to_spec, resolved), return_exceptions=True
    )
    for result in (old, new):
        if isinstance(result, BaseException):
            raise result
    return old, new  # type: ignore[return-value]


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return _mask(text)


def _mask(text: str) -> str:
    from dfmigrate.logs import mask_text

    return mask_text(text)

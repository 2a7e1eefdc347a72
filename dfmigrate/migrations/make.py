"""``makemigrations``: compare the models with what the migrations directory produces and write
the next migration (or report that there is nothing to do, or, with ``check``, what is pending).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from typing import Any, Literal

from dfmigrate.config import DEFAULT_DIR
from dfmigrate.errors import DfmigrateError
from dfmigrate.migration import DIALECTS  # what a new directory targets unless the dialects setting says
from dfmigrate.migrations.directory import as_dir, directory_dialect, migration_names
from dfmigrate.migrations.sumfile import verify, write_sum
from dfmigrate.schema import Schema

Status = Literal["written", "nothing to do", "changes pending"]


@dataclass(frozen=True)
class MakeResult:
    status: Status
    path: str | None = None  # the file written
    changes: tuple[str, ...] = ()  # one description per change (written or pending)
    hazards: tuple[str, ...] = ()  # "deletes-data (drop column …)", one per hazardous statement


def check_dialects(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(v in DIALECTS for v in value) \
            or len(set(value)) != len(value):
        raise DfmigrateError(f"{where} must be a non-empty list of {', '.join(repr(d) for d in DIALECTS)}")
    return list(value)


def configured_dialects(cwd: str | None = None) -> list[str]:
    """The ``dialects`` setting (read by dfmigrate.config, the one reader), or every dialect."""
    from dfmigrate.config import resolve

    cfg = resolve(cwd=cwd)
    value = cfg.get("dialects")
    return check_dialects(value, f"{cfg.file}: dialects") if value else list(DIALECTS)


def reverse_renames(previous: Schema, new: Schema) -> Schema:
    """``previous`` with the renames ``new`` declares turned around, so that the backward plan
    (new → previous) renames back instead of dropping and re-adding (which would lose data).
    Mirrors the diff's rule: a declared old name that exists before and the new name that does not."""
    tables = {(t.namespace, t.name): t for t in previous.tables}
    for t in new.tables:
        before = tables.get((t.namespace, t.name))
        if before is None:
            old = next((r for r in t.renamed_from if (t.namespace, r) in tables), None)
            if old is None:
                continue  # a new table: nothing to rename back
            before = replace(tables[(t.namespace, old)], renamed_from=(t.name,))
        names = {c.name for c in before.columns}
        columns = []
        for c in before.columns:
            renamed = next((n for n in t.columns if c.name in n.renamed_from and n.name not in names), None)
            columns.append(replace(c, renamed_from=(renamed.name,)) if renamed else c)
        tables[(before.namespace, before.name)] = replace(before, columns=tuple(columns))
    enums = {(e.namespace, e.name): e for e in previous.enums}
    for e in new.enums:
        old = next((r for r in e.renamed_from if (e.namespace, r) in enums), None)
        if (e.namespace, e.name) not in enums and old is not None:
            enums[(e.namespace, old)] = replace(enums[(e.namespace, old)], renamed_from=(e.name,))
    return replace(previous, tables=tuple(tables.values()), enums=tuple(enums.values()))


def _default_message(changes: list[Any], first: bool) -> str:
    from dfmigrate.describe import describe

    if first:
        return "initial"
    text = describe(changes[0])
    return text if len(changes) == 1 else f"{text} and more"


async def make_migrations(models_spec: str | None, directory: Any = DEFAULT_DIR, dialect: str | None = None,
                          message: str | None = None, check: bool = False, empty: bool = False,
                          dev_url: str | None = None, dialects: list[str] | None = None) -> MakeResult:
    """Write the next migration for ``models_spec`` into ``directory``: for each of ``dialects``
    (default: ``[tool.dfmigrate] dialects``, else every dialect), the diff of the models in that
    dialect against the directory's schema in it, and the SQL rendered from it.

    ``dialect`` (from ``--database``) only orders the report; no server is needed: the
    directory's schema is the fold of its operations. A directory in the earlier one-dialect
    format keeps its dialect. The sum is verified before anything is compared.
    """
    store = as_dir(directory)
    if check and empty:
        raise DfmigrateError("--check and --empty cannot be combined")
    verify(store)
    if empty:
        from dfmigrate.migrations.writer import SQLMigrationGenerator

        text = message or "data migration"
        path = SQLMigrationGenerator(store, dialect or "sqlite").create_migration(text, text, "data")
        write_sum(store)
        return MakeResult("written", path)
    if not models_spec:
        raise DfmigrateError("no models given: pass --models, or set models in the configuration "
                             "([tool.dfmigrate] in pyproject.toml, or dfmigrate.toml)")
    own = directory_dialect(store)
    if own and dialect and own != dialect:
        raise DfmigrateError(f"{store.display('')} holds {own} migrations; --dialect {dialect} contradicts it")
    targets = [own] if own else list(dialects or configured_dialects())
    if dialect in targets:  # the database's dialect first: its changes are the ones reported
        targets.remove(dialect)
        targets.insert(0, dialect)
    return await _make_from_models(store, models_spec, targets, message, check, dev_url, legacy=bool(own))


async def _make_from_models(store: Any, models_spec: str, dialects: list[str], message: str | None,
                            check: bool, dev_url: str | None, legacy: bool) -> MakeResult:
    from dfmigrate.describe import describe
    from dfmigrate.migrations.replay import schema_of_directory, store_folded
    from dfmigrate.sources.models import load_models

    async def models_in(d: str) -> Schema:
        return await asyncio.to_thread(load_models, models_spec, d)  # type: ignore[arg-type]

    # Importing user code is synchronous; a thread lets the replay run meanwhile.
    # return_exceptions: when both fail, the second error must not surface as stderr noise.
    jobs = [job for d in dialects for job in (models_in(d), schema_of_directory(store, d, dev_url))]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    schemas = [r for r in results if isinstance(r, Schema)]
    pairs = {d: (schemas[2 * i + 1], schemas[2 * i]) for i, d in enumerate(dialects)}  # (previous, new)
    from dfmigrate.diff import diff_schemas

    if not any(diff_schemas(prev, new) for prev, new in pairs.values()):
        return MakeResult("nothing to do")  # the common answer of check: no planner (networkx) needed
    from dfmigrate.engine import plan_migration

    forwards = {d: plan_migration(prev, new) for d, (prev, new) in pairs.items()}
    if all(f.empty for f in forwards.values()):
        return MakeResult("nothing to do")
    primary = next(f for f in forwards.values() if not f.empty)
    changes = tuple(describe(c) for c in primary.changes)
    hazards = tuple(f"{', '.join(h.value for h in s.hazards)} ({describe(s.source)})"
                    + (f" [{d}]" if len(dialects) > 1 else "")
                    for d, f in forwards.items() for s in f.statements if s.hazards)
    if check:
        return MakeResult("changes pending", None, changes, hazards)
    from dfmigrate.expect import expectations
    from dfmigrate.migrations.writer import Part, SQLMigrationGenerator

    text = message or _default_message(primary.changes, first=not migration_names(store))
    generator = SQLMigrationGenerator(store, dialects[0], source=f"models {models_spec}")
    if legacy:  # a directory in the earlier one-dialect format stays in it
        d = dialects[0]
        prev, new = pairs[d]
        path = generator.create_migration(text, text, "schema", forward=forwards[d],
                                          backward=plan_migration(new, reverse_renames(prev, new)),
                                          expects=expectations(forwards[d].changes, prev, new))
    else:
        parts = {d: Part(forwards[d], plan_migration(new, reverse_renames(prev, new)),
                         expectations(forwards[d].changes, prev, new))
                 for d, (prev, new) in ((d, pairs[d]) for d in sorted(dialects, key=DIALECTS.index))}
        path = generator.create_migration(text, text, "schema", parts=parts)
    try:
        write_sum(store)
    except BaseException:
        store.remove(os.path.basename(path))  # a file the sum does not list would fail every check
        raise
    if not legacy:  # the next check starts from here: fold the new file onto the cached state
        store_folded(store, {d: forwards[d].changes for d in dialects}, {d: pairs[d][0] for d in dialects})
    return MakeResult("written", path, changes, hazards)

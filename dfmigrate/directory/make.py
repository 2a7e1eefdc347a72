"""``makemigrations``: compare the models with what the migrations directory produces and write
the next migration (or report that there is nothing to do, or, with ``check``, what is pending).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from dfmigrate.config import DEFAULT_DIR
from dfmigrate.errors import DfmigrateError
from dfmigrate.migration import DEFAULT_DIALECTS, DIALECTS
from dfmigrate.directory.files import ReadOnce, as_dir, directory_dialect, migration_names
from dfmigrate.directory.sumfile import verify, write_sum
from dfmigrate.core.schema import Schema

if TYPE_CHECKING:
    from dfmigrate.directory.backfill import Given

Status = Literal["written", "nothing to do", "changes pending"]


@dataclass(frozen=True)
class MakeResult:
    status: Status
    path: str | None = None  # the file written
    changes: tuple[str, ...] = ()  # one description per change (written or pending)
    hazards: tuple[str, ...] = ()  # "deletes-data (drop column …)", one per hazardous statement
    # the destructive hazards of the written file that its consent does not cover: migrate
    # refuses it without --allow-hazards naming them
    consent_needed: tuple[str, ...] = ()
    files: tuple[Written, ...] = ()  # with --phases: each file written, in order


@dataclass(frozen=True)
class Written:
    """One file ``makemigrations --phases`` wrote."""

    path: str
    phase: str | None  # "pre", "post", or None: an ordinary migration (nothing in it breaks the running release)
    changes: tuple[str, ...]
    consent_needed: tuple[str, ...]


def check_dialects(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(v in DIALECTS for v in value) \
            or len(set(value)) != len(value):
        raise DfmigrateError(f"{where} must be a non-empty list of {', '.join(repr(d) for d in DIALECTS)}")
    return list(value)


def configured_dialects(cwd: str | None = None) -> list[str] | None:
    """The ``dialects`` setting (read by dfmigrate.config, the one reader), if set."""
    from dfmigrate.config import resolve

    cfg = resolve(cwd=cwd)
    value = cfg.get("dialects")
    return check_dialects(value, f"{cfg.file}: dialects") if value else None


def unconfigured_dialects(store: Any, dialect: str | None) -> list[str]:
    """Without a dialects setting: those the directory's latest generated file holds (else
    SQLite and PostgreSQL), and the target database's own (``dialect``), so that a project on
    MySQL gets MySQL SQL without configuring anything, and keeps it when --database is not given."""
    from dfmigrate.migration import SchemaMigration
    from dfmigrate.directory.files import load_migration

    targets = list(DEFAULT_DIALECTS)
    for name in reversed(migration_names(store)):
        cls = load_migration(store, name).cls
        if issubclass(cls, SchemaMigration):
            targets = cls().dialects()
            break
    return targets + ([dialect] if dialect in DIALECTS and dialect not in targets else [])


def configured_online(cwd: str | None = None) -> bool:
    """The ``online`` setting: PostgreSQL parts in their online-safe form (the default)."""
    from dfmigrate.config import resolve

    return bool(resolve(cwd=cwd).get("online", True))


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
    from dfmigrate.core.describe import describe

    if first:
        return "initial"
    text = describe(changes[0])
    return text if len(changes) == 1 else f"{text} and more"


async def make_migrations(models_spec: str | None, directory: Any = DEFAULT_DIR, dialect: str | None = None,
                          message: str | None = None, check: bool = False, empty: bool = False,
                          dev_url: str | None = None, dialects: list[str] | None = None,
                          online: bool | None = None, backfills: Sequence[str] = (),
                          allow_hazards: Sequence[str] = (), phases: bool = False) -> MakeResult:
    """Write the next migration for ``models_spec`` into ``directory``: for each of ``dialects``
    (default: ``[tool.dfmigrate] dialects``, else every dialect), the diff of the models in that
    dialect against the directory's schema in it, and the SQL rendered from it.

    ``dialect`` (from ``--database``) only orders the report; no server is needed: the
    directory's schema is the fold of its operations. A directory in the earlier one-dialect
    format keeps its dialect. The sum is verified before anything is compared.

    ``online`` (default: the ``online`` setting, else true) writes the PostgreSQL part in its
    online-safe form (docs/safety.md); ``backfills`` (``TABLE.COLUMN=EXPR``) fill the existing
    rows of new columns, with the models' ``field(backfill=)``: a NOT NULL column without a
    default added to an existing table needs one, else nothing is written. ``allow_hazards``
    (``KIND[,KIND…]`` or ``all``) is recorded in the file as the consent ``migrate`` reads.
    ``phases`` splits a change that would break the running release into a pre-deploy and a
    post-deploy migration (expand and contract: migrations/phases.py).
    """
    from dfmigrate.directory.backfill import parse_options
    from dfmigrate.safety.consent import parse_allowed

    store = ReadOnce(as_dir(directory))
    if check and empty:
        raise DfmigrateError("--check and --empty cannot be combined")
    if empty and (backfills or allow_hazards or phases):
        raise DfmigrateError("--backfill, --allow-hazards and --phases apply to generated migrations, not to "
                             "--empty (write allow_hazards = [...] or phase = ... in a hand-written file yourself)")
    given = parse_options(backfills)
    allowed = sorted(parse_allowed(allow_hazards))
    lines = verify(store)
    if empty:
        from dfmigrate.directory.writer import SQLMigrationGenerator

        text = message or "data migration"
        path = SQLMigrationGenerator(store, dialect or "sqlite").create_migration(text, text, "data")
        write_sum(store)
        return MakeResult("written", path)
    if not models_spec:
        raise DfmigrateError("no models given: pass --models, or set models in the configuration "
                             "([tool.dfmigrate] in pyproject.toml, or dfmigrate.toml)")
    own = directory_dialect(store)
    if own and phases and not check:
        raise DfmigrateError(f"{store.display('')} holds migrations in the earlier one-dialect format, which has "
                             "no place for the steps --phases writes; write this change without --phases")
    if own and dialect and own != dialect:
        raise DfmigrateError(f"{store.display('')} holds {own} migrations; --dialect {dialect} contradicts it")
    targets = [own] if own else list(dialects or configured_dialects() or unconfigured_dialects(store, dialect))
    if dialect in targets:  # the database's dialect first: its changes are the ones reported
        targets.remove(dialect)
        targets.insert(0, dialect)
    if online is None:
        online = configured_online()
    return await _make_from_models(store, models_spec, targets, message, check, dev_url, legacy=bool(own),
                                   online=online, given=given, allowed=allowed, phases=phases, lines=lines)


async def _make_from_models(store: Any, models_spec: str, dialects: list[str], message: str | None,
                            check: bool, dev_url: str | None, legacy: bool, online: bool,
                            given: list[Given], allowed: list[str], phases: bool = False,
                            lines: list[tuple[str, str]] | None = None) -> MakeResult:
    from dfmigrate.core.describe import describe
    from dfmigrate.directory import backfill
    from dfmigrate.directory.replay import schema_of_directory, store_folded
    from dfmigrate.sources.model_classes import load_models_for

    # Importing user code is synchronous; a thread lets the replay run meanwhile (the models run
    # once for every dialect). return_exceptions: when both fail, the second error must not
    # surface as stderr noise.
    own = dialects[0] if legacy else None  # the directory's own dialect, or None (make_migrations read it)
    jobs = [asyncio.to_thread(load_models_for, models_spec, dialects),
            *(schema_of_directory(store, d, dev_url, lines=lines, own=own) for d in dialects)]
    results: list[Any] = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    models: dict[str, tuple[Schema, dict[backfill.Key, str]]] = results[0]
    pairs: dict[str, tuple[Schema, Schema]] = {  # (previous, new)
        d: (results[1 + i], models[d][0]) for i, d in enumerate(dialects)}
    from dfmigrate.diff import diff_schemas

    diffs = {d: diff_schemas(prev, new) for d, (prev, new) in pairs.items()}
    if not any(diffs.values()):
        return MakeResult("nothing to do")  # the common answer of check: no planner (networkx) needed
    used: set[str] = set()
    fills = {d: backfill.resolve(pairs[d][0], diffs[d], models[d][1], given, used) for d in dialects}
    unused = backfill.unused_error(given, used)
    if unused is not None:
        raise unused
    from dfmigrate.core.engine import plan_migration

    # a directory of the earlier format keeps the plain form: it cannot record which statements
    # start a transaction of their own, nor how a rerun recognizes a finished one
    forwards = {d: plan_migration(prev, new, online=online and not legacy, backfills=fills[d].backfills,
                                  changes=diffs[d]) for d, (prev, new) in pairs.items()}
    if all(f.empty for f in forwards.values()):
        return MakeResult("nothing to do")
    primary = next(f for f in forwards.values() if not f.empty)
    changes = tuple(describe(c) for c in primary.changes)
    hazards = _hazards([forwards])
    if check:
        return MakeResult("changes pending", None, changes, hazards)
    missing = {d: r.missing for d, r in fills.items() if r.missing}
    if missing:
        raise backfill.missing_error(missing)
    from dfmigrate.core.expect import expectations
    from dfmigrate.directory.writer import Part, SQLMigrationGenerator

    text = message or _default_message(primary.changes, first=not migration_names(store))
    generator = SQLMigrationGenerator(store, dialects[0], source=f"models {models_spec}")
    if phases:
        return _write_phases(store, generator, text, pairs, {d: r.backfills for d, r in fills.items()},
                             forwards, online, allowed)
    backwards = {d: plan_migration(new, reverse_renames(prev, new), online=online and not legacy)
                 for d, (prev, new) in pairs.items()}
    if legacy:  # a directory in the earlier one-dialect format stays in it
        d = dialects[0]
        prev, new = pairs[d]
        path = generator.create_migration(text, text, "schema", forward=forwards[d], backward=backwards[d],
                                          expects=expectations(forwards[d].changes, prev, new),
                                          allow_hazards=allowed)
    else:
        parts = {d: Part(forwards[d], backwards[d], expectations(forwards[d].changes, prev, new))
                 for d, (prev, new) in ((d, pairs[d]) for d in sorted(dialects, key=DIALECTS.index))}
        path = generator.create_migration(text, text, "schema", parts=parts, allow_hazards=allowed)
    try:
        write_sum(store)
    except BaseException:
        store.remove(os.path.basename(path))  # a file the sum does not list would fail every check
        raise
    if not legacy:  # the next check starts from here: fold the new file onto the cached state
        store_folded(store, {d: forwards[d].changes for d in dialects}, {d: pairs[d][0] for d in dialects})
    return MakeResult("written", path, changes, hazards, _consent_needed(forwards, allowed))


def _hazards(files: list[dict[str, Any]]) -> tuple[str, ...]:
    """One line per hazardous statement of the written files (each a dialect → Plan map); the
    statements of one change that carry the same hazards (a rebuild's indexes) make one line."""
    from dfmigrate.core.describe import describe

    lines = (f"{', '.join(h.value for h in s.hazards)} ({describe(s.source)})" + (f" [{d}]" if len(plans) > 1 else "")
             for plans in files for d, f in plans.items() for s in f.statements if s.hazards)
    return tuple(dict.fromkeys(lines))


_PHASE_LABELS = {None: "", "pre": " (pre-deploy)", "post": " (post-deploy)"}


def _write_phases(store: Any, generator: Any, text: str, pairs: dict[str, tuple[Schema, Schema]],
                  fills: dict[str, Any], forwards: dict[str, Any], online: bool, allowed: list[str]) -> MakeResult:
    """``makemigrations --phases``: the pre-deploy migration (previous → expanded) and the
    post-deploy one (expanded → models), each marked with its ``phase`` (migrations/phases.py);
    one file when the change needs no split: an ordinary one when nothing in it breaks the
    running release, a post-deploy one when nothing can go first."""
    from dfmigrate.core.describe import describe
    from dfmigrate.core.engine import plan_migration
    from dfmigrate.core.expect import expectations
    from dfmigrate.directory import phases
    from dfmigrate.directory.writer import Part

    dialects = sorted(pairs, key=DIALECTS.index)
    expansions = {d: phases.expanded(*pairs[d]) for d in dialects}
    pre_fills = {d: phases.pre_backfills(fills[d], expansions[d]) for d in dialects}
    pre = {d: plan_migration(pairs[d][0], expansions[d].schema, online=online, backfills=pre_fills[d])
           for d in dialects}
    post = {d: phases.with_refills(plan_migration(expansions[d].schema, pairs[d][1], online=online),
                                   phases.refills(pre_fills[d], expansions[d], pairs[d][1]), expansions[d])
            for d in dialects}
    # per file: its phase, and per dialect (schema before, schema after, forward plan)
    whole = {d: (pairs[d][0], pairs[d][1], forwards[d]) for d in dialects}
    files: list[tuple[str | None, dict[str, tuple[Schema, Schema, Any]]]]
    if all(p.empty for p in post.values()):
        files = [(None, whole)]
    elif all(p.empty for p in pre.values()):
        files = [(phases.POST, whole)]
    else:
        files = [(phases.PRE, {d: (pairs[d][0], expansions[d].schema, pre[d]) for d in dialects}),
                 (phases.POST, {d: (expansions[d].schema, pairs[d][1], post[d]) for d in dialects})]
    # the consent given goes to the files with a destructive step (to every file when none has one)
    destructive = [bool(_consent_needed({d: plan for d, (_, _, plan) in sides.items()}, [])) for _, sides in files]
    written: list[Written] = []
    try:
        for (phase, sides), needs in zip(files, destructive):
            parts = {d: Part(plan, plan_migration(after, reverse_renames(before, after), online=online),
                             expectations(plan.changes, before, after))
                     for d, (before, after, plan) in sides.items()}
            label = text + _PHASE_LABELS[phase]
            consent = allowed if needs or not any(destructive) else []
            path = generator.create_migration(label, label, "schema", parts=parts, allow_hazards=consent,
                                              phase=phase)
            plans = {d: plan for d, (_, _, plan) in sides.items()}
            primary = next(plans[d] for d in pairs if not plans[d].empty)  # the database's dialect first
            written.append(Written(path, phase, tuple(describe(c) for c in primary.changes),
                                   _consent_needed(plans, consent)))
        write_sum(store)
    except BaseException:
        for w in written:  # a file the sum does not list would fail every check
            store.remove(os.path.basename(w.path))
        raise
    from dfmigrate.directory.replay import store_folded

    last = files[-1][1]
    store_folded(store, {d: last[d][2].changes for d in dialects}, {d: last[d][0] for d in dialects})
    return MakeResult("written", written[-1].path, tuple(c for w in written for c in w.changes),
                      _hazards([{d: plan for d, (_, _, plan) in sides.items()} for _, sides in files]),
                      tuple(sorted({h for w in written for h in w.consent_needed})), tuple(written))


def _consent_needed(forwards: dict[str, Any], allowed: list[str]) -> tuple[str, ...]:
    """The destructive hazards of the written forward steps that ``allowed`` (the file's
    consent) does not cover: what ``migrate`` will ask consent for."""
    from dfmigrate.directory.ops import statement_step
    from dfmigrate.safety.consent import needed

    steps = [statement_step(s) for plan in forwards.values() for s in plan.statements]
    return tuple(sorted({n.hazard for n in needed(steps, allowed)}))

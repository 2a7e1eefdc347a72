"""The apply-side commands as library functions: migrate, rollback, status, history, baseline,
resolve, drift, check. Each takes a resolved ``dfmigrate.config.Config`` and returns data (the
CLI formats it); anything the user can fix raises ``DfmigrateError``.

Every command verifies the directory against ``dfmigrate.sum`` first, and opens databases only
through a ``resources.session()`` (a Kailash ``ResourceRegistry``) so nothing outlives the run.
Kailash is imported here, never at CLI start-up.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from dfmigrate.config import Config
from dfmigrate.errors import DfmigrateError
from dfmigrate.runner import ledger, resources
from dfmigrate.runner.connections import dialect_of, sqlite_path


@dataclass
class State:
    """The directory and the ledger side by side."""

    files: list[Any]  # runner.MigrationFile, directory order
    rows: list[ledger.HistoryRow]  # both directions, oldest first

    def __post_init__(self) -> None:
        self.by_id = {f.id: f for f in self.files}
        self.recorded = ledger.applied(self.rows)  # applied now: each migration's latest row decides

    @property
    def applied(self) -> list[Any]:  # recorded, file present and unchanged; directory order
        return [f for f in self.files if f.id in self.recorded and self.recorded[f.id].checksum == f.checksum]

    @property
    def modified(self) -> list[str]:  # recorded with another checksum than the file has now
        return [f.id for f in self.files if f.id in self.recorded and self.recorded[f.id].checksum != f.checksum]

    @property
    def missing(self) -> list[str]:  # recorded, but the file is gone
        return [mid for mid in self.recorded if mid not in self.by_id]

    @property
    def pending(self) -> list[str]:
        return [f.id for f in self.files if f.id not in self.recorded]

    def refuse_if_unsafe(self) -> None:
        """A modified or missing migration means the directory no longer describes the database:
        never guess (and never re-run a modified one)."""
        if self.modified:
            f = self.by_id[self.modified[0]]
            raise DfmigrateError(f"{f.shown} was modified after it was applied (its checksum differs from the "
                                 f"history's): restore it, or run 'dfmigrate resolve {f.id} --applied' to accept it")
        if self.missing:
            # Never suggest deleting the history row: the usual cause is a wrong --dir or an
            # old checkout, and the record is what says the schema has the migration's objects.
            others = f" (and {len(self.missing) - 1} more)" if len(self.missing) > 1 else ""
            raise DfmigrateError(f"{self.missing[0]}{others} is recorded as applied but its file is missing from "
                                 f"the migrations directory: check --dir, or restore the file from version control")


def load_directory(cfg: Config) -> list[Any]:
    """Verify the sum (refusing with the file named), load the files, check their dialect
    against the database's."""
    from dfmigrate.directory import verify
    from dfmigrate.runner.runner import load_files

    verify(cfg.dir)
    files = load_files(cfg.dir)
    dialect = dialect_of(cfg.database)
    for f in files:
        declared = getattr(f.cls, "dialect", "") or dialect
        if declared != dialect:
            raise DfmigrateError(f"{f.shown} is a {declared} migration, but the database is {dialect}")
    return files


@asynccontextmanager
async def opened(cfg: Config, *, write: bool) -> AsyncIterator[tuple[Any, Any]]:
    """(registry, connection) for the configured database. A read-only command on a SQLite file
    that does not exist reads an empty in-memory database instead of creating the file."""
    async with resources.session() as registry:
        url = cfg.database
        if not write and dialect_of(url) == "sqlite" and not os.path.exists(sqlite_path(url)):
            registry.register_factory("db", _memory_factory())
        else:
            registry.register_factory("db", resources.connection_factory(url))
        yield registry, await registry.get_resource("db")


def _memory_factory() -> Any:
    from dfmigrate.runner.connections import open_sqlite

    class Memory(resources._factory_base()):  # type: ignore[misc]
        async def create(self) -> Any:
            return open_sqlite(":memory:")

        def get_config(self) -> dict[str, Any]:
            return {"url": "sqlite:///:memory:"}

    return Memory()


async def _runner(conn: Any, files: list[Any], *, write: bool, guard: Any = None, registry: Any = None,
                  url: str | None = None, console: Any = None,
                  allow_hazards: frozenset[str] = frozenset()) -> tuple[Any, State]:
    """The runner, holding the migration lock when ``write``, and the history read *under* it."""
    runner = _new_runner(conn, files, write=write, guard=guard, console=console, allow_hazards=allow_hazards)
    return runner, await _locked(runner, write=write, registry=registry, url=url)


def _new_runner(conn: Any, files: list[Any], *, write: bool, guard: Any = None, console: Any = None,
                allow_hazards: frozenset[str] = frozenset()) -> Any:
    from dfmigrate.runner.reporter import Reporter
    from dfmigrate.runner.runner import DfmigrateRunner

    return DfmigrateRunner(conn, files, read_only=not write, guard=guard, reporter=Reporter(console),
                           allow_hazards=allow_hazards)


async def _locked(runner: Any, *, write: bool, registry: Any = None, url: str | None = None) -> State:
    """Take the lock (when ``write``) and read the history under it. On PostgreSQL the lock
    lives on a connection of its own, and a third one (the observer) carries the guard's
    pre-checks and blocker watch: one connection per concurrent task. On MySQL the lock is held
    by the migration connection itself (guard.mysql_lock), and the observer is the second one.
    On SQLite it is a flock on the database file (guard.sqlite_lock)."""
    conn = runner.conn
    if write and conn.dialect in ("postgresql", "mysql"):
        if registry is None or url is None:
            raise DfmigrateError("the migration lock needs a registry to open its connection")
        registry.register_factory("observer", resources.connection_factory(url))

        async def observer() -> Any:  # opened once the lock is held: waiting runs hold fewer connections
            return await registry.get_resource("observer")

        if conn.dialect == "mysql":
            await runner.lock(observer=observer)
        else:
            registry.register_factory("lock", resources.connection_factory(url))
            await runner.lock(await registry.get_resource("lock"), observer=observer)
    elif write and conn.dialect == "sqlite":
        await runner.lock()
    await runner.initialize()
    return State(list(runner.files.values()), await ledger.read(conn))


# ---------------------------------------------------------------- migrate / rollback


async def migrate(cfg: Config, to: str | None = None, dry_run: bool = False, guard: Any = None,
                  report: dict[str, Any] | None = None, console: Any = None,
                  allow_hazards: frozenset[str] = frozenset(), phase: str | None = None) -> list[str]:
    """Apply pending migrations (up to ``to``). Returns output lines: the SQL for a dry run,
    else one line per migration applied. ``guard`` (``dfmigrate.guard.options.GuardOptions``):
    lock wait, lock/statement timeouts, retries. ``report``, when given, is filled with the
    apply report (lock, per-step duration/attempts/lock waits, detector verdicts), also when the
    apply fails; for a dry run, with ``refusal``: the line ``migrate`` would refuse with for want
    of consent (``allow_hazards``: ``--allow-hazards``), or None. ``console`` (``logs.Console``)
    gets a line as each migration starts and ends. ``phase`` "pre" stops before the first pending
    post-deploy migration (expand and contract), named in ``report["held_back"]``; "post" or None
    applies everything pending."""
    files = load_directory(cfg)
    report = report if report is not None else {}
    async with opened(cfg, write=not dry_run) as (registry, conn):
        runner = _new_runner(conn, files, write=not dry_run, guard=guard, console=console,
                             allow_hazards=allow_hazards)
        try:
            plan = await _pending(runner, to, write=not dry_run, registry=registry, url=cfg.database)
            if phase == "pre":
                report["held_back"] = _before_post(plan)
            if dry_run:
                return await _dry_run(runner, plan, report)
            done = await runner.execute_plan(plan)  # refuses, changing nothing, without consent
        finally:
            if not dry_run:
                await _fill_report(runner, report)
    return [f"applied {h.migration_id} ({round(h.execution_time * 1000)} ms)" for h in done]


async def _pending(runner: Any, to: str | None, *, write: bool, registry: Any = None, url: str | None = None) -> Any:
    """The pending migrations up to ``to`` (a ``MigrationPlan``), planned from the history read
    under the lock (when ``write``), after refusing a modified or missing migration: what
    ``migrate`` applies, what its dry run prints and what ``plan`` describes."""
    state = await _locked(runner, write=write, registry=registry, url=url)
    state.refuse_if_unsafe()
    return await runner.plan_forward(to)


def _before_post(plan: Any) -> str | None:
    """``migrate --phase pre``: ``plan`` cut before its first post-deploy migration, whose id
    is returned (None when it has none)."""
    from dfmigrate.directory.phases import before_post

    pending = list(plan.migrations_to_apply)
    plan.migrations_to_apply = before_post(pending)
    plan.dependency_order = plan.dependency_order[:len(plan.migrations_to_apply)]
    return pending[len(plan.migrations_to_apply)].id if len(pending) > len(plan.migrations_to_apply) else None


async def plan(cfg: Config, to: str | None = None, allow_hazards: frozenset[str] = frozenset(),
               phase: str | None = None) -> dict[str, Any]:
    """The runbook of what ``migrate`` (with ``to``, ``allow_hazards`` and ``phase``) would do to
    the database, as data (``runbook``); nothing is written, not even the history table."""
    from dfmigrate.runner.runbook import runbook

    files = load_directory(cfg)
    async with opened(cfg, write=False) as (_, conn):
        runner = _new_runner(conn, files, write=False, allow_hazards=allow_hazards)
        pending = await _pending(runner, to, write=False)
        if phase == "pre":
            _before_post(pending)
        return await runbook(runner, pending, database=_masked(cfg.database), directory=cfg.dir)


async def _dry_run(runner: Any, plan: Any, report: dict[str, Any]) -> list[str]:
    """The SQL the plan runs, then a comment naming each step that needs consent; the refusal
    the real run would give goes in ``report["refusal"]`` (None: it would run)."""
    from dfmigrate.safety import consent

    report["refusal"] = None
    if not (plan.migrations_to_apply or plan.migrations_to_rollback):
        return []
    direction = "backward" if plan.migrations_to_rollback else "forward"
    lines = [await runner.dry_run_sql(plan, direction)]
    found = runner.consent_missing(plan)
    if found:
        report["refusal"] = consent.refusal_of(found, direction)
        lines += consent.comments(found)
    return lines


async def _fill_report(runner: Any, report: dict[str, Any]) -> None:
    held = runner.held
    try:
        released = await runner.unlock()
    except Exception as exc:  # reported; the connection closes at cleanup, which releases it anyway
        released, report["unlock_error"] = False, f"{type(exc).__name__}: {exc}"
    report["lock"] = None if held is None else {**held.to_dict(), "released": released}
    report.update(await runner.report())


def report_lines(report: dict[str, Any], verbose: bool = False) -> list[str]:
    """The apply report as text, after the per-migration lines: what a person needs to know by
    default (contention, resumed work, waits, the guard's decisions), and with ``verbose`` the
    detectors' verdicts and the timing anomalies."""
    out = []
    lock, verdicts = report.get("lock"), report.get("verdicts") or {}
    if lock and (verbose or lock["holders_seen"]):
        out.append(f"lock ({lock['mode']}{', through a pooling proxy' if lock.get('proxied') else ''}): waited "
                   f"{lock['waited_s']:.2f} s, {lock['attempts']} attempt(s)"
                   + (f", held before us by pid(s) {', '.join(map(str, lock['holders_seen']))}" if lock["holders_seen"] else ""))
    if lock and lock.get("orphans_waited_s", 0) > 0.05:
        out.append(f"waited {lock['orphans_waited_s']:.2f} s for the backend of an interrupted run to end")
    for step in report.get("steps", []):
        mid = step["migration"]
        if step["attempts"] > 1 or step["lock_waits"]:
            out.append(f"  {mid}: {step['attempts']} attempt(s), "
                       f"{sum(len(w['blockers']) for w in step['lock_waits'])} lock wait(s) observed")
        for g in step.get("groups", []):
            for r in g.get("resumed", []):
                out.append(f"  {mid}: statement {g['statements'][0]} was interrupted by an earlier run: "
                           f"found {r['found']}; {r['action']}")
            if g["outcome"].startswith("done by an earlier"):
                out.append(f"  {mid}: statement(s) {', '.join(map(str, g['statements']))} {g['outcome']}")
        for d in step.get("decisions", []):
            for h in d.get("holders", []):
                ended = " (terminated: --cancel-blockers)" if h["pid"] in d.get("terminated", []) else ""
                out.append(f"  {mid}: statement {d['statement']} needed {d['mode']} on {d['relation']}; "
                           f"{_holder_text(h)}{ended}; {d['action']} (waited {d['waited_s']:g} s)")
        for e in step.get("watch_errors", []):
            out.append(f"  {mid}: blocker watch error: {e}")
    if verbose:
        for name in ("race", "deadlock"):
            v = verdicts.get(name)
            if v:
                out.append(f"{v['detector']}: {v['verdict']}")
        for a in (report.get("metrics") or {}).get("anomalies", []):
            out.append(f"PerformanceAnomalyNode: {a['migration']} statement {a['statement']} ({a['kind']}) took "
                       f"{a['ms']:g} ms; {a['history']} earlier ones of its kind here average {a['baseline_mean_ms']:g} ms "
                       f"({', '.join(a['types'])})")
    return out


def _holder_text(h: dict[str, Any]) -> str:
    """A session the guard judged, as its holder type names it (``describe()``: a PostgreSQL
    backend, a MySQL connection), carried in the report's holder."""
    return str(h.get("description") or f"session {h['pid']}")


async def rollback(cfg: Config, steps: int | None = None, to: str | None = None,
                   dry_run: bool = False, console: Any = None, allow_hazards: frozenset[str] = frozenset(),
                   report: dict[str, Any] | None = None) -> list[str]:
    """Roll back the last ``steps`` applied migrations (default 1), or every one after ``to``.
    Refuses, changing nothing, when a backward step loses data or breaks clients without consent
    (``allow_hazards``: ``--allow-hazards``); a dry run puts that refusal in ``report["refusal"]``.
    ``report`` is filled as ``migrate`` fills it (lock, steps, verdicts, metrics), also when the
    rollback fails."""
    if steps is not None and to is not None:
        raise DfmigrateError("give --steps or --to, not both")
    files = load_directory(cfg)
    report = report if report is not None else {}
    async with opened(cfg, write=not dry_run) as (registry, conn):
        runner = _new_runner(conn, files, write=not dry_run, console=console, allow_hazards=allow_hazards)
        try:
            return await _roll_back(runner, steps, to, dry_run, report, registry, cfg.database)
        finally:
            if not dry_run:
                await _fill_report(runner, report)


async def _roll_back(runner: Any, steps: int | None, to: str | None, dry_run: bool, report: dict[str, Any],
                     registry: Any, url: str) -> list[str]:
    """``rollback`` under the lock (when not ``dry_run``) on ``runner``."""
    state = await _locked(runner, write=not dry_run, registry=registry, url=url)
    state.refuse_if_unsafe()
    applied = [f.id for f in state.applied]
    if to is not None:
        if to not in applied:
            raise DfmigrateError(f"{to} is not applied: --to names the migration to keep")
        targets = applied[applied.index(to) + 1:][::-1]
    else:
        count = steps if steps is not None else 1
        if count < 1:
            raise DfmigrateError("--steps must be at least 1")
        if count > len(applied):
            raise DfmigrateError(f"cannot roll back {count} migration(s): only {len(applied)} applied; "
                                 "nothing was rolled back")
        targets = applied[::-1][:count]
    # one plan of every target: upstream's per-migration plan would see the later ones still
    # applied and refuse; consent is checked for all of them before the first rolls back
    from kailash.utils.migrations.models import MigrationPlan

    plan = MigrationPlan(migrations_to_rollback=[state.by_id[i].cls() for i in targets])
    if dry_run:
        return await _dry_run(runner, plan, report)
    runner.require_consent(plan)
    out = []
    for migration_id in targets:
        own = await runner.create_plan(migration_id, rollback=True)  # refuses if depended on
        if own.warnings:
            raise DfmigrateError("; ".join(own.warnings))
        await runner.rollback_migration(migration_id)
        out.append(f"rolled back {migration_id}")
    return out


# ---------------------------------------------------------------- reports


async def status(cfg: Config) -> dict[str, Any]:
    from dfmigrate.directory.phases import declared_phase

    files = load_directory(cfg)
    async with opened(cfg, write=False) as (_, conn):
        _, state = await _runner(conn, files, write=False)
    return {
        "database": _masked(cfg.database),
        "dir": cfg.dir,
        "applied": [state.recorded[f.id].to_dict() for f in state.applied],
        "pending": state.pending,
        # expand and contract: the pending migrations that declare a side ("pre" / "post")
        "phases": {m: declared_phase(state.by_id[m].cls) for m in state.pending
                   if declared_phase(state.by_id[m].cls)},
        "modified": state.modified,
        "missing": state.missing,
    }


async def history(cfg: Config) -> list[dict[str, Any]]:
    async with opened(cfg, write=False) as (_, conn):
        return [r.to_dict() for r in await ledger.read(conn)]


async def drift(cfg: Config) -> dict[str, Any]:
    """The live database against what its applied migrations produce, object by object."""
    from dfmigrate.diff import diff_schemas

    files = load_directory(cfg)
    async with opened(cfg, write=False) as (registry, conn):
        _, state = await _runner(conn, files, write=False)
        state.refuse_if_unsafe()
        live = await resources.live_schema(conn)
        expected = await resources.replayed_schema(state.applied, files, cfg.dir,
                                                   dialect_of(cfg.database), cfg.dev_url or _server(cfg))
    items = [_drift_item(c) for c in diff_schemas(expected, live)]
    return {"database": _masked(cfg.database), "applied": [f.id for f in state.applied],
            "drift": items, "clean": not items}


def _drift_item(change: Any) -> dict[str, str]:
    """diff(expected → live): what the diff would create exists only live (extra), what it
    would drop exists only in the migrations (missing), anything else changed."""
    from dfmigrate.core.describe import describe

    kind = type(change).__name__
    text = describe(change)
    if kind.startswith(("Create", "Add")):
        return {"kind": "extra", "object": text.split(" ", 1)[1], "change": text}
    if kind.startswith("Drop"):
        return {"kind": "missing", "object": text.split(" ", 1)[1], "change": text}
    return {"kind": "changed", "object": text, "change": text}


# ---------------------------------------------------------------- repairs


async def baseline(cfg: Config, to: str | None = None) -> list[str]:
    """Adopt an existing database: record the migrations (up to ``to``) its schema already
    satisfies, after proving it with a replay; refuse, naming the differences, otherwise."""
    from dfmigrate.diff import diff_schemas

    files = load_directory(cfg)
    if to is not None and to not in {f.id for f in files}:
        raise DfmigrateError(f"no migration {to!r} in the directory")
    wanted = files[: [f.id for f in files].index(to) + 1] if to else files
    async with opened(cfg, write=True) as (registry, conn):
        runner, state = await _runner(conn, files, write=True, registry=registry, url=cfg.database)
        state.refuse_if_unsafe()
        live = await resources.live_schema(conn)
        expected = await resources.replayed_schema(wanted, files, cfg.dir,
                                                   dialect_of(cfg.database), cfg.dev_url or _server(cfg))
        changes = diff_schemas(expected, live)
        if changes:
            items = [_drift_item(c) for c in changes]
            shown = "; ".join(f"{i['kind']} {i['object']}" for i in items[:5]) + (" …" if len(items) > 5 else "")
            raise DfmigrateError(f"the database does not match the migrations up to {wanted[-1].id if wanted else '(none)'}"
                                 f" ({len(items)} difference(s): {shown}); nothing recorded")
        todo = [f for f in wanted if f.id not in state.recorded]
        async with conn.transaction():
            for f in todo:
                await ledger.record(conn, f.id, f.checksum, 0, "baseline")
    return [f"recorded {f.id} (baseline)" for f in todo]


async def resolve(cfg: Config, migration_id: str, applied: bool, force: bool = False) -> str:
    """Repair the history by hand: record ``migration_id`` as applied (with its file's current
    checksum) or as rolled back, touching no schema. Either way the progress record of an
    interrupted run of it is cleared (the user has settled its outside statements by hand).

    Recording a migration as applied is checked first (unless ``force``): every object it was
    planned to touch must be in the state the directory's migrations up to it produce; else the
    history would claim objects the database does not have."""
    from dfmigrate.runner import progress

    files = load_directory(cfg)
    by_id = {f.id: f for f in files}
    if applied and migration_id not in by_id:
        raise DfmigrateError(f"no migration {migration_id!r} in the directory")
    async with opened(cfg, write=True) as (registry, conn):
        _, state = await _runner(conn, files, write=True, registry=registry, url=cfg.database)
        if applied and not force:
            await _refuse_unless_present(conn, cfg, files, by_id[migration_id])
        partial = any(r.migration_id == migration_id for r in await progress.read(conn))
        async with conn.transaction():
            if partial:
                await progress.clear(conn, migration_id)
            if applied:
                await ledger.record(conn, migration_id, by_id[migration_id].checksum, 0, "resolved")
                return f"recorded {migration_id} as applied"
            if migration_id not in state.recorded:
                if partial:
                    return f"cleared the progress of the interrupted run of {migration_id} (not recorded as applied)"
                raise DfmigrateError(f"{migration_id} is not recorded as applied")
            await ledger.record(conn, migration_id, state.recorded[migration_id].checksum, 0, "resolved-back")
            return f"recorded {migration_id} as rolled back"


async def _refuse_unless_present(conn: Any, cfg: Config, files: list[Any], target: Any) -> None:
    """The objects ``target`` was planned to touch (its recorded expectations), compared between
    the live database and the schema the migrations up to ``target`` produce. A hand-written
    migration without expectations has nothing to compare."""
    from dfmigrate.core.expect import mismatches, object_state, planned_digest
    from dfmigrate.core.schema import Ref

    from dfmigrate.migration import expectations_of

    expected = expectations_of(target.cls(), dialect_of(cfg.database))
    if not expected:
        return
    upto = files[: files.index(target) + 1]
    after = await resources.replayed_schema(upto, files, cfg.dir, dialect_of(cfg.database),
                                            cfg.dev_url or _server(cfg))
    wanted = [(kind, ns, name, planned_digest(object_state(after, Ref(kind, ns, name))))
              for kind, ns, name, _ in expected]
    found = mismatches(await resources.live_schema(conn), wanted)
    if found:
        shown = "; ".join(str(m) for m in found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
        raise DfmigrateError(f"{target.id}'s objects are not in the database as it leaves them ({shown}): "
                             f"apply it with 'dfmigrate migrate', or pass --force to record it anyway; "
                             "nothing recorded")


async def check(cfg: Config) -> dict[str, Any]:
    """Integrity, then models against migrations (when models are configured). The database is
    not opened; its URL only picks the dialect of an empty directory and the scratch server."""
    from dfmigrate.directory import load_all, verify

    verify(cfg.dir)  # integrity, then (without Kailash: check stays fast) every file loads
    if not cfg.models:
        load_all(cfg.dir)  # with models, the replay loads them (or its cache says they loaded)
        return {"clean": True, "pending": [], "hazards": [], "models": None}
    from dfmigrate.directory import directory_dialect
    from dfmigrate.directory.make import make_migrations

    dialect = directory_dialect(cfg.dir) or dialect_of(cfg.database)
    server = cfg.dev_url or (cfg.database if dialect == dialect_of(cfg.database) else None)
    result = await make_migrations(cfg.models, cfg.dir, dialect, check=True, dev_url=server and _scratch_server(server))
    return {"clean": result.status != "changes pending", "pending": list(result.changes),
            "hazards": list(result.hazards), "models": cfg.models}


def _scratch_server(url: str) -> str | None:
    return url if dialect_of(url) in ("postgresql", "mysql") else None


def _server(cfg: Config) -> str | None:
    """Scratch databases go on the target's own server unless --dev-url says otherwise."""
    return _scratch_server(cfg.database)


def _masked(url: str) -> str:
    from dfmigrate.logs import mask_text  # leaves password-free URLs (sqlite:///x) untouched

    return mask_text(url)

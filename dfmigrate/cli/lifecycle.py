"""The apply-side commands (migrate, rollback, status, history, baseline, resolve, drift, check)
as click commands, for ``dfmigrate.cli`` to add to its group (``COMMANDS``).

Thin, like the rest of ``dfmigrate.cli``: options → ``dfmigrate.config.resolve`` → one ``asyncio.run`` of the
library function in ``dfmigrate.runner.commands`` → print. Errors are ``DfmigrateError`` and
reach ``cli.main``, which prints one masked line and exits 2. Only click and the standard
library are imported at load time (``--help`` stays fast); Kailash loads inside the command.

Exit codes: 0 success; 1 ``drift`` found drift, ``check`` found pending model changes, or
``status --exit-code`` found pending migrations; 2 any error (and ``status --exit-code`` with a
modified or missing migration).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

T = TypeVar("T")
EXIT_OK, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _run(make: Callable[[], Awaitable[T]]) -> T:
    from dfmigrate.cli import _run as run_once  # lazily: cli imports this module

    return run_once(make)


def _config(database: str | None, dir: str | None, models: str | None, dev_url: str | None,
            *, reads_database: bool = True) -> Any:
    """The effective settings, refusing what would otherwise pass silently: a migrations
    directory that does not exist (a typo would read as "nothing to migrate" and create the
    history tables), and, for a command that only reads the database, a SQLite file that does not
    exist (opening it would create an empty one). Only ``migrate`` creates a database."""
    from dfmigrate.config import resolve
    from dfmigrate.errors import DfmigrateError

    cfg = resolve(database, dir, models, dev_url)
    if not os.path.isdir(cfg.dir):
        raise DfmigrateError(f"migrations directory not found: {cfg.dir} ({cfg.origin['dir']}); "
                             "'dfmigrate makemigrations' creates it")
    if reads_database:
        from dfmigrate.runner.connections import dialect_of, sqlite_path

        if dialect_of(cfg.database) == "sqlite" and not os.path.isfile(sqlite_path(cfg.database)):
            raise DfmigrateError(f"no SQLite database at {sqlite_path(cfg.database)} "
                                 f"({cfg.origin['database']}); only 'dfmigrate migrate' creates one")
    return cfg


def _commands() -> Any:
    from dfmigrate.runner import commands

    return commands


def _echo(text: str) -> None:
    if text:
        click.echo(text, nl=not text.endswith("\n"))


def _offline(cfg: Any, direction: str, dialect: str | None, start: str | None, stop: str | None,
             strict: bool, show: bool, allowed: frozenset[str] = frozenset(), phase: str | None = None) -> None:
    """--sql: print the script without connecting (refused, like the real run, without consent
    to a destructive step). --strict alone: refuse, before connecting, a file that lacks the
    target dialect's frozen SQL (rendering it is the same check)."""
    from dfmigrate.directory.offline import offline_script, require_frozen
    from dfmigrate.runner.connections import dialect_of

    if not show:
        require_frozen(cfg.dir, dialect or dialect_of(cfg.database))
        return
    _echo(offline_script(cfg.dir, dialect or dialect_of(cfg.database), direction, start, stop, strict=strict,
                         allow_hazards=allowed, phase=phase))


# Consent to destructive steps (dfmigrate.safety.consent); parsed in the command, so an unknown
# kind is the usual one-line error.
ALLOW_HAZARDS = click.option(
    "--allow-hazards", "allow_hazards", multiple=True, metavar="KIND[,KIND...]|all",
    help="Consent to steps that delete data or break the running release: deletes-data, breaks-clients, "
         "or all (a migration file can record it as allow_hazards). Without it such a step is refused.")


def consent_given(values: tuple[str, ...]) -> frozenset[str]:
    from dfmigrate.safety.consent import parse_allowed

    return parse_allowed(values)


def _refuse_after_dry_run(report: dict[str, Any]) -> None:
    """A dry run printed its SQL; when the real run would refuse for want of consent, fail the
    same way (exit 2, the refusal's line), so a pipeline sees it."""
    if report.get("refusal"):
        from dfmigrate.safety.consent import ConsentNeeded

        raise ConsentNeeded(report["refusal"])


def _json(data: Any) -> None:
    _echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _versioned(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the ``--format json`` output described by ``dfmigrate/schemas/<name>-v1.schema.json``."""
    return {"$schema": f"https://dfmigrate.dev/schemas/{name}-v1.schema.json", "version": 1, **data}


def lifecycle_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--database``, ``--dir``, ``--models``, ``--dev-url``. No default is shown: the effective
    one comes from the environment or the configuration file (``dfmigrate config`` prints it)."""
    for option in reversed((
        click.option("--database", metavar="URL", help="Target database [env DFMIGRATE_DATABASE_URL; "
                     "config 'database'; else sqlite:///dfmigrate.db]."),
        click.option("--dir", "dir_", metavar="DIR", help="Migrations directory [env DFMIGRATE_DIR; config 'dir'; "
                     "else migrations]."),
        click.option("--models", metavar="M", help="Model classes: a .py file, models:package.module or "
                     "dataflow:MODULE:ATTR [env DFMIGRATE_MODELS; config 'models']."),
        click.option("--dev-url", metavar="URL", help="PostgreSQL server for scratch databases "
                     "[env DFMIGRATE_DEV_URL; config 'dev_url']."),
    )):
        command = option(command)
    return command


_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
# check and drift also speak the CI formats (dfmigrate.ci_formats): annotations, JUnit, SARIF.
_CI_FORMATS = ("github", "junit", "sarif")
_REPORT_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json", *_CI_FORMATS]), default="text",
                              show_default=True, help="text, json, or a CI format: github annotations, junit XML, "
                              "sarif 2.1.0.")


def _render(report: Any, fmt: str) -> None:
    from dfmigrate.ci_formats import render

    _echo(render(report, fmt))


@click.command()
@lifecycle_options
@click.option("--to", metavar="ID", help="Stop after this migration.")
@click.option("--dry-run", is_flag=True, help="Print the exact SQL that would run, in order, and the steps that need "
              "consent (exit 2 when consent is missing); change nothing.")
@ALLOW_HAZARDS
@click.option("--lock-wait", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="How long to poll for the migration lock another run holds (PostgreSQL).")
@click.option("--lock-timeout", type=click.FloatRange(min=0.001), default=2.0, show_default=True, metavar="SECONDS",
              help="lock_timeout of each migration's transaction: never queue application queries longer.")
@click.option("--statement-timeout", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
              help="statement_timeout of each migration's transaction (0: none); on MariaDB "
                   "max_statement_time of each statement; refused on MySQL, which has none for DDL.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True, metavar="N",
              help="Retries of a migration whose lock_timeout expired (with back-off).")
@click.option("--lock-mode", type=click.Choice(["auto", "session", "transaction"]), default="auto", show_default=True,
              help="transaction: hold the migration lock in an open transaction, which survives a "
                   "transaction-pooling proxy such as PgBouncer in transaction mode; auto: transaction when "
                   "the connection goes through a proxy, else session (PostgreSQL).")
@click.option("--sql", "offline", is_flag=True,
              help="Print the whole script (history rows and transactions included) without connecting.")
@click.option("--dialect", type=click.Choice(["postgresql", "sqlite", "mysql"]),
              help="With --sql: the dialect to script (default: the --database URL's).")
@click.option("--from", "from_", metavar="ID", help="With --sql: start after this (already applied) migration.")
@click.option("--strict", is_flag=True, help="Refuse a migration that lacks the target dialect's frozen SQL.")
@click.option("--cancel-blockers", is_flag=True,
              help="Terminate sessions holding a lock a statement would wait for (pg_terminate_backend on "
                   "PostgreSQL, KILL CONNECTION on MySQL; off by default: without it no session is ever cancelled).")
@click.option("--phase", type=click.Choice(["pre", "post"]),
              help="Expand and contract: pre applies the pending migrations before the first post-deploy one "
                   "(run it before deploying the new release); post applies everything pending, like no flag.")
@_FORMAT
def migrate(database: str | None, dir_: str | None, models: str | None, dev_url: str | None,
            to: str | None, dry_run: bool, allow_hazards: tuple[str, ...], lock_wait: float, lock_timeout: float,
            statement_timeout: float, retries: int, lock_mode: str, offline: bool, dialect: str | None, from_: str | None, strict: bool,
            cancel_blockers: bool, phase: str | None, fmt: str) -> int:
    """Apply pending migrations, each in one transaction with its history row."""
    from dfmigrate.guard.options import GuardOptions

    allowed = consent_given(allow_hazards)
    cfg = _config(database, dir_, models, dev_url, reads_database=False)
    if offline or strict:
        _offline(cfg, "forward", dialect, from_, to, strict, offline, allowed, phase)
        if offline:
            return EXIT_OK
    guard = GuardOptions(lock_wait=lock_wait, lock_timeout=lock_timeout, statement_timeout=statement_timeout,
                         retries=retries, cancel_blockers=cancel_blockers, lock_mode=lock_mode)
    report: dict[str, Any] = {}
    console = _console(fmt)
    try:
        lines = _run(lambda: _commands().migrate(cfg, to=to, dry_run=dry_run, guard=guard, report=report,
                                                 console=console, allow_hazards=allowed, phase=phase))
    except Exception as exc:  # reported in the json, then raised on: cli.main prints it and exits 2
        if fmt == "json":  # versioned by dfmigrate/schemas/migrate-v1.schema.json
            _json(_versioned("migrate", {"ok": False, "error": str(exc), "dry_run": dry_run,
                                         "applied": _finished(report, "applied"), **report}))
        raise
    if dry_run:
        if fmt == "json":  # the SQL as the text format prints it; ok: the real run would not be refused
            _json(_versioned("migrate", {"ok": not report.get("refusal"), "dry_run": True, "applied": [],
                                         "sql": "\n".join(lines), **report}))
        else:
            _echo("\n".join(lines))
        _refuse_after_dry_run(report)
        return EXIT_OK
    if fmt == "json":
        _json(_versioned("migrate", {"ok": True, "dry_run": False, "applied": _finished(report, "applied"),
                                     **report}))
        return EXIT_OK
    from dfmigrate.logs import VERBOSE

    # each migration's lines were printed as it ran (console)
    held = report.get("held_back")
    shown = [] if lines or held else ["Nothing to migrate: the database is up to date."]
    if held:
        shown.append(f"Stopped before {held} (post-deploy): run 'dfmigrate migrate --phase post' once no "
                     "server runs the previous release.")
    shown += _commands().report_lines(report, verbose=console.level >= VERBOSE)
    for line in shown:
        console.line(line)
    return EXIT_OK


def _finished(report: dict[str, Any], outcome: str) -> list[str]:
    """The migrations a run finished, from its report (a run that failed commits each one it
    finished on its own)."""
    return [s["migration"] for s in report.get("steps", []) if s["outcome"] == outcome]


def _console(fmt: str) -> Any:
    """Progress lines on stdout; with --format json (stdout carries the report, stderr the one
    error line) only under -v, on stderr."""
    import sys

    from dfmigrate.logs import QUIET, VERBOSE, Console, verbosity

    if fmt == "json":
        return Console(sys.stderr, level=VERBOSE if verbosity() >= VERBOSE else QUIET)
    return Console()


@click.command()
@lifecycle_options
@click.option("--steps", type=int, metavar="N", help="Roll back the last N migrations (default 1).")
@click.option("--to", metavar="ID", help="Roll back every migration applied after ID.")
@click.option("--dry-run", is_flag=True, help="Print the exact SQL that would run, and the steps that need consent "
              "(exit 2 when consent is missing); change nothing.")
@ALLOW_HAZARDS
@click.option("--sql", "offline", is_flag=True, help="Print the script without connecting: rolls back --from "
              "(default: the last migration) down to, not including, --to (default: the one before).")
@click.option("--dialect", type=click.Choice(["postgresql", "sqlite", "mysql"]),
              help="With --sql: the dialect to script (default: the --database URL's).")
@click.option("--from", "from_", metavar="ID", help="With --sql: the newest applied migration.")
@_FORMAT
def rollback(database: str | None, dir_: str | None, models: str | None, dev_url: str | None,
             steps: int | None, to: str | None, dry_run: bool, allow_hazards: tuple[str, ...], offline: bool,
             dialect: str | None, from_: str | None, fmt: str) -> int:
    """Roll back applied migrations, newest first."""
    allowed = consent_given(allow_hazards)
    cfg = _config(database, dir_, models, dev_url, reads_database=not offline)  # --sql connects to nothing
    if offline:
        _offline(cfg, "backward", dialect, from_, to, False, True, allowed)
        return EXIT_OK
    console = _console(fmt)
    report: dict[str, Any] = {}
    try:
        lines = _run(lambda: _commands().rollback(cfg, steps=steps, to=to, dry_run=dry_run, console=console,
                                                  allow_hazards=allowed, report=report))
    except Exception as exc:  # reported in the json, then raised on: cli.main prints it and exits 2
        if fmt == "json":  # versioned by dfmigrate/schemas/rollback-v1.schema.json
            _json(_versioned("rollback", {"ok": False, "error": str(exc), "dry_run": dry_run,
                                          "rolled_back": _finished(report, "rolled back"), **report}))
        raise
    if fmt == "json":
        done = [] if dry_run else _finished(report, "rolled back")
        extra = {"sql": "\n".join(lines)} if dry_run else {}
        _json(_versioned("rollback", {"ok": not report.get("refusal"), "dry_run": dry_run, "rolled_back": done,
                                      **extra, **report}))
        if dry_run:
            _refuse_after_dry_run(report)
    elif dry_run:
        _echo("\n".join(lines))
        _refuse_after_dry_run(report)
    elif not lines:
        console.line("Nothing to roll back.")
    return EXIT_OK


@click.command()
@lifecycle_options
@_FORMAT
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when migrations are pending, 2 when one is modified or missing (0: up to date).")
def status(database: str | None, dir_: str | None, models: str | None, dev_url: str | None, fmt: str,
           exit_code: bool) -> int:
    """Show applied, pending, modified and missing migrations."""
    cfg = _config(database, dir_, models, dev_url)
    data = _run(lambda: _commands().status(cfg))
    code = EXIT_OK
    if exit_code:
        code = EXIT_ERROR if data["modified"] or data["missing"] else EXIT_FOUND if data["pending"] else EXIT_OK
    if fmt == "json":  # versioned by dfmigrate/schemas/status-v1.schema.json
        _json(_versioned("status", data))
        return code
    lines = [f"database: {data['database']}", f"migrations: {data['dir']}"]
    lines += [f"  applied   {a['migration_id']}  {a['applied_at']}" for a in data["applied"]]
    lines += [f"  pending   {m}" + (f"  ({data['phases'][m]}-deploy)" if m in data["phases"] else "")
              for m in data["pending"]]
    lines += [f"  MODIFIED  {m}  (file differs from what was applied)" for m in data["modified"]]
    lines += [f"  MISSING   {m}  (applied, but the file is gone)" for m in data["missing"]]
    lines.append(f"{len(data['applied'])} applied, {len(data['pending'])} pending, "
                 f"{len(data['modified'])} modified, {len(data['missing'])} missing")
    waiting = next((m for m in data["pending"] if data["phases"].get(m) == "post"), None)
    if waiting is not None:
        lines.append(f"migrate --phase pre stops before {waiting} (post-deploy: run it once no server runs "
                     "the previous release)")
    _echo("\n".join(lines))
    return code


@click.command()
@lifecycle_options
@_FORMAT
def history(database: str | None, dir_: str | None, models: str | None, dev_url: str | None, fmt: str) -> int:
    """Show the history table, oldest first."""
    cfg = _config(database, dir_, models, dev_url)
    rows = _run(lambda: _commands().history(cfg))
    if fmt == "json":  # versioned by dfmigrate/schemas/history-v1.schema.json
        _json(_versioned("history", {"rows": rows}))
    else:
        _echo("\n".join(f"{r['applied_at']}  {r['migration_id']}  {r['direction']}  {r['duration_ms']} ms  "
                        f"{r['applied_by']}  dfmigrate {r['tool_version']}  {r['checksum'][:12]}" for r in rows)
              or "No migrations applied.")
    return EXIT_OK


@click.command()
@lifecycle_options
@click.option("--to", metavar="ID", help="Adopt the migrations up to ID (default: all).")
def baseline(database: str | None, dir_: str | None, models: str | None, dev_url: str | None,
             to: str | None) -> int:
    """Record the migrations an existing database already satisfies (verified by replay)."""
    cfg = _config(database, dir_, models, dev_url)
    lines = _run(lambda: _commands().baseline(cfg, to=to))
    _echo("\n".join(lines) or "Nothing to record: those migrations are already in the history.")
    return EXIT_OK


@click.command()
@lifecycle_options
@click.argument("migration_id", metavar="ID")
@click.option("--applied", "state", flag_value="applied", help="Record ID as applied (no SQL runs).")
@click.option("--rolled-back", "state", flag_value="rolled-back",
              help="Record ID as rolled back (no SQL runs; the history keeps both rows).")
@click.option("--force", is_flag=True,
              help="With --applied: record ID even though its objects are not in the database as it leaves them.")
def resolve(database: str | None, dir_: str | None, models: str | None, dev_url: str | None,
            migration_id: str, state: str | None, force: bool) -> int:
    """Repair the history by hand."""
    if state is None:
        raise click.UsageError("give --applied or --rolled-back")
    cfg = _config(database, dir_, models, dev_url)
    _echo(_run(lambda: _commands().resolve(cfg, migration_id, applied=state == "applied", force=force)))
    return EXIT_OK


@click.command()
@lifecycle_options
@_REPORT_FORMAT
def drift(database: str | None, dir_: str | None, models: str | None, dev_url: str | None, fmt: str) -> int:
    """Compare the database with what its applied migrations produce; exit 1 on drift."""
    cfg = _config(database, dir_, models, dev_url)
    data = _run(lambda: _commands().drift(cfg))
    if fmt in _CI_FORMATS:
        from dfmigrate.ci_formats.findings import drift_report

        _render(drift_report(data, cfg.dir), fmt)
    elif fmt == "json":  # versioned by dfmigrate/schemas/drift-v1.schema.json
        _json(_versioned("drift", data))
    elif data["clean"]:
        _echo(f"No drift: the database matches its {len(data['applied'])} applied migration(s).")
    else:
        _echo("\n".join([f"{len(data['drift'])} difference(s) between the applied migrations and the database:",
                         *(f"  {d['kind']:<8} {d['object']}" for d in data["drift"])]))
    return EXIT_OK if data["clean"] else EXIT_FOUND


@click.command()
@lifecycle_options
@_REPORT_FORMAT
def check(database: str | None, dir_: str | None, models: str | None, dev_url: str | None, fmt: str) -> int:
    """Verify the directory's integrity, that the models need no new migration, and lint the
    migrations (see 'dfmigrate lint')."""
    from dfmigrate.ci_formats.findings import check_report
    from dfmigrate.errors import DfmigrateError
    from dfmigrate.lint import lint_paths, load_settings

    cfg = _config(database, dir_, models, dev_url, reads_database=False)
    # the lint runs beside the replay; its errors (settings included) still come after check's
    linting = _Background(lambda: lint_paths([cfg.dir], load_settings(cfg), command="check")).start()
    try:
        data = _run(lambda: _commands().check(cfg))
    except DfmigrateError as exc:
        linting.cancel()
        if fmt != "text":  # the annotation (or the report a script parses) shows it; it still exits 2
            _render(check_report(None, cfg.dir, error=str(exc)), fmt)
        raise
    except BaseException:
        linting.cancel()
        raise
    report = check_report(data, cfg.dir, linting.result())
    if fmt != "text":
        _render(report, fmt)
        return EXIT_FOUND if report.errors else EXIT_OK
    lint_lines = _lint_text(report)
    if data["clean"]:
        _echo("\n".join(["OK: the directory matches its sum" + (" and the models" if data["models"] else "") + ".",
                         *lint_lines]))
        return EXIT_FOUND if report.errors else EXIT_OK
    _echo("\n".join(["The models need a new migration (run 'dfmigrate makemigrations'):",
                     *(f"  {c}" for c in data["pending"]), *(f"  hazard: {h}" for h in data["hazards"]),
                     *lint_lines]))
    return EXIT_FOUND


class _Background:
    """``work()`` computed in a forked child process while this one goes on (check lints the
    directory while it replays it: on 500 migrations each is about a quarter of a second of CPU);
    ``result()`` waits for the value. The child sends back only a value: on any failure (an
    exception, a value that does not pickle, a killed child) ``result()`` runs ``work()`` here,
    so an error is raised where it always was, with its traceback. Where there is no fork, one
    CPU, another thread (forking a threaded process can copy a held lock) or coverage, it runs
    there too."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.pid = 0
        self.fd = -1

    def start(self) -> _Background:
        import threading

        # coverage: a child leaving through os._exit would not write its data
        if not hasattr(os, "fork") or _cpus() < 2 or threading.active_count() > 1 or "coverage" in sys.modules:
            return self
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without running the parent's exit code
            code = 1
            try:
                os.close(read)
                import pickle

                payload = pickle.dumps(self.work(), pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
                code = 0
            except BaseException:  # whatever failed (even an interrupt), the parent runs the work itself
                pass
            os._exit(code)
        os.close(write)
        self.pid, self.fd = pid, read
        return self

    def result(self) -> Any:
        if self.pid:
            import pickle

            with os.fdopen(self.fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            if status == 0:
                return pickle.loads(data)
        return self.work()

    def cancel(self) -> None:
        """The value is not needed: let the child finish (it may be writing a cache file)."""
        if self.pid:
            os.close(self.fd)  # a child still writing its value stops at the closed pipe
            os.waitpid(self.pid, 0)
            self.pid = 0


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on every platform
        return os.cpu_count() or 1


def _lint_text(report: Any) -> list[str]:
    """The error-level lint findings of a check report in the text format; warnings only counted
    (they do not fail check: 'dfmigrate lint' shows them)."""
    from dataclasses import replace

    from dfmigrate.ci_formats import render

    lint = [f for f in report.findings if f.rule not in ("migration-due", "integrity")]
    errors = [f for f in lint if f.severity == "error"]
    warnings = sum(1 for f in lint if f.severity == "warning")
    lines = ["", "Lint:", *("  " + line for line in render(replace(report, findings=errors, notes=[]), "text")
                            .splitlines())] if errors else []
    if warnings:
        lines.append(f"{'  ' if errors else ''}{warnings} lint warning{'s' if warnings != 1 else ''}: "
                     "see 'dfmigrate lint'.")
    return lines


@click.command("config")
@lifecycle_options
@_FORMAT
def config_command(database: str | None, dir_: str | None, models: str | None, dev_url: str | None,
                   fmt: str) -> int:
    """Print the effective settings and where each comes from (passwords masked)."""
    from dfmigrate.config import resolve

    cfg = resolve(database, dir_, models, dev_url)
    settings = cfg.settings()
    if fmt == "json":  # versioned by dfmigrate/schemas/config-v1.schema.json
        _json(_versioned("config", {"file": cfg.file, "settings": {s["key"]: {"value": s["value"], "source": s["source"]}
                                                                   for s in settings}}))
        return EXIT_OK
    lines = [f"config file: {cfg.file or '(none found)'}"]
    width = max(len(s["key"]) for s in settings)
    for s in settings:
        value = "(unset)" if s["value"] is None else json.dumps(s["value"]) if not isinstance(s["value"], str) \
            else s["value"]
        lines.append(f"{s['key']:<{width}}  {value}  [{s['source']}]")
    _echo("\n".join(lines))
    return EXIT_OK


COMMANDS = (migrate, rollback, status, history, baseline, resolve, drift, check, config_command)

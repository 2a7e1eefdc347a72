"""``makemigrations`` and ``rehash``: click commands for the main group (``cli.add_command``).

Same conventions as the rest of ``dfmigrate.cli``: only click and the standard library at import time
(the engine, the drivers and Kailash load inside the command), one ``asyncio.run`` per command,
user errors are ``DfmigrateError`` (one line, exit 2, printed by ``cli.main``), and the command
returns its exit code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

EXIT_OK, EXIT_PENDING = 0, 1


def _run(make: Any) -> Any:
    from dfmigrate.cli import _run as run  # at call time: dfmigrate.cli imports this module

    return run(make)


def _settings(directory: str | None = None, models: str | None = None, dev_url: str | None = None,
              database: str | None = None) -> Any:
    from dfmigrate.config import resolve

    return resolve(database=database, dir=directory, models=models, dev_url=dev_url)


def _dev_url(cfg: Any) -> str | None:
    """Where replays get their scratch database: the dev_url setting, else the configured
    database when it is a PostgreSQL or MySQL server."""
    from dfmigrate.urls import url_dialect

    return next((c for c in (cfg.dev_url, cfg.database) if c and url_dialect(c) in ("postgresql", "mysql")), None)


@click.command()
@click.option("-m", "--message", metavar="MESSAGE", help="What the migration does (names the file).")
@click.option("--models", metavar="M", help="Models: a .py file, models:package.module or dataflow:MODULE:ATTR "
              "[env DFMIGRATE_MODELS; config 'models'].")
@click.option("--dir", "directory", metavar="D", help="Migrations directory [env DFMIGRATE_DIR; config 'dir'; "
              "else migrations].")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a migration would be generated.")
@click.option("--empty", is_flag=True, help="Write a skeleton for a hand-written (data) migration.")
@click.option("--database", metavar="URL", help="The target database: never connected to; its dialect's "
              "changes are listed first, and a PostgreSQL URL serves as the scratch server.")
@click.option("--dialect", type=click.Choice(["postgresql", "sqlite", "mysql"]),
              help="List this dialect's changes first (files hold every dialect of the dialects setting).")
@click.option("--dev-url", metavar="URL", help="PostgreSQL server for scratch databases (only hand-written "
              "steps without 'state' need one) [env DFMIGRATE_DEV_URL; config 'dev_url'].")
@click.option("--plain", is_flag=True, help="PostgreSQL: write the plain plan instead of the online-safe one "
              "(CONCURRENTLY indexes, NOT VALID then VALIDATE) [config 'online = false'].")
@click.option("--backfill", "backfills", multiple=True, metavar="TABLE.COLUMN=EXPR",
              help="SQL filling the existing rows of a column added to an existing table (a NOT NULL column "
                   "without a default needs one; field(backfill=...) in the model does the same). Repeatable.")
@click.option("--allow-hazards", "allow_hazards", multiple=True, metavar="KIND[,KIND…]|all",
              help="Record consent to destructive hazards (deletes-data, breaks-clients) in the file: migrate "
                   "and rollback then run it without --allow-hazards.")
@click.option("--phases", is_flag=True,
              help="Expand and contract: split a change that would break the running release into a pre-deploy "
                   "migration (additive) and a post-deploy one (drops, NOT NULL, validation), run by "
                   "migrate --phase pre and --phase post.")
def makemigrations(message: str | None, models: str | None, directory: str | None, check: bool,
                   empty: bool, database: str | None, dialect: str | None, dev_url: str | None,
                   plain: bool, backfills: tuple[str, ...], allow_hazards: tuple[str, ...], phases: bool) -> int:
    """Write the next migration: the models compared with what the migrations directory produces."""
    from dfmigrate.directory.make import make_migrations

    cfg = _settings(directory, models, dev_url, database)
    if dialect is None and cfg.origin["database"] != "default":  # the configured database's first
        from dfmigrate.urls import url_dialect

        dialect = url_dialect(cfg.database)
    url = _dev_url(cfg)
    online = not plain and bool(cfg.get("online", True))
    result = _run(lambda: make_migrations(cfg.models, cfg.dir, dialect, message=message, check=check,
                                          empty=empty, dev_url=url, online=online, backfills=backfills,
                                          allow_hazards=allow_hazards, phases=phases))
    if result.status == "nothing to do":
        click.echo("No changes detected")
        if allow_hazards or backfills:  # they only shape a file being written: say so, not ignore them
            given = " and ".join(f for f, v in (("--allow-hazards", allow_hazards), ("--backfill", backfills)) if v)
            click.echo(f"({given} shape only a migration being written; to add them to one already written "
                       "and not yet applied, delete that file, run 'dfmigrate rehash', then makemigrations again with them)")
        return EXIT_OK
    if result.status == "changes pending":
        click.echo("Changes pending (run 'dfmigrate makemigrations' to write them):")
    elif result.files:
        _echo_phases(result.files)
    else:
        click.echo(f"Wrote {result.path}" + (":" if result.changes else ""))
    for line in () if result.files else result.changes:
        click.echo(f"  - {line}")
    if result.hazards:
        click.echo("Hazards:")
        for line in result.hazards:
            click.echo(f"  ! {line}")
    if result.consent_needed:
        kinds = ",".join(result.consent_needed)
        which = ", ".join(os.path.basename(w.path) for w in result.files if w.consent_needed) \
            if len(result.files) > 1 else "this migration"
        click.echo(f"Consent: migrate will refuse {which} without --allow-hazards {kinds} (to record the "
                   f"consent in the file instead, delete it, run 'dfmigrate rehash' and makemigrations --allow-hazards {kinds})")
    return EXIT_PENDING if result.status == "changes pending" else EXIT_OK


_PHASE_NOTES = {
    "pre": "pre-deploy: run 'dfmigrate migrate --phase pre' before the new release starts",
    "post": "post-deploy: run 'dfmigrate migrate --phase post' once no server runs the previous release",
}


def _echo_phases(files: Any) -> None:
    """What ``makemigrations --phases`` wrote, file by file, with when each runs."""
    for w in files:
        note = _PHASE_NOTES[w.phase] if w.phase else "one migration: nothing in it breaks the running release"
        click.echo(f"Wrote {w.path} ({note})" + (":" if w.changes else ""))
        for line in w.changes:
            click.echo(f"  - {line}")
    if len(files) == 1 and files[0].phase == "post":
        click.echo("Nothing in this change can go before the deploy: the whole migration waits until the previous "
                   "release is gone.")


@click.command()
@click.option("--dir", "directory", metavar="D", help="Migrations directory [env DFMIGRATE_DIR; config 'dir'; "
              "else migrations].")
def rehash(directory: str | None) -> int:
    """Rewrite dfmigrate.sum, accepting deliberate edits to the migrations."""
    from dfmigrate.errors import DfmigrateError
    from dfmigrate.directory import SUM_FILE, migration_names, write_sum
    directory = _settings(directory).dir
    if not os.path.isdir(directory):
        raise DfmigrateError(f"migrations directory not found: {directory}")
    write_sum(directory)
    count = len(migration_names(directory))
    click.echo(f"Wrote {os.path.join(directory, SUM_FILE)} ({count} migration{'s' if count != 1 else ''})")
    return EXIT_OK


_MODELS_TEMPLATE = '''"""The application's tables, one class per table (DataFlow conventions: class ``Customer`` is
table ``customers`` with an integer ``id`` key and ``created_at``/``updated_at`` timestamps).

After a change here: ``dfmigrate makemigrations -m "what changed"``, review the file it writes
under {dir}/, then ``dfmigrate migrate``.
"""

from dfmigrate import field, model


@model
class Customer:
    name: str = field(max_length=100)
    email: str = field(max_length=255, unique=True)
    is_active: bool = True
'''


@click.command()
@click.option("--database", metavar="URL", default="sqlite:///app.db", show_default=True,
              help="The database to write into the configuration (keep passwords in DFMIGRATE_DATABASE_URL).")
@click.option("--models", metavar="PATH", default="models.py", show_default=True, help="The models file.")
@click.option("--dir", "directory", metavar="D", default="migrations", show_default=True,
              help="The migrations directory.")
def init(database: str, models: str, directory: str) -> int:
    """Start using dfmigrate here: the configuration, a models file and the migrations directory.

    The settings go to [tool.dfmigrate] in ./pyproject.toml when there is one, else to a new
    ./dfmigrate.toml. Nothing is overwritten: an existing configuration is refused, an existing
    models file or directory is kept as it is."""
    from dfmigrate.config import CONFIG_FILE, PYPROJECT, find_file
    from dfmigrate.errors import DfmigrateError

    here = os.getcwd()
    found = find_file(Path(here))
    if found is not None and found.parent == Path(here):
        raise DfmigrateError(f"{found.name} already configures dfmigrate here; nothing written "
                             "('dfmigrate config' shows the settings)")
    from dfmigrate.urls import mask

    if mask(database) != database:  # the configuration file is meant to be committed
        raise DfmigrateError(f"--database {mask(database)} holds a password, which would be written into the "
                             "configuration file (usually committed); give the URL without it and set "
                             "DFMIGRATE_DATABASE_URL with the password instead; nothing written")
    import json  # a JSON string is a valid TOML basic string (quotes and backslashes escaped)

    settings = f"database = {json.dumps(database)}\nmodels = {json.dumps(models)}\ndir = {json.dumps(directory)}\n"
    pyproject = Path(here, PYPROJECT)
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        target, content = pyproject, text + ("" if text.endswith("\n") or not text else "\n") + \
            "\n[tool.dfmigrate]\n" + settings
    else:
        target, content = Path(here, CONFIG_FILE), settings
    made = []
    if not os.path.exists(models):
        os.makedirs(os.path.dirname(models) or ".", exist_ok=True)
        Path(models).write_text(_MODELS_TEMPLATE.replace("{dir}", directory), encoding="utf-8")
        made.append(f"wrote {models} (an example model)")
    else:
        made.append(f"kept {models} (already there)")
    if not os.path.isdir(directory):
        os.makedirs(directory)
        made.append(f"created {directory}/")
    else:
        made.append(f"kept {directory}/ (already there)")
    target.write_text(content, encoding="utf-8")
    made.insert(0, f"{'added [tool.dfmigrate] to' if target == pyproject else 'wrote'} {target.name}")
    click.echo("\n".join([*made, "next: edit the models, then 'dfmigrate makemigrations -m initial' "
                                  "and 'dfmigrate migrate'"]))
    return EXIT_OK

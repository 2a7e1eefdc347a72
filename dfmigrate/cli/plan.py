"""The ``plan`` command (``cli.add_command``): the runbook of what ``migrate`` would do to the
database. Only click and the standard library at import time; the runner (Kailash) loads when
the command runs.

It reads what ``migrate`` reads, the same way (``runner.commands.plan``, ``runner.runbook``), and
writes nothing: not even the history table.
"""

from __future__ import annotations

import click

from dfmigrate.cli.lifecycle import (ALLOW_HAZARDS, EXIT_OK, _commands, _config, _echo, _json, _run, consent_given,
                                  lifecycle_options)

FORMATS = ("markdown", "json", "sql")


@click.command()
@lifecycle_options
@click.option("--to", metavar="ID", help="Stop after this migration, as 'migrate --to' does.")
@ALLOW_HAZARDS
@click.option("--phase", type=click.Choice(["pre", "post"]),
              help="What 'migrate --phase' would do: pre stops before the first post-deploy migration.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True,
              help="markdown: the runbook for a change ticket; json: the same as data (versioned schema); "
                   "sql: the exact script, as 'migrate --dry-run' prints it.")
def plan(database: str | None, dir_: str | None, models: str | None, dev_url: str | None, to: str | None,
         allow_hazards: tuple[str, ...], phase: str | None, fmt: str) -> int:
    """Print what 'migrate' would do to the database, step by step: SQL, lock and what it blocks,
    estimated duration from table statistics (PostgreSQL), hazards, consent needed, transactions
    and how to roll it back. Changes nothing; exits 0 (the 'migrate --dry-run' exit code says
    whether consent is missing)."""
    allowed = consent_given(allow_hazards)
    cfg = _config(database, dir_, models, dev_url, reads_database=False)  # like migrate: a new database is fine
    if fmt == "sql":
        _echo("\n".join(_run(lambda: _commands().migrate(cfg, to=to, dry_run=True, allow_hazards=allowed,
                                                          phase=phase))))
        return EXIT_OK
    data = _run(lambda: _commands().plan(cfg, to=to, allow_hazards=allowed, phase=phase))
    if fmt == "json":
        _json(data)
    else:
        from dfmigrate.runner.runbook import markdown

        _echo(markdown(data))
    return EXIT_OK

"""The ``lint`` command (``cli.add_command``). Only click and the standard library at import time."""

from __future__ import annotations

import click

EXIT_OK, EXIT_FOUND = 0, 1
FORMATS = ("text", "json", "github", "junit", "sarif")  # dfmigrate.ci_formats.FORMATS, kept import-free


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people; json (versioned schema); github annotations; junit XML; sarif 2.1.0.")
@click.option("--rules", "list_rules", is_flag=True, help="List every rule with its id, level and one-line doc.")
@click.option("--dir", "directory", metavar="DIR", help="Migrations directory linted when no PATH is given "
              "(default: [tool.dfmigrate] dir, then migrations).")
def lint(paths: tuple[str, ...], fmt: str, list_rules: bool, directory: str | None) -> int:
    """Find locking and data-loss hazards in migration SQL before it runs.

    PATH is a .sql file, a migration file (NNNN_name.py) or a migrations directory. Exit codes:
    0 no error-level finding, 1 findings, 2 error (a SQL syntax error names file and line).
    Suppress one statement's finding with a comment: -- dfmigrate:ignore RULE reason.
    """
    from dfmigrate.ci_formats import render
    from dfmigrate.lint import load_settings
    from dfmigrate.lint.engine import lint_paths, rules_text

    if list_rules:
        click.echo(rules_text())
        return EXIT_OK
    from dfmigrate.config import resolve

    cfg = resolve(dir=directory)  # once: the lint table and the default directory
    report = lint_paths(list(paths) or [cfg.dir], load_settings(cfg))
    click.echo(render(report, fmt))
    return EXIT_FOUND if report.errors else EXIT_OK

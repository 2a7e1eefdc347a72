"""``dfmigrate nodes``: print the manifest of the nodes the models generate.

A plain click command for the lead to add to the group (``cli.add_command(nodes)``). Errors
follow dfmigrate.cli's contract: a ``DfmigrateError`` is one line on stderr and exit 2 (here raised as
a ``click.ClickException`` subclass so the command also behaves when invoked on its own).
"""

from __future__ import annotations

import json

import click

EXIT_ERROR = 2
# --format json is versioned by the shipped dfmigrate/schemas/nodes-v1.schema.json
NODES_SCHEMA_ID = "https://dfmigrate.dev/schemas/nodes-v1.schema.json"


class _Failure(click.ClickException):
    exit_code = EXIT_ERROR


@click.command("nodes")
@click.option("--models", "models", metavar="M",
              help="Models source: a .py file or models:MODULE (default: [tool.dfmigrate] models).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one block per node; json: the manifest as data.")
@click.option("--dialect", type=click.Choice(["postgresql", "sqlite", "mysql"]),
              help="Dialect whose table names and types the nodes use (default: sqlite, as for other model sources).")
def nodes(models: str | None, fmt: str, dialect: str | None) -> int:
    """Print the Kailash nodes generated from the models: names, parameters, tables."""
    from dfmigrate.errors import DfmigrateError

    try:
        if not models:
            from dfmigrate.config import resolve

            models = resolve().models
        if not models:
            raise DfmigrateError("no models source: pass --models or set models in [tool.dfmigrate]")
        if not models.startswith("models:"):
            import os

            if not os.path.isfile(models):
                raise DfmigrateError(f"model file not found: {models}")
        from dfmigrate.nodes.generate import build_classes, load, manifest
        from dfmigrate.sources import DEFAULT_DIALECT

        dialect = dialect or DEFAULT_DIALECT

        infos, schema = load(models, dialect)  # type: ignore[arg-type]
        data = manifest(build_classes(infos, schema, dialect))  # type: ignore[arg-type]
    except DfmigrateError as exc:
        raise _Failure(" ".join(str(exc).split())) from exc
    if fmt == "json":
        click.echo(json.dumps({"$schema": NODES_SCHEMA_ID, "version": 1, "nodes": data}, indent=2))
    else:
        click.echo(render_text(data), nl=False)
    return 0


def render_text(data: list[dict]) -> str:
    lines = []
    for node in data:
        lines.append(f"{node['node']} ({node['table']})")
        for p in node["parameters"]:
            flag = "required" if p["required"] else "optional"
            default = f", default {json.dumps(p['default'])}" if "default" in p else ""
            lines.append(f"  {p['name']}: {p['type']} ({flag}{default})")
    return "\n".join(lines) + "\n"

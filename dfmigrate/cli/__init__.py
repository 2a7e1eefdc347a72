"""The command line: parse options, call the library, print. Nothing else lives here.

This module holds the group, the entry point (``main``: one-line errors, exit codes) and the
schema commands (inspect, diff, graph); ``authoring`` (init, makemigrations, rehash),
``lifecycle`` (migrate … config) and ``plan`` hold the others, and ``lint`` and ``nodes`` bring
their own.

Startup cost is part of the interface (``dfmigrate --help`` must answer in well under 0.3 s), so
this module imports only click and the standard library at load time; sources, the engine,
networkx and the database drivers are imported inside the command that needs them.

Exit codes: 0 success (or no differences), 1 differences found with ``--exit-code``, 2 any error,
130 interrupted. Errors are one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from dfmigrate import __version__
from dfmigrate.errors import DfmigrateError

if TYPE_CHECKING:
    from dfmigrate.core.schema import Schema
    from dfmigrate.sources import SourceContext

PROG = "dfmigrate"
EXIT_OK, EXIT_DIFFERENCES, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
T = TypeVar("T")
# graph --format json is versioned by the shipped dfmigrate/schemas/graph-v1.schema.json
GRAPH_SCHEMA_ID = "https://dfmigrate.dev/schemas/graph-v1.schema.json"

_debug = False  # set by the group callback; read when an error escapes a command
# Big results (schemas, plans) a command is done with. Freeing two 2,000-table schemas object by
# object costs ~0.1 s, and interpreter teardown as much again: a console run parks them here and
# ends with os._exit (see main), so neither happens. An in-process call clears the list instead.
_parked: list[Any] = []
# click >= 8.2 raises this for a bare "dfmigrate"; older versions print the help themselves.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Interrupted(Exception):
    """Ctrl-C inside a command. Raised instead of KeyboardInterrupt because click turns that into
    an Abort after printing an empty line, which would break the one-line contract."""


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a command's async work on its one event loop.

    The result is handed back through a box, not as the coroutine's return value: on Python
    3.11, ``asyncio.run`` restores the SIGINT handler through ``signal.getsignal``, which reprs
    the handler (a partial holding the main task) and with it the task's result: the value is
    not a ``Handlers`` member, and the enum lookup formats ``"%r is not a valid Handlers"``
    before it gives up. For two 2,000-table schemas that full dataclass repr cost 0.7-1.1 s
    (measured with cProfile on 3.11.7)."""
    import asyncio

    box: list[T] = []

    async def main() -> None:
        box.append(await make())

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        raise _Interrupted() from None
    return box[0]


# ---------------------------------------------------------------- options


def _source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--include-ledger", is_flag=True,
        help="Keep dfmigrate's own tables (history, progress, timings) in a live database's schema.",
    )(command)
    command = click.option(
        "--privileges", is_flag=True, help="Also read and compare grants (PostgreSQL)."
    )(command)
    command = click.option(
        "--dev-url", metavar="URL",
        help="PostgreSQL or MySQL server for scratch databases (.sql sources); default: the other side's server.",
    )(command)
    command = click.option(
        "--dialect", type=click.Choice(["postgresql", "sqlite", "mysql"]),
        help="Dialect for models and .sql sources when no database side decides (default: sqlite; "
             "mysql covers MariaDB).",
    )(command)
    return command


def _context(dialect: str | None, dev_url: str | None, privileges: bool, include_ledger: bool) -> SourceContext:
    from dfmigrate.sources import SourceContext

    return SourceContext(dialect=dialect, dev_url=dev_url, privileges=privileges,  # type: ignore[arg-type]
                         include_ledger=include_ledger)


def _pair_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--to", "to_spec", required=True, metavar="SRC", help="The desired schema.")(command)
    command = click.option("--from", "from_spec", required=True, metavar="SRC", help="The current schema.")(command)
    return _source_options(command)


SRC_HELP = """SRC is one of: postgresql://user@host/db, mysql://user@host/db (or mariadb://),
sqlite:///path.db, a models .py file or
models:package.module, a .sql file or sql:PATH, dataflow:MODULE:ATTR (a DataFlow instance)."""


# ---------------------------------------------------------------- commands


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=SRC_HELP,
)
@click.option("--debug", is_flag=True, help="Log everything and show tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and requested output.")
@click.option("-v", "--verbose", is_flag=True, help="Also print detector verdicts and timings.")
@click.version_option(__version__, prog_name=PROG)
def cli(debug: bool, quiet: bool, verbose: bool) -> None:
    """Diff database schemas and plan migrations for PostgreSQL, SQLite and MySQL/MariaDB.

    Exit codes: 0 success or no differences, 1 differences (with --exit-code), 2 error.
    """
    global _debug
    _debug = debug
    from dfmigrate import logs

    logs.configure(debug)
    logs.set_verbosity(quiet, verbose)


@cli.command(epilog=SRC_HELP)
@click.argument("src")
@click.option("--format", "fmt", type=click.Choice(["json", "sql"]), default="json", show_default=True,
              help="json: the schema model; sql: the script that creates it from empty.")
@_source_options
def inspect(src: str, fmt: str, dialect: str | None, dev_url: str | None, privileges: bool,
            include_ledger: bool) -> int:
    """Print the schema of SRC."""
    from dfmigrate.sources import load_source

    ctx = _context(dialect, dev_url, privileges, include_ledger)
    schema = _run(lambda: load_source(src, ctx))
    if fmt == "json":  # versioned by dfmigrate/schemas/schema-v1.schema.json
        from dfmigrate.core.serialize import schema_document_json

        _echo(schema_document_json(schema))
    else:
        plan = _plan(_empty_like(schema), schema)
        if plan.statements:
            _echo(plan.sql())
    return EXIT_OK


@cli.command(epilog=SRC_HELP)
@_pair_options
@click.option("--format", "fmt", type=click.Choice(["sql", "json", "text"]), default="sql", show_default=True,
              help="sql: the migration script; json: the plan as data; text: statements with hazards and locks.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences.")
@click.option("--online", is_flag=True,
              help="PostgreSQL: the online-safe plan migrate runs (CONCURRENTLY indexes, NOT VALID then "
                   "VALIDATE, batched backfills) instead of the plain one.")
def diff(from_spec: str, to_spec: str, fmt: str, exit_code: bool, online: bool,
         dialect: str | None, dev_url: str | None, privileges: bool, include_ledger: bool) -> int:
    """Print the SQL that turns FROM into TO (nothing when they are equal)."""
    pair = _load_pair(from_spec, to_spec, dialect, dev_url, privileges, include_ledger, preload=True)
    plan = _plan(*pair, online=online)
    _parked.extend((pair, plan))
    if fmt != "sql" and plan.statements:  # the runbook views: grade each table FROM already has
        plan.sizes = _run(lambda: _live_sizes(from_spec, plan))
    if fmt == "sql":
        if plan.statements:
            _echo(plan.sql())
    elif fmt == "json":
        _echo(plan.to_json())
    else:
        _echo(plan.text())
    return EXIT_DIFFERENCES if exit_code and plan.statements else EXIT_OK


@cli.command(epilog=SRC_HELP)
@_pair_options
@click.option("--format", "fmt", type=click.Choice(["dot", "json"]), default="dot", show_default=True,
              help="dot: Graphviz text; json: networkx node-link data.")
def graph(from_spec: str, to_spec: str, fmt: str,
          dialect: str | None, dev_url: str | None, privileges: bool, include_ledger: bool) -> int:
    """Print the dependency graph of the changes that turn FROM into TO."""
    pair = _load_pair(from_spec, to_spec, dialect, dev_url, privileges, include_ledger, preload=True)
    plan = _plan(*pair)
    _parked.extend((pair, plan))
    _echo(_graph_dot(plan.graph) if fmt == "dot" else _graph_json(plan.graph))
    return EXIT_OK


# ---------------------------------------------------------------- helpers


def _load_pair(from_spec: str, to_spec: str, dialect: str | None, dev_url: str | None,
               privileges: bool, include_ledger: bool, preload: bool = False) -> tuple[Schema, Schema]:
    """Both schemas. With ``preload``, the diff engine (networkx, the comparators, the
    renderers: ~0.25-0.35 s of imports) is imported on a background thread while the sources
    load; loading a database is mostly waiting for PostgreSQL, so the import costs no wall time."""
    from dfmigrate.sources import load_pair, preload_loaders

    ctx = _context(dialect, dev_url, privileges, include_ledger)
    # The loaders are imported here first, so the two threads never import the same modules at
    # once (concurrent imports of shared modules in different orders can deadlock).
    kinds = preload_loaders(from_spec, to_spec)
    importer = _start_engine_import(postgres="postgres" in kinds or dialect == "postgresql") if preload else None
    pair = _run(lambda: load_pair(from_spec, to_spec, ctx))
    if importer is not None:  # on failure the error is reported without waiting for it
        importer.join()
    return pair


def _import_engine(postgres: bool) -> None:
    from importlib import import_module

    try:
        if postgres:  # needed first: for the first rows that arrive
            for module in import_module("dfmigrate.sources.postgres").MAPPING_MODULES:
                import_module(module)
        import_module("dfmigrate.core.engine")
        import_module("dfmigrate.dialects.postgres.render" if postgres else "dfmigrate.dialects.sqlite.render")
    except Exception:  # pragma: no cover - the main thread imports it again and reports the error
        pass


def _start_engine_import(postgres: bool) -> Any:
    import threading

    thread = threading.Thread(target=_import_engine, args=(postgres,), name="dfmigrate-preload", daemon=True)
    thread.start()
    return thread


def _plan(old: Schema, new: Schema, online: bool = False) -> Any:
    from dfmigrate.core.engine import plan_migration

    return plan_migration(old, new, online=online)


async def _live_sizes(spec: str, plan: Any) -> dict[str, Any]:
    """Table sizes from a live PostgreSQL FROM (an empty dict for any other source)."""
    from dfmigrate.urls import is_postgres_url

    if not is_postgres_url(spec):
        return {}
    from dfmigrate.safety.sizes import table_sizes
    from dfmigrate.sources.postgres import connect  # one-line masked errors, pooler-safe statements

    conn = await connect(spec, for_catalog=False)
    try:
        return await table_sizes(conn, (s.lock_target for s in plan.statements))
    finally:
        await conn.close()


def _empty_like(schema: Schema) -> Schema:
    """An empty database of the same dialect: it already has the default namespace."""
    from dfmigrate.core.schema import DEFAULT_NAMESPACE, Schema

    default = DEFAULT_NAMESPACE[schema.dialect]
    return Schema(dialect=schema.dialect, namespaces=tuple(n for n in schema.namespaces if n == default))


def _graph_dot(graph: Any) -> str:
    """Graphviz DOT, written directly: no pydot or graphviz package needed."""
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["digraph plan {", "  node [shape=box, fontname=monospace];"]
    for node, data in graph.nodes(data=True):
        lines.append(f'  {ids[node]} [label="{_dot_escape(str(data.get("label", node)))}"];')
    for source, target in graph.edges:
        lines.append(f"  {ids[source]} -> {ids[target]};")
    lines.append("}")
    return "\n".join(lines)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _graph_json(graph: Any) -> str:
    import dataclasses
    import json

    import networkx

    from dfmigrate.core.serialize import to_dict

    # Nodes are change objects; integers keep the node-link document plain JSON.
    plain = networkx.convert_node_labels_to_integers(graph, ordering="default")
    data = {"$schema": GRAPH_SCHEMA_ID, "version": 1, **networkx.node_link_data(plain, edges="edges")}

    def encode(value: Any) -> Any:
        if not dataclasses.is_dataclass(value):
            return str(value)
        # only a node's change gets here; its class names it, as the fields alone cannot tell
        # an add from a drop
        return {**to_dict(value), "$type": type(value).__name__}

    return json.dumps(data, indent=2, sort_keys=True, default=encode)


def _echo(text: str) -> None:
    """Write ``text`` (plus a final newline) to stdout in one write to the binary stream: no
    per-line writes, no ANSI-stripping pass over a large script."""
    if not text.endswith("\n"):
        text += "\n"
    stream = sys.stdout
    if stream is None:  # no stdout at all (closed by the caller)
        return
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text-only replacement (StringIO in a test)
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    binary.write(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    binary.flush()


# ---------------------------------------------------------------- lifecycle commands

# These modules import only click and the standard library; their commands import the runner,
# the migrations directory and kailash when they run.
from dfmigrate.cli.authoring import init, makemigrations, rehash  # noqa: E402
from dfmigrate.cli.lifecycle import COMMANDS as _RUNNER_COMMANDS  # noqa: E402
from dfmigrate.cli.plan import plan  # noqa: E402
from dfmigrate.lint.cli import lint  # noqa: E402
from dfmigrate.nodes.cli import nodes  # noqa: E402

for _command in (init, makemigrations, rehash, *_RUNNER_COMMANDS, plan, nodes, lint):
    cli.add_command(_command)


def _late_flag(decls: list[str], flag: str) -> click.Option:
    """A hidden copy of one of the group's flags, for a command: users type ``dfmigrate migrate
    -v`` as often as ``dfmigrate -v migrate``, and both mean the same."""
    def apply(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        global _debug
        from dfmigrate import logs

        if not value:
            return
        if flag == "debug":
            _debug = True
            logs.configure(True)
        else:
            logs.set_verbosity(flag == "quiet", flag == "verbose")

    return click.Option(decls, is_flag=True, expose_value=False, hidden=True, callback=apply)


def _accept_global_flags(command: click.Command) -> None:
    taken = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for decls, flag in ((["--debug"], "debug"), (["-q", "--quiet"], "quiet"), (["-v", "--verbose"], "verbose")):
        if not taken & set(decls):
            command.params.append(_late_flag(decls, flag))
    for sub in getattr(command, "commands", {}).values():
        _accept_global_flags(sub)


for _command in cli.commands.values():
    _accept_global_flags(_command)


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point: maps every outcome to an exit code and one stderr line.

    Called without ``argv`` (the console script, ``python -m dfmigrate``), it owns the process
    and ends it with ``os._exit`` once stdout and stderr are flushed: nothing is left to clean up
    (connections are closed, output written), and skipping the teardown of a few hundred thousand
    objects saves 0.1-0.25 s at 2,000 tables. Called with ``argv`` it raises SystemExit as
    usual."""
    global _debug
    _debug = False
    # A run allocates a few hundred thousand long-lived objects (two schemas, the change graph)
    # and makes almost no cyclic garbage: the cyclic GC's full collections over them cost
    # 0.3-0.4 s at 2,000 tables and freed nothing (peak RSS unchanged). Off for the command.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        result = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
        code = result if isinstance(result, int) else EXIT_OK
    except _NO_ARGS_IS_HELP as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        code = EXIT_ERROR
    except click.UsageError as exc:
        code = _fail(_usage_message(exc))
    except click.ClickException as exc:
        code = _fail(exc.format_message())
    except (_Interrupted, KeyboardInterrupt, click.exceptions.Abort):
        code = _fail("interrupted", EXIT_INTERRUPTED, label=None)
    except DfmigrateError as exc:
        code = _fail(str(exc))
    except BrokenPipeError:
        # The reader went away (| head): not an error worth a message.
        sys.stdout = None  # type: ignore[assignment]  # keeps the interpreter's final flush quiet
        code = EXIT_OK
    except Exception as exc:  # a bug: say so, in one line, and point at --debug
        code = _fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)", label="internal error")
    except BaseException:  # SystemExit and the like: not ours to map, but the collector goes back on
        if gc_was_enabled:
            gc.enable()
        raise
    if argv is None and "coverage" not in sys.modules:  # coverage writes its data at exit
        # With the collector still off: enabled again, its first pass would walk every object
        # the command made (all still in the youngest generation), 0.045 s at 2,000 tables.
        _exit_now(code)
    if gc_was_enabled:
        gc.enable()
    _parked.clear()
    sys.exit(code)


def _exit_now(code: int) -> NoReturn:
    import os

    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): nothing more to say
            pass
    os._exit(code)


def _usage_message(exc: click.UsageError) -> str:
    message = exc.format_message().rstrip(".")
    message = message[:1].lower() + message[1:]
    where = exc.ctx.command_path if exc.ctx else PROG
    return f"{message} (see '{where} --help')"


def _fail(message: str, code: int = EXIT_ERROR, label: str | None = "error") -> int:
    """Print ``dfmigrate: <label>: <message>`` as one masked line (plus the traceback with
    --debug) and return the exit code."""
    if _debug and label:
        import traceback as tb

        tb.print_exc()
    from dfmigrate.logs import mask_text

    line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    prefix = f"{PROG}: {label}: " if label else f"{PROG}: "
    click.echo(prefix + mask_text(line), err=True)
    return code

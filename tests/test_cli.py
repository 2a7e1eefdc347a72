"""The command line as a user meets it: exit codes, one-line errors, no tracebacks, cheap import.

Most tests run ``python -m dfmigrate`` in a subprocess, because stderr, exit codes and the set of
imported modules are only observable from outside the process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dfmigrate import cli
from dfmigrate.errors import SourceError
from tests.conftest import REPO

HEAVY_MODULES = ("kailash", "dataflow", "asyncpg", "aiosqlite", "sqlglot", "networkx", "dfmigrate.models")


def run(*args: str, cwd: Path | str = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "dfmigrate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dfmigrate: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""
    return lines[0]


# ---------------------------------------------------------------- startup


def test_cli_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, dfmigrate, dfmigrate.cli;"
        f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_help_and_version() -> None:
    result = run("--help")
    assert result.returncode == 0 and "inspect" in result.stdout and "diff" in result.stdout
    assert result.stderr == ""
    version = run("--version")
    assert version.returncode == 0 and "dfmigrate" in version.stdout


def test_model_api_is_exported_lazily() -> None:
    import dfmigrate

    assert {"model", "field", "index", "unique", "check"} <= set(dir(dfmigrate))
    with pytest.raises(AttributeError):
        dfmigrate.no_such_name  # noqa: B018


# ---------------------------------------------------------------- bad input: exit 2, one line


def test_missing_option() -> None:
    assert_one_line_error(run("diff", "--from", "x"), "missing option '--to'")


def test_bad_choice() -> None:
    assert_one_line_error(run("diff", "--from", "a.sql", "--to", "b.sql", "--format", "xml"), "--format")


def test_unknown_command() -> None:
    assert_one_line_error(run("difff"), "difff")


@pytest.mark.parametrize("spec", ["x", "oracle://root@127.0.0.1/test", "sqlite://", "sqlite:///:memory:", "models:"])
def test_unknown_source(spec: str) -> None:
    assert_one_line_error(run("inspect", spec))


def test_unreachable_database_masks_password() -> None:
    line = assert_one_line_error(run("inspect", "postgresql://postgres:s3cret@127.0.0.1:1/x"), "127.0.0.1")
    assert "s3cret" not in line


def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "models.py"
    a = _make_db(tmp_path / "a.db")
    assert_one_line_error(run("diff", "--from", a, "--to", str(missing)), "not found")


def test_missing_sql_file(tmp_path: Path) -> None:
    assert_one_line_error(run("inspect", str(tmp_path / "nope.sql")), "not found")


def test_model_file_with_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "models.py"
    bad.write_text("from dfmigrate import model\n\n@model\nclass User(\n    email: str\n")
    assert_one_line_error(run("inspect", str(bad)), "models.py")


def test_model_with_unsupported_type(tmp_path: Path) -> None:
    bad = tmp_path / "models.py"
    bad.write_text("from dfmigrate import model\n\n@model\nclass Shape:\n    points: complex\n")
    assert_one_line_error(run("inspect", str(bad)), "complex")


def test_sql_file_that_fails_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "schema.sql"
    bad.write_text("CREATE TABLE users (id integer PRIMARY KEY,\n")
    assert_one_line_error(run("inspect", str(bad)))


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:abc/x", "postgresql://postgres:pw@[::1/x",
                                 "mysql://root@127.0.0.1:abc/x"])
@pytest.mark.parametrize("command", ["status", "history", "migrate", "drift", "baseline"])
def test_a_malformed_database_url_is_a_one_line_error(tmp_path: Path, command: str, url: str) -> None:
    """A port that is not a number or an unclosed IPv6 bracket is bad input, not an internal error."""
    (tmp_path / "migrations").mkdir()
    line = assert_one_line_error(run(command, "--database", url, "--dir", str(tmp_path / "migrations")),
                                 "cannot connect to" if url.startswith("postgresql") else "bad MySQL URL")
    assert ":pw@" not in line


def test_mismatched_dialects(tmp_path: Path) -> None:
    result = run("diff", "--from", "postgresql://postgres@127.0.0.1:1/x", "--to", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_error(result, "PostgreSQL", "SQLite")


# ---------------------------------------------------------------- error mapping, in process


@pytest.mark.parametrize(
    "error, code, expected",
    [
        (SourceError("cannot read postgresql://u:pw@h/db: refused"), 2, "dfmigrate: error: cannot read postgresql://u:***@h/db: refused"),
        (RuntimeError("boom\nsecond line"), 2,
         "dfmigrate: internal error: RuntimeError: boom second line (run with --debug for the traceback)"),
        (KeyboardInterrupt(), 130, "dfmigrate: interrupted"),
    ],
)
def test_errors_become_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                error: BaseException, code: int, expected: str) -> None:
    async def fail(*_args: object) -> None:
        raise error

    monkeypatch.setattr("dfmigrate.sources.load_pair", fail)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["diff", "--from", "a.sql", "--to", "b.sql"])
    assert exit_info.value.code == code
    assert capsys.readouterr().err.splitlines() == [expected]


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    async def fail(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("dfmigrate.sources.load_pair", fail)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--debug", "diff", "--from", "a.sql", "--to", "b.sql"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" in err and err.rstrip().endswith("--debug for the traceback)")


# ---------------------------------------------------------------- working commands (SQLite)


def _make_db(path: Path, *statements: str) -> str:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_equal_databases_print_nothing(tmp_path: Path) -> None:
    a = _make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    b = _make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    result = run("diff", "--from", a, "--to", b, "--exit-code")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_differences_and_exit_code(tmp_path: Path) -> None:
    a = _make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    b = _make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    plain = run("diff", "--from", a, "--to", b)
    assert plain.returncode == 0 and "name" in plain.stdout and plain.stderr == ""
    flagged = run("diff", "--from", a, "--to", b, "--exit-code")
    assert flagged.returncode == 1 and flagged.stdout == plain.stdout


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    """A mistyped path must not read as an empty database (whose diff would create everything,
    or drop everything the other way round)."""
    b = _make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    for args in (("diff", "--from", f"sqlite:///{tmp_path}/new.db", "--to", b),
                 ("diff", "--from", b, "--to", f"sqlite:///{tmp_path}/new.db"),
                 ("inspect", f"sqlite:///{tmp_path}/new.db")):
        assert_one_line_error(run(*args), "no SQLite database at", "new.db")
    assert not (tmp_path / "new.db").exists()


def test_inspect_json_round_trips(tmp_path: Path) -> None:
    from dfmigrate.core.serialize import schema_document_json, schema_from_json, schema_to_json

    a = _make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    result = run("inspect", a)
    assert result.returncode == 0, result.stderr
    schema = schema_from_json(result.stdout)  # the versioned document reads back as is
    assert schema.dialect == "sqlite" and schema_document_json(schema) == result.stdout.rstrip("\n")
    document = json.loads(result.stdout)
    assert (document.pop("$schema"), document.pop("version")) == (
        "https://dfmigrate.dev/schemas/schema-v1.schema.json", 1)
    assert json.loads(schema_to_json(schema)) == document  # the library's own JSON, without the two


def test_graph_formats(tmp_path: Path) -> None:
    a = _make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    b = _make_db(tmp_path / "b.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)",
                 "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id))")
    dot = run("graph", "--from", a, "--to", b)
    assert dot.returncode == 0 and dot.stdout.startswith("digraph plan {"), dot.stderr
    data = json.loads(run("graph", "--from", a, "--to", b, "--format", "json").stdout)
    assert data["nodes"] and all("label" in n for n in data["nodes"])


def test_example_models_against_empty_sqlite(tmp_path: Path) -> None:
    result = run("diff", "--from", _make_db(tmp_path / "app.db"), "--to", str(REPO / "examples/app/models.py"))
    assert result.returncode == 0, result.stderr
    assert "posts" in result.stdout and "post_tags" in result.stdout


# ---------------------------------------------------------------- PostgreSQL


def test_postgres_databases_diff(pg_db) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import asyncpg

    a, b = pg_db("a"), pg_db("b")
    assert (run("diff", "--from", a, "--to", b, "--exit-code").returncode) == 0

    async def create() -> None:
        conn = await asyncpg.connect(b)
        await conn.execute("CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL)")
        await conn.close()

    asyncio.run(create())
    result = run("diff", "--from", a, "--to", b, "--exit-code")
    assert result.returncode == 1, result.stderr
    assert "users" in result.stdout and result.stderr == ""


# ---------------------------------------------------------------- source specs and dialect resolution


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("postgresql://u@h/db", ("postgres", "postgresql://u@h/db")),
        ("postgres://u@h/db", ("postgres", "postgres://u@h/db")),
        ("sqlite:///app.db", ("sqlite", "app.db")),
        ("sqlite:////tmp/app.db", ("sqlite", "/tmp/app.db")),
        ("models:myapp.models", ("models", "models:myapp.models")),
        ("app/models.py", ("models", "app/models.py")),
        ("sql:schema.txt", ("sqlfile", "schema.txt")),
        ("db/schema.sql", ("sqlfile", "db/schema.sql")),
    ],
)
def test_classify(spec: str, expected: tuple[str, str]) -> None:
    from dfmigrate.sources import classify

    assert classify(spec) == expected


@pytest.mark.parametrize(
    "from_spec, to_spec, dialect, dev_url, expected",
    [
        ("a.py", "b.py", None, None, ("sqlite", None)),
        ("a.py", "b.sql", "postgresql", None, ("postgresql", None)),
        ("postgresql://u@h/x", "b.sql", None, None, ("postgresql", "postgresql://u@h/x")),
        ("postgresql://u@h/x", "b.sql", None, "postgresql://dev@h/y", ("postgresql", "postgresql://dev@h/y")),
        ("sqlite:///a.db", "b.sql", None, None, ("sqlite", None)),
    ],
)
def test_load_pair_resolves_dialect_and_dev_url(monkeypatch: pytest.MonkeyPatch, from_spec: str, to_spec: str,
                                                dialect: str | None, dev_url: str | None,
                                                expected: tuple[str, str | None]) -> None:
    import asyncio

    from dfmigrate import sources

    seen = []

    async def fake_load(spec: str, ctx: sources.SourceContext) -> str:
        seen.append((ctx.dialect, ctx.dev_url))
        return spec

    monkeypatch.setattr(sources, "load_source", fake_load)
    ctx = sources.SourceContext(dialect=dialect, dev_url=dev_url)  # type: ignore[arg-type]
    assert asyncio.run(sources.load_pair(from_spec, to_spec, ctx)) == (from_spec, to_spec)
    assert seen == [expected, expected]


def test_load_pair_rejects_contradicting_dialect() -> None:
    import asyncio

    from dfmigrate import sources

    ctx = sources.SourceContext(dialect="sqlite")
    with pytest.raises(SourceError, match="contradicts"):
        asyncio.run(sources.load_pair("postgresql://u@h/x", "b.py", ctx))


BACKGROUND = """
import os
from dfmigrate.cli.lifecycle import _Background
parent = os.getpid()
child = _Background(os.getpid).start()
assert child.pid and child.result() not in (parent, 0)
# a value that does not pickle: the work runs again here
assert _Background(lambda: (lambda: 0) if os.getpid() != parent else "here").start().result() == "here"
def boom():
    raise (ValueError if os.getpid() != parent else KeyError)("failed")
try:
    _Background(boom).start().result()
except KeyError:  # raised here, where its traceback means something
    print("ok")
"""


def test_check_lints_in_a_child_process_and_raises_here() -> None:
    from dfmigrate.cli.lifecycle import _cpus

    if not hasattr(os, "fork") or _cpus() < 2:
        pytest.skip("runs in the process itself without fork or a second CPU")
    out = subprocess.run([sys.executable, "-c", BACKGROUND], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_log_records_go_to_stderr_as_it_is_when_they_come(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record emitted after the stream the CLI started with was replaced and closed (an object
    collected later, a second in-process command) reaches the current stderr, not a closed one."""
    import io
    import logging

    from dfmigrate import logs

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logs.configure(debug=False)
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    first.close()
    logging.getLogger("dfmigrate.test").warning("late")
    assert second.getvalue() == "dfmigrate: WARNING dfmigrate.test: late\n"

"""dfmigrate in a pipeline: loud failures, exit codes a script can branch on, configuration found
the way other tools find theirs, dfmigrate's own tables kept out of the user's schema.

Each test runs the real command (``python -m dfmigrate``) in a small app of its own, on real
SQLite files and real PostgreSQL databases.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MODELS = '''from dfmigrate import model, field


@model
class Customer:
    name: str = field(max_length=100)
    email: str = field(max_length=200, unique=True)


@model
class Invoice:
    customer_id: int = field(references="customers.id")
    total: int = 0
'''


def dfm(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DFMIGRATE_") or k == "DFMIGRATE_CACHE_DIR"}
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "dfmigrate", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dfmigrate: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app with models, a pyproject.toml naming them, a SQLite database and its migrations
    directory (one migration, not applied)."""
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "shop"
    root.mkdir()
    (root / "models.py").write_text(MODELS)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n\n[tool.dfmigrate]\n'
                                         'database = "sqlite:///shop.db"\nmodels = "models.py"\ndir = "migrations"\n')
    result = dfm(root, "makemigrations", "-m", "initial")
    assert result.returncode == 0, result.stderr
    return root


def add_note_field(root: Path) -> None:
    path = root / "models.py"
    path.write_text(path.read_text().replace("    total: int = 0\n", "    total: int = 0\n    note: str = ''\n"))


# ---------------------------------------------------------------- fail loudly


def test_mistyped_dir_is_an_error_and_creates_nothing(app: Path) -> None:
    for command in ("migrate", "status", "drift", "history", "check", "rollback", "baseline", "rehash"):
        one_error(dfm(app, command, "--dir", "migrtions"), "migrtions")
    assert not (app / "shop.db").exists()
    assert dfm(app, "migrate").returncode == 0
    before = sorted(p.name for p in app.iterdir())
    one_error(dfm(app, "migrate", "--dir", "migrtions"), "migrations directory not found: migrtions")
    assert sorted(p.name for p in app.iterdir()) == before


def test_mistyped_dir_on_postgres_creates_no_table(app: Path, pg_db: Callable[..., str]) -> None:
    import asyncio

    import asyncpg

    url = pg_db("typo")
    one_error(dfm(app, "migrate", "--dir", "migrtions", "--database", url), "migrtions")

    async def tables() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            return [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        finally:
            await conn.close()

    assert asyncio.run(tables()) == []


def test_missing_sqlite_file_is_an_error_for_commands_that_read_it(app: Path) -> None:
    for args in (("status",), ("drift",), ("history",), ("rollback",), ("resolve", "0001_initial", "--applied"),
                 ("inspect", "sqlite:///shop.db"), ("diff", "--from", "sqlite:///shop.db", "--to", "models.py")):
        one_error(dfm(app, *args), "no SQLite database at shop.db")
    assert not (app / "shop.db").exists()
    assert dfm(app, "check").returncode == 0  # models against the directory: no database involved
    assert not (app / "shop.db").exists()
    assert dfm(app, "migrate").returncode == 0 and (app / "shop.db").exists()  # the one command that creates it


def test_rollback_past_the_history_is_an_error(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    one_error(dfm(app, "rollback", "--steps", "5"), "only 1 applied")
    assert "1 applied" in dfm(app, "status").stdout  # nothing was rolled back


def test_resolve_applied_checks_the_database_unless_forced(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    add_note_field(app)
    assert dfm(app, "makemigrations", "-m", "note").returncode == 0
    one_error(dfm(app, "resolve", "0002_note", "--applied"), "0002_note", "invoices.note is missing", "--force")
    assert "1 pending" in dfm(app, "status").stdout
    # once the column exists (made by hand), recording the migration is accepted
    conn = sqlite3.connect(app / "shop.db")
    conn.execute("ALTER TABLE invoices ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    conn.commit()
    conn.close()
    assert dfm(app, "resolve", "0002_note", "--applied").returncode == 0
    assert dfm(app, "drift").returncode == 0


def test_resolve_applied_force_records_anyway(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    add_note_field(app)
    assert dfm(app, "makemigrations", "-m", "note").returncode == 0
    result = dfm(app, "resolve", "0002_note", "--applied", "--force")
    assert result.returncode == 0 and "recorded 0002_note as applied" in result.stdout
    assert dfm(app, "drift").returncode == 1  # the history now claims a column the database lacks


def test_missing_file_hint_never_offers_to_delete_history(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    other = app / "other"
    other.mkdir()
    assert dfm(app, "rehash", "--dir", "other").returncode == 0
    line = one_error(dfm(app, "migrate", "--dir", "other"), "0001_initial", "missing")
    assert "--rolled-back" not in line and "resolve" not in line


# ---------------------------------------------------------------- exit codes


def test_status_exit_code(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    assert dfm(app, "status", "--exit-code").returncode == 0
    assert dfm(app, "status").returncode == 0
    add_note_field(app)
    assert dfm(app, "makemigrations", "-m", "note").returncode == 0
    pending = dfm(app, "status", "--exit-code")
    assert pending.returncode == 1 and "0002_note" in pending.stdout
    assert dfm(app, "status", "--exit-code", "--format", "json").returncode == 1
    assert dfm(app, "status").returncode == 0  # without the flag: a report, not a verdict
    assert dfm(app, "migrate").returncode == 0
    assert dfm(app, "status", "--exit-code").returncode == 0
    # an applied file edited afterwards (and rehashed): modified is 2
    path = next((app / "migrations").glob("0002_*.py"))
    path.write_text(path.read_text() + "\n# edited\n")
    assert dfm(app, "rehash").returncode == 0
    modified = dfm(app, "status", "--exit-code")
    assert modified.returncode == 2 and "MODIFIED" in modified.stdout


def test_check_and_drift_exit_codes(app: Path) -> None:
    assert dfm(app, "check").returncode == 0
    assert dfm(app, "migrate").returncode == 0
    assert dfm(app, "drift").returncode == 0
    add_note_field(app)
    assert dfm(app, "check").returncode == 1
    conn = sqlite3.connect(app / "shop.db")
    conn.execute("CREATE TABLE by_hand (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    assert dfm(app, "drift").returncode == 1
    one_error(dfm(app, "drift", "--database", "postgresql://postgres@127.0.0.1:1/x"))


# ---------------------------------------------------------------- dfmigrate's own tables


def test_migrated_sqlite_database_diffs_empty_against_its_models(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    result = dfm(app, "diff", "--from", "sqlite:///shop.db", "--to", "models.py", "--exit-code")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    names = [t["name"] for t in json.loads(dfm(app, "inspect", "sqlite:///shop.db").stdout)["tables"]]
    assert sorted(names) == ["customers", "invoices"]
    ledger = dfm(app, "inspect", "sqlite:///shop.db", "--include-ledger").stdout
    assert "dfmigrate_history" in ledger
    with_ledger = dfm(app, "diff", "--from", "sqlite:///shop.db", "--to", "models.py", "--include-ledger")
    assert "DROP TABLE dfmigrate_history" in with_ledger.stdout


def test_migrated_postgres_database_diffs_empty_against_its_models(app: Path, pg_db: Callable[..., str]) -> None:
    url = pg_db("own")
    pg_dir = app / "pg_migrations"
    made = dfm(app, "makemigrations", "--dir", str(pg_dir), "--dialect", "postgresql", "--dev-url", url)
    assert made.returncode == 0, made.stderr
    applied = dfm(app, "migrate", "--dir", str(pg_dir), "--database", url)
    assert applied.returncode == 0, applied.stderr
    result = dfm(app, "diff", "--from", url, "--to", "models.py", "--exit-code")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert "dfmigrate_history" in dfm(app, "inspect", url, "--include-ledger").stdout
    assert "dfmigrate_history" not in dfm(app, "inspect", url).stdout


# ---------------------------------------------------------------- configuration


def test_config_is_found_from_a_subdirectory(app: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    deep = app / "src" / "shop"
    deep.mkdir(parents=True)
    status = dfm(deep, "status", "--exit-code")
    assert status.returncode == 0 and "1 applied" in status.stdout, status.stderr
    shown = json.loads(dfm(deep, "config", "--format", "json").stdout)
    assert shown["file"] == str(app / "pyproject.toml")
    assert shown["settings"]["dir"] == {"value": os.path.join("..", "..", "migrations"),
                                        "source": os.path.join("..", "..", "pyproject.toml")}
    assert dfm(deep, "check").returncode == 0
    assert not (deep / "shop.db").exists() and not (deep / "dfmigrate.db").exists()


def test_a_package_of_models_and_the_default_directory_are_the_projects_from_a_subdirectory(tmp_path: Path) -> None:
    """models = "models:shop.models" imports the project's package, and the unset dir is the
    project's migrations directory, wherever in the project a command runs."""
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    (root / "pyproject.toml").write_text('[tool.dfmigrate]\ndatabase = "sqlite:///app.db"\nmodels = "models:shop.models"\n')
    deep = root / "docs" / "notes"
    deep.mkdir(parents=True)
    made = dfm(deep, "makemigrations", "-m", "initial")
    assert made.returncode == 0, made.stderr
    assert [p.name for p in (root / "migrations").glob("*.py")] == ["0001_initial.py"]
    assert dfm(deep, "migrate").returncode == 0 and (root / "app.db").exists()
    assert dfm(root, "check").returncode == 0  # from the root: the same directory, in sync
    assert not (deep / "migrations").exists()


def test_environment_overrides_the_file_and_the_flag_overrides_both(app: Path, tmp_path: Path) -> None:
    assert dfm(app, "migrate").returncode == 0
    other = tmp_path / "other.db"
    env = {"DFMIGRATE_DATABASE_URL": f"sqlite:///{other}"}
    one_error(dfm(app, "status", env=env), "no SQLite database at", "other.db", "DFMIGRATE_DATABASE_URL")
    assert dfm(app, "migrate", env=env).returncode == 0 and other.exists()
    assert dfm(app, "status", "--database", "sqlite:///shop.db", env=env).returncode == 0
    shown = json.loads(dfm(app, "config", "--format", "json",
                           env={"DFMIGRATE_DATABASE_URL": "postgresql://app:s3cret@db/prod",
                                "DFMIGRATE_DIR": "elsewhere"}).stdout)["settings"]
    assert shown["database"] == {"value": "postgresql://app:***@db/prod",
                                 "source": "environment (DFMIGRATE_DATABASE_URL)"}
    assert shown["dir"] == {"value": "elsewhere", "source": "environment (DFMIGRATE_DIR)"}
    assert shown["models"] == {"value": "models.py", "source": "pyproject.toml"}
    assert shown["dev_url"] == {"value": None, "source": "unset"}
    text = dfm(app, "config", env={"DFMIGRATE_DATABASE_URL": "postgresql://app:s3cret@db/prod"}).stdout
    assert "s3cret" not in text and "app:***@db/prod" in text


def test_dfmigrate_toml_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text(MODELS)
    (root / "dfmigrate.toml").write_text('database = "sqlite:///var/app.db"\nmodels = "app/models.py"\n'
                                         'dir = "db/migrations"\n')
    (root / "var").mkdir()
    work = root / "app"
    assert dfm(work, "makemigrations", "-m", "initial").returncode == 0
    assert (root / "db" / "migrations").is_dir()
    assert dfm(work, "migrate").returncode == 0 and (root / "var" / "app.db").exists()
    assert dfm(root, "status", "--exit-code").returncode == 0


@pytest.mark.parametrize("text, fragment", [
    ('[tool.dfmigrate]\ndatbase = "x"\n', "unknown key 'datbase'"),
    ('[tool.dfmigrate]\ndir = 3\n', "dir must be a string"),
    ('[tool.dfmigrate]\ndialects = "sqlite"\n', "dialects must be a list of strings"),
    ('[tool.dfmigrate\n', "cannot read"),
])
def test_bad_configuration_is_one_line_naming_the_file(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    line = one_error(dfm(tmp_path, "config"), fragment)
    assert str(tmp_path / "pyproject.toml") in line


def test_help_shows_no_default_that_is_not_the_effective_one(app: Path) -> None:
    text = dfm(app, "migrate", "--help").stdout
    assert "DFMIGRATE_DATABASE_URL" in text and "(default: sqlite" not in text


# ---------------------------------------------------------------- integrations


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args], cwd=cwd,
                   check=True, capture_output=True, text=True)


@pytest.mark.slow
def test_pre_commit_hook_passes_when_consistent_and_fails_when_models_are_ahead(tmp_path: Path) -> None:
    """``pre-commit try-repo`` installs dfmigrate from this repository into a fresh environment
    (pip, from the local path: no network) and runs the hook in a sample app's git checkout."""
    hooks = tmp_path / "dfmigrate-src"  # this working tree as one commit: one environment for both runs
    shutil.copytree(REPO, hooks, ignore=shutil.ignore_patterns(
        ".git", ".ci-venv", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "*.db", "build", "dist",
        "*.egg-info", ".mypy_cache", ".ruff_cache"))
    _git(hooks, "init", "-q")
    _git(hooks, "add", "-A")
    _git(hooks, "commit", "-qm", "dfmigrate")
    app = tmp_path / "app"
    app.mkdir()
    (app / "models.py").write_text(MODELS)
    (app / "pyproject.toml").write_text('[tool.dfmigrate]\ndatabase = "sqlite:///app.db"\nmodels = "models.py"\n')
    assert dfm(app, "makemigrations", "-m", "initial").returncode == 0
    _git(app, "init", "-q")
    _git(app, "add", "-A")
    _git(app, "commit", "-qm", "app")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("PYTHONPATH", None)  # the hook must run the dfmigrate pre-commit installed

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "dfmigrate-check",
                               "--all-files"], cwd=app, env=env, capture_output=True, text=True, timeout=900)

    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "dfmigrate check" in passed.stdout and "Passed" in passed.stdout
    add_note_field(app)
    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout and "invoices.note" in failed.stdout


def test_pre_commit_hooks_manifest() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["dfmigrate-check"]["entry"] == "dfmigrate check"
    assert hooks["dfmigrate-lint"]["entry"] == "dfmigrate lint"
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks.values())


def _action_script() -> str:
    import yaml

    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return next(step["run"] for step in action["runs"]["steps"] if step.get("name") == "dfmigrate")


def test_github_action_annotates_each_finding_once_and_fails_with_the_worst_code(app: Path) -> None:
    """The action's own script, run as the runner would (bash, inputs as environment): with check
    and lint both selected, a finding in the migrations is annotated once (check includes lint)."""
    path = app / "models.py"
    path.write_text(path.read_text().replace("    total: int = 0\n", ""))  # a dropped column: a finding
    assert dfm(app, "makemigrations", "-m", "drop total").returncode == 0
    alone = dfm(app, "check", "--format", "github")
    expected = [line for line in alone.stdout.splitlines() if line.startswith(("::error", "::warning"))]
    assert expected and alone.returncode == 1, alone.stdout + alone.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFMIGRATE_") or k == "DFMIGRATE_CACHE_DIR"}
    bin_dir = app.parent / "bin"  # `dfmigrate` on PATH, as pip install puts it, running this tree
    bin_dir.mkdir()
    (bin_dir / "dfmigrate").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dfmigrate "$@"\n')
    (bin_dir / "dfmigrate").chmod(0o755)
    env.update(PYTHONPATH=str(REPO), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
               RUN_CHECK="true", RUN_LINT="true", RUN_DRIFT="false", URL="")
    ran = subprocess.run(["bash", "-e", "-c", _action_script()], cwd=app, env=env, capture_output=True, text=True,
                         timeout=300)
    annotations = [line for line in ran.stdout.splitlines() if line.startswith(("::error", "::warning"))]
    assert annotations == expected, ran.stdout
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "::group::dfmigrate check" in ran.stdout and "::group::dfmigrate lint" not in ran.stdout
    env["RUN_CHECK"] = "false"  # lint alone, when check is off
    alone_lint = subprocess.run(["bash", "-e", "-c", _action_script()], cwd=app, env=env, capture_output=True,
                                text=True, timeout=300)
    assert "::group::dfmigrate lint" in alone_lint.stdout and alone_lint.returncode == 1, alone_lint.stdout


def test_init_scaffolds_a_working_project_and_never_overwrites(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    made = dfm(fresh, "init")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in fresh.iterdir()) == ["dfmigrate.toml", "migrations", "models.py"]
    assert dfm(fresh, "check").returncode == 1  # the example model needs its first migration
    assert dfm(fresh, "makemigrations", "-m", "initial").returncode == 0
    assert dfm(fresh, "migrate").returncode == 0
    assert dfm(fresh, "status", "--exit-code").returncode == 0
    before = (fresh / "dfmigrate.toml").read_text(), (fresh / "models.py").read_text()
    one_error(dfm(fresh, "init"), "dfmigrate.toml already configures dfmigrate")
    assert ((fresh / "dfmigrate.toml").read_text(), (fresh / "models.py").read_text()) == before

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (project / "models.py").write_text(MODELS)
    made = dfm(project, "init", "--database", 'sqlite:///we"ird.db')
    assert made.returncode == 0 and "kept models.py" in made.stdout
    assert (project / "models.py").read_text() == MODELS
    shown = json.loads(dfm(project, "config", "--format", "json").stdout)["settings"]
    assert shown["database"]["value"] == 'sqlite:///we"ird.db' and shown["models"]["value"] == "models.py"
    one_error(dfm(project, "init"), "pyproject.toml already configures dfmigrate")


@pytest.mark.parametrize("url", ["postgresql://app:s3cret@db/shop", "mysql://root:s3cret@127.0.0.1:3306/shop",
                                 "postgresql://app@db/shop?password=s3cret"])
def test_init_refuses_to_write_a_password_into_the_configuration(tmp_path: Path, url: str) -> None:
    """The file init writes is committed: a password in --database is refused, nothing written."""
    line = one_error(dfm(tmp_path, "init", "--database", url), "holds a password", "DFMIGRATE_DATABASE_URL")
    assert "s3cret" not in line and list(tmp_path.iterdir()) == []
    made = dfm(tmp_path, "init", "--database", url.replace(":s3cret", "").replace("?password=s3cret", ""))
    assert made.returncode == 0, made.stderr


def test_python_dash_m_and_shell_completion(tmp_path: Path) -> None:
    assert dfm(tmp_path, "--version").stdout.startswith("dfmigrate, version ")
    env = {**os.environ, "_DFMIGRATE_COMPLETE": "bash_source", "PYTHONPATH": str(REPO)}
    script = subprocess.run([sys.executable, "-c", "from dfmigrate.cli import main; main()"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert "_dfmigrate_completion" in script.stdout, script.stderr


def test_postgres_fixture_fails_under_ci_instead_of_skipping(tmp_path: Path) -> None:
    """The one PostgreSQL fixture: with no server, a test that needs one skips on a developer's
    machine and fails under CI (the render and inspect suites included)."""
    closed = {"DFMIGRATE_TEST_PG_URL": "postgresql://postgres@127.0.0.1:1/postgres", "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-x",
            "tests/test_postgres_render.py", "tests/test_postgres_inspect.py", "-k", "masks_password or Enum"]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    local = subprocess.run(base, cwd=REPO, env={**env, **closed}, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0 and "3 skipped" in local.stdout, local.stdout
    ci = subprocess.run(base, cwd=REPO, env={**env, **closed, "CI": "true"}, capture_output=True, text=True,
                        timeout=300)
    assert ci.returncode == 1 and "CI is set" in ci.stdout, ci.stdout


def test_postgres_container_fallback_serves_or_steps_aside() -> None:
    """Where a Docker engine runs, the fixture's fallback starts a PostgreSQL that answers; where
    none does (this machine), it says so and starts nothing."""
    import asyncio

    import asyncpg

    from tests.conftest import _start_container

    container, why_not = _start_container()
    if container is None:
        assert why_not.startswith(("no Docker engine", "testcontainers is not installed")), why_not
        return
    try:
        async def answer() -> int:
            conn = await asyncpg.connect(container.get_connection_url(driver=None))
            try:
                return await conn.fetchval("SELECT 1")
            finally:
                await conn.close()

        assert asyncio.run(answer()) == 1
    finally:
        container.stop()

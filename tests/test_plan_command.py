"""``dfmigrate plan`` on real SQLite and PostgreSQL: the runbook of what ``migrate`` would do.

The pending migrations and their SQL must be exactly what ``migrate --dry-run`` prints and what
``migrate`` then applies; the JSON must follow the shipped schema; nothing is written.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dfmigrate.directory import write_sum
from tests.test_consent import LEGACY, Project
from tests.test_lifecycle_cycle import execute
from tests.test_runner import query

INDEXED = "    email_domain: str | None = field(max_length=100, index=True)\n"


def plan_schema() -> dict[str, Any]:
    return json.loads(resources.files("dfmigrate.schemas").joinpath("plan-v1.schema.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(params=["postgresql", "sqlite"])
def project(request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Project:
    """``0001_initial`` applied on a filled table; pending: ``0002_index`` (a column with an
    index) and ``0003_drop_legacy`` (drops a column: needs consent)."""
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_db")("plan")
    else:
        url = "sqlite:///" + request.getfixturevalue("sqlite_path")
    p = Project(request.param, url, tmp_path, capsys)
    p.makemigrations(LEGACY, "initial")
    assert p.run("migrate")[0] == 0
    execute(url, "INSERT INTO authors (email, legacy) " + (
        "SELECT 'a' || g || '@x.io', 'L' FROM generate_series(1, 20000) g" if p.dialect == "postgresql" else
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 20000) "
        "SELECT 'a' || n || '@x.io', 'L' FROM g"))
    if p.dialect == "postgresql":
        execute(url, "ANALYZE authors")  # the statistics plan reads sizes from
    p.makemigrations(LEGACY + INDEXED, "index")
    p.makemigrations(INDEXED, "drop legacy")
    return p


def plan_json(p: Project, *args: str) -> dict[str, Any]:
    code, out, err = p.run("plan", "--format", "json", *args)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(plan_schema())
    jsonschema.validate(data, plan_schema(), cls=jsonschema.Draft202012Validator)
    return data


def test_json_lists_what_migrate_runs(project: Project) -> None:
    data = plan_json(project)
    assert data["dialect"] == project.dialect and data["dir"] == str(project.dir)
    assert [m["id"] for m in data["migrations"]] == ["0002_index", "0003_drop_legacy"]
    index, drop = data["migrations"]
    add, build = index["steps"]
    assert add["kind"] == "add-column" and add["transactional"] and add["transaction"] == 1
    assert "CREATE INDEX" in build["sql"] and "index-build" in build["hazards"]
    if project.dialect == "postgresql":  # the online form: built concurrently, alone, blocking nobody
        assert build["kind"] == "create-index-concurrently" and not build["transactional"]
        assert build["transaction"] is None and build["lock"] == "SHARE UPDATE EXCLUSIVE" and build["blocks"] == []
        assert add["blocks"] == ["reads", "writes"]
        assert [s["kind"] for s in index["rollback"]["steps"]] == ["drop-index-concurrently", "drop-column"]
    else:
        assert build["kind"] == "create-index" and build["transaction"] == 1
    # the index's rollback drops the column again (SQLite: by rebuilding the table): consent of its own
    assert any("deletes-data" in s["consent_needed"] for s in index["rollback"]["steps"])
    assert index["consent_needed"] == [] and drop["consent_needed"] != []
    assert "DROP COLUMN legacy" in drop["steps"][0]["sql"] and "deletes-data" in drop["steps"][0]["consent_needed"]
    assert data["ok"] is False and data["refusal"].startswith("applying 0003_drop_legacy needs consent: step 1")
    assert all(m["phase"] is None for m in data["migrations"])
    if project.dialect == "postgresql":  # sizes from pg_class statistics, and what each lock blocks
        size = build["table_size"]
        assert 15_000 < size["rows"] < 25_000 and size["grade"] == "small"
        assert build["estimated_s"] >= 0 and data["estimated_s"] is not None
        assert drop["steps"][0]["blocks"] == ["reads", "writes"]
    else:  # SQLite keeps no statistics to read
        assert build["table_size"] is None and data["estimated_s"] is None
    # the same statements, in the same order, as migrate's dry run
    _, dry, _ = project.run("migrate", "--dry-run")
    sql = [s["sql"] for m in data["migrations"] for s in m["steps"]]
    assert [line[:-1] for line in dry.splitlines() if line[:-1] in sql] == sql


def test_plan_changes_nothing(project: Project) -> None:
    before = project.history()
    assert project.run("plan")[0] == 0
    assert project.history() == before and "email_domain" not in project.columns()


def test_a_new_database_gets_the_whole_plan_and_no_history_table(project: Project, tmp_path: Path,
                                                                 request: pytest.FixtureRequest) -> None:
    if project.dialect == "sqlite":
        fresh = Project("sqlite", "sqlite:///" + str(tmp_path / "fresh.db"), tmp_path, project.capsys)
    else:
        fresh = Project("postgresql", request.getfixturevalue("pg_db")("planfresh"), tmp_path, project.capsys)
    data = plan_json(fresh)
    assert [m["id"] for m in data["migrations"]] == ["0001_initial", "0002_index", "0003_drop_legacy"]
    if fresh.dialect == "sqlite":  # like migrate --dry-run: a file that does not exist is not created
        assert not (tmp_path / "fresh.db").exists()
    else:
        assert query(fresh.url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'dfmigrate%'") == [(0,)]


def test_markdown_for_a_change_ticket(project: Project) -> None:
    code, out, err = project.run("plan")
    assert code == 0, err
    assert out.startswith("# Migration plan: 2 pending migrations\n")
    assert "## 1. 0002_index: index" in out and "## 2. 0003_drop_legacy: drop legacy" in out
    assert "| step | does | lock | table | est. | hazards | runs |" in out
    assert "**Consent needed**, or `migrate` refuses the whole plan: 0003_drop_legacy step 1 (deletes-data" in out
    assert "```sql\n-- step 1\nALTER TABLE " in out and "Rollback (`dfmigrate rollback`)" in out
    assert "phase" not in out  # no file declares one
    if project.dialect == "postgresql":
        assert "SHARE UPDATE EXCLUSIVE (blocks neither reads nor writes)" in out
        assert "alone, outside a transaction" in out and "rows," in out and "(small)" in out


def test_consent_given_or_recorded_is_shown_as_such(project: Project) -> None:
    data = plan_json(project, "--allow-hazards", "all")
    assert data["ok"] is True and data["refusal"] is None and data["allow_hazards"] == ["all"]
    assert all(not s["consent_needed"] for m in data["migrations"] for s in m["steps"])
    code, out, _ = project.run("plan", "--allow-hazards", "all")
    assert "- Consent: nothing further needed (given: `--allow-hazards all`)" in out
    path = next(project.dir.glob("0003_*.py"))
    path.write_text(path.read_text().replace("\n    dependencies = ", '\n    allow_hazards = ["all"]\n'
                                             "    dependencies = ", 1))
    write_sum(str(project.dir))
    data = plan_json(project)
    assert data["ok"] is True and data["migrations"][1]["allow_hazards"] == ["all"]


def test_sql_is_the_dry_run_script(project: Project) -> None:
    code, out, _ = project.run("plan", "--format", "sql")
    assert code == 0  # a report: the dry run's exit code is what gates on consent
    assert out == project.run("migrate", "--dry-run")[1]


def test_to_stops_like_migrate(project: Project) -> None:
    data = plan_json(project, "--to", "0002_index")
    assert [m["id"] for m in data["migrations"]] == ["0002_index"] and data["ok"] is True


def test_up_to_date(project: Project) -> None:
    assert project.run("migrate", "--allow-hazards", "all")[0] == 0
    code, out, _ = project.run("plan")
    assert code == 0 and out.startswith("Nothing to migrate: ")
    assert plan_json(project)["migrations"] == []


def test_unknown_kind_is_a_one_line_error(project: Project) -> None:
    code, out, err = project.run("plan", "--allow-hazards", "everything")
    assert code == 2 and out == "" and err.startswith("dfmigrate: error: --allow-hazards: unknown hazard 'everything'")
    assert err.count("\n") == 1


PHASED = '''from dfmigrate.migration import DataMigration, RunSQL


class Migration(DataMigration):
    id = "0004_backfill"
    description = "backfill the domain"
    dependencies = ["0003_drop_legacy"]
    phase = "post"
    operations = [
        RunSQL("UPDATE authors SET email_domain = 'x.io'", reverse="UPDATE authors SET email_domain = NULL"),
        RunSQL("ALTER TABLE authors RENAME COLUMN email_domain TO domain"),
    ]
'''


def test_phase_and_hand_written_steps(project: Project) -> None:
    (project.dir / "0004_backfill.py").write_text(PHASED)
    write_sum(str(project.dir))
    data = plan_json(project, "--allow-hazards", "deletes-data")
    phased = data["migrations"][2]
    assert phased["phase"] == "post"
    assert [s["kind"] for s in phased["steps"]] == ["update", "rename-column"]
    # hazards parsed from the hand-written SQL: the rename breaks the running release
    assert phased["steps"][1]["consent_needed"] == ["breaks-clients"]
    assert phased["rollback"]["steps"] == [] and "has no reverse SQL" in phased["rollback"]["error"]
    _, out, _ = project.run("plan", "--allow-hazards", "deletes-data")
    assert "File `" in out and "· phase: post" in out and "Rollback: not possible: " in out


def test_sizes_of_a_table_never_analyzed(pg_db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a bulk load, before ANALYZE or autovacuum: pg_class has no row estimate yet
    (reltuples -1), so the plan reads the statistics system's live-row count instead of showing
    an empty table and an instant backfill."""
    import time

    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    p = Project("postgresql", pg_db("plannew"), tmp_path, capsys)
    p.makemigrations("", "initial")
    assert p.run("migrate")[0] == 0
    execute(p.url, "ALTER TABLE authors SET (autovacuum_enabled = false)")  # no analyze behind the test's back
    execute(p.url, "INSERT INTO authors (email) SELECT 'a' || g || '@x.io' FROM generate_series(1, 20000) g")
    assert query(p.url, "SELECT reltuples FROM pg_class WHERE relname = 'authors'") == [(-1,)]
    deadline = time.monotonic() + 30  # the inserting session reports its counts as it ends
    while query(p.url, "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'authors'")[0][0] == 0:
        assert time.monotonic() < deadline, "the statistics system never counted the inserted rows"
        time.sleep(0.2)
    p.makemigrations('    score: int = field(backfill="length(email)")\n', "score")
    data = plan_json(p)
    [migration] = data["migrations"]
    backfill = next(s for s in migration["steps"] if s["kind"] == "backfill")
    assert backfill["table_size"]["rows"] == 20000 and backfill["table_size"]["grade"] == "small"
    assert backfill["estimated_s"] > 0

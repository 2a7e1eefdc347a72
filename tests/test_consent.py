"""Consent to destructive hazards, on real SQLite and PostgreSQL, through the CLI.

A step that deletes data or breaks the release still running (a dropped column, a rollback that
drops the column its migration added, a hand-written ``DROP COLUMN``) runs only with
``--allow-hazards`` or the file's recorded ``allow_hazards``; without it ``migrate`` and
``rollback`` refuse in one line and change nothing: not the schema, not the history.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import dfmigrate.directory.make as make
from dfmigrate.directory import write_sum
from tests.test_lifecycle_cycle import execute
from tests.test_runner import cli, query

MODEL = '''
from dfmigrate import field, model


@model
class Author:
    __timestamps__ = False
    email: str = field(max_length=255)
{extra}'''
LEGACY = "    legacy: str | None = None\n"
NICK = "    nick: str | None = None\n"


class Project:
    """One database and one migrations directory, driven through the CLI."""

    def __init__(self, dialect: str, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.dialect, self.url, self.capsys = dialect, url, capsys
        self.dir, self.models = tmp_path / "migrations", tmp_path / "models.py"

    def makemigrations(self, extra: str, message: str) -> Path:
        self.models.write_text(MODEL.format(extra=extra))
        result = asyncio.run(make.make_migrations(str(self.models), str(self.dir), self.dialect, message=message))
        assert result.status == "written"
        return Path(result.path)

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli([*args, "--database", self.url, "--dir", str(self.dir)])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def columns(self) -> list[str]:
        if self.dialect == "sqlite":
            return [r[1] for r in query(self.url, "PRAGMA table_info(authors)")]
        return [r[0] for r in query(self.url, "SELECT column_name::text FROM information_schema.columns "
                                              "WHERE table_name = 'authors' ORDER BY ordinal_position")]

    def history(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in query(self.url, "SELECT migration_id, direction FROM dfmigrate_history "
                                                      "ORDER BY seq")]

    def legacy_values(self) -> list[Any]:
        return [r[0] for r in query(self.url, "SELECT legacy FROM authors ORDER BY email")]


@pytest.fixture(params=["postgresql", "sqlite"])
def project(request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Project:
    """``0001_initial`` (authors with a filled ``legacy`` column) applied, ``0002_drop_legacy``
    (generated: drops it) pending."""
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_db")("consent")
    else:
        url = "sqlite:///" + request.getfixturevalue("sqlite_path")
    p = Project(request.param, url, tmp_path, capsys)
    p.makemigrations(LEGACY, "initial")
    assert p.run("migrate")[0] == 0
    execute(url, "INSERT INTO authors (email, legacy) VALUES ('ann@x.io', 'L1')")
    p.makemigrations("", "drop legacy")
    return p


def unchanged(p: Project) -> None:
    """The drop did not run: the column and its data are there, the history is as it was."""
    assert "legacy" in p.columns() and p.legacy_values() == ["L1"]
    assert p.history() == [("0001_initial", "forward")]


def test_a_generated_drop_column_is_refused_without_consent(project: Project) -> None:
    code, out, err = project.run("migrate")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("dfmigrate: error: applying 0002_drop_legacy needs consent: step 1 (ALTER TABLE ")
    assert "DROP COLUMN legacy) is deletes-data" in err and "--allow-hazards" in err
    unchanged(project)


def test_allow_hazards_all_applies_it(project: Project) -> None:
    code, out, err = project.run("migrate", "--allow-hazards", "all")
    assert code == 0, err
    assert "applied 0002_drop_legacy" in out
    assert project.columns() == ["id", "email"]
    assert project.history() == [("0001_initial", "forward"), ("0002_drop_legacy", "forward")]


def test_allow_hazards_naming_the_kinds_applies_it(project: Project) -> None:
    if project.dialect == "postgresql":  # on PostgreSQL the drop also breaks the running release
        code, _, err = project.run("migrate", "--allow-hazards", "deletes-data")
        assert code == 2 and "is breaks-clients" in err and "--allow-hazards breaks-clients" in err, err
        unchanged(project)
    code, _, err = project.run("migrate", "--allow-hazards", "deletes-data,breaks-clients")
    assert code == 0, err
    assert "legacy" not in project.columns()


def test_consent_recorded_in_the_file_applies_it(project: Project) -> None:
    path = next(project.dir.glob("0002_*.py"))
    path.write_text(path.read_text().replace("\n    dependencies = ", '\n    allow_hazards = ["deletes-data", '
                                             '"breaks-clients"]\n    dependencies = ', 1))
    code, _, err = project.run("migrate")
    assert code == 2 and "0002_drop_legacy.py was edited" in err  # the sum guards the edit until reviewed
    unchanged(project)
    assert cli(["rehash", "--dir", str(project.dir)]) == 0  # the reviewer accepts the edit
    code, _, err = project.run("migrate")
    assert code == 0, err
    assert "legacy" not in project.columns()


def test_an_unknown_kind_is_a_one_line_error(project: Project) -> None:
    code, out, err = project.run("migrate", "--allow-hazards", "deletes-data,drops-everything")
    assert code == 2 and out == ""
    assert err == ("dfmigrate: error: --allow-hazards: unknown hazard 'drops-everything' "
                   "(accepted: breaks-clients, deletes-data, all)\n")
    unchanged(project)


def test_every_pending_migration_is_checked_before_the_first_runs(project: Project) -> None:
    """0002 (harmless) would run first: it must not, since 0003 after it is refused."""
    next(project.dir.glob("0002_*.py")).unlink()
    write_sum(str(project.dir))
    project.makemigrations(LEGACY + NICK, "add nick")
    project.makemigrations(NICK, "drop legacy")
    code, _, err = project.run("migrate")
    assert code == 2 and "applying 0003_drop_legacy needs consent" in err, err
    assert "nick" not in project.columns()
    unchanged(project)


def test_dry_run_prints_the_sql_and_the_steps_needing_consent(project: Project) -> None:
    code, out, err = project.run("migrate", "--dry-run")
    assert code == 2  # a pipeline running the dry run learns the real run would be refused
    assert "DROP COLUMN legacy;" in out and "BEGIN;" in out
    assert "-- needs consent: 0002_drop_legacy step 1 (ALTER TABLE " in out
    assert err.startswith("dfmigrate: error: applying 0002_drop_legacy needs consent") and err.count("\n") == 1
    unchanged(project)
    code, out, err = project.run("migrate", "--dry-run", "--allow-hazards", "all")
    assert code == 0 and "DROP COLUMN legacy;" in out and "needs consent" not in out, err
    unchanged(project)


def test_offline_script_follows_the_same_rule(project: Project) -> None:
    code, out, err = project.run("migrate", "--sql", "--from", "0001_initial")
    assert code == 2 and out == "" and "applying 0002_drop_legacy needs consent" in err
    code, out, _ = project.run("migrate", "--sql", "--from", "0001_initial", "--allow-hazards", "all")
    assert code == 0 and "DROP COLUMN legacy;" in out


def test_rolling_back_an_added_column_needs_consent(project: Project) -> None:
    next(project.dir.glob("0002_*.py")).unlink()
    write_sum(str(project.dir))
    project.makemigrations(LEGACY + NICK, "add nick")
    assert project.run("migrate")[0] == 0  # adding a column needs no consent
    applied = [("0001_initial", "forward"), ("0002_add_nick", "forward")]
    assert project.history() == applied
    code, out, err = project.run("rollback")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("dfmigrate: error: rolling back 0002_add_nick needs consent: step 1 (ALTER TABLE ")
    assert "DROP COLUMN nick) is deletes-data" in err
    assert "nick" in project.columns() and project.history() == applied
    code, out, err = project.run("rollback", "--dry-run")
    assert code == 2 and "DROP COLUMN nick;" in out and "-- needs consent: 0002_add_nick step 1" in out
    code, out, err = project.run("rollback", "--allow-hazards", "deletes-data", "--allow-hazards", "breaks-clients")
    assert code == 0, err
    assert "nick" not in project.columns() and project.history()[-1] == ("0002_add_nick", "backward")


HAND_WRITTEN = '''from dfmigrate.migration import DataMigration, RunSQL


class Migration(DataMigration):
    id = "0002_drop_by_hand"
    description = "drop legacy by hand"
    dependencies = ["0001_initial"]
    operations = [
        RunSQL({"postgresql": "ALTER TABLE public.authors DROP COLUMN legacy",
                "sqlite": "ALTER TABLE authors DROP COLUMN legacy"},
               reverse={"postgresql": "ALTER TABLE public.authors ADD COLUMN legacy text",
                        "sqlite": "ALTER TABLE authors ADD COLUMN legacy TEXT"}),
    ]
'''

EARLIER_FORMAT = '''from dfmigrate.migration import SQLMigration


class Migration(SQLMigration):
    id = "0002_drop_by_hand"
    description = "drop legacy by hand"
    dependencies = ["0001_initial"]
    dialect = "DIALECT"
    forward_sql = ["UPDATE authors SET email = lower(email)", "ALTER TABLE authors DROP COLUMN legacy"]
    backward_sql = ["ALTER TABLE authors ADD COLUMN legacy text"]
'''


@pytest.mark.parametrize("text", [HAND_WRITTEN, EARLIER_FORMAT], ids=["RunSQL", "SQLMigration"])
def test_a_hand_written_drop_column_is_refused(project: Project, text: str) -> None:
    """No hazards are written next to hand-written SQL: they come from parsing it."""
    next(project.dir.glob("0002_*.py")).unlink()
    (project.dir / "0002_drop_by_hand.py").write_text(text.replace("DIALECT", project.dialect))
    write_sum(str(project.dir))
    code, _, err = project.run("migrate")
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "applying 0002_drop_by_hand needs consent: step " in err
    assert "DROP COLUMN legacy) is deletes-data, breaks-clients" in err
    unchanged(project)
    code, _, err = project.run("migrate", "--allow-hazards", "all")
    assert code == 0, err
    assert "legacy" not in project.columns()


def test_an_unknown_kind_recorded_in_the_file_is_an_error(project: Project) -> None:
    """A typo in the recorded consent must not read as consent to nothing, silently."""
    path = next(project.dir.glob("0002_*.py"))
    path.write_text(path.read_text().replace("\n    dependencies = ", '\n    allow_hazards = ["deletes-date"]'
                                             '\n    dependencies = ', 1))
    write_sum(str(project.dir))
    code, _, err = project.run("migrate", "--allow-hazards", "all")
    assert code == 2 and err == ("dfmigrate: error: 0002_drop_legacy: allow_hazards: unknown hazard 'deletes-date' "
                                 "(accepted: breaks-clients, deletes-data, all)\n")
    unchanged(project)

"""The CI formats, checked on real command outputs: JSON against the schema shipped in the
package, SARIF for the fields code scanning requires, JUnit parsed as XML, GitHub workflow
commands by their exact grammar."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dfmigrate import cli
from dfmigrate.ci_formats import Finding, Report, RuleDoc, json_schema, render
from dfmigrate.directory import write_sum
from tests.test_lint import migration

# ::error file=F,line=L,col=C,title=T::message (properties optional, in this order)
GITHUB_LINE = re.compile(r"^::(error|warning|notice)(?: (?:file=[^,:]+,)?(?:line=\d+,)?(?:col=\d+,)?title=[^,:]+)?::(.+)$")

RISKY_SQL = """SET lock_timeout = '2s';
SET statement_timeout = '1min';
CREATE INDEX orders_customer_idx ON orders (customer_id);
ALTER TABLE accounts DROP COLUMN legacy_flag;
CREATE TABLE notes (id serial PRIMARY KEY, body varchar(200));
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def risky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "risky.sql"
    path.write_text(RISKY_SQL)
    return path


def assert_sarif(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields SARIF 2.1.0 requires, and the cross-references a viewer follows."""
    assert data["version"] == "2.1.0" and data["$schema"].endswith("sarif-2.1.0.json")
    [run] = data["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "dfmigrate" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    for result in run["results"]:
        assert result["message"]["text"]
        assert result["level"] in ("error", "warning", "note")
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"], result  # GitHub code scanning refuses a result without one
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            if "region" in physical:  # a finding about a whole file or directory has none
                assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
    return run["results"]  # type: ignore[no-any-return]


def test_lint_json_matches_the_shipped_schema(risky: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lint", "--format", "json", str(risky))
    data = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.validate(data, json_schema(), cls=jsonschema.Draft202012Validator)
    assert code == 1 and data["ok"] is False and data["version"] == 1
    assert data["summary"] == {"errors": 2, "warnings": 3, "files": 1}
    assert {f["rule"] for f in data["findings"]} <= set(data["rules"])


def test_schema_rejects_a_broken_report() -> None:
    broken = {"version": 1, "command": "lint", "findings": [{"rule": "x", "severity": "fatal"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json_schema(), cls=jsonschema.Draft202012Validator)


def test_schema_is_package_data() -> None:
    from importlib import resources

    assert resources.files("dfmigrate.schemas").joinpath("report-v1.schema.json").is_file()
    assert json_schema()["$id"].endswith("report-v1.schema.json")


def test_lint_sarif(risky: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lint", "--format", "sarif", str(risky))
    results = assert_sarif(json.loads(out))
    assert code == 1
    by_rule = {r["ruleId"]: r for r in results}
    index = by_rule["require-concurrent-index-creation"]
    assert index["level"] == "error"
    assert index["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert by_rule["prefer-text-field"]["level"] == "warning"


def test_lint_junit(risky: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.sql"
    clean.write_text("CREATE TABLE t (id bigint);\n")
    code, out, _ = run_cli(capsys, "lint", "--format", "junit", str(risky), str(clean))
    root = ET.fromstring(out)
    assert code == 1 and root.tag == "testsuites"
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {str(risky), str(clean)}
    assert [f.get("type") for f in cases[str(risky)].iter("failure")] == [
        "require-concurrent-index-creation", "ban-drop-column"]
    assert "prefer-identity" in cases[str(risky)].find("system-out").text  # warnings: not failures
    assert list(cases[str(clean)]) == []
    assert root.get("tests") == "2" and root.get("failures") == "1"


def test_lint_github(risky: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lint", "--format", "github", str(risky))
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert code == 1 and len(commands) == 5
    assert all(GITHUB_LINE.match(line) for line in commands), commands
    assert commands[0].startswith(f"::error file={risky},line=3,col=1,title=require-concurrent-index-creation::")
    assert any(line.startswith(f"::warning file={risky},line=5,") for line in commands)


def test_github_escaping() -> None:
    report = Report("lint", [Finding("a-rule", "error", "50% done\nnext, line", "dir,x/a:b.sql", 2, 3)],
                    {"a-rule": RuleDoc("a-rule", "x")}, ["dir,x/a:b.sql"])
    first = render(report, "github").splitlines()[0]
    assert first == "::error file=dir%2Cx/a%3Ab.sql,line=2,col=3,title=a-rule::50%25 done%0Anext, line"


# ---------------------------------------------------------------- check and drift


@pytest.fixture
def drifted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A SQLite database migrated by its directory, then changed by hand: the drift arguments."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    mdir = tmp_path / "migrations"
    migration(mdir, "0001_users", ["CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)"], dialect="sqlite")
    write_sum(str(mdir))
    args = ["--database", f"sqlite:///{tmp_path / 'app.db'}", "--dir", str(mdir)]
    assert run_cli(capsys, "migrate", *args)[0] == 0
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE hand_made (id INTEGER PRIMARY KEY)")
    return args


def test_drift_ci_formats(drifted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "drift", *drifted, "--format", "github")
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("::")]
    assert GITHUB_LINE.match(line) and line.startswith(f"::error file={drifted[-1]},title=drift-extra::extra: create table")
    code, out, _ = run_cli(capsys, "drift", *drifted, "--format", "sarif")
    [result] = assert_sarif(json.loads(out))
    assert code == 1 and result["ruleId"] == "drift-extra" and "hand_made" in result["message"]["text"]
    code, out, _ = run_cli(capsys, "drift", *drifted, "--format", "junit")
    [failure] = ET.fromstring(out).iter("failure")
    assert code == 1 and failure.get("type") == "drift-extra"
    # text and json keep their own shapes; json is versioned by its own shipped schema
    code, out, _ = run_cli(capsys, "drift", *drifted, "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["drift"][0]["kind"] == "extra"
    jsonschema.validate(data, shipped_schema("drift-v1.schema.json"), cls=jsonschema.Draft202012Validator)


def shipped_schema(name: str) -> dict[str, Any]:
    """A JSON Schema as the installed package ships it, itself checked against its meta-schema."""
    from importlib import resources

    schema = json.loads(resources.files("dfmigrate.schemas").joinpath(name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema  # type: ignore[no-any-return]


def shipped_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for a shipped schema that resolves its references to the other shipped
    schemas by their ``$id`` (rollback's report shares migrate's parts), as a reader holding the
    package's schema directory would."""
    from importlib import resources

    from referencing import Registry, Resource

    resources_ = [Resource.from_contents(shipped_schema(p.name)) for p in
                  resources.files("dfmigrate.schemas").iterdir() if p.name.endswith(".schema.json")]
    registry: Registry = Registry().with_resources((r.contents["$id"], r) for r in resources_)
    return jsonschema.Draft202012Validator(shipped_schema(name), registry=registry)


def test_drift_json_when_clean_matches_its_schema(drifted: list[str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("DROP TABLE hand_made")
    code, out, _ = run_cli(capsys, "drift", *drifted, "--format", "json")
    data = json.loads(out)
    jsonschema.validate(data, shipped_schema("drift-v1.schema.json"), cls=jsonschema.Draft202012Validator)
    assert code == 0 and data["clean"] and data["drift"] == [] and data["applied"] == ["0001_users"]


def test_check_ci_formats_when_clean(drifted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check", *drifted, "--format", "junit")
    cases = list(ET.fromstring(out).iter("testcase"))
    assert code == 0 and [c.get("name") for c in cases] == [drifted[-1] + "/0001_users.py"]
    code, out, _ = run_cli(capsys, "check", *drifted, "--format", "json")
    data = json.loads(out)
    jsonschema.validate(data, json_schema(), cls=jsonschema.Draft202012Validator)
    assert code == 0 and data["command"] == "check" and data["findings"] == []
    assert "a sqlite migration: not linted" in data["notes"][0]
    code, out, _ = run_cli(capsys, "check", *drifted, "--format", "sarif")
    assert code == 0 and assert_sarif(json.loads(out)) == []


def test_check_reports_a_due_migration(drifted: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models.py"
    models.write_text("from dfmigrate import model, field\n\n\n@model\nclass User:\n"
                      "    __tablename__ = 'users'\n    email: str\n    nick: str | None\n")
    code, out, _ = run_cli(capsys, "check", *drifted, "--models", str(models), "--format", "github")
    [line] = [line for line in out.splitlines() if line.startswith("::")]
    assert code == 1 and line.startswith(f"::error file={drifted[-1]},title=migration-due::")


@pytest.mark.parametrize("fmt", ["json", "github", "junit", "sarif"])
def test_check_reports_an_edited_file_in_every_format(drifted: list[str], fmt: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An integrity error exits 2 with its one line on stderr, and the report (json included:
    a script parses stdout) carries it as an ``integrity`` finding."""
    migration = Path(drifted[-1]) / "0001_users.py"
    migration.write_text(migration.read_text() + "# edited\n")
    code, out, err = run_cli(capsys, "check", *drifted, "--format", fmt)
    assert code == 2 and err.startswith("dfmigrate: error: ") and "0001_users.py" in err
    if fmt == "json":
        data = json.loads(out)
        jsonschema.validate(data, json_schema(), cls=jsonschema.Draft202012Validator)
        assert not data["ok"] and [f["rule"] for f in data["findings"]] == ["integrity"]
    elif fmt == "github":
        assert out.startswith(f"::error file={drifted[-1]},title=integrity::")
    elif fmt == "junit":
        assert [f.get("type") for f in ET.fromstring(out).iter("failure")] == ["integrity"]
    else:
        assert [r["ruleId"] for r in assert_sarif(json.loads(out))] == ["integrity"]


# ---------------------------------------------------------------- the lifecycle commands' json
# migrate (a run, a dry run, a refused run), status, history and config, each on real databases,
# against the schema it ships (dfmigrate/schemas/<command>-v1.schema.json).

def shipped_json(text: str, command: str) -> dict[str, Any]:
    """``command``'s ``--format json`` output parsed, valid against its shipped schema (and
    naming it), for the tests that read these reports."""
    data = json.loads(text)
    name = f"{command}-v1.schema.json"
    shipped_validator(name).validate(data)
    assert data["$schema"] == f"https://dfmigrate.dev/schemas/{name}" and data["version"] == 1
    return data  # type: ignore[no-any-return]


@pytest.fixture(params=["postgresql", "sqlite"])
def lifecycle(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh database of each dialect and a directory of two migrations: the arguments."""
    from tests.test_runner import USERS, write_migration

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    dialect = request.param
    url = request.getfixturevalue("pg_db")("jsa_formats") if dialect == "postgresql" else \
        "sqlite:///" + request.getfixturevalue("sqlite_path")
    mdir = tmp_path / "migrations"
    write_migration(mdir, "0001_users", dialect, [USERS[dialect]], ["DROP TABLE users"])
    write_migration(mdir, "0002_posts", dialect, ["CREATE TABLE posts (id integer PRIMARY KEY)"],
                    ["DROP TABLE posts"], deps=["0001_users"])
    return ["--database", url, "--dir", str(mdir)]


def test_lifecycle_json_matches_the_shipped_schemas(lifecycle: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_runner import USERS, write_migration

    mdir = Path(lifecycle[-1])
    dialect = "sqlite" if lifecycle[1].startswith("sqlite") else "postgresql"
    code, out, _ = run_cli(capsys, "migrate", *lifecycle, "--to", "0001_users", "--format", "json")
    run = shipped_json(out, "migrate")
    assert code == 0 and run["ok"] and not run["dry_run"] and run["applied"] == ["0001_users"]
    [step] = run["steps"]
    assert step["outcome"] == "applied" and step["statements"][0]["kind"] == "create-table"
    assert run["lock"]["released"] and run["lock"]["mode"] == ("file" if dialect == "sqlite" else "session")
    assert (run["verdicts"]["race"] is None) == (dialect == "sqlite")

    code, out, _ = run_cli(capsys, "status", *lifecycle, "--format", "json")
    status = shipped_json(out, "status")
    assert code == 0 and [a["migration_id"] for a in status["applied"]] == ["0001_users"]
    assert status["pending"] == ["0002_posts"] and status["modified"] == status["missing"] == []

    code, out, _ = run_cli(capsys, "migrate", *lifecycle, "--dry-run", "--format", "json")
    dry = shipped_json(out, "migrate")
    assert code == 0 and dry["ok"] and dry["dry_run"] and dry["refusal"] is None and dry["applied"] == []
    assert "CREATE TABLE posts" in dry["sql"] and "steps" not in dry  # nothing ran, no lock was taken

    assert run_cli(capsys, "migrate", *lifecycle)[0] == 0
    code, out, err = run_cli(capsys, "rollback", *lifecycle, "--dry-run", "--format", "json")
    dry = shipped_json(out, "rollback")
    assert code == 2 and not dry["ok"] and dry["dry_run"] and dry["rolled_back"] == [] and "DROP TABLE posts" in dry["sql"]
    assert "rolling back 0002_posts needs consent" in dry["refusal"] and dry["refusal"] in err
    code, out, _ = run_cli(capsys, "rollback", *lifecycle, "--allow-hazards", "all", "--format", "json")
    back = shipped_json(out, "rollback")
    assert code == 0 and back["ok"] and back["rolled_back"] == ["0002_posts"] and back["lock"]["released"]
    assert [(s["migration"], s["direction"], s["outcome"]) for s in back["steps"]] == [
        ("0002_posts", "backward", "rolled back")]
    code, out, _ = run_cli(capsys, "history", *lifecycle, "--format", "json")
    history = shipped_json(out, "history")
    assert code == 0 and [(r["migration_id"], r["direction"]) for r in history["rows"]] == [
        ("0001_users", "forward"), ("0002_posts", "forward"), ("0002_posts", "backward")]

    # a migration that drops a table, without consent: the dry run and the run are both refused
    write_migration(mdir, "0003_drop_posts", dialect, ["DROP TABLE posts"], [], deps=["0002_posts"])
    code, out, err = run_cli(capsys, "migrate", *lifecycle, "--dry-run", "--format", "json")
    dry = shipped_json(out, "migrate")
    assert code == 2 and not dry["ok"] and dry["refusal"] and "0003_drop_posts needs consent" in dry["refusal"]
    assert dry["refusal"] in err
    code, out, err = run_cli(capsys, "migrate", *lifecycle, "--format", "json")
    refused = shipped_json(out, "migrate")
    assert code == 2 and not refused["ok"] and refused["applied"] == [] and refused["error"] in err
    assert "needs consent" in refused["error"] and refused["lock"]["released"]

    # a file edited after it was applied, one deleted, one pending with a phase
    write_migration(mdir, "0001_users", dialect, [USERS[dialect] + " -- edited"], ["DROP TABLE users"])
    path = write_migration(mdir, "0003_drop_posts", dialect, ["DROP TABLE posts"], [], deps=["0002_posts"])
    path.write_text(path.read_text() + '    phase = "post"\n')
    write_sum(str(mdir))
    code, out, _ = run_cli(capsys, "status", *lifecycle, "--format", "json")
    status = shipped_json(out, "status")
    assert code == 0 and status["modified"] == ["0001_users"] and status["phases"] == {"0003_drop_posts": "post"}
    (mdir / "0001_users.py").unlink()
    write_sum(str(mdir))
    code, out, _ = run_cli(capsys, "status", *lifecycle, "--format", "json")
    status = shipped_json(out, "status")
    assert status["missing"] == ["0001_users"] and status["pending"] == ["0002_posts", "0003_drop_posts"]


def test_migrate_json_when_the_run_cannot_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run refused before it connects (an unknown --to) still prints its report for a script."""
    from tests.test_runner import USERS, write_migration

    mdir = tmp_path / "migrations"
    write_migration(mdir, "0001_users", "sqlite", [USERS["sqlite"]], ["DROP TABLE users"])
    args = ["--database", f"sqlite:///{tmp_path / 'app.db'}", "--dir", str(mdir)]
    for extra in ([], ["--dry-run"]):
        code, out, err = run_cli(capsys, "migrate", *args, "--to", "0009_nothing", "--format", "json", *extra)
        report = shipped_json(out, "migrate")
        assert code == 2 and not report["ok"] and report["dry_run"] == bool(extra) and report["error"] in err


@pytest.mark.parametrize("command", ["migrate", "rollback"])
def test_run_json_when_a_later_migration_fails(command: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Each migration commits on its own: the report of a run that failed at the second one
    names the first as done."""
    from tests.test_runner import USERS, write_migration

    mdir = tmp_path / "migrations"
    args = ["--database", f"sqlite:///{tmp_path / 'app.db'}", "--dir", str(mdir)]
    write_migration(mdir, "0001_users", "sqlite", [USERS["sqlite"]], ["DROP TABLE nowhere"])  # its rollback fails
    if command == "migrate":
        write_migration(mdir, "0002_bad", "sqlite", ["ALTER TABLE nowhere ADD COLUMN x int"], [], deps=["0001_users"])
        extra: list[str] = []
    else:
        write_migration(mdir, "0002_posts", "sqlite", ["CREATE TABLE posts (id integer)"], ["DROP TABLE posts"],
                        deps=["0001_users"])
        assert run_cli(capsys, "migrate", *args)[0] == 0
        extra = ["--steps", "2", "--allow-hazards", "all"]
    code, out, err = run_cli(capsys, command, *args, "--format", "json", *extra)
    report = shipped_json(out, command)
    done = report["applied" if command == "migrate" else "rolled_back"]
    assert code == 2 and not report["ok"] and report["error"] in err
    assert done == (["0001_users"] if command == "migrate" else ["0002_posts"])
    assert [s["outcome"] for s in report["steps"]] == ["applied" if command == "migrate" else "rolled back", "failed"]


def test_config_json_matches_its_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DFMIGRATE_DATABASE_URL", "DFMIGRATE_DIR", "DFMIGRATE_MODELS", "DFMIGRATE_DEV_URL"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = run_cli(capsys, "config", "--format", "json")
    bare = shipped_json(out, "config")
    assert code == 0 and bare["file"] is None and bare["settings"]["online"] == {"value": True, "source": "default"}
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndatabase = "postgresql://app:s3cret@db/shop"\n'
                                             'dialects = ["postgresql", "sqlite"]\n[tool.dfmigrate.lint]\n'
                                             'disable = ["ban-drop-column"]\n')
    code, out, _ = run_cli(capsys, "config", "--format", "json", "--dir", "elsewhere")
    shown = shipped_json(out, "config")["settings"]
    assert shown["database"] == {"value": "postgresql://app:***@db/shop", "source": "pyproject.toml"}
    assert shown["dir"] == {"value": "elsewhere", "source": "option"}
    assert shown["dialects"]["value"] == ["postgresql", "sqlite"] and isinstance(shown["lint"]["value"], dict)


BROKEN = {  # one document per schema that must fail it: each is a real shape with one thing wrong
    "migrate": {"ok": False, "dry_run": False, "applied": []},  # failed, but no error
    "status": {"database": "sqlite:///a.db", "dir": "m", "applied": [], "pending": ["0001_a"],
               "phases": {"0001_a": "mid"}, "modified": [], "missing": []},
    "history": {"rows": [{"migration_id": "0001_a", "checksum": "ab", "applied_at": "2026-01-01T00:00:00+00:00",
                          "duration_ms": 3, "applied_by": "me@here", "tool_version": "0.1.0",
                          "direction": "sideways"}]},
    "config": {"file": None, "settings": {"database": {"value": "sqlite:///a.db", "source": "default"}}},
    "rollback": {"ok": True, "dry_run": True, "rolled_back": []},  # a dry run without its sql
}


@pytest.mark.parametrize("command", sorted(BROKEN))
def test_lifecycle_schemas_reject_a_broken_document(command: str) -> None:
    validator = shipped_validator(f"{command}-v1.schema.json")
    document = {"$schema": validator.schema["$id"], "version": 1, **BROKEN[command]}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(document)
    with pytest.raises(jsonschema.ValidationError):  # nor an unknown field at the top
        validator.validate({**document, "surprise": 1})
    with pytest.raises(jsonschema.ValidationError):  # nor another version
        validator.validate({**document, "version": 2})


def test_migrate_schema_rejects_a_broken_step() -> None:
    schema = shipped_schema("migrate-v1.schema.json")
    step = {"migration": "0001_a", "direction": "forward", "outcome": "applied", "duration_ms": 3, "attempts": 1,
            "groups": [], "statements": [], "lock_waits": [], "decisions": [], "watch_errors": [],
            "expectations": None}
    report = {"$schema": schema["$id"], "version": 1, "ok": True, "dry_run": False, "applied": ["0001_a"],
              "lock": None, "steps": [step], "verdicts": {"race": None, "deadlock": None},
              "metrics": {"per_kind": {}, "anomalies": [], "judged": 0, "error": None}}
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
    for wrong in ({"outcome": "sort of"}, {"attempts": "1"}, {"decisions": [{"statement": 1}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**report, "steps": [{**step, **wrong}]}, schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):  # a report with a lock but no steps
        jsonschema.validate({k: v for k, v in report.items() if k != "steps"}, schema,
                            cls=jsonschema.Draft202012Validator)

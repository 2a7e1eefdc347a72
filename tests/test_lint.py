"""``dfmigrate lint`` as a user runs it: files in, findings and exit codes out.

Every rule has a statement it must flag and a near miss it must leave alone; the near misses
include the ones that matter most in practice (the same statement on a table the file itself
created, the safe rewrite the finding recommends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dfmigrate import cli
from dfmigrate.directory import write_sum
from tests.conftest import REPO


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def lint_json(capsys: pytest.CaptureFixture[str], *paths: Path | str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(capsys, "lint", "--format", "json", *map(str, paths))
    assert code in (0, 1), err
    return code, json.loads(out)


def rules_of(report: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in report["findings"]]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty project: no pyproject.toml of the repository's leaks into a test."""
    monkeypatch.chdir(tmp_path)


def sql_file(tmp_path: Path, sql: str, name: str = "change.sql") -> Path:
    path = tmp_path / name
    path.write_text(sql)
    return path


# ---------------------------------------------------------------- every rule: flagged / not flagged

TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\n"

RULE_CASES: dict[str, tuple[str, str]] = {
    "require-concurrent-index-creation": (
        "CREATE INDEX orders_customer_idx ON orders (customer_id);",
        "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);"),
    "require-concurrent-index-deletion": (
        "DROP INDEX orders_customer_idx;",
        "DROP INDEX CONCURRENTLY orders_customer_idx;"),
    "ban-concurrent-index-creation-in-transaction": (
        "BEGIN;\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\nCOMMIT;",
        "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);"),
    "constraint-missing-not-valid": (
        "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);",
        ("ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;\n"
         "ALTER TABLE orders VALIDATE CONSTRAINT total_positive;")),
    "adding-foreign-key-constraint": (
        "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);",
        ("ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) "
         "NOT VALID;")),
    "adding-field-with-default": (
        "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now();"),
    "adding-required-field": (
        "ALTER TABLE accounts ADD COLUMN region text NOT NULL;",
        "ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT 'eu';"),
    "adding-not-nullable-field": (
        "ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL;",
        ("ALTER TABLE orders ADD CONSTRAINT placed_at_nn CHECK (placed_at IS NOT NULL) NOT VALID;\n"
         "ALTER TABLE orders VALIDATE CONSTRAINT placed_at_nn;\n"
         "ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL;")),
    "changing-column-type": (
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);",
        "ALTER TABLE orders ALTER COLUMN total SET DEFAULT 0;"),
    "renaming-column": (
        "ALTER TABLE accounts RENAME COLUMN fullname TO display_name;",
        "CREATE TABLE people (fullname text);\nALTER TABLE people RENAME COLUMN fullname TO display_name;"),
    "renaming-table": (
        "ALTER TABLE accounts RENAME TO customers;",
        "CREATE TABLE staging (id bigint);\nALTER TABLE staging RENAME TO customers;"),
    "ban-drop-column": (
        "ALTER TABLE accounts DROP COLUMN legacy_flag;",
        "ALTER TABLE accounts DROP CONSTRAINT accounts_legacy_check;"),
    "ban-drop-table": (
        "DROP TABLE audit_log_2019;",
        "CREATE TABLE scratch (id bigint);\nDROP TABLE scratch;"),
    "ban-drop-schema": ("DROP SCHEMA legacy CASCADE;", "CREATE SCHEMA reporting;"),
    "ban-drop-database": ("DROP DATABASE shop;", "CREATE DATABASE shop;"),
    "disallowed-unique-constraint": (
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);",
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_idx;"),
    "adding-serial-primary-key-field": (
        "ALTER TABLE accounts ADD PRIMARY KEY (id);",
        "ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx;"),
    "prefer-bigint-over-int": ("CREATE TABLE t (n integer);", "CREATE TABLE t (n bigint);"),
    "prefer-bigint-over-smallint": ("CREATE TABLE t (n smallint);", "CREATE TABLE t (n bigint);"),
    "prefer-identity": ("CREATE TABLE t (id bigserial);",
                        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);"),
    "prefer-timestamptz": ("CREATE TABLE t (at timestamp);", "CREATE TABLE t (at timestamptz);"),
    "prefer-text-field": ("CREATE TABLE t (name varchar(40));", "CREATE TABLE t (name text);"),
    "ban-char-field": ("CREATE TABLE t (code char(3));", "CREATE TABLE t (code text);"),
    "require-timeout-settings": (
        "ALTER TABLE accounts ADD COLUMN note text;",
        TIMEOUTS + "ALTER TABLE accounts ADD COLUMN note text;"),
    "transaction-nesting": (
        "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;",
        "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;"),
    "ban-truncate-cascade": ("TRUNCATE orders CASCADE;", "TRUNCATE orders;"),
    "table-rewrite": ("VACUUM FULL orders;", "VACUUM orders;"),
}


def test_every_rule_has_a_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lint", "--rules")
    listed = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and sorted(listed) == sorted(RULE_CASES)


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_flags_the_hazard_and_not_the_safe_form(rule: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad, good = RULE_CASES[rule]
    _, flagged = lint_json(capsys, sql_file(tmp_path, bad, "bad.sql"))
    assert rule in rules_of(flagged), flagged["findings"]
    _, clean = lint_json(capsys, sql_file(tmp_path, good, "good.sql"))
    assert rule not in rules_of(clean), clean["findings"]


def test_validating_in_the_adding_transaction_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = (TIMEOUTS + "BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES accounts (id) NOT VALID;\n"
           "ALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;")
    _, report = lint_json(capsys, sql_file(tmp_path, sql))
    [finding] = report["findings"]
    assert (finding["rule"], finding["line"]) == ("constraint-missing-not-valid", 5)
    assert "same transaction" in finding["message"]


def test_volatile_default_and_old_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sql_file(tmp_path, TIMEOUTS + "ALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;")
    code, report = lint_json(capsys, path)
    assert (code, report["findings"]) == (0, [])  # a constant default: no rewrite on PostgreSQL 11+
    (tmp_path / "pyproject.toml").write_text("[tool.dfmigrate.lint]\npg_version = 10\n")
    code, report = lint_json(capsys, path)
    assert code == 1 and rules_of(report) == ["adding-field-with-default"]


@pytest.mark.parametrize("column", [
    "seq serial", "seq bigserial", "seq smallint GENERATED ALWAYS AS IDENTITY",
    "seq bigint GENERATED BY DEFAULT AS IDENTITY",
])
def test_serial_and_identity_columns_rewrite_an_existing_table(column: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # nextval() fills every existing row: PostgreSQL rewrites the table (a new relfilenode)
    path = sql_file(tmp_path, TIMEOUTS + f"ALTER TABLE orders ADD COLUMN {column};")
    code, report = lint_json(capsys, path)
    assert code == 1 and "adding-field-with-default" in rules_of(report), report["findings"]
    created = sql_file(tmp_path, TIMEOUTS + f"CREATE TABLE fresh (a int);\nALTER TABLE fresh ADD COLUMN {column};",
                       "new.sql")
    _, report = lint_json(capsys, created)
    assert "adding-field-with-default" not in rules_of(report)


def test_tables_created_in_the_same_file_are_not_existing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = """
CREATE TABLE invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint, total numeric);
CREATE INDEX invoices_account_idx ON invoices (account_id);
ALTER TABLE invoices ADD COLUMN currency text NOT NULL;
ALTER TABLE invoices ALTER COLUMN total SET NOT NULL;
ALTER TABLE invoices ALTER COLUMN total TYPE numeric(12, 2);
ALTER TABLE invoices ADD CONSTRAINT invoices_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE invoices ADD CONSTRAINT invoices_total_key UNIQUE (total);
ALTER TABLE invoices DROP COLUMN currency;
DROP INDEX invoices_account_idx;
"""
    code, report = lint_json(capsys, sql_file(tmp_path, sql))
    assert (code, report["findings"]) == (0, [])
    # the same statements on a table the file did not create are all flagged
    code, report = lint_json(capsys, sql_file(tmp_path, sql.replace("CREATE TABLE invoices", "CREATE TABLE other")))
    assert code == 1
    assert {"require-concurrent-index-creation", "adding-required-field", "adding-not-nullable-field",
            "changing-column-type", "adding-foreign-key-constraint", "disallowed-unique-constraint",
            "ban-drop-column"} <= set(rules_of(report))  # the index is still this file's own


# ---------------------------------------------------------------- acceptance: one hazard per file

HAZARDS = {
    "plain_index.sql": ("CREATE INDEX orders_customer_idx ON orders (customer_id);", "require-concurrent-index-creation"),
    "not_null.sql": ("ALTER TABLE accounts ADD COLUMN region text NOT NULL;", "adding-required-field"),
    "drop_column.sql": ("ALTER TABLE accounts DROP COLUMN legacy_flag;", "ban-drop-column"),
    "rename_column.sql": ("ALTER TABLE accounts RENAME COLUMN fullname TO display_name;", "renaming-column"),
    "validating_fk.sql": (("ALTER TABLE orders ADD CONSTRAINT orders_account_fk\n"
                           "  FOREIGN KEY (account_id) REFERENCES accounts (id);"), "adding-foreign-key-constraint"),
    "type_change.sql": ("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);", "changing-column-type"),
    "drop_table.sql": ("DROP TABLE audit_log_2019;", "ban-drop-table"),
    "set_not_null.sql": ("ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL;", "adding-not-nullable-field"),
}
CLEAN = TIMEOUTS + """
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);
ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;
"""


@pytest.mark.parametrize("name", sorted(HAZARDS))
def test_acceptance_each_hazard_in_every_format(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xml.etree.ElementTree as ET

    sql, rule = HAZARDS[name]
    path = sql_file(tmp_path, sql, name)
    code, report = lint_json(capsys, path)
    assert code == 1 and rule in rules_of(report)
    code, out, _ = run_cli(capsys, "lint", "--format", "sarif", str(path))
    assert code == 1 and rule in [r["ruleId"] for r in json.loads(out)["runs"][0]["results"]]
    code, out, _ = run_cli(capsys, "lint", "--format", "junit", str(path))
    assert code == 1 and rule in [f.get("type") for f in ET.fromstring(out).iter("failure")]
    code, out, _ = run_cli(capsys, "lint", "--format", "github", str(path))
    assert code == 1 and f"::error file={path},line=1,col=1,title={rule}::" in out


def test_acceptance_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("text", "json", "github", "junit", "sarif"):
        code, out, _ = run_cli(capsys, "lint", "--format", fmt, str(sql_file(tmp_path, CLEAN)))
        assert code == 0, out
    assert lint_json(capsys, tmp_path / "change.sql")[1]["findings"] == []


# ---------------------------------------------------------------- suppression comments


def test_suppression_comment_applies_to_its_statement_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = TIMEOUTS + """
-- dfmigrate:ignore ban-drop-column the column is unused since release 42
ALTER TABLE accounts DROP COLUMN legacy_flag;
ALTER TABLE accounts DROP COLUMN other_flag;
ALTER TABLE accounts DROP COLUMN third_flag; -- dfmigrate:ignore ban-drop-column,renaming-column copied elsewhere
ALTER TABLE accounts /* dfmigrate:ignore ban-drop-column inside */ DROP COLUMN fourth_flag;
"""
    _, report = lint_json(capsys, sql_file(tmp_path, sql))
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("ban-drop-column", 6)]


def test_squawk_rule_ids_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = ("-- dfmigrate:ignore require-lock-timeout squawk's id\nALTER TABLE accounts ADD COLUMN note text;\n"
           "CREATE TABLE t (at timestamp);\n")
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate.lint]\ndisable = ["prefer-timestamp-tz"]\n')
    code, report = lint_json(capsys, sql_file(tmp_path, sql))
    assert (code, report["findings"]) == (0, [])


def test_suppression_of_another_rule_does_not_hide(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = TIMEOUTS + "-- dfmigrate:ignore renaming-column wrong rule\nALTER TABLE accounts DROP COLUMN x;\n"
    code, report = lint_json(capsys, sql_file(tmp_path, sql))
    assert code == 1 and rules_of(report) == ["ban-drop-column"]


# ---------------------------------------------------------------- configuration


def test_config_disables_and_downgrades(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sql_file(tmp_path, "ALTER TABLE accounts DROP COLUMN legacy_flag;")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dfmigrate]\ndir = "migrations"\n\n[tool.dfmigrate.lint]\n'
        'disable = ["require-timeout-settings"]\nwarn = ["ban-drop-column"]\n')
    code, report = lint_json(capsys, path)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [("ban-drop-column", "warning")]
    # the section does not upset the commands reading [tool.dfmigrate]
    from dfmigrate.config import resolve

    assert resolve().dir == "migrations"


def test_config_unknown_rule_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate.lint]\ndisable = ["no-such-rule"]\n')
    sql_file(tmp_path, "SELECT 1;")
    result = subprocess_lint(tmp_path, "change.sql")
    assert result.returncode == 2
    assert result.stderr.strip() == ("dfmigrate: error: [tool.dfmigrate.lint]: disable names unknown rule(s) "
                                     "no-such-rule (see 'dfmigrate lint --rules')")


def test_config_naming_a_rule_at_two_levels_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate.lint]\ndisable = ["ban-drop-column"]\n'
                                             'error = ["ban-drop-column", "renaming-column"]\n')
    sql_file(tmp_path, "ALTER TABLE accounts DROP COLUMN legacy_flag;")
    result = subprocess_lint(tmp_path, "change.sql")
    assert result.returncode == 2
    assert result.stderr.strip() == ("dfmigrate: error: [tool.dfmigrate.lint]: ban-drop-column is in both "
                                     "disable and error: list each rule once")


# ---------------------------------------------------------------- errors: exit 2, one line


def subprocess_lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "dfmigrate", "lint", *args], check=False, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    sql_file(tmp_path, TIMEOUTS + "ALTER TABLE accounts\n  ADD COLUM region text;\n", "broken.sql")
    result = subprocess_lint(tmp_path, "broken.sql")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        'dfmigrate: error: broken.sql:4: cannot parse SQL: syntax error at or near "text"']


def test_psql_meta_commands_are_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = "\\set ON_ERROR_STOP on\n" + TIMEOUTS + "  \\echo dropping\nALTER TABLE accounts DROP COLUMN legacy;\n"
    code, report = lint_json(capsys, sql_file(tmp_path, script, "psql.sql"))
    assert code == 1 and [(f["rule"], f["line"]) for f in report["findings"]] == [("ban-drop-column", 5)]
    # a real syntax error after a meta-command is the one named, at its own line
    sql_file(tmp_path, "\\set ON_ERROR_STOP on\nALTER TABLE accounts DROPP legacy;\n", "broken.sql")
    result = subprocess_lint(tmp_path, "broken.sql")
    assert result.returncode == 2 and result.stderr.splitlines() == [
        'dfmigrate: error: broken.sql:2: cannot parse SQL: syntax error at or near "DROPP"']


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = subprocess_lint(tmp_path, "nope.sql")
    assert (result.returncode, result.stderr.strip()) == (2, "dfmigrate: error: nope.sql: no such file or directory")


# ---------------------------------------------------------------- migration files


MIGRATION = '''from dfmigrate.migration import SQLMigration


class Migration(SQLMigration):
    id = "{id}"
    description = "test"
    dependencies = []
    dialect = "{dialect}"
    forward_sql = [
{forward}
    ]
    backward_sql = ["DROP TABLE never_linted"]
    non_transactional = {nt}
'''


def migration(directory: Path, mid: str, forward: list[str], dialect: str = "postgresql",
              nt: list[int] | None = None) -> Path:
    directory.mkdir(exist_ok=True)
    body = "\n".join(f'        """{sql}""",' for sql in forward)
    path = directory / f"{mid}.py"
    path.write_text(MIGRATION.format(id=mid, dialect=dialect, forward=body, nt=nt or []))
    return path


def test_migration_directory_points_at_the_py_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mdir = tmp_path / "migrations"
    migration(mdir, "0001_orders", ["CREATE TABLE orders (id bigint PRIMARY KEY, total numeric)",
                                    "CREATE INDEX orders_total_idx ON orders (total)"])
    migration(mdir, "0002_more", ["ALTER TABLE orders ADD COLUMN note text",
                                  "CREATE INDEX orders_note_idx\n    ON orders (note)",
                                  "CREATE INDEX CONCURRENTLY orders_id_idx ON orders (id)"], nt=[2])
    code, report = lint_json(capsys, mdir)
    shown = str(mdir / "0002_more.py")
    assert code == 1
    assert [(f["rule"], f["file"], f["line"], f["column"]) for f in report["findings"]] == [
        ("require-concurrent-index-creation", shown, 11, 12)]
    # no timeout finding: migrate sets lock_timeout itself; the backward SQL is not linted
    assert report["files"] == [str(mdir / "0001_orders.py"), shown]


def test_migration_transaction_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mdir = tmp_path / "m"
    path = migration(mdir, "0001_x", [
        "CREATE INDEX CONCURRENTLY orders_id_idx ON orders (id)",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES accounts (id) NOT VALID",
        "ALTER TABLE orders VALIDATE CONSTRAINT fk",
        "COMMIT"])
    _, report = lint_json(capsys, path)
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [
        ("ban-concurrent-index-creation-in-transaction", 10),
        ("constraint-missing-not-valid", 12),
        ("transaction-nesting", 13)]


def test_python_comment_suppresses_a_literal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = migration(tmp_path / "m", "0001_x", ["ALTER TABLE accounts DROP COLUMN legacy"])
    text = path.read_text().replace('        """ALTER', '        # dfmigrate:ignore ban-drop-column unused since 2024\n'
                                                       '        """ALTER')
    path.write_text(text)
    code, report = lint_json(capsys, path)
    assert (code, report["findings"]) == (0, [])


def test_sqlite_migrations_are_named_as_not_linted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = migration(tmp_path / "m", "0001_x", ["ALTER TABLE accounts DROP COLUMN legacy"], dialect="sqlite")
    code, out, _ = run_cli(capsys, "lint", str(path))
    assert code == 0
    assert f"note: {path}: a sqlite migration: not linted" in out


def test_generated_steps_are_linted_from_their_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A step that carries its lock and hazards is judged by them, not by re-reading its SQL."""
    path = tmp_path / "m" / "0001_steps.py"
    path.parent.mkdir()
    path.write_text('''from dfmigrate.migration import SQLMigration
from dfmigrate.core.step import Step


class Migration(SQLMigration):
    id = "0001_steps"
    dialect = "postgresql"
    steps = {
        "postgresql": [
            Step("CREATE INDEX orders_total_idx ON public.orders (total)", kind="create index", lock="SHARE",
                 target="public.orders", hazards=("index-build", "share-lock")),
            Step("ALTER TABLE public.orders DROP COLUMN note", kind="drop column", lock="ACCESS EXCLUSIVE",
                 target="public.orders", hazards=()),
            Step("CREATE INDEX CONCURRENTLY orders_id_idx ON public.orders (id)", kind="create index",
                 lock="SHARE UPDATE EXCLUSIVE", target="public.orders", transactional=False),
        ],
        "sqlite": [Step("DROP TABLE never_linted", kind="drop table", hazards=("deletes-data",))],
    }
''')
    _, report = lint_json(capsys, path)
    # the drop carries no deletes-data hazard in its data (say the planner proved the column
    # empty): the data wins over the SQL
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("require-concurrent-index-creation", 10)]


def test_default_path_is_the_configured_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    migration(tmp_path / "mig", "0001_x", ["DROP TABLE accounts"])
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndir = "mig"\n')
    code, out, _ = run_cli(capsys, "lint")
    assert code == 1 and "mig/0001_x.py:10:12: error [ban-drop-table]" in out


# ---------------------------------------------------------------- check runs lint


def test_check_reports_lint_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mdir = tmp_path / "migrations"
    migration(mdir, "0001_orders", ["CREATE TABLE orders (id bigint PRIMARY KEY, total numeric)"])
    write_sum(str(mdir))
    code, out, _ = run_cli(capsys, "check", "--dir", str(mdir), "--database", "postgresql://localhost/unused")
    assert (code, out) == (0, "OK: the directory matches its sum.\n")
    migration(mdir, "0002_index", ["CREATE INDEX orders_total_idx ON orders (total)"])
    write_sum(str(mdir))
    code, out, _ = run_cli(capsys, "check", "--dir", str(mdir), "--database", "postgresql://localhost/unused")
    assert code == 1
    assert f"{mdir}/0002_index.py:10:12: error [require-concurrent-index-creation]" in out
    code, out, _ = run_cli(capsys, "check", "--dir", str(mdir), "--format", "github",
                           "--database", "postgresql://localhost/unused")
    assert code == 1
    assert f"::error file={mdir}/0002_index.py,line=10,col=12,title=require-concurrent-index-creation::" in out


def test_check_integrity_error_is_annotated_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mdir = tmp_path / "migrations"
    migration(mdir, "0001_orders", ["CREATE TABLE orders (id bigint PRIMARY KEY)"])
    write_sum(str(mdir))
    (mdir / "0001_orders.py").write_text((mdir / "0001_orders.py").read_text() + "\n# edited\n")
    code, out, err = run_cli(capsys, "check", "--dir", str(mdir), "--format", "github")
    assert code == 2 and err.startswith("dfmigrate: error: ")
    assert out.startswith(f"::error file={mdir},title=integrity::")


def test_reference_page_documents_every_rule() -> None:
    page = (REPO / "docs" / "commands" / "lint.md").read_text()
    missing = [rule for rule in RULE_CASES if f"### `{rule}`" not in page]
    assert missing == []


def test_consent_recorded_in_the_file_turns_findings_into_notes(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = migration(tmp_path / "m", "0001_x", ["ALTER TABLE accounts DROP COLUMN legacy",
                                                "ALTER TABLE accounts RENAME COLUMN a TO b"])
    code, report = lint_json(capsys, path)
    assert code == 1 and rules_of(report) == ["ban-drop-column", "renaming-column"]
    path.write_text(path.read_text().replace('    dialect = "postgresql"\n',
                                             '    dialect = "postgresql"\n    allow_hazards = ["deletes-data"]\n'))
    code, report = lint_json(capsys, path)
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [("ban-drop-column", "note"),
                                                                       ("renaming-column", "error")]
    assert "allow_hazards deletes-data" in report["findings"][0]["message"]
    path.write_text(path.read_text().replace('["deletes-data"]', '["all"]'))
    code, report = lint_json(capsys, path)
    assert code == 0 and {f["severity"] for f in report["findings"]} == {"note"}


def test_per_dialect_steps_and_hand_written_run_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Generated files hold one ForDialect per dialect; hand-written ones RunSQL operations."""
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "0001_generated.py").write_text('''from dfmigrate.migration import ForDialect, SchemaMigration, Step


class Migration(SchemaMigration):
    id = "0001_generated"
    dependencies = []

    sqlite = ForDialect(
        forward=[Step("DROP TABLE sqlite_only", kind="drop-table", hazards=("deletes-data",))],
    )
    postgresql = ForDialect(
        operations=[],
        forward=[
            Step("ALTER TABLE public.orders ALTER COLUMN placed_at SET NOT NULL", kind="set-not-null",
                 lock="ACCESS EXCLUSIVE", target="public.orders", hazards=("validates-rows", "access-exclusive-lock")),
        ],
        backward=[Step("DROP TABLE never_linted", kind="drop-table", hazards=("deletes-data",))],
    )
''')
    (mdir / "0002_by_hand.py").write_text('''from dfmigrate.migration import Migration, RunSQL


class Migration(Migration):
    id = "0002_by_hand"
    dependencies = ["0001_generated"]
    operations = [
        RunSQL({"postgresql": "ALTER TABLE accounts RENAME TO customers", "sqlite": "DROP TABLE x"},
               reverse="DROP TABLE never_linted"),
        RunSQL(["CREATE TABLE t (id bigint)", "CREATE INDEX t_id ON t (id)"]),
    ]
''')
    _, report = lint_json(capsys, mdir)
    assert [(Path(f["file"]).name, f["rule"], f["line"]) for f in report["findings"]] == [
        ("0001_generated.py", "adding-not-nullable-field", 14),
        ("0002_by_hand.py", "renaming-table", 8)]


def test_sqlite_steps_are_judged_by_their_hazard_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m" / "0002_sqlite.py"
    path.parent.mkdir()
    path.write_text('''from dfmigrate.migration import ForDialect, SchemaMigration, Step


class Migration(SchemaMigration):
    id = "0002_sqlite"
    dependencies = []

    sqlite = ForDialect(
        forward=[
            Step("CREATE TABLE scratch (id INTEGER)", kind="create-table", target="main.scratch"),
            Step("DROP TABLE scratch", kind="drop-table", target="main.scratch", hazards=("deletes-data",)),
            Step("CREATE INDEX users_email ON users (email)", kind="create-index", target="main.users",
                 hazards=("index-build",)),
            Step("DROP TABLE legacy", kind="drop-table", target="main.legacy", hazards=("deletes-data",)),
        ],
    )
''')
    code, report = lint_json(capsys, path)
    # the lock rules are PostgreSQL's; the drop of a table made in this migration loses nothing
    assert code == 1 and [(f["rule"], f["line"]) for f in report["findings"]] == [("ban-drop-table", 14)]


def test_check_counts_lint_warnings_without_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mdir = tmp_path / "migrations"
    migration(mdir, "0001_orders", ["CREATE TABLE orders (id serial PRIMARY KEY, placed_at timestamp)"])
    write_sum(str(mdir))
    code, out, _ = run_cli(capsys, "check", "--dir", str(mdir), "--database", "postgresql://localhost/unused")
    assert (code, out) == (0, "OK: the directory matches its sum.\n3 lint warnings: see 'dfmigrate lint'.\n")


def test_results_are_reused_only_for_the_same_bytes_and_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Files linted before are not parsed again; an edit, or other settings, lint them afresh."""
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    mdir = tmp_path / "migrations"
    path = migration(mdir, "0001_orders", ["ALTER TABLE orders DROP COLUMN note"])
    first = lint_json(capsys, mdir)
    assert rules_of(first[1]) == ["ban-drop-column"] and first[0] == 1

    import dfmigrate.lint.engine as engine

    parsed: list[str] = []
    real = engine.read_unit
    monkeypatch.setattr(engine, "read_unit", lambda p, m, s: parsed.append(p) or real(p, m, s))
    assert lint_json(capsys, mdir) == first and parsed == []  # unchanged: remembered
    path.write_text(path.read_text().replace('"""ALTER', '"""ALTER TABLE orders ADD COLUMN x text""",\n        """ALTER'))
    edited = lint_json(capsys, mdir)
    assert parsed == [str(path)] and rules_of(edited[1]) == ["ban-drop-column"]
    assert edited[1]["findings"][0]["line"] == first[1]["findings"][0]["line"] + 1  # positions of the new bytes
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate.lint]\nwarn = ["ban-drop-column"]\n')
    code, report = lint_json(capsys, mdir)
    assert code == 0 and [f["severity"] for f in report["findings"]] == ["warning"]

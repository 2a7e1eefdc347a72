"""MySQL index names are per table, so two tables may each have an ``ix``; dfmigrate's refs to
an index name its table there (``deps.index_ref``). The lifecycle with such a pair, and the plan
fingerprint (``expects``): a migration that changes ``b``'s ``ix`` expects ``b``'s, not whichever
table's comes first: a hand change to ``a.ix`` does not refuse it, and one to ``b.ix`` does,
naming it. On the machine's MariaDB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dfmigrate.directory import load_all, write_sum
from tests.test_mysql_apply import finish, generated, history, migrate
from tests.test_runner import cli, query

V1 = '''
from dfmigrate import field, index, model


@model
class A:
    __timestamps__ = False
    x: int
    __indexes__ = (index("x", name="ix"),)


@model
class B:
    __timestamps__ = False
    y: int
    z: int = 0
    __indexes__ = (index("y", name="ix"),)
'''

V2 = V1.replace('index("y", name="ix")', 'index("y", "z", name="ix")')


def directory(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    # MySQL only: PostgreSQL and SQLite name indexes per schema, where these two ix collide
    (tmp_path / "pyproject.toml").write_text('[tool.dfmigrate]\ndialects = ["mysql"]\n')
    monkeypatch.chdir(tmp_path)
    mdir = generated(tmp_path, url, ("v1", V1), ("v2", V2))
    write_sum(str(mdir))
    return mdir


def index_columns(url: str, table: str) -> list[str]:
    return [r[0] for r in query(url, "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                                     f"DATABASE() AND TABLE_NAME = '{table}' AND INDEX_NAME = 'ix' ORDER BY SEQ_IN_INDEX")]


def test_same_index_name_on_two_tables_lifecycle(mysql_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    mdir = directory(tmp_path, mysql_url, monkeypatch)
    first, second = (m.cls().mysql for m in load_all(str(mdir)))
    assert {(type(c).__name__, c.table) for c in second.operations} == {("DropIndex", "bs"), ("CreateIndex", "bs")}
    forward = " ".join(s.sql for s in second.forward)
    assert "`bs`" in forward and "`as`" not in forward, forward

    assert cli(["migrate", "--database", mysql_url, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    assert (index_columns(mysql_url, "as"), index_columns(mysql_url, "bs")) == (["x"], ["y"])
    assert cli(["drift", "--database", mysql_url, "--dir", str(mdir)]) == 0
    code, report, err = finish(migrate(mysql_url, mdir))
    assert code == 0 and report["applied"] == ["0002_v2"], err
    assert (index_columns(mysql_url, "as"), index_columns(mysql_url, "bs")) == (["x"], ["y", "z"])
    assert cli(["drift", "--database", mysql_url, "--dir", str(mdir)]) == 0
    # and back: only bs's ix is restored
    assert cli(["rollback", "--database", mysql_url, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    assert (index_columns(mysql_url, "as"), index_columns(mysql_url, "bs")) == (["x"], ["y"])
    assert cli(["drift", "--database", mysql_url, "--dir", str(mdir)]) == 0


def test_index_expectations_are_keyed_by_table_and_name(mysql_db, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    first = mysql_db("expect_a")
    mdir = directory(tmp_path, first, monkeypatch)
    expects = load_all(str(mdir))[1].cls().mysql.expects
    indexes = sorted(name for kind, _ns, name, _digest in expects if kind == "index")
    assert indexes == ["bs.ix"], expects

    # another table's same-named index changed by hand: not this migration's business
    assert cli(["migrate", "--database", first, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    query(first, "ALTER TABLE `as` DROP INDEX ix, ADD INDEX ix (x DESC)")
    code, report, err = finish(migrate(first, mdir))
    assert code == 0 and report["applied"] == ["0002_v2"], err

    # the index the migration changes, changed by hand since it was planned: refused, named
    second = mysql_db("expect_b")
    assert cli(["migrate", "--database", second, "--dir", str(mdir), "--to", "0001_v1"]) == 0
    query(second, "ALTER TABLE bs DROP INDEX ix, ADD INDEX ix (y DESC)")
    code, _, err = finish(migrate(second, mdir))
    assert code == 2 and "index main.bs.ix changed" in err, err
    assert [r[0] for r in history(second)] == ["0001_v1"]


def test_without_the_dialects_setting_the_pair_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # the directory would hold SQLite and PostgreSQL SQL too, where index names are per schema
    (tmp_path / "pyproject.toml").write_text("[tool.dfmigrate]\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.py").write_text(V1)
    assert cli(["makemigrations", "--models", "models.py", "--dir", "migrations", "--dialect", "mysql", "-m", "v1"]) == 2
    err = capsys.readouterr().err
    assert "ix on main.as and main.bs. Give them names of their own" in err and "dialects setting" in err, err
    assert not (tmp_path / "migrations").exists() or not list((tmp_path / "migrations").glob("0001_*"))

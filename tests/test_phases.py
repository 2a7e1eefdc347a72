"""Expand and contract: ``makemigrations --phases`` and ``migrate --phase pre|post``, on real
PostgreSQL and SQLite, through the command line.

The release still running is played by SQL written against the old models (an INSERT leaving the
new column out, a SELECT of the column the new models drop), the new release by SQL written
against the new models. After ``migrate --phase pre`` both work; after ``migrate --phase post``
the database is what the models say (no drift, nothing left to generate).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.directory import load_all
from tests.test_makemigrations_online import execute, files, in_dir, project, script
from tests.test_runner import cli, query

V1 = '''
from typing import Optional
from dfmigrate import model, field

@model
class Parent:
    name: str = ""

@model
class Item:
    code: str = field(max_length=20)
    n: int = 0
    parent_id: Optional[int] = None
    note: str = field()
'''
# a NOT NULL column with a backfill, a dropped NOT NULL column, a foreign key on an existing table
V2 = V1.replace("    parent_id: Optional[int] = None",
                '    parent_id: Optional[int] = field(default=None, references="parents.id")') \
       .replace("    note: str = field()", '    score: int = field(backfill="n * 2")')
CONSENT = ("--allow-hazards", "deletes-data,breaks-clients")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def dfm(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the command line in this process (in the current directory): (exit code, out, err)."""
    from dfmigrate import cli as cli_module
    from dfmigrate.cli.authoring import makemigrations

    if makemigrations.name not in cli_module.cli.commands:
        cli_module.cli.add_command(makemigrations)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def pg_and_sqlite(pg_db: Any, sqlite_path: str) -> list[str]:
    return [pg_db("phases"), "sqlite:///" + sqlite_path]


def columns(url: str) -> dict[str, bool]:
    """Column name → nullable, as the database says."""
    if url.startswith("sqlite"):
        return {r[1]: not r[3] for r in query(url, "PRAGMA table_info(items)")}
    return {r[0]: r[1] == "YES" for r in query(url, "SELECT column_name::text, is_nullable::text FROM "
                                                    "information_schema.columns WHERE table_name = 'items'")}


def test_a_breaking_change_splits_into_pre_and_post_deploy_migrations(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any, sqlite_path: str) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V2)
    code, out, err = dfm("makemigrations", "-m", "v2", "--phases", *CONSENT)
    assert (code, err) == (0, ""), err
    assert "Wrote migrations/0002_v2_pre_deploy.py (pre-deploy: run 'dfmigrate migrate --phase pre'" in out
    assert "Wrote migrations/0003_v2_post_deploy.py (post-deploy: run 'dfmigrate migrate --phase post'" in out
    pre, post = load_all("migrations")[1:]
    assert (pre.cls.phase, post.cls.phase) == ("pre", "post")
    # the consent goes with the file that drops: the pre-deploy one has nothing destructive
    assert (pre.cls.allow_hazards, post.cls.allow_hazards) == ([], ["breaks-clients", "deletes-data"])
    first, second = script(root, 2), script(root, 3)
    for fragment in ("ALTER COLUMN note DROP NOT NULL", "ADD COLUMN score integer", "SET score = n * 2",
                     "REFERENCES public.parents(id) NOT VALID"):
        assert fragment in first, f"{fragment!r} missing from the pre-deploy file:\n{first}"
    assert "DROP COLUMN" not in first and "VALIDATE" not in first and "SET NOT NULL" not in first
    for fragment in ("SET score = n * 2", "DROP COLUMN note", "VALIDATE CONSTRAINT items_parent_id_fkey",
                     "ALTER COLUMN score SET NOT NULL"):
        assert fragment in second, f"{fragment!r} missing from the post-deploy file:\n{second}"
    assert "UPDATE items SET score = n * 2 WHERE score IS NULL" in script(root, 3, "sqlite")
    # the directory replays to the models, and check is clean
    assert dfm("check")[0] == 0
    assert dfm("makemigrations", "--check")[1].startswith("No changes detected")

    for url in pg_and_sqlite(pg_db, sqlite_path):
        assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
        execute(url, "INSERT INTO parents (name) VALUES ('p')")
        execute(url, "INSERT INTO items (code, n, parent_id, note) VALUES ('a', 1, 1, 'x'), ('b', 2, NULL, 'y')")
        code, out, _ = dfm("status", "--database", url)
        assert "pending   0002_v2_pre_deploy  (pre-deploy)" in out and \
            "pending   0003_v2_post_deploy  (post-deploy)" in out
        assert "migrate --phase pre stops before 0003_v2_post_deploy" in out

        code, out, err = dfm("migrate", "--database", url, "--phase", "pre")
        assert (code, err) == (0, ""), out + err
        assert "applied 0002_v2_pre_deploy" in out and "0003" not in out.replace("Stopped before 0003", "")
        assert "Stopped before 0003_v2_post_deploy (post-deploy)" in out
        # the expanded schema: the new column nullable and filled, the old one still there
        assert columns(url) | {"score": True, "note": True} == columns(url)
        assert query(url, "SELECT n, score, note FROM items ORDER BY n") == [(1, 2, "x"), (2, 4, "y")]
        # the release still running: inserts without the new column, reads the dropped one
        execute(url, "INSERT INTO items (code, n, parent_id, note) VALUES ('old', 10, 1, 'from the old release')")
        assert query(url, "SELECT note FROM items WHERE n = 10") == [("from the old release",)]
        # the new release: writes the new column, leaves the dropped one out
        execute(url, "INSERT INTO items (code, n, score) VALUES ('new', 20, 7)")
        if url.startswith("postgresql"):
            assert query(url, "SELECT convalidated FROM pg_constraint WHERE conname = 'items_parent_id_fkey'") \
                == [(False,)]
        assert dfm("migrate", "--database", url, "--phase", "pre")[1].startswith("Stopped before 0003")

        code, out, err = dfm("migrate", "--database", url, "--phase", "post")
        assert (code, err) == (0, ""), out + err
        assert "applied 0003_v2_post_deploy" in out
        # the rows the old release inserted meanwhile were filled before NOT NULL
        assert query(url, "SELECT n, score FROM items ORDER BY n") == [(1, 2), (2, 4), (10, 20), (20, 7)]
        assert "note" not in columns(url) and columns(url)["score"] is False
        with pytest.raises(Exception, match="(?i)not.null"):
            execute(url, "INSERT INTO items (code, n) VALUES ('late', 30)")
        if url.startswith("postgresql"):
            assert query(url, "SELECT conname FROM pg_constraint WHERE NOT convalidated") == []
        assert dfm("drift", "--database", url)[0] == 0


def test_the_post_deploy_side_without_a_flag_and_in_scripts(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, sqlite_path: str) -> None:
    """No --phase (and --phase post) applies everything; --sql --phase pre stops where migrate does."""
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V2)
    assert dfm("makemigrations", "-m", "v2", "--phases", *CONSENT)[0] == 0
    code, out, _ = dfm("migrate", "--sql", "--dialect", "sqlite", "--phase", "pre")
    assert code == 0 and "0002_v2_pre_deploy" in out and "0003_v2_post_deploy" not in out
    code, out, _ = dfm("migrate", "--sql", "--dialect", "sqlite")
    assert code == 0 and "0003_v2_post_deploy" in out
    url = "sqlite:///" + sqlite_path
    code, out, err = dfm("migrate", "--database", url)
    assert (code, err) == (0, "") and "applied 0002_v2_pre_deploy" in out and "applied 0003_v2_post_deploy" in out
    assert dfm("drift", "--database", url)[0] == 0


def test_a_change_that_breaks_nothing_is_one_ordinary_migration(
        dfm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    # a nullable column, an index, a longer varchar: the running release notices none of them
    (root / "models.py").write_text(V1.replace("field(max_length=20)", "field(max_length=40, index=True)")
                                    .replace("    n: int = 0\n", "    n: int = 0\n    extra: Optional[int] = None\n"))
    code, out, err = dfm("makemigrations", "-m", "additive", "--phases")
    assert (code, err) == (0, ""), err
    assert "Wrote migrations/0002_additive.py (one migration: nothing in it breaks the running release)" in out
    assert [m.name for m in load_all("migrations")] == ["0001_v1.py", "0002_additive.py"]
    assert load_all("migrations")[1].cls.phase is None
    assert "phase" not in (root / "migrations" / "0002_additive.py").read_text()
    assert "ALTER COLUMN code TYPE character varying(40)" in script(root, 2)
    assert dfm("check")[0] == 0


def test_a_change_with_nothing_to_add_first_is_one_post_deploy_migration(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, sqlite_path: str) -> None:
    root = project("p", V1.replace("    note: str = field()", "    note: Optional[str] = None"))
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    # a dropped nullable column and a shorter varchar: both wait for the old release to go
    (root / "models.py").write_text(V1.replace("    note: str = field()\n", "")
                                    .replace("max_length=20", "max_length=10"))
    code, out, err = dfm("makemigrations", "-m", "contract", "--phases", *CONSENT)
    assert (code, err) == (0, ""), err
    assert "Wrote migrations/0002_contract_post_deploy.py (post-deploy" in out
    assert "Nothing in this change can go before the deploy" in out
    assert load_all("migrations")[1].cls.phase == "post"
    url = "sqlite:///" + sqlite_path
    assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
    code, out, _ = dfm("migrate", "--database", url, "--phase", "pre")
    assert code == 0 and "applied" not in out and "Stopped before 0002_contract_post_deploy" in out
    assert "note" in columns(url)
    assert dfm("migrate", "--database", url, "--phase", "post")[0] == 0
    assert "note" not in columns(url)


RENAMED = '''
from typing import Optional
from dfmigrate import model, field

@model
class Item:
    sku: str = field(max_length=20, renamed_from="code")
    n: int = 0
    title: Optional[str] = field(default=None, renamed_from="label")
'''


def test_a_renamed_column_is_added_backfilled_and_its_old_column_dropped_after_the_deploy(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any, sqlite_path: str) -> None:
    before = RENAMED.replace('sku: str = field(max_length=20, renamed_from="code")', "code: str = field(max_length=20)") \
                    .replace('title: Optional[str] = field(default=None, renamed_from="label")',
                             "label: Optional[str] = None")
    root = project("p", before)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(RENAMED)
    code, out, err = dfm("makemigrations", "-m", "rename", "--phases", *CONSENT)
    assert (code, err) == (0, ""), err
    first, second = script(root, 2), script(root, 3)
    assert "RENAME" not in first + second
    assert "ADD COLUMN sku character varying(20)" in first and "SET sku = \"code\"" in first
    assert "DROP COLUMN code" in second and "SET sku = \"code\"" in second
    assert dfm("check")[0] == 0
    for url in pg_and_sqlite(pg_db, sqlite_path):
        assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
        execute(url, "INSERT INTO items (code, n, label) VALUES ('a', 1, 'la'), ('b', 2, NULL)")
        assert dfm("migrate", "--database", url, "--phase", "pre")[0] == 0
        execute(url, "INSERT INTO items (code, n, label) VALUES ('old', 3, 'from the old release')")
        execute(url, "INSERT INTO items (sku, n, title) VALUES ('new', 4, 'from the new release')")
        assert query(url, "SELECT code, sku FROM items ORDER BY n") == [("a", "a"), ("b", "b"), ("old", None),
                                                                       (None, "new")]
        code, out, err = dfm("migrate", "--database", url, "--phase", "post")
        assert (code, err) == (0, ""), out + err
        assert query(url, "SELECT n, sku, title FROM items ORDER BY n") == [
            (1, "a", "la"), (2, "b", None), (3, "old", "from the old release"), (4, "new", "from the new release")]
        assert dfm("drift", "--database", url)[0] == 0


def test_a_table_rename_is_refused_with_phases(dfm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    written = files(root)
    (root / "models.py").write_text(V1.replace("class Item:", 'class Item:\n    __tablename__ = "things"\n'
                                                              '    __renamed_from__ = "items"'))
    code, out, err = dfm("makemigrations", "-m", "rename", "--phases")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--phases cannot split renaming table items to things" in err and "nothing written" in err
    assert files(root) == written
    code, _, err = dfm("makemigrations", "--empty", "--phases")
    assert code == 2 and "not to --empty" in err


def test_plan_shows_the_phase_and_stops_where_migrate_does(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, sqlite_path: str) -> None:
    import json

    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V2)
    assert dfm("makemigrations", "-m", "v2", "--phases", *CONSENT)[0] == 0
    url = "sqlite:///" + sqlite_path
    code, out, _ = dfm("plan", "--database", url, "--format", "json")
    assert code == 0
    assert [(m["id"], m["phase"]) for m in json.loads(out)["migrations"]] == [
        ("0001_v1", None), ("0002_v2_pre_deploy", "pre"), ("0003_v2_post_deploy", "post")]
    code, out, _ = dfm("plan", "--database", url, "--format", "json", "--phase", "pre")
    assert [m["id"] for m in json.loads(out)["migrations"]] == ["0001_v1", "0002_v2_pre_deploy"]


def test_a_misspelt_phase_is_refused(dfm: Any, monkeypatch: pytest.MonkeyPatch, sqlite_path: str) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V2)
    assert dfm("makemigrations", "-m", "v2", "--phases", *CONSENT)[0] == 0
    path = root / "migrations" / "0003_v2_post_deploy.py"
    path.write_text(path.read_text().replace('phase = "post"', 'phase = "later"'))
    assert dfm("rehash")[0] == 0
    url = "sqlite:///" + sqlite_path
    code, out, err = dfm("migrate", "--database", url, "--phase", "pre")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert 'phase must be "pre" or "post" (or absent), not \'later\'' in err
    assert dfm("status", "--database", url)[0] == 2


MYSQL_V1 = '''
from typing import Optional
from dfmigrate import model, field

@model
class Parent:
    name: str = field(max_length=50, default="")

@model
class Item:
    code: str = field(max_length=20)
    parent_id: Optional[int] = None
    note: str = field(max_length=50)
'''
MYSQL_V2 = MYSQL_V1.replace("    parent_id: Optional[int] = None",
                            '    parent_id: Optional[int] = field(default=None, references="parents.id")') \
                   .replace("    note: str = field(max_length=50)", "    extra: Optional[int] = None")


def test_mysql_splits_the_same_way_and_refuses_what_needs_a_backfill(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, mysql_url: str) -> None:
    root = project("p", MYSQL_V1, 'dialects = ["mysql"]\n')
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    written = files(root)
    (root / "models.py").write_text(MYSQL_V2.replace("    code: str = field(max_length=20)",
                                                     '    sku: str = field(max_length=20, renamed_from="code")'))
    code, out, err = dfm("makemigrations", "-m", "rename", "--phases")
    assert code == 2 and "renaming column items.sku as add + backfill + drop" in err and "no backfill form on MySQL" in err
    assert files(root) == written
    (root / "models.py").write_text(MYSQL_V2)
    code, out, err = dfm("makemigrations", "-m", "v2", "--phases", *CONSENT)
    assert (code, err) == (0, ""), err
    assert [m.cls.phase for m in load_all("migrations")] == [None, "pre", "post"]
    assert dfm("check")[0] == 0
    assert dfm("migrate", "--database", mysql_url, "--to", "0001_v1")[0] == 0
    assert dfm("migrate", "--database", mysql_url, "--phase", "pre")[0] == 0
    query(mysql_url, "INSERT INTO items (code, note) VALUES ('old', 'from the old release')")
    query(mysql_url, "INSERT INTO items (code, extra) VALUES ('new', 1)")
    assert query(mysql_url, "SELECT code, note, extra FROM items ORDER BY id") == [
        ("old", "from the old release", None), ("new", None, 1)]
    code, out, err = dfm("migrate", "--database", mysql_url, "--phase", "post")
    assert (code, err) == (0, ""), out + err
    assert dfm("drift", "--database", mysql_url)[0] == 0


def test_the_summary_says_which_way_nullability_goes() -> None:
    """The pre-deploy side drops a NOT NULL and the post-deploy side sets one: the lines
    makemigrations prints for them must not read the same."""
    from dfmigrate.core.changes import AlterColumn, ColumnChange
    from dfmigrate.core.describe import describe
    from dfmigrate.core.schema import Column

    required, optional = Column(name="score", type="integer", nullable=False), Column(name="score", type="integer")
    assert describe(AlterColumn("public", "items", optional, required, ColumnChange.NULLABLE)) == \
        "alter column public.items.score (set not null)"
    assert describe(AlterColumn("public", "items", required, optional, ColumnChange.NULLABLE | ColumnChange.TYPE)) \
        == "alter column public.items.score (type, drop not null)"

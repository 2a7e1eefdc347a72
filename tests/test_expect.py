"""Expectations: the planned state of what a migration touches, and what breaks them."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.core.engine import plan_migration
from dfmigrate.core.expect import digest, expectations, mismatches, object_state
from dfmigrate.core.schema import CheckConstraint, Column, Enum, Index, IndexPart, Ref, Schema, Table


def _users(*extra: Column, indexes=(), checks=()) -> Table:
    return Table("public", "users", (Column("id", "integer", nullable=False), Column("email", "text"), *extra),
                 indexes=tuple(indexes), checks=tuple(checks))


def _schema(*tables: Table, enums=()) -> Schema:
    return Schema("postgresql", namespaces=("public",), tables=tables, enums=tuple(enums))


def test_a_plan_expects_its_pre_state_and_the_pre_state_meets_it() -> None:
    before = _schema(_users())
    after = _schema(_users(Column("nick", "text")), Table("public", "orders", (Column("id", "integer"),)))
    plan = plan_migration(before, after)
    expected = expectations(plan.changes, before, after)
    by_ref = {(k, ns, n): d for k, ns, n, d in expected}
    assert by_ref[("column", "public", "users.nick")] is None  # must not exist yet
    assert by_ref[("table", "public", "orders")] is None
    assert by_ref[("table", "public", "users")] is not None  # touched: must exist as planned
    assert mismatches(before, expected) == []
    assert expected == sorted(expected)


def test_a_changed_or_added_object_is_reported() -> None:
    before = _schema(_users())
    after = _schema(replace(_users(), columns=(Column("id", "integer", nullable=False), Column("email", "varchar(200)"))))
    expected = expectations(plan_migration(before, after).changes, before, after)
    # someone made the column NOT NULL by hand after the plan was made
    live = _schema(replace(_users(), columns=(Column("id", "integer", nullable=False),
                                              Column("email", "text", nullable=False))))
    found = mismatches(live, expected)
    assert [str(m.ref) for m in found] == ["column public.users.email"]
    assert "changed" in str(found[0])
    # and an object the plan creates already exists
    after2 = _schema(_users(Column("nick", "text")))
    expected2 = expectations(plan_migration(before, after2).changes, before, after2)
    assert [str(m) for m in mismatches(after2, expected2)] == [
        "column public.users.nick exists (the plan expected it absent)"]


def test_unrelated_parts_of_a_touched_table_do_not_block() -> None:
    before = _schema(_users())
    after = _schema(_users(Column("nick", "text")))
    expected = expectations(plan_migration(before, after).changes, before, after)
    live = _schema(_users(indexes=[Index("users_email_idx", (IndexPart("email"),))],
                          checks=[CheckConstraint("email_len", "(length(email) < 300)")]))
    assert mismatches(live, expected) == []
    assert [str(m) for m in mismatches(_schema(), expected)] == [
        "table public.users is missing (the plan expected it)"]


def test_tuned_storage_parameters_do_not_block_unless_the_migration_changes_them() -> None:
    users = replace(_users(), options=("fillfactor=100",))
    before = _schema(users)
    after = _schema(replace(users, columns=(*users.columns, Column("nick", "text"))))
    expected = expectations(plan_migration(before, after).changes, before, after)
    tuned = _schema(replace(users, options=("autovacuum_enabled=false", "fillfactor=90")))
    assert mismatches(tuned, expected) == []
    # a file written before recorded the whole table: it matches the table as planned, not a tuned one
    whole = [(k, ns, n, digest(object_state(before, Ref(k, ns, n)))) for k, ns, n, _ in expected]
    assert whole != expected and mismatches(before, whole) == []
    assert [str(m.ref) for m in mismatches(tuned, whole)] == ["table public.users"]
    # a migration that sets a parameter was planned against the ones it found
    after2 = _schema(replace(users, options=("fillfactor=70",)))
    expected2 = expectations(plan_migration(before, after2).changes, before, after2)
    assert [str(m.ref) for m in mismatches(tuned, expected2)] == ["table public.users"]


def test_object_states_per_kind() -> None:
    mood = Enum("public", "mood", ("sad", "happy"))
    schema = _schema(_users(indexes=[Index("users_email_idx", (IndexPart("email"),))]), enums=[mood])
    assert object_state(schema, Ref("index", "public", "users_email_idx"))["on"] == "users"
    assert object_state(schema, Ref("index", "public", "nope")) is None
    assert object_state(schema, Ref("type", "public", "mood"))["type"] == "Enum"
    assert digest(object_state(schema, Ref("type", "public", "mood"))) != digest(
        object_state(_schema(enums=[replace(mood, labels=("sad",))]), Ref("type", "public", "mood")))
    assert object_state(schema, Ref("namespace", "", "public")) == {"namespace": "public"}
    assert object_state(schema, Ref("namespace", "", "other")) is None


def _two_tables_with_ix(dialect: str, b_parts: tuple[str, ...] = ("y",)) -> Schema:
    ns = "main"
    return Schema(dialect, namespaces=(ns,), tables=(  # type: ignore[arg-type]
        Table(ns, "a", (Column("x", "int"),), indexes=(Index("ix", (IndexPart("x"),)),)),
        Table(ns, "b", (Column("y", "int"), Column("z", "int")),
              indexes=(Index("ix", tuple(IndexPart(c) for c in b_parts)),))))


def test_an_index_ref_names_its_table_on_mysql_only() -> None:
    from dfmigrate.core.deps import index_ref

    assert index_ref("mysql", "main", "b", "ix") == Ref("index", "main", "b.ix")
    for dialect in ("postgresql", "sqlite"):  # schema-scoped names: refs (and files) as before
        assert index_ref(dialect, "main", "b", "ix") == Ref("index", "main", "ix")
    schema = _two_tables_with_ix("mysql")
    assert object_state(schema, Ref("index", "main", "b.ix"))["on"] == "b"
    assert object_state(schema, Ref("index", "main", "a.ix"))["on"] == "a"
    assert object_state(schema, Ref("index", "main", "c.ix")) is None
    # a MySQL migration written when refs were bare names finds what it found then
    assert object_state(schema, Ref("index", "main", "ix"))["on"] == "a"


def test_a_mysql_plan_expects_the_changed_tables_index() -> None:
    before, after = _two_tables_with_ix("mysql"), _two_tables_with_ix("mysql", ("y", "z"))
    plan = plan_migration(before, after)
    expected = expectations(plan.changes, before, after)
    assert [n for k, _, n, _ in expected if k == "index"] == ["b.ix"]
    assert mismatches(before, expected) == []
    live = _two_tables_with_ix("mysql")  # a.ix changed by hand: not this plan's business
    live = replace(live, tables=(replace(live.tables[0], indexes=(Index("ix", (IndexPart("x", descending=True),)),)),
                                 live.tables[1]))
    assert mismatches(live, expected) == []
    live = _two_tables_with_ix("mysql", ("z",))  # b.ix changed: refused, named
    assert [str(m.ref) for m in mismatches(live, expected)] == ["index main.b.ix"]


def test_a_comment_on_one_of_two_same_named_mysql_indexes_folds_onto_its_table() -> None:
    from dfmigrate.core.changes import SetComment
    from dfmigrate.core.deps import index_ref
    from dfmigrate.core.fold import fold

    before = _two_tables_with_ix("mysql")
    after = fold(before, [SetComment(index_ref("mysql", "main", "b", "ix"), "hi")])
    assert [i.comment for t in after.tables for i in t.indexes] == [None, "hi"]


# ---------------------------------------------------------------- the runner's check, end to end

import asyncio  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.test_formats import shipped_json  # noqa: E402
from tests.test_runner import cli, query  # noqa: E402

MODELS_V1 = '''
from dfmigrate import field, model

@model
class Customer:
    __timestamps__ = False
    email: str = field(max_length=200, unique=True)
    name: str = field(max_length=100)
'''
MODELS_V2 = MODELS_V1 + '''    nick: str | None = None

@model
class Invoice:
    __timestamps__ = False
    customer_id: int = field(references="customers.id")
    total: int = 0
'''


def _two_migrations(tmp_path: Path, url: str) -> tuple[str, str]:
    from dfmigrate.directory.make import make_migrations

    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    mdir = str(tmp_path / "mig")
    (tmp_path / "v1.py").write_text(MODELS_V1)
    (tmp_path / "v2.py").write_text(MODELS_V2)
    asyncio.run(make_migrations(str(tmp_path / "v1.py"), mdir, dialect=dialect, message="one",
                                dev_url=None if dialect == "sqlite" else url))
    asyncio.run(make_migrations(str(tmp_path / "v2.py"), mdir, message="two",
                                dev_url=None if dialect == "sqlite" else url))
    assert "expects=[" in next(Path(mdir).glob("0002_*.py")).read_text()
    return mdir, dialect


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrate_refuses_a_migration_whose_planned_objects_changed(
        dialect: str, tmp_path: Path, sqlite_path: str, pg_db, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{sqlite_path}" if dialect == "sqlite" else pg_db("expect")
    mdir, _ = _two_migrations(tmp_path, url)
    assert cli(["migrate", "--database", url, "--dir", mdir, "--to", "0001_one"]) == 0
    # after the plan was written, someone adds the column the next migration adds
    query(url, "ALTER TABLE customers ADD COLUMN nick varchar(10)")
    history = query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1")
    capsys.readouterr()
    assert cli(["migrate", "--database", url, "--dir", mdir, "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert "0002_two was planned against another schema" in err and "customers.nick exists" in err
    assert len(err.strip().splitlines()) == 1
    report = shipped_json(out, "migrate")
    assert report["ok"] is False
    if dialect == "postgresql":
        assert report["verdicts"]["race"]["verdict"].startswith("RACE: 0002_two was planned against")
    assert query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1") == history
    assert [r[0] for r in query(url, "SELECT count(*) FROM " + ("sqlite_master WHERE name = 'invoices'" if dialect == "sqlite"
                                                              else "pg_tables WHERE tablename = 'invoices'"))] == [0]
    # put it back as planned: the migration runs
    query(url, "ALTER TABLE customers DROP COLUMN nick")
    assert cli(["migrate", "--database", url, "--dir", mdir]) == 0
    assert [r[0] for r in query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1")] == ["0001_one", "0002_two"]


def test_a_table_tuned_by_hand_does_not_stop_the_next_migration(tmp_path: Path, pg_db) -> None:
    url = pg_db("tuned")
    mdir, _ = _two_migrations(tmp_path, url)
    assert cli(["migrate", "--database", url, "--dir", mdir, "--to", "0001_one"]) == 0
    query(url, "ALTER TABLE customers SET (autovacuum_enabled = false, fillfactor = 90)")
    assert cli(["migrate", "--database", url, "--dir", mdir]) == 0
    assert [r[0] for r in query(url, "SELECT migration_id FROM dfmigrate_history ORDER BY 1")] == ["0001_one", "0002_two"]
    assert query(url, "SELECT reloptions FROM pg_class WHERE relname = 'customers'") == [
        (["autovacuum_enabled=false", "fillfactor=90"],)]  # left as tuned
    assert cli(["drift", "--database", url, "--dir", mdir]) == 1  # and still reported as drift


def test_statement_timings_are_recorded_and_an_outlier_is_flagged(tmp_path: Path, sqlite_path: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Each applied statement's duration goes to dfmigrate_timings with its kind; a statement
    far slower than the recorded history of its kind is reported by PerformanceAnomalyNode."""
    from tests.test_runner import write_migration

    url = f"sqlite:///{sqlite_path}"
    mdir = tmp_path / "m"
    write_migration(mdir, "0001_t", "sqlite", ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"], ["DROP TABLE t"])
    assert cli(["migrate", "--database", url, "--dir", str(mdir)]) == 0
    rows = query(url, "SELECT migration_id, direction, statement, kind FROM dfmigrate_timings")
    assert rows == [("0001_t", "forward", 1, "create-table")]  # the step's kind
    # a history of fast inserts of one kind, then one that takes ~0.4 s
    import sqlite3

    with sqlite3.connect(sqlite_path) as db:  # commits
        db.executemany("INSERT INTO dfmigrate_timings (run_id, migration_id, direction, statement, kind, ms)"
                       " VALUES (?, 'x', 'forward', 1, 'insert', ?)", [(f"old{i}", 1.0 + i * 0.1) for i in range(6)])
    db.close()
    slow = ("INSERT INTO t (v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)"
            " SELECT 'x' FROM n")
    write_migration(mdir, "0002_fill", "sqlite", [slow], ["DELETE FROM t"], deps=["0001_t"])
    capsys.readouterr()
    assert cli(["migrate", "--database", url, "--dir", str(mdir), "--format", "json"]) == 0
    report = shipped_json(capsys.readouterr().out, "migrate")
    metrics = report["metrics"]
    assert metrics["per_kind"]["insert"]["count"] == 1 and metrics["error"] is None
    assert len(metrics["anomalies"]) == 1, metrics
    (anomaly,) = metrics["anomalies"]
    assert anomaly["migration"] == "0002_fill" and anomaly["kind"] == "insert" and anomaly["history"] == 6
    assert anomaly["ms"] > 100 and anomaly["baseline_mean_ms"] < 5
    assert len(query(url, "SELECT * FROM dfmigrate_timings WHERE migration_id = '0002_fill'")) == 1


def test_the_live_schema_is_read_once_per_run_then_advanced_by_each_migration(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """migrate checks each migration's planned objects without introspecting the whole database
    before every migration: the tracker folds what each applied migration did, and that equals
    what a fresh read of the database shows."""
    import sqlite3

    from dfmigrate.core import expect
    from dfmigrate.directory import load_all
    from dfmigrate.directory.make import make_migrations
    from dfmigrate.runner.connections import SqliteConnection
    from tests.test_fold import by_column_name

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    Path("m.py").write_text("from dfmigrate import model, field\n\n@model\nclass Author:\n    name: str = ''\n")
    asyncio.run(make_migrations("m.py", "migrations"))
    Path("m.py").write_text("from dfmigrate import model, field\n\n@model\nclass Author:\n"
                            "    full_name: str = field(default='', renamed_from='name')\n    bio: str | None = None\n")
    asyncio.run(make_migrations("m.py", "migrations"))
    conn = SqliteConnection(sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None))
    reads = []
    real = expect._introspect

    async def counted(c: object) -> object:
        reads.append(1)
        return await real(c)

    monkeypatch.setattr(expect, "_introspect", counted)
    tracker = expect.LiveTracker()
    applied = []
    for m in load_all("migrations"):
        asyncio.run(tracker.schema(conn, applied))
        migration = m.cls()
        asyncio.run(migration.forward(conn))
        applied.append(migration)
    tracked = asyncio.run(tracker.schema(conn, applied))
    assert len(reads) == 1
    live = asyncio.run(real(conn))
    assert by_column_name(tracked) == by_column_name(replace(live, tables=tuple(  # the declared rename
        replace(t, columns=tuple(replace(c, renamed_from=("name",)) if c.name == "full_name" else c
                                 for c in t.columns)) for t in live.tables)))
    assert not expect.mismatches(live, expect.expectations([], tracked, tracked)) and \
        expect.digest(expect.object_state(tracked, Ref("column", "main", "authors.full_name"))) == \
        expect.digest(expect.object_state(live, Ref("column", "main", "authors.full_name")))

"""makemigrations writes the online-safe PostgreSQL plan by default, asks for a backfill of a
NOT NULL column added to an existing table, and records consent; on real PostgreSQL and SQLite.

The files are written by the command line from models, migrated onto databases holding rows,
and compared: the online file and the plain one (``--plain``, ``online = false``) end in the same
``pg_dump``; a ``kill -9`` in the middle of the online file is finished by the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dfmigrate.directory import load_all
from tests.converge_util import assert_same_dump
from tests.test_runner import query

REPO = Path(__file__).resolve().parent.parent

V1 = '''
from typing import Optional
from dfmigrate import model, field

@model
class Parent:
    name: str = ""

@model
class Item:
    code: str = ""
    n: int = 0
    parent_id: Optional[int] = None
    note: Optional[str] = None
'''
# an index, a foreign key, a unique constraint and SET NOT NULL, all on the existing table items
V2 = V1.replace('    code: str = ""', '    code: str = field(default="", index=True)') \
       .replace("    n: int = 0", "    n: int = field(default=0, unique=True)") \
       .replace("    parent_id: Optional[int] = None",
                '    parent_id: Optional[int] = field(default=None, references="parents.id")') \
       .replace("    note: Optional[str] = None", "    note: str")
SCORE = "    score: int = field({})\n"  # a NOT NULL column without a default, added to items
ROWS = 12_000
SEED = f"""
INSERT INTO parents (name) SELECT 'p' || g FROM generate_series(1, 50) g;
INSERT INTO items (code, n, parent_id, note) SELECT 'c' || g, g, g % 50 + 1, 'note ' || g
    FROM generate_series(1, {ROWS}) g;
"""
ONLINE_FORMS = ("CREATE INDEX CONCURRENTLY items_code_idx", "CREATE UNIQUE INDEX CONCURRENTLY items_n_key",
                "UNIQUE USING INDEX items_n_key", "REFERENCES public.parents(id) NOT VALID",
                "VALIDATE CONSTRAINT items_parent_id_fkey", "CHECK (note IS NOT NULL) NOT VALID",
                "VALIDATE CONSTRAINT items_note_not_null", "ALTER COLUMN note SET NOT NULL")
PLAIN_FORMS = ("CREATE INDEX items_code_idx ON public.items", "ADD CONSTRAINT items_n_key UNIQUE (n)",
               "REFERENCES public.parents(id)", "ALTER COLUMN note SET NOT NULL")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DFMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def dfm(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the command line in this process (in the current directory): (exit code, out, err)."""
    from dfmigrate import cli as cli_module
    from dfmigrate.cli.authoring import makemigrations
    from dfmigrate.cli.lifecycle import COMMANDS

    for command in (makemigrations, *COMMANDS):
        if command.name not in cli_module.cli.commands:
            cli_module.cli.add_command(command)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            cli_module.main(list(args))
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out, err

    return run


def project(name: str, models: str, settings: str = "") -> Path:
    """A directory with a dfmigrate.toml and models.py; the migrations go to its migrations/."""
    root = Path(name).resolve()
    root.mkdir(exist_ok=True)
    (root / "models.py").write_text(models)
    (root / "dfmigrate.toml").write_text(f'models = "models.py"\ndir = "migrations"\n{settings}')
    return root


def steps(root: Path, n: int, dialect: str = "postgresql", direction: str = "forward") -> list[Any]:
    cls = load_all(str(root / "migrations"))[n - 1].cls
    return list(cls().steps(dialect, direction))


def script(root: Path, n: int, dialect: str = "postgresql") -> str:
    return "\n".join(s.sql for s in steps(root, n, dialect))


def in_dir(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)


def execute(url: str, sql: str) -> None:
    """One statement, committed (the SQLite connection in autocommit)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        try:
            conn.execute(sql)
        finally:
            conn.close()
    else:
        query(url, sql)


def files(root: Path) -> dict[str, bytes]:
    d = root / "migrations"
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.is_dir() else {}


# ---------------------------------------------------------------- which plan is written


def test_online_by_default_plain_on_request_and_sqlite_unaffected(dfm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    written = {}
    for name, settings, flags in (("online", "", ()), ("plain", "", ("--plain",)),
                                  ("config", "online = false\n", ())):
        root = project(name, V1, settings)
        in_dir(root, monkeypatch)
        assert dfm("makemigrations", "-m", "v1")[0] == 0
        (root / "models.py").write_text(V2)
        code, out, err = dfm("makemigrations", "-m", "v2", *flags)
        assert (code, err) == (0, ""), err
        written[name] = root
    online = script(written["online"], 2)
    for fragment in ONLINE_FORMS:
        assert fragment in online, f"{fragment!r} missing from the online file:\n{online}"
    by_step = {s.sql.split(" ON ")[0]: s for s in steps(written["online"], 2)}
    build = by_step["CREATE INDEX CONCURRENTLY items_code_idx"]
    assert (build.transactional, build.resume) == (False, "index:public.items_code_idx")
    assert next(s for s in by_step.values() if "VALIDATE CONSTRAINT items_parent_id_fkey" in s.sql).isolated
    for name in ("plain", "config"):
        plain = script(written[name], 2)
        for fragment in PLAIN_FORMS:
            assert fragment in plain, f"{fragment!r} missing from the {name} file:\n{plain}"
        assert "CONCURRENTLY" not in plain and "NOT VALID" not in plain and "VALIDATE" not in plain
        assert all(s.transactional for s in steps(written[name], 2))
        # the SQLite part is the same whichever PostgreSQL form is written
        assert steps(written[name], 2, "sqlite") == steps(written["online"], 2, "sqlite")
    # the backward direction is online too: the new index goes with DROP INDEX CONCURRENTLY
    assert "DROP INDEX CONCURRENTLY public.items_code_idx" in [s.sql for s in steps(written["online"], 2,
                                                                                    direction="backward")]
    assert "DROP INDEX public.items_code_idx" in [s.sql for s in steps(written["plain"], 2, direction="backward")]
    # the first migration creates the tables: nothing exists before it, so nothing to do online
    assert script(written["online"], 1) == script(written["plain"], 1)
    # diff stays a plain script for piping
    in_dir(written["online"], monkeypatch)
    code, out, _ = dfm("diff", "--from", "migrations:migrations", "--to", "models.py", "--dialect", "postgresql")
    assert code == 0 and "CONCURRENTLY" not in out


def test_online_and_plain_files_converge_to_the_same_schema(dfm: Any, monkeypatch: pytest.MonkeyPatch,
                                                            pg_db: Any) -> None:
    urls = {}
    for name, flags in (("online", ()), ("plain", ("--plain",))):
        root = project(name, V1, 'dialects = ["postgresql"]\n')
        in_dir(root, monkeypatch)
        url = urls[name] = pg_db(name)
        assert dfm("makemigrations", "-m", "v1")[0] == 0
        (root / "models.py").write_text(V2)
        assert dfm("makemigrations", "-m", "v2", *flags)[0] == 0
        assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
        for statement in SEED.strip().split(";\n"):
            query(url, statement)
        code, out, err = dfm("migrate", "--database", url)
        assert (code, err) == (0, ""), out + err
        assert dfm("drift", "--database", url)[0] == 0
        assert query(url, "SELECT count(*), count(note) FROM items") == [(ROWS, ROWS)]
    assert query(urls["online"], "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    assert query(urls["online"], "SELECT conname FROM pg_constraint WHERE NOT convalidated") == []
    assert_same_schema(urls["online"], urls["plain"])


# ---------------------------------------------------------------- backfills


def test_not_null_column_without_backfill_is_refused_and_nothing_written(dfm: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    before = files(root)
    (root / "models.py").write_text(V1 + SCORE.format("") + "    rank: int = field()\n")
    code, out, err = dfm("makemigrations", "-m", "score")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "items.score, items.rank: added NOT NULL without a default" in err
    assert 'field(backfill="...")' in err and "--backfill items.score=EXPR" in err and "nothing written" in err
    assert files(root) == before
    # one of the two given: the other is still named
    code, _, err = dfm("makemigrations", "-m", "score", "--backfill", "items.score=n")
    assert code == 2 and "items.rank: added NOT NULL" in err and "items.score" not in err
    assert files(root) == before
    # --check only reports what is pending
    assert dfm("makemigrations", "--check")[0] == 1
    for bad, message in (("items.score", "expected TABLE.COLUMN=EXPR"), ("score=1", "expected TABLE.COLUMN=EXPR"),
                         ("items.nope=1", "adds no column items.nope to an existing table")):
        code, _, err = dfm("makemigrations", "--backfill", "items.rank=0", "--backfill", bad)
        assert code == 2 and message in err and "Traceback" not in err, err
        assert files(root) == before


def test_backfilled_column_is_filled_on_both_dialects(dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any,
                                                      sqlite_path: str) -> None:
    """field(backfill=) in the model, and --backfill (which wins); migrated onto tables with rows."""
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V1 + SCORE.format('backfill="n * 2"') + "    rank: int = field(backfill='0')\n")
    code, out, err = dfm("makemigrations", "-m", "score", "--backfill", "items.rank=n + 1",
                         "--allow-hazards", "breaks-clients")
    assert (code, err) == (0, ""), err
    assert "Consent:" not in out
    pg = [s.sql for s in steps(root, 2)]
    assert "ALTER TABLE public.items ADD COLUMN score integer" in pg  # nullable first
    assert any("UPDATE public.items SET score = n * 2 WHERE" in s for s in pg)
    assert any("UPDATE public.items SET rank = n + 1 WHERE" in s for s in pg)  # the option wins
    assert "ALTER TABLE public.items ALTER COLUMN score SET NOT NULL" in pg
    assert "SELECT id, code, n, parent_id, note, n * 2, n + 1, created_at, updated_at FROM items" \
        in script(root, 2, "sqlite")  # the rebuild's copy computes them
    for url in (pg_db("fill"), "sqlite:///" + sqlite_path):
        assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
        execute(url, "INSERT INTO items (code, n) VALUES ('a', 1), ('b', 2), ('c', 3)")
        code, out, err = dfm("migrate", "--database", url)
        assert (code, err) == (0, ""), out + err
        assert query(url, "SELECT n, score, rank FROM items ORDER BY n") == [(1, 2, 2), (2, 4, 3), (3, 6, 4)]
        with pytest.raises(Exception, match="(?i)not.null"):  # NOT NULL holds from now on
            execute(url, "INSERT INTO items (code, n, rank) VALUES ('d', 4, 0)")
        assert dfm("drift", "--database", url)[0] == 0
    # the model's backfill stays in the model: the next run has nothing to do
    assert dfm("makemigrations")[1].startswith("No changes detected")


# ---------------------------------------------------------------- consent


def test_allow_hazards_is_recorded_and_round_trips(dfm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project("p", V1)
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V1.replace("    note: Optional[str] = None\n", ""))
    code, out, err = dfm("makemigrations", "-m", "drop")
    assert code == 0 and "Consent: migrate will refuse this migration without --allow-hazards " \
                          "breaks-clients,deletes-data" in out, out + err
    first = load_all("migrations")[1]
    assert first.cls.allow_hazards == []
    # consent given once the file is written: said to shape only a new file, not silently ignored
    code, out, _ = dfm("makemigrations", "--allow-hazards", "all")
    assert code == 0 and out.splitlines() == [
        "No changes detected",
        "(--allow-hazards shape only a migration being written; to add them to one already written and not yet "
        "applied, delete that file, run 'dfmigrate rehash', then makemigrations again with them)"]
    dropped = files(root)
    for name in list(dropped):
        if name.startswith("0002"):
            (root / "migrations" / name).unlink()
    assert dfm("rehash")[0] == 0
    code, _, err = dfm("makemigrations", "-m", "drop", "--allow-hazards", "bogus")
    assert code == 2 and "unknown hazard 'bogus'" in err
    code, out, err = dfm("makemigrations", "-m", "drop", "--allow-hazards", "deletes-data",
                         "--allow-hazards", "breaks-clients")
    assert (code, err) == (0, "") and "Consent:" not in out, out
    text = next((root / "migrations").glob("0002_*.py")).read_text()
    assert '    allow_hazards = ["breaks-clients", "deletes-data"]\n' in text
    assert load_all("migrations")[1].cls.allow_hazards == ["breaks-clients", "deletes-data"]
    # the file is a function of its inputs: written again, the same bytes
    path = next((root / "migrations").glob("0002_*.py"))
    path.unlink()
    assert dfm("rehash")[0] == 0
    assert dfm("makemigrations", "-m", "drop", "--allow-hazards", "breaks-clients,deletes-data")[0] == 0
    assert path.read_text() == text
    code, _, err = dfm("makemigrations", "--empty", "--allow-hazards", "all")
    assert code == 2 and "not to --empty" in err


# ---------------------------------------------------------------- running the online file


def assert_same_schema(online_url: str, plain_url: str) -> None:
    """pg_dump equal, bookkeeping aside: only a run with steps outside a transaction keeps the
    progress record (empty once it has finished)."""
    for url in (online_url, plain_url):
        if query(url, "SELECT to_regclass('dfmigrate_progress') IS NOT NULL")[0][0]:
            assert query(url, "SELECT count(*) FROM dfmigrate_progress") == [(0,)]
            query(url, "DROP TABLE dfmigrate_progress")
    assert_same_dump(online_url, plain_url)


def _start(root: Path, url: str, *flags: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dfmigrate", *flags, "migrate", "--database", url],
                            cwd=str(root), stdout=stdout, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"})


def _wait_for(url: str, condition: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not query(url, condition)[0][0]:
        assert proc.poll() is None, f"the run ended first: {proc.communicate()[0].decode()}"
        assert time.monotonic() < deadline, f"timed out waiting for: {condition}"
        time.sleep(0.02)


def _wait_for_batch(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the backfill of items.score has committed its first batch."""
    _wait_for(url, "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 'items'"
                   " AND column_name = 'score'", proc)
    _wait_for(url, "SELECT count(*) >= 5000 FROM items WHERE score IS NOT NULL", proc)


def _kill(url: str, proc: subprocess.Popen[bytes]) -> None:
    """kill -9 the run, and end its migration session (the server would, once it noticed)."""
    from dfmigrate.guard.lock import APPLYING

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    query(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{APPLYING}'"
               " AND datname = current_database()")
    deadline = time.monotonic() + 30
    while query(url, f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APPLYING}'"
                     " AND datname = current_database()")[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# the backfill takes ~2.5 s (a batch ~1 s): long enough to be killed after its first batch committed
SLOW_SCORE = "(SELECT n * 2 FROM pg_sleep(CASE WHEN n % 100 = 0 THEN 0.02 ELSE 0 END))"


def test_a_kill_in_the_backfill_and_in_an_index_build_is_finished_by_the_next_run(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any) -> None:
    online, plain = project("online", V1, 'dialects = ["postgresql"]\n'), project(
        "plain", V1, 'dialects = ["postgresql"]\nonline = false\n')
    urls = {"online": pg_db("online"), "plain": pg_db("plain")}
    for root, url in ((online, urls["online"]), (plain, urls["plain"])):
        in_dir(root, monkeypatch)
        assert dfm("makemigrations", "-m", "v1")[0] == 0
        (root / "models.py").write_text(V2 + SCORE.format(""))
        assert dfm("makemigrations", "-m", "v2", "--backfill", f"items.score={SLOW_SCORE}",
                   "--allow-hazards", "breaks-clients")[0] == 0
        assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
        for statement in SEED.strip().split(";\n"):
            query(url, statement)
    assert dfm("migrate", "--database", urls["plain"])[0] == 0
    url = urls["online"]
    # 1. killed in the middle of the backfill, some batches committed
    proc = _start(online, url)
    _wait_for_batch(url, proc)
    _kill(url, proc)
    filled = query(url, "SELECT count(score) FROM items")[0][0]
    assert 5000 <= filled < ROWS
    # 2. the next run finishes the backfill, and is killed while an index is built concurrently:
    #    a REPEATABLE READ snapshot holds the build in its last wait, its index still INVALID
    blocker = subprocess.Popen(["psql", "-q", "-d", url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, text=True)
    assert blocker.stdin is not None
    blocker.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM parents;\n")
    blocker.stdin.flush()
    try:
        deadline = time.monotonic() + 30
        while not query(url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                             " AND datname = current_database()")[0][0]:
            assert time.monotonic() < deadline, "the REPEATABLE READ session never started"
            time.sleep(0.02)
        proc = _start(online, url)
        _wait_for(url, "SELECT count(*) > 0 FROM pg_index WHERE NOT indisvalid", proc)
        _kill(url, proc)
    finally:
        blocker.stdin.write("ROLLBACK;\n")
        blocker.stdin.close()
        blocker.wait(timeout=30)
    assert query(url, "SELECT count(score) FROM items")[0][0] == ROWS
    assert query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(1,)]
    # 3. the third run settles the invalid index, builds it again and finishes
    in_dir(online, monkeypatch)
    code, out, err = dfm("migrate", "--database", url)
    assert (code, err) == (0, ""), out + err
    assert "was interrupted by an earlier run: found index" in out and "INVALID; dropped it, run again" in out, out
    assert query(url, "SELECT count(*) FROM items WHERE score <> n * 2") == [(0,)]
    assert query(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    assert dfm("drift", "--database", url)[0] == 0
    assert_same_schema(url, urls["plain"])


def test_backfill_progress_is_printed_as_it_happens_and_not_under_quiet(
        dfm: Any, monkeypatch: pytest.MonkeyPatch, pg_db: Any, tmp_path: Path) -> None:
    root = project("p", V1, 'dialects = ["postgresql"]\n')
    url = pg_db("progress")
    in_dir(root, monkeypatch)
    assert dfm("makemigrations", "-m", "v1")[0] == 0
    (root / "models.py").write_text(V1 + SCORE.format(f'backfill="{SLOW_SCORE}"'))
    assert dfm("makemigrations", "-m", "score", "--allow-hazards", "breaks-clients")[0] == 0
    assert dfm("migrate", "--database", url, "--to", "0001_v1")[0] == 0
    for statement in SEED.strip().split(";\n"):
        query(url, statement)
    log = tmp_path / "migrate.log"
    with log.open("w") as out:
        proc = _start(root, url, stdout=out)
    _wait_for_batch(url, proc)
    time.sleep(0.3)  # the notice follows its batch's COMMIT
    so_far = log.read_text()
    assert "0002_score: statement 2: backfill public.items.score: up to key 5000" in so_far, so_far
    assert "applied 0002_score" not in so_far  # printed while the statement still runs
    assert proc.wait(timeout=60) == 0, log.read_text()
    text = log.read_text()
    assert f"backfill public.items.score: up to key {ROWS}" in text and "applied 0002_score" in text, text
    # -q: nothing at all
    quiet = pg_db("quiet")
    assert dfm("migrate", "--database", quiet, "--to", "0001_v1")[0] == 0
    for statement in SEED.strip().split(";\n"):
        query(quiet, statement)
    proc = _start(root, quiet, "-q")
    out, _ = proc.communicate(timeout=60)
    assert (proc.returncode, out.decode()) == (0, "")
    assert query(quiet, "SELECT count(*) FROM items WHERE score = n * 2") == [(ROWS,)]


DATAFLOW_APP = '''
from dataflow import DataFlow

db = DataFlow({url!r})


@db.model
class Gadget:
    name: str
    n: int = 0
'''


def test_a_dataflow_source_takes_its_backfill_from_the_command_line(dfm: Any, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """A DataFlow field has no place for a backfill: --backfill gives it."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    module = f"dfapp_{os.getpid()}_{time.monotonic_ns()}"
    (tmp_path / f"{module}.py").write_text(DATAFLOW_APP.format(url=str(tmp_path / "unused.db")))
    opts = ("--models", f"dataflow:{module}:db", "--dir", "migrations")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert dfm("makemigrations", *opts, "-m", "initial")[0] == 0
    assert dfm("migrate", "--database", url, "--dir", "migrations")[0] == 0
    execute(url, "INSERT INTO gadgets (name, n) VALUES ('a', 1), ('b', 2)")
    (tmp_path / f"{module}.py").write_text(DATAFLOW_APP.format(url=str(tmp_path / "unused.db")) + "    weight: int\n")
    sys.modules.pop(module, None)
    code, _, err = dfm("makemigrations", *opts, "-m", "weight")
    assert code == 2 and "gadgets.weight: added NOT NULL without a default" in err, err
    sys.modules.pop(module, None)
    code, out, err = dfm("makemigrations", *opts, "-m", "weight", "--backfill", "gadgets.weight=n * 10")
    assert code == 0, out + err
    assert dfm("migrate", "--database", url, "--dir", "migrations")[0] == 0
    assert query(url, "SELECT name, weight FROM gadgets ORDER BY name") == [("a", 10), ("b", 20)]

"""Every ``--format json`` output of the schema commands is valid against the JSON Schema the
package ships for it (``dfmigrate/schemas/``): real outputs, from real databases, and a broken
document of each kind is rejected, so the schemas can fail.

- ``inspect``: schema-v1 (the schema model), also read back by ``schema_from_json``;
- ``diff``: diff-v1; ``graph``: graph-v1; ``nodes``: nodes-v1.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dfmigrate import cli
from dfmigrate.core.serialize import schema_document_json, schema_from_dict, schema_from_json
from tests import schema_model_json

REPO = Path(__file__).resolve().parent.parent

SQLITE_RICH = [
    "CREATE TABLE authors (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " born TEXT DEFAULT (date('now')), CONSTRAINT name_not_blank CHECK (name <> ''))",
    "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id)"
    " ON DELETE CASCADE ON UPDATE SET NULL, title TEXT NOT NULL, price REAL,"
    " price_cents INTEGER GENERATED ALWAYS AS (CAST(price * 100 AS INTEGER)) VIRTUAL,"
    " slug TEXT GENERATED ALWAYS AS (lower(title)) STORED)",
    "CREATE TABLE tags (book_id INTEGER, tag TEXT, PRIMARY KEY (book_id, tag)) WITHOUT ROWID",
    "CREATE TABLE counters (name TEXT PRIMARY KEY ON CONFLICT REPLACE, n INTEGER NOT NULL) STRICT",
    "CREATE INDEX books_cheap ON books (price DESC) WHERE price < 10",
    "CREATE INDEX books_lower_title ON books (lower(title))",
    "CREATE VIEW cheap_books (id, title) AS SELECT id, title FROM books WHERE price < 10",
    "CREATE TRIGGER books_count AFTER INSERT ON books BEGIN"
    " INSERT INTO counters (name, n) VALUES ('books', 1); END",
    "CREATE TRIGGER cheap_books_insert INSTEAD OF INSERT ON cheap_books BEGIN"
    " INSERT INTO books (author_id, title, price) VALUES (1, NEW.title, 1); END",
]

# What migra's corpus does not have, added to its richest file: the rest of the model.
PG_EXTRA = """
CREATE DOMAIN public.positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TYPE public.money_pair AS (amount numeric(12,2), currency char(3));
CREATE COLLATION public.german (provider = icu, locale = 'de-DE');
CREATE TABLE public.bookings (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5) PRIMARY KEY,
    room int NOT NULL,
    during tsrange NOT NULL,
    guest text COLLATE public.german,
    price public.money_pair,
    nights public.positive,
    total int GENERATED ALWAYS AS (room * 2) STORED,
    EXCLUDE USING gist (during WITH &&),
    CONSTRAINT bookings_room_unique UNIQUE NULLS NOT DISTINCT (room, guest) DEFERRABLE INITIALLY DEFERRED
) WITH (fillfactor = 70);
COMMENT ON TABLE public.bookings IS 'who sleeps where';
COMMENT ON COLUMN public.bookings.room IS 'room number';
COMMENT ON SCHEMA goodschema IS 'the good one';
ALTER TABLE public.bookings ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.bookings FOR SELECT TO PUBLIC USING (guest = current_user);
GRANT SELECT ON public.bookings TO PUBLIC;
GRANT USAGE ON SCHEMA goodschema TO PUBLIC;
CREATE INDEX bookings_guest ON public.bookings (lower(guest) text_pattern_ops DESC NULLS LAST) INCLUDE (room)
    WHERE room > 0;
CREATE TABLE public.measurements (logdate date NOT NULL, peak int) PARTITION BY RANGE (logdate);
CREATE TABLE public.measurements_2026 PARTITION OF public.measurements
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE public.measurements_default PARTITION OF public.measurements DEFAULT;
CREATE SEQUENCE public.tickets AS integer START 7 INCREMENT 3 MINVALUE 7 MAXVALUE 700 CACHE 5 CYCLE;
CREATE PROCEDURE public.noop() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TRIGGER bookings_noop BEFORE INSERT ON public.bookings FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
"""

MYSQL_RICH = [
    "CREATE TABLE authors (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " name varchar(100) COLLATE utf8mb4_bin NOT NULL COMMENT 'display name',"
    " secret varchar(20) INVISIBLE,"
    " status enum('new','active') NOT NULL DEFAULT 'new',"
    " updated_at timestamp(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),"
    " UNIQUE KEY authors_name (name), KEY authors_name_prefix (name(10)),"
    " CONSTRAINT name_not_blank CHECK (name <> '')) ENGINE=InnoDB ROW_FORMAT=DYNAMIC COMMENT='who writes'",
    "CREATE TABLE books (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " author_id bigint unsigned NOT NULL, title varchar(200) NOT NULL, price decimal(10,2),"
    " price_cents int GENERATED ALWAYS AS (price * 100) VIRTUAL,"
    " slug varchar(200) GENERATED ALWAYS AS (lower(title)) STORED,"
    " CONSTRAINT books_author FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE)",
    "CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10",
    "CREATE TRIGGER books_touch BEFORE UPDATE ON books FOR EACH ROW SET NEW.title = trim(NEW.title)",
]


def shipped(name: str) -> dict[str, Any]:
    """A JSON Schema as the installed package ships it, itself checked against its meta-schema."""
    schema = json.loads(resources.files("dfmigrate.schemas").joinpath(name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema  # type: ignore[no-any-return]


def errors(document: Any, name: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(shipped(name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def assert_valid(document: Any, name: str) -> None:
    found = errors(document, name)
    assert not found, "\n".join(found[:20])


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    out, err = capsys.readouterr()
    code = int(exit_info.value.code or 0)
    assert code == 0, err
    return code, out


def json_of(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    return json.loads(run(capsys, *args)[1])


def sqlite_db(path: Path, statements: list[str]) -> str:
    with sqlite3.connect(path) as conn:
        for sql in statements:
            conn.execute(sql)
    conn.close()
    return f"sqlite:///{path}"


def pg_load(url: str, sql: str) -> None:
    import asyncpg

    async def load() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(load())


def mysql_load(url: str, statements: list[str]) -> None:
    from tests.mysql_converge import execute

    asyncio.run(execute(url, statements))


@pytest.fixture
def migra_everything(pg_db: Callable[..., str], shared_dir: Path) -> tuple[str, str]:
    """(a, b): two PostgreSQL databases loaded with the migra corpus's richest pair."""
    case = shared_dir / "corpus" / "migra" / "everything"
    a, b = pg_db("jsb_a"), pg_db("jsb_b")
    pg_load(a, (case / "a.sql").read_text(encoding="utf-8"))
    pg_load(b, (case / "b.sql").read_text(encoding="utf-8") + PG_EXTRA)
    return a, b


# ---------------------------------------------------------------- the schema model (inspect)


def test_the_shipped_model_schema_is_generated_from_the_dataclasses() -> None:
    """A field added to dfmigrate/core/schema.py must reach the shipped schema (regenerate with
    ``python -m tests.schema_model_json > dfmigrate/schemas/schema-v1.schema.json``)."""
    text = resources.files("dfmigrate.schemas").joinpath("schema-v1.schema.json").read_text(encoding="utf-8")
    assert text == schema_model_json.text()


def inspect_round_trip(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """inspect's JSON: valid against schema-v1, and read back into the same schema."""
    _, out = run(capsys, "inspect", *args)
    document = json.loads(out)
    assert_valid(document, "schema-v1.schema.json")
    assert document["$schema"] == "https://dfmigrate.dev/schemas/schema-v1.schema.json" and document["version"] == 1
    assert schema_document_json(schema_from_json(out)) == out.rstrip("\n")
    return document  # type: ignore[no-any-return]


def test_inspect_postgres(migra_everything: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    document = inspect_round_trip(capsys, migra_everything[1], "--privileges")
    assert document["dialect"] == "postgresql"
    # the document exercises the model, not a corner of it
    kinds = ("extensions", "collations", "enums", "domains", "composite_types", "sequences", "tables", "views",
             "functions", "namespace_grants", "namespace_comments")
    assert [k for k in kinds if not document.get(k)] == []
    tables = {t["name"]: t for t in document["tables"]}
    bookings = tables["bookings"]
    for key in ("grants", "policies", "exclusions", "uniques", "indexes", "triggers", "rls_enabled", "options",
                "comment"):
        assert bookings.get(key), key
    assert tables["measurements"]["partition_by"] and tables["measurements_2026"]["partition_bound"]
    assert any(t.get("foreign_keys") for t in tables.values()) and any(t.get("checks") for t in tables.values())


def test_inspect_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = inspect_round_trip(capsys, sqlite_db(tmp_path / "rich.db", SQLITE_RICH))
    tables = {t["name"]: t for t in document["tables"]}
    books = {c["name"]: c for c in tables["books"]["columns"]}
    assert books["price_cents"]["generated_kind"] == "VIRTUAL" and "generated" in books["slug"]
    assert tables["tags"]["without_rowid"] and tables["counters"]["strict"]
    assert [v["name"] for v in document["views"]] == ["cheap_books"] and document["views"][0]["triggers"]
    assert tables["books"]["triggers"] and tables["authors"]["columns"][0]["autoincrement"]


def test_inspect_mysql(mysql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    mysql_load(mysql_url, MYSQL_RICH)
    document = inspect_round_trip(capsys, mysql_url)
    tables = {t["name"]: t for t in document["tables"]}
    authors = {c["name"]: c for c in tables["authors"]["columns"]}
    assert authors["secret"]["invisible"] and "on_update" in authors["updated_at"]
    assert any(p.get("length") == 10 for i in tables["authors"]["indexes"] for p in i["parts"])
    assert {c["name"]: c for c in tables["books"]["columns"]}["price_cents"]["generated_kind"] == "VIRTUAL"
    assert document["views"] and tables["books"]["triggers"]


def test_inspect_sql_and_models_sources(capsys: pytest.CaptureFixture[str]) -> None:
    inspect_round_trip(capsys, str(REPO / "examples" / "app" / "models.py"))
    inspect_round_trip(capsys, str(REPO / "examples" / "app" / "models.py"), "--dialect", "mysql")


def test_the_reader_takes_both_forms_and_refuses_another_version(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = inspect_round_trip(capsys, sqlite_db(tmp_path / "rich.db", SQLITE_RICH))
    bare = {k: v for k, v in document.items() if k not in ("$schema", "version")}
    assert schema_from_dict(bare) == schema_from_dict(document)
    for key, value in (("version", 2), ("$schema", "https://dfmigrate.dev/schemas/schema-v2.schema.json")):
        with pytest.raises(ValueError, match="this dfmigrate reads"):
            schema_from_dict({**document, key: value})


def test_a_broken_model_document_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = inspect_round_trip(capsys, sqlite_db(tmp_path / "rich.db", SQLITE_RICH))

    def broken(change: Callable[[dict[str, Any]], None]) -> list[str]:
        bad = copy.deepcopy(document)
        change(bad)
        return errors(bad, "schema-v1.schema.json")

    assert broken(lambda d: d.pop("version"))
    assert broken(lambda d: d.update(dialect="oracle"))
    assert broken(lambda d: d["tables"][0]["columns"][0].update(colour="red"))  # unknown field
    assert broken(lambda d: d["tables"][0]["columns"][0].pop("type"))  # required field
    assert broken(lambda d: d["tables"][0]["columns"][0].update(nullable="no"))  # wrong type
    assert broken(lambda d: d["tables"][0].update(primary_key={"columns": ["id"]}))  # a nested required field
    assert broken(lambda d: d.update(namespace_comments=[["main"]]))  # a pair of one


# ---------------------------------------------------------------- diff and graph


def test_diff_and_graph_postgres(migra_everything: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = migra_everything
    plan = json_of(capsys, "diff", "--from", a, "--to", b, "--format", "json", "--privileges")
    assert_valid(plan, "diff-v1.schema.json")
    assert plan["dialect"] == "postgresql" and len(plan["statements"]) > 20
    assert any("table_size" in s for s in plan["statements"])  # FROM is live: sizes are given
    online = json_of(capsys, "diff", "--from", a, "--to", b, "--format", "json", "--online")
    assert_valid(online, "diff-v1.schema.json")

    graph = json_of(capsys, "graph", "--from", a, "--to", b, "--format", "json")
    assert_valid(graph, "graph-v1.schema.json")
    assert graph["nodes"] and graph["edges"]
    assert {n["change"]["$type"] for n in graph["nodes"]} >= {"CreateTable", "AddColumn", "DropColumn"}


def test_diff_and_graph_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = sqlite_db(tmp_path / "old.db", ["CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT, bio TEXT)"])
    new = sqlite_db(tmp_path / "new.db", SQLITE_RICH)
    plan = json_of(capsys, "diff", "--from", old, "--to", new, "--format", "json")
    assert_valid(plan, "diff-v1.schema.json")
    assert any("comment" in s for s in plan["statements"]) and any(s["hazards"] for s in plan["statements"])
    graph = json_of(capsys, "graph", "--from", old, "--to", new, "--format", "json")
    assert_valid(graph, "graph-v1.schema.json")
    # equal schemas: an empty plan and an empty graph are valid too
    assert_valid(json_of(capsys, "diff", "--from", new, "--to", new, "--format", "json"), "diff-v1.schema.json")
    assert_valid(json_of(capsys, "graph", "--from", new, "--to", new, "--format", "json"), "graph-v1.schema.json")


def test_diff_and_graph_mysql(mysql_db: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = mysql_db("jsb_old"), mysql_db("jsb_new")
    mysql_load(old, ["CREATE TABLE authors (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                     " name varchar(50) NOT NULL, bio text)"])
    mysql_load(new, MYSQL_RICH)
    plan = json_of(capsys, "diff", "--from", old, "--to", new, "--format", "json")
    assert_valid(plan, "diff-v1.schema.json")
    assert plan["dialect"] == "mysql" and any("algorithm" in s for s in plan["statements"])
    assert_valid(json_of(capsys, "graph", "--from", old, "--to", new, "--format", "json"), "graph-v1.schema.json")


def test_broken_diff_and_graph_documents_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = sqlite_db(tmp_path / "old.db", ["CREATE TABLE authors (id INTEGER PRIMARY KEY)"])
    new = sqlite_db(tmp_path / "new.db", SQLITE_RICH)
    plan = json_of(capsys, "diff", "--from", old, "--to", new, "--format", "json")
    graph = json_of(capsys, "graph", "--from", old, "--to", new, "--format", "json")

    def broken(document: dict[str, Any], name: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
        bad = copy.deepcopy(document)
        change(bad)
        return errors(bad, name)

    assert broken(plan, "diff-v1.schema.json", lambda d: d["statements"][0].pop("sql"))
    assert broken(plan, "diff-v1.schema.json", lambda d: d["statements"][0].update(blocks=["everything"]))
    assert broken(plan, "diff-v1.schema.json", lambda d: d["statements"][0].update(table_size={"rows": 1}))
    assert broken(plan, "diff-v1.schema.json", lambda d: d.update(version=2))
    assert broken(plan, "diff-v1.schema.json", lambda d: d.update(extra=True))
    assert broken(graph, "graph-v1.schema.json", lambda d: d["edges"][0].update(weight=1))
    assert broken(graph, "graph-v1.schema.json", lambda d: d["nodes"][0]["change"].pop("$type"))
    assert broken(graph, "graph-v1.schema.json", lambda d: d["nodes"][0].pop("label"))
    assert broken(graph, "graph-v1.schema.json", lambda d: d.pop("$schema"))


# ---------------------------------------------------------------- nodes


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_nodes(dialect: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = json_of(capsys, "nodes", "--models", str(REPO / "examples" / "app" / "models.py"),
                       "--format", "json", "--dialect", dialect)
    assert_valid(document, "nodes-v1.schema.json")
    parameters = [p for n in document["nodes"] for p in n["parameters"]]
    assert any("default" in p for p in parameters) and any("description" in p for p in parameters)


def test_a_broken_nodes_document_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    document = json_of(capsys, "nodes", "--models", str(REPO / "examples" / "app" / "models.py"), "--format", "json")
    bad = copy.deepcopy(document)
    bad["nodes"][0]["parameters"][0]["required"] = "yes"
    assert errors(bad, "nodes-v1.schema.json")
    assert errors(document["nodes"], "nodes-v1.schema.json")  # the bare list of before is not a v1 document
    bad = copy.deepcopy(document)
    del bad["nodes"][0]["table"]
    assert errors(bad, "nodes-v1.schema.json")

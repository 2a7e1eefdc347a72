"""Hypothesis-generated MySQL schema pairs converge on the machine's MariaDB.

Each table's columns, indexes, checks and options are drawn from one ordered pool of variants,
independently for the two sides, so a pair differs the way real migrations do: columns added
in the middle or at the end, dropped, retyped, made NOT NULL, given defaults, ON UPDATE,
AUTO_INCREMENT, collations, generated (virtual/stored) or invisible; indexes of every kind and
foreign keys with actions added and dropped; tables created and dropped; table options changed.
One index name (``ix``) is drawn for every table, as MySQL names indexes per table.
Columns both sides keep stay in the same relative order (the diff does not reorder columns).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dfmigrate.urls import with_database
from tests.mysql_converge import converge, execute, run

pytestmark = pytest.mark.slow

# (column name, variants): every variant is valid with every variant of every other column.
COLUMNS: list[tuple[str, list[str]]] = [
    ("id", ["int NOT NULL AUTO_INCREMENT", "int NOT NULL", "bigint unsigned NOT NULL AUTO_INCREMENT"]),
    ("n", ["int NOT NULL DEFAULT 1", "smallint NOT NULL DEFAULT 1"]),
    ("a", ["int", "int NOT NULL DEFAULT 0", "bigint", "int unsigned DEFAULT 5", "decimal(10,2)", "varchar(20)"]),
    ("b", ["varchar(20)", "varchar(40) NOT NULL DEFAULT ''", "text", "varchar(20) COLLATE utf8mb4_bin", "char(5)"]),
    ("c", ["datetime", "datetime(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
           "timestamp NULL", "date DEFAULT '2020-01-01'"]),
    ("d", ["enum('x','y')", "enum('x','y','z') NOT NULL DEFAULT 'x'", "set('p','q')", "json"]),
    ("g", ["int GENERATED ALWAYS AS (n * 2) VIRTUAL", "bigint AS (n + 1) STORED"]),
    ("f", ["int INVISIBLE", "int COMMENT 'f'", "tinyint(1) DEFAULT 1", "double", "int DEFAULT (1 + 2)"]),
    ("r", ["int", "int NOT NULL"]),
]
INDEXES: list[tuple[str, list[str], list[str]]] = [  # (suffix, columns needed, variants)
    ("ia", ["a"], ["KEY {t}_ia (a)", "UNIQUE KEY {t}_ia (a)", "KEY {t}_ia (a DESC)"]),
    ("ib", ["b"], ["KEY {t}_ib (b(4))", "KEY {t}_ib (b(4), id)"]),
    ("ft", ["b"], ["FULLTEXT KEY {t}_ft (b)"]),
    ("ac", ["a", "c"], ["UNIQUE KEY {t}_ac (a, c)", "KEY {t}_ac (c, a)"]),
    # one name in every table: MySQL index names are per table
    ("ix", ["n"], ["KEY ix (n)", "KEY ix (n, id)", "UNIQUE KEY ix (id, n)"]),
]
FKS = ["", " ON DELETE CASCADE", " ON DELETE SET NULL ON UPDATE CASCADE"]
OPTIONS = ["", " ROW_FORMAT=DYNAMIC", " ROW_FORMAT=COMPACT", " COMMENT='t'", " DEFAULT CHARSET=latin1"]


@st.composite
def table_sql(draw: Any, name: str) -> list[str]:
    items = []
    names = set()
    for col, variants in COLUMNS:
        if col in ("id", "n") or draw(st.booleans()):
            items.append(f"{col} {draw(st.sampled_from(variants))}")
            names.add(col)
    items.append("PRIMARY KEY (id)")
    for _suffix, needs, variants in INDEXES:
        if set(needs) <= names and draw(st.booleans()):
            items.append(draw(st.sampled_from(variants)).format(t=name))
    if draw(st.booleans()):
        items.append(f"CONSTRAINT {name}_ck CHECK ({draw(st.sampled_from(['n > 0', 'n >= 0']))})")
    statements = [f"CREATE TABLE {name} ({', '.join(items)}){draw(st.sampled_from(OPTIONS))}"]
    if "r" in names and draw(st.booleans()):
        action = draw(st.sampled_from(FKS))
        if "SET NULL" in action and "r int NOT NULL" in items:
            action = ""
        statements.append(f"ALTER TABLE {name} ADD CONSTRAINT {name}_fk FOREIGN KEY (r) REFERENCES parent (id){action}")
    return statements


@st.composite
def schema_sql(draw: Any) -> list[str]:
    out = ["CREATE TABLE parent (id INT NOT NULL PRIMARY KEY)"]
    for name in ("t1", "t2", "t3"):
        if draw(st.integers(0, 4)):  # most tables exist on both sides
            out += draw(table_sql(name))
    return out


def test_generated_pairs_converge(mysql_server: str) -> None:
    examples = []

    @settings(max_examples=40, deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(first=schema_sql(), second=schema_sql())
    def check(first: list[str], second: list[str]) -> None:
        names = [f"dfm_test_prop_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        try:
            for name in names:
                run(execute(mysql_server, [f"CREATE DATABASE `{name}`"]))
            a, b = (with_database(mysql_server, n) for n in names)
            run(execute(a, first))
            run(execute(b, second))
            run(converge(a, b))
            examples.append(1)
        finally:
            run(execute(mysql_server, [f"DROP DATABASE IF EXISTS `{n}`" for n in names]))

    check()
    assert len(examples) >= 40

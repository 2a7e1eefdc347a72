"""MySQL plans as a user reads them (``diff``/``plan`` text and JSON), from schema models: what
each statement's lock blocks, and index changes told apart by their table."""

from __future__ import annotations

from dfmigrate.core.engine import plan_migration
from dfmigrate.core.schema import Column, Index, IndexPart, PrimaryKey, Schema, Table


def _table(name: str, *columns: Column, indexes: tuple[Index, ...] = ()) -> Table:
    return Table("main", name, (Column("id", "int", nullable=False), *columns),
                 primary_key=PrimaryKey("PRIMARY", ("id",)), indexes=indexes)


def _schema(*tables: Table) -> Schema:
    return Schema(dialect="mysql", namespaces=("main",), tables=tables)


def _index(name: str, column: str, comment: str | None = None, method: str = "btree") -> Index:
    return Index(name, (IndexPart(column=column),), method=method, comment=comment)


def test_lock_none_blocks_nothing_and_shared_blocks_writes() -> None:
    fulltext = (_index("ft", "b", method="fulltext"),)
    old = _schema(_table("plain", Column("a", "int")),
                  _table("searched", Column("b", "text"), indexes=fulltext))
    new = _schema(_table("plain", Column("a", "int"), indexes=(_index("ia", "a"),)),
                  _table("searched", Column("b", "text"), Column("c", "int"), indexes=fulltext))
    plan = plan_migration(old, new)
    by_sql = {s["sql"]: s for s in plan.to_dict()["statements"]}
    index = by_sql["ALTER TABLE `plain` ADD KEY `ia` (`a`), ALGORITHM=INPLACE, LOCK=NONE"]
    column = by_sql["ALTER TABLE `searched` ADD COLUMN `c` int NULL, ALGORITHM=INPLACE, LOCK=SHARED"]
    assert (index["lock"], index["blocks"]) == ("NONE", [])
    assert (column["lock"], column["blocks"]) == ("SHARED", ["writes"])
    text = plan.text()
    assert "lock: NONE on main.plain\n" in text
    assert "lock: SHARED on main.searched (blocks writes)\n" in text
    assert "blocks reads" not in text


def test_index_comment_change_recreates_the_index_of_its_own_table() -> None:
    # MySQL index names are per table: both tables have an `ix`, only b's comment changes
    old = _schema(_table("a", Column("x", "int"), indexes=(_index("ix", "x", "same"),)),
                  _table("b", Column("x", "int"), indexes=(_index("ix", "x", "old"),)))
    new = _schema(_table("a", Column("x", "int"), indexes=(_index("ix", "x", "same"),)),
                  _table("b", Column("x", "int"), indexes=(_index("ix", "x", "new"),)))
    assert [s.sql for s in plan_migration(old, new).statements] == [
        "ALTER TABLE `b` DROP INDEX `ix`, ALGORITHM=INPLACE, LOCK=NONE",
        "ALTER TABLE `b` ADD KEY `ix` (`x`) COMMENT 'new', ALGORITHM=INPLACE, LOCK=NONE",
    ]

"""Likely renames, offered as hints and never acted on.

A rename is only planned when the model declares it (``renamed_from``); guessing would turn a
real drop-and-add into a silent data move. But a dropped column and an added one of the same
type on the same table usually is a rename, so the plan says so next to the statement.
"""

from __future__ import annotations

from collections import defaultdict

from dfmigrate.core.changes import AddColumn, Change, CreateTable, DropColumn, DropTable


def rename_hints(changes: list[Change]) -> dict[int, str]:
    """Hint text keyed by ``id()`` of the AddColumn / CreateTable change it belongs to."""
    hints: dict[int, str] = {}
    dropped: dict[tuple[str, str], list[DropColumn]] = defaultdict(list)
    for c in changes:
        if isinstance(c, DropColumn):
            dropped[(c.namespace, c.table)].append(c)
    for c in changes:
        if isinstance(c, AddColumn):
            same = [d for d in dropped.get((c.namespace, c.table), ()) if d.column.type == c.column.type]
            if len(same) == 1:
                old = same[0].column.name
                hints[id(c)] = (f"hint: {c.table}.{old} is dropped and {c.table}.{c.column.name} added with the "
                                f"same type; if this is a rename, declare field(renamed_from={old!r}) to keep the data")
    dropped_tables = [c.table for c in changes if isinstance(c, DropTable)]
    for c in changes:
        if isinstance(c, CreateTable):
            shape = [(col.name, col.type) for col in c.table.columns]
            # a table dropped and created under its own name is recreated (a new partition key,
            # say), not renamed
            same_tables = [t for t in dropped_tables if t.namespace == c.table.namespace and t.name != c.table.name
                           and [(col.name, col.type) for col in t.columns] == shape and shape]
            if len(same_tables) == 1:
                old = same_tables[0].name
                hints[id(c)] = (f"hint: table {old} is dropped and {c.table.name} created with the same columns; "
                                f"if this is a rename, set __renamed_from__ = {old!r} on the model")
    return hints

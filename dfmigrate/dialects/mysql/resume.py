"""What an interrupted MySQL statement left, read from the catalog as its ``resume`` says
(``render.present`` / ``render.absent``; ``runner.progress.settle`` asks here for MySQL).

Every MySQL DDL statement commits by itself, so a run killed between a statement and its
``done`` mark leaves either the whole statement's effect or none of it (MySQL 8 and MariaDB
10.6+ make DDL atomic); and the rerun only gets here once the migration lock is free, which the
dead run's session holds until its last statement has ended. So the catalog answers:

- ``table:`t``` / ``no-table:`t```: a table, view or sequence is there / is gone;
- ``column:`t`.`c```, ``index:`t`.`i``` (``PRIMARY`` for the primary key), ``constraint:`t`.`k```
  (foreign key, check, unique), ``trigger:`tr```, and their ``no-`` forms;
- ``rerun``: the statement sets a definition (``MODIFY COLUMN``, table options), so running it
  again is harmless.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"`((?:[^`]|``)*)`")

_QUERIES = {
    "table": "SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
             " AND TABLE_NAME = $1",
    "column": "SELECT count(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
              " AND TABLE_NAME = $1 AND COLUMN_NAME = $2",
    "index": "SELECT count(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
             " AND TABLE_NAME = $1 AND INDEX_NAME = $2",
    "constraint": "SELECT count(*) AS n FROM information_schema.TABLE_CONSTRAINTS"
                  " WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = $1 AND CONSTRAINT_NAME = $2",
    # a trigger lives in its table's database: naming that too keeps MariaDB from scanning them all
    "trigger": "SELECT count(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
               " AND EVENT_OBJECT_SCHEMA = DATABASE() AND TRIGGER_NAME = $1",
}


def names(text: str) -> list[str]:
    return [n.replace("``", "`") for n in _NAME.findall(text)]


async def settle(conn: Any, resume: str) -> Any:
    from dfmigrate.dialects.mysql.render import RERUN
    from dfmigrate.runner.progress import Settled

    if resume == RERUN:
        return Settled(False, "a definition that may be set again", "run again")
    check, _, arg = resume.partition(":")
    wanted = not check.startswith("no-")
    kind = check.removeprefix("no-")
    if kind not in _QUERIES:
        return Settled(False, f"unknown resume check {resume!r}", "run again")
    shown = f"{kind} {arg}"
    rows = await conn.fetch(_QUERIES[kind], *names(arg))
    there = bool(rows[0]["n"])
    if there == wanted:
        return Settled(True, f"{shown} {'present' if there else 'absent'}", "none: already complete")
    return Settled(False, f"{shown} {'present' if there else 'absent'}", "run again")

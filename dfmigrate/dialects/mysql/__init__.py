"""MySQL dialect (MySQL 8.0.29+ and MariaDB 10.6+ under one name): the normalization rules the
inspector, the models and the renderer share, so that ``diff(X, X)`` is empty across sources.

Rules (the inspector applies them; the renderer writes model text verbatim):

- Namespace is always ``main``: a MySQL "schema" is the database the URL names, and two
  databases compare by content, not by name.
- Types: ``COLUMN_TYPE`` lower-cased, without the integer display width MySQL 8 no longer
  prints (``int``, ``bigint unsigned``), except ``tinyint(1)`` (the boolean spelling) and
  ``zerofill`` columns, where the width means something; ``year(4)`` is ``year``. MariaDB's
  ``JSON`` (a ``longtext`` with a ``json_valid`` check and a binary collation) is ``json``.
- Defaults, ``ON UPDATE`` and generated expressions: MariaDB's ``information_schema`` text
  (``'it''s'``, ``1.50``, ``current_timestamp(6)``, ``(1 + 2)``, ``b'101'``), which is valid SQL
  after ``DEFAULT``; MySQL 8's unquoted literals are quoted to match. A nullable column without
  a default and one with ``DEFAULT NULL`` are the same: ``None``.
- Collations: a column's only when it differs from its table's, a table's only when it differs
  from the database's; engine and row format only when not the server's default.
- Unique keys are unique indexes (MySQL has no other kind); the primary key is named
  ``PRIMARY``. Indexes keep the ones MySQL made for a foreign key: it will not drop them.
- Foreign-key actions: ``RESTRICT`` is ``NO ACTION`` (InnoDB treats them the same).
- Views: the server's canonical text with the database's own name removed.
"""

from __future__ import annotations

import re

NAMESPACE = "main"

_INTEGER = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
_ALIASES = {
    "integer": "int", "bool": "tinyint(1)", "boolean": "tinyint(1)", "dec": "decimal",
    "numeric": "decimal", "fixed": "decimal", "real": "double", "double precision": "double",
    "character varying": "varchar", "character": "char", "int4": "int", "int8": "bigint",
    "year(4)": "year",
}


def normalize_type(text: str) -> str:
    """A column type as the catalog prints it, in the form above (also for model ``db_type``)."""
    t = " ".join(text.lower().split())
    t = re.sub(r"\s*\(\s*", "(", t)
    t = re.sub(r"\s*,\s*", ",", t)
    t = re.sub(r"\s*\)", ")", t)
    for alias, name in _ALIASES.items():
        if t == alias or t.startswith(alias + "(") or t.startswith(alias + " "):
            if not (alias in ("bool", "boolean") and t != alias):
                t = name + t[len(alias):]
            break
    if "zerofill" not in t and not t.startswith("tinyint(1)"):
        t = _INTEGER.sub(r"\1", t)
    if t in ("decimal", "decimal(10)"):
        t = "decimal(10,0)"
    elif re.fullmatch(r"decimal\(\d+\)", t):
        t = t[:-1] + ",0)"
    if t == "char":
        t = "char(1)"
    return t


def is_text_type(column_type: str) -> bool:
    """Types that carry a character set and collation."""
    base = column_type.split("(", 1)[0].split(" ", 1)[0]
    return base in ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set")


_NOW = re.compile(r"^(?:current_timestamp|now|localtimestamp|localtime)(?:\(\s*(\d*)\s*\))?$", re.IGNORECASE)


def normalize_now(text: str) -> str:
    """``CURRENT_TIMESTAMP``, ``now()``, ``current_timestamp(6)``… as MariaDB prints them
    (``current_timestamp()``, ``current_timestamp(6)``); other text unchanged."""
    match = _NOW.match(text.strip())
    return f"current_timestamp({match.group(1) or ''})" if match else text

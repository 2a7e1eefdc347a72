"""SQLite dialect: the normalization rules shared by the inspector, the renderer and any other
source that builds a SQLite schema (models), so that ``diff(X, X)`` is empty across sources.

Rules (the inspector applies them; the renderer writes model text verbatim, so a model that
follows them round-trips exactly):

- Namespace is always ``main``.
- Types: the declared type, upper-cased, whitespace collapsed, no space inside parentheses and
  one space after a comma: ``INTEGER``, ``VARCHAR(255)``, ``NUMERIC(10, 2)``, ``UNSIGNED BIG INT``.
  A column without a declared type has type ``""``. See :func:`normalize_type`.
- Defaults: the expression text as ``pragma_table_xinfo.dflt_value`` prints it, i.e. verbatim,
  without enclosing parentheses (``'it''s'``, ``-1``, ``CURRENT_TIMESTAMP``, ``1 + 2``).
- A rowid-alias column (``INTEGER`` primary key of a rowid table) and the primary-key columns of
  a WITHOUT ROWID table can never hold NULL: they are ``nullable=False``. Other primary-key
  columns are nullable unless declared NOT NULL (SQLite's historical quirk). The renderer
  writes ``NOT NULL`` for every ``nullable=False`` column, which is harmless for the alias.
- Check, generated, index and WHERE expressions: the text between the parentheses as written,
  with quoted column names unquoted where quoting is not needed.
- Collations: ``BINARY`` (the default) is ``None``; built-in names upper-cased.
- Constraint names are always present; unnamed constraints get PostgreSQL's names
  (:func:`constraint_name`). The renderer always writes ``CONSTRAINT name``.
- FK actions are words (``NO ACTION`` default); MATCH is always ``SIMPLE`` (SQLite ignores it).
- Views: definition is the query after ``AS`` verbatim; triggers: the CREATE TRIGGER text.
"""

from __future__ import annotations

import re

NAMESPACE = "main"
BUILTIN_COLLATIONS = ("BINARY", "NOCASE", "RTRIM")


def normalize_type(declared: str) -> str:
    text = " ".join(declared.upper().split())
    text = re.sub(r"\s*\(\s*", "(", text)
    text = re.sub(r"\s*\)", ")", text)
    return re.sub(r"\s*,\s*", ", ", text)


def normalize_collation(name: str | None) -> str | None:
    if name is None or name.upper() == "BINARY":
        return None
    return name.upper() if name.upper() in BUILTIN_COLLATIONS else name


def constraint_name(table: str, columns: tuple[str, ...], suffix: str, taken: set[str]) -> str:
    """PostgreSQL's name for an unnamed constraint: ``<table>_<cols>_<suffix>`` (``pkey``,
    ``key``, ``fkey``, ``check``), ``<table>_<suffix>`` without columns, then ``1``, ``2``...
    appended on collision. Adds the chosen name to ``taken``."""
    base = "_".join((table, *columns, suffix))
    name, n = base, 0
    while name.lower() in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name.lower())
    return name

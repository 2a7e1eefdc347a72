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
- ``nullable`` is what the column declares (``pragma_table_xinfo.notnull``). A rowid-alias column
  (``INTEGER`` primary key of a rowid table) and the primary-key columns of a WITHOUT ROWID table
  can never hold NULL whatever they declare (:func:`implied_not_null`): the diff does not compare
  their ``nullable``. Other primary-key columns are nullable unless declared NOT NULL (SQLite's
  historical quirk).
- Names are compared case-insensitively (SQLite folds ASCII case) and kept as declared; a
  reference to a table or column (constraint and foreign-key column lists, a trigger's table)
  uses the referenced object's declared spelling.
- Check, generated, index and WHERE expressions: the text between the parentheses as written,
  with quoted column names unquoted where quoting is not needed.
- Collations: ``BINARY`` (the default) is ``None``; built-in names upper-cased.
- Constraint names are what the table declares: a constraint without ``CONSTRAINT name`` has the
  empty name, is identified by its definition, and is written back without a name. A name
  PostgreSQL would have generated (model sources use them) compares equal to no name
  (:func:`declared_name`).
- Generated columns: ``generated`` is the expression, ``generated_kind`` is ``VIRTUAL`` (the
  default when neither keyword is written) or ``STORED``, read from ``pragma_table_xinfo.hidden``.
- FK actions are words (``NO ACTION`` default); MATCH is always ``SIMPLE`` (SQLite ignores it).
- Views: definition is the query after ``AS`` verbatim, columns the declared column list (empty
  when there is none); triggers: the CREATE TRIGGER text.
"""

from __future__ import annotations

import re

from dfmigrate.schema import CheckConstraint, Column, Constraint, PrimaryKey, Table

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


def constraint_key(constraint: object) -> tuple[str, str]:
    """Sort order of a table's constraints: by name, unnamed ones (``""``) by definition."""
    return (getattr(constraint, "name", ""), repr(constraint))


_SUFFIX = {"PrimaryKey": "pkey", "UniqueConstraint": "key", "ForeignKey": "fkey",
           "CheckConstraint": "check"}


def declared_name(table: Table, constraint: Constraint) -> str:
    """The constraint's name as far as SQLite is concerned: ``""`` for an unnamed constraint and
    for one carrying the name PostgreSQL would have generated for it (``<table>_<cols>_pkey``,
    ``_key``, ``_fkey``, ``_check``, numbered on collision), which is how model sources name
    constraints a hand-written table leaves unnamed. Two constraints whose declared names are
    equal are the same constraint."""
    suffix = _SUFFIX.get(type(constraint).__name__)
    if not constraint.name or suffix is None:
        return constraint.name
    if isinstance(constraint, PrimaryKey):
        columns: tuple[str, ...] = ()
    elif isinstance(constraint, CheckConstraint):
        from dfmigrate.dialects.sqlite.ddl import referenced_names

        by_lower = {c.name.lower(): c.name for c in table.columns}
        refs = referenced_names(constraint.expression, set(by_lower))
        columns = (by_lower[next(iter(refs))],) if len(refs) == 1 else ()
    else:
        columns = constraint.columns  # type: ignore[union-attr]
    base = "_".join((table.name, *columns, suffix))
    return "" if re.fullmatch(re.escape(base) + r"\d*", constraint.name, re.IGNORECASE) else constraint.name


def implied_not_null(table: Table, column: Column) -> bool:
    """Whether SQLite keeps NULL out of the column whatever it declares: the rowid alias (the
    ``INTEGER`` primary key of a rowid table) and the key columns of a WITHOUT ROWID table.
    Declaring ``NOT NULL`` on them or not is spelling only."""
    key = table.primary_key.columns if table.primary_key else ()
    if column.name not in key:
        return False
    return table.without_rowid or (len(key) == 1 and column.type == "INTEGER")

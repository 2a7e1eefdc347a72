"""SQLite dialect: the normalization rules shared by the inspector, the renderer and any other
source that builds a SQLite schema (models), so that ``diff(X, X)`` is empty across sources.

Rules (the inspector applies them; the renderer writes model text verbatim, so a model that
follows them round-trips exactly):

- Namespace is always ``main``.
- Types: the inspector keeps the declared type upper-cased with runs of whitespace collapsed
  (:func:`declared_type`), so that a rebuild writes ``decimal(12,4)`` as ``DECIMAL(12,4)``: ORMs
  parse the declared text (ActiveRecord reads no scale from ``DECIMAL(12, 4)``). The diff compares
  :func:`normalize_type` forms: no space inside parentheses and one space after a comma
  (``INTEGER``, ``VARCHAR(255)``, ``NUMERIC(10, 2)``, ``UNSIGNED BIG INT``), the form model
  sources use. A column without a declared type has type ``""``.
- Defaults: the expression text as ``pragma_table_xinfo.dflt_value`` prints it, i.e. verbatim,
  without enclosing parentheses (``'it''s'``, ``-1``, ``CURRENT_TIMESTAMP``, ``1 + 2``).
- ``nullable`` is what the column declares (``pragma_table_xinfo.notnull``). A rowid-alias column
  (``INTEGER`` primary key of a rowid table) and the primary-key columns of a WITHOUT ROWID table
  can never hold NULL whatever they declare (``compare.implied_not_null``): the diff does not compare
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
  (``compare.declared_name``).
- Generated columns: ``generated`` is the expression, ``generated_kind`` is ``VIRTUAL`` (the
  default when neither keyword is written) or ``STORED``, read from ``pragma_table_xinfo.hidden``.
- FK actions are words (``NO ACTION`` default); MATCH is always ``SIMPLE`` (SQLite ignores it).
- Views: definition is the query after ``AS`` verbatim, columns the declared column list (empty
  when there is none); triggers: the CREATE TRIGGER text.
"""

from __future__ import annotations

import re


NAMESPACE = "main"
BUILTIN_COLLATIONS = ("BINARY", "NOCASE", "RTRIM")


def declared_type(declared: str) -> str:
    """The type as the column declares it, upper-cased, whitespace runs made one space."""
    return " ".join(declared.upper().split())


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

"""Quoting for PostgreSQL identifiers and string literals.

Every identifier and literal the renderer emits goes through this module, so a name or label
chosen by a user (``"User"``, ``"order"``, ``it's'; DROP TABLE x; --``) is always data, never SQL.

Literals assume ``standard_conforming_strings = on`` (the default since PostgreSQL 9.1, and the
only setting dfmigrate supports): a backslash is an ordinary character in ``'...'``, so doubling
single quotes is the whole job. Text containing a backslash is nevertheless written as an
``E'...'`` literal with backslashes doubled, which means the same thing under either setting, so a
script stays correct even if a session turns the setting off.
"""

from __future__ import annotations

import re

# Keywords that cannot be used as a bare name everywhere: PostgreSQL's reserved and
# type/function-name keywords (the brief), plus the column-name keywords, which are legal as
# column names but not as type or function names. PostgreSQL's own quote_ident() quotes all
# three groups; quoting a lowercase name is harmless, so matching it keeps output predictable.
# Source: SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T', 'C') (PostgreSQL 15).
RESERVED_KEYWORDS: frozenset[str] = frozenset("""
    all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create current_catalog current_date current_role current_time current_timestamp
    current_user default deferrable desc distinct do else end except false fetch for foreign from
    grant group having in initially intersect into lateral leading limit localtime localtimestamp
    not null offset on only or order placing primary references returning select session_user
    some symmetric table then to trailing true union unique user using variadic when where window
    with
""".split())

TYPE_FUNC_NAME_KEYWORDS: frozenset[str] = frozenset("""
    authorization binary collation concurrently cross current_schema freeze full ilike inner is
    isnull join left like natural notnull outer overlaps right similar tablesample verbose
""".split())

COLUMN_NAME_KEYWORDS: frozenset[str] = frozenset("""
    between bigint bit boolean char character coalesce dec decimal exists extract float greatest
    grouping inout int integer interval least national nchar none normalize nullif numeric out
    overlay position precision real row setof smallint substring time timestamp treat trim values
    varchar xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi
    xmlroot xmlserialize xmltable
""".split())

NEEDS_QUOTES: frozenset[str] = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COLUMN_NAME_KEYWORDS

_PLAIN_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier: bare when PostgreSQL would read it back unchanged,
    otherwise double-quoted with embedded double quotes doubled."""
    if _PLAIN_IDENT.fullmatch(name) and name not in NEEDS_QUOTES:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(namespace: str | None, name: str) -> str:
    """``namespace.name`` with both parts quoted; just the name when there is no namespace."""
    if not namespace:
        return quote_ident(name)
    return f"{quote_ident(namespace)}.{quote_ident(name)}"


def quote_literal(text: str) -> str:
    """``text`` as an SQL string literal (see the module docstring for the backslash rule)."""
    doubled = text.replace("'", "''")
    if "\\" in text:
        return "E'" + doubled.replace("\\", "\\\\") + "'"
    return "'" + doubled + "'"


def split_dotted(text: str) -> list[str]:
    """Split a dotted reference the IR stores as text (``"ns.table"``, ``"ns.table.column"``) into
    raw names. Double-quoted parts are unquoted, so both ``app.users`` and ``"My App"."Users"``
    work; unquoted parts are taken literally (the IR keeps raw names, not SQL)."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        if i < n and text[i] == '"':
            j, buf = i + 1, []
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1  # past the closing quote, onto the dot (or the end)
        else:
            j = text.find(".", i)
            j = n if j == -1 else j
            parts.append(text[i:j])
            i = j
        i += 1  # skip the dot
    return parts


def quote_dotted(text: str) -> str:
    """A dotted IR reference (see split_dotted) rendered with each part quoted."""
    return ".".join(quote_ident(part) for part in split_dotted(text))


_SQL_NAME_PART = r'(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")'
_SQL_NAME = re.compile(rf"{_SQL_NAME_PART}(?:\.{_SQL_NAME_PART})*")


def quote_name_text(text: str) -> str:
    """A collation or operator-class name from the IR, which a source may store either as a bare
    catalog name (``C``, ``en_US.utf8``, ``text_pattern_ops``) or as SQL the catalog printed
    (``pg_catalog."C"``, ``public.gin_trgm_ops``). Text that already parses as a (qualified) SQL
    name is kept verbatim; anything else is one bare name and gets quoted."""
    if _SQL_NAME.fullmatch(text) and text not in NEEDS_QUOTES:
        return text
    return quote_ident(text)

"""MySQL quoting: backticks for names, single quotes (with doubled quotes and backslashes) for
literals, which is safe whatever ``sql_mode`` says about backslash escapes."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

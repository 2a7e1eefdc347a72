"""Which tables and views a view's query reads, for sources whose catalog does not record it
(SQLite, MySQL): sqlglot finds the relations (CTE names excluded), so the planner orders a view
after what it reads; text it cannot parse falls back to the source's own word scan."""

from __future__ import annotations

from collections.abc import Callable

from dfmigrate.core.schema import Ref


def view_dependencies(query: str, tables: set[str], views: set[str], *, namespace: str, read: str,
                      fold: Callable[[str], str], fallback: Callable[[str, set[str]], set[str]]) -> tuple[Ref, ...]:
    """``fold`` is how the dialect compares names (SQLite: case-insensitively); ``fallback(query,
    names)`` returns the folded ``names`` the query mentions when sqlglot cannot parse it."""
    import sqlglot
    from sqlglot import exp

    known = {fold(t): Ref("table", namespace, t) for t in tables}
    known |= {fold(v): Ref("view", namespace, v) for v in views}
    try:
        tree = sqlglot.parse_one(query, read=read)
    except sqlglot.errors.ParseError:
        names = fallback(query, set(known))
    else:
        ctes = {fold(c.alias_or_name) for c in tree.find_all(exp.CTE)}
        names = {fold(t.name) for t in tree.find_all(exp.Table)} - ctes
    return tuple(sorted(known[n] for n in names if n in known))

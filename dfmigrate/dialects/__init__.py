"""One package per dialect; what every renderer does alike lives here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dfmigrate.errors import UnsupportedChange


def dispatch(renderers: Mapping[type, Callable[[Any], list[Any]]], change: Any, dialect: str) -> list[Any]:
    """The statements of ``change``, from the renderer registered for its class or a base."""
    for cls in type(change).__mro__:
        renderer = renderers.get(cls)
        if renderer is not None:
            return renderer(change)
    raise UnsupportedChange(f"{dialect} has no rendering for {type(change).__name__}")


def script(statements: Iterable[Any]) -> str:
    """Statements as a script: each comment line as ``--``, each statement ended by ``;``."""
    chunks = []
    for s in statements:
        note = "".join(f"-- {line}\n" for line in s.comment.splitlines()) if s.comment else ""
        chunks.append(f"{note}{s.sql};")
    return "\n\n".join(chunks) + "\n" if chunks else ""


def referential_actions(fk: Any) -> str:
    """`` ON DELETE … ON UPDATE …`` of a foreign key, each only when not the default (NO ACTION),
    as SQLite and MySQL write them."""
    sql = ""
    if fk.on_delete != "NO ACTION":
        sql += f" ON DELETE {fk.on_delete}"
    if fk.on_update != "NO ACTION":
        sql += f" ON UPDATE {fk.on_update}"
    return sql

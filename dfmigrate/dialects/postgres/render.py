"""PostgreSQL renderer: typed changes in, tagged statements out.

``render_change`` looks the change's class up in ``RENDERERS`` (following the MRO), so adding a
change kind means adding one entry; a kind without an entry is an explicit ``UnsupportedChange``,
never a silent fallback. The per-kind functions live in the ``render_*`` modules, grouped by
object kind; lock levels and hazards come from ``hazards.RISKS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dfmigrate.dialects.postgres import (
    render_columns,
    render_objects,
    render_table_objects,
    render_tables,
    render_types,
)
from dfmigrate.errors import UnsupportedChange
from dfmigrate.core.statement import Statement

Renderer = Callable[[Any], list[Statement]]

SCRIPT_HEADER = "SET check_function_bodies = off;"


def _merge(*tables: Mapping[type, Renderer]) -> dict[type, Renderer]:
    """One dispatch table from the per-module ones; registering a kind twice is a bug."""
    merged: dict[type, Renderer] = {}
    for table in tables:
        for kind, renderer in table.items():
            if kind in merged:
                raise ValueError(f"two PostgreSQL renderers for {kind.__name__}")
            merged[kind] = renderer
    return merged


RENDERERS: dict[type, Renderer] = _merge(
    render_types.RENDERERS,
    render_tables.RENDERERS,
    render_columns.RENDERERS,
    render_table_objects.RENDERERS,
    render_objects.RENDERERS,
)


def render_change(change: Any) -> list[Statement]:
    """The statements that make ``change`` on PostgreSQL, in execution order."""
    for kind in type(change).__mro__:
        renderer = RENDERERS.get(kind)
        if renderer is not None:
            return renderer(change)
    raise UnsupportedChange(f"PostgreSQL has no rendering for change {type(change).__name__}")


def render_changes(changes: Iterable[Any]) -> list[Statement]:
    return [s for change in changes for s in render_change(change)]


def finish(statements: list[Statement]) -> list[Statement]:
    """The rendered plan as the runner receives it: unchanged on PostgreSQL."""
    return statements


def render_script(statements: list[Statement]) -> str:
    """A runnable script: a header, then each statement (its comment as ``--`` lines above it)
    terminated by ``;``, separated by blank lines. No statements, no script."""
    if not statements:
        return ""
    blocks = [SCRIPT_HEADER]
    for statement in statements:
        lines = [f"-- {line}".rstrip() for line in (statement.comment or "").splitlines()]
        blocks.append("\n".join([*lines, statement.sql + ";"]))
    return "\n\n".join(blocks) + "\n"

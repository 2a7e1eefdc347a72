"""The pipeline: two schemas → changes → ordered plan → rendered statements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import import_module
from typing import Any

import networkx as nx

from dfmigrate.core.changes import Change, CreateIndex, change_class
from dfmigrate.core.deps import dependencies, index_clashes
from dfmigrate.core.describe import describe
from dfmigrate.diff import diff_schemas
from dfmigrate.errors import DfmigrateError
from dfmigrate.core.hints import rename_hints
from dfmigrate.core.plan import order_changes
from dfmigrate.core.schema import DIALECT_NAMES, Schema
from dfmigrate.core.statement import Statement
from dfmigrate.core.step import Step

_RENDERERS = {"postgresql": "dfmigrate.dialects.postgres.render", "sqlite": "dfmigrate.dialects.sqlite.render",
              "mysql": "dfmigrate.dialects.mysql.render"}
# Dialects whose changes are regrouped before ordering (and, for MySQL, settled after it).
_ADAPTERS = {"sqlite": "dfmigrate.dialects.sqlite.adapt", "mysql": "dfmigrate.dialects.mysql.adapt"}
# Where each dialect says what its lock names block (``BLOCKS``), next to where it decides them.
_LOCKS = {"postgresql": "dfmigrate.dialects.postgres.hazards", "mysql": "dfmigrate.dialects.mysql.render"}


# diff --format json (Plan.to_dict) is versioned by the shipped dfmigrate/schemas/diff-v1.schema.json
DIFF_SCHEMA_ID = "https://dfmigrate.dev/schemas/diff-v1.schema.json"


def renderer(dialect: str) -> Any:
    return import_module(_RENDERERS[dialect])


@dataclass
class Plan:
    dialect: str
    changes: list[Change]  # in execution order
    statements: list[Statement]
    graph: nx.DiGraph
    # live table sizes ("namespace.name" → safety.sizes.TableSize), when a database was given
    sizes: dict[str, Any] = field(default_factory=dict)

    def size_of(self, s: Statement) -> tuple[Any, float] | None:
        """(the size of the table ``s`` locks, its estimated duration), when sizes are known."""
        size = self.sizes.get(s.lock_target) if s.lock_target else None
        if size is None:
            return None
        from dfmigrate.safety.sizes import estimate_seconds

        return size, estimate_seconds([h.value for h in s.hazards], size, concurrently=not s.transactional)

    @property
    def empty(self) -> bool:
        return not self.statements

    def sql(self) -> str:
        return renderer(self.dialect).render_script(self.statements)

    def to_dict(self) -> dict[str, Any]:
        return {
            "$schema": DIFF_SCHEMA_ID,
            "version": 1,
            "dialect": self.dialect,
            "changes": [describe(c) for c in self.changes],
            "statements": [
                {
                    "sql": s.sql,
                    "change": describe(s.source),
                    "hazards": [h.value for h in s.hazards],
                    "lock": s.lock,
                    "lock_target": s.lock_target,
                    "transactional": s.transactional,
                    "isolated": s.isolated,
                    "resume": s.resume,
                    "blocks": list(blocked_by(s, self.dialect)),
                    "reverse": list(s.reverse),
                    **({"algorithm": s.algorithm} if s.algorithm else {}),
                    **({"comment": s.comment} if s.comment else {}),
                    **self._size_dict(s),
                }
                for s in self.statements
            ],
        }

    def _size_dict(self, s: Statement) -> dict[str, Any]:
        known = self.size_of(s)
        return {} if known is None else {"table_size": known[0].to_dict(), "estimated_s": known[1]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def text(self) -> str:
        """The runbook view: what runs, in order, with what it locks and risks."""
        if not self.statements:
            return "No changes: the schemas are equal.\n"
        lines = [f"{len(self.statements)} statement(s) for {len(self.changes)} change(s) ({self.dialect}):", ""]
        for n, s in enumerate(self.statements, 1):
            lines.append(f"{n:>3}. {describe(s.source)}")
            if s.algorithm:
                lines.append(f"     algorithm: {s.algorithm}")
            if s.lock:
                blocks = blocked_by(s, self.dialect)
                lines.append(f"     lock: {s.lock}" + (f" on {s.lock_target}" if s.lock_target else "")
                             + (f" (blocks {' and '.join(blocks)})" if blocks else ""))
            if s.hazards:
                lines.append("     hazards: " + ", ".join(h.value for h in s.hazards))
            known = self.size_of(s)
            if known is not None:
                from dfmigrate.safety.sizes import describe as describe_size

                lines.append(f"     table: {describe_size(*known)}")
            if not s.transactional:
                lines.append("     runs outside a transaction" + (f"; rerun: {s.resume}" if s.resume else ""))
            elif s.isolated:
                lines.append("     starts a transaction of its own")
            if s.comment:
                lines.append(f"     note: {s.comment}")
            lines.extend("     | " + part for part in s.sql.splitlines())
            if s.reverse:
                lines.append("     rollback: " + "; ".join(s.reverse))
        return "\n".join(lines) + "\n"


def blocked_by(statement: Statement | Step, dialect: str) -> tuple[str, ...]:
    """What other sessions cannot do on the locked relation while the statement (or a migration
    file's step) runs, as the dialect's lock table says (a lock it does not name is assumed to
    block both)."""
    if statement.lock is None:
        return ()
    blocks: dict[str, tuple[str, ...]] = import_module(_LOCKS[dialect]).BLOCKS if dialect in _LOCKS else {}
    return blocks.get(statement.lock, ("reads", "writes"))


def _with_hint(statement: Statement, hint: str | None) -> Statement:
    if not hint:
        return statement
    comment = f"{statement.comment}\n{hint}" if statement.comment else hint
    return replace(statement, comment=comment)


def plan_migration(old: Schema, new: Schema, *, online: bool = False, server_version: int | None = None,
                   backfills: Mapping[tuple[str, str, str], str] | None = None,
                   changes: list[Change] | None = None) -> Plan:
    """The plan from ``old`` to ``new``. ``online`` (PostgreSQL) renders changes to tables that
    exist in ``old`` in their online-safe forms (``dialects/postgres/online.py``);
    ``server_version`` (``server_version_num``) picks forms by server version, ``backfills``
    maps ``(namespace, table, column)`` to the expression filling a new column's existing rows
    (PostgreSQL: the batched backfill, in the plain plan too, which has no form of its own that
    fills rows; SQLite: the table rebuild's copy selects it). ``changes``: ``diff_schemas(old,
    new)`` when the caller computed it already (makemigrations diffs every dialect first, to know
    whether there is anything to plan); the diff is deterministic, so the plan is the same."""
    deps_old = dependencies(old)
    changes = diff_schemas(old, new, deps_old) if changes is None else list(changes)
    if not changes:
        return Plan(new.dialect, [], [], nx.DiGraph())
    if any(isinstance(c, CreateIndex) for c in changes):  # only a new index can clash
        _refuse_index_clashes(new)
    adapt = import_module(_ADAPTERS[new.dialect]) if new.dialect in _ADAPTERS else None
    if adapt is not None:
        changes = adapt.adapt_changes(changes, old, new, backfills)
    ordered, graph = order_changes(changes, old, new, deps_old, dependencies(new))
    if adapt is not None:
        ordered = adapt.settle(ordered, old, new)
    dialect = renderer(new.dialect)
    hints = rename_hints(ordered)
    render = dialect.render_change
    if (online or backfills) and new.dialect == "postgresql":
        from dfmigrate.dialects.postgres import online as online_forms

        ctx = online_forms.online_context(old, ordered, server_version=server_version, backfills=backfills)
        forms = online_forms.render if online else online_forms.render_backfills

        def render(change: Change) -> list[Statement]:
            return forms(change, ctx, dialect.render_change)
    statements = dialect.finish([_with_hint(s, hints.get(id(c))) for c in ordered for s in render(c)])
    for node in graph.nodes:
        graph.nodes[node]["label"] = describe(graph.nodes[node]["change"])
    return Plan(new.dialect, [_generic(c) for c in ordered], statements, graph)


def _refuse_index_clashes(new: Schema) -> None:
    """Two indexes the dialect cannot tell apart (``deps.index_ref``): models written for MySQL,
    where index names are per table, may give two tables an ``ix``. Refused by name here rather
    than as the dependency cycle or failing SQL it would become."""
    clashes = index_clashes(new)
    if not clashes:
        return
    title = DIALECT_NAMES.get(new.dialect, new.dialect)
    shown, across = [], False
    for ref, (name, tables) in sorted(clashes.items()):
        if len(set(tables)) == 1:
            shown.append(f"{name} {len(tables)} times on {ref.namespace}.{tables[0]}")
        else:
            across = True
            shown.append(f"{name} on {' and '.join(f'{ref.namespace}.{t}' for t in tables)}")
    raise DfmigrateError(
        f"{title} cannot hold two indexes of one name here: {'; '.join(shown)}. Give them names of their own"
        + (f" (MySQL names indexes per table, {title} per schema), or leave {new.dialect} out of the "
           f"dialects setting" if across else ""))


def _generic(change: Change) -> Change:
    """A dialect's refinement of a change as the change it refines (``changes.change_class``):
    what plans report, files record and replay folds. The refinement stays the statements'
    ``source``, for the renderer."""
    base = change_class(change)
    if base is type(change):
        return change
    return base(**{f.name: getattr(change, f.name) for f in fields(base)})  # type: ignore[no-any-return]

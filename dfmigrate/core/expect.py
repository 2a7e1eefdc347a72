"""What a migration expects to find: the state of every object it touches, as it was planned.

A migration is planned against one schema (the state the directory's earlier migrations
produce). Between planning and applying, anything may happen to the database: another deploy, a
hand-run ``ALTER``, a restored dump. Applying SQL planned against a state that no longer holds
can fail halfway or, worse, succeed and do something else (drop a column someone just filled, add
a constraint under another name). So the writer records, for every object the plan touches, a
digest of its planned state (or that it must be absent), and the runner compares them with the
live database under the migration lock before it runs anything (docs/guarded-apply.md).

Granularity follows the planner's references (``plan.effects``): a column, a constraint, an
index, a trigger, a policy, a view, a type... A table reference covers only the table's own
properties, not its parts: an unrelated index added by hand does not block a migration that only
adds a column, but a change to the column it alters does. Nor do a table's storage parameters
(``autovacuum_enabled``, ``fillfactor``…), which the people who run a database tune on it by
hand: a migration that does not change them neither reads nor resets them, so its expectation
of the table leaves them out (``drift`` still reports them). Files written before recorded the
whole table, and the check accepts either form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dfmigrate.core.deps import constraint_label, find_index, function_ref
from dfmigrate.errors import DfmigrateError
from dfmigrate.core.schema import Ref, Schema, Table, View
from dfmigrate.core import serialize
from dfmigrate.core.serialize import to_dict

# (kind, namespace, name, digest or None when the object must not exist)
Expectation = tuple[str, str, str, "str | None"]

# The parts of a table that have references of their own (and grants, which are opt-in and
# never read by the runner's introspection).
_TABLE_PARTS = ("columns", "primary_key", "uniques", "foreign_keys", "checks", "exclusions",
                "indexes", "triggers", "policies", "grants")
# A table's properties tuned on a live database rather than declared (see the module's doc).
_TUNED = ("options",)


@dataclass(frozen=True)
class Mismatch:
    ref: Ref
    expected: str | None
    found: str | None

    def __str__(self) -> str:
        if self.expected is None:
            return f"{self.ref} exists (the plan expected it absent)"
        if self.found is None:
            return f"{self.ref} is missing (the plan expected it)"
        return f"{self.ref} changed (planned against {self.expected}, found {self.found})"


def expectations(changes: Iterable[Any], before: Schema, after: Schema) -> list[Expectation]:
    """The planned state of every object the changes create, remove, modify, touch or need,
    read from ``before``, sorted (the writer's output must not depend on set order)."""
    from dfmigrate.core.plan import effects  # the engine: only when a migration is written

    refs: set[Ref] = set()
    for change in changes:
        e = effects(change, before, after)
        refs |= e.creates | e.removes | e.modifies | e.touches | e.requires
    return sorted((r.kind, r.namespace, r.name, _planned(before, after, r)) for r in refs)


def _planned(before: Schema, after: Schema, ref: Ref) -> str | None:
    """The digest a migration records for ``ref``: a table without its tuned properties, unless
    the migration itself changes them."""
    state = object_state(before, ref)
    if ref.kind == "table" and state is not None:
        new = object_state(after, ref)
        if new is None or all(state.get(k) == new.get(k) for k in _TUNED):
            return planned_digest(state)
    return digest(state)


def planned_digest(state: Any) -> str | None:
    """The digest of an object's planned state, leaving out a table's tuned properties (a
    table's state is the only one that has them)."""
    if isinstance(state, dict):
        state = {k: v for k, v in state.items() if k not in _TUNED}
    return digest(state)


def mismatches(schema: Schema, expected: Iterable[Expectation]) -> list[Mismatch]:
    """The expectations ``schema`` (the live database) does not meet."""
    found: list[Mismatch] = []
    for kind, namespace, name, want in expected:
        ref = Ref(kind, namespace, name)
        state = object_state(schema, ref)
        have = digest(state)
        if have != want and not (kind == "table" and state is not None and planned_digest(state) == want):
            found.append(Mismatch(ref, want, have))
    return found


def digest(state: Any) -> str | None:
    if isinstance(state, dict):
        # a declared rename is the models' wish, not a fact of the database: the planned state
        # (folded from the models' changes) carries it, the live database never does
        state = {k: v for k, v in state.items() if k != "renamed_from"}
    return None if state is None else serialize.digest(state)[:16]


def object_state(schema: Schema, ref: Ref) -> Any:
    """The object ``ref`` names, as canonical data; None when the schema has no such object."""
    ns, kind = ref.namespace, ref.kind
    if kind == "namespace":
        return {"namespace": ref.name} if ref.name in schema.namespaces else None
    if kind == "table":
        table = schema.table(ns, ref.name)
        return _table_itself(table) if table is not None else None
    if kind == "view":
        view = schema.view(ns, ref.name)
        return _without_grants(to_dict(view)) if view is not None else None
    if kind in ("column", "constraint", "trigger", "policy"):
        owner_name, _, part = ref.name.partition(".")
        owner = schema.table(ns, owner_name) or schema.view(ns, owner_name)
        return _part(owner, kind, part) if owner is not None else None
    if kind == "index":  # by table and name on MySQL, by name elsewhere (deps.index_ref)
        found = find_index(schema, ref)
        return {"on": found[0].name, "index": to_dict(found[1])} if found is not None else None
    return _top_level(schema, ref)


def _table_itself(table: Table) -> dict[str, Any]:
    data = to_dict(table)
    for key in _TABLE_PARTS:
        data.pop(key, None)
    return data


def _without_grants(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("grants", None)
    return data


def _part(owner: Table | View, kind: str, name: str) -> Any:
    if isinstance(owner, View):
        if kind == "column":
            return {"view_column": name} if name in owner.columns else None
        if kind == "trigger":
            return next((to_dict(t) for t in owner.triggers if t.name == name), None)
        return None
    items = {"column": owner.columns, "constraint": owner.constraints,
             "trigger": owner.triggers, "policy": owner.policies}[kind]
    label = constraint_label if kind == "constraint" else (lambda item: item.name)
    found = next((item for item in items if label(item) == name), None)
    if found is None:
        return None
    data = to_dict(found)
    if kind == "constraint":  # a CHECK and a UNIQUE of one name are different objects
        data = {"type": type(found).__name__, **data}
    return data


def _top_level(schema: Schema, ref: Ref) -> Any:
    key = (ref.namespace, ref.name)
    candidates: dict[str, Iterable[Any]] = {
        "type": (*schema.enums, *schema.domains, *schema.composite_types),
        "sequence": schema.sequences,
        "collation": schema.collations,
    }
    if ref.kind in candidates:
        obj = next((o for o in candidates[ref.kind] if (o.namespace, o.name) == key), None)
        return None if obj is None else {"type": type(obj).__name__, **_without_grants(to_dict(obj))}
    if ref.kind == "function":
        fn = next((f for f in schema.functions if function_ref(f) == ref), None)
        return None if fn is None else _without_grants(to_dict(fn))
    if ref.kind == "extension":
        ext = next((x for x in schema.extensions if x.name == ref.name), None)
        return None if ext is None else to_dict(ext)
    raise ValueError(f"no expectation can be read for a {ref.kind}")


async def live_mismatches(conn: Any, expected: Iterable[Expectation], tracker: LiveTracker | None = None,
                          applied: list[Any] | None = None) -> list[Mismatch]:
    """The expectations the database behind the runner's connection (``runner.connections``'
    PgConnection or SqliteConnection) does not meet, read through that same connection.

    With a ``tracker`` (one per run) the database is introspected once, before the run's first
    migration; for the next ones the schema is that one with the operations of the migrations
    ``applied`` since folded in: those are exactly what ran, under the lock. A migration that
    does not say what it changes (hand-written code without ``state``) makes the next check read
    the database again."""
    schema = await tracker.schema(conn, applied or []) if tracker is not None else await _introspect(conn)
    return mismatches(schema, expected)


async def _introspect(conn: Any) -> Schema:
    from dfmigrate.runner.resources import live_schema  # the runner's one introspection path

    return await live_schema(conn)


class LiveTracker:
    """The live schema during one run: read once, then advanced by each applied migration's
    operations (``dfmigrate.core.fold``) instead of being read again before every migration."""

    def __init__(self) -> None:
        self._schema: Schema | None = None
        self._folded = 0  # how many of the run's applied migrations the schema includes

    async def schema(self, conn: Any, applied: list[Any]) -> Schema:
        from dfmigrate.core.fold import FoldError, fold
        from dfmigrate.migration import state_operations

        for migration in applied[self._folded:]:
            if self._schema is None:
                break
            ops = state_operations(migration, conn.dialect)
            try:
                self._schema = fold(self._schema, ops) if ops is not None else None
            except FoldError:
                # the live schema departs from the plan (an object the fold cannot find): the
                # database is read instead, and its mismatches reported as usual
                self._schema = None
        if self._schema is None:
            self._schema = await _introspect(conn)
        self._folded = len(applied)
        return self._schema


class PlanChanged(DfmigrateError):
    """The database no longer is what a migration was planned against."""

    def __init__(self, migration_id: str, found: list[Mismatch]) -> None:
        shown = "; ".join(str(m) for m in found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        super().__init__(
            f"{migration_id} was planned against another schema: {shown}. The database changed since "
            f"the plan was made (another deploy, or a change by hand); nothing was applied. "
            f"Run 'dfmigrate drift' to see the differences, then make a new migration or restore "
            f"the objects")
        self.migration_id = migration_id
        self.found = found

"""Schema × schema → typed changes.

Each comparator answers for one object kind and returns the changes it finds; none mutates its
inputs or another's output. Order does not matter here: the planner orders by dependencies.
"""

from __future__ import annotations

from collections.abc import Callable

from dfmigrate.core.changes import (
    Change,
    CreateFunction,
    CreateTable,
    CreateView,
    GrantPrivilege,
)
from dfmigrate.core.deps import Dependencies, dependencies, function_ref, table_ref, view_ref
from dfmigrate.diff.dependents import recreate_dependents
from dfmigrate.diff.functions import compare_functions
from dfmigrate.diff.grants import compare_grants, compare_type_comments
from dfmigrate.diff.objects import compare_extensions, compare_namespaces, compare_sequences
from dfmigrate.diff.tables import compare_tables
from dfmigrate.diff.types import (
    compare_collations,
    compare_composite_types,
    compare_domains,
    compare_enums,
)
from dfmigrate.diff.views import compare_views
from dfmigrate.errors import DfmigrateError
from dfmigrate.core.schema import Ref, Schema

Comparator = Callable[[Schema, Schema], list[Change]]

COMPARATORS: tuple[Comparator, ...] = (
    compare_namespaces,
    compare_extensions,
    compare_collations,
    compare_enums,
    compare_domains,
    compare_composite_types,
    compare_sequences,
    compare_tables,
    compare_views,
    compare_functions,
    compare_type_comments,
)


def diff_schemas(old: Schema, new: Schema, deps_old: Dependencies | None = None) -> list[Change]:
    if old.dialect != new.dialect:
        raise DfmigrateError(f"cannot diff a {old.dialect} schema against a {new.dialect} schema")
    changes: list[Change] = []
    for compare in COMPARATORS:
        changes += compare(old, new)
    changes = recreate_dependents(old, new, changes, deps_old or dependencies(old))
    changes += compare_grants(old, new)
    return changes + _regrant_recreated(changes, new)


def _regrant_recreated(changes: list[Change], new: Schema) -> list[Change]:
    """An object dropped and created again comes back without its grants."""
    recreated: set[Ref] = set()
    for c in changes:
        if isinstance(c, CreateTable):
            recreated.add(table_ref(c.table.namespace, c.table.name))
        elif isinstance(c, CreateView):
            recreated.add(view_ref(c.view.namespace, c.view.name))
        elif isinstance(c, CreateFunction):
            recreated.add(function_ref(c.function))
    already = {(c.target, c.grant) for c in changes if isinstance(c, GrantPrivilege)}
    extra: list[Change] = []
    holders = [(table_ref(t.namespace, t.name), t.grants) for t in new.tables if t.grants]
    holders += [(view_ref(v.namespace, v.name), v.grants) for v in new.views if v.grants]
    holders += [(function_ref(f), f.grants) for f in new.functions if f.grants]
    for ref, grants in holders:
        if ref in recreated:
            extra += [GrantPrivilege(ref, g) for g in grants if (ref, g) not in already]
    return extra

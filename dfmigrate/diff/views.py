"""Views and materialized views: created, dropped, or recreated when their definition changes."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.core.changes import (
    Change,
    CreateIndex,
    CreateTrigger,
    CreateView,
    DropIndex,
    DropTrigger,
    DropView,
    SetComment,
    SetTriggerEnabled,
)
from dfmigrate.core.deps import view_ref
from dfmigrate.diff._lists import diff_by_key, name_key, spelling
from dfmigrate.core.schema import Schema, View


def create_view(view: View) -> list[Change]:
    ns, name = view.namespace, view.name
    return [CreateView(view), *(CreateIndex(ns, name, i) for i in view.indexes),
            *(CreateTrigger(ns, name, t) for t in view.triggers)]


def recreate_view(old: View, new: View) -> list[Change]:
    return [DropView(old), *create_view(new)]


def compare_views(old: Schema, new: Schema) -> list[Change]:
    fold = name_key(new.dialect)
    forms = spelling(new.dialect)
    diff = diff_by_key(old.views, new.views, key=lambda v: (v.namespace, fold(v.name)))
    changes: list[Change] = []
    for v in diff.added:
        changes += create_view(v)
    changes += [DropView(v) for v in diff.removed]
    for o, n in diff.changed:
        if forms is not None and o.name == n.name and forms.view(o) == forms.view(n):
            continue  # the same query spelled otherwise (SQLite)
        changes += _alter_view(o, n)
    return changes


def _alter_view(old: View, new: View) -> list[Change]:
    # grants and comments can change in place; anything else means a new definition
    in_place = ("grants", "comment", "indexes", "triggers")
    if replace(old, **{f: getattr(new, f) for f in in_place}) != new:
        return recreate_view(old, new)
    changes: list[Change] = []
    if old.comment != new.comment:
        changes.append(SetComment(view_ref(new.namespace, new.name), new.comment,
                                  "MATERIALIZED VIEW" if new.materialized else None))
    old_idx = {i.name: i for i in old.indexes}
    new_idx = {i.name: i for i in new.indexes}
    for name, idx in old_idx.items():
        if new_idx.get(name) != idx:
            changes.append(DropIndex(old.namespace, old.name, idx))
    for name, idx in new_idx.items():
        if old_idx.get(name) != idx:
            changes.append(CreateIndex(new.namespace, new.name, idx))
    return changes + _view_triggers(old, new)


def _view_triggers(old: View, new: View) -> list[Change]:
    ns, name = new.namespace, new.name
    before = {t.name: t for t in old.triggers}
    after = {t.name: t for t in new.triggers}
    changes: list[Change] = []
    for tname, trg in before.items():
        now = after.get(tname)
        if now is None or replace(trg, enabled=now.enabled) != now:
            changes.append(DropTrigger(ns, name, trg))
    for tname, trg in after.items():
        was = before.get(tname)
        if was is None or replace(was, enabled=trg.enabled) != trg:
            changes.append(CreateTrigger(ns, name, trg))
        elif was.enabled != trg.enabled:
            changes.append(SetTriggerEnabled(ns, name, trg))
    return changes

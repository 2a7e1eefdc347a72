"""Functions, procedures and aggregates, matched by their signature."""

from __future__ import annotations

from dataclasses import replace

from dfmigrate.core.changes import Change, CreateFunction, DropFunction, ReplaceFunction, SetComment
from dfmigrate.core.deps import function_ref
from dfmigrate.diff._lists import diff_by_key
from dfmigrate.core.schema import Function, Schema


def _key(fn: Function) -> tuple[str, str]:
    return (fn.namespace, fn.signature)


def compare_functions(old: Schema, new: Schema) -> list[Change]:
    diff = diff_by_key(old.functions, new.functions, key=_key)
    changes: list[Change] = [CreateFunction(f) for f in diff.added]
    changes += [DropFunction(f) for f in diff.removed]
    for o, n in diff.changed:
        changes += _alter_function(o, n)
    return changes


def _alter_function(old: Function, new: Function) -> list[Change]:
    if replace(old, grants=new.grants, comment=new.comment) == new:
        return [SetComment(function_ref(new), new.comment)] if old.comment != new.comment else []
    # CREATE OR REPLACE cannot change the result type or the kind of routine
    if old.returns != new.returns or old.kind != new.kind or new.kind == "aggregate":
        return [DropFunction(old), CreateFunction(new)]
    return [ReplaceFunction(old, new)]

"""Views, functions, privileges and comments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dfmigrate.core.changes import (
    CreateFunction,
    CreateView,
    DropFunction,
    DropView,
    GrantPrivilege,
    ReplaceFunction,
    RevokePrivilege,
    SetComment,
)
from dfmigrate.dialects.postgres.hazards import Op
from dfmigrate.dialects.postgres.quote import qualified, quote_ident, split_dotted
from dfmigrate.dialects.postgres.render_common import comment_sql, rel, stmt, strip_sql
from dfmigrate.dialects.postgres.render_table_objects import role_sql
from dfmigrate.errors import UnsupportedChange
from dfmigrate.core.schema import Function, Grant, Ref, View
from dfmigrate.core.statement import Statement

# ---------------------------------------------------------------- views


def _view_kind(view: View) -> str:
    return "MATERIALIZED VIEW" if view.materialized else "VIEW"


def _create_view_sql(view: View) -> str:
    # pg_get_viewdef() starts with a space and ends with ";"
    definition = strip_sql(view.definition).strip()
    options = f" WITH ({', '.join(view.options)})" if view.options else ""
    name = qualified(view.namespace, view.name)
    sql = f"CREATE {_view_kind(view)} {name}{options} AS\n{definition}"
    if view.materialized:
        sql += "\nWITH DATA" if view.with_data else "\nWITH NO DATA"
    return sql


def create_view(change: CreateView) -> list[Statement]:
    view = change.view
    name = f"{_view_kind(view)} {qualified(view.namespace, view.name)}"
    out = [stmt(_create_view_sql(view), change, Op.CREATE_OBJECT, reverse=[f"DROP {name}"])]
    if view.comment is not None:
        out.append(stmt(comment_sql(name, view.comment), change, Op.COMMENT))
    return out


def drop_view(change: DropView) -> list[Statement]:
    view = change.view
    sql = f"DROP {_view_kind(view)} {qualified(view.namespace, view.name)}"
    return [stmt(sql, change, Op.DROP_OBJECT, rel(view.namespace, view.name),
                 reverse=[_create_view_sql(view)])]


# ---------------------------------------------------------------- functions


def _function_name(fn: Function) -> str:
    """``KIND ns.name(args)`` as DROP and COMMENT ON want it."""
    kind = {"procedure": "PROCEDURE", "aggregate": "AGGREGATE"}.get(fn.kind, "FUNCTION")
    # an aggregate without arguments (count(*)-like) is written name(*)
    args = "*" if fn.kind == "aggregate" and not fn.arguments.strip() else fn.arguments
    return f"{kind} {qualified(fn.namespace, fn.name)}({args})"


def create_function(change: CreateFunction) -> list[Statement]:
    fn = change.function
    # the definition is the whole CREATE [OR REPLACE] statement the catalog printed
    out = [stmt(strip_sql(fn.definition), change, Op.CREATE_OBJECT,
                reverse=[f"DROP {_function_name(fn)}"])]
    if fn.comment is not None:
        out.append(stmt(comment_sql(_function_name(fn), fn.comment), change, Op.COMMENT))
    return out


def replace_function(change: ReplaceFunction) -> list[Statement]:
    return [stmt(strip_sql(change.new.definition), change, Op.REPLACE_FUNCTION,
                 reverse=[strip_sql(change.old.definition)])]


def drop_function(change: DropFunction) -> list[Statement]:
    fn = change.function
    return [stmt(f"DROP {_function_name(fn)}", change, Op.DROP_FUNCTION,
                 reverse=[strip_sql(fn.definition)])]


# ---------------------------------------------------------------- privileges and comments


def _routine(ref: Ref) -> str:
    """A function Ref's name is its signature, ``name(args)``; the arguments are catalog text."""
    name, paren, args = ref.name.partition("(")
    return qualified(ref.namespace, name) + (f"({args}" if paren else "")


def _table_scoped(ref: Ref) -> tuple[str, str]:
    """A ``table.object`` Ref name split into (qualified table, quoted object)."""
    parts = split_dotted(ref.name)
    return qualified(ref.namespace, parts[0]), quote_ident(".".join(parts[1:]))


# Ref kind -> how COMMENT ON names it
_COMMENT_TARGETS: dict[str, Callable[[Ref], str]] = {
    "table": lambda r: f"TABLE {qualified(r.namespace, r.name)}",
    "view": lambda r: f"VIEW {qualified(r.namespace, r.name)}",
    "type": lambda r: f"TYPE {qualified(r.namespace, r.name)}",
    "sequence": lambda r: f"SEQUENCE {qualified(r.namespace, r.name)}",
    "index": lambda r: f"INDEX {qualified(r.namespace, r.name)}",
    "collation": lambda r: f"COLLATION {qualified(r.namespace, r.name)}",
    "function": lambda r: f"ROUTINE {_routine(r)}",  # ROUTINE: function or procedure alike
    "namespace": lambda r: f"SCHEMA {quote_ident(r.name or r.namespace)}",
    "extension": lambda r: f"EXTENSION {quote_ident(r.name)}",
    "column": lambda r: "COLUMN {}.{}".format(*_table_scoped(r)),
    "constraint": lambda r: "CONSTRAINT {1} ON {0}".format(*_table_scoped(r)),
    "trigger": lambda r: "TRIGGER {1} ON {0}".format(*_table_scoped(r)),
    "policy": lambda r: "POLICY {1} ON {0}".format(*_table_scoped(r)),
}


def set_comment(change: SetComment) -> list[Statement]:
    if change.object_kind:
        ref = change.target
        return [stmt(comment_sql(f"{change.object_kind} {qualified(ref.namespace, ref.name)}", change.comment),
                     change, Op.COMMENT)]
    target = _COMMENT_TARGETS.get(change.target.kind)
    if target is None:
        raise UnsupportedChange(f"SetComment on a {change.target.kind} ({change.target})")
    return [stmt(comment_sql(target(change.target), change.comment), change, Op.COMMENT)]


def _privilege_target(ref: Ref, grant: Grant) -> str:
    """``PRIVILEGE [(column)] ON KIND object`` for GRANT and REVOKE."""
    privilege = grant.privilege.upper()
    if ref.kind in ("table", "view"):
        return f"{privilege} ON TABLE {qualified(ref.namespace, ref.name)}"
    if ref.kind == "column":
        table, column = _table_scoped(ref)
        return f"{privilege} ({column}) ON TABLE {table}"
    if ref.kind == "sequence":
        return f"{privilege} ON SEQUENCE {qualified(ref.namespace, ref.name)}"
    if ref.kind == "function":
        # ROUTINE covers functions, procedures and aggregates; FUNCTION rejects procedures
        return f"{privilege} ON ROUTINE {_routine(ref)}"
    if ref.kind == "namespace":
        return f"{privilege} ON SCHEMA {quote_ident(ref.name or ref.namespace)}"
    if ref.kind == "type":
        return f"{privilege} ON TYPE {qualified(ref.namespace, ref.name)}"
    raise UnsupportedChange(f"privileges on a {ref.kind} ({ref})")


def _grant_sql(ref: Ref, grant: Grant) -> str:
    option = " WITH GRANT OPTION" if grant.grantable else ""
    return f"GRANT {_privilege_target(ref, grant)} TO {role_sql(grant.grantee)}{option}"


def _revoke_sql(ref: Ref, grant: Grant) -> str:
    return f"REVOKE {_privilege_target(ref, grant)} FROM {role_sql(grant.grantee)}"


def grant_privilege(change: GrantPrivilege) -> list[Statement]:
    return [stmt(_grant_sql(change.target, change.grant), change, Op.GRANT,
                 reverse=[_revoke_sql(change.target, change.grant)])]


def revoke_privilege(change: RevokePrivilege) -> list[Statement]:
    return [stmt(_revoke_sql(change.target, change.grant), change, Op.GRANT,
                 reverse=[_grant_sql(change.target, change.grant)])]


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    CreateView: create_view,
    DropView: drop_view,
    CreateFunction: create_function,
    ReplaceFunction: replace_function,
    DropFunction: drop_function,
    GrantPrivilege: grant_privilege,
    RevokePrivilege: revoke_privilege,
    SetComment: set_comment,
}

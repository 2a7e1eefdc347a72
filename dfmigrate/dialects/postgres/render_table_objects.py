"""Objects that hang off a table: constraints, indexes, triggers, policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dfmigrate.core.changes import (
    AddConstraint,
    CreateIndex,
    CreatePolicy,
    CreateTrigger,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTrigger,
    SetTriggerEnabled,
    ValidateConstraint,
)
from dfmigrate.dialects.postgres.hazards import Op
from dfmigrate.dialects.postgres.quote import qualified, quote_ident, quote_name_text
from dfmigrate.dialects.postgres.render_common import (
    alter_table,
    comment_sql,
    constraint_clause,
    idents,
    rel,
    stmt,
    strip_sql,
)
from dfmigrate.core.schema import (
    CheckConstraint,
    Constraint,
    ForeignKey,
    Index,
    IndexPart,
    Policy,
    Trigger,
)
from dfmigrate.core.statement import Statement

# ---------------------------------------------------------------- constraints


def _add_op(con: Constraint) -> Op:
    if isinstance(con, CheckConstraint):
        return Op.ADD_CHECK if con.validated else Op.ADD_CHECK_NOT_VALID
    if isinstance(con, ForeignKey):
        return Op.ADD_FOREIGN_KEY if con.validated else Op.ADD_FOREIGN_KEY_NOT_VALID
    return Op.ADD_INDEXED_CONSTRAINT  # primary key, unique, exclusion: each builds an index


def _comment(change: Any, on: str, comment: str | None) -> list[Statement]:
    """COMMENT ON what was just created, when it has a comment."""
    return [stmt(comment_sql(on, comment), change, Op.COMMENT)] if comment is not None else []


def add_constraint(change: AddConstraint) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    con = change.constraint
    on = f"CONSTRAINT {quote_ident(con.name)} ON {qualified(change.namespace, change.table)}"
    return [stmt(f"{head} ADD {constraint_clause(con)}", change, _add_op(con),
                 rel(change.namespace, change.table),
                 reverse=[f"{head} DROP CONSTRAINT {quote_ident(con.name)}"]),
            *_comment(change, on, con.comment)]


def drop_constraint(change: DropConstraint) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    con = change.constraint
    indexed = not isinstance(con, CheckConstraint | ForeignKey)
    op = Op.DROP_INDEXED_CONSTRAINT if indexed else Op.DROP_CONSTRAINT
    return [stmt(f"{head} DROP CONSTRAINT {quote_ident(con.name)}", change, op,
                 rel(change.namespace, change.table),
                 reverse=[f"{head} ADD {constraint_clause(con)}"])]


def validate_constraint(change: ValidateConstraint) -> list[Statement]:
    head = alter_table(change.namespace, change.table)
    sql = f"{head} VALIDATE CONSTRAINT {quote_ident(change.constraint.name)}"
    return [stmt(sql, change, Op.VALIDATE_CONSTRAINT, rel(change.namespace, change.table))]


# ---------------------------------------------------------------- indexes


def index_part_sql(part: IndexPart) -> str:
    # an expression needs its own parentheses; a column name must not have them
    sql = quote_ident(part.column) if part.column is not None else f"({part.expression})"
    if part.collation:
        sql += f" COLLATE {quote_name_text(part.collation)}"
    if part.opclass:
        sql += f" {quote_name_text(part.opclass)}"
    if part.descending:
        sql += " DESC"
    # the default is NULLS FIRST for DESC and NULLS LAST for ASC: say it only when it differs
    if part.nulls_first is not None and part.nulls_first != part.descending:
        sql += " NULLS FIRST" if part.nulls_first else " NULLS LAST"
    return sql


def create_index_sql(namespace: str, table: str, index: Index, *, concurrently: bool = False) -> str:
    unique = "UNIQUE " if index.unique else ""
    how = "CONCURRENTLY " if concurrently else ""
    parts = ", ".join(index_part_sql(p) for p in index.parts)
    sql = (f"CREATE {unique}INDEX {how}{quote_ident(index.name)} ON {qualified(namespace, table)} "
           f"USING {quote_ident(index.method)} ({parts})")
    if index.include:
        sql += f" INCLUDE ({idents(index.include)})"
    if index.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    if index.options:
        sql += f" WITH ({', '.join(index.options)})"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql


def create_index(change: CreateIndex) -> list[Statement]:
    # the plain form; the online plan builds it CONCURRENTLY on a table that exists (online.py)
    sql = create_index_sql(change.namespace, change.table, change.index)
    drop = f"DROP INDEX {qualified(change.namespace, change.index.name)}"
    return [stmt(sql, change, Op.CREATE_INDEX, rel(change.namespace, change.table),
                 reverse=[drop]),
            *_comment(change, f"INDEX {qualified(change.namespace, change.index.name)}", change.index.comment)]


def drop_index(change: DropIndex) -> list[Statement]:
    sql = f"DROP INDEX {qualified(change.namespace, change.index.name)}"
    return [stmt(sql, change, Op.DROP_INDEX, rel(change.namespace, change.table),
                 reverse=[create_index_sql(change.namespace, change.table, change.index)])]


# ---------------------------------------------------------------- triggers

_TRIGGER_STATE = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def _trigger_state_sql(namespace: str, table: str, trigger: Trigger) -> str:
    state = _TRIGGER_STATE[trigger.enabled]
    return f"{alter_table(namespace, table)} {state} TRIGGER {quote_ident(trigger.name)}"


def _drop_trigger_sql(namespace: str, table: str, trigger: Trigger) -> str:
    return f"DROP TRIGGER {quote_ident(trigger.name)} ON {qualified(namespace, table)}"


def create_trigger(change: CreateTrigger) -> list[Statement]:
    ns, table, trigger = change.namespace, change.table, change.trigger
    target = rel(ns, table)
    out = [stmt(strip_sql(trigger.definition), change, Op.CREATE_TRIGGER, target,
                reverse=[_drop_trigger_sql(ns, table, trigger)])]
    if trigger.enabled != "O":  # a new trigger starts enabled ("O"rigin)
        out.append(stmt(_trigger_state_sql(ns, table, trigger), change,
                        Op.SET_TRIGGER_ENABLED, target))
    return out + _comment(change, f"TRIGGER {quote_ident(trigger.name)} ON {qualified(ns, table)}", trigger.comment)


def drop_trigger(change: DropTrigger) -> list[Statement]:
    ns, table, trigger = change.namespace, change.table, change.trigger
    recreate = [s.sql for s in create_trigger(CreateTrigger(ns, table, trigger))]
    return [stmt(_drop_trigger_sql(ns, table, trigger), change, Op.DROP_TRIGGER, rel(ns, table),
                 reverse=recreate)]


def set_trigger_enabled(change: SetTriggerEnabled) -> list[Statement]:
    # the change carries only the new state, so no reverse
    sql = _trigger_state_sql(change.namespace, change.table, change.trigger)
    return [stmt(sql, change, Op.SET_TRIGGER_ENABLED, rel(change.namespace, change.table))]


# ---------------------------------------------------------------- policies


def role_sql(role: str) -> str:
    """A role name; ``public`` is the PUBLIC pseudo-role, not a role called "public"."""
    return "PUBLIC" if role in ("public", "PUBLIC") else quote_ident(role)


def _create_policy_sql(namespace: str, table: str, policy: Policy) -> str:
    kind = "PERMISSIVE" if policy.permissive else "RESTRICTIVE"
    roles = ", ".join(role_sql(r) for r in policy.roles) or "PUBLIC"
    sql = (f"CREATE POLICY {quote_ident(policy.name)} ON {qualified(namespace, table)} "
           f"AS {kind} FOR {policy.command} TO {roles}")
    # pg_get_expr() prints polqual without the parentheses the syntax requires
    if policy.using is not None:
        sql += f" USING ({policy.using})"
    if policy.with_check is not None:
        sql += f" WITH CHECK ({policy.with_check})"
    return sql


def _drop_policy_sql(namespace: str, table: str, policy: Policy) -> str:
    return f"DROP POLICY {quote_ident(policy.name)} ON {qualified(namespace, table)}"


def create_policy(change: CreatePolicy) -> list[Statement]:
    ns, table, policy = change.namespace, change.table, change.policy
    return [stmt(_create_policy_sql(ns, table, policy), change, Op.CREATE_POLICY, rel(ns, table),
                 reverse=[_drop_policy_sql(ns, table, policy)]),
            *_comment(change, f"POLICY {quote_ident(policy.name)} ON {qualified(ns, table)}", policy.comment)]


def drop_policy(change: DropPolicy) -> list[Statement]:
    ns, table, policy = change.namespace, change.table, change.policy
    return [stmt(_drop_policy_sql(ns, table, policy), change, Op.DROP_POLICY, rel(ns, table),
                 reverse=[_create_policy_sql(ns, table, policy)])]


RENDERERS: dict[type, Callable[[Any], list[Statement]]] = {
    AddConstraint: add_constraint,
    DropConstraint: drop_constraint,
    ValidateConstraint: validate_constraint,
    CreateIndex: create_index,
    DropIndex: drop_index,
    CreateTrigger: create_trigger,
    DropTrigger: drop_trigger,
    SetTriggerEnabled: set_trigger_enabled,
    CreatePolicy: create_policy,
    DropPolicy: drop_policy,
}

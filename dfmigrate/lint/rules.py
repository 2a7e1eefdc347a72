"""The lint rules: a stable id, a one-line doc, and the check.

A rule's check takes a parsed statement (a pglast node) and the ``Context`` of the file, and
yields one message per problem. A rule whose facts a generated step already carries as data
(its lock and hazards, set by the renderer) also has a ``step`` check, which reads that data
instead of the SQL; the engine prefers it when the step has data.

Rule ids follow squawk's where squawk has the rule, so a team moving from squawk keeps its
suppressions and configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dfmigrate.ci_formats import RuleDoc
from dfmigrate.lint.context import Context, object_name, relation_name

POSTGRES = ("postgresql",)
# A check yields a message, or (message, parser location) to point inside the statement.
StatementCheck = Callable[[Any, Context], Iterable[Any]]
StepCheck = Callable[[Any, Context], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    doc: RuleDoc
    statement: StatementCheck
    step: StepCheck | None = None  # reads a generated step's lock and hazards
    # The hazard (a Hazard value) a migration file's recorded consent, ``allow_hazards =
    # [...]``, accepts for this rule: its findings are then notes, not errors.
    consent: str | None = None

    @property
    def id(self) -> str:
        return self.doc.id


# ---------------------------------------------------------------- reading the parse tree


def _ast() -> Any:
    from pglast import ast

    return ast


def _enums() -> Any:
    from pglast import enums

    return enums


def _alter_cmds(node: Any, ctx: Context, existing: bool = True) -> Iterator[tuple[str, Any]]:
    """(table, command) for each command of an ALTER TABLE; with ``existing``, only on tables
    this file did not create."""
    if not isinstance(node, _ast().AlterTableStmt) or node.relation is None:
        return
    if node.objtype != _enums().ObjectType.OBJECT_TABLE:
        return
    table = relation_name(node.relation)
    if existing and ctx.is_new(table):
        return
    for cmd in node.cmds or ():
        yield table, cmd


def _subtype(name: str) -> Any:
    return getattr(_enums().AlterTableType, name)


def _constraints(column: Any) -> tuple[Any, ...]:
    return tuple(column.constraints or ())


def _has(column: Any, contype: str) -> bool:
    kind = getattr(_enums().ConstrType, contype)
    return any(c.contype == kind for c in _constraints(column))


def _added_columns(node: Any, ctx: Context) -> Iterator[tuple[str, Any]]:
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_AddColumn") and isinstance(cmd.def_, _ast().ColumnDef):
            yield table, cmd.def_


def _added_constraints(node: Any, ctx: Context) -> Iterator[tuple[str, Any]]:
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_AddConstraint") and isinstance(cmd.def_, _ast().Constraint):
            yield table, cmd.def_


def _type_name(type_name: Any) -> str:
    """The type's own name, without ``pg_catalog.``: ``int4``, ``varchar``, ``serial``…"""
    return getattr(type_name.names[-1], "sval", "") if type_name is not None and type_name.names else ""


def _column_types(node: Any, ctx: Context) -> Iterator[tuple[str, Any, int | None]]:
    """(column, TypeName, parser location) of every column a statement declares or retypes (new
    tables too: the type rules are about what the schema will hold, not about locks)."""
    ast = _ast()
    if isinstance(node, ast.CreateStmt):
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                yield element.colname, element.typeName, element.location
    for _, cmd in _alter_cmds(node, ctx, existing=False):
        if cmd.subtype == _subtype("AT_AddColumn") and isinstance(cmd.def_, ast.ColumnDef):
            yield cmd.def_.colname, cmd.def_.typeName, cmd.def_.location
        elif cmd.subtype == _subtype("AT_AlterColumnType") and isinstance(cmd.def_, ast.ColumnDef):
            yield cmd.name, cmd.def_.typeName, cmd.def_.typeName.location


def _words(kind: str) -> str:
    return f" {kind.lower().replace('-', ' ').replace('_', ' ')} "


def _step_target_is_new(step: Any, ctx: Context) -> bool:
    return bool(step.target) and ctx.is_new(step.target)


# ---------------------------------------------------------------- checks


def _concurrent_index(node: Any, ctx: Context) -> Iterator[str]:
    if isinstance(node, _ast().IndexStmt) and not node.concurrent:
        table = relation_name(node.relation)
        if not ctx.is_new(table):
            yield (f"CREATE INDEX on existing table {table} without CONCURRENTLY blocks writes to it "
                   "until the index is built")


def _concurrent_index_step(step: Any, ctx: Context) -> Iterator[str]:
    if "index-build" in step.hazards and step.lock == "SHARE" and not _step_target_is_new(step, ctx):
        yield (f"building an index on existing table {step.target} under a SHARE lock blocks writes "
               "until it is built")


def _concurrent_index_drop(node: Any, ctx: Context) -> Iterator[str]:
    ast, enums = _ast(), _enums()
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_INDEX and not node.concurrent:
        names = [object_name(o) for o in node.objects or ()]
        old = [n for n in names if not ctx.is_new_index(n)]
        if old:
            yield (f"DROP INDEX {', '.join(old)} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on "
                   "the table, blocking reads and writes")


def _concurrent_in_transaction(node: Any, ctx: Context) -> Iterator[str]:
    ast, enums = _ast(), _enums()
    concurrent = (isinstance(node, ast.IndexStmt) and node.concurrent) or (
        isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_INDEX and node.concurrent)
    if concurrent and ctx.in_transaction:
        where = "the migration's transaction" if ctx.migration else "a transaction block"
        yield f"CONCURRENTLY cannot run inside {where}: PostgreSQL refuses the statement"


def _not_valid(node: Any, ctx: Context) -> Iterator[str]:
    enums = _enums()
    for table, con in _added_constraints(node, ctx):
        if con.contype in (enums.ConstrType.CONSTR_CHECK, enums.ConstrType.CONSTR_FOREIGN) \
                and not con.skip_validation:
            kind = "CHECK" if con.contype == enums.ConstrType.CONSTR_CHECK else "FOREIGN KEY"
            yield (f"adding {kind} constraint {con.conname or ''} on existing table {table} without "
                   "NOT VALID scans the whole table under a lock that blocks writes").replace("  ", " ")
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_ValidateConstraint") and cmd.name:
            added = ctx.not_valid.get((table.rsplit(".", 1)[-1], cmd.name))
            if added is not None and added == ctx.transaction:
                yield (f"VALIDATE CONSTRAINT {cmd.name} runs in the same transaction that added it NOT VALID: "
                       "the ACCESS EXCLUSIVE lock of the ADD is held while the table is scanned")


def _not_valid_step(step: Any, ctx: Context) -> Iterator[str]:
    words = _words(step.kind)
    if "validates-rows" in step.hazards and step.lock in ("ACCESS EXCLUSIVE", "SHARE ROW EXCLUSIVE") \
            and (" check " in words or " foreign " in words) and not _step_target_is_new(step, ctx):
        yield (f"adding a constraint on existing table {step.target} without NOT VALID scans the whole "
               "table under a lock that blocks writes")


def _foreign_key(node: Any, ctx: Context) -> Iterator[str]:
    for table, con in _added_constraints(node, ctx):
        if con.contype == _enums().ConstrType.CONSTR_FOREIGN and not con.skip_validation:
            yield (f"adding a FOREIGN KEY to existing table {table} locks it and "
                   f"{relation_name(con.pktable)} (SHARE ROW EXCLUSIVE) while every row is checked")
    for table, column in _added_columns(node, ctx):
        if _has(column, "CONSTR_FOREIGN"):
            yield (f"adding column {column.colname} with REFERENCES to existing table {table} takes a "
                   "SHARE ROW EXCLUSIVE lock on both tables")


# Functions PostgreSQL marks stable or immutable: a default calling only these is evaluated once
# when the column is added (PostgreSQL 11+), without rewriting the table.
_NON_VOLATILE = frozenset({
    "now", "transaction_timestamp", "statement_timestamp", "current_date", "current_time",
    "localtime", "localtimestamp", "lower", "upper", "length", "concat", "concat_ws", "to_timestamp",
    "to_date", "to_char", "make_date", "make_time", "make_timestamp", "make_timestamptz",
    "make_interval", "jsonb_build_object", "json_build_object", "jsonb_build_array",
    "json_build_array", "array_fill", "abs", "round", "trim", "btrim", "substring", "replace",
})


_SERIAL = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})


def _volatile_calls(expr: Any) -> list[str]:
    from pglast.visitors import Visitor

    found: list[str] = []

    class Calls(Visitor):  # type: ignore[misc]
        def visit_FuncCall(self, ancestors: Any, node: Any) -> None:
            name = getattr(node.funcname[-1], "sval", "")
            if name.lower() not in _NON_VOLATILE:
                found.append(name)

    Calls()(expr)
    return found


def _field_with_default(node: Any, ctx: Context) -> Iterator[str]:
    enums = _enums()
    for table, column in _added_columns(node, ctx):
        for con in _constraints(column):
            if con.contype == enums.ConstrType.CONSTR_DEFAULT:
                calls = _volatile_calls(con.raw_expr)
                if calls:
                    yield (f"column {column.colname} on existing table {table} gets a volatile default "
                           f"({', '.join(sorted(set(calls)))}()): the whole table is rewritten under an "
                           "ACCESS EXCLUSIVE lock")
                elif ctx.pg_version < 11:
                    yield (f"column {column.colname} on existing table {table} has a default: before "
                           "PostgreSQL 11 that rewrites the whole table under an ACCESS EXCLUSIVE lock")
            elif con.contype == enums.ConstrType.CONSTR_GENERATED:
                yield (f"stored generated column {column.colname} on existing table {table}: the whole "
                       "table is rewritten under an ACCESS EXCLUSIVE lock")
            elif con.contype == enums.ConstrType.CONSTR_IDENTITY:
                yield (f"identity column {column.colname} on existing table {table}: every existing row "
                       "gets the next value of its sequence, so the whole table is rewritten under an "
                       "ACCESS EXCLUSIVE lock")
        if _type_name(column.typeName) in _SERIAL:  # its default, nextval(), is volatile
            yield (f"column {column.colname} on existing table {table} is {_type_name(column.typeName)}: every "
                   "existing row gets the next value of its sequence, so the whole table is rewritten under "
                   "an ACCESS EXCLUSIVE lock")


def _required_field(node: Any, ctx: Context) -> Iterator[str]:
    for table, column in _added_columns(node, ctx):
        not_null = column.is_not_null or _has(column, "CONSTR_NOTNULL") or _has(column, "CONSTR_PRIMARY")
        filled = any(_has(column, k) for k in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"))
        serial = _type_name(column.typeName) in _SERIAL
        if not_null and not filled and not serial:
            yield (f"column {column.colname} is added NOT NULL without a default to existing table "
                   f"{table}: the statement fails as soon as the table has a row, and code that "
                   "inserts without it breaks")


def _not_nullable_field(node: Any, ctx: Context) -> Iterator[str]:
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_SetNotNull") and cmd.name:
            if (table.rsplit(".", 1)[-1], cmd.name) in ctx.proven_not_null and ctx.pg_version >= 12:
                continue  # a validated CHECK (col IS NOT NULL) lets PostgreSQL 12+ skip the scan
            yield (f"SET NOT NULL on {table}.{cmd.name} scans the whole table under an ACCESS EXCLUSIVE "
                   "lock, blocking reads and writes")


def _not_nullable_step(step: Any, ctx: Context) -> Iterator[str]:
    if "validates-rows" in step.hazards and step.lock == "ACCESS EXCLUSIVE" and " not null " in _words(step.kind) \
            and not _step_target_is_new(step, ctx):
        yield (f"setting NOT NULL on existing table {step.target} scans it under an ACCESS EXCLUSIVE lock, "
               "blocking reads and writes")


def _column_type(node: Any, ctx: Context) -> Iterator[str]:
    from pglast.stream import RawStream

    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_AlterColumnType"):
            new = RawStream()(cmd.def_.typeName) if cmd.def_ is not None else "a new type"
            yield (f"changing the type of {table}.{cmd.name} to {new} can rewrite the table and its "
                   "indexes under an ACCESS EXCLUSIVE lock, and breaks code that reads the old type")


def _column_type_step(step: Any, ctx: Context) -> Iterator[str]:
    if "table-rewrite" in step.hazards and " type " in _words(step.kind) and not _step_target_is_new(step, ctx):
        yield (f"a column type change on existing table {step.target} rewrites the table under an "
               "ACCESS EXCLUSIVE lock")


def _renaming(object_type: str, what: str) -> StatementCheck:
    def check(node: Any, ctx: Context) -> Iterator[str]:
        ast, enums = _ast(), _enums()
        if isinstance(node, ast.RenameStmt) and node.renameType == getattr(enums.ObjectType, object_type) \
                and node.relation is not None:
            table = relation_name(node.relation)
            if not ctx.is_new(table):
                old = f"{table}.{node.subname}" if node.subname else table
                yield (f"renaming {what} {old} to {node.newname} breaks every running client that "
                       "still uses the old name")
    return check


def _renaming_step(word: str, what: str) -> StepCheck:
    def check(step: Any, ctx: Context) -> Iterator[str]:
        words = _words(step.kind)
        if "breaks-clients" in step.hazards and " rename " in words and f" {word} " in words \
                and not _step_target_is_new(step, ctx):
            yield f"renaming a {what} of {step.target} breaks every running client that still uses the old name"
    return check


def _drop_column(node: Any, ctx: Context) -> Iterator[str]:
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype == _subtype("AT_DropColumn"):
            yield (f"dropping column {table}.{cmd.name} deletes its data and breaks code that still "
                   "reads it")


def _deletes(word: str, what: str) -> StepCheck:
    def check(step: Any, ctx: Context) -> Iterator[str]:
        if "deletes-data" in step.hazards and f" {word} " in _words(step.kind) and not _step_target_is_new(step, ctx):
            yield f"dropping a {what} of {step.target} deletes its data and breaks code that still reads it"
    return check


def _drop_table(node: Any, ctx: Context) -> Iterator[str]:
    ast, enums = _ast(), _enums()
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
        old = [n for n in (object_name(o) for o in node.objects or ()) if not ctx.is_new(n)]
        if old:
            yield f"dropping table {', '.join(old)} deletes its data and breaks code that still reads it"


def _drop_schema(node: Any, ctx: Context) -> Iterator[str]:
    ast, enums = _ast(), _enums()
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_SCHEMA:
        names = [getattr(o, "sval", str(o)) for o in node.objects or ()]
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        yield (f"dropping schema {', '.join(names)} "
               + ("with CASCADE deletes every table in it, with its data, and " if cascade else "")
               + "breaks code that still uses it")


def _drop_database(node: Any, ctx: Context) -> Iterator[str]:
    if isinstance(node, _ast().DropdbStmt):
        yield f"DROP DATABASE {node.dbname} deletes a whole database"


def _indexed_constraint(contype: str, what: str) -> StatementCheck:
    def check(node: Any, ctx: Context) -> Iterator[str]:
        kind = getattr(_enums().ConstrType, contype)
        for table, con in _added_constraints(node, ctx):
            if con.contype == kind and not con.indexname:
                yield (f"adding a {what} to existing table {table} builds its index under an ACCESS "
                       "EXCLUSIVE lock, blocking reads and writes")
        for table, column in _added_columns(node, ctx):
            if _has(column, contype):
                yield (f"adding column {column.colname} as {what} to existing table {table} builds an "
                       "index under an ACCESS EXCLUSIVE lock")
    return check


def _type_rule(names: frozenset[str], message: str) -> StatementCheck:
    """Yields (message, location): the finding points at the column's own line."""
    def check(node: Any, ctx: Context) -> Iterator[Any]:
        for column, type_name, location in _column_types(node, ctx):
            name = _type_name(type_name)
            if name in names and not (name == "varchar" and not type_name.typmods):
                text = message.format(column=column, type=_shown_type(name))
                yield (text, location) if isinstance(location, int) and location >= 0 else text
    return check


_SHOWN = {"int4": "integer", "int2": "smallint", "bpchar": "char", "timestamp": "timestamp"}


def _shown_type(name: str) -> str:
    return _SHOWN.get(name, name)


def _takes_strong_lock(node: Any, ctx: Context) -> str | None:
    """The existing table a statement locks against reads or writes, if any. The lock comes from
    the statement classifier (the renderer's lock table); the few statements it names no lock
    for are recognised here."""
    from dfmigrate.core.classify import classify
    from dfmigrate.dialects.postgres.hazards import BLOCKS

    ast = _ast()
    found = classify(ctx.statement, "postgresql")
    if found.kind == "drop-index":  # ACCESS EXCLUSIVE on the index's table, which it cannot name
        old = [n for n in (object_name(o) for o in node.objects or ()) if not ctx.is_new_index(n)]
        return f"the table of {old[0]}" if old else None
    if found.kind == "drop-table" and found.target is None:  # several tables in one statement
        old = [n for n in (object_name(o) for o in node.objects or ()) if not ctx.is_new(n)]
        return old[0] if old else None
    if found.lock is not None and BLOCKS.get(found.lock) and found.target:  # blocks reads or writes
        return None if ctx.is_new(found.target) else found.target
    if isinstance(node, ast.VacuumStmt):
        return "the vacuumed table" if any(getattr(o, "defname", "") == "full" for o in node.options or ()) else None
    if isinstance(node, (ast.TruncateStmt, ast.ClusterStmt, ast.ReindexStmt, ast.LockStmt)):
        return "the table"
    return None


def _timeouts(node: Any, ctx: Context) -> Iterator[str]:
    if ctx.migration or ctx.timeouts_reported:  # the runner sets lock_timeout on every migration
        return
    table = _takes_strong_lock(node, ctx)
    if table is None:
        return
    missing = [name for name in ("lock_timeout", "statement_timeout") if not getattr(ctx, name)]
    if missing:
        ctx.timeouts_reported = True
        yield (f"this statement locks {table} and {' and '.join(missing)} "
               f"{'is' if len(missing) == 1 else 'are'} not set before it: waiting behind a long "
               "query, it queues every other query on the table")


def _transaction_nesting(node: Any, ctx: Context) -> Iterator[str]:
    ast, enums = _ast(), _enums()
    if not isinstance(node, ast.TransactionStmt):
        return
    kind = enums.TransactionStmtKind
    if node.kind in (kind.TRANS_STMT_BEGIN, kind.TRANS_STMT_START) and ctx.in_transaction:
        yield ("BEGIN inside the migration's own transaction: the runner already wraps the migration, "
               "PostgreSQL ignores this BEGIN with a warning" if ctx.migration else
               "BEGIN inside an open transaction: PostgreSQL ignores it, and the first COMMIT ends both")
    elif node.kind in (kind.TRANS_STMT_COMMIT, kind.TRANS_STMT_ROLLBACK) and ctx.migration:
        yield ("COMMIT or ROLLBACK inside a migration ends the runner's transaction: the statements "
               "after it and the history row are no longer atomic with the rest")


def _truncate_cascade(node: Any, ctx: Context) -> Iterator[str]:
    if isinstance(node, _ast().TruncateStmt) and node.behavior == _enums().DropBehavior.DROP_CASCADE:
        yield "TRUNCATE … CASCADE also empties every table that references these, however far down"


def _table_rewrite(node: Any, ctx: Context) -> Iterator[str]:
    ast = _ast()
    if isinstance(node, ast.VacuumStmt) and any(getattr(o, "defname", "") == "full" for o in node.options or ()):
        yield "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock"
    elif isinstance(node, ast.ClusterStmt):
        yield "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock"
    for table, cmd in _alter_cmds(node, ctx):
        if cmd.subtype in (_subtype("AT_SetTableSpace"), _subtype("AT_SetLogged"), _subtype("AT_SetUnLogged")):
            yield f"this ALTER TABLE rewrites {table} under an ACCESS EXCLUSIVE lock"


def _table_rewrite_step(step: Any, ctx: Context) -> Iterator[str]:
    if "table-rewrite" in step.hazards and " type " not in _words(step.kind) and not _step_target_is_new(step, ctx):
        yield f"this step rewrites existing table {step.target} under an ACCESS EXCLUSIVE lock"


# ---------------------------------------------------------------- the rule set


def _doc(id: str, summary: str, why: str, fix: str, severity: str = "error") -> RuleDoc:
    return RuleDoc(id=id, summary=summary, severity=severity, why=why, fix=fix, dialects=POSTGRES)


RULES: tuple[Rule, ...] = (
    Rule(_doc("require-concurrent-index-creation", "CREATE INDEX on an existing table without CONCURRENTLY.",
              "A plain index build holds a SHARE lock: every INSERT, UPDATE and DELETE on the table waits "
              "until the whole index is built.",
              "CREATE INDEX CONCURRENTLY, outside a transaction block."),
         _concurrent_index, _concurrent_index_step),
    Rule(_doc("require-concurrent-index-deletion", "DROP INDEX without CONCURRENTLY.",
              "A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the table, blocking reads and writes, "
              "and waits behind every running query first.",
              "DROP INDEX CONCURRENTLY, outside a transaction block."),
         _concurrent_index_drop),
    Rule(_doc("ban-concurrent-index-creation-in-transaction", "CREATE/DROP INDEX CONCURRENTLY inside a transaction.",
              "PostgreSQL refuses CONCURRENTLY inside a transaction block: the migration fails.",
              "Run the statement on its own, outside BEGIN … COMMIT (dfmigrate runs a generated concurrent "
              "index outside the migration's transaction)."),
         _concurrent_in_transaction),
    Rule(_doc("constraint-missing-not-valid", "CHECK or FOREIGN KEY added to an existing table without NOT VALID, "
              "or validated in the transaction that added it.",
              "Adding the constraint validates every row while holding a lock that blocks writes (ACCESS "
              "EXCLUSIVE for CHECK). NOT VALID adds it instantly; VALIDATE CONSTRAINT, in a later transaction, "
              "scans under a lock that lets reads and writes go on.",
              "ADD CONSTRAINT … NOT VALID; then, in its own transaction, VALIDATE CONSTRAINT."),
         _not_valid, _not_valid_step),
    Rule(_doc("adding-foreign-key-constraint", "FOREIGN KEY added to an existing table in one validating step.",
              "The new key locks both the table and the referenced table (SHARE ROW EXCLUSIVE) while every "
              "row is checked: writes to both wait.",
              "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later transaction."),
         _foreign_key),
    Rule(_doc("adding-field-with-default", "Column added to an existing table with a volatile default (or any "
              "default before PostgreSQL 11), as a stored generated column, or as a serial or identity column.",
              "A volatile default (random(), gen_random_uuid(), clock_timestamp()…, and the nextval() behind "
              "serial and identity columns) or a stored generated column is computed for every row: the table is "
              "rewritten under an ACCESS EXCLUSIVE lock.",
              "Add the column without the default, set the default for new rows, backfill existing rows in "
              "batches."),
         _field_with_default),
    Rule(_doc("adding-required-field", "NOT NULL column added to an existing table without a default.",
              "The statement fails as soon as the table has a row, and code of the running release that inserts "
              "without the column breaks.",
              "Add the column nullable (or with a constant default), backfill it, then set NOT NULL safely."),
         _required_field),
    Rule(_doc("adding-not-nullable-field", "SET NOT NULL on an existing column.",
              "PostgreSQL scans the whole table to prove no NULL is left, under an ACCESS EXCLUSIVE lock that "
              "blocks reads and writes.",
              "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (in its own "
              "transaction); then SET NOT NULL, which PostgreSQL 12+ does without a scan; then drop c."),
         _not_nullable_field, _not_nullable_step),
    Rule(_doc("changing-column-type", "ALTER COLUMN … TYPE on an existing table.",
              "Most type changes rewrite the table and rebuild its indexes under an ACCESS EXCLUSIVE lock, and "
              "the running release may not handle the new type.",
              "Add a new column of the new type, backfill it in batches, switch readers and writers, drop the "
              "old one (binary-coercible changes such as widening a varchar are cheap: suppress the finding)."),
         _column_type, _column_type_step),
    Rule(_doc("renaming-column", "Column renamed.",
              "Code of the running release still uses the old name and fails until it is redeployed.",
              "Add the new column, write to both, backfill, move readers, then drop the old one (or keep a view "
              "with the old name for the transition)."),
         _renaming("OBJECT_COLUMN", "column"), _renaming_step("column", "column"), consent="breaks-clients"),
    Rule(_doc("renaming-table", "Table renamed.",
              "Code of the running release still uses the old name and fails until it is redeployed.",
              "Create the new table and migrate in phases, or leave an updatable view under the old name until "
              "every client has moved."),
         _renaming("OBJECT_TABLE", "table"), _renaming_step("table", "table"), consent="breaks-clients"),
    Rule(_doc("ban-drop-column", "Column dropped.",
              "The column's data is gone, and code of the running release that still reads or writes it fails.",
              "Stop using the column in a release first; drop it in a later migration, after a backup, and "
              "suppress the finding with the reason."),
         _drop_column, _deletes("column", "column"), consent="deletes-data"),
    Rule(_doc("ban-drop-table", "Table dropped.",
              "The table's data is gone, and code of the running release that still uses it fails.",
              "Stop using the table in a release first; drop it later, after a backup, and suppress the finding "
              "with the reason."),
         _drop_table, _deletes("table", "table"), consent="deletes-data"),
    Rule(_doc("ban-drop-schema", "Schema dropped.",
              "With CASCADE every table, view and function in the schema goes, with its data; without it the "
              "statement fails unless the schema is already empty. Code of the running release that still "
              "uses the schema fails.",
              "Stop using the schema in a release first; drop its tables one by one (each one a reviewed "
              "finding), then the empty schema without CASCADE, and suppress the finding with the reason."),
         _drop_schema, consent="deletes-data"),
    Rule(_doc("ban-drop-database", "DROP DATABASE.",
              "A migration should never delete a whole database.",
              "Do it by hand, outside migrations."),
         _drop_database),
    Rule(_doc("disallowed-unique-constraint", "UNIQUE constraint added to an existing table without USING INDEX.",
              "The unique index is built under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole "
              "build.",
              "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX."),
         _indexed_constraint("CONSTR_UNIQUE", "UNIQUE constraint")),
    Rule(_doc("adding-serial-primary-key-field", "PRIMARY KEY added to an existing table without USING INDEX.",
              "The primary key's index is built under an ACCESS EXCLUSIVE lock: reads and writes wait for the "
              "whole build.",
              "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX."),
         _indexed_constraint("CONSTR_PRIMARY", "PRIMARY KEY")),
    Rule(_doc("prefer-bigint-over-int", "integer (int4) or serial column.",
              "32-bit keys and counters run out at 2^31; widening later rewrites the table.",
              "Use bigint (or bigint GENERATED … AS IDENTITY).", severity="warning"),
         _type_rule(frozenset({"int4", "int", "integer", "serial", "serial4"}),
                    "column {column} is {type}: 32 bits run out at 2^31, prefer bigint")),
    Rule(_doc("prefer-bigint-over-smallint", "smallint (int2) or smallserial column.",
              "16-bit values run out at 32767; widening later rewrites the table.",
              "Use bigint.", severity="warning"),
         _type_rule(frozenset({"int2", "smallint", "smallserial", "serial2"}),
                    "column {column} is {type}: 16 bits run out at 32767, prefer bigint")),
    Rule(_doc("prefer-identity", "serial / bigserial column.",
              "serial types create a sequence owned loosely by the column (permissions, copies and dumps "
              "behave surprisingly); identity columns are the SQL-standard replacement.",
              "bigint GENERATED BY DEFAULT AS IDENTITY (or ALWAYS).", severity="warning"),
         _type_rule(frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}),
                    "column {column} is {type}: prefer an identity column")),
    Rule(_doc("prefer-timestamptz", "timestamp without time zone.",
              "A timestamp without time zone loses which instant it meant as soon as clients disagree on the "
              "time zone.",
              "Use timestamptz.", severity="warning"),
         _type_rule(frozenset({"timestamp"}),
                    "column {column} is timestamp without time zone: prefer timestamptz")),
    Rule(_doc("prefer-text-field", "varchar(n) column.",
              "A length limit in the type cannot be raised without an ACCESS EXCLUSIVE lock on old servers, and "
              "varchar(n) is no faster than text.",
              "Use text, with a CHECK (length(col) <= n) constraint if the limit matters.", severity="warning"),
         _type_rule(frozenset({"varchar"}), "column {column} is varchar(n): prefer text with a CHECK on length")),
    Rule(_doc("ban-char-field", "char(n) column.",
              "char(n) pads values with spaces and is slower than text; it is almost never what is meant.",
              "Use text (or varchar).", severity="warning"),
         _type_rule(frozenset({"bpchar"}), "column {column} is char(n): prefer text")),
    Rule(_doc("require-timeout-settings", "A statement that locks an existing table, in a file that does not "
              "set both lock_timeout and statement_timeout before it.",
              "A DDL statement waiting for its lock behind a long query makes every later query on the table "
              "queue behind it: a few seconds of waiting becomes an outage. lock_timeout bounds the wait, "
              "statement_timeout the run. (dfmigrate's migrate sets lock_timeout for migration files itself.)",
              "SET lock_timeout = '2s'; SET statement_timeout = '5min'; at the top of the file, and retry on "
              "timeout."),
         _timeouts),
    Rule(_doc("transaction-nesting", "BEGIN inside an open transaction, or COMMIT/ROLLBACK inside a migration.",
              "A nested BEGIN is ignored, so the first COMMIT ends the outer transaction early; in a migration "
              "file the runner owns the transaction, and a COMMIT splits the migration from its history row.",
              "Remove the BEGIN/COMMIT; let the runner (or the outer script) own the transaction."),
         _transaction_nesting),
    Rule(_doc("ban-truncate-cascade", "TRUNCATE … CASCADE.",
              "CASCADE empties every table that references the truncated ones, recursively: far more data than "
              "the statement names.",
              "Truncate the tables you mean, by name."),
         _truncate_cascade, consent="deletes-data"),
    Rule(_doc("table-rewrite", "A statement (or generated step) that rewrites a whole existing table.",
              "VACUUM FULL, CLUSTER, SET TABLESPACE, SET LOGGED/UNLOGGED (and generated steps the planner marks "
              "as rewrites) copy the table under an ACCESS EXCLUSIVE lock: reads and writes wait for the copy.",
              "Schedule it in a maintenance window, or use an online tool (pg_repack)."),
         _table_rewrite, _table_rewrite_step),
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
# Rules whose step check (hazard data) holds on every dialect: losing data and renaming.
ANY_DIALECT = frozenset({"ban-drop-column", "ban-drop-table", "renaming-column", "renaming-table"})
# squawk's ids for the same rules: accepted in suppressions and configuration, so a team moving
# from squawk keeps them.
SQUAWK_ALIASES = {"prefer-timestamp-tz": "prefer-timestamptz", "require-lock-timeout": "require-timeout-settings",
                  "require-statement-timeout": "require-timeout-settings"}


def canonical(rule_id: str) -> str:
    return SQUAWK_ALIASES.get(rule_id, rule_id)

"""What the linter knows while it walks one file (or one migration) statement by statement.

Rules read it, the engine updates it after each statement: which tables and indexes the file
itself created (a rule about an existing table stays quiet for those), whether a transaction is
open and which one, whether lock and statement timeouts are set, and which constraints were added
NOT VALID (and which of those prove a column NOT NULL once validated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def relation_name(rangevar: Any) -> str:
    """``schema.name`` as written (unquoted identifiers are already folded by the parser)."""
    return f"{rangevar.schemaname}.{rangevar.relname}" if rangevar.schemaname else rangevar.relname


def object_name(names: Any) -> str:
    """A dotted name from a tuple of ``String`` nodes (``DROP TABLE a.b``)."""
    return ".".join(getattr(n, "sval", str(n)) for n in names)


def _bare(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@dataclass
class Context:
    migration: bool  # a migration file: the runner owns the transaction and sets lock_timeout
    statement: str = ""  # the text of the statement the rules are looking at
    pg_version: int = 15  # the oldest server the SQL must be safe on (major version)
    created_tables: set[str] = field(default_factory=set)  # bare names
    created_indexes: set[str] = field(default_factory=set)
    depth: int = 0  # explicit BEGINs open (hand-written SQL)
    transaction: int = 0  # identity of the transaction the current statement runs in
    in_transaction: bool = False  # the current statement runs inside a transaction block
    lock_timeout: bool = False
    statement_timeout: bool = False
    timeouts_reported: bool = False  # require-timeout-settings speaks once per file
    not_valid: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, constraint) -> transaction
    not_null_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, constraint) -> column
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)  # (table, column)

    def is_new(self, table: str) -> bool:
        """Created earlier in this file: nobody else can hold a lock on it or have rows in it."""
        return _bare(table) in self.created_tables

    def is_new_index(self, name: str) -> bool:
        return _bare(name) in self.created_indexes

    # ------------------------------------------------------------ updated by the engine

    def enter(self, transactional: bool, isolated: bool = False) -> None:
        """Before a migration file's statement: the runner wraps transactional statements in
        its transaction (a new one for an isolated step), and runs the others alone."""
        if not transactional or isolated or not self.in_transaction:
            self.transaction += 1
        self.in_transaction = transactional

    def observe(self, node: Any) -> None:
        """After a statement of hand-written SQL (or a migration's): remember what it did."""
        from pglast import ast, enums

        if isinstance(node, ast.TransactionStmt):
            kind = enums.TransactionStmtKind
            if node.kind in (kind.TRANS_STMT_BEGIN, kind.TRANS_STMT_START):
                self.depth += 1
                self.in_transaction = True
            elif node.kind in (kind.TRANS_STMT_COMMIT, kind.TRANS_STMT_ROLLBACK):
                self.depth = max(0, self.depth - 1)
                self.in_transaction = self.migration or self.depth > 0
            self.transaction += 1
        elif isinstance(node, (ast.CreateStmt, ast.CreateTableAsStmt)):
            into = getattr(node, "into", None)
            rangevar = node.relation if isinstance(node, ast.CreateStmt) else into.rel if into else None
            if rangevar is not None and rangevar.relname:
                self.created_tables.add(rangevar.relname)
        elif isinstance(node, ast.IndexStmt) and node.idxname:
            self.created_indexes.add(node.idxname)
        elif isinstance(node, ast.RenameStmt) and node.renameType == enums.ObjectType.OBJECT_TABLE \
                and node.relation is not None and node.relation.relname and node.newname \
                and self.is_new(node.relation.relname):
            self.created_tables.add(node.newname)
        elif isinstance(node, ast.VariableSetStmt) and node.name in ("lock_timeout", "statement_timeout"):
            setattr(self, node.name, node.kind == enums.VariableSetKind.VAR_SET_VALUE and not _is_zero(node.args))
        elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            self._observe_alter(relation_name(node.relation), node)
        if not self.migration and self.depth == 0 and not isinstance(node, ast.TransactionStmt):
            self.transaction += 1  # autocommit: every statement is its own transaction

    def _observe_alter(self, table: str, node: Any) -> None:
        from pglast import ast, enums

        key = _bare(table)
        for cmd in node.cmds or ():
            if cmd.subtype == enums.AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                con = cmd.def_
                if con.skip_validation and con.conname:
                    self.not_valid[(key, con.conname)] = self.transaction
                    column = _not_null_column(con)
                    if column:
                        self.not_null_checks[(key, con.conname)] = column
            elif cmd.subtype == enums.AlterTableType.AT_ValidateConstraint and cmd.name:
                column = self.not_null_checks.get((key, cmd.name))
                if column:
                    self.proven_not_null.add((key, column))


def _is_zero(args: Any) -> bool:
    """``SET lock_timeout = 0`` (or ``'0'``) turns the timeout off."""
    if not args:
        return False
    value = getattr(args[0], "val", None)
    raw = getattr(value, "ival", getattr(value, "sval", None))
    return str(raw).strip() in ("0", "0ms", "0s")


def _not_null_column(con: Any) -> str | None:
    """The column of ``CHECK (col IS NOT NULL)``: validated, it lets SET NOT NULL skip its scan."""
    from pglast import ast, enums

    expr = con.raw_expr
    if con.contype == enums.ConstrType.CONSTR_CHECK and isinstance(expr, ast.NullTest) \
            and expr.nulltesttype == enums.NullTestType.IS_NOT_NULL and isinstance(expr.arg, ast.ColumnRef):
        fields = expr.arg.fields
        return getattr(fields[-1], "sval", None) if fields else None
    return None

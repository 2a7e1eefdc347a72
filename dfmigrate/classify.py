"""What a SQL statement is, locks and acts on, for SQL whose renderer did not say so.

Generated migrations carry these facts as data (``Step``): the renderer knew them. SQL written by
hand (``RunSQL``) and files in the earlier format hold only text, so this module reads it once,
with a real parser: pglast (PostgreSQL's own parser) for PostgreSQL, sqlglot for SQLite. The
kinds and locks are the PostgreSQL renderer's (``dialects.postgres.hazards``), so a hand-written
``ALTER TABLE … ADD COLUMN`` and a generated one compare as the same kind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

_FOREIGN_KEYS = re.compile(r"^\s*PRAGMA\s+foreign_keys\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Classified:
    kind: str  # e.g. "add-column", "create-index"; "sql" when the statement is not recognised
    lock: str | None = None  # PostgreSQL's lock name on ``target``, e.g. "ACCESS EXCLUSIVE"
    target: str | None = None  # "namespace.name" of the relation acted on
    transactional: bool = True
    # how a rerun tells a finished outside step (runner.progress): "index:NS.NAME",
    # "no-index:NS.NAME", "enum-label:NS.TYPE:LABEL"
    resume: str | None = None


@lru_cache(maxsize=4096)
def classify(sql: str, dialect: str) -> Classified:
    if dialect == "postgresql":
        return _postgres(sql)
    return _sqlite(sql)


# ---------------------------------------------------------------- PostgreSQL


def _postgres(sql: str) -> Classified:
    import pglast
    from pglast import ast
    from pglast.enums import AlterTableType as AT
    from pglast.enums import ConstrType, ObjectType

    from dfmigrate.dialects.postgres.hazards import RISKS, Op

    try:
        parsed = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return Classified("sql")
    if len(parsed) != 1:
        return Classified("sql")
    st = parsed[0].stmt

    def rel(r: ast.RangeVar | None) -> str | None:
        return f"{r.schemaname or 'public'}.{r.relname}" if r is not None else None

    def of(op: Op, target: str | None, transactional: bool = True) -> Classified:
        return Classified(op.value, RISKS[op].lock if target else None, target, transactional)

    if isinstance(st, ast.CreateStmt):
        return of(Op.CREATE_TABLE, rel(st.relation))
    if isinstance(st, ast.IndexStmt):
        if st.concurrent:  # SHARE UPDATE EXCLUSIVE, outside any transaction
            target = rel(st.relation)
            resume = f"index:{target.split('.', 1)[0]}.{st.idxname}" if target and st.idxname else None
            return Classified("create-index-concurrently", "SHARE UPDATE EXCLUSIVE", target, False, resume)
        return of(Op.CREATE_INDEX, rel(st.relation))
    if isinstance(st, ast.AlterTableStmt) and st.objtype == ObjectType.OBJECT_TABLE:
        target = rel(st.relation)
        subtypes = {c.subtype for c in st.cmds or ()}
        if subtypes == {AT.AT_AddColumn}:
            return of(Op.ADD_COLUMN, target)
        if subtypes == {AT.AT_DropColumn}:
            return of(Op.DROP_COLUMN, target)
        if subtypes == {AT.AT_ValidateConstraint}:
            return of(Op.VALIDATE_CONSTRAINT, target)
        if subtypes == {AT.AT_AlterColumnType}:
            return of(Op.ALTER_COLUMN_TYPE, target)
        if subtypes == {AT.AT_SetNotNull}:
            return of(Op.SET_NOT_NULL, target)
        if subtypes == {AT.AT_DropConstraint}:
            return of(Op.DROP_CONSTRAINT, target)
        if subtypes == {AT.AT_AddConstraint}:
            con = (st.cmds or ())[0].def_
            if getattr(con, "contype", None) == ConstrType.CONSTR_FOREIGN:
                return of(Op.ADD_FOREIGN_KEY_NOT_VALID if con.skip_validation else Op.ADD_FOREIGN_KEY, target)
            if getattr(con, "contype", None) == ConstrType.CONSTR_CHECK:
                return of(Op.ADD_CHECK_NOT_VALID if con.skip_validation else Op.ADD_CHECK, target)
            return of(Op.ADD_INDEXED_CONSTRAINT, target)
        return of(Op.ALTER_TABLE, target)
    if isinstance(st, ast.RenameStmt) and st.renameType == ObjectType.OBJECT_TABLE:
        return of(Op.RENAME_TABLE, rel(st.relation))
    if isinstance(st, ast.RenameStmt) and st.renameType == ObjectType.OBJECT_COLUMN:
        return of(Op.RENAME_COLUMN, rel(st.relation))
    if isinstance(st, ast.DropStmt):
        names = [".".join(p.sval for p in obj) for obj in st.objects or () if isinstance(obj, tuple)]
        target = (names[0] if "." in names[0] else f"public.{names[0]}") if len(names) == 1 else None
        if st.removeType == ObjectType.OBJECT_TABLE:
            return of(Op.DROP_TABLE, target)
        if st.removeType == ObjectType.OBJECT_INDEX:
            if st.concurrent:
                return Classified("drop-index-concurrently", None, target, False,
                                  f"no-index:{target}" if target else None)
            return Classified(Op.DROP_INDEX.value, None, target)  # its lock is on the table, unnamed here
        return Classified(Op.DROP_OBJECT.value, None, target)
    if isinstance(st, ast.CreateTrigStmt):
        return of(Op.CREATE_TRIGGER, rel(st.relation))
    if isinstance(st, ast.AlterEnumStmt):
        if st.newVal and not st.oldVal:
            parts = [p.sval for p in st.typeName]
            enum = ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"
            return Classified(Op.ADD_ENUM_VALUE.value, resume=f"enum-label:{enum}:{st.newVal}")
        return Classified(Op.ALTER_OBJECT.value)
    if isinstance(st, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        return Classified(type(st).__name__.removesuffix("Stmt").lower(), None, rel(st.relation))
    name = type(st).__name__.removesuffix("Stmt")
    return Classified(re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower())


# ---------------------------------------------------------------- SQLite


def _sqlite(sql: str) -> Classified:
    if _FOREIGN_KEYS.match(sql):  # a no-op inside a transaction: it must run outside one
        return Classified("pragma", transactional=False)
    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is not news
    try:
        st = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return Classified("sql")
    table = st.find(exp.Table)
    target = f"{table.db or 'main'}.{table.name}" if table is not None and table.name else None
    kind = str(st.args.get("kind") or "").lower()
    if isinstance(st, exp.Pragma):
        return Classified("pragma")
    if isinstance(st, exp.Create):
        return Classified(f"create-{kind or 'object'}", None, target)
    if isinstance(st, exp.Drop):
        return Classified(f"drop-{kind or 'object'}", None, target)
    if isinstance(st, exp.Alter):
        actions = st.args.get("actions") or []
        first = type(actions[0]).__name__ if actions else ""
        what = {"ColumnDef": "add-column", "RenameColumn": "rename-column", "AlterRename": "rename-table",
                "Drop": "drop-column"}.get(first, "alter-table")
        return Classified(what, None, target)
    if isinstance(st, (exp.Insert, exp.Update, exp.Delete)):
        return Classified(type(st).__name__.lower(), None, target)
    return Classified("sql", None, target)

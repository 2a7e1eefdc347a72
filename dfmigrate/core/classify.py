"""What a SQL statement is, locks and acts on, for SQL whose renderer did not say so.

Generated migrations carry these facts as data (``Step``): the renderer knew them. SQL written by
hand (``RunSQL``) and files in the earlier format hold only text, so this module reads it once,
with a real parser: pglast (PostgreSQL's own parser) for PostgreSQL, sqlglot for SQLite and MySQL
(where every statement but a data change commits by itself, so it runs outside any transaction). The
kinds, locks and hazards are the PostgreSQL renderer's (``dialects.postgres.hazards``), so a
hand-written ``ALTER TABLE … DROP COLUMN`` and a generated one compare as the same kind and need
the same consent (``safety.consent``). A text holding several statements is kind ``sql`` and
carries the hazards of all of them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dfmigrate.core.statement import Hazard

if TYPE_CHECKING:
    from dfmigrate.dialects.postgres.hazards import Op

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
    hazards: tuple[str, ...] = ()  # Hazard values, e.g. ("deletes-data", "breaks-clients")


@lru_cache(maxsize=4096)
def classify(sql: str, dialect: str) -> Classified:
    if dialect == "postgresql":
        return _postgres(sql)
    if dialect == "mysql":
        return _mysql(sql)
    return _sqlite(sql)


# ---------------------------------------------------------------- PostgreSQL


def _postgres(sql: str) -> Classified:
    import pglast

    try:
        parsed = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return Classified("sql")
    if len(parsed) != 1:
        return Classified("sql", hazards=_union(_statement(p.stmt).hazards for p in parsed))
    return _statement(parsed[0].stmt)


def _statement(st: object) -> Classified:
    from pglast import ast
    from pglast.enums import DropBehavior, ObjectType

    from dfmigrate.dialects.postgres.hazards import RISKS, Op

    def rel(r: ast.RangeVar | None) -> str | None:
        return f"{r.schemaname or 'public'}.{r.relname}" if r is not None else None

    def of(op: Op, target: str | None, transactional: bool = True, resume: str | None = None,
           lock: bool = True) -> Classified:
        return Classified(op.value, RISKS[op].lock if target and lock else None, target, transactional, resume,
                          _values(RISKS[op].hazards))

    if isinstance(st, ast.CreateStmt):
        return of(Op.CREATE_TABLE, rel(st.relation))
    if isinstance(st, ast.IndexStmt):
        if st.concurrent:  # SHARE UPDATE EXCLUSIVE, outside any transaction
            target = rel(st.relation)
            resume = f"index:{target.split('.', 1)[0]}.{st.idxname}" if target and st.idxname else None
            return of(Op.CREATE_INDEX_CONCURRENTLY, target, False, resume)
        return of(Op.CREATE_INDEX, rel(st.relation))
    if isinstance(st, ast.AlterTableStmt) and st.objtype == ObjectType.OBJECT_TABLE:
        target = rel(st.relation)
        cmds = st.cmds or ()
        ops = [_alter_op(c) for c in cmds]
        # a multi-part ALTER is one alter-table, carrying every part's hazards
        found = of(ops[0], target) if len(set(ops)) == 1 else of(Op.ALTER_TABLE, target)
        hazards = _union([found.hazards, *(_values(RISKS[op].hazards) for op in ops),
                          *(_required_without_default(c) for c in cmds)])
        return replace(found, hazards=hazards)
    if isinstance(st, ast.RenameStmt) and st.renameType == ObjectType.OBJECT_TABLE:
        return of(Op.RENAME_TABLE, rel(st.relation))
    if isinstance(st, ast.RenameStmt) and st.renameType == ObjectType.OBJECT_COLUMN:
        return of(Op.RENAME_COLUMN, rel(st.relation))
    if isinstance(st, ast.RenameStmt) and st.renameType in _client_visible():
        return of(Op.RENAME_OBJECT, None)
    if isinstance(st, ast.DropStmt):
        names = [".".join(p.sval for p in obj) for obj in st.objects or () if isinstance(obj, tuple)]
        target = (names[0] if "." in names[0] else f"public.{names[0]}") if len(names) == 1 else None
        if st.removeType == ObjectType.OBJECT_TABLE:
            return of(Op.DROP_TABLE, target)
        if st.removeType == ObjectType.OBJECT_SEQUENCE:
            return of(Op.DROP_SEQUENCE, target)
        if st.removeType == ObjectType.OBJECT_INDEX:
            if st.concurrent:
                return of(Op.DROP_INDEX_CONCURRENTLY, target, False, f"no-index:{target}" if target else None,
                          lock=False)
            return of(Op.DROP_INDEX, target, lock=False)  # its lock is on the table, unnamed here
        if st.removeType == ObjectType.OBJECT_SCHEMA and st.behavior == DropBehavior.DROP_CASCADE:
            # the renderer drops a schema only once it is empty; CASCADE drops its tables with it
            return replace(of(Op.DROP_OBJECT, None), hazards=_values(RISKS[Op.DROP_TABLE].hazards))
        return of(Op.DROP_OBJECT, target)
    if isinstance(st, ast.CreateTrigStmt):
        return of(Op.CREATE_TRIGGER, rel(st.relation))
    if isinstance(st, ast.AlterEnumStmt):
        if st.newVal and not st.oldVal:
            parts = [p.sval for p in st.typeName or ()]
            enum = ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"
            return of(Op.ADD_ENUM_VALUE, None, resume=f"enum-label:{enum}:{st.newVal}")
        # RENAME VALUE: rows keep their value under its new label, but code sending the old one fails
        return replace(of(Op.ALTER_OBJECT, None), hazards=_values(RISKS[Op.RENAME_OBJECT].hazards))
    if isinstance(st, ast.TruncateStmt):  # never rendered: a hand-written TRUNCATE empties its tables
        return Classified("truncate", hazards=(Hazard.DELETES_DATA.value,))
    if isinstance(st, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        return Classified(type(st).__name__.removesuffix("Stmt").lower(), None, rel(st.relation))
    name = type(st).__name__.removesuffix("Stmt")
    return Classified(re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower())


def _alter_op(cmd: object) -> Op:
    """The renderer's ``Op`` for one part of an ``ALTER TABLE``."""
    from pglast.enums import AlterTableType as AT
    from pglast.enums import ConstrType

    from dfmigrate.dialects.postgres.hazards import Op

    subtype: Any = getattr(cmd, "subtype", None)
    if subtype == AT.AT_AddConstraint:
        con = getattr(cmd, "def_", None)
        if getattr(con, "contype", None) == ConstrType.CONSTR_FOREIGN:
            return Op.ADD_FOREIGN_KEY_NOT_VALID if con.skip_validation else Op.ADD_FOREIGN_KEY  # type: ignore[union-attr]
        if getattr(con, "contype", None) == ConstrType.CONSTR_CHECK:
            return Op.ADD_CHECK_NOT_VALID if con.skip_validation else Op.ADD_CHECK  # type: ignore[union-attr]
        return Op.ADD_INDEXED_CONSTRAINT
    return {AT.AT_AddColumn: Op.ADD_COLUMN, AT.AT_DropColumn: Op.DROP_COLUMN,
            AT.AT_ValidateConstraint: Op.VALIDATE_CONSTRAINT, AT.AT_AlterColumnType: Op.ALTER_COLUMN_TYPE,
            AT.AT_SetNotNull: Op.SET_NOT_NULL, AT.AT_DropConstraint: Op.DROP_CONSTRAINT}.get(subtype, Op.ALTER_TABLE)


# serial types carry their default (a sequence): adding one NOT NULL fills existing rows
_SERIAL = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})


def _required_without_default(cmd: object) -> tuple[str, ...]:
    """The renderer's extra hazards of ``ADD COLUMN … NOT NULL`` with nothing to fill existing
    rows (``Column.required_without_default``): it fails on a table with rows, and the
    release still running inserts without the column."""
    from pglast import ast
    from pglast.enums import AlterTableType as AT
    from pglast.enums import ConstrType

    col = getattr(cmd, "def_", None)
    if getattr(cmd, "subtype", None) != AT.AT_AddColumn or not isinstance(col, ast.ColumnDef):
        return ()
    kinds = {c.contype for c in col.constraints or () if isinstance(c, ast.Constraint)}
    type_name = col.typeName.names[-1].sval if col.typeName is not None and col.typeName.names else ""
    fills = {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED}
    if ConstrType.CONSTR_NOTNULL not in kinds or kinds & fills or type_name in _SERIAL:
        return ()
    return _values((Hazard.VALIDATES_ROWS, Hazard.FAILS_ON_DATA, Hazard.BREAKS_CLIENTS))


@lru_cache(maxsize=1)
def _client_visible() -> frozenset[object]:
    """Objects the release still running names in its queries: renaming one breaks it."""
    from pglast.enums import ObjectType as O

    return frozenset({O.OBJECT_VIEW, O.OBJECT_MATVIEW, O.OBJECT_FUNCTION, O.OBJECT_PROCEDURE, O.OBJECT_TYPE,
                      O.OBJECT_DOMAIN, O.OBJECT_SCHEMA, O.OBJECT_SEQUENCE, O.OBJECT_FOREIGN_TABLE,
                      O.OBJECT_ATTRIBUTE})


# ---------------------------------------------------------------- SQLite


def _sqlite(sql: str) -> Classified:
    if _FOREIGN_KEYS.match(sql):  # a no-op inside a transaction: it must run outside one
        return Classified("pragma", transactional=False)
    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is not news
    try:
        parsed = [st for st in sqlglot.parse(sql, read="sqlite") if st is not None]
    except sqlglot.errors.ParseError:
        return Classified("sql")
    if len(parsed) != 1:
        return Classified("sql", hazards=_union(_sqlglot_statement(st).hazards for st in parsed))
    return _sqlglot_statement(parsed[0])


def _sqlglot_statement(st: object) -> Classified:
    """One statement as sqlglot parsed it (SQLite's or MySQL's)."""
    from sqlglot import exp

    assert isinstance(st, exp.Expression)
    # a common table expression's name read in its own query is no table of the database
    ctes = {cte.alias_or_name for cte in st.find_all(exp.CTE)}
    table = next((t for t in st.find_all(exp.Table) if t.name and not (t.name in ctes and not t.db)), None)
    target = f"{table.db or 'main'}.{table.name}" if table is not None else None
    kind = str(st.args.get("kind") or "").lower()
    if isinstance(st, exp.Pragma):
        return Classified("pragma")
    if isinstance(st, exp.Create):
        return Classified(f"create-{kind or 'object'}", None, target)
    if isinstance(st, exp.Drop):
        what = f"drop-{kind or 'object'}"
        return Classified(what, None, target, hazards=_destructive_of(what))
    if isinstance(st, exp.Alter):
        names = [_alter_action(a) for a in st.args.get("actions") or []]
        what = names[0] if len(set(names)) == 1 else "alter-table"
        return Classified(what, None, target, hazards=_union(_destructive_of(n) for n in names))
    if isinstance(st, (exp.Insert, exp.Update, exp.Delete)):
        return Classified(type(st).__name__.lower(), None, target)
    return Classified("sql", None, target)


# a DROP action's kind by what it drops: a column's only when it says so (MySQL's DROP INDEX /
# DROP FOREIGN KEY lose no data); what a rerun looks for is named after the same kind
_DROPS = {"COLUMN": "column", "INDEX": "index", "KEY": "index", "FOREIGN KEY": "constraint",
          "CONSTRAINT": "constraint", "CHECK": "constraint"}


def _alter_action(action: object) -> str:
    """The kind of one ``ALTER TABLE`` action."""
    name = type(action).__name__
    if name == "Drop":
        return f"drop-{_DROPS.get(str(getattr(action, 'args', {}).get('kind') or 'COLUMN').upper(), 'constraint')}"
    return {"ColumnDef": "add-column", "RenameColumn": "rename-column",
            "AlterRename": "rename-table"}.get(name, "alter-table")


# ---------------------------------------------------------------- MySQL

_DATA = ("insert", "update", "delete")


def _mysql(sql: str) -> Classified:
    """Read as SQLite's statements are; but only a data change runs inside the transaction:
    everything else (DDL, and what sqlglot cannot parse) commits by itself on MySQL, so it runs
    alone, outside any transaction."""
    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        parsed = [st for st in sqlglot.parse(sql, read="mysql") if st is not None]
    except sqlglot.errors.ParseError:
        return Classified("sql", transactional=False)
    if len(parsed) != 1:
        return Classified("sql", transactional=False, hazards=_union(_sqlglot_statement(st).hazards for st in parsed))
    found = _sqlglot_statement(parsed[0])
    if found.kind in _DATA:
        return found
    return replace(found, transactional=False, resume=_mysql_resume(parsed[0]))


def _mysql_resume(st: Any) -> str | None:
    """How a rerun tells that this DDL statement (which commits by itself) finished, in the
    renderer's terms (``render.present`` / ``absent``, read by ``dialects.mysql.resume``): what its
    first action creates or removes (MySQL 8 and MariaDB 10.6+ make one statement atomic, so the
    first action stands for all). None when the statement names another database or is not one
    of these shapes: it then runs again."""
    from sqlglot import exp

    from dfmigrate.dialects.mysql.render import RERUN, absent, present

    def local(table: Any) -> str | None:
        return table.name if isinstance(table, exp.Table) and table.name and not table.db else None

    kind = str(st.args.get("kind") or "").upper()
    if isinstance(st, exp.Create) and kind in ("TABLE", "VIEW"):
        t = local(st.find(exp.Table))
        return present("table", t) if t else None
    if isinstance(st, exp.Create) and kind == "INDEX" and isinstance(st.this, exp.Index):
        t = local(st.this.args.get("table"))
        return present("index", t, st.this.name) if t and st.this.name else None
    if isinstance(st, exp.Drop) and kind in ("TABLE", "VIEW"):
        t = local((st.args.get("tables") or [None])[0] or st.this)
        return absent("table", t) if t else None
    if isinstance(st, exp.Drop) and kind == "INDEX":
        on = st.args.get("cluster")
        t = local(on.this if on is not None else None)
        index = (st.args.get("tables") or [None])[0]
        return absent("index", t, index.name) if t and index is not None else None
    if not isinstance(st, exp.Alter) or not st.args.get("actions"):
        return None
    t = local(st.this)
    if t is None:
        return None
    action = st.args["actions"][0]
    if isinstance(action, exp.ColumnDef):
        return present("column", t, action.name)
    if isinstance(action, exp.RenameColumn):
        return present("column", t, action.args["to"].name)
    if isinstance(action, exp.ModifyColumn):  # CHANGE a b …: b is there; MODIFY a …: sets a definition
        renamed = action.args.get("rename_from")
        return present("column", t, action.this.name) if renamed is not None and renamed.name != action.this.name \
            else RERUN
    if isinstance(action, exp.DropPrimaryKey):
        return absent("index", t, "PRIMARY")
    if isinstance(action, exp.Drop):
        what = _DROPS.get(str(action.args.get("kind") or "").upper())
        name = (action.args.get("tables") or [None])[0]
        return absent(what, t, name.name) if what and name is not None and name.name else None
    if isinstance(action, exp.AddConstraint) and action.expressions:
        added = action.expressions[0]
        if isinstance(added, exp.PrimaryKey):
            return present("index", t, "PRIMARY")
        if isinstance(added, exp.IndexColumnConstraint) and added.name:
            return present("index", t, added.name)
        if isinstance(added, exp.UniqueColumnConstraint) and isinstance(added.this, exp.Schema) and added.this.name:
            return present("index", t, added.this.name)
        if isinstance(added, exp.Constraint) and added.name:
            return present("constraint", t, added.name)
    return None


def _destructive_of(kind: str) -> tuple[str, ...]:
    """The destructive hazards the PostgreSQL renderer gives the same kind of statement (SQLite
    has no lock levels to speak of)."""
    from dfmigrate.dialects.postgres.hazards import RISKS, Op
    from dfmigrate.core.statement import DESTRUCTIVE

    op = next((o for o in Op if o.value == kind), None)
    return _values(h for h in RISKS[op].hazards if h in DESTRUCTIVE) if op in RISKS else ()


# ---------------------------------------------------------------- hazards as values


def _values(hazards: Iterable[Hazard]) -> tuple[str, ...]:
    return tuple(h.value for h in hazards)


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Every hazard of ``groups``, once each, in first-seen order."""
    return tuple(dict.fromkeys(h for group in groups for h in group))

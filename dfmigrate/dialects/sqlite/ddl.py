"""Reading SQLite's stored DDL text (``sqlite_schema.sql``) for what the pragmas do not expose.

SQLite keeps every CREATE statement verbatim. sqlglot's *parser* rejects much legal SQLite DDL
(``WITHOUT ROWID``, multi-word types, ``ON CONFLICT``, ``PRIMARY KEY (a DESC)``), so this module
walks sqlglot's *tokenizer* output instead: it is exact about strings, quoted identifiers and
comments, and lets us slice expression text out of the original statement unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import TokenType

from dfmigrate.dialects.sqlite.quote import quote_ident

# Tokens whose text is a value, not a keyword: never matched as syntax.
_VALUES = {TokenType.IDENTIFIER, TokenType.STRING, TokenType.HEX_STRING, TokenType.NUMBER}
_LITERALS = {TokenType.STRING, TokenType.HEX_STRING, TokenType.NUMBER, TokenType.NULL,
             TokenType.TRUE, TokenType.FALSE}


@dataclass(frozen=True)
class Word:
    """One token, or one word of a multi-word keyword token ("PRIMARY KEY")."""

    kw: str | None  # upper-cased text of an unquoted token; None for quoted identifiers/strings
    name: str  # identifier value (quotes removed) or raw text
    start: int
    end: int  # exclusive
    type: TokenType


def words(sql: str) -> list[Word]:
    out: list[Word] = []
    for tok in SQLite().tokenize(sql):
        end = tok.end + 1
        if tok.token_type in _VALUES:
            out.append(Word(None, tok.text, tok.start, end, tok.token_type))
            continue
        parts = tok.text.split()
        if len(parts) > 1:  # offsets of inner words are approximate; only keywords split
            out.extend(Word(p.upper(), p, tok.start, end, tok.token_type) for p in parts)
        else:
            out.append(Word(tok.text.upper(), tok.text, tok.start, end, tok.token_type))
    return out


def _close(ws: list[Word], i: int) -> int:
    """Index of the ')' matching the '(' at ws[i]."""
    depth = 0
    for j in range(i, len(ws)):
        if ws[j].kw == "(":
            depth += 1
        elif ws[j].kw == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced parentheses")


def _split(ws: list[Word]) -> list[list[Word]]:
    """Split on top-level commas."""
    groups: list[list[Word]] = [[]]
    depth = 0
    for w in ws:
        if w.kw == "," and depth == 0:
            groups.append([])
            continue
        depth += (w.kw == "(") - (w.kw == ")")
        groups[-1].append(w)
    return [g for g in groups if g]


def _text(sql: str, ws: list[Word]) -> str:
    return sql[ws[0].start:ws[-1].end].strip() if ws else ""


@dataclass
class ConstraintDDL:
    kind: str  # "pk" | "unique" | "check" | "fk"
    name: str | None = None
    columns: tuple[str, ...] = ()
    expression: str | None = None  # check
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    deferrable: bool = False
    initially_deferred: bool = False
    on_conflict: str | None = None  # pk, unique


@dataclass
class ColumnDDL:
    name: str
    collation: str | None = None
    generated: str | None = None
    autoincrement: bool = False


@dataclass
class TableDDL:
    columns: dict[str, ColumnDDL] = field(default_factory=dict)  # key: lower-cased name
    constraints: list[ConstraintDDL] = field(default_factory=list)  # in declaration order
    without_rowid: bool = False
    strict: bool = False


_COLUMN_CONSTRAINT_START = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                            "COLLATE", "REFERENCES", "GENERATED", "AS"}


def parse_create_table(sql: str) -> TableDDL:
    ws = words(sql)
    ddl = TableDDL()
    opener = next((i for i, w in enumerate(ws) if w.kw in ("(", "AS")), None)
    if opener is None or ws[opener].kw == "AS":  # CREATE TABLE ... AS SELECT: no constraints
        return ddl
    close = _close(ws, opener)
    for item in _split(ws[opener + 1:close]):
        if item[0].kw in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            ddl.constraints.append(_table_constraint(sql, item))
        else:
            _column_def(sql, item, ddl)
    tail = {w.kw for w in ws[close + 1:]}
    ddl.without_rowid = "ROWID" in tail
    ddl.strict = "STRICT" in tail
    return ddl


def _column_def(sql: str, item: list[Word], ddl: TableDDL) -> None:
    col = ColumnDDL(item[0].name)
    ddl.columns[col.name.lower()] = col
    i = 1
    while i < len(item) and item[i].kw not in _COLUMN_CONSTRAINT_START:
        i = _close(item, i) + 1 if item[i].kw == "(" else i + 1  # skip the type, e.g. NUMERIC(10, 2)
    name: str | None = None  # a pending CONSTRAINT name applies to the next constraint
    last: ConstraintDDL | None = None  # the constraint an ON CONFLICT clause belongs to
    while i < len(item):
        kw = item[i].kw
        if kw == "ON" and i + 2 < len(item) and item[i + 1].kw == "CONFLICT":
            if last is not None:
                last.on_conflict = item[i + 2].kw
            i += 3
            continue
        if kw == "CONSTRAINT":
            name, i = item[i + 1].name, i + 2
            continue
        if kw == "REFERENCES":
            fk, i = _references(item, i + 1, (col.name,), name)
            ddl.constraints.append(fk)
            name = None
            continue
        if kw in ("NOT", "CHECK", "DEFAULT", "COLLATE", "AS"):
            last = None  # NOT NULL ON CONFLICT is not kept (known gap)
        if kw == "PRIMARY":
            last = ConstraintDDL("pk", name, (col.name,))
            ddl.constraints.append(last)
        elif kw == "UNIQUE":
            last = ConstraintDDL("unique", name, (col.name,))
            ddl.constraints.append(last)
        elif kw == "CHECK":
            end = _close(item, i + 1)
            ddl.constraints.append(ConstraintDDL("check", name, expression=_text(sql, item[i + 2:end])))
            i = end
        elif kw == "AUTOINCREMENT":
            col.autoincrement = True
        elif kw == "COLLATE":
            col.collation, i = item[i + 1].name, i + 1
        elif kw == "DEFAULT":
            i = _skip_default(item, i + 1)
        elif kw == "AS":
            end = _close(item, i + 1)
            col.generated, i = _text(sql, item[i + 2:end]), end
        if kw in ("PRIMARY", "UNIQUE", "CHECK", "NOT", "NULL", "DEFAULT", "COLLATE", "AS"):
            name = None
        i += 1


def _skip_default(item: list[Word], i: int) -> int:
    """Index of the last word of the DEFAULT value starting at item[i]."""
    if item[i].kw == "(":
        return _close(item, i)
    return i + 1 if item[i].kw in ("-", "+") else i


def _names(group: list[Word]) -> tuple[str, ...]:
    """Column names of a parenthesized list whose entries may carry COLLATE / ASC / DESC."""
    return tuple(part[0].name for part in _split(group))


def _table_constraint(sql: str, item: list[Word]) -> ConstraintDDL:
    name = None
    if item[0].kw == "CONSTRAINT":
        name, item = item[1].name, item[2:]
    kw = item[0].kw
    lparen = next(i for i, w in enumerate(item) if w.kw == "(")
    rparen = _close(item, lparen)
    inner = item[lparen + 1:rparen]
    if kw == "CHECK":
        return ConstraintDDL("check", name, expression=_text(sql, inner))
    if kw == "FOREIGN":
        ref = next(i for i, w in enumerate(item) if w.kw == "REFERENCES")
        return _references(item, ref + 1, _names(inner), name)[0]
    rest = item[rparen + 1:]
    on_conflict = rest[2].kw if len(rest) > 2 and rest[0].kw == "ON" and rest[1].kw == "CONFLICT" else None
    return ConstraintDDL("pk" if kw == "PRIMARY" else "unique", name, _names(inner),
                         on_conflict=on_conflict)


def _references(item: list[Word], i: int, columns: tuple[str, ...],
                name: str | None) -> tuple[ConstraintDDL, int]:
    """Parse ``table [(cols)] [ON DELETE|UPDATE action] [MATCH x] [[NOT] DEFERRABLE
    [INITIALLY DEFERRED|IMMEDIATE]]``; actions come from pragma_foreign_key_list."""
    fk = ConstraintDDL("fk", name, columns, ref_table=item[i].name)
    i += 1
    if i < len(item) and item[i].kw == "(":
        end = _close(item, i)
        fk.ref_columns = tuple(w.name for w in item[i + 1:end] if w.kw != ",")
        i = end + 1
    while i < len(item):
        kw = item[i].kw
        if kw == "ON":  # ON DELETE SET NULL / NO ACTION / CASCADE ...
            i += 4 if i + 2 < len(item) and item[i + 2].kw in ("SET", "NO") else 3
        elif kw == "MATCH":
            i += 2
        elif kw == "NOT" and i + 1 < len(item) and item[i + 1].kw == "DEFERRABLE":
            i += 2
        elif kw == "DEFERRABLE":
            fk.deferrable, i = True, i + 1
        elif kw == "INITIALLY":
            fk.initially_deferred = i + 1 < len(item) and item[i + 1].kw == "DEFERRED"
            i += 2
        else:
            break
    return fk, i


@dataclass(frozen=True)
class IndexPartDDL:
    column: str | None
    expression: str | None
    descending: bool
    collation: str | None


def parse_create_index(sql: str) -> tuple[list[IndexPartDDL], str | None]:
    """Index parts and the partial-index predicate of a CREATE INDEX statement."""
    ws = words(sql)
    lparen = next(i for i, w in enumerate(ws) if w.kw == "(")
    rparen = _close(ws, lparen)
    parts = [_index_part(sql, group) for group in _split(ws[lparen + 1:rparen])]
    rest = ws[rparen + 1:]
    where = _text(sql, rest[1:]) if rest and rest[0].kw == "WHERE" else None
    return parts, where


def _index_part(sql: str, group: list[Word]) -> IndexPartDDL:
    descending = False
    collation = None
    if group[-1].kw in ("ASC", "DESC"):
        descending, group = group[-1].kw == "DESC", group[:-1]
    if len(group) > 2 and group[-2].kw == "COLLATE":
        collation, group = group[-1].name, group[:-2]
    if len(group) == 1 and group[0].type not in _LITERALS:
        return IndexPartDDL(group[0].name, None, descending, collation)
    return IndexPartDDL(None, _text(sql, group), descending, collation)


def view_select(sql: str) -> str:
    """The query of a CREATE VIEW statement: everything after the top-level AS."""
    ws = words(sql)
    i = 0
    while ws[i].kw != "AS":
        i = _close(ws, i) + 1 if ws[i].kw == "(" else i + 1
    return sql[ws[i].end:].strip()


def view_columns(sql: str) -> tuple[str, ...]:
    """The column list a CREATE VIEW declares (``CREATE VIEW v (a, b) AS``), else ()."""
    ws = words(sql)
    i = 0
    while ws[i].kw != "AS":
        if ws[i].kw == "(":
            end = _close(ws, i)
            return tuple(w.name for w in ws[i + 1:end] if w.kw != ",")
        i += 1
    return ()


def referenced_names(text: str, names: set[str]) -> set[str]:
    """Which of ``names`` (lower-cased) occur as identifiers in ``text`` (strings excluded)."""
    return {w.name.lower() for w in words(text)
            if w.type not in _LITERALS and w.name.lower() in names}


def is_literal(text: str) -> bool:
    """A literal default: what ALTER TABLE ADD COLUMN accepts and DEFAULT takes unparenthesized."""
    ws = words(text)
    while len(ws) >= 2 and ws[0].kw == "(" and ws[-1].kw == ")" and _close(ws, 0) == len(ws) - 1:
        ws = ws[1:-1]
    if len(ws) == 2 and ws[0].kw in ("-", "+"):
        ws = ws[1:]
    return len(ws) == 1 and ws[0].type in _LITERALS


def is_bare_default(text: str) -> bool:
    """Whether ``DEFAULT <text>`` parses without parentheses (SQLite's literal-value or
    signed-number); anything else is written ``DEFAULT (<text>)``."""
    ws = words(text)
    if len(ws) == 2 and ws[0].kw in ("-", "+"):
        ws = ws[1:]
    return len(ws) == 1 and (ws[0].type in _LITERALS or ws[0].kw in (
        "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"))


def canonical_expression(text: str, columns: set[str]) -> str:
    """Unquote quoted identifiers naming one of ``columns`` (lower-cased) when quoting is not
    needed: SQLite's own ALTER TABLE RENAME rewrites may add quotes the target never had."""
    out, pos = [], 0
    for w in words(text):
        if w.type == TokenType.IDENTIFIER and w.name.lower() in columns:
            out.append(text[pos:w.start] + quote_ident(w.name))
            pos = w.end
    return "".join(out) + text[pos:]

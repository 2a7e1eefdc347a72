"""Deterministic generator of realistic PostgreSQL schema pairs for the diff benchmark.

``generate(n_tables, seed)`` builds a *spec* of schema A (plain dataclasses), derives B as a
copy of A with a realistic set of differences, and renders both to SQL. B is created from
scratch, not by applying ALTERs to A: the benchmark compares two independent databases, the way
dfmigrate, migra and Alembic see them in real use.

Everything is drawn from ``random.Random(seed * 1_000_003 + n_tables)``, so the same arguments
always give byte-identical SQL; the loader stores a hash of that SQL on the database to decide
whether an existing database can be reused.

Variety (per table, weighted): identity (ALWAYS / BY DEFAULT), serial, bigserial, uuid and
composite primary keys; int, smallint, bigint, text, varchar(n), numeric(p,s), boolean,
timestamptz, timestamp, date, jsonb, uuid, inet, interval, double precision, text[], integer[]
and enum columns with defaults; multi-column and self-referencing foreign keys, FK cycles added
with ALTER TABLE after both tables exist; plain, multi-column, DESC, partial, expression
(incl. a user function), INCLUDE, unique and GIN indexes; CHECK and UNIQUE constraints; views,
some on other views; a few SQL and PL/pgSQL functions, a procedure and triggers.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

# Shown in the database comment next to a hash of the generated SQL; the hash alone decides
# reuse, so any change to the generator's output rebuilds the databases.
GENERATOR_VERSION = 1

WORDS = (
    "accounts", "orders", "invoices", "customers", "products", "shipments", "payments", "refunds",
    "suppliers", "warehouses", "stock", "carts", "coupons", "reviews", "tickets", "agents",
    "events", "sessions", "devices", "plans", "subscriptions", "usage", "audits", "messages",
    "threads", "teams", "projects", "tasks", "comments", "files", "tags", "regions", "stores",
    "prices", "ledgers", "journals", "budgets", "contracts", "leads", "campaigns",
)

ENUMS = {
    "account_status": ("draft", "pending", "active", "suspended", "closed"),
    "priority_level": ("low", "medium", "high", "urgent"),
    "payment_method": ("card", "transfer", "cash", "voucher"),
    "ticket_state": ("new", "open", "in_progress", "resolved", "rejected", "archived"),
    "currency_code": ("eur", "usd", "gbp", "chf", "jpy"),
    "channel_kind": ("web", "mobile", "api", "batch"),
}

# (type, weight, candidate names, defaults to choose from (None = no default))
COLUMN_KINDS: tuple[tuple[str, int, tuple[str, ...], tuple[str | None, ...]], ...] = (
    ("integer", 8, ("quantity", "position", "attempts", "rank", "score"), (None, "0", "1")),
    ("bigint", 5, ("external_ref", "counter", "bytes_used", "views"), (None, "0")),
    ("smallint", 2, ("priority", "level", "weekday"), (None, "0")),
    ("text", 8, ("notes", "description", "body", "summary", "label"), (None, "''::text")),
    ("varchar", 8, ("title", "code", "email", "name", "slug", "city"), (None,)),
    ("numeric", 6, ("amount", "price", "balance", "rate", "weight"), (None, "0")),
    ("boolean", 6, ("is_active", "archived", "verified", "is_public"), ("false", "true")),
    ("timestamp with time zone", 7, ("created_at", "updated_at", "deleted_at", "seen_at"), (None, "now()")),
    ("timestamp without time zone", 2, ("local_time", "scheduled_for"), (None,)),
    ("date", 4, ("due_on", "valid_from", "valid_until", "birthday"), (None, "CURRENT_DATE")),
    ("jsonb", 4, ("payload", "metadata", "settings", "attrs"), (None, "'{}'::jsonb")),
    ("uuid", 3, ("public_id", "trace_id", "request_id"), (None, "gen_random_uuid()")),
    ("inet", 1, ("client_ip", "origin_ip"), (None,)),
    ("interval", 1, ("duration", "grace_period"), (None, "'00:00:00'::interval")),
    ("double precision", 2, ("latitude", "longitude", "ratio"), (None,)),
    ("text[]", 3, ("labels", "aliases", "keywords"), (None, "'{}'::text[]")),
    ("integer[]", 1, ("slots", "lucky_numbers"), (None,)),
    ("enum", 6, ("status", "severity", "method", "state", "currency", "channel"), ()),
)
_KIND_CUM_WEIGHTS = list(itertools.accumulate(k[1] for k in COLUMN_KINDS))
_SORTABLE = ("integer", "bigint", "smallint", "text", "varchar", "numeric", "date", "uuid",
             "timestamp with time zone", "timestamp without time zone", "enum")


# ------------------------------------------------------------------------- the spec


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    generated: str | None = None  # "ALWAYS" / "BY DEFAULT" identity
    kind: str = ""                # the COLUMN_KINDS entry it came from ("pk", "fk" otherwise)
    pinned: bool = False          # used by a key, index, check or view: never mutated


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    on_delete: str = "NO ACTION"
    deferrable: bool = False
    after: bool = False  # added by ALTER TABLE once every table exists (cycles)


@dataclass
class Index:
    name: str
    body: str  # "USING btree (a, b DESC) INCLUDE (c) WHERE ..."
    unique: bool = False


@dataclass
class Table:
    name: str
    columns: list[Column]
    pk: list[str]
    fks: list[ForeignKey] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)   # (name, expression)
    uniques: list[tuple[str, list[str]]] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    comment: str | None = None
    trigger: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class View:
    name: str
    select: str       # the select list, ending before " FROM"
    rest: str         # " FROM ... [WHERE ...]"
    columns: list[str]
    reads: list[str]  # tables and views it selects from


@dataclass
class Spec:
    enums: dict[str, list[str]]
    tables: dict[str, Table]  # creation order: FKs created inline only point backwards
    views: list[View]          # creation order: a view only reads earlier views


# ------------------------------------------------------------------------- building A


def _q(name: str) -> str:
    return f"public.{name}"


class _Builder:
    def __init__(self, n_tables: int, rng: random.Random) -> None:
        self.n = n_tables
        self.rng = rng
        self.enums = {name: list(labels) for name, labels in ENUMS.items()}
        self.tables: dict[str, Table] = {}
        self.recent: list[Table] = []  # creation order, for picking nearby FK targets cheaply
        self.index_seq = 0

    # -- columns

    def _type_for(self, kind: str) -> str:
        rng = self.rng
        if kind == "varchar":
            return f"character varying({rng.choice((20, 50, 100, 255))})"
        if kind == "numeric":
            return "numeric({},{})".format(*rng.choice(((10, 2), (12, 4), (5, 2), (18, 6))))
        if kind == "enum":
            return _q(rng.choice(sorted(self.enums)))
        return kind

    def _enum_default(self, type_: str) -> str | None:
        labels = self.enums[type_.removeprefix("public.")]
        return self.rng.choice((None, f"'{labels[0]}'::{type_}"))

    def _data_columns(self, count: int, taken: set[str]) -> list[Column]:
        cols = []
        for _ in range(count):
            kind, _w, names, defaults = self.rng.choices(COLUMN_KINDS, cum_weights=_KIND_CUM_WEIGHTS)[0]
            name = self.rng.choice(names)
            suffix = 2
            while name in taken:
                name, suffix = f"{self.rng.choice(names)}_{suffix}", suffix + 1
            taken.add(name)
            type_ = self._type_for(kind)
            default = self._enum_default(type_) if kind == "enum" else self.rng.choice(defaults)
            # NOT NULL mostly where a default makes it painless, as real schemas do.
            nullable = self.rng.random() < (0.3 if default else 0.75)
            cols.append(Column(name, type_, nullable, default, kind=kind))
        return cols

    def _pk_columns(self) -> list[Column]:
        style = self.rng.choices(
            ("identity_always", "identity_default", "bigserial", "serial", "uuid", "composite"),
            (35, 15, 15, 10, 10, 15))[0]
        pin = dict(nullable=False, kind="pk", pinned=True)
        if style == "identity_always":
            return [Column("id", "bigint", generated="ALWAYS", **pin)]
        if style == "identity_default":
            return [Column("id", "integer", generated="BY DEFAULT", **pin)]
        if style in ("bigserial", "serial"):
            return [Column("id", style, **pin)]
        if style == "uuid":
            return [Column("id", "uuid", default="gen_random_uuid()", **pin)]
        return [Column("tenant_id", "integer", **pin), Column("item_no", "integer", **pin)]

    # -- tables

    def build(self) -> Spec:
        for i in range(self.n):
            self._add_table(f"{WORDS[i % len(WORDS)]}_{i:04d}")
        self._add_cycles()
        return Spec(self.enums, self.tables, self._views())

    def _add_table(self, name: str) -> None:
        rng = self.rng
        pk_cols = self._pk_columns()
        taken = {c.name for c in pk_cols}
        table = Table(name, pk_cols, [c.name for c in pk_cols])
        self._add_fks(table, taken)
        table.columns += self._data_columns(rng.randint(4, 14), taken)
        self._add_checks(table)
        self._add_indexes(table)
        if rng.random() < 0.2:
            table.comment = f"{name.split('_')[0].capitalize()} of the benchmark schema."
        table.trigger = any(c.name == "updated_at" for c in table.columns) and rng.random() < 0.3
        self.tables[name] = table
        self.recent.append(table)

    def _add_fks(self, table: Table, taken: set[str]) -> None:
        rng = self.rng
        # Mostly nearby tables: real schemas cluster into modules rather than all pointing at one.
        nearby = self.recent[-60:]
        count = rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]
        for target in rng.sample(nearby, min(count, len(nearby))):
            cols = [self._fk_column(table, target, pc, taken) for pc in target.pk]
            table.fks.append(ForeignKey(
                f"{table.name}_{target.name}_fkey", cols, target.name, list(target.pk),
                rng.choice(("NO ACTION", "CASCADE", "SET NULL", "RESTRICT"))))
        if table.pk == ["id"] and rng.random() < 0.08:  # trees: parent_id → own table
            type_ = _plain_type(table.column("id").type)
            table.columns.append(Column("parent_id", type_, kind="fk", pinned=True))
            taken.add("parent_id")
            table.fks.append(ForeignKey(f"{table.name}_parent_id_fkey", ["parent_id"], table.name, ["id"],
                                        "CASCADE"))

    @staticmethod
    def _fk_column(table: Table, target: Table, pk_col: str, taken: set[str]) -> str:
        name = f"{target.name}_{pk_col}"
        if name in taken:
            name += "_2"
        taken.add(name)
        type_ = _plain_type(target.column(pk_col).type)
        table.columns.append(Column(name, type_, kind="fk", pinned=True))
        return name

    def _add_cycles(self) -> None:
        """A → B → A: B references A inline; A gets a column for B, constrained by ALTER TABLE
        once B exists (the case that forces a tool to split table creation from its FKs)."""
        singles = [t for t in self.tables.values() if t.pk == ["id"]]
        order = {name: i for i, name in enumerate(self.tables)}
        for _ in range(max(2, self.n // 50)):
            a, b = sorted(self.rng.sample(singles, 2), key=lambda t: order[t.name])
            if any(fk.ref_table == b.name for fk in a.fks):
                continue
            a_col = self._fk_column(a, b, "id", {c.name for c in a.columns})
            a.fks.append(ForeignKey(f"{a.name}_{b.name}_fkey", [a_col], b.name, ["id"],
                                    "SET NULL", deferrable=True, after=True))
            if not any(fk.ref_table == a.name for fk in b.fks):
                b_col = self._fk_column(b, a, "id", {c.name for c in b.columns})
                b.fks.append(ForeignKey(f"{b.name}_{a.name}_fkey", [b_col], a.name, ["id"]))

    def _add_checks(self, table: Table) -> None:
        rng = self.rng
        for col in table.columns:
            if col.pinned or rng.random() > 0.25:
                continue
            check = None
            if col.kind in ("integer", "smallint", "bigint"):
                check = f"({col.name} >= 0)"
            elif col.kind == "numeric":
                check = rng.choice((f"({col.name} >= (0)::numeric)", f"(public.is_non_negative({col.name}))"))
            elif col.kind == "varchar":
                check = f"(char_length(({col.name})::text) > 0)"
            if check:
                col.pinned = True
                table.checks.append((f"{table.name}_{col.name}_check", check))
        dates = [c for c in table.columns if c.kind == "date" and not c.pinned]
        if len(dates) >= 2 and rng.random() < 0.5:
            lo, hi = dates[0], dates[1]
            lo.pinned = hi.pinned = True
            table.checks.append((f"{table.name}_range_check", f"({lo.name} <= {hi.name})"))
        codes = [c for c in table.columns if c.kind == "varchar" and not c.pinned]
        if codes and rng.random() < 0.3:
            codes[0].pinned = True
            key = table.pk[:1] + [codes[0].name] if len(table.pk) > 1 else [codes[0].name]
            table.uniques.append((f"{table.name}_{'_'.join(key)}_key", key))

    def _add_indexes(self, table: Table) -> None:
        rng = self.rng
        for fk in table.fks:  # FK columns indexed, as they usually are
            if rng.random() < 0.6:
                self._index(table, f"USING btree ({', '.join(fk.columns)})")
        free = [c for c in table.columns if not c.pinned and c.kind != "pk"]
        for _ in range(rng.choices((0, 1, 2, 3), (20, 40, 30, 10))[0]):
            if not free:
                break
            maker = rng.choice((self._ix_plain, self._ix_multi, self._ix_partial, self._ix_expression,
                                self._ix_include, self._ix_unique, self._ix_gin))
            maker(table, free)

    def _index(self, table: Table, body: str, unique: bool = False) -> None:
        self.index_seq += 1
        table.indexes.append(Index(f"{table.name}_{self.index_seq}_idx", body, unique))

    def _pick(self, cols: list[Column], kinds: tuple[str, ...]) -> Column | None:
        fit = [c for c in cols if c.kind in kinds]
        if not fit:
            return None
        col = self.rng.choice(fit)
        col.pinned = True
        return col

    def _ix_plain(self, t: Table, cols: list[Column]) -> None:
        if c := self._pick(cols, _SORTABLE):
            self._index(t, f"USING btree ({c.name})")

    def _ix_multi(self, t: Table, cols: list[Column]) -> None:
        a, b = self._pick(cols, _SORTABLE), self._pick(cols, _SORTABLE)
        if a and b and a is not b:
            self._index(t, f"USING btree ({a.name}, {b.name} DESC)")

    def _ix_partial(self, t: Table, cols: list[Column]) -> None:
        c = self._pick(cols, _SORTABLE)
        flag = self._pick(cols, ("boolean",))
        if c and flag:
            self._index(t, f"USING btree ({c.name}) WHERE {flag.name}")
        elif c:
            self._index(t, f"USING btree ({c.name}) WHERE ({c.name} IS NOT NULL)")

    def _ix_expression(self, t: Table, cols: list[Column]) -> None:
        if c := self._pick(cols, ("text", "varchar")):
            fn = self.rng.choice(("lower", "public.slugify"))
            cast = "::text" if c.kind == "varchar" else ""
            self._index(t, f"USING btree ({fn}(({c.name}){cast}))")
        elif c := self._pick(cols, ("jsonb",)):
            self._index(t, f"USING btree ((({c.name} ->> 'kind'::text)))")

    def _ix_include(self, t: Table, cols: list[Column]) -> None:
        a, b = self._pick(cols, _SORTABLE), self._pick(cols, tuple(k[0] for k in COLUMN_KINDS))
        if a and b and a is not b:
            self._index(t, f"USING btree ({a.name}) INCLUDE ({b.name})")

    def _ix_unique(self, t: Table, cols: list[Column]) -> None:
        if c := self._pick(cols, ("uuid", "varchar", "bigint")):
            self._index(t, f"USING btree ({c.name}) WHERE ({c.name} IS NOT NULL)", unique=True)

    def _ix_gin(self, t: Table, cols: list[Column]) -> None:
        if c := self._pick(cols, ("jsonb", "text[]", "integer[]")):
            self._index(t, f"USING gin ({c.name})")

    # -- views

    def _views(self) -> list[View]:
        rng = self.rng
        views: list[View] = []
        tables = list(self.tables.values())
        for i in range(max(5, self.n // 10)):
            if views and rng.random() < 0.3:
                views.append(self._view_on_view(f"v_{i:04d}_summary", rng.choice(views[-20:])))
            else:
                views.append(self._view_on_table(f"v_{i:04d}_{WORDS[i % len(WORDS)]}", rng.choice(tables)))
        return views

    def _view_on_table(self, name: str, t: Table) -> View:
        picked = [*(t.column(p) for p in t.pk), *[c for c in t.columns if c.kind not in ("pk", "fk")][:4]]
        for c in picked:
            c.pinned = True
        columns = [c.name for c in picked]
        select = ", ".join(f"t.{c}" for c in columns)
        rest = f" FROM {_q(t.name)} t"
        reads = [t.name]
        fk = next((f for f in t.fks if f.ref_table != t.name), None)
        if fk and self.rng.random() < 0.5:
            on = " AND ".join(f"p.{rc} = t.{c}" for c, rc in zip(fk.columns, fk.ref_columns))
            rest += f" LEFT JOIN {_q(fk.ref_table)} p ON {on}"
            select += f", p.{fk.ref_columns[-1]} AS parent_key"
            columns.append("parent_key")
            reads.append(fk.ref_table)
        if flag := next((c for c in t.columns if c.kind == "boolean"), None):
            flag.pinned = True
            rest += f" WHERE t.{flag.name}"
        return View(name, f"SELECT {select}", rest, columns, reads)

    def _view_on_view(self, name: str, base: View) -> View:
        first = base.columns[0]
        if self.rng.random() < 0.5:
            return View(name, f"SELECT b.{first}, count(*) AS n", f" FROM {_q(base.name)} b GROUP BY b.{first}",
                        [first, "n"], [base.name])
        return View(name, f"SELECT DISTINCT b.{first}", f" FROM {_q(base.name)} b", [first], [base.name])


def _plain_type(type_: str) -> str:
    """The type a referencing column needs: serial types are integers with a default."""
    return {"serial": "integer", "bigserial": "bigint"}.get(type_, type_)


# ------------------------------------------------------------------------- B = A + differences


MUTATIONS = ("add_column", "drop_column", "change_type", "change_default", "change_nullability",
             "add_index", "drop_index", "add_check", "drop_constraint")


def mutate(b: Spec, rng: random.Random) -> None:
    """Turn A into B, in place (a deep copy of 2,000 tables costs seconds): ~5% of the tables
    changed (at least one of each kind), plus a new enum value, a new table, a dropped table and
    a changed view."""
    tables = list(b.tables.values())
    count = max(len(MUTATIONS), len(tables) // 20)
    for i, table in enumerate(rng.sample(tables, count)):
        _MUTATORS[MUTATIONS[i % len(MUTATIONS)]](table, rng)
    enum = rng.choice(sorted(b.enums))
    b.enums[enum].append("retired")
    _drop_a_table(b, rng)
    _add_a_table(b, rng)
    _change_a_view(b, rng)


def _free(table: Table) -> list[Column]:
    return [c for c in table.columns if not c.pinned and c.kind not in ("pk", "fk")]


def _m_add_column(t: Table, rng: random.Random) -> None:
    t.columns.append(rng.choice((Column("extra_note", "text"),
                                 Column("reviewed", "boolean", False, "false", kind="boolean"),
                                 Column("version", "integer", False, "1", kind="integer"))))


def _m_drop_column(t: Table, rng: random.Random) -> None:
    if free := _free(t):
        t.columns.remove(rng.choice(free))


def _m_change_type(t: Table, rng: random.Random) -> None:
    widen = {"integer": "bigint", "smallint": "integer", "varchar": "text", "numeric": "numeric(20,6)",
             "timestamp without time zone": "timestamp with time zone", "text": "character varying(500)"}
    if free := [c for c in _free(t) if c.kind in widen]:
        c = rng.choice(free)
        c.type = widen[c.kind]
        c.default = None  # a default of the old type may not cast silently


def _m_change_default(t: Table, rng: random.Random) -> None:
    if free := [c for c in _free(t) if c.kind in ("integer", "boolean", "text", "bigint")]:
        c = rng.choice(free)
        c.default = {"integer": "42", "bigint": "-1", "boolean": "true", "text": "'n/a'::text"}[c.kind] \
            if c.default is None else None


def _m_change_nullability(t: Table, rng: random.Random) -> None:
    if free := _free(t):
        c = rng.choice(free)
        c.nullable = not c.nullable


def _m_add_index(t: Table, rng: random.Random) -> None:
    if free := [c for c in _free(t) if c.kind in _SORTABLE]:
        c = rng.choice(free)
        t.indexes.append(Index(f"{t.name}_{c.name}_new_idx", f"USING btree ({c.name}) WHERE ({c.name} IS NOT NULL)"))


def _m_drop_index(t: Table, rng: random.Random) -> None:
    if t.indexes:
        t.indexes.pop(rng.randrange(len(t.indexes)))
    else:
        _m_add_index(t, rng)


def _m_add_check(t: Table, rng: random.Random) -> None:
    if free := [c for c in _free(t) if c.kind in ("integer", "bigint", "numeric", "smallint")]:
        c = rng.choice(free)
        t.checks.append((f"{t.name}_{c.name}_new_check", f"({c.name} < 1000000)"))
    else:
        _m_add_column(t, rng)


def _m_drop_constraint(t: Table, rng: random.Random) -> None:
    if t.checks:
        t.checks.pop(rng.randrange(len(t.checks)))
    elif t.uniques:
        t.uniques.pop()
    elif inline := [fk for fk in t.fks if not fk.after and fk.ref_table != t.name]:
        t.fks.remove(rng.choice(inline))
    else:
        _m_drop_column(t, rng)


_MUTATORS = {
    "add_column": _m_add_column, "drop_column": _m_drop_column, "change_type": _m_change_type,
    "change_default": _m_change_default, "change_nullability": _m_change_nullability,
    "add_index": _m_add_index, "drop_index": _m_drop_index, "add_check": _m_add_check,
    "drop_constraint": _m_drop_constraint,
}


def _drop_a_table(b: Spec, rng: random.Random) -> None:
    referenced = {fk.ref_table for t in b.tables.values() for fk in t.fks if fk.ref_table != t.name}
    read = {r for v in b.views for r in v.reads}
    counted = next(iter(b.tables))  # read by the count_<first table>() function
    candidates = [n for n in b.tables if n not in referenced and n not in read and n != counted]
    del b.tables[rng.choice(candidates)]


def _add_a_table(b: Spec, rng: random.Random) -> None:
    target = rng.choice([t for t in b.tables.values() if t.pk == ["id"]])
    name = "feature_flags_new"
    cols = [Column("id", "bigint", False, generated="ALWAYS", kind="pk", pinned=True),
            Column("key", "character varying(100)", False, kind="varchar"),
            Column("enabled", "boolean", False, "false", kind="boolean"),
            Column("owner_id", _plain_type(target.column("id").type), kind="fk", pinned=True),
            Column("rules", "jsonb", False, "'{}'::jsonb", kind="jsonb")]
    b.tables[name] = Table(name, cols, ["id"],
                           fks=[ForeignKey(f"{name}_owner_id_fkey", ["owner_id"], target.name, ["id"], "CASCADE")],
                           uniques=[(f"{name}_key_key", ["key"])],
                           indexes=[Index(f"{name}_owner_id_idx", "USING btree (owner_id)")])


def _change_a_view(b: Spec, rng: random.Random) -> None:
    """A new trailing column on a view nothing reads (what CREATE OR REPLACE VIEW can do)."""
    read = {r for v in b.views for r in v.reads}
    leaf = rng.choice([v for v in b.views if v.name not in read])
    leaf.select += ", CURRENT_DATE AS as_of"
    leaf.columns.append("as_of")


# ------------------------------------------------------------------------- rendering


FUNCTIONS_BEFORE_TABLES = (
    # Used by CHECK constraints and expression indexes, so they must exist first.
    "CREATE FUNCTION public.is_non_negative(value numeric) RETURNS boolean\n"
    "    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE\n    AS $$ SELECT value >= 0 $$",
    "CREATE FUNCTION public.slugify(value text) RETURNS text\n"
    "    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE\n"
    "    AS $$ SELECT trim(both '-' from regexp_replace(lower(value), '[^a-z0-9]+', '-', 'g')) $$",
    "CREATE FUNCTION public.touch_updated_at() RETURNS trigger\n    LANGUAGE plpgsql\n"
    "    AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND\n$$",
)


def _functions_after_tables(spec: Spec) -> list[str]:
    """A SQL function reading a table (its body is checked at creation) and a procedure."""
    first = next(iter(spec.tables.values()))
    return [
        f"CREATE FUNCTION public.count_{first.name}() RETURNS bigint\n    LANGUAGE sql STABLE\n"
        f"    AS $$ SELECT count(*) FROM {_q(first.name)} $$",
        "CREATE PROCEDURE public.noop_maintenance(IN days integer DEFAULT 30)\n    LANGUAGE plpgsql\n"
        "    AS $$\nBEGIN\n  PERFORM pg_sleep(0);\nEND\n$$",
    ]


def _column_sql(c: Column) -> str:
    parts = [c.name, c.type]
    if c.generated:
        parts.append(f"GENERATED {c.generated} AS IDENTITY")
    if c.default is not None:
        parts.append(f"DEFAULT {c.default}")
    if not c.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def _fk_sql(fk: ForeignKey) -> str:
    sql = (f"CONSTRAINT {fk.name} FOREIGN KEY ({', '.join(fk.columns)}) "
           f"REFERENCES {_q(fk.ref_table)}({', '.join(fk.ref_columns)}) ON DELETE {fk.on_delete}")
    return sql + (" DEFERRABLE INITIALLY DEFERRED" if fk.deferrable else "")


def _table_sql(t: Table) -> str:
    lines = [f"    {_column_sql(c)}" for c in t.columns]
    lines.append(f"    CONSTRAINT {t.name}_pkey PRIMARY KEY ({', '.join(t.pk)})")
    lines += [f"    CONSTRAINT {name} UNIQUE ({', '.join(cols)})" for name, cols in t.uniques]
    lines += [f"    CONSTRAINT {name} CHECK {expr}" for name, expr in t.checks]
    lines += [f"    {_fk_sql(fk)}" for fk in t.fks if not fk.after]
    return f"CREATE TABLE {_q(t.name)} (\n" + ",\n".join(lines) + "\n)"


def render(spec: Spec) -> list[str]:
    """The statements creating ``spec`` in an empty database, in a valid order."""
    out = [f"CREATE TYPE {_q(name)} AS ENUM ({', '.join(repr(label) for label in labels)})"
           for name, labels in sorted(spec.enums.items())]
    out += FUNCTIONS_BEFORE_TABLES
    out += [_table_sql(t) for t in spec.tables.values()]
    for t in spec.tables.values():
        out += [f"ALTER TABLE {_q(t.name)} ADD {_fk_sql(fk)}" for fk in t.fks if fk.after]
        out += [f"CREATE {'UNIQUE ' if ix.unique else ''}INDEX {ix.name} ON {_q(t.name)} {ix.body}"
                for ix in t.indexes]
        if t.trigger:
            out.append(f"CREATE TRIGGER {t.name}_touch BEFORE UPDATE ON {_q(t.name)} "
                       "FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at()")
        if t.comment:
            out.append(f"COMMENT ON TABLE {_q(t.name)} IS '{t.comment}'")
    out += [f"CREATE VIEW {_q(v.name)} AS {v.select}{v.rest}" for v in spec.views]
    out += _functions_after_tables(spec)
    return out


def generate(n_tables: int, seed: int = 42) -> tuple[list[str], list[str]]:
    """(statements for A, statements for B), deterministic for (n_tables, seed)."""
    rng = random.Random(seed * 1_000_003 + n_tables)
    spec = _Builder(n_tables, rng).build()
    a = render(spec)
    mutate(spec, rng)
    return a, render(spec)

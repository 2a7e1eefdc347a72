"""One human-readable line per change, for plans, graphs and reports."""

from __future__ import annotations

import re

from dfmigrate.core import changes as ch


def _words(cls_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", cls_name).lower()


def _name(obj: object) -> str:
    ns = getattr(obj, "namespace", None)
    name = getattr(obj, "signature", None) or getattr(obj, "name", "")
    return f"{ns}.{name}" if ns else str(name)


def describe(change: object) -> str:
    verb = _words(ch.change_class(change).__name__)
    match change:
        case ch.CreateNamespace(name=n) | ch.DropNamespace(name=n):
            return f"{verb} {n}"
        case ch.AddColumn(namespace=ns, table=t, column=c) | ch.DropColumn(namespace=ns, table=t, column=c):
            return f"{verb} {ns}.{t}.{c.name}"
        case ch.AlterColumn(namespace=ns, table=t, new=c, changes=flags):
            # which way NULLABLE went: "(nullable)" read the same for SET NOT NULL and DROP NOT NULL
            what = ", ".join(("drop not null" if c.nullable else "set not null") if f == ch.ColumnChange.NULLABLE
                             else f.name.lower() for f in ch.ColumnChange if f and f in flags and f.name)
            return f"alter column {ns}.{t}.{c.name} ({what})"
        case ch.RenameColumn(namespace=ns, table=t, old=o, new=n):
            return f"rename column {ns}.{t}.{o.name} to {n.name}"
        case ch.RenameTable(old=o, new=n) | ch.RenameEnum(old=o, new=n):
            return f"{verb} {_name(o)} to {n.name}"
        case ch.AlterTable(new=t, changes=flags):
            what = ", ".join(f.name.lower() for f in ch.TableChange if f and f in flags and f.name)
            return f"alter table {_name(t)} ({what})"
        case ch.AddEnumValue(enum=e, label=label):
            return f"add value {label!r} to enum {_name(e)}"
        case ch.GrantPrivilege(target=r, grant=g) | ch.RevokePrivilege(target=r, grant=g):
            return f"{verb.split()[0]} {g.privilege} on {r.kind} {r.namespace + '.' if r.namespace else ''}{r.name} to {g.grantee}"
        case ch.SetComment(target=r):
            return f"set comment on {r}"
    table = getattr(change, "table", None)
    where = getattr(change, "namespace", None)
    for attr in ("constraint", "index", "trigger", "policy"):
        obj = getattr(change, attr, None)
        if obj is not None and isinstance(table, str):
            return f"{verb} {obj.name} on {where}.{table}"
    for attr in ("table", "view", "function", "enum", "domain", "type", "sequence", "extension",
                 "collation", "new", "old"):
        obj = getattr(change, attr, None)
        if obj is not None and not isinstance(obj, str):
            return f"{verb} {_name(obj)}"
    return verb

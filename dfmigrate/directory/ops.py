"""Operations in migration files: a typed change written as a constructor call, and read back.

``py_expr(value)`` prints a change (``dfmigrate.core.changes``), a schema object (``dfmigrate.core.schema``)
or a ``Step`` as readable Python: changes with positional arguments, like
``AddColumn("public", "authors", Column(name="bio", type="text"))``, schema objects and steps
with keywords, and only the fields that differ from their defaults. Long calls break one argument
per line. ``read_back`` evaluates such text with those classes only; the writer proves every
file it writes round-trips exactly (by running it and comparing what it declares).

``render_steps`` turns changes into the steps a dialect runs (the renderer's statements with
their kind, lock, target, hazards and transactionality as data): at generation time to freeze
them into the file, and at run time for a file that lacks the target dialect's SQL.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from typing import Any

from dfmigrate.core.step import Step

WIDTH = 100


def py_literal(text: str) -> str:
    """A Python string literal that evaluates to exactly ``text``, as readable as possible."""
    if "\n" in text and all(ch.isprintable() or ch == "\n" for ch in text):
        body = text.replace("\\", "\\\\")
        # Escape a quote that another quote follows, or that ends the text: no run of three
        # unescaped quotes can then form, and none can merge with the closing delimiter.
        body = re.sub(r'"(?=")|"\Z', r'\\"', body)
        return f'"""{body}"""'
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'
    return repr(text)  # anything else (tabs, CR, NUL, U+2028): escaped on one line, exact


def _is_change(value: Any) -> bool:
    return type(value).__module__ == "dfmigrate.core.changes"


def _args(value: Any) -> list[tuple[str | None, Any]]:
    """(keyword or None for positional, value) for the fields a constructor call must show."""
    out: list[tuple[str | None, Any]] = []
    positional = _is_change(value)
    fields = dataclasses.fields(value)
    for i, f in enumerate(fields):
        item = getattr(value, f.name)
        default = (f.default if f.default is not dataclasses.MISSING
                   else f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        if default is not dataclasses.MISSING and item == default and type(item) is type(default):
            positional = False  # a later positional argument would land in this field
            continue
        if isinstance(value, Step) and i == 0:
            out.append((None, item))
        else:
            out.append((None if positional else f.name, item))
    return out


def _flag(value: enum.Flag) -> str:
    cls = type(value).__name__
    members = [m for m in type(value) if m.value and (m & value) == m and bin(m.value).count("1") == 1]
    if not members:
        return f"{cls}.{type(value)(0).name}"
    return " | ".join(f"{cls}.{m.name}" for m in members)


def py_expr(value: Any, indent: int = 0) -> str:
    """Python source that evaluates to ``value`` (see ``read_back``)."""
    if isinstance(value, str):
        return py_literal(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, enum.Flag):
        return _flag(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        items = [py_expr(v, indent + 4) for v in value]
        flat = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if len(flat) + indent <= WIDTH and "\n" not in flat:
            return flat
        pad = " " * (indent + 4)
        return "(\n" + "".join(f"{pad}{i},\n" for i in items) + " " * indent + ")"
    if isinstance(value, list):
        pad = " " * (indent + 4)
        if not value:
            return "[]"
        return "[\n" + "".join(f"{pad}{py_expr(v, indent + 4)},\n" for v in value) + " " * indent + "]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        args = [(k, py_expr(v, indent + 4)) for k, v in _args(value)]
        parts = [f"{k}={v}" if k else v for k, v in args]
        flat = f"{name}(" + ", ".join(parts) + ")"
        if len(flat) + indent <= WIDTH and "\n" not in flat:
            return flat
        pad = " " * (indent + 4)
        return f"{name}(\n" + "".join(f"{pad}{p},\n" for p in parts) + " " * indent + ")"
    raise TypeError(f"cannot write {type(value).__name__} into a migration file")


def class_names(values: Iterable[Any]) -> dict[str, set[str]]:
    """The classes ``py_expr`` output of ``values`` names, by module: the file's imports."""
    found: dict[str, set[str]] = {}

    def walk(v: Any) -> None:
        if isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, enum.Enum) or (dataclasses.is_dataclass(v) and not isinstance(v, type)):
            module = "dfmigrate.migration" if isinstance(v, Step) else type(v).__module__
            found.setdefault(module, set()).add(type(v).__name__)
            if not isinstance(v, enum.Enum):
                for f in dataclasses.fields(v):
                    walk(getattr(v, f.name))

    for value in values:
        walk(value)
    return found


def namespace() -> dict[str, Any]:
    """The names operations may use: every change, schema class and ``Step``."""
    from dfmigrate.core import changes, schema

    names: dict[str, Any] = {"__builtins__": {}}
    for module in (schema, changes):
        names.update({k: v for k, v in vars(module).items() if isinstance(v, type) and not k.startswith("_")})
    names["Step"] = Step
    return names


def read_back(text: str) -> Any:
    return eval(text, namespace())  # noqa: S307 - our own output, evaluated with our classes only


# ---------------------------------------------------------------- statements as steps


def _kind(statement: Any) -> str:
    if statement.kind:
        return statement.kind  # type: ignore[no-any-return]
    from dfmigrate.core.changes import change_class

    return re.sub(r"(?<!^)(?=[A-Z])", "-", change_class(statement.source).__name__).lower()


def _target(statement: Any) -> str | None:
    if statement.lock_target:
        return statement.lock_target  # type: ignore[no-any-return]
    change = statement.source
    if hasattr(change, "namespace") and hasattr(change, "table") and isinstance(change.table, str):
        return f"{change.namespace}.{change.table}"
    for attr in ("table", "old", "view"):
        obj = getattr(change, attr, None)
        if obj is not None and hasattr(obj, "namespace") and hasattr(obj, "name"):
            return f"{obj.namespace}.{obj.name}"
    return None


def statement_step(statement: Any) -> Step:
    return Step(statement.sql, kind=_kind(statement), lock=statement.lock, target=_target(statement),
                transactional=statement.transactional, isolated=statement.isolated,
                hazards=tuple(h.value for h in statement.hazards), resume=statement.resume,
                also_locks=statement.also_locks)


def render_statements(changes: list[Any], dialect: str) -> list[Any]:
    """The statements ``changes`` render to, as ``engine.plan_migration`` renders them."""
    from dfmigrate.core.engine import renderer

    module = renderer(dialect)
    return module.finish([s for c in changes for s in module.render_change(c)])  # type: ignore[no-any-return]


def render_steps(changes: list[Any], dialect: str) -> list[Step]:
    return [statement_step(s) for s in render_statements(changes, dialect)]

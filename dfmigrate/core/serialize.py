"""Schema <-> JSON, and a stable fingerprint.

The encoding is driven by the dataclass annotations (``typing.get_type_hints``), so a new field
in ``schema.py`` needs no change here:

- dataclasses become objects with sorted keys; a field equal to its default is left out, so the
  output shows what is particular about an object and stays short;
- tuples become lists and are rebuilt as tuples (``tuple[X, ...]`` and fixed-length tuples);
- ``Literal`` fields stay plain strings; enum members are stored by value;
- where an annotation allows more than one dataclass (the ``Constraint`` union, say), the object
  carries a ``"$type"`` key with the class name, because the field names alone cannot tell the
  alternatives apart reliably.

``schema_from_json(schema_to_json(s)) == s`` holds for every schema.

``inspect --format json`` prints :func:`schema_document_json`: the same object with ``"$schema"``
and ``"version"`` added, valid against the shipped ``dfmigrate/schemas/schema-v1.schema.json``.
The readers accept both forms (the two keys are checked, then dropped).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import types
import typing
from typing import Any, Literal, Union

from dfmigrate.core.schema import Schema

TYPE_KEY = "$type"
SCHEMA_ID = "https://dfmigrate.dev/schemas/schema-v1.schema.json"
SCHEMA_VERSION = 1


# ---------------------------------------------------------------- encoding


def to_dict(obj: Any) -> Any:
    """Encode a dataclass value (or a tuple, enum or scalar inside one) as JSON-ready data."""
    return _encode(obj, type(obj))


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    return _encode(schema, Schema)


def schema_to_json(schema: Schema) -> str:
    """Readable, deterministic JSON: sorted keys, two-space indent, defaults omitted."""
    return json.dumps(schema_to_dict(schema), sort_keys=True, indent=2, ensure_ascii=False)


def schema_document_json(schema: Schema) -> str:
    """:func:`schema_to_json` as a versioned document: with ``"$schema"`` and ``"version"``."""
    document = {"$schema": SCHEMA_ID, "version": SCHEMA_VERSION, **schema_to_dict(schema)}
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)


def fingerprint(schema: Schema) -> str:
    """sha256 (hex) of the canonical compact JSON: equal schemas, equal fingerprints."""
    return digest(schema_to_dict(schema))


def digest(data: Any) -> str:
    """sha256 (hex) of JSON-ready data in canonical compact form (sorted keys)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _encode(value: Any, declared: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {}
        for name, default, exact, hint in _encoding(type(value)):
            item = getattr(value, name)
            if default is not _REQUIRED and item == default and (not exact or type(item) is type(default)):
                continue  # equal to its default (the same type too, for a plain default): left out
            data[name] = _encode(item, hint)
        if _tagged(declared):
            data[TYPE_KEY] = type(value).__name__
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        item_types = _tuple_item_types(declared, len(value))
        return [_encode(item, t) for item, t in zip(value, item_types)]
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"cannot serialize {type(value).__name__}: {value!r}")


_REQUIRED = object()


@functools.cache
def _encoding(cls: type[Any]) -> tuple[tuple[str, Any, bool, Any], ...]:
    """Per field of ``cls``: (name, default or ``_REQUIRED``, whether the default's type must match
    too, annotation). Computed once per class: a schema holds thousands of dataclass values."""
    hints = _hints(cls)  # type: ignore[arg-type]  # classes are hashable; typeshed says Hashable
    plan = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            plan.append((f.name, f.default, True, hints[f.name]))
        elif f.default_factory is not dataclasses.MISSING:
            plan.append((f.name, f.default_factory(), False, hints[f.name]))
        else:
            plan.append((f.name, _REQUIRED, False, hints[f.name]))
    return tuple(plan)


@functools.cache
def _tagged(declared: Any) -> bool:
    """Whether a value where ``declared`` is annotated names its class (``$type``)."""
    return len(_dataclass_members(declared)) > 1


# ---------------------------------------------------------------- decoding


def from_dict(cls: type[Any], data: Any) -> Any:
    """Rebuild a value of the annotated type ``cls`` from :func:`to_dict` output."""
    return _decode(data, cls, cls.__name__ if isinstance(cls, type) else "value")


def schema_from_dict(data: dict[str, Any]) -> Schema:
    """A schema from :func:`schema_to_dict` output, or from the versioned document ``inspect``
    prints (its ``"$schema"`` and ``"version"`` must name this version, and are dropped)."""
    if isinstance(data, dict) and ("$schema" in data or "version" in data):
        if data.get("$schema", SCHEMA_ID) != SCHEMA_ID or data.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise ValueError(f"schema: a document of {data.get('$schema')!r} version {data.get('version')!r}; "
                             f"this dfmigrate reads {SCHEMA_ID} version {SCHEMA_VERSION}")
        data = {k: v for k, v in data.items() if k not in ("$schema", "version")}
    return _decode(data, Schema, "schema")


def schema_from_json(text: str) -> Schema:
    return schema_from_dict(json.loads(text))


def _decode(value: Any, tp: Any, path: str) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return _decode_union(value, typing.get_args(tp), path)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ValueError(f"{path}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{path}: expected a list, got {type(value).__name__}")
        item_types = _tuple_item_types(tp, len(value))
        return tuple(_decode(v, t, f"{path}[{i}]") for i, (v, t) in enumerate(zip(value, item_types)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(value, tp, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is type(None):
        if value is not None:
            raise ValueError(f"{path}: expected null, got {value!r}")
        return None
    if isinstance(tp, type) and _is_instance(value, tp):
        return value
    raise ValueError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _decode_union(value: Any, options: tuple[Any, ...], path: str) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise ValueError(f"{path}: null is not allowed")
    options = tuple(o for o in options if o is not type(None))
    classes: list[type[Any]] = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
    if isinstance(value, dict) and len(classes) > 1:
        name = value.get(TYPE_KEY)
        match = next((c for c in classes if c.__name__ == name), None)
        if match is None:
            raise ValueError(f"{path}: {TYPE_KEY} {name!r} is not one of {[c.__name__ for c in classes]}")
        return _decode_dataclass(value, match, path)
    errors = []
    for option in options:
        try:
            return _decode(value, option, path)
        except (ValueError, TypeError) as exc:
            errors.append(str(exc))
    raise ValueError(f"{path}: {value!r} matches no alternative ({'; '.join(errors)})")


def _decode_dataclass(value: Any, cls: type[Any], path: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected an object for {cls.__name__}, got {type(value).__name__}")
    hints = _hints(cls)  # type: ignore[arg-type]  # classes are hashable; typeshed says Hashable
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(value) - names - {TYPE_KEY}
    if unknown:
        raise ValueError(f"{path}: unknown field(s) for {cls.__name__}: {', '.join(sorted(unknown))}")
    kwargs = {
        name: _decode(item, hints[name], f"{path}.{name}")
        for name, item in value.items()
        if name != TYPE_KEY
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{path}: {exc}") from None


def _is_instance(value: Any, tp: type) -> bool:
    # JSON has no tuples and bool is an int subclass: keep the two distinct both ways.
    if tp is bool or isinstance(value, bool):
        return tp is bool and isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float))
    return isinstance(value, tp)


# ---------------------------------------------------------------- annotations


@functools.cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass_members(declared: Any) -> list[Any]:
    origin = typing.get_origin(declared)
    if origin is Union or origin is types.UnionType:
        return [a for a in typing.get_args(declared) if dataclasses.is_dataclass(a)]
    return [declared] if dataclasses.is_dataclass(declared) else []


def _tuple_item_types(declared: Any, length: int) -> list[Any]:
    """The annotated type of each item of a tuple of ``length`` items (Any when unknown)."""
    origin = typing.get_origin(declared)
    if origin is Union or origin is types.UnionType:  # e.g. tuple[str, ...] | None
        declared = next((a for a in typing.get_args(declared) if typing.get_origin(a) is tuple), Any)
    if typing.get_origin(declared) is not tuple:
        return [Any] * length
    args = typing.get_args(declared)
    if len(args) == 2 and args[1] is Ellipsis:
        return [args[0]] * length
    if len(args) != length:
        raise ValueError(f"expected {len(args)} items for {declared}, got {length}")
    return list(args)

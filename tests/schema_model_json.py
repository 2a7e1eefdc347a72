"""Writes ``dfmigrate/schemas/schema-v1.schema.json`` from the schema model's dataclasses.

The shipped file is committed; ``tests/test_json_schemas.py`` checks that it still equals what
this module builds, so a field added to ``dfmigrate/core/schema.py`` cannot slip past the schema
(regenerate with ``python -m tests.schema_model_json > dfmigrate/schemas/schema-v1.schema.json``).

The rules follow ``dfmigrate.core.serialize``: a field without a default is required, a field
with one may be left out (it is, when equal to its default); tuples are arrays (a fixed-length
tuple a fixed-length array); ``Literal`` fields are enums; ``X | None`` also allows null. Every
object kind is closed (``additionalProperties: false``), so a field the schema does not know
fails validation.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from typing import Any, Literal, Union

from dfmigrate.core import schema as model

SCHEMA_ID = "https://dfmigrate.dev/schemas/schema-v1.schema.json"
_SCALARS = {str: "string", int: "integer", bool: "boolean", float: "number"}


def build() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = _object(model.Schema, defs)
    root.pop("description", None)  # the document's own description says it
    root["properties"] = {
        "$schema": {"const": SCHEMA_ID},
        "version": {"const": 1},
        **root["properties"],
    }
    root["required"] = ["$schema", "version", *root["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "dfmigrate schema model, version 1",
        "description": (
            "The --format json output of 'dfmigrate inspect': everything a source knows about one "
            "database, as dfmigrate models it. Keys are sorted and a field equal to its default is "
            "left out. Fields are only ever added within a version; a change that breaks readers "
            "gets a new version."
        ),
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _object(cls: type[Any], defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        properties[f.name] = _type(hints[f.name], defs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    out: dict[str, Any] = {"type": "object"}
    doc = inspect.getdoc(cls) or ""
    if doc and not doc.startswith(f"{cls.__name__}("):  # not the dataclass's generated signature
        out["description"] = " ".join(doc.split())
    out.update(required=required, additionalProperties=False, properties=properties)
    return out


def _type(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if sum(dataclasses.is_dataclass(a) for a in options) > 1:
            raise NotImplementedError(f"{tp}: a union of dataclasses is tagged with $type; not in the model yet")
        alternatives = [_type(a, defs) for a in options]
        if type(None) in typing.get_args(tp):
            alternatives.append({"type": "null"})
        return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type(args[0], defs)}
        return {"type": "array", "prefixItems": [_type(a, defs) for a in args], "items": False,
                "minItems": len(args)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # reserved first: a class may refer to itself
            defs[tp.__name__] = _object(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    raise NotImplementedError(f"no JSON Schema for {tp!r}")


def text() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(text(), end="")

"""Node classes from model definitions: ``<Model>CreateNode`` … ``<Model>BulkUpsertNode``.

Each class is an ``AsyncNode`` subclass made with ``type()``, holding its model's metadata and
database URL as class attributes (``Node.__init__`` calls ``get_parameters()`` before a subclass
``__init__`` body could run, kailash-notes §4), and registered in Kailash's ``NodeRegistry`` with
``allow_override=True`` so that generating again (a new URL, changed models) replaces it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.models import ModelInfo
from dfmigrate.nodes.meta import DEFAULT_BATCH_SIZE, ModelMeta, build_meta, default_for_manifest, param_type, type_name
from dfmigrate.core.schema import DEFAULT_NAMESPACE, Dialect, Schema

OPERATIONS = ("Create", "Read", "Update", "Delete", "List", "Count", "Upsert",
              "BulkCreate", "BulkUpdate", "BulkDelete", "BulkUpsert")
GENERATED_MODULE = "dfmigrate.nodes.generated"
DEFAULT_LIST_LIMIT = 10  # DataFlow's ListNode default


class SchemaMismatchError(DfmigrateError):
    """The database does not match the models the nodes would be generated from."""

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


# --- parameters ------------------------------------------------------------------------------
def _param(name: str, type_: Any, required: bool, default: Any = None, description: str = "",
           type_label: str | None = None) -> dict[str, Any]:
    return {"name": name, "type": type_, "required": required, "default": default,
            "description": description, "type_label": type_label or type_name(type_)}


def parameter_specs(meta: ModelMeta, op: str) -> list[dict[str, Any]]:
    """The parameters of one node, as plain data (the manifest and get_parameters share it)."""
    idc = meta.id_column
    id_type = idc.info.python_type if idc else Any
    id_desc = f"primary key ({idc.name})" if idc else "primary key"
    filt = _param("filter", dict, False, None, "{field: value} (None = IS NULL, a list = IN) or {field: {op: value}}, "
                  "op one of DataFlow's $eq $ne $gt $gte $lt $lte $in $nin $regex $exists $null; ANDed")
    if op == "Create":
        out = []
        for col in meta.columns.values():
            f = col.info
            if f.generated:
                continue
            spec = _param(f.name, param_type(f.python_type), col.required_on_create,
                          default_for_manifest(f), "nullable" if f.nullable else "",
                          type_label=type_name(f.python_type))
            spec["field"] = True  # the default is the database's: never passed in by Kailash
            out.append(spec)
        return out
    if op == "Read":
        return [_param("id", param_type(id_type), True, None, id_desc, type_name(id_type)),
                _param("raise_on_not_found", bool, False, True, "False: return {found: False} instead")]
    if op == "Delete":
        return [_param("id", param_type(id_type), True, None, id_desc, type_name(id_type))]
    if op == "Update":
        return [_param("id", param_type(id_type), False, None, f"{id_desc}; or give filter", type_name(id_type)),
                filt, _param("fields", dict, True, None, "{field: new value}")]
    if op == "List":
        return [filt, _param("order_by", Any, False, None, "field, '-field' (descending) or a list of them",
                             "str | list"),
                _param("limit", int, False, DEFAULT_LIST_LIMIT, "maximum rows (DataFlow's default: 10)"),
                _param("offset", int, False, 0, "rows to skip")]
    if op == "Count":
        return [filt]
    if op == "Upsert":  # DataFlow's UpsertNode parameters
        return [_param("where", dict, True, None, "unique field(s) naming the row {field: value}; inserted too"),
                _param("update", dict, False, None, "{field: value} set when the row exists"),
                _param("create", dict, False, None, "{field: value} inserted with where's when it does not"),
                _param("conflict_on", Any, False, None, "conflict key columns (default: where's fields)",
                       "str | list")]
    confirmed = _param("confirmed", bool, False, False, "required with an empty filter (every row)")
    if op == "BulkUpdate":
        return [filt, _param("fields", dict, True, None, "{field: new value}"), confirmed]
    if op == "BulkDelete":
        return [filt, confirmed]
    data = _param("data", list, True, None, "rows: a list of {field: value}")
    batch = _param("batch_size", int, False, DEFAULT_BATCH_SIZE, "rows per statement")
    if op == "BulkCreate":
        return [data, batch]
    return [data, batch, _param("conflict_on", Any, False, None,
                                "conflict key columns (default: the primary key, else a unique key the rows carry)",
                                "str | list")]


def _node_parameters(specs: list[dict[str, Any]]) -> dict[str, Any]:
    from kailash.nodes.base import NodeParameter

    return {
        s["name"]: NodeParameter(name=s["name"], type=s["type"], required=s["required"],
                                 default=None if s["required"] or s.get("field") else s["default"],
                                 description=s["description"])
        for s in specs
    }


# --- running ---------------------------------------------------------------------------------
async def _run_op(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    from kailash.sdk_exceptions import NodeExecutionError

    from dfmigrate.nodes import drivers, ops

    meta: ModelMeta = cls._dfm_meta  # type: ignore[attr-defined]
    op: str = cls._dfm_operation  # type: ignore[attr-defined]
    node = cls.__name__
    names = {s["name"] for s in cls._dfm_specs}  # type: ignore[attr-defined]
    kw = {k: v for k, v in kwargs.items() if k in names}
    try:
        async with drivers.connect(cls._dfm_database_url,  # type: ignore[attr-defined]
                                   upsert=op in ("Upsert", "BulkUpsert")) as conn:
            if op == "Create":
                return await ops.create(conn, meta, node, kw)
            if op == "Read":
                return await ops.read(conn, meta, node, kw["id"], kw.get("raise_on_not_found", True))
            if op == "Delete":
                return await ops.delete(conn, meta, node, kw["id"])
            if op == "Update":
                return await ops.update(conn, meta, node, kw.get("id"), kw.get("filter"), kw["fields"])
            if op == "List":
                return await ops.list_(conn, meta, node, kw.get("filter"), kw.get("order_by"),
                                       kw.get("limit", DEFAULT_LIST_LIMIT), kw.get("offset"))
            if op == "Count":
                return await ops.count(conn, meta, node, kw.get("filter"))
            if op == "Upsert":
                return await ops.upsert(conn, meta, node, kw.get("where"), kw.get("update"), kw.get("create"),
                                        kw.get("conflict_on"))
            if op in ("BulkUpdate", "BulkDelete"):
                return await ops.bulk_filtered(conn, meta, node, kw.get("filter"),
                                               kw["fields"] if op == "BulkUpdate" else None,
                                               bool(kw.get("confirmed")))
            return await ops.bulk_insert(conn, meta, node, kw["data"], kw.get("batch_size", DEFAULT_BATCH_SIZE),
                                         kw.get("conflict_on"), upsert=op == "BulkUpsert")
    except NodeExecutionError:
        raise
    except Exception as exc:
        mapped = drivers.database_error(meta, node, exc)
        if mapped is not None:
            raise mapped from exc
        if isinstance(exc, (ValueError, TypeError)):  # a value the column type cannot take
            raise NodeExecutionError(f"{node}: {type(exc).__name__}: {exc}") from exc
        raise


async def _execute_async(self: Any, **runtime_inputs: Any) -> dict[str, Any]:
    """``AsyncNode.execute_async`` (kailash 2.65) without its two costs that grow with the data:
    it rebuilds every parameter while looking for ``${name}`` templates even when there are no
    runtime inputs a template could name, and it formats all validated inputs into a debug
    f-string whether or not debug logging is on. For a 100k-row ``data`` those two took longer
    than the COPY. Everything else is the same: config merged with runtime inputs, templates
    resolved whenever there are runtime inputs, nested ``config``, input and output validation,
    and a non-Kailash exception wrapped in ``NodeExecutionError``."""
    from kailash.sdk_exceptions import NodeExecutionError, NodeValidationError

    merged = {**self.config, **runtime_inputs}
    if runtime_inputs:
        from kailash.runtime.template_resolver import resolve_templates

        merged = resolve_templates(merged, runtime_inputs)
    nested = merged.get("config")
    if isinstance(nested, dict):
        merged.update(nested)
    validated = self.validate_inputs(**merged)
    try:
        outputs = await self.async_run(**validated)
    except (NodeValidationError, NodeExecutionError):
        raise
    except Exception as exc:
        raise NodeExecutionError(f"Node '{self.id}' execution failed: {type(exc).__name__}: {exc}") from exc
    return self.validate_outputs(outputs)


def _make_class(meta: ModelMeta, op: str, database_url: str | None) -> type:
    from kailash.nodes.base_async import AsyncNode

    specs = parameter_specs(meta, op)

    def get_parameters(self: Any) -> dict[str, Any]:
        return _node_parameters(specs)

    async def async_run(self: Any, **kwargs: Any) -> dict[str, Any]:
        if type(self)._dfm_database_url is None:
            from kailash.sdk_exceptions import NodeExecutionError

            raise NodeExecutionError(f"{type(self).__name__}: generated without a database URL")
        return await _run_op(type(self), kwargs)

    name = f"{meta.name}{op}Node"
    return type(name, (AsyncNode,), {
        "execute_async": _execute_async,
        "__module__": GENERATED_MODULE,
        "__qualname__": name,
        "__doc__": f"{op} on {meta.name} (table {meta.table_name}); generated by dfmigrate.",
        "get_parameters": get_parameters,
        "async_run": async_run,
        "_dfm_meta": meta,
        "_dfm_operation": op,
        "_dfm_specs": specs,
        "_dfm_database_url": database_url,
    })


def build_classes(infos: list[ModelInfo], schema: Schema, dialect: Dialect,
                  database_url: str | None = None, *, register: bool = False) -> dict[str, type]:
    """The node classes of every model, by name (registered in Kailash's NodeRegistry if asked)."""
    default_ns = DEFAULT_NAMESPACE[dialect]
    classes: dict[str, type] = {}
    for info in infos:
        ns = info.namespace if dialect == "postgresql" and info.namespace else default_ns
        table = schema.table(ns, info.table)
        if table is None:  # cannot happen for a schema built from these infos
            raise DfmigrateError(f"model {info.name}: table {info.table} missing from the schema")
        meta = build_meta(info, table, dialect)
        for op in OPERATIONS:
            cls = _make_class(meta, op, database_url)
            classes[cls.__name__] = cls
    if register:
        from kailash.nodes.base import NodeRegistry

        for cls in classes.values():
            NodeRegistry.register(cls, allow_override=True)
    return classes


def load(models_source: str, dialect: Dialect) -> tuple[list[ModelInfo], Schema]:
    """One load of the models: the Python metadata and the schema IR built from it."""
    from dfmigrate.sources.model_classes import build_schema, load_model_classes

    infos = load_model_classes(models_source, dialect)
    return infos, build_schema(infos, dialect)


def generate_nodes(models_source: str, database_url: str, *, check_schema: bool = True) -> dict[str, type]:
    """Generate, register and return (by class name) the nodes of every model in
    ``models_source``, bound to ``database_url``.

    With ``check_schema`` (the default) the database is introspected first and generation is
    refused with a ``SchemaMismatchError`` listing the differences when the models' tables do not
    match it (tables the models do not declare are ignored)."""
    from dfmigrate.runner.connections import dialect_of

    dialect: Dialect = dialect_of(database_url)  # type: ignore[assignment]
    infos, schema = load(models_source, dialect)
    if check_schema:
        differences = schema_differences(schema, database_url)
        if differences:
            raise SchemaMismatchError(
                f"the database does not match the models ({len(differences)} difference(s)): "
                + "; ".join(differences) + " (migrate first, or pass check_schema=False)",
                differences)
    return build_classes(infos, schema, dialect, database_url, register=True)


def schema_differences(models: Schema, database_url: str) -> list[str]:
    """What would have to change in the database for its model tables to match the models."""
    from dfmigrate.core.describe import describe
    from dfmigrate.diff import diff_schemas
    from dfmigrate.sources import SourceContext, load_source

    live = _run_sync(lambda: load_source(database_url, SourceContext()))
    wanted_tables = {(t.namespace, t.name) for t in models.tables}
    wanted_enums = {(e.namespace, e.name) for e in models.enums}
    live = replace(
        live,
        namespaces=tuple(n for n in live.namespaces if n in models.namespaces),
        extensions=(), collations=(), domains=(), composite_types=(), sequences=(), views=(), functions=(),
        namespace_grants=(),
        enums=tuple(e for e in live.enums if (e.namespace, e.name) in wanted_enums),
        tables=tuple(t for t in live.tables if (t.namespace, t.name) in wanted_tables),
    )
    return [describe(c) for c in diff_schemas(live, models)]


def _run_sync(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine from sync code, also when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    box: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(make()))  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


def manifest(classes: dict[str, type]) -> list[dict[str, Any]]:
    """Node names, operations, tables and parameters (type names, required, defaults)."""
    out = []
    for name, cls in classes.items():
        meta: ModelMeta = cls._dfm_meta  # type: ignore[attr-defined]
        out.append({
            "node": name,
            "model": meta.name,
            "operation": cls._dfm_operation,  # type: ignore[attr-defined]
            "table": f"{meta.namespace}.{meta.table_name}" if meta.dialect == "postgresql" else meta.table_name,
            "parameters": [
                {"name": s["name"], "type": s["type_label"], "required": s["required"],
                 **({"default": s["default"]} if not s["required"] and s["default"] is not None else {}),
                 **({"description": s["description"]} if s["description"] else {})}
                for s in cls._dfm_specs  # type: ignore[attr-defined]
            ],
        })
    return out

"""dfmigrate: schema diff and migration planning for PostgreSQL and SQLite.

The model-declaration API (``model``, ``field``, ``index``, ``unique``, ``check``) is loaded on
first use, so that ``import dfmigrate`` (and therefore ``dfmigrate --help``) stays cheap: the
models module pulls in typing machinery and, through the sources, the database drivers.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_MODEL_API = ("model", "field", "index", "unique", "check")

__all__ = ["__version__", *_MODEL_API, "generate_nodes"]


def __getattr__(name: str) -> Any:
    if name == "generate_nodes":  # the model nodes: imports kailash, so only on demand
        from dfmigrate.nodes.generate import generate_nodes

        globals()[name] = generate_nodes
        return generate_nodes
    if name in _MODEL_API:
        from dfmigrate import models

        value = getattr(models, name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'dfmigrate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODEL_API) | {"generate_nodes"})

"""dfmigrate: schema diff and migration planning for PostgreSQL and SQLite.

The model-declaration API (``model``, ``field``, ``index``, ``unique``, ``check``) is loaded on
first use, so that ``import dfmigrate`` (and therefore ``dfmigrate --help``) stays cheap: the
models module pulls in typing machinery and, through the sources, the database drivers.
"""

from __future__ import annotations

import sys
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


# Migration files written before the core pipeline moved into ``dfmigrate.core`` import the
# operations and the schema model from their former top-level names; those files are checksummed
# and must load unchanged, so the former names import the modules at their new place.
_FORMER = {f"dfmigrate.{m}": f"dfmigrate.core.{m}" for m in ("schema", "changes", "statement", "step")}


class _FormerNames:
    """A meta path finder answering only the former names, with the module of the new one."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _FORMER:
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(name, _FormerNames)

    @staticmethod
    def create_module(spec: Any) -> Any:
        import importlib

        return importlib.import_module(_FORMER[spec.name])

    @staticmethod
    def exec_module(module: Any) -> None:
        pass  # the module ran under its own name


sys.meta_path.insert(0, _FormerNames)  # first: the names are ours alone

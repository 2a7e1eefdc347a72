"""Generated Kailash nodes: eleven data-access nodes per model (DataFlow's nine, Count and
Upsert), from the same model definitions that drive the schema. See docs/nodes.md.

Importing this package is cheap; Kailash is imported when nodes are generated or run.
"""

from __future__ import annotations

from typing import Any

__all__ = ["generate_nodes", "manifest", "run_workflow", "run_workflow_async", "check_results",
           "SchemaMismatchError", "WorkflowFailedError", "ConstraintViolationError", "OPERATIONS"]

_WHERE = {
    "generate_nodes": "dfmigrate.nodes.generate", "manifest": "dfmigrate.nodes.generate",
    "SchemaMismatchError": "dfmigrate.nodes.generate", "OPERATIONS": "dfmigrate.nodes.generate",
    "run_workflow": "dfmigrate.nodes.runtime", "run_workflow_async": "dfmigrate.nodes.runtime",
    "check_results": "dfmigrate.nodes.runtime", "WorkflowFailedError": "dfmigrate.nodes.runtime",
    "ConstraintViolationError": "dfmigrate.nodes.drivers",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        from importlib import import_module

        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dfmigrate.nodes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Running a workflow so that a failing node fails the call.

Kailash's ``LocalRuntime`` raises when a failing node has dependents, but a failing node with no
dependents comes back in the results as ``{"error": ..., "failed": True}`` and ``execute()``
returns normally (kailash-notes §4, kailash 2.65.0). The generated nodes always raise on failure
(``NodeExecutionError``; ``ConstraintViolationError`` naming the constraint); these helpers make
sure the caller sees it.
"""

from __future__ import annotations

from typing import Any

from dfmigrate.errors import DfmigrateError


class WorkflowFailedError(DfmigrateError):
    """One or more nodes failed; ``failures`` maps node id to its error text, ``results`` holds
    everything the runtime returned."""

    def __init__(self, failures: dict[str, str], results: dict[str, Any]) -> None:
        super().__init__("workflow failed: " + "; ".join(f"node {k}: {v}" for k, v in failures.items()))
        self.failures = failures
        self.results = results


def check_results(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` unchanged when no node failed; else WorkflowFailedError, chained to the first
    failing node's exception when the runtime kept it."""
    failures: dict[str, str] = {}
    cause: BaseException | None = None
    for node_id, result in results.items():
        if isinstance(result, dict) and result.get("failed"):
            failures[node_id] = str(result.get("error") or "failed")
            exc = result.get("_exception")
            if cause is None and isinstance(exc, BaseException):
                cause = exc
    if failures:
        raise WorkflowFailedError(failures, results) from cause
    return results


def _built(workflow: Any) -> Any:
    from kailash.workflow.builder import WorkflowBuilder

    return workflow.build() if isinstance(workflow, WorkflowBuilder) else workflow


def run_workflow(workflow: Any, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a built workflow with ``LocalRuntime``; raise if any node failed."""
    from kailash.runtime.local import LocalRuntime

    workflow = _built(workflow)
    with LocalRuntime() as runtime:
        results, _run_id = runtime.execute(workflow, parameters=parameters or {})
    return check_results(results)


async def run_workflow_async(workflow: Any, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a built workflow with ``AsyncLocalRuntime``; raise if any node failed."""
    from kailash.runtime.async_local import AsyncLocalRuntime

    workflow = _built(workflow)
    runtime = AsyncLocalRuntime()
    try:
        outcome = await runtime.execute_workflow_async(workflow, inputs=inputs or {})
    finally:
        close = getattr(runtime, "close", None) or getattr(runtime, "cleanup", None)
        if close is not None:
            maybe = close()
            if hasattr(maybe, "__await__"):
                await maybe
    results = outcome[0] if isinstance(outcome, tuple) else outcome
    if isinstance(results, dict) and "results" in results and isinstance(results["results"], dict):
        results = results["results"]
    return check_results(results)

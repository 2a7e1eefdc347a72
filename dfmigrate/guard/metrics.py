"""Per-statement metrics for the apply report, through Kailash's monitoring nodes.

``TransactionMetricsNode`` times every statement the runner executes (one node "transaction" per
statement, named by its kind: ``runner.timings.kind_of``) and aggregates them per kind for the
report. ``PerformanceAnomalyNode`` judges each new duration against the recorded history of its
kind in this database (``dfmigrate_timings``): a baseline learnt from the history, then the new
value, whose immediate anomalies (threshold and z-score) are the node's verdict.

Both are advisory, like the detectors: a node that cannot be built or fails is recorded in the
report and changes nothing about the migration. Two filters of ours, both stated in the report:
a kind needs ``MIN_HISTORY`` earlier durations before it is judged (a baseline of two samples
flags everything), and a departure under ``MIN_DEPARTURE_MS`` from the baseline's mean is not
reported (a 3 ms step against a 1 ms history is noise to an operator, not an incident).
"""

from __future__ import annotations

import itertools
from typing import Any

from dfmigrate.guard.detectors import _DetectorNode

MIN_HISTORY = 5
MIN_DEPARTURE_MS = 100.0


class StepMetrics:
    def __init__(self) -> None:
        self.timer = _DetectorNode("transaction_metrics", "TransactionMetricsNode")
        self._ids = itertools.count(1)

    async def start(self, kind: str) -> str:
        tid = f"stmt-{next(self._ids)}"
        await self.timer._call(operation="start_transaction", transaction_id=tid, name=kind)
        return tid

    async def end(self, tid: str, ok: bool, error: str | None = None) -> None:
        await self.timer._call(operation="end_transaction", transaction_id=tid,
                               status="success" if ok else "error", error=error)

    async def aggregated(self) -> dict[str, Any]:
        result = await self.timer._call(operation="get_aggregated", aggregation_window=86400.0,
                                        aggregation_types=["count", "avg", "min", "max", "p50", "p95"])
        per_kind = result.get("metrics") or {}
        return {kind: {"count": a.get("count"), "avg_ms": _ms(a.get("avg_duration")),
                       "min_ms": _ms(a.get("min_duration")), "max_ms": _ms(a.get("max_duration")),
                       "errors": a.get("error_count")}
                for kind, a in sorted(per_kind.items())}

    async def report(self, history: dict[str, list[float]], measured: list[dict[str, Any]]) -> dict[str, Any]:
        """The aggregates, and each statement of ``measured`` ({"migration", "statement", "kind",
        "ms"}) whose duration departs from its kind's history."""
        judge = _DetectorNode("performance_anomaly", "PerformanceAnomalyNode")
        anomalies: list[dict[str, Any]] = []
        judged = 0
        for kind, past in history.items():
            mine = [m for m in measured if m["kind"] == kind]
            if len(past) < MIN_HISTORY or not mine:
                continue
            judged += len(mine)
            await judge._call(operation="initialize_baseline", metric_name=kind, min_samples=MIN_HISTORY,
                              sensitivity=0.8)
            for value in past:
                await judge._call(operation="add_metric", metric_name=kind, value=value)
            for m in mine:
                baseline = await judge._call(operation="get_baseline", metric_name=kind)
                mean = _baseline_mean(baseline, kind)
                result = await judge._call(operation="add_metric", metric_name=kind, value=m["ms"])
                found = result.get("anomalies_detected") or []
                if found and mean is not None and abs(m["ms"] - mean) >= MIN_DEPARTURE_MS:
                    anomalies.append({"migration": m["migration"], "statement": m["statement"], "kind": kind,
                                      "ms": round(m["ms"], 1), "baseline_mean_ms": round(mean, 1),
                                      "history": len(past),
                                      "types": sorted({a.get("anomaly_type") for a in found if a.get("anomaly_type")}),
                                      "severity": max((a.get("severity") or "" for a in found), default="")})
        return {"per_kind": await self.aggregated(), "anomalies": anomalies, "judged": judged,
                "rule": f"judged against >= {MIN_HISTORY} earlier durations of the same kind; "
                        f"departures under {MIN_DEPARTURE_MS:g} ms are not reported",
                "error": self.timer.error or judge.error}


def _baseline_mean(result: dict[str, Any], kind: str) -> float | None:
    baseline = (result.get("baselines") or {}).get(kind) or {}
    mean = baseline.get("mean")
    return float(mean) if mean is not None else None


def _ms(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) * 1000, 1)

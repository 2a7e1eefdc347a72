"""BulkCreate / BulkUpsert throughput on PostgreSQL: dfmigrate's generated nodes against the
COPY floor and against kailash-dataflow's own bulk nodes.

    python bench/bulk_bench.py [--rows 100000,1000000] [--pg-url URL] [--rounds 3]
                               [--json out.json] [--timeout 300] [--dataflow-rounds 1]
                               [--tools ...] [--ops create,upsert]

``--pg-url`` is an admin URL (default: $DFMIGRATE_TEST_PG_URL, else
postgresql://postgres@127.0.0.1:5432/postgres); the bench creates the scratch database
``dfm_bulk_bench_<pid>`` there and drops it at the end.

Tools (``--tools``, all by default):

* ``floor``: asyncpg ``copy_records_to_table`` of the same rows, already built as tuples, in one
  transaction; for the upsert, COPY into a temp table and one ``INSERT … SELECT … ON CONFLICT DO
  UPDATE``. Nothing a Python library can do to put rows in a table is cheaper, so
  ``tool / floor`` is the price of the tool.
* ``dfmigrate``: the generated ``<Model>BulkCreateNode`` / ``BulkUpsertNode`` in a real workflow
  run by ``dfmigrate.nodes.run_workflow`` (``LocalRuntime``), default parameters: the number a user
  of the documented API gets, Kailash's own overhead included.
* ``dfmigrate-direct``: the same node class, ``await node.async_run(...)`` with no runtime; only
  to show how much of the time is Kailash's, never the acceptance number.
* ``dataflow``: kailash-dataflow's ``<Model>BulkCreateNode`` / ``BulkUpsertNode`` for an
  equivalent ``@db.model``, in a workflow run by ``LocalRuntime``, default parameters except
  ``conflict_resolution="update"`` for the upsert (see ``_dataflow``), ``existing_schema_mode=True``
  (the table is the same one the others write to). ``--dataflow-rounds`` (default 1) rounds.

Every measurement runs in a fresh interpreter on a freshly created table. What is NOT timed: the
interpreter start, imports, generating the rows, node generation, one warm-up workflow (a Count
node, so the runtime and connections are warm the way they are in a running application), for the
upsert the pre-load of half the keys (COPY), and the verification afterwards. The upsert writes N
rows whose keys half exist: N/2 updates and N/2 inserts. A measurement that exceeds
``--timeout`` seconds (DataFlow at 1M rows may) is killed and reported as "timeout"; its other
rounds are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable from a checkout without installing dfmigrate
    sys.path.insert(0, str(REPO))

TABLE = "bench_orders"
FIELDS = ("sku", "customer", "qty", "price", "paid", "ordered_at", "note")
TOOLS = ("floor", "dfmigrate", "dfmigrate-direct", "dataflow")
OPS = ("create", "upsert")
UPDATED_QTY = 1000  # the upsert pass writes qty >= this, so "was the row updated" is checkable

MODELS = textwrap.dedent('''
    from __future__ import annotations
    import datetime
    from decimal import Decimal
    from typing import Optional
    from dfmigrate import model, field

    @model
    class BenchOrder:
        __tablename__ = "bench_orders"
        sku: str = field(unique=True, max_length=40)
        customer: str = field(max_length=80)
        qty: int
        price: Decimal = field(precision=12, scale=2)
        paid: bool = False
        ordered_at: datetime.datetime
        note: Optional[str] = None
''')


# --- data ----------------------------------------------------------------------------------------
_BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def row_values(i: int, qty_offset: int = 0) -> tuple[Any, ...]:
    return (f"S{i:09d}", f"customer-{i % 9973}", i % 100 + qty_offset, Decimal(i % 100_000).scaleb(-2),
            i % 3 == 0, _BASE + dt.timedelta(seconds=i), None if i % 4 else f"note {i}")


def make_rows(keys: range, qty_offset: int, as_tuples: bool) -> list[Any]:
    if as_tuples:
        return [row_values(i, qty_offset) for i in keys]
    return [dict(zip(FIELDS, row_values(i, qty_offset))) for i in keys]


# --- one measurement (child process) -----------------------------------------------------------------
async def _prepare_table(url: str, ddl: str, op: str, n: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        await conn.execute(ddl)
        if op == "upsert":
            await conn.copy_records_to_table(TABLE, records=make_rows(range(n // 2), 0, True), columns=FIELDS)
            await conn.execute(f"VACUUM ANALYZE {TABLE}")
        await conn.execute("CHECKPOINT")  # no earlier run's dirty pages flushed inside our timing
    finally:
        await conn.close()


async def _verify(url: str, op: str, n: int) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(f"SELECT count(*) AS n, count(*) FILTER (WHERE qty >= {UPDATED_QTY}) AS updated, "
                                  f"count(DISTINCT sku) AS keys FROM {TABLE}")
    finally:
        await conn.close()
    expected_updated = n if op == "upsert" else 0
    ok = row["n"] == n and row["keys"] == n and row["updated"] == expected_updated
    return {"ok": ok, "table_rows": row["n"], "updated_rows": row["updated"]}


async def _floor(url: str, op: str, records: list[tuple[Any, ...]]) -> float:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        t0 = time.perf_counter()
        async with conn.transaction():
            if op == "create":
                await conn.copy_records_to_table(TABLE, records=records, columns=FIELDS)
            else:
                await conn.execute(f"CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT {', '.join(FIELDS)} "
                                   f"FROM {TABLE} WITH NO DATA")
                await conn.copy_records_to_table("stage", records=records, columns=FIELDS)
                sets = ", ".join(f"{f} = excluded.{f}" for f in FIELDS if f != "sku")
                await conn.execute(f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) SELECT {', '.join(FIELDS)} FROM stage "
                                   f"ON CONFLICT (sku) DO UPDATE SET {sets}, updated_at = CURRENT_TIMESTAMP")
        return time.perf_counter() - t0
    finally:
        await conn.close()


def _dfmigrate(url: str, models_file: str, op: str, rows: list[dict[str, Any]], direct: bool) -> float:
    from kailash.workflow.builder import WorkflowBuilder

    from dfmigrate.nodes import generate_nodes, run_workflow

    nodes = generate_nodes(models_file, url, check_schema=False)  # the parent checked it once
    warm = WorkflowBuilder()
    warm.add_node("BenchOrderCountNode", "warm", {})
    run_workflow(warm)
    name = "BenchOrderBulkCreateNode" if op == "create" else "BenchOrderBulkUpsertNode"
    params: dict[str, Any] = {"data": rows}
    if op == "upsert":
        params["conflict_on"] = ["sku"]
    if direct:
        node = nodes[name]()
        t0 = time.perf_counter()
        out = asyncio.run(node.async_run(**params))
        elapsed = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        wf = WorkflowBuilder()
        wf.add_node(name, "bulk", params)
        out = run_workflow(wf)["bulk"]
        elapsed = time.perf_counter() - t0
    if out.get("rows_affected") != len(rows):
        raise SystemExit(f"dfmigrate reported {out}")
    return elapsed


def _dataflow(url: str, op: str, rows: list[dict[str, Any]]) -> float:
    from dataflow import DataFlow
    from kailash.runtime.local import LocalRuntime
    from kailash.workflow.builder import WorkflowBuilder

    db = DataFlow(url, existing_schema_mode=True, auto_migrate=False)

    @db.model
    class BenchOrder:
        __tablename__ = "bench_orders"
        sku: str
        customer: str
        qty: int
        price: Decimal
        paid: bool = False
        ordered_at: dt.datetime
        note: str | None = None

    def run(wf: WorkflowBuilder) -> dict[str, Any]:
        with LocalRuntime() as runtime:
            results, _ = runtime.execute(wf.build())
        for node_id, result in results.items():
            if isinstance(result, dict) and (result.get("failed") or result.get("success") is False):
                raise SystemExit(f"dataflow node {node_id} failed: {str(result)[:500]}")
        return results

    warm = WorkflowBuilder()
    warm.add_node("BenchOrderCountNode", "warm", {"filter": {}})
    run(warm)
    params: dict[str, Any] = {"data": rows}
    if op == "upsert":
        # The node's declared default conflict_resolution="skip" reaches bulk_upsert (the
        # intended "update" fallback never runs): existing rows would silently stay unchanged,
        # which is less work than an upsert. Ask for the update explicitly.
        params.update(conflict_on=["sku"], conflict_resolution="update")
    t0 = time.perf_counter()
    wf = WorkflowBuilder()
    wf.add_node("BenchOrderBulkCreateNode" if op == "create" else "BenchOrderBulkUpsertNode", "bulk", params)
    run(wf)
    return time.perf_counter() - t0


def child(spec: dict[str, Any]) -> None:
    url, op, n, tool = spec["url"], spec["op"], spec["rows"], spec["tool"]
    asyncio.run(_prepare_table(url, spec["ddl"], op, n))
    qty_offset = UPDATED_QTY if op == "upsert" else 0
    rows = make_rows(range(n), qty_offset, as_tuples=tool == "floor")
    if tool == "floor":
        seconds = asyncio.run(_floor(url, op, rows))
    elif tool == "dataflow":
        seconds = _dataflow(url, op, rows)
    else:
        seconds = _dfmigrate(url, spec["models_file"], op, rows, direct=tool == "dfmigrate-direct")
    check = asyncio.run(_verify(url, op, n))
    print(json.dumps({"seconds": seconds, **check}))


# --- orchestration (parent) ---------------------------------------------------------------------------
async def _admin(url: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def run_child(script: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``script --child SPEC`` (one measurement in a fresh process) and read its last JSON
    line; a failed child is ``{"status": "error"}`` with the tail of its output. A timeout raises
    ``subprocess.TimeoutExpired`` for the caller to clean up after."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run([sys.executable, script, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                              stderr=err, text=True, timeout=timeout)
        if proc.returncode != 0 or not proc.stdout.strip():
            err.seek(0)
            return {"status": "error", "error": (proc.stdout + err.read())[-1500:]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["status"] = "ok" if result.pop("ok") else "wrong result"
    return result


def summarize(op: str, n: int, tools: list[str], runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One result per tool: the median of its runs, or the status of its first failed one."""
    out = []
    for tool in tools:
        ok = [r["seconds"] for r in runs[tool] if r["status"] == "ok"]
        bad = [r["status"] for r in runs[tool] if r["status"] != "ok"]
        out.append({"operation": op, "rows": n, "tool": tool, "runs": runs[tool],
                    "median": statistics.median(ok) if ok and not bad else None, "status": bad[0] if bad else "ok"})
    return out


def floor_table(results: list[dict[str, Any]], decimals: int) -> str:
    """The markdown table of every result with its ratio to the floor's median."""
    floor = {(r["operation"], r["rows"]): r["median"] for r in results if r["tool"] == "floor"}
    lines = ["| operation | rows | tool | median s | rows/s | ratio to floor |", "|---|---:|---|---:|---:|---:|"]
    for r in results:
        med, base = r["median"], floor.get((r["operation"], r["rows"]))
        if med is None:
            lines.append(f"| {r['operation']} | {r['rows']:,} | {r['tool']} | {r['status']} | | |")
            continue
        ratio = f"{med / base:.2f}" if base else ""
        lines.append(f"| {r['operation']} | {r['rows']:,} | {r['tool']} | {med:.{decimals}f} | "
                     f"{r['rows'] / med:,.0f} | {ratio} |")
    return "\n".join(lines)


def measure(spec: dict[str, Any], timeout: float, admin_url: str, db_name: str) -> dict[str, Any]:
    try:
        return run_child(__file__, spec, timeout)
    except subprocess.TimeoutExpired:
        # The killed child's server session may still be writing: end it before the next
        # measurement drops the table (only sessions on our own scratch database).
        asyncio.run(_admin(admin_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      f"WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"))
        return {"status": "timeout"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--pg-url", default=os.environ.get("DFMIGRATE_TEST_PG_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--timeout", type=float, default=300.0, help="per DataFlow measurement, seconds")
    ap.add_argument("--dataflow-rounds", type=int, default=1,
                    help="rounds for DataFlow (default 1: it runs at ~700 rows/s, a second round changes "
                         "nothing but the wall clock)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    from dfmigrate.core.engine import plan_migration
    from dfmigrate.nodes import generate_nodes
    from dfmigrate.core.schema import Schema
    from dfmigrate.sources.model_classes import load_models
    from dfmigrate.urls import mask, with_database

    sizes = [int(s) for s in args.rows.split(",") if s.strip()]
    tools = [t for t in args.tools.split(",") if t]
    ops = [o for o in args.ops.split(",") if o]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r} (one of {', '.join(TOOLS)})")
    load_start = os.getloadavg()
    db_name = f"dfm_bulk_bench_{os.getpid()}"
    url = with_database(args.pg_url, db_name)
    work = Path(tempfile.mkdtemp(prefix="dfm_bulk_bench_"))
    models_file = work / "bench_models.py"
    models_file.write_text(MODELS)
    ddl = plan_migration(Schema("postgresql", namespaces=("public",)), load_models(str(models_file), "postgresql")).sql()
    asyncio.run(_admin(args.pg_url, f'CREATE DATABASE "{db_name}"'))
    results: list[dict[str, Any]] = []
    try:
        asyncio.run(_prepare_table(url, ddl, "create", 0))
        generate_nodes(str(models_file), url)  # the schema check, once: children skip it
        server = asyncio.run(_admin(url, "SHOW server_version"))[0][0]
        for n in sizes:
            for op in ops:
                skipped: set[str] = set()
                runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
                for rnd in range(args.rounds):
                    for tool in tools:
                        if tool in skipped or (tool == "dataflow" and rnd >= args.dataflow_rounds):
                            continue
                        spec = {"url": url, "op": op, "rows": n, "tool": tool, "ddl": ddl,
                                "models_file": str(models_file)}
                        r = measure(spec, args.timeout if tool == "dataflow" else 3600, args.pg_url, db_name)
                        runs[tool].append(r)
                        print(f"  {op:6} {n:>9,} {tool:17} round {rnd + 1}: "
                              + (f"{r['seconds']:.2f} s" if "seconds" in r else "")
                              + ("" if r["status"] == "ok" else f" [{r['status']}] {r.get('error', '')[-300:]}")
                              + (f" (table rows {r['table_rows']:,}, updated {r['updated_rows']:,})"
                                 if r["status"] == "wrong result" else ""),
                              file=sys.stderr, flush=True)
                        if r["status"] != "ok":
                            skipped.add(tool)
                results += summarize(op, n, tools, runs)
    finally:
        asyncio.run(_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    load_end = os.getloadavg()

    print(floor_table(results, 2))
    print()
    by = {(r["operation"], r["rows"], r["tool"]): r for r in results}
    for n in sizes:
        for op in ops:
            dfm, base, dfl = (by.get((op, n, t), {}).get("median") for t in ("dfmigrate", "floor", "dataflow"))
            acc = f"{op} {n:,}: dfmigrate/floor = {dfm / base:.2f} (goal ≤ 2)" if dfm and base else f"{op} {n:,}: n/a"
            if dfm and dfl:
                acc += f", dfmigrate vs DataFlow = {dfl / dfm:.1f}× faster"
            elif dfm and (op, n, "dataflow") in by:
                status = by[(op, n, "dataflow")]["status"]
                acc += (f", DataFlow: timeout (> {args.timeout:.0f} s cap, so dfmigrate > {args.timeout / dfm:.0f}× faster)"
                        if status == "timeout" else f", DataFlow: {status}")
            print(acc)
    machine = (f"machine: {os.cpu_count()} cores, load average {load_start[0]:.2f} at start / {load_end[0]:.2f} at end "
               f"(1 min); PostgreSQL {server}, Python {platform.python_version()}, {args.rounds} round(s) "
               f"({args.dataflow_rounds} for DataFlow), "
               f"server {mask(args.pg_url)}")
    print(machine)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"results": results, "machine": machine,
                                                   "load_start": load_start, "load_end": load_end}, indent=2))


if __name__ == "__main__":
    main()

"""BulkCreate / BulkUpsert throughput on MySQL/MariaDB: dfmigrate's generated nodes against the
driver's own fastest bulk path (asyncmy), with bulk_bench.py's model and rows.

    python bench/mysql_bulk_bench.py [--rows 10000,100000] [--mysql-url URL] [--rounds 5]
                                     [--json out.json] [--tools ...] [--ops create,upsert]

``--mysql-url`` is an admin URL without a database (default: $DFMIGRATE_TEST_MYSQL_URL, else
mysql://root@127.0.0.1:3306/); the bench creates the scratch database ``dfm_bulk_bench_<pid>``
there and drops it at the end.

Tools (``--tools``, all by default):

* ``floor``: asyncmy ``executemany`` of ``INSERT … VALUES (%s, …)`` (for the upsert with ``ON
  DUPLICATE KEY UPDATE col = VALUES(col), …``) over a connection with a statement cache, the rows
  already built as the tuples the driver takes (naive UTC datetimes), in one transaction. On
  MariaDB that is one COM_STMT_BULK_EXECUTE: every row bound in binary, in one round trip, the
  fastest way asyncmy has to put rows in a table (the two below are slower here), so
  ``tool / floor`` is the price of the tool.
* ``floor-text``: the same ``executemany`` without a statement cache: asyncmy's multi-row text
  INSERTs of up to 1 MB each (its path on MySQL, which has no bulk command). Not a floor here,
  shown for comparison.
* ``load-data``: ``LOAD DATA LOCAL INFILE`` of a tab-separated file written from the same tuples
  (writing it is timed); for the upsert into a temporary table, then one ``INSERT … SELECT … ON
  DUPLICATE KEY UPDATE``. asyncmy 0.2.18 cannot send a local file at all (it hands the file name
  to a function typed ``str`` as ``bytes``: TypeError); this tool corrects that in its own child
  process only, to show what LOAD DATA would give. Not a floor: dfmigrate cannot use it.
* ``dfmigrate``: the generated ``BulkCreateNode`` / ``BulkUpsertNode`` in a workflow run by
  ``dfmigrate.nodes.run_workflow`` (``LocalRuntime``), default parameters, given the rows as
  dicts with aware (UTC) datetimes, as bulk_bench.py gives them on PostgreSQL: the acceptance
  number.
* ``dfmigrate-direct``: ``await node.async_run(...)`` without a runtime, to show Kailash's share.

Every measurement runs in a fresh interpreter on a freshly created table. Not timed: interpreter
start, imports, generating the rows, node generation, one warm-up workflow (a Count node), for
the upsert the pre-load of half the keys and ``ANALYZE TABLE``, the check afterwards, and one
``gc.collect()`` just before the clock starts, in every tool: otherwise the full collection that
the imports and the rows made due lands inside the measurement, and costs more where more is
imported (~55 ms in a process that imported Kailash, 10,000 rows: most of the difference at that
size). The
upsert writes N rows whose keys half exist: N/2 updates and N/2 inserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for path in (str(REPO), str(BENCH)):
    if path not in sys.path:  # runnable from a checkout without installing dfmigrate
        sys.path.insert(0, path)

from bulk_bench import FIELDS, MODELS, TABLE, UPDATED_QTY, floor_table, make_rows, run_child, summarize  # noqa: E402

TOOLS = ("floor", "floor-text", "load-data", "dfmigrate", "dfmigrate-direct")
OPS = ("create", "upsert")
INSERT = f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) VALUES ({', '.join('%s' for _ in FIELDS)})"
UPDATE = (" ON DUPLICATE KEY UPDATE " + ", ".join(f"{f} = VALUES({f})" for f in FIELDS if f != "sku")
          + ", updated_at = CURRENT_TIMESTAMP")


def driver_rows(keys: range, qty_offset: int) -> list[tuple[Any, ...]]:
    """The rows as asyncmy takes them: the datetimes naive, in UTC."""
    at = FIELDS.index("ordered_at")
    return [r[:at] + (r[at].astimezone(dt.timezone.utc).replace(tzinfo=None),) + r[at + 1:]
            for r in make_rows(keys, qty_offset, True)]


async def _connect(url: str, **options: Any) -> Any:
    from dfmigrate.dialects.mysql.connect import connect

    return await connect(url, **options)


async def _run(url: str, *statements: str, fetch: bool = False) -> Any:
    conn = await _connect(url)
    try:
        async with conn.cursor() as cur:
            for sql in statements:
                await cur.execute(sql)
            return await cur.fetchall() if fetch else None
    finally:
        conn.close()


# --- one measurement (child process) -----------------------------------------------------------------
async def _prepare_table(url: str, ddl: str, op: str, n: int) -> None:
    conn = await _connect(url, stmt_cache_size=8)
    try:
        async with conn.cursor() as cur:
            await cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
            await cur.execute(ddl)
            if op == "upsert":
                await cur.executemany(INSERT, driver_rows(range(n // 2), 0))
                await cur.execute(f"ANALYZE TABLE {TABLE}")
                await cur.fetchall()
    finally:
        conn.close()


async def _verify(url: str, op: str, n: int) -> dict[str, Any]:
    (row,) = await _run(url, f"SELECT count(*), sum(qty >= {UPDATED_QTY}), count(DISTINCT sku) FROM {TABLE}",
                        fetch=True)
    total, updated, keys = (int(v or 0) for v in row)
    ok = total == n and keys == n and updated == (n if op == "upsert" else 0)
    return {"ok": ok, "table_rows": total, "updated_rows": updated}


async def _floor(url: str, op: str, rows: list[tuple[Any, ...]], cache: int) -> float:
    conn = await _connect(url, stmt_cache_size=cache)
    try:
        async with conn.cursor() as cur:
            gc.collect()
            t0 = time.perf_counter()
            await conn.begin()
            await cur.executemany(INSERT + (UPDATE if op == "upsert" else ""), rows)
            await conn.commit()
            return time.perf_counter() - t0
    finally:
        conn.close()


def _tsv(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _allow_local_files() -> None:
    """asyncmy 0.2.18 passes LOAD DATA's file name as bytes to a class that only takes str."""
    import asyncmy.connection

    class LoadLocalFile(asyncmy.connection.LoadLocalFile):  # type: ignore[misc,name-defined]
        def __init__(self, filename: Any, connection: Any) -> None:
            super().__init__(filename.decode() if isinstance(filename, bytes) else filename, connection)

    asyncmy.connection.LoadLocalFile = LoadLocalFile  # type: ignore[attr-defined]


async def _load_data(url: str, op: str, rows: list[tuple[Any, ...]]) -> float:
    _allow_local_files()
    conn = await _connect(url, local_infile=True)
    names = ", ".join(FIELDS)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as file:
        try:
            async with conn.cursor() as cur:
                gc.collect()
                t0 = time.perf_counter()
                file.write("".join("\t".join(map(_tsv, row)) + "\n" for row in rows))
                file.flush()
                await conn.begin()
                target = TABLE
                if op == "upsert":
                    target = "stage"
                    await cur.execute(f"CREATE TEMPORARY TABLE stage AS SELECT {names} FROM {TABLE} LIMIT 0")
                loaded = await cur.execute(f"LOAD DATA LOCAL INFILE '{file.name}' INTO TABLE {target} "
                                           f"CHARACTER SET utf8mb4 ({names})")
                if op == "upsert":
                    await cur.execute(f"INSERT INTO {TABLE} ({names}) SELECT {names} FROM stage{UPDATE}")
                await conn.commit()
                elapsed = time.perf_counter() - t0
        finally:
            conn.close()
    if loaded != len(rows):  # LOCAL turns refused rows into warnings: count them
        raise SystemExit(f"LOAD DATA loaded {loaded} of {len(rows)} rows")
    return elapsed


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
    gc.collect()  # the process's garbage so far (imports, the rows) is not the write's
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


def child(spec: dict[str, Any]) -> None:
    url, op, n, tool = spec["url"], spec["op"], spec["rows"], spec["tool"]
    asyncio.run(_prepare_table(url, spec["ddl"], op, n))
    qty_offset = UPDATED_QTY if op == "upsert" else 0
    if tool.startswith("dfmigrate"):
        seconds = _dfmigrate(url, spec["models_file"], op, make_rows(range(n), qty_offset, False),
                             direct=tool == "dfmigrate-direct")
    else:
        rows = driver_rows(range(n), qty_offset)
        if tool == "load-data":
            seconds = asyncio.run(_load_data(url, op, rows))
        else:
            seconds = asyncio.run(_floor(url, op, rows, 8 if tool == "floor" else 0))
    check = asyncio.run(_verify(url, op, n))
    print(json.dumps({"seconds": seconds, **check}))


# --- orchestration (parent) ---------------------------------------------------------------------------
def measure(spec: dict[str, Any]) -> dict[str, Any]:
    return run_child(__file__, spec, 1800)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="10000,100000")
    ap.add_argument("--mysql-url", default=os.environ.get("DFMIGRATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", dest="json_out")
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
    url = with_database(args.mysql_url, db_name)
    work = Path(tempfile.mkdtemp(prefix="dfm_mysql_bulk_bench_"))
    models_file = work / "bench_models.py"
    models_file.write_text(MODELS)
    ddl = plan_migration(Schema("mysql", namespaces=("main",)), load_models(str(models_file), "mysql")).sql()
    ddl = ddl.strip().rstrip(";")
    asyncio.run(_run(args.mysql_url, f"CREATE DATABASE `{db_name}`"))
    results: list[dict[str, Any]] = []
    try:
        asyncio.run(_prepare_table(url, ddl, "create", 0))
        generate_nodes(str(models_file), url)  # the schema check, once: children skip it
        server = asyncio.run(_run(url, "SELECT VERSION()", fetch=True))[0][0]
        for n in sizes:
            for op in ops:
                runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
                for rnd in range(args.rounds):
                    for tool in tools:
                        if runs[tool] and runs[tool][-1]["status"] != "ok":
                            continue
                        r = measure({"url": url, "op": op, "rows": n, "tool": tool, "ddl": ddl,
                                     "models_file": str(models_file)})
                        runs[tool].append(r)
                        print(f"  {op:6} {n:>9,} {tool:17} round {rnd + 1}: "
                              + (f"{r['seconds']:.3f} s" if "seconds" in r else "")
                              + ("" if r["status"] == "ok" else f" [{r['status']}] {r.get('error', '')[-300:]}"),
                              file=sys.stderr, flush=True)
                results += summarize(op, n, tools, runs)
    finally:
        asyncio.run(_run(args.mysql_url, f"DROP DATABASE IF EXISTS `{db_name}`"))
    load_end = os.getloadavg()

    print(floor_table(results, 3))
    print()
    by = {(r["operation"], r["rows"], r["tool"]): r["median"] for r in results}
    for n in sizes:
        for op in ops:
            dfm, base = by.get((op, n, "dfmigrate")), by.get((op, n, "floor"))
            print(f"{op} {n:,}: dfmigrate/floor = {dfm / base:.2f} (goal ≤ 2)" if dfm and base else f"{op} {n:,}: n/a")
    machine = (f"machine: {os.cpu_count()} cores, load average {load_start[0]:.2f} at start / {load_end[0]:.2f} at end "
               f"(1 min); {server}, Python {platform.python_version()}, {args.rounds} round(s), "
               f"server {mask(args.mysql_url)}")
    print(machine)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"results": results, "machine": machine,
                                                   "load_start": load_start, "load_end": load_end}, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: dfmigrate diff vs the catalog-fetch floor, migra and Alembic on generated schemas.

    python bench/diff_bench.py [--sizes 100,500,2000] [--rounds 5] [--pg-url URL] [--rebuild]
                               [--json out.json] [--tools floor,dfmigrate,migra,alembic]

For each size it creates (or reuses) two databases A and B (bench/schema_gen.py,
bench/databases.py), then runs every tool as a fresh subprocess, interleaved within each
round (the order rotates between rounds so that no tool always runs right after another), and
prints one markdown table: median wall time, peak RSS of the child, ratio to the floor.
Progress goes to stderr, the report to stdout. Not part of the test run. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import asyncpg  # noqa: E402

import databases  # noqa: E402
import schema_gen  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCEPTANCE = {"floor_ratio": 1.5, "migra_speedup": 3.5, "rss_mb": 150}  # issue 2, at 2,000 tables


# ------------------------------------------------------------------------- tools


@dataclass
class Tool:
    name: str
    argv: list[str] | None          # {A}/{B} (or {A+psycopg2}/...) stand for the URLs; None: not available
    missing: str = ""
    ok_codes: tuple[int, ...] = (0,)
    max_rounds: int | None = None   # None: every round


def _installed(*modules: str) -> str:
    """"" when every module imports, else the first missing one."""
    return next((m for m in modules if importlib.util.find_spec(m) is None), "")


def psycopg2_url(url: str) -> str:
    """migra and Alembic go through SQLAlchemy, which (2.1) maps a bare postgresql:// to
    psycopg 3; name psycopg2, which migra's sqlbag needs anyway."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def make_tools(selected: list[str], floor_connections: int, alembic_rounds: int) -> list[Tool]:
    py = sys.executable
    tools = {
        "floor": Tool("floor", [py, str(HERE / "floor.py"), "{A}", "{B}",
                                "--connections", str(floor_connections)]),
        "dfmigrate": _dfmigrate_tool(),
        "migra": (Tool("migra", None, "migra not installed") if not (migra := _script("migra"))
                  else Tool("migra", None, "psycopg2 not installed") if _installed("psycopg2")
                  # exit 2 = "differences found", the expected outcome here
                  else Tool("migra", [migra, "--unsafe", "{A+psycopg2}", "{B+psycopg2}"], ok_codes=(0, 2))),
        "alembic": (Tool("alembic", None, f"{m} not installed")
                    if (m := _installed("alembic", "sqlalchemy", "psycopg2"))
                    else Tool("alembic", [py, str(HERE / "alembic_compare.py"), "{A}", "{B}"],
                              max_rounds=alembic_rounds)),
    }
    unknown = set(selected) - set(tools)
    if unknown:
        sys.exit(f"unknown tool(s): {', '.join(sorted(unknown))}; known: {', '.join(tools)}")
    return [tools[name] for name in selected]


def _script(name: str) -> str | None:
    """An installed console script: the one next to this interpreter first (see
    ``_dfmigrate_tool``: PATH may hold a version manager's slower shim), else PATH's."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def _dfmigrate_tool() -> Tool:
    """The installed console script when there is one, else ``python -m dfmigrate`` from this
    checkout (the runner puts the repo on PYTHONPATH).

    The script installed next to this interpreter comes first: on PATH there may be a version
    manager's shim instead (pyenv's is a bash script that forks ~20 processes to find the
    interpreter, +0.1-0.2 s per run), which the floor, run with ``sys.executable``, never pays."""
    argv_tail = ["diff", "--from", "{A}", "--to", "{B}"]
    if exe := _script("dfmigrate"):
        return Tool("dfmigrate", [exe, *argv_tail])
    if not (REPO / "dfmigrate" / "__main__.py").exists():
        return Tool("dfmigrate", None, "dfmigrate CLI not found")
    return Tool("dfmigrate", [sys.executable, "-m", "dfmigrate", *argv_tail])


# ------------------------------------------------------------------------- one measured run


@dataclass
class Run:
    seconds: float
    rss_mb: float
    code: int


def measure(argv: list[str], out_dir: Path, label: str) -> Run:
    """Run ``argv`` to completion: wall time around the child, its own peak RSS from wait4().

    os.wait4 gives the rusage of exactly this child (ru_maxrss in KiB on Linux), which a
    RUSAGE_CHILDREN delta would only give as a max over all children so far. stdout/stderr go
    to files: a pipe nobody reads would block a tool that prints a big migration."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    with open(out_dir / f"{label}.out", "wb") as out, open(out_dir / f"{label}.err", "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so tell Popen
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode)


def last_line(path: Path) -> str:
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip()[:200] if lines else "(no output)"


# ------------------------------------------------------------------------- rounds


@dataclass
class Result:
    size: int
    tool: str
    runs: list[Run] = field(default_factory=list)
    status: str = "ok"  # or why it was not measured
    output_lines: int | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(r.seconds for r in self.runs) if self.runs else None

    @property
    def peak_rss(self) -> float | None:
        return max(r.rss_mb for r in self.runs) if self.runs else None


def run_size(size: int, tools: list[Tool], server_url: str, rounds: int, out_dir: Path) -> list[Result]:
    name_a, name_b = databases.db_names(size)
    url_a, url_b = databases.db_url(server_url, name_a), databases.db_url(server_url, name_b)
    results = {t.name: Result(size, t.name, status="not available: " + t.missing if t.argv is None else "ok")
               for t in tools}
    active = [t for t in tools if t.argv is not None]
    # One unmeasured run of the floor warms the server's caches for both databases, which every
    # tool then finds equally warm.
    floor = next((t for t in active if t.name == "floor"), None)
    if floor:
        measure(_expand(floor, url_a, url_b), out_dir, f"{size}-warmup")
    for r in range(rounds):
        shift = r % len(active) if active else 0
        for tool in active[shift:] + active[:shift]:
            result = results[tool.name]
            if result.status != "ok" or (tool.max_rounds is not None and len(result.runs) >= tool.max_rounds):
                continue
            label = f"{size}-{tool.name}-{r}"
            run = measure(_expand(tool, url_a, url_b), out_dir, label)
            if run.code not in tool.ok_codes:
                # A tool that cannot diff these databases (yet) is reported, not timed.
                result.status = f"failed (exit {run.code}): {last_line(out_dir / f'{label}.err')}"
                result.runs.clear()
                continue
            result.runs.append(run)
            result.output_lines = len((out_dir / f"{label}.out").read_text(errors="replace").splitlines())
            _progress(f"  {size:>5} tables  round {r + 1}/{rounds}  {tool.name:<10} {run.seconds:7.2f} s "
                      f"{run.rss_mb:6.0f} MB")
    return list(results.values())


def _expand(tool: Tool, url_a: str, url_b: str) -> list[str]:
    argv = [a.replace("{A+psycopg2}", psycopg2_url(url_a)).replace("{B+psycopg2}", psycopg2_url(url_b))
            for a in tool.argv or []]
    return [a.replace("{A}", url_a).replace("{B}", url_b) for a in argv]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- machine note


async def server_version(server_url: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def machine_note(server_url: str) -> dict[str, object]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines()
                if ln.startswith("model name")), platform.processor() or "?")
    mem_kb = next((int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines()
                   if ln.startswith("MemTotal")), 0)
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "postgresql": asyncio.run(server_version(server_url)),
        "python": platform.python_version(),
        "versions": {d: _version(d) for d in ("dfmigrate", "migra", "alembic", "sqlalchemy", "asyncpg", "psycopg2-binary")},
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ------------------------------------------------------------------------- report


def markdown_table(results: list[Result]) -> str:
    floors = {r.size: r.median for r in results if r.tool == "floor" and r.median}
    lines = ["| tables | tool | median wall (s) | min–max (s) | runs | peak RSS (MB) | × floor |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if not r.runs:
            lines.append(f"| {r.size} | {r.tool} | {r.status} | | | | |")
            continue
        lo, hi = min(x.seconds for x in r.runs), max(x.seconds for x in r.runs)
        ratio = f"{r.median / floors[r.size]:.2f}" if r.size in floors else "–"
        lines.append(f"| {r.size} | {r.tool} | {r.median:.2f} | {lo:.2f}–{hi:.2f} | {len(r.runs)} "
                     f"| {r.peak_rss:.0f} | {ratio} |")
    return "\n".join(lines)


def acceptance_note(results: list[Result]) -> str:
    """Issue 2's performance criteria, checked at the largest size measured."""
    size = max(r.size for r in results)
    at = {r.tool: r for r in results if r.size == size and r.runs}
    if not {"floor", "dfmigrate"} <= at.keys():
        return f"Acceptance check at {size} tables: dfmigrate not measured."
    dfm = at["dfmigrate"]
    parts = [f"dfmigrate / floor = {dfm.median / at['floor'].median:.2f} (want ≤ {ACCEPTANCE['floor_ratio']})"]
    if "migra" in at:
        parts.append(f"migra / dfmigrate = {at['migra'].median / dfm.median:.2f} (want ≥ {ACCEPTANCE['migra_speedup']})")
    parts.append(f"dfmigrate peak RSS = {dfm.peak_rss:.0f} MB (want < {ACCEPTANCE['rss_mb']})")
    return f"Acceptance check at {size} tables: " + "; ".join(parts) + "."


def machine_line(m: dict[str, object]) -> str:
    return (f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, PostgreSQL {m['postgresql']}, "
            f"Python {m['python']}; load average {m['load_average_at_start']} at start, "
            f"{m['load_average_at_end']} at end; {m['date']}.")


def to_json(results: list[Result], machine: dict[str, object], args: argparse.Namespace) -> dict[str, object]:
    floors = {r.size: r.median for r in results if r.tool == "floor" and r.median}
    return {
        "machine": machine,
        "settings": {"sizes": args.sizes, "rounds": args.rounds, "seed": args.seed,
                     "floor_connections": args.floor_connections, "alembic_rounds": args.alembic_rounds},
        "results": [{
            "tables": r.size, "tool": r.tool, "status": r.status,
            "median_s": r.median, "peak_rss_mb": r.peak_rss,
            "floor_ratio": r.median / floors[r.size] if r.median and r.size in floors else None,
            "runs": [{"seconds": x.seconds, "rss_mb": x.rss_mb, "exit": x.code} for x in r.runs],
            "output_lines": r.output_lines,
        } for r in results],
    }


# ------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="dfmigrate diff benchmark (see docs/benchmarks.md)")
    p.add_argument("--sizes", default="100,500,2000", type=lambda s: [int(x) for x in s.split(",")],
                   help="table counts, comma-separated (default 100,500,2000)")
    p.add_argument("--rounds", type=int, default=5, help="measured rounds per size (default 5)")
    p.add_argument("--pg-url", default=DEFAULT_URL,
                   help=f"server to create the databases on (its database is only used to connect; default {DEFAULT_URL})")
    p.add_argument("--rebuild", action="store_true", help="recreate the databases even when up to date")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--tools", default="floor,dfmigrate,migra,alembic", type=lambda s: s.split(","),
                   help="which tools to run (default all: floor,dfmigrate,migra,alembic)")
    p.add_argument("--seed", type=int, default=42, help="schema generator seed (default 42)")
    p.add_argument("--floor-connections", type=int, default=4,
                   help="connections per database for the floor (default 4, as dfmigrate)")
    p.add_argument("--alembic-rounds", type=int, default=3,
                   help="at most this many Alembic runs per size (default 3: ~20x the floor, it "
                        "would dominate the run time; its rounds are still interleaved)")
    p.add_argument("--keep-output", metavar="DIR", help="keep every run's stdout/stderr in DIR")
    return p.parse_args(argv)


def prepare(sizes: list[int], server_url: str, seed: int, rebuild: bool) -> None:
    for size in sizes:
        started = time.perf_counter()
        scripts = schema_gen.generate(size, seed)
        outcome = asyncio.run(databases.ensure_pair(server_url, size, scripts, rebuild))
        _progress(f"databases for {size} tables: A {outcome[0]}, B {outcome[1]} "
                  f"({time.perf_counter() - started:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    prepare(args.sizes, args.pg_url, args.seed, args.rebuild)
    machine = machine_note(args.pg_url)
    tools = make_tools(args.tools, args.floor_connections, args.alembic_rounds)
    out_dir = Path(args.keep_output) if args.keep_output else Path(tempfile.mkdtemp(prefix="dfm-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    try:
        for size in args.sizes:
            results += run_size(size, tools, args.pg_url, args.rounds, out_dir)
    finally:
        if not args.keep_output:
            shutil.rmtree(out_dir, ignore_errors=True)
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(markdown_table(results))
    print()
    print(acceptance_note(results))
    print(machine_line(machine))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(results, machine, args), indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: commands on a long migration history, dfmigrate and Django side by side.

    python bench/history_bench.py [--steps 500] [--models 60] [--rounds 3] [--pg-url URL]
                                  [--work DIR] [--tools dfmigrate,django]

Builds (once, cached under --work) one app of ``--models`` models that evolves over ``--steps``
small steps (a column added to one model; every tenth step renames the column the step before
added, declared), as a dfmigrate project (a history written by ``makemigrations``, for SQLite and
PostgreSQL in one directory) and as a Django project (the same models and the same history as
Django migrations). Then runs each command as a fresh subprocess, ``--rounds`` times, and prints
a markdown table of median wall times and the targets:

- ``check`` cold (no replay cache) and warm, against Django's ``makemigrations --check --dry-run``;
- ``makemigrations`` after one more change, against Django's ``makemigrations``;
- ``migrate`` from empty to head on SQLite and PostgreSQL, against Django's ``migrate``.

Not part of the test run. Progress goes to stderr, the table to stdout. Needs the ``bench``
extra for Django (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGETS = {"check cold": 0.4, "makemigrations +1": 0.5}  # seconds, at 500 migrations


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the evolving app


def columns_at(step: int, models: int) -> dict[int, list[tuple[str, str | None]]]:
    """Per model: (column, renamed_from) after ``step`` steps (step 0: the initial models)."""
    cols: dict[int, list[tuple[str, str | None]]] = {m: [] for m in range(models)}
    for s in range(1, step + 1):
        m = s % models
        if s % 10 == 0 and cols[(s - 1) % models]:
            prev = (s - 1) % models
            old, _ = cols[prev][-1]
            cols[prev][-1] = (f"{old}_r", old)
        else:
            cols[m].append((f"c{s}", None))
    return cols


def dfmigrate_models(step: int, models: int) -> str:
    lines = ["from dfmigrate import field, model", ""]
    for m, cols in columns_at(step, models).items():
        lines += ["", "@model", f"class M{m}:", "    __timestamps__ = False", "    name: str = field(max_length=80)"]
        for name, old in cols:
            lines.append(f"    {name}: int | None = field(renamed_from={old!r})" if old else f"    {name}: int | None = None")
    return "\n".join(lines) + "\n"


def django_models(step: int, models: int) -> str:
    lines = ["from django.db import models", ""]
    for m, cols in columns_at(step, models).items():
        lines += ["", f"class M{m}(models.Model):", "    name = models.CharField(max_length=80)"]
        lines += [f"    {name} = models.IntegerField(null=True)" for name, _ in cols]
    return "\n".join(lines) + "\n"


def django_migration(step: int, models: int) -> str:
    head = ["from django.db import migrations, models", "", "", "class Migration(migrations.Migration):"]
    if step == 0:
        ops = [f"        migrations.CreateModel(name='M{m}', fields=[('id', models.BigAutoField(auto_created=True, "
               f"primary_key=True, serialize=False, verbose_name='ID')), ('name', models.CharField(max_length=80))]),"
               for m in range(models)]
        return "\n".join(head + ["    initial = True", "    dependencies = []", "    operations = [", *ops, "    ]"]) + "\n"
    before, after = columns_at(step - 1, models), columns_at(step, models)
    op = ""
    for m in range(models):
        if before[m] != after[m]:
            if len(after[m]) > len(before[m]):
                op = (f"        migrations.AddField(model_name='m{m}', name='{after[m][-1][0]}', "
                      "field=models.IntegerField(null=True)),")
            else:
                op = (f"        migrations.RenameField(model_name='m{m}', old_name='{before[m][-1][0]}', "
                      f"new_name='{after[m][-1][0]}'),")
    return "\n".join(head + [f"    dependencies = [('app', '{step:04d}_step')]" if step > 1 else
                             "    dependencies = [('app', '0001_initial')]", "    operations = [", op, "    ]"]) + "\n"


def build(work: Path, steps: int, models: int) -> tuple[Path, Path]:
    dfm, dj = work / f"dfm-{steps}-{models}", work / f"dj-{steps}-{models}"
    if not (dfm / "done").exists():
        shutil.rmtree(dfm, ignore_errors=True)
        dfm.mkdir(parents=True)
        # the history renames columns on purpose: check's lint must not count them as findings
        (dfm / "pyproject.toml").write_text('[tool.dfmigrate]\nmodels = "models.py"\n\n[tool.dfmigrate.lint]\n'
                                            'disable = ["renaming-column"]\n')
        os.environ["DFMIGRATE_CACHE_DIR"] = str(dfm / ".build-cache")
        sys.path.insert(0, str(REPO))
        from dfmigrate.directory.make import make_migrations

        cwd = os.getcwd()
        os.chdir(dfm)
        try:
            for s in range(steps):
                (dfm / "models.py").write_text(dfmigrate_models(s, models))
                result = asyncio.run(make_migrations("models.py", "migrations", message="initial" if s == 0 else "step"))
                assert result.status == "written", result
                if s % 50 == 0:
                    log(f"dfmigrate history: {s + 1}/{steps}")
        finally:
            os.chdir(cwd)
        shutil.rmtree(dfm / ".build-cache", ignore_errors=True)
        (dfm / "done").write_text("")
    if not (dj / "done").exists():
        shutil.rmtree(dj, ignore_errors=True)
        (dj / "app" / "migrations").mkdir(parents=True)
        (dj / "settings.py").write_text("SECRET_KEY = 'bench'\nINSTALLED_APPS = ['app']\n"
                                        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', "
                                        "'NAME': 'db.sqlite3'}}\nDEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n"
                                        "USE_TZ = True\n")
        (dj / "manage.py").write_text("import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
                                      "from django.core.management import execute_from_command_line\n"
                                      "execute_from_command_line(sys.argv)\n")
        (dj / "app" / "__init__.py").write_text("")
        (dj / "app" / "migrations" / "__init__.py").write_text("")
        (dj / "app" / "models.py").write_text(django_models(steps - 1, models))
        for s in range(steps):
            name = "0001_initial" if s == 0 else f"{s + 1:04d}_step"
            (dj / "app" / "migrations" / f"{name}.py").write_text(django_migration(s, models))
        (dj / "done").write_text("")
    return dfm, dj


# ---------------------------------------------------------------- timing


def timed(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def run_dfmigrate(dfm: Path, steps: int, models: int, rounds: int, pg_url: str) -> dict[str, float]:
    import compileall

    # The commands run with PYTHONDONTWRITEBYTECODE: compile the checkout once first (as an
    # installed package is), or a stale __pycache__ charges recompiling edited modules to every run.
    compileall.compile_dir(str(REPO / "dfmigrate"), quiet=1)
    py = [sys.executable, "-m", "dfmigrate"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    out: dict[str, list[float]] = {}
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            env["DFMIGRATE_CACHE_DIR"] = str(Path(tmp, "cache"))
            out.setdefault("check cold", []).append(timed([*py, "check"], dfm, env))
            out.setdefault("check warm", []).append(timed([*py, "check"], dfm, env))
            copy = Path(tmp, "proj")
            shutil.copytree(dfm, copy)
            (copy / "models.py").write_text(dfmigrate_models(steps, models))
            out.setdefault("makemigrations +1", []).append(timed([*py, "makemigrations", "-m", "one more"], copy, env))
            out.setdefault("migrate sqlite", []).append(
                timed([*py, "migrate", "--allow-hazards", "all", "--database", f"sqlite:///{tmp}/bench.db"], dfm, env))
            if pg_url:
                import asyncpg

                name = f"dfm_hist_{uuid.uuid4().hex[:8]}"
                asyncio.run(_pg(pg_url, f'CREATE DATABASE "{name}"'))
                try:
                    url = pg_url.rsplit("/", 1)[0] + "/" + name
                    out.setdefault("migrate postgresql", []).append(
                        timed([*py, "migrate", "--allow-hazards", "all", "--database", url], dfm, env))
                finally:
                    asyncio.run(_pg(pg_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
                del asyncpg
        log(f"dfmigrate round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in out.items()))
    return {k: median(v) for k, v in out.items()}


async def _pg(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_django(dj: Path, steps: int, models: int, rounds: int) -> dict[str, float]:
    manage = [sys.executable, "manage.py"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out: dict[str, list[float]] = {}
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            out.setdefault("check", []).append(timed([*manage, "makemigrations", "--check", "--dry-run"], dj, env))
            copy = Path(tmp, "proj")
            shutil.copytree(dj, copy)
            (copy / "app" / "models.py").write_text(django_models(steps, models))
            out.setdefault("makemigrations +1", []).append(timed([*manage, "makemigrations", "app", "--noinput"], copy, env))
            Path(copy, "db.sqlite3").unlink(missing_ok=True)
            out.setdefault("migrate sqlite", []).append(timed([*manage, "migrate"], copy, env))
        log(f"django round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in out.items()))
    return {k: median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_URL, help="server for the PostgreSQL migrate ('' to skip)")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir(), "dfmigrate-history-bench")))
    parser.add_argument("--tools", default="dfmigrate,django")
    args = parser.parse_args()
    tools = args.tools.split(",")
    dfm, dj = build(Path(args.work), args.steps, args.models)
    ours = run_dfmigrate(dfm, args.steps, args.models, args.rounds, args.pg_url) if "dfmigrate" in tools else {}
    django = {}
    if "django" in tools:
        if importlib.util.find_spec("django") is None:
            log("django is not installed (pip install -e .[bench]): its column stays empty")
        else:
            django = run_django(dj, args.steps, args.models, args.rounds)
    rows = [("check (cold)", ours.get("check cold"), django.get("check"), TARGETS["check cold"]),
            ("check (warm cache)", ours.get("check warm"), django.get("check"), None),
            ("makemigrations after one change", ours.get("makemigrations +1"), django.get("makemigrations +1"),
             TARGETS["makemigrations +1"]),
            ("migrate empty → head, SQLite", ours.get("migrate sqlite"), django.get("migrate sqlite"), None),
            ("migrate empty → head, PostgreSQL", ours.get("migrate postgresql"), None, None)]

    def cell(v: float | None) -> str:
        return "—" if v is None or v != v else f"{v:.2f} s"

    print(f"\n{args.steps} migrations, {args.models} models, median of {args.rounds} rounds (fresh processes)\n")
    print("| command | dfmigrate | Django | ratio | target |")
    print("|---|---|---|---|---|")
    for label, a, b, target in rows:
        ratio = f"{a / b:.2f}x" if a and b else "—"
        met = "—" if target is None or a is None else (f"≤ {target} s: " + ("met" if a <= target else "NOT met"))
        print(f"| {label} | {cell(a)} | {cell(b)} | {ratio} | {met} |")


if __name__ == "__main__":
    main()

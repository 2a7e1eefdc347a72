"""The peer corpus (issue 2's acceptance): ``../shared/tools/converge.py --suite migra``.

For each of migra's 26 fixture pairs the scorer loads a.sql and b.sql into fresh databases, runs
``dfmigrate diff`` between them, applies its output to the first with psql --single-transaction,
compares normalized ``pg_dump --schema-only`` of both, and requires a second diff to be empty.
Acceptance: at least 24 of 26 with column order ignored (the primary score); the strict score is
printed beside it with a floor only. Slow (minutes): CI runs it; ``-m "not corpus"`` skips it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

TOTAL = 26
REQUIRED_IGNORING_COLUMN_ORDER = 24
# Floor for the strict score (column order compared too), printed beside the primary score.
# Measured 22 of 26 (the 4 others differ only in column order: PostgreSQL appends added columns);
# migra itself scores 18. A drop below 22 is a regression.
STRICT_FLOOR = 22


def _score(shared_dir: Path, tmp_path: Path, *, ignore_column_order: bool) -> dict[str, Any]:
    tool = shared_dir / "tools" / "converge.py"
    if not tool.is_file():
        pytest.fail(f"{tool} is missing from the shared corpus")
    out = tmp_path / "converge.json"
    # the scorer substitutes {from_url}/{to_url}; the interpreter path is quoted for the shell
    cmd = f"{shlex.quote(sys.executable)} -m dfmigrate diff --from {{from_url}} --to {{to_url}}"
    args = [sys.executable, str(tool), "--suite", "migra", "--cmd", cmd, "--json", str(out),
            "--jobs", "2", "--artifacts", str(tmp_path / "artifacts"), "--tmp", str(tmp_path)]
    if ignore_column_order:
        args.append("--ignore-column-order")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    print(proc.stdout[-6000:])
    assert out.is_file(), f"converge.py wrote no JSON (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    payload = json.loads(out.read_text())
    results = payload["results"]
    assert len(results) == TOTAL, f"expected {TOTAL} migra cases, got {len(results)}"
    fixture_errors = [r["case"] for r in results if r["status"] == "fixture-error"]
    assert not fixture_errors, f"corpus fixtures failed to load (a broken setup, not a score): {fixture_errors}"
    return payload


def _report(label: str, payload: dict[str, Any]) -> tuple[int, str]:
    results = payload["results"]
    passed = sum(r["status"] == "pass" for r in results)
    lines = [f"{label}: passed {passed} of {len(results)}"]
    for r in results:
        if r["status"] != "pass":
            first = (r.get("summary") or r.get("detail") or "").strip().splitlines()
            lines.append(f"  {r['status']:<15} {r['case']}: {first[0][:200] if first else ''}")
    text = "\n".join(lines)
    print(text)
    return passed, text


def test_migra_corpus_ignoring_column_order(shared_dir: Path, tmp_path: Path) -> None:
    payload = _score(shared_dir, tmp_path, ignore_column_order=True)
    passed, text = _report("migra suite, column order ignored", payload)
    assert passed >= REQUIRED_IGNORING_COLUMN_ORDER, text


def test_migra_corpus_strict(shared_dir: Path, tmp_path: Path) -> None:
    payload = _score(shared_dir, tmp_path, ignore_column_order=False)
    passed, text = _report("migra suite, strict", payload)
    assert passed >= STRICT_FLOOR, text

"""Lint results remembered per file content, so ``check`` on a long history lints only what changed.

A migration file that is already applied never changes (the sum guards it), yet ``check`` lints
every file on every run: on a 500-migration history that was most of its time. The findings of
one file are a pure function of its path, its bytes, the lint settings and the linter's code
(the dfmigrate version, and the lint modules' own files, which change between releases while
dfmigrate is developed), so that is the key. One JSON file per (directory, settings, version) holds the entries of the
last run: read once, written once when something was missing, never an error when unreadable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dfmigrate import __version__
from dfmigrate.ci_formats import Finding

log = logging.getLogger(__name__)


class LintCache:
    def __init__(self, scope: str, settings: str) -> None:
        """``scope``: the directory (or first path) linted; ``settings``: the settings, canonical."""
        from dfmigrate.directory.replay import cache_dir

        here = Path(__file__).parent
        code = [f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in sorted(here.glob("*.py"))]
        name = hashlib.sha256("\n".join([os.path.abspath(scope), settings, __version__, *code]).encode()).hexdigest()[:32]
        self.path = cache_dir() / f"lint-{name}.json"
        self.before: dict[str, Any] = self._read()
        self.now: dict[str, Any] = {}

    @staticmethod
    def key(path: str, source: str) -> str:
        return hashlib.sha256(f"{path}\n{source}".encode()).hexdigest()

    def get(self, key: str) -> tuple[list[Finding], list[str]] | None:
        entry = self.before.get(key)
        if entry is None:
            return None
        try:
            found = [Finding(**f) for f in entry["findings"]], list(entry["notes"])
        except (TypeError, KeyError, ValueError):  # an entry of another shape is a miss
            return None
        self.now[key] = entry
        return found

    def put(self, key: str, findings: list[Finding], notes: list[str]) -> None:
        self.now[key] = {"findings": [asdict(f) for f in findings], "notes": notes}

    def save(self) -> None:
        """Keep the entries this run used (a file's older contents drop out); best effort."""
        if self.now.keys() == self.before.keys():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.now), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a read-only home must not fail the command
            log.debug("cannot write lint cache %s: %s", self.path, exc)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(Path(self.path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # unreadable or corrupt: lint everything again
            log.debug("ignoring lint cache %s: %s", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

"""Where a lifecycle command's settings come from, first match wins:

1. the command-line option (``--database``, ``--dir``, ``--models``, ``--dev-url``);
2. ``[tool.dfmigrate]`` in ``./pyproject.toml`` (keys ``database``, ``dir``, ``models``,
   ``dev_url``; ``dev-url`` is accepted too, as TOML users spell keys either way);
3. the environment: ``DFMIGRATE_DATABASE_URL`` (database only: a secret belongs in the
   environment, not in a committed file);
4. the embedded defaults: ``sqlite:///dfmigrate.db`` and ``migrations``.

``Config.describe()`` is what may be printed: the database URL is always masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.urls import mask

DEFAULT_DATABASE = "sqlite:///dfmigrate.db"
DEFAULT_DIR = "migrations"
ENV_DATABASE = "DFMIGRATE_DATABASE_URL"
_KEYS = ("database", "dir", "models", "dev_url")
SECTIONS = ("lint",)  # sub-tables of [tool.dfmigrate], each read by its own command


@dataclass(frozen=True)
class Config:
    database: str
    dir: str
    models: str | None
    dev_url: str | None
    origin: dict[str, str]  # setting -> "option" | "pyproject.toml" | "environment" | "default"

    def describe(self) -> str:
        return f"database {mask(self.database)} ({self.origin['database']}), migrations {self.dir}"


def resolve(database: str | None = None, dir: str | None = None, models: str | None = None,
            dev_url: str | None = None, *, cwd: str | os.PathLike[str] | None = None,
            environ: dict[str, str] | None = None) -> Config:
    options = {"database": database, "dir": dir, "models": models, "dev_url": dev_url}
    project = _pyproject(Path(cwd or os.getcwd()))
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in _KEYS:
        for where, value in (("option", options[key]), ("pyproject.toml", project.get(key)),
                             ("environment", env.get(ENV_DATABASE) if key == "database" else None),
                             ("default", {"database": DEFAULT_DATABASE, "dir": DEFAULT_DIR}.get(key))):
            if value:
                values[key], origin[key] = value, where
                break
        else:
            values[key], origin[key] = None, "unset"
    return Config(values["database"], values["dir"], values["models"], values["dev_url"], origin)


def _pyproject(cwd: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    path = cwd / "pyproject.toml"
    for key, value in _tool_table(cwd).items():
        name = key.replace("-", "_")
        if name in SECTIONS:  # a sub-table such as [tool.dfmigrate.lint]: read by its command
            continue
        if name == "dialects":  # a list, read by makemigrations (migrations.make.configured_dialects)
            continue
        if name not in _KEYS:
            raise DfmigrateError(f"{path}: unknown key '{key}' in [tool.dfmigrate] (known: {', '.join(_KEYS)})")
        if not isinstance(value, str):
            raise DfmigrateError(f"{path}: [tool.dfmigrate] {key} must be a string")
        found[name] = value
    return found


def section(name: str, cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``[tool.dfmigrate.<name>]`` (one of ``SECTIONS``) from ``./pyproject.toml``; empty when absent."""
    table = _tool_table(Path(cwd or os.getcwd())).get(name, {})
    if not isinstance(table, dict):
        raise DfmigrateError(f"pyproject.toml: [tool.dfmigrate.{name}] must be a table")
    return table


def _tool_table(cwd: Path) -> dict[str, Any]:
    path = cwd / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DfmigrateError(f"cannot read {path}: {exc}") from None
    section = data.get("tool", {}).get("dfmigrate", {})
    if not isinstance(section, dict):
        raise DfmigrateError(f"{path}: [tool.dfmigrate] must be a table")
    return section

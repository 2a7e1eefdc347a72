"""dfmigrate's settings: the one reader of its configuration files and environment.

Where each setting comes from, first match wins (as for most command-line tools):

1. the command-line option (``--database``, ``--dir``, ``--models``, ``--dev-url``);
2. the environment (``DFMIGRATE_DATABASE_URL``, ``DFMIGRATE_DIR``, ``DFMIGRATE_MODELS``,
   ``DFMIGRATE_DEV_URL``);
3. the configuration file: the first ``dfmigrate.toml`` (keys at the top level) or
   ``pyproject.toml`` with a ``[tool.dfmigrate]`` table, looking in the working directory and
   then in each parent directory. Relative paths in the file (``dir``, a ``.py`` models file, a
   ``sqlite:///`` database) are relative to the file's directory, so a command run from a
   subdirectory finds the same files;
4. the defaults: ``sqlite:///dfmigrate.db`` and ``migrations``, in the configuration file's
   directory when there is one (the project's), else in the working directory.

Every key is declared once in ``KEYS`` with its type; a key the table does not know is an error
naming the file (a typo must not silently fall back to a default). Features add their keys there
(a scalar, a list of strings, or a sub-table such as ``[tool.dfmigrate.lint]``) and read them
with ``Config.get``. ``Config.describe()`` and ``Config.settings()`` mask passwords.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.urls import mask

DEFAULT_DATABASE = "sqlite:///dfmigrate.db"
DEFAULT_DIR = "migrations"
CONFIG_FILE = "dfmigrate.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Key:
    """One setting. ``kind`` is how its value is checked and resolved: ``url`` (a database URL;
    a relative ``sqlite:///`` path follows the file), ``path`` (follows the file), ``models`` (a
    ``.py`` path follows the file; ``models:``/``dataflow:`` names do not), ``str``,
    ``strings`` (a list of strings), ``bool``, ``table`` (a sub-table, returned as a dict)."""

    name: str
    kind: str
    help: str
    default: Any = None
    env: str | None = None


KEYS: dict[str, Key] = {k.name: k for k in (
    Key("database", "url", "The database the lifecycle commands apply to and read.", DEFAULT_DATABASE,
        "DFMIGRATE_DATABASE_URL"),
    Key("dir", "path", "The migrations directory.", DEFAULT_DIR, "DFMIGRATE_DIR"),
    Key("models", "models", "The models: a .py file, models:package.module or dataflow:MODULE:ATTR.",
        None, "DFMIGRATE_MODELS"),
    Key("dev_url", "url", "A PostgreSQL server for scratch databases (replays of a directory, .sql sources).",
        None, "DFMIGRATE_DEV_URL"),
    Key("dialects", "strings", "The dialects a migrations directory holds SQL for (makemigrations checks the values)."),
    Key("online", "bool", "PostgreSQL plans in their online-safe form (false: the plain plan).", True),
    Key("lint", "table", "Settings of 'dfmigrate lint' (a sub-table)."),
)}

_TYPES = {"url": str, "path": str, "models": str, "str": str, "strings": list, "bool": bool, "table": dict}
_TYPE_NAMES = {"url": "a string", "path": "a string", "models": "a string", "str": "a string",
               "strings": "a list of strings", "bool": "true or false", "table": "a table"}


@dataclass(frozen=True)
class Config:
    origin: dict[str, str]  # key -> "option" | "environment (NAME)" | the file's path | "default" | "unset"
    values: dict[str, Any] = field(default_factory=dict)  # every key of KEYS, resolved
    file: str | None = None  # the configuration file read, if any

    def get(self, key: str, default: Any = None) -> Any:
        if key not in KEYS:
            raise KeyError(f"{key!r} is not a dfmigrate setting (add it to dfmigrate.config.KEYS)")
        value = self.values.get(key)
        return default if value is None else value

    # the four settings every command uses, read from ``values`` (kept once)
    @property
    def database(self) -> str:
        return self.values["database"]  # type: ignore[no-any-return]

    @property
    def dir(self) -> str:
        return self.values["dir"]  # type: ignore[no-any-return]

    @property
    def models(self) -> str | None:
        return self.values["models"]  # type: ignore[no-any-return]

    @property
    def dev_url(self) -> str | None:
        return self.values["dev_url"]  # type: ignore[no-any-return]

    def describe(self) -> str:
        return f"database {mask(self.database)} ({self.origin['database']}), migrations {self.dir}"

    def settings(self) -> list[dict[str, Any]]:
        """Every key with its effective value (URLs masked) and where it came from."""
        out = []
        for key in KEYS.values():
            value = self.values.get(key.name)
            if key.kind == "url" and isinstance(value, str):
                value = mask(value)
            out.append({"key": key.name, "value": value, "source": self.origin.get(key.name, "unset"),
                        "env": key.env})
        return out


def resolve(database: str | None = None, dir: str | None = None, models: str | None = None,
            dev_url: str | None = None, *, cwd: str | os.PathLike[str] | None = None,
            environ: dict[str, str] | os._Environ[str] | None = None) -> Config:
    """The effective settings for a command run in ``cwd`` with these options."""
    here = Path(cwd or os.getcwd())
    options = {"database": database, "dir": dir, "models": models, "dev_url": dev_url}
    env = os.environ if environ is None else environ
    found = _find(here)
    from_file = read_file(found[0], here, found[1]) if found else {}
    shown = os.path.relpath(found[0], here) if found else ""
    # the defaults are the project's too: from a subdirectory, "migrations" is the project's
    base = os.path.relpath(found[0].parent, here) if found and found[0].parent != here else ""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in KEYS.values():
        candidates = (("option", options.get(key.name)),
                      (f"environment ({key.env})", env.get(key.env) if key.env else None),
                      (shown, from_file.get(key.name)),
                      ("default", _relative_to(base, key.kind, key.default) if base and key.default else key.default))
        for where, value in candidates:
            if value is not None and value != "":
                values[key.name], origin[key.name] = value, where
                break
        else:
            values[key.name], origin[key.name] = None, "unset"
    return Config(origin, values, str(found[0]) if found else None)


def find_file(start: Path) -> Path | None:
    """The nearest ``dfmigrate.toml``, or ``pyproject.toml`` with a ``[tool.dfmigrate]`` table,
    in ``start`` or a parent directory (``dfmigrate.toml`` first within one directory)."""
    found = _find(start)
    return found[0] if found else None


def _find(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """``find_file`` with the settings table it parsed on the way (read once per command)."""
    for directory in (start, *start.parents):
        own = directory / CONFIG_FILE
        if own.is_file():
            return own, _load(own)
        pyproject = directory / PYPROJECT
        if pyproject.is_file():
            section = _section(pyproject)
            if section is not None:
                return pyproject, section
    return None


def read_file(path: Path, cwd: Path, section: dict[str, Any]) -> dict[str, Any]:
    """The settings ``section`` that ``_find`` parsed from ``path``, checked against ``KEYS`` and
    with relative paths resolved against the file's directory (written relative to ``cwd`` when
    possible, as users type them)."""
    where = "[tool.dfmigrate]" if path.name == PYPROJECT else ""
    out: dict[str, Any] = {}
    for raw, value in section.items():
        name = raw.replace("-", "_")  # TOML users spell keys either way
        key = KEYS.get(name)
        if key is None:
            known = ", ".join(KEYS)
            raise DfmigrateError(f"{path}: unknown key '{raw}'{' in ' + where if where else ''} (known: {known})")
        out[name] = _checked(path, key, raw, value)
    base = os.path.relpath(path.parent, cwd) if path.parent != cwd else ""
    return {name: _relative_to(base, KEYS[name].kind, value) if base else value for name, value in out.items()}


def _checked(path: Path, key: Key, raw: str, value: Any) -> Any:
    items: list[Any] = list(value) if isinstance(value, list) else [value]
    if not isinstance(value, _TYPES[key.kind]) or (
            key.kind == "strings" and not all(isinstance(v, str) for v in items)):
        raise DfmigrateError(f"{path}: {raw} must be {_TYPE_NAMES[key.kind]}")
    return value


def _relative_to(base: str, kind: str, value: Any) -> Any:
    if kind == "path" and not os.path.isabs(value):
        return os.path.normpath(os.path.join(base, value))
    if kind == "models" and value.endswith(".py") and ":" not in value and not os.path.isabs(value):
        return os.path.normpath(os.path.join(base, value))
    if kind == "url" and value.startswith("sqlite:///"):
        rest = value[len("sqlite:///"):]
        if rest and not rest.startswith(("/", ":memory:")):
            return "sqlite:///" + os.path.normpath(os.path.join(base, rest))
    return value


def _section(path: Path) -> dict[str, Any] | None:
    """``[tool.dfmigrate]`` of a pyproject.toml, or None when it has none."""
    tool = _load(path).get("tool", {})
    section = tool.get("dfmigrate") if isinstance(tool, dict) else None
    if section is not None and not isinstance(section, dict):
        raise DfmigrateError(f"{path}: [tool.dfmigrate] must be a table")
    return section


def _load(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise DfmigrateError(f"reading {path} needs Python 3.11 or the tomli package") from None
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DfmigrateError(f"cannot read {path}: {exc}") from None

"""``dfmigrate lint``: hazards in migration SQL, found before it runs.

- ``inputs``: what is read (``.sql`` files, migration files read with ``ast``, directories);
- ``parse``: hand-written SQL through pglast, with ``-- dfmigrate:ignore RULE reason``;
- ``context``: what the walk of one file knows (tables it created, open transaction, timeouts);
- ``rules``: the rules, each a stable id, its docs and its check;
- ``engine``: rules over inputs, into a findings report (``dfmigrate.ci_formats``);
- ``cli``: the click command.

Nothing here is imported by ``dfmigrate.cli`` at start-up but the command itself, and pglast only
when a file is parsed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "lint_paths", "load_settings"]


def load_settings(cfg: Any = None) -> Any:
    """The ``[tool.dfmigrate.lint]`` settings of a resolved configuration (``config.resolve``;
    the current directory's when None)."""
    from dfmigrate.lint.engine import Settings

    if cfg is None:
        from dfmigrate.config import resolve

        cfg = resolve()
    return Settings.from_table(dict(cfg.get("lint") or {}))


def __getattr__(name: str) -> Any:
    if name in ("Settings", "lint_paths"):
        from dfmigrate.lint import engine

        return getattr(engine, name)
    raise AttributeError(name)

"""Logging set-up for the command line, and scrubbing of what it prints.

Kailash, DataFlow and asyncpg log through Python's last-resort handler when nothing is configured
(node errors, "Event loop is closed" tracebacks, pool warnings; kailash-notes §9). The CLI owns
stderr, so it configures logging explicitly: those libraries are silenced unless --debug.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, TextIO

NOISY_LIBRARIES = ("kailash", "dataflow", "asyncpg", "aiosqlite")

# scheme://anything-up-to-whitespace-or-quote: every URL a message may carry.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# libpq key=value strings ("host=x password=secret").
_KV_PASSWORD = re.compile(r"\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


QUIET, NORMAL, VERBOSE = -1, 0, 1
_verbosity = NORMAL  # set once by the command line's -q/-v


def set_verbosity(quiet: bool, verbose: bool) -> None:
    global _verbosity
    _verbosity = QUIET if quiet else VERBOSE if verbose else NORMAL


def verbosity() -> int:
    return _verbosity


def colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (to anything non-empty)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


_STYLES = {"ok": "32", "fail": "31", "wait": "33", "dim": "2", "bold": "1"}


class Console:
    """Lines a person and a CI log follow: each written and flushed at once (CI logs are files,
    not terminals), in colour on a terminal only, filtered by -q/-v: level 0 lines show unless
    --quiet, level 1 lines (detector and timing details) only with --verbose."""

    def __init__(self, stream: TextIO | None = None, level: int | None = None) -> None:
        self.stream = stream
        self.level = verbosity() if level is None else level

    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def line(self, text: str, level: int = 0, style: str | None = None) -> None:
        if level > self.level or self.level == QUIET:
            return
        out = self._out()
        if style and colour(out):
            text = f"\033[{_STYLES[style]}m{text}\033[0m"
        out.write(mask_text(text) + "\n")
        out.flush()


def configure(debug: bool) -> None:
    """A root stderr handler at WARNING (DEBUG with --debug); library loggers at ERROR unless
    debugging, so their noise never reaches the user's terminal."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_dfmigrate", False):
            root.removeHandler(handler)  # configure() may run twice in one process (tests)
    handler = _StderrHandler()
    handler._dfmigrate = True  # type: ignore[attr-defined]
    handler.setFormatter(_MaskingFormatter("dfmigrate: %(levelname)s %(name)s: %(message)s"))
    if not debug:
        # Their ERROR records (e.g. "Connection acquisition failed") restate the exception that
        # the CLI reports on its one line anyway, so they are dropped rather than printed twice.
        handler.addFilter(_not_from_libraries)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.ERROR)


def mask_text(text: str) -> str:
    """``text`` with the password of every URL or key=value string in it replaced by ``***``."""
    try:
        from dfmigrate.urls import mask
    except ImportError:  # pragma: no cover - urls.py is part of the package
        mask = _fallback_mask
    # Only URLs that can hold a secret go through mask(): re-assembling the others could change
    # them (sqlite:///x would come back as sqlite:/x).
    text = _URL.sub(lambda m: mask(m.group(0)) if ("@" in m.group(0) or "=" in m.group(0)) else m.group(0), text)
    return _KV_PASSWORD.sub(lambda m: f"{m.group(1)}=***", text)


def _fallback_mask(url: str) -> str:
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", url)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes, not as it was at configuration: a
    record emitted later (an object collected after the command, a second in-process command)
    must not go to a stream that was replaced and closed meanwhile."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # StreamHandler.__init__ sets it; the current sys.stderr is always used


def _not_from_libraries(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] not in NOISY_LIBRARIES


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))

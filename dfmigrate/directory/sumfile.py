"""``dfmigrate.sum``: the directory's integrity sum (the idea of Atlas's atlas.sum).

::

    h1:<base64 sha256 of all the lines below>
    0001_initial.py h1:<base64 sha256 of (previous file's raw hash + file name + NUL + file bytes)>
    0002_add_posts_status.py h1:<...>

Each file's hash chains the previous one, so editing, inserting, removing or reordering a file
changes every line after it; the header covers the whole list, so two branches that each add a
migration always conflict in version control instead of merging silently. The file name is
hashed too, so renumbering a file is caught even when its bytes are unchanged.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from typing import Any

from dfmigrate.errors import DfmigrateError
from dfmigrate.directory.files import as_dir, migration_names

SUM_FILE = "dfmigrate.sum"
_LINE = re.compile(r"^(\S+) h1:(\S+)$")
_REHASH = "run 'dfmigrate rehash'"


class Reason(str, enum.Enum):
    EDITED = "edited"
    ADDED = "added"
    REMOVED = "removed"
    REORDERED = "reordered"
    MISSING_SUM = "missing-sum"  # migrations exist, dfmigrate.sum does not
    CORRUPT = "corrupt"  # dfmigrate.sum is not in the sum format


class IntegrityError(DfmigrateError):
    """The directory does not match its sum. ``reason`` says how; ``filename`` names the file
    (as messages show it: ``migrations/0002_x.py``)."""

    def __init__(self, reason: Reason, filename: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.filename = filename


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def file_lines(directory: Any) -> list[tuple[str, str]]:
    """(name, "h1:…") for every migration, chained in execution order."""
    store = as_dir(directory)
    previous = b""
    lines = []
    for name in migration_names(store):
        previous = hashlib.sha256(previous + name.encode() + b"\0" + store.read(name)).digest()
        lines.append((name, "h1:" + _b64(previous)))
    return lines


def _render(lines: list[tuple[str, str]]) -> str:
    body = "".join(f"{name} {h}\n" for name, h in lines)
    return f"h1:{_b64(hashlib.sha256(body.encode()).digest())}\n{body}"


def write_sum(directory: Any) -> str:
    """Write ``dfmigrate.sum`` for the files as they are now; returns its text."""
    store = as_dir(directory)
    text = _render(file_lines(store))
    store.write(SUM_FILE, text.encode())
    return text


rehash = write_sum  # 'dfmigrate rehash': accept deliberate edits by re-summing


def _parse(store: Any, text: str) -> tuple[str, list[tuple[str, str]]]:
    rows = text.splitlines()
    recorded = [_LINE.match(r) for r in rows[1:] if r.strip()]
    if not rows or not rows[0].startswith("h1:") or not all(recorded):
        raise IntegrityError(Reason.CORRUPT, store.display(SUM_FILE),
                             f"{store.display(SUM_FILE)} is not a dfmigrate sum file ({_REHASH} to rewrite it)")
    return rows[0], [(m.group(1), "h1:" + m.group(2)) for m in recorded]  # type: ignore[union-attr]


def verify(directory: Any) -> list[tuple[str, str]]:
    """Raise ``IntegrityError`` naming the first file that differs from ``dfmigrate.sum``.
    An empty (or missing) directory without a sum is fine: nothing to protect yet. Returns the
    verified ``file_lines`` (a caller that reads the files next need not hash them again)."""
    store = as_dir(directory)
    actual = file_lines(store)
    if not store.exists(SUM_FILE):
        if actual:
            raise IntegrityError(Reason.MISSING_SUM, store.display(SUM_FILE),
                                 f"{store.display(SUM_FILE)} is missing ({_REHASH} to create it)")
        return actual
    try:
        text = store.read(SUM_FILE).decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    header, recorded = _parse(store, text)
    problem = _first_difference(recorded, actual)
    if problem:
        reason, name = problem
        raise IntegrityError(reason, store.display(name), _message(reason, store.display(name)))
    if header != _render(actual).split("\n", 1)[0]:
        shown = store.display(SUM_FILE)
        raise IntegrityError(Reason.EDITED, shown, f"{shown} was edited by hand ({_REHASH} to rewrite it)")
    return actual


def _first_difference(recorded: list[tuple[str, str]],
                      actual: list[tuple[str, str]]) -> tuple[Reason, str] | None:
    rec_names, act_names = [n for n, _ in recorded], [n for n, _ in actual]
    if rec_names == act_names:
        edited = next((a for (a, ha), (_, hr) in zip(actual, recorded) if ha != hr), None)
        return (Reason.EDITED, edited) if edited else None
    if sorted(map(_slug, rec_names)) == sorted(map(_slug, act_names)):
        # the same migrations, numbered or listed in another order
        moved = next(a for a, r in zip(act_names, rec_names) if a != r)
        return Reason.REORDERED, moved
    added = [n for n in act_names if n not in rec_names]
    if added:
        return Reason.ADDED, added[0]
    return Reason.REMOVED, next(n for n in rec_names if n not in act_names)


def _slug(name: str) -> str:
    return name.split("_", 1)[1] if "_" in name else name


def _message(reason: Reason, shown: str) -> str:
    return {
        Reason.EDITED: f"{shown} was edited after {SUM_FILE} was written ({_REHASH} to accept the edit)",
        Reason.ADDED: f"{shown} was added after {SUM_FILE} was written ({_REHASH} to accept it)",
        Reason.REMOVED: f"{shown} is listed in {SUM_FILE} but is missing (restore it, or {_REHASH} "
                        "to accept the removal)",
        Reason.REORDERED: f"{shown} was renumbered or reordered after {SUM_FILE} was written "
                          f"(restore the order, or {_REHASH} to accept it)",
    }[reason]

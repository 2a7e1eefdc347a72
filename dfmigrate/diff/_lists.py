"""The one generic primitive every comparator builds on: match two lists of named objects."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _same(name: str) -> str:
    return name


def name_key(dialect: str) -> Callable[[str], str]:
    """How a dialect compares names: SQLite folds ASCII case (``users`` and ``USERS`` are one
    table), PostgreSQL compares them exactly (a quoted ``"Users"`` is not ``users``)."""
    return str.lower if dialect == "sqlite" else _same


class _OnFirstUse:
    """A module imported when one of its names is first read: SQLite's comparable forms need
    sqlglot's tokenizer (~60 ms to import), and a diff whose objects are all equal never calls them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(import_module(self._name), attr)


_SQLITE_FORMS = _OnFirstUse("dfmigrate.dialects.sqlite.compare")


def spelling(dialect: str) -> Any:
    """The dialect's module of comparable forms (``column``, ``constraint``, ``index``,
    ``trigger``, ``view``) when some differences are spelling only on it, else None."""
    if dialect == "sqlite":
        return _SQLITE_FORMS
    return None


@dataclass(frozen=True)
class ListDiff(Generic[T]):
    added: tuple[T, ...]
    removed: tuple[T, ...]
    changed: tuple[tuple[T, T], ...]  # (old, new) pairs that differ
    renamed: tuple[tuple[T, T], ...] = ()  # (old, new) pairs matched through renamed_from


def diff_by_key(
    old: Iterable[T],
    new: Iterable[T],
    key: Callable[[T], Hashable],
    renamed_from: Callable[[T], Iterable[Hashable]] | None = None,
) -> ListDiff[T]:
    """Match by key; an added object that declares a ``renamed_from`` key of a removed object is
    a rename, never a guess. Output keeps the order of the inputs (sources sort them)."""
    old_by_key = {key(o): o for o in old}
    new_by_key = {key(n): n for n in new}
    added, changed, renamed = [], [], []
    claimed: set[Hashable] = set()
    for k, n in new_by_key.items():
        o = old_by_key.get(k)
        if o is not None:
            if o != n:
                changed.append((o, n))
            continue
        previous = next(
            (p for p in (renamed_from(n) if renamed_from else ())
             if p in old_by_key and p not in new_by_key and p not in claimed),
            None,
        )
        if previous is not None:
            claimed.add(previous)
            renamed.append((old_by_key[previous], n))
        else:
            added.append(n)
    removed = [o for k, o in old_by_key.items() if k not in new_by_key and k not in claimed]
    return ListDiff(tuple(added), tuple(removed), tuple(changed), tuple(renamed))

"""The migrations directory: which files are migrations, in which order, and loading them.

Storage sits behind the small ``MigrationDir`` protocol (Atlas's ``migrate.Dir``): ``LocalDir``
is a directory on disk, ``MemDir`` keeps files in memory (tests, and directories built on the
fly). Only ``NNNN_<slug>.py`` files are migrations; anything else (README, ``__init__.py``,
helpers) is neither read nor summed.
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import types
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dfmigrate.errors import DfmigrateError

MIGRATION_NAME = re.compile(r"^(\d+)_[^/\\]*\.py$")
SLUG_MAX = 40
_load_counter = itertools.count()


class MigrationDir(Protocol):
    def names(self) -> list[str]:
        """Every file name in the directory (not only migrations), in any order."""

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        """Write atomically; ``exclusive`` refuses to replace an existing file."""

    def remove(self, name: str) -> None: ...

    def display(self, name: str) -> str:
        """How messages name the file, e.g. ``migrations/0002_x.py``."""

    def exists(self, name: str) -> bool: ...


@dataclass(frozen=True)
class LocalDir:
    path: str  # as the user gave it: messages show it unchanged

    def names(self) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.path) if e.is_file()]
        except FileNotFoundError:
            return []  # a directory that does not exist yet holds no migrations
        except OSError as exc:
            raise DfmigrateError(f"cannot read {self.path}: {exc.strerror}") from None

    def read(self, name: str) -> bytes:
        try:
            with open(os.path.join(self.path, name), "rb") as fh:  # not pathlib: 500 files read several times a check
                return fh.read()
        except OSError as exc:
            raise DfmigrateError(f"cannot read {self.display(name)}: {exc.strerror}") from None

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        target = Path(self.path, name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                with open(target, "xb") as fh:  # "x": two concurrent writers cannot both win
                    fh.write(data)
                return
            tmp = target.with_name(f".{name}.tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)  # readers see the old or the new file, never half of one
        except FileExistsError:
            raise DfmigrateError(f"{self.display(name)} already exists") from None
        except OSError as exc:
            raise DfmigrateError(f"cannot write {self.display(name)}: {exc.strerror}") from None

    def remove(self, name: str) -> None:
        Path(self.path, name).unlink(missing_ok=True)

    def display(self, name: str) -> str:
        return os.path.join(self.path, name)

    def exists(self, name: str) -> bool:
        return Path(self.path, name).is_file()


@dataclass
class MemDir:
    label: str = "migrations"
    files: dict[str, bytes] = field(default_factory=dict)

    def names(self) -> list[str]:
        return list(self.files)

    def read(self, name: str) -> bytes:
        if name not in self.files:
            raise DfmigrateError(f"cannot read {self.display(name)}: no such file")
        return self.files[name]

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        if exclusive and name in self.files:
            raise DfmigrateError(f"{self.display(name)} already exists")
        self.files[name] = bytes(data)

    def remove(self, name: str) -> None:
        self.files.pop(name, None)

    def display(self, name: str) -> str:
        return f"{self.label}/{name}"

    def exists(self, name: str) -> bool:
        return name in self.files


@dataclass
class ReadOnce:
    """A directory whose files are each read once (then served from memory) for the length of
    one command: makemigrations hashes every file, then loads them; each loads the bytes the sum
    was verified against, and the files are opened once instead of twice. Writes go through."""

    store: MigrationDir
    data: dict[str, bytes] = field(default_factory=dict)

    def names(self) -> list[str]:
        return self.store.names()

    def read(self, name: str) -> bytes:
        if name not in self.data:
            self.data[name] = self.store.read(name)
        return self.data[name]

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        self.data.pop(name, None)
        self.store.write(name, data, exclusive=exclusive)

    def remove(self, name: str) -> None:
        self.data.pop(name, None)
        self.store.remove(name)

    def display(self, name: str) -> str:
        return self.store.display(name)

    def exists(self, name: str) -> bool:
        return self.store.exists(name)


def as_dir(directory: Any) -> MigrationDir:
    if isinstance(directory, (str, os.PathLike)):
        return LocalDir(os.fspath(directory))
    return directory  # type: ignore[no-any-return]


def migration_names(directory: Any) -> list[str]:
    """Migration file names in execution order (by number). Two files with the same number
    (typically two branches merged) are an error: their order would be a guess."""
    store = as_dir(directory)
    found = sorted((int(m.group(1)), n) for n in store.names() if (m := MIGRATION_NAME.match(n)))
    for (num_a, a), (num_b, b) in zip(found, found[1:]):
        if num_a == num_b:
            raise DfmigrateError(f"{store.display(a)} and {b} have the same number: renumber one "
                                 "of them (and run 'dfmigrate rehash')")
    return [n for _, n in found]


def slugify(message: str) -> str:
    """ASCII, lowercase, ``_``-separated, at most 40 characters: safe in any file system."""
    ascii_text = unicodedata.normalize("NFKD", message).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug[:SLUG_MAX].rstrip("_") or "migration"


def next_id(directory: Any, message: str) -> str:
    names = migration_names(directory)
    number = int(MIGRATION_NAME.match(names[-1]).group(1)) + 1 if names else 1  # type: ignore[union-attr]
    return f"{number:04d}_{slugify(message)}"


@dataclass(frozen=True)
class LoadedMigration:
    name: str  # file name, "0002_x.py"
    id: str  # file stem, "0002_x": the id recorded in the ledger
    cls: type  # the kailash Migration subclass the file defines
    module: types.ModuleType


def load_migration(directory: Any, name: str) -> LoadedMigration:
    """Run one migration file as a fresh module (under a unique name, so loading the same
    directory twice, or two directories, never reuses a module) and find its class."""
    store = as_dir(directory)
    shown = store.display(name)
    stem = name[:-3]
    import sys

    from dfmigrate.migration import Migration

    module = types.ModuleType(f"_dfmigrate_migration_{next(_load_counter)}_{stem}")
    module.__file__ = shown
    try:
        code = compile(store.read(name), shown, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except DfmigrateError:
        raise
    except SyntaxError as exc:
        raise DfmigrateError(f"{shown}:{exc.lineno}: cannot load migration: SyntaxError: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # user code: any failure is the file's, not ours
        raise DfmigrateError(f"{shown}: cannot load migration: {type(exc).__name__}: {exc}") from None
    # A file may also subclass Kailash's Migration directly: accepted when it imported Kailash
    # (never imported here, at half a second, for the files that do not).
    kailash = sys.modules.get("kailash.utils.migrations")
    bases = (Migration, kailash.Migration) if kailash is not None else (Migration,)
    cls = _migration_class(module, bases, shown)
    if getattr(cls, "id", None) != stem:
        raise DfmigrateError(f"{shown}: declares id {getattr(cls, 'id', None)!r}, but the id must be "
                             f"the file name without .py ({stem!r})")
    return LoadedMigration(name, stem, cls, module)


def _migration_class(module: types.ModuleType, bases: tuple[type, ...], shown: str) -> type:
    named = getattr(module, "Migration", None)
    if isinstance(named, type) and issubclass(named, bases) and named not in bases:
        return named
    own = [v for v in vars(module).values()
           if isinstance(v, type) and issubclass(v, bases) and v.__module__ == module.__name__]
    if len(own) != 1:
        raise DfmigrateError(f"{shown}: expected one Migration class, found {len(own)}")
    return own[0]


def load_all(directory: Any) -> list[LoadedMigration]:
    return [load_migration(directory, n) for n in migration_names(directory)]


def declared_dialect(directory: Any, name: str) -> str | None:
    """The ``dialect = "..."`` a migration file declares, read without running the file (and
    without importing Kailash): cheap enough for every command, and for cache look-ups."""
    store = as_dir(directory)
    data = store.read(name)
    if b"dialect" not in data:  # files holding every dialect declare none: no need to parse them
        return None
    try:
        tree = ast.parse(data, store.display(name))
    except SyntaxError as exc:
        raise DfmigrateError(f"{store.display(name)}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                target = item.targets[0] if isinstance(item, ast.Assign) and len(item.targets) == 1 else None
                if isinstance(target, ast.Name) and target.id == "dialect" \
                        and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str):  # type: ignore[union-attr]
                    return item.value.value  # type: ignore[union-attr,no-any-return]
    return None


def directory_dialect(directory: Any) -> str | None:
    """The one dialect of a directory in the earlier format (its first file declares
    ``dialect = "..."``); None for an empty directory or one whose files hold every dialect."""
    names = migration_names(directory)
    if not names:
        return None
    dialect = declared_dialect(directory, names[0])
    if dialect is None:
        return None
    if dialect not in ("postgresql", "sqlite"):
        raise DfmigrateError(f"{as_dir(directory).display(names[0])}: dialect must be 'postgresql' "
                             f"or 'sqlite', not {dialect!r}")
    return dialect

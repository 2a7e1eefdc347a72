"""Declaring tables as Python classes: ``@model``, ``field``, ``index``, ``unique``, ``check``.

This module only records declarations; nothing here touches a database or builds the schema IR
(``dfmigrate.sources.model_classes`` does that). It must stay cheap to import because
``dfmigrate.model`` is re-exported lazily from the package. Conventions (table naming, implicit
``id``/``created_at``/``updated_at``) follow Kailash DataFlow's ``@db.model`` and are described in
``docs/models.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload
from collections.abc import Callable

__all__ = [
    "MISSING", "FieldSpec", "IndexSpec", "UniqueSpec", "CheckSpec", "ModelOptions", "ModelRegistry",
    "model", "field", "index", "unique", "check", "collecting", "default_registry",
    "table_name_for", "snake_case", "pluralize",
]

T = TypeVar("T", bound=type)


class _Missing:
    """Sentinel for "no default": ``None`` is a legitimate default (SQL NULL)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldSpec:
    """Options of one column, as given to ``field()``; ``None`` means "use the convention"."""

    primary_key: bool = False
    unique: bool = False
    index: bool = False
    default: Any = MISSING
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    references: str | None = None
    on_delete: str | None = None
    on_update: str | None = None
    check: str | None = None
    db_type: str | Mapping[str, str] | None = None
    renamed_from: tuple[str, ...] = ()
    nullable: bool | None = None
    comment: str | None = None
    default_sql: str | None = None
    identity: bool | None = None
    # SQL filling the existing rows of this column when it is added to a table that has rows
    # (makemigrations); one expression, or one per dialect like db_type. Not part of the schema.
    backfill: str | Mapping[str, str] | None = None


def field(
    *,
    primary_key: bool = False,
    unique: bool = False,
    index: bool = False,
    default: Any = MISSING,
    max_length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    references: str | None = None,
    on_delete: str | None = None,
    on_update: str | None = None,
    check: str | None = None,
    db_type: str | Mapping[str, str] | None = None,
    renamed_from: str | Sequence[str] | None = None,
    nullable: bool | None = None,
    comment: str | None = None,
    default_sql: str | None = None,
    identity: bool | None = None,
    backfill: str | Mapping[str, str] | None = None,
) -> Any:
    """Column options; assign it as the class attribute: ``email: str = field(unique=True)``.

    Typed ``Any`` so that ``name: str = field(...)`` type-checks.
    """
    if isinstance(renamed_from, str):
        renamed: tuple[str, ...] = (renamed_from,)
    else:
        renamed = tuple(renamed_from or ())
    return FieldSpec(
        primary_key=primary_key, unique=unique, index=index, default=default,
        max_length=max_length, precision=precision, scale=scale, references=references,
        on_delete=on_delete, on_update=on_update, check=check, db_type=db_type,
        renamed_from=renamed, nullable=nullable, comment=comment, default_sql=default_sql,
        identity=identity, backfill=backfill,
    )


@dataclass(frozen=True)
class IndexSpec:
    """``index("a", "b")``; a part that is not a plain identifier is an expression."""

    parts: tuple[str, ...]
    unique: bool = False
    name: str | None = None
    where: str | None = None
    method: str = "btree"


@dataclass(frozen=True)
class UniqueSpec:
    columns: tuple[str, ...]
    name: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    expression: str
    name: str | None = None


def index(*parts: str, unique: bool = False, name: str | None = None,
          where: str | None = None, method: str = "btree") -> IndexSpec:
    """A table index, for ``__indexes__``."""
    if not parts:
        raise ValueError("index() needs at least one column")
    return IndexSpec(tuple(parts), unique=unique, name=name, where=where, method=method)


def unique(*columns: str, name: str | None = None) -> UniqueSpec:
    """A (multi-column) UNIQUE constraint, for ``__constraints__``."""
    if not columns:
        raise ValueError("unique() needs at least one column")
    return UniqueSpec(tuple(columns), name=name)


def check(expression: str, *, name: str | None = None) -> CheckSpec:
    """A table CHECK constraint (SQL expression without the CHECK keyword), for ``__constraints__``."""
    return CheckSpec(expression, name=name)


@dataclass(frozen=True)
class ModelOptions:
    """What ``@model(...)`` was given; stored on the class as ``__dfmigrate_model__``."""

    table: str | None = None


class ModelRegistry:
    """The model classes decorated while this registry was current, in definition order."""

    def __init__(self) -> None:
        self.models: list[type] = []

    def add(self, cls: type) -> None:
        if cls not in self.models:
            self.models.append(cls)


# A context variable rather than a plain global: the loader swaps in a fresh registry for each
# load, so two loads in one process (tests, a long-running tool) never see each other's models.
_default_registry = ModelRegistry()
_current: contextvars.ContextVar[ModelRegistry] = contextvars.ContextVar(
    "dfmigrate_model_registry", default=_default_registry)


def default_registry() -> ModelRegistry:
    """The registry used outside a load (interactive use)."""
    return _default_registry


@contextlib.contextmanager
def collecting() -> Iterator[ModelRegistry]:
    """Record the models decorated inside the ``with`` block into a new registry."""
    registry = ModelRegistry()
    token = _current.set(registry)
    try:
        yield registry
    finally:
        _current.reset(token)


@overload
def model(cls: T, /) -> T: ...
@overload
def model(*, table: str | None = None) -> Callable[[T], T]: ...
def model(cls: Any = None, /, *, table: str | None = None) -> Any:
    """Register a type-annotated class as a table: ``@model`` or ``@model(table="x")``.

    Only records the class; its annotations are read when the models are loaded, so forward
    references and ``from __future__ import annotations`` work.
    """
    def register(klass: T) -> T:
        if not isinstance(klass, type):
            raise TypeError("@model must decorate a class")
        klass.__dfmigrate_model__ = ModelOptions(table=table)  # type: ignore[attr-defined]
        _current.get().add(klass)
        return klass

    return register if cls is None else register(cls)


# --- DataFlow table naming -------------------------------------------------------------------
# Port of dataflow.core.engine.DataFlow._class_name_to_table_name / _pluralize (kailash-dataflow
# 2.20.1); dfmigrate must not import dataflow. Only the irregular entries that the suffix rules
# would get wrong are kept (hyphenated ones cannot occur in an identifier); a test checks this
# table against the installed dataflow when it is present.
_UNCOUNTABLE = frozenset("""
advice aircraft analytics athletics audio bacteria barracks bison buffalo chassis cod corps
criteria data deer economics elk equipment ethics evidence feedback firmware fish furniture gallows
genetics hardware headquarters homework housework hovercraft information innings knowledge
linguistics logistics luggage malware mathematics means media metadata money moose music news
offspring phenomena physics pike politics progress reindeer research salmon series sheep shrimp
software spacecraft species squid statistics swine traffic trout tuna watercraft weather wildebeest
""".split())
_IRREGULAR = dict(pair.split(":") for pair in """
addendum:addenda alumna:alumnae alumnus:alumni analysis:analyses axis:axes bacterium:bacteria
basis:bases businessman:businessmen businesswoman:businesswomen calf:calves chairman:chairmen
chairwoman:chairwomen child:children codex:codices consortium:consortia corpus:corpora
cortex:cortices craftsman:craftsmen crisis:crises criterion:criteria curriculum:curricula datum:data
diagnosis:diagnoses die:dice echo:echoes elf:elves ellipsis:ellipses embargo:embargoes
erratum:errata fireman:firemen foot:feet fungus:fungi gentleman:gentlemen genus:genera goose:geese
half:halves hero:heroes hoof:hooves hypothesis:hypotheses larva:larvae leaf:leaves loaf:loaves
louse:lice man:men matrix:matrices medium:media memorandum:memoranda millennium:millennia
mouse:mice nemesis:nemeses neurosis:neuroses nucleus:nuclei oasis:oases ovum:ova ox:oxen
paralysis:paralyses parenthesis:parentheses passerby:passersby person:people phenomenon:phenomena
policeman:policemen policewoman:policewomen potato:potatoes prognosis:prognoses quantum:quanta
quiz:quizzes radius:radii salesman:salesmen saleswoman:saleswomen scarf:scarves self:selves
serviceman:servicemen servicewoman:servicewomen shelf:shelves spectrum:spectra spokesman:spokesmen
spokeswoman:spokeswomen stimulus:stimuli stratum:strata symposium:symposia synopsis:synopses
synthesis:syntheses thesis:theses thief:thieves tomato:tomatoes tooth:teeth tornado:tornadoes
torpedo:torpedoes vertebra:vertebrae vertex:vertices veto:vetoes volcano:volcanoes vortex:vortices
wharf:wharves wolf:wolves woman:women
""".split())
_IDENTIFIER_LIMIT = {"postgresql": 63, "sqlite": 128, "mysql": 64}  # kailash.db.dialect *_MAX_IDENTIFIER_LENGTH


def snake_case(name: str) -> str:
    """``OrderItem`` → ``order_item``, ``XMLParser`` → ``xml_parser`` (DataFlow's two regexes)."""
    s1 = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", s1).lower()


def pluralize(word: str) -> str:
    """DataFlow's English pluralization of a snake_case word (only the last part is pluralized)."""
    lower = word.lower()
    if lower in _UNCOUNTABLE:
        return lower
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if "_" in word:
        head, tail = word.rsplit("_", 1)
        return f"{head}_{pluralize(tail)}"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("y") and len(word) > 1 and word[-2].lower() not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith("fe"):
        return word[:-2] + "ves"
    return word + "s"


def table_name_for(class_name: str, dialect: str = "postgresql") -> str:
    """The table DataFlow creates for a model class (without ``__tablename__``).

    Over-long names get DataFlow's deterministic ``<head>_<sha256[:8]>`` form rather than the
    server's silent truncation, so two long model names never alias one table.
    """
    name = pluralize(snake_case(class_name))
    limit = _IDENTIFIER_LIMIT.get(dialect, 128)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[:limit - 9].rstrip('_')}_{digest}"


# --- Reading a model class -------------------------------------------------------------------
@dataclass(frozen=True)
class FieldInfo:
    """One column as Python sees it (the node generator reads these; the IR is built from them)."""

    name: str
    python_type: Any  # the annotation with Optional/None removed
    nullable: bool
    has_default: bool  # a Python default or a SQL default exists: callers may omit the value
    default: Any  # the Python default, MISSING when there is none
    primary_key: bool
    generated: bool  # the database fills it in (identity key, implicit timestamps)
    spec: FieldSpec = FieldSpec()
    implicit: bool = False  # added by the DataFlow conventions, not declared by the user
    identity: bool = False  # an identity column (PostgreSQL) / the rowid alias (SQLite)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: type
    table: str
    fields: tuple[FieldInfo, ...]
    namespace: str | None = None  # None = the dialect's default namespace
    renamed_from: tuple[str, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    constraints: tuple[UniqueSpec | CheckSpec, ...] = ()
    comment: str | None = None

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


# DataFlow's auto columns: integer id first, created_at/updated_at last, both timestamps nullable
# with DEFAULT CURRENT_TIMESTAMP and typed exactly as DataFlow creates them, so that a table made
# by DataFlow and the same model read here do not differ.
_TIMESTAMP_SPEC = FieldSpec(
    db_type={"postgresql": "timestamp without time zone", "sqlite": "TEXT", "mysql": "timestamp"},
    default_sql="CURRENT_TIMESTAMP")
INTEGER_TYPES = ("integer", "bigint", "smallint", "int", "int2", "int4", "int8")


def _own(cls: type, attr: str, default: Any = None) -> Any:
    """A class-level option that is not inherited (a subclass is another table)."""
    return cls.__dict__.get(attr, default)


def model_info(cls: type, dialect: str = "postgresql") -> ModelInfo:
    """Read a ``@model`` class; raises SourceError for annotations that cannot be resolved."""
    import typing
    from dfmigrate.errors import SourceError

    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # NameError for an undefined forward reference, mostly
        raise SourceError(f"model {cls.__name__}: cannot resolve annotations: {exc}") from None
    fields = [_read_field(cls, name, ann) for name, ann in hints.items()
              if not name.startswith("_") and typing.get_origin(ann) is not typing.ClassVar]
    fields = _apply_conventions(cls, fields)
    options = getattr(cls, "__dfmigrate_model__", ModelOptions())
    table = options.table or _own(cls, "__tablename__") or table_name_for(cls.__name__, dialect)
    renamed = _own(cls, "__renamed_from__", ())
    return ModelInfo(
        name=cls.__name__, cls=cls, table=table, fields=tuple(fields),
        namespace=getattr(cls, "__namespace__", None) or getattr(cls, "__schema__", None),
        renamed_from=(renamed,) if isinstance(renamed, str) else tuple(renamed),
        indexes=tuple(_own(cls, "__indexes__", ())),
        constraints=tuple(_own(cls, "__constraints__", ())),
        comment=_own(cls, "__comment__"),
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional  # a real union: the type mapping rejects it with a message
    return annotation, False


def _read_field(cls: type, name: str, annotation: Any) -> FieldInfo:
    raw = getattr(cls, name, MISSING)
    spec = raw if isinstance(raw, FieldSpec) else FieldSpec(default=raw)
    python_type, optional = _unwrap_optional(annotation)
    # `x: int = None` is taken as Optional, as PEP 484 once did and DataFlow still does.
    nullable = spec.nullable if spec.nullable is not None else (optional or spec.default is None)
    return FieldInfo(
        name=name, python_type=python_type, nullable=nullable and not spec.primary_key,
        has_default=spec.default is not MISSING or spec.default_sql is not None,
        default=spec.default, primary_key=spec.primary_key, generated=False, spec=spec)


def _apply_conventions(cls: type, fields: list[FieldInfo]) -> list[FieldInfo]:
    """DataFlow's implicit id / created_at / updated_at, then which key is database-generated."""
    from dataclasses import replace

    names = {f.name for f in fields}
    if not any(f.primary_key for f in fields):
        if "id" in names:  # DataFlow: a declared `id` is the primary key
            fields = [replace(f, primary_key=True, nullable=False,
                              spec=replace(f.spec, primary_key=True)) if f.name == "id" else f
                      for f in fields]
        else:
            fields.insert(0, FieldInfo("id", int, False, False, MISSING, True, False,
                                       FieldSpec(primary_key=True), implicit=True))
    if getattr(cls, "__timestamps__", True):
        for name in ("created_at", "updated_at"):
            if name not in names:
                fields.append(FieldInfo(name, _datetime(), True, True, MISSING, False, True,
                                        _TIMESTAMP_SPEC, implicit=True))
    keys = [f for f in fields if f.primary_key]
    return [replace(f, generated=True, has_default=True, identity=True)
            if _is_identity(f, keys) else f for f in fields]


def _datetime() -> type:
    import datetime

    return datetime.datetime


def _is_identity(f: FieldInfo, keys: list[FieldInfo]) -> bool:
    """An int primary key (alone) is generated by the database unless ``identity=False``."""
    if f.spec.identity is not None:
        return f.spec.identity
    db_type = f.spec.db_type
    int_like = (f.python_type is int and db_type is None) or (
        isinstance(db_type, str) and db_type.strip().lower() in INTEGER_TYPES)
    return f.primary_key and len(keys) == 1 and int_like

"""Consent to destructive hazards: which of a migration's steps need it, and whether it was given.

A step whose hazards include a destructive one (``statement.DESTRUCTIVE``: data loss, breaking
the release still running) runs only with consent: ``--allow-hazards KIND[,KIND…]`` (or
``all``) on the command line, or ``allow_hazards = [...]`` recorded in the migration file, where
it is reviewed with the SQL it covers. ``migrate``, ``rollback`` and ``plan`` ask the same
question here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dfmigrate.errors import DfmigrateError
from dfmigrate.core.statement import DESTRUCTIVE

KINDS = tuple(sorted(h.value for h in DESTRUCTIVE))  # what consent can name, besides "all"


def parse_allowed(values: Iterable[str], where: str = "--allow-hazards") -> frozenset[str]:
    """``"deletes-data,breaks-clients"`` / ``"all"`` (repeatable, comma-separated) as a set;
    an unknown kind is an error naming the accepted ones."""
    allowed = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(allowed - {*KINDS, "all"})
    if unknown:
        raise DfmigrateError(f"{where}: unknown hazard {', '.join(repr(u) for u in unknown)} "
                             f"(accepted: {', '.join(KINDS)}, all)")
    return frozenset(allowed)


@dataclass(frozen=True)
class Needed:
    """One step's destructive hazard that no consent covers."""

    index: int  # the step's position in the migration's steps (0-based)
    hazard: str  # a Hazard value, e.g. "deletes-data"
    what: str  # the step, as a person reads it: its kind and target, or its SQL's first line


def needed(steps: Iterable[object], allowed: Iterable[str] = ()) -> list[Needed]:
    """The destructive hazards of ``steps`` (``dfmigrate.core.step.Step``: ``hazards`` as values)
    that ``allowed`` does not cover, in step order."""
    ok = frozenset(allowed)
    if "all" in ok:
        return []
    destructive = {h.value for h in DESTRUCTIVE}
    out = []
    for i, step in enumerate(steps):
        for hazard in getattr(step, "hazards", ()):
            if hazard in destructive and hazard not in ok:
                out.append(Needed(i, hazard, _what(step)))
    return out


def _what(step: object) -> str:
    sql = getattr(step, "sql", None)
    if sql:
        first = " ".join(sql.split())
        return first if len(first) <= 100 else first[:97] + "..."
    kind, target = getattr(step, "kind", ""), getattr(step, "target", None)
    return f"{kind} {target}" if target else kind or "a Python step"


class ConsentNeeded(DfmigrateError):
    """A pending step carries a destructive hazard nobody consented to; nothing was changed."""


def recorded(migration: object, shown: str) -> frozenset[str]:
    """The consent a migration file records (``allow_hazards``), checked like the command line's:
    an unknown kind there is an error naming the file, not a consent that silently covers nothing."""
    values = getattr(migration, "allow_hazards", None) or ()
    return parse_allowed([values] if isinstance(values, str) else values, where=f"{shown}: allow_hazards")


Planned = tuple[str, object, Sequence[object]]  # (migration id, the migration or its class, its steps)


def missing(planned: Iterable[Planned], given: Iterable[str] = ()) -> list[tuple[str, list[Needed]]]:
    """For each migration of ``planned`` (steps in the direction it would run), the destructive
    hazards neither ``given`` (``--allow-hazards``) nor the file's ``allow_hazards`` cover;
    migrations that need nothing are left out. Every command that applies, rolls back or plans
    migrations asks here."""
    ok = frozenset(given)
    out = []
    for migration_id, migration, steps in planned:
        found = needed(steps, ok | recorded(migration, migration_id))
        if found:
            out.append((migration_id, found))
    return out


def require(planned: Iterable[Planned], given: Iterable[str], direction: str) -> None:
    """Raise ``ConsentNeeded`` (one line) when any of ``planned`` lacks consent; call it before
    the first migration runs, so a refusal changes nothing."""
    found = missing(planned, given)
    if found:
        raise ConsentNeeded(refusal_of(found, direction))


def refusal_of(found: Sequence[tuple[str, list[Needed]]], direction: str) -> str:
    """One line for what ``missing`` found (not empty): what the first migration would do without
    consent, the later ones counted, and how to give consent (the command-line hint covers them all)."""
    (migration_id, missing), others = found[0], found[1:]
    first = missing[0]
    first_hazards = ", ".join(m.hazard for m in missing if m.index == first.index)
    steps = len({m.index for m in missing}) - 1
    more = [f"{steps} more step{'s' if steps != 1 else ''}"] if steps else []
    more += [f"{len(others)} more migration{'s' if len(others) != 1 else ''}"] if others else []
    verb = "rolling back" if direction == "backward" else "applying"
    every = sorted({m.hazard for m in missing} | {m.hazard for _, found in others for m in found})
    own = ", ".join(f'"{k}"' for k in sorted({m.hazard for m in missing}))
    return (f"{verb} {migration_id} needs consent: step {first.index + 1} ({first.what}) is {first_hazards}"
            f"{' (and ' + ' and '.join(more) + ')' if more else ''}; nothing was changed; "
            f"pass --allow-hazards {','.join(every)} (or all), or record allow_hazards = [{own}] in the file")


def comments(found: Sequence[tuple[str, list[Needed]]]) -> list[str]:
    """SQL comment lines naming every step that needs consent (a dry run prints them after its SQL)."""
    lines = []
    for migration_id, needs in found:
        for index in dict.fromkeys(m.index for m in needs):
            mine = [m for m in needs if m.index == index]
            lines.append(f"-- needs consent: {migration_id} step {index + 1} ({mine[0].what}): "
                         f"{', '.join(m.hazard for m in mine)}")
    return lines

"""Consent to destructive hazards: which of a migration's steps need it, and whether it was given.

A step whose hazards include a destructive one (``statement.DESTRUCTIVE``: data loss, breaking
the release still running) runs only with consent: ``--allow-hazards KIND[,KIND…]`` (or
``all``) on the command line, or ``allow_hazards = [...]`` recorded in the migration file, where
it is reviewed with the SQL it covers. ``migrate``, ``rollback`` and ``plan`` ask the same
question here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dfmigrate.errors import DfmigrateError
from dfmigrate.statement import DESTRUCTIVE

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
    """The destructive hazards of ``steps`` (``dfmigrate.step.Step``: ``hazards`` as values)
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


def refusal(migration_id: str, missing: list[Needed], direction: str = "forward") -> str:
    """One line: what the migration would do without consent, and how to give it."""
    kinds = sorted({m.hazard for m in missing})
    first = missing[0]
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    verb = "rolling back" if direction == "backward" else "applying"
    return (f"{verb} {migration_id} needs consent: step {first.index + 1} ({first.what}) is {first.hazard}{more}; "
            f"pass --allow-hazards {','.join(kinds)} (or all), or record allow_hazards = "
            f"[{', '.join(repr(k) for k in kinds)}] in the file")


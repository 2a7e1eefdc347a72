"""The runbook of what ``migrate`` would do to a database (``dfmigrate plan``): as data, and as
markdown to paste into a change ticket.

Nothing here decides anything ``migrate`` does not: the pending migrations are the runner's plan
(``commands._pending``), each migration's steps are ``runner.steps_of`` (what the executor runs),
their transactions are the executor's groups (``executor.numbered_groups``), the consent they
need is the runner's question (``runner.consent_missing``), what a lock blocks is
``engine.blocked_by``, and table sizes and estimates are ``safety.sizes`` (PostgreSQL's
statistics). The data follows ``dfmigrate/schemas/plan-v1.schema.json``.
"""

from __future__ import annotations

from typing import Any

from dfmigrate.errors import DfmigrateError

JSON_SCHEMA_ID = "https://dfmigrate.dev/schemas/plan-v1.schema.json"
JSON_SCHEMA_VERSION = 1


async def runbook(runner: Any, plan: Any, *, database: str, directory: str) -> dict[str, Any]:
    """The runbook of ``plan`` (the pending migrations, a ``MigrationPlan``) on ``runner``'s
    database: ``database`` (masked) and ``directory`` are only shown."""
    from dfmigrate.safety import consent

    dialect = runner.conn.dialect
    migrations = list(plan.migrations_to_apply)
    forward = {m.id: runner.steps_of(m, "forward") for m in migrations}
    sizes = await _sizes(runner.conn, [s.target for steps in forward.values() for s in steps])
    missing = dict(runner.consent_missing(plan))
    out = []
    for m in migrations:
        steps = _steps(forward[m.id], dialect, missing.get(m.id, []), sizes)
        known = [s["estimated_s"] for s in steps if s["estimated_s"] is not None]
        try:
            back = runner.steps_of(m, "backward")
            # a rollback is a run of its own: only the file's recorded consent carries over to it
            back_missing = consent.missing([(m.id, m, back)])
            rollback: dict[str, Any] = {"steps": _steps(back, dialect, back_missing[0][1] if back_missing else [], {}),
                                        "error": None}
        except DfmigrateError as exc:  # no backward SQL or function: rollback refuses it, and says so here
            rollback = {"steps": [], "error": str(exc)}
        out.append({
            "id": m.id, "file": runner.files[m.id].shown, "description": m.description,
            "phase": getattr(m, "phase", None),
            "allow_hazards": sorted(consent.recorded(m, m.id)),
            "consent_needed": sorted({n.hazard for n in missing.get(m.id, [])}),
            "estimated_s": round(sum(known), 2) if known else None,
            "steps": steps, "rollback": rollback})
    found = list(missing.items())
    totals = [m["estimated_s"] for m in out if m["estimated_s"] is not None]
    return {"$schema": JSON_SCHEMA_ID, "version": JSON_SCHEMA_VERSION, "database": database, "dialect": dialect,
            "dir": directory, "allow_hazards": sorted(runner.allow_hazards),
            "ok": not found, "refusal": consent.refusal_of(found, "forward") if found else None,
            "estimated_s": round(sum(totals), 2) if totals else None, "migrations": out}


async def _sizes(conn: Any, targets: list[str | None]) -> dict[str, Any]:
    """Live sizes of the tables the steps act on, from PostgreSQL's statistics (none elsewhere)."""
    if conn.dialect != "postgresql":
        return {}
    from dfmigrate.safety.sizes import table_sizes

    return await table_sizes(conn, [t for t in targets if t])


def _steps(steps: list[Any], dialect: str, missing: list[Any], sizes: dict[str, Any]) -> list[dict[str, Any]]:
    from dfmigrate.core.engine import blocked_by
    from dfmigrate.runner.executor import numbered_groups
    from dfmigrate.safety.sizes import estimate_seconds

    out = []
    transactions = 0  # numbered among the transactions the executor opens: outside steps have none
    for group in numbered_groups(steps):
        transactions += group[0][1].transactional
        for n, step in group:
            size = sizes.get(step.target) if step.target else None
            out.append({
                "n": n, "kind": step.kind, "target": step.target, "sql": step.sql,
                "python": getattr(step.python, "__qualname__", "python") if step.python is not None else None,
                "lock": step.lock, "blocks": list(blocked_by(step, dialect)), "hazards": list(step.hazards),
                "consent_needed": [m.hazard for m in missing if m.index == n - 1],
                "transactional": step.transactional, "isolated": step.isolated,
                "transaction": transactions if step.transactional else None,
                "resume": step.resume,
                "table_size": size.to_dict() if size is not None else None,
                "estimated_s": estimate_seconds(step.hazards, size, concurrently=not step.transactional)
                if size is not None else None})
    return out


# ---------------------------------------------------------------- markdown


def markdown(data: dict[str, Any]) -> str:
    """The runbook for a change ticket: a summary, then each migration's steps (a table) with
    their SQL and the SQL that rolls it back."""
    migrations = data["migrations"]
    if not migrations:
        return f"Nothing to migrate: `{data['database']}` is up to date with `{data['dir']}`.\n"
    lines = [f"# Migration plan: {len(migrations)} pending migration{'s' if len(migrations) != 1 else ''}", "",
             f"- Database: `{data['database']}` ({data['dialect']})", f"- Migrations: `{data['dir']}`"]
    if data["estimated_s"] is not None:
        lines.append(f"- Estimated time: {data['estimated_s']:g} s (from table statistics: an order of magnitude, "
                     "not a schedule)")
    if data["ok"]:
        given = f" (given: `--allow-hazards {','.join(data['allow_hazards'])}`)" if data["allow_hazards"] else ""
        lines.append(f"- Consent: nothing further needed{given}")
    else:
        where = "; ".join(f"{m['id']} step {s['n']} ({', '.join(s['consent_needed'])})"
                          for m in migrations for s in m["steps"] if s["consent_needed"])
        kinds = ",".join(sorted({h for m in migrations for h in m["consent_needed"]}))
        lines.append(f"- **Consent needed**, or `migrate` refuses the whole plan: {where}. Give it with "
                     f"`--allow-hazards {kinds}` (or `all`), or record `allow_hazards` in the file once reviewed.")
    lines.append("")
    for i, m in enumerate(migrations, 1):
        lines += _migration(i, m)
    return "\n".join(lines).rstrip("\n") + "\n"


def _migration(i: int, m: dict[str, Any]) -> list[str]:
    facts = [f"File `{m['file']}`"]
    if m["phase"]:
        facts.append(f"phase: {m['phase']}")
    if m["allow_hazards"]:
        facts.append(f"consent recorded in the file: {', '.join(m['allow_hazards'])}")
    if m["estimated_s"] is not None:
        facts.append(f"estimated {m['estimated_s']:g} s")
    lines = [f"## {i}. {m['id']}: {_inline(m['description'])}", "", " · ".join(facts), "",
             "| step | does | lock | table | est. | hazards | runs |", "|---:|---|---|---|---:|---|---|"]
    for s in m["steps"]:
        lines.append("| " + " | ".join(_cell(c) for c in _row(s)) + " |")
    lines += ["", "```sql", *_sql(m["steps"]), "```", ""]
    rollback = m["rollback"]
    if rollback["error"]:
        lines += [f"Rollback: not possible: {_inline(rollback['error'])}", ""]
    else:
        consent = sorted({h for s in rollback["steps"] for h in s["consent_needed"]})
        needs = f" (needs consent: {', '.join(consent)})" if consent else ""
        lines += [f"Rollback (`dfmigrate rollback`){needs}:", "", "```sql", *_sql(rollback["steps"]), "```", ""]
    return lines


def _row(s: dict[str, Any]) -> list[str]:
    lock = f"{s['lock']} (blocks {' and '.join(s['blocks']) or 'neither reads nor writes'})" if s["lock"] else "–"
    table = "–"
    if s["table_size"] is not None:
        from dfmigrate.safety.sizes import human_bytes

        size = s["table_size"]
        table = f"~{size['rows']:,} rows, {human_bytes(size['total_bytes'])} ({size['grade']})"
    hazards = ", ".join(s["hazards"]) or "–"
    if s["consent_needed"]:
        hazards += f"; **needs consent: {', '.join(s['consent_needed'])}**"
    runs = f"transaction {s['transaction']}" if s["transactional"] else "alone, outside a transaction"
    does = f"{s['kind'] or 'statement'}" + (f" on {s['target']}" if s["target"] else "")
    est = f"{s['estimated_s']:g} s" if s["estimated_s"] is not None else "–"
    return [str(s["n"]), does, lock, table, est, hazards, runs]


def _sql(steps: list[dict[str, Any]]) -> list[str]:
    lines = []
    for s in steps:
        lines.append(f"-- step {s['n']}")
        lines.append(f"{s['sql']};" if s["sql"] is not None else f"-- runs the Python function {s['python']}()")
    return lines


def _cell(text: str) -> str:
    """A table cell: one line, pipes escaped."""
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    return " ".join(str(text).split())

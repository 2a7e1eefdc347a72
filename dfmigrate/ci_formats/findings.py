"""``check`` and ``drift`` results as findings, for the CI formats.

Their text and JSON outputs stay as they were; ``--format github|junit|sarif`` renders these.
"""

from __future__ import annotations

from typing import Any

from dfmigrate.ci_formats import Finding, Report, RuleDoc

CHECK_RULES = {
    "migration-due": RuleDoc(
        "migration-due", "The models differ from what the migrations produce: a migration is due.",
        why="Deploying these models without the migration fails at run time, or silently leaves the "
            "database behind.",
        fix="Run 'dfmigrate makemigrations', review and commit the new file."),
    "integrity": RuleDoc(
        "integrity", "The migrations directory does not match its dfmigrate.sum.",
        why="A migration edited, reordered or removed after it was written may already be applied "
            "elsewhere in its old form.",
        fix="Restore the file; or, for a deliberate edit, run 'dfmigrate rehash'."),
}

DRIFT_RULES = {
    "drift-extra": RuleDoc("drift-extra", "An object exists in the database but no applied migration creates it.",
                           why="Someone changed the schema by hand; the next migration may clash with it.",
                           fix="Capture it in a migration, or drop it."),
    "drift-missing": RuleDoc("drift-missing", "An applied migration creates an object the database lacks.",
                             why="Code relying on the migrations' schema will fail.",
                             fix="Restore the object, or write a migration that records its removal."),
    "drift-changed": RuleDoc("drift-changed", "An object differs from what the applied migrations produce.",
                             why="The database no longer matches the schema the code was tested against.",
                             fix="Revert the manual change, or capture it in a migration."),
}


def check_report(data: dict[str, Any] | None, directory: str, lint: Report | None = None,
                 error: str | None = None) -> Report:
    """``data``: what ``check`` found (None when it failed with ``error``, an integrity problem);
    ``lint``: the lint report of the directory, merged in."""
    report = Report("check", files=list(lint.files) if lint else [])
    if error is not None:
        report.findings.append(Finding("integrity", "error", error, directory))
        report.rules["integrity"] = CHECK_RULES["integrity"]
    if data is not None and not data["clean"]:
        changes = "; ".join(data["pending"])
        report.findings.append(Finding("migration-due", "error",
                                       f"the models need a new migration: {changes}", directory))
        report.rules["migration-due"] = CHECK_RULES["migration-due"]
        report.notes.extend(f"hazard of the pending migration: {h}" for h in data["hazards"])
    if lint is not None:
        report.findings.extend(lint.findings)
        report.rules.update(lint.rules)
        report.notes.extend(lint.notes)
    return report


def drift_report(data: dict[str, Any], directory: str) -> Report:
    """Each drift item is a finding on the migrations ``directory`` the database should match:
    code scanning refuses a SARIF result without a location, and the database has no file."""
    report = Report("drift")
    for item in data["drift"]:
        rule = f"drift-{item['kind']}"
        report.findings.append(Finding(rule, "error", f"{item['kind']}: {item['change']}", directory,
                                       excerpt=item["object"]))
        report.rules[rule] = DRIFT_RULES[rule]
    return report

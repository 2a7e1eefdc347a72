"""dfmigrate lint next to squawk, the PostgreSQL migration linter, on the same SQL files.

Writes a corpus of small migration files (each with a known hazard, or a known-safe form of one),
runs ``squawk --reporter json`` and ``dfmigrate lint --format json`` over all of them, and prints
which rules each tool flagged per file, whether they agree on the rules both tools have, and
the wall time of each run.

    pip install -e '.[bench]'            # squawk-cli provides the squawk binary
    python bench/lint_compare.py [--keep DIR] [--json out.json]

Agreement is judged only on rules both tools define (same id; squawk's require-lock-timeout and
require-statement-timeout count as dfmigrate's require-timeout-settings). Rules only one tool has
(squawk's prefer-robust-stmts, dfmigrate's table-rewrite) are listed but not scored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TIMEOUTS = "SET lock_timeout = '2s';\nSET statement_timeout = '1min';\n"

# name -> SQL. Files are independent: a table is "existing" unless the file creates it.
CORPUS: dict[str, str] = {
    # the acceptance set: one hazard each
    "a1_plain_index": "CREATE INDEX orders_customer_idx ON orders (customer_id);",
    "a2_not_null_no_default": "ALTER TABLE accounts ADD COLUMN region text NOT NULL;",
    "a3_drop_column": "ALTER TABLE accounts DROP COLUMN legacy_flag;",
    "a4_rename_column": "ALTER TABLE accounts RENAME COLUMN fullname TO display_name;",
    "a5_validating_fk": "ALTER TABLE orders ADD CONSTRAINT orders_account_fk\n"
                        "  FOREIGN KEY (account_id) REFERENCES accounts (id);",
    "a6_type_change": "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2);",
    "a7_drop_table": "DROP TABLE audit_log_2019;",
    "a8_set_not_null": "ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL;",
    "a9_clean": TIMEOUTS + "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);\n"
                "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id)\n"
                "  REFERENCES accounts (id) NOT VALID;\n"
                "ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;",
    # more hazards
    "b01_drop_index": TIMEOUTS + "DROP INDEX orders_customer_idx;",
    "b02_drop_index_concurrently": "DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;",
    "b03_check_constraint": TIMEOUTS + "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);",
    "b04_check_not_valid": TIMEOUTS + "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;",
    "b05_validate_same_tx": TIMEOUTS + "BEGIN;\nALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) "
                            "NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_positive;\nCOMMIT;",
    "b06_volatile_default": TIMEOUTS + "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    "b07_constant_default": TIMEOUTS + "ALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;",
    "b08_now_default": TIMEOUTS + "ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now();",
    "b09_not_null_with_default": TIMEOUTS + "ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT 'eu';",
    "b10_unique_constraint": TIMEOUTS + "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);",
    "b11_unique_using_index": TIMEOUTS + "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key "
                              "UNIQUE USING INDEX accounts_email_idx;",
    "b12_primary_key": TIMEOUTS + "ALTER TABLE accounts ADD PRIMARY KEY (id);",
    "b13_rename_table": TIMEOUTS + "ALTER TABLE accounts RENAME TO customers;",
    "b14_drop_database": "DROP DATABASE shop;",
    "b15_truncate_cascade": TIMEOUTS + "TRUNCATE orders CASCADE;",
    "b16_nested_begin": "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\nCOMMIT;",
    "b17_concurrent_in_tx": "BEGIN;\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\nCOMMIT;",
    "b18_timeouts_missing": "ALTER TABLE accounts ADD COLUMN note text;",
    "b19_vacuum_full": "VACUUM FULL orders;",
    # types in a new table
    "c1_int_types": "CREATE TABLE t1 (id serial PRIMARY KEY, n integer, s smallint, b bigint);",
    "c2_identity_ok": "CREATE TABLE t2 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);",
    "c3_timestamp": "CREATE TABLE t3 (id bigint PRIMARY KEY, at timestamp, tz timestamptz);",
    "c4_varchar_char": "CREATE TABLE t4 (id bigint PRIMARY KEY, name varchar(40), code char(3), free varchar);",
    # a table the file creates is not an existing table
    "d1_new_table_then_alter": "CREATE TABLE invoices (id bigint PRIMARY KEY, account_id bigint, total numeric);\n"
                               "CREATE INDEX invoices_account_idx ON invoices (account_id);\n"
                               "ALTER TABLE invoices ADD COLUMN currency text NOT NULL;\n"
                               "ALTER TABLE invoices ALTER COLUMN total SET NOT NULL;\n"
                               "ALTER TABLE invoices ADD CONSTRAINT invoices_account_fk FOREIGN KEY (account_id) "
                               "REFERENCES accounts (id);",
    "d2_safe_not_null": TIMEOUTS + "ALTER TABLE orders ADD CONSTRAINT placed_at_nn CHECK (placed_at IS NOT NULL) "
                        "NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT placed_at_nn;\n"
                        "ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL;\n"
                        "ALTER TABLE orders DROP CONSTRAINT placed_at_nn;",
    "d3_add_column_references": TIMEOUTS + "ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);",
}

from dfmigrate.lint.rules import SQUAWK_ALIASES  # noqa: E402  (after the sys.path insert: squawk ids that mean a dfmigrate id)


def squawk_rule_ids() -> set[str]:
    """The rules both tools define (squawk's ids after SQUAWK_ALIASES)."""
    return {
        "require-concurrent-index-creation", "require-concurrent-index-deletion", "constraint-missing-not-valid",
        "adding-foreign-key-constraint", "adding-field-with-default", "adding-required-field",
        "adding-not-nullable-field", "changing-column-type", "renaming-column", "renaming-table",
        "ban-drop-column", "ban-drop-table", "ban-drop-database", "disallowed-unique-constraint",
        "adding-serial-primary-key-field", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
        "prefer-identity", "prefer-timestamptz", "prefer-text-field", "ban-char-field",
        "require-timeout-settings", "transaction-nesting", "ban-truncate-cascade",
        "ban-concurrent-index-creation-in-transaction",
    }


def run_squawk(files: list[Path]) -> tuple[dict[str, set[str]], float, str]:
    exe = shutil.which("squawk") or str(Path(sys.executable).with_name("squawk"))
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    start = time.perf_counter()
    proc = subprocess.run([exe, "--reporter", "json", *map(str, files)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    found: dict[str, set[str]] = {f.stem: set() for f in files}
    for item in json.loads(proc.stdout or "[]"):
        found[Path(item["file"]).stem].add(SQUAWK_ALIASES.get(item["rule_name"], item["rule_name"]))
    return found, elapsed, version


def run_dfmigrate(files: list[Path], cwd: Path) -> tuple[dict[str, set[str]], float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dfmigrate", "lint", "--format", "json", *map(str, files)],
                          capture_output=True, text=True, check=False, cwd=cwd, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dfmigrate lint failed: {proc.stderr}")
    found: dict[str, set[str]] = {f.stem: set() for f in files}
    for item in json.loads(proc.stdout)["findings"]:
        found[Path(item["file"]).stem].add(item["rule"])
    return found, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="write the corpus here and keep it")
    parser.add_argument("--json", metavar="PATH", help="also write the per-file results as JSON")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dfm_lint_"))
    work.mkdir(parents=True, exist_ok=True)
    files = []
    for name, sql in CORPUS.items():
        path = work / f"{name}.sql"
        path.write_text(sql + "\n")
        files.append(path)
    squawk, squawk_s, version = run_squawk(files)
    ours, ours_s = run_dfmigrate(files, work)
    common = squawk_rule_ids()
    agree = 0
    rows = []
    for f in files:
        mine, theirs = ours[f.stem], squawk[f.stem]
        same = (mine & common) == (theirs & common)
        agree += same
        rows.append({"file": f.name, "dfmigrate": sorted(mine), "squawk": sorted(theirs), "agree": same,
                     "only_dfmigrate": sorted((mine - theirs) & common), "only_squawk": sorted((theirs - mine) & common)})
    width = max(len(r["file"]) for r in rows)
    print(f"{'file':<{width}}  agree  dfmigrate only / squawk only (shared rules)   | all: dfmigrate ; squawk")
    for r in rows:
        diff = ", ".join(r["only_dfmigrate"]) + " / " + ", ".join(r["only_squawk"]) if not r["agree"] else ""
        print(f"{r['file']:<{width}}  {'yes' if r['agree'] else 'NO ':<5}  {diff:<44} | "
              f"{', '.join(r['dfmigrate']) or '-'} ; {', '.join(r['squawk']) or '-'}")
    print()
    print(f"agreement on shared rules: {agree} of {len(rows)} files")
    print(f"{'tool':<22} {'wall s':>7}  ratio")
    print(f"{version:<22} {squawk_s:7.3f}  1.00")
    print(f"{'dfmigrate lint':<22} {ours_s:7.3f}  {ours_s / squawk_s:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "squawk_s": squawk_s, "dfmigrate_s": ours_s,
                                               "squawk_version": version}, indent=2))
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""Applying migrations: Kailash's ``MigrationRunner``, repaired (``runner``), our history table
(``ledger``), one connection interface for both dialects (``connections``), the Kailash
``ResourceRegistry`` that owns every connection and scratch database (``resources``), and the
apply-side commands (``commands``).

Nothing is imported here: ``runner`` imports Kailash (about a second), so callers import the
submodule they need, inside the command that needs it.
"""

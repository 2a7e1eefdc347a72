"""Guarded apply (issue 4): the advisory-lock race guard (``lock``), lock/statement timeouts with
blocker reports (``blockers``), and Kailash's in-memory verdict engines fed with what PostgreSQL
shows (``detectors``). ``options`` holds the knobs. Nothing is imported here: ``detectors``
imports Kailash, so callers import the submodule they need, inside the command."""

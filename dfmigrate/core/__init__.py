"""The core pipeline: the schema model and what is computed from it, with no I/O.

``schema`` (what a database schema is) → ``changes`` (what can change; the diff in
``dfmigrate.diff`` finds them) → ``deps`` and ``plan`` (in which order, a networkx graph) →
``statement`` / ``step`` (rendered SQL with its lock, target and hazards as data) → ``engine``
(the pipeline in one call). ``fold`` applies changes to a schema (the replay of a migrations
directory, in memory); ``serialize`` turns a schema into JSON and a fingerprint; ``expect`` is
what a migration expects to find; ``classify`` reads facts from hand-written SQL; ``describe``
and ``hints`` word a plan for people.
"""

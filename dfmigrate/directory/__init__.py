"""The migrations directory (docs/lifecycle.md): files, integrity sum, writer, replay, make.

Only the light parts are re-exported here (no engine, no drivers, no Kailash), so that the
runner and the CLI can check integrity cheaply:

- ``directory``: which files are migrations, their order, loading them; ``MigrationDir``
- ``sumfile``: ``dfmigrate.sum`` (``verify``, ``write_sum``, ``rehash``, ``IntegrityError``)
- ``writer``: migration files through Kailash's ``MigrationGenerator``, extended
- ``ops``: typed changes written as constructor calls and read back; steps rendered from changes
- ``replay``: the schema a directory produces (``schema_of_directory``): the fold of its
  operations, cached
- ``make``: ``makemigrations``
- ``offline``: ``migrate --sql`` / ``rollback --sql`` scripts
"""

from dfmigrate.directory.files import (
    LocalDir,
    MemDir,
    MigrationDir,
    as_dir,
    directory_dialect,
    load_all,
    load_migration,
    migration_names,
)
from dfmigrate.directory.sumfile import SUM_FILE, IntegrityError, Reason, rehash, verify, write_sum

__all__ = [
    "SUM_FILE", "IntegrityError", "LocalDir", "MemDir", "MigrationDir", "Reason", "as_dir",
    "directory_dialect", "load_all", "load_migration", "migration_names", "rehash", "verify",
    "write_sum",
]

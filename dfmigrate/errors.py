"""Errors the user can act on. The CLI prints ``str(error)`` on one line and exits 2; anything
else escaping a command is a bug and is reported as such."""


class DfmigrateError(Exception):
    """Base for every error with a message meant for the user."""


class SourceError(DfmigrateError):
    """A schema source could not be read: unknown spec, unreachable database, bad model file,
    SQL that failed to load."""


class UnsupportedError(DfmigrateError):
    """The input uses something dfmigrate cannot represent or render (named in the message)."""


class UnsupportedChange(UnsupportedError):
    """A renderer has no rule for this change on this dialect."""

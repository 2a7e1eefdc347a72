"""The migration lock on SQLite: an exclusive ``flock()`` on the database file, polled like the
servers' locks and held for the whole run, so that a second run reads the history only once
the first is done (without it, two runs both planned the same pending migrations and the
second was refused half-way, its plan stale).

SQLite's own locking uses POSIX ``fcntl`` byte-range locks, which are separate from ``flock()``
on Linux, macOS and the BSDs: the application's connections never wait for this lock, only
another ``migrate`` does. The kernel drops it when the process ends, a kill -9 included. Where
``flock`` does not exist (Windows), runs are not serialized beyond SQLite's own write lock.
"""

from __future__ import annotations

import os

from dfmigrate.guard.lock import Held, poll_lock


class SqliteMigrationLock:
    """The lock on the database file at ``path``, for one run."""

    def __init__(self, path: str, *, wait: float, poll: float) -> None:
        self.path, self.wait, self.poll = path, wait, poll
        self.fd = -1
        self.held: Held | None = None

    async def acquire(self) -> Held | None:
        """Poll for the lock for up to ``wait`` seconds; raise ``LockBusy`` when another run
        keeps it. None where the platform has no ``flock``."""
        try:
            import fcntl
        except ImportError:  # Windows: no flock; SQLite's write lock still serializes each migration
            return None
        self.fd = os.open(self.path, os.O_RDONLY)

        async def take() -> tuple[bool, int | None, str]:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False, None, "by another process"
            return True, None, ""

        try:
            waited, attempts, seen = await poll_lock(take, f"the lock on {self.path}", wait=self.wait, poll=self.poll)
        except BaseException:
            self.close()
            raise
        self.held = Held(0, waited, attempts, seen, mode="file")
        return self.held

    async def release(self) -> bool:
        self.close()
        return True

    def close(self) -> None:
        """Idempotent: also called when the connection closes (a run that failed or was
        interrupted releases it there)."""
        self.held = None
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)  # closing the only descriptor releases the flock

"""The guard's knobs (``dfmigrate migrate --lock-wait/--lock-timeout/--statement-timeout/--retries/--lock-mode``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GuardOptions:
    lock_wait: float = 0.0  # seconds to poll for the advisory lock; 0 = one attempt (the CLI defaults to 30)
    lock_timeout: float = 2.0  # SET LOCAL lock_timeout for every migration transaction (PostgreSQL)
    statement_timeout: float = 0.0  # SET LOCAL statement_timeout; 0 = none
    retries: int = 2  # extra attempts of a migration whose transaction hit lock_timeout
    backoff: float = 0.5  # first back-off in seconds; doubles per retry (with jitter)
    poll: float = 0.1  # advisory-lock polling interval (jittered) and blocker-watch interval
    # terminate sessions holding a lock a statement would queue behind (guard.precheck); opt-in
    cancel_blockers: bool = False
    # "auto": "transaction" behind a pooling proxy, else "session" (guard.lock)
    lock_mode: str = "auto"

    def __post_init__(self) -> None:
        from dfmigrate.errors import DfmigrateError

        for name in ("lock_wait", "lock_timeout", "statement_timeout", "backoff"):
            if getattr(self, name) < 0:
                raise DfmigrateError(f"--{name.replace('_', '-')} must not be negative")
        if self.retries < 0:
            raise DfmigrateError("--retries must not be negative")
        if self.lock_mode not in ("auto", "session", "transaction"):
            raise DfmigrateError("--lock-mode must be auto, session or transaction")

    @property
    def blocker_wait(self) -> float:
        """How long a step waits for the holders of a conflicting lock to go before the deadlock
        detector's timeout verdict stops it: as long as its retries would have waited."""
        return self.lock_timeout * (self.retries + 1)

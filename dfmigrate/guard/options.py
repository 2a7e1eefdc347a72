"""The guard's knobs (``dfmigrate migrate --lock-wait/--lock-timeout/--statement-timeout/--retries``)."""

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
    lock_mode: str = "session"  # or "transaction": survives a transaction-pooling proxy (guard.lock)

    def __post_init__(self) -> None:
        from dfmigrate.errors import DfmigrateError

        for name in ("lock_wait", "lock_timeout", "statement_timeout", "backoff"):
            if getattr(self, name) < 0:
                raise DfmigrateError(f"--{name.replace('_', '-')} must not be negative")
        if self.retries < 0:
            raise DfmigrateError("--retries must not be negative")
        if self.lock_mode not in ("session", "transaction"):
            raise DfmigrateError("--lock-mode must be session or transaction")

"""When a group of steps is tried again: only after its lock_timeout expired (SQLSTATE 55P03;
MySQL error 1205), at most ``retries`` more times, after a jittered exponential back-off. Every
other failure ends the migration at once."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired
MYSQL_LOCK_WAIT_TIMEOUT = 1205  # lock_wait_timeout (a metadata lock) or innodb_lock_wait_timeout expired


def lock_timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return True
        if type(seen).__module__.startswith("asyncmy") and seen.args[:1] == (MYSQL_LOCK_WAIT_TIMEOUT,):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # extra attempts after the first
    backoff: float = 0.5  # seconds before the first retry; doubles per retry (±25 % jitter)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        return lock_timed_out(exc) and attempt <= self.retries

    async def wait(self, attempt: int) -> None:
        await asyncio.sleep(self.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.25))

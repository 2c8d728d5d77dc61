"""Hold sends to a rate without ever exceeding it, across threads and across processes.

Each send gets the next free slot, 1/rate after the previous one: strict spacing rather
than a token bucket, because a carrier counts bursts too. Slots are handed out under a lock
and waited for outside it, so many threads can be queued at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from outreach.db.tables import send_rates

SAFETY_MARGIN = 0.02


class Limiter(Protocol):
    def acquire(self) -> float:
        """Return once this caller may send."""
        ...


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"a send rate must be above zero, got {per_second!r}")
        # 2% slower than the limit: a send leaves a few milliseconds after its slot, and
        # that jitter must not let two sends land closer than the provider allows.
        self.interval = 1.0 / (per_second * (1 - SAFETY_MARGIN))
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the slot's time (on the monotonic clock)."""
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - self._monotonic()
        if wait > 0:
            self._sleep(wait)
        return slot


class SharedRateLimiter:
    """The same strict spacing, shared by every process that sends for one sender: the next
    free slot lives in one database row (`sendrate`), so four workers at 1 text a second
    send 1 a second between them, not 4.

    Each slot is taken by one short UPDATE that moves the row on by one interval. On
    PostgreSQL the slot is measured on the database's clock and the wait is computed in the
    same statement, so the workers' own clocks (on several machines) need not agree; the
    row lock serialises the takers. SQLite serves one machine, whose clock every process
    shares. A slot taken by a worker that then dies is simply unused: the rate is a ceiling.
    """

    def __init__(
        self,
        engine: Engine,
        sender: str,
        per_second: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"a send rate must be above zero, got {per_second!r}")
        self.interval = 1.0 / (per_second * (1 - SAFETY_MARGIN))
        self.engine = engine
        self.sender = sender[:64]
        self._sleep = sleep
        self._postgres = engine.dialect.name == "postgresql"
        with engine.begin() as conn:
            exists = conn.execute(
                select(send_rates.c.sender).where(send_rates.c.sender == self.sender)
            ).first()
            if exists is None:
                insert_row = (
                    pg_insert(send_rates) if self._postgres else sqlite_insert(send_rates)
                ).on_conflict_do_nothing()
                conn.execute(insert_row, {"sender": self.sender, "next_slot": 0.0})

    def acquire(self) -> float:
        """Wait for this caller's slot; returns how long it waited, in seconds."""
        now: Any = (
            func.extract("epoch", func.clock_timestamp())
            if self._postgres
            else literal(time.time())
        )
        slot = func.greatest if self._postgres else func.max
        taken = (
            update(send_rates)
            .where(send_rates.c.sender == self.sender)
            .values(next_slot=slot(send_rates.c.next_slot, now) + self.interval)
            .returning(send_rates.c.next_slot - self.interval - now)
        )
        with self.engine.begin() as conn:
            wait = float(conn.execute(taken).scalar_one())
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

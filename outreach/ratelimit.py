"""Hold sends to a rate without ever exceeding it, across threads.

Each send gets the next free slot, 1/rate after the previous one: strict spacing rather
than a token bucket, because a carrier counts bursts too. Slots are handed out under a lock
and waited for outside it, so many threads can be queued at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SAFETY_MARGIN = 0.02


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

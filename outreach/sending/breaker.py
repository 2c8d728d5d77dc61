"""When the provider is down, stop sending for a while instead of failing every reminder.

After THRESHOLD transient failures in a row (5xx, 429, timeouts) the breaker opens: the
worker claims nothing and hands back what it had claimed, so reminders keep their attempts
for when the provider is back. After a pause one text is let through as a probe: if it goes,
sending resumes at the configured rate; if not, the pause doubles, up to MAX_PAUSE.

Each worker has its own breaker; they all see the same outage within a few sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("outreach.breaker")

THRESHOLD = 5
MAX_PAUSE = 600.0


class Breaker:
    def __init__(self, pause: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.first_pause = pause
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._failures = 0
        self._pause = pause
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        """True while paused, and while a probe is out (nothing else may go meanwhile)."""
        with self._lock:
            if self._open_until is None:
                return False
            return self._probing or self._monotonic() < self._open_until

    def allowed(self) -> int:
        """How many reminders may be claimed now: any number (-1), one probe (1), or none."""
        with self._lock:
            if self._open_until is None:
                return -1
            if self._probing or self._monotonic() < self._open_until:
                return 0
            self._probing = True
            return 1

    def succeeded(self) -> None:
        with self._lock:
            if self._open_until is not None:
                log.warning("the provider answers again: sending resumes")
            self._failures = 0
            self._pause = self.first_pause
            self._open_until = None
            self._probing = False

    def failed(self) -> None:
        """A transient failure: the provider may be down."""
        with self._lock:
            self._failures += 1
            if self._probing:
                self._pause = min(self._pause * 2, MAX_PAUSE)
            elif self._failures < THRESHOLD or self._open_until is not None:
                return
            self._probing = False
            self._open_until = self._monotonic() + self._pause
            log.warning(
                "the provider failed %d sends in a row: pausing sends for %.0f s",
                self._failures,
                self._pause,
            )

    def probe_done(self) -> None:
        """The probe ended some other way (skipped, released): let another one go."""
        with self._lock:
            self._probing = False

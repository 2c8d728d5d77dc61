"""One injectable clock: the service uses the system's, tests and the demo move their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to, so a simulated week takes seconds."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"ManualClock needs an aware datetime, got {start!r}")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot go backwards, got {delta!r}")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> datetime:
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"a clock cannot go backwards: {when} is before {self._now}")
        self._now = when
        return self._now

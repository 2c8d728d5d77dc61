"""How often a reminder's send is tried, and how long each retry waits."""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 5


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """The wait before the next try: the base after the first attempt, doubling."""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))

"""How often a reminder's send is tried, how long each retry waits, and when to give up.

Pure, like procrastinate's `get_retry_decision`: the dispatcher tells it what happened and
writes down what it answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_ATTEMPTS = 5
REASON_CHARS = 40  # reminder.skip_reason


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """The wait before the next try: the base after the first attempt, doubling."""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


def next_try(
    *,
    attempts: int,
    now: datetime,
    expires_at: datetime,
    base_seconds: int,
    permanent: bool = False,
) -> datetime | None:
    """When to try again after a send that did not go (or may not have), or None to give
    up: the error is permanent, the last attempt is spent, or the retry would come at or
    after the reminder's moment."""
    retry_at = now + backoff(attempts, base_seconds)
    if permanent or attempts >= MAX_ATTEMPTS or retry_at >= expires_at:
        return None
    return retry_at


def failure_reason(*, uncertain: bool, code: str | None) -> str:
    """The reason a reminder failed, as stored: whether it may have gone, else the
    provider's error code."""
    reason = "send_outcome_unknown" if uncertain else f"provider_{code or 'error'}"
    return reason[:REASON_CHARS]

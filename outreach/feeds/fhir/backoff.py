"""How long to wait after a FHIR server says "not now" (429, 5xx). Pure.

The server's Retry-After is honoured, in seconds or as an HTTP-date, up to a ceiling (a
server asking for an hour gets the sync stopped and resumed at the next run instead);
without one the wait doubles from a base, with jitter so that workers that failed together
do not come back together.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

ATTEMPTS = 4  # tries of one request before the sync stops and the next run resumes
BASE_SECONDS = 1.0
CEILING_SECONDS = 60.0
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
_RNG = random.Random()


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header ("120" or "Wed, 21 Oct 2026 07:28:00 GMT"), never
    negative; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110: an HTTP-date is always GMT
    return max(0.0, (when - now).total_seconds())


def wait_seconds(
    attempt: int,
    header: str | None,
    now: datetime,
    base: float = BASE_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """The wait before try `attempt + 1` (attempt counts from 1): the server's own figure
    if it gave one, else base * 2^(attempt-1) with "full jitter" over its upper half."""
    asked = retry_after(header, now)
    if asked is not None:
        return min(asked, CEILING_SECONDS)
    top = min(base * 2.0 ** max(attempt - 1, 0), CEILING_SECONDS)
    jitter = (rng or _RNG).uniform(0, top / 2)
    return top / 2 + jitter


def too_long(header: str | None, now: datetime) -> bool:
    """The server asks for more than the ceiling: stop now and let the next run resume."""
    asked = retry_after(header, now)
    return asked is not None and asked > CEILING_SECONDS

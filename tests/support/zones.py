"""Time zones with awkward transitions, and where each zone's transitions fall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

# Zones with unusual transitions: half hours, 30-minute DST, a skipped day, midnight changes.
AWKWARD = [
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "Australia/Adelaide",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Asia/Tehran",
    "America/St_Johns",
    "Africa/Casablanca",
    "Asia/Beirut",
]


@cache
def transitions(zone_name: str) -> list[datetime]:
    """Instants in 2010-2030 when the zone's UTC offset changes."""
    zone = ZoneInfo(zone_name)
    found = []
    instant = datetime(2010, 1, 1, tzinfo=UTC)
    end = datetime(2030, 1, 1, tzinfo=UTC)
    step = timedelta(hours=6)
    while instant < end:
        if instant.astimezone(zone).utcoffset() != (instant + step).astimezone(zone).utcoffset():
            low, high = instant, instant + step
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = mid
                else:
                    high = mid
            found.append(high)
        instant += step
    return found

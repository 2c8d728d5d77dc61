"""Durations kept as counts per bucket at the resolution staff read them
(rules/durations.spoken_duration): whole seconds up to 2 minutes, minutes up to 2 days,
hours beyond. A median read back from the buckets is therefore exactly what a median of
the raw durations would show on the page.

The median is the middle duration, and for an even count the lower of the middle two
(a "low median"): always one of the durations, so its bucket says how it reads. The mean of
two middle durations in different buckets could read as neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

MINUTE_FROM = 2 * 60
HOUR_FROM = 2 * 24 * 3600


def bucket(seconds: int) -> int:
    """The first second of the bucket `seconds` falls in; a negative wait is 0."""
    seconds = max(0, seconds)
    if seconds < MINUTE_FROM:
        return seconds
    if seconds < HOUR_FROM:
        return seconds - seconds % 60
    return seconds - seconds % 3600


def whole_seconds(value: timedelta) -> int:
    """Rounded to the millisecond first, as the databases' differences are, then floored."""
    return int(round(value.total_seconds(), 3) // 1)


def low_median(counts: Mapping[int, int]) -> timedelta | None:
    """The low median of a histogram {bucket seconds: count}; None when it is empty."""
    total = sum(counts.values())
    if not total:
        return None
    wanted = (total - 1) // 2  # index of the low median among the sorted durations
    seen = 0
    for start in sorted(counts):
        seen += counts[start]
        if seen > wanted:
            return timedelta(seconds=start)
    raise AssertionError("unreachable: the counts add up to total")


def histogram(durations: Iterable[timedelta]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in durations:
        key = bucket(whole_seconds(value))
        counts[key] = counts.get(key, 0) + 1
    return counts

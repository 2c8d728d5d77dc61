"""Wall-clock times in a patient's zone, and the DST policy from DESIGN.md.

Pure functions, no database. A time that does not exist (spring forward) moves to the
first valid minute after the gap; an ambiguous time (fall back) uses its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from outreach.rules.errors import ConfigError


@lru_cache(maxsize=1024)
def zone_named(key: str) -> ZoneInfo:
    """ZoneInfo caches only the last few zones strongly; past that, asking for a zone again
    can reread its file, and each fresh instance starts with empty conversion caches."""
    return ZoneInfo(key)


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in `zone`, under the DST policy."""
    first = naive.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == naive:
        return as_utc  # exists; fold=0 is the first occurrence when ambiguous
    # In a gap, fold=0 reads the wall time with the offset before the transition and
    # fold=1 with the offset after it, so the transition lies between the two instants.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = as_utc
    after_offset = first.replace(fold=1).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == after_offset:
            high = mid
        else:
            low = mid
    transition = high.replace(microsecond=0)
    # Round up to the next whole local minute: historical offsets can carry seconds.
    local = transition.astimezone(zone)
    if local.second or local.microsecond:
        transition += timedelta(seconds=60 - local.second)
    return transition


def at_local(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    # Only plain dates and naive times are cache keys: aware values compare equal across
    # different wall clocks.
    if type(day) is date and clock_time.tzinfo is None:
        return _cached_at_local(day, clock_time, zone)
    return localize(datetime.combine(day, clock_time), zone)


# Patients share a few zones and plan times, so planning a day for 100,000 of them asks
# the same thousand questions over a million times; localize costs several conversions.
@lru_cache(maxsize=16384)
def _cached_at_local(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    return localize(datetime.combine(day, clock_time), zone)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def is_quiet(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.contains(instant.astimezone(zone).time())


def quiet_edges(instant: datetime, zone: ZoneInfo, quiet: QuietHours) -> tuple[datetime, datetime]:
    """For an instant inside quiet hours: the last allowed minute before the quiet window
    began and the first allowed minute after it ends, both as UTC instants."""
    local = instant.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    # The night the instant belongs to started today if we are past the start, else yesterday.
    start_day = local.date() if t >= quiet.start else local.date() - timedelta(days=1)
    end_day = start_day + timedelta(days=1) if quiet.start > quiet.end else start_day
    before = at_local(start_day, quiet.start, zone) - timedelta(minutes=1)
    after = at_local(end_day, quiet.end, zone)
    # DST can shift a wall time; step outward until the edge really is outside the window.
    while is_quiet(before, zone, quiet):
        before -= timedelta(minutes=1)
    while is_quiet(after, zone, quiet):
        after += timedelta(minutes=1)
    return before, after


def place_outside_quiet(
    instant: datetime,
    zone: ZoneInfo,
    quiet: QuietHours,
    not_after: datetime | None = None,
    not_before: datetime | None = None,
) -> datetime | None:
    """Move an instant out of quiet hours to the nearer edge of the window (ties go later).

    `not_after` is the event the reminder is for: an edge at or after it is useless.
    `not_before` is the earliest moment a send may happen (usually now). Returns None when
    no edge works, which callers record as a skip.
    """
    if not is_quiet(instant, zone, quiet):
        return instant
    before, after = quiet_edges(instant, zone, quiet)
    ordered = sorted((before, after), key=lambda edge: (abs(edge - instant), edge != after))
    for edge in ordered:
        if not_after is not None and edge >= not_after:
            continue
        if not_before is not None and edge < not_before:
            continue
        return edge
    return None


# Quiet hours may be widened by a clinic but never narrowed past this window (TCPA-style 8-21).
LATEST_QUIET_START = time(21, 0)
EARLIEST_QUIET_END = time(8, 0)


@dataclass(frozen=True)
class QuietHours:
    """A nightly window [start, end) in patient-local time when nothing is sent."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def covers(self, other: QuietHours) -> bool:
        """Every minute quiet in `other` is quiet here too."""
        minutes = (time(m // 60, m % 60) for m in range(24 * 60))
        return all(self.contains(t) for t in minutes if other.contains(t))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=256)
def patient_quiet_hours(own: str | None, clinic: QuietHours) -> QuietHours:
    """A patient's own quiet hours (stored already checked to cover the clinic's), or the
    clinic's."""
    return clinic if not own else parse_quiet_hours(own, "patient.quiet_hours")


def parse_hhmm(value: object, key: str) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ConfigError(f"{key} must look like '08:30', got {value!r}")
    hours, minutes = (int(part) for part in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ConfigError(f"{key} must be a time of day between 00:00 and 23:59, got {value!r}")
    return time(hours, minutes)


def parse_quiet_hours(value: object, key: str = "sending.quiet_hours") -> QuietHours:
    if not isinstance(value, str) or not re.fullmatch(
        r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", value
    ):
        raise ConfigError(f"{key} must look like '21:00-08:00', got {value!r}")
    start_text, end_text = value.split("-")
    try:
        quiet = QuietHours(parse_hhmm(start_text, key), parse_hhmm(end_text, key))
    except ConfigError:
        # Quote the whole setting, not just the half that was out of range.
        raise ConfigError(
            f"{key} must be two times of day between 00:00 and 23:59, got {value!r}"
        ) from None
    if quiet.start == quiet.end:
        raise ConfigError(f"{key} must not start and end at the same time, got {value!r}")
    covers_night = (
        quiet.start > quiet.end
        and quiet.start <= LATEST_QUIET_START
        and quiet.end >= EARLIEST_QUIET_END
    )
    if not covers_night:
        raise ConfigError(
            f"{key} must cover at least 21:00-08:00 (texts only between 08:00 and 21:00), "
            f"got {value!r}"
        )
    return quiet


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local days `first` to `last`, both included, as UTC instants [first 00:00, the day
    after last 00:00): a day of a DST change is 23 or 25 hours long."""
    return at_local(first, time(0), zone), at_local(last + timedelta(days=1), time(0), zone)

"""Instants as staff read them: a wall-clock time with its zone's abbreviation, and ISO-8601
UTC for scripts. The rule (docs/times.md): every time shown carries its zone; what concerns
a patient's day is shown in the patient's zone, clinic-wide lists in the clinic's.

"20:00 CDT" for a Chicago patient's foot check, never a bare "21:00" that reads, in a clinic
an hour east, like a text sent in quiet hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.rules.localtime import zone_named

DEFAULT_FORMAT = "%a %d %b %H:%M"


def readable_time(
    instant: datetime, zone: ZoneInfo | str, fmt: str = DEFAULT_FORMAT, label: bool = True
) -> str:
    """'Mon 26 Oct 20:00 CDT': the instant on the wall clock of `zone` (a ZoneInfo or its
    IANA name), followed by the zone's abbreviation unless `label` is False."""
    local = _aware(instant).astimezone(zone_named(zone) if isinstance(zone, str) else zone)
    shown = local.strftime(fmt)
    return f"{shown} {zone_abbreviation(local)}" if label else shown


def zone_abbreviation(local: datetime) -> str:
    """'CDT', 'CST', 'CEST', 'IST', 'UTC' for an aware datetime. Zones the tz database gives
    no letters ('-03' for São Paulo, '+0545' for Kathmandu) read as 'UTC-3' and 'UTC+5:45':
    a bare '-03' after a time looks like arithmetic."""
    name = _aware(local).tzname() or ""
    if any(ch.isalpha() for ch in name):
        return name
    return utc_offset_label(local.utcoffset() or timedelta(0))


def utc_offset_label(offset: timedelta) -> str:
    """'UTC', 'UTC-3', 'UTC+5:45', 'UTC+13:45'."""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def utc_iso(instant: datetime) -> str:
    """'2026-10-27T01:00:00Z': ISO-8601 in UTC to the second, for scripts (`--utc`)."""
    return _aware(instant).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _aware(instant: datetime) -> datetime:
    # A naive value has no instant: guessing its zone is how a time ends up an hour off.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"refusing to show a naive datetime: {instant!r}")
    return instant

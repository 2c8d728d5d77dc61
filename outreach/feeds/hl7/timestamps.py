"""HL7 v2 times (TS and DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) as aware datetimes.

Pure. A time with an offset is that instant; a time without one is wall-clock time at the
clinic (most practice-management systems send local time with no offset), placed by the DST
policy of rules/localtime.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from outreach.rules.localtime import localize

# Some systems write the offset as +HH:MM; the standard's +HHMM is what the rest send.
_TS = re.compile(
    r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?(?:([+-])(\d{2}):?(\d{2}))?"
)


class BadTime(ValueError):
    """Not an HL7 time, or less precise than the use needs; the words say which."""


def parse_time(value: str, zone: ZoneInfo, *, to_the_minute: bool = False) -> datetime:
    """`to_the_minute`: an appointment's start needs its hour and minute, not a day alone."""
    text = value.strip()
    found = _TS.fullmatch(text)
    if found is None:
        raise BadTime(f"{text!r} is not an HL7 time (YYYYMMDDHHMM[SS][+ZZZZ])")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = found.groups()
    if to_the_minute and minute is None:
        raise BadTime(f"{text!r} gives no time of day to the minute")
    try:
        naive = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
        if sign is None:
            return localize(naive, zone)
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset >= timedelta(hours=24):
            raise ValueError("offset out of range")
        aware = naive.replace(tzinfo=timezone(-offset if sign == "-" else offset))
        return aware.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadTime(f"{text!r} is not a valid date and time") from None


def format_time(instant: datetime) -> str:
    """An instant as HL7 writes it, in UTC with its offset: 20261123120000+0000."""
    return instant.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")

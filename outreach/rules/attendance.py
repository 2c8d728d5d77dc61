"""What a session's mark means and what follows from it. Pure: the caller gathers the facts.

Staff mark each session attended, no-show, cancelled by the patient or cancelled by the
clinic (rules/vocabulary.Attendance). A no-show gets one text the same day, inside the
patient's quiet hours; two no-shows in a row raise a routine escalation. A cancellation
close to the start is late (the report counts them); one made with enough notice frees the
slot for the waitlist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.rules.errors import ConfigError
from outreach.rules.localtime import QuietHours, at_local, place_outside_quiet
from outreach.rules.vocabulary import Attendance

NO_SHOWS_TO_ESCALATE = 2  # in a row, counting the one just marked


def parse_mark(word: str) -> Attendance:
    """'no-show', 'no_show', 'No-Show' -> Attendance.NO_SHOW; anything else names the choices."""
    folded = word.strip().lower().replace("_", "-")
    for mark in Attendance:
        if mark.word == folded:
            return mark
    choices = ", ".join(mark.word for mark in Attendance)
    raise ConfigError(f"{word!r} is not a mark; use one of: {choices}")


def why_not_mark(mark: Attendance, starts_at: datetime, now: datetime) -> str | None:
    """Why this mark cannot be given now, in words; None if it can. Attendance is known
    only once a session has begun; a cancellation may be recorded before or after."""
    if mark in (Attendance.ATTENDED, Attendance.NO_SHOW) and now < starts_at:
        return "the session has not started yet: it can be cancelled, not marked attended or missed"
    return None


def is_late_cancellation(starts_at: datetime, cancelled_at: datetime, late_hours: int) -> bool:
    """Cancelled less than `late_hours` before the start (or after it)."""
    return cancelled_at > starts_at - timedelta(hours=late_hours)


def frees_slot(starts_at: datetime, cancelled_at: datetime, min_notice_hours: int) -> bool:
    """Cancelled early enough for the waitlist to be offered the slot."""
    return cancelled_at <= starts_at - timedelta(hours=min_notice_hours)


def no_shows_in_a_row(marks: Sequence[str | None]) -> int:
    """Marks of a patient's past sessions, newest first (None: not marked): how many of the
    latest marked sessions in a row were missed. Unmarked and cancelled sessions neither
    count nor break the run: they say nothing of whether the patient comes."""
    count = 0
    for mark in marks:
        if mark == Attendance.NO_SHOW:
            count += 1
        elif mark == Attendance.ATTENDED:
            break
    return count


def escalates(no_shows: int) -> bool:
    return no_shows >= NO_SHOWS_TO_ESCALATE


def no_show_text_time(
    now: datetime, zone: ZoneInfo, quiet: QuietHours
) -> tuple[datetime, datetime] | None:
    """When the one no-show text goes (send at, expires at): the same local day, outside
    quiet hours. None when the day has no time left for it: no text late, none tomorrow."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    day_end = at_local(tomorrow, time(0), zone)
    send_at = place_outside_quiet(now, zone, quiet, not_after=day_end, not_before=now)
    return None if send_at is None else (send_at, day_end)


def awaits_mark(
    starts_at: datetime, attendance: str | None, live: bool, zone: ZoneInfo, now: datetime
) -> bool:
    """A session still on whose clinic day (in `zone`) has ended without a mark: Today
    lists it until someone marks it."""
    if attendance is not None or not live:
        return False
    next_day = starts_at.astimezone(zone).date() + timedelta(days=1)
    return now >= at_local(next_day, time(0), zone)

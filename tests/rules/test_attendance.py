"""The attendance rules, one row per case: marks, late cancellations, the waitlist's notice,
no-shows in a row, the no-show text's time and the sessions Today asks staff to mark."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from outreach.rules.attendance import (
    awaits_mark,
    escalates,
    frees_slot,
    is_late_cancellation,
    no_show_text_time,
    no_shows_in_a_row,
    parse_mark,
    why_not_mark,
)
from outreach.rules.errors import ConfigError
from outreach.rules.localtime import QuietHours
from outreach.rules.vocabulary import Attendance

CHICAGO = ZoneInfo("America/Chicago")
QUIET = QuietHours(time(21), time(8))
# A session on Monday 23 November 2026 at 10:00 in Chicago (16:00 UTC).
STARTS = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "mark"),
    [
        ("attended", Attendance.ATTENDED),
        ("no-show", Attendance.NO_SHOW),
        ("No-Show", Attendance.NO_SHOW),
        ("no_show", Attendance.NO_SHOW),
        (" cancelled-by-patient ", Attendance.CANCELLED_BY_PATIENT),
        ("cancelled-by-clinic", Attendance.CANCELLED_BY_CLINIC),
    ],
)
def test_a_mark_is_read_in_any_case_with_dashes_or_underscores(word: str, mark: Attendance) -> None:
    assert parse_mark(word) is mark


@pytest.mark.parametrize("word", ["", "noshow", "cancelled", "canceled-by-patient", "came"])
def test_an_unknown_mark_names_the_choices(word: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_mark(word)
    assert "attended, no-show, cancelled-by-patient, cancelled-by-clinic" in str(raised.value)


@pytest.mark.parametrize(
    ("mark", "now", "allowed"),
    [
        (Attendance.ATTENDED, utc(23, 15, 59), False),  # a minute before it starts
        (Attendance.ATTENDED, utc(23, 16), True),
        (Attendance.NO_SHOW, utc(23, 15), False),
        (Attendance.NO_SHOW, utc(24, 9), True),  # marked the next morning
        (Attendance.CANCELLED_BY_PATIENT, utc(20, 12), True),  # days ahead
        (Attendance.CANCELLED_BY_CLINIC, utc(23, 15), True),
        (Attendance.CANCELLED_BY_PATIENT, utc(23, 18), True),  # called in after the fact
    ],
)
def test_attendance_is_marked_once_a_session_began_and_a_cancellation_at_any_time(
    mark: Attendance, now: datetime, allowed: bool
) -> None:
    assert (why_not_mark(mark, STARTS, now) is None) is allowed


@pytest.mark.parametrize(
    ("cancelled_at", "late"),
    [
        (utc(21, 16), False),  # two days ahead
        (utc(22, 16), False),  # exactly 24 hours ahead: not late
        (utc(22, 16, 1), True),
        (utc(23, 15), True),
        (utc(23, 17), True),  # after the start
    ],
)
def test_a_cancellation_is_late_within_the_configured_hours(
    cancelled_at: datetime, late: bool
) -> None:
    assert is_late_cancellation(STARTS, cancelled_at, 24) is late


@pytest.mark.parametrize(
    ("cancelled_at", "frees"),
    [
        (utc(23, 12), True),  # exactly 4 hours' notice
        (utc(23, 12, 1), False),
        (utc(22, 9), True),
        (utc(23, 17), False),
    ],
)
def test_a_slot_goes_to_the_waitlist_only_with_enough_notice(
    cancelled_at: datetime, frees: bool
) -> None:
    assert frees_slot(STARTS, cancelled_at, 4) is frees


N, A, P, C = (
    Attendance.NO_SHOW,
    Attendance.ATTENDED,
    Attendance.CANCELLED_BY_PATIENT,
    Attendance.CANCELLED_BY_CLINIC,
)


@pytest.mark.parametrize(
    ("marks", "count", "escalate"),
    [
        ([], 0, False),
        ([N], 1, False),
        ([N, N], 2, True),
        ([N, A, N], 1, False),
        ([N, None, N], 2, True),  # an unmarked session between says nothing
        ([N, P, C, N, A, N], 2, True),  # cancellations neither count nor break the run
        ([A, N, N], 0, False),  # came to the latest one
        ([N, N, N], 3, True),
    ],
)
def test_no_shows_in_a_row_count_back_to_the_last_session_attended(
    marks: list[str | None], count: int, escalate: bool
) -> None:
    assert no_shows_in_a_row(marks) == count
    assert escalates(count) is escalate


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 11:00 in Chicago: at once, until the local midnight.
        (utc(23, 17), (utc(23, 17), utc(24, 6))),
        # 06:30 in Chicago (quiet): at 08:00.
        (utc(23, 12, 30), (utc(23, 14), utc(24, 6))),
        # 20:59 in Chicago: still in time.
        (utc(24, 2, 59), (utc(24, 2, 59), utc(24, 6))),
        # 21:30 in Chicago: no text today, and none tomorrow.
        (utc(24, 3, 30), None),
    ],
)
def test_the_no_show_text_goes_the_same_day_outside_quiet_hours_or_not_at_all(
    now: datetime, expected: tuple[datetime, datetime] | None
) -> None:
    assert no_show_text_time(now, CHICAGO, QUIET) == expected


@pytest.mark.parametrize(
    ("now", "attendance", "live", "awaits"),
    [
        (utc(23, 20), None, True, False),  # 14:00 the same day: the day is not over
        (utc(24, 5, 59), None, True, False),  # 23:59 in Chicago
        (utc(24, 6), None, True, True),  # midnight: the clinic day has ended
        (utc(30, 6), None, True, True),  # a week later, still unmarked
        (utc(24, 9), Attendance.ATTENDED, True, False),
        (utc(24, 9), None, False, False),  # cancelled or moved: nothing to mark
    ],
)
def test_today_lists_a_session_still_unmarked_once_its_clinic_day_is_over(
    now: datetime, attendance: str | None, live: bool, awaits: bool
) -> None:
    assert awaits_mark(STARTS, attendance, live, CHICAGO, now) is awaits

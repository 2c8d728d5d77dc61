"""What the patient page counts: foot-check days and exercise days in the patient's own
dates (across a DST change) and weekly completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.rules.adherence import (
    Answer,
    Day,
    Prompt,
    exercise_days,
    foot_calendar,
    weekly_completion,
)

NEW_YORK = ZoneInfo("America/New_York")
# Clocks went back on Sunday 1 November 2026: 08:30 was 12:30 UTC before, 13:30 after.
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def prompt(id: int, sent: datetime, answered: bool = False) -> Prompt:
    return Prompt(id, sent, sent + timedelta(hours=18), answered)


def states(days: list[Day]) -> dict[date, str]:
    return {d.day: d.state for d in days}


def test_the_calendar_is_28_local_days_ending_today_across_the_dst_change() -> None:
    calendar = foot_calendar([], [], NEW_YORK, NOW)

    days = [d.day for d in calendar]
    assert len(days) == 28 and days[-1] == date(2026, 11, 23)
    assert days == [date(2026, 10, 27) + timedelta(days=n) for n in range(28)]
    assert set(states(calendar).values()) == {"none"}


def test_foot_check_days_are_classified_by_the_patients_own_date() -> None:
    prompts = [
        prompt(1, utc(2026, 10, 31, 12, 30)),  # Sat 08:30 EDT, answered OK
        prompt(2, utc(2026, 11, 1, 13, 30)),  # Sun 08:30 EST, answered 2 late that evening
        prompt(3, utc(2026, 11, 2, 13, 30)),  # Mon, never answered
        prompt(4, utc(2026, 11, 23, 13, 30)),  # today, still open
    ]
    answers = [
        Answer("foot_ok", utc(2026, 10, 31, 13, 0), 1),
        # 23:30 on Sunday in New York is already Monday in UTC.
        Answer("foot_problem", utc(2026, 11, 2, 4, 30), 2),
        # Answered without a prompt we know of: counted on its own local date (Tue 3rd).
        Answer("foot_ok", utc(2026, 11, 4, 3, 0), None),
    ]

    found = states(foot_calendar(prompts, answers, NEW_YORK, NOW))

    assert found[date(2026, 10, 31)] == "ok"
    assert found[date(2026, 11, 1)] == "problem"
    assert found[date(2026, 11, 2)] == "missed"
    assert found[date(2026, 11, 3)] == "ok"
    assert found[date(2026, 11, 4)] == "none"
    assert found[date(2026, 11, 23)] == "waiting"


def test_a_problem_outranks_an_ok_on_the_same_day() -> None:
    prompts = [prompt(1, utc(2026, 11, 20, 13, 30))]
    answers = [
        Answer("foot_ok", utc(2026, 11, 20, 14, 0), 1),
        Answer("foot_problem", utc(2026, 11, 20, 15, 0), None),
    ]

    assert states(foot_calendar(prompts, answers, NEW_YORK, NOW))[date(2026, 11, 20)] == "problem"


def test_exercise_days_record_done_with_pain_skipped_and_no_answer() -> None:
    prompts = [
        prompt(1, utc(2026, 11, 3, 22, 0)),  # Tue 17:00 EST
        prompt(2, utc(2026, 11, 5, 22, 0)),  # Thu
        prompt(3, utc(2026, 11, 7, 22, 0)),  # Sat
        prompt(4, utc(2026, 11, 23, 17, 0)),  # today, still open
    ]
    answers = [
        Answer("exercise_done", utc(2026, 11, 4, 1, 30), 1, 4),  # Tue 20:30 local
        Answer("exercise_skipped", utc(2026, 11, 5, 23, 0), 2),
    ]

    days = exercise_days(prompts, answers, NEW_YORK, NOW)

    assert [(d.day, d.state, d.value) for d in days] == [
        (date(2026, 11, 3), "done", 4),
        (date(2026, 11, 5), "skipped", None),
        (date(2026, 11, 7), "missed", None),
        (date(2026, 11, 23), "waiting", None),
    ]


@pytest.mark.parametrize(
    ("week", "expected"),
    [
        # done, skipped, missed: 1 of 3 days done
        ([("done", 2), ("skipped", 4), ("missed", 6)], 33),
        ([("done", 2), ("done", 4)], 100),
        ([("missed", 2)], 0),
        ([], None),  # no exercise day that week: a gap, not 0%
    ],
)
def test_weekly_completion_is_the_share_of_settled_exercise_days_done(
    week: list[tuple[str, int]], expected: int | None
) -> None:
    monday = date(2026, 11, 16)
    days = [Day(monday + timedelta(days=offset), state) for state, offset in week]
    # Today's open prompt does not count against this week.
    days.append(Day(date(2026, 11, 23), "waiting"))

    weeks = weekly_completion(days, NOW, NEW_YORK)

    assert len(weeks) == 8 and weeks[-1].day == date(2026, 11, 23)
    assert weeks[-1].value is None
    assert weeks[-2].day == monday and weeks[-2].value == expected

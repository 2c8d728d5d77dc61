"""Occurrences: never in quiet hours, never duplicated, none lost, whatever the zone or DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.rules.localtime import QuietHours, at_local
from outreach.rules.schedule import (
    Phase,
    PlanSpec,
    appointments,
    daily_occurrences,
    parse_weekdays,
    session_reminders,
)
from tests.support.zones import AWKWARD, transitions

QUIET = QuietHours(time(21), time(8))


@st.composite
def plans(draw: st.DrawFn) -> PlanSpec:
    start = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 1, 1)))
    clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
    weekdays = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
    phases = st.lists(st.builds(Phase, weekdays, clock_times, st.integers(1, 6)), max_size=3)
    return PlanSpec(
        start_date=start,
        end_date=draw(st.none() | st.just(start + timedelta(days=draw(st.integers(0, 90))))),
        phases=tuple(draw(phases)),
        foot_check_time=draw(st.none() | clock_times),
        exercise_days=draw(weekdays),
        exercise_time=draw(st.none() | clock_times),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ZoneInfo, PlanSpec, datetime, list[datetime]]:
    """A zone, a plan, and a 10-day period around one of the zone's DST changes, cut into
    consecutive planning windows at random points."""
    name = draw(st.sampled_from(AWKWARD))
    zone = ZoneInfo(name)
    moments = [m for m in transitions(name) if m.year >= 2025] or [datetime(2026, 6, 1, tzinfo=UTC)]
    around = draw(st.sampled_from(moments))
    start = around - timedelta(days=5)
    plan = draw(plans())
    plan = PlanSpec(
        start_date=start.date() - timedelta(days=draw(st.integers(0, 20))),
        end_date=None,
        phases=plan.phases,
        foot_check_time=plan.foot_check_time,
        exercise_days=plan.exercise_days,
        exercise_time=plan.exercise_time,
    )
    cuts = sorted(draw(st.lists(st.integers(1, 10 * 24 * 60 - 1), max_size=6, unique=True)))
    bounds = [start] + [start + timedelta(minutes=c) for c in cuts] + [start + timedelta(days=10)]
    return zone, plan, start, bounds


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_daily_prompts_are_planned_once_each_and_outside_quiet_hours(
    case: tuple[ZoneInfo, PlanSpec, datetime, list[datetime]],
) -> None:
    zone, plan, now, bounds = case
    found = []
    for start, end in pairwise(bounds):
        found += daily_occurrences(plan, zone, QUIET, start, end, now)

    keys = [(o.kind, o.occurrence) for o in found]
    assert len(keys) == len(set(keys)), "never duplicated"

    expected = set()
    day = bounds[0].astimezone(zone).date() - timedelta(days=1)
    while day <= bounds[-1].astimezone(zone).date() + timedelta(days=1):
        for kind, at, on in (
            ("foot_check", plan.foot_check_time, True),
            ("exercise", plan.exercise_time, day.weekday() in plan.exercise_days),
        ):
            if at is not None and on and day >= plan.start_date:
                nominal = at_local(day, at, zone)
                if bounds[0] <= nominal < bounds[-1]:
                    expected.add((kind, day.isoformat()))
        day += timedelta(days=1)
    assert set(keys) == expected, "none lost"

    for occurrence in found:
        if occurrence.skip_reason is None:
            local = occurrence.send_at.astimezone(zone)
            assert not QUIET.contains(local.time()), "never inside quiet hours"
            assert local.date().isoformat() == occurrence.occurrence, "sent on its own day"
            assert occurrence.send_at < occurrence.expires_at
        else:
            assert occurrence.skip_reason == "quiet_hours"


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.sets(st.sampled_from([1, 2, 24, 48]), min_size=1))
def test_session_reminders_come_before_the_session_and_outside_quiet_hours(
    case: tuple[ZoneInfo, PlanSpec, datetime, list[datetime]], leads: set[int]
) -> None:
    zone, plan, now, bounds = case
    starts: list[datetime] = []
    for start, end in pairwise(bounds):
        starts += appointments(plan, zone, start, end)

    assert len(starts) == len(set(starts))
    for index, starts_at in enumerate(starts):
        for reminder in session_reminders(
            index, starts_at, zone, QUIET, tuple(sorted(leads, reverse=True)), now
        ):
            assert reminder.expires_at == starts_at
            if reminder.skip_reason is None:
                assert now <= reminder.send_at < starts_at
                assert not QUIET.contains(reminder.send_at.astimezone(zone).time())


def test_a_session_time_that_does_not_exist_moves_past_the_gap() -> None:
    zone = ZoneInfo("America/New_York")
    plan = PlanSpec(start_date=date(2026, 3, 1), phases=(Phase((6,), time(2, 30), 4),))
    window = (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))

    [sunday] = appointments(plan, zone, *window)

    assert sunday.astimezone(zone).strftime("%Y-%m-%d %H:%M") == "2026-03-08 03:00"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon wed fri", (0, 2, 4)),
        ("Mon,Wed,Fri", (0, 2, 4)),
        ("tue/thu", (1, 3)),
        ("monday thursday", (0, 3)),
        ("lun mié vie", (0, 2, 4)),
        ("", ()),
    ],
)
def test_weekdays_are_read_in_the_ways_staff_write_them(text: str, days: tuple[int, ...]) -> None:
    assert parse_weekdays(text) == days


def test_a_word_that_is_not_a_weekday_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'funday'"):
        parse_weekdays("mon funday")

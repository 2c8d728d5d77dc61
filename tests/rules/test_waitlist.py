"""The waitlist's rules (rules/waitlist.py): the fields staff type, which slots fit whom in
their own zone, who is offered a slot first, and until when an offer stands."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.rules.localtime import QuietHours
from outreach.rules.waitlist import (
    Availability,
    Candidate,
    availability,
    fits,
    matching,
    next_round,
    offer_expires,
    parse_days,
    parse_hours,
    still_offered,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# Wednesday 25 November 2026, 15:00 UTC: 10:00 in New York, 07:00 in Los Angeles.
SLOT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
MORNINGS = availability("mon wed fri", "08:00-12:00")
QUIET = QuietHours(time(21), time(8))


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        ("Mon Wed Fri", (0, 2, 4)),
        ("mon,wed", (0, 2)),
        ("sun", (6,)),
        ("lun mié vie", (0, 2, 4)),
    ],
)
def test_weekdays_are_read_in_either_language(typed: str, days: tuple[int, ...]) -> None:
    assert parse_days(typed) == days


@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "at least one weekday"), ("mon funday", "'funday' is not a weekday")],
)
def test_bad_weekdays_are_named(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_days(typed)


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("08:00-12:00", (time(8), time(12))),
        ("8:30 - 17:15", (time(8, 30), time(17, 15))),
        ("07:00–09:00", (time(7), time(9))),  # an en dash, as a word processor writes it
    ],
)
def test_hours_are_read(typed: str, hours: tuple[time, time]) -> None:
    assert parse_hours(typed) == hours


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("08:00", "must look like '08:00-12:00'"),
        ("8am-noon", "must look like '08:00-12:00'"),
        ("25:00-26:00", "must look like '08:00-12:00'"),
        ("12:00-08:00", "earliest time must come before the latest"),
        ("09:00-09:00", "earliest time must come before the latest"),
    ],
)
def test_bad_hours_are_named(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_hours(typed)


@pytest.mark.parametrize(
    ("starts_at", "zone", "free", "fits_them"),
    [
        (SLOT, NEW_YORK, MORNINGS, True),  # Wed 10:00 in New York
        (SLOT, LOS_ANGELES, MORNINGS, False),  # Wed 07:00 in Los Angeles: before their 08:00
        (SLOT + timedelta(hours=2), NEW_YORK, MORNINGS, True),  # 12:00: the latest still fits
        (SLOT + timedelta(hours=2, minutes=1), NEW_YORK, MORNINGS, False),
        (SLOT - timedelta(hours=2), NEW_YORK, MORNINGS, True),  # 08:00: the earliest fits
        (SLOT + timedelta(days=1), NEW_YORK, MORNINGS, False),  # a Thursday
        (SLOT, NEW_YORK, availability("thu", "00:00-23:59"), False),
        # 23:30 Wednesday in New York is already Thursday in UTC: the patient's day counts.
        (
            datetime(2026, 11, 26, 4, 30, tzinfo=UTC),
            NEW_YORK,
            availability("wed", "20:00-23:59"),
            True,
        ),
    ],
)
def test_a_slot_fits_a_patient_by_their_own_clock(
    starts_at: datetime, zone: ZoneInfo, free: Availability, fits_them: bool
) -> None:
    assert fits(free, starts_at, zone) is fits_them


def waiting(patient_id: int, days_ago: int, **kwargs: object) -> Candidate:
    values: dict[str, object] = {
        "free": MORNINGS,
        "zone": NEW_YORK,
        "added_at": SLOT - timedelta(days=days_ago),
    }
    values.update(kwargs)
    return Candidate(patient_id, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("candidates", "exclude", "offered_in_order"),
    [
        ([waiting(1, 3), waiting(2, 9), waiting(3, 5)], (), [2, 3, 1]),  # longest waiting first
        ([waiting(7, 4), waiting(5, 4)], (), [5, 7]),  # same day on the list: by id
        ([waiting(1, 3), waiting(2, 9)], (2,), [1]),  # offered already, or the canceller
        ([waiting(1, 3), waiting(2, 9, zone=LOS_ANGELES)], (), [1]),  # too early for them
        # Another session that day, even at another hour, in their zone:
        ([waiting(1, 3, sessions=(SLOT + timedelta(hours=6),)), waiting(2, 1)], (), [2]),
        # ...but one the next local day does not clash:
        ([waiting(1, 3, sessions=(SLOT + timedelta(hours=14),))], (), [1]),
        ([], (), []),
    ],
)
def test_who_is_offered_a_slot_and_in_what_order(
    candidates: list[Candidate], exclude: tuple[int, ...], offered_in_order: list[int]
) -> None:
    assert [c.patient_id for c in matching(candidates, SLOT, exclude)] == offered_in_order


def test_a_round_takes_the_first_few_awake_and_keeps_the_sleepers_place() -> None:
    now = SLOT - timedelta(hours=12)  # 03:00 UTC: 22:00 in New York, 19:00 in Los Angeles
    late = availability("wed", "06:00-12:00")
    matches = [
        waiting(1, 9, quiet=QUIET),  # asleep in New York
        waiting(2, 8, quiet=QUIET, zone=LOS_ANGELES, free=late),
        waiting(3, 7),  # no quiet hours given: always reachable
        waiting(4, 6, quiet=QUIET, zone=LOS_ANGELES, free=late),
    ]
    assert [c.patient_id for c in next_round(matches, now, 2)] == [2, 3]
    assert [c.patient_id for c in next_round(matches, now, 5)] == [2, 3, 4]


@pytest.mark.parametrize(
    ("hours_before", "minutes", "notice", "stands_for"),
    [
        (24, 60, 4, timedelta(minutes=60)),
        (4.5, 60, 4, timedelta(minutes=30)),  # never past the slot's close
        (10, 600, 4, timedelta(hours=6)),
    ],
)
def test_an_offer_stands_for_its_minutes_but_never_past_the_close(
    hours_before: float, minutes: int, notice: int, stands_for: timedelta
) -> None:
    now = SLOT - timedelta(hours=hours_before)
    assert offer_expires(now, SLOT, minutes, notice) - now == stands_for


@pytest.mark.parametrize(
    ("hours_before", "notice", "offered"), [(5, 4, True), (4, 4, False), (1, 4, False)]
)
def test_a_slot_is_offered_until_min_notice_before_it(
    hours_before: int, notice: int, offered: bool
) -> None:
    assert still_offered(SLOT, SLOT - timedelta(hours=hours_before), notice) is offered

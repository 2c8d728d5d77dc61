"""Wall-clock times, DST gaps and folds, and quiet hours: property tests over many zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.rules.localtime import QuietHours, is_quiet, localize, place_outside_quiet
from tests.support.zones import AWKWARD, transitions

ZONES = sorted(
    z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
)


@st.composite
def near_a_transition(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and a naive wall time within three hours of one of its offset changes."""
    name = draw(st.sampled_from(AWKWARD))
    moments = transitions(name)
    zone = ZoneInfo(name)
    if not moments:
        return zone, datetime(2026, 6, 1, 12, 0)
    moment = draw(st.sampled_from(moments))
    minutes = draw(st.integers(min_value=-180, max_value=180))
    wall = (moment.astimezone(zone) + timedelta(minutes=minutes)).replace(tzinfo=None)
    return zone, wall.replace(second=0, microsecond=0)


any_zone = st.sampled_from(ZONES).map(ZoneInfo)
wall_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    return any(
        naive.replace(tzinfo=zone, fold=fold).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        == naive
        for fold in (0, 1)
    )


def check_policy(naive: datetime, zone: ZoneInfo) -> None:
    instant = localize(naive, zone)
    assert instant.utcoffset() == timedelta(0)
    local = instant.astimezone(zone).replace(tzinfo=None)
    if exists(naive, zone):
        assert local == naive
        # The first of two possible instants: none earlier shows the same wall time.
        assert instant <= naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    else:
        # In a gap: the first valid minute after it.
        assert local > naive
        just_before = (instant - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
        assert just_before < naive


@settings(max_examples=400, deadline=None)
@given(near_a_transition())
def test_wall_times_near_dst_changes_follow_the_policy(case: tuple[ZoneInfo, datetime]) -> None:
    zone, naive = case
    check_policy(naive, zone)


@settings(max_examples=300, deadline=None)
@given(any_zone, wall_times)
def test_any_wall_time_in_any_zone_localizes_without_crashing(
    zone: ZoneInfo, naive: datetime
) -> None:
    check_policy(naive, zone)


@pytest.mark.parametrize(
    ("zone", "wall", "expected_local"),
    [
        ("America/New_York", "2026-03-08 02:30", "2026-03-08 03:00-04:00"),  # spring gap
        ("America/New_York", "2026-11-01 01:30", "2026-11-01 01:30-04:00"),  # fold: first
        ("Europe/London", "2026-03-29 01:15", "2026-03-29 02:00+01:00"),
        ("Australia/Lord_Howe", "2026-10-04 02:10", "2026-10-04 02:30+11:00"),  # 30 min DST
        ("Pacific/Apia", "2011-12-30 09:00", "2011-12-31 00:00+14:00"),  # a day that never was
    ],
)
def test_known_transitions(zone: str, wall: str, expected_local: str) -> None:
    tz = ZoneInfo(zone)
    instant = localize(datetime.fromisoformat(wall), tz)
    assert instant.astimezone(tz).isoformat(sep=" ", timespec="minutes") == expected_local


quiet_windows = st.tuples(
    st.integers(min_value=18 * 60, max_value=21 * 60),
    st.integers(min_value=8 * 60, max_value=11 * 60),
).map(lambda m: QuietHours(time(m[0] // 60, m[0] % 60), time(m[1] // 60, m[1] % 60)))


@settings(max_examples=400, deadline=None)
@given(near_a_transition(), quiet_windows, st.integers(min_value=0, max_value=24 * 60))
def test_a_send_moved_out_of_quiet_hours_is_never_inside_them(
    case: tuple[ZoneInfo, datetime], quiet: QuietHours, shift: int
) -> None:
    zone, naive = case
    instant = localize(naive, zone) + timedelta(minutes=shift)
    event = instant + timedelta(hours=30)

    placed = place_outside_quiet(
        instant, zone, quiet, not_after=event, not_before=instant - timedelta(days=1)
    )

    assert placed is not None
    assert not is_quiet(placed, zone, quiet)
    assert placed < event
    if not is_quiet(instant, zone, quiet):
        assert placed == instant


def test_a_send_with_no_usable_edge_is_reported_not_forced() -> None:
    zone = ZoneInfo("America/New_York")
    quiet = QuietHours(time(21), time(8))
    at_night = localize(datetime(2026, 11, 23, 23, 0), zone)

    placed = place_outside_quiet(
        at_night, zone, quiet, not_after=at_night + timedelta(hours=2), not_before=at_night
    )

    assert placed is None

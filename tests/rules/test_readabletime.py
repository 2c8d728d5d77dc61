"""Times as staff read them: the wall clock of a zone with its abbreviation, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.rules.readabletime import readable_time, utc_iso, utc_offset_label


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "zone", "shown"),
    [
        # A Chicago patient's 20:00 foot check, in summer time and in winter time.
        ("2026-10-27T01:00", "America/Chicago", "Mon 26 Oct 20:00 CDT"),
        ("2026-11-03T02:00", "America/Chicago", "Mon 02 Nov 20:00 CST"),
        # Fall back: the same wall time twice, told apart only by the label.
        ("2026-11-01T06:30", "America/Chicago", "Sun 01 Nov 01:30 CDT"),
        ("2026-11-01T07:30", "America/Chicago", "Sun 01 Nov 01:30 CST"),
        # Spring forward: 01:59 CST is followed by 03:00 CDT.
        ("2026-03-08T07:59", "America/Chicago", "Sun 08 Mar 01:59 CST"),
        ("2026-03-08T08:00", "America/Chicago", "Sun 08 Mar 03:00 CDT"),
        # Spain: the same changes on European dates.
        ("2026-10-25T00:30", "Europe/Madrid", "Sun 25 Oct 02:30 CEST"),
        ("2026-10-25T01:30", "Europe/Madrid", "Sun 25 Oct 02:30 CET"),
        ("2026-03-29T00:59", "Europe/Madrid", "Sun 29 Mar 01:59 CET"),
        ("2026-03-29T01:00", "Europe/Madrid", "Sun 29 Mar 03:00 CEST"),
        ("2026-07-01T12:00", "Atlantic/Canary", "Wed 01 Jul 13:00 WEST"),
        # Zones the tz database names only by number show their offset from UTC.
        ("2026-10-27T01:00", "America/Sao_Paulo", "Mon 26 Oct 22:00 UTC-3"),
        ("2026-10-27T01:00", "Asia/Kathmandu", "Tue 27 Oct 06:45 UTC+5:45"),
        ("2026-01-01T12:00", "Pacific/Chatham", "Fri 02 Jan 01:45 UTC+13:45"),
        ("2026-01-27T01:00", "Antarctica/Troll", "Tue 27 Jan 01:00 UTC"),
        ("2026-10-27T01:00", "Etc/GMT-5", "Tue 27 Oct 06:00 UTC+5"),
        # Letters are kept as the tz database gives them.
        ("2026-10-27T01:00", "Asia/Kolkata", "Tue 27 Oct 06:30 IST"),
        ("2026-01-01T12:00", "Europe/Dublin", "Thu 01 Jan 12:00 GMT"),
        ("2026-10-27T01:00", "UTC", "Tue 27 Oct 01:00 UTC"),
    ],
)
def test_a_time_is_shown_on_the_zones_wall_clock_with_its_abbreviation(
    instant: str, zone: str, shown: str
) -> None:
    assert readable_time(utc(instant), zone) == shown
    assert readable_time(utc(instant), ZoneInfo(zone)) == shown


def test_the_format_and_the_label_can_be_chosen() -> None:
    foot_check = utc("2026-10-27T01:00")

    assert readable_time(foot_check, "America/Chicago", "%H:%M") == "20:00 CDT"
    assert readable_time(foot_check, "America/Chicago", "%H:%M", label=False) == "20:00"
    assert readable_time(foot_check, "America/New_York", "%H:%M") == "21:00 EDT"


def test_an_instant_in_any_offset_is_the_same_instant() -> None:
    in_madrid = datetime(2026, 10, 27, 2, 0, tzinfo=timezone(timedelta(hours=1)))

    assert readable_time(in_madrid, "America/Chicago", "%H:%M") == "20:00 CDT"


def test_a_naive_datetime_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        readable_time(datetime(2026, 10, 27, 1, 0), "America/Chicago")
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2026, 10, 27, 1, 0))


@pytest.mark.parametrize(
    ("instant", "iso"),
    [
        (utc("2026-10-27T01:00"), "2026-10-27T01:00:00Z"),
        (datetime(2026, 10, 26, 20, 0, 59, 999, tzinfo=ZoneInfo("America/Chicago")),
         "2026-10-27T01:00:59Z"),
    ],
)  # fmt: skip
def test_utc_iso_is_iso_8601_in_utc_to_the_second(instant: datetime, iso: str) -> None:
    assert utc_iso(instant) == iso
    assert datetime.fromisoformat(iso) == instant.replace(microsecond=0)


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(0, "UTC"), (-180, "UTC-3"), (345, "UTC+5:45"), (-570, "UTC-9:30"), (825, "UTC+13:45")],
)
def test_an_offset_reads_as_hours_and_minutes_from_utc(minutes: int, label: str) -> None:
    assert utc_offset_label(timedelta(minutes=minutes)) == label


ZONES = sorted(z for z in available_timezones() if not z.startswith("SystemV/"))


@given(
    zone=st.sampled_from(ZONES),
    instant=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2060, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
)
def test_every_zone_labels_every_time_with_letters_or_an_offset(
    zone: str, instant: datetime
) -> None:
    shown = readable_time(instant, zone, "%Y-%m-%d %H:%M")
    wall, label = shown[:16], shown[17:]

    assert wall == instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    assert label.isalpha() or label.startswith("UTC"), shown
    assert label[:1] not in ("+", "-"), shown

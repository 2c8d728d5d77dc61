"""How long something took or has waited reads the same in the admin's pages, the report,
`outreach status` and `outreach escalations list`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outreach.rules.durations import spoken_duration


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(seconds=-5), "0 s"),
        (timedelta(seconds=42), "42 s"),
        (timedelta(seconds=119), "119 s"),
        (timedelta(seconds=120), "2 min"),
        (timedelta(minutes=119, seconds=59), "119 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(hours=47, minutes=30), "47 h 30 min"),
        (timedelta(hours=52), "2 d 4 h"),
        (timedelta(days=3), "3 d"),
    ],
)
def test_a_duration_reads_in_its_two_largest_units_from_two_of_each(
    value: timedelta, words: str
) -> None:
    assert spoken_duration(value) == words

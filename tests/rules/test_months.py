"""Months as the foot-check calendar moves through them."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.rules.months import last_day, month_of, parse_month, shift_month


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        ("2026-10", date(2026, 10, 1)),
        (" 2026-01 ", date(2026, 1, 1)),
        ("2026-13", None),
        ("2026-00", None),
        ("2026-10-05", None),
        ("0000-05", None),
        ("0001-01", None),  # its previous month would be year 0
        ("9999-12", None),  # its last day's midnight would be year 10000
        ("1999-12", None),
        ("2999-12", date(2999, 12, 1)),
        ("26-10", None),
        ("", None),
        ("２０２６-10", None),  # full-width digits are not a month typed in the address
    ],
)
def test_a_month_is_typed_as_year_dash_month(typed: str, month: date | None) -> None:
    assert parse_month(typed) == month


@pytest.mark.parametrize(
    ("first", "months", "shifted"),
    [
        (date(2026, 11, 1), -1, date(2026, 10, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
        (date(2026, 5, 1), 0, date(2026, 5, 1)),
        (date(2026, 5, 1), -17, date(2024, 12, 1)),
    ],
)
def test_months_shift_across_years(first: date, months: int, shifted: date) -> None:
    assert shift_month(first, months) == shifted


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2026, 12, 1), date(2026, 12, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
    ],
)
def test_the_last_day_of_a_month(first: date, last: date) -> None:
    assert last_day(first) == last
    assert month_of(last) == first

"""Calendar months for pages that move by month (the foot-check calendar): a month is its
first day; typed as YYYY-MM."""

from __future__ import annotations

import re
from datetime import date, timedelta

_TYPED = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
# Years a clinic's texts can fall in, with room on each side for the previous and next
# links and a zone's offset (date maths fails past year 9999).
YEARS = range(2000, 3000)


def parse_month(text: str) -> date | None:
    """'2026-10' -> date(2026, 10, 1); None for anything else (a day, '2026-13', '', a year
    outside YEARS)."""
    found = _TYPED.fullmatch(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) not in YEARS:
        return None
    return date(int(found[1]), int(found[2]), 1)


def month_of(day: date) -> date:
    return day.replace(day=1)


def shift_month(first: date, months: int) -> date:
    """The first day of the month `months` after (or before, negative) the month of `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def last_day(first: date) -> date:
    return shift_month(first, 1) - timedelta(days=1)

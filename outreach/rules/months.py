"""Calendar months for pages that move by month (the foot-check calendar): a month is its
first day; typed as YYYY-MM."""

from __future__ import annotations

import re
from datetime import date, timedelta

_TYPED = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def parse_month(text: str) -> date | None:
    """'2026-10' -> date(2026, 10, 1); None for anything else (a day, '2026-13', '')."""
    found = _TYPED.fullmatch(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
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

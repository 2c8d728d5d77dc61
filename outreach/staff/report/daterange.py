"""The range a report covers: clinic-local days, typed in the form or the last four weeks,
and the chart's periods within it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.rules.datefilter import END_BEFORE_START, typed_days
from outreach.rules.localtime import day_bounds

DEFAULT_DAYS = 28
MAX_DAYS = 366
DAILY_UP_TO = 14  # longer ranges are charted by the week


@dataclass(frozen=True)
class DateRange:
    """Clinic-local days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) as UTC instants: 25 or 23 hours at DST."""
        return day_bounds(self.start, self.end, zone)

    @property
    def bucket_days(self) -> int:
        return 1 if self.days <= DAILY_UP_TO else 7

    def periods(self) -> list[tuple[date, date]]:
        """The chart's buckets: days, or 7-day weeks from the start (the last may be short)."""
        size = self.bucket_days
        starts = [self.start + timedelta(days=i) for i in range(0, self.days, size)]
        return [(s, min(s + timedelta(days=size - 1), self.end)) for s in starts]

    def bucket(self, day: date) -> int:
        return (day - self.start).days // self.bucket_days


def default_range(today: date) -> DateRange:
    return DateRange(today - timedelta(days=DEFAULT_DAYS - 1), today)


def default_end(today: date, latest: date | None) -> date:
    """Where a report with no dates typed ends: today, unless the DEFAULT_DAYS up to today
    hold no text while earlier days do; then the day of the latest text, so the default
    report shows the data there is rather than four empty weeks."""
    if latest is None or latest > today - timedelta(days=DEFAULT_DAYS):
        return today
    return latest


def parse_range(
    start: str | None, end: str | None, today: date
) -> DateRange | dict[str, list[str]]:
    """The range typed in the form, or field errors. A blank end is today; a blank start is
    DEFAULT_DAYS before the end."""
    typed_start, typed_end, errors = typed_days(start, end)
    if errors:
        return errors
    last = typed_end or today
    first = typed_start or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:  # a start typed after today, the end left blank
        return {"end": [END_BEFORE_START]}
    if (last - first).days + 1 > MAX_DAYS:
        return {"end": [f"A report covers at most {MAX_DAYS} days."]}
    return DateRange(first, last)

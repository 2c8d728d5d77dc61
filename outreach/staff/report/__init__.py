"""The clinic report: what the texts achieved over a range of clinic-local days.

daterange.py reads the range and cuts it into the chart's periods; queries.py reads each
figure from the database; figures.py defines them and builds the `Report`; csvfile.py
writes it as a CSV. The names below are what the admin's report page and the tests use.

Queries fetch the (instant, flags) rows of the range in one statement each and count in
Python: bucketing instants into clinic-local days differs between SQLite and PostgreSQL,
and zoneinfo gets DST right in one place. That is fine up to a few hundred thousand rows
per range (a year of a large clinic); beyond that, move the counting into SQL.
"""

from outreach.staff.report.csvfile import to_csv
from outreach.staff.report.daterange import (
    DEFAULT_DAYS,
    MAX_DAYS,
    DateRange,
    default_end,
    default_range,
    parse_range,
)
from outreach.staff.report.figures import (
    DEFINITIONS,
    ERROR_CODES,
    NO_SHOW_BASELINE,
    PROMPT_KINDS,
    Period,
    Rate,
    Report,
    build,
    duration,
)
from outreach.staff.report.latest import latest_text_day

__all__ = [
    "DEFAULT_DAYS",
    "DEFINITIONS",
    "ERROR_CODES",
    "MAX_DAYS",
    "NO_SHOW_BASELINE",
    "PROMPT_KINDS",
    "DateRange",
    "Period",
    "Rate",
    "Report",
    "build",
    "default_end",
    "default_range",
    "duration",
    "latest_text_day",
    "parse_range",
    "to_csv",
]

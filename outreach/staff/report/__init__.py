"""The clinic report: what the texts achieved over a range of clinic-local days.

daterange.py reads the range and cuts it into the chart's periods; tally.py counts every
figure per clinic-local day from the raw rows (with queries.py, sessioncounts.py and
staffcounts.py); rollups.py keeps those counts per day in reportday, recounting the days
the triggers of migration 0010 marked stale; figures.py defines the figures and builds the
`Report` from the stored days (and today's raw rows); csvfile.py writes it as a CSV.
docs/report.md explains the design. The names below are what the admin's report page, the
command line and the tests use.
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
from outreach.staff.report.rollups import REFRESH_EVERY, keep, rebuild, refresh

__all__ = [
    "DEFAULT_DAYS",
    "DEFINITIONS",
    "ERROR_CODES",
    "MAX_DAYS",
    "NO_SHOW_BASELINE",
    "PROMPT_KINDS",
    "REFRESH_EVERY",
    "DateRange",
    "Period",
    "Rate",
    "Report",
    "build",
    "default_end",
    "default_range",
    "duration",
    "keep",
    "latest_text_day",
    "parse_range",
    "rebuild",
    "refresh",
    "to_csv",
]

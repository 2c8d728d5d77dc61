"""The report's figures counted from the raw rows, per clinic-local day: what the rollups
store (rollups.py) and what they are checked against (the recount of a whole range).

A figure is anchored to one instant of a row, and counted on that instant's clinic day:
a question on the day it was sent (its answer may come days later), an escalation on the
day it was raised (its severity now, its first action whenever), a session on the day it
starts, a wait for staff on the day of the patient's first unanswered text. So a range's
figure is the sum of its days', and a write changes only the days of the instants it
touches (the triggers of migration 0010 mark them).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from outreach.rules.localtime import at_local, day_bounds
from outreach.staff.report import queries, sessioncounts, staffcounts
from outreach.staff.report.counts import Tally


def count_days(
    conn: Connection, zone: ZoneInfo, first: date, last: date, until: datetime | None = None
) -> Tally:
    """Every figure of the clinic days `first`..`last` from the raw rows. `until`: count
    only sessions that started before it (the report's own day); None: all of them."""
    lo, hi = day_bounds(first, last, zone)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    edges = [at_local(d, datetime.min.time(), zone) for d in days[1:]]
    found = Tally()
    queries.count_texts(conn, lo, hi, days, edges, found)
    queries.count_first_reminders(conn, lo, hi, zone, found)
    sessioncounts.count_sessions(conn, lo, min(hi, until) if until else hi, zone, found)
    sessioncounts.count_slots(conn, lo, hi, zone, found)
    staffcounts.count_escalations(conn, lo, hi, zone, found)
    staffcounts.count_opt_outs(conn, lo, hi, zone, found)
    staffcounts.count_staff_replies(conn, lo, hi, zone, found)
    return found

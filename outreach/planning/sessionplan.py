"""The reminders of one session, made the moment it is added or moved, rather than by a
replan of the patient's whole plan.

A feed brings appointments one at a time, hundreds a second at a busy clinic's start of day;
replanning a patient recomputes every foot check and exercise prompt of their horizon, ten
times the work of the one session that changed. The planner still owns the horizon: a
session beyond it is planned when the watermark reaches it, and a patient who may not be
texted yet gets nothing here (consent, opt-in and resuming replan the whole plan).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import appointment_table, care_plans, patients
from outreach.outbox.writers import insert_planned
from outreach.planning.dueplans import may_text
from outreach.planning.planner import horizon_end
from outreach.rules.localtime import patient_quiet_hours, zone_named
from outreach.rules.schedule import session_reminders
from outreach.rules.vocabulary import AppointmentStatus

A = appointment_table
P = care_plans
PT = patients
REMINDED = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


# Built once: it runs for every appointment a feed brings.
_SESSION = (
    select(A.c.starts_at, A.c.status, P.c.patient_id, P.c.version, PT.c.timezone)
    .add_columns(PT.c.quiet_hours)
    .join(P, P.c.patient_id == A.c.patient_id)
    .join(PT, PT.c.id == A.c.patient_id)
    .where(A.c.id == bindparam("appointment"), may_text())
)


def plan_session(conn: Connection, settings: Settings, appointment_id: int, now: datetime) -> int:
    """Make (or revive) the reminders of one session in the caller's transaction; returns
    how many were written. Nothing for a session that is off, begun or past the horizon, or
    for a patient who may not be texted."""
    row = conn.execute(_SESSION, {"appointment": appointment_id}).first()
    if row is None or row.status not in REMINDED:
        return 0
    if not now < row.starts_at < horizon_end(now, settings.horizon_days):
        return 0
    wanted = session_reminders(
        appointment_id,
        row.starts_at,
        zone_named(row.timezone),
        patient_quiet_hours(row.quiet_hours, settings.quiet_hours),
        settings.session_reminder_hours,
        now,
    )
    return insert_planned(conn, [(row, occ) for occ in wanted], now)

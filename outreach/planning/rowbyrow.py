"""SQLite's way to plan a batch: a row at a time.

Each plan's sessions become appointments, then the occurrences its prompts and sessions
make are handed to the outbox, which writes them (outreach/outbox/writers.py). PostgreSQL
plans with planning/bulk.py instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db import dialect
from outreach.db.tables import appointment_table, plan_phases
from outreach.outbox.writers import insert_planned
from outreach.planning.report import PlanReport
from outreach.rules.localtime import patient_quiet_hours, zone_named
from outreach.rules.schedule import (
    Occurrence,
    Phase,
    appointments,
    daily_occurrences,
    parse_weekdays,
    plan_spec,
    session_reminders,
)
from outreach.rules.vocabulary import AppointmentStatus

A = appointment_table
PH = plan_phases


def materialise(
    conn: Connection,
    settings: Settings,
    plans: Sequence[Any],
    now: datetime,
    target: datetime,
    report: PlanReport,
) -> None:
    """SQLite: one batch, a row at a time."""
    phases = _phases_by_plan(conn, [p.id for p in plans])
    windows: dict[int, tuple[datetime, datetime]] = {}
    new_appointments: list[tuple[int, datetime]] = []
    wanted: list[tuple[Any, Occurrence]] = []
    for plan in plans:
        start = max(plan.planned_until or now, now)
        windows[plan.patient_id] = (start, target)
        spec = plan_spec(plan, phases.get(plan.id, ()))
        zone = zone_named(plan.timezone)
        new_appointments.extend(
            (plan.patient_id, starts_at) for starts_at in appointments(spec, zone, start, target)
        )
        quiet = patient_quiet_hours(plan.quiet_hours, settings.quiet_hours)
        wanted.extend(
            (plan, occ) for occ in daily_occurrences(spec, zone, quiet, start, target, now)
        )
    report.appointments += _upsert_appointments(conn, new_appointments, now)
    by_patient = {plan.patient_id: plan for plan in plans}
    for appointment_id, patient_id, starts_at in _appointments_in_windows(conn, windows):
        plan = by_patient[patient_id]
        for occ in session_reminders(
            appointment_id,
            starts_at,
            zone_named(plan.timezone),
            patient_quiet_hours(plan.quiet_hours, settings.quiet_hours),
            settings.session_reminder_hours,
            now,
        ):
            wanted.append((plan, occ))
    for _, occ in wanted:
        if occ.skip_reason:
            report.skipped[occ.skip_reason] += 1
    report.reminders += insert_planned(conn, wanted, now)


def _phases_by_plan(conn: Connection, plan_ids: list[int]) -> dict[int, list[Phase]]:
    found: dict[int, list[Phase]] = defaultdict(list)
    query = (
        select(PH.c.plan_id, PH.c.weekdays, PH.c.session_time, PH.c.weeks)
        .where(PH.c.plan_id.in_(plan_ids))
        .order_by(PH.c.plan_id, PH.c.seq)
    )
    for row in conn.execute(query).all():
        found[row.plan_id].append(Phase(parse_weekdays(row.weekdays), row.session_time, row.weeks))
    return found


def _appointments_in_windows(
    conn: Connection, windows: dict[int, tuple[datetime, datetime]]
) -> list[tuple[int, int, datetime]]:
    """Live appointments (from the plan or entered by staff) inside each patient's window,
    as (id, patient_id, starts_at)."""
    if not windows:
        return []
    earliest = min(start for start, _ in windows.values())
    latest = max(end for _, end in windows.values())
    rows = conn.execute(
        select(A.c.id, A.c.patient_id, A.c.starts_at).where(
            A.c.patient_id.in_(list(windows)),
            A.c.starts_at >= earliest,
            A.c.starts_at < latest,
            A.c.status.in_([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED]),
        )
    ).all()
    return [
        (r.id, r.patient_id, r.starts_at)
        for r in rows
        if windows[r.patient_id][0] <= r.starts_at < windows[r.patient_id][1]
    ]


def _upsert_appointments(conn: Connection, rows: list[tuple[int, datetime]], now: datetime) -> int:
    if not rows:
        return 0
    stmt = dialect.insert(conn, A)
    stmt = stmt.on_conflict_do_update(
        index_elements=["patient_id", "starts_at"],
        set_={"status": AppointmentStatus.SCHEDULED, "updated_at": stmt.excluded.updated_at},
        where=A.c.status == AppointmentStatus.SUPERSEDED,
    )
    stmt = stmt.values(source="plan", status=AppointmentStatus.SCHEDULED)
    return dialect.executemany(
        conn, stmt, [{"patient_id": p, "starts_at": s, "updated_at": now} for p, s in rows]
    )

"""Moving a session to a new time in one action: the old time's reminders stop at once, the
patient is texted the new time once, and the new session's own reminder asks for
confirmation again (the planner makes it).

The old appointment stays in the record as MOVED, pointing at the new one (`moved_to`);
the new one is `source` "moved". Both change in one transaction, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db.tables import appointment_table, patients
from outreach.outbox import commands
from outreach.planning import planner
from outreach.rules.localtime import at_local, patient_quiet_hours, place_outside_quiet
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    ConsentState,
    ReminderKind,
    SkipReason,
)

A = appointment_table
P = patients
# Sessions that can be moved: on, and not yet begun.
MOVABLE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


class NotMoved(ValueError):
    """Why a session cannot be moved, in words for staff."""


@dataclass(frozen=True)
class Moved:
    old_id: int
    new_id: int
    old_starts_at: datetime
    new_starts_at: datetime
    timezone: str  # the patient's: both times are shown on their wall clock
    texted: bool  # the "your session has moved" text was queued


def move(
    engine: Engine,
    settings: Settings,
    who: Staff,
    appointment_id: int,
    day: date,
    at: time,
    now: datetime,
) -> Moved:
    """Move a session to `day` at `at` on the patient's own clock; raises NotMoved."""
    with engine.begin() as conn:
        moved = _move(conn, settings, who, appointment_id, day, at, now)
    planner.plan_due(engine, settings, now)  # the new session's reminders, now
    return moved


def _move(
    conn: Connection,
    settings: Settings,
    who: Staff,
    appointment_id: int,
    day: date,
    at: time,
    now: datetime,
) -> Moved:
    old = conn.execute(
        select(
            A.c.id,
            A.c.patient_id,
            A.c.starts_at,
            A.c.status,
            A.c.source,
            P.c.timezone,
            P.c.quiet_hours,
            P.c.consent_state,
            P.c.opted_out,
            P.c.paused,
        )
        .join(P, P.c.id == A.c.patient_id)
        .where(A.c.id == appointment_id)
        .with_for_update(of=A)
    ).first()
    if old is None:
        raise NotMoved(f"no session has id {appointment_id}")
    if AppointmentSource(old.source).from_feed:
        source = AppointmentSource(old.source).word
        raise NotMoved(f"that session comes from the clinic's {source}: move it there")
    if old.status not in MOVABLE:
        raise NotMoved(f"that session is {old.status.replace('_', ' ')}: only one still on moves")
    if old.starts_at <= now:
        raise NotMoved("that session has begun: mark it, and add a new session for the patient")
    starts_at = at_local(day, at, ZoneInfo(old.timezone))
    if starts_at <= now:
        raise NotMoved("the new time has already passed; pick a future one")
    if starts_at == old.starts_at:
        raise NotMoved("that is the session's time already")
    new_id = _new_session(conn, old.patient_id, starts_at, now)
    conn.execute(
        update(A)
        .where(A.c.id == old.id)
        .values(status=AppointmentStatus.MOVED, moved_to=new_id, updated_at=now)
    )
    commands.cancel_appointment(conn, old.id, now, SkipReason.SUPERSEDED)
    commands.replan(conn, old.patient_id, now)
    texted = moved_text(conn, settings, old, new_id, starts_at, now)
    fmt = "%Y-%m-%d %H:%M"
    detail = {
        "starts_at": readable_time(old.starts_at, old.timezone, fmt),
        "moved_to": readable_time(starts_at, old.timezone, fmt),
    }
    audit.record(conn, who, Action.SESSION_MOVED, now, old.patient_id, detail)
    return Moved(old.id, new_id, old.starts_at, starts_at, old.timezone, texted)


def _new_session(conn: Connection, patient_id: int, starts_at: datetime, now: datetime) -> int:
    """The session at the new time: a new row, or the patient's row at that time brought
    back if it was cancelled, moved away or superseded (one row per patient and start)."""
    clash = conn.execute(
        select(A.c.id, A.c.status)
        .where(A.c.patient_id == patient_id, A.c.starts_at == starts_at)
        .with_for_update(of=A)
    ).first()
    if clash is not None and clash.status in MOVABLE:
        raise NotMoved("the patient already has a session at that time")
    values: dict[str, Any] = {
        "source": AppointmentSource.MOVED,
        "status": AppointmentStatus.SCHEDULED,
        "updated_at": now,
    }
    if clash is None:
        made = conn.execute(
            A.insert().values(patient_id=patient_id, starts_at=starts_at, **values)
        ).inserted_primary_key
        assert made is not None
        return int(made[0])
    revived = {"attendance": None, "marked_at": None, "marked_by": None}
    revived |= {"cancelled_at": None, "moved_to": None, "filled_slot": None}
    conn.execute(update(A).where(A.c.id == clash.id).values(**values, **revived))
    # Reminders skipped when it was cancelled are made again by the next planner run.
    commands.restore_appointment(conn, clash.id, now)
    return int(clash.id)


def moved_text(
    conn: Connection, settings: Settings, old: Any, new_id: int, starts_at: datetime, now: datetime
) -> bool:
    """Queue "your session has moved to ..." once, to a patient we may text: now, or when
    their quiet hours end; none if they end only after the new time has come. `old` has the
    patient_id and the patient's timezone, quiet_hours, consent_state, opted_out and paused;
    `new_id` is the session at its new time."""
    if old.consent_state != ConsentState.GRANTED or old.opted_out or old.paused:
        return False
    quiet = patient_quiet_hours(old.quiet_hours, settings.quiet_hours)
    send_at = place_outside_quiet(
        now, ZoneInfo(old.timezone), quiet, not_after=starts_at, not_before=now
    )
    if send_at is None:
        return False
    made = commands.queue_text(
        conn,
        old.patient_id,
        ReminderKind.SESSION_MOVED,
        f"moved:{new_id}:{int(now.timestamp())}",  # once per move, however often it moves
        send_at,
        starts_at,
        now,
        appointment_id=new_id,
    )
    return made is not None

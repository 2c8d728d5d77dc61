"""One appointment as the clinic's system states it, applied to outreach's sessions.

Both feeds (HL7 SIU messages, FHIR Appointment resources) turn what they receive into a
`FeedAppointment` and call `apply` in their own transaction, then `settle` after the commit,
so the reminders follow at once:

- a new or moved appointment gets its reminders in the same transaction (planning/
  sessionplan.py), and a moved one's old reminders are skipped as superseded; the patient is
  told the new time once, as when staff move a session;
- a cancelled or deleted one stops its reminders and closes the question a sent reminder
  asked; a cancellation with enough notice offers the slot to the waitlist (a deletion, an
  appointment entered in error, offers nothing);
- a no-show gets the same follow-up as one staff mark: the day's text, and a routine
  escalation the second time in a row;
- an appointment for a patient outreach does not know is kept (unmatchedappointment) and
  listed for staff, never texted: enrolling the patient brings it in (`adopt`).

Appointments are matched by (source, the system's id); a change older than the newest one
applied (MSH-7, meta.lastUpdated) changes nothing, so messages out of order never undo a
newer state. A change that arrives before the appointment's creation (an S13 before its
S12) is taken as the appointment itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.config import Settings
from outreach.db import dialect
from outreach.db.tables import appointment_table, patients, unmatched_appointments
from outreach.outbox import commands
from outreach.planning import planner, sessionplan
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import (
    FEEDS,
    AppointmentSource,
    AppointmentStatus,
    Attendance,
    FeedOutcome,
    FeedStatus,
    SkipReason,
)
from outreach.sessions import attendance, moves, waitlist_slots

log = logging.getLogger("outreach.feeds")

A = appointment_table
P = patients
U = unmatched_appointments
# Sessions on: reminded, confirmable.
LIVE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)
# What applying reads of a session.
ROW = (
    A.c.id,
    A.c.patient_id,
    A.c.starts_at,
    A.c.status,
    A.c.attendance,
    A.c.source,
    A.c.feed_ref,
    A.c.feed_at,
)
_BY_REF = (
    select(*ROW)
    .where(A.c.source == bindparam("source"), A.c.feed_ref == bindparam("ref"))
    .with_for_update(of=A)
)
_AT = select(*ROW).where(A.c.patient_id == bindparam("patient"), A.c.starts_at == bindparam("at"))
REF_CHARS = 128  # appointment.feed_ref
PATIENT_REF_CHARS = 64  # patient.external_id
# A no-show older than this is history (a first sync reads months of it): recorded, but it
# neither texts the patient nor counts towards an escalation now.
FOLLOW_UP_WITHIN = timedelta(days=2)


@dataclass(frozen=True)
class FeedAppointment:
    source: AppointmentSource  # HL7 or FHIR
    ref: str  # the system's own id of the appointment (SCH-2/SCH-1, Appointment.id)
    patient_ref: str  # the clinic's id of the patient: matched against patient.external_id
    status: FeedStatus
    starts_at: datetime | None  # aware; None when the message gives no time
    changed_at: datetime | None = None  # when the system made the change (MSH-7, lastUpdated)
    patient_name: str = ""
    phone: str | None = None
    cancelled_by_patient: bool | None = None  # None: the system does not say who


class NotApplied(ValueError):
    """The content is wrong, in words for the sender and staff (HL7 AE)."""


@dataclass(frozen=True)
class Applied:
    outcome: FeedOutcome  # APPLIED, UNMATCHED or UNCHANGED
    appointment_id: int | None
    detail: str  # what was done, in words


def apply(conn: Connection, settings: Settings, item: FeedAppointment, now: datetime) -> Applied:
    """Apply one appointment in the caller's transaction; raises NotApplied, always before
    writing anything (so a caller needs no savepoint to refuse one and go on)."""
    _check(item)
    patient = _patient(conn, item.patient_ref)
    row = conn.execute(_BY_REF, {"source": item.source, "ref": item.ref}).first()
    if patient is None:
        if row is not None:
            raise NotApplied(
                f"appointment {item.ref} belongs to another patient in outreach; the message "
                f"names patient {item.patient_ref}, whom outreach does not know"
            )
        return _unmatched(conn, item, now)
    if row is not None and row.patient_id != patient.id:
        raise NotApplied(
            f"appointment {item.ref} belongs to another patient in outreach, not to "
            f"{item.patient_ref}: a merge of patients is not applied by message"
        )
    if row is not None and _older(item.changed_at, row.feed_at):
        return Applied(FeedOutcome.UNCHANGED, row.id, "older than the change already applied")
    if row is None:
        called_off = _kept(conn, item)
        if called_off is not None and _older(item.changed_at, called_off.feed_at):
            return Applied(FeedOutcome.UNCHANGED, None, "older than the change already applied")
        return _new(conn, settings, item, patient, now)
    return _change(conn, settings, item, patient, row, now)


def settle(engine: Engine, settings: Settings, now: datetime) -> None:
    """After the commit: whatever planning is still owed (normally nothing: `apply` makes a
    session's reminders itself); one query when the planner is up to date."""
    planner.plan_due(engine, settings, now)


def adopt(engine: Engine, settings: Settings, now: datetime) -> int:
    """Bring in the kept appointments of patients enrolled since they arrived (the clinic's
    id now names a patient). Returns how many; run by the worker and after enrolment."""
    with engine.begin() as conn:
        waiting = conn.execute(
            select(U)
            .join(P, P.c.external_id == U.c.patient_ref)
            .where(U.c.matched_at.is_(None))
            .order_by(U.c.id)
        ).all()
        for kept in waiting:
            item = FeedAppointment(
                source=AppointmentSource(kept.source),
                ref=kept.feed_ref,
                patient_ref=kept.patient_ref,
                status=FeedStatus(kept.status),
                starts_at=kept.starts_at,
                changed_at=kept.feed_at,
            )
            try:
                with conn.begin_nested():
                    applied = apply(conn, settings, item, now)
            except NotApplied as exc:
                log.warning("kept appointment %s not brought in: %s", kept.id, exc)
                continue
            conn.execute(
                update(U)
                .where(U.c.id == kept.id)
                .values(matched_at=now, appointment_id=applied.appointment_id, updated_at=now)
            )
    if waiting:
        settle(engine, settings, now)
    return len(waiting)


def _check(item: FeedAppointment) -> None:
    if not item.ref.strip():
        raise NotApplied("the appointment has no id")
    if len(item.ref) > REF_CHARS:
        raise NotApplied(f"the appointment id is longer than {REF_CHARS} characters")
    if not item.patient_ref.strip():
        raise NotApplied("the appointment names no patient id")
    if len(item.patient_ref) > PATIENT_REF_CHARS:
        raise NotApplied(f"the patient id is longer than {PATIENT_REF_CHARS} characters")
    if item.starts_at is not None and item.starts_at.tzinfo is None:
        raise ValueError(f"a feed's start time must be aware: {item.starts_at!r}")


# Built once: a feed applies hundreds of appointments a second, and building a statement
# costs SQLAlchemy more than running it on SQLite.
_PATIENT = select(
    P.c.id, P.c.timezone, P.c.quiet_hours, P.c.consent_state, P.c.opted_out, P.c.paused
).where(P.c.external_id == bindparam("ref"))


def _patient(conn: Connection, ref: str) -> Any:
    return conn.execute(_PATIENT, {"ref": ref}).first()


def _older(changed_at: datetime | None, applied_at: datetime | None) -> bool:
    return changed_at is not None and applied_at is not None and changed_at < applied_at


def _unmatched(conn: Connection, item: FeedAppointment, now: datetime) -> Applied:
    """Keep it for staff: the newest state of each appointment, one row each."""
    kept = conn.execute(
        select(U.c.id, U.c.feed_at, U.c.starts_at)
        .where(U.c.source == item.source, U.c.feed_ref == item.ref)
        .with_for_update(of=U)
    ).first()
    if kept is not None and _older(item.changed_at, kept.feed_at):
        return Applied(FeedOutcome.UNCHANGED, None, "older than the change already kept")
    values: dict[str, Any] = {
        "patient_ref": item.patient_ref,
        "patient_name": item.patient_name[:170],
        "phone": (item.phone or "")[:40] or None,
        "status": item.status,
        "feed_at": item.changed_at,
        "updated_at": now,
    }
    if item.starts_at is not None or kept is None:
        values["starts_at"] = item.starts_at
    if kept is None:
        conn.execute(
            dialect.insert(conn, U)
            .values(source=item.source, feed_ref=item.ref, received_at=now, **values)
            .on_conflict_do_update(index_elements=[U.c.source, U.c.feed_ref], set_=values)
        )
    else:
        conn.execute(update(U).where(U.c.id == kept.id).values(**values))
    return Applied(
        FeedOutcome.UNMATCHED,
        None,
        f"no patient has clinic id {item.patient_ref}: kept for staff to enrol, not texted",
    )


_KEPT = select(U.c.feed_at).where(
    U.c.source == bindparam("source"),
    U.c.feed_ref == bindparam("ref"),
    U.c.matched_at.is_not(None),
    U.c.appointment_id.is_(None),
)


def _kept(conn: Connection, item: FeedAppointment) -> Any:
    """What a feed said of an appointment that never became a session here (`_note`)."""
    return conn.execute(_KEPT, {"source": item.source, "ref": item.ref}).first()


def _note(conn: Connection, item: FeedAppointment, now: datetime, detail: str) -> Applied:
    """Remember the newest word on an appointment that is no session here (cancelled before
    outreach saw it booked), so that its booking, arriving late, does not bring it back. Kept
    beside the unmatched ones, marked handled: nobody is asked to enrol anyone for it."""
    values: dict[str, Any] = {
        "patient_ref": item.patient_ref,
        "status": item.status,
        "starts_at": item.starts_at,
        "feed_at": item.changed_at,
        "updated_at": now,
        "matched_at": now,
        "appointment_id": None,
    }
    conn.execute(
        dialect.insert(conn, U)
        .values(source=item.source, feed_ref=item.ref, received_at=now, **values)
        .on_conflict_do_update(index_elements=[U.c.source, U.c.feed_ref], set_=values)
    )
    return Applied(FeedOutcome.UNCHANGED, None, detail)


def _displace(conn: Connection, session: Any, patient_ref: str, now: datetime) -> None:
    """A session called off in the feed, taken over by another of its appointments at the
    same time (one row per patient and start): what the feed last said of the old one is
    kept, so a late message about it does not bring it back as a new session."""
    if session.source not in FEEDS or session.feed_ref is None:
        return
    gone = FeedAppointment(
        source=AppointmentSource(session.source),
        ref=session.feed_ref,
        patient_ref=patient_ref,
        status=FeedStatus.CANCELLED,
        starts_at=session.starts_at,
        changed_at=session.feed_at,
    )
    _note(conn, gone, now, "")


def _new(
    conn: Connection, settings: Settings, item: FeedAppointment, patient: Any, now: datetime
) -> Applied:
    """An appointment outreach has not seen: made, or one of the patient's own sessions at
    that time taken over (a plan's session, one staff entered)."""
    if item.starts_at is None:
        if item.status != FeedStatus.SCHEDULED:
            return _note(conn, item, now, "no such appointment to call off or mark")
        raise NotApplied("the appointment has no start time")
    clash = conn.execute(_AT, {"patient": patient.id, "at": item.starts_at}).first()
    if clash is not None and clash.source in FEEDS and item.status != FeedStatus.SCHEDULED:
        # Called off (or marked) before outreach saw it booked, at the time of another of
        # the feed's sessions: that session is not this one.
        return _note(conn, item, now, "called off before it was booked here: nothing to change")
    if clash is not None and clash.status in LIVE and clash.source in FEEDS:
        raise NotApplied(
            f"the patient already has appointment {clash.feed_ref} at that time"
            f" from the {AppointmentSource(clash.source).word}"
        )
    owned = {"source": item.source, "feed_ref": item.ref, "feed_at": item.changed_at}
    if clash is None:
        made = conn.execute(
            A.insert(),
            {
                "patient_id": patient.id,
                "starts_at": item.starts_at,
                "status": AppointmentStatus.SCHEDULED,
                "updated_at": now,
                **owned,
            },
        ).inserted_primary_key
        assert made is not None
        appointment_id = int(made[0])
        was_status, was_mark = None, None
    else:
        appointment_id = int(clash.id)
        _displace(conn, clash, item.patient_ref, now)
        conn.execute(
            update(A).where(A.c.id == clash.id).values(updated_at=now, moved_to=None, **owned)
        )
        was_status, was_mark = clash.status, clash.attendance
    done = _follow(
        conn, settings, item, patient, appointment_id, item.starts_at, was_status, was_mark, now
    )
    _audit(conn, item, patient, item.starts_at, ["new", *done], now)
    return Applied(FeedOutcome.APPLIED, appointment_id, "; ".join(["made", *done]))


def _change(
    conn: Connection,
    settings: Settings,
    item: FeedAppointment,
    patient: Any,
    row: Any,
    now: datetime,
) -> Applied:
    starts_at = item.starts_at or row.starts_at
    done: list[str] = []
    appointment_id = int(row.id)
    status, mark = row.status, row.attendance
    if starts_at != row.starts_at and item.status == FeedStatus.SCHEDULED:
        appointment_id = _move(conn, settings, item, patient, row, starts_at, now)
        done.append("moved to " + readable_time(starts_at, patient.timezone, "%Y-%m-%d %H:%M"))
        status, mark = AppointmentStatus.SCHEDULED, None
    elif starts_at != row.starts_at:
        starts_at = row.starts_at  # a time on a cancellation or a mark moves nothing
    if item.changed_at is not None:
        conn.execute(update(A).where(A.c.id == appointment_id).values(feed_at=item.changed_at))
    done += _follow(conn, settings, item, patient, appointment_id, starts_at, status, mark, now)
    if not done:
        return Applied(FeedOutcome.UNCHANGED, appointment_id, "already as stated")
    _audit(conn, item, patient, starts_at, done, now)
    return Applied(FeedOutcome.APPLIED, appointment_id, "; ".join(done))


def _move(
    conn: Connection,
    settings: Settings,
    item: FeedAppointment,
    patient: Any,
    row: Any,
    starts_at: datetime,
    now: datetime,
) -> int:
    """The system gave the appointment a new time: its old reminders stop, the patient is
    told the new time once (if it was on), and the session at the new time is planned.

    The row moves with it, unless the patient has a row at the new time already (one row per
    patient and start): a session no longer on there is taken over and the old row marked
    moved to it; a session still on there is a clash staff must settle."""
    clash = conn.execute(
        select(*ROW)
        .where(A.c.patient_id == patient.id, A.c.starts_at == starts_at)
        .with_for_update(of=A)
    ).first()
    if clash is not None and clash.status in LIVE and clash.source in FEEDS:
        raise NotApplied(
            f"the patient already has appointment {clash.feed_ref} at the new time"
            f" from the {AppointmentSource(clash.source).word}"
        )
    commands.cancel_appointment(conn, row.id, now, SkipReason.SUPERSEDED)
    waitlist_slots.withdraw_slot(conn, row.id, now)
    fresh = {"status": AppointmentStatus.SCHEDULED, "updated_at": now, "attendance": None}
    fresh |= {"marked_at": None, "marked_by": None, "cancelled_at": None}
    if clash is None:
        conn.execute(update(A).where(A.c.id == row.id).values(starts_at=starts_at, **fresh))
        new_id = int(row.id)
    else:
        new_id = int(clash.id)
        _displace(conn, clash, item.patient_ref, now)
        conn.execute(
            update(A)
            .where(A.c.id == row.id)
            .values(status=AppointmentStatus.MOVED, moved_to=new_id, feed_ref=None, updated_at=now)
        )
        conn.execute(
            update(A)
            .where(A.c.id == new_id)
            .values(source=item.source, feed_ref=item.ref, moved_to=None, **fresh)
        )
    # Its reminders skipped when it was off are made again, at the new time.
    commands.restore_appointment(conn, new_id, now)
    sessionplan.plan_session(conn, settings, new_id, now)
    if row.status in LIVE and row.starts_at > now:
        moves.moved_text(conn, settings, SimpleNamespace(**_about(patient)), new_id, starts_at, now)
    return new_id


def _follow(
    conn: Connection,
    settings: Settings,
    item: FeedAppointment,
    patient: Any,
    appointment_id: int,
    starts_at: datetime,
    status: str | None,
    mark: str | None,
    now: datetime,
) -> list[str]:
    """Bring the session's status and mark to what the system says, and what follows from
    each change. `status` and `mark` are what it had (None: new). Returns what changed."""
    target = item.status
    values: dict[str, Any] = {"updated_at": now}
    done: list[str] = []
    plan = False  # make the session's reminders once it is written
    if target == FeedStatus.SCHEDULED:
        if status is None:
            sessionplan.plan_session(conn, settings, appointment_id, now)
            return done
        if status not in LIVE:
            values |= {"status": AppointmentStatus.SCHEDULED, "cancelled_at": None}
            commands.restore_appointment(conn, appointment_id, now)
            waitlist_slots.withdraw_slot(conn, appointment_id, now)
            plan = True
            done.append("on again")
        if mark is not None:
            values |= {"attendance": None, "marked_at": None, "marked_by": None}
            done.append("mark cleared")
    elif target in (FeedStatus.CANCELLED, FeedStatus.DELETED):
        given = _cancel_mark(item)
        if status == AppointmentStatus.CANCELLED and mark == given:
            return done
        if status in (AppointmentStatus.MOVED, AppointmentStatus.SUPERSEDED):
            return done  # replaced already: what is called off is the session it became
        values |= {"status": AppointmentStatus.CANCELLED, "attendance": given}
        values |= {"marked_at": now if given else None, "marked_by": None}
        if status != AppointmentStatus.CANCELLED:
            values["cancelled_at"] = now
            commands.cancel_appointment(conn, appointment_id, now)
            if target == FeedStatus.CANCELLED:
                about = {"id": appointment_id, "starts_at": starts_at, "cancelled_at": now}
                waitlist_slots.open_slot(conn, settings, SimpleNamespace(**about), now)
        done.append("deleted" if target == FeedStatus.DELETED else "cancelled")
    else:
        given = Attendance.NO_SHOW if target == FeedStatus.NO_SHOW else Attendance.ATTENDED
        if mark == given and status in LIVE:
            return done
        values |= {"attendance": given, "marked_at": now, "marked_by": None}
        if status is not None and status not in LIVE:
            values |= {"status": AppointmentStatus.SCHEDULED, "cancelled_at": None}
            waitlist_slots.withdraw_slot(conn, appointment_id, now)
        done.append(given.word)
    conn.execute(update(A).where(A.c.id == appointment_id).values(**values))
    if plan:
        sessionplan.plan_session(conn, settings, appointment_id, now)
    if target == FeedStatus.NO_SHOW and now - starts_at <= FOLLOW_UP_WITHIN:
        session = _about(patient) | {"id": appointment_id, "starts_at": starts_at}
        texted, escalated = attendance.follow_no_show(
            conn, settings, SimpleNamespace(**session), now
        )
        if texted:
            done.append("no-show text queued")
        if escalated:
            done.append(f"escalated: {escalated} no-shows in a row")
    return done


def _cancel_mark(item: FeedAppointment) -> Attendance | None:
    """Who called it off, when the system says; a deletion (entered in error) is no one's
    cancellation, and an unknown side is left unmarked rather than guessed."""
    if item.status == FeedStatus.DELETED or item.cancelled_by_patient is None:
        return None
    if item.cancelled_by_patient:
        return Attendance.CANCELLED_BY_PATIENT
    return Attendance.CANCELLED_BY_CLINIC


def _about(patient: Any) -> dict[str, Any]:
    """The patient's facts a follow-up text checks (consent, quiet hours)."""
    return {
        "patient_id": patient.id,
        "timezone": patient.timezone,
        "quiet_hours": patient.quiet_hours,
        "consent_state": patient.consent_state,
        "opted_out": patient.opted_out,
        "paused": patient.paused,
    }


def _audit(
    conn: Connection,
    item: FeedAppointment,
    patient: Any,
    starts_at: datetime,
    done: list[str],
    now: datetime,
) -> None:
    detail = {
        "appointment": item.ref,
        "starts_at": readable_time(starts_at, patient.timezone, "%Y-%m-%d %H:%M"),
        "change": done,
    }
    audit.record_system(conn, item.source, Action.SESSION_FROM_FEED, now, patient.id, detail)

"""Appointments from the clinic's system applied through outreach/feeds/appointments.py, with
the real planner, outbox and waitlist: reminders follow each change at once, unknown patients
are kept and never texted, and older changes never undo newer ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    appointment_table,
    audit_events,
    escalations,
    open_slots,
    reminders,
    unmatched_appointments,
)
from outreach.feeds import appointments as feed
from outreach.feeds.appointments import FeedAppointment, NotApplied
from outreach.outbox import commands
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    Attendance,
    FeedOutcome,
    FeedStatus,
    ReminderKind,
    ReminderState,
    SkipReason,
)
from tests.support.patients import enrol

A = appointment_table
R = reminders
# T0 is Monday 23 November 2026, 12:00 UTC (07:00 in New York).
THURSDAY_10_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
FRIDAY_14_NY = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def booked(**changes: Any) -> FeedAppointment:
    item = FeedAppointment(
        source=AppointmentSource.HL7,
        ref="A-1001",
        patient_ref="P-1",
        status=FeedStatus.SCHEDULED,
        starts_at=THURSDAY_10_NY,
        changed_at=CHANGED,
    )
    return replace(item, **changes)


@pytest.fixture
def patient(engine: Engine, settings: Settings, clock: ManualClock) -> int:
    """Ana, whose sessions come from the scheduling system: her plan has none of its own."""
    patient_id = enrol(engine, settings, clock.now(), sessions="")
    plan_due(engine, settings, clock.now())
    return patient_id


def give(engine: Engine, settings: Settings, now: datetime, item: FeedAppointment) -> feed.Applied:
    with engine.begin() as conn:
        applied = feed.apply(conn, settings, item, now)
    feed.settle(engine, settings, now)
    return applied


def session(engine: Engine, appointment_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(A).where(A.c.id == appointment_id)).one()


def session_reminders(engine: Engine, appointment_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(R.c.state, R.c.skip_reason, R.c.send_at)
            .where(R.c.appointment_id == appointment_id, R.c.kind == ReminderKind.SESSION)
            .order_by(R.c.send_at)
        ).all()
    return [f"{r.state}:{r.skip_reason or ''}@{r.send_at:%d %H:%M}" for r in rows]


def texts(engine: Engine, patient_id: int, kind: ReminderKind) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(select(R.c.id).where(R.c.patient_id == patient_id, R.c.kind == kind)).all()
        )


def test_a_new_appointment_is_a_session_with_its_reminder_planned_at_once(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    applied = give(engine, settings, clock.now(), booked())

    assert applied.outcome == FeedOutcome.APPLIED
    assert applied.appointment_id is not None
    row = session(engine, applied.appointment_id)
    assert (row.patient_id, row.source, row.feed_ref) == (patient, "hl7", "A-1001")
    assert row.status == AppointmentStatus.SCHEDULED
    # 24 hours ahead, Wednesday 10:00 in New York.
    assert session_reminders(engine, applied.appointment_id) == ["pending:@25 15:00"]
    with engine.connect() as conn:
        entry = conn.execute(select(audit_events)).all()[-1]
    assert (entry.username, entry.action, entry.user_id) == ("hl7", "session_from_feed", None)


def test_the_same_appointment_again_changes_nothing(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    first = give(engine, settings, clock.now(), booked())
    again = give(engine, settings, clock.now(), booked())

    assert again.outcome == FeedOutcome.UNCHANGED
    assert again.appointment_id == first.appointment_id
    with engine.connect() as conn:
        assert len(conn.execute(select(A.c.id).where(A.c.patient_id == patient)).all()) == 1


def test_a_new_time_stops_the_old_reminders_plans_new_ones_and_tells_the_patient_once(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    clock.advance(timedelta(hours=2))  # 09:00 in New York: outside quiet hours
    moved = booked(starts_at=FRIDAY_14_NY, changed_at=CHANGED + timedelta(hours=2))
    applied = give(engine, settings, clock.now(), moved)

    assert applied.outcome == FeedOutcome.APPLIED
    assert applied.appointment_id == made.appointment_id
    assert "moved to 2026-11-27 14:00" in applied.detail
    assert session(engine, made.appointment_id).starts_at == FRIDAY_14_NY
    assert session_reminders(engine, made.appointment_id) == ["pending:@26 19:00"]
    assert texts(engine, patient, ReminderKind.SESSION_MOVED) == 1


def test_a_cancellation_stops_the_reminders_and_offers_the_slot(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    called_off = booked(status=FeedStatus.CANCELLED, changed_at=CHANGED + timedelta(minutes=5))
    applied = give(engine, settings, clock.now(), called_off)

    row = session(engine, made.appointment_id)
    assert (applied.outcome, row.status) == (FeedOutcome.APPLIED, AppointmentStatus.CANCELLED)
    assert row.attendance is None  # the system did not say who called it off: not guessed
    assert session_reminders(engine, made.appointment_id) == [
        f"{ReminderState.SKIPPED}:{SkipReason.CANCELLED}@25 15:00"
    ]
    with engine.connect() as conn:
        slots = conn.execute(select(open_slots.c.appointment_id)).scalars().all()
    assert slots == [made.appointment_id]


def test_a_cancellation_the_patient_asked_for_is_marked_as_theirs(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    give(
        engine,
        settings,
        clock.now(),
        booked(status=FeedStatus.CANCELLED, cancelled_by_patient=True),
    )

    assert session(engine, made.appointment_id).attendance == Attendance.CANCELLED_BY_PATIENT


def test_a_deletion_stops_the_reminders_and_offers_no_slot(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    give(engine, settings, clock.now(), booked(status=FeedStatus.DELETED))

    assert session(engine, made.appointment_id).status == AppointmentStatus.CANCELLED
    assert session_reminders(engine, made.appointment_id)[0].startswith("skipped:cancelled")
    with engine.connect() as conn:
        assert conn.execute(select(open_slots.c.id)).all() == []


def test_booked_again_after_a_cancellation_brings_the_reminders_back(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    later = CHANGED + timedelta(minutes=1)
    give(engine, settings, clock.now(), booked(status=FeedStatus.CANCELLED, changed_at=later))
    give(engine, settings, clock.now(), booked(changed_at=later + timedelta(minutes=1)))

    assert session(engine, made.appointment_id).status == AppointmentStatus.SCHEDULED
    assert session_reminders(engine, made.appointment_id) == ["pending:@25 15:00"]
    with engine.connect() as conn:
        (slot_state,) = conn.execute(select(open_slots.c.state)).scalars().all()
    assert slot_state != "open"


def test_an_older_change_never_undoes_a_newer_one(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    """A cancellation, then the booking that preceded it arriving late."""
    cancel = booked(status=FeedStatus.CANCELLED, changed_at=CHANGED + timedelta(minutes=10))
    first = give(engine, settings, clock.now(), cancel)
    late = give(engine, settings, clock.now(), booked())

    assert late.outcome == FeedOutcome.UNCHANGED
    assert first.appointment_id is not None
    assert session(engine, first.appointment_id).status == AppointmentStatus.CANCELLED


def test_a_reschedule_before_its_booking_is_taken_as_the_appointment(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    rescheduled = give(
        engine, settings, clock.now(), booked(starts_at=FRIDAY_14_NY, changed_at=CHANGED)
    )
    original = give(
        engine,
        settings,
        clock.now(),
        booked(changed_at=CHANGED - timedelta(hours=1)),  # the S12, sent first, arrived last
    )

    assert rescheduled.outcome == FeedOutcome.APPLIED
    assert original.outcome == FeedOutcome.UNCHANGED
    assert rescheduled.appointment_id is not None
    assert session(engine, rescheduled.appointment_id).starts_at == FRIDAY_14_NY


def test_an_unknown_patient_is_kept_for_staff_and_brought_in_on_enrolment(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    item = booked(patient_ref="P-77", patient_name="Luis Ortega", phone="+16175550177")
    applied = give(engine, settings, clock.now(), item)

    assert (applied.outcome, applied.appointment_id) == (FeedOutcome.UNMATCHED, None)
    with engine.connect() as conn:
        assert conn.execute(select(A.c.id)).all() == []
        kept = conn.execute(select(unmatched_appointments)).one()
    assert (kept.patient_ref, kept.patient_name, kept.matched_at) == ("P-77", "Luis Ortega", None)
    assert feed.adopt(engine, settings, clock.now()) == 0  # nobody has that id yet

    patient_id = enrol(
        engine,
        settings,
        clock.now(),
        consent=False,
        patient_id="P-77",
        phone="+16175550177",
        sessions="",
    )
    assert feed.adopt(engine, settings, clock.now()) == 1
    with engine.connect() as conn:
        kept = conn.execute(select(unmatched_appointments)).one()
        row = conn.execute(select(A).where(A.c.patient_id == patient_id)).one()
    assert kept.matched_at is not None and kept.appointment_id == row.id
    assert (row.feed_ref, row.starts_at) == ("A-1001", THURSDAY_10_NY)
    # Enrolled, not yet consenting: nothing but the consent request is queued.
    with engine.connect() as conn:
        kinds = (
            conn.execute(
                select(R.c.kind).where(R.c.patient_id == patient_id, R.c.state == "pending")
            )
            .scalars()
            .all()
        )
    assert list(kinds) == [ReminderKind.CONSENT]


def test_a_no_show_gets_the_follow_up_and_the_second_in_a_row_escalates(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    monday_8 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    tuesday_8 = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    give(engine, settings, clock.now(), booked(ref="A-1", starts_at=monday_8))
    clock.advance(timedelta(hours=3))  # 10:00 in New York, after the session
    give(
        engine,
        settings,
        clock.now(),
        booked(ref="A-1", starts_at=monday_8, status=FeedStatus.NO_SHOW),
    )
    assert texts(engine, patient, ReminderKind.NO_SHOW) == 1

    give(engine, settings, clock.now(), booked(ref="A-2", starts_at=tuesday_8))
    clock.advance(timedelta(days=1))
    give(
        engine,
        settings,
        clock.now(),
        booked(ref="A-2", starts_at=tuesday_8, status=FeedStatus.NO_SHOW),
    )
    with engine.connect() as conn:
        (found,) = conn.execute(select(escalations.c.reason, escalations.c.detail)).all()
    assert found == ("no_shows", "missed 2 sessions in a row")


def test_a_no_show_from_long_ago_is_history_not_a_follow_up(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    long_ago = clock.now() - timedelta(days=30)
    for ref in ("A-1", "A-2"):
        give(
            engine,
            settings,
            clock.now(),
            booked(ref=ref, starts_at=long_ago, status=FeedStatus.NO_SHOW),
        )
        long_ago += timedelta(days=2)

    assert texts(engine, patient, ReminderKind.NO_SHOW) == 0
    with engine.connect() as conn:
        assert conn.execute(select(escalations.c.id)).all() == []
        marks = conn.execute(select(A.c.attendance).where(A.c.patient_id == patient)).scalars()
        assert set(marks) == {Attendance.NO_SHOW}


def test_a_session_the_plan_made_at_that_time_is_taken_over_by_the_feed(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    """Ana's plan has Wednesday 10:00; the scheduling system books the same time."""
    patient_id = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    wednesday_10 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    with engine.connect() as conn:
        planned = conn.execute(
            select(A.c.id).where(A.c.patient_id == patient_id, A.c.starts_at == wednesday_10)
        ).scalar_one()

    applied = give(engine, settings, clock.now(), booked(starts_at=wednesday_10))

    assert applied.appointment_id == planned
    assert session(engine, planned).source == AppointmentSource.HL7


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (booked(starts_at=None), "the appointment has no start time"),
        (booked(ref=" "), "the appointment has no id"),
        (booked(ref="X" * 129), "longer than 128"),
        (booked(patient_ref=""), "names no patient id"),
    ],
)
def test_wrong_content_is_refused_in_words(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    patient: int,
    item: FeedAppointment,
    words: str,
) -> None:
    with pytest.raises(NotApplied, match=words), engine.begin() as conn:
        feed.apply(conn, settings, item, clock.now())


def test_a_second_appointment_at_the_same_time_from_the_feed_is_refused(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    give(engine, settings, clock.now(), booked())
    with pytest.raises(NotApplied, match="already has appointment A-1001"), engine.begin() as conn:
        feed.apply(conn, settings, booked(ref="A-2002"), clock.now())


def test_an_appointment_of_another_patient_is_not_moved_between_patients(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    give(engine, settings, clock.now(), booked())
    enrol(engine, settings, clock.now(), patient_id="P-2", phone="+16175550143", sessions="")
    with pytest.raises(NotApplied, match="belongs to another patient"), engine.begin() as conn:
        feed.apply(conn, settings, booked(patient_ref="P-2"), clock.now())


def test_a_cancelled_session_stays_cancelled_through_a_replan(
    engine: Engine, settings: Settings, clock: ManualClock, patient: int
) -> None:
    """Cancelled by the feed, nothing later revives its reminders: a replan plans none."""
    made = give(engine, settings, clock.now(), booked())
    assert made.appointment_id is not None
    give(engine, settings, clock.now(), booked(status=FeedStatus.CANCELLED))
    with engine.begin() as conn:
        commands.replan(conn, patient, clock.now())
    plan_due(engine, settings, clock.now())
    assert [s.split("@")[0] for s in session_reminders(engine, made.appointment_id)] == [
        "skipped:cancelled"
    ]

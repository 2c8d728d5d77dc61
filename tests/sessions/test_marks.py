"""Marking sessions through outreach/sessions/attendance.py, with the real planner, outbox,
dispatcher and reply path: a cancellation stops reminders at once, a no-show gets its one
text and R books a call, two in a row escalate, and every mark can be corrected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, audit_events, escalations, reminders
from outreach.rules.vocabulary import Attendance, ReminderKind, ReminderState, SkipReason
from outreach.sessions import attendance
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import enrol

A = appointment_table
R = reminders
# Monday 23 November 2026; Ana (New York) has sessions Mon, Wed and Fri at 10:00 (15:00 UTC).
MONDAY_SESSION = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
WEDNESDAY_SESSION = MONDAY_SESSION + timedelta(days=2)
FRIDAY_SESSION = MONDAY_SESSION + timedelta(days=4)


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    desk = Desk(engine, settings, clock, renderer)
    desk.patient_id = enrol(engine, settings, clock.now())
    from outreach.planning.planner import plan_due

    plan_due(engine, settings, clock.now())
    return desk


def session_at(desk: Desk, starts_at: datetime) -> int:
    (row,) = desk.rows(A, A.c.patient_id == desk.patient_id, A.c.starts_at == starts_at)
    return int(row.id)


def mark(desk: Desk, starts_at: datetime, given: Attendance) -> attendance.Marked:
    return attendance.mark(
        desk.engine, desk.settings, desk.terry, session_at(desk, starts_at), given, desk.clock.now()
    )


def session_reminders(desk: Desk, starts_at: datetime) -> list[str]:
    rows = desk.rows(R, R.c.appointment_id == session_at(desk, starts_at), R.c.kind == "session")
    return [f"{r.state}:{r.skip_reason}" for r in rows]


@pytest.mark.parametrize("given", [Attendance.CANCELLED_BY_PATIENT, Attendance.CANCELLED_BY_CLINIC])
def test_a_cancelled_session_sends_no_reminder_afterwards(desk: Desk, given: Attendance) -> None:
    assert session_reminders(desk, WEDNESDAY_SESSION) == ["pending:None"]
    marked_at = desk.clock.now()
    mark(desk, WEDNESDAY_SESSION, given)

    assert session_reminders(desk, WEDNESDAY_SESSION) == [f"skipped:{SkipReason.CANCELLED}"]
    desk.at(WEDNESDAY_SESSION - timedelta(hours=24))
    sent = desk.dispatch()
    assert not any("Wed" in body and "Reply C" in body for body in sent)
    (row,) = desk.rows(A, A.c.id == session_at(desk, WEDNESDAY_SESSION))
    assert (row.status, row.attendance, row.cancelled_at) == ("cancelled", given, marked_at)


def test_a_past_cancellation_corrected_to_attended_stands_as_a_session_again(
    desk: Desk,
) -> None:
    desk.at(MONDAY_SESSION - timedelta(hours=2))
    mark(desk, MONDAY_SESSION, Attendance.CANCELLED_BY_PATIENT)
    desk.at(MONDAY_SESSION + timedelta(hours=3))  # the patient came after all
    corrected = mark(desk, MONDAY_SESSION, Attendance.ATTENDED)

    assert corrected.was == Attendance.CANCELLED_BY_PATIENT
    (row,) = desk.rows(A, A.c.id == session_at(desk, MONDAY_SESSION))
    assert (row.status, row.attendance, row.cancelled_at) == ("scheduled", "attended", None)


def test_a_no_show_gets_one_text_that_day_and_r_asks_staff_to_call(desk: Desk) -> None:
    desk.at(MONDAY_SESSION + timedelta(hours=1))  # 11:00 in New York
    marked = mark(desk, MONDAY_SESSION, Attendance.NO_SHOW)
    assert marked.no_show_text and marked.escalated == 0

    sent = desk.dispatch()
    assert any(body.startswith("Riverside PT: We missed you today, Ana.") for body in sent)
    again = mark(desk, MONDAY_SESSION, Attendance.NO_SHOW)  # marked twice: nothing more
    assert again.was == Attendance.NO_SHOW and not again.no_show_text
    assert not [b for b in desk.dispatch() if "missed you" in b]

    desk.patient_writes("R")
    (escalation,) = desk.rows(escalations, escalations.c.patient_id == desk.patient_id)
    assert (escalation.severity, escalation.reason) == ("routine", "reschedule")
    assert "find a new time" in desk.transport.sent[-1].body


def test_a_no_show_marked_the_next_day_sends_nothing(desk: Desk) -> None:
    desk.at(MONDAY_SESSION + timedelta(days=1))
    assert not mark(desk, MONDAY_SESSION, Attendance.NO_SHOW).no_show_text


def test_a_corrected_no_show_mark_stops_its_text(desk: Desk) -> None:
    desk.at(MONDAY_SESSION + timedelta(hours=7))  # 17:00: no send before the correction
    mark(desk, MONDAY_SESSION, Attendance.NO_SHOW)
    corrected = mark(desk, MONDAY_SESSION, Attendance.ATTENDED)
    assert corrected.was == Attendance.NO_SHOW

    assert not [b for b in desk.dispatch() if "missed you" in b]
    (text,) = desk.rows(R, R.c.kind == ReminderKind.NO_SHOW)
    assert (text.state, text.skip_reason) == (ReminderState.SKIPPED, SkipReason.MARK_CORRECTED)
    with desk.engine.connect() as conn:
        details = (
            conn.execute(
                select(audit_events.c.detail).where(audit_events.c.action == "session_marked")
            )
            .scalars()
            .all()
        )
    assert [d for d in details if '"mark": [null, "no-show"]' in d]
    assert [d for d in details if '"mark": ["no-show", "attended"]' in d]


def test_two_no_shows_in_a_row_raise_one_routine_escalation(desk: Desk) -> None:
    desk.at(FRIDAY_SESSION + timedelta(days=1))
    assert mark(desk, MONDAY_SESSION, Attendance.NO_SHOW).escalated == 0
    assert mark(desk, WEDNESDAY_SESSION, Attendance.ATTENDED).escalated == 0
    assert mark(desk, FRIDAY_SESSION, Attendance.NO_SHOW).escalated == 0  # attended between
    assert desk.rows(escalations) == []

    mark(desk, WEDNESDAY_SESSION, Attendance.NO_SHOW)  # corrected: missed all three
    found = desk.rows(escalations, escalations.c.reason == "no_shows")
    assert [(e.severity, e.detail) for e in found] == [("routine", "missed 2 sessions in a row")]


def test_attendance_cannot_be_marked_before_the_session_starts(desk: Desk) -> None:
    with pytest.raises(attendance.NotMarked, match="has not started yet"):
        mark(desk, WEDNESDAY_SESSION, Attendance.NO_SHOW)
    with pytest.raises(attendance.NotMarked, match="no session has id"):
        attendance.mark(
            desk.engine, desk.settings, desk.terry, 99_999, Attendance.ATTENDED, desk.clock.now()
        )

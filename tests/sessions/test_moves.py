"""Moving a session through outreach/sessions/moves.py, with the real planner, outbox,
dispatcher and reply path: the old time's reminders stop, the patient is told the new time
once, the new session's reminder asks again, and an answer to the old one confirms nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, audit_events, inbound_messages, reminders
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import Attendance, ReminderKind, SkipReason
from outreach.sessions import attendance, moves
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import enrol

A = appointment_table
R = reminders
# Monday 23 November 2026, 12:00 UTC; Ana (New York) has sessions Mon, Wed and Fri at 10:00.
WEDNESDAY_SESSION = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
FRIDAY_SESSION = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
THURSDAY = date(2026, 11, 26)
THURSDAY_14_NY = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    desk = Desk(engine, settings, clock, renderer)
    desk.patient_id = enrol(engine, settings, clock.now())
    plan_due(engine, settings, clock.now())
    return desk


def session_at(desk: Desk, starts_at: datetime) -> int:
    (row,) = desk.rows(A, A.c.patient_id == desk.patient_id, A.c.starts_at == starts_at)
    return int(row.id)


def move(desk: Desk, starts_at: datetime, day: date, at: time) -> moves.Moved:
    return moves.move(
        desk.engine,
        desk.settings,
        desk.terry,
        session_at(desk, starts_at),
        day,
        at,
        desk.clock.now(),
    )


def reminder_states(desk: Desk, appointment_id: int) -> list[str]:
    rows = desk.rows(R, R.c.appointment_id == appointment_id, R.c.kind == ReminderKind.SESSION)
    return [f"{r.state}:{r.skip_reason}" for r in rows]


def test_a_moved_session_stops_the_old_reminders_and_tells_the_new_time_once(desk: Desk) -> None:
    old_id = session_at(desk, WEDNESDAY_SESSION)
    assert reminder_states(desk, old_id) == ["pending:None"]

    moved = move(desk, WEDNESDAY_SESSION, THURSDAY, time(14, 0))

    assert moved.new_starts_at == THURSDAY_14_NY and moved.texted
    (old,) = desk.rows(A, A.c.id == old_id)
    (new,) = desk.rows(A, A.c.id == moved.new_id)
    assert (old.status, old.moved_to) == ("moved", moved.new_id)
    assert (new.source, new.status, new.starts_at) == ("moved", "scheduled", THURSDAY_14_NY)
    assert reminder_states(desk, old_id) == [f"skipped:{SkipReason.SUPERSEDED}"]
    assert reminder_states(desk, moved.new_id) == ["pending:None"]  # it asks again

    desk.at(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # 08:00 in New York: quiet hours end
    told = desk.dispatch()
    assert told == [
        "Riverside PT: Your therapy session has moved to Thu Nov 26 at 2:00 PM. "
        "We will text a reminder before it."
    ]
    assert desk.dispatch() == []  # once

    # The reminder of the new time goes the day before and asks for a confirmation again.
    desk.at(THURSDAY_14_NY - timedelta(hours=23))
    plan_due(desk.engine, desk.settings, desk.clock.now())
    sent = desk.dispatch()
    assert any("Thu Nov 26 at 2:00 PM. Reply C to confirm" in body for body in sent)
    assert not any("Wed Nov 25" in body for body in sent)
    (old,) = desk.rows(A, A.c.id == old_id)
    assert old.status == "moved"  # the plan's next run does not bring the old time back

    (entry,) = desk.rows(audit_events, audit_events.c.action == "session_moved")
    assert json.loads(entry.detail) == {
        "starts_at": "2026-11-25 10:00 EST",
        "moved_to": "2026-11-26 14:00 EST",
    }


def test_a_confirmation_of_the_old_time_after_a_move_confirms_nothing(desk: Desk) -> None:
    desk.at(WEDNESDAY_SESSION - timedelta(hours=23))
    assert any("Wed Nov 25" in body for body in desk.dispatch())
    old_id = session_at(desk, WEDNESDAY_SESSION)
    move(desk, WEDNESDAY_SESSION, THURSDAY, time(14, 0))

    desk.patient_writes("C")

    (old,) = desk.rows(A, A.c.id == old_id)
    assert old.status == "moved"
    assert "confirmed" not in desk.transport.sent[-1].body.lower()
    (reply,) = desk.rows(inbound_messages)
    assert reply.needs_review  # staff see it and can tell the patient the new time


def test_a_session_moves_onto_a_cancelled_one_at_that_time(desk: Desk) -> None:
    friday_id = session_at(desk, FRIDAY_SESSION)
    cancel = Attendance.CANCELLED_BY_PATIENT
    attendance.mark(desk.engine, desk.settings, desk.terry, friday_id, cancel, desk.clock.now())
    assert reminder_states(desk, friday_id) == [f"skipped:{SkipReason.CANCELLED}"]

    moved = move(desk, WEDNESDAY_SESSION, date(2026, 11, 27), time(10, 0))

    assert moved.new_id == friday_id  # one row per patient and start
    (friday,) = desk.rows(A, A.c.id == friday_id)
    assert (friday.status, friday.source, friday.attendance, friday.cancelled_at) == (
        "scheduled",
        "moved",
        None,
        None,
    )
    assert reminder_states(desk, friday_id) == ["pending:None"]


@pytest.mark.parametrize(
    ("starts_at", "day", "at", "now", "problem"),
    [
        (FRIDAY_SESSION, date(2026, 11, 25), time(10, 0), None, "already has a session"),
        (WEDNESDAY_SESSION, date(2026, 11, 25), time(10, 0), None, "the session's time already"),
        (WEDNESDAY_SESSION, date(2026, 11, 23), time(6, 0), None, "already passed"),
        (WEDNESDAY_SESSION, THURSDAY, time(14, 0), WEDNESDAY_SESSION, "has begun"),
    ],
)
def test_a_move_that_cannot_be_made_says_why_and_changes_nothing(
    desk: Desk, starts_at: datetime, day: date, at: time, now: datetime | None, problem: str
) -> None:
    if now is not None:
        desk.at(now)
    before = desk.rows(A)

    with pytest.raises(moves.NotMoved, match=problem):
        move(desk, starts_at, day, at)

    assert desk.rows(A) == before
    assert desk.rows(audit_events, audit_events.c.action == "session_moved") == []


def test_a_cancelled_or_moved_session_cannot_be_moved(desk: Desk) -> None:
    moved = move(desk, WEDNESDAY_SESSION, THURSDAY, time(14, 0))
    with pytest.raises(moves.NotMoved, match="only one still on moves"):
        moves.move(
            desk.engine,
            desk.settings,
            desk.terry,
            moved.old_id,
            THURSDAY,
            time(15, 0),
            desk.clock.now(),
        )
    with pytest.raises(moves.NotMoved, match="no session has id"):
        moves.move(
            desk.engine, desk.settings, desk.terry, 99_999, THURSDAY, time(15, 0), desk.clock.now()
        )


def test_a_patient_who_opted_out_is_not_texted_the_new_time(desk: Desk) -> None:
    with desk.engine.begin() as conn:
        from outreach.patients import consent

        consent.opt_out(conn, desk.patient_id, desk.clock.now(), "staff", "asked in person")

    moved = move(desk, WEDNESDAY_SESSION, THURSDAY, time(14, 0))

    assert not moved.texted
    assert desk.rows(R, R.c.kind == ReminderKind.SESSION_MOVED) == []
    with desk.engine.connect() as conn:
        status = conn.execute(select(A.c.status).where(A.c.id == moved.old_id)).scalar_one()
    assert status == "moved"

"""Answers to waitlist offers, through the real reply path: the first YES takes the slot and
becomes a session with its reminders; the others holding an offer are told once that it has
gone; a YES that comes second is told so in its reply; NO lets the next round go."""

from __future__ import annotations

from datetime import timedelta

from outreach.db.tables import open_slots, reminders, waitlist_entries
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import Attendance, ReminderKind
from outreach.sessions import attendance, waitlist_board
from tests.sessions.waitlist_clinic import WEDNESDAY_SESSION, A, Clinic, clinic

__all__ = ["clinic"]
R = reminders
BOOKED = "You are booked for Wed Nov 25 at 10:00 AM, Ben."
GONE = "The session on Wed Nov 25 at 10:00 AM has been taken. You stay on our waitlist."


def offered(clinic: Clinic) -> int:
    slot_id = clinic.cancel()
    assert slot_id is not None
    clinic.tick()
    clinic.dispatch()
    return slot_id


def test_the_first_yes_takes_the_slot_and_it_becomes_a_session(clinic: Clinic) -> None:
    slot_id = offered(clinic)
    assert BOOKED in clinic.writes("P-2", "YES")

    slot = clinic.slot(slot_id)
    assert (slot.state, slot.taken_by) == ("taken", clinic.ids["P-2"])
    assert clinic.offers(slot_id) == {"P-2": "1:taken", "P-3": "1:gone"}
    (session,) = clinic.rows(A, A.c.filled_slot == slot_id)
    assert (session.patient_id, session.starts_at, session.source, session.status) == (
        clinic.ids["P-2"],
        WEDNESDAY_SESSION,
        "waitlist",
        "scheduled",
    )
    # Staff see who took it, and whose session it was.
    with clinic.engine.connect() as conn:
        (taken,) = waitlist_board.taken_by_patient(conn, clinic.ids["P-2"], clinic.clock.now())
        assert waitlist_board.filled_from(conn, session.id) == "Ana Torres (P-1)"
        (board,) = waitlist_board.slots(conn, clinic.clock.now())
    assert (taken.starts_at, taken.freed_by) == (WEDNESDAY_SESSION, "Ana Torres (P-1)")
    assert (board.taken_by, board.freed_by) == ("Ben Torres (P-2)", "Ana Torres (P-1)")
    # Ben has his session and leaves the waitlist; the others stay on it.
    waiting = clinic.rows(waitlist_entries)
    assert clinic.ids["P-2"] not in {w.patient_id for w in waiting}
    assert len(waiting) == 3

    # Its reminder comes like any session's, the day before.
    plan_due(clinic.engine, clinic.settings, clinic.clock.now())
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=24))
    texts = clinic.dispatch()
    assert any(
        "Wed Nov 25 at 10:00 AM. Reply C" in body
        for body in clinic.sent_to("P-2", clinic.transport.sent[-len(texts) :])
    ), texts


def test_the_others_offered_it_are_told_once_that_it_has_gone(clinic: Clinic) -> None:
    offered(clinic)
    clinic.writes("P-2", "yes please")
    assert clinic.tick().told_gone == 1  # the next tick queues it
    assert clinic.tick().told_gone == 0
    sent = clinic.dispatch()
    assert [b for b in sent if "has been taken" in b] == [f"Riverside PT: {GONE}"]
    assert any(GONE in body for body in clinic.sent_to("P-3"))
    assert clinic.dispatch() == []


def test_a_yes_that_comes_second_is_told_it_has_gone_and_nothing_more(clinic: Clinic) -> None:
    slot_id = offered(clinic)
    clinic.writes("P-2", "YES")
    clinic.tick()  # queues Cara's "it has gone"...
    assert GONE in clinic.writes("P-3", "Yes!")  # ...but her YES comes before it goes
    assert clinic.offers(slot_id) == {"P-2": "1:taken", "P-3": "1:gone"}
    assert len(clinic.rows(A, A.c.filled_slot == slot_id)) == 1
    # The "it has gone" text queued for Cara is skipped: her reply told her.
    clinic.tick()
    assert not any("has been taken" in body for body in clinic.dispatch())
    (gone,) = clinic.rows(R, R.c.kind == ReminderKind.SLOT_GONE)
    assert (gone.state, gone.skip_reason) == ("skipped", "slot_gone")


def test_no_declines_and_the_next_round_goes_once_no_offer_stands(clinic: Clinic) -> None:
    slot_id = offered(clinic)
    assert "No problem, Ben. You stay on our waitlist." in clinic.writes("P-2", "no")
    assert clinic.tick().offered == 0  # Cara's offer still stands
    assert "No problem, Cara." in clinic.writes("P-3", "No thanks")
    assert clinic.tick().offered == 1
    assert clinic.offers(slot_id) == {"P-2": "1:declined", "P-3": "1:declined", "P-4": "2:offered"}
    clinic.dispatch()
    assert "You are booked for Wed Nov 25 at 10:00 AM, Dan." in clinic.writes("P-4", "YES")


def test_a_session_cancelled_again_opens_its_slot_again_for_the_waitlist(
    clinic: Clinic,
) -> None:
    first = offered(clinic)
    clinic.writes("P-2", "YES")
    (session,) = clinic.rows(A, A.c.filled_slot == first)
    attendance.mark(
        clinic.engine,
        clinic.settings,
        clinic.terry,
        session.id,
        Attendance.CANCELLED_BY_PATIENT,
        clinic.clock.now(),
    )
    clinic.tick()
    slots = clinic.rows(open_slots)
    assert [s.state for s in slots] == ["taken", "open"]
    # Ben cancelled it: he is not offered his own slot; Cara is, and Dan.
    assert clinic.offers(slots[1].id) == {"P-3": "1:offered", "P-4": "1:offered"}

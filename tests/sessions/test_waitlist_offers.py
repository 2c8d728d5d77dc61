"""Slots and offers (sessions/waitlist_slots.py): a cancellation with enough notice opens a
slot; the worker's tick offers it a few patients at a time, longest waiting first, expires
unanswered offers and offers the next round, and closes a slot nobody can take."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from outreach.db.tables import open_slots, reminders
from outreach.rules.vocabulary import Attendance, ReminderKind, SkipReason
from outreach.sessions import attendance
from tests.sessions.waitlist_clinic import (
    MONDAY_MORNING,
    WEDNESDAY_SESSION,
    A,
    Clinic,
    clinic,
)

__all__ = ["clinic"]
R = reminders


@pytest.mark.parametrize(
    ("hours_before", "opens"),
    # Exactly the notice frees it, but leaves no time to offer it: no slot.
    [(48, True), (5, True), (4.1, True), (4, False), (3.9, False), (0.5, False), (-1, False)],
)
def test_only_a_cancellation_with_notice_opens_a_slot(
    clinic: Clinic, hours_before: float, opens: bool
) -> None:
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=hours_before))
    slot_id = clinic.cancel()
    assert (slot_id is not None) is opens


def test_a_slot_opens_once_however_often_the_session_is_cancelled(clinic: Clinic) -> None:
    slot_id = clinic.cancel()
    (row,) = clinic.rows(A, A.c.starts_at == WEDNESDAY_SESSION, A.c.patient_id == clinic.ids["P-1"])
    attendance.mark(
        clinic.engine,
        clinic.settings,
        clinic.terry,
        row.id,
        Attendance.CANCELLED_BY_CLINIC,
        clinic.clock.now(),
    )
    assert clinic.rows(open_slots) == [clinic.slot(slot_id or 0)]


def test_the_longest_waiting_are_offered_it_first_a_few_at_a_time(clinic: Clinic) -> None:
    slot_id = clinic.cancel()
    assert slot_id is not None
    assert clinic.tick().offered == 2
    assert clinic.offers(slot_id) == {"P-2": "1:offered", "P-3": "1:offered"}

    sent = clinic.dispatch()
    offer = "A therapy session opened up on Wed Nov 25 at 10:00 AM. Reply YES by 10:00 AM"
    assert any(offer in body for body in clinic.sent_to("P-2")), sent
    assert any(offer in body for body in clinic.sent_to("P-3"))
    assert not any("opened up" in body for body in clinic.sent_to("P-4"))
    assert clinic.tick().offered == 0  # the round stands until it is answered or lapses


def test_unanswered_offers_lapse_and_the_next_round_goes(clinic: Clinic) -> None:
    slot_id = clinic.cancel() or 0
    clinic.tick()
    clinic.dispatch()
    clinic.at(MONDAY_MORNING + timedelta(minutes=59))
    assert clinic.tick().expired == 0

    clinic.at(MONDAY_MORNING + timedelta(minutes=60))
    report = clinic.tick()
    assert (report.expired, report.offered) == (2, 1)
    # Eve, in Los Angeles, is never offered a 07:00 (her clock) session.
    assert clinic.offers(slot_id) == {"P-2": "1:expired", "P-3": "1:expired", "P-4": "2:offered"}
    assert clinic.slot(slot_id).state == "open"

    clinic.at(MONDAY_MORNING + timedelta(minutes=120))
    report = clinic.tick()
    assert (report.expired, report.offered, report.closed) == (1, 0, {"nobody took it": 1})
    assert (clinic.slot(slot_id).state, clinic.slot(slot_id).closed_why) == (
        "closed",
        "nobody took it",
    )


def test_a_slot_nobody_matches_closes_at_once(clinic: Clinic) -> None:
    for external_id in ("P-2", "P-3", "P-4", "P-5"):
        with clinic.engine.begin() as conn:
            from outreach.sessions import waitlist

            waitlist.take_off(conn, clinic.terry, clinic.ids[external_id], clinic.clock.now())
    slot_id = clinic.cancel() or 0
    assert clinic.tick().closed == {"nobody on the waitlist matches": 1}
    assert clinic.slot(slot_id).closed_why == "nobody on the waitlist matches"


def test_patients_asleep_keep_their_place_until_morning(clinic: Clinic) -> None:
    clinic.at(MONDAY_MORNING + timedelta(hours=14))  # 23:00 on Monday in New York
    slot_id = clinic.cancel() or 0
    assert clinic.tick().offered == 0
    assert clinic.slot(slot_id).state == "open"
    clinic.at(MONDAY_MORNING + timedelta(hours=23, minutes=30))  # 08:30 on Tuesday
    assert clinic.tick().offered == 2
    assert clinic.offers(slot_id) == {"P-2": "1:offered", "P-3": "1:offered"}


def test_a_patient_with_another_session_that_day_is_not_offered_it(clinic: Clinic) -> None:
    with clinic.engine.begin() as conn:
        conn.execute(
            A.insert().values(
                patient_id=clinic.ids["P-2"],
                starts_at=WEDNESDAY_SESSION + timedelta(hours=5),  # 15:00 that Wednesday
                source="manual",
                status="scheduled",
                updated_at=clinic.clock.now(),
            )
        )
    slot_id = clinic.cancel() or 0
    clinic.tick()
    assert clinic.offers(slot_id) == {"P-3": "1:offered", "P-4": "1:offered"}


def test_a_slot_closes_when_it_starts_within_the_notice_and_its_offers_are_not_sent(
    clinic: Clinic,
) -> None:
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=4, minutes=30))  # 05:30 New York: asleep
    slot_id = clinic.cancel() or 0
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=4, minutes=20))
    with clinic.engine.begin() as conn:  # a pending offer text, as if queued just now
        conn.execute(
            R.insert().values(
                patient_id=clinic.ids["P-2"],
                kind=ReminderKind.SLOT_OFFER,
                occurrence=f"slot:{slot_id}",
                send_at=clinic.clock.now(),
                expires_at=WEDNESDAY_SESSION,
                state="pending",
                created_at=clinic.clock.now(),
                updated_at=clinic.clock.now(),
            )
        )
        from outreach.db.tables import slot_offers

        conn.execute(
            slot_offers.insert().values(
                slot_id=slot_id,
                patient_id=clinic.ids["P-2"],
                round=1,
                state="offered",
                offered_at=clinic.clock.now(),
                expires_at=WEDNESDAY_SESSION - timedelta(hours=4),
            )
        )
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=4))
    assert clinic.tick().closed == {"too close to its start": 1}
    assert clinic.offers(slot_id) == {"P-2": "1:expired"}
    clinic.at(WEDNESDAY_SESSION - timedelta(hours=3))  # 09:00 in New York
    assert not any("opened up" in body for body in clinic.dispatch())
    with clinic.engine.connect() as conn:
        skipped = conn.execute(
            select(R.c.state, R.c.skip_reason).where(R.c.kind == ReminderKind.SLOT_OFFER)
        ).one()
    assert tuple(skipped) == ("skipped", SkipReason.SLOT_GONE)


def test_a_cancellation_corrected_withdraws_its_slot(clinic: Clinic) -> None:
    slot_id = clinic.cancel() or 0
    clinic.tick()
    (row,) = clinic.rows(A, A.c.starts_at == WEDNESDAY_SESSION, A.c.patient_id == clinic.ids["P-1"])
    clinic.at(WEDNESDAY_SESSION + timedelta(hours=1))
    attendance.mark(
        clinic.engine,
        clinic.settings,
        clinic.terry,
        row.id,
        Attendance.ATTENDED,
        clinic.clock.now(),
    )
    slot = clinic.slot(slot_id)
    assert (slot.state, slot.closed_why) == ("closed", "the cancelled session was restored")
    assert set(clinic.offers(slot_id).values()) == {"1:expired"}


def test_the_workers_tick_offers_a_slot_and_sends_the_offers_in_the_same_tick(
    clinic: Clinic,
) -> None:
    from outreach.runtime import Service

    service = Service(
        clinic.engine, clinic.settings, clinic.clock, clinic.transport, clinic.renderer, "tick"
    )
    clinic.cancel()
    before = len(clinic.transport.sent)
    service.tick()
    offers = [m.to for m in clinic.transport.sent[before:] if "opened up" in m.body]
    assert sorted(offers) == sorted([clinic.phones["P-2"], clinic.phones["P-3"]])

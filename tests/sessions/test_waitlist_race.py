"""Two patients answer YES to the same slot at the same moment, each reply processed in its
own transaction on its own thread: exactly one wins the slot, the other is told it has gone.
Real concurrent transactions on PostgreSQL (OUTREACH_TEST_DATABASE_URL); on SQLite the
writer lock runs them one after the other, and the outcome must be the same."""

from __future__ import annotations

import threading

from outreach.replies import inbound
from tests.sessions.waitlist_clinic import A, Clinic, clinic

__all__ = ["clinic"]


def test_two_yeses_at_once_only_one_wins(clinic: Clinic) -> None:
    slot_id = clinic.cancel()
    assert slot_id is not None
    clinic.tick()
    clinic.dispatch()
    now = clinic.clock.now()
    stored = {
        who: inbound.store(clinic.engine, now, from_phone=clinic.phones[who], body="YES")
        for who in ("P-2", "P-3")
    }
    ready = threading.Barrier(2)
    replies: dict[str, str] = {}
    errors: list[BaseException] = []

    def answer(who: str) -> None:
        inbound_id = stored[who]
        assert inbound_id is not None
        try:
            ready.wait(timeout=10)
            reply = inbound.process(
                clinic.engine, clinic.settings, clinic.renderer, inbound_id, now
            )
            assert reply is not None
            replies[who] = reply.body
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(who,)) for who in stored]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(replies) == ["P-2", "P-3"]

    winners = [who for who, body in replies.items() if "You are booked" in body]
    losers = [who for who, body in replies.items() if "has been taken" in body]
    assert len(winners) == 1 and len(losers) == 1, replies
    (winner,), (loser,) = winners, losers
    slot = clinic.slot(slot_id)
    assert (slot.state, slot.taken_by) == ("taken", clinic.ids[winner])
    assert clinic.offers(slot_id) == {winner: "1:taken", loser: "1:gone"}
    (session,) = clinic.rows(A, A.c.filled_slot == slot_id)
    assert session.patient_id == clinic.ids[winner]
    # The loser heard it in the reply; no second "it has gone" text follows.
    assert clinic.tick().told_gone == 0
    assert not any("has been taken" in body for body in clinic.dispatch())

"""A clinic for the waitlist's tests: Ana, whose Wednesday session is cancelled, and four
patients waiting for a morning slot, with the real planner, outbox, dispatcher and replies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, open_slots, slot_offers
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import Attendance
from outreach.sessions import attendance, waitlist, waitlist_slots
from outreach.texts.render import Renderer
from tests.inbox.support import PHONE, Desk
from tests.support.patients import enrol

A = appointment_table
# Monday 23 November 2026, 14:00 UTC: 09:00 in New York, when texts may go.
MONDAY_MORNING = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
# Ana's Wednesday session, 10:00 in New York.
WEDNESDAY_SESSION = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
# Waiting for a morning slot, longest first: Ben, Cara, Dan, then Eve in Los Angeles
# (10:00 New York is 07:00 for her: before her 08:00, so never offered this slot).
WAITING = {
    "P-2": ("Ben", "+16175550102", "America/New_York"),
    "P-3": ("Cara", "+16175550103", "America/New_York"),
    "P-4": ("Dan", "+16175550104", "America/New_York"),
    "P-5": ("Eve", "+16175550105", "America/Los_Angeles"),
}


class Clinic(Desk):
    def __init__(
        self, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
    ) -> None:
        settings = replace(settings, waitlist_offers_at_once=2)
        super().__init__(engine, settings, clock, renderer)
        self.ids: dict[str, int] = {"P-1": enrol(engine, settings, clock.now())}
        self.phones = {"P-1": PHONE}
        for external_id, (name, phone, zone) in WAITING.items():
            self.ids[external_id] = enrol(
                engine,
                settings,
                clock.now(),
                patient_id=external_id,
                first_name=name,
                phone=phone,
                timezone=zone,
                # Tuesdays and Thursdays: nothing on Wednesday to clash with.
                sessions="tue thu at 09:00 for 4 weeks",
                foot_check_time="",
                exercise_days="",
                exercise_time="",
                exercises="",
            )
            self.phones[external_id] = phone
        plan_due(engine, settings, clock.now())
        for minutes, external_id in enumerate(WAITING):
            self.clock.advance(timedelta(minutes=1 + minutes))
            with engine.begin() as conn:
                waitlist.put_on(
                    conn,
                    self.terry,
                    self.ids[external_id],
                    "mon wed fri",
                    "08:00-12:00",
                    clock.now(),
                )

    def cancel(self, starts_at: datetime = WEDNESDAY_SESSION) -> int | None:
        """Ana cancels a session; the id of the slot it opened, if any."""
        (row,) = self.rows(A, A.c.patient_id == self.ids["P-1"], A.c.starts_at == starts_at)
        attendance.mark(
            self.engine,
            self.settings,
            self.terry,
            row.id,
            Attendance.CANCELLED_BY_PATIENT,
            self.clock.now(),
        )
        with self.engine.connect() as conn:
            found = conn.execute(
                select(open_slots.c.id).where(open_slots.c.appointment_id == row.id)
            ).scalar()
        return None if found is None else int(found)

    def tick(self) -> waitlist_slots.OfferReport:
        return waitlist_slots.offer_open_slots(self.engine, self.settings, self.clock.now())

    def offers(self, slot_id: int) -> dict[str, str]:
        """external id: 'round:state' of each offer of the slot."""
        names = {v: k for k, v in self.ids.items()}
        rows = self.rows(slot_offers, slot_offers.c.slot_id == slot_id)
        return {names[r.patient_id]: f"{r.round}:{r.state}" for r in rows}

    def slot(self, slot_id: int) -> Any:
        (row,) = self.rows(open_slots, open_slots.c.id == slot_id)
        return row

    def writes(self, external_id: str, body: str) -> str:
        """A patient's reply; the text we answered it with."""
        before = len(self.transport.sent)
        self.patient_writes(body, phone=self.phones[external_id])
        answered = [m.body for m in self.transport.sent[before:]]
        assert len(answered) == 1, answered
        return answered[0]

    def sent_to(self, external_id: str, texts: list[Any] | None = None) -> list[str]:
        return [m.body for m in texts or self.transport.sent if m.to == self.phones[external_id]]


@pytest.fixture
def clinic(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Clinic:
    clock.set(MONDAY_MORNING - timedelta(minutes=30))
    made = Clinic(engine, settings, clock, renderer)
    made.at(MONDAY_MORNING)
    made.dispatch()  # what was due already (session reminders): out of the way
    return made

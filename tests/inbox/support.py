"""A clinic for the inbox's tests: enrolled patients, the real dispatcher and the real reply
path, and staff acting through the inbox's own functions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from outreach.accounts.users import Staff, load_staff
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.inbox import texting
from outreach.replies import inbound
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from tests.support.admin import add_staff
from tests.support.transport import RecordingTransport

PHONE = "+16175550142"  # tests/support/patients.py patient_row's P-1, Ana Torres


class Desk:
    """The front desk: a signed-in member of staff, the clinic's dispatcher and its phone."""

    def __init__(
        self, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
    ) -> None:
        self.engine, self.settings, self.clock, self.renderer = engine, settings, clock, renderer
        self.transport = RecordingTransport()
        self.dispatcher = Dispatcher(engine, settings, clock, self.transport, renderer, "w")
        self.patient_id = 0  # set by a test's fixture that enrols one
        add_staff(engine, clock.now())
        with engine.connect() as conn:
            self.admin = _staff(conn, "admin")
            self.terry = _staff(conn, "terry")

    def text(self, patient_id: int, body: str, **kwargs: Any) -> texting.Queued:
        with self.engine.begin() as conn:
            return texting.text_patient(
                conn, self.settings, self.terry, patient_id, body, self.clock.now(), **kwargs
            )

    def dispatch(self) -> list[str]:
        """Run the dispatcher once; the texts it handed to the phone network."""
        before = len(self.transport.sent)
        self.dispatcher.run()
        return [m.body for m in self.transport.sent[before:]]

    def patient_writes(
        self, body: str, phone: str = PHONE, after: timedelta = timedelta(minutes=1)
    ) -> None:
        self.clock.advance(after)
        inbound.receive(
            self.engine,
            self.settings,
            self.renderer,
            self.transport,
            self.clock.now(),
            from_phone=phone,
            body=body,
        )

    def rows(self, table: Any, *where: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(table).where(*where).order_by(table.c.id)).all())

    def at(self, when: datetime) -> None:
        self.clock.set(when)


def _staff(conn: Any, username: str) -> Staff:
    from outreach.db.tables import staff_users

    user_id = conn.execute(
        select(staff_users.c.id).where(staff_users.c.username == username)
    ).scalar_one()
    staff = load_staff(conn, user_id)
    assert staff is not None
    return staff

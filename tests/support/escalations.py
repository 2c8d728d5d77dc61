"""A small clinic whose patients raise escalations, and the texts that follow one."""

from __future__ import annotations

from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations as escalation_table
from outreach.db.tables import patients
from outreach.replies import inbound
from outreach.texts.render import Renderer
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport
from tests.support.webhooks import send_foot_check


class Clinic:
    """Patients P-1, P-2, ... whose foot check of the day has gone out; `reply` sends their
    answer through the real inbound path (store, interpret, act, answer)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: ManualClock,
        renderer: Renderer,
        patients: int = 1,
    ) -> None:
        self.engine, self.settings, self.clock, self.renderer = engine, settings, clock, renderer
        self.transport = RecordingTransport()
        for n in range(1, patients + 1):
            enrol(
                engine,
                settings,
                clock.now(),
                patient_id=f"P-{n}",
                phone=self.phone(f"P-{n}"),
                first_name=f"Pat{n}",
            )
        send_foot_check(engine, settings, clock, renderer)

    @staticmethod
    def phone(patient: str) -> str:
        return f"+1617555{int(patient.removeprefix('P-')):04d}"

    def reply(self, patient: str, *texts: str) -> None:
        for text in texts:
            inbound.receive(
                self.engine,
                self.settings,
                self.renderer,
                self.transport,
                self.clock.now(),
                from_phone=self.phone(patient),
                body=text,
            )

    def escalation(self, patient: str) -> int:
        """The id of this patient's latest escalation."""
        E = escalation_table
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    select(E.c.id)
                    .join(patients, patients.c.id == E.c.patient_id)
                    .where(patients.c.external_id == patient)
                    .order_by(E.c.id.desc())
                    .limit(1)
                ).scalar_one()
            )


LATER = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
]

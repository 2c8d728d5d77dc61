"""A clinic with a known history of texts, for the report's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import reminders
from outreach.planning.planner import plan_due
from outreach.replies import inbound
from outreach.sending.dispatcher import Dispatcher
from outreach.staff import report
from outreach.staff.report import DateRange
from outreach.texts.render import Renderer
from tests.support.transport import RecordingTransport

NEW_YORK = ZoneInfo("America/New_York")


ANA, BEN = "+16175550142", "+16175550143"


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Clinic:
    """Patients, the real planner and dispatcher, and replies through outreach.replies.inbound."""

    def __init__(
        self, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
    ) -> None:
        self.engine, self.settings, self.clock, self.renderer = engine, settings, clock, renderer
        self.transport = RecordingTransport()
        self.dispatcher = Dispatcher(engine, settings, clock, self.transport, renderer, "w")

    def run_to(self, when: datetime) -> None:
        """Plan and send everything due up to `when`, each text at its own due time."""
        while True:
            plan_due(self.engine, self.settings, self.clock.now())
            self.dispatcher.run()
            with self.engine.begin() as conn:
                due = conn.execute(
                    select(func.min(reminders.c.send_at)).where(
                        reminders.c.state == "pending", reminders.c.send_at > self.clock.now()
                    )
                ).scalar()
            if due is None or due > when:
                break
            self.clock.set(due)
        self.clock.set(when)

    def reply(self, phone: str, body: str, at: datetime) -> None:
        self.run_to(at)
        inbound.receive(
            self.engine,
            self.settings,
            self.renderer,
            self.transport,
            at,
            from_phone=phone,
            body=body,
        )

    def report(self, start: date, end: date) -> report.Report:
        return report.build(self.engine, NEW_YORK, DateRange(start, end), self.clock.now())

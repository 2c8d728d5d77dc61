"""The clinic-local day of the latest text either way: where a report with no dates typed
ends when the last four weeks hold none (a demo's week, a clinic back from a pause)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from outreach.db.tables import inbound_messages, outbound_messages


def latest_text_day(engine: Engine, zone: ZoneInfo) -> date | None:
    with engine.connect() as conn:
        sent = conn.execute(select(func.max(outbound_messages.c.created_at))).scalar()
        received = conn.execute(select(func.max(inbound_messages.c.received_at))).scalar()
    found = [at for at in (sent, received) if at is not None]
    return max(found).astimezone(zone).date() if found else None

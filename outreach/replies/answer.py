"""The text sent back to a patient (composed by texts/compose.py): sent by the one send path
(sending/send.py), and, when its send had no answer, looked up at the provider before it is
sent again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import outbound_messages
from outreach.sending import outbound as messages
from outreach.sending import send
from outreach.transports import Outgoing, Transport

log = logging.getLogger("outreach.inbound")

OUT = outbound_messages


def send_text(engine: Engine, transport: Transport, outgoing: Outgoing, now: datetime) -> bool:
    """Send a reply text outside any transaction and record what the provider said."""
    handed = partial(_handed_to, outgoing.message_id, transport.name)
    return isinstance(send.send(engine.begin, transport, outgoing, lambda: now, handed), send.Taken)


def _handed_to(
    message_id: int, provider: str, conn: Connection, result: send.Result, now: datetime
) -> send.Result:
    """Whoever hands a reply text over names its provider: a transport, or a TwiML answer."""
    messages.set_provider(conn, message_id, provider)
    return result


def resume_unknown(
    engine: Engine, settings: Settings, transport: Transport, now: datetime, within: timedelta
) -> None:
    """Reply texts whose send had no answer: each is looked up at the provider and sent
    only if it is not there."""
    stale = now - timedelta(seconds=settings.lease_seconds)
    replies = (
        OUT.c.patient_id.is_not(None)
        & OUT.c.reminder_id.is_(None)
        & (OUT.c.created_at > now - within)
    )
    with engine.begin() as conn:
        # Not the pending ones: a reply answered inside a webhook's TwiML is pending until
        # that answer is recorded, and must not go twice.
        rows = messages.unfinished(conn, replies, stale, pending_too=False)
    for row in rows:
        result = send.resume(engine.begin, transport, row, now)
        if isinstance(result, send.Refused | send.Unknown):
            log.error("reply text %s still not sent: %s", row.id, result.error)

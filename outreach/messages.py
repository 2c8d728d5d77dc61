"""Outbound texts: the row is written before the provider is called and completed after, so
a crash in between leaves evidence to reconcile from (DESIGN.md, "write the row first")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Connection

from outreach.models import outbound_messages
from outreach.render import Rendered
from outreach.transports import Receipt, SendError

OUT = outbound_messages


def queue(
    conn: Connection,
    *,
    patient_id: int | None,
    to: str,
    rendered: Rendered,
    provider: str,
    now: datetime,
    counts_toward_cap: bool,
    reminder_id: int | None = None,
    prompt: str | None = None,
    prompt_ref: int | None = None,
    reply_until: datetime | None = None,
) -> int:
    """Record a text about to be handed to the provider; returns its id."""
    message_id = conn.execute(
        OUT.insert()
        .values(
            patient_id=patient_id,
            reminder_id=reminder_id,
            template=rendered.template,
            prompt=prompt,
            prompt_ref=prompt_ref,
            reply_until=reply_until,
            to_phone=to,
            body=rendered.body,
            encoding=rendered.measure.encoding,
            segments=rendered.measure.segments,
            counts_toward_cap=counts_toward_cap,
            provider=provider,
            status="sending",
            created_at=now,
        )
        .returning(OUT.c.id)
    ).scalar_one()
    return int(message_id)


def record_receipt(conn: Connection, message_id: int, receipt: Receipt, now: datetime) -> None:
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id)
        .values(provider_sid=receipt.provider_sid, status=receipt.status, sent_at=now)
    )


def record_error(conn: Connection, message_id: int, error: SendError) -> None:
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id)
        .values(status="failed", error_code=error.code, error_message=str(error)[:300])
    )

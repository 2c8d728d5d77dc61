"""Outbound texts: the row is written before the provider is called and completed after, so
a crash in between leaves evidence to reconcile from (DESIGN.md, "write the row first")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from outreach.db.tables import outbound_messages
from outreach.texts.render import Rendered
from outreach.transports import Receipt, SendError

OUT = outbound_messages
# Provider statuses only move forward; the last rank is final. Our own states outside the
# table ("pending" before an answer, "unknown" after a lost one) rank below all of them.
RANK = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 3,
    "canceled": 3,
}


def rank(status: ColumnElement[str]) -> ColumnElement[int]:
    return case(RANK, value=status, else_=-1)


# Built once: constructing these cost more than running them on SQLite, once per text.
status_rank = rank(OUT.c.status)
insert_returning_id = OUT.insert().returning(OUT.c.id)


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
        insert_returning_id,
        {
            "patient_id": patient_id,
            "reminder_id": reminder_id,
            "template": rendered.template,
            "prompt": prompt,
            "prompt_ref": prompt_ref,
            "reply_until": reply_until,
            "to_phone": to,
            "body": rendered.body,
            "encoding": rendered.measure.encoding,
            "segments": rendered.measure.segments,
            "counts_toward_cap": counts_toward_cap,
            "provider": provider,
            "status": "pending",  # ours: handed to no provider yet
            "created_at": now,
        },
    ).scalar_one()
    return int(message_id)


def record_receipt(conn: Connection, message_id: int, receipt: Receipt, now: datetime) -> None:
    """The provider took it. A status callback can beat the create's answer here, so the
    status moves only forward ("delivered" is never overwritten by "queued")."""
    new_rank = RANK.get(receipt.status, -1)
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id)
        .values(
            provider_sid=receipt.provider_sid,
            sent_at=now,
            status=case((status_rank < new_rank, receipt.status), else_=OUT.c.status),
        )
    )


def record_error(conn: Connection, message_id: int, error: SendError) -> None:
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id)
        .values(status="failed", error_code=error.code, error_message=str(error)[:300])
    )

"""Outbound texts' rows: the only module that writes `outbound_messages`.

The row is written before the provider is called and completed after, so a crash in between
leaves evidence to reconcile from; sending/send.py runs that protocol, and everyone else
changes a row through the named functions here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from outreach.db.tables import UTCDateTime, outbound_messages
from outreach.rules.vocabulary import OutboundStatus
from outreach.texts.render import Rendered
from outreach.transports import Receipt, SendError

OUT = outbound_messages
# Provider statuses only move forward; the last rank is final. Our own states outside the
# table (pending before an answer, unknown after a lost one) rank below all of them.
RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.ACCEPTED: 0,
    OutboundStatus.SCHEDULED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.DELIVERED: 3,
    OutboundStatus.UNDELIVERED: 3,
    OutboundStatus.FAILED: 3,
    OutboundStatus.READ: 3,
    OutboundStatus.CANCELED: 3,
}


def rank(status: ColumnElement[str]) -> ColumnElement[int]:
    return case(RANK, value=status, else_=-1)


def rank_of(status: str) -> int:
    """A status's rank; -1 for our own and for any provider status we do not track."""
    return RANK[OutboundStatus(status)] if status in RANK else -1


# Built once: constructing these cost more than running them on SQLite, once per text.
status_rank = rank(OUT.c.status)
insert_returning_id = OUT.insert().returning(OUT.c.id)
ANSWERED = (
    update(OUT)
    .where(OUT.c.id == bindparam("message_id"))
    .values(answered_at=bindparam("now", type_=UTCDateTime))
)
SENT_AS_TWIML = (
    update(OUT)
    .where(OUT.c.id == bindparam("message_id"))
    .values(
        provider="twilio",
        status=OutboundStatus.QUEUED,
        sent_at=bindparam("now", type_=UTCDateTime),
    )
)


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
            "status": OutboundStatus.PENDING,  # handed to no provider yet
            "created_at": now,
        },
    ).scalar_one()
    return int(message_id)


def record_receipt(conn: Connection, message_id: int, receipt: Receipt, now: datetime) -> None:
    """The provider took it. A status callback can beat the create's answer here, so the
    status moves only forward ("delivered" is never overwritten by "queued")."""
    new_rank = rank_of(receipt.status)
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
        .values(status=OutboundStatus.FAILED, error_code=error.code, error_message=str(error)[:300])
    )


def mark_unknown(conn: Connection, message_id: int, error: SendError) -> bool:
    """The provider's answer was lost: the text may have gone, and is looked up before it is
    sent again. False if a status callback beat the lost answer and brought the sid (and a
    status, kept as it is): the provider took the text."""
    marked = conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id, OUT.c.provider_sid.is_(None))
        .values(
            status=OutboundStatus.UNKNOWN, error_code=error.code, error_message=str(error)[:300]
        )
    ).rowcount
    return marked == 1


def mark_stopped_during_send(conn: Connection, message_id: int) -> None:
    """The worker died during the call: the next attempt asks the provider first."""
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id, OUT.c.status == OutboundStatus.PENDING)
        .values(status=OutboundStatus.UNKNOWN, error_message="worker stopped during the send")
    )


def mark_not_found(conn: Connection, message_id: int) -> None:
    """An uncertain send the provider has no record of: it did not go, and a new row goes."""
    conn.execute(
        update(OUT)
        .where(OUT.c.id == message_id)
        .values(status=OutboundStatus.FAILED, error_message="not found at the provider; sent again")
    )


def discard_unsent(conn: Connection, message_id: int) -> None:
    """A row written for a send that will not happen (no longer wanted after a wait)."""
    conn.execute(delete(OUT).where(OUT.c.id == message_id))


def set_provider(conn: Connection, message_id: int, provider: str) -> None:
    conn.execute(update(OUT).where(OUT.c.id == message_id).values(provider=provider))


def record_twiml(conn: Connection, message_id: int, now: datetime) -> None:
    """Sent back inside the webhook's TwiML answer: Twilio queues it, with no sid yet."""
    conn.execute(SENT_AS_TWIML, {"message_id": message_id, "now": now})


def mark_answered(conn: Connection, message_id: int, now: datetime) -> None:
    conn.execute(ANSWERED, {"message_id": message_id, "now": now})


def unfinished(
    conn: Connection,
    which: ColumnElement[bool],
    stale: datetime,
    *,
    pending_too: bool,
) -> Sequence[Any]:
    """Rows of `which` with no provider id: the answer lost (unknown), a resend whose worker
    stopped (resending since before `stale`), and with `pending_too` a send whose worker
    stopped before it was answered (pending since before `stale`)."""
    left = [
        OUT.c.status == OutboundStatus.UNKNOWN,
        (OUT.c.status == OutboundStatus.RESENDING) & (OUT.c.claimed_at < stale),
    ]
    if pending_too:
        left.insert(1, (OUT.c.status == OutboundStatus.PENDING) & (OUT.c.created_at < stale))
    return conn.execute(
        select(
            OUT.c.id,
            OUT.c.to_phone,
            OUT.c.body,
            OUT.c.created_at,
            OUT.c.status,
            OUT.c.claimed_at,
        ).where(which, OUT.c.provider_sid.is_(None), or_(*left))
    ).all()


def take_for_resend(conn: Connection, row: Any, now: datetime) -> bool:
    """One worker takes an unfinished row: it moves on from the status and the claim it was
    seen with, so of two workers that saw it, one changes it and the other changes nothing."""
    taken = conn.execute(
        update(OUT)
        .where(
            OUT.c.id == row.id,
            OUT.c.status == row.status,
            OUT.c.claimed_at.is_not_distinct_from(row.claimed_at),
            OUT.c.provider_sid.is_(None),
        )
        .values(status=OutboundStatus.RESENDING, claimed_at=now)
    ).rowcount
    return bool(taken == 1)


def record_callback(
    conn: Connection,
    status: OutboundStatus,
    *,
    message_id: int | None,
    provider_sid: str | None,
    error_code: str | None,
) -> Any:
    """A status callback's news, moving the status only forward in one conditional UPDATE.
    Returns the row (id, patient_id, status), or None if it names no message of ours."""
    moves = status_rank < RANK[status]
    values: dict[str, object] = {"status": case((moves, status), else_=OUT.c.status)}
    if error_code is not None:
        values["error_code"] = case((moves, error_code), else_=OUT.c.error_code)
    if message_id is not None:
        where = OUT.c.id == message_id
        if provider_sid is not None:
            # The create response may have been lost: the callback is how we learn the sid.
            # Never take a sid another row already holds (it is unique).
            other = OUT.alias("other")
            sid_free = ~exists().where(other.c.provider_sid == provider_sid)
            values["provider_sid"] = case(
                (OUT.c.provider_sid.is_(None) & sid_free, provider_sid),
                else_=OUT.c.provider_sid,
            )
    else:
        where = OUT.c.provider_sid == provider_sid
    return conn.execute(
        update(OUT).where(where).values(values).returning(OUT.c.id, OUT.c.patient_id, OUT.c.status)
    ).first()

"""Every HL7 message stored raw before it is read, then handled: the only writer of
feedmessage rows.

`take` is what the listener calls for each message it receives:

1. `receive` stores the bytes as text in a transaction of their own, committed before any
   interpretation, so a bug in what follows never loses a message (as inbound texts are
   stored before the conversation reads them);
2. `handle` reads the header and the SIU, refuses what is not taken (AR) or wrong (AE), and
   applies the appointment (outreach/feeds/appointments.py) in one transaction with the
   message's outcome, its answer and the feed's health;
3. the answer (ACK) is built from what was decided.

Deduplication is on the sender (MSH-4) and the control id (MSH-10): a message answered AA or
AE claims that pair (the `dedupe` column's unique index), and the same pair again is answered
as the first was, with nothing applied twice. A message answered AR, or one whose handling
failed, claims nothing: the sender's resend is handled afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from outreach.config import Settings
from outreach.db.tables import feed_messages
from outreach.feeds import health
from outreach.feeds.appointments import NotApplied, apply, settle
from outreach.feeds.hl7 import ack
from outreach.feeds.hl7.header import Header, decode, read_header, storable
from outreach.feeds.hl7.parse import HL7Error, Refused, check_header, parse
from outreach.rules.vocabulary import AckCode, AppointmentSource, FeedOutcome

log = logging.getLogger("outreach.feeds.hl7")

M = feed_messages
FEED = AppointmentSource.HL7
PEER_CHARS = 80
# What each answer leaves in feedmessage.outcome when nothing more precise applies.
OUTCOME_OF = {AckCode.ERROR: FeedOutcome.ERROR, AckCode.REJECT: FeedOutcome.REJECTED}


@dataclass(frozen=True)
class Handled:
    message_id: int
    code: AckCode
    outcome: FeedOutcome
    detail: str
    answer: str  # the ACK, as text


def take(engine: Engine, settings: Settings, raw: bytes, peer: str, now: datetime) -> Handled:
    """Store, handle and answer one message; what the listener calls."""
    text = decode(raw)
    message_id = receive(engine, text, peer, now)
    handled = handle(engine, settings, message_id, text, now)
    if handled.outcome == FeedOutcome.APPLIED:
        settle(engine, settings, now)
    return handled


def refuse(engine: Engine, raw: bytes, peer: str, now: datetime, why: str) -> Handled:
    """What arrived broken (bad framing, cut off, too large): stored as received all the
    same, recorded as rejected, answered AR echoing what header can be read."""
    text = decode(raw)
    message_id = receive(engine, text, peer, now)
    header = read_header(text[text.find("MSH") :] if "MSH" in text else text)
    known = {
        "sender": header.sender[:180] if header else None,
        "control_id": storable(header.control_id)[:200] if header else None,
        "message_type": storable(header.message_type)[:20] if header else None,
    }
    with engine.begin() as conn:
        return _write(
            conn,
            message_id,
            header,
            known,
            None,
            AckCode.REJECT,
            FeedOutcome.REJECTED,
            why,
            now,
            error=HL7Error.SEGMENT_SEQUENCE,
        )


def receive(engine: Engine, text: str, peer: str, now: datetime) -> int:
    """Store the message as received, committed, before anything reads it."""
    with engine.begin() as conn:
        made = conn.execute(
            M.insert().values(
                feed=FEED,
                received_at=now,
                peer=storable(peer)[:PEER_CHARS],
                raw=storable(text),
                outcome=FeedOutcome.RECEIVED,
            )
        ).inserted_primary_key
    assert made is not None
    return int(made[0])


def handle(
    engine: Engine, settings: Settings, message_id: int, text: str, now: datetime
) -> Handled:
    """Decide, apply and record; never raises for what the message holds."""
    header = read_header(text)
    try:
        return _handle(engine, settings, message_id, header, text, now)
    except Exception:
        # A bug, or the database gone: the message stays stored as received, unclaimed, so
        # the sender's resend is handled afresh; staff see it on the Feeds page.
        log.exception("HL7 message %s could not be handled; it is kept", message_id)
        reason = "the message could not be processed; it is kept and staff can see it"
        try:
            with engine.begin() as conn:
                conn.execute(
                    update(M).where(M.c.id == message_id).values(detail=reason, ack=AckCode.REJECT)
                )
                health.record(conn, FEED, now, received=1, error=reason)
        except Exception:
            log.exception("HL7 message %s: its failure could not be recorded either", message_id)
        answer = _answer(header, AckCode.REJECT, message_id, now, reason, HL7Error.INTERNAL)
        return Handled(message_id, AckCode.REJECT, FeedOutcome.RECEIVED, reason, answer)


def _handle(
    engine: Engine,
    settings: Settings,
    message_id: int,
    header: Header | None,
    text: str,
    now: datetime,
) -> Handled:
    known = {
        "sender": header.sender[:180] if header else None,
        "control_id": storable(header.control_id)[:200] if header else None,
        "message_type": storable(header.message_type)[:20] if header else None,
    }
    try:
        check_header(header)
        assert header is not None
        allowed = settings.hl7_allowed_facilities
        if allowed and header.sender not in allowed:
            raise Refused(
                AckCode.REJECT,
                f"sending facility {header.sender or '(none)'} is not allowed here "
                "(hl7.allowed_facilities)",
                HL7Error.INTERNAL,
                ("MSH", 4),
            )
        siu = parse(text, identifier_type=settings.hl7_identifier_type, zone=settings.clinic_zone)
    except Refused as refused:
        dedupe = _dedupe_key(header) if refused.ack == AckCode.ERROR else None
        return _record(
            engine,
            message_id,
            header,
            known,
            dedupe,
            refused.ack,
            OUTCOME_OF[refused.ack],
            refused.reason,
            now,
            error=refused.error,
            where=refused.where,
        )
    dedupe = _dedupe_key(siu.header)
    try:
        with engine.begin() as conn:
            first = _first_answer(conn, dedupe)
            if first is not None:
                return _duplicate(conn, message_id, header, known, first, now)
            try:
                with conn.begin_nested():
                    applied = apply(conn, settings, siu.appointment, now)
            except NotApplied as wrong:
                code, outcome, detail, appointment_id = (
                    AckCode.ERROR,
                    FeedOutcome.ERROR,
                    str(wrong),
                    None,
                )
            else:
                code, outcome = AckCode.ACCEPT, applied.outcome
                detail, appointment_id = applied.detail, applied.appointment_id
            return _write(
                conn,
                message_id,
                header,
                known,
                dedupe,
                code,
                outcome,
                detail,
                now,
                appointment_id=appointment_id,
                error=HL7Error.INTERNAL if code == AckCode.ERROR else None,
            )
    except IntegrityError:
        # The same message on another connection claimed the pair first: answer as it was.
        with engine.begin() as conn:
            first = _first_answer(conn, dedupe)
            assert first is not None, "a dedupe clash with no message holding the key"
            return _duplicate(conn, message_id, header, known, first, now)


def _dedupe_key(header: Header | None) -> str | None:
    if header is None or not header.control_id:
        return None
    return storable(f"{header.sender}|{header.control_id}")[:400]


def _first_answer(conn: Connection, dedupe: str | None) -> Any:
    """The message that claimed this sender and control id, if one did."""
    if dedupe is None:
        return None
    return conn.execute(
        select(M.c.id, M.c.ack, M.c.detail, M.c.appointment_id).where(
            M.c.feed == FEED, M.c.dedupe == dedupe
        )
    ).first()


def _duplicate(
    conn: Connection,
    message_id: int,
    header: Header | None,
    known: dict[str, str | None],
    first: Any,
    now: datetime,
) -> Handled:
    code = AckCode(first.ack)
    detail = f"the same message as message {first.id} (MSH-4 and MSH-10): answered as it was"
    reason = "" if code == AckCode.ACCEPT else (first.detail or "")
    values = {"appointment_id": first.appointment_id, "handled_at": now}
    conn.execute(
        update(M)
        .where(M.c.id == message_id)
        .values(**known, **values, outcome=FeedOutcome.DUPLICATE, ack=code, detail=detail)
    )
    health.record(conn, FEED, now, received=1, applied=code == AckCode.ACCEPT)
    answer = _answer(header, code, message_id, now, reason, HL7Error.INTERNAL)
    return Handled(message_id, code, FeedOutcome.DUPLICATE, detail, answer)


def _record(
    engine: Engine,
    message_id: int,
    header: Header | None,
    known: dict[str, str | None],
    dedupe: str | None,
    code: AckCode,
    outcome: FeedOutcome,
    detail: str,
    now: datetime,
    *,
    error: HL7Error | None = None,
    where: tuple[str, int] | None = None,
) -> Handled:
    """A refusal: recorded (and, for AE, the pair claimed) in a transaction of its own."""
    try:
        with engine.begin() as conn:
            first = _first_answer(conn, dedupe)
            if first is not None:
                return _duplicate(conn, message_id, header, known, first, now)
            return _write(
                conn,
                message_id,
                header,
                known,
                dedupe,
                code,
                outcome,
                detail,
                now,
                error=error,
                where=where,
            )
    except IntegrityError:
        with engine.begin() as conn:
            return _duplicate(conn, message_id, header, known, _first_answer(conn, dedupe), now)


def _write(
    conn: Connection,
    message_id: int,
    header: Header | None,
    known: dict[str, str | None],
    dedupe: str | None,
    code: AckCode,
    outcome: FeedOutcome,
    detail: str,
    now: datetime,
    *,
    appointment_id: int | None = None,
    error: HL7Error | None = None,
    where: tuple[str, int] | None = None,
) -> Handled:
    """The outcome, the answer and the feed's health, in the caller's transaction."""
    conn.execute(
        update(M)
        .where(M.c.id == message_id)
        .values(
            **known,
            dedupe=dedupe,
            outcome=outcome,
            ack=code,
            detail=storable(detail),
            appointment_id=appointment_id,
            handled_at=now,
        )
    )
    accepted = code == AckCode.ACCEPT
    health.record(conn, FEED, now, received=1, applied=accepted, error=None if accepted else detail)
    if not accepted:
        log.warning("HL7 message %s answered %s: %s", message_id, code, detail)
    reason = "" if accepted else detail
    answer = _answer(header, code, message_id, now, reason, error, where)
    return Handled(message_id, code, outcome, detail, answer)


def _answer(
    header: Header | None,
    code: AckCode,
    message_id: int,
    now: datetime,
    reason: str,
    error: HL7Error | None,
    where: tuple[str, int] | None = None,
) -> str:
    return ack.build(
        header,
        code,
        control_id=f"OUTREACH{message_id}",
        now=now,
        reason=reason,
        error=error,
        where=where,
    )

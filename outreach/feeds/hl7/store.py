"""Every HL7 message stored raw before it is read, then handled: the only writer of
feedmessage rows.

`take` is what the listener calls for each message it receives. In one transaction:

1. the bytes are stored as text, as received, before anything reads them;
2. inside a savepoint, the header and the SIU are read, what is not taken (AR) or wrong (AE)
   is refused, and the appointment is applied (outreach/feeds/appointments.py), with the
   message's outcome, its answer and the feed's health;
3. if reading or applying fails on a bug, the savepoint is rolled back and the message stays
   stored as received, its failure noted, answered AR: nothing is lost to a bug, and staff see
   it on the Feeds page (`outreach status` calls it stuck).

The ACK goes back only after the commit. If the database itself fails, nothing was stored and
the answer says so (AR): the sender keeps the message and sends it again, as MLLP's original
mode has it. One transaction rather than two (raw, then handling) is what lets messages that
arrive together on several connections share one commit (`take_many`).

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

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from outreach.config import Settings
from outreach.db.tables import feed_messages
from outreach.feeds import health
from outreach.feeds.appointments import NotApplied, apply
from outreach.feeds.hl7 import ack
from outreach.feeds.hl7.header import Header, decode, read_header, storable
from outreach.feeds.hl7.parse import HL7Error, Refused, check_header, parse
from outreach.rules.vocabulary import AckCode, AppointmentSource, FeedOutcome

log = logging.getLogger("outreach.feeds.hl7")

M = feed_messages
FEED = AppointmentSource.HL7
PEER_CHARS = 80
FAILED = "the message could not be processed; it is kept and staff can see it"
NOT_STORED = "the message could not be stored; send it again"
# What each refusal leaves in feedmessage.outcome.
OUTCOME_OF = {AckCode.ERROR: FeedOutcome.ERROR, AckCode.REJECT: FeedOutcome.REJECTED}
# Built once (see feeds/appointments.py: at hundreds of messages a second, building
# statements cost more than running them).
_CLAIMED = select(M.c.id, M.c.ack, M.c.detail, M.c.appointment_id).where(
    M.c.feed == FEED, M.c.dedupe == bindparam("dedupe")
)
_HANDLED = (
    "sender",
    "control_id",
    "message_type",
    "dedupe",
    "outcome",
    "ack",
    "detail",
    "appointment_id",
    "handled_at",
)
_OUTCOME = (
    update(M)
    .where(M.c.id == bindparam("message_id"))
    .values({name: bindparam(f"new_{name}") for name in _HANDLED})
)


@dataclass(frozen=True)
class Handled:
    message_id: int | None  # None: the message could not even be stored
    code: AckCode
    outcome: FeedOutcome
    detail: str
    answer: str  # the ACK, as text


def take(engine: Engine, settings: Settings, raw: bytes, peer: str, now: datetime) -> Handled:
    """Store, handle and answer one framed message; never raises."""
    return take_many(engine, settings, [(raw, peer)], now)[0]


def take_many(
    engine: Engine, settings: Settings, messages: list[tuple[bytes, str]], now: datetime
) -> list[Handled]:
    """Several messages (raw, peer) that arrived together on different connections, in one
    transaction, each handled in its own savepoint: on SQLite's single writer one commit
    for all of them is what keeps four connections as fast as one. Never raises: if the
    database fails, none is stored and each is answered so (the senders send them again)."""
    texts = [(decode(raw), peer) for raw, peer in messages]
    try:
        with engine.begin() as conn:
            handled = [_take(conn, settings, text, peer, now) for text, peer in texts]
            _record_health(conn, handled, now)
            return handled
    except Exception:
        log.exception("%d HL7 messages could not be stored", len(texts))
        return [_not_stored(read_header(text), now) for text, _ in texts]


def _take(conn: Connection, settings: Settings, text: str, peer: str, now: datetime) -> Handled:
    header = read_header(text)
    message_id = _store(conn, text, peer, now)
    try:
        with conn.begin_nested():
            return _handle(conn, settings, message_id, header, text, now)
    except IntegrityError:
        # The pair was claimed: the same message again (its outcome could not be written
        # over the first's claim, and what applying it did is undone with the savepoint).
        first = _first_answer(conn, _dedupe_key(header))
        if first is not None:
            return _duplicate(conn, message_id, header, first, now)
        return _failure(conn, message_id, header, now)
    except Exception:
        return _failure(conn, message_id, header, now)


def _failure(conn: Connection, message_id: int, header: Header | None, now: datetime) -> Handled:
    log.exception("HL7 message %s could not be handled; it is kept", message_id)
    _failed(conn, message_id, header, now)
    answer = _answer(header, AckCode.REJECT, message_id, now, FAILED)
    return Handled(message_id, AckCode.REJECT, FeedOutcome.RECEIVED, FAILED, answer)


def _record_health(conn: Connection, handled: list[Handled], now: datetime) -> None:
    """The feed's health for the whole batch, once, last in the transaction."""
    refused = [h for h in handled if h.code != AckCode.ACCEPT]
    health.record(
        conn,
        FEED,
        now,
        received=len(handled),
        applied=len(refused) < len(handled),
        error=refused[-1].detail if refused else None,
        errors=len(refused),
    )


def _not_stored(header: Header | None, now: datetime) -> Handled:
    answer = _answer(header, AckCode.REJECT, None, now, NOT_STORED)
    return Handled(None, AckCode.REJECT, FeedOutcome.RECEIVED, NOT_STORED, answer)


def refuse(engine: Engine, raw: bytes, peer: str, now: datetime, why: str) -> Handled:
    """What arrived broken (bad framing, cut off, too large): stored as received all the
    same, recorded as rejected, answered AR echoing what header can be read."""
    text = decode(raw)
    header = read_header(text[text.find("MSH") :] if "MSH" in text else text)
    with engine.begin() as conn:
        message_id = _store(conn, text, peer, now)
        handled = _write(
            conn,
            message_id,
            header,
            None,
            AckCode.REJECT,
            FeedOutcome.REJECTED,
            why,
            now,
            error=HL7Error.SEGMENT_SEQUENCE,
        )
        _record_health(conn, [handled], now)
        return handled


def _store(conn: Connection, text: str, peer: str, now: datetime) -> int:
    made = conn.execute(
        M.insert(),
        {
            "feed": FEED,
            "received_at": now,
            "peer": storable(peer)[:PEER_CHARS],
            "raw": storable(text),
            "outcome": FeedOutcome.RECEIVED,
        },
    ).inserted_primary_key
    assert made is not None
    return int(made[0])


def _handle(
    conn: Connection,
    settings: Settings,
    message_id: int,
    header: Header | None,
    text: str,
    now: datetime,
) -> Handled:
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
        first = _first_answer(conn, dedupe)
        if first is not None:
            return _duplicate(conn, message_id, header, first, now)
        outcome = OUTCOME_OF[refused.ack]
        return _write(
            conn,
            message_id,
            header,
            dedupe,
            refused.ack,
            outcome,
            refused.reason,
            now,
            error=refused.error,
            where=refused.where,
        )
    # A duplicate is not looked for first: claiming its pair fails at the unique index, and
    # the savepoint undoes what applying it again did (one query less for every message).
    dedupe = _dedupe_key(siu.header)
    try:
        applied = apply(conn, settings, siu.appointment, now)  # refuses before writing
    except NotApplied as wrong:
        return _write(
            conn,
            message_id,
            header,
            dedupe,
            AckCode.ERROR,
            FeedOutcome.ERROR,
            str(wrong),
            now,
            error=HL7Error.INTERNAL,
        )
    return _write(
        conn,
        message_id,
        header,
        dedupe,
        AckCode.ACCEPT,
        applied.outcome,
        applied.detail,
        now,
        appointment_id=applied.appointment_id,
    )


def _dedupe_key(header: Header | None) -> str | None:
    if header is None or not header.control_id:
        return None
    return storable(f"{header.sender}|{header.control_id}")[:400]


def _first_answer(conn: Connection, dedupe: str | None) -> Any:
    """The message that claimed this sender and control id, if one did."""
    if dedupe is None:
        return None
    return conn.execute(_CLAIMED, {"dedupe": dedupe}).first()


def _known(header: Header | None) -> dict[str, str | None]:
    """What the header says, as far as it could be read, for staff and the dedupe."""
    if header is None:
        return {"sender": None, "control_id": None, "message_type": None}
    return {
        "sender": storable(header.sender)[:180],
        "control_id": storable(header.control_id)[:200],
        "message_type": storable(header.message_type)[:20],
    }


def _duplicate(
    conn: Connection, message_id: int, header: Header | None, first: Any, now: datetime
) -> Handled:
    code = AckCode(first.ack)
    detail = f"the same message as message {first.id} (MSH-4 and MSH-10): answered as it was"
    reason = "" if code == AckCode.ACCEPT else (first.detail or "")
    _outcome(
        conn,
        message_id,
        header,
        None,
        FeedOutcome.DUPLICATE,
        code,
        detail,
        now,
        first.appointment_id,
    )
    answer = _answer(header, code, message_id, now, reason, HL7Error.INTERNAL)
    return Handled(message_id, code, FeedOutcome.DUPLICATE, detail, answer)


def _failed(conn: Connection, message_id: int, header: Header | None, now: datetime) -> None:
    """A bug met while handling: the message stays as received (no claim), its failure said."""
    conn.execute(update(M).where(M.c.id == message_id).values(detail=FAILED, ack=AckCode.REJECT))


def _write(
    conn: Connection,
    message_id: int,
    header: Header | None,
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
    _outcome(conn, message_id, header, dedupe, outcome, code, detail, now, appointment_id)
    accepted = code == AckCode.ACCEPT
    if not accepted:
        log.warning("HL7 message %s answered %s: %s", message_id, code, detail)
    reason = "" if accepted else detail
    answer = _answer(header, code, message_id, now, reason, error, where)
    return Handled(message_id, code, outcome, detail, answer)


def _outcome(
    conn: Connection,
    message_id: int,
    header: Header | None,
    dedupe: str | None,
    outcome: FeedOutcome,
    code: AckCode,
    detail: str,
    now: datetime,
    appointment_id: int | None,
) -> None:
    values = {
        **_known(header),
        "dedupe": dedupe,
        "outcome": outcome,
        "ack": code,
        "detail": storable(detail),
        "appointment_id": appointment_id,
        "handled_at": now,
    }
    params = {f"new_{name}": value for name, value in values.items()}
    conn.execute(_OUTCOME, {"message_id": message_id, **params})


def _answer(
    header: Header | None,
    code: AckCode,
    message_id: int | None,
    now: datetime,
    reason: str,
    error: HL7Error | None = None,
    where: tuple[str, int] | None = None,
) -> str:
    return ack.build(
        header,
        code,
        control_id=f"OUTREACH{message_id or 0}",
        now=now,
        reason=reason,
        error=error or (None if code == AckCode.ACCEPT else HL7Error.INTERNAL),
        where=where,
    )

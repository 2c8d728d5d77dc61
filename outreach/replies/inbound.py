"""Replies: stored raw first, then interpreted (pure), then acted on.

`store` commits the text verbatim before anything else looks at it; `process` interprets
and applies in one transaction (the patient's history from replies/history.py, the actions
of replies/actions.py), so a bug there leaves the reply stored and unprocessed, with the
error recorded, to be retried. The text sent back is composed by texts/compose.py and sent
by replies/answer.py.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import (
    UTCDateTime,
    appointment_table,
    inbound_messages,
    outbound_messages,
    patients,
)
from outreach.inbox import threads
from outreach.replies import actions, answer, history
from outreach.rules import stafftexts
from outreach.rules.privacy import mask_phone
from outreach.rules.replies.answers import REPLY_WINDOW_HOURS
from outreach.rules.replies.conversation import default_rules, interpret
from outreach.rules.replies.outcome import Intent, Outcome, PatientContext
from outreach.rules.vocabulary import ConsentState, Question
from outreach.sending import outbound as messages
from outreach.texts.compose import compose
from outreach.texts.render import Renderer, TemplateError
from outreach.transports import Outgoing, Transport

log = logging.getLogger("outreach.inbound")

IN = inbound_messages
OUT = outbound_messages
OPEN_PROMPTS = 5
INTENT_CHARS = 32  # inboundmessage.intent
SKIPS_LOOKED_AT = 5
RETRY_FOR = timedelta(days=1)

# The statements every reply runs, built once with bound parameters: building them each
# time cost more than running them on SQLite.
PATIENT_ID_BY_PHONE = select(patients.c.id).where(patients.c.phone == bindparam("phone"))
# Locked: two replies from one patient on two web processes would otherwise both read the
# same open question before either answered it, and both act on it (SQLite has no FOR
# UPDATE and needs none: BEGIN IMMEDIATE already runs one reply at a time).
PATIENT_BY_PHONE = select(patients).where(patients.c.phone == bindparam("phone")).with_for_update()
REPLY_BY_ID = select(IN).where(IN.c.id == bindparam("inbound_id"))
TAKE = (
    update(IN)
    .where(IN.c.id == bindparam("inbound_id"), IN.c.processed_at.is_(None))
    .values(processed_at=bindparam("now", type_=UTCDateTime))
)
MARK = update(IN).where(IN.c.id == bindparam("inbound_id"))
STORE = {
    name: dialect.insert(IN)
    .on_conflict_do_nothing(index_elements=["provider_sid"])
    .returning(IN.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


@dataclass(frozen=True)
class Reply:
    message_id: int
    to: str
    body: str


def store(
    engine: Engine,
    now: datetime,
    *,
    from_phone: str,
    body: str,
    to_phone: str = "",
    provider_sid: str | None = None,
    raw: dict[str, Any] | None = None,
) -> int | None:
    """Keep a reply verbatim. Returns its id, or None if this provider id was seen before."""
    with engine.begin() as conn:
        patient_id = conn.execute(PATIENT_ID_BY_PHONE, {"phone": from_phone}).scalar()
        inserted = conn.execute(
            STORE[conn.dialect.name],
            {
                "provider_sid": provider_sid,
                "from_phone": from_phone,
                "to_phone": to_phone,
                "body": body,
                "raw": json.dumps(raw or {}, ensure_ascii=False),
                "received_at": now,
                "patient_id": patient_id,
                "needs_review": False,
            },
        ).scalar()
    return int(inserted) if inserted is not None else None


def process(
    engine: Engine, settings: Settings, renderer: Renderer, inbound_id: int, now: datetime
) -> Reply | None:
    """Interpret one stored reply and act on it. Returns the text to send back, if any."""
    try:
        with engine.begin() as conn:
            return _process(conn, settings, renderer, inbound_id, now)
    except Exception as exc:
        log.exception("reply %s could not be processed; it stays stored for a retry", inbound_id)
        with engine.begin() as conn:
            failed = conn.execute(
                update(IN)
                .where(IN.c.id == inbound_id)
                .values(error=f"{type(exc).__name__}: {exc}"[:500], needs_review=True)
                .returning(IN.c.patient_id, IN.c.received_at)
            ).first()
            if failed is not None and failed.patient_id is not None:
                # A person reads what the rules could not.
                threads.open_for(conn, failed.patient_id, failed.received_at, now)
        return None


def _process(
    conn: Connection, settings: Settings, renderer: Renderer, inbound_id: int, now: datetime
) -> Reply | None:
    # Taking the row first makes concurrent retries on other workers wait, then find it done.
    taken = conn.execute(TAKE, {"inbound_id": inbound_id, "now": now})
    if taken.rowcount != 1:
        return None
    message = conn.execute(REPLY_BY_ID, {"inbound_id": inbound_id}).one()
    patient = conn.execute(PATIENT_BY_PHONE, {"phone": message.from_phone}).first()
    if patient is None:
        _mark(conn, inbound_id, now, intent="unknown_sender", needs_review=True)
        log.info("reply from unknown number %s stored for review", mask_phone(message.from_phone))
        return None
    prompts = history.open_prompts(conn, patient.id, now)
    context = PatientContext(
        consent_granted=patient.consent_state == ConsentState.GRANTED,
        opted_out=patient.opted_out,
        pain_baseline=history.pain_baseline(conn, patient),
        language=patient.language,
        # Only a skip can need it, and only an exercise question takes a skip.
        skipped_in_a_row=history.skipped_in_a_row(conn, patient.id)
        if any(p.kind == Question.EXERCISE for p in prompts)
        else 0,
    )
    rules = default_rules(settings.templates_dir / "replies")
    outcome = interpret(context, prompts, message.body, rules)
    talking = stafftexts.answers_staff(history.last_text_out(conn, patient.id), now)
    if talking and outcome.intents == (Intent.UNKNOWN,):
        # An answer to a person: the person reads it; no "reply 1 or 2" from the bot.
        outcome = replace(outcome, replies=(), prompt_for_options=None, needs_review=True)
    for action in outcome.actions:
        instead = actions.apply(conn, action, patient.id, inbound_id, now)
        if instead is not None:
            told = tuple(instead.reply if r == instead.of else r for r in outcome.replies)
            outcome = replace(outcome, replies=told)
    for answered in (outcome.answers, *outcome.also_answers):
        if answered is not None:
            messages.mark_answered(conn, answered.id, now)
    if stafftexts.needs_a_person(outcome.intents, outcome.needs_review, talking):
        threads.open_for(conn, patient.id, message.received_at, now)
    _mark(
        conn,
        inbound_id,
        now,
        intent=stored_intents(outcome),
        needs_review=outcome.needs_review or talking,
        prompt_id=outcome.answers.id if outcome.answers else None,
        patient_id=patient.id,
    )
    if outcome.reply is None:
        return None
    return _queue_reply(conn, renderer, patient, outcome, now)


def stored_intents(outcome: Outcome) -> str:
    """'session_confirm,symptom': every meaning, as many as the column holds."""
    kept: list[str] = []
    for intent in outcome.intents:
        if len(",".join([*kept, intent])) > INTENT_CHARS:
            break
        kept.append(str(intent))
    return ",".join(kept)


def _mark(conn: Connection, inbound_id: int, now: datetime, **values: Any) -> None:
    # The SET clause is the parameters' column names.
    conn.execute(MARK, {"inbound_id": inbound_id, "processed_at": now, "error": None, **values})


def _queue_reply(
    conn: Connection, renderer: Renderer, patient: Any, outcome: Outcome, now: datetime
) -> Reply | None:
    values: dict[str, Any] = {"patient": {"first_name": patient.first_name}}
    if "unknown" in outcome.replies:
        values["prompt"] = outcome.prompt_for_options
    values.update(actions.reply_values(conn, outcome.actions, patient.timezone))
    if "session_confirmed" in outcome.replies:
        confirmed = next(
            p for p in (outcome.answers, *outcome.also_answers) if p and p.kind == Question.SESSION
        )
        starts_at = conn.execute(
            select(appointment_table.c.starts_at).where(appointment_table.c.id == confirmed.ref)
        ).scalar_one()
        values["starts_at"] = starts_at.astimezone(ZoneInfo(patient.timezone))
    try:
        rendered = compose(renderer, outcome.replies, patient.language, values)
    except TemplateError:
        log.exception("reply %s failed to render; the reply is stored for staff", outcome.replies)
        return None
    reply_until = now + timedelta(hours=REPLY_WINDOW_HOURS[outcome.asks]) if outcome.asks else None
    message_id = messages.queue(
        conn,
        patient_id=patient.id,
        to=patient.phone,
        rendered=rendered,
        provider="pending",  # set by whoever hands it over: a transport or a TwiML answer
        now=now,
        counts_toward_cap=False,
        prompt=outcome.asks,
        reply_until=reply_until,
    )
    return Reply(message_id, patient.phone, rendered.body)


def send_reply(engine: Engine, transport: Transport, reply: Reply, now: datetime) -> bool:
    """Send a reply outside any transaction and record what the provider said."""
    return answer.send_text(
        engine, transport, Outgoing(reply.message_id, reply.to, reply.body), now
    )


def record_twiml_reply(engine: Engine, reply: Reply, now: datetime) -> None:
    """The reply went back inside the webhook's TwiML answer: Twilio queues it and has given
    us no sid yet (a status callback may bring one)."""
    with engine.begin() as conn:
        messages.record_twiml(conn, reply.message_id, now)


def process_pending(
    engine: Engine, settings: Settings, renderer: Renderer, transport: Transport, now: datetime
) -> int:
    """Retry replies left unprocessed (a crash or a bug while interpreting them), and settle
    reply texts whose send had no answer."""
    answer.resume_unknown(engine, settings, transport, now, RETRY_FOR)
    with engine.begin() as conn:
        ids = (
            conn.execute(
                select(IN.c.id)
                .where(IN.c.processed_at.is_(None), IN.c.received_at > now - RETRY_FOR)
                .order_by(IN.c.id)
                .limit(200)
            )
            .scalars()
            .all()
        )
    for inbound_id in ids:
        reply = process(engine, settings, renderer, inbound_id, now)
        if reply is not None:
            send_reply(engine, transport, reply, now)
    return len(ids)


def receive(
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    transport: Transport,
    now: datetime,
    *,
    from_phone: str,
    body: str,
    provider_sid: str | None = None,
) -> int | None:
    """Store, interpret, act and answer: the whole path for one reply (console and demo)."""
    inbound_id = store(engine, now, from_phone=from_phone, body=body, provider_sid=provider_sid)
    if inbound_id is None:
        return None
    reply = process(engine, settings, renderer, inbound_id, now)
    if reply is not None:
        send_reply(engine, transport, reply, now)
    return inbound_id

"""The exchange around one reply: what an escalation's page shows of the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, select

from outreach.db.tables import inbound_messages, outbound_messages, patients
from outreach.rules.vocabulary import Direction
from outreach.staff.messagelog import LogRow, log_row, received_texts, sent_texts

OUT = outbound_messages
IN = inbound_messages

CONTEXT = 4  # texts both ways shown before the reply
ANSWER_WINDOW = timedelta(minutes=5)  # what we text a patient this soon after a reply answers it


class Part(StrEnum):
    """What a text is to the reply at the centre of an exchange."""

    BEFORE = "before"  # earlier, for context
    QUESTION = "question"  # the question the reply answered
    REPLY = "reply"  # the reply itself
    ANSWER = "answer"  # what we texted back


@dataclass(frozen=True)
class ExchangeText:
    part: Part
    text: LogRow


def exchange(
    engine: Engine, inbound_id: int, context: int = CONTEXT, window: timedelta = ANSWER_WINDOW
) -> list[ExchangeText]:
    """The reply `inbound_id` in its conversation, oldest first: the `context` texts with
    its patient before it, the question it answered (however long before), the reply, then
    what we texted the patient within `window` after it and before their next reply. What
    the patient sent since is left out, however much. Empty if there is no such reply."""
    with engine.begin() as conn:
        reply = conn.execute(
            received_texts()
            .add_columns(IN.c.patient_id, IN.c.prompt_id)
            .where(IN.c.id == inbound_id)
        ).first()
        if reply is None:
            return []
        if reply.patient_id is None:  # a number no patient has: nothing around it is theirs
            return [ExchangeText(Part.REPLY, log_row(reply))]
        at = reply.at
        theirs_in = IN.c.patient_id == reply.patient_id
        theirs_out = OUT.c.patient_id == reply.patient_id
        # Inbound and outbound ids are separate sequences, so time orders the two; a text of
        # ours stamped with the reply's own instant is taken as an answer to it.
        earlier = [
            *conn.execute(
                received_texts()
                .where(
                    theirs_in,
                    (IN.c.received_at < at) | ((IN.c.received_at == at) & (IN.c.id < inbound_id)),
                )
                .order_by(IN.c.received_at.desc(), IN.c.id.desc())
                .limit(context)
            ),
            *conn.execute(
                sent_texts()
                .where(theirs_out, OUT.c.created_at < at)
                .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
                .limit(context)
            ),
        ]
        latest = sorted(earlier, key=_order)[max(0, len(earlier) - context) :]
        before = {(r.direction, r.id): r for r in latest}
        parts = dict.fromkeys(before, Part.BEFORE)
        question = None
        if reply.prompt_id is not None:
            question = conn.execute(sent_texts().where(OUT.c.id == reply.prompt_id)).first()
        if question is not None:
            before[(Direction.OUT, question.id)] = question
            parts[(Direction.OUT, question.id)] = Part.QUESTION
        answered = [theirs_out, OUT.c.created_at >= at, OUT.c.created_at <= at + window]
        next_reply = conn.execute(
            select(func.min(IN.c.received_at)).where(theirs_in, IN.c.received_at > at)
        ).scalar()
        if next_reply is not None:
            answered.append(OUT.c.created_at < next_reply)
        answers = conn.execute(
            sent_texts().where(*answered).order_by(OUT.c.created_at, OUT.c.id)
        ).all()
    return [
        *(
            ExchangeText(parts[(r.direction, r.id)], log_row(r))
            for r in sorted(before.values(), key=_order)
        ),
        ExchangeText(Part.REPLY, log_row(reply)),
        *(ExchangeText(Part.ANSWER, log_row(r)) for r in answers),
    ]


def _order(r: Any) -> tuple[datetime, int, int]:
    """Time first; at one instant a reply comes before what we sent in answer to it."""
    return (r.at, 0 if r.direction == Direction.IN else 1, r.id)


def latest_texts(engine: Engine, patient_id: str, limit: int) -> list[LogRow]:
    """The `limit` latest texts both ways with a patient (the clinic's id), newest first."""
    mine = patients.c.external_id == patient_id
    with engine.begin() as conn:
        rows = [
            *conn.execute(
                received_texts().where(mine).order_by(IN.c.received_at.desc(), IN.c.id.desc())
                .limit(limit)
            ),
            *conn.execute(
                sent_texts().where(mine).order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
                .limit(limit)
            ),
        ]  # fmt: skip
    return [log_row(r) for r in sorted(rows, key=_order, reverse=True)[:limit]]

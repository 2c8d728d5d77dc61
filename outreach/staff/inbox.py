"""What the inbox shows: the conversations that need a person (mine, unassigned, everyone's;
open or closed), and one patient's whole thread, the bot's texts, the patient's replies with
what each was understood as, and the texts staff wrote with their names, sent or waiting.

Written by outreach/inbox/threads.py (conversations) and inbox/texting.py (staff texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from outreach.db.tables import (
    conversations,
    inbound_messages,
    outbound_messages,
    patients,
    reminders,
    staff_messages,
    staff_users,
)
from outreach.rules.intentwords import intent_words, skip_words, understood_as
from outreach.rules.shorten import shorten
from outreach.rules.vocabulary import Direction, ReminderState
from outreach.transports.twilio_errors import error_meaning

C = conversations
P = patients
IN = inbound_messages
OUT = outbound_messages
SM = staff_messages
R = reminders
LIST_LIMIT = 200
THREAD_SHOWN = 30  # the latest texts; "earlier texts" shows them all
SNIPPET = 90


class Who(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    ALL = "all"


class State(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class ConversationRow:
    external_id: str
    name: str
    phone: str
    timezone: str
    language: str
    last_in_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    assigned_to: int | None
    assignee: str | None
    latest: str  # the patient's latest text, shortened
    understood: str  # what it was understood as, in words
    waiting: int  # their replies still marked "needs a look"


def counts(engine: Engine, user_id: int) -> dict[str, int]:
    """Open conversations: mine, unassigned, all; and closed ones."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.count().filter(C.c.closed_at.is_(None)),
                func.count().filter(C.c.closed_at.is_(None), C.c.assigned_to == user_id),
                func.count().filter(C.c.closed_at.is_(None), C.c.assigned_to.is_(None)),
                func.count().filter(C.c.closed_at.is_not(None)),
            )
        ).one()
    return {
        Who.ALL: int(row[0]),
        Who.MINE: int(row[1]),
        Who.UNASSIGNED: int(row[2]),
        State.CLOSED: int(row[3]),
    }


def open_count(engine: Engine) -> int:
    """For Today's link to the inbox."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(C.c.closed_at.is_(None))).scalar_one())


def listing(
    engine: Engine, user_id: int, who: Who, state: State, limit: int = LIST_LIMIT
) -> list[ConversationRow]:
    """Newest text first (open), or most recently closed first (closed)."""
    assignee = staff_users.alias("assignee")
    query = (
        select(
            C.c.patient_id,
            C.c.last_in_at,
            C.c.opened_at,
            C.c.closed_at,
            C.c.assigned_to,
            assignee.c.display_name.label("assignee"),
            P.c.external_id,
            P.c.first_name,
            P.c.last_name,
            P.c.phone,
            P.c.timezone,
            P.c.language,
        )
        .join(P, P.c.id == C.c.patient_id)
        .outerjoin(assignee, assignee.c.id == C.c.assigned_to)
        .limit(limit)
    )
    if state == State.OPEN:
        query = query.where(C.c.closed_at.is_(None)).order_by(C.c.last_in_at.desc())
    else:
        query = query.where(C.c.closed_at.is_not(None)).order_by(C.c.closed_at.desc())
    if who == Who.MINE:
        query = query.where(C.c.assigned_to == user_id)
    elif who == Who.UNASSIGNED:
        query = query.where(C.c.assigned_to.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        latest = _latest_texts(conn, [r.patient_id for r in rows])
        waiting = _waiting(conn, [r.patient_id for r in rows])
    return [
        ConversationRow(
            external_id=r.external_id,
            name=f"{r.first_name} {r.last_name}".strip(),
            phone=r.phone,
            timezone=r.timezone,
            language=r.language,
            last_in_at=r.last_in_at,
            opened_at=r.opened_at,
            closed_at=r.closed_at,
            assigned_to=r.assigned_to,
            assignee=r.assignee,
            latest=shorten(latest[r.patient_id][0], SNIPPET) if r.patient_id in latest else "",
            understood=intent_words(latest[r.patient_id][1]) if r.patient_id in latest else "",
            waiting=waiting.get(r.patient_id, 0),
        )
        for r in rows
    ]


def _latest_texts(conn: Connection, patient_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    if not patient_ids:
        return {}
    newest = (
        select(IN.c.patient_id, func.max(IN.c.id).label("id"))
        .where(IN.c.patient_id.in_(patient_ids))
        .group_by(IN.c.patient_id)
        .subquery()
    )
    rows = conn.execute(
        select(IN.c.patient_id, IN.c.body, IN.c.intent).join(newest, newest.c.id == IN.c.id)
    ).all()
    return {r.patient_id: (r.body, r.intent) for r in rows}


def _waiting(conn: Connection, patient_ids: list[int]) -> dict[int, int]:
    if not patient_ids:
        return {}
    rows = conn.execute(
        select(IN.c.patient_id, func.count())
        .where(IN.c.patient_id.in_(patient_ids), IN.c.needs_review.is_(True))
        .group_by(IN.c.patient_id)
    ).all()
    return {patient_id: int(n) for patient_id, n in rows}


@dataclass(frozen=True)
class ConversationState:
    open: bool
    opened_at: datetime
    closed_at: datetime | None
    assigned_to: int | None
    assignee: str | None
    closed_by: str | None


def conversation_state(engine: Engine, patient_id: int) -> ConversationState | None:
    """The patient's conversation in the inbox, or None if they never had one."""
    assignee = staff_users.alias("assignee")
    closer = staff_users.alias("closer")
    with engine.connect() as conn:
        row = conn.execute(
            select(
                C.c.opened_at,
                C.c.closed_at,
                C.c.assigned_to,
                assignee.c.display_name.label("assignee"),
                closer.c.display_name.label("closer"),
            )
            .outerjoin(assignee, assignee.c.id == C.c.assigned_to)
            .outerjoin(closer, closer.c.id == C.c.closed_by)
            .where(C.c.patient_id == patient_id)
        ).first()
    if row is None:
        return None
    return ConversationState(
        open=row.closed_at is None,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        assigned_to=row.assigned_to,
        assignee=row.assignee,
        closed_by=row.closer,
    )


def colleagues(engine: Engine) -> list[dict[str, Any]]:
    """Active staff, to assign a conversation to."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(staff_users.c.id, staff_users.c.display_name, staff_users.c.username)
            .where(staff_users.c.active.is_(True))
            .order_by(staff_users.c.display_name)
        ).all()
    return [{"id": r.id, "name": r.display_name, "username": r.username} for r in rows]


def thread(
    engine: Engine, patient_id: int, limit: int | None = THREAD_SHOWN
) -> list[dict[str, Any]]:
    """The whole conversation, oldest first (the newest at the bottom, by the reply box):
    the bot's texts, the patient's with what each was understood as, and the staff's with
    the writer's name, including those still waiting to go or that could not go. `limit`
    keeps the latest; None keeps all."""
    author = staff_users.alias("author")
    with engine.connect() as conn:
        sent_query = (
            select(OUT, author.c.display_name.label("author"))
            .outerjoin(SM, SM.c.reminder_id == OUT.c.reminder_id)
            .outerjoin(author, author.c.id == SM.c.author_id)
            .where(OUT.c.patient_id == patient_id)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
        )
        received_query = (
            select(IN)
            .where(IN.c.patient_id == patient_id)
            .order_by(IN.c.received_at.desc(), IN.c.id.desc())
        )
        if limit is not None:
            sent_query = sent_query.limit(limit)
            received_query = received_query.limit(limit)
        sent = conn.execute(sent_query).all()
        received = conn.execute(received_query).all()
        unsent = conn.execute(
            select(
                SM.c.id, SM.c.body, SM.c.created_at, R.c.state, R.c.send_at, R.c.skip_reason,
                author.c.display_name.label("author"),
            )
            .join(R, R.c.id == SM.c.reminder_id)
            .join(author, author.c.id == SM.c.author_id)
            .where(
                SM.c.patient_id == patient_id,
                ~select(OUT.c.id).where(OUT.c.reminder_id == SM.c.reminder_id).exists(),
            )
        ).all()  # fmt: skip
    texts = [_sent(row) for row in sent]
    texts += [_received(row) for row in received]
    texts += [_unsent(row) for row in unsent]
    # A reply and the text answering it share an instant; the reply comes first.
    texts.sort(key=lambda t: t["order"])
    return texts if limit is None else texts[-limit:]


def _sent(row: Any) -> dict[str, Any]:
    return {
        "direction": Direction.OUT,
        "at": row.created_at,
        "order": (row.created_at, 1, row.id),
        "body": row.body,
        "by": row.author or "outreach (automatic)",
        "staff": row.author is not None,
        "status": row.status,
        "problem": error_meaning(row.error_code),
    }


def _received(row: Any) -> dict[str, Any]:
    return {
        "direction": Direction.IN,
        "at": row.received_at,
        "order": (row.received_at, 0, row.id),
        "body": row.body,
        "staff": False,
        "understood": understood_as(row.intent),
        "needs_review": row.needs_review,
    }


def _unsent(row: Any) -> dict[str, Any]:
    waiting = row.state in (ReminderState.PENDING, ReminderState.CLAIMED)
    return {
        "direction": Direction.OUT,
        "at": row.created_at,
        "order": (row.created_at, 2, row.id),
        "body": row.body,
        "by": row.author,
        "staff": True,
        "status": "waiting" if waiting else "not sent",
        "waits_until": row.send_at if waiting else None,
        "problem": "" if waiting else skip_words(row.skip_reason),
    }

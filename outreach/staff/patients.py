"""What a patient's page shows of them: their header, conversation, coming sessions and
consent history. The list of patients is patientlist.py's; what needs doing for them,
needsdoing.py's; their foot-check calendar, exercise completion and pain, adherence.py's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from outreach.db.tables import (
    consent_events,
    inbound_messages,
    outbound_messages,
    patients,
    staff_messages,
    staff_users,
)
from outreach.patients.plans import status_of
from outreach.rules.vocabulary import (
    Direction,
)

P = patients
OUT = outbound_messages
IN = inbound_messages
THREAD_LIMIT = 200


def header(engine: Engine, external_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.external_id == external_id)).first()
    if row is None:
        return None
    return {
        "id": row.id,
        "patient_id": row.external_id,
        "name": f"{row.first_name} {row.last_name}".strip(),
        "phone": row.phone,
        "language": row.language,
        "timezone": row.timezone,
        "status": status_of(row),
        "consent": row.consent_state,
        "opted_out": row.opted_out,
        "paused": row.paused,
        "quiet_hours": row.quiet_hours,
        "pain_baseline": row.pain_baseline,
    }


def thread(engine: Engine, patient_id: int, limit: int = THREAD_LIMIT) -> list[dict[str, Any]]:
    """The conversation both ways, oldest first so the newest sits at the bottom."""
    with engine.connect() as conn:
        author = staff_users.alias("author")
        sent = conn.execute(
            select(OUT, author.c.display_name.label("author"))
            .outerjoin(staff_messages, staff_messages.c.reminder_id == OUT.c.reminder_id)
            .outerjoin(author, author.c.id == staff_messages.c.author_id)
            .where(OUT.c.patient_id == patient_id)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
            .limit(limit)
        ).all()
        received = conn.execute(
            select(IN)
            .where(IN.c.patient_id == patient_id)
            .order_by(IN.c.received_at.desc(), IN.c.id.desc())
            .limit(limit)
        ).all()
    # A reply and the text answering it share an instant; the reply comes first.
    messages = [
        {
            "direction": Direction.OUT,
            "at": row.created_at,
            "order": (row.created_at, 1, row.id),
            "body": row.body,
            "kind": row.template,
            "status": row.status,
            "error": row.error_code,
            "by": row.author,  # the member of staff who wrote it; None: the bot
        }
        for row in sent
    ] + [
        {
            "direction": Direction.IN,
            "at": row.received_at,
            "order": (row.received_at, 0, row.id),
            "body": row.body,
            "intent": row.intent,  # None: not read yet
            "needs_review": row.needs_review,
        }
        for row in received
    ]
    messages.sort(key=lambda m: m["order"])
    return messages[-limit:]


def consent_history(engine: Engine, patient_id: int) -> list[dict[str, Any]]:
    C = consent_events
    with engine.connect() as conn:
        rows = conn.execute(
            select(C).where(C.c.patient_id == patient_id).order_by(C.c.at, C.c.id)
        ).all()
    return [
        {
            "at": r.at,
            "kind": r.event,
            "event": r.event.replace("_", " "),
            "source": r.source,
            "detail": r.detail,
        }
        for r in rows
    ]

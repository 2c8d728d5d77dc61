"""What needs doing for one patient, at the top of their page: open escalations, replies no
rule fully understood, and texts that failed to reach them this week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from outreach.db.tables import escalations, inbound_messages, outbound_messages
from outreach.rules.reasonwords import reason_words
from outreach.staff.today import FAILED_WITHIN, UNSENT
from outreach.transports.twilio_errors import error_meaning

E = escalations
IN = inbound_messages
OUT = outbound_messages


@dataclass(frozen=True)
class NeedsDoing:
    escalations: list[dict[str, Any]]
    replies: list[dict[str, Any]]  # to review: no rule fully understood them
    failed: list[dict[str, Any]]  # texts that failed or were not delivered, last 7 days

    def __bool__(self) -> bool:
        return bool(self.escalations or self.replies or self.failed)


def needs_doing(engine: Engine, patient_id: int, now: datetime) -> NeedsDoing:
    with engine.connect() as conn:
        open_ones = conn.execute(
            select(E)
            .where(E.c.patient_id == patient_id, E.c.resolved_at.is_(None))
            .order_by(E.c.created_at)
        ).all()
        replies = conn.execute(
            select(IN.c.id, IN.c.received_at, IN.c.body, IN.c.intent)
            .where(IN.c.patient_id == patient_id, IN.c.needs_review.is_(True))
            .order_by(IN.c.received_at, IN.c.id)
        ).all()
        failed = conn.execute(
            select(OUT.c.created_at, OUT.c.template, OUT.c.status, OUT.c.error_code)
            .where(
                OUT.c.patient_id == patient_id,
                OUT.c.status.in_(UNSENT),
                OUT.c.created_at >= now - FAILED_WITHIN,
            )
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
        ).all()
    return NeedsDoing(
        escalations=[
            {
                "id": r.id,
                "severity": r.severity,
                "reason": reason_words(r.reason, r.detail or ""),
                "detail": r.detail,
                "created_at": r.created_at,
                "acknowledged": r.acknowledged_at is not None,
            }
            for r in open_ones
        ],
        replies=[
            {"id": r.id, "at": r.received_at, "body": r.body, "intent": r.intent} for r in replies
        ],
        failed=[
            {
                "at": r.created_at,
                "kind": r.template,
                "status": r.status,
                "error": r.error_code,
                "meaning": error_meaning(r.error_code),
            }
            for r in failed
        ],
    )

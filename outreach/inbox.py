"""What needs staff: escalations, and the message log in both directions (read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, select

from outreach.models import escalations, inbound_messages, outbound_messages, patients

E = escalations
SEVERITY_ORDER = case({"urgent": 0, "routine": 1, "review": 2}, value=E.c.severity, else_=3)


def _state(row: Any) -> str:
    if row.resolved_at:
        return "resolved"
    return "acknowledged" if row.acknowledged_at else "open"


def escalation_rows(
    engine: Engine, now: datetime, include_resolved: bool = False
) -> list[dict[str, Any]]:
    """Open ones first, urgent on top, oldest first within a severity."""
    query = (
        select(E, patients.c.external_id, patients.c.first_name, patients.c.last_name)
        .join(patients, patients.c.id == E.c.patient_id)
        .order_by(E.c.resolved_at.is_not(None), SEVERITY_ORDER, E.c.created_at)
    )
    if not include_resolved:
        query = query.where(E.c.resolved_at.is_(None))
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": row.id,
            "severity": row.severity,
            "reason": row.reason,
            "detail": row.detail,
            "patient_id": row.external_id,
            "patient": f"{row.first_name} {row.last_name}".strip(),
            "reported_at": row.created_at.isoformat(),
            "minutes_open": int((now - row.created_at).total_seconds() // 60),
            "state": _state(row),
            "on_call_texted_at": row.notified_at.isoformat() if row.notified_at else None,
        }
        for row in rows
    ]


def message_rows(
    engine: Engine, limit: int = 50, patient: str | None = None
) -> list[dict[str, Any]]:
    """The newest texts both ways, newest first; replies show what we understood."""
    out = outbound_messages
    inn = inbound_messages
    with engine.begin() as conn:
        patient_id = None
        if patient is not None:
            patient_id = conn.execute(
                select(patients.c.id).where(
                    (patients.c.external_id == patient) | (patients.c.phone == patient)
                )
            ).scalar()
            if patient_id is None:
                return []
        sent = (
            select(out, patients.c.external_id)
            .outerjoin(patients, patients.c.id == out.c.patient_id)
            .order_by(out.c.created_at.desc())
            .limit(limit)
        )
        received = (
            select(inn, patients.c.external_id)
            .outerjoin(patients, patients.c.id == inn.c.patient_id)
            .order_by(inn.c.received_at.desc())
            .limit(limit)
        )
        if patient_id is not None:
            sent = sent.where(out.c.patient_id == patient_id)
            received = received.where(inn.c.patient_id == patient_id)
        rows = [
            {
                "at": row.created_at.isoformat(),
                "direction": "out",
                "patient_id": row.external_id,
                "phone": row.to_phone,
                "kind": row.template,
                "status": row.status,
                "error": row.error_code,
                "body": row.body,
            }
            for row in conn.execute(sent)
        ] + [
            {
                "at": row.received_at.isoformat(),
                "direction": "in",
                "patient_id": row.external_id,
                "phone": row.from_phone,
                "kind": row.intent or "unprocessed",
                "status": "needs a look" if row.needs_review else "handled",
                "error": row.error,
                "body": row.body,
            }
            for row in conn.execute(received)
        ]
    return sorted(rows, key=lambda r: r["at"], reverse=True)[:limit]

"""The audit log: every change staff make to patients, plans and escalations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from outreach.models import audit_events, patients
from outreach.users import Staff


def record(
    conn: Connection,
    who: Staff,
    action: str,
    now: datetime,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry in the caller's transaction, so the change and its record go
    together or not at all."""
    conn.execute(
        insert(audit_events).values(
            at=now,
            user_id=who.id,
            username=who.username,
            action=action,
            patient_id=patient_id,
            detail=json.dumps(detail or {}, default=str, ensure_ascii=False, sort_keys=True),
        )
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """field: [old, new] for every field whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def entries(
    engine: Engine,
    *,
    patient_id: int | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages back."""
    A = audit_events
    query = (
        select(A, patients.c.external_id)
        .outerjoin(patients, patients.c.id == A.c.patient_id)
        .order_by(A.c.id.desc())
        .limit(limit)
    )
    if patient_id is not None:
        query = query.where(A.c.patient_id == patient_id)
    if before_id is not None:
        query = query.where(A.c.id < before_id)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "at": r.at,
            "username": r.username,
            "action": r.action,
            "patient_id": r.external_id,
            "detail": json.loads(r.detail),
        }
        for r in rows
    ]

"""Consent and opt-out: the patient's state and its history change together, every time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from outreach.db.tables import consent_events, patients
from outreach.outbox.commands import replan, skip_pending
from outreach.rules.vocabulary import ConsentEventKind, ConsentState, SkipReason


def _record(
    conn: Connection, patient_id: int, event: str, now: datetime, source: str, detail: str
) -> None:
    conn.execute(
        consent_events.insert().values(
            patient_id=patient_id, at=now, event=event, source=source, detail=detail[:200]
        )
    )


def _set(conn: Connection, patient_id: int, now: datetime, **values: Any) -> None:
    conn.execute(
        update(patients).where(patients.c.id == patient_id).values(updated_at=now, **values)
    )


def grant(conn: Connection, patient_id: int, now: datetime, source: str, detail: str) -> None:
    _set(conn, patient_id, now, consent_state=ConsentState.GRANTED)
    _record(conn, patient_id, ConsentEventKind.GRANTED, now, source, detail)
    replan(conn, patient_id, now)


def opt_out(conn: Connection, patient_id: int, now: datetime, source: str, detail: str) -> bool:
    """At once: the flag, the history, and every pending reminder skipped (the consent request
    included). One conditional UPDATE, so a repeated STOP or a duplicate provider callback is
    recorded once; returns False, recording nothing, if they were already opted out."""
    changed = conn.execute(
        update(patients)
        .where(patients.c.id == patient_id, patients.c.opted_out.is_(False))
        .values(opted_out=True, updated_at=now)
    ).rowcount
    if changed != 1:
        return False
    _record(conn, patient_id, ConsentEventKind.OPTED_OUT, now, source, detail)
    skip_pending(conn, patient_id, SkipReason.OPTED_OUT, now, keep_consent=False)
    return True


def opt_in(conn: Connection, patient_id: int, now: datetime, source: str, detail: str) -> None:
    _set(conn, patient_id, now, opted_out=False)
    _record(conn, patient_id, ConsentEventKind.OPTED_IN, now, source, detail)
    replan(conn, patient_id, now)

"""Urgent escalations also text the clinic's on-call phone, on the next tick (within a minute).

The text names the patient by the clinic's id and the reason, never by name or diagnosis.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from outreach import messages
from outreach.config import Settings
from outreach.models import Severity, escalations, patients
from outreach.render import Renderer, TemplateError
from outreach.transports import Outgoing, SendError, Transport

log = logging.getLogger(__name__)
E = escalations
# Older urgent escalations are for the day's staff, not for a phone that rings now.
PAGE_WITHIN = timedelta(hours=12)


def notify_urgent(
    engine: Engine, settings: Settings, renderer: Renderer, transport: Transport, now: datetime
) -> int:
    """Text the on-call phone once for each new urgent escalation; returns how many went."""
    if not settings.on_call_phone:
        return 0
    with engine.begin() as conn:
        waiting = (
            conn.execute(
                select(E.c.id)
                .where(
                    E.c.severity == Severity.URGENT,
                    E.c.notified_at.is_(None),
                    E.c.resolved_at.is_(None),
                    E.c.created_at >= now - PAGE_WITHIN,
                )
                .order_by(E.c.created_at)
            )
            .scalars()
            .all()
        )
    return sum(_notify(engine, settings, renderer, transport, now, e) for e in waiting)


def _notify(
    engine: Engine,
    settings: Settings,
    renderer: Renderer,
    transport: Transport,
    now: datetime,
    escalation_id: int,
) -> bool:
    assert settings.on_call_phone
    with engine.begin() as conn:
        # Taken with one conditional statement: two workers never page twice.
        taken = conn.execute(
            update(E)
            .where(E.c.id == escalation_id, E.c.notified_at.is_(None))
            .values(notified_at=now)
        )
        if taken.rowcount != 1:
            return False
        row = conn.execute(
            select(E.c.detail, E.c.reason, patients.c.external_id)
            .join(patients, patients.c.id == E.c.patient_id)
            .where(E.c.id == escalation_id)
        ).one()
        try:
            rendered = renderer.render(
                "on_call", "en", patient_ref=row.external_id, reason=row.detail or row.reason
            )
        except TemplateError:
            log.exception("the on-call text for escalation %s cannot be rendered", escalation_id)
            return False
        message_id = messages.queue(
            conn,
            patient_id=None,
            to=settings.on_call_phone,
            rendered=rendered,
            provider=transport.name,
            now=now,
            counts_toward_cap=False,
        )
    outgoing = Outgoing(message_id, settings.on_call_phone, rendered.body)
    try:
        receipt = transport.send(outgoing)
    except SendError as exc:
        with engine.begin() as conn:
            messages.record_error(conn, message_id, exc)
            if not exc.permanent:  # try again on the next tick
                conn.execute(update(E).where(E.c.id == escalation_id).values(notified_at=None))
        log.error("could not text the on-call phone about escalation %s: %s", escalation_id, exc)
        return False
    with engine.begin() as conn:
        messages.record_receipt(conn, message_id, receipt, now)
    log.info("on-call phone texted about escalation %s", escalation_id)
    return True

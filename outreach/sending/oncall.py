"""Urgent and emergency escalations also text the clinic's on-call phone, on the next tick
(within a minute).

The text says which of the two it is, names the patient by the clinic's id and the reason,
never by name or diagnosis, and fits one SMS.
A page is taken by one conditional statement (two workers never page twice) and its row is
written before the send, as for reminders: a worker that dies before or during the send,
or a send whose answer was lost, leaves a row without a provider id, which a later tick
looks up at the provider and sends only if it is not there. That lookup is itself claimed
under a lease ("resending" since `claimed_at`), so a worker that dies during it leaves the
page to the next. A page is never lost to a crash, and never sent twice because an answer
went missing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import escalations, outbound_messages, patients
from outreach.rules.vocabulary import PAGED, Severity
from outreach.sending import outbound as messages
from outreach.sending import send
from outreach.texts.render import PrivacyError, Rendered, Renderer, TemplateError
from outreach.transports import Outgoing, Transport

log = logging.getLogger("outreach.oncall")
E = escalations
OUT = outbound_messages
TEMPLATE = "on_call"
# Older urgent escalations are for the day's staff, not for a phone that rings now.
PAGE_WITHIN = timedelta(hours=12)


def notify_urgent(
    engine: Engine, settings: Settings, renderer: Renderer, transport: Transport, now: datetime
) -> int:
    """Text the on-call phone once for each new urgent escalation, and finish pages a
    crash or a lost answer left unfinished; returns how many went."""
    if not settings.on_call_phone:
        return 0
    resumed = _resume_unfinished(engine, settings, transport, now)
    with engine.begin() as conn:
        waiting = (
            conn.execute(
                select(E.c.id)
                .where(
                    E.c.severity.in_(PAGED),
                    E.c.notified_at.is_(None),
                    E.c.resolved_at.is_(None),
                    E.c.created_at >= now - PAGE_WITHIN,
                )
                .order_by(E.c.created_at)
            )
            .scalars()
            .all()
        )
    return resumed + sum(_notify(engine, settings, renderer, transport, now, e) for e in waiting)


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
            select(E.c.severity, E.c.detail, E.c.reason, patients.c.external_id)
            .join(patients, patients.c.id == E.c.patient_id)
            .where(E.c.id == escalation_id)
        ).one()
        try:
            rendered = _page_text(renderer, row)
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
    page_again = partial(_page_again_if_refused, escalation_id)
    result = send.send(engine.begin, transport, outgoing, lambda: now, page_again)
    if not isinstance(result, send.Taken):
        log.error(
            "could not text the on-call phone about escalation %s: %s",
            escalation_id,
            result.error,
        )
        return False
    log.info("on-call phone texted about escalation %s", escalation_id)
    return True


def _page_again_if_refused(
    escalation_id: int, conn: Connection, result: send.Result, now: datetime
) -> send.Result:
    """A page that did not go, and may go later, is paged again on the next tick; one
    that may have gone is looked up first (`_resume_unfinished`)."""
    if isinstance(result, send.Refused) and not result.error.permanent:
        conn.execute(update(E).where(E.c.id == escalation_id).values(notified_at=None))
    return result


def _page_text(renderer: Renderer, row: Any) -> Rendered:
    """The page with the escalation's details (the patient's own words, often) when they fit
    one SMS and name no diagnosis; otherwise with the reason in our words, which do. A page
    refused for a word the patient wrote would never go at all."""
    context = {"patient_ref": row.external_id, "severity": Severity(row.severity)}
    if row.detail:
        try:
            rendered = renderer.render(TEMPLATE, "en", reason=row.detail, **context)
        except PrivacyError:
            pass
        else:
            # One accent outside GSM-7 ("caí") makes it UCS-2: two segments, maybe three.
            if rendered.measure.segments == 1:
                return rendered
    return renderer.render(TEMPLATE, "en", reason=row.reason.replace("_", " "), **context)


def _resume_unfinished(
    engine: Engine, settings: Settings, transport: Transport, now: datetime
) -> int:
    """Pages with no provider id: answer lost (unknown), or left by a worker that stopped
    before its send or its resend finished (pending, or resending, for longer than a lease)."""
    stale = now - timedelta(seconds=settings.lease_seconds)
    pages = (OUT.c.template == TEMPLATE) & (OUT.c.created_at >= now - PAGE_WITHIN)
    with engine.begin() as conn:
        rows = messages.unfinished(conn, pages, stale, pending_too=True)
    return sum(_resume(engine, transport, now, row) for row in rows)


def _resume(engine: Engine, transport: Transport, now: datetime, row: Any) -> bool:
    result = send.resume(engine.begin, transport, row, now)
    if result is None:
        return False  # another worker took it
    if not isinstance(result, send.Taken):
        log.error("on-call page %s still not sent: %s", row.id, result.error)
        return False
    sid = result.receipt.provider_sid if result.receipt else None
    log.info("unfinished on-call page %s settled: %s", row.id, sid)
    return True

"""Prepare a claimed reminder for its send: settle an earlier attempt, gather the guards'
facts, decide, render, and write its outbound row, all in the claim holder's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db.tables import (
    care_plans,
    outbound_messages,
    reminders,
    staff_messages,
)
from outreach.outbox import claims
from outreach.rules.guards import PRIORITY, Decision, Defer, Facts, Send, Skip, decide
from outreach.rules.localtime import at_local, patient_quiet_hours
from outreach.rules.schedule import exercise_names
from outreach.rules.vocabulary import (
    ConsentState,
    OutboundStatus,
    ReminderKind,
    ReminderState,
)
from outreach.sending import outbound
from outreach.sending.about import ASKS, About, about, reply_until
from outreach.sending.outcome import DEFERRED, LOST, SENT, Outcome, failed, skipped
from outreach.texts.render import Rendered, Renderer, TemplateError, as_written
from outreach.transports import Outgoing

log = logging.getLogger("outreach.dispatcher")

R = reminders
OUT = outbound_messages
# The statements run for every send, built once with bound parameters: building them each
# time cost more than running them on SQLite.
SENT_TODAY = (
    select(func.count())
    .select_from(OUT)
    .where(
        OUT.c.patient_id == bindparam("patient_id"),
        OUT.c.counts_toward_cap.is_(True),
        OUT.c.created_at >= bindparam("day_start"),
        OUT.c.status.notin_((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)),
    )
)
RESERVED_TODAY = (
    select(func.count())
    .select_from(R)
    .where(
        R.c.patient_id == bindparam("patient_id"),
        R.c.id != bindparam("reminder_id"),
        R.c.state.in_((ReminderState.PENDING, ReminderState.CLAIMED)),
        R.c.kind.in_(bindparam("higher", expanding=True)),
        R.c.send_at >= bindparam("now"),
        R.c.send_at < bindparam("day_end"),
    )
)


@dataclass(frozen=True)
class Uncertain:
    """An earlier attempt that may have reached the provider: look before sending again."""

    message: Outgoing
    since: datetime


def prepare(
    conn: Connection,
    settings: Settings,
    renderer: Renderer,
    provider: str,
    reminder_id: int,
    worker_id: str,
    now: datetime,
) -> Outgoing | Uncertain | Outcome:
    """The text to send with its row written; an earlier attempt to look up first; or how
    the reminder ended without a send."""
    row = claims.claimed(conn, reminder_id, worker_id)
    if row is None:
        return LOST  # our lease expired and another worker took over
    earlier = conn.execute(
        select(OUT.c.id, OUT.c.to_phone, OUT.c.body, OUT.c.created_at, OUT.c.provider_sid)
        .where(
            OUT.c.reminder_id == reminder_id,
            or_(OUT.c.status == OutboundStatus.UNKNOWN, OUT.c.provider_sid.is_not(None)),
        )
        .order_by(OUT.c.id.desc())
    ).all()
    if any(e.provider_sid is not None for e in earlier):
        # A status callback brought the sid of an attempt whose answer was lost: the
        # provider took that text, so it is not sent again.
        claims.finish(conn, reminder_id, ReminderState.SENT, now, None)
        return SENT
    if earlier:
        message = Outgoing(earlier[0].id, earlier[0].to_phone, earlier[0].body)
        return Uncertain(message, earlier[0].created_at)
    zone = ZoneInfo(row.timezone)
    if row.kind == ReminderKind.STAFF:
        return _prepare_staff_text(conn, settings, provider, row, zone, now)
    told = about(conn, row, now)
    decision = decide(facts(conn, settings, row, zone, now, told.wanted))
    if not isinstance(decision, Send):
        return settle(conn, reminder_id, decision, now)
    try:
        rendered = renderer.render(row.kind, row.language, **context(conn, row, zone, told))
    except TemplateError as exc:
        log.error("reminder %s cannot be rendered: %s", reminder_id, exc)
        claims.finish(conn, reminder_id, ReminderState.FAILED, now, "template_error")
        return failed("template_error")
    return _queue(conn, provider, row, rendered, now, told)


def _queue(
    conn: Connection,
    provider: str,
    row: Any,
    rendered: Rendered,
    now: datetime,
    told: About,
) -> Outgoing:
    staff = row.kind == ReminderKind.STAFF
    asks = ASKS.get(row.kind)
    message_id = outbound.queue(
        conn,
        patient_id=row.patient_id,
        to=row.phone,
        rendered=rendered,
        provider=provider,
        now=now,
        counts_toward_cap=not staff,
        reminder_id=row.id,
        prompt=asks,
        prompt_ref=told.prompt_ref,
        reply_until=reply_until(row.kind, told, now),
    )
    return Outgoing(message_id=message_id, to=row.phone, body=rendered.body)


def _prepare_staff_text(
    conn: Connection, settings: Settings, provider: str, row: Any, zone: ZoneInfo, now: datetime
) -> Outgoing | Outcome:
    """A text a member of staff wrote: the same guards, with its own exemptions (a staff
    text is not capped, and an answer the patient waits for may go in quiet hours)."""
    text = staff_text(conn, row.id)
    decision = decide(facts(conn, settings, row, zone, now, True, text.quiet_exempt_until))
    if not isinstance(decision, Send):
        return settle(conn, row.id, decision, now)
    return _queue(conn, provider, row, as_written(text.body, row.language), now, About(True))


def staff_text(conn: Connection, reminder_id: int) -> Any:
    """The staff text an outbox row sends: its body and until when it may go in quiet hours."""
    return conn.execute(
        select(staff_messages.c.body, staff_messages.c.quiet_exempt_until).where(
            staff_messages.c.reminder_id == reminder_id
        )
    ).one()


def facts(
    conn: Connection,
    settings: Settings,
    row: Any,
    zone: ZoneInfo,
    now: datetime,
    wanted: bool,
    quiet_exempt_until: datetime | None = None,
) -> Facts:
    today = now.astimezone(zone).date()
    day_start = at_local(today, time(0), zone)
    day_end = at_local(today + timedelta(days=1), time(0), zone)
    sent_today = conn.execute(
        SENT_TODAY, {"patient_id": row.patient_id, "day_start": day_start}
    ).scalar_one()
    higher = [kind for kind, rank in PRIORITY.items() if rank < PRIORITY[row.kind]]
    reserved = conn.execute(
        RESERVED_TODAY,
        {
            "patient_id": row.patient_id,
            "reminder_id": row.id,
            "higher": higher,
            "now": now,
            "day_end": day_end,
        },
    ).scalar_one()
    return Facts(
        kind=row.kind,
        now=now,
        expires_at=row.expires_at,
        zone=zone,
        quiet=patient_quiet_hours(row.quiet_hours, settings.quiet_hours),
        consent_granted=row.consent_state == ConsentState.GRANTED,
        opted_out=row.opted_out,
        paused=row.paused,
        appointment_live=wanted,
        sent_today=int(sent_today),
        reserved_today=int(reserved),
        daily_cap=settings.daily_cap,
        quiet_exempt_until=quiet_exempt_until,
    )


def context(conn: Connection, row: Any, zone: ZoneInfo, told: About) -> dict[str, Any]:
    values: dict[str, Any] = {"patient": {"first_name": row.first_name}}
    if told.starts_at is not None:
        values["starts_at"] = told.starts_at.astimezone(zone)
    for name, value in told.values.items():
        values[name] = value.astimezone(zone) if isinstance(value, datetime) else value
    if row.kind == ReminderKind.EXERCISE:
        text = conn.execute(
            select(care_plans.c.exercises).where(care_plans.c.patient_id == row.patient_id)
        ).scalar()
        values["exercises"] = list(exercise_names(text or "", per_line=True))
    return values


def settle(conn: Connection, reminder_id: int, decision: Decision, now: datetime) -> Outcome:
    """Write down a decision not to send now."""
    if isinstance(decision, Defer):
        claims.defer(conn, reminder_id, decision.until, now)
        return DEFERRED
    assert isinstance(decision, Skip)
    claims.finish(conn, reminder_id, ReminderState.SKIPPED, now, decision.reason)
    return skipped(decision.reason)

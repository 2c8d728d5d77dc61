"""The report's figures about people: escalations raised (by severity now, how soon staff
first acted), opt-outs by source, and how long patients waited for a person to text back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, literal, select

from outreach.db.tables import (
    UTCDateTime,
    consent_events,
    escalations,
    inbound_messages,
    staff_messages,
)
from outreach.rules.localtime import local_date
from outreach.rules.vocabulary import ConsentEventKind
from outreach.staff.report.counts import Figure, Tally
from outreach.staff.report.histogram import bucket, whole_seconds

IN = inbound_messages
SM = staff_messages
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def count_escalations(
    conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally
) -> None:
    E = escalations
    for severity, at, acknowledged, resolved in conn.execute(
        select(E.c.severity, E.c.created_at, E.c.acknowledged_at, E.c.resolved_at).where(
            E.c.created_at >= lo, E.c.created_at < hi
        )
    ):
        on = local_date(at, zone)
        found.add(on, Figure.ESCALATIONS, severity)
        acted = min((t for t in (acknowledged, resolved) if t is not None), default=None)
        if acted is None:
            found.add(on, Figure.UNACTED, "")
        else:
            found.add(on, Figure.FIRST_ACTION, bucket(whole_seconds(acted - at)))


def count_opt_outs(
    conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally
) -> None:
    C = consent_events
    for at, source in conn.execute(
        select(C.c.at, C.c.source).where(
            C.c.event == ConsentEventKind.OPTED_OUT, C.c.at >= lo, C.c.at < hi
        )
    ):
        found.add(local_date(at, zone), Figure.OPT_OUTS, source)


def reply_waits(
    texts_in: list[datetime], staff_texts: list[datetime]
) -> list[tuple[datetime, datetime]]:
    """One patient's waits for a person, as (first unanswered text, staff text): each staff
    text answers the patient's texts since the staff text before it, at or before its own
    instant (rules/responsetime.py, with the start kept)."""
    waits = []
    since: datetime | None = None
    for at in sorted(staff_texts):
        asked = [t for t in texts_in if t <= at and (since is None or t > since)]
        since = at
        if asked:
            waits.append((min(asked), at))
    return waits


def count_staff_replies(
    conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally
) -> None:
    """Waits that started in [lo, hi): the patient's texts since the last staff text before
    `lo` are read too, as a wait that started before `lo` is not this range's."""
    one_to_one = SM.c.broadcast_id.is_(None)
    answered = select(SM.c.patient_id).where(SM.c.created_at >= lo, one_to_one)
    earlier_staff = (
        select(func.max(SM.c.created_at))
        .where(SM.c.patient_id == IN.c.patient_id, SM.c.created_at < lo, one_to_one)
        .scalar_subquery()
    )
    texts_in: dict[int, list[datetime]] = {}
    for patient_id, at in conn.execute(
        select(IN.c.patient_id, IN.c.received_at).where(
            IN.c.patient_id.in_(answered),
            IN.c.received_at < hi,
            IN.c.received_at > func.coalesce(earlier_staff, literal(NEVER, UTCDateTime)),
        )
    ):
        texts_in.setdefault(patient_id, []).append(at)
    if not texts_in:
        return
    staff_texts: dict[int, list[datetime]] = {}
    for patient_id, at in conn.execute(
        select(SM.c.patient_id, SM.c.created_at).where(
            SM.c.patient_id.in_(answered), SM.c.created_at >= lo, one_to_one
        )
    ):
        staff_texts.setdefault(patient_id, []).append(at)
    for patient_id, texts in texts_in.items():
        for start, at in reply_waits(texts, staff_texts.get(patient_id, [])):
            if lo <= start < hi:
                waited = bucket(whole_seconds(at - start))
                found.add(local_date(start, zone), Figure.STAFF_REPLY, waited)

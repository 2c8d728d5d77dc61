"""What needs staff: escalations, the day's outgoing and failed texts, replies that need a
look (and marking one seen), and the message log in both directions, filtered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, case, func, literal_column, or_, select, union_all, update

from outreach import audit
from outreach.localtime import at_local, local_date
from outreach.models import (
    ReminderState,
    escalations,
    inbound_messages,
    outbound_messages,
    patients,
    reminders,
)
from outreach.users import Staff

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


# Twilio's error codes that staff meet most, in words they can act on.
ERROR_MEANINGS = {
    "21211": "invalid phone number",
    "21610": "opted out at the carrier (the patient texted STOP)",
    "21614": "not a mobile number",
    "30003": "phone unreachable (switched off or no signal)",
    "30005": "unknown number: it does not exist any more",
    "30006": "landline, or a carrier that cannot take texts",
    "30007": "filtered by the carrier as possible spam",
    "30008": "unknown error at the carrier",
    "network": "no answer from the provider; it will be checked and retried",
}


def error_meaning(code: str | None) -> str:
    if not code:
        return ""
    return ERROR_MEANINGS.get(code, f"provider error {code}")


# Today: what goes out, what failed, which replies need a look.

REMINDER_KINDS = ("consent", "session", "foot_check", "exercise")
SHOWN_STATES = ("pending", "sent", "skipped", "failed")
# A claimed reminder is being sent this minute; staff read it as still to go.
_SHOWN_STATE = {"claimed": "pending"}
FAILED_WITHIN = timedelta(days=7)
# A reply still unprocessed after this long is stuck, not merely on its way.
STUCK_AFTER = timedelta(minutes=5)
R = reminders
OUT = outbound_messages
IN = inbound_messages


@dataclass(frozen=True)
class Due:
    send_at: datetime
    patient_id: str
    kind: str


@dataclass(frozen=True)
class Outgoing:
    counts: dict[str, dict[str, int]]  # kind -> pending, sent, skipped, failed
    next: list[Due]

    @property
    def total(self) -> int:
        return sum(sum(by_state.values()) for by_state in self.counts.values())


def clinic_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a clinic-local day starts and where the next one starts."""
    return at_local(day, time(0), zone), at_local(day + timedelta(days=1), time(0), zone)


def outgoing_today(engine: Engine, now: datetime, zone: ZoneInfo, upcoming: int = 10) -> Outgoing:
    start, end = clinic_day(local_date(now, zone), zone)
    today = (R.c.send_at >= start, R.c.send_at < end)
    counts = {kind: dict.fromkeys(SHOWN_STATES, 0) for kind in REMINDER_KINDS}
    # Every state, named, so the (state, send_at) index serves the day's range: without a
    # condition on state SQLite scans the whole outbox, a million rows at a large clinic.
    every_state = R.c.state.in_([str(state) for state in ReminderState])
    with engine.begin() as conn:
        for kind, state, n in conn.execute(
            select(R.c.kind, R.c.state, func.count())
            .where(every_state, *today)
            .group_by(R.c.kind, R.c.state)
        ):
            by_state = counts.setdefault(kind, dict.fromkeys(SHOWN_STATES, 0))
            shown = _SHOWN_STATE.get(state, state)
            by_state[shown] = by_state.get(shown, 0) + n
        rows = conn.execute(
            select(R.c.send_at, R.c.kind, patients.c.external_id)
            .join(patients, patients.c.id == R.c.patient_id)
            .where(*today, R.c.state == "pending", R.c.send_at >= now)
            .order_by(R.c.send_at, R.c.id)
            .limit(upcoming)
        ).all()
    return Outgoing(counts, [Due(r.send_at, r.external_id, r.kind) for r in rows])


@dataclass(frozen=True)
class FailedText:
    at: datetime
    patient_id: str | None  # None: not a patient (the on-call phone)
    phone: str
    template: str
    status: str
    error_code: str | None
    error_message: str | None

    @property
    def meaning(self) -> str:
        return error_meaning(self.error_code)


@dataclass(frozen=True)
class FailedReminder:
    send_at: datetime
    patient_id: str
    kind: str
    reason: str | None


def failed_recently(
    engine: Engine, now: datetime, limit: int = 100
) -> tuple[list[FailedText], list[FailedReminder]]:
    """Texts that failed or were not delivered, and reminders that failed, in the last week."""
    since = now - FAILED_WITHIN
    with engine.begin() as conn:
        texts = conn.execute(
            select(OUT, patients.c.external_id)
            .outerjoin(patients, patients.c.id == OUT.c.patient_id)
            .where(OUT.c.status.in_(("failed", "undelivered")), OUT.c.created_at >= since)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
            .limit(limit)
        ).all()
        failed = conn.execute(
            select(R.c.send_at, R.c.kind, R.c.skip_reason, patients.c.external_id)
            .join(patients, patients.c.id == R.c.patient_id)
            .where(R.c.state == "failed", R.c.updated_at >= since)
            .order_by(R.c.send_at.desc(), R.c.id.desc())
            .limit(limit)
        ).all()
    return (
        [
            FailedText(
                r.created_at, r.external_id, r.to_phone, r.template, r.status, r.error_code,
                r.error_message,
            )
            for r in texts
        ],
        [FailedReminder(r.send_at, r.external_id, r.kind, r.skip_reason) for r in failed],
    )  # fmt: skip


@dataclass(frozen=True)
class ReplyToReview:
    id: int
    received_at: datetime
    patient_id: str | None  # None: the number is not a patient's
    phone: str
    body: str
    intent: str | None  # None: not interpreted yet
    error: str | None  # why interpreting it failed
    needs_review: bool  # False: only listed because it is stuck unprocessed


def replies_to_review(engine: Engine, now: datetime, limit: int = 100) -> list[ReplyToReview]:
    """Replies no rule understood, that failed to process, or that are stuck unprocessed;
    oldest first. Marking one seen takes it off (a stuck one leaves once processed)."""
    stuck = IN.c.processed_at.is_(None) & (IN.c.received_at < now - STUCK_AFTER)
    with engine.begin() as conn:
        rows = conn.execute(
            select(IN, patients.c.external_id)
            .outerjoin(patients, patients.c.id == IN.c.patient_id)
            .where(or_(IN.c.needs_review.is_(True), stuck))
            .order_by(IN.c.received_at, IN.c.id)
            .limit(limit)
        ).all()
    return [
        ReplyToReview(
            r.id, r.received_at, r.external_id, r.from_phone, r.body, r.intent, r.error,
            r.needs_review,
        )
        for r in rows
    ]  # fmt: skip


def mark_seen(engine: Engine, inbound_id: int, staff: Staff, now: datetime) -> bool:
    """Take a reply off the needs-a-look list. False if it was already off it; raises
    LookupError for an unknown id."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(IN)
            .where(IN.c.id == inbound_id, IN.c.needs_review.is_(True))
            .values(needs_review=False)
            .returning(IN.c.patient_id)
        ).first()
        if taken is None:
            if conn.execute(select(IN.c.id).where(IN.c.id == inbound_id)).first() is None:
                raise LookupError(inbound_id)
            return False
        audit.record(
            conn, staff, "reply_reviewed", now, patient_id=taken.patient_id,
            detail={"reply": inbound_id},
        )  # fmt: skip
    return True


# The message log for the admin: filtered and paged.

STATUSES = (
    "pending", "queued", "sending", "sent", "delivered", "undelivered", "failed", "unknown",
    "received",
)  # fmt: skip
DIRECTIONS = ("out", "in")
PAGE_SIZE = 50


@dataclass(frozen=True)
class MessageFilter:
    status: str | None = None
    kind: str | None = None  # a template name: outbound texts only
    direction: str | None = None
    since: date | None = None  # clinic-local dates, both included
    until: date | None = None
    patient: str | None = None  # the clinic's patient id
    page: int = 1

    def query(self, **changes: Any) -> dict[str, str]:
        """As URL query parameters, for links that keep the filter (e.g. the next page)."""
        shown = replace(self, **changes)
        values = {
            "status": shown.status,
            "kind": shown.kind,
            "direction": shown.direction,
            "from": shown.since.isoformat() if shown.since else None,
            "to": shown.until.isoformat() if shown.until else None,
            "patient": shown.patient,
            "page": str(shown.page) if shown.page != 1 else None,
        }
        return {key: value for key, value in values.items() if value}


def parse_filter(
    params: Mapping[str, str], kinds: Sequence[str]
) -> tuple[MessageFilter, dict[str, list[str]]]:
    """The filter from query parameters, and the errors per field for values that are not
    acceptable (an unknown status, a date that does not exist, a range that ends before it
    starts). Blank values mean "any"."""
    errors: dict[str, list[str]] = {}

    def choice(name: str, options: Sequence[str]) -> str | None:
        value = (params.get(name) or "").strip()
        if value and value not in options:
            errors[name] = [f"Choose one of the listed values; {value[:40]!r} is not one."]
            return None
        return value or None

    def day(name: str) -> date | None:
        value = (params.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = [f"Enter a date as YYYY-MM-DD; {value[:40]!r} is not a date."]
            return None

    since, until = day("from"), day("to")
    if since and until and until < since:
        errors["to"] = ["The end date is before the start date."]
    page_text = (params.get("page") or "1").strip()
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 100_000 else 0
    if not page:
        errors["page"] = [f"A page is a whole number from 1; {page_text[:20]!r} is not one."]
    patient = (params.get("patient") or "").strip()[:64] or None
    found = MessageFilter(
        status=choice("status", STATUSES),
        kind=choice("kind", kinds),
        direction=choice("direction", DIRECTIONS),
        since=since,
        until=until,
        patient=patient,
        page=page or 1,
    )
    return found, errors


@dataclass(frozen=True)
class LogRow:
    at: datetime
    direction: str
    patient_id: str | None
    phone: str
    kind: str
    status: str
    error: str | None
    body: str

    @property
    def meaning(self) -> str:
        return error_meaning(self.error) if self.direction == "out" else ""


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    has_older: bool


def message_log(
    engine: Engine, wanted: MessageFilter, zone: ZoneInfo, page_size: int = PAGE_SIZE
) -> LogPage:
    """Texts both ways, newest first, PAGE_SIZE at a time. Kinds and statuses other than
    'received' are outbound only; 'received' is every reply."""
    sent = select(
        literal_column("'out'").label("direction"),
        OUT.c.id,
        OUT.c.created_at.label("at"),
        patients.c.external_id,
        OUT.c.to_phone.label("phone"),
        OUT.c.template.label("kind"),
        OUT.c.status,
        OUT.c.error_code.label("error"),
        OUT.c.body,
    ).outerjoin(patients, patients.c.id == OUT.c.patient_id)
    received = select(
        literal_column("'in'").label("direction"),
        IN.c.id,
        IN.c.received_at.label("at"),
        patients.c.external_id,
        IN.c.from_phone.label("phone"),
        func.coalesce(IN.c.intent, "unprocessed").label("kind"),
        literal_column("'received'").label("status"),
        IN.c.error,
        IN.c.body,
    ).outerjoin(patients, patients.c.id == IN.c.patient_id)
    # Each direction is cut to the rows this page could show before the two are merged, so
    # the newest-first indexes serve it instead of sorting every text ever sent.
    wanted_rows = wanted.page * page_size + 1
    branches = []
    if wanted.direction != "in" and wanted.status != "received":
        if wanted.status:
            sent = sent.where(OUT.c.status == wanted.status)
        if wanted.kind:
            sent = sent.where(OUT.c.template == wanted.kind)
        sent = sent.order_by(OUT.c.created_at.desc(), OUT.c.id.desc()).limit(wanted_rows)
        branches.append(select(_narrow(sent, OUT.c.created_at, wanted, zone).subquery()))
    if wanted.direction != "out" and wanted.status in (None, "received") and not wanted.kind:
        received = received.order_by(IN.c.received_at.desc(), IN.c.id.desc()).limit(wanted_rows)
        branches.append(select(_narrow(received, IN.c.received_at, wanted, zone).subquery()))
    if not branches:
        return LogPage([], False)
    both = union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    query = (
        select(both)
        .order_by(both.c.at.desc(), both.c.id.desc())
        .offset((wanted.page - 1) * page_size)
        .limit(page_size + 1)
    )
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    shown = [
        LogRow(r.at, r.direction, r.external_id, r.phone, r.kind, r.status, r.error, r.body)
        for r in rows[:page_size]
    ]
    return LogPage(shown, len(rows) > page_size)


def _narrow(query: Any, at: Any, wanted: MessageFilter, zone: ZoneInfo) -> Any:
    if wanted.since:
        query = query.where(at >= clinic_day(wanted.since, zone)[0])
    if wanted.until:
        query = query.where(at < clinic_day(wanted.until, zone)[1])
    if wanted.patient:
        query = query.where(patients.c.external_id == wanted.patient)
    return query

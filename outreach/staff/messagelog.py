"""The message log: every text both ways, filtered and paged for the admin's page, and the
newest as plain rows for `outreach messages list`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, func, literal_column, select, union_all

from outreach.db.tables import inbound_messages, outbound_messages, patients
from outreach.rules.datefilter import typed_days
from outreach.rules.localtime import day_bounds
from outreach.rules.vocabulary import Direction, OutboundStatus
from outreach.staff.patientlist import patient_matches
from outreach.transports.twilio_errors import error_meaning

OUT = outbound_messages
IN = inbound_messages

RECEIVED = "received"  # the log's status of every reply: inbound texts have none stored
STATUSES: tuple[str, ...] = (
    OutboundStatus.PENDING, OutboundStatus.QUEUED, OutboundStatus.SENDING, OutboundStatus.SENT,
    OutboundStatus.DELIVERED, OutboundStatus.UNDELIVERED, OutboundStatus.FAILED,
    OutboundStatus.UNKNOWN, OutboundStatus.RESENDING, RECEIVED,
)  # fmt: skip
DIRECTIONS = tuple(Direction)
PAGE_SIZE = 50


@dataclass(frozen=True)
class MessageFilter:
    status: str | None = None
    kind: str | None = None  # a template name: outbound texts only
    direction: str | None = None
    since: date | None = None  # clinic-local dates, both included
    until: date | None = None
    patient: str | None = None  # a name, part of a patient id, or phone digits
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

    since, until, date_errors = typed_days(params.get("from"), params.get("to"), ("from", "to"))
    errors.update(date_errors)
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
        return error_meaning(self.error) if self.direction == Direction.OUT else ""


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    has_older: bool


def message_log(
    engine: Engine, wanted: MessageFilter, zone: ZoneInfo, page_size: int = PAGE_SIZE
) -> LogPage:
    """Texts both ways, newest first, PAGE_SIZE at a time. Kinds and statuses other than
    'received' are outbound only; 'received' is every reply."""
    sent, received = sent_texts(), received_texts()
    # Each direction is cut to the rows this page could show before the two are merged, so
    # the newest-first indexes serve it instead of sorting every text ever sent.
    wanted_rows = wanted.page * page_size + 1
    branches = []
    if wanted.direction != Direction.IN and wanted.status != RECEIVED:
        if wanted.status:
            sent = sent.where(OUT.c.status == wanted.status)
        if wanted.kind:
            sent = sent.where(OUT.c.template == wanted.kind)
        sent = sent.order_by(OUT.c.created_at.desc(), OUT.c.id.desc()).limit(wanted_rows)
        branches.append(select(_narrow(sent, OUT.c.created_at, wanted, zone).subquery()))
    if wanted.direction != Direction.OUT and wanted.status in (None, RECEIVED) and not wanted.kind:
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
    return LogPage([log_row(r) for r in rows[:page_size]], len(rows) > page_size)


def sent_texts() -> Select[Any]:
    return select(
        literal_column(f"'{Direction.OUT}'").label("direction"),
        OUT.c.id,
        OUT.c.created_at.label("at"),
        patients.c.external_id,
        OUT.c.to_phone.label("phone"),
        OUT.c.template.label("kind"),
        OUT.c.status,
        OUT.c.error_code.label("error"),
        OUT.c.body,
    ).outerjoin(patients, patients.c.id == OUT.c.patient_id)


def received_texts() -> Select[Any]:
    return select(
        literal_column(f"'{Direction.IN}'").label("direction"),
        IN.c.id,
        IN.c.received_at.label("at"),
        patients.c.external_id,
        IN.c.from_phone.label("phone"),
        func.coalesce(IN.c.intent, "unprocessed").label("kind"),
        literal_column(f"'{RECEIVED}'").label("status"),
        IN.c.error,
        IN.c.body,
    ).outerjoin(patients, patients.c.id == IN.c.patient_id)


def log_row(r: Any) -> LogRow:
    return LogRow(r.at, r.direction, r.external_id, r.phone, r.kind, r.status, r.error, r.body)


def _narrow(query: Any, at: Any, wanted: MessageFilter, zone: ZoneInfo) -> Any:
    if wanted.since:
        query = query.where(at >= day_bounds(wanted.since, wanted.since, zone)[0])
    if wanted.until:
        query = query.where(at < day_bounds(wanted.until, wanted.until, zone)[1])
    found = patient_matches(wanted.patient or "")
    if found is not None:
        query = query.where(found)
    return query


# What `outreach messages list` shows, as plain rows (and as JSON).


class PatientNotFound(LookupError):
    """No patient has this clinic id or phone."""


def message_rows(
    engine: Engine, limit: int = 50, patient: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The newest texts both ways, newest first; replies show what we understood. `patient`:
    only the patient with the first of these clinic ids or phones that is one (raises
    PatientNotFound if none is); empty: everyone's. Times are ISO-8601 UTC."""
    out = outbound_messages
    inn = inbound_messages
    with engine.begin() as conn:
        patient_id = None
        for key in patient:
            patient_id = conn.execute(
                select(patients.c.id).where(
                    (patients.c.external_id == key) | (patients.c.phone == key)
                )
            ).scalar()
            if patient_id is not None:
                break
        if patient and patient_id is None:
            raise PatientNotFound(patient[0])
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
                "direction": Direction.OUT,
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
                "direction": Direction.IN,
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

"""The admin's message log: every text both ways, filtered and paged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, literal_column, select, union_all

from outreach.inbox import clinic_day, error_meaning
from outreach.models import inbound_messages, outbound_messages, patients

OUT = outbound_messages
IN = inbound_messages

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

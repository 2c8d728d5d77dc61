"""The admin's message log: every text both ways, filtered and paged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, func, literal_column, select, union_all

from outreach.db.tables import inbound_messages, outbound_messages, patients
from outreach.rules.datefilter import typed_days
from outreach.rules.localtime import day_bounds
from outreach.transports.twilio_errors import error_meaning

OUT = outbound_messages
IN = inbound_messages

STATUSES = (
    "pending", "queued", "sending", "sent", "delivered", "undelivered", "failed", "unknown",
    "resending", "received",
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
    sent, received = _sent(), _received()
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
    return LogPage([_log_row(r) for r in rows[:page_size]], len(rows) > page_size)


def _sent() -> Select[Any]:
    return select(
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


def _received() -> Select[Any]:
    return select(
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


def _log_row(r: Any) -> LogRow:
    return LogRow(r.at, r.direction, r.external_id, r.phone, r.kind, r.status, r.error, r.body)


def _narrow(query: Any, at: Any, wanted: MessageFilter, zone: ZoneInfo) -> Any:
    if wanted.since:
        query = query.where(at >= day_bounds(wanted.since, wanted.since, zone)[0])
    if wanted.until:
        query = query.where(at < day_bounds(wanted.until, wanted.until, zone)[1])
    if wanted.patient:
        query = query.where(patients.c.external_id == wanted.patient)
    return query


# The exchange around one reply: what an escalation's page shows of the conversation.

CONTEXT = 4  # texts both ways shown before the reply
ANSWER_WINDOW = timedelta(minutes=5)  # what we text a patient this soon after a reply answers it


class Part(StrEnum):
    """What a text is to the reply at the centre of an exchange."""

    BEFORE = "before"  # earlier, for context
    QUESTION = "question"  # the question the reply answered
    REPLY = "reply"  # the reply itself
    ANSWER = "answer"  # what we texted back


@dataclass(frozen=True)
class ExchangeText:
    part: Part
    text: LogRow


def exchange(
    engine: Engine, inbound_id: int, context: int = CONTEXT, window: timedelta = ANSWER_WINDOW
) -> list[ExchangeText]:
    """The reply `inbound_id` in its conversation, oldest first: the `context` texts with
    its patient before it, the question it answered (however long before), the reply, then
    what we texted the patient within `window` after it and before their next reply. What
    the patient sent since is left out, however much. Empty if there is no such reply."""
    with engine.begin() as conn:
        reply = conn.execute(
            _received().add_columns(IN.c.patient_id, IN.c.prompt_id).where(IN.c.id == inbound_id)
        ).first()
        if reply is None:
            return []
        if reply.patient_id is None:  # a number no patient has: nothing around it is theirs
            return [ExchangeText(Part.REPLY, _log_row(reply))]
        at = reply.at
        theirs_in = IN.c.patient_id == reply.patient_id
        theirs_out = OUT.c.patient_id == reply.patient_id
        # Inbound and outbound ids are separate sequences, so time orders the two; a text of
        # ours stamped with the reply's own instant is taken as an answer to it.
        earlier = [
            *conn.execute(
                _received()
                .where(
                    theirs_in,
                    (IN.c.received_at < at) | ((IN.c.received_at == at) & (IN.c.id < inbound_id)),
                )
                .order_by(IN.c.received_at.desc(), IN.c.id.desc())
                .limit(context)
            ),
            *conn.execute(
                _sent()
                .where(theirs_out, OUT.c.created_at < at)
                .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
                .limit(context)
            ),
        ]
        latest = sorted(earlier, key=_order)[max(0, len(earlier) - context) :]
        before = {(r.direction, r.id): r for r in latest}
        parts = dict.fromkeys(before, Part.BEFORE)
        question = None
        if reply.prompt_id is not None:
            question = conn.execute(_sent().where(OUT.c.id == reply.prompt_id)).first()
        if question is not None:
            before[("out", question.id)] = question
            parts[("out", question.id)] = Part.QUESTION
        answered = [theirs_out, OUT.c.created_at >= at, OUT.c.created_at <= at + window]
        next_reply = conn.execute(
            select(func.min(IN.c.received_at)).where(theirs_in, IN.c.received_at > at)
        ).scalar()
        if next_reply is not None:
            answered.append(OUT.c.created_at < next_reply)
        answers = conn.execute(_sent().where(*answered).order_by(OUT.c.created_at, OUT.c.id)).all()
    return [
        *(
            ExchangeText(parts[(r.direction, r.id)], _log_row(r))
            for r in sorted(before.values(), key=_order)
        ),
        ExchangeText(Part.REPLY, _log_row(reply)),
        *(ExchangeText(Part.ANSWER, _log_row(r)) for r in answers),
    ]


def _order(r: Any) -> tuple[datetime, int, int]:
    """Time first; at one instant a reply comes before what we sent in answer to it."""
    return (r.at, 0 if r.direction == "in" else 1, r.id)

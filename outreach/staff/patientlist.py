"""The patient list: patients found by id, name (any case, any accents) or phone digits, and
by status, sorted by name, id, next session or last reply, a page at a time.

`patient_matches` is also the message log's patient filter, so both find the same people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from outreach.db.tables import appointment_table, inbound_messages, patients
from outreach.patients.plans import status_of
from outreach.rules.namekey import folded
from outreach.rules.vocabulary import AppointmentStatus, ConsentState

P = patients
A = appointment_table
IN = inbound_messages
PAGE_SIZE = 100
LIVE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)

STATUS_FILTERS = {
    "active": and_(
        P.c.consent_state == ConsentState.GRANTED, P.c.opted_out.is_(False), P.c.paused.is_(False)
    ),
    "awaiting consent": and_(
        P.c.consent_state != ConsentState.GRANTED, P.c.opted_out.is_(False), P.c.paused.is_(False)
    ),
    "paused": and_(P.c.paused.is_(True), P.c.opted_out.is_(False)),
    "opted out": P.c.opted_out.is_(True),
}
# Each sort and the way it first goes: the latest reply is the one staff look for.
SORTS = {"name": False, "id": False, "next_session": False, "last_reply": True}


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    status: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        """As URL query parameters, for the links that keep the rest (pages, sort headers)."""
        shown = replace(self, **changes)
        values = {
            "q": shown.q,
            "status": shown.status,
            "sort": shown.sort if shown.sort != "name" else "",
            "dir": ("desc" if shown.descending else "asc")
            if shown.descending != SORTS[shown.sort]
            else "",
            "page": str(shown.page) if shown.page != 1 else "",
        }
        return {key: value for key, value in values.items() if value}

    def sorted_by(self, sort: str) -> dict[str, str]:
        """The parameters of a column header's link: this sort, or the other way if it is on."""
        descending = not self.descending if sort == self.sort else SORTS[sort]
        return self.params(sort=sort, descending=descending, page=1)


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """A list query from the URL; an unknown sort, status or page falls back to the default
    (a list has nothing to refuse)."""
    sort = params.get("sort", "")
    sort = sort if sort in SORTS else "name"
    direction = params.get("dir", "")
    descending = direction == "desc" if direction in ("asc", "desc") else SORTS[sort]
    page_text = params.get("page", "")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 1_000_000 else 1
    status = params.get("status", "")
    return ListQuery(
        q=params.get("q", "")[:200],
        status=status if status in STATUS_FILTERS else "",
        sort=sort,
        descending=descending,
        page=page,
    )


@dataclass(frozen=True)
class PatientPage:
    rows: list[dict[str, Any]]
    total: int
    query: ListQuery
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first(self) -> int:
        """The position of the first row shown, from 1 (0 when none is)."""
        return (self.query.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def patient_matches(q: str) -> ColumnElement[bool] | None:
    """Patients whose id contains `q`, whose name holds each of its words (any case, any
    accents, any order: "ramirez luis"), or whose phone holds its digits (3 or more).
    None for a blank `q`."""
    q = q.replace("\x00", "").strip()  # PostgreSQL refuses a NUL even in a pattern
    if not q:
        return None
    found: list[ColumnElement[bool]] = [P.c.external_id.ilike(_contains(q), escape="\\")]
    words = folded(q).split()
    if words:
        found.append(and_(*(P.c.name_key.like(_contains(w), escape="\\") for w in words)))
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3:  # "617" finds a phone; a single digit would find everyone
        found.append(P.c.phone.contains(digits))
    return or_(*found)


def _contains(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def patient_list(
    engine: Engine, wanted: ListQuery, now: datetime, page_size: int = PAGE_SIZE
) -> PatientPage:
    """One page of the patients `wanted` finds, in its order, with the total found, when
    each last replied and their next session."""
    # Per listed patient, off the (patient, received_at) index and the (patient, starts_at)
    # unique constraint: grouping every reply ever received cost a scan of the inbox.
    last_reply = (
        select(func.max(IN.c.received_at))
        .where(IN.c.patient_id == P.c.id)
        .correlate(P)
        .scalar_subquery()
    )
    next_session = (
        select(func.min(A.c.starts_at))
        .where(A.c.patient_id == P.c.id, A.c.starts_at > now, A.c.status.in_(LIVE))
        .correlate(P)
        .scalar_subquery()
    )
    conditions = [
        condition
        for condition in (patient_matches(wanted.q), STATUS_FILTERS.get(wanted.status))
        if condition is not None
    ]
    key = {
        "name": P.c.name_key,
        "id": P.c.external_id,
        "next_session": next_session,
        "last_reply": last_reply,
    }[wanted.sort]
    order = key.desc() if wanted.descending else key.asc()
    # Patients with no next session or no reply come last either way (NULLS LAST, portably).
    query = (
        select(P, last_reply.label("last_reply"), next_session.label("next_session"))
        .where(*conditions)
        .order_by(key.is_(None), order, P.c.external_id)
        .offset((wanted.page - 1) * page_size)
        .limit(page_size)
    )
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(P).where(*conditions)).scalar_one()
        rows = conn.execute(query).all()
    listed = [
        {
            "patient_id": row.external_id,
            "name": f"{row.first_name} {row.last_name}".strip(),
            "language": row.language,
            "status": status_of(row),
            "consent": row.consent_state,
            "opted_out": row.opted_out,
            "paused": row.paused,
            "last_reply": row.last_reply,
            "next_session": row.next_session,
        }
        for row in rows
    ]
    return PatientPage(listed, total, wanted, page_size)

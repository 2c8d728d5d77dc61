"""Staff acting on escalations: acknowledge ("I have it") and resolve (with a note).

Each action is one conditional UPDATE, so when two people press the button at once exactly
one of them wins and the other is told who got there first. The audit entry is written in
the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, case, literal, select, update

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db.tables import UTCDateTime, escalations, inbound_messages, patients, staff_users
from outreach.rules.plaintext import has_control_characters
from outreach.rules.reasonwords import reason_words
from outreach.rules.vocabulary import PAGED, EscalationState, Severity

E = escalations
NOTE_MAX = 2000


class NotFound(LookupError):
    """There is no escalation with this id."""


class NoteError(ValueError):
    """A resolution note is missing or too long; the message says which."""


@dataclass(frozen=True)
class Acted:
    """What became of a press of the button: `done` if this user's action took effect,
    otherwise `by` and `at` say who had already done it, and when."""

    done: bool
    by: str
    at: datetime | None


def check_note(note: str) -> str:
    text = note.strip()
    if not text:
        raise NoteError("Write what was done before resolving (a call made, advice given).")
    if len(text) > NOTE_MAX:
        raise NoteError(f"A note may have at most {NOTE_MAX} characters; this one has {len(text)}.")
    if has_control_characters(text, allowed="\n\r\t"):
        raise NoteError("A note may not contain control characters (paste it as plain text).")
    return text


def acknowledge(engine: Engine, escalation_id: int, staff: Staff, now: datetime) -> Acted:
    """Mark it as taken by `staff`, unless someone already acknowledged or resolved it."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(E)
            .where(
                E.c.id == escalation_id,
                E.c.acknowledged_at.is_(None),
                E.c.resolved_at.is_(None),
            )
            .values(acknowledged_at=now, acknowledged_by=staff.id)
            .returning(E.c.patient_id)
        ).first()
        if taken is None:
            return _first_to(conn, escalation_id, EscalationState.ACKNOWLEDGED)
        audit.record(
            conn,
            staff,
            Action.ESCALATION_ACKNOWLEDGED,
            now,
            patient_id=taken.patient_id,
            detail={"escalation": escalation_id},
        )
    return Acted(True, staff.display_name, now)


def resolve(engine: Engine, escalation_id: int, staff: Staff, note: str, now: datetime) -> Acted:
    """Close it with a note. Resolving one nobody acknowledged acknowledges it too, so its
    time to first action is defined. Raises NoteError for a blank or overlong note."""
    text = check_note(note)
    stamp = literal(now, UTCDateTime())
    with engine.begin() as conn:
        taken = conn.execute(
            update(E)
            .where(E.c.id == escalation_id, E.c.resolved_at.is_(None))
            .values(
                resolved_at=now,
                resolved_by=staff.id,
                note=text,
                acknowledged_at=case(
                    (E.c.acknowledged_at.is_(None), stamp), else_=E.c.acknowledged_at
                ),
                acknowledged_by=case(
                    (E.c.acknowledged_by.is_(None), staff.id), else_=E.c.acknowledged_by
                ),
            )
            .returning(E.c.patient_id)
        ).first()
        if taken is None:
            return _first_to(conn, escalation_id, EscalationState.RESOLVED)
        audit.record(
            conn,
            staff,
            Action.ESCALATION_RESOLVED,
            now,
            patient_id=taken.patient_id,
            detail={"escalation": escalation_id, "note": text},
        )
    return Acted(True, staff.display_name, now)


def _first_to(conn: Connection, escalation_id: int, action: EscalationState) -> Acted:
    """Who beat us to it. An escalation resolved before anyone acknowledged it counts as
    acknowledged by whoever resolved it."""
    by_column = E.c.resolved_by if action == EscalationState.RESOLVED else E.c.acknowledged_by
    at_column = E.c.resolved_at if action == EscalationState.RESOLVED else E.c.acknowledged_at
    row = conn.execute(
        select(at_column.label("at"), staff_users.c.display_name)
        .select_from(E)
        .outerjoin(staff_users, staff_users.c.id == by_column)
        .where(E.c.id == escalation_id)
    ).first()
    if row is None:
        raise NotFound(escalation_id)
    return Acted(False, row.display_name or "someone", row.at)


# What staff read: the list (filtered) and one escalation.

# The list's filters beyond the states themselves.
ALL = "all"
UNRESOLVED = "unresolved"  # open or acknowledged
STATES: tuple[str, ...] = (*EscalationState, ALL)
SEVERITIES = tuple(s.value for s in Severity)
SEVERITY_ORDER = case({s.value: s.rank for s in Severity}, value=E.c.severity, else_=len(Severity))
_ACKER = staff_users.alias("acker")
_RESOLVER = staff_users.alias("resolver")


@dataclass(frozen=True)
class EscalationView:
    id: int
    severity: str
    reason: str
    detail: str
    patient_id: str  # the clinic's id, as on the patient's page address
    patient: str
    phone: str  # the patient's, E.164: staff call it from the escalation
    inbound_id: int | None  # the reply that raised it
    reply: str | None  # its text
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    notified_at: datetime | None  # the on-call phone was texted
    note: str | None

    @property
    def reason_words(self) -> str:
        return reason_words(self.reason, self.detail)

    @property
    def pages(self) -> bool:
        """Whether the on-call phone is texted about it (emergency and urgent)."""
        return self.severity in PAGED

    @property
    def state(self) -> EscalationState:
        return state_of(self.acknowledged_at, self.resolved_at)

    @property
    def first_action_at(self) -> datetime | None:
        done = [at for at in (self.acknowledged_at, self.resolved_at) if at is not None]
        return min(done) if done else None

    @property
    def first_action_by(self) -> str | None:
        return self.acknowledged_by or self.resolved_by


def _query() -> Select[Any]:
    return (
        select(
            E,
            patients.c.external_id,
            patients.c.first_name,
            patients.c.last_name,
            patients.c.phone,
            inbound_messages.c.body.label("reply"),
            _ACKER.c.display_name.label("acker"),
            _RESOLVER.c.display_name.label("resolver"),
        )
        .join(patients, patients.c.id == E.c.patient_id)
        .outerjoin(inbound_messages, inbound_messages.c.id == E.c.inbound_id)
        .outerjoin(_ACKER, _ACKER.c.id == E.c.acknowledged_by)
        .outerjoin(_RESOLVER, _RESOLVER.c.id == E.c.resolved_by)
    )


def _view(row: Any) -> EscalationView:
    return EscalationView(
        id=row.id,
        severity=row.severity,
        reason=row.reason,
        detail=row.detail or "",
        patient_id=row.external_id,
        patient=f"{row.first_name} {row.last_name}".strip(),
        phone=row.phone,
        inbound_id=row.inbound_id,
        reply=row.reply,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acker,
        resolved_at=row.resolved_at,
        resolved_by=row.resolver,
        notified_at=row.notified_at,
        note=row.note,
    )


def state_of(acknowledged_at: datetime | None, resolved_at: datetime | None) -> EscalationState:
    if resolved_at:
        return EscalationState.RESOLVED
    return EscalationState.ACKNOWLEDGED if acknowledged_at else EscalationState.OPEN


def listing(
    engine: Engine, state: str = EscalationState.OPEN, severity: str | None = None, limit: int = 200
) -> list[EscalationView]:
    """`state` is open, acknowledged, resolved, all, or unresolved (open or acknowledged).
    Unresolved ones come most pressing first (Severity.rank), oldest first; resolved ones
    newest first."""
    query = _query().limit(limit)
    if state in (EscalationState.OPEN, EscalationState.ACKNOWLEDGED, UNRESOLVED):
        query = query.where(E.c.resolved_at.is_(None))
    if state == EscalationState.OPEN:
        query = query.where(E.c.acknowledged_at.is_(None))
    elif state == EscalationState.ACKNOWLEDGED:
        query = query.where(E.c.acknowledged_at.is_not(None))
    elif state == EscalationState.RESOLVED:
        query = query.where(E.c.resolved_at.is_not(None))
    if severity is not None:
        query = query.where(E.c.severity == severity)
    if state == EscalationState.RESOLVED:
        query = query.order_by(E.c.resolved_at.desc(), E.c.id.desc())
    else:
        query = query.order_by(E.c.resolved_at.is_not(None), SEVERITY_ORDER, E.c.created_at, E.c.id)
    with engine.begin() as conn:
        return [_view(row) for row in conn.execute(query)]


def find(engine: Engine, escalation_id: int) -> EscalationView:
    with engine.begin() as conn:
        row = conn.execute(_query().where(E.c.id == escalation_id)).first()
    if row is None:
        raise NotFound(escalation_id)
    return _view(row)


# What `outreach escalations list` shows, as plain rows (and as JSON).


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
            # A resolved one was open until it was resolved, not until now.
            "minutes_open": int(((row.resolved_at or now) - row.created_at).total_seconds() // 60),
            "state": state_of(row.acknowledged_at, row.resolved_at),
            "on_call_texted_at": row.notified_at.isoformat() if row.notified_at else None,
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        }
        for row in rows
    ]

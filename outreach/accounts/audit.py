"""The audit log: every change staff make to patients, plans and escalations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select

from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db.tables import audit_events, patients, staff_users
from outreach.rules.datefilter import typed_days
from outreach.rules.localtime import day_bounds
from outreach.rules.plaintext import has_control_characters


def record(
    conn: Connection,
    who: Staff,
    action: str,
    now: datetime,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry in the caller's transaction, so the change and its record go
    together or not at all."""
    conn.execute(
        insert(audit_events).values(
            at=now,
            user_id=who.id,
            username=who.username,
            action=action,
            patient_id=patient_id,
            detail=json.dumps(detail or {}, default=str, ensure_ascii=False, sort_keys=True),
        )
    )


def record_system(
    conn: Connection,
    actor: str,
    action: str,
    now: datetime,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry for a change no staff member made: `actor` names the system that made
    it ("hl7", "fhir"), kept as the username, with no user behind it."""
    conn.execute(
        insert(audit_events),
        {
            "at": now,
            "user_id": None,
            "username": actor,
            "action": action,
            "patient_id": patient_id,
            "detail": json.dumps(detail or {}, default=str, ensure_ascii=False, sort_keys=True),
        },
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """field: [old, new] for every field whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def entries(
    engine: Engine,
    *,
    patient_id: int | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages back."""
    A = audit_events
    query = (
        select(A, patients.c.external_id)
        .outerjoin(patients, patients.c.id == A.c.patient_id)
        .order_by(A.c.id.desc())
        .limit(limit)
    )
    if patient_id is not None:
        query = query.where(A.c.patient_id == patient_id)
    if before_id is not None:
        query = query.where(A.c.id < before_id)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "at": r.at,
            "username": r.username,
            "action": r.action,
            "patient_id": r.external_id,
            "detail": json.loads(r.detail),
        }
        for r in rows
    ]


# Reading the log: the admin's audit page.

PAGE = 100
# What each action means to a person reading the log; an action not listed here reads as
# its own words ("plan_updated" -> "Plan updated").
ACTIONS: dict[str, str] = {
    Action.PATIENT_CREATED: "Added the patient",
    Action.PATIENT_UPDATED: "Edited the patient or their plan",
    Action.PATIENT_PAUSED: "Paused the patient's texts",
    Action.PATIENT_RESUMED: "Resumed the patient's texts",
    Action.PATIENT_OPTED_OUT: "Recorded that the patient asked to stop texts",
    Action.PATIENTS_IMPORTED: "Imported a patient file",
    Action.SESSION_ADDED: "Added a session",
    Action.SESSION_CANCELLED: "Cancelled a session",
    Action.SESSION_MARKED: "Marked a session (attended, no-show or cancelled)",
    Action.SESSION_MOVED: "Moved a session to a new time",
    Action.WAITLIST_ADDED: "Put the patient on the waitlist",
    Action.WAITLIST_CHANGED: "Changed the patient's waitlist days or hours",
    Action.WAITLIST_REMOVED: "Took the patient off the waitlist",
    Action.ESCALATION_ACKNOWLEDGED: "Acknowledged an escalation",
    Action.ESCALATION_RESOLVED: "Resolved an escalation",
    Action.REPLY_REVIEWED: "Marked a reply as looked at",
    Action.SIGN_IN_FAILED: "Sign-in failed",
}
TEXT_MAX = 64  # usernames and patient ids are at most 64 characters


def describe(action: str) -> str:
    return ACTIONS.get(action) or action.replace("_", " ").capitalize()


def detail_lines(action: str, detail: Any) -> list[str]:
    """A detail as lines a person reads: 'phone: +1617… → +1617…' for a change, 'note: …'
    for a plain value. A new record's fields read as 'field: value' (there was no old)."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "", []) else [_shown(detail)]
    created = action.endswith("_created")
    lines = []
    for key, value in detail.items():
        label = key.replace("_", " ")
        if isinstance(value, dict):
            # {"changes": {...}} reads as the changes themselves.
            inner = detail_lines(action, value)
            lines += inner if key == "changes" else [f"{label}: {line}" for line in inner]
        elif isinstance(value, list) and len(value) == 2:
            old, new = value
            change = _shown(new) if created and old is None else f"{_shown(old)} → {_shown(new)}"
            lines.append(f"{label}: {change}")
        else:
            lines.append(f"{label}: {_shown(value)}")
    return lines


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Filter:
    """What the audit page shows: every field empty shows everything but failed sign-ins."""

    patient: str = ""  # a patient's external id
    user: str = ""  # a username
    action: str = ""
    start: date | None = None  # clinic-local days, both included
    end: date | None = None
    sign_ins: bool = False  # include failed sign-ins

    def query(self) -> dict[str, str]:
        """As the page's query string, empty fields left out (for the 'older' link)."""
        values = {
            "patient": self.patient,
            "user": self.user,
            "action": self.action,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "sign_ins": "1" if self.sign_ins else "",
        }
        return {k: v for k, v in values.items() if v}


def parse_filter(form: Mapping[str, str]) -> Filter | dict[str, list[str]]:
    """The filter typed on the audit page, or field errors."""
    errors: dict[str, list[str]] = {}
    texts = {name: (form.get(name) or "").strip() for name in ("patient", "user", "action")}
    for name, text in texts.items():
        if len(text) > TEXT_MAX:
            errors[name] = [f"At most {TEXT_MAX} characters."]
        elif has_control_characters(text):
            errors[name] = ["Letters, digits and punctuation only (no control characters)."]
    start, end, date_errors = typed_days(form.get("start"), form.get("end"))
    errors.update(date_errors)
    if errors:
        return errors
    return Filter(
        patient=texts["patient"],
        user=texts["user"].lower(),
        action=texts["action"],
        start=start,
        end=end,
        sign_ins=bool(form.get("sign_ins")),
    )


@dataclass(frozen=True)
class Page:
    entries: list[dict[str, Any]]
    older: int | None  # the before_id of the next page back, if there is one


def search(
    engine: Engine,
    wanted: Filter,
    zone: ZoneInfo,
    *,
    before_id: int | None = None,
    limit: int = PAGE,
) -> Page:
    """Entries matching `wanted`, newest first, `limit` at a time; `before_id` pages back."""
    A, P, S = audit_events, patients, staff_users
    query = (
        select(A, P.c.external_id, S.c.display_name)
        .outerjoin(P, P.c.id == A.c.patient_id)
        .outerjoin(S, S.c.id == A.c.user_id)
        .order_by(A.c.id.desc())
        .limit(limit + 1)
    )
    if wanted.patient:
        query = query.where(P.c.external_id == wanted.patient)
    if wanted.user:
        query = query.where(A.c.username == wanted.user)
    if wanted.action:
        query = query.where(A.c.action == wanted.action)
    elif not wanted.sign_ins:
        query = query.where(A.c.action != Action.SIGN_IN_FAILED)
    if wanted.start:
        query = query.where(A.c.at >= day_bounds(wanted.start, wanted.start, zone)[0])
    if wanted.end:
        query = query.where(A.c.at < day_bounds(wanted.end, wanted.end, zone)[1])
    if before_id is not None:
        query = query.where(A.c.id < before_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    entries = [
        {
            "id": r.id,
            "at": r.at,
            "username": r.username,
            "name": r.display_name,
            "action": r.action,
            "what": describe(r.action),
            "patient_id": r.external_id,
            "lines": detail_lines(r.action, json.loads(r.detail)),
        }
        for r in rows[:limit]
    ]
    return Page(entries, entries[-1]["id"] if len(rows) > limit else None)


def known_actions(engine: Engine) -> list[str]:
    """Every action in the log, for the page's filter."""
    with engine.connect() as conn:
        found = set(conn.execute(select(audit_events.c.action).distinct()).scalars())
    return sorted(found | set(ACTIONS))


def usernames(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(staff_users.c.username).order_by(staff_users.c.username)).scalars()
        )

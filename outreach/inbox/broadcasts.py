"""A message to many ("the clinic is closed tomorrow: snow"): to every patient with a session
on a chosen day, or to every active patient. The only writer of the broadcast table.

An admin previews it first (how many patients, in which language, each language's text and
its length); the preview carries a one-time token, and sending with that token sends once
however often the form is sent. Each patient's text is a staff text (texting.py): the same
refusals, the same outbox, the same quiet hours. The message is audited once, as a whole.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db import dialect
from outreach.db.tables import appointment_table, broadcasts, patients
from outreach.inbox.texting import Refused, text_patient
from outreach.rules import stafftexts
from outreach.rules.privacy import diagnosis_words
from outreach.rules.vocabulary import AppointmentStatus, ConsentState
from outreach.texts.render import clean
from outreach.texts.smslength import SmsMeasure, measure

A = appointment_table
P = patients
LIVE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)
ACTIVE = "active"


class BroadcastError(ValueError):
    """The message cannot be previewed or sent; `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {why}" for key, why in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Audience:
    """Every active patient (`on` None), or every patient with a session on a day (their
    own local date)."""

    on: date | None = None

    @property
    def key(self) -> str:
        return ACTIVE if self.on is None else f"sessions:{self.on.isoformat()}"

    def words(self) -> str:
        if self.on is None:
            return "every active patient (agreed to texts, not opted out)"
        return f"every patient with a session on {self.on:%A %d %B %Y}"


@dataclass(frozen=True)
class Preview:
    audience: Audience
    token: str
    by_language: dict[str, int]  # recipients per language
    texts: dict[str, str]  # the text each language's patients get, cleaned
    measures: dict[str, SmsMeasure]
    opted_out: int  # patients of the audience who will not get it

    @property
    def recipients(self) -> int:
        return sum(self.by_language.values())


@dataclass(frozen=True)
class Sent:
    broadcast_id: int
    recipients: int
    refused: dict[str, int] = field(default_factory=dict)  # reason -> patients
    again: bool = False  # this token was sent before: nothing new went out


def parse_audience(kind: str, on: str) -> Audience:
    """The form's audience: "active", or "sessions" with a date (YYYY-MM-DD)."""
    if kind == ACTIVE:
        return Audience()
    if kind != "sessions":
        raise BroadcastError({"audience": "choose every active patient or a day's sessions"})
    try:
        return Audience(date.fromisoformat(on.strip()))
    except ValueError:
        raise BroadcastError({"on": f"give the day as YYYY-MM-DD, got {on!r}"}) from None


def preview(conn: Connection, audience: Audience, texts: dict[str, str], now: datetime) -> Preview:
    """Who would get it and what they would read; BroadcastError if a text is missing or
    wrong for a language some recipient reads."""
    members = _members(conn, audience, now)
    reachable = [m for m in members if not m.opted_out]
    by_language = Counter(m.language for m in reachable)
    cleaned = {language: clean(texts.get(language, "")) for language in sorted(by_language)}
    errors = {}
    for language, text in cleaned.items():
        problem = stafftexts.body_problem(text)
        words = diagnosis_words(text)
        if problem is None and words:
            problem = f"it names a diagnosis ({', '.join(words)}); texts are not private"
        if problem is not None:
            errors[f"text_{language}"] = f"{problem} ({by_language[language]} patients read it)"
    if errors:
        raise BroadcastError(errors)
    return Preview(
        audience=audience,
        token=secrets.token_urlsafe(24),
        by_language=dict(sorted(by_language.items())),
        texts=cleaned,
        measures={language: measure(text) for language, text in cleaned.items()},
        opted_out=len(members) - len(reachable),
    )


def send(
    conn: Connection,
    settings: Settings,
    staff: Staff,
    token: str,
    audience: Audience,
    texts: dict[str, str],
    now: datetime,
) -> Sent:
    """Queue one staff text per patient of the audience, once per token (a second send of
    the same preview changes nothing). Checked again here, since time passed since the
    preview: a patient who opted out meanwhile is not texted."""
    checked = preview(conn, audience, texts, now)
    inserted = conn.execute(
        dialect.insert(conn, broadcasts)
        .values(
            token=token,
            audience=audience.key,
            texts=json.dumps(checked.texts, ensure_ascii=False, sort_keys=True),
            created_by=staff.id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["token"])
        .returning(broadcasts.c.id)
    ).scalar()
    if inserted is None:
        return _sent_before(conn, token)
    broadcast_id = int(inserted)
    refused: Counter[str] = Counter()
    queued = 0
    for member in _members(conn, audience, now):
        if member.language not in checked.texts:
            continue  # opted out: no text was asked for their language
        try:
            text_patient(
                conn, settings, staff, member.id, checked.texts[member.language], now,
                broadcast_id=broadcast_id,
            )  # fmt: skip
            queued += 1
        except Refused as exc:
            refused[str(exc)] += 1
    conn.execute(
        broadcasts.update().where(broadcasts.c.id == broadcast_id).values(recipients=queued)
    )
    audit.record(
        conn, staff, Action.BROADCAST_SENT, now,
        detail={"broadcast": broadcast_id, "audience": audience.key, "texts": checked.texts,
                "recipients": queued, "refused": dict(refused)},
    )  # fmt: skip
    return Sent(broadcast_id, queued, dict(refused))


@dataclass(frozen=True)
class _Member:
    id: int
    language: str
    opted_out: bool


def _members(conn: Connection, audience: Audience, now: datetime) -> list[_Member]:
    query = select(P.c.id, P.c.language, P.c.opted_out, P.c.timezone).order_by(P.c.id)
    if audience.on is None:
        rows = conn.execute(query.where(P.c.consent_state == ConsentState.GRANTED)).all()
        return [_Member(r.id, r.language, r.opted_out) for r in rows]
    # A day's sessions, in each patient's own date: from a day before to a day after in UTC
    # covers every zone, then each start is read in its patient's zone.
    start = datetime.combine(audience.on, datetime.min.time(), tzinfo=now.tzinfo)
    rows = conn.execute(
        query.add_columns(A.c.starts_at)
        .join(A, A.c.patient_id == P.c.id)
        .where(
            A.c.status.in_(LIVE),
            A.c.starts_at >= start - timedelta(days=1),
            A.c.starts_at < start + timedelta(days=2),
        )
    ).all()
    seen: dict[int, _Member] = {}
    for r in rows:
        if r.starts_at.astimezone(ZoneInfo(r.timezone)).date() == audience.on:
            seen[r.id] = _Member(r.id, r.language, r.opted_out)
    return list(seen.values())


def _sent_before(conn: Connection, token: str) -> Sent:
    row = conn.execute(
        select(broadcasts.c.id, broadcasts.c.recipients).where(broadcasts.c.token == token)
    ).one()
    return Sent(row.id, row.recipients, again=True)

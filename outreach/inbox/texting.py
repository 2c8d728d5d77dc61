"""A text a member of staff writes to one patient. The only writer of staffmessage rows.

The text is checked here (rules/stafftexts.py decides: never after an opt-out, never to a
number that cannot take texts, no diagnosis words), written with its author, put in the
outbox for the time it may go, and audited, all in one transaction. The dispatcher sends it
like every reminder: the shared rate, the claims that stop a double send, the guards checked
again just before the send, the delivery status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db.tables import (
    inbound_messages,
    outbound_messages,
    patients,
    reminders,
    staff_messages,
)
from outreach.outbox.commands import queue_staff_text
from outreach.patients.lookup import patient_id_for
from outreach.rules import stafftexts
from outreach.rules.localtime import patient_quiet_hours
from outreach.rules.privacy import diagnosis_words
from outreach.rules.vocabulary import ConsentState
from outreach.texts.render import clean
from outreach.transports.twilio_errors import NUMBER_CANNOT_TAKE_TEXTS, error_meaning

SM = staff_messages
R = reminders
IN = inbound_messages
OUT = outbound_messages


class Refused(Exception):
    """The text may not go; the message says why, in words for staff."""


@dataclass(frozen=True)
class Queued:
    message_id: int
    reminder_id: int
    send_at: datetime
    waits: bool  # it waits for the end of the patient's quiet hours
    timezone: str = "UTC"  # the patient's, to tell staff when it goes
    repeated: bool = False  # this form was sent before: nothing new was queued


def text_patient(
    conn: Connection,
    settings: Settings,
    staff: Staff,
    patient_id: int,
    body: str,
    now: datetime,
    *,
    token: str | None = None,
    broadcast_id: int | None = None,
) -> Queued:
    """Check, write, queue and audit one staff text; Refused says why it may not go."""
    text = clean(body)
    problem = stafftexts.body_problem(text)
    if problem is not None:
        raise Refused(problem)
    words = diagnosis_words(text)
    if words:
        raise Refused(
            f"the text names a diagnosis ({', '.join(words)}): anyone who sees the phone "
            "can read a text; call the patient instead"
        )
    # Locked, so that an opt-out arriving now is either before this check or after the
    # text is queued (and then skip_pending skips it), and so that the same form sent twice
    # at once finds, second, the text the first one queued.
    patient = conn.execute(
        select(patients).where(patients.c.id == patient_id).with_for_update()
    ).one()
    if token is not None:
        earlier = _by_token(conn, token, patient_id)
        if earlier is not None:
            return earlier
    reason = stafftexts.refusal(recipient(conn, patient))
    if reason is not None:
        raise Refused(reason)
    zone = ZoneInfo(patient.timezone)
    exempt_until = stafftexts.quiet_exempt_until(now, last_text_in(conn, patient_id))
    quiet = patient_quiet_hours(patient.quiet_hours, settings.quiet_hours)
    send_at = stafftexts.send_time(now, zone, quiet, exempt_until)
    try:
        with conn.begin_nested():
            message_id = _write(
                conn, patient_id, staff, text, now, exempt_until, broadcast_id, token
            )
    except IntegrityError:  # a token another patient's form used: not a form we made
        raise Refused("this form was already used; reload the page and write again") from None
    reminder_id = queue_staff_text(conn, patient_id, message_id, send_at, now)
    conn.execute(update(SM).where(SM.c.id == message_id).values(reminder_id=reminder_id))
    if broadcast_id is None:  # a message to many is audited once, as a whole
        audit.record(
            conn, staff, Action.STAFF_TEXT_SENT, now, patient_id=patient_id,
            detail={"text": text, "staff_message": message_id, "send_at": send_at},
        )  # fmt: skip
    return Queued(message_id, reminder_id, send_at, waits=send_at > now, timezone=patient.timezone)


def _write(
    conn: Connection,
    patient_id: int,
    staff: Staff,
    text: str,
    now: datetime,
    exempt_until: datetime | None,
    broadcast_id: int | None,
    token: str | None,
) -> int:
    return int(
        conn.execute(
            SM.insert()
            .values(
                patient_id=patient_id,
                author_id=staff.id,
                body=text,
                created_at=now,
                quiet_exempt_until=exempt_until,
                broadcast_id=broadcast_id,
                token=token,
            )
            .returning(SM.c.id)
        ).scalar_one()
    )


def recipient(conn: Connection, patient: Any) -> stafftexts.Recipient:
    """The facts rules/stafftexts.py decides on, for one patient row."""
    has_written = conn.execute(select(exists().where(IN.c.patient_id == patient.id))).scalar()
    return stafftexts.Recipient(
        opted_out=bool(patient.opted_out),
        consent_granted=patient.consent_state == ConsentState.GRANTED,
        has_written=bool(has_written),
        number_problem=number_problem(conn, patient.id, patient.phone),
    )


def number_problem(conn: Connection, patient_id: int, phone: str) -> str | None:
    """Why this number cannot take texts, or None: it is not a valid number, or the provider
    said so about the latest text we sent it."""
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        return "it is not a valid phone number; correct it on the patient's page"
    latest = conn.execute(
        select(OUT.c.error_code)
        .where(OUT.c.patient_id == patient_id, OUT.c.to_phone == phone)
        .order_by(OUT.c.id.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.error_code in NUMBER_CANNOT_TAKE_TEXTS:
        return f"the last text to it failed: {error_meaning(latest.error_code)}"
    return None


def last_text_in(conn: Connection, patient_id: int) -> datetime | None:
    latest: datetime | None = conn.execute(
        select(func.max(IN.c.received_at)).where(IN.c.patient_id == patient_id)
    ).scalar()
    return latest


def _by_token(conn: Connection, token: str, patient_id: int) -> Queued | None:
    """The text this form already queued, as it was queued; None if it is a new form."""
    row = conn.execute(
        select(
            SM.c.id,
            SM.c.reminder_id,
            SM.c.created_at,
            SM.c.patient_id,
            R.c.send_at,
            patients.c.timezone,
        )
        .join(R, R.c.id == SM.c.reminder_id)
        .join(patients, patients.c.id == SM.c.patient_id)
        .where(SM.c.token == token)
    ).first()
    if row is None:
        return None
    if row.patient_id != patient_id:  # not a form we made for this patient
        raise Refused("this form was already used; reload the page and write again")
    waits = row.send_at > row.created_at
    return Queued(row.id, row.reminder_id, row.send_at, waits, row.timezone, repeated=True)


class NoSuchPatient(LookupError):
    """No patient has this id or phone number."""


def send(
    engine: Engine,
    settings: Settings,
    staff: Staff,
    reference: str,
    body: str,
    now: datetime,
    *,
    token: str | None = None,
) -> Queued:
    """Text the patient named by their id or any spelling of their number, in one
    transaction; NoSuchPatient or Refused say why not."""
    with engine.begin() as conn:
        patient_id = patient_id_for(conn, reference, settings.clinic_phone)
        if patient_id is None:
            raise NoSuchPatient(f"no patient with id or phone {reference!r}")
        return text_patient(conn, settings, staff, patient_id, body, now, token=token)


def why_not(engine: Engine, patient_id: int) -> str | None:
    """Why staff may not text this patient now, in words; None if they may (shown before
    they type, so nobody writes a text that cannot go)."""
    with engine.connect() as conn:
        patient = conn.execute(select(patients).where(patients.c.id == patient_id)).one()
        return stafftexts.refusal(recipient(conn, patient))

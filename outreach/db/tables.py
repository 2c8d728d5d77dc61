"""The tables. Alembic owns the schema (migrations/); these classes describe it.

All datetimes are aware UTC in Python. SQLite has no timezone type, so `UTCDateTime`
stores naive UTC there and attaches UTC on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import DateTime, Index, Table, Text, UniqueConstraint, func
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    ConsentState,
    OfferState,
    ReminderState,
    SlotState,
)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        process = super().bind_processor(dialect)
        # The stored value depends on the instant alone, so equal instants share one
        # conversion: the planner binds over a million of them for a day at 100,000
        # patients. A naive value never equals an aware key, so it still raises.
        return None if process is None else lru_cache(maxsize=4096)(process)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite hands back text when an expression lost the column's type.
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_field(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Patient(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(unique=True, max_length=64)
    first_name: str = Field(max_length=80)
    last_name: str = Field(default="", max_length=80)
    # rules/namekey.name_key(first, last): what the patient list searches and sorts by.
    name_key: str = Field(default="", max_length=170, index=True)
    phone: str = Field(unique=True, max_length=20)
    timezone: str = Field(max_length=64)
    language: str = Field(default="en", max_length=8)
    consent_state: str = Field(default=ConsentState.PENDING, max_length=16)
    opted_out: bool = False
    paused: bool = False
    pain_baseline: int | None = None
    # "20:00-09:00": wider than the clinic's quiet hours for this patient; None: the clinic's.
    quiet_hours: str | None = Field(default=None, max_length=11)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()

    @property
    def active(self) -> bool:
        return self.consent_state == ConsentState.GRANTED and not self.opted_out and not self.paused


class ConsentEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    at: datetime = utc_field()
    event: str = Field(max_length=16)
    source: str = Field(max_length=16)  # sms, import, staff, provider
    detail: str | None = Field(default=None, max_length=200)


class CarePlan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", unique=True)
    version: int = 1
    start_date: date
    end_date: date | None = None
    foot_check_time: time | None = None
    exercise_days: str = Field(default="", max_length=40)  # "mon,wed,fri"
    exercise_time: time | None = None
    exercises: str = Field(default="", sa_type=Text)  # one per line
    # The planner has materialised everything before this instant (a UTC day boundary).
    planned_until: datetime | None = utc_field(default=None, index=True)
    updated_at: datetime = utc_field()


class PlanPhase(SQLModel, table=True):
    """Sessions on `weekdays` at `session_time` for `weeks` weeks; phases run back to back."""

    __table_args__ = (UniqueConstraint("plan_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="careplan.id", index=True)
    seq: int
    weekdays: str = Field(max_length=40)
    session_time: time
    weeks: int


class Appointment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("patient_id", "starts_at"),
        # Today's sessions and the report's sessions of a range.
        Index("ix_appointment_starts_at", "starts_at"),
        # The report's slots filled from the waitlist.
        Index("ix_appointment_filled_slot", "filled_slot"),
        # One row per appointment of the clinic's system (NULLs differ: other sources).
        Index("uq_appointment_feed_ref", "source", "feed_ref", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    starts_at: datetime = utc_field()
    source: str = Field(default=AppointmentSource.PLAN, max_length=16)
    status: str = Field(default=AppointmentStatus.SCHEDULED, max_length=24)
    updated_at: datetime = utc_field()
    # What became of it (Attendance), who marked it and when; None: not marked yet.
    attendance: str | None = Field(default=None, max_length=24)
    marked_at: datetime | None = utc_field(default=None)
    marked_by: int | None = Field(default=None, foreign_key="staffuser.id")
    # When it was cancelled (by either side): a late cancellation is one close to its start.
    cancelled_at: datetime | None = utc_field(default=None)
    # A moved session points at its new time; the new one was made `source` "moved".
    moved_to: int | None = Field(default=None, foreign_key="appointment.id")
    # Made from a waitlist offer: the slot (openslot.id) the patient took.
    filled_slot: int | None = None  # (no foreign key: openslot already points here)
    # From a feed (source hl7 or fhir): the clinic's system's id for it, and the time of the
    # newest change applied (MSH-7, meta.lastUpdated), so an older message never undoes it.
    feed_ref: str | None = Field(default=None, max_length=128)
    feed_at: datetime | None = utc_field(default=None)


class Reminder(SQLModel, table=True):
    """The outbox. One row per (patient, kind, occurrence), ever."""

    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "occurrence"),
        # kind too, so Today counts the day's reminders from the index alone.
        Index("ix_reminder_due", "state", "send_at", "kind"),
        Index("ix_reminder_patient_state", "patient_id", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    kind: str = Field(max_length=16)
    occurrence: str = Field(max_length=40)  # local date, or appointment id and lead
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    send_at: datetime = utc_field()
    # Never send at or after this instant: the session start, or the end of a daily prompt's use.
    expires_at: datetime = utc_field()
    state: str = Field(default=ReminderState.PENDING, max_length=16)
    skip_reason: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    lease_until: datetime | None = utc_field(default=None)
    claimed_by: str | None = Field(default=None, max_length=64)
    plan_version: int = 0
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class OutboundMessage(SQLModel, table=True):
    __table_args__ = (
        Index("ix_outbound_patient_created", "patient_id", "created_at"),
        # The report finds the session reminders about an appointment.
        Index("ix_outbound_prompt_ref", "prompt_ref"),
        # The message log, newest first, whole or by status (failed texts on Today).
        Index("ix_outbound_created", "created_at", "id"),
        Index("ix_outbound_status_created", "status", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True)
    template: str = Field(max_length=40)
    # The question this text asks and until when an answer binds to it.
    prompt: str | None = Field(default=None, max_length=24)
    prompt_ref: int | None = None  # e.g. the appointment a session prompt is about
    reply_until: datetime | None = utc_field(default=None)
    answered_at: datetime | None = utc_field(default=None)
    to_phone: str = Field(max_length=20)
    body: str = Field(sa_type=Text)
    encoding: str = Field(max_length=8)
    segments: int
    counts_toward_cap: bool = True
    provider: str = Field(max_length=16)
    provider_sid: str | None = Field(default=None, unique=True, max_length=64)
    status: str = Field(default="pending", max_length=16)
    error_code: str | None = Field(default=None, max_length=16)
    error_message: str | None = Field(default=None, max_length=300)
    created_at: datetime = utc_field()
    sent_at: datetime | None = utc_field(default=None)
    # When a worker took it to look it up and resend it ("resending"): its lease runs from
    # here, so a text whose worker died meanwhile is taken again once the lease is out.
    claimed_at: datetime | None = utc_field(default=None)


class InboundMessage(SQLModel, table=True):
    """Stored raw before interpretation; a bug in interpreting never loses a reply."""

    __table_args__ = (
        Index("ix_inbound_patient_received", "patient_id", "received_at"),
        # The report and the patient page go from a question to its answers.
        Index("ix_inbound_prompt", "prompt_id"),
        # The message log, newest first; Today's replies that need a look.
        Index("ix_inbound_received", "received_at", "id"),
        Index("ix_inbound_needs_review", "needs_review"),
    )
    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str | None = Field(default=None, unique=True, max_length=64)
    from_phone: str = Field(max_length=32)
    to_phone: str = Field(default="", max_length=32)
    body: str = Field(sa_type=Text)
    raw: str = Field(default="{}", sa_type=Text)
    received_at: datetime = utc_field()
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    prompt_id: int | None = Field(default=None, foreign_key="outboundmessage.id")
    intent: str | None = Field(default=None, max_length=32)
    needs_review: bool = False
    processed_at: datetime | None = utc_field(default=None, index=True)
    error: str | None = Field(default=None, max_length=500)


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    severity: str = Field(max_length=16)
    reason: str = Field(max_length=40)
    detail: str = Field(default="", max_length=300)
    created_at: datetime = utc_field()
    acknowledged_at: datetime | None = utc_field(default=None)
    acknowledged_by: int | None = Field(default=None, foreign_key="staffuser.id")
    resolved_at: datetime | None = utc_field(default=None)
    resolved_by: int | None = Field(default=None, foreign_key="staffuser.id")
    # When the clinic's on-call phone was texted about it (urgent ones only).
    notified_at: datetime | None = utc_field(default=None)
    note: str | None = Field(default=None, sa_type=Text)


class Observation(SQLModel, table=True):
    """What a reply told us: a confirmation, a foot check result, an exercise and its pain."""

    __table_args__ = (
        Index("ix_observation_patient_at", "patient_id", "at"),
        # The report finds what a reply told us (a session confirmed by text).
        Index("ix_observation_inbound", "inbound_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    kind: str = Field(max_length=32)
    value: int | None = None
    at: datetime = utc_field()


class StaffUser(SQLModel, table=True):
    """Someone who signs in to the admin. Never deleted: the audit log names them."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    active: bool = True
    created_at: datetime = utc_field()
    last_login_at: datetime | None = utc_field(default=None)
    # Sessions made before this instant are void: set when the user signs out, so a copy of
    # the cookie is worthless afterwards, on every device.
    sessions_after: datetime | None = utc_field(default=None)


class AuditEvent(SQLModel, table=True):
    """One change staff made, who made it and when; `detail` is JSON (field: [old, new])."""

    __table_args__ = (Index("ix_auditevent_at", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field()
    user_id: int | None = Field(default=None, foreign_key="staffuser.id")
    username: str = Field(max_length=64)  # as it was when the change was made
    action: str = Field(max_length=40)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    detail: str = Field(default="{}", sa_type=Text)


class WorkerProcess(SQLModel, table=True):
    """A process that ticks (`outreach worker` or `outreach run`), as it last reported
    itself: `outreach status` and /metrics list the ones seen recently. Rows of processes
    long gone are pruned by the workers themselves."""

    id: str = Field(primary_key=True, max_length=64)  # host:pid:random, as in `claimed_by`
    hostname: str = Field(max_length=128)
    pid: int
    role: str = Field(max_length=16)  # worker or run
    started_at: datetime = utc_field()
    last_seen_at: datetime = utc_field(index=True)
    stopped_at: datetime | None = utc_field(default=None)
    ticks: int = 0
    last_tick_ms: float | None = None
    sent: int = 0  # texts this process has handed to the provider since it started
    last_error: str | None = Field(default=None, max_length=300)


class SendRate(SQLModel, table=True):
    """The next free send slot for one sender, shared by every worker: all of them together
    keep to `sending.rate_per_second`. Seconds since the epoch on the database's clock
    (PostgreSQL) or the machine's (SQLite, one machine)."""

    sender: str = Field(primary_key=True, max_length=64)
    next_slot: float = 0.0


class Conversation(SQLModel, table=True):
    """A patient's conversation with the clinic as the inbox sees it: open while something
    they wrote waits for a person, closed by staff. One row per patient, ever; reopened when
    they write something that needs a person again. Written by outreach/inbox/threads.py."""

    __table_args__ = (Index("ix_conversation_closed_last_in", "closed_at", "last_in_at"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", unique=True)
    opened_at: datetime = utc_field()
    last_in_at: datetime = utc_field()  # the patient's latest text that needs a person
    closed_at: datetime | None = utc_field(default=None)
    closed_by: int | None = Field(default=None, foreign_key="staffuser.id")
    assigned_to: int | None = Field(default=None, foreign_key="staffuser.id", index=True)
    updated_at: datetime = utc_field()


class Broadcast(SQLModel, table=True):
    """A message to many ("the clinic is closed tomorrow"): one per previewed form, so a
    form sent twice sends once (`token` is unique)."""

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=64)
    audience: str = Field(max_length=40)  # "active", or "sessions:2026-10-27"
    texts: str = Field(sa_type=Text)  # JSON: language -> text
    recipients: int = 0
    created_by: int = Field(foreign_key="staffuser.id")
    created_at: datetime = utc_field()


class StaffMessage(SQLModel, table=True):
    """A text a member of staff wrote to one patient, alone or in a message to many. It goes
    out through the outbox like any reminder (`reminder_id`), under the same rules."""

    __table_args__ = (
        Index("ix_staffmessage_patient_created", "patient_id", "created_at"),
        UniqueConstraint("broadcast_id", "patient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    author_id: int = Field(foreign_key="staffuser.id")
    body: str = Field(sa_type=Text)
    created_at: datetime = utc_field()
    # It answers the patient's text of this instant, and may go in quiet hours until an
    # hour after it; None: it waits for the morning like a reminder.
    quiet_exempt_until: datetime | None = utc_field(default=None)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", unique=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id")
    # The form's one-time token: a Send clicked twice, or a form sent again, texts once.
    token: str | None = Field(default=None, unique=True, max_length=64)


class QuickReply(SQLModel, table=True):
    """A canned text staff start from, per language; a Jinja2 template rendered in the
    sandbox with the patient's first name and the clinic's."""

    __table_args__ = (UniqueConstraint("name", "language"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    language: str = Field(max_length=8)
    body: str = Field(sa_type=Text)
    updated_at: datetime = utc_field()
    updated_by: int | None = Field(default=None, foreign_key="staffuser.id")


class WaitlistEntry(SQLModel, table=True):
    """A patient who could come at short notice, and when: offered the slots of sessions
    others cancel. One row per patient; deleted when staff take them off the list."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", unique=True)
    weekdays: str = Field(max_length=40)  # "mon,tue,thu", in the patient's own zone
    earliest: time  # the patient's local time from which they could start a session...
    latest: time  # ...and until which (a session starting at `latest` fits)
    added_at: datetime = utc_field()
    added_by: int | None = Field(default=None, foreign_key="staffuser.id")
    updated_at: datetime = utc_field()


class OpenSlot(SQLModel, table=True):
    """The time of a session cancelled with enough notice, offered to the waitlist a few
    patients at a time. The first YES takes it: one conditional UPDATE of `state`."""

    __table_args__ = (Index("ix_openslot_state", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(foreign_key="appointment.id", unique=True)  # the cancelled one
    starts_at: datetime = utc_field()
    opened_at: datetime = utc_field()
    state: str = Field(default=SlotState.OPEN, max_length=16)
    taken_by: int | None = Field(default=None, foreign_key="patient.id")
    taken_at: datetime | None = utc_field(default=None)
    closed_at: datetime | None = utc_field(default=None)
    # Why it closed without being taken, in words for staff ("nobody answered in time").
    closed_why: str | None = Field(default=None, max_length=120)


class SlotOffer(SQLModel, table=True):
    """One waitlisted patient's offer of one slot: a text asking YES, sent as a reminder
    of kind slot_offer; its answer binds through the text's prompt (slot_offer, this id)."""

    __table_args__ = (
        UniqueConstraint("slot_id", "patient_id"),
        Index("ix_slotoffer_state_expires", "state", "expires_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="openslot.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    round: int = 1  # offered in the slot's first batch, second...
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")
    state: str = Field(default=OfferState.OFFERED, max_length=16)
    offered_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    answered_at: datetime | None = utc_field(default=None)


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, typed, for bulk statements."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


class FeedMessage(SQLModel, table=True):
    """One message as a feed sent it (HL7 v2 over MLLP), stored before it is interpreted so
    a bug never loses one; `outcome` and `detail` say what became of it, `ack` what the
    sender was answered. A message is a duplicate of the one whose (sender, control_id) it
    shares and that was answered: `dedupe` holds that pair once the message is handled."""

    __table_args__ = (
        UniqueConstraint("feed", "dedupe", name="uq_feedmessage_dedupe"),
        Index("ix_feedmessage_received", "feed", "received_at"),
        # Messages never handled (outcome received), counted on Today and every scrape: few
        # rows, found without reading the millions handled.
        Index("ix_feedmessage_outcome", "feed", "outcome"),
    )
    id: int | None = Field(default=None, primary_key=True)
    feed: str = Field(max_length=16)
    received_at: datetime = utc_field()
    peer: str = Field(default="", max_length=80)  # the connection's address, for staff
    raw: str = Field(sa_type=Text)
    sender: str | None = Field(default=None, max_length=180)  # MSH-4
    control_id: str | None = Field(default=None, max_length=200)  # MSH-10
    message_type: str | None = Field(default=None, max_length=20)  # "SIU^S12"
    dedupe: str | None = Field(default=None, max_length=400)  # sender and control id
    outcome: str = Field(default="received", max_length=16)
    ack: str | None = Field(default=None, max_length=2)  # AA, AE, AR
    detail: str | None = Field(default=None, sa_type=Text)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    handled_at: datetime | None = utc_field(default=None)


class UnmatchedAppointment(SQLModel, table=True):
    """An appointment a feed sent that is no session here. Mostly one for a patient outreach
    does not know (no patient has that clinic id): kept, listed for staff to enrol, never
    texted; enrolling the patient brings it in as a session (`appointment_id`, `matched_at`).
    Also one called off before outreach saw it booked (`matched_at` set, no `appointment_id`):
    kept so that its booking, arriving late, does not bring it back."""

    __table_args__ = (
        UniqueConstraint("source", "feed_ref"),
        Index("ix_unmatched_open", "matched_at", "patient_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    feed_ref: str = Field(max_length=128)
    patient_ref: str = Field(max_length=64)  # the clinic's id of the patient
    patient_name: str = Field(default="", max_length=170)
    phone: str | None = Field(default=None, max_length=40)  # as the feed gave it
    starts_at: datetime | None = utc_field(default=None)
    status: str = Field(max_length=16)  # FeedStatus
    feed_at: datetime | None = utc_field(default=None)
    received_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    matched_at: datetime | None = utc_field(default=None)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")


class FeedHealth(SQLModel, table=True):
    """How each feed is doing, for `outreach status`, /metrics and staff: one row per feed,
    written by whoever receives or syncs. `watermark` is where the next FHIR sync resumes."""

    feed: str = Field(primary_key=True, max_length=16)
    last_received_at: datetime | None = utc_field(default=None)
    last_applied_at: datetime | None = utc_field(default=None)
    last_error_at: datetime | None = utc_field(default=None)
    last_error: str | None = Field(default=None, sa_type=Text)
    received: int = 0  # messages or resources taken in, ever
    errors: int = 0  # messages answered AE or AR, failed syncs, ever
    watermark: str | None = Field(default=None, max_length=40)
    updated_at: datetime | None = utc_field(default=None)


patients = table(Patient)
consent_events = table(ConsentEvent)
care_plans = table(CarePlan)
plan_phases = table(PlanPhase)
appointment_table = table(Appointment)
reminders = table(Reminder)
outbound_messages = table(OutboundMessage)
inbound_messages = table(InboundMessage)
escalations = table(Escalation)
observations = table(Observation)
staff_users = table(StaffUser)
audit_events = table(AuditEvent)
worker_processes = table(WorkerProcess)
send_rates = table(SendRate)
conversations = table(Conversation)
broadcasts = table(Broadcast)
staff_messages = table(StaffMessage)
quick_replies = table(QuickReply)
waitlist_entries = table(WaitlistEntry)
open_slots = table(OpenSlot)
slot_offers = table(SlotOffer)
feed_messages = table(FeedMessage)
unmatched_appointments = table(UnmatchedAppointment)
feed_health = table(FeedHealth)

from outreach.db.reporttables import ReportDay, ReportDirty, ReportMeta  # noqa: E402

# The report's recount of a day finds the texts sent that day by this expression
# (staff/report/queries.sent_at): created_at stands in for a text never sent.
# With the columns it then reads, so a day's texts are counted from the index alone.
Index(
    "ix_outbound_sent_or_created",
    func.coalesce(outbound_messages.c.sent_at, outbound_messages.c.created_at),
    outbound_messages.c.prompt,
    outbound_messages.c.status,
    outbound_messages.c.answered_at,
    outbound_messages.c.sent_at,
    outbound_messages.c.created_at,
)

report_days = table(ReportDay)
report_dirty = table(ReportDirty)
report_meta = table(ReportMeta)

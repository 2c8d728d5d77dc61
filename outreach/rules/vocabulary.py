"""The words outreach's rows and decisions are made of, declared once.

Every state, kind, status, severity and reason that is stored or compared is a member here;
code compares members, never string literals. They are `StrEnum`s, so a member is equal to
the string stored in its column and reads back from the database without conversion.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How soon a human must act on what a patient wrote: the escalation tiers of DOMAIN.md.
    Most pressing first. `EMERGENCY` and `URGENT` page the on-call phone."""

    EMERGENCY = "emergency"  # call the emergency number now
    URGENT = "urgent"  # a human calls today
    ROUTINE = "routine"  # next working day
    REVIEW = "review"  # someone reads it

    @property
    def rank(self) -> int:
        """0 for the most pressing: sorts a list emergency first."""
        return list(Severity).index(self)

    @property
    def pages(self) -> bool:
        return self in PAGED


PAGED = frozenset({Severity.EMERGENCY, Severity.URGENT})


class Question(StrEnum):
    """The kinds of question our texts ask; a reply may answer any that is still open."""

    CONSENT = "consent"
    SESSION = "session"
    FOOT_CHECK = "foot_check"
    FOOT_FOLLOWUP = "foot_followup"
    EXERCISE = "exercise"


class ObservationKind(StrEnum):
    """What a reply told us (observation.kind); the value of a follow-up or exercise answer
    (the follow-up's number, the pain score) is stored beside it."""

    SESSION_CONFIRMED = "session_confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    FOOT_OK = "foot_ok"
    FOOT_PROBLEM = "foot_problem"
    FOOT_FOLLOWUP = "foot_followup"
    EXERCISE_DONE = "exercise_done"
    EXERCISE_SKIPPED = "exercise_skipped"


FOOT_ANSWERS = (ObservationKind.FOOT_OK, ObservationKind.FOOT_PROBLEM)
EXERCISE_ANSWERS = (ObservationKind.EXERCISE_DONE, ObservationKind.EXERCISE_SKIPPED)


class ConsentState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"


class ConsentEventKind(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"


class ReminderKind(StrEnum):
    CONSENT = "consent"
    SESSION = "session"
    FOOT_CHECK = "foot_check"
    EXERCISE = "exercise"
    STAFF = "staff"  # a text a member of staff wrote (staffmessage), sent like any reminder


class ReminderState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class SkipReason(StrEnum):
    """Why a reminder was not sent (reminder.skip_reason). `REVIVABLE` ones come back when
    the plan is planned again: the edit, opt-out or pause that caused them can be undone."""

    OPTED_OUT = "opted_out"
    ALREADY_CONSENTED = "already_consented"
    NO_CONSENT = "no_consent"
    PAUSED = "paused"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    EVENT_PASSED = "event_passed"  # a session reminder after the session began
    EXPIRED = "expired"
    DAILY_CAP = "daily_cap"
    QUIET_HOURS = "quiet_hours"
    SUPERSEDED = "superseded"  # the plan or the appointment changed
    CANCELLED = "cancelled"  # staff cancelled the appointment


REVIVABLE = (SkipReason.SUPERSEDED, SkipReason.OPTED_OUT, SkipReason.PAUSED)


class OutboundStatus(StrEnum):
    """An outbound text's status. Our own states come first (none of them has a provider id);
    then the provider's, which only move forward (`rank`); a final one never changes."""

    PENDING = "pending"  # written, not yet answered by the provider
    UNKNOWN = "unknown"  # the provider's answer was lost: look it up before sending again
    RESENDING = "resending"  # a worker is looking it up and sending it if absent (claimed_at)
    QUEUED = "queued"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    READ = "read"
    CANCELED = "canceled"  # Twilio's spelling


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


class Role(StrEnum):
    ADMIN = "admin"  # also imports patient files, reads the audit log
    THERAPIST = "therapist"


class EscalationState(StrEnum):
    """Where an escalation stands, from its acknowledged_at and resolved_at."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Direction(StrEnum):
    OUT = "out"  # a text we sent
    IN = "in"  # a text a patient sent

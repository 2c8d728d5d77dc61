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
    NO_SHOW = "no_show"  # "We missed you today. Reply R to rebook" (ref: the appointment)
    SLOT_OFFER = "slot_offer"  # a waitlist offer: "Reply YES to take it" (ref: the offer)


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
    NO_SHOW = "no_show"  # the one text the day a patient missed a session
    SESSION_MOVED = "session_moved"  # the new time of a moved session, once
    SLOT_OFFER = "slot_offer"  # a cancelled session's slot offered to a waitlisted patient
    SLOT_GONE = "slot_gone"  # to the others offered it: someone took it


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
    SLOT_GONE = "slot_gone"  # a waitlist offer whose slot was taken or closed before it went
    MARK_CORRECTED = "mark_corrected"  # a no-show text after staff corrected the mark


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
    CANCELLED = "cancelled"  # by either side: appointment.attendance says which
    MOVED = "moved"  # staff moved it to another time: appointment.moved_to is the new one


class AppointmentSource(StrEnum):
    """Where an appointment came from (appointment.source)."""

    PLAN = "plan"  # the care plan's recurrence, made by the planner
    MANUAL = "manual"  # entered by staff, one date and time
    MOVED = "moved"  # the new time of a session staff moved
    WAITLIST = "waitlist"  # a cancelled slot a waitlisted patient took by text
    HL7 = "hl7"  # the clinic's scheduling system, by HL7 v2 SIU messages over MLLP
    FHIR = "fhir"  # the clinic's EHR, read as FHIR R4 Appointment resources

    @property
    def from_feed(self) -> bool:
        """Kept by the clinic's own system: outreach follows it and staff change it there."""
        return self in FEEDS

    @property
    def word(self) -> str:
        return SOURCE_WORDS[self]


FEEDS = (AppointmentSource.HL7, AppointmentSource.FHIR)
SOURCE_WORDS = {
    AppointmentSource.PLAN: "care plan",
    AppointmentSource.MANUAL: "entered by staff",
    AppointmentSource.MOVED: "moved by staff",
    AppointmentSource.WAITLIST: "waitlist",
    AppointmentSource.HL7: "scheduling system (HL7)",
    AppointmentSource.FHIR: "EHR (FHIR)",
}


class FeedStatus(StrEnum):
    """What the clinic's system says of one of its appointments, whatever the feed: HL7 SIU
    triggers and FHIR Appointment.status both map onto these."""

    SCHEDULED = "scheduled"  # booked (new, rescheduled or modified): remind the patient
    CANCELLED = "cancelled"  # called off: its reminders stop, its slot may go to the waitlist
    DELETED = "deleted"  # entered in error: never was; reminders stop, no slot is offered
    NO_SHOW = "no_show"  # the patient did not come: the no-show follow-up
    ATTENDED = "attended"  # arrived, checked in or fulfilled


class FeedOutcome(StrEnum):
    """What became of one message or resource from a feed (feedmessage.outcome)."""

    RECEIVED = "received"  # stored raw; not interpreted yet (or interpreting it failed)
    APPLIED = "applied"  # the appointment was written
    UNMATCHED = "unmatched"  # for a patient outreach does not know: kept for staff to enrol
    UNCHANGED = "unchanged"  # nothing to do: older than what we hold, or the same
    DUPLICATE = "duplicate"  # the same message again (HL7 MSH-10): answered as before
    ERROR = "error"  # the content is wrong (HL7 ACK AE): the reason is in `detail`
    REJECTED = "rejected"  # not taken at all (HL7 ACK AR): a sender not allowed, a bad header


class AckCode(StrEnum):
    """What an HL7 v2 sender is answered (MSA-1, original mode; feedmessage.ack)."""

    ACCEPT = "AA"  # taken and applied (or kept for staff, or nothing to change)
    ERROR = "AE"  # read, but its content is wrong: the sender should correct it, not resend
    REJECT = "AR"  # not taken: resend later, or fix the interface (type, sender, version)


class Attendance(StrEnum):
    """What became of a session, as staff mark it (appointment.attendance). A cancellation
    is marked too: the report counts late ones, and a slot cancelled with notice is offered
    to the waitlist."""

    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED_BY_PATIENT = "cancelled_by_patient"
    CANCELLED_BY_CLINIC = "cancelled_by_clinic"

    @property
    def cancels(self) -> bool:
        return self in (Attendance.CANCELLED_BY_PATIENT, Attendance.CANCELLED_BY_CLINIC)

    @property
    def word(self) -> str:
        """How the command line spells it: 'no-show', 'cancelled-by-patient'."""
        return self.value.replace("_", "-")


class SlotState(StrEnum):
    """A cancelled session's time as the waitlist sees it (openslot.state)."""

    OPEN = "open"  # being offered, a few patients at a time
    TAKEN = "taken"  # a patient answered YES first: openslot.taken_by
    CLOSED = "closed"  # nobody took it in time, no one else matches, or staff closed it


class OfferState(StrEnum):
    """One waitlisted patient's offer of one slot (slotoffer.state)."""

    OFFERED = "offered"  # queued or sent, waiting for an answer until expires_at
    TAKEN = "taken"  # this patient's YES won the slot
    DECLINED = "declined"  # they answered no
    EXPIRED = "expired"  # no answer in time: the next patients are offered it
    GONE = "gone"  # another patient took it, or it closed, first


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

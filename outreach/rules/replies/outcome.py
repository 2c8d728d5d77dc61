"""What a reply means, as data: its intents, the open questions it may answer, the actions
that follow from it, and the outcome that carries them (`conversation.interpret` returns one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from outreach.rules.replies.screen import Screen
from outreach.rules.vocabulary import Question, Severity


class Intent(StrEnum):
    OPT_OUT = "opt_out"  # a carrier keyword
    STOP_REQUEST = "stop_request"  # free text that clearly asks us to stop
    STOP_UNCLEAR = "stop_unclear"  # sounds like stopping, not clearly about our texts
    OPT_IN = "opt_in"
    HELP = "help"
    CONSENT = "consent"
    SESSION_CONFIRM = "session_confirm"
    SESSION_RESCHEDULE = "session_reschedule"
    SLOT_TAKE = "slot_take"  # YES to a waitlist offer
    SLOT_DECLINE = "slot_decline"  # no to a waitlist offer
    FOOT_OK = "foot_ok"
    FOOT_PROBLEM = "foot_problem"  # a foot check "2", or a follow-up answer 1 to 3
    FOOT_OTHER = "foot_other"  # follow-up answer 4
    EXERCISE_DONE = "exercise_done"
    EXERCISE_SKIP = "exercise_skip"
    SYMPTOM = "symptom"  # a danger sign or symptom in the patient's own words
    THANKS = "thanks"  # a thank-you: nothing to do, nothing to answer
    REACTION = "reaction"  # a phone's reaction sent as text ('Liked "..."')
    IGNORED = "ignored"  # opted out: stored, never answered
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Prompt:
    """An open question we sent: its kind and what it is about (e.g. an appointment id)."""

    id: int
    kind: str  # consent, session, foot_check, foot_followup, exercise
    ref: int | None = None


@dataclass(frozen=True)
class PatientContext:
    consent_granted: bool
    opted_out: bool
    pain_baseline: int | None = None
    language: str = "en"
    skipped_in_a_row: int = 0  # exercise days reported skipped, back to the last one done


# Actions: what should happen, applied by outreach/replies/actions.py.
@dataclass(frozen=True)
class GrantConsent:
    pass


@dataclass(frozen=True)
class OptOut:
    keyword: str


@dataclass(frozen=True)
class OptIn:
    keyword: str


@dataclass(frozen=True)
class SetAppointment:
    appointment_id: int
    status: str  # confirmed or reschedule_requested


@dataclass(frozen=True)
class TakeSlot:
    """YES to waitlist offer `offer_id`: the first YES of a slot wins it (one conditional
    UPDATE); a later one is told it has gone (the applier picks the text)."""

    offer_id: int


@dataclass(frozen=True)
class DeclineSlot:
    offer_id: int


@dataclass(frozen=True)
class Observe:
    kind: str  # an ObservationKind (str: the tests compare with the stored text)
    value: int | None = None


@dataclass(frozen=True)
class Escalate:
    severity: str  # emergency, urgent, routine, review
    reason: str
    detail: str = ""


Action = (
    GrantConsent | OptOut | OptIn | SetAppointment | TakeSlot | DeclineSlot | Observe | Escalate
)


@dataclass(frozen=True)
class Outcome:
    intents: tuple[Intent, ...]
    actions: tuple[Action, ...] = ()
    replies: tuple[str, ...] = ()  # template names, the most important first
    answers: Prompt | None = None  # the open question this reply closes
    also_answers: tuple[Prompt, ...] = ()  # others it answers in words
    asks: Question | None = None  # a new question the reply opens (a foot follow-up)
    prompt_for_options: str | None = None  # for `unknown`: whose options to list
    needs_review: bool = False
    screen: Screen = field(default_factory=Screen)
    pain: int | None = None

    @property
    def intent(self) -> Intent:
        return self.intents[0]

    @property
    def reply(self) -> str | None:
        return self.replies[0] if self.replies else None

    @property
    def escalations(self) -> list[Escalate]:
        return [a for a in self.actions if isinstance(a, Escalate)]

    @property
    def severity(self) -> Severity | None:
        found = [Severity(e.severity) for e in self.escalations]
        return min(found, key=lambda s: s.rank) if found else None

"""What staff read for what a reply was understood as (each Intent of rules/replies/outcome.py)
and for why a text was not sent (each SkipReason), in words, in one place. A reply's stored
intent is its intents joined by commas ('exercise_done,symptom')."""

from __future__ import annotations

from outreach.rules.replies.outcome import Intent
from outreach.rules.vocabulary import SkipReason

NOT_UNDERSTOOD = "Not understood: needs a person"
NOT_READ = "not read yet"
INTENT_WORDS: dict[Intent, str] = {
    Intent.OPT_OUT: "stop: opted out by keyword",
    Intent.STOP_REQUEST: "asked us to stop texting",
    Intent.STOP_UNCLEAR: "may want to stop (unclear)",
    Intent.OPT_IN: "start: opted back in",
    Intent.HELP: "asked for help",
    Intent.CONSENT: "yes to texts",
    Intent.SESSION_CONFIRM: "session confirmed",
    Intent.SESSION_RESCHEDULE: "wants to reschedule",
    Intent.SLOT_TAKE: "yes to a waitlist offer",
    Intent.SLOT_DECLINE: "no to a waitlist offer",
    Intent.FOOT_OK: "feet all OK",
    Intent.FOOT_PROBLEM: "foot problem",
    Intent.FOOT_OTHER: "something else on a foot",
    Intent.EXERCISE_DONE: "exercises done",
    Intent.EXERCISE_SKIP: "exercises skipped",
    Intent.SYMPTOM: "a symptom",
    Intent.THANKS: "a thank-you",
    Intent.REACTION: "a phone reaction, nothing to answer",
    Intent.IGNORED: "not answered: opted out",
    Intent.UNKNOWN: NOT_UNDERSTOOD,
}
# Stored in place of intents by replies/inbound.py for a number no patient has.
OTHER_WORDS = {"unknown_sender": "from a number no patient has"}

SKIP_WORDS = {
    SkipReason.OPTED_OUT: "the patient opted out",
    SkipReason.ALREADY_CONSENTED: "the patient had already agreed",
    SkipReason.NO_CONSENT: "the patient has not agreed to texts",
    SkipReason.PAUSED: "texts are paused for this patient",
    SkipReason.APPOINTMENT_CANCELLED: "the session was cancelled",
    SkipReason.EVENT_PASSED: "the session had begun",
    SkipReason.EXPIRED: "too late to send it",
    SkipReason.DAILY_CAP: "the day's reminders were used up",
    SkipReason.QUIET_HOURS: "quiet hours",
    SkipReason.SUPERSEDED: "the plan or the session changed",
    SkipReason.CANCELLED: "staff cancelled the session",
    SkipReason.SLOT_GONE: "the waitlist slot was taken or closed",
    SkipReason.MARK_CORRECTED: "the no-show mark was corrected",
}


def intent_words(stored: str | None) -> str:
    """'exercise_done,symptom' -> 'exercises done, a symptom'; None (not processed yet) ->
    'not read yet'. A name that is no Intent (an older release's) is shown with spaces."""
    if not stored:
        return NOT_READ
    words = [_words(name.strip()) for name in stored.split(",") if name.strip()]
    return ", ".join(words) or NOT_READ


def understood_as(stored: str | None) -> str:
    """The sentence under a reply: 'Understood as: exercises done' or, for a reply no rule
    understood, 'Not understood: needs a person'."""
    words = intent_words(stored)
    if words in (NOT_UNDERSTOOD, NOT_READ):
        return words[0].upper() + words[1:]
    return f"Understood as: {words}"


# What each text we send is, for the thread and Today: a reminder kind or a template's name.
TEXT_WORDS = {
    "consent": "consent request",
    "consent_granted": "thanks for agreeing",
    "session": "session reminder",
    "session_confirmed": "session confirmed",
    "session_reschedule": "we will call to move it",
    "foot_check": "foot check",
    "foot_followup": "foot check: what did you see?",
    "foot_ok": "foot check: thanks",
    "foot_urgent": "foot: keep weight off, we call today",
    "foot_routine": "foot: we will look",
    "foot_other": "foot: we will look",
    "exercise": "exercise reminder",
    "exercise_done": "exercises: well done",
    "exercise_pain": "pain: stop for today",
    "exercise_skipped": "exercises: skipped noted",
    "emergency": "emergency: call 911",
    "fall": "a fall: we will call",
    "review": "we will read it",
    "help": "help",
    "unknown": "not understood: a person will read it",
    "opted_out": "opt-out confirmed",
    "opted_in": "opt-in confirmed",
    "on_call": "page to the on-call phone",
    "staff": "written by staff",
    "no_show": "we missed you: rebook?",
    "session_moved": "session moved: the new time",
    "slot_offer": "waitlist offer",
    "slot_gone": "waitlist: the slot has gone",
    "slot_taken": "waitlist: booked",
    "slot_declined": "waitlist: no thanks noted",
}


def text_words(kind: str | None) -> str:
    """'foot_followup' -> 'foot check: what did you see?'; unknown names with spaces."""
    if not kind:
        return ""
    return TEXT_WORDS.get(kind, kind.replace("_", " "))


def skip_words(reason: str | None) -> str:
    """Why a reminder or a staff text was not sent, in words."""
    if not reason:
        return "not sent"
    try:
        return SKIP_WORDS[SkipReason(reason)]
    except ValueError:
        return reason.replace("_", " ")


def _words(name: str) -> str:
    if name in OTHER_WORDS:
        return OTHER_WORDS[name]
    try:
        return INTENT_WORDS[Intent(name)]
    except ValueError:
        return name.replace("_", " ")

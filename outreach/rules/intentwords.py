"""What staff read for what a reply was understood as, and for why a text was not sent: each
code in words, never the code itself."""

from __future__ import annotations

from outreach.rules.replies.outcome import Intent
from outreach.rules.vocabulary import SkipReason

INTENT_WORDS = {
    Intent.OPT_OUT: "stop: no more texts",
    Intent.STOP_REQUEST: "asked to stop the texts",
    Intent.STOP_UNCLEAR: "may want to stop (unclear)",
    Intent.OPT_IN: "texts back on",
    Intent.HELP: "asked for help",
    Intent.CONSENT: "agreed to texts",
    Intent.SESSION_CONFIRM: "confirmed the session",
    Intent.SESSION_RESCHEDULE: "wants to move the session",
    Intent.FOOT_OK: "feet OK",
    Intent.FOOT_PROBLEM: "a problem on a foot",
    Intent.FOOT_OTHER: "something else on a foot",
    Intent.EXERCISE_DONE: "exercises done",
    Intent.EXERCISE_SKIP: "exercises skipped",
    Intent.SYMPTOM: "a symptom in their own words",
    Intent.THANKS: "thanks",
    Intent.REACTION: "a reaction (like)",
    Intent.IGNORED: "received after opting out",
    Intent.UNKNOWN: "not understood: needs a person",
}
# Stored beside the intents by replies/inbound.py for a number we do not know.
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
}


def intent_words(stored: str | None) -> str:
    """'session_confirm,symptom' -> 'confirmed the session; a symptom in their own words'.
    None (not read yet) says so."""
    if not stored:
        return "not read yet"
    return "; ".join(_one(code) for code in stored.split(",") if code)


def _one(code: str) -> str:
    if code in OTHER_WORDS:
        return OTHER_WORDS[code]
    try:
        return INTENT_WORDS[Intent(code)]
    except ValueError:  # a code from an older version of the rules
        return code.replace("_", " ")


def skip_words(reason: str | None) -> str:
    if not reason:
        return "not sent"
    try:
        return SKIP_WORDS[SkipReason(reason)]
    except ValueError:
        return reason.replace("_", " ")

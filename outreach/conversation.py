"""What a reply means: (patient, open questions, text) -> (intent, actions, reply).

Pure: no database, no clock, no I/O, so every rule is a row in a table-driven test.
`outreach.inbound` loads the context and applies the actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from outreach.privacy import fold

# Carriers and Twilio treat these as opt-out when they are the whole message.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "baja"}
)
START_WORDS = frozenset({"start", "unstop", "yes", "si"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
YES_WORDS = frozenset({"yes", "y", "si", "s"})
CONFIRM_WORDS = frozenset({"c", "1", "confirm", "confirmar", "confirmo", "yes", "si"})
RESCHEDULE_WORDS = frozenset({"r", "2", "reschedule", "reprogramar", "cambiar"})
SKIP_WORDS = frozenset({"skip", "saltar", "omitir"})
DONE_PATTERN = re.compile(
    r"(?:done|listo|hecho)(?:\s*(?:pain|dolor))?\s*(?P<pain>\d{1,2})?(?:\s*/\s*10)?"
)
# Free text that clearly asks us to stop. Treated as an opt-out and shown to staff.
STOP_REQUEST = re.compile(
    r"\bstop (?:texting|messaging|sending|contacting|the texts|these)"
    r"|\b(?:dont|do not) (?:text|message|contact|send)"
    r"|\bno more (?:texts|messages)"
    r"|\b(?:dont|do not) want (?:any ?more |these |your |the )?(?:texts|messages)"
    r"|\bunsubscribe me|\bremove me from|\bopt me out|\bleave me alone"
    # A stop word dressed up ("please stop", "Stop it", "STOP STOP", "opt-out") is not a
    # carrier keyword but asks the same thing.
    r"|^(?:please )?(?:stop|opt out)(?: (?:it|now|please|stop|all))*$"
    r"|^no more$"
    r"|\bno mas\b(?! dolor)"  # "no más dolor" is good news: no more pain
    r"|\bno quiero (?:recibir )?(?:mas )?(?:mensajes|textos)"
    r"|\bdej(?:en|e|a) de (?:enviar|mandar|escribir)"
    r"|\bno (?:me )?(?:envien|manden|escriban)"
)
HIGH_PAIN = 7
PAIN_RISE = 2


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    STOP_REQUEST = "stop_request"
    OPT_IN = "opt_in"
    HELP = "help"
    CONSENT = "consent"
    SESSION_CONFIRM = "session_confirm"
    SESSION_RESCHEDULE = "session_reschedule"
    FOOT_OK = "foot_ok"
    FOOT_PROBLEM = "foot_problem"
    FOOT_URGENT = "foot_urgent"
    FOOT_ROUTINE = "foot_routine"
    FOOT_OTHER = "foot_other"
    EXERCISE_DONE = "exercise_done"
    EXERCISE_PAIN = "exercise_pain"
    EXERCISE_SKIP = "exercise_skip"
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


# Actions: what should happen, applied by outreach.inbound.
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
class Observe:
    kind: str  # session_confirmed, foot_ok, foot_problem, exercise_done, exercise_skipped...
    value: int | None = None


@dataclass(frozen=True)
class Escalate:
    severity: str  # urgent, routine, review
    reason: str
    detail: str = ""


Action = GrantConsent | OptOut | OptIn | SetAppointment | Observe | Escalate


@dataclass(frozen=True)
class Outcome:
    intent: Intent
    actions: tuple[Action, ...] = ()
    reply: str | None = None  # template name
    answers: Prompt | None = None  # the open question this reply closes
    asks: str | None = None  # a new question the reply opens (foot_followup)
    prompt_for_options: str | None = None  # for `unknown`: whose options to list
    needs_review: bool = False


FOOT_FOLLOWUP = {
    "1": (Intent.FOOT_URGENT, "urgent", "foot_open_sore", "open sore, bleeding or pus"),
    "2": (Intent.FOOT_URGENT, "urgent", "foot_red_hot_swollen", "red, hot or swollen"),
    "3": (Intent.FOOT_ROUTINE, "routine", "foot_blister", "blister, cut or callus"),
    "4": (Intent.FOOT_OTHER, "review", "foot_other", "something else"),
}


def normalise(text: str) -> str:
    """Lowercase, no accents, punctuation and stray spaces gone: ' Stop! ' -> 'stop'."""
    folded = fold(text).replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^\w/]+", " ", folded).split())


def interpret(context: PatientContext, prompts: list[Prompt], text: str) -> Outcome:
    """Decide what a reply means. `prompts` are the open questions, most recent first."""
    words = normalise(text)
    if words in STOP_WORDS:
        if context.opted_out:  # one confirmation, nothing more
            return Outcome(Intent.IGNORED)
        return Outcome(Intent.OPT_OUT, (OptOut(words),), reply="opted_out")
    if context.opted_out:
        if words in START_WORDS:
            return Outcome(Intent.OPT_IN, (OptIn(words),), reply="opted_in")
        return Outcome(Intent.IGNORED, needs_review=True)
    if STOP_REQUEST.search(words):
        actions = (OptOut("free text"), Escalate("review", "stop_request", "asked to stop"))
        return Outcome(Intent.STOP_REQUEST, actions, reply="opted_out", needs_review=True)
    if words in HELP_WORDS:
        return Outcome(Intent.HELP, reply="help")
    if not context.consent_granted:
        consent = next((p for p in prompts if p.kind == "consent"), None)
        if words in YES_WORDS:
            return Outcome(Intent.CONSENT, (GrantConsent(),), "consent_granted", answers=consent)
        return _unknown("consent" if consent else None)
    for prompt in prompts:
        outcome = _answer(prompt, words, context)
        if outcome is not None:
            return outcome
    return _unknown(prompts[0].kind if prompts else None)


def _unknown(prompt_kind: str | None) -> Outcome:
    return Outcome(
        Intent.UNKNOWN, reply="unknown", prompt_for_options=prompt_kind, needs_review=True
    )


def _answer(prompt: Prompt, words: str, context: PatientContext) -> Outcome | None:
    if prompt.kind == "session" and prompt.ref is not None:
        if words in CONFIRM_WORDS:
            actions: tuple[Action, ...] = (
                SetAppointment(prompt.ref, "confirmed"),
                Observe("session_confirmed"),
            )
            return Outcome(Intent.SESSION_CONFIRM, actions, "session_confirmed", answers=prompt)
        if words in RESCHEDULE_WORDS:
            actions = (
                SetAppointment(prompt.ref, "reschedule_requested"),
                Observe("reschedule_requested"),
                Escalate("routine", "reschedule", "asked to reschedule a session"),
            )
            return Outcome(Intent.SESSION_RESCHEDULE, actions, "session_reschedule", answers=prompt)
    elif prompt.kind == "foot_check":
        if words == "1":
            return Outcome(Intent.FOOT_OK, (Observe("foot_ok"),), "foot_ok", answers=prompt)
        if words == "2":
            # Staff hear of it now: a patient who never answers the follow-up is not lost.
            # The follow-up's answer then sets the severity of this same escalation.
            flag = Escalate("review", "foot_problem", "something new on a foot; details asked")
            return Outcome(
                Intent.FOOT_PROBLEM,
                (Observe("foot_problem"), flag),
                "foot_followup",
                answers=prompt,
                asks="foot_followup",
            )
    elif prompt.kind == "foot_followup" and words in FOOT_FOLLOWUP:
        intent, severity, reason, detail = FOOT_FOLLOWUP[words]
        actions = (Observe("foot_followup", int(words)), Escalate(severity, reason, detail))
        reply = {"urgent": "foot_urgent", "routine": "foot_routine"}.get(severity, "foot_other")
        return Outcome(intent, actions, reply, answers=prompt)
    elif prompt.kind == "exercise":
        return _exercise(prompt, words, context)
    return None


def _exercise(prompt: Prompt, words: str, context: PatientContext) -> Outcome | None:
    if words in SKIP_WORDS:
        return Outcome(
            Intent.EXERCISE_SKIP, (Observe("exercise_skipped"),), "exercise_skipped", answers=prompt
        )
    match = DONE_PATTERN.fullmatch(words)
    if match is None:
        return None
    pain = int(match["pain"]) if match["pain"] is not None else None
    if pain is not None and pain > 10:
        return None
    done = Observe("exercise_done", pain)
    if pain is not None and is_worrying_pain(pain, context.pain_baseline):
        detail = f"pain {pain}/10" + (
            f" (baseline {context.pain_baseline})" if context.pain_baseline is not None else ""
        )
        escalate = Escalate("urgent" if pain >= HIGH_PAIN else "routine", "pain", detail)
        return Outcome(Intent.EXERCISE_PAIN, (done, escalate), "exercise_pain", answers=prompt)
    return Outcome(Intent.EXERCISE_DONE, (done,), "exercise_done", answers=prompt)


def is_worrying_pain(pain: int, baseline: int | None) -> bool:
    """Pain of 7 or more, or 2 or more above the patient's own usual level."""
    return pain >= HIGH_PAIN or (baseline is not None and pain >= baseline + PAIN_RISE)


# How long an answer still binds to the question it answers.
REPLY_WINDOW_HOURS = {"consent": 24 * 30, "foot_check": 18, "foot_followup": 24, "exercise": 18}

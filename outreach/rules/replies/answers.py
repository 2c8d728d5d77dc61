"""A reply as an answer: what its words say (a menu letter, a number, an answer in words, a
request to stop) and which open question it answers, one reader per kind of question.

`conversation.py` builds the outcome on this: the order of the checks, the danger signs no
answer carries, and the one text the patient gets.
"""

from __future__ import annotations

from outreach.rules.replies.keywords import START_WORDS, normalise, reaction
from outreach.rules.replies.outcome import (
    Action,
    DeclineSlot,
    Escalate,
    GrantConsent,
    Intent,
    Observe,
    PatientContext,
    Prompt,
    SetAppointment,
    TakeSlot,
)
from outreach.rules.replies.reading import Rules, overlaps
from outreach.rules.replies.screen import screen
from outreach.rules.vocabulary import AppointmentStatus, ObservationKind, Question, Severity

FOOT_QUESTIONS = frozenset({Question.FOOT_CHECK, Question.FOOT_FOLLOWUP})
FOOT_FOLLOWUP = {
    1: ("foot_open_sore", "open sore, bleeding or pus", Severity.URGENT),
    2: ("foot_red_hot_swollen", "red, hot or swollen", Severity.URGENT),
    3: ("foot_blister", "blister, cut or callus", Severity.ROUTINE),
    4: ("foot_other", "something else", Severity.REVIEW),
}
SKIPS_TO_ESCALATE = 3
SKIP_KEYWORDS = frozenset({"skip", "saltar", "omitir"})  # the menu's own words win
MENU_WORDS = frozenset({"c", "r", "and", "y", "also", "&"})
# The danger sign a foot follow-up answer names, for the rules' combinations.
ANSWER_SIGNS = {1: "open_wound", 2: "red_hot_swollen"}
# Words that may stand beside an answer without changing it: "C please", "1 thanks".
NUMBER_WORDS = frozenset({"number", "option", "no", "num", "numero", "opcion", "la", "el"})
FILLER = frozenset(
    {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "ok", "okay"}
    | {"por", "favor", "gracias", "muchas"}
)


# How long an answer still binds to the question it answers.
REPLY_WINDOW_HOURS = {
    Question.CONSENT: 24 * 30,
    Question.FOOT_CHECK: 18,
    Question.FOOT_FOLLOWUP: 24,
    Question.EXERCISE: 18,
    Question.NO_SHOW: 48,
    # A waitlist offer binds until the offer expires (slotoffer.expires_at); this is the
    # longest any offer stands.
    Question.SLOT_OFFER: 24,
}


class Answers:
    """One reply's words, and what they answer of each open question."""

    def __init__(self, context: PatientContext, prompts: list[Prompt], text: str, rules: Rules):
        self.context = context
        self.prompts = prompts
        # 'Liked "Reminder: ... Reply C to confirm"': the quoted text is ours; only the
        # reaction is the patient's ("liked" reads as a yes, "disliked" as nothing).
        self.reacted = reaction(text, rules)
        text = self.reacted or text
        self.text = text
        self.words = normalise(text)
        self.readings = rules.read(text, context.language)
        foot = any(p.kind in FOOT_QUESTIONS for p in prompts)
        self.screen = screen(self.readings, foot_question=foot, pain_baseline=context.pain_baseline)
        self.intents: list[Intent] = []
        self.actions: list[Action] = []
        self.replies: list[str] = []
        self.answers: Prompt | None = None
        self.asks: Question | None = None
        self.options_of: str | None = None
        self.review = False
        self.used: set[str] = set()  # danger reasons an answer already carries
        self.more_answers: list[Prompt] = []  # "DONE 4, and can we move Thursday?"
        self.strict = False  # once one question is answered, no bare letters or numbers

    # --- what the words say ---------------------------------------------------------------

    def says(self, answer: str) -> bool:
        """One of the [answer NAME] phrases is in the reply, not negated, in any language."""
        return any(not r.negated(m) for r in self.readings for m in r.find(f"answer:{answer}"))

    def whole(self, answer: str) -> bool:
        """The reply is nothing but one of these phrases (and please, thanks...)."""
        for reading in self.readings:
            for match in reading.find(f"answer:{answer}"):
                rest = reading.words[: match.start] + reading.words[match.end :]
                if all(word in FILLER for word in rest):
                    return True
        return False

    def menu_number(self) -> int | None:
        """The number in a reply made only of menu answers, a letter among them: "C and 2",
        "2 y C"."""
        words = self.words.split()
        numbers = [w for w in words if w.isdigit() and int(w) <= 10]
        letters = [w for w in words if w in ("c", "r")]
        if len(numbers) == 1 and letters and all(w in MENU_WORDS or w.isdigit() for w in words):
            return int(numbers[0])
        return None

    def lead_number(self) -> int | None:
        """'1', '2 swollen ankle', 'two', '1 todo bien', '#1': the number a reply opens with."""
        for reading in self.readings:
            words = reading.words
            at = 1 if words[:1] and words[0] in NUMBER_WORDS else 0
            if at >= len(words):
                return None
            first = words[at]
            if first.isdigit() and int(first) <= 10:
                return int(first)
            if first in reading.language.numbers and (
                at + 1 == len(words)
                or reading.clause[at + 1] != reading.clause[at]
                or words[at + 1] in FILLER
            ):
                return reading.language.numbers[first]
        return None

    def lead_letter(self) -> str | None:
        """'C', 'r please', 'C!': a menu letter standing alone at the start."""
        first = self.words.split(" ", 1)[0] if self.words else ""
        return first if first in ("c", "r") else None

    def stop_kind(self) -> str | None:
        """'clear', 'unclear' or None: does the reply ask us to stop texting?"""
        clear = unclear = False
        for reading in self.readings:
            cancelled = reading.find("not-stop")
            asked = [m for m in reading.find("stop") if not overlaps(m, cancelled)]
            if asked and not reading.find("stop-unclear"):
                clear = True
            elif asked or [m for m in reading.find("stop-maybe") if not overlaps(m, cancelled)]:
                unclear = True
        return "clear" if clear else ("unclear" if unclear else None)

    # --- answers to each question ----------------------------------------------------------

    def consent(self) -> None:
        consent = next((p for p in self.prompts if p.kind == Question.CONSENT), None)
        agreed = not self.reacted and (  # consent is given in words, not with a tap
            self.words in START_WORDS
            or self.says("consent")
            or self.says("yes")
            or self.says("opt_in")
        )
        if agreed and not self.says_no():
            self.intents.append(Intent.CONSENT)
            self.actions.append(GrantConsent())
            self.replies.append("consent_granted")
            self.answers = consent
        elif not self.screen.findings and not self.screen.symptoms:
            self.options_of = "consent" if consent else None

    def says_no(self) -> bool:
        return self.words in ("no", "nope", "no thanks", "no gracias")

    def answer(self, prompt: Prompt) -> bool:
        kind = prompt.kind
        if kind == Question.SESSION and prompt.ref is not None:
            return self.session(prompt.ref)
        if kind == Question.FOOT_CHECK:
            return self.foot_check()
        if kind == Question.FOOT_FOLLOWUP:
            return self.foot_followup()
        if kind == Question.EXERCISE:
            return self.exercise()
        if kind == Question.NO_SHOW and prompt.ref is not None:
            return self.rebook()
        if kind == Question.SLOT_OFFER and prompt.ref is not None:
            return self.slot_offer(prompt.ref)
        return False

    def rebook(self) -> bool:
        """'We missed you today. Reply R to rebook': R, a wish to reschedule, or a yes asks
        staff for a new time (a routine escalation, and the inbox)."""
        letter = None if self.strict else self.lead_letter()
        if letter == "r" or self.says("reschedule") or (self.says("yes") and not self.strict):
            self.intents.append(Intent.SESSION_RESCHEDULE)
            self.actions += [
                Observe(ObservationKind.RESCHEDULE_REQUESTED),
                Escalate(Severity.ROUTINE, "reschedule", "asked to rebook a missed session"),
            ]
            self.replies.append("session_reschedule")
            self.review = True
            return True
        return False

    def slot_offer(self, offer: int) -> bool:
        """'Reply YES to take it': yes in words takes it, no declines it. A bare C does not:
        it is the session reminder's letter, and a patient with both questions open who
        sends C means their session (they are not booked into a slot they did not ask for)."""
        if self.says_no() or (self.words in ("n",)):
            self.intents.append(Intent.SLOT_DECLINE)
            self.actions.append(DeclineSlot(offer))
            self.replies.append("slot_declined")
            return True
        if self.whole("yes") or self.says("yes"):
            self.intents.append(Intent.SLOT_TAKE)
            self.actions.append(TakeSlot(offer))
            self.replies.append("slot_taken")
            return True
        return False

    def session(self, appointment: int) -> bool:
        letter = None if self.strict else self.lead_letter()
        if letter == "r" or self.says("reschedule"):
            self.intents.append(Intent.SESSION_RESCHEDULE)
            self.actions += [
                SetAppointment(appointment, AppointmentStatus.RESCHEDULE_REQUESTED),
                Observe(ObservationKind.RESCHEDULE_REQUESTED),
                Escalate(Severity.ROUTINE, "reschedule", "asked to reschedule a session"),
            ]
            self.replies.append("session_reschedule")
            self.review = True
            return True
        if letter == "c" or self.says("confirm") or (self.says("yes") and not self.strict):
            self.intents.append(Intent.SESSION_CONFIRM)
            self.actions += [
                SetAppointment(appointment, AppointmentStatus.CONFIRMED),
                Observe(ObservationKind.SESSION_CONFIRMED),
            ]
            self.replies.append("session_confirmed")
            return True
        return False

    def foot_check(self) -> bool:
        number = self.menu_number() if self.strict else self.lead_number() or self.menu_number()
        foot_signs = [f for f in self.screen.findings if f.followup is not None]
        all_clear = self.says("foot_ok") or self.screen.cleared  # "no blisters today"
        if number == 1 or (number is None and not foot_signs and all_clear):
            self.intents.append(Intent.FOOT_OK)
            self.actions.append(Observe(ObservationKind.FOOT_OK))
            self.replies.append("foot_ok")
            return True
        if number == 2 or (number is None and (foot_signs or self.says("foot_new"))):
            self.intents.append(Intent.FOOT_PROBLEM)
            self.actions.append(Observe(ObservationKind.FOOT_PROBLEM))
            if foot_signs:  # they told us what it is: no need to ask
                return True
            # Staff hear of it now: a patient who never answers the follow-up is not lost.
            # The follow-up's answer then sets the severity of this same escalation.
            self.actions.append(
                Escalate(Severity.REVIEW, "foot_problem", "something new on a foot; details asked")
            )
            self.replies.append("foot_followup")
            self.asks = Question.FOOT_FOLLOWUP
            return True
        return False

    def foot_followup(self) -> bool:
        number = self.menu_number() if self.strict else self.lead_number() or self.menu_number()
        if number not in FOOT_FOLLOWUP:
            options = [f.followup for f in self.screen.findings if f.followup is not None]
            if options:
                number = min(options)
            elif self.says("foot_other"):
                number = 4
            else:
                return False
        assert number is not None
        reason, words, severity = FOOT_FOLLOWUP[number]
        said = [f for f in self.screen.findings if f.followup == number]
        self.used |= {f.reason for f in said}
        worse = self.screen.combined(ANSWER_SIGNS.get(number, ""))
        if worse is not None:  # "2 and I have a fever": the answer is one of the signs
            self.used |= {worse.reason, *worse.first, *worse.second}
            severity, words = worse.severity, f"{words}; {worse.reason.replace('_', ' ')}"
        detail = words + (f'; said "{said[0].said}"' if said else "")
        self.intents.append(Intent.FOOT_OTHER if number == 4 else Intent.FOOT_PROBLEM)
        self.actions += [
            Observe(ObservationKind.FOOT_FOLLOWUP, number),
            Escalate(severity, reason, detail),
        ]
        self.replies.append(
            {
                Severity.EMERGENCY: "emergency",
                Severity.URGENT: "foot_urgent",
                Severity.ROUTINE: "foot_routine",
            }.get(severity, "foot_other")
        )
        if number == 4:
            self.review = True
        return True

    def exercise(self) -> bool:
        pain = self.screen.pain
        keyword = any(word in SKIP_KEYWORDS for word in self.words.split())
        if self.says("skip") and (
            keyword or not self.says("done")
        ):  # "... before I did them, SKIP"
            self.intents.append(Intent.EXERCISE_SKIP)
            self.actions.append(Observe(ObservationKind.EXERCISE_SKIPPED, pain))
            self.replies.append("exercise_skipped")
            skipped = self.context.skipped_in_a_row + 1
            if skipped >= SKIPS_TO_ESCALATE:  # DOMAIN.md: three days skipped in a row
                detail = f"skipped the exercises {skipped} times in a row"
                self.actions.append(Escalate(Severity.ROUTINE, "exercises_skipped", detail))
                self.review = True
            return True
        if self.says("done") or pain is not None:
            self.intents.append(Intent.EXERCISE_DONE)
            self.actions.append(Observe(ObservationKind.EXERCISE_DONE, pain))
            self.replies.append("exercise_done")
            return True
        return False

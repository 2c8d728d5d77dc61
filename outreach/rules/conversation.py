"""What a reply means: (patient, open questions, text) -> (intents, actions, replies).

Pure: no database, no clock, no I/O, so every rule is a row in a table-driven test.
`outreach.inbound` loads the context and applies the actions.

The order matters and is the point of this module:
1. the safety screen (`outreach.screen`) reads every reply first, whatever was asked and
   whatever the patient's consent or opt-out state: a danger sign always reaches staff;
2. opt-out keywords and clear requests to stop act at once;
3. the rest is an answer to the most recent open question whose options include it.
One reply may mean several things ("C but my foot is bleeding"): every action is applied,
and the patient gets one text, the most important part first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from outreach.rules.privacy import fold
from outreach.rules.replyrules import load_cached
from outreach.rules.screen import Finding, Rules, Screen, overlaps, screen
from outreach.rules.vocabulary import Severity

# Carriers and Twilio treat these as opt-out when they are the whole message.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "baja"}
)
# ... and these as opting back in. YES is also consent.
START_WORDS = frozenset({"start", "unstop", "yes", "si"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
# A reply that starts with one of these in capitals ("STOP my foot is bleeding") asks to stop.
LEADING_STOP = frozenset({"stop", "stopall", "unsubscribe", "optout", "baja"})
REACTION = re.compile(r"^\s*(\w+(?: \w+)?)\s+[\"“”«]")
FOOT_QUESTIONS = frozenset({"foot_check", "foot_followup"})


class Intent(StrEnum):
    OPT_OUT = "opt_out"  # a carrier keyword
    STOP_REQUEST = "stop_request"  # free text that clearly asks us to stop
    STOP_UNCLEAR = "stop_unclear"  # sounds like stopping, not clearly about our texts
    OPT_IN = "opt_in"
    HELP = "help"
    CONSENT = "consent"
    SESSION_CONFIRM = "session_confirm"
    SESSION_RESCHEDULE = "session_reschedule"
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
    severity: str  # emergency, urgent, routine, review
    reason: str
    detail: str = ""


Action = GrantConsent | OptOut | OptIn | SetAppointment | Observe | Escalate


@dataclass(frozen=True)
class Outcome:
    intents: tuple[Intent, ...]
    actions: tuple[Action, ...] = ()
    replies: tuple[str, ...] = ()  # template names, the most important first
    answers: Prompt | None = None  # the open question this reply closes
    also_answers: tuple[Prompt, ...] = ()  # others it answers in words
    asks: str | None = None  # a new question the reply opens (foot_followup)
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
# The text for a danger sign, by tier and reason; the first that applies wins.
PAIN_REASONS = frozenset({"pain", "severe_pain"})
FALL_REASONS = frozenset({"fall", "fall_with_injury"})
# The safety texts an answer may carry, by how pressing they are (Severity.rank).
SAFETY_TEXTS = {
    "emergency": 0,
    "foot_urgent": 1,
    "exercise_pain": 1,
    "foot_routine": 2,
    "fall": 2,
    "foot_other": 3,
    "review": 3,
}
# Texts that still make sense beside a safety text ("Glad your feet look good" does not).
KEEP_BESIDE_DANGER = frozenset(
    {"session_confirmed", "session_reschedule", "consent_granted", "opted_in"}
)


def default_rules(directory: Path | None = None) -> Rules:
    """The rules in `directory`, read once per process. A clinic's own templates folder
    without a replies/ folder uses the shipped rules: the words patients write do not
    change with the clinic's texts."""
    from outreach.config import REPO_ROOT

    shipped = REPO_ROOT / "templates" / "replies"
    return _rules(directory if directory is not None and directory.is_dir() else shipped)


_RULES: dict[Path, Rules] = {}


def _rules(directory: Path) -> Rules:
    found = _RULES.get(directory)
    if found is None:
        found = _RULES[directory] = Rules(load_cached(directory))
    return found


def normalise(text: str) -> str:
    """Lowercase, no accents, punctuation and stray spaces gone: ' Stop! ' -> 'stop'."""
    folded = fold(text).replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^\w/]+", " ", folded).split())


def interpret(
    context: PatientContext, prompts: list[Prompt], text: str, rules: Rules | None = None
) -> Outcome:
    """Decide what a reply means. `prompts` are the open questions, most recent first."""
    return _Reply(context, prompts, text, rules or default_rules()).outcome()


class _Reply:
    """One reply being understood: what was said, and what follows from it."""

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
        self.asks: str | None = None
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

    # --- building the outcome -------------------------------------------------------------

    def outcome(self) -> Outcome:
        self.decide()
        self.raise_danger()
        if not self.intents or self.intents == [Intent.STOP_UNCLEAR]:
            self.intents.append(Intent.UNKNOWN)
        if "?" in self.text and Intent.IGNORED not in self.intents:
            self.review = True  # a question: a person answers it
        replies = self.texts()
        return Outcome(
            intents=tuple(dict.fromkeys(self.intents)),
            actions=tuple(self.actions),
            replies=replies,
            answers=self.answers,
            also_answers=tuple(self.more_answers),
            asks=self.asks,
            prompt_for_options=self.options_of,
            needs_review=self.review,
            screen=self.screen,
            pain=self.screen.pain,
        )

    def decide(self) -> None:
        context = self.context
        keyword = self.words if self.words in STOP_WORDS else self.leading_stop()
        if keyword:
            if context.opted_out:  # one confirmation, nothing more
                self.intents.append(Intent.IGNORED)
                return
            self.intents.append(Intent.OPT_OUT)
            self.actions.append(OptOut(keyword))
            self.replies.append("opted_out")
            self.review = self.review or self.screen.findings != ()
            return
        if context.opted_out:
            if self.words in START_WORDS or self.says("opt_in"):
                self.intents.append(Intent.OPT_IN)
                self.actions.append(OptIn(self.words[:40]))
                self.replies.append("opted_in")
            else:
                self.intents.append(Intent.IGNORED)
                self.review = True
            return
        stop = self.stop_kind()
        if stop == "clear":
            self.intents.append(Intent.STOP_REQUEST)
            self.actions += [
                OptOut("free text"),
                Escalate(Severity.REVIEW, "stop_request", "asked to stop"),
            ]
            self.replies.append("opted_out")
            self.review = True
            return
        if stop == "unclear":
            self.intents.append(Intent.STOP_UNCLEAR)
            self.review = True
        if self.words in HELP_WORDS or self.whole("help"):
            self.intents.append(Intent.HELP)
            self.replies.append("help")
            return
        if not context.consent_granted:
            self.consent()
            return
        for prompt in self.prompts:
            if self.answer(prompt):
                if self.answers is None:
                    self.answers = prompt
                    self.strict = True  # later questions only by their own words
                else:
                    self.more_answers.append(prompt)
        if self.answers is not None:
            return
        if self.reacted:  # 'Disliked "..."', or a reaction to a text that asked nothing
            self.intents.append(Intent.REACTION)
            self.review = True
            return
        acknowledged = not self.prompts and self.whole("yes")  # "ok" with nothing asked
        if (
            acknowledged
            or self.whole("thanks")
            or (self.says("thanks") and not self.screen.findings)
        ):
            self.intents.append(Intent.THANKS)
            return

    def leading_stop(self) -> str | None:
        """'STOP my foot is bleeding': a stop word in capitals opening a longer reply."""
        first = self.text.strip().split(maxsplit=1)
        if len(first) < 2:
            return None
        word = re.sub(r"[^\w]", "", first[0])
        return fold(word) if word.isupper() and fold(word) in LEADING_STOP else None

    def consent(self) -> None:
        consent = next((p for p in self.prompts if p.kind == "consent"), None)
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
        if kind == "session" and prompt.ref is not None:
            return self.session(prompt.ref)
        if kind == "foot_check":
            return self.foot_check()
        if kind == "foot_followup":
            return self.foot_followup()
        if kind == "exercise":
            return self.exercise()
        return False

    def session(self, appointment: int) -> bool:
        letter = None if self.strict else self.lead_letter()
        if letter == "r" or self.says("reschedule"):
            self.intents.append(Intent.SESSION_RESCHEDULE)
            self.actions += [
                SetAppointment(appointment, "reschedule_requested"),
                Observe("reschedule_requested"),
                Escalate(Severity.ROUTINE, "reschedule", "asked to reschedule a session"),
            ]
            self.replies.append("session_reschedule")
            self.review = True
            return True
        if letter == "c" or self.says("confirm") or (self.says("yes") and not self.strict):
            self.intents.append(Intent.SESSION_CONFIRM)
            self.actions += [SetAppointment(appointment, "confirmed"), Observe("session_confirmed")]
            self.replies.append("session_confirmed")
            return True
        return False

    def foot_check(self) -> bool:
        number = self.menu_number() if self.strict else self.lead_number() or self.menu_number()
        foot_signs = [f for f in self.screen.findings if f.followup is not None]
        all_clear = self.says("foot_ok") or self.screen.cleared  # "no blisters today"
        if number == 1 or (number is None and not foot_signs and all_clear):
            self.intents.append(Intent.FOOT_OK)
            self.actions.append(Observe("foot_ok"))
            self.replies.append("foot_ok")
            return True
        if number == 2 or (number is None and (foot_signs or self.says("foot_new"))):
            self.intents.append(Intent.FOOT_PROBLEM)
            self.actions.append(Observe("foot_problem"))
            if foot_signs:  # they told us what it is: no need to ask
                return True
            # Staff hear of it now: a patient who never answers the follow-up is not lost.
            # The follow-up's answer then sets the severity of this same escalation.
            self.actions.append(
                Escalate(Severity.REVIEW, "foot_problem", "something new on a foot; details asked")
            )
            self.replies.append("foot_followup")
            self.asks = "foot_followup"
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
        self.actions += [Observe("foot_followup", number), Escalate(severity, reason, detail)]
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
            self.actions.append(Observe("exercise_skipped", pain))
            self.replies.append("exercise_skipped")
            skipped = self.context.skipped_in_a_row + 1
            if skipped >= SKIPS_TO_ESCALATE:  # DOMAIN.md: three days skipped in a row
                detail = f"skipped the exercises {skipped} times in a row"
                self.actions.append(Escalate(Severity.ROUTINE, "exercises_skipped", detail))
                self.review = True
            return True
        if self.says("done") or pain is not None:
            self.intents.append(Intent.EXERCISE_DONE)
            self.actions.append(Observe("exercise_done", pain))
            self.replies.append("exercise_done")
            return True
        return False

    def raise_danger(self) -> None:
        """Escalate what the screen found that no answer already carries: one escalation,
        at the most pressing tier, naming every sign and the words that raised it."""
        found = [f for f in self.screen.findings if f.reason not in self.used]
        symptoms = self.screen.symptoms
        if not found and not symptoms and self.screen.body and not self.understood():
            symptoms = self.screen.body  # "can you look at my foot": a person reads it
        if not found and not symptoms:
            return
        if Intent.SYMPTOM not in self.intents and found:
            self.intents.append(Intent.SYMPTOM)
        self.review = True
        if found:
            top = found[0]
            said = "; ".join(_said(f) for f in found)
            self.actions.append(Escalate(top.severity, top.reason, said[:300]))
        elif not self.escalations_raised():
            said = ", ".join(f'"{s}"' for s in symptoms)
            self.intents.append(Intent.SYMPTOM)
            self.actions.append(Escalate(Severity.REVIEW, "symptom", f"mentions {said}"[:300]))

    def understood(self) -> bool:
        """Something besides "not understood" was made of the reply."""
        return any(i not in (Intent.UNKNOWN, Intent.STOP_UNCLEAR) for i in self.intents)

    def escalations_raised(self) -> bool:
        return any(isinstance(a, Escalate) and a.reason != "reschedule" for a in self.actions)

    def texts(self) -> tuple[str, ...]:
        """The templates of the one text the patient gets, most important first."""
        if self.context.opted_out and Intent.OPT_IN not in self.intents:
            return ()  # the law allows no automated text after an opt-out
        if Intent.OPT_OUT in self.intents or Intent.STOP_REQUEST in self.intents:
            return ("opted_out",)  # the one confirmation, nothing more
        # The safety text: the most pressing of what the screen found and what an answer
        # said ("2 and I have a fever": the follow-up's emergency, not the fever's review).
        safety = [(SAFETY_TEXTS[r], r) for r in self.replies if r in SAFETY_TEXTS]
        danger = [f for f in self.screen.findings if f.reason not in self.used]
        if danger:
            safety.append((danger[0].rank, _danger_text(danger[0])))
        elif self.screen.symptoms or self.screen.body or Intent.STOP_UNCLEAR in self.intents:
            safety.append((Severity.REVIEW.rank, "review"))  # never a menu to them
        first = [min(safety)[1]] if safety else []
        rest = [r for r in self.replies if not first or r in KEEP_BESIDE_DANGER]
        texts = tuple(dict.fromkeys([*first, *rest]))
        if not texts and self.intents == [Intent.UNKNOWN]:
            self.review = True
            self.options_of = self.options_of or (self.prompts[0].kind if self.prompts else None)
            return ("unknown",)
        return texts


def _said(finding: Finding) -> str:
    """'bleeding: "my foot is bleeding"' for staff; a pain score speaks for itself."""
    if finding.reason == "pain":
        return finding.said
    return f'{finding.reason.replace("_", " ")}: "{finding.said}"'


def reaction(text: str, rules: Rules) -> str | None:
    """The reaction ('liked', 'le gustó') when a phone sent one as a text, else None."""
    found = REACTION.match(text)
    if found is None:
        return None
    verb = " ".join(fold(found[1]).split())
    for language in rules.languages.values():
        if any(" ".join(p.text.split()) == verb for p in language.section("reaction")):
            return verb
    return None


def _danger_text(finding: Finding) -> str:
    if finding.severity == Severity.EMERGENCY:
        return "emergency"
    if finding.reason in PAIN_REASONS:
        return "exercise_pain"
    if finding.reason in FALL_REASONS:
        return "fall"
    if finding.severity == Severity.URGENT:
        return "foot_urgent"
    if finding.severity == Severity.ROUTINE:
        return "foot_routine"
    return "review"


# Words that may stand beside an answer without changing it: "C please", "1 thanks".
NUMBER_WORDS = frozenset({"number", "option", "no", "num", "numero", "opcion", "la", "el"})
FILLER = frozenset(
    {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "ok", "okay"}
    | {"por", "favor", "gracias", "muchas"}
)


# How long an answer still binds to the question it answers.
REPLY_WINDOW_HOURS = {"consent": 24 * 30, "foot_check": 18, "foot_followup": 24, "exercise": 18}

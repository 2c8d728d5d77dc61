"""What a reply means: (patient, open questions, text) -> (intents, actions, replies).

Pure: no database, no clock, no I/O, so every rule is a row in a table-driven test.
`outreach.replies.inbound` loads the context and applies the actions.

The order matters and is the point of this module:
1. the safety screen (`screen.py`) reads every reply first, whatever was asked and
   whatever the patient's consent or opt-out state: a danger sign always reaches staff;
2. opt-out keywords and clear requests to stop act at once;
3. the rest is an answer to the most recent open question whose options include it
   (`answers.py`).
One reply may mean several things ("C but my foot is bleeding"): every action is applied,
and the patient gets one text, the most important part first.
"""

from __future__ import annotations

import re
from pathlib import Path

from outreach.rules.privacy import fold
from outreach.rules.replies.answers import Answers
from outreach.rules.replies.keywords import HELP_WORDS, LEADING_STOP, START_WORDS, STOP_WORDS
from outreach.rules.replies.outcome import (
    Escalate,
    Intent,
    OptIn,
    OptOut,
    Outcome,
    PatientContext,
    Prompt,
)
from outreach.rules.replies.reading import Rules
from outreach.rules.replies.rulefile import load_cached
from outreach.rules.replies.screen import Finding
from outreach.rules.vocabulary import Severity

# The rules shipped beside the code (templates/replies/ at the repository root), found from
# this file so that these pure rules import no configuration.
SHIPPED = Path(__file__).resolve().parents[3] / "templates" / "replies"

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
    {
        "session_confirmed",
        "session_reschedule",
        "consent_granted",
        "opted_in",
        "slot_taken",
        "slot_declined",
    }
)


def default_rules(directory: Path | None = None) -> Rules:
    """The rules in `directory`, read once per process. A clinic's own templates folder
    without a replies/ folder uses the shipped rules: the words patients write do not
    change with the clinic's texts."""
    return _rules(directory if directory is not None and directory.is_dir() else SHIPPED)


_RULES: dict[Path, Rules] = {}


def _rules(directory: Path) -> Rules:
    found = _RULES.get(directory)
    if found is None:
        found = _RULES[directory] = Rules(load_cached(directory))
    return found


def interpret(
    context: PatientContext, prompts: list[Prompt], text: str, rules: Rules | None = None
) -> Outcome:
    """Decide what a reply means. `prompts` are the open questions, most recent first."""
    return _Reply(context, prompts, text, rules or default_rules()).outcome()


class _Reply(Answers):
    """One reply being understood: what was said, and what follows from it."""

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

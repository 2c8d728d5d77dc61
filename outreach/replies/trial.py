"""What a reply would do, without writing anything: `outreach replies try`, the admin's
"Try a reply" page and bench/replies.py all read a reply through this one function."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outreach.config import LANGUAGES
from outreach.rules.replies.conversation import interpret
from outreach.rules.replies.outcome import (
    Escalate,
    GrantConsent,
    OptIn,
    OptOut,
    Outcome,
    PatientContext,
    Prompt,
)
from outreach.rules.replies.reading import Rules
from outreach.rules.vocabulary import Question
from outreach.texts.compose import compose
from outreach.texts.render import Renderer
from outreach.texts.templatecheck import sample_context

MAX_TEXT = 1600  # the longest text Twilio delivers as one message


class TryError(ValueError):
    """A try's input is wrong; the message says which field."""


@dataclass(frozen=True)
class Trial:
    """One reply to try, as `replies try` takes it (a command line or a JSONL line)."""

    text: str
    lang: str = "en"
    asked: tuple[str, ...] = ()  # open questions, most recent first
    opted_out: bool = False
    consented: bool = True
    pain_baseline: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # a JSONL line's other keys

    @classmethod
    def from_json(cls, data: object, where: str = "input") -> Trial:
        if not isinstance(data, dict):
            raise TryError(f"{where}: each line is a JSON object with at least 'text'")
        text = data.get("text")
        if not isinstance(text, str):
            raise TryError(f"{where}: 'text' must be a string")
        asked = data.get("asked", [])
        if not isinstance(asked, list) or not all(isinstance(a, str) for a in asked):
            raise TryError(f"{where}: 'asked' must be a list of question kinds")
        baseline = data.get("pain_baseline")
        if baseline is not None and (not isinstance(baseline, int) or not 0 <= baseline <= 10):
            raise TryError(f"{where}: 'pain_baseline' must be 0-10 or null, got {baseline!r}")
        for key in ("opted_out", "consented"):
            if key in data and not isinstance(data[key], bool):
                raise TryError(f"{where}: '{key}' must be true or false, got {data[key]!r}")
        known = {"text", "lang", "asked", "opted_out", "consented", "pain_baseline"}
        return cls(
            text=text,
            lang=str(data.get("lang", "en")),
            asked=tuple(asked),
            opted_out=bool(data.get("opted_out", False)),
            consented=bool(data.get("consented", True)),
            pain_baseline=baseline,
            extra={k: v for k, v in data.items() if k not in known},
        ).checked(where)

    def checked(self, where: str = "input") -> Trial:
        if self.lang not in LANGUAGES:
            raise TryError(f"{where}: 'lang' must be one of {', '.join(LANGUAGES)}")
        unknown = [kind for kind in self.asked if kind not in tuple(Question)]
        if unknown:
            raise TryError(f"{where}: unknown question {unknown[0]!r}; use {', '.join(Question)}")
        return self

    def prompts(self) -> list[Prompt]:
        # Ids and the appointment are stand-ins: nothing is read or written.
        return [
            Prompt(index + 1, kind, ref=1 if kind == Question.SESSION else None)
            for index, kind in enumerate(self.asked)
        ]

    def context(self) -> PatientContext:
        return PatientContext(
            consent_granted=self.consented,
            opted_out=self.opted_out,
            pain_baseline=self.pain_baseline,
            language=self.lang,
        )


def run(trial: Trial, rules: Rules | None = None) -> Outcome:
    return interpret(trial.context(), trial.prompts(), trial.text, rules)


def attempt(trial: Trial, renderer: Renderer, rules: Rules | None = None) -> dict[str, Any]:
    """`summary` with the text the patient would get, and the input line's "id" if it had
    one. Raises TemplateError if the clinic's templates cannot render that text."""
    outcome = run(trial, rules)
    result = summary(outcome, reply_text(outcome, renderer, trial.lang))
    return {"id": trial.extra["id"], **result} if "id" in trial.extra else result


def reply_text(outcome: Outcome, renderer: Renderer, language: str) -> str | None:
    """The one text the patient would get (as replies/inbound.py composes it), or None when
    nothing is sent. A try has no patient: the name and appointment are the samples of
    `templates check`."""
    if not outcome.replies:
        return None
    context = {
        **sample_context("session_confirmed", language),  # patient and starts_at
        "prompt": outcome.prompt_for_options,
    }
    return compose(renderer, outcome.replies, language, context).body


def from_form(fields: Mapping[str, list[str]]) -> Trial | dict[str, list[str]]:
    """The admin's "Try a reply" form as a Trial, or each field's problems."""
    errors: dict[str, list[str]] = {}
    text = _one(fields, "text")
    if not text.strip():
        errors["text"] = ["Type the reply to try."]
    elif len(text) > MAX_TEXT:
        errors["text"] = [f"A text holds at most {MAX_TEXT} characters; this has {len(text)}."]
    lang = _one(fields, "lang") or "en"
    if lang not in LANGUAGES:
        errors["lang"] = [f"Choose a language: {', '.join(LANGUAGES)}; got {lang!r}."]
    asked = tuple(kind for kind in fields.get("asked", []) if kind)
    unknown = [kind for kind in asked if kind not in tuple(Question)]
    if unknown:
        errors["asked"] = [f"Unknown question {unknown[0]!r}: choose from {', '.join(Question)}."]
    raw = _one(fields, "pain_baseline").strip()
    baseline = int(raw) if raw.isascii() and raw.isdigit() else None
    if raw and (baseline is None or baseline > 10):
        errors["pain_baseline"] = [
            f"Pain baseline is a whole number from 0 to 10, or blank; got {raw!r}."
        ]
    if errors:
        return errors
    return Trial(
        text=text,
        lang=lang,
        asked=asked,
        opted_out=bool(_one(fields, "opted_out")),
        consented=not _one(fields, "not_consented"),
        pain_baseline=baseline,
    )


def _one(fields: Mapping[str, list[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[0]


def summary(outcome: Outcome, reply: str | None = None) -> dict[str, Any]:
    """The JSON object `replies try --json` prints for one reply."""
    escalations = [a for a in outcome.actions if isinstance(a, Escalate)]
    severity = outcome.severity
    findings = outcome.screen.findings
    matched = [finding.said for finding in findings]
    matched += [said for said in outcome.screen.symptoms if said not in matched]
    return {
        "intents": [str(intent) for intent in outcome.intents],
        "escalation": None
        if severity is None
        else {
            "severity": str(severity),
            # Every escalation's reason, then every sign the screen found.
            "reasons": list(
                dict.fromkeys([e.reason for e in escalations] + [f.reason for f in findings])
            ),
            "matched": matched,
        },
        "opt_out": any(isinstance(a, OptOut) for a in outcome.actions),
        "opt_in": any(isinstance(a, OptIn) for a in outcome.actions),
        "consent": any(isinstance(a, GrantConsent) for a in outcome.actions),
        "needs_staff": needs_staff(outcome),
        "pain": outcome.pain,
        "templates": list(outcome.replies),
        "reply": reply,
    }


def needs_staff(outcome: Outcome) -> bool:
    """A person must read it: an escalation, a question, a stop, anything not understood."""
    return outcome.needs_review or outcome.severity is not None


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)

"""What a reply would do, without writing anything: `outreach replies try`, the admin's
"Try a reply" page and bench/replies.py all read a reply through this one function."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from outreach.conversation import (
    Escalate,
    GrantConsent,
    OptIn,
    OptOut,
    Outcome,
    PatientContext,
    Prompt,
    interpret,
)
from outreach.screen import Rules

KINDS = ("consent", "session", "foot_check", "foot_followup", "exercise")
LANGUAGES = ("en", "es")


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
        unknown = [kind for kind in self.asked if kind not in KINDS]
        if unknown:
            raise TryError(f"{where}: unknown question {unknown[0]!r}; use {', '.join(KINDS)}")
        return self

    def prompts(self) -> list[Prompt]:
        # Ids and the appointment are stand-ins: nothing is read or written.
        return [
            Prompt(index + 1, kind, ref=1 if kind == "session" else None)
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


def summary(outcome: Outcome, reply: str | None = None) -> dict[str, Any]:
    """The JSON object `replies try --json` prints for one reply."""
    escalations = [a for a in outcome.actions if isinstance(a, Escalate)]
    severity = outcome.severity
    matched = [finding.said for finding in outcome.screen.findings]
    matched += [said for said in outcome.screen.symptoms if said not in matched]
    return {
        "intents": [str(intent) for intent in outcome.intents],
        "escalation": None
        if severity is None
        else {
            "severity": str(severity),
            "reasons": [e.reason for e in escalations],
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

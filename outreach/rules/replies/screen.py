"""The safety screen: reads a reply for danger signs before anything else looks at it.

Pure and fast (well under a millisecond a reply). Every language's reading of the reply
(`reading.py`) is searched for the rules' danger signs; a sign is dropped when a phrase that
looks like one is not ("blood sugar"), or when a negation reaches it. Two signs together may
raise a higher tier (a combination), and a pain score (`pain.py`) raises its own.

The same readings serve `conversation.py` for answers in words ("I'll be there").
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.rules.replies.language import Combination, Sign
from outreach.rules.replies.pain import pain_score, pain_severity
from outreach.rules.replies.reading import Match, Reading, overlaps
from outreach.rules.vocabulary import Severity


@dataclass(frozen=True)
class Finding:
    severity: Severity
    reason: str
    said: str  # the patient's words that raised it, as read
    followup: int | None = None

    @property
    def rank(self) -> int:
        return self.severity.rank


@dataclass(frozen=True)
class Screen:
    """What the screen found: danger signs (most pressing first), a pain score, and
    mentions of a symptom that no sign placed."""

    findings: tuple[Finding, ...] = ()
    pain: int | None = None
    symptoms: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()  # signs read as negated: "no blisters", "sin heridas"
    body: tuple[str, ...] = ()  # parts of the body named, not negated: "my foot"
    combinations: tuple[Combination, ...] = ()

    @property
    def severity(self) -> Severity | None:
        return self.findings[0].severity if self.findings else None

    def combined(self, reason: str) -> Combination | None:
        """A combination that `reason`, added to what was found, would make: a foot
        follow-up answer "2" (red, hot or swollen) with "I have a fever" is an emergency."""
        found = {finding.reason for finding in self.findings} | {reason}
        for combo in self.combinations:
            if (
                reason in combo.first | combo.second
                and combo.first & found
                and combo.second & found
            ):
                return combo
        return None


def screen(
    readings: list[Reading], *, foot_question: bool = False, pain_baseline: int | None = None
) -> Screen:
    """Danger signs, pain and symptoms in a reply, from every language's reading of it.

    A sign one language finds is dropped if another language's rules read the same words
    as negated or as a false friend ("sin pus": Spanish negates what English would not)."""
    kept: list[tuple[Sign, Match, Reading]] = []
    excluded: set[int] = set()
    cleared: list[str] = []
    for reading in readings:
        signs, dropped, negated = _signs(reading, foot_question)
        kept += [(sign, match, reading) for sign, match in signs]
        excluded |= dropped
        cleared += [reason for reason in negated if reason not in cleared]
    findings: dict[str, Finding] = {}
    for sign, match, reading in kept:
        if excluded.isdisjoint(range(match.start, match.end)) and sign.reason not in findings:
            findings[sign.reason] = Finding(
                sign.severity, sign.reason, reading.said(match), sign.followup
            )
    for reading in readings:
        for combo in reading.language.combinations:
            if combo.reason in findings:
                continue
            if combo.first & findings.keys() and combo.second & findings.keys():
                parts = sorted((combo.first | combo.second) & findings.keys())
                said = ", ".join(findings[reason].said for reason in parts)
                findings[combo.reason] = Finding(combo.severity, combo.reason, said)
    pain = next((p for r in readings if (p := pain_score(r)) is not None), None)
    tier = pain_severity(pain, pain_baseline) if pain is not None else None
    if tier is not None and "pain" not in findings:
        said = f"pain {pain}/10" + (f" (baseline {pain_baseline})" if pain_baseline else "")
        findings["pain"] = Finding(tier, "pain", said)
    symptoms: list[str] = []
    for reading in readings:
        for said in _symptoms(reading, kept, scored=pain is not None):
            if said not in symptoms:
                symptoms.append(said)
    ordered = tuple(sorted(findings.values(), key=lambda f: (f.rank, f.reason)))
    combos = tuple(c for r in readings for c in r.language.combinations)
    body: list[str] = []
    for reading in readings:
        for match in reading.find("body"):
            said = reading.said(match)
            if not reading.negated(match) and said not in body:
                body.append(said)
    return Screen(ordered, pain, tuple(symptoms), tuple(cleared), tuple(body), combos)


def _signs(
    reading: Reading, foot_question: bool
) -> tuple[list[tuple[Sign, Match]], set[int], list[str]]:
    """The signs this reading keeps, the word positions it reads as not a sign, and the
    reasons it read as negated."""
    not_danger = reading.find("not-danger")
    body = reading.find("body")
    hits: list[tuple[Sign, Match]] = []
    excluded: set[int] = set()
    negated: list[str] = []
    for match, sign in reading.find_signs():
        assert sign is not None
        if overlaps(match, not_danger):
            continue
        if reading.negated(match):
            excluded.update(range(match.start, match.end))
            negated.append(sign.reason)
            continue
        if sign.needs_body and not (foot_question or reading.in_sentence_with(match, body)):
            continue
        hits.append((sign, match))
    # A longer phrase is the more exact reading: "almost fell" is not "fell".
    exact = [
        (sign, match)
        for sign, match in hits
        if not any(
            other.start <= match.start
            and match.end <= other.end
            and other.end - other.start > match.end - match.start
            for _, other in hits
        )
    ]
    # Only a false friend's own words are not a sign in any language: "blood pressure is
    # high and my chest feels tight" still has chest tightness in it.
    for span in not_danger:
        excluded.update(range(span.start, span.end))
    return exact, excluded, negated


def _symptoms(reading: Reading, kept: list[tuple[Sign, Match, Reading]], scored: bool) -> list[str]:
    placed = [match for _, match, r in kept if r is reading]
    ignore: list[Match] = []
    if scored:  # "pain 5/10" is an answer, not a complaint
        ignore += reading.find("answer:pain")
    return [
        reading.said(match)
        for match in reading.find("symptom")
        if not overlaps(match, placed)
        and not overlaps(match, ignore)
        and not reading.negated(match)
    ]

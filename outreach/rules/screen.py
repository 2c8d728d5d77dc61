"""The safety screen: reads a reply for danger signs before anything else looks at it.

Pure and fast (well under a millisecond a reply): the text is split into words, each word
is spelt the way the rules spell it (a typo within one edit of a rule's word is corrected,
with rapidfuzz), and the rules' phrases are matched. A sign is dropped when a phrase that
looks like one is not ("blood sugar"), or when a negation reaches it, NegEx style: a cue
before it ("no blisters", "sin heridas") or after it ("the cut healed"), within its clause,
unless the cue is part of a phrase that negates nothing ("won't stop bleeding").

The same words serve `outreach.conversation` for answers in words ("I'll be there").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from rapidfuzz import process
from rapidfuzz.distance import OSA

from outreach.rules.privacy import fold
from outreach.rules.replyrules import Combination, Element, Language, Phrase, Sign
from outreach.rules.vocabulary import Severity

HIGH_PAIN = 7  # pain of 7 or more: urgent
PAIN_RISE = 2  # 2 or more above the patient's usual: routine
NEGATION_BEFORE = 5  # how many words a negation cue reaches forward
NEGATION_AFTER = 4  # ... and back, for a cue after the sign ("healed")
FUZZY_FROM = 6  # words this long or longer may be corrected by one edit; 9 or more by two

_PIECES = re.compile(r"\d+(?:[/:.]\d+)?|[^\W\d_]+|[.!?;\n]|[,:()\-]")
_SENTENCE_END = frozenset(".!?;\n")
_CLAUSE_END = frozenset(",:()-")
# Skin tones and the emoji presentation selector change nothing about what an emoji says.
_EMOJI_MODIFIERS = re.compile("[\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff]")
_REPEATS = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True)
class Match:
    start: int
    end: int  # exclusive
    phrase: Phrase


@dataclass(frozen=True)
class Finding:
    severity: Severity
    reason: str
    said: str  # the patient's words that raised it, as read
    followup: int | None = None

    @property
    def rank(self) -> int:
        return self.severity.rank


class Reading:
    """A reply's words as one language's rules read them."""

    def __init__(self, text: str, language: Language, corrector: Corrector) -> None:
        self.language = language
        words: list[str] = []
        sentence: list[int] = []
        clause: list[int] = []
        s = c = 0
        breaks = _break_words(language)
        for piece in _PIECES.findall(_prepare(text, language)):
            if piece in _SENTENCE_END:
                s, c = s + 1, c + 1
            elif piece in _CLAUSE_END:
                c += 1
            elif piece in breaks:
                c += 1
                words.append(piece)
                sentence.append(s)
                clause.append(c)
            else:
                words.append(corrector.correct(piece))
                sentence.append(s)
                clause.append(c)
        self.words = words
        self.sentence = sentence
        self.clause = clause

    def find(self, section: str) -> list[Match]:
        """Every match of a section's phrases (see `Language.index`)."""
        return [match for match, _ in self.find_signs(section)]

    def find_signs(self, section: str = "signs") -> list[tuple[Match, Sign | None]]:
        index = self.language.index(section)
        found: list[tuple[Match, Sign | None]] = []
        for phrase, sign in index.whole:
            if _match_at(self, phrase.elements, 0, 0) == len(self.words):
                found.append((Match(0, len(self.words), phrase), sign))
        for start, word in enumerate(self.words):
            for phrase, sign in index.starting_with(word):
                if phrase.opens_clause and start and self.clause[start] == self.clause[start - 1]:
                    continue
                end = _match_at(self, phrase.elements, 0, start)
                if end > start:
                    found.append((Match(start, end, phrase), sign))
        return found

    def said(self, match: Match) -> str:
        return " ".join(self.words[match.start : match.end])

    @cached_property
    def _cues(self) -> tuple[list[Match], list[Match], list[Match], list[Match]]:
        pseudo = self.find("not-negation")
        # A cue that shares a word with a phrase negating nothing is part of it: "ya no para
        # de sangrar" is "ya" + "no para de sangrar", still bleeding.
        before = [m for m in self.find("negation-before") if not overlaps(m, pseudo)]
        after = [m for m in self.find("negation-after") if not overlaps(m, pseudo)]
        return before, after, self.find("scope-end"), self.find("scope-end-after")

    def negated(self, match: Match) -> bool:
        """A negation cue reaches this match: before it in its clause with no scope end in
        between, or just after it."""
        before, after, scope_ends, after_ends = self._cues
        for cue in before:
            if match.start < cue.start < match.end:
                return True  # inside the phrase's gap: "el dedo ya no está morado"
            if cue.end > match.start or cue.start == match.start:
                continue
            if match.start - cue.end > NEGATION_BEFORE or not self._same_clause(
                cue.end - 1, match.start
            ):
                continue
            if any(cue.end <= end.start < match.start for end in scope_ends):
                continue
            return True
        for cue in after:
            if cue.start < match.end or cue.start - match.end > NEGATION_AFTER:
                continue
            if any(match.end <= end.start < cue.start for end in after_ends):
                continue  # "my heel is bleeding and the rest is fine"
            if self._same_clause(match.end - 1, cue.start):
                return True
        return False

    def _same_clause(self, a: int, b: int) -> bool:
        return self.clause[a] == self.clause[b]

    def in_sentence_with(self, match: Match, others: list[Match]) -> bool:
        return any(self.sentence[o.start] == self.sentence[match.start] for o in others)


def _inside(match: Match, spans: list[Match]) -> bool:
    return any(span.start <= match.start and match.end <= span.end for span in spans)


def overlaps(match: Match, spans: list[Match]) -> bool:
    """`match` shares a word with one of `spans`."""
    return any(span.start < match.end and match.start < span.end for span in spans)


def _match_at(reading: Reading, elements: tuple[Element, ...], index: int, at: int) -> int:
    """Where `elements[index:]` ends if it matches from word `at` (-1 if it does not).
    A gap skips up to GAP_WORDS words, never across a sentence."""
    if index == len(elements):
        return at
    element = elements[index]
    words = reading.words
    if element.gap:
        nxt = elements[index + 1]
        for skip in range(0, 5):
            pos = at + skip
            if pos >= len(words) or reading.sentence[pos] != reading.sentence[at - 1]:
                return -1
            if nxt.accepts(words[pos]):
                end = _match_at(reading, elements, index + 1, pos)
                if end >= 0:
                    return end
        return -1
    if at >= len(words) or not element.accepts(words[at]):
        return -1
    if at > 0 and index > 0 and reading.sentence[at] != reading.sentence[at - 1]:
        return -1
    return _match_at(reading, elements, index + 1, at + 1)


def _break_words(language: Language) -> frozenset[str]:
    words: set[str] = set()
    for phrase in language.section("clause-break"):
        if len(phrase.elements) == 1:
            words |= phrase.elements[0].words
    return frozenset(words)


def _prepare(text: str, language: Language) -> str:
    """Emojis as the language's words, then lowercase without accents or apostrophes."""
    text = _EMOJI_MODIFIERS.sub("", text)
    if language.emoji:
        text = "".join(f" {language.emoji[ch]} " if ch in language.emoji else ch for ch in text)
    folded = fold(unicodedata.normalize("NFKC", text))
    return folded.replace("'", "").replace("\u2019", "").replace("`", "")


@dataclass
class Corrector:
    """Spells a word as the rules do: the file's own spellings first, then one edit away
    (two for long words) from a word the rules use, unless the word is a known real one."""

    language: Language
    _cache: dict[str, str] = field(default_factory=dict)

    @cached_property
    def _by_initial(self) -> dict[str, list[str]]:
        """Typos rarely change a word's first letter: "calling" is not "falling"."""
        words: dict[str, list[str]] = {}
        for word in sorted(self.language.vocabulary()):
            words.setdefault(word[0], []).append(word)
        return words

    @cached_property
    def _exact(self) -> frozenset[str]:
        language = self.language
        return frozenset(language.words()) | language.known | set(language.numbers)

    @cached_property
    def _stems(self) -> tuple[str, ...]:
        return self.language.stems()

    def correct(self, word: str) -> str:
        found = self._cache.get(word)
        if found is None:
            found = self._correct(word)
            if len(self._cache) < 50_000:
                self._cache[word] = found
        return found

    def _correct(self, word: str) -> str:
        spelling = self.language.spelling
        if word in spelling:
            return spelling[word]
        if word in self._exact or not word.isalpha() or word.startswith(self._stems):
            return word
        if _REPEATS.search(word):  # "yesss", "bleeeding", "noooo"
            for squeezed in (_REPEATS.sub(r"\1\1", word), _REPEATS.sub(r"\1", word)):
                if squeezed in spelling:
                    return spelling[squeezed]
                if squeezed in self._exact:
                    return squeezed
            word = _REPEATS.sub(r"\1\1", word)
        if len(word) < FUZZY_FROM:
            return word
        limit = 2 if len(word) >= 9 else 1
        candidates = self._by_initial.get(word[0], [])
        best = process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=limit)
        return str(best[0]) if best is not None else word


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


class Rules:
    """Every language's rules with their spelling correctors: read a reply once per language."""

    def __init__(self, languages: dict[str, Language]) -> None:
        if not languages:
            raise ValueError("no reply rules")
        self.languages = languages
        self.correctors = {code: Corrector(language) for code, language in languages.items()}

    def read(self, text: str, language: str) -> list[Reading]:
        """The reply read by each language's rules, the patient's own language first:
        patients mix languages, and a danger sign must be seen in either."""
        order = sorted(self.languages, key=lambda code: code != language)
        return [Reading(text, self.languages[code], self.correctors[code]) for code in order]


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


def pain_severity(pain: int, baseline: int | None) -> Severity | None:
    """Pain of 7 or more is urgent; 2 or more above the patient's own usual, routine."""
    if pain >= HIGH_PAIN:
        return Severity.URGENT
    if baseline is not None and pain >= baseline + PAIN_RISE:
        return Severity.ROUTINE
    return None


OUT_OF = (["out", "of"], ["of"], ["de"], ["sobre"])


def pain_score(reading: Reading) -> int | None:
    """A 0-10 pain score written anywhere: 'DONE 3', 'pain about 5/10', 'dolor de 3',
    'pain: seven', '8 out of 10'. Numbers over 10 (blood sugar, reps) are not pain."""
    words = reading.words

    def number(index: int) -> int | None:
        if not 0 <= index < len(words):
            return None
        word = words[index]
        if "/" in word:
            top, _, bottom = word.partition("/")
            return int(top) if bottom == "10" and top.isdigit() and int(top) <= 10 else None
        value = int(word) if word.isdigit() else reading.language.numbers.get(word)
        return value if value is not None and value <= 10 else None

    for index, word in enumerate(words):  # "5/10", "5 out of 10", "5 de 10"
        if "/" in word and (value := number(index)) is not None:
            return value
        for link in OUT_OF:
            after = index + 1 + len(link)
            if words[index + 1 : after] == link and words[after : after + 1] == ["10"]:
                value = number(index)
                if value is not None:
                    return value
    cues = reading.find("answer:pain") + reading.find("answer:done")
    for cue in cues:  # "pain 8", "pain is about a 5", "done 3"
        for index in range(cue.end, min(cue.end + 5, len(words))):
            # "done. seven today": the score may open the next sentence, nothing further.
            if reading.sentence[index] != reading.sentence[cue.end - 1] and index > cue.end:
                break
            if (value := number(index)) is not None:
                return value
    for cue in reading.find("answer:pain"):  # "an 8 of pain", "8 de dolor"
        for index in range(max(0, cue.start - 3), cue.start):
            same = reading.sentence[index] == reading.sentence[cue.start]
            if same and (value := number(index)) is not None:
                return value
    return None

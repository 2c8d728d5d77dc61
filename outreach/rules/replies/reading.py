"""A reply read by one language's rules: its words, clauses and sentences, the rules'
phrases matched in them, and which matches a negation reaches.

The text is split into words, each spelt the way the rules spell it (`spelling.py`), and
the rules' phrases are matched. A negation reaches a match NegEx style: a cue before it
("no blisters", "sin heridas") or after it ("the cut healed"), within its clause, unless the
cue is part of a phrase that negates nothing ("won't stop bleeding"). `Rules` reads a reply
once per language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from outreach.rules.privacy import fold
from outreach.rules.replies.language import Element, Language, Phrase, Sign
from outreach.rules.replies.spelling import Corrector

NEGATION_BEFORE = 5  # how many words a negation cue reaches forward
NEGATION_AFTER = 4  # ... and back, for a cue after the sign ("healed")

_PIECES = re.compile(r"\d+(?:[/:.]\d+)?|[^\W\d_]+|[.!?;\n]|[,:()\-]")
_SENTENCE_END = frozenset(".!?;\n")
_CLAUSE_END = frozenset(",:()-")
# Skin tones and the emoji presentation selector change nothing about what an emoji says.
_EMOJI_MODIFIERS = re.compile("[\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True)
class Match:
    start: int
    end: int  # exclusive
    phrase: Phrase


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

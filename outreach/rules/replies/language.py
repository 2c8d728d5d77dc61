"""The reply rules compiled: one language's phrases, danger signs and combinations.

`rulefile.py` builds a `Language` from a file in templates/replies/; `reading.py` matches its
phrases against a reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from outreach.rules.vocabulary import Severity

GAP_WORDS = 4  # `...` in a phrase: up to this many other words in between
TYPO_TARGETS = frozenset({"body", "symptom"})  # besides the danger signs and the answers


@dataclass(frozen=True)
class Element:
    """One position of a phrase: any of `words`, any word starting with one of `prefixes`,
    or, when `gap`, up to GAP_WORDS other words."""

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    gap: bool = False

    def accepts(self, token: str) -> bool:
        return token in self.words or token.startswith(self.prefixes)


@dataclass(frozen=True)
class Phrase:
    elements: tuple[Element, ...]
    text: str  # as written in the file, for staff and for errors
    line: int
    whole: bool = False  # `= ...`: only when it is the whole message
    opens_clause: bool = False  # `^ ...`: only at the start of a clause ("^ si": yes, not "if")


class PhraseIndex:
    """Phrases by their first word (or the first three letters of a stem), so a reply is
    tried only against the phrases that can start at each of its words."""

    def __init__(self, items: list[tuple[Phrase, Sign | None]]) -> None:
        self.whole = [(p, sign) for p, sign in items if p.whole]
        self.by_word: dict[str, list[tuple[Phrase, Sign | None]]] = {}
        self.by_stem: dict[str, list[tuple[str, Phrase, Sign | None]]] = {}
        for phrase, sign in items:
            if phrase.whole:
                continue
            first = phrase.elements[0]
            for word in first.words:
                self.by_word.setdefault(word, []).append((phrase, sign))
            for stem in first.prefixes:
                self.by_stem.setdefault(stem[:3], []).append((stem, phrase, sign))

    def starting_with(self, word: str) -> Iterator[tuple[Phrase, Sign | None]]:
        yield from self.by_word.get(word, ())
        for stem, phrase, sign in self.by_stem.get(word[:3], ()):
            if word.startswith(stem):
                yield phrase, sign


@dataclass(frozen=True)
class Sign:
    """A section of danger signs: a tier, a reason and its phrases."""

    severity: Severity
    reason: str
    phrases: tuple[Phrase, ...]
    followup: int | None = None  # the foot follow-up option it answers (1-4)
    needs_body: bool = False  # counts only beside a body word ("red" alone is not a foot)


@dataclass(frozen=True)
class Combination:
    """Two reasons found together raise a higher tier: fever + a red foot = emergency."""

    severity: Severity
    reason: str
    first: frozenset[str]
    second: frozenset[str]


@dataclass
class Language:
    """Everything one language's file says, compiled."""

    code: str
    path: Path
    signs: list[Sign] = field(default_factory=list)
    combinations: list[Combination] = field(default_factory=list)
    phrases: dict[str, list[Phrase]] = field(default_factory=dict)  # by section or answer
    spelling: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    emoji: dict[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)  # real words never "corrected"
    _indexes: dict[str, PhraseIndex] = field(default_factory=dict, repr=False)

    def section(self, name: str) -> list[Phrase]:
        return self.phrases.get(name, [])

    def index(self, name: str) -> PhraseIndex:
        """The phrases of a section ("signs" for all danger signs), by their first word."""
        found = self._indexes.get(name)
        if found is None:
            items: list[tuple[Phrase, Sign | None]]
            if name == "signs":
                items = [(phrase, sign) for sign in self.signs for phrase in sign.phrases]
            else:
                items = [(phrase, None) for phrase in self.section(name)]
            found = self._indexes[name] = PhraseIndex(items)
        return found

    def vocabulary(self) -> set[str]:
        """The words a typo may be corrected to: the words of danger signs, symptoms, body
        parts and answers (never a negation or a false friend: "heating" must not become
        "healing")."""
        words: set[str] = set()
        for phrase in self._all_phrases(TYPO_TARGETS):
            for element in phrase.elements:
                words |= {word for word in element.words if word.isalpha()}
        return words | set(self.spelling.values())

    def words(self) -> set[str]:
        """Every literal word of every section: none of them is ever "corrected"."""
        return {w for phrase in self._all_phrases(None) for e in phrase.elements for w in e.words}

    def stems(self) -> tuple[str, ...]:
        """Every 'stem*' of every phrase: a word that starts with one is left as written."""
        stems: set[str] = set()
        for phrase in self._all_phrases(None):
            for element in phrase.elements:
                stems |= set(element.prefixes)
        return tuple(sorted(stems))

    def _all_phrases(self, sections: frozenset[str] | None) -> Iterator[Phrase]:
        for sign in self.signs:
            yield from sign.phrases
        for name, phrases in self.phrases.items():
            if sections is None or name in sections or name.startswith("answer:"):
                yield from phrases

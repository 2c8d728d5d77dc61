"""Spelling correction: a reply's word spelt the way the rules spell it.

The rule file's own spellings first, then a typo within one edit of a rule's word (two for
long words), with rapidfuzz; a known real word is never "corrected".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from rapidfuzz import process
from rapidfuzz.distance import OSA

from outreach.rules.replies.language import Language

FUZZY_FROM = 6  # words this long or longer may be corrected by one edit; 9 or more by two
_REPEATS = re.compile(r"([a-z])\1{2,}")


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

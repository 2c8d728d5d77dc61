"""The reply rules as data: one file per language in templates/replies/, read and checked once.

A clinician extends them without touching code (the format is at the top of each file).
Every line is validated at start: a bad one stops `outreach run` and `outreach serve` with
the file and the line, e.g. ``templates/replies/en.rules:42: unknown section [urgnt wound]``.
`outreach templates check` checks them too.

This module only reads and compiles; `outreach.screen` and `outreach.conversation` use the
result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from outreach.rules.errors import ConfigError
from outreach.rules.privacy import fold
from outreach.rules.vocabulary import Severity

SUFFIX = ".rules"
GAP_WORDS = 4  # `...` in a phrase: up to this many other words in between
REASON = re.compile(r"[a-z][a-z0-9_]{1,38}")
WORD = re.compile(r"[a-z0-9]+(?:/[a-z0-9]+)?")
ANSWERS = frozenset(
    {
        "yes",  # agreement: consent, a session confirmation, "ok"
        "confirm",  # only a session confirmation
        "reschedule",
        "consent",  # only agreement to join
        "done",
        "skip",
        "foot_ok",
        "foot_new",
        "foot_other",
        "help",
        "opt_in",
        "thanks",
        "pain",  # words that introduce a pain score: "pain", "dolor"
    }
)
# Sections holding phrases, and what their lines mean. `[TIER reason ...]` holds danger signs.
PHRASE_SECTIONS = frozenset(
    {
        "not-danger",  # look like a danger sign and are not: "blood sugar"
        "negation-before",  # negate a sign that follows: "no", "sin"
        "negation-after",  # negate a sign before them: "healed", "ya sanó"
        "not-negation",  # hold a negation word and negate nothing: "won't stop", "no para de"
        "clause-break",  # end a negation's reach: "but", "pero"
        "body",  # parts of the body: a sign that needs one ("red") counts beside one
        "symptom",  # a symptom no sign places ("numb", "dizzy"): a person reads it
        "scope-end",  # end the reach of a negation before them: "no, it is bleeding"
        "scope-end-after",  # end the reach of one after them: "bleeding and the rest is fine"
        "stop",  # clear requests to stop our texts
        "stop-unclear",  # with a stop phrase, make it a question for staff: "in English"
        "stop-maybe",  # hint at stopping without being clear: a person reads it
        "not-stop",  # cancel a stop phrase: "don't want them to stop"
        "reaction",  # a phone's reaction sent as a text: 'Liked "..."'
    }
)
MAP_SECTIONS = frozenset({"spelling", "number", "emoji", "known"})
TYPO_TARGETS = frozenset({"body", "symptom"})  # besides the danger signs and the answers


class RulesError(ConfigError):
    """A rule file is wrong; the message names the file and the line. A configuration
    error: `outreach run` and `outreach serve` refuse to start on one."""


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


def compile_phrase(text: str, line: int, where: str) -> Phrase:
    """'bleed*|blood ... foot' -> elements; raises RulesError naming `where`."""
    whole = text.startswith("= ")
    opens_clause = text.startswith("^ ")
    body = text[2:] if whole or opens_clause else text
    elements: list[Element] = []
    for part in body.split():
        if part == "...":
            if not elements or elements[-1].gap:
                raise RulesError(f"{where}: '...' must stand between two words: {text!r}")
            elements.append(Element(gap=True))
            continue
        words: set[str] = set()
        prefixes: list[str] = []
        for option in part.split("|"):
            folded = fold(option)
            stem = folded[:-1] if folded.endswith("*") else folded
            if not WORD.fullmatch(stem):
                raise RulesError(
                    f"{where}: {option!r} is not a word (letters and digits, "
                    f"'word*' for any ending, 'a|b' for either): {text!r}"
                )
            if folded.endswith("*"):
                if len(stem) < 3:
                    raise RulesError(f"{where}: {option!r} is too short a stem to end in '*'")
                prefixes.append(stem)
            else:
                words.add(stem)
        elements.append(Element(frozenset(words), tuple(prefixes)))
    if not elements:
        raise RulesError(f"{where}: an empty phrase")
    if elements[-1].gap:
        raise RulesError(f"{where}: '...' must stand between two words: {text!r}")
    return Phrase(tuple(elements), text, line, whole, opens_clause)


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[: exc.start].count(b"\n") + 1
        raise RulesError(f"{path}:{bad}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            yield number, line


def _header(words: list[str], where: str) -> tuple[str, dict[str, str]]:
    """'[urgent open_wound followup=1]' -> ('urgent', {'reason': 'open_wound', 'followup': '1'})"""
    kind, *rest = words
    options: dict[str, str] = {}
    for word in rest:
        key, sep, value = word.partition("=")
        if sep:
            options[key] = value
        elif "reason" not in options:
            options["reason"] = word
        else:
            raise RulesError(f"{where}: unexpected {word!r} in the section header")
    return kind, options


@dataclass
class _Draft:
    """A danger-sign section while its lines are read."""

    severity: Severity
    reason: str
    followup: int | None
    needs_body: bool
    header: str
    line: int
    phrases: list[Phrase] = field(default_factory=list)

    def sign(self, path: Path) -> Sign:
        if not self.phrases:
            raise RulesError(f"{path}:{self.line}: section [{self.header}] has no phrases")
        return Sign(self.severity, self.reason, tuple(self.phrases), self.followup, self.needs_body)


def parse_language(path: Path) -> Language:
    language = Language(code=path.name.removesuffix(SUFFIX), path=path)
    section: str | None = None
    sign: _Draft | None = None
    combine_lines: list[int] = []

    def close_sign() -> None:
        if sign is not None:
            language.signs.append(sign.sign(path))

    for number, line in _lines(path):
        where = f"{path}:{number}"
        if line.startswith("["):
            if not line.endswith("]"):
                raise RulesError(f"{where}: a section header ends with ']': {line!r}")
            close_sign()
            sign = None
            kind, options = _header(line[1:-1].split(), where)
            section = _open_section(kind, options, where)
            if section == "sign":
                sign = _sign_header(kind, options, line[1:-1], number, where)
            continue
        if section is None:
            raise RulesError(f"{where}: a line before any [section]: {line!r}")
        if sign is not None:
            sign.phrases.append(compile_phrase(line, number, where))
        elif section == "combine":
            language.combinations.append(_combination(line, where))
            combine_lines.append(number)
        elif section in MAP_SECTIONS:
            _map_line(language, section, line, where)
        else:
            language.phrases.setdefault(section, []).append(compile_phrase(line, number, where))
    close_sign()
    known_reasons = {s.reason for s in language.signs}
    for combination, number in zip(language.combinations, combine_lines, strict=True):
        unknown = (combination.first | combination.second) - known_reasons
        if unknown:
            raise RulesError(
                f"{path}:{number}: [combine] names reasons no section has: {sorted(unknown)}"
            )
    return language


def _open_section(kind: str, options: dict[str, str], where: str) -> str:
    if kind in {s.value for s in Severity}:
        return "sign"
    if kind == "answer":
        name = options.get("reason", "")
        if name not in ANSWERS:
            raise RulesError(
                f"{where}: [answer {name}]: choose one of {', '.join(sorted(ANSWERS))}"
            )
        return f"answer:{name}"
    if kind in PHRASE_SECTIONS or kind in MAP_SECTIONS or kind == "combine":
        if options:
            raise RulesError(f"{where}: [{kind}] takes no options")
        return kind
    choices = sorted({*PHRASE_SECTIONS, *MAP_SECTIONS, "combine", "answer NAME"})
    tiers = "|".join(s.value for s in Severity)
    raise RulesError(
        f"{where}: unknown section [{kind}]: use [{tiers} reason], or one of {', '.join(choices)}"
    )


def _sign_header(
    kind: str, options: dict[str, str], header: str, number: int, where: str
) -> _Draft:
    reason = options.pop("reason", "")
    if not REASON.fullmatch(reason):
        raise RulesError(f"{where}: [{header}] needs a reason like open_wound after the tier")
    followup = options.pop("followup", None)
    if followup is not None and followup not in {"1", "2", "3", "4"}:
        raise RulesError(f"{where}: followup= is an answer of the foot follow-up, 1 to 4")
    needs = options.pop("needs", None)
    if needs not in (None, "body"):
        raise RulesError(f"{where}: needs= takes only 'body'")
    if options:
        raise RulesError(f"{where}: unknown option {next(iter(options))!r} in [{header}]")
    return _Draft(
        Severity(kind), reason, int(followup) if followup else None, needs == "body", header, number
    )


def _combination(line: str, where: str) -> Combination:
    """'emergency fever_with_red_foot = fever|unwell + red_hot_swollen'"""
    match = re.fullmatch(r"(\w+)\s+(\w+)\s*=\s*([\w|]+)\s*\+\s*([\w|]+)", line)
    if match is None or match[1] not in {s.value for s in Severity}:
        raise RulesError(f"{where}: a combination reads 'TIER reason = a|b + c', not {line!r}")
    return Combination(
        Severity(match[1]),
        match[2],
        frozenset(match[3].split("|")),
        frozenset(match[4].split("|")),
    )


def _map_line(language: Language, section: str, line: str, where: str) -> None:
    if section == "known":
        for word in line.split():
            language.known.add(fold(word))
        return
    left, sep, right = line.partition("=")
    left, right = left.strip(), right.strip()
    if not sep or not left or not right:
        raise RulesError(f"{where}: [{section}] lines read 'this = that', not {line!r}")
    if section == "emoji":
        language.emoji[left] = " ".join(fold(right).split())
    elif section == "number":
        if not right.isdigit() or int(right) > 10:
            raise RulesError(f"{where}: a [number] is 0 to 10, not {right!r}")
        for word in left.split("|"):
            language.numbers[fold(word)] = int(right)
    else:
        target = fold(right)
        if not WORD.fullmatch(target):
            raise RulesError(f"{where}: [spelling] maps to one word, not {right!r}")
        for word in left.split("|"):
            language.spelling[fold(word)] = target


def load(directory: Path) -> dict[str, Language]:
    """Every language's rules in `directory` (en.rules, es.rules...)."""
    if not directory.is_dir():
        raise RulesError(f"{directory}: no reply rules folder")
    languages = {path.name.removesuffix(SUFFIX): path for path in directory.glob(f"*{SUFFIX}")}
    if not languages:
        raise RulesError(f"{directory}: no *{SUFFIX} files")
    return {code: parse_language(path) for code, path in sorted(languages.items())}


@cache
def load_cached(directory: Path) -> dict[str, Language]:
    """Read once per process: the rules are fixed for a process's life."""
    return load(directory)

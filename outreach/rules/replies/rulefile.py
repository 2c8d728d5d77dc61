"""The reply rule files: one per language in templates/replies/, read and checked once.

A clinician extends them without touching code (the format is at the top of each file).
Every line is validated at start: a bad one stops `outreach run` and `outreach serve` with
the file and the line, e.g. ``templates/replies/en.rules:42: unknown section [urgnt wound]``.
`outreach templates check` checks them too.

This module only reads and compiles into the types of `language.py`; `screen.py` and
`conversation.py` use the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from outreach.rules.errors import ConfigError
from outreach.rules.privacy import fold
from outreach.rules.replies.language import Combination, Element, Language, Phrase, Sign
from outreach.rules.vocabulary import Severity

SUFFIX = ".rules"
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


class RulesError(ConfigError):
    """A rule file is wrong; the message names the file and the line. A configuration
    error: `outreach run` and `outreach serve` refuse to start on one."""


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

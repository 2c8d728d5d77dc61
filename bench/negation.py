"""Negation, measured: outreach's NegEx-style rules against negspacy (NegEx on spaCy).

    uv run --with spacy==3.8.* --with negspacy==1.1.0 python bench/negation.py
    uv run --with spacy==3.8.* --with negspacy==1.1.0 python bench/negation.py --json

spaCy and negspacy are not outreach dependencies: `uv run --with` puts them in a throwaway
environment beside the project's for this run only.

Both methods judge the same danger signs. For each reply of the labelled corpus
(tests/corpus/replies_*.jsonl) the reply is read by its own language's rules and every
danger-sign match is taken as `outreach.rules.replies.screen` takes it before negation:
`find_signs()`, less matches overlapping a [not-danger] phrase ("blood sugar") and needs=body
signs with no body word and no foot question open. Each match is then judged negated or not:

- outreach: `Reading.negated` (the rules' negation-before, negation-after, not-negation,
  scope-end and clause-break sections);
- negspacy: the same matches, as character spans of the reply as written, put in the
  doc's span group "sc" (span_keys=["sc"]: signs may overlap, which doc.ents forbids) of a
  spacy.blank pipeline with a sentencizer and negspacy's "negex" component. No trained
  model is needed (or available here): negex reads only tokens, sentence starts and spans.

A sign survives, as in `screen`, when it is not negated and no negated or not-danger match
shares its words. A reply raises a sign when any sign survives. Scored against the labels:

- sign recall: safety-critical replies labelled emergency, urgent or routine that raise a
  sign (over all of them, and over those where the matcher found a sign at all: the rest are
  misses of the matcher, or pain scores, the same for both methods);
- false alarms: replies of category negated_or_false_friend labelled no escalation that
  still raise a sign.

Also: every reply where the two judge a sign differently, and which one the label bears
out; time per reply (median over replies with a sign match; outreach: the `negated()` calls
on a fresh reading, its cues found on the first; negspacy: tokenizer, spans, sentencizer and
negex, the whole pipeline call; the reading itself, which both need, is not timed); start-up
(in a fresh process, the interpreter's own start not counted: imports, then our rules loaded
or the pipeline built, then a first reply; with bytecode cached and without); install size
(du of the files of spaCy, negspacy and everything they require, as `uv run --with`
installs them, against rapidfuzz's). Our start-up imports outreach.config (phonenumbers)
too, as the service does; negspacy's would come on top of our rules, which still find the
signs.

negspacy 1.1.0 ships term sets en, en_clinical (its default), en_clinical_sensitive and
es_clinical. English is scored with all three English sets; Spanish with es_clinical and,
for what it is, en_clinical.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outreach.rules.privacy import fold
from outreach.rules.replies.answers import FOOT_QUESTIONS
from outreach.rules.replies.language import Language
from outreach.rules.replies.reading import (
    _CLAUSE_END,
    _EMOJI_MODIFIERS,
    _PIECES,
    _SENTENCE_END,
    Match,
    Reading,
    Rules,
    _prepare,
    overlaps,
)
from outreach.rules.replies.rulefile import load
from outreach.rules.replies.screen import screen
from outreach.rules.replies.spelling import Corrector

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "corpus"
RULES = ROOT / "templates" / "replies"
SIGN_TIERS = frozenset({"emergency", "urgent", "routine"})
CLEAR_CATEGORY = "negated_or_false_friend"
RUN = "uv run --with spacy==3.8.* --with negspacy==1.1.0 python bench/negation.py"
# (label, corpus language, spaCy tokenizer, negspacy term set); the first of a language is
# the one its disagreements are listed for.
NEGSPACY = (
    ("negspacy en_clinical", "en", "en", "en_clinical"),
    ("negspacy en", "en", "en", "en"),
    ("negspacy en_clinical_sensitive", "en", "en", "en_clinical_sensitive"),
    ("negspacy es_clinical", "es", "es", "es_clinical"),
    ("negspacy en_clinical", "es", "es", "en_clinical"),
)
FIRST_REPLY = "no blisters today, but my heel is bleeding"


@dataclass
class Case:
    """One reply, read by its language's rules, with its candidate signs."""

    id: str
    text: str
    lang: str
    category: str
    expect: str | None  # the escalation tier labelled
    critical: bool  # safety-critical and labelled emergency, urgent or routine
    clear: bool  # negated or a false friend, labelled no escalation
    foot: bool
    reading: Reading
    corrector: Corrector
    signs: list[tuple[Match, str]]  # candidate matches and their reasons
    blocked: list[Match]  # matches overlapping a not-danger phrase
    chars: list[tuple[int, int]]  # each candidate's characters in the reply as written
    decided: dict[str, list[bool]] = field(default_factory=dict)  # method -> negated


def read_corpus(lang: str, rules: Rules) -> list[Case]:
    language = rules.languages[lang]
    corrector = rules.correctors[lang]
    cases = []
    path = CORPUS / f"replies_{lang}.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        expect = row["expect"].get("escalation")
        reading = Reading(row["text"], language, corrector)
        foot = any(asked in FOOT_QUESTIONS for asked in row.get("asked", []))
        signs, blocked = candidates(reading, foot)
        spans = word_spans(row["text"], language)
        if spans is None or len(spans) != len(reading.words):
            raise SystemExit(f"{row['id']}: cannot place the rules' words in the reply")
        cases.append(
            Case(
                id=row["id"],
                text=row["text"],
                lang=lang,
                category=row.get("category", "?"),
                expect=expect,
                critical=bool(row.get("safety_critical")) and expect in SIGN_TIERS,
                clear=row.get("category") == CLEAR_CATEGORY and expect is None,
                foot=foot,
                reading=reading,
                corrector=corrector,
                signs=signs,
                blocked=blocked,
                chars=[(spans[m.start][0], spans[m.end - 1][1]) for m, _ in signs],
            )
        )
    return cases


def candidates(reading: Reading, foot: bool) -> tuple[list[tuple[Match, str]], list[Match]]:
    """The sign matches `screen` would judge for negation, and those a false friend takes."""
    not_danger = reading.find("not-danger")
    body = reading.find("body")
    signs: list[tuple[Match, str]] = []
    blocked: list[Match] = []
    for match, sign in reading.find_signs():
        assert sign is not None
        if overlaps(match, not_danger):
            blocked.append(match)
        elif not sign.needs_body or foot or reading.in_sentence_with(match, body):
            signs.append((match, sign.reason))
    return signs, blocked


def word_spans(text: str, language: Language) -> list[tuple[int, int]] | None:
    """Where each word of a Reading of `text` is in `text` itself: `_prepare` redone one
    character at a time, remembering where each prepared character came from."""
    emoji = language.emoji
    prepared: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        if _EMOJI_MODIFIERS.fullmatch(ch):
            continue
        piece = f" {emoji[ch]} " if ch in emoji else ch
        piece = fold(unicodedata.normalize("NFKC", piece))
        piece = piece.replace("'", "").replace("\u2019", "").replace("`", "")
        prepared.append(piece)
        origin += [index] * len(piece)
    joined = "".join(prepared)
    if joined != _prepare(text, language):
        return None
    spans = []
    for found in _PIECES.finditer(joined):
        piece = found.group()
        if piece in _SENTENCE_END or piece in _CLAUSE_END:
            continue
        spans.append((origin[found.start()], origin[found.end() - 1] + 1))
    return spans


def survives(case: Case, negated: list[bool], shared: bool = True) -> bool:
    """Any sign kept: not negated, and (`shared`, as `screen` does) no negated or not-danger
    match on its words."""
    dropped = case.blocked + [m for (m, _), no in zip(case.signs, negated, strict=True) if no]
    if not shared:
        dropped = case.blocked
    return any(
        not no and not overlaps(m, dropped) for (m, _), no in zip(case.signs, negated, strict=True)
    )


class NegSpacy:
    """spacy.blank(lang) + sentencizer + negspacy's negex over spans we give it."""

    def __init__(self, lang: str, termset_name: str) -> None:
        spacy = importlib.import_module("spacy")
        importlib.import_module("negspacy.negation")  # registers the "negex" factory
        termsets = importlib.import_module("negspacy.termsets")
        nlp = spacy.blank(lang)
        nlp.add_pipe("sentencizer")
        patterns = termsets.termset(termset_name).get_patterns()
        nlp.add_pipe("negex", config={"neg_termset": patterns, "span_keys": ["sc"]})
        self.nlp = nlp
        self.unplaced = 0  # spans spaCy's tokens could not hold

    def negated(self, text: str, spans: list[tuple[int, int]]) -> list[bool]:
        doc = self.nlp.make_doc(text)
        placed = [doc.char_span(s, e, label="SIGN", alignment_mode="expand") for s, e in spans]
        doc.spans["sc"] = [span for span in placed if span is not None]
        for _, component in self.nlp.pipeline:
            doc = component(doc)
        judged = iter(doc.spans["sc"])
        result = []
        for span in placed:
            if span is None:
                self.unplaced += 1
                result.append(False)
            else:
                result.append(bool(next(judged)._.negex))
        return result


def ours(case: Case) -> list[bool]:
    return [case.reading.negated(match) for match, _ in case.signs]


def timed(cases: list[Case], decide: Callable[[Case], object], repeat: int, fresh: bool) -> float:
    """Median ms a reply over replies with a sign match; `fresh`: a new Reading each time
    (not timed), so outreach finds its cues every time as it does in service."""
    ms: list[float] = []
    for _ in range(repeat):
        for case in cases:
            if not case.signs:
                continue
            if fresh:
                case.reading = Reading(case.text, case.reading.language, case.corrector)
                case.signs = candidates(case.reading, case.foot)[0]
            t0 = time.perf_counter()
            decide(case)
            ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms) if ms else float("nan")


def score(name: str, lang: str, cases: list[Case], key: str, ms: float) -> dict[str, Any]:
    critical = [c for c in cases if c.critical]
    matched = [c for c in critical if c.signs]
    clear = [c for c in cases if c.clear]
    raised = {c.id for c in cases if survives(c, c.decided[key])}
    plain = {c.id for c in cases if survives(c, c.decided[key], shared=False)}
    return {
        "method": name,
        "corpus": lang,
        "recall": sum(c.id in raised for c in critical) / len(critical),
        "recall_matched": sum(c.id in raised for c in matched) / len(matched),
        "missed": sorted(c.id for c in matched if c.id not in raised),
        # a sign kept even when a negated sign shares its words: not how screen reads
        "recall_matched_ignoring_shared_words": sum(c.id in plain for c in matched) / len(matched),
        "signs_judged_unlike_outreach": sum(
            a != b
            for c in cases
            for a, b in zip(c.decided["outreach"], c.decided[key], strict=True)
        ),
        "signs": sum(len(c.signs) for c in cases),
        "false_alarms": sum(c.id in raised for c in clear),
        "false_alarm_rate": sum(c.id in raised for c in clear) / len(clear),
        "alarmed": sorted(c.id for c in clear if c.id in raised),
        "ms_median": ms,
    }


def disagreements(cases: list[Case], key: str) -> list[dict[str, Any]]:
    """Every reply where the two judge a sign differently; `right` says which method the
    label bears out when the reply's outcome differs and the label scores it."""
    found = []
    for case in cases:
        ours_said, theirs = case.decided["outreach"], case.decided[key]
        if ours_said == theirs:
            continue
        a, b = survives(case, ours_said), survives(case, theirs)
        if a == b:
            right = "same outcome"
        elif case.critical or case.clear:
            right = "outreach" if a == case.critical else "negspacy"
        else:
            right = "not scored"
        signs = [case.reading.said(m) for m, _ in case.signs]
        found.append(
            {
                "id": case.id,
                "text": case.text,
                "label": case.expect or "none",
                "scored": "critical" if case.critical else "clear" if case.clear else "no",
                "signs": signs,
                "outreach_negated": negated_signs(signs, ours_said),
                "negspacy_negated": negated_signs(signs, theirs),
                "outreach_raises": a,
                "negspacy_raises": b,
                "right": right,
            }
        )
    return found


def negated_signs(signs: list[str], decided: list[bool]) -> list[str]:
    return [sign for sign, no in zip(signs, decided, strict=True) if no]


def screen_agrees(cases: list[Case]) -> int:
    """How many replies our sign-survival matches `screen` on the same reading (a check that
    the candidates above are screen's): a finding other than a pain score."""
    return sum(
        survives(c, c.decided["outreach"])
        == any(f.reason != "pain" for f in screen([c.reading], foot_question=c.foot).findings)
        for c in cases
    )


_OURS_STARTUP = """
import json, time
t0 = time.perf_counter()
from outreach.rules.replies.reading import Reading, Rules
from outreach.rules.replies.rulefile import load
t1 = time.perf_counter()
rules = Rules(load(__import__("pathlib").Path({rules!r})))
t2 = time.perf_counter()
r = Reading({text!r}, rules.languages["en"], rules.correctors["en"])
[r.negated(m) for m, _ in r.find_signs()]
t3 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""
_NEGSPACY_STARTUP = """
import json, time
t0 = time.perf_counter()
import spacy
import negspacy.negation
from negspacy.termsets import termset
t1 = time.perf_counter()
nlp = spacy.blank("en")
nlp.add_pipe("sentencizer")
nlp.add_pipe("negex", config={{"neg_termset": termset("en_clinical").get_patterns(),
                              "span_keys": ["sc"]}})
t2 = time.perf_counter()
doc = nlp.make_doc({text!r})
text = {text!r}
doc.spans["sc"] = [
    doc.char_span(text.find(w), text.find(w) + len(w), label="SIGN")
    for w in ("blisters", "bleeding")
]
for _, component in nlp.pipeline:
    doc = component(doc)
[s._.negex for s in doc.spans["sc"]]
t3 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""


def startup(runs: int) -> dict[str, dict[str, float]]:
    """Seconds in a fresh process (interpreter start not counted), median of `runs`: with
    bytecode compiled and cached (in a temporary PYTHONPYCACHEPREFIX, by one run not
    counted), as an installed program starts; and with none (PYTHONDONTWRITEBYTECODE, every
    module compiled from source each time)."""
    result = {}
    with tempfile.TemporaryDirectory(prefix="outreach-pyc-") as pycache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = pycache
        uncached = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        uncached.pop("PYTHONPYCACHEPREFIX", None)
        for name, code in (("outreach", _OURS_STARTUP), ("negspacy", _NEGSPACY_STARTUP)):
            script = code.format(rules=str(RULES), text=FIRST_REPLY)
            _run(script, cached)  # compiles and caches the bytecode
            for mode, env in (("", cached), ("_no_bytecode", uncached)):
                parts = [_run(script, env) for _ in range(runs)]
                imports, build, first = (statistics.median(p[i] for p in parts) for i in range(3))
                result[name + mode] = {
                    "import_s": imports,
                    "build_s": build,
                    "first_reply_s": first,
                    "total_s": statistics.median(sum(p) for p in parts),
                }
    return result


def _run(script: str, env: dict[str, str]) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    parts: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return parts


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(roots: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `roots` require, transitively (extras not taken)."""
    requirements = importlib.import_module("packaging.requirements")
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = _name(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for line in dist.requires or []:
            req = requirements.Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return sorted(seen.values(), key=lambda d: _name(d.metadata["Name"]))


def du_kb(dists: list[metadata.Distribution]) -> int:
    """`du -skc` over the files and folders these distributions installed."""
    paths: set[Path] = set()
    for dist in dists:
        for file in dist.files or []:
            if file.parts and file.parts[0] != "..":
                paths.add(Path(str(dist.locate_file(file.parts[0]))))
    existing = sorted(str(p) for p in paths if p.exists())
    if not existing:
        return 0
    out = subprocess.run(["du", "-skc", *existing], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1].split()[0])


def install_sizes() -> dict[str, Any]:
    theirs = closure(["spacy", "negspacy"])
    rapidfuzz = metadata.distribution("rapidfuzz")
    project_site = Path(str(rapidfuzz.locate_file("")))
    ours_names = {
        _name(d.metadata["Name"]) for d in metadata.distributions(path=[str(project_site)])
    }
    extra = [d for d in theirs if _name(d.metadata["Name"]) not in ours_names]
    spacy_site = Path(str(metadata.distribution("spacy").locate_file("")))
    whole = subprocess.run(["du", "-sk", str(spacy_site)], capture_output=True, text=True)
    return {
        "negspacy_closure_kb": du_kb(theirs),
        "negspacy_closure_packages": len(theirs),
        "negspacy_new_to_outreach_kb": du_kb(extra),
        "negspacy_new_to_outreach_packages": len(extra),
        "negspacy_site_packages_kb": int(whole.stdout.split()[0]) if whole.stdout else None,
        "rapidfuzz_kb": du_kb([rapidfuzz]),
        "largest": sorted(
            ((_name(d.metadata["Name"]), du_kb([d])) for d in theirs), key=lambda x: -x[1]
        )[:6],
    }


def measure(repeat: int, startup_runs: int) -> dict[str, Any]:
    rules = Rules(load(RULES))
    corpora = {lang: read_corpus(lang, rules) for lang in ("en", "es")}
    methods: list[dict[str, Any]] = []
    listed: dict[str, list[dict[str, Any]]] = {}
    for lang, cases in corpora.items():
        for case in cases:
            case.decided["outreach"] = ours(case)
        ms = timed(cases, ours, repeat, fresh=True)
        methods.append(score("outreach", lang, cases, "outreach", ms))
        for label, corpus, tokenizer, termset_name in NEGSPACY:
            if corpus != lang:
                continue
            negspacy = NegSpacy(tokenizer, termset_name)
            key = f"{label} ({lang})"
            for case in cases:
                case.decided[key] = negspacy.negated(case.text, case.chars)

            def decide(case: Case, negspacy: NegSpacy = negspacy) -> object:
                return negspacy.negated(case.text, case.chars)

            row = score(label, lang, cases, key, timed(cases, decide, repeat, fresh=False))
            row["unplaced_spans"] = negspacy.unplaced
            methods.append(row)
            if lang not in listed:
                listed[lang] = disagreements(cases, key)
    return {
        "command": RUN,
        "corpus": {
            lang: {
                "replies": len(cases),
                "safety_critical": sum(c.critical for c in cases),
                "safety_critical_with_a_match": sum(c.critical and bool(c.signs) for c in cases),
                "negated_or_false_friend": sum(c.clear for c in cases),
                "with_a_match": sum(bool(c.signs) for c in cases),
                "screen_agrees": screen_agrees(cases),
            }
            for lang, cases in corpora.items()
        },
        "methods": methods,
        "disagreements": listed,
        "startup": startup(startup_runs),
        "install": install_sizes(),
        "versions": {name: metadata.version(name) for name in ("spacy", "negspacy", "rapidfuzz")},
    }


def print_table(result: dict[str, Any]) -> None:
    for lang, info in result["corpus"].items():
        print(
            f"{lang}: {info['replies']} replies, {info['safety_critical']} safety-critical "
            f"({info['safety_critical_with_a_match']} with a sign match), "
            f"{info['negated_or_false_friend']} negated or false friend; outreach's column "
            f"agrees with screen() on {info['screen_agrees']}/{info['replies']}"
        )
    print()
    head = f"{'method':<32}{'corpus':>7}{'recall':>8}{'of matched':>12}{'false alarms':>14}"
    print(head + f"{'ms/reply':>10}{'signs unlike ours':>19}")
    for row in result["methods"]:
        alarms = f"{row['false_alarms']} ({row['false_alarm_rate']:.0%})"
        differ = f"{row['signs_judged_unlike_outreach']}/{row['signs']}"
        print(
            f"{row['method']:<32}{row['corpus']:>7}{row['recall']:>8.1%}"
            f"{row['recall_matched']:>12.1%}{alarms:>14}{row['ms_median']:>10.3f}{differ:>19}"
        )
    print(
        "recall: safety-critical replies raising a sign; of matched: of those where the matcher"
        " found one.\nfalse alarms: negated or false-friend replies still raising a sign."
    )
    for row in result["methods"]:
        plain = row["recall_matched_ignoring_shared_words"]
        if plain != row["recall_matched"]:
            print(
                f"{row['method']} ({row['corpus']}): {plain:.1%} of matched if a sign that a "
                "negated sign shares words with were kept (screen drops it)"
            )
        if row.get("unplaced_spans"):
            print(f"{row['method']} ({row['corpus']}): {row['unplaced_spans']} spans unplaced")
    print()
    start = result["startup"]
    print(
        f"{'start-up, s, fresh process':<34}{'import':>9}{'build':>9}{'1st reply':>11}{'total':>9}"
    )
    for name, label in (
        ("outreach", "outreach: load rules"),
        ("negspacy", "negspacy: blank+negex"),
        ("outreach_no_bytecode", "outreach, no .pyc"),
        ("negspacy_no_bytecode", "negspacy, no .pyc"),
    ):
        s = start[name]
        print(
            f"{label:<34}{s['import_s']:>9.3f}{s['build_s']:>9.3f}"
            f"{s['first_reply_s']:>11.4f}{s['total_s']:>9.3f}"
        )
    print()
    size = result["install"]
    print(
        f"install (du): spacy+negspacy and their {size['negspacy_closure_packages']} packages "
        f"{size['negspacy_closure_kb'] / 1024:.0f} MiB "
        f"({size['negspacy_new_to_outreach_packages']} packages, "
        f"{size['negspacy_new_to_outreach_kb'] / 1024:.0f} MiB, not already in outreach's "
        f"environment); rapidfuzz {size['rapidfuzz_kb'] / 1024:.1f} MiB"
    )
    print("  largest: " + ", ".join(f"{n} {kb / 1024:.0f} MiB" for n, kb in size["largest"]))
    for lang, rows in result["disagreements"].items():
        first = next(
            r["method"]
            for r in result["methods"]
            if r["corpus"] == lang and r["method"] != "outreach"
        )
        print()
        print(f"signs judged differently, {lang}, outreach vs {first} (reply label in []):")
        for d in rows:
            print(
                f"  {d['id']} [{d['label']}] {d['text']!r}\n"
                f"      negated by outreach: {', '.join(d['outreach_negated']) or '-'}; "
                f"by negspacy: {', '.join(d['negspacy_negated']) or '-'}; "
                f"sign raised: outreach {'yes' if d['outreach_raises'] else 'no'}, "
                f"negspacy {'yes' if d['negspacy_raises'] else 'no'}; right: {d['right']}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed passes over the corpus")
    parser.add_argument("--startup-runs", type=int, default=5, help="fresh processes to time")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    try:
        importlib.import_module("negspacy.negation")
    except ImportError:
        print(f"spaCy and negspacy are not installed here; run:\n  {RUN}", file=sys.stderr)
        return 2
    result = measure(args.repeat, args.startup_runs)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

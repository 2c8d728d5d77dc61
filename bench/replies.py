"""How well outreach understands what patients write, and how fast.

    uv run python bench/replies.py
    uv run python bench/replies.py --json
    uv run python bench/replies.py --corpus my_replies.jsonl --failures

Reads the labelled corpus (tests/corpus/replies_*.jsonl by default: replies written as
patients write them, labelled from DOMAIN.md before the rules were tuned; the format is in
tests/corpus/README.md) and runs each reply through the same function as `outreach replies
try`. A reply counts as right when its escalation tier, opt-out, opt-in and consent are as
labelled, every labelled intent is among the intents, and, where labelled, its pain score and
whether staff must read it match.

Printed: accuracy by category and by language; safety-critical recall (a danger sign raised at
its tier or higher); false urgent alarms (urgent or emergency raised where the label is lower
or none, over those replies); wrongful opt-outs; and time per reply (median and p99 over
--repeat passes of the whole corpus; the first pass, which warms the spelling cache, is not
timed). Targets: recall 100%, accuracy >= 95%, false urgent alarms <= 2%, no wrongful
opt-out, median <= 2 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from outreach.replies.trial import Trial, run, summary
from outreach.rules.replies.conversation import default_rules
from outreach.rules.vocabulary import Severity

CORPUS = sorted((Path(__file__).parent.parent / "tests" / "corpus").glob("replies_*.jsonl"))
RANK = {s.value: s.rank for s in Severity}
NONE_RANK = len(Severity)


def load(paths: list[Path]) -> list[Trial]:
    trials = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                trials.append(Trial.from_json(json.loads(line), f"{path.name}:{number}"))
    return trials


def rank(severity: str | None) -> int:
    return NONE_RANK if severity is None else RANK[severity]


def judge(trial: Trial, got: dict[str, Any]) -> list[str]:
    """What differs from the label; empty when the reply was understood."""
    want = trial.extra["expect"]
    wrong = []
    severity = got["escalation"]["severity"] if got["escalation"] else None
    if severity != want.get("escalation"):
        wrong.append(f"escalation {severity} (want {want.get('escalation')})")
    missing = [i for i in want.get("intents", []) if i not in got["intents"]]
    if missing:
        wrong.append(f"intents {got['intents']} (want {missing})")
    for key in ("opt_out", "opt_in", "consent"):
        if got[key] != bool(want.get(key, False)):
            wrong.append(f"{key} {got[key]}")
    if "pain" in want and want["pain"] is not None and got["pain"] != want["pain"]:
        wrong.append(f"pain {got['pain']} (want {want['pain']})")
    if "needs_staff" in want and got["needs_staff"] != want["needs_staff"]:
        wrong.append(f"needs_staff {got['needs_staff']}")
    return wrong


def measure(trials: list[Trial], repeat: int) -> dict[str, Any]:
    rules = default_rules()
    started = time.perf_counter()
    results = [summary(run(trial, rules)) for trial in trials]  # also warms the caches
    first_pass = time.perf_counter() - started
    timings: list[float] = []
    for _ in range(repeat):
        for trial in trials:
            t0 = time.perf_counter()
            summary(run(trial, rules))
            timings.append(time.perf_counter() - t0)
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    critical = [0, 0]
    alarms = [0, 0]
    wrongful_opt_outs = 0
    failures = []
    for trial, got in zip(trials, results, strict=True):
        want = trial.extra["expect"]
        wrong = judge(trial, got)
        for table, key in (
            (by_category, trial.extra.get("category", "?")),
            (by_language, trial.lang),
        ):
            table[key][0] += not wrong
            table[key][1] += 1
        got_rank = rank(got["escalation"]["severity"] if got["escalation"] else None)
        want_rank = rank(want.get("escalation"))
        if trial.extra.get("safety_critical"):
            critical[0] += got_rank <= want_rank
            critical[1] += 1
        if want_rank > RANK["urgent"]:
            alarms[0] += got_rank <= RANK["urgent"]
            alarms[1] += 1
        wrongful_opt_outs += got["opt_out"] and not want.get("opt_out", False)
        if wrong:
            failures.append(
                {
                    "id": trial.extra.get("id"),
                    "text": trial.text,
                    "asked": list(trial.asked),
                    "wrong": wrong,
                }
            )
    right = sum(v[0] for v in by_language.values())
    ms = sorted(t * 1000 for t in timings) or [float("nan")]  # --repeat 0: no timing
    return {
        "replies": len(trials),
        "accuracy": right / len(trials),
        "by_category": {k: v[0] / v[1] for k, v in sorted(by_category.items())},
        "category_sizes": {k: v[1] for k, v in sorted(by_category.items())},
        "by_language": {k: v[0] / v[1] for k, v in sorted(by_language.items())},
        "language_sizes": {k: v[1] for k, v in sorted(by_language.items())},
        "safety_critical": critical[1],
        "safety_recall": critical[0] / critical[1] if critical[1] else 1.0,
        "false_urgent_alarms": alarms[0],
        "false_urgent_rate": alarms[0] / alarms[1] if alarms[1] else 0.0,
        "wrongful_opt_outs": wrongful_opt_outs,
        "ms_median": statistics.median(ms),
        "ms_p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "first_pass_seconds": first_pass,
        "failures": failures,
    }


def print_table(result: dict[str, Any], show_failures: bool) -> None:
    print(f"{'category':<26}{'replies':>8}{'right':>9}")
    for name, share in result["by_category"].items():
        print(f"{name:<26}{result['category_sizes'][name]:>8}{share:>9.1%}")
    print()
    for name, share in result["by_language"].items():
        print(f"{'language ' + name:<26}{result['language_sizes'][name]:>8}{share:>9.1%}")
    print()
    rows = [
        ("accuracy (target >= 95%)", f"{result['accuracy']:.1%}"),
        (
            f"safety-critical recall, {result['safety_critical']} (target 100%)",
            f"{result['safety_recall']:.1%}",
        ),
        (
            "false urgent alarms (target <= 2%)",
            f"{result['false_urgent_alarms']} ({result['false_urgent_rate']:.1%})",
        ),
        ("wrongful opt-outs (target 0)", str(result["wrongful_opt_outs"])),
        ("ms a reply, median (target <= 2)", f"{result['ms_median']:.3f}"),
        ("ms a reply, p99", f"{result['ms_p99']:.3f}"),
    ]
    for name, value in rows:
        print(f"{name:<50}{value:>12}")
    if show_failures:
        print()
        for failure in result["failures"]:
            wrong = "; ".join(failure["wrong"])
            print(f"{failure['id']}: {failure['text']!r} {failure['asked']}: {wrong}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="JSONL file(s); default: tests/corpus/replies_*.jsonl",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the corpus")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--failures", action="store_true", help="list every reply judged wrong")
    args = parser.parse_args()
    result = measure(load(args.corpus or CORPUS), args.repeat)
    if args.json:
        print(
            json.dumps(
                result if args.failures else {k: v for k, v in result.items() if k != "failures"}
            )
        )
    else:
        print_table(result, args.failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

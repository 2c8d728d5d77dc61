"""The labelled corpus (tests/corpus/) against the reply rules: the issue's targets, held.

bench/replies.py prints the same figures with the misses; this keeps them from sliding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_replies", ROOT / "bench" / "replies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_is_large_enough_and_about_40_percent_spanish() -> None:
    bench = _bench()
    trials = bench.load(bench.CORPUS)
    spanish = sum(t.lang == "es" for t in trials)
    assert len(trials) >= 400 and 0.35 <= spanish / len(trials) <= 0.45
    assert sum(bool(t.extra.get("safety_critical")) for t in trials) >= 100


@pytest.mark.parametrize(
    "corpus",
    [
        pytest.param("replies_*.jsonl", id="the first corpus"),
        # Written later by someone else, never read while the rules were written; the
        # rules were tuned on it afterwards (docs/reply-rules.md has its figures before).
        pytest.param("heldout_replies.jsonl", id="the second corpus"),
        pytest.param("third_replies.jsonl", id="the third corpus"),
    ],
)
def test_the_rules_meet_the_targets_on_the_corpus(corpus: str) -> None:
    bench = _bench()
    result = bench.measure(bench.load(sorted((ROOT / "tests" / "corpus").glob(corpus))), repeat=0)
    misses = [f"{f['id']} {f['text']!r}: {f['wrong']}" for f in result["failures"]]
    assert result["safety_recall"] == 1.0, "\n".join(misses)
    assert result["wrongful_opt_outs"] == 0, "\n".join(misses)
    assert result["false_urgent_rate"] <= 0.02, "\n".join(misses)
    assert result["accuracy"] >= 0.95, "\n".join(misses)

"""How one reminder's attempt ended, and a run's tally of them.

An outcome is a kind and, for a skip or a failure, its reason; the metrics label both with
their plain strings (`outreach_reminders_total{outcome="skipped",reason="quiet_hours"}`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from outreach.rules.vocabulary import SkipReason


class OutcomeKind(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"  # tried again later (quiet hours, the daily cap, a retry)
    RELEASED = "released"  # handed back unattempted (stopping, an outage, a stale claim)
    LOST = "lost"  # our lease ran out first; another worker owns the reminder now
    ERRORS = "errors"  # a database or program error; the lease brings the reminder back


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    reason: SkipReason | str | None = None  # a skip's reason, a failure's stored reason


SENT = Outcome(OutcomeKind.SENT)
DEFERRED = Outcome(OutcomeKind.DEFERRED)
RELEASED = Outcome(OutcomeKind.RELEASED)
LOST = Outcome(OutcomeKind.LOST)
ERRORS = Outcome(OutcomeKind.ERRORS)


def skipped(reason: SkipReason | str) -> Outcome:
    return Outcome(OutcomeKind.SKIPPED, reason)


def failed(reason: str) -> Outcome:
    return Outcome(OutcomeKind.FAILED, reason)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    released: int = 0
    recovered: int = 0
    lost: int = 0  # our lease ran out first; another worker owns the reminder now
    errors: int = 0  # a database or program error; the lease brings the reminder back
    skipped: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: Outcome) -> None:
        if outcome.kind is OutcomeKind.SKIPPED:
            self.skipped[str(outcome.reason or "unknown")] += 1
        else:
            setattr(self, outcome.kind.value, getattr(self, outcome.kind.value) + 1)

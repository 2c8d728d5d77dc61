"""What the rollups count: the figures, each with its keys, and a tally of them per day."""

from __future__ import annotations

from collections import Counter
from datetime import date
from enum import StrEnum


class Figure(StrEnum):
    """What a rollup row counts; its `key` says of what (a kind, a severity, a bucket...)."""

    SENT = "sent"  # questions sent, by kind
    ANSWERED = "answered"  # of those, answered, by kind
    EXERCISE_DONE = "exercise_done"
    EXERCISE_SKIPPED = "exercise_skipped"
    REPLY_TIME = "reply_time"  # histogram of time to answer (histogram.py), by bucket
    REMINDED = "reminded"  # sessions first reminded: "all", "confirmed"
    SESSIONS = "sessions"  # sessions on: "on", "unconfirmed", "unconfirmed_unreminded"
    MARKED = "marked"  # "confirmed:no_show", "unconfirmed:attended"...
    CANCELLED = "cancelled"  # "cancelled_by_patient:5": whole hours of notice, -1..169
    ESCALATIONS = "escalations"  # by severity now
    UNACTED = "unacted"  # escalations no one has acted on yet: ""
    FIRST_ACTION = "first_action"  # histogram
    STAFF_REPLY = "staff_reply"  # histogram
    OPT_OUTS = "opt_outs"  # by source
    UNDELIVERABLE = "undeliverable"  # by error code
    SLOTS = "slots"  # "opened", "filled"


HISTOGRAMS = (Figure.REPLY_TIME, Figure.FIRST_ACTION, Figure.STAFF_REPLY)
# Figures of sessions, on the day they start: the report counts today's as they start.
BY_START = (Figure.SESSIONS, Figure.MARKED, Figure.CANCELLED)
# Figures the chart shows per period, so read per day.
CHARTED = (Figure.SENT, Figure.ANSWERED, Figure.ESCALATIONS)

Key = tuple[date, str, str]


class Tally(Counter[Key]):
    """Counts per (clinic day, figure, key)."""

    def add(self, day: date, figure: Figure, key: object, n: int = 1) -> None:
        if n:
            self[(day, str(figure), str(key))] += n

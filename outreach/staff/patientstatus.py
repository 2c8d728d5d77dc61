"""A patient's standing in words for the top of their page: one status saying what it means
for the texts, rather than the consent state beside the opt-out flag."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from outreach.rules.vocabulary import ConsentEventKind

MEANINGS = {
    "active": "Active: reminders going out",
    "paused": "Paused by staff: no reminders until resumed",
    "awaiting consent": "Awaiting consent: nothing is sent until they reply YES",
    "opted out": "Opted out: no texts",
}


def status_words(status: str, history: Sequence[dict[str, Any]], zone: ZoneInfo) -> str:
    """`status` is plans.status_of's word; `history` the consent events, oldest first (each
    with its `kind` and `at`). An opt-out says when, in the patient's own date:
    'Opted out on 31 Oct 2026: no texts'."""
    if status == "opted out":
        at = last_opt_out(history)
        if at is not None:
            day = at.astimezone(zone).date()
            return f"Opted out on {day.day} {day:%b %Y}: no texts"
    return MEANINGS.get(status, status)


def last_opt_out(history: Sequence[dict[str, Any]]) -> datetime | None:
    found = [e["at"] for e in history if e["kind"] == ConsentEventKind.OPTED_OUT]
    return found[-1] if found else None

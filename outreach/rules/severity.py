"""How soon a human must act on what a patient wrote: the escalation tiers of DOMAIN.md."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Most pressing first. `EMERGENCY` and `URGENT` page the on-call phone."""

    EMERGENCY = "emergency"  # call the emergency number now
    URGENT = "urgent"  # a human calls today
    ROUTINE = "routine"  # next working day
    REVIEW = "review"  # someone reads it

    @property
    def rank(self) -> int:
        """0 for the most pressing: sorts a list emergency first."""
        return list(Severity).index(self)

    @property
    def pages(self) -> bool:
        return self in PAGED


PAGED = frozenset({Severity.EMERGENCY, Severity.URGENT})

"""What a planner run made: plans, appointments, reminders, and skips by reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class PlanReport:
    plans: int = 0
    appointments: int = 0
    reminders: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Another process held the planning lock, so this one planned nothing; it plans again
    # on its next tick if anything is still behind the horizon.
    busy: bool = False

    def add(
        self, appointments: int, reminders: int, skipped: Mapping[str, int], plans: int = 0
    ) -> None:
        self.plans += plans
        self.appointments += appointments
        self.reminders += reminders
        for reason, count in skipped.items():
            self.skipped[reason] += count

"""The simulated week counted per patient: texts sent, skips by reason, replies,
confirmations and escalations, read back from the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from outreach.db.tables import (
    appointment_table,
    conversations,
    escalations,
    inbound_messages,
    open_slots,
    outbound_messages,
    patients,
    reminders,
)
from outreach.demo.clinic import END
from outreach.rules.vocabulary import (
    AppointmentStatus,
    Attendance,
    OutboundStatus,
    ReminderState,
    SlotState,
)


@dataclass
class DemoResult:
    database: Path | None  # None once a temporary one is deleted
    patients: list[PatientTally]
    inbox: list[str] = field(default_factory=list)  # whose conversations wait for a person
    sessions: Counter[str] = field(default_factory=Counter)  # marks (and moves) of the week
    slots_filled: list[str] = field(default_factory=list)  # "Ana Torres took Luis Ramírez's"

    @property
    def total(self) -> PatientTally:
        total = PatientTally("all patients")
        for tally in self.patients:
            total.sent += tally.sent
            total.replies += tally.replies
            total.confirmations += tally.confirmations
            total.skipped.update(tally.skipped)
            total.escalations.update(tally.escalations)
        return total


@dataclass
class PatientTally:
    name: str
    sent: int = 0
    replies: int = 0
    confirmations: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    escalations: Counter[str] = field(default_factory=Counter)


def summarise(engine: Engine, database: Path) -> DemoResult:
    """Count the simulated week (reminders planned beyond it are left out)."""
    tallies: dict[int, PatientTally] = {}
    with engine.begin() as conn:
        for row in conn.execute(select(patients).order_by(patients.c.id)):
            tallies[row.id] = PatientTally(f"{row.first_name} {row.last_name}")
        for row in conn.execute(
            select(outbound_messages.c.patient_id).where(
                outbound_messages.c.status == OutboundStatus.SENT
            )
        ):
            tallies[row.patient_id].sent += 1
        for row in conn.execute(select(inbound_messages.c.patient_id, inbound_messages.c.intent)):
            tallies[row.patient_id].replies += 1
            meanings = (row.intent or "").split(",")
            tallies[row.patient_id].confirmations += "session_confirm" in meanings
        for row in conn.execute(
            select(reminders.c.patient_id, reminders.c.skip_reason).where(
                reminders.c.state == ReminderState.SKIPPED, reminders.c.send_at < END
            )
        ):
            tallies[row.patient_id].skipped[row.skip_reason] += 1
        for row in conn.execute(select(escalations.c.patient_id, escalations.c.severity)):
            tallies[row.patient_id].escalations[row.severity] += 1
        waiting = conn.execute(
            select(conversations.c.patient_id)
            .where(conversations.c.closed_at.is_(None))
            .order_by(conversations.c.last_in_at)
        ).scalars()
        inbox = [tallies[patient_id].name for patient_id in waiting]
        sessions: Counter[str] = Counter()
        for mark, status in conn.execute(
            select(appointment_table.c.attendance, appointment_table.c.status).where(
                appointment_table.c.starts_at < END
            )
        ):
            if mark is not None:
                sessions[Attendance(mark).word] += 1
            elif status == AppointmentStatus.MOVED:
                sessions["moved"] += 1
        freed_by = appointment_table.alias("freed")
        slots_filled = [
            f"{tallies[taker].name} took the slot {tallies[freer].name} gave up"
            for taker, freer in conn.execute(
                select(open_slots.c.taken_by, freed_by.c.patient_id)
                .join(freed_by, freed_by.c.id == open_slots.c.appointment_id)
                .where(open_slots.c.state == SlotState.TAKEN)
                .order_by(open_slots.c.taken_at)
            )
        ]
    return DemoResult(database, list(tallies.values()), inbox, sessions, slots_filled)

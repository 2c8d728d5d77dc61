"""The planner on PostgreSQL: what a plan makes is computed once per shape, and streamed.

A million plans come in a few thousand shapes. A shape is everything that decides what a
plan makes in this run's window: the window's start, the plan's dates, prompt times and
phases, the patient's zone and quiet hours; not who the patient is. Each shape's sessions
and daily prompts are computed once per run, as COPY text lacking only the patient id and
plan version, so a plan costs a dictionary lookup and a few string joins. Session
reminders are keyed by their appointment's id, so they are computed after the appointments
are written, once per (start, zone, quiet hours).

The rows go by COPY into temporary tables, then one `INSERT ... SELECT ... ON CONFLICT` per
table lets the unique keys decide, so two planners still create each row once; the outbox
writes the reminders (outreach/outbox/writers.py). The temporary tables live for one
transaction (ON COMMIT DROP): a batch's rows never leak into the next one, and a failed
batch leaves nothing behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db import pgcopy
from outreach.outbox.writers import copy_planned, reminder_tail
from outreach.rules.localtime import patient_quiet_hours, zone_named
from outreach.rules.schedule import (
    Phase,
    appointments,
    daily_occurrences,
    parse_weekdays,
    plan_spec,
    session_reminders,
)
from outreach.rules.vocabulary import AppointmentStatus, ReminderKind

_SCHEDULED = str(AppointmentStatus.SCHEDULED.value)
_SESSION = str(ReminderKind.SESSION.value)
_LIVE = [_SCHEDULED, str(AppointmentStatus.CONFIRMED.value)]
# A run with more shapes than this (each plan unlike any other) starts its cache afresh
# rather than growing without bound; every shape still gets computed correctly.
MAX_SHAPES = 50_000

_APPOINTMENT_TABLE = """
CREATE TEMPORARY TABLE plan_appointment (
    patient_id integer NOT NULL,
    starts_at timestamptz NOT NULL
) ON COMMIT DROP
"""

# A plan-made appointment that an edit superseded is scheduled again if the plan still
# wants it; a cancelled or staff-entered one is left alone.
_INSERT_APPOINTMENTS = """
INSERT INTO appointment (patient_id, starts_at, source, status, updated_at)
SELECT patient_id, starts_at, 'plan', %(scheduled)s, %(now)s FROM plan_appointment
ON CONFLICT (patient_id, starts_at) DO UPDATE SET
    status = %(scheduled)s, updated_at = excluded.updated_at
WHERE appointment.status = %(superseded)s
"""

# The plans of a batch as they were read. Each patient's window starts at the plan's old
# watermark (or now) and ends at the run's target.
_WINDOW_TABLE = """
CREATE TEMPORARY TABLE plan_window (
    plan_id integer PRIMARY KEY,
    patient_id integer NOT NULL,
    version integer NOT NULL,
    planned_until timestamptz
) ON COMMIT DROP
"""

# Only the plans still as they were read; the UPDATE's lock holds them until the batch
# commits (see planning/planner.py's _hold).
_HOLD = """
UPDATE careplan c SET planned_until = %(target)s
FROM plan_window w
WHERE c.id = w.plan_id AND c.version = w.version
  AND c.planned_until IS NOT DISTINCT FROM w.planned_until
  AND (c.planned_until IS NULL OR c.planned_until < %(target)s)
RETURNING c.id
"""

# Live appointments in each patient's window, the plan's own and those staff entered. Each
# window is one probe of the (patient_id, starts_at) index, whatever the statistics say: in
# a first big run they still describe a nearly empty appointment table, and a plain join was
# planned as a scan of every appointment, once per batch. OFFSET 0 keeps PostgreSQL from
# flattening the lateral subquery back into that join.
_APPOINTMENTS_IN_WINDOWS = """
SELECT a.id, w.patient_id, a.starts_at
FROM plan_window w
CROSS JOIN LATERAL (
    SELECT id, starts_at FROM appointment
    WHERE patient_id = w.patient_id
      AND starts_at >= GREATEST(w.planned_until, %(now)s) AND starts_at < %(ends)s
      AND status = ANY(%(live)s)
    OFFSET 0
) a
"""


def tune_batch(conn: Connection) -> None:
    """Settings for this batch's transaction alone.

    synchronous_commit off: the commit returns before its WAL is flushed. A crash in that
    moment loses the batch as a whole (its reminders and its watermarks together), and the
    next run plans it again, so nothing is lost that planning cannot remake; it is never
    used for messages sent or replies received. jit off: the batch's statements are many
    small index probes that PostgreSQL's estimates can make look big enough to compile."""
    pgcopy.execute(conn, "SET LOCAL synchronous_commit = off", {})
    pgcopy.execute(conn, "SET LOCAL jit = off", {})


def hold(conn: Connection, plans: Sequence[Any], target: datetime) -> list[Any]:
    """Advance the watermarks of `plans` (rows of `dueplans.due_plans`) that are still as
    read, locking them, and return those. Leaves this batch's `plan_window` table, holding
    only them, for `Materialiser`."""
    lines = [
        f"{plan.id}\t{plan.patient_id}\t{plan.version}\t{pgcopy.stamp_or_null(plan.planned_until)}\n"
        for plan in plans
    ]
    pgcopy.copy(
        conn, _WINDOW_TABLE, "plan_window (plan_id, patient_id, version, planned_until)", lines
    )
    _, rows = pgcopy.execute(conn, _HOLD, {"target": target})
    held = {plan_id for (plan_id,) in rows}
    if len(held) == len(plans):
        return list(plans)
    pgcopy.execute(
        conn, "DELETE FROM plan_window WHERE NOT plan_id = ANY(%(held)s)", {"held": list(held)}
    )
    return [plan for plan in plans if plan.id in held]


@dataclass(frozen=True)
class _Shape:
    """What every plan of one shape makes in the window, as COPY text."""

    appointments: tuple[str, ...]  # session starts
    reminders: tuple[str, ...]  # "kind, occurrence, appointment, send, expires, state, skip"
    skipped: tuple[str, ...]  # the skip reasons among those reminders


@dataclass
class Made:
    appointments: int = 0
    reminders: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


class Materialiser:
    """Writes batches of one planner run; its threads may share it. `plans` are rows of
    `dueplans.due_plans` (with their phases as text), all of patients we may text, that
    `hold` returned in the same transaction."""

    def __init__(self, settings: Settings, now: datetime, target: datetime) -> None:
        self.settings = settings
        self.now = now
        self.target = target
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._sessions: dict[tuple[Any, ...], tuple[tuple[int, str, str | None], ...]] = {}

    def __call__(self, conn: Connection, plans: Sequence[Any]) -> Made:
        made = Made()
        appointment_lines: list[str] = []
        reminder_lines: list[str] = []
        texting: dict[int, tuple[int, str, str | None]] = {}
        for plan in plans:
            start = max(plan.planned_until or self.now, self.now)
            key = (
                start,
                plan.start_date,
                plan.end_date,
                plan.foot_check_time,
                plan.exercise_days,
                plan.exercise_time,
                plan.timezone,
                plan.quiet_hours,
                plan.phases,
            )
            shape = self._shapes.get(key) or self._shape(key, plan, start)
            patient, version = plan.patient_id, plan.version
            for at in shape.appointments:
                appointment_lines.append(f"{patient}\t{at}\n")
            for tail in shape.reminders:
                reminder_lines.append(f"{patient}\t{tail}\t{version}\n")
            if shape.skipped:
                made.skipped.update(shape.skipped)
            texting[patient] = (version, plan.timezone, plan.quiet_hours)

        pgcopy.copy(
            conn, _APPOINTMENT_TABLE, "plan_appointment (patient_id, starts_at)", appointment_lines
        )
        made.appointments = pgcopy.execute(
            conn,
            _INSERT_APPOINTMENTS,
            {
                "scheduled": _SCHEDULED,
                "superseded": str(AppointmentStatus.SUPERSEDED.value),
                "now": self.now,
            },
        )[0]
        _, found = pgcopy.execute(
            conn,
            _APPOINTMENTS_IN_WINDOWS,
            {"now": self.now, "ends": self.target, "live": _LIVE},
        )
        for appointment, patient, starts_at in found:
            version, zone_key, quiet_hours = texting[patient]
            for lead, tail, reason in self._session(starts_at, zone_key, quiet_hours):
                reminder_lines.append(
                    f"{patient}\t{_SESSION}\tappt:{appointment}:{lead}h\t{appointment}\t"
                    f"{tail}\t{version}\n"
                )
                if reason:
                    made.skipped[reason] += 1

        made.reminders = copy_planned(conn, reminder_lines, self.now)
        return made

    def _shape(self, key: tuple[Any, ...], plan: Any, start: datetime) -> _Shape:
        spec = plan_spec(plan, _phases(plan.phases))
        zone = zone_named(plan.timezone)
        quiet = patient_quiet_hours(plan.quiet_hours, self.settings.quiet_hours)
        daily = daily_occurrences(spec, zone, quiet, start, self.target, self.now)
        shape = _Shape(
            appointments=tuple(
                pgcopy.stamp(at) for at in appointments(spec, zone, start, self.target)
            ),
            reminders=tuple(reminder_tail(occ) for occ in daily),
            skipped=tuple(occ.skip_reason for occ in daily if occ.skip_reason),
        )
        if len(self._shapes) >= MAX_SHAPES:
            self._shapes.clear()
        self._shapes[key] = shape
        return shape

    def _session(
        self, starts_at: datetime, zone_key: str, quiet_hours: str | None
    ) -> tuple[tuple[int, str, str | None], ...]:
        """(lead hours, COPY text from send_at to skip_reason, skip reason) of the reminders
        before a session; the caller adds the appointment's id."""
        key = (starts_at, zone_key, quiet_hours)
        found = self._sessions.get(key)
        if found is None:
            quiet = patient_quiet_hours(quiet_hours, self.settings.quiet_hours)
            found = tuple(
                (
                    (starts_at - occ.nominal) // timedelta(hours=1),
                    reminder_tail(occ).split("\t", 3)[3],
                    occ.skip_reason,
                )
                for occ in session_reminders(
                    0,
                    starts_at,
                    zone_named(zone_key),
                    quiet,
                    self.settings.session_reminder_hours,
                    self.now,
                )
            )
            if len(self._sessions) >= MAX_SHAPES:
                self._sessions.clear()
            self._sessions[key] = found
        return found


def _phases(text: str | None) -> list[Phase]:
    """Phases from `dueplans._phase_text`: "mon,wed|09:30:00|6;fri|10:00:00|4"."""
    if not text:
        return []
    found = []
    for phase in text.split(";"):
        weekdays, session_time, weeks = phase.split("|")
        found.append(Phase(parse_weekdays(weekdays), time.fromisoformat(session_time), int(weeks)))
    return found

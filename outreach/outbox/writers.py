"""Planned reminders written: what planning decided becomes reminder rows.

Each reminder has a natural key (patient, kind, occurrence) under a unique constraint and is
written insert-or-ignore, so two planners on two machines create it once. An existing row
skipped for a revivable reason (an edit, an opt-out, a pause) comes back with the new plan's
times; any other existing row is left as it is.

Two writers: `insert_planned` a row at a time (SQLite), and `copy_planned` for PostgreSQL,
where planning/bulk.py streams the rows as COPY text (`reminder_tail`) into a temporary
table and one `INSERT ... SELECT ... ON CONFLICT` lets the unique key decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from outreach.db import dialect, pgcopy
from outreach.db.tables import reminders
from outreach.rules.schedule import Occurrence
from outreach.rules.vocabulary import REVIVABLE, ReminderState

R = reminders
_PENDING, _SKIPPED = str(ReminderState.PENDING.value), str(ReminderState.SKIPPED.value)

_REMINDER_TABLE = """
CREATE TEMPORARY TABLE plan_reminder (
    patient_id integer NOT NULL,
    kind varchar(16) NOT NULL,
    occurrence varchar(40) NOT NULL,
    appointment_id integer,
    send_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    state varchar(16) NOT NULL,
    skip_reason varchar(40),
    plan_version integer NOT NULL
) ON COMMIT DROP
"""
_REMINDER_COLUMNS = (
    "patient_id, kind, occurrence, appointment_id, send_at, expires_at, state, skip_reason, "
    "plan_version"
)

# A reminder skipped for a revivable reason (an edit, an opt-out, a pause) comes back with
# the new plan's times; any other existing row is left as it is.
_INSERT_REMINDERS = """
INSERT INTO reminder (patient_id, kind, occurrence, appointment_id, send_at, expires_at,
                      state, skip_reason, attempts, plan_version, created_at, updated_at)
SELECT patient_id, kind, occurrence, appointment_id, send_at, expires_at,
       state, skip_reason, 0, plan_version, %(now)s, %(now)s
FROM plan_reminder
ON CONFLICT (patient_id, kind, occurrence) DO UPDATE SET
    state = excluded.state,
    skip_reason = excluded.skip_reason,
    send_at = excluded.send_at,
    expires_at = excluded.expires_at,
    plan_version = excluded.plan_version,
    updated_at = excluded.updated_at
WHERE reminder.state = %(skipped)s AND reminder.skip_reason = ANY(%(revivable)s)
"""


def insert_planned(
    conn: Connection, planned: Sequence[tuple[Any, Occurrence]], now: datetime
) -> int:
    """Write each (plan, occurrence) as a reminder of that plan's patient and version; returns
    the rows inserted or revived."""
    return _upsert_reminders(conn, [_reminder_row(plan, occ, now) for plan, occ in planned])


def _reminder_row(plan: Any, occ: Occurrence, now: datetime) -> dict[str, Any]:
    return {
        "patient_id": plan.patient_id,
        "kind": occ.kind,
        "occurrence": occ.occurrence,
        "appointment_id": occ.appointment_id,
        "send_at": occ.send_at,
        "expires_at": occ.expires_at,
        "state": ReminderState.SKIPPED if occ.skip_reason else ReminderState.PENDING,
        "skip_reason": occ.skip_reason,
        "plan_version": plan.version,
        "created_at": now,
        "updated_at": now,
    }


def _upsert_reminders(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert-or-ignore on the natural key; a row skipped for a revivable reason comes back."""
    if not rows:
        return 0
    return dialect.executemany(conn, _upsert_statement(conn.dialect.name), rows)


@cache
def _upsert_statement(dialect_name: str) -> Any:
    """Built once per dialect: its `excluded` alias proxies every column of the table, which
    cost more than the statement itself when a session's one reminder is written."""
    stmt = (postgresql if dialect_name == "postgresql" else sqlite).insert(R)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["patient_id", "kind", "occurrence"],
        set_={
            "state": excluded.state,
            "skip_reason": excluded.skip_reason,
            "send_at": excluded.send_at,
            "expires_at": excluded.expires_at,
            "plan_version": excluded.plan_version,
            "updated_at": excluded.updated_at,
        },
        # Spelled out as ORs: an IN list cannot be expanded inside an executemany.
        where=and_(
            R.c.state == ReminderState.SKIPPED,
            or_(*(R.c.skip_reason == reason for reason in REVIVABLE)),
        ),
    )


def copy_planned(conn: Connection, lines: list[str], now: datetime) -> int:
    """PostgreSQL: COPY `lines` ("patient, `reminder_tail`, plan version", tab-separated)
    into this transaction's temporary table, then insert them; returns the rows inserted or
    revived."""
    pgcopy.copy(conn, _REMINDER_TABLE, f"plan_reminder ({_REMINDER_COLUMNS})", lines)
    return pgcopy.execute(
        conn,
        _INSERT_REMINDERS,
        {"now": now, "skipped": _SKIPPED, "revivable": [str(r.value) for r in REVIVABLE]},
    )[0]


def reminder_tail(occ: Occurrence) -> str:
    """A reminder's COPY text from its kind to its skip reason (no tab, backslash or newline
    can occur in these values: kinds, dates, ids and reason words)."""
    appointment = "\\N" if occ.appointment_id is None else str(occ.appointment_id)
    state, reason = (_SKIPPED, occ.skip_reason) if occ.skip_reason else (_PENDING, "\\N")
    return "\t".join(
        (
            occ.kind,
            occ.occurrence,
            appointment,
            pgcopy.stamp(occ.send_at),
            pgcopy.stamp(occ.expires_at),
            state,
            reason,
        )
    )

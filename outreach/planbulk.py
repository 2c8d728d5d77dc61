"""The planner's writes on PostgreSQL: COPY into temporary tables, then one set-wise statement.

A multi-row `INSERT ... VALUES (...), (...) ON CONFLICT` makes psycopg and PostgreSQL build,
send and parse a statement of a thousand rows' worth of parameters again and again; COPY
streams the rows, and one `INSERT ... SELECT ... ON CONFLICT` per table lets the unique key
decide, as before, so two planners still create each reminder once.

The temporary tables live for one transaction (ON COMMIT DROP): a batch's rows never leak
into the next one, and a failed batch leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from outreach.models import AppointmentStatus, ReminderState

REMINDER_COLUMNS = (
    "patient_id",
    "kind",
    "occurrence",
    "appointment_id",
    "send_at",
    "expires_at",
    "state",
    "skip_reason",
    "plan_version",
)

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

_WINDOW_TABLE = """
CREATE TEMPORARY TABLE plan_window (
    patient_id integer PRIMARY KEY,
    starts timestamptz NOT NULL,
    ends timestamptz NOT NULL
) ON COMMIT DROP
"""

_APPOINTMENTS_IN_WINDOWS = """
SELECT a.id, a.patient_id, a.starts_at
FROM plan_window w
JOIN appointment a
  ON a.patient_id = w.patient_id AND a.starts_at >= w.starts AND a.starts_at < w.ends
WHERE a.status = ANY(%(live)s)
"""

# Only plans still at the version that was read: an edit committed since then has reset the
# watermark (supersede_plan), and the next run must plan the new version.
_ADVANCE_WATERMARKS = """
UPDATE careplan c SET planned_until = %(target)s
FROM unnest(%(ids)s::integer[], %(versions)s::integer[]) AS read(id, version)
WHERE c.id = read.id AND c.version = read.version
  AND (c.planned_until IS NULL OR c.planned_until < %(target)s)
"""

# Two keys: one for "the planner", one for this schema's plan table, so that schemas
# sharing a server (tests, benchmarks, several clinics) do not wait for one another.
_LOCK_KEYS = "hashtext('outreach.planner'), 'careplan'::regclass::oid::integer"


@contextmanager
def planning_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether this process may plan. On PostgreSQL a session-level advisory lock on a
    connection of its own, held for the whole run (its batches commit on other connections)
    and released by PostgreSQL if the process dies. SQLite needs none: each batch takes the
    database's only write lock."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_KEYS})")).scalar())
        try:
            yield held
        finally:
            if held:
                _unlock(conn)
    finally:
        conn.close()


def _unlock(conn: Connection) -> None:
    try:
        conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEYS})"))
    except Exception:
        # The connection must not go back to the pool still holding the lock: closing it
        # for good ends the session, and PostgreSQL releases the lock with it.
        conn.invalidate()
        raise


def _driver(conn: Connection) -> Any:
    """The psycopg connection under SQLAlchemy's, in the same transaction."""
    return conn.connection.driver_connection


def _copy(
    conn: Connection, create: str, table: str, columns: Sequence[str], rows: Iterable[Any]
) -> None:
    driver = _driver(conn)
    with driver.cursor() as cursor:
        cursor.execute(create)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _execute(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    with _driver(conn).cursor() as cursor:
        cursor.execute(sql, params, prepare=False)
        return cursor.rowcount, (cursor.fetchall() if cursor.description else [])


def upsert_appointments(
    conn: Connection, rows: Sequence[tuple[int, datetime]], now: datetime
) -> int:
    """(patient_id, starts_at) pairs; returns how many were created or scheduled again."""
    if not rows:
        return 0
    _copy(conn, _APPOINTMENT_TABLE, "plan_appointment", ("patient_id", "starts_at"), rows)
    count, _ = _execute(
        conn,
        _INSERT_APPOINTMENTS,
        {
            "scheduled": str(AppointmentStatus.SCHEDULED.value),
            "superseded": str(AppointmentStatus.SUPERSEDED.value),
            "now": now,
        },
    )
    return int(count)


def appointments_in_windows(
    conn: Connection, windows: dict[int, tuple[datetime, datetime]]
) -> list[tuple[int, int, datetime]]:
    """(id, patient_id, starts_at) of the live appointments inside each patient's window."""
    if not windows:
        return []
    rows = ((patient_id, start, end) for patient_id, (start, end) in windows.items())
    _copy(conn, _WINDOW_TABLE, "plan_window", ("patient_id", "starts", "ends"), rows)
    live = [str(AppointmentStatus.SCHEDULED.value), str(AppointmentStatus.CONFIRMED.value)]
    _, found = _execute(conn, _APPOINTMENTS_IN_WINDOWS, {"live": live})
    return list(found)


def upsert_reminders(
    conn: Connection, rows: Iterable[tuple[Any, ...]], now: datetime, revivable: Sequence[str]
) -> int:
    """Rows in REMINDER_COLUMNS order; returns how many were created or revived."""
    _copy(conn, _REMINDER_TABLE, "plan_reminder", REMINDER_COLUMNS, rows)
    count, _ = _execute(
        conn,
        _INSERT_REMINDERS,
        {"now": now, "skipped": str(ReminderState.SKIPPED.value), "revivable": list(revivable)},
    )
    return int(count)


def advance_watermarks(
    conn: Connection, plans: Sequence[tuple[int, int]], target: datetime
) -> None:
    """(plan id, version read) pairs: plans edited meanwhile keep their reset watermark."""
    ids = [plan_id for plan_id, _ in plans]
    versions = [version for _, version in plans]
    _execute(conn, _ADVANCE_WATERMARKS, {"ids": ids, "versions": versions, "target": target})

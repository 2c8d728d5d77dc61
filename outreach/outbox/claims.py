"""Claims on due reminders: who is sending which, under a lease, and how each ends.

A claim is one conditional statement, committed before the provider is called, so two
workers never send one reminder; every later write to a claimed reminder (release, renew,
finish, requeue, recover) is conditional or made by the claim's holder. The sending package
calls these; nothing else writes a claimed reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.engine import Connection

from outreach.db.tables import patients, reminders
from outreach.rules.vocabulary import ReminderState

R = reminders
# The reminder a worker holds, with what deciding and rendering it needs; built once with
# bound parameters: building it for every send cost more than running it on SQLite.
CLAIMED_REMINDER = (
    select(R, patients.c.phone, patients.c.timezone, patients.c.language)
    .add_columns(
        patients.c.first_name,
        patients.c.consent_state,
        patients.c.opted_out,
        patients.c.paused,
        patients.c.quiet_hours,
    )
    .join(patients, patients.c.id == R.c.patient_id)
    .where(
        R.c.id == bindparam("reminder_id"),
        R.c.state == ReminderState.CLAIMED,
        R.c.claimed_by == bindparam("worker_id"),
    )
)


def claimed(conn: Connection, reminder_id: int, worker_id: str) -> Row[Any] | None:
    """The reminder if `worker_id` still holds its claim; None once another worker does."""
    return conn.execute(
        CLAIMED_REMINDER, {"reminder_id": reminder_id, "worker_id": worker_id}
    ).first()


def claim(
    conn: Connection, limit: int, now: datetime, lease_until: datetime, worker_id: str
) -> list[int]:
    """Claim up to `limit` due reminders, oldest first, spending one attempt of each."""
    due = (
        select(R.c.id)
        .where(R.c.state == ReminderState.PENDING, R.c.send_at <= now)
        .order_by(R.c.send_at, R.c.id)
        .limit(limit)
    )
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # A CTE, MATERIALIZED so it runs once. Inside `id IN (...)` PostgreSQL may rescan
        # the locking subquery for every row it updates (a nested-loop semi join), and
        # each rescan skips the rows just claimed and locks the next ones: LIMIT then holds
        # per rescan, and one claim takes every due reminder, past what a lease can cover.
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        statement = update(R).where(R.c.id == locked.c.id)
    else:
        statement = update(R).where(R.c.id.in_(due.scalar_subquery()))
    statement = statement.values(
        state=ReminderState.CLAIMED,
        lease_until=lease_until,
        claimed_by=worker_id,
        attempts=R.c.attempts + 1,
        updated_at=now,
    ).returning(R.c.id)
    if postgres:
        # The rows are locked by the subquery; re-checking the state keeps the claim
        # conditional even so. On SQLite the statement runs under the database's single
        # write lock (every transaction begins IMMEDIATE, see db/engine.py), so the rows
        # cannot change in between, and the same condition there would make SQLite walk the
        # state index across every pending reminder: 250 ms a tick with two weeks queued.
        statement = statement.where(R.c.state == ReminderState.PENDING)
    return sorted(conn.execute(statement).scalars().all())


def release(conn: Connection, reminder_ids: list[int], worker_id: str) -> int:
    """Give back claims that will not be attempted: nothing was sent for them, so the
    attempt is not spent. Returns how many were still ours."""
    result = conn.execute(
        update(R)
        .where(
            R.c.id.in_(reminder_ids),
            R.c.state == ReminderState.CLAIMED,
            R.c.claimed_by == worker_id,
        )
        .values(
            state=ReminderState.PENDING,
            lease_until=None,
            claimed_by=None,
            attempts=R.c.attempts - 1,
        )
    )
    return int(result.rowcount or 0)


def renew(conn: Connection, reminder_id: int, worker_id: str, lease_until: datetime) -> bool:
    """Extend our lease. Conditional: on PostgreSQL a recovery that locked the row first,
    after we read it, makes this match nothing once it commits, and the send is not ours."""
    renewed = conn.execute(
        update(R)
        .where(
            R.c.id == reminder_id,
            R.c.state == ReminderState.CLAIMED,
            R.c.claimed_by == worker_id,
        )
        .values(lease_until=lease_until)
    ).rowcount
    return bool(renewed == 1)


def give_back(conn: Connection, reminder_id: int) -> None:
    """Back to pending as it is: the next claim's guards decide when it goes."""
    conn.execute(
        update(R)
        .where(R.c.id == reminder_id)
        .values(state=ReminderState.PENDING, lease_until=None, claimed_by=None)
    )


def stale(conn: Connection, now: datetime) -> Sequence[int]:
    """Claims whose lease ran out: their worker died."""
    stale_claims = select(R.c.id).where(R.c.state == ReminderState.CLAIMED, R.c.lease_until < now)
    if conn.dialect.name == "postgresql":
        # Workers recovering at the same moment split the work instead of queueing.
        stale_claims = stale_claims.with_for_update(skip_locked=True)
    return conn.execute(stale_claims).scalars().all()


def recover(conn: Connection, reminder_id: int, now: datetime, went: bool) -> bool:
    """End a dead worker's claim: sent if its text `went`, else pending again. Still claimed
    with the lease run out: another worker may have recovered and claimed it again since we
    looked, with a lease of its own, and that claim stays (False)."""
    taken = conn.execute(
        update(R)
        .where(
            R.c.id == reminder_id,
            R.c.state == ReminderState.CLAIMED,
            R.c.lease_until < now,
        )
        .values(
            state=ReminderState.SENT if went else ReminderState.PENDING,
            lease_until=None,
            claimed_by=None,
            updated_at=now,
        )
    ).rowcount
    return bool(taken == 1)


def defer(conn: Connection, reminder_id: int, until: datetime, now: datetime) -> None:
    conn.execute(
        update(R)
        .where(R.c.id == reminder_id)
        .values(
            state=ReminderState.PENDING,
            send_at=until,
            lease_until=None,
            claimed_by=None,
            # A deferral (quiet hours, the daily cap) was no attempt to send.
            attempts=R.c.attempts - 1,
            updated_at=now,
        )
    )


def finish(
    conn: Connection, reminder_id: int, state: ReminderState, now: datetime, reason: str | None
) -> None:
    conn.execute(
        update(R)
        .where(R.c.id == reminder_id)
        .values(state=state, skip_reason=reason, lease_until=None, updated_at=now)
    )


def requeue(conn: Connection, reminder_id: int, when: datetime, now: datetime) -> None:
    """Try again at `when`: the attempt stays spent."""
    conn.execute(
        update(R)
        .where(R.c.id == reminder_id)
        .values(
            state=ReminderState.PENDING,
            send_at=when,
            lease_until=None,
            claimed_by=None,
            updated_at=now,
        )
    )


def attempts_left(conn: Connection, reminder_id: int) -> Any:
    """(attempts, expires_at, patient_id): what the retry policy weighs."""
    return conn.execute(
        select(R.c.attempts, R.c.expires_at, R.c.patient_id).where(R.c.id == reminder_id)
    ).one()
